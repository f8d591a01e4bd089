"""Hand-written backpropagation through time for the a = 1 CT-RNN: the training loss and its gradients.

For a = dt / tau = 1 (the paper) the model is an Elman RNN on the rates,

    r_0 = tanh(x0 + xi),   r_t = tanh(J r_{t-1} + B u_t + b + eta_t),   z_t = W r_t + b_out,

and the training loss (`setdyn.train.loss_fn`) is

    L = mean over the last 5 steps and the batch of (z_t - y)^2  +  c * mean(r_t^2),

with c the activity penalty. `loss_and_grads` computes L and dL/d(every
parameter) with the same random numbers, drawn in the same order, as
`CTRNN.run` under autograd, so the two engines differ only in floating-point
summation order.

Why it is faster than autograd: autograd records ~10 small operations per
time step and replays them backwards one by one. Here the time loop does only
what is inherently sequential: forward, one matrix product and a tanh per
step (written in place into one T x batch x N tensor); backward, one add, one
multiply and one matrix product per step. Everything else is one large
operation over all steps at once: the input drive (the projected input takes
only four values: a table lookup), the tanh derivatives, the readout and
penalty gradients, and the weight gradients dJ = sum_t gh_t^T r_{t-1}, which
become a single (N x T*batch) @ (T*batch x N) product, since the steps are
stored time-major and a flat view needs no copy.

Times are in steps of dt = 10 ms.
"""
from __future__ import annotations

import torch

from . import task
from .model import CTRNN


def loss_and_grads(model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, noise_std: float,
                   x0_noise_std: float, activity_penalty: float,
                   generator: torch.Generator | None) -> tuple[float, torch.Tensor, dict[str, torch.Tensor]]:
    """Training loss, outputs and gradients for one minibatch (a = 1 only).

    Args:
        model: the network (its parameters are read, not changed).
        codes: stimulus codes, batch x T (-1 no input, 0..2 colour).
        targets: +1 (valid) / -1 (invalid) per trial, (batch,).
        noise_std: std of the recurrent noise eta per unit and step.
        x0_noise_std: std of the noise xi added to x0.
        activity_penalty: c in L = MSE + c * mean(r^2).
        generator: random numbers; drawn as `CTRNN.run` draws them (drive noise
            batch x T x N first, then the x0 noise batch x N).

    Returns:
        (loss, z, grads): the loss as a float, the outputs z (batch x 5) on the
        scored last 5 steps, and a dict of gradients keyed by parameter name
        (B, J, W, x0, b, b_out), shaped like the parameters.
    """
    if model.alpha != 1.0:
        raise ValueError(f"the hand-written BPTT covers alpha = dt/tau = 1 only, got alpha = {model.alpha}; "
                         "use engine='autograd' for other values")
    codes = torch.as_tensor(codes, dtype=torch.long)
    if codes.ndim != 2:
        raise ValueError(f"codes must be batch x T, got shape {tuple(codes.shape)}")
    nb, T = codes.shape
    keep = task.SCORE_STEPS
    with torch.no_grad():
        J, W, b = model.J.detach(), model.W.detach(), model.b.detach()
        dtype = J.dtype
        N = J.shape[0]
        targets = torch.as_tensor(targets, dtype=dtype)
        tb = model.input_table().detach() + b  # B u + b for the codes 0, 1, 2 and (row 3 = code -1) none
        # R[0] = r_0, R[t] = r_t (t = 1..T), time-major; R[1:] holds the drive until the step overwrites it.
        # Random numbers in `CTRNN.run`'s order: drive noise (batch x T x N), then x0 noise (batch x N).
        R, noise, GH, S = _workspace((T + 1, nb, N), (nb, T, N), (T, nb, N), (T, nb, N), dtype=dtype)
        drive = torch.index_select(tb, 0, codes.T.reshape(-1) % 4).view(T, nb, N)  # code -1 -> row 3
        if noise_std > 0:
            noise.normal_(0.0, noise_std, generator=generator)
            torch.add(noise.transpose(0, 1), drive, out=R[1:])
        else:
            R[1:] = drive
        x = model.x0.detach().expand(nb, -1)
        if x0_noise_std > 0:
            x = x + torch.empty(nb, N, dtype=dtype).normal_(0.0, x0_noise_std, generator=generator)
        torch.tanh(x, out=R[0])
        Jt = J.T.contiguous()  # addmm is ~1.5x slower on a transposed view
        steps = R.unbind(0)  # views, made once (indexing R[t] in the loop costs more than the tanh)
        for t in range(T):
            steps[t + 1].addmm_(steps[t], Jt).tanh_()
        rates = R[1:]
        z = rates[T - keep:] @ W[0] + model.b_out.detach()  # keep x batch
        err = z - targets
        n_rates = rates.numel()
        flat_r = rates.reshape(-1)
        loss = float((err ** 2).mean()) + activity_penalty * float(torch.dot(flat_r, flat_r)) / n_rates

        # backward: dL/dr_t = k r_t (penalty) + W dz_t (readout, last steps) + J^T dL/dh_{t+1}
        k = 2.0 * activity_penalty / n_rates
        dz = err * (2.0 / err.numel())  # keep x batch
        last = torch.addcmul(rates[T - keep:] * k, dz[..., None], W[0])  # the last steps' direct terms
        torch.addcmul(torch.ones((), dtype=dtype), rates, rates, value=-1, out=S)  # tanh' = 1 - r^2
        # GH[t] = dL/dh_t, h_t = J r_{t-1} + B u_t + b + eta_t
        gh, s_, r_ = GH.unbind(0), S.unbind(0), rates.unbind(0)
        carry = None  # dL/dr_t through h_{t+1}
        for t in range(T - 1, -1, -1):
            g = gh[t]
            if t >= T - keep:
                torch.add(last[t - (T - keep)], carry, out=g) if carry is not None else g.copy_(last[-1])
            else:
                torch.add(carry, r_[t], alpha=k, out=g)
            g.mul_(s_[t])
            carry = g @ J
        flat = GH.reshape(T * nb, N)
        onehot = torch.nn.functional.one_hot(codes.T.reshape(-1) % 4, 4).to(dtype)  # code -1 -> row 3
        gtable = onehot.T @ flat  # 4 x N
        r0 = R[0]
        grads = {
            "J": flat.T @ R[:-1].reshape(T * nb, N),
            "B": gtable[:3].T @ model.colors.to(dtype),
            "b": flat.sum(0),
            "x0": (carry * (1 - r0 * r0)).sum(0),
            "W": (dz.reshape(1, -1) @ rates[T - keep:].reshape(-1, N)),
            "b_out": dz.sum().reshape(1),
        }
    return loss, z.T, grads


_BUFFERS: dict[tuple, list[torch.Tensor]] = {}


def _workspace(*shapes: tuple[int, ...], dtype: torch.dtype) -> list[torch.Tensor]:
    """Scratch tensors of the given shapes, reused from call to call: a fresh multi-megabyte tensor
    costs page faults on first touch, which here is as much as the arithmetic. Callers must not
    keep references to them (loss_and_grads returns only new tensors)."""
    key = (shapes, dtype)
    if key not in _BUFFERS:
        _BUFFERS.clear()  # one shape at a time is the normal case; do not hoard memory
        _BUFFERS[key] = [torch.empty(s, dtype=dtype) for s in shapes]
    return _BUFFERS[key]


__all__ = ["loss_and_grads"]
