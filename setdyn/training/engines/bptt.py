"""Hand-written backpropagation through time for the a = 1 CT-RNN: the training loss and its gradients.

For a = dt / tau = 1 (the paper) the model is an Elman RNN on the rates,

    r_0 = tanh(x0 + xi),   r_t = tanh(J r_{t-1} + B u_t + b + eta_t),   z_t = W r_t + b_out,

and the training loss (`setdyn.training.engines.autograd.loss_fn`) is

    L = mean over the last 5 steps and the batch of (z_t - y)^2  +  c * mean(r_t^2),

with c the activity penalty. `loss_and_grads` computes L and dL/d(every
parameter) with the same random numbers, drawn in the same order, as
`CTRNN.run` under autograd, so the two engines differ only in floating-point
summation order.

Why it is faster than autograd: autograd records ~10 small operations per
time step and replays them backwards one by one. Here the time loop does only
what is inherently sequential: forward, one matrix product and a tanh per
step, written in place into one (T + 1) x batch x N tensor that arrives
holding the noise; backward, one matrix product, one add and one multiply per
step. Everything else is one large operation over all steps at once: the
input drive (b everywhere, plus the projected colour on the few stimulus
steps), the tanh derivatives, the readout and penalty gradients, and the
weight gradients dJ = sum_t gh_t^T r_{t-1}, a single (N x T*batch) @
(T*batch x N) product, since the steps are stored time-major and a flat view
needs no copy.

The noise (2.7 million normal draws per epoch) costs about as much as a
third of the arithmetic. `setdyn.training.noise.NoiseStream` draws it one
minibatch ahead on a second thread, in the same order, so a training run gives
the same numbers with or without it.

Times are in steps of dt = 10 ms.
"""
from __future__ import annotations

import torch

from ... import task
from ...model import CTRNN, accuracy
from ..config import TrainConfig
from ..noise import MinibatchNoise, NoiseStream, draw_noise
from .base import Engine, Minibatch


def checked_minibatch(model: CTRNN, codes: torch.Tensor, noise: MinibatchNoise | None, noise_std: float,
                      x0_noise_std: float, generator: torch.Generator | None,
                      engine: str) -> tuple[torch.Tensor, MinibatchNoise]:
    """What the hand-written engines check and prepare before a minibatch: a = 1, codes batch x T
    (as a long tensor), and the minibatch's noise: `noise` if given (its shapes checked), else drawn
    from `generator` (`draw_noise`) into buffers reused from call to call."""
    if model.alpha != 1.0:
        raise ValueError(f"the {engine} covers alpha = dt/tau = 1 only, got alpha = {model.alpha}; "
                         "use engine='autograd' for other values")
    codes = torch.as_tensor(codes, dtype=torch.long)
    if codes.ndim != 2:
        raise ValueError(f"codes must be batch x T, got shape {tuple(codes.shape)}")
    (nb, T), N, dtype = codes.shape, model.J.shape[0], model.J.dtype
    if noise is None:
        states, scratch = workspace((T + 1, nb, N), (nb, T, N), dtype=dtype)
        return codes, draw_noise(nb, T, N, noise_std, x0_noise_std, generator, dtype, out=states, scratch=scratch)
    if noise.states.shape != (T + 1, nb, N) or noise.xi.shape != (nb, N):
        raise ValueError(f"noise for {nb} trials of {T} steps must have states {(T + 1, nb, N)} and xi "
                         f"{(nb, N)}, got {tuple(noise.states.shape)} and {tuple(noise.xi.shape)}")
    return codes, noise


