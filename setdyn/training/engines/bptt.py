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
step, written in place into one (T + 1) x batch x N tensor that arrives
holding the noise; backward, one matrix product, one add and one multiply per
step. Everything else is one large operation over all steps at once: the
input drive (b everywhere, plus the projected colour on the few stimulus
steps), the tanh derivatives, the readout and penalty gradients, and the
weight gradients dJ = sum_t gh_t^T r_{t-1}, a single (N x T*batch) @
(T*batch x N) product, since the steps are stored time-major and a flat view
needs no copy.

The noise (2.7 million normal draws per epoch) costs about as much as a
third of the arithmetic. `NoiseStream` draws it one minibatch ahead on a
second thread, in the same order, so a training run gives the same numbers
with or without it.

Times are in steps of dt = 10 ms.
"""
from __future__ import annotations

import atexit
import collections
import threading
import weakref
from typing import Any, Callable, Iterator, NamedTuple

import torch

from . import task
from .model import CTRNN


class MinibatchNoise(NamedTuple):
    """One minibatch's random numbers, laid out for `loss_and_grads`."""

    states: torch.Tensor  #: (T + 1) x batch x N; states[1:] is eta_t, time-major. The forward pass overwrites it.
    xi: torch.Tensor  #: batch x N, the noise added to x0


def draw_noise(batch: int, n_steps: int, n_units: int, noise_std: float, x0_noise_std: float,
               generator: torch.Generator | None, dtype: torch.dtype = torch.float32,
               out: torch.Tensor | None = None, scratch: torch.Tensor | None = None) -> MinibatchNoise:
    """Draw a minibatch's noise as `CTRNN.run` draws it: eta (batch x T x N, std `noise_std`) first,
    then xi (batch x N, std `x0_noise_std`); a std of 0 draws nothing. `out` ((T + 1) x batch x N)
    and `scratch` (batch x T x N) are reused if given."""
    states = torch.empty(n_steps + 1, batch, n_units, dtype=dtype) if out is None else out
    if noise_std > 0:
        eta = torch.empty(batch, n_steps, n_units, dtype=dtype) if scratch is None else scratch
        eta.normal_(0.0, noise_std, generator=generator)
        states[1:].copy_(eta.transpose(0, 1))
    else:
        states[1:].zero_()
    xi = torch.zeros(batch, n_units, dtype=dtype)
    if x0_noise_std > 0:
        xi.normal_(0.0, x0_noise_std, generator=generator)
    return MinibatchNoise(states, xi)


