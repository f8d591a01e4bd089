"""Measurements of the trained network's dynamics (noise-free unless stated).

Conventions
-----------
* Time runs in steps of dt = 10 ms. States x_t, t = 0 .. T: x_0 is the
  initial state and x_{t+1} = step(x_t, drive_t); the pulse with onset o
  drives steps o and o+1, so x_{o+2} is the first state after it.
* Phases are in degrees (wrapped to [-180, 180) unless stated). The phase
  of a state on the limit cycle is the conjugating coordinate of the map:
  each input-free step advances it by exactly omega = 360 deg / period. Its
  origin is the asymptotic phase of x_0, so the free-running network is at
  phase omega * t at step t.
* The *asymptotic phase* of any state z at step t, relative to the free run,
  is the phase z converges to when the input is switched off, minus the
  phase of the free-running network at the same time: 0 for the no-input
  trial, and the accumulated phase shift of the pulses otherwise.

Every function takes a "system": `setdyn.model.CTRNN`, or anything with the
same `x0`, `step(x, drive)`, `input_table()` (rows green, purple, red, none),
`readout(rates)` and optionally `activation(x)` (default tanh), such as
`setdyn.oscillator.PlanarOscillator`. Simulations are batched over trials
and run in the dtype of `x0` (use float64 models for analysis).

Main entry points (phases in degrees, times in ms unless named *_steps):

* `cycle_analysis(system)` -> CycleAnalysis: kind ("limit cycle", "fast
  cycle", "decaying spiral", "fixed point", "irregular"), period_ms,
  floquet_multipliers, amplitude, pc12_variance, ...
* `phase_reference(system, cycle)` -> PhaseReference: the cycle as a phase
  ruler; `.asymptotic_phase(states, times)`, `.curve(phase_deg)`;
  `asymptotic_phase(system, states, times)` is the one-call version.
* `phase_response_curve(system, ref)` -> PhaseResponse: kick of each colour
  against the arrival phase, with circular mean and std.
* `trial_phases(system, ref, colors, onsets)` -> TrialPhases: phase after
  each pulse and at the end of every trial, kicks, network decisions.
* `circular_clusters(phases)` -> ClusterReport; `phase_code(kicks, colors)`
  -> PhaseCode (common offset + 120 deg x Z3 step per colour);
  `network_automaton(tp, code)` -> NetworkAutomaton (extracted machine,
  agreement with the network); `phase_membership(...)` -> oracle for
  `setdyn.automaton.learn_lstar`.
* `accuracy_by_length`, `noise_robustness` -> dicts.
* `training_pca(system)` -> TrainingPCA; `best_rotation(end_pc12, valid)`
  -> RotationScan (rPC1 angle and margin); `rotate_pc`, `rpc1`,
  `pc_angle_deg`, `separability`; `fit_oscillator(...)` -> OscillatorFit.
* `analyze(model)` runs everything and returns one JSON-serialisable dict.

Heavy functions run single-threaded (`single_thread`).
"""
from __future__ import annotations

import functools
import threading
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol, Sequence, TypeVar

import numpy as np
import torch

from . import task
from .automaton import Automaton, Extraction, PrefixOracle, extract_automaton, learn_lstar
from .model import CTRNN
from .oscillator import OscillatorFit, _jsonable, fit_handcrafted, wrap_deg

#: Cycles shorter than this are the dt = tau artefact of memorising nets, not the paper's mechanism.
MIN_PERIOD_MS = 80.0
#: Width of a Z3 phase class: 120 degrees; a reading is correct within +-60 degrees of its class centre.
CLASS_DEG = 120.0


# ============================================================== seed-selection helpers (used by setdyn.cli)

def free_run(model: CTRNN, n_steps: int, x_init: torch.Tensor | None = None) -> np.ndarray:
    """Rates (n_steps x N) of the noise-free, no-input network from x0 (or x_init)."""
    x = model.x0.detach()[None] if x_init is None else torch.as_tensor(x_init, dtype=model.J.dtype).reshape(1, -1)
    codes = torch.full((1, n_steps), task.NO_INPUT, dtype=torch.long)
    with torch.no_grad():
        return model.run(codes, x_init=x).rates[0].numpy()


def oscillation_period(signal: np.ndarray, dt_ms: float = task.DT_MS) -> float | None:
    """Mean period (ms) between upward mean-crossings of a 1-D signal, None if < 2 crossings."""
    s = np.asarray(signal, dtype=float) - np.mean(signal)
    up = np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]
    if len(up) < 2:
        return None
    # linear interpolation of the crossing time inside the step
    times = up + (-s[up]) / (s[up + 1] - s[up])
    return float(np.mean(np.diff(times)) * dt_ms)


@dataclass
class CycleReport:
    """Free-running behaviour: period (ms) or None, amplitude of the dominant PC, and a verdict."""

    period_ms: float | None
    amplitude: float
    is_limit_cycle: bool
    oscillates_in_trial: bool


