"""Measurements of the trained network's dynamics (noise-free unless stated)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import task
from .model import CTRNN

#: Cycles shorter than this are the dt = tau artefact of memorising nets, not the paper's mechanism.
MIN_PERIOD_MS = 80.0


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
    """Is the free-running network a (slow) limit cycle?

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