def loss_and_grads(model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, noise_std: float,
                   x0_noise_std: float, activity_penalty: float, generator: torch.Generator | None,
                   noise: MinibatchNoise | None = None) -> tuple[float, torch.Tensor, dict[str, torch.Tensor]]:
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
        noise: the minibatch's noise, drawn beforehand (by `draw_noise` or a
            `NoiseStream`); then `generator` and the two stds are not used. Its
            `states` tensor is overwritten.

    Returns:
        (loss, z, grads): the loss as a float, the outputs z (batch x 5) on the
        scored last 5 steps, and a dict of gradients keyed by parameter name
        (B, J, W, x0, b, b_out), shaped like the parameters.
    """
    codes, noise = checked_minibatch(model, codes, noise, noise_std, x0_noise_std, generator, "hand-written BPTT")
    nb, T = codes.shape
    keep = task.SCORE_STEPS
    with torch.no_grad():
        J, W, b = model.J.detach(), model.W.detach(), model.b.detach()
        dtype = J.dtype
        N = J.shape[0]
        targets = torch.as_tensor(targets, dtype=dtype)
        S, GH = workspace((T, nb, N), (T, nb, N), dtype=dtype)
        R = noise.states  # R[0] = r_0, R[t] = r_t (t = 1..T), time-major; R[1:] holds eta, then the drive
        # drive B u_t + b: b everywhere, the projected colour on the stimulus steps only
        flat_codes = codes.T.reshape(-1)
        stim = torch.nonzero(flat_codes >= 0).squeeze(1)
        proj = model.colors @ model.B.detach().T  # 3 x N
        R[1:].add_(b)
        R[1:].view(T * nb, N).index_add_(0, stim, proj[flat_codes[stim]])
        torch.tanh(model.x0.detach() + noise.xi, out=R[0])
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

        # backward: GH[t] = dL/dh_t (h_t = J r_{t-1} + B u_t + b + eta_t) = s_t * (k r_t + W dz_t + J^T GH[t+1]),
        # with s_t = tanh'(h_t) = 1 - r_t^2, k r_t from the penalty and W dz_t from the readout (last steps)
        k = 2.0 * activity_penalty / n_rates
        dz = err * (2.0 / err.numel())  # keep x batch
        torch.addcmul(torch.ones((), dtype=dtype), rates, rates, value=-1, out=S)
        gh, s_, r_ = GH.unbind(0), S.unbind(0), rates.unbind(0)
        torch.addcmul(rates[T - keep:] * k, dz[..., None], W[0], out=GH[T - keep:])  # the last steps' own terms
        gh[T - 1].mul_(s_[T - 1])
        for t in range(T - 2, -1, -1):
            if t >= T - keep:
                gh[t].addmm_(gh[t + 1], J)
            else:  # k r_t + GH[t+1] J in one product (beta = k)
                torch.addmm(r_[t], gh[t + 1], J, beta=k, out=gh[t])
            gh[t].mul_(s_[t])
        carry = gh[0] @ J  # dL/dr_0
        flat = GH.view(T * nb, N)
        gproj = torch.zeros(3, N, dtype=dtype).index_add_(0, flat_codes[stim], flat[stim])
        r0 = R[0]
        grads = {
            "J": flat.T @ R[:-1].reshape(T * nb, N),
            "B": gproj.T @ model.colors.to(dtype),
            "b": flat.sum(0),
            "x0": (carry * (1 - r0 * r0)).sum(0),
            "W": (dz.reshape(1, -1) @ rates[T - keep:].reshape(-1, N)),
            "b_out": dz.sum().reshape(1),
        }
    return loss, z.T, grads


_BUFFERS: dict[tuple, list[torch.Tensor]] = {}


def workspace(*shapes: tuple[int, ...], dtype: torch.dtype) -> list[torch.Tensor]:
    """Scratch tensors of the given shapes, reused from call to call: a fresh multi-megabyte tensor
    costs page faults on first touch, which here is as much as the arithmetic. Callers must not
    keep references to them (loss_and_grads returns only new tensors)."""
    key = (shapes, dtype)
    if key not in _BUFFERS:
        if len(_BUFFERS) > 4:
            _BUFFERS.clear()  # a few shapes at a time is the normal case; do not hoard memory
        _BUFFERS[key] = [torch.empty(s, dtype=dtype) for s in shapes]
    return _BUFFERS[key]


class BpttEngine(Engine):
    """Engine "bptt": `loss_and_grads` in Python, noise drawn ahead from the run's generator in the
    order autograd draws it (the same random numbers as engine "autograd")."""

    name = "bptt"
    alpha_one_only = True
    fused_optimizer = True

    def noise_stream(self, cfg: TrainConfig, generator: torch.Generator, n_trials: int,
                     n_steps: int) -> NoiseStream:
        return NoiseStream(generator, n_trials, cfg.batch_size, n_steps, cfg.n_units, cfg.noise_std,
                           cfg.x0_noise_std)

    def gradients(self, model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig,
                  generator: torch.Generator | None, noise: MinibatchNoise | None) -> Minibatch:
        loss, z, grads = loss_and_grads(model, codes, targets, cfg.noise_std, cfg.x0_noise_std,
                                        cfg.activity_penalty, generator, noise=noise)
        for g in grads.values():
            g.clamp_(-cfg.grad_clip, cfg.grad_clip)  # element-wise clip
        return Minibatch(loss, accuracy(z, targets) * len(targets), grads)


__all__ = ["BpttEngine", "checked_minibatch", "loss_and_grads", "workspace"]
