"""The phase of a state, the phase response curve, and the phases along trials.

Phases are in degrees (wrapped to [-180, 180) unless stated). The phase of a
state on the limit cycle is the conjugating coordinate of the map: each
input-free step advances it by exactly omega = 360 deg / period. Its origin
is the asymptotic phase of x_0, so the free-running network is at phase
omega * t at step t.

The *asymptotic phase* of any state z at step t, relative to the free run, is
the phase z converges to when the input is switched off, minus the phase of
the free-running network at the same time: 0 for the no-input trial, and the
accumulated phase shift of the pulses otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import task, validate
from ..numerics import jsonable, wrap_deg
from .circular import circular_mean_deg, circular_std_deg
from .curve import fit_closed_curve, fourier_basis, phase_on_curve
from .cycle import FreeRunDynamics, free_run_dynamics
from .simulate import DynamicalSystem, decisions, relax, simulate, single_thread, state_dtype, stimulus_codes


# ============================================================== phase of a state

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
        return fourier_basis(th, self.harmonics) @ self.coef

    def phase_on_cycle(self, states: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(phase in rad in [0, 2 pi), distance to the cycle) of states near the cycle (B x N)."""
        z = np.asarray(states.detach() if torch.is_tensor(states) else states, dtype=float)
        return phase_on_curve(self.coef, self.harmonics, z, self.grid)

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
                            dtype=state_dtype(self.system)).reshape(-1, self.coef.shape[1]).clone()
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
        return jsonable({k: getattr(self, k) for k in ("period_steps", "omega", "harmonics", "radius", "tol",
                                                       "relax_steps", "max_relax_steps", "transient_steps",
                                                       "fit_residual")})


@single_thread
def phase_reference(system: DynamicalSystem, cycle: FreeRunDynamics | None = None, n_periods: float = 8.0,
                    tol_rel: float = 1e-4) -> PhaseReference:
    """Build the phase ruler of a system whose free run is a limit cycle (see `PhaseReference`).

    The Fourier series is fitted to >= n_periods periods of the settled
    free run, then refitted to the samples right after the free run from x0
    has reached the cycle (so that the phase origin, x0, is a few steps
    away and the period's residual error cannot accumulate). cycle: the
    system's `free_run_dynamics` (computed when None).
    """
    cycle = cycle or free_run_dynamics(system)
    if cycle.kind != "limit cycle":
        raise ValueError(f"no limit cycle to measure phases on: the free-running system is a {cycle.kind}")
    X, S, P, om = cycle.states, cycle.settle_steps, cycle.period_steps, cycle.omega
    m = int(min(max(np.ceil(n_periods * P), 200), len(X) - S))
    spread = float(np.sqrt(np.mean(np.sum((X[S:] - X[S:].mean(0)) ** 2, 1))))
    tol = tol_rel * spread
    coef, h, resid = fit_closed_curve(X[S:S + m], om * np.arange(S, S + m), tol)
    ref = PhaseReference(None, om, P, coef, h, spread, max(tol, 3 * resid), 1, 1, 0, resid, cycle.dt_ms)
    _, d = ref.phase_on_cycle(X[:S + 1])
    off = np.nonzero(d > ref.tol)[0]
    t_conv = int(off.max() + 1) if len(off) else 0
    if t_conv + m <= len(X):
        coef, h, resid = fit_closed_curve(X[t_conv:t_conv + m], om * np.arange(t_conv, t_conv + m), tol)
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
        return jsonable({"arrival_deg": self.arrival_deg,
                         **{c: {"shift_deg": self.shift_deg[i], "mean": self.mean_deg[i], "std": self.std_deg[i],
                                "range": self.range_deg[i]} for i, c in enumerate(task.COLORS)}})


@single_thread
def phase_response_curve(system: DynamicalSystem, ref: PhaseReference, n_phases: int = 72,
                         pulse_steps: int = task.PULSE_STEPS) -> PhaseResponse:
    """Kick of each colour for pulses arriving at n_phases phases evenly spread over the cycle."""
    arrival = 360.0 * np.arange(n_phases) / n_phases
    x = torch.as_tensor(ref.curve(arrival), dtype=state_dtype(system))
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
    outputs, decisions (B,): readout z at the last step and its decision
    (`setdyn.paper.decide`: +1 valid, -1 invalid, 0 undecided).
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
    pulse_steps = validate.whole(pulse_steps, "pulse_steps", 1)
    colors, onsets = validate.pulses(colors, onsets, 10 ** 9, pulse_steps)  # no trial length yet: onsets >= 0
    present = colors >= 0
    last = int((np.where(present, onsets, 0) + pulse_steps).max()) if present.any() else 0
    n_steps = max(task.N_STEPS if n_steps is None else validate.whole(n_steps, "n_steps", 1), last)
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
