"""What the input-free network does: a limit cycle (period, Floquet multipliers), a fixed point, or else.

Two entry points that answer different questions:

* `oscillation_test(model)`: the quick yes/no test of the seed-selection
  rule (period from the mean-crossings of the free run's first principal
  component; does it keep oscillating within the 500 ms trial?).
* `free_run_dynamics(system)`: the full classification and measurement
  (kind, period from the rotation number, Floquet multipliers, fixed point
  and its damped period); the first step of every phase measurement.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .. import task
from ..model import CTRNN
from ..numerics import jsonable
from .curve import fit_closed_curve, phase_on_curve
from .simulate import (DynamicalSystem, activation, free_run_rates, free_trajectory, input_table, jacobians,
                       single_thread, state_dtype)

#: Cycles shorter than this are the dt = tau artefact of memorising nets, not the paper's mechanism.
MIN_PERIOD_MS = 80.0


# ============================================================== the seed-selection test

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
class OscillationTest:
    """Free-running behaviour: period (ms) or None, amplitude of the dominant PC, and a verdict."""

    period_ms: float | None
    amplitude: float
    is_limit_cycle: bool
    oscillates_in_trial: bool


def oscillation_test(model: CTRNN, settle_steps: int = 1000, measure_steps: int = 500,
                     min_amplitude: float = 0.05) -> OscillationTest:
    """Is the free-running network a (slow) limit cycle? The seed-selection test (see `free_run_dynamics`).

    Runs the noise-free, input-free network from x0 for settle + measure steps,
    projects the last `measure_steps` rates on their first principal component
    and measures the period from its mean-crossings. A limit cycle needs a
    sustained amplitude (PC1 std >= min_amplitude) and a period >= MIN_PERIOD_MS;
    `oscillates_in_trial` asks the same of the first 500 ms (the trial).
    """
    rates = free_run_rates(model, settle_steps + measure_steps)
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
    return OscillationTest(period, amp, bool(cycle), in_trial)


def _pc1(x: np.ndarray) -> np.ndarray:
    xc = x - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    return xc @ vt[0]


def _turns_in_last_half(pc: np.ndarray) -> bool:
    """The projection still changes direction (a peak or trough) in the last half of the trial."""
    d = np.diff(pc)
    return bool(np.any(np.sign(d[:-1]) != np.sign(d[1:])))


# ============================================================== the full classification

@dataclass
class FreeRunDynamics:
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
    period fitted over the analyzed window (1 for a limit cycle).
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
        return jsonable(d)


@torch.no_grad()
def fixed_point(system: DynamicalSystem, x_guess: np.ndarray, iters: int = 50) -> tuple[np.ndarray, bool]:
    """Newton's method for x = step(x, 0) from x_guess (N,); returns (x*, converged)."""
    x = np.asarray(x_guess, dtype=float).copy()
    zero = input_table(system)[-1][None]
    for _ in range(iters):
        fx = system.step(torch.as_tensor(x[None], dtype=state_dtype(system)), zero)[0].numpy()
        g = fx - x
        if np.linalg.norm(g) < 1e-12 * (1 + np.linalg.norm(x)):
            return x, True
        jac = jacobians(system, x[None])[0]
        try:
            x = x - np.linalg.solve(jac - np.eye(len(x)), g)
        except np.linalg.LinAlgError:
            return x, False
    fx = system.step(torch.as_tensor(x[None], dtype=state_dtype(system)), zero)[0].numpy()
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
        gain_of = system.activation_derivative
    for count, pts in ((False, orbit[:burn]), (True, orbit)):  # first pass aligns the frame, uncounted
        for i in range(0, len(pts), 256):
            if ctrnn:  # tangent map without forming the Jacobians
                gains = gain_of(torch.as_tensor(pts[i:i + 256])).numpy()  # phi'(x)
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
def free_run_dynamics(system: DynamicalSystem, settle_steps: int = 2000, window_steps: int = 2000,
                      n_multipliers: int = 4, min_period_ms: float = MIN_PERIOD_MS,
                      dt_ms: float = task.DT_MS) -> FreeRunDynamics:
    """Classify and measure the input-free dynamics from x0 (see `FreeRunDynamics`).

    Runs settle_steps + window_steps input-free steps from x0 and analyzes the
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

    def fixed_point_report() -> FreeRunDynamics | None:
        xs, ok = fixed_point(system, X[-1])
        ev = np.linalg.eigvals(jacobians(system, xs[None])[0])
        ev = ev[np.argsort(-np.abs(ev))][:2 * n_multipliers]
        if not ok or np.abs(ev[0]) >= 1:
            return None
        dp, dt_decay = _damped(ev[0], dt_ms)
        return FreeRunDynamics(kind="fixed point", amplitude=0.0, pc12_variance=None, fixed_point=xs,
                               fixed_point_eigenvalues=ev, damped_period_ms=dp, decay_time_ms=dt_decay, **none,
                               **base)

    if spread < 1e-7 * scale or q_exact == 1:
        rep = fixed_point_report()
        if rep is not None:
            return rep

    if q_exact is not None and q_exact * dt_ms < min_period_ms:
        jp = _jacobian_product_eigs(system, tail[-q_exact - 1:-1], q_exact, n_multipliers)
        return FreeRunDynamics(kind="fast cycle", period_ms=q_exact * dt_ms, period_steps=float(q_exact),
                               omega=2 * np.pi / q_exact, floquet_multipliers=jp, lyapunov_per_step=None,
                               jacobian_product_eigs=jp, amplitude=amplitude, pc12_variance=var12,
                               decay_per_period=1.0, fixed_point=None, fixed_point_eigenvalues=None,
                               damped_period_ms=None, decay_time_ms=None, **base)

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
        return FreeRunDynamics(kind="irregular", amplitude=amplitude, pc12_variance=var12, fixed_point=None,
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
    return FreeRunDynamics(kind=kind, period_ms=period * dt_ms, period_steps=period, omega=2 * np.pi / period,
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
        coef, h, _ = fit_closed_curve(tail[:m], om * np.arange(m), tol)
        th, _ = phase_on_curve(coef, h, tail)
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
