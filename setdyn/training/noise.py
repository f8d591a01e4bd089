"""A training run's random numbers: the minibatch noise, drawn in line or ahead on a second thread.

During training every trial gets recurrent noise eta (std `noise_std` per unit
and step of 10 ms) and noise xi on its initial state (std `x0_noise_std`),
drawn as `CTRNN.run` draws them: eta of shape (batch, T, N) first, then xi of
shape (batch, N). The hand-written engines take them laid out time-major
(`MinibatchNoise`), and `NoiseStream` draws a run's whole sequence of
permutations and noise one item ahead on a second thread, so a run gets the
same numbers with or without it. (The noise is about 2.7 million normal
draws per epoch and costs about a third of the arithmetic of an epoch.)
"""
from __future__ import annotations

import atexit
import collections
import threading
import weakref
from typing import Any, Callable, Iterator, NamedTuple

import torch


class MinibatchNoise(NamedTuple):
    """One minibatch's random numbers, laid out for the hand-written engines (`loss_and_grads`)."""

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
    counts minibatches from 0); `setdyn.training.engines.native.draw_noise` is such a drawer,
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
        """The next minibatch's noise (for an engine's `gradients(noise=...)`)."""
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


__all__ = ["MinibatchNoise", "NoiseStream", "draw_noise"]