class NoiseStream:
    """A training run's random numbers, drawn ahead on a second thread.

    Per epoch, a run draws a permutation of its `n_trials` training trials
    (`torch.randperm`), then for each minibatch of `batch_size` trials the
    noise of `draw_noise`. NoiseStream draws exactly this sequence from
    `generator` on a background thread, up to `depth` items ahead, so a run
    gets the same numbers as if it drew them in line; the caller takes them in
    order with `permutation()` and `minibatch()` and must not use `generator`
    itself meanwhile. Close it (or use it as a context manager) to stop the
    thread. The thread spends its time inside PyTorch, which releases the GIL,
    so it runs on the second core while the first does the arithmetic.

    `draw(size, index)`, if given, makes the minibatches' noise instead (index
    counts minibatches from 0); `setdyn.native.draw_noise` is such a drawer,
    four times faster than PyTorch's generator. The permutations still come
    from `generator`.
    """

    def __init__(self, generator: torch.Generator, n_trials: int, batch_size: int, n_steps: int, n_units: int,
                 noise_std: float, x0_noise_std: float, dtype: torch.dtype = torch.float32, depth: int = 2,
                 draw: Callable[[int, int], MinibatchNoise] | None = None) -> None:
        if n_trials < 1 or batch_size < 1 or depth < 1:
            raise ValueError(f"n_trials, batch_size and depth must be positive, got {n_trials}, {batch_size}, {depth}")
        self._sizes = [len(c) for c in torch.arange(n_trials).split(batch_size)]
        self._args = (generator, n_trials, n_steps, n_units, noise_std, x0_noise_std, dtype)
        self._draw = draw
        self._depth = depth
        self._cond = threading.Condition()
        self._ready: collections.deque = collections.deque()  # (kind, value); kind "error" ends the stream
        self._closed = False
        self._thread = threading.Thread(target=self._produce, name="setdyn-noise", daemon=True)
        _OPEN.add(self)
        self._thread.start()

    def _items(self) -> Iterator[tuple[str, Any]]:
        generator, n_trials, n_steps, n_units, noise_std, x0_noise_std, dtype = self._args
        scratch = {size: torch.empty(size, n_steps, n_units, dtype=dtype) for size in set(self._sizes)}
        index = 0
        while True:
            yield "permutation", torch.randperm(n_trials, generator=generator)
            for size in self._sizes:
                if self._draw is not None:
                    yield "minibatch", self._draw(size, index)
                else:
                    yield "minibatch", draw_noise(size, n_steps, n_units, noise_std, x0_noise_std, generator, dtype,
                                                  scratch=scratch[size])
                index += 1

    def _produce(self) -> None:
        items = self._items()
        while True:
            with self._cond:
                while not self._closed and len(self._ready) >= self._depth:
                    self._cond.wait()
                if self._closed:
                    return
            try:
                item = next(items)
            except BaseException as err:  # hand it to the consumer, who re-raises it
                item = ("error", err)
            with self._cond:
                self._ready.append(item)
                self._cond.notify_all()
            if item[0] == "error":
                return

    def _take(self, kind: str) -> Any:
        with self._cond:
            while not (self._closed or self._ready):
                self._cond.wait()
            if self._closed:
                raise RuntimeError("the noise stream is closed")
            got, value = self._ready[0]
            if got == "error":
                raise RuntimeError(f"drawing the training noise failed: {value}") from value
            if got != kind:
                raise RuntimeError(f"noise stream taken out of order: asked for a {kind}, the next item is a {got}")
            self._ready.popleft()
            self._cond.notify_all()
        return value

    def permutation(self) -> torch.Tensor:
        """The next epoch's order of the training trials."""
        return self._take("permutation")

    def minibatch(self) -> MinibatchNoise:
        """The next minibatch's noise (for `loss_and_grads(noise=...)`)."""
        return self._take("minibatch")

    def close(self) -> None:
        """Stop the drawing thread (after the draw it is doing; the generator's state is then unspecified)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        _OPEN.discard(self)

    def __enter__(self) -> "NoiseStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


#: streams not yet closed; closed at exit, since a thread still inside PyTorch when the interpreter
#: shuts down aborts the process
_OPEN: "weakref.WeakSet[NoiseStream]" = weakref.WeakSet()


@atexit.register
def _close_open_streams() -> None:
    for stream in list(_OPEN):
        stream.close()


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
        states, scratch = _workspace((T + 1, nb, N), (nb, T, N), dtype=dtype)
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
        S, GH = _workspace((T, nb, N), (T, nb, N), dtype=dtype)
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


def _workspace(*shapes: tuple[int, ...], dtype: torch.dtype) -> list[torch.Tensor]:
    """Scratch tensors of the given shapes, reused from call to call: a fresh multi-megabyte tensor
    costs page faults on first touch, which here is as much as the arithmetic. Callers must not
    keep references to them (loss_and_grads returns only new tensors)."""
    key = (shapes, dtype)
    if key not in _BUFFERS:
        if len(_BUFFERS) > 4:
            _BUFFERS.clear()  # a few shapes at a time is the normal case; do not hoard memory
        _BUFFERS[key] = [torch.empty(s, dtype=dtype) for s in shapes]
    return _BUFFERS[key]


__all__ = ["MinibatchNoise", "NoiseStream", "checked_minibatch", "draw_noise", "loss_and_grads"]