def limit_cycle(model: CTRNN, settle_steps: int = 1000, measure_steps: int = 500,
                min_amplitude: float = 0.05) -> CycleReport:
    """Is the free-running network a (slow) limit cycle? (The seed-selection test; see `cycle_analysis`.)

    Runs the noise-free, input-free network from x0 for settle + measure steps,
    projects the last `measure_steps` rates on their first principal component
    and measures the period from its mean-crossings. A limit cycle needs a
    sustained amplitude (PC1 std >= min_amplitude) and a period >= MIN_PERIOD_MS;
    `oscillates_in_trial` asks the same of the first 500 ms (the trial).
    """
    rates = free_run(model, settle_steps + measure_steps)
    tail = rates[-measure_steps:]
    pc = _pc1(tail)
    amp = float(np.std(pc))
    period = oscillation_period(pc)
    cycle = amp >= min_amplitude and period is not None and period >= MIN_PERIOD_MS
    trial = rates[: task.N_STEPS]
    pct = _pc1(trial[task.N_STEPS // 2:])
    p_trial = oscillation_period(_pc1(trial))
    in_trial = bool(np.std(pct) >= min_amplitude and p_trial is not None and p_trial >= MIN_PERIOD_MS
                    and _turns_in_last_half(pct))
    return CycleReport(period, amp, bool(cycle), in_trial)


def _pc1(x: np.ndarray) -> np.ndarray:
    xc = x - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    return xc @ vt[0]


def _turns_in_last_half(pc: np.ndarray) -> bool:
    """The projection still changes direction (a peak or trough) in the last half of the trial."""
    d = np.diff(pc)
    return bool(np.any(np.sign(d[:-1]) != np.sign(d[1:])))


# ============================================================== threads

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


# ============================================================== circular statistics

def circular_mean_deg(a: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Circular mean of angles in degrees, in [-180, 180) (NaNs ignored)."""
    a = np.deg2rad(np.asarray(a, dtype=float))
    z = np.nanmean(np.exp(1j * a), axis=axis)
    return wrap_deg(np.rad2deg(np.angle(z)))


def circular_std_deg(a: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Circular standard deviation sqrt(-2 ln R) in degrees (NaNs ignored)."""
    a = np.deg2rad(np.asarray(a, dtype=float))
    r = np.abs(np.nanmean(np.exp(1j * a), axis=axis))
    return np.rad2deg(np.sqrt(np.abs(-2 * np.log(np.clip(r, 1e-300, 1.0)))))


# ============================================================== simulation

class DynamicalSystem(Protocol):
    """What the analysis needs of a model (setdyn.model.CTRNN, setdyn.oscillator.PlanarOscillator)."""

    x0: torch.Tensor

    def step(self, x: torch.Tensor, drive: torch.Tensor) -> torch.Tensor: ...

    def input_table(self) -> torch.Tensor: ...

    def readout(self, rates: torch.Tensor) -> torch.Tensor: ...


def _dtype(system: DynamicalSystem) -> torch.dtype:
    return system.x0.dtype


@torch.no_grad()
def _table(system: DynamicalSystem) -> torch.Tensor:
    return system.input_table().detach()


def activation(system: DynamicalSystem, x: torch.Tensor) -> torch.Tensor:
    """Rates of states x: the system's `activation` if it has one, else tanh (the CT-RNN)."""
    f = getattr(system, "activation", None)
    return f(x) if f is not None else torch.tanh(x)


def _initial(system: DynamicalSystem, batch: int, x_init: Any = None) -> torch.Tensor:
    if x_init is None:
        return system.x0.detach().expand(batch, -1).clone()
    x = torch.as_tensor(np.asarray(x_init) if not torch.is_tensor(x_init) else x_init, dtype=_dtype(system))
    return x.expand(batch, -1).clone() if x.ndim == 1 else x.clone()


@single_thread
@torch.no_grad()
def simulate(system: DynamicalSystem, codes: np.ndarray | torch.Tensor, keep: np.ndarray | None = None,
             x_init: Any = None, noise_std: float | np.ndarray = 0.0,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Run a batch of trials; returns (kept states, final state).

    codes: batch x T stimulus codes (-1 none, 0..2 colour), any T.
    keep: batch x k state indices t (0..T) to return x_t for (-1 = none);
    kept is batch x k x N (NaN where nothing was kept). noise_std: std of the
    drive noise per step (scalar or one per trial). x_init: initial states
    (N or batch x N), default x0.
    """
    c = torch.as_tensor(np.asarray(codes) if not torch.is_tensor(codes) else codes, dtype=torch.long)
    if c.ndim == 1:
        c = c[None]
    batch, n_steps = c.shape
    table = _table(system)
    x = _initial(system, batch, x_init)
    sigma = torch.as_tensor(np.broadcast_to(np.asarray(noise_std, dtype=float), (batch,)).copy(), dtype=x.dtype)[:, None]
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
    """All states x_0 .. x_T of a batch of noise-free trials: batch x (T+1) x N."""
    c = np.atleast_2d(np.asarray(codes))
    table = _table(system)
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
    zero = _table(system)[-1].expand(x.shape[0], -1)
    for _ in range(int(n_steps)):
        x = system.step(x, zero)
    return x


def free_trajectory(system: DynamicalSystem, n_steps: int, x_init: Any = None) -> np.ndarray:
    """Input-free states x_0 .. x_n from x0 (or x_init): (n+1) x N."""
    return trajectory(system, np.full((1, n_steps), task.NO_INPUT), x_init)[0]


def jacobians(system: DynamicalSystem, states: np.ndarray | torch.Tensor, chunk: int = 512) -> np.ndarray:
    """Jacobians d step(x, 0) / dx at each state (M x N) -> M x N x N.

    Closed form for the CT-RNN, (1 - a) I + a J diag(1 - tanh(x)^2);
    automatic differentiation (one backward pass per output unit) otherwise.
    """
    xs = torch.as_tensor(np.asarray(states) if not torch.is_tensor(states) else states.detach(),
                         dtype=_dtype(system))
    if isinstance(system, CTRNN):
        with torch.no_grad():
            a = system.alpha
            jac = a * system.J.detach()[None] * (1 - torch.tanh(xs) ** 2)[:, None, :]
            if a != 1.0:
                jac = jac + (1 - a) * torch.eye(xs.shape[1], dtype=xs.dtype)
        return jac.numpy()
    zero = _table(system)[-1]
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
    """(output z, decision) of states x: decision +1 if z > 0.5, -1 if z < -0.5, else 0 (wrong)."""
    z = system.readout(activation(system, x)).reshape(-1)
    dec = torch.where(z > 0.5, 1, torch.where(z < -0.5, -1, 0))
    return z.numpy(), dec.numpy()


# ============================================================== limit cycle

@dataclass
class CycleAnalysis:
    """What the input-free, noise-free network does after its transient.

    kind: "limit cycle" (sustained oscillation, period >= MIN_PERIOD_MS),
    "fast cycle" (period < MIN_PERIOD_MS: the dt = tau artefact),
    "decaying spiral" (still oscillating but the amplitude shrinks),
    "fixed point" (converged; see fixed_point_eigenvalues, whose leading
    complex pair gives damped_period_ms and decay_time_ms), or "irregular"
    (largest Lyapunov exponent > 0.01 per step).

    period_ms / period_steps: from the rotation number of the settled orbit
    (turns per step measured between two near-returns of the orbit).
    floquet_multipliers: magnitudes, largest first, per period, of the
    characteristic multipliers exp(P lambda_i) from the Lyapunov exponents
    lambda_i (per step) of the map x -> step(x, 0) along the orbit. A stable
    limit cycle has one multiplier 1 (along the cycle) and the rest < 1.
    jacobian_product_eigs: eigenvalue magnitudes of the product of the
    Jacobians over round(P) steps from a point of the cycle (a cross-check;
    exact only when the period is a whole number of steps).
    amplitude: half the peak-to-peak range of the rates' first principal
    component on the settled orbit; pc12_variance: fraction of the orbit's
    rate variance in its first two PCs. decay_per_period: amplitude ratio per
    period fitted over the analysed window (1 for a limit cycle).
    states: the free run x_0 .. x_{settle+window} (for the phase reference).
    """

    kind: str
    period_ms: float | None
    period_steps: float | None
    omega: float | None  #: rad per step
    floquet_multipliers: np.ndarray | None
    lyapunov_per_step: np.ndarray | None
    jacobian_product_eigs: np.ndarray | None
    amplitude: float
    pc12_variance: float | None
    decay_per_period: float | None
    fixed_point: np.ndarray | None
    fixed_point_eigenvalues: np.ndarray | None
    damped_period_ms: float | None
    decay_time_ms: float | None
    settle_steps: int
    dt_ms: float
    states: np.ndarray = field(repr=False)

    @property
    def oscillates(self) -> bool:
        return self.kind == "limit cycle"

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("states", "fixed_point", "fixed_point_eigenvalues")}
        if self.fixed_point_eigenvalues is not None:
            d["fixed_point_eigenvalue_moduli"] = np.abs(self.fixed_point_eigenvalues)
        return _jsonable(d)


@torch.no_grad()
def fixed_point(system: DynamicalSystem, x_guess: np.ndarray, iters: int = 50) -> tuple[np.ndarray, bool]:
    """Newton's method for x = step(x, 0) from x_guess; returns (x*, converged)."""
    x = np.asarray(x_guess, dtype=float).copy()
    zero = _table(system)[-1][None]
    for _ in range(iters):
        fx = system.step(torch.as_tensor(x[None], dtype=_dtype(system)), zero)[0].numpy()
        g = fx - x
        if np.linalg.norm(g) < 1e-12 * (1 + np.linalg.norm(x)):
            return x, True
        jac = jacobians(system, x[None])[0]
        try:
            x = x - np.linalg.solve(jac - np.eye(len(x)), g)
        except np.linalg.LinAlgError:
            return x, False
    fx = system.step(torch.as_tensor(x[None], dtype=_dtype(system)), zero)[0].numpy()
    return x, bool(np.linalg.norm(fx - x) < 1e-9 * (1 + np.linalg.norm(x)))


def lyapunov_exponents(system: DynamicalSystem, orbit: np.ndarray, k: int = 4, seed: int = 0,
                       burn_in: int | None = None) -> np.ndarray:
    """The k largest Lyapunov exponents (per step) of x -> step(x, 0) along the orbit (M x N), QR method.

    The orthonormal frame is first carried once along the orbit (or its first
    burn_in steps) without counting, so that the estimate does not include
    the frame's own transient; the orbit should start and end close together
    (a near-return) for the second pass to continue where the first ended.
    """
    orbit = np.asarray(orbit, dtype=float)
    n = orbit.shape[1]
    k = min(k, n)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, k)))
    total = np.zeros(k)
    burn = len(orbit) if burn_in is None else min(burn_in, len(orbit))
    ctrnn = isinstance(system, CTRNN)
    if ctrnn:
        jmat, a = system.J.detach().numpy().astype(float), system.alpha
    for count, pts in ((False, orbit[:burn]), (True, orbit)):  # first pass aligns the frame, uncounted
        for i in range(0, len(pts), 256):
            if ctrnn:  # tangent map without forming the Jacobians
                gains = 1 - np.tanh(pts[i:i + 256]) ** 2
                maps = ((lambda v, g=g: a * (jmat @ (g[:, None] * v)) + (1 - a) * v) for g in gains)
            else:
                maps = ((lambda v, j=j: j @ v) for j in jacobians(system, pts[i:i + 256]))
            for f in maps:
                q, r = np.linalg.qr(f(q))
                if count:
                    total += np.log(np.abs(np.diag(r)) + 1e-300)
    return np.sort(total / len(orbit))[::-1]


def _exact_period(tail: np.ndarray, tol: float, max_q: int = 50) -> int | None:
    """Smallest q <= max_q with x_{t+q} = x_t (within tol) over the last 2 max_q steps."""
    span = min(2 * max_q, len(tail) - max_q - 1)
    for q in range(1, max_q + 1):
        if np.abs(tail[-span:] - tail[-span - q:-q]).max() < tol:
            return q
    return None


@single_thread
def cycle_analysis(system: DynamicalSystem, settle_steps: int = 2000, window_steps: int = 2000,
                   n_multipliers: int = 4, min_period_ms: float = MIN_PERIOD_MS,
                   dt_ms: float = task.DT_MS) -> CycleAnalysis:
    """Classify and measure the input-free dynamics from x0 (see `CycleAnalysis`).

    Runs settle_steps + window_steps input-free steps from x0 and analyses the
    window. Period: the orbit's angle in the plane of its first two rate PCs
    is unwrapped, and the turns between the window start and the window's
    closest return to its starting point (after >= 10 periods) give the
    rotation number. Floquet multipliers: this is a map whose period is in
    general not a whole number of steps, so there is no closed orbit to take
    a monodromy matrix over; instead the Lyapunov exponents lambda_i of the
    map along the settled orbit (QR method over the same near-return window)
    give the characteristic multipliers per period, exp(P lambda_i). On a
    genuine limit cycle the largest is 1 (the phase neither grows nor
    decays) and the others are the contraction of the return map per turn.
    """
    S, W = settle_steps, window_steps
    X = free_trajectory(system, S + W)
    tail = X[S:]
    scale = 1.0 + float(np.sqrt(np.mean(tail ** 2)))
    spread = float(np.sqrt(np.mean(np.sum((tail - tail.mean(0)) ** 2, 1))))
    with torch.no_grad():
        rates = activation(system, torch.as_tensor(tail)).numpy()
    rc = rates - rates.mean(0)
    ev, vec = np.linalg.eigh(rc.T @ rc)  # PCA of the orbit's rates
    ev, vec = ev[::-1].clip(0), vec[:, ::-1]
    pc = rc @ vec[:, :2] if rc.shape[1] >= 2 else np.c_[rc[:, :1], np.zeros(len(rc))]
    amplitude = float((pc[:, 0].max() - pc[:, 0].min()) / 2)
    var12 = float(ev[:2].sum() / ev.sum()) if ev.sum() > 0 else None
    q_exact = _exact_period(tail, 1e-9 * scale)
    base = dict(settle_steps=S, dt_ms=dt_ms, states=X)
    none = dict(period_ms=None, period_steps=None, omega=None, floquet_multipliers=None, lyapunov_per_step=None,
                jacobian_product_eigs=None, decay_per_period=None)

    def fixed_point_report() -> CycleAnalysis | None:
        xs, ok = fixed_point(system, X[-1])
        ev = np.linalg.eigvals(jacobians(system, xs[None])[0])
        ev = ev[np.argsort(-np.abs(ev))][:2 * n_multipliers]
        if not ok or np.abs(ev[0]) >= 1:
            return None
        dp, dt_decay = _damped(ev[0], dt_ms)
        return CycleAnalysis(kind="fixed point", amplitude=0.0, pc12_variance=None, fixed_point=xs,
                             fixed_point_eigenvalues=ev, damped_period_ms=dp, decay_time_ms=dt_decay, **none, **base)

    if spread < 1e-7 * scale or q_exact == 1:
        rep = fixed_point_report()
        if rep is not None:
            return rep

    if q_exact is not None and q_exact * dt_ms < min_period_ms:
        jp = _jacobian_product_eigs(system, tail[-q_exact - 1:-1], q_exact, n_multipliers)
        return CycleAnalysis(kind="fast cycle", period_ms=q_exact * dt_ms, period_steps=float(q_exact),
                             omega=2 * np.pi / q_exact, floquet_multipliers=jp, lyapunov_per_step=None,
                             jacobian_product_eigs=jp, amplitude=amplitude, pc12_variance=var12, decay_per_period=1.0,
                             fixed_point=None, fixed_point_eigenvalues=None, damped_period_ms=None,
                             decay_time_ms=None, **base)

    ang = np.unwrap(np.arctan2(pc[:, 1], pc[:, 0]))
    total = abs(ang[-1] - ang[0])
    steps_dir = np.sign(ang[-1] - ang[0]) * np.diff(ang)
    if total < 2 * np.pi or np.mean(steps_dir > 0) < 0.9:
        p_cross = oscillation_period(pc[:, 0], 1.0)
        period = p_cross if p_cross is not None else float("inf")
        q = W
    else:
        p0 = 2 * np.pi * W / total
        qmin = int(min(max(10 * p0, 200), W // 2))
        d = np.linalg.norm(tail[qmin:] - tail[0], axis=1)
        q = qmin + int(np.argmin(d))
        period = 2 * np.pi * q / abs(ang[q] - ang[0])
    if not np.isfinite(period):  # no rotation: a slow approach to a fixed point, or something irregular
        rep = fixed_point_report()
        if rep is not None:
            return rep
        return CycleAnalysis(kind="irregular", amplitude=amplitude, pc12_variance=var12, fixed_point=None,
                             fixed_point_eigenvalues=None, damped_period_ms=None, decay_time_ms=None,
                             **none, **base)
    decay = _decay_per_period(pc[:, 0], period)
    if period * dt_ms >= min_period_ms and (decay is None or decay ** (W / period) >= 0.9):
        period = _refine_period(tail, period, 1e-4 * spread)
    lyap = lyapunov_exponents(system, tail[:q], n_multipliers)
    mult = np.exp(lyap * period)
    jp = _jacobian_product_eigs(system, tail[:int(round(period))], int(round(period)), n_multipliers)
    kind = "limit cycle"
    fp = fpe = dperiod = dtime = None
    if period * dt_ms < min_period_ms:
        kind = "fast cycle"
    elif decay is not None and decay ** (W / period) < 0.9:
        kind = "decaying spiral"
        fp, ok = fixed_point(system, tail.mean(0))
        if ok:
            fpe = np.linalg.eigvals(jacobians(system, fp[None])[0])
            fpe = fpe[np.argsort(-np.abs(fpe))][:2 * n_multipliers]
            dperiod, dtime = _damped(fpe[0], dt_ms)
    elif lyap[0] > 0.01:
        kind = "irregular"
    return CycleAnalysis(kind=kind, period_ms=period * dt_ms, period_steps=period, omega=2 * np.pi / period,
                         floquet_multipliers=mult, lyapunov_per_step=lyap, jacobian_product_eigs=jp,
                         amplitude=amplitude, pc12_variance=var12, decay_per_period=decay, fixed_point=fp,
                         fixed_point_eigenvalues=fpe, damped_period_ms=dperiod, decay_time_ms=dtime, **base)


def _refine_period(tail: np.ndarray, period: float, tol: float, iters: int = 2) -> float:
    """Period (steps) as the slope of the orbit's own phase over the whole window.

    The first estimate (PC-plane angle between near-returns) is biased when
    the angle turns unevenly; here a Fourier curve is fitted to the first
    three periods with phases 2 pi t / period, the phase of every state of
    the window is read off it, and the period is 2 pi over the least-squares
    slope of the unwrapped phase; repeated `iters` times.
    """
    for _ in range(iters):
        om = 2 * np.pi / period
        m = int(min(max(np.ceil(3 * period), 30), len(tail)))
        coef, h, resid = _fit_curve(tail[:m], om * np.arange(m), tol)
        reader = PhaseReference(None, om, period, coef, h, 1.0, max(tol, 3 * resid), 1, 1, 0, resid)
        th, dist = reader.phase_on_cycle(tail)
        slope = np.polyfit(np.arange(len(th)), np.unwrap(th), 1)[0]
        new = 2 * np.pi / slope if slope > 0 else float("nan")
        if not np.isfinite(new) or abs(new / period - 1) > 0.01:
            break
        period = new
    return period


def _damped(ev: complex, dt_ms: float) -> tuple[float | None, float | None]:
    """Damped-oscillation period and decay time (ms) of a leading eigenvalue of the step map."""
    mod = abs(ev)
    decay = float(-dt_ms / np.log(mod)) if 0 < mod < 1 else None
    ang = abs(np.angle(ev))
    return (float(2 * np.pi / ang * dt_ms) if ang > 1e-9 else None), decay


def _decay_per_period(pc1: np.ndarray, period: float) -> float | None:
    """Amplitude multiplier per period, from a log-linear fit of the peak-to-peak range per period."""
    p = int(np.ceil(period))
    n = len(pc1) // p
    if n < 4:
        return None
    amp = np.array([np.ptp(pc1[i * p:(i + 1) * p]) for i in range(n)])
    if np.any(amp <= 0):
        return None
    slope = np.polyfit(np.arange(n) * p, np.log(amp), 1)[0]
    return float(np.exp(slope * period))


def _jacobian_product_eigs(system: DynamicalSystem, orbit: np.ndarray, n: int, k: int) -> np.ndarray:
    m = np.eye(orbit.shape[1])
    for j in jacobians(system, orbit[:n]):
        m = j @ m
    ev = np.abs(np.linalg.eigvals(m))
    return np.sort(ev)[::-1][:k]


# ============================================================== phase of a state

def _basis(theta: np.ndarray, h: int, deriv: int = 0) -> np.ndarray:
    """Fourier basis [1, cos k theta, sin k theta] (k = 1..h) or its derivatives: n x (2h+1)."""
    k = np.arange(1, h + 1)
    a = np.outer(theta, k)
    if deriv == 0:
        return np.hstack([np.ones((len(theta), 1)), np.cos(a), np.sin(a)])
    if deriv == 1:
        return np.hstack([np.zeros((len(theta), 1)), -k * np.sin(a), k * np.cos(a)])
    return np.hstack([np.zeros((len(theta), 1)), -k ** 2 * np.cos(a), -k ** 2 * np.sin(a)])


def _fit_curve(x: np.ndarray, theta: np.ndarray, tol: float, max_h: int = 40) -> tuple[np.ndarray, int, float]:
    """Fourier series x(theta) through samples (M x N at phases theta, rad).

    Fits with 1, 2, 4, 8, 12, 16, 24, 32, 40 harmonics (as many as the
    distinct sample phases allow) and keeps the fewest whose largest
    residual is below tol / 10 or within 1.5 times the best residual.
    Returns (coefficients (2h+1) x N, h, largest residual).
    """
    distinct = len(np.unique(np.round(np.mod(theta, 2 * np.pi), 9)))
    h_max = max(1, min(max_h, (distinct - 1) // 2))
    fits = []
    for h in sorted({h for h in (1, 2, 4, 8, 12, 16, 24, 32, 40, h_max) if h <= h_max}):
        b = _basis(theta, h)
        coef = np.linalg.lstsq(b, x, rcond=None)[0]
        fits.append((coef, h, float(np.linalg.norm(b @ coef - x, axis=1).max())))
        if fits[-1][2] < tol / 10:
            break
    best = min(f[2] for f in fits)
    return next(f for f in fits if f[2] <= max(tol / 10, 1.5 * best))


@dataclass
class PhaseReference:
    """The free-running limit cycle as a phase ruler (build with `phase_reference`).

    The cycle is a Fourier series x(theta) in the phase theta (rad), fitted
    to the settled free run with theta = omega * t at step t, so that one
    input-free step advances the phase by exactly omega and the asymptotic
    phase of x0 is 0. tol: distance (state units) within which a state counts
    as on the cycle; relax_steps: input-free steps before reading the phase;
    transient_steps: steps the free run from x0 needs to reach the cycle.
    """

    system: Any = field(repr=False)
    omega: float
    period_steps: float
    coef: np.ndarray = field(repr=False)
    harmonics: int
    radius: float
    tol: float
    relax_steps: int
    max_relax_steps: int
    transient_steps: int
    fit_residual: float
    dt_ms: float = task.DT_MS
    grid: int = 360

    @property
    def period_ms(self) -> float:
        return self.period_steps * self.dt_ms

    def curve(self, phase_deg: np.ndarray) -> np.ndarray:
        """States on the cycle at the given phases (degrees; 0 = asymptotic phase of x0): n x N."""
        th = np.deg2rad(np.atleast_1d(np.asarray(phase_deg, float)))
        return _basis(th, self.harmonics) @ self.coef

    def phase_on_cycle(self, states: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(phase in rad in [0, 2 pi), distance to the cycle) of states near the cycle (B x N)."""
        z = np.asarray(states.detach() if torch.is_tensor(states) else states, dtype=float)
        g = 2 * np.pi * np.arange(self.grid) / self.grid
        c = _basis(g, self.harmonics) @ self.coef
        d2 = (z ** 2).sum(1)[:, None] + (c ** 2).sum(1)[None] - 2 * z @ c.T
        th = g[np.argmin(d2, 1)]
        for _ in range(5):
            r = _basis(th, self.harmonics) @ self.coef - z
            c1 = _basis(th, self.harmonics, 1) @ self.coef
            c2 = _basis(th, self.harmonics, 2) @ self.coef
            g1 = (r * c1).sum(1)
            g2 = (c1 * c1).sum(1) + (r * c2).sum(1)
            stepv = np.where(g2 > 0, g1 / np.where(g2 > 0, g2, 1), 0.0)
            th = th - np.clip(stepv, -2 * np.pi / self.grid, 2 * np.pi / self.grid)
        dist = np.linalg.norm(_basis(th, self.harmonics) @ self.coef - z, axis=1)
        return np.mod(th, 2 * np.pi), dist

    @single_thread
    def asymptotic_phase(self, states: np.ndarray | torch.Tensor, times: np.ndarray | float) -> np.ndarray:
        """Asymptotic phase (deg, [-180, 180)) of states at trial steps `times`, relative to the free run.

        Each state is run input-free until it is within `tol` of the cycle
        (relax_steps, then more in chunks up to max_relax_steps); its phase on
        the cycle minus omega * (time + steps relaxed) is the phase it would
        keep for ever, compared with the free-running network. NaN where the
        state never reached the cycle (another attractor).
        """
        z = torch.as_tensor(np.asarray(states) if not torch.is_tensor(states) else states,
                            dtype=_dtype(self.system)).reshape(-1, self.coef.shape[1]).clone()
        n = len(z)
        t = np.broadcast_to(np.asarray(times, dtype=float), (n,)).astype(float)
        k = np.full(n, self.relax_steps, dtype=float)
        z = relax(self.system, z, self.relax_steps)
        th, d = self.phase_on_cycle(z)
        bad = ~(d <= self.tol)
        chunk = max(self.relax_steps, int(round(self.period_steps)))
        while bad.any() and k[bad].max() < self.max_relax_steps:
            idx = np.nonzero(bad)[0]
            ti = torch.as_tensor(idx)
            z[ti] = relax(self.system, z[ti], chunk)
            k[idx] += chunk
            th[idx], d[idx] = self.phase_on_cycle(z[ti])
            bad = ~(d <= self.tol)
        out = wrap_deg(np.rad2deg(th - self.omega * (t + k)))
        out[bad] = np.nan
        return out

    def to_dict(self) -> dict:
        return _jsonable({k: getattr(self, k) for k in ("period_steps", "omega", "harmonics", "radius", "tol",
                                                          "relax_steps", "max_relax_steps", "transient_steps",
                                                          "fit_residual")})


@single_thread
def phase_reference(system: DynamicalSystem, cycle: CycleAnalysis | None = None, n_periods: float = 8.0,
                    tol_rel: float = 1e-4) -> PhaseReference:
    """Build the phase ruler of a system whose free run is a limit cycle (see `PhaseReference`).

    The Fourier series is fitted to >= n_periods periods of the settled
    free run, then refitted to the samples right after the free run from x0
    has reached the cycle (so that the phase origin, x0, is a few steps
    away and the period's residual error cannot accumulate).
    """
    cycle = cycle or cycle_analysis(system)
    if cycle.kind != "limit cycle":
        raise ValueError(f"no limit cycle to measure phases on: the free-running system is a {cycle.kind}")
    X, S, P, om = cycle.states, cycle.settle_steps, cycle.period_steps, cycle.omega
    m = int(min(max(np.ceil(n_periods * P), 200), len(X) - S))
    spread = float(np.sqrt(np.mean(np.sum((X[S:] - X[S:].mean(0)) ** 2, 1))))
    tol = tol_rel * spread
    coef, h, resid = _fit_curve(X[S:S + m], om * np.arange(S, S + m), tol)
    ref = PhaseReference(None, om, P, coef, h, spread, max(tol, 3 * resid), 1, 1, 0, resid, cycle.dt_ms)
    _, d = ref.phase_on_cycle(X[:S + 1])
    off = np.nonzero(d > ref.tol)[0]
    t_conv = int(off.max() + 1) if len(off) else 0
    if t_conv + m <= len(X):
        coef, h, resid = _fit_curve(X[t_conv:t_conv + m], om * np.arange(t_conv, t_conv + m), tol)
    lam2 = cycle.lyapunov_per_step[1] if cycle.lyapunov_per_step is not None and len(cycle.lyapunov_per_step) > 1 else -0.1
    k0 = int(np.clip(np.ceil((np.log(1.0 / tol_rel) + 2) / max(-lam2, 1e-3)), 5, 50 * P))
    return PhaseReference(system, om, P, coef, h, spread, max(tol, 3 * resid), k0, int(max(40 * P, 4 * k0)),
                          t_conv, resid, cycle.dt_ms)


def asymptotic_phase(system: DynamicalSystem, states: np.ndarray | torch.Tensor, times: np.ndarray | float,
                     ref: PhaseReference | None = None) -> np.ndarray:
    """Asymptotic phase (deg) of states (B x N) at trial steps `times`, relative to the free run.

    Builds the phase reference (a few seconds) unless one is given; see
    `PhaseReference.asymptotic_phase`.
    """
    ref = ref if ref is not None else phase_reference(system)
    return ref.asymptotic_phase(states, times)


# ============================================================== phase response curve

@dataclass
class PhaseResponse:
    """Phase shift (deg) of one pulse per colour against the phase at which it arrives.

    arrival_deg (n,): phase of the cycle at pulse onset (0 = phase of the
    free-running network at trial start, i.e. onset step t arrives at
    omega * t); shift_deg (3 x n): asymptotic phase after the pulse minus
    that without it; mean_deg / std_deg: circular mean and std over the
    cycle, per colour (green, purple, red); range_deg: max - min of the curve.
    """

    arrival_deg: np.ndarray
    shift_deg: np.ndarray
    mean_deg: np.ndarray
    std_deg: np.ndarray
    range_deg: np.ndarray

    def to_dict(self) -> dict:
        return _jsonable({"arrival_deg": self.arrival_deg,
                          **{c: {"shift_deg": self.shift_deg[i], "mean": self.mean_deg[i], "std": self.std_deg[i],
                                 "range": self.range_deg[i]} for i, c in enumerate(task.COLORS)}})


@single_thread
def phase_response_curve(system: DynamicalSystem, ref: PhaseReference, n_phases: int = 72,
                         pulse_steps: int = task.PULSE_STEPS) -> PhaseResponse:
    """Kick of each colour for pulses arriving at n_phases phases evenly spread over the cycle."""
    arrival = 360.0 * np.arange(n_phases) / n_phases
    x = torch.as_tensor(ref.curve(arrival), dtype=_dtype(system))
    start = x.repeat(4, 1)
    codes = np.repeat(np.array([0, 1, 2, task.NO_INPUT]), n_phases)[:, None].repeat(pulse_steps, 1)
    _, z = simulate(system, codes, x_init=start)
    ph = ref.asymptotic_phase(z, pulse_steps)
    shift = wrap_deg(ph[:3 * n_phases].reshape(3, n_phases) - ph[3 * n_phases:][None])
    mean = np.array([circular_mean_deg(s) for s in shift])
    rng_ = np.array([np.ptp(wrap_deg(s - m)) for s, m in zip(shift, mean)])
    return PhaseResponse(arrival, shift, mean, np.array([circular_std_deg(s) for s in shift]), rng_)


# ============================================================== phases in trials

@dataclass
class TrialPhases:
    """Asymptotic phases (deg, relative to the free run) along a batch of trials.

    colors, onsets (B x n, steps; -1 = no pulse); after_deg (B x n): phase
    right after each pulse (state x_{onset+2}) as if the input stopped there;
    end_deg (B,): phase at the end of the trial (equals the phase after the
    last pulse without noise); start_deg: phase of x0 (0 up to rounding);
    kicks_deg (B x n): after_deg minus the phase before the pulse;
    outputs, decisions (B,): readout z at the last step and its +-0.5
    threshold decision (+1 valid, -1 invalid, 0 undecided).
    """

    colors: np.ndarray
    onsets: np.ndarray
    after_deg: np.ndarray
    end_deg: np.ndarray
    start_deg: float
    kicks_deg: np.ndarray
    outputs: np.ndarray
    decisions: np.ndarray
    n_steps: int


def stimulus_codes(colors: np.ndarray, onsets: np.ndarray, n_steps: int,
                   pulse_steps: int = task.PULSE_STEPS) -> np.ndarray:
    """Stimulus codes (B x n_steps) for pulses given as colors, onsets (B x n; -1 = no pulse); any length."""
    colors = np.atleast_2d(np.asarray(colors, dtype=np.int64))
    onsets = np.atleast_2d(np.asarray(onsets, dtype=np.int64))
    codes = np.full((len(colors), n_steps), task.NO_INPUT, dtype=np.int64)
    b, j = np.nonzero(colors >= 0)
    for s in range(pulse_steps):
        codes[b, onsets[b, j] + s] = colors[b, j]
    return codes


@single_thread
def trial_phases(system: DynamicalSystem, ref: PhaseReference, colors: np.ndarray, onsets: np.ndarray,
                 n_steps: int | None = None, noise_std: float | np.ndarray = 0.0, seed: int = 0,
                 pulse_steps: int = task.PULSE_STEPS, pulses: bool = True) -> TrialPhases:
    """Run trials (colours and onset steps, B x n, -1 = no pulse) and measure their phases.

    n_steps defaults to the 500 ms trial (or just past the last pulse if
    later). Noise (drive noise std, scalar or per trial) acts during the
    trial; the phase read-out (relaxation onto the cycle) is noise-free.
    pulses=False skips the phases after each pulse (after_deg, kicks_deg NaN).
    """
    colors = np.atleast_2d(np.asarray(colors, dtype=np.int64))
    onsets = np.atleast_2d(np.asarray(onsets, dtype=np.int64))
    present = colors >= 0
    last = int((np.where(present, onsets, 0) + pulse_steps).max()) if present.any() else 0
    n_steps = max(n_steps or task.N_STEPS, last)
    codes = stimulus_codes(colors, onsets, n_steps, pulse_steps)
    keep = np.where(present, onsets + pulse_steps, -1)
    g = torch.Generator().manual_seed(seed)
    kept, final = simulate(system, codes, keep=keep if pulses else None, noise_std=noise_std, generator=g)
    b, j = np.nonzero(present) if pulses else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if not pulses:
        kept = torch.zeros((0, 0, final.shape[1]), dtype=final.dtype)
    states = torch.cat([kept[torch.as_tensor(b), torch.as_tensor(j)], final, system.x0.detach()[None]])
    times = np.concatenate([keep[b, j], np.full(len(final), n_steps), [0]])
    ph = ref.asymptotic_phase(states, times)
    after = np.full(colors.shape, np.nan)
    after[b, j] = ph[:len(b)]
    end = ph[len(b):len(b) + len(final)]
    start = float(ph[-1])
    before = np.concatenate([np.full((len(colors), 1), start), after[:, :-1]], 1)
    z, dec = decisions(system, final)
    return TrialPhases(colors, onsets, after, end, start, wrap_deg(after - before), z, dec, n_steps)


# ============================================================== clusters on the phase circle

@dataclass
class Cluster:
    """A group of phases: circular mean, largest deviation from it and circular std (deg)."""

    centre_deg: float
    width_deg: float
    std_deg: float
    size: int
    valid_fraction: float | None = None


@dataclass
class ClusterReport:
    """Clusters of phases on the circle, split at empty arcs >= min_gap_deg.

    labels (B,): cluster index per phase (-1 for NaN); clusters ordered by
    centre; margin_deg: the narrowest empty arc separating two clusters
    (None for a single cluster).
    """

    clusters: list[Cluster]
    labels: np.ndarray
    margin_deg: float | None
    min_gap_deg: float

    @property
    def n(self) -> int:
        return len(self.clusters)

    def to_dict(self) -> dict:
        return _jsonable({"n": self.n, "margin_deg": self.margin_deg, "min_gap_deg": self.min_gap_deg,
                          "clusters": [asdict(c) for c in self.clusters]})


def circular_clusters(phases_deg: np.ndarray, min_gap_deg: float = 30.0,
                      valid: np.ndarray | None = None) -> ClusterReport:
    """Split phases (deg) into clusters at every empty arc of at least min_gap_deg.

    valid (B,) bools, if given, fills each cluster's fraction of valid trials.
    """
    ph = np.asarray(phases_deg, dtype=float).ravel()
    ok = np.nonzero(np.isfinite(ph))[0]
    labels = np.full(len(ph), -1)
    if len(ok) == 0:
        return ClusterReport([], labels, None, min_gap_deg)
    a = np.mod(ph[ok], 360.0)
    order = np.argsort(a)
    s = a[order]
    gaps = np.diff(np.append(s, s[0] + 360.0))  # gap after each sorted point
    cuts = np.nonzero(gaps >= min_gap_deg)[0]
    if len(cuts) == 0:
        groups = [order]
        margin = None
    else:
        start = (cuts[0] + 1) % len(s)
        rolled = np.roll(np.arange(len(s)), -start)
        groups, cur = [], []
        for i in rolled:
            cur.append(order[i])
            if i in set(cuts.tolist()):
                groups.append(np.array(cur))
                cur = []
        if cur:
            groups.append(np.array(cur))
        margin = float(gaps[cuts].min()) if len(groups) > 1 else None
    clusters = []
    for gidx in groups:
        vals = ph[ok[gidx]]
        c = float(circular_mean_deg(vals))
        vf = float(np.mean(np.asarray(valid)[ok[gidx]])) if valid is not None else None
        clusters.append(Cluster(c, float(np.abs(wrap_deg(vals - c)).max()), float(circular_std_deg(vals)),
                                len(gidx), vf))
    order_c = np.argsort([c.centre_deg for c in clusters])
    for new, old in enumerate(order_c):
        labels[ok[groups[old]]] = new
    return ClusterReport([clusters[i] for i in order_c], labels, margin, min_gap_deg)


# ============================================================== the phase code and the automaton

@dataclass
class PhaseCode:
    """Colour kicks decomposed as kick_c = common offset + 120 deg x step_c (step_c in Z3) + residual.

    kick_mean_deg, kick_std_deg: circular mean and std per colour (green,
    purple, red); common_offset_deg: c in [-60, 60), the circular mean of the
    kicks modulo 120 deg (arg of the mean of exp(3 i kick) / 3); steps: Z3
    step per colour (0: +0, 1: +120, 2: -120 after removing c); residual_deg:
    what is left; is_bijection: the three steps are all different, which is
    what makes the sum mod 3 decide SET.
    """

    kick_mean_deg: np.ndarray
    kick_std_deg: np.ndarray
    common_offset_deg: float
    steps: tuple[int, int, int]
    residual_deg: np.ndarray

    @property
    def is_bijection(self) -> bool:
        return len(set(self.steps)) == 3

    def reading(self, phase_deg: np.ndarray, n_pulses: np.ndarray | int) -> np.ndarray:
        """Phase after n pulses with the common offset removed: phase - n c (deg)."""
        return wrap_deg(np.asarray(phase_deg) - np.asarray(n_pulses) * self.common_offset_deg)

    def to_dict(self) -> dict:
        return _jsonable({"common_offset_deg": self.common_offset_deg,
                          "z3_steps": dict(zip(task.COLORS, self.steps)), "is_bijection": self.is_bijection,
                          "residual_deg": dict(zip(task.COLORS, self.residual_deg)),
                          "kick_deg": {c: {"mean": m, "std": s} for c, m, s in
                                       zip(task.COLORS, self.kick_mean_deg, self.kick_std_deg)}})


def phase_code(kicks_deg: np.ndarray, colors: np.ndarray) -> PhaseCode:
    """The phase code from observed kicks (any shape) and the colour of each kick."""
    k = np.asarray(kicks_deg, float).ravel()
    c = np.asarray(colors).ravel()
    mean = np.array([circular_mean_deg(k[(c == i) & np.isfinite(k)]) for i in range(3)], dtype=float)
    std = np.array([circular_std_deg(k[(c == i) & np.isfinite(k)]) for i in range(3)], dtype=float)
    return phase_code_from_means(mean, std)


def phase_code_from_means(mean_deg: np.ndarray, std_deg: np.ndarray | None = None) -> PhaseCode:
    mean = np.asarray(mean_deg, float)
    common = float(np.rad2deg(np.angle(np.mean(np.exp(3j * np.deg2rad(mean))))) / 3)
    common = float(np.mod(common + 60, 120) - 60)  # in [-60, 60)
    rel = wrap_deg(mean - common)
    steps = tuple(int(s) for s in np.mod(np.round(rel / CLASS_DEG), 3))
    resid = wrap_deg(rel - CLASS_DEG * np.array(steps))
    return PhaseCode(mean, np.zeros(3) if std_deg is None else np.asarray(std_deg, float), common, steps, resid)


@dataclass
class NetworkAutomaton:
    """The automaton read off the network's phases, and how well it predicts the network.

    extraction: classes = clusters of the reading (phase after i pulses
    minus i times the common offset), transitions = majority successors.
    class_report: the clusters of the pooled readings. agreement: fraction
    of trials where the automaton's accept/reject equals the network's
    decision; phase_agreement: fraction where the automaton's final state is
    the class the network's phase ended in; disagreements: the first few
    trials where the decision differs (colours, onsets, output z).
    """

    extraction: Extraction
    class_report: ClusterReport
    agreement: float
    phase_agreement: float
    n_trials: int
    disagreements: list[dict]

    @property
    def automaton(self) -> Automaton:
        return self.extraction.automaton

    def to_dict(self) -> dict:
        a = self.automaton
        return _jsonable({"states": a.n_states, "is_z3": a.is_z3(), "z3_steps": a.z3_steps(),
                          "recognizes_set": a.recognizes_set(), "transitions": a.to_dict()["transitions"],
                          "labels": list(a.labels), "accepting": sorted(a.accepting),
                          "consistency": self.extraction.consistency, "complete": self.extraction.complete,
                          "agreement": self.agreement, "phase_agreement": self.phase_agreement,
                          "n_trials": self.n_trials, "n_disagreements": int(round((1 - self.agreement) * self.n_trials)),
                          "disagreements": self.disagreements, "classes": self.class_report.to_dict()})


def network_automaton(tp: TrialPhases, code: PhaseCode, min_gap_deg: float = 30.0,
                      max_listed: int = 10) -> NetworkAutomaton:
    """Extract the automaton from trial phases (see `NetworkAutomaton`)."""
    n = tp.colors.shape[1]
    seq = np.concatenate([np.full((len(tp.colors), 1), tp.start_deg), tp.after_deg], 1)
    reading = code.reading(seq, np.arange(n + 1)[None])
    rep = circular_clusters(reading, min_gap_deg)
    classes = rep.labels.reshape(reading.shape)
    labels = tuple(f"{c.centre_deg:+.0f}°" for c in rep.clusters)
    ext = extract_automaton(classes, tp.colors, tp.decisions == 1, n_classes=max(rep.n, 1), labels=labels)
    accepted = ext.automaton.accepts(tp.colors)
    agree = accepted == (tp.decisions == 1)
    phase_ok = ext.raw.run(tp.colors) == classes[:, -1]
    bad = np.nonzero(~agree)[0][:max_listed]
    dis = [{"colors": task.sequence_name(tp.colors[i][tp.colors[i] >= 0]), "onsets": tp.onsets[i].tolist(),
            "output": float(tp.outputs[i]), "end_phase_deg": float(tp.end_deg[i])} for i in bad]
    return NetworkAutomaton(ext, rep, float(agree.mean()), float(phase_ok.mean()), len(agree), dis)


def phase_membership(system: DynamicalSystem, ref: PhaseReference, code: PhaseCode, gap_steps: int = 10,
                     first_onset: int = 5) -> PrefixOracle:
    """The network as a membership oracle for words of any length (for `setdyn.automaton.learn_lstar`).

    A word w of k colours is shown with onsets first_onset + gap_steps * i
    (steps; 50, 150, 250 ... ms by default, so 10 colours take ~1 s, longer
    than a trial); after each pulse the state's asymptotic phase minus
    (pulses so far) x common offset is read; the prefix is a member when
    that reading lies within +-60 deg of the start phase. (The network's
    readout z is not used: it was trained for three pulses in 500 ms only.)
    """

    def oracle(words: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
        if not words:
            return []
        lmax = max(1, max(len(w) for w in words))
        colors = np.full((len(words), lmax), -1, dtype=np.int64)
        for i, w in enumerate(words):
            colors[i, :len(w)] = w
        onsets = np.where(colors >= 0, first_onset + gap_steps * np.arange(lmax)[None], -1)
        tp = trial_phases(system, ref, colors, onsets, n_steps=1)
        read = code.reading(tp.after_deg, np.arange(1, lmax + 1)[None])
        member = np.abs(read) < CLASS_DEG / 2
        first = bool(abs(tp.start_deg) < CLASS_DEG / 2)
        return [np.concatenate([[first], member[i, :len(w)]]) for i, w in enumerate(words)]

    return oracle


# ============================================================== longer sequences, noise

def random_sequences(n_per_length: int, lengths: Sequence[int], seed: int = 0, gap_range: tuple[int, int] = (5, 15),
                     first_range: tuple[int, int] = (3, 8)) -> tuple[np.ndarray, np.ndarray]:
    """Random colour words (n_per_length of each length) with random onsets: (colors, onsets), B x max length.

    The first onset is uniform in first_range (steps), the gaps between
    onsets uniform in gap_range (steps; >= 5 keeps the task's 30 ms pause).
    Padding is -1.
    """
    rng = np.random.default_rng(seed)
    lengths = np.repeat(np.asarray(lengths, dtype=np.int64), n_per_length)
    lmax = int(lengths.max())
    colors = rng.integers(0, 3, (len(lengths), lmax))
    gaps = rng.integers(gap_range[0], gap_range[1] + 1, (len(lengths), lmax))
    gaps[:, 0] = rng.integers(first_range[0], first_range[1] + 1, len(lengths))
    onsets = np.cumsum(gaps, 1)
    mask = np.arange(lmax)[None] < lengths[:, None]
    return np.where(mask, colors, -1), np.where(mask, onsets, -1)


@single_thread
def accuracy_by_length(system: DynamicalSystem, ref: PhaseReference, code: PhaseCode,
                       lengths: Sequence[int] = tuple(range(1, 11)), n_per_length: int = 100,
                       seed: int = 0, gap_range: tuple[int, int] = (5, 15)) -> dict:
    """Accuracy of the mod-3 phase reading on random words of 1..10 colours with random onsets.

    For a word of n colours, the reading is the asymptotic phase after the
    last pulse minus n x common offset; it is correct when it lies within
    +-60 deg of 120 deg x (sum of the colours' Z3 steps mod 3), the
    automaton's state. Returns per length: accuracy, mean and circular std
    of the error (reading minus 120 x state, deg), and drift_deg_per_pulse:
    slope of the mean error against n (least squares).
    """
    colors, onsets = random_sequences(n_per_length, lengths, seed, gap_range)
    tp = trial_phases(system, ref, colors, onsets, n_steps=1, pulses=False)
    n = (colors >= 0).sum(1)
    last = tp.end_deg  # no input after the last pulse: the end phase is the phase after it
    steps = np.asarray(code.steps)
    state = np.where(colors >= 0, steps[np.clip(colors, 0, 2)], 0).sum(1) % 3
    err = wrap_deg(code.reading(last, n) - CLASS_DEG * state)
    out: dict[str, Any] = {"lengths": list(map(int, lengths)), "accuracy": [], "mean_error_deg": [],
                           "std_error_deg": [], "n_per_length": n_per_length, "gap_steps": list(gap_range)}
    for length in lengths:
        e = err[n == length]
        out["accuracy"].append(float(np.mean(np.abs(e) < CLASS_DEG / 2)))
        out["mean_error_deg"].append(float(circular_mean_deg(e)))
        out["std_error_deg"].append(float(circular_std_deg(e)))
    out["drift_deg_per_pulse"] = float(np.polyfit(np.asarray(lengths, float), out["mean_error_deg"], 1)[0]) \
        if len(lengths) > 1 else None
    return out


@single_thread
def noise_robustness(system: DynamicalSystem, ref: PhaseReference, trials: task.TrialSet,
                     noise_levels: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5), seed: int = 0) -> dict:
    """Decision accuracy and end-phase spread against test-time drive noise (std per unit per step).

    All levels run in one batch on the same trials. phase_error_deg is the
    circular std of (noisy end phase - noise-free end phase of the same
    trial); phase_class_accuracy: fraction with that error within +-60 deg.
    """
    levels = np.asarray(noise_levels, float)
    k = len(trials)
    colors = np.tile(trials.colors, (len(levels) + 1, 1))
    onsets = np.tile(trials.onsets, (len(levels) + 1, 1))
    sigma = np.concatenate([np.zeros(k), np.repeat(levels, k)])
    tp = trial_phases(system, ref, colors, onsets, noise_std=sigma, seed=seed, pulses=False)
    clean = tp.end_deg[:k]
    targets = np.asarray(trials.targets)
    out: dict[str, Any] = {"noise_std": levels.tolist(), "accuracy": [], "phase_error_deg": [],
                           "phase_class_accuracy": [], "n_trials": k}
    for i in range(len(levels)):
        sl = slice(k * (i + 1), k * (i + 2))
        err = wrap_deg(tp.end_deg[sl] - clean)
        out["accuracy"].append(float(np.mean(tp.decisions[sl] == targets)))
        out["phase_error_deg"].append(float(circular_std_deg(err)))
        out["phase_class_accuracy"].append(float(np.mean(np.abs(err) < CLASS_DEG / 2)))
    return out


# ============================================================== PCA, rotation, oscillator fit

@dataclass
class TrainingPCA:
    """PCA of the noise-free rates of a trial set (the paper's: all 540 training trials, 50 steps each).

    rates: B x T x N (rates after each step, as `CTRNN.run` returns them);
    scores: B x T x n_components; explained_variance_ratio per component.
    """

    pca: Any = field(repr=False)
    trials: task.TrialSet = field(repr=False)
    rates: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    explained_variance_ratio: np.ndarray

    def project(self, rates: np.ndarray) -> np.ndarray:
        r = np.asarray(rates, float)
        return self.pca.transform(r.reshape(-1, r.shape[-1])).reshape(*r.shape[:-1], -1)


def trial_rates(system: DynamicalSystem, codes: np.ndarray) -> np.ndarray:
    """Noise-free rates after each step (B x T x N), rates[:, t] = activation(x_{t+1})."""
    states = trajectory(system, codes)[:, 1:]
    with torch.no_grad():
        return activation(system, torch.as_tensor(states)).numpy()


@single_thread
def training_pca(system: DynamicalSystem, trials: task.TrialSet | None = None, seed: int = 0,
                 n_components: int = 10) -> TrainingPCA:
    """PCA of the noise-free rates of the training set drawn with `seed` (or given trials).

    Same result as scikit-learn's PCA (eigenvectors of the covariance of all
    B x T rate vectors; each component's sign fixed so that its largest
    loading is positive), without its import time.
    """
    trials = trials if trials is not None else task.training_set(seed)
    rates = trial_rates(system, trials.codes)
    pca = PCA(n_components).fit(rates.reshape(-1, rates.shape[-1]))
    scores = pca.transform(rates.reshape(-1, rates.shape[-1])).reshape(*rates.shape[:2], -1)
    return TrainingPCA(pca, trials, rates, scores, pca.explained_variance_ratio_)


class PCA:
    """Principal components of samples (rows): mean_, components_ (k x N), explained_variance_ratio_."""

    def __init__(self, n_components: int = 10) -> None:
        self.n_components = n_components

    def fit(self, x: np.ndarray) -> "PCA":
        x = np.asarray(x, float)
        self.mean_ = x.mean(0)
        xc = x - self.mean_
        ev, vec = np.linalg.eigh(xc.T @ xc / max(len(x) - 1, 1))
        ev, vec = ev[::-1].clip(0), vec[:, ::-1]
        k = min(self.n_components, x.shape[1])
        comp = vec[:, :k].T
        comp *= np.sign(comp[np.arange(k), np.abs(comp).argmax(1)])[:, None]
        self.components_ = comp
        self.explained_variance_ = ev[:k]
        self.explained_variance_ratio_ = ev[:k] / ev.sum() if ev.sum() > 0 else np.zeros(k)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, float) - self.mean_) @ self.components_.T


def rotate_pc(scores12: np.ndarray, angle_deg: float) -> np.ndarray:
    """(rPC1, rPC2) of (PC1, PC2) scores (... x 2): the axes turned by angle_deg counterclockwise.

    rPC1 = cos(a) PC1 + sin(a) PC2 is the coordinate along the unit vector at
    angle a from PC1 in the PC1-PC2 plane; rPC2 = -sin(a) PC1 + cos(a) PC2.
    """
    a = np.deg2rad(angle_deg)
    s = np.asarray(scores12, float)
    return np.stack([np.cos(a) * s[..., 0] + np.sin(a) * s[..., 1], -np.sin(a) * s[..., 0] + np.cos(a) * s[..., 1]], -1)


def pc_angle_deg(scores12: np.ndarray) -> np.ndarray:
    """Angle (deg) of points in the PC1-PC2 plane, atan2(PC2, PC1)."""
    s = np.asarray(scores12, float)
    return np.rad2deg(np.arctan2(s[..., 1], s[..., 0]))


def separability(end_pc12: np.ndarray, valid: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """Margin (PC units) between valid and invalid end points on rPC1, per rotation angle.

    margin(a) = min over invalid of rPC1 - max over valid of rPC1: positive
    when a threshold on rPC1 separates them with valid trials on the low side
    (the side where the paper's oscillator ends valid trials).
    """
    e = np.asarray(end_pc12, float)
    v = np.asarray(valid, bool)
    a = np.deg2rad(np.asarray(angles_deg, float))
    proj = np.cos(a)[:, None] * e[None, :, 0] + np.sin(a)[:, None] * e[None, :, 1]
    return proj[:, ~v].min(1) - proj[:, v].max(1)


@dataclass
class RotationScan:
    """Separability margin of the end points against the rotation angle; best angle (deg) and margin."""

    angles_deg: np.ndarray
    margins: np.ndarray
    best_angle_deg: float
    best_margin: float

    @property
    def separable(self) -> bool:
        return self.best_margin > 0

    def to_dict(self) -> dict:
        return _jsonable({"best_angle_deg": self.best_angle_deg, "best_margin": self.best_margin,
                          "separable": self.separable})


def best_rotation(end_pc12: np.ndarray, valid: np.ndarray, step_deg: float = 0.5) -> RotationScan:
    """Scan rotation angles in [0, 360) and keep the one with the widest valid/invalid margin on rPC1."""
    angles = np.arange(0.0, 360.0, step_deg)
    m = separability(end_pc12, valid, angles)
    i = int(np.argmax(m))
    return RotationScan(angles, m, float(angles[i]), float(m[i]))


def rpc1(pca: TrainingPCA, rates: np.ndarray, angle_deg: float) -> np.ndarray:
    """rPC1 of rates (... x N): PCA projection on PC1-PC2, rotated by angle_deg (see `rotate_pc`)."""
    return rotate_pc(pca.project(rates)[..., :2], angle_deg)[..., 0]


@single_thread
def fit_oscillator(system: DynamicalSystem, pca: TrainingPCA, angle_deg: float, period_ms: float,
                   kicks_deg: Sequence[float], fit_trials: task.TrialSet | None = None,
                   heldout_trials: task.TrialSet | None = None, n_boot: int = 100, seed: int = 0) -> OscillatorFit:
    """Least-squares fit of the handcrafted oscillator to the network's rPC1.

    Fits A, T, phi0, offset and the three kicks to rPC1(t) of the fit trials
    (default: the 27 test trials with the training config's test onsets,
    seed 12345), sampled at t = 10, 20, ... 500 ms (rates after each step);
    R^2 on held-out trials (default 27 x 4 fresh onset draws, seed 4242);
    95% bootstrap CIs of the kicks. Starting values: the measured period and
    kicks.
    """
    fit_trials = fit_trials if fit_trials is not None else task.test_set(seed=12345)
    heldout_trials = heldout_trials if heldout_trials is not None else task.fresh_set(4242, 4)

    def signal(tr):
        return rpc1(pca, trial_rates(system, tr.codes), angle_deg)

    t_ms = (np.arange(fit_trials.codes.shape[1]) + 1) * task.DT_MS
    held = (signal(heldout_trials), heldout_trials.onsets * task.DT_MS, heldout_trials.colors)
    return fit_handcrafted(t_ms, signal(fit_trials), fit_trials.onsets * task.DT_MS, fit_trials.colors,
                           period_ms, kicks_deg, heldout=held, n_boot=n_boot, seed=seed)


# ============================================================== everything

@single_thread
def analyze(model: DynamicalSystem, draws: int = 100, seed: int = 0, training_seed: int = 0,
            n_boot: int = 100, lstar: bool = True, progress: bool = False) -> dict:
    """Measure the mechanism of a model; one JSON-serialisable dict (phases in deg, times in ms).

    Keys: mechanism (the kind of free-running dynamics), period_ms,
    floquet_multipliers (magnitudes per period, largest first), cycle (full
    limit-cycle report), kick_deg ({colour: {mean, std}} over a phase
    response curve of 72 arrival phases), prc_range_deg, kick_in_trial_deg
    (the same from the pulses of the 27 x `draws` trials), phase_code
    (common offset, Z3 step per colour), n_end_clusters, end_clusters,
    automaton_states, automaton_agreement (network decision vs automaton on
    27 x `draws` fresh onset draws), automaton, lstar (L* with the network's
    phase as membership oracle), accuracy_by_length (mod-3 reading, 1..10
    colours), noise (accuracy and phase spread vs test-time noise), pca
    (variance of PC1-2 of the training rates, rPC1 rotation), oscillator_fit
    ({amplitude, period_ms, offset, kick_deg, r2, ...}), network_accuracy
    (decisions on the same fresh trials), seconds.
    Phase-based entries are None when the free run is not a limit cycle.
    Runs on one thread (see `single_thread`).
    """
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        if progress:
            print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    cyc = cycle_analysis(model)
    log(f"cycle: {cyc.kind}, period {cyc.period_ms}")
    trials = task.fresh_set(seed + 2024, draws)
    out: dict[str, Any] = {"mechanism": cyc.kind, "period_ms": cyc.period_ms,
                           "floquet_multipliers": cyc.floquet_multipliers, "cycle": cyc.to_dict()}
    keys_none = ["kick_deg", "prc_range_deg", "kick_in_trial_deg", "phase_code", "n_end_clusters", "end_clusters",
                 "automaton_states", "automaton_agreement", "automaton", "lstar", "accuracy_by_length", "noise",
                 "oscillator_fit"]
    pca = training_pca(model, seed=training_seed)
    tr = pca.trials
    end12 = pca.scores[:, -1, :2]
    rot = best_rotation(end12, tr.targets > 0)
    out["pca"] = {"explained_variance_pc1": float(pca.explained_variance_ratio[0]),
                  "explained_variance_pc12": float(pca.explained_variance_ratio[:2].sum()),
                  "rpc1": rot.to_dict(), "training_seed": training_seed}
    if not cyc.oscillates:
        _, final = simulate(model, trials.codes)
        out["network_accuracy"] = float(np.mean(decisions(model, final)[1] == trials.targets))
        out.update({k: None for k in keys_none})
        out["seconds"] = time.perf_counter() - t0
        return _jsonable(out)

    ref = phase_reference(model, cyc)
    out["phase_reference"] = ref.to_dict()
    prc = phase_response_curve(model, ref)
    out["kick_deg"] = {c: {"mean": prc.mean_deg[i], "std": prc.std_deg[i]} for i, c in enumerate(task.COLORS)}
    out["prc_range_deg"] = dict(zip(task.COLORS, prc.range_deg))
    log("prc done")
    tp = trial_phases(model, ref, trials.colors, trials.onsets)
    out["network_accuracy"] = float(np.mean(tp.decisions == trials.targets))
    code = phase_code(tp.kicks_deg, tp.colors)
    out["kick_in_trial_deg"] = {c: {"mean": code.kick_mean_deg[i], "std": code.kick_std_deg[i]}
                                for i, c in enumerate(task.COLORS)}
    out["phase_code"] = code.to_dict()
    clusters = circular_clusters(tp.end_deg, valid=trials.targets > 0)
    out["n_end_clusters"] = clusters.n
    out["end_clusters"] = clusters.to_dict()
    log("trial phases done")
    na = network_automaton(tp, code)
    out["automaton_states"] = na.automaton.n_states
    out["automaton_agreement"] = na.agreement
    out["automaton"] = na.to_dict()
    if lstar:
        ls = learn_lstar(phase_membership(model, ref, code), seed=seed)
        out["lstar"] = ls.to_dict()
        log("L* done")
    else:
        out["lstar"] = None
    out["accuracy_by_length"] = accuracy_by_length(model, ref, code, seed=seed)
    out["noise"] = noise_robustness(model, ref, task.fresh_set(seed + 99, 20), seed=seed)
    log("lengths, noise done")
    fit = fit_oscillator(model, pca, rot.best_angle_deg, cyc.period_ms, code.kick_mean_deg, n_boot=n_boot, seed=seed)
    out["oscillator_fit"] = fit.to_dict()
    log("oscillator fit done")
    out["seconds"] = time.perf_counter() - t0
    return _jsonable(out)
