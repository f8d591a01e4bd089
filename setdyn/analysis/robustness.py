"""How far the phase code carries: words longer than the trial's three colours, and test-time noise."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import task
from ..numerics import wrap_deg
from .circular import circular_mean_deg, circular_std_deg
from .code import CLASS_DEG, PhaseCode
from .phase import PhaseReference, trial_phases
from .simulate import DynamicalSystem, single_thread


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


#: Onset seed offset and draws of the trials `noise_robustness` is measured on (27 x 20 trials).
NOISE_SEED_OFFSET = 99
NOISE_DRAWS = 20


def noise_trials(seed: int = 0) -> task.TrialSet:
    """The trials of the noise test: 27 combinations x 20 fresh onset draws (onset seed seed + 99)."""
    return task.fresh_set(seed + NOISE_SEED_OFFSET, NOISE_DRAWS)
