"""The paper's handcrafted oscillator, as a formula and as a planar dynamical system.

The paper (Fig. 8) imitates the network's rotated first principal component
with

    f(t) = A sin(2 pi t / T + phi0 + sum of kicks) - offset,

A = 7, T = 290 ms, offset = 1.5, phi0 = 0, where every colour pulse adds a
one-off phase kick: 0 (green), +2 pi / 3 (purple), -2 pi / 3 (red). In the
paper's code the kick lands on the pulse's second input sample, 10 ms after
its onset (`paper.PAPER_OSCILLATOR["kick_delay_ms"]` says why).

* `handcrafted` evaluates that formula for batches of trials.
* `PlanarOscillator` is the same oscillator written as a discrete-time
  dynamical system on the plane (dt = 10 ms) with the interface of
  `setdyn.model.CTRNN` that the analysis needs (`x0`, `step(x, drive)`,
  `input_table()`, `readout(rates)`, `run(codes)`): a limit cycle of radius 1
  turning by 2 pi dt / T per step, a colour pulse rotating the state by its
  kick (spread over the pulse's steps) and optionally pushing it radially.
  Its period, phase kicks and Floquet multipliers are known exactly, which
  makes it the test bench of `setdyn.analysis`.
* `fit_handcrafted` fits amplitude, period, offset, initial phase and the
  three kicks to a signal (the network's rPC1) by least squares, with
  bootstrap confidence intervals over trials and R^2 on held-out trials;
  `fit_oscillator` does it for a network, on the trials `fit_trials()` and
  scored on `heldout_trials()`.

The paper's values are `setdyn.paper.PAPER_OSCILLATOR`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
from scipy.optimize import least_squares

from .. import paper, task, validate
from ..model import Run
from ..numerics import jsonable, r_squared, wrap_deg
from .pca import TrainingPCA, rpc1
from .simulate import DynamicalSystem, single_thread, trial_rates

_PAPER = paper.PAPER_OSCILLATOR


def _pulse_arrays(onsets_ms: np.ndarray | Sequence, colors: np.ndarray | Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(B x n) float onsets and int colours; -1 colour (or NaN onset) marks an absent pulse.

    Colours must be -1, 0, 1, 2 (:func:`setdyn.validate.codes`: 3 or 99 is refused, not read as
    red) and every present pulse's onset a finite number of ms."""
    col = np.atleast_2d(validate.codes(colors, "pulse colours"))
    ons = np.atleast_2d(np.asarray(onsets_ms, dtype=float))
    if ons.shape != col.shape:
        raise ValueError(f"onsets {ons.shape} and colours {col.shape} must have the same shape (trials x pulses)")
    if np.isinf(ons[col >= 0]).any():
        raise ValueError("pulse onsets must be finite times in ms (NaN marks an absent pulse), got inf")
    return ons, col


def kick_sum(t_ms: np.ndarray, onsets_ms: np.ndarray, colors: np.ndarray, kicks_rad: np.ndarray,
             kick_delay_ms: float = 0.0) -> np.ndarray:
    """Accumulated phase kick (rad) at times t_ms (T,) for each trial: B x T.

    A pulse of colour c with onset o counts from t >= o + kick_delay_ms on.
    """
    ons, col = _pulse_arrays(onsets_ms, colors)
    t = np.asarray(t_ms, dtype=float)
    present = (col >= 0) & np.isfinite(ons)
    k = np.where(present, np.asarray(kicks_rad, dtype=float)[np.clip(col, 0, 2)], 0.0)  # B x n
    on = t[None, None, :] >= (np.where(present, ons, np.inf) + kick_delay_ms)[:, :, None]  # B x n x T
    return (k[:, :, None] * on).sum(1)


