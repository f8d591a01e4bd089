"""Noise-free (or noisy) simulation of any dynamical system the analysis measures.

Conventions
-----------
Time runs in steps of dt = 10 ms. States x_t, t = 0 .. T: x_0 is the initial
state and x_{t+1} = step(x_t, drive_t); the pulse with onset o drives steps o
and o+1, so x_{o+2} is the first state after it. Simulations are batched over
trials and run in the dtype of the system's ``x0`` (use float64 models for
analysis).

Every function takes a "system" (:class:`DynamicalSystem`):
`setdyn.model.CTRNN`, or anything with the same ``x0``, ``step(x, drive)``,
``input_table()`` (rows green, purple, red, none), ``readout(rates)`` and
optionally ``activation(x)`` (default tanh), such as
`setdyn.analysis.oscillator.PlanarOscillator`.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Protocol, TypeVar

import numpy as np
import torch

from .. import paper, task, validate
from ..model import CTRNN

F = TypeVar("F", bound=Callable[..., Any])
_THREADS = threading.local()  # .depth: nesting of single-thread sections in this thread


def single_thread(func: F) -> F:
    """Run func with one torch thread and one BLAS/OpenMP thread (restored afterwards).

    The analysis is many small steps; on two cores shared with other work,
    two threads per library were several times slower than one.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_THREADS, "depth", 0)
        if depth:  # already inside a single-thread section
            return func(*args, **kwargs)
        from threadpoolctl import threadpool_limits

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        _THREADS.depth = depth + 1
        try:
            with threadpool_limits(limits=1):
                return func(*args, **kwargs)
        finally:
            _THREADS.depth -= 1
            torch.set_num_threads(threads)

    return wrapper  # type: ignore[return-value]


class DynamicalSystem(Protocol):
    """What the analysis needs of a model (setdyn.model.CTRNN, setdyn.analysis.oscillator.PlanarOscillator)."""

    x0: torch.Tensor

    def step(self, x: torch.Tensor, drive: torch.Tensor) -> torch.Tensor: ...

    def input_table(self) -> torch.Tensor: ...

    def readout(self, rates: torch.Tensor) -> torch.Tensor: ...


def state_dtype(system: DynamicalSystem) -> torch.dtype:
    """The dtype the system is simulated in (that of its x0)."""
    return system.x0.dtype


@torch.no_grad()
def input_table(system: DynamicalSystem) -> torch.Tensor:
    """The system's drive per stimulus code (rows green, purple, red, none), detached: 4 x D."""
    return system.input_table().detach()


def activation(system: DynamicalSystem, x: torch.Tensor) -> torch.Tensor:
    """Rates of states x: the system's `activation` if it has one, else tanh (the CT-RNN)."""
    f = getattr(system, "activation", None)
    return f(x) if f is not None else torch.tanh(x)


def _initial(system: DynamicalSystem, batch: int, x_init: Any = None) -> torch.Tensor:
    if x_init is None:
        return system.x0.detach().expand(batch, -1).clone()
    x = torch.as_tensor(np.asarray(x_init) if not torch.is_tensor(x_init) else x_init, dtype=state_dtype(system))
    return x.expand(batch, -1).clone() if x.ndim == 1 else x.clone()


