"""The phase code (each colour's kick = common offset + a Z3 step of 120 degrees) and the automaton it makes.

* `phase_code(kicks, colors)` / `phase_code_from_means(means)` -> PhaseCode.
* `network_automaton(trial_phases, code)` -> NetworkAutomaton: the machine
  read off the network's phase classes and its agreement with the network.
* `phase_membership(...)` -> the network as a membership oracle for
  `setdyn.analysis.automaton.learn_lstar`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import paper, task
from ..numerics import jsonable, wrap_deg
from .automaton import Automaton, Extraction, PrefixOracle, extract_automaton
from .circular import ClusterReport, circular_clusters, circular_mean_deg, circular_std_deg
from .phase import PhaseReference, TrialPhases, trial_phases
from .simulate import DynamicalSystem

#: Width of a Z3 phase class: 120 degrees; a reading is correct within +-60 degrees of its class centre.
CLASS_DEG = 120.0


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

    @property
    def relative_kicks_deg(self) -> np.ndarray:
        """Each colour's mean kick minus the common offset (deg, [-180, 180)): near 0, +120 or -120."""
        return wrap_deg(self.kick_mean_deg - self.common_offset_deg)

    def reading(self, phase_deg: np.ndarray, n_pulses: np.ndarray | int) -> np.ndarray:
        """Phase after n pulses with the common offset removed: phase - n c (deg)."""
        return wrap_deg(np.asarray(phase_deg) - np.asarray(n_pulses) * self.common_offset_deg)

    def to_dict(self) -> dict:
        return jsonable({"common_offset_deg": self.common_offset_deg,
                         "z3_steps": dict(zip(task.COLORS, self.steps)), "is_bijection": self.is_bijection,
                         "residual_deg": dict(zip(task.COLORS, self.residual_deg)),
                         "kick_deg": {c: {"mean": m, "std": s} for c, m, s in
                                      zip(task.COLORS, self.kick_mean_deg, self.kick_std_deg)}})


def phase_code(kicks_deg: np.ndarray, colors: np.ndarray) -> PhaseCode:
    """The phase code from observed kicks (deg, any shape) and the colour of each kick (same shape)."""
    k = np.asarray(kicks_deg, float).ravel()
    c = np.asarray(colors).ravel()
    mean = np.array([circular_mean_deg(k[(c == i) & np.isfinite(k)]) for i in range(3)], dtype=float)
    std = np.array([circular_std_deg(k[(c == i) & np.isfinite(k)]) for i in range(3)], dtype=float)
    return phase_code_from_means(mean, std)


def phase_code_from_means(mean_deg: np.ndarray, std_deg: np.ndarray | None = None) -> PhaseCode:
    """The phase code from each colour's mean kick (deg, green, purple, red), e.g. a phase response curve's."""
    mean = np.asarray(mean_deg, float)
    if mean.shape != (3,) or not np.all(np.isfinite(mean)):
        raise ValueError(f"a phase code needs one finite mean kick (degrees) per colour (green, purple, red), "
                         f"got {mean.tolist()}")
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
        return jsonable({"states": a.n_states, "is_z3": a.is_z3(), "z3_steps": a.z3_steps(),
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
    """The network as a membership oracle for words of any length (for `learn_lstar`).

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


def automaton_trials(draws: int = paper.FRESH_DRAWS, seed: int = 0) -> task.TrialSet:
    """The trials the automaton is read off: 27 combinations x `draws` fresh onset draws (onset seed
    `seed + paper.AUTOMATON_SEED_OFFSET`)."""
    return task.fresh_set(seed + paper.AUTOMATON_SEED_OFFSET, draws)