def handcrafted(t_ms: np.ndarray, onsets_ms: np.ndarray | Sequence, colors: np.ndarray | Sequence,
                amplitude: float = _PAPER["amplitude"], period_ms: float = _PAPER["period_ms"],
                offset: float = _PAPER["offset"], kicks_deg: Sequence[float] = paper.PAPER_KICKS_DEG,
                phase0_deg: float = 0.0, kick_delay_ms: float = _PAPER["kick_delay_ms"]) -> np.ndarray:
    """The handcrafted oscillator f(t) = A sin(2 pi t / T + phi0 + sum of kicks) - offset.

    t_ms: sample times (ms, shape T); onsets_ms, colors: pulse onsets (ms) and
    colour indices (0 green, 1 purple, 2 red), shape (trials x pulses) or one
    trial (pulses,); kicks_deg: phase kick of green, purple, red (degrees);
    a kick counts from `onset + kick_delay_ms` on. Returns trials x T.
    Defaults are the paper's values (`paper.PAPER_OSCILLATOR`), the kick landing
    10 ms after the onset as in the paper's code: at t = 10 .. 500 ms this is the
    reference's curve sample for sample.
    """
    amplitude = validate.positive(amplitude, "amplitude")
    period_ms = validate.positive(period_ms, "period_ms")
    offset, phase0_deg = validate.finite(offset, "offset"), validate.finite(phase0_deg, "phase0_deg")
    kick_delay_ms = validate.non_negative(kick_delay_ms, "kick_delay_ms")
    kicks_deg = _kicks(kicks_deg)
    t = np.asarray(t_ms, dtype=float)
    kicks = np.deg2rad(np.asarray(kicks_deg, dtype=float))
    phase = 2 * np.pi * t[None, :] / period_ms + np.deg2rad(phase0_deg) + kick_sum(t, onsets_ms, colors, kicks,
                                                                                  kick_delay_ms)
    return amplitude * np.sin(phase) - offset


def _kicks(values: Sequence[float], name: str = "kicks_deg") -> tuple[float, ...]:
    """Three finite numbers, one per colour (green, purple, red)."""
    items = list(np.asarray(values).tolist()) if hasattr(values, "dtype") else list(values)
    if len(items) != len(paper.COLORS):
        raise ValueError(f"{name} must be {len(paper.COLORS)} numbers (green, purple, red), got {values!r}")
    return tuple(validate.finite(k, f"{name}[{i}]") for i, k in enumerate(items))