@single_thread
@torch.no_grad()
def simulate(system: DynamicalSystem, codes: np.ndarray | torch.Tensor, keep: np.ndarray | None = None,
             x_init: Any = None, noise_std: float | np.ndarray = 0.0,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Run a batch of trials; returns (kept states, final state).

    Parameters
    ----------
    codes : array of shape (batch, T)
        Stimulus codes (-1 none, 0..2 colour), any T.
    keep : int array of shape (batch, k), optional
        State indices t (0..T) to return x_t for (-1 = none); kept is
        (batch, k, N), NaN where nothing was kept.
    x_init : array of shape (N,) or (batch, N), optional
        Initial states (default x0).
    noise_std : float or array of shape (batch,)
        Std of the drive noise per step (scalar or one per trial), finite and >= 0.

    Codes are checked by :func:`setdyn.validate.codes` (-1, 0, 1, 2 only) and noise_std by
    :func:`setdyn.validate.non_negatives`: anything else is a ValueError, never coerced.
    """
    c = torch.as_tensor(validate.codes(codes))
    if c.ndim == 1:
        c = c[None]
    batch, n_steps = c.shape
    table = input_table(system)
    x = _initial(system, batch, x_init)
    sigma = validate.non_negatives(noise_std, "noise_std")
    if sigma.ndim > 1 or sigma.size not in (1, batch):
        raise ValueError(f"noise_std must be one number or one per trial ({batch}), got shape {sigma.shape}")
    sigma = torch.as_tensor(np.broadcast_to(sigma, (batch,)).copy(), dtype=x.dtype)[:, None]
    noisy = bool((sigma > 0).any())
    kept = keep_t = None
    if keep is not None:
        keep_t = torch.as_tensor(np.asarray(keep), dtype=torch.long)
        keep_t = keep_t[:, None] if keep_t.ndim == 1 else keep_t
        kept = torch.full((batch, keep_t.shape[1], x.shape[1]), float("nan"), dtype=x.dtype)
        _store(kept, keep_t, 0, x)
    for t in range(n_steps):
        d = table[c[:, t]]
        if noisy:
            d = d + sigma * torch.randn(d.shape, generator=generator, dtype=d.dtype)
        x = system.step(x, d)
        if keep_t is not None:
            _store(kept, keep_t, t + 1, x)
    return kept, x


def _store(kept: torch.Tensor, keep: torch.Tensor, t: int, x: torch.Tensor) -> None:
    b, j = (keep == t).nonzero(as_tuple=True)
    if len(b):
        kept[b, j] = x[b]


@single_thread
@torch.no_grad()
def trajectory(system: DynamicalSystem, codes: np.ndarray, x_init: Any = None) -> np.ndarray:
    """All states x_0 .. x_T of a batch of noise-free trials (codes: batch x T): batch x (T+1) x N."""
    c = np.atleast_2d(validate.codes(codes))
    table = input_table(system)
    x = _initial(system, len(c), x_init)
    out = [x]
    ct = torch.as_tensor(c, dtype=torch.long)
    for t in range(c.shape[1]):
        x = system.step(x, table[ct[:, t]])
        out.append(x)
    return torch.stack(out, 1).numpy()


@torch.no_grad()
def relax(system: DynamicalSystem, x: torch.Tensor, n_steps: int) -> torch.Tensor:
    """States after n_steps input-free, noise-free steps from x (batch x N)."""
    zero = input_table(system)[-1].expand(x.shape[0], -1)
    for _ in range(int(n_steps)):
        x = system.step(x, zero)
    return x


def free_trajectory(system: DynamicalSystem, n_steps: int, x_init: Any = None) -> np.ndarray:
    """Input-free states x_0 .. x_n from x0 (or x_init): (n+1) x N."""
    return trajectory(system, np.full((1, n_steps), task.NO_INPUT), x_init)[0]


def free_run_rates(model: CTRNN, n_steps: int, x_init: torch.Tensor | None = None) -> np.ndarray:
    """Rates phi(x_1) .. phi(x_n) of the noise-free, input-free network from x0 (or x_init): n x N.

    (`CTRNN.free_run` returns the states; this returns the rates, as `CTRNN.run` does.)
    """
    x = model.x0.detach()[None] if x_init is None else torch.as_tensor(x_init, dtype=model.J.dtype).reshape(1, -1)
    codes = torch.full((1, n_steps), task.NO_INPUT, dtype=torch.long)
    with torch.no_grad():
        return model.run(codes, x_init=x).rates[0].numpy()


def trial_rates(system: DynamicalSystem, codes: np.ndarray) -> np.ndarray:
    """Noise-free rates after each step (B x T x N), rates[:, t] = activation(x_{t+1})."""
    states = trajectory(system, codes)[:, 1:]
    with torch.no_grad():
        return activation(system, torch.as_tensor(states)).numpy()


def jacobians(system: DynamicalSystem, states: np.ndarray | torch.Tensor, chunk: int = 512) -> np.ndarray:
    """Jacobians d step(x, 0) / dx at each state (M x N) -> M x N x N.

    Closed form for the CT-RNN, (1 - a) I + a J diag(phi'(x)) (phi' = 1 - tanh^2, or the relu step);
    automatic differentiation (one backward pass per output unit) otherwise.
    """
    xs = torch.as_tensor(np.asarray(states) if not torch.is_tensor(states) else states.detach(),
                         dtype=state_dtype(system))
    if isinstance(system, CTRNN):
        with torch.no_grad():
            a = system.alpha
            jac = a * system.J.detach()[None] * system.activation_derivative(xs)[:, None, :]
            if a != 1.0:
                jac = jac + (1 - a) * torch.eye(xs.shape[1], dtype=xs.dtype)
        return jac.numpy()
    zero = input_table(system)[-1]
    out = []
    for i in range(0, len(xs), chunk):
        x = xs[i:i + chunk].clone().requires_grad_(True)
        with torch.enable_grad():
            y = system.step(x, zero.expand(len(x), -1))
            rows = [torch.autograd.grad(y[:, k].sum(), x, retain_graph=k < y.shape[1] - 1)[0]
                    for k in range(y.shape[1])]
        out.append(torch.stack(rows, 1).detach())
    return torch.cat(out).numpy()


@torch.no_grad()
def decisions(system: DynamicalSystem, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(output z, decision) of states x (B x N): the decision is `setdyn.paper.decide` (+1, -1, 0) as ints."""
    z = system.readout(activation(system, x)).reshape(-1)
    return z.numpy(), paper.decide(z).to(torch.int64).numpy()


def stimulus_codes(colors: np.ndarray, onsets: np.ndarray, n_steps: int,
                   pulse_steps: int = task.PULSE_STEPS) -> np.ndarray:
    """Stimulus codes (B x n_steps) for pulses given as colors, onsets (B x n; colour -1 = no pulse); any length.

    Colours and onsets are checked by :func:`setdyn.validate.pulses` (every present pulse whole
    inside the trial; ValueError otherwise)."""
    colors, onsets = validate.pulses(colors, onsets, n_steps, pulse_steps)
    codes = np.full((len(colors), n_steps), task.NO_INPUT, dtype=np.int64)
    b, j = np.nonzero(colors >= 0)
    for s in range(pulse_steps):
        codes[b, onsets[b, j] + s] = colors[b, j]
    return codes