class PlanarOscillator:
    """The handcrafted oscillator as a discrete-time planar dynamical system (dt = 10 ms).

    State x = (u, v) = r (cos theta, sin theta). One step with no input:

        theta' = theta + omega,   omega = 2 pi dt / period_ms,
        r'     = 1 + (1 - contraction) (r - 1),

    so the unit circle is a limit cycle with period `period_ms` and Floquet
    multipliers 1 (along the cycle) and (1 - contraction)^(period_ms / dt)
    (across it), per period. The drive of a colour is (kick / pulse_steps,
    radial_kick / pulse_steps) per step: theta' gains the kick (radians) and
    r' the radial push. Because the angular speed does not depend on r, the
    isochrons are the rays from the origin: a pulse of colour c shifts the
    asymptotic phase by exactly kicks_deg[c], whatever the arrival phase and
    whatever its radial push.

    Same interface as `setdyn.model.CTRNN` where the analysis needs it:
    `x0`, `alpha`, `step(x, drive)`, `input_table()` (rows green, purple,
    red, none), `activation(x)` (identity: the rates are the state),
    `readout(rates)`, `run(codes, ...)`.

    The readout makes the oscillator solve the SET task on 500 ms trials:
    z = 2 r cos(theta - theta_valid), where theta_valid is the phase at which
    a trial whose kicks add up to three times the common offset c of the
    kicks (c = 0 for the paper's 0, +120, -120) ends. Valid trials end at
    z = 2, invalid ones at z = -1 (thresholds +-0.5 as for the network).
    """

    def __init__(self, period_ms: float = _PAPER["period_ms"], kicks_deg: Sequence[float] = paper.PAPER_KICKS_DEG,
                 contraction: float = 0.5, radial_kicks: Sequence[float] = (0.0, 0.0, 0.0),
                 phase0_deg: float = 0.0, radius0: float = 1.0, amplitude: float = _PAPER["amplitude"],
                 offset: float = _PAPER["offset"], dt_ms: float = task.DT_MS, pulse_steps: int = task.PULSE_STEPS,
                 trial_steps: int = task.N_STEPS, dtype: torch.dtype = torch.float64) -> None:
        self.contraction = validate.positive(contraction, "contraction per step", upper=1.0)
        self.period_ms = validate.positive(period_ms, "period_ms")
        self.kicks_deg = _kicks(kicks_deg)
        self.radial_kicks = _kicks(radial_kicks, "radial_kicks")
        self.amplitude = validate.positive(amplitude, "amplitude")
        self.offset = validate.finite(offset, "offset")
        self.dt_ms = validate.positive(dt_ms, "dt_ms")
        phase0_deg, radius0 = validate.finite(phase0_deg, "phase0_deg"), validate.non_negative(radius0, "radius0")
        pulse_steps = validate.whole(pulse_steps, "pulse_steps", 1)
        trial_steps = validate.whole(trial_steps, "trial_steps", 1)
        self.alpha = 1.0
        self.omega = 2 * np.pi * dt_ms / period_ms  #: rad per step
        phi0 = np.deg2rad(phase0_deg)
        self.x0 = torch.tensor([radius0 * np.cos(phi0), radius0 * np.sin(phi0)], dtype=dtype)
        table = [[np.deg2rad(k) / pulse_steps, rk / pulse_steps] for k, rk in zip(self.kicks_deg, self.radial_kicks)]
        self._table = torch.tensor(table + [[0.0, 0.0]], dtype=dtype)
        k = np.deg2rad(np.asarray(self.kicks_deg))
        common = np.angle(np.mean(np.exp(3j * k))) / 3  # common offset of the kicks, mod 120 degrees
        theta_valid = phi0 + self.omega * trial_steps + 3 * common
        self.W = torch.tensor([[2 * np.cos(theta_valid), 2 * np.sin(theta_valid)]], dtype=dtype)
        self.b_out = torch.zeros(1, dtype=dtype)

    @property
    def n_units(self) -> int:
        return 2

    @property
    def floquet_multipliers(self) -> tuple[float, float]:
        """Exact multipliers per period: along the cycle (1) and across it."""
        return 1.0, (1.0 - self.contraction) ** (self.period_ms / self.dt_ms)

    def input_table(self) -> torch.Tensor:
        """Drive per step for green, purple, red, nothing: (kick rad, radial push) rows, 4 x 2."""
        return self._table

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def step(self, x: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        """One 10 ms step of the states x (batch x 2) under drive (batch x 2)."""
        r = torch.sqrt(x[..., 0] ** 2 + x[..., 1] ** 2)
        theta = torch.atan2(x[..., 1], x[..., 0]) + self.omega + drive[..., 0]
        r = 1.0 + (1.0 - self.contraction) * (r - 1.0) + drive[..., 1]
        return torch.stack([r * torch.cos(theta), r * torch.sin(theta)], -1)

    def readout(self, rates: torch.Tensor) -> torch.Tensor:
        return (rates @ self.W.T).squeeze(-1) + self.b_out

    def signal(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """The handcrafted f = A v - offset = A r sin(theta) - offset of states x (... x 2)."""
        x = np.asarray(x, dtype=float)
        return self.amplitude * x[..., 1] - self.offset

    def run(self, codes: torch.Tensor | np.ndarray, noise_std: float = 0.0, x0_noise_std: float = 0.0,
            generator: torch.Generator | None = None, x_init: torch.Tensor | None = None) -> Run:
        """Simulate trials (codes batch x T: -1 none, 0..2 colour); rates[t] = state after step t.

        noise_std adds N(0, noise_std) to both drive components every step
        (phase noise in rad and radial noise).
        """
        codes = torch.as_tensor(validate.codes(codes))
        if codes.ndim == 1:
            codes = codes[None]
        noise_std = validate.non_negative(noise_std, "noise_std")
        x0_noise_std = validate.non_negative(x0_noise_std, "x0_noise_std")
        drive = self._table[codes]
        if noise_std > 0:
            drive = drive + noise_std * torch.randn(drive.shape, generator=generator, dtype=drive.dtype)
        x = self.x0.expand(codes.shape[0], -1) if x_init is None else torch.as_tensor(x_init, dtype=self.x0.dtype)
        if x0_noise_std > 0:
            x = x + x0_noise_std * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        out = []
        for d in drive.unbind(1):
            x = self.step(x, d)
            out.append(x)
        rates = torch.stack(out, 1)
        return Run(rates, self.readout(rates))


# ---------------------------------------------------------------- least-squares fit

@dataclass
class OscillatorFit:
    """Least-squares fit of f(t) = A sin(2 pi t / T + phi0 + sum of kicks) - offset.

    amplitude (signal units), period_ms, offset, phase0_deg, kick_deg per
    colour (degrees, wrapped to [-180, 180)), kick_ci95_deg: 95% bootstrap
    interval over trials (resampled with replacement), r2: R^2 on held-out
    trials, r2_fit: R^2 on the fitted trials, rmse (held-out), kick_delay_ms:
    a pulse's kick counts from onset + kick_delay_ms on.
    """

    amplitude: float
    period_ms: float
    offset: float
    phase0_deg: float
    kick_deg: dict[str, float]
    kick_ci95_deg: dict[str, list[float]]
    r2: float | None
    r2_fit: float
    rmse: float | None
    n_fit_trials: int
    n_heldout_trials: int
    n_boot: int
    kick_delay_ms: float
    params: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(7))

    def predict(self, t_ms: np.ndarray, onsets_ms: np.ndarray, colors: np.ndarray) -> np.ndarray:
        return _model(self.params, np.asarray(t_ms, float), onsets_ms, colors, self.kick_delay_ms)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("params")
        return jsonable(d)


def _counts(t: np.ndarray, onsets_ms, colors, delay: float) -> np.ndarray:
    """Number of pulses of each colour that have kicked by time t: 3 x B x T."""
    ons, col = _pulse_arrays(onsets_ms, colors)
    present = (col >= 0) & np.isfinite(ons)
    on = t[None, None, :] >= (np.where(present, ons, np.inf) + delay)[:, :, None]  # B x n x T
    return np.stack([(on & (col == c)[:, :, None]).sum(1) for c in range(3)]).astype(float)


def _model(p: np.ndarray, t: np.ndarray, onsets_ms, colors, delay: float) -> np.ndarray:
    return _model_counts(p, t, _counts(t, onsets_ms, colors, delay))


def _model_counts(p: np.ndarray, t: np.ndarray, counts: np.ndarray) -> np.ndarray:
    amp, period, phase0, offset = p[:4]
    phase = 2 * np.pi * t[None, :] / period + phase0 + np.tensordot(p[4:7], counts, 1)
    return amp * np.sin(phase) - offset


def _jac_counts(p: np.ndarray, t: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """d model / d (A, T, phi0, offset, k_G, k_P, k_R), flattened over trials x times."""
    amp, period, phase0, _ = p[:4]
    phase = 2 * np.pi * t[None, :] / period + phase0 + np.tensordot(p[4:7], counts, 1)
    c = amp * np.cos(phase)
    cols = [np.sin(phase), c * (-2 * np.pi * t[None, :] / period ** 2), c, -np.ones_like(phase),
            c * counts[0], c * counts[1], c * counts[2]]
    return np.stack([x.ravel() for x in cols], 1)


def fit_handcrafted(t_ms: np.ndarray, y: np.ndarray, onsets_ms: np.ndarray, colors: np.ndarray,
                    period_ms: float, kicks_deg: Sequence[float] = paper.PAPER_KICKS_DEG,
                    heldout: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                    n_boot: int = 100, seed: int = 0,
                    kick_delay_ms: float | Sequence[float] = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0),
                    n_phase_starts: int = 8) -> OscillatorFit:
    """Fit the handcrafted oscillator to signals y (trials x T) sampled at t_ms (T,).

    onsets_ms, colors: (trials x pulses) pulse onsets (ms) and colours.
    period_ms, kicks_deg: starting values (the measured period and kicks);
    the initial phase is started from `n_phase_starts` values around the
    circle and the best local fit kept. kick_delay_ms: when a pulse's kick
    takes effect after its onset (ms); given several, the one with the
    smallest least-squares cost on the fitted trials is used (the network
    needs a few steps to turn a pulse into a phase shift). heldout = (y,
    onsets_ms, colors) of trials not used in the fit, for R^2. Kick CIs:
    percentile bootstrap over fitted trials (n_boot refits from the best fit).
    """
    t = np.asarray(t_ms, float)
    y = np.atleast_2d(np.asarray(y, float))
    ons, col = _pulse_arrays(onsets_ms, colors)
    amp0 = float(np.sqrt(2) * y.std())
    off0 = float(-y.mean())
    k0 = np.deg2rad(np.asarray(kicks_deg, float))
    lo = np.array([0.0, 0.3 * period_ms, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf])
    hi = np.array([np.inf, 3.0 * period_ms, np.inf, np.inf, np.inf, np.inf, np.inf])

    def fit(p0, yy, counts):
        res = least_squares(lambda p: (_model_counts(p, t, counts) - yy).ravel(), p0,
                            jac=lambda p: _jac_counts(p, t, counts), bounds=(lo, hi), x_scale="jac", method="trf")
        return res.x, res.cost

    best = None
    for delay in np.atleast_1d(np.asarray(kick_delay_ms, float)):
        counts = _counts(t, ons, col, delay)
        for phi in np.linspace(0, 2 * np.pi, n_phase_starts, endpoint=False):
            p, cost = fit(np.array([amp0, period_ms, phi, off0, *k0]), y, counts)
            if best is None or cost < best[1]:
                best = (p, cost, float(delay), counts)
    p, _, delay, counts = best
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        pb, _ = fit(p.copy(), y[idx], counts[:, idx])
        boots.append(pb[4:7])
    kick = np.rad2deg(p[4:7])
    ci = {}
    for i, name in enumerate(task.COLORS):
        if boots:
            dev = wrap_deg(np.rad2deg(np.array(boots)[:, i]) - kick[i])
            ci[name] = [float(wrap_deg(kick[i]) + np.percentile(dev, 2.5)),
                        float(wrap_deg(kick[i]) + np.percentile(dev, 97.5))]
        else:
            ci[name] = [float("nan"), float("nan")]
    r2 = rmse = None
    n_held = 0
    if heldout is not None:
        yh, oh, ch = heldout
        yh = np.atleast_2d(np.asarray(yh, float))
        pred = _model(p, t, oh, ch, delay)
        r2, rmse, n_held = r_squared(yh, pred), float(np.sqrt(((yh - pred) ** 2).mean())), len(yh)
    return OscillatorFit(amplitude=float(p[0]), period_ms=float(p[1]), offset=float(p[3]),
                         phase0_deg=float(wrap_deg(np.rad2deg(p[2]))),
                         kick_deg={n: float(wrap_deg(k)) for n, k in zip(task.COLORS, kick)}, kick_ci95_deg=ci,
                         r2=r2, r2_fit=r_squared(y, _model_counts(p, t, counts)), rmse=rmse,
                         n_fit_trials=len(y), n_heldout_trials=n_held, n_boot=n_boot, kick_delay_ms=delay,
                         params=p)


# ---------------------------------------------------------------- the fit to a network

def fit_trials() -> task.TrialSet:
    """The trials the oscillator is fitted on: the 27 test trials with the training config's test onsets."""
    return task.test_set(seed=paper.TEST_ONSET_SEED)


def heldout_trials() -> task.TrialSet:
    """The held-out trials the fit's R^2 is scored on: 27 combinations x 4 fresh onset draws (108 trials)."""
    return task.fresh_set(paper.HELDOUT_ONSET_SEED, paper.HELDOUT_DRAWS)


@single_thread
def fit_oscillator(system: DynamicalSystem, pca: TrainingPCA, angle_deg: float, period_ms: float,
                   kicks_deg: Sequence[float], fit_on: task.TrialSet | None = None,
                   heldout: task.TrialSet | None = None, n_boot: int = 100, seed: int = 0) -> OscillatorFit:
    """Least-squares fit of the handcrafted oscillator to the network's rPC1.

    Fits A, T, phi0, offset and the three kicks to rPC1(t) of the trials
    `fit_on` (default `fit_trials()`), sampled at t = 10, 20, ... 500 ms
    (rates after each step); R^2 on the trials `heldout` (default
    `heldout_trials()`); 95% bootstrap CIs of the kicks. Starting values:
    period_ms and kicks_deg (the measured period and kicks, deg).
    """
    fit_on = fit_on if fit_on is not None else fit_trials()
    heldout = heldout if heldout is not None else heldout_trials()

    def signal(tr: task.TrialSet) -> np.ndarray:
        return rpc1(pca, trial_rates(system, tr.codes), angle_deg)

    t_ms = (np.arange(fit_on.codes.shape[1]) + 1) * task.DT_MS
    held = (signal(heldout), heldout.onsets * task.DT_MS, heldout.colors)
    return fit_handcrafted(t_ms, signal(fit_on), fit_on.onsets * task.DT_MS, fit_on.colors,
                           period_ms, kicks_deg, heldout=held, n_boot=n_boot, seed=seed)
