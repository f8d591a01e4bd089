"""One network, measured once: the cached chain free run -> phase reference -> PRC -> phase code.

Every step of the mechanism's analysis builds on the one before (the phase
ruler needs the limit cycle, the phase response curve needs the ruler, the
phase code needs the kicks). `network_analysis(model)` returns a
`NetworkAnalysis` that computes each step on first use and keeps it; the
same weights give the same object back (the cache is keyed by a hash of the
model's parameters, so a changed model is never served stale results)::

    na = network_analysis(weights.load())
    na.cycle.period_ms, na.prc.mean_deg, na.code().steps   # each computed once
    analyze(weights.load())                                # reuses them

`analyze(model)` runs everything and returns one JSON-serialisable dict;
`setdyn.analysis.mechanism.classify` and the chapters use the same object.
"""
from __future__ import annotations

import copy
import hashlib
import sys
import time
from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .. import paper, task
from ..numerics import jsonable
from .automaton import learn_lstar
from .circular import circular_clusters
from .code import PhaseCode, automaton_trials, network_automaton, phase_code, phase_code_from_means, phase_membership
from .cycle import FreeRunDynamics, free_run_dynamics
from .oscillator import OscillatorFit, fit_oscillator
from .pca import RotationScan, TrainingPCA, best_rotation, training_pca
from .phase import PhaseReference, PhaseResponse, TrialPhases, phase_reference, phase_response_curve, trial_phases
from .robustness import accuracy_by_length, noise_robustness, noise_trials
from .simulate import DynamicalSystem, decisions, simulate, single_thread

#: How many networks' analyses the cache keeps (least recently used dropped first).
CACHE_SIZE = 4
_CACHE: OrderedDict[str, "NetworkAnalysis"] = OrderedDict()


class NetworkAnalysis:
    """The measurements of one network, each computed on first use and then kept.

    Build with `network_analysis(system)` (cached by weights). Properties
    (no arguments): `cycle` (`free_run_dynamics`), `reference` (the phase
    ruler; ValueError when the free run is not a limit cycle), `prc`
    (`phase_response_curve`, 72 arrival phases), `prc_code` (the phase code
    of the PRC's mean kicks). Methods (cached per argument): `trials`,
    `trial_phases` and `code` (the phase code of the kicks in the automaton
    trials, 27 x `draws` fresh onset draws), `pca` and `rotation` (the
    training set drawn with `training_seed`), `oscillator_fit`.
    """

    def __init__(self, system: DynamicalSystem) -> None:
        self.system = system
        self._memo: dict[tuple, Any] = {}

    def _once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # --- the chain -----------------------------------------------------------------------------
    @property
    def cycle(self) -> FreeRunDynamics:
        """What the input-free network does (`free_run_dynamics` with its defaults)."""
        return self._once(("cycle",), lambda: free_run_dynamics(self.system))

    @property
    def reference(self) -> PhaseReference:
        """The phase ruler on the limit cycle (`phase_reference`); ValueError without a limit cycle."""
        return self._once(("reference",), lambda: phase_reference(self.system, self.cycle))

    @property
    def prc(self) -> PhaseResponse:
        """Phase response curve of each colour over 72 arrival phases."""
        return self._once(("prc",), lambda: phase_response_curve(self.system, self.reference))

    @property
    def prc_code(self) -> PhaseCode:
        """The phase code of the PRC's mean kicks (what the mechanism classifier tests)."""
        return self._once(("prc_code",), lambda: phase_code_from_means(self.prc.mean_deg, self.prc.std_deg))

    def trials(self, draws: int = paper.FRESH_DRAWS, seed: int = 0) -> task.TrialSet:
        """The automaton trials: 27 combinations x `draws` fresh onset draws (`code.automaton_trials`)."""
        return self._once(("trials", draws, seed), lambda: automaton_trials(draws, seed))

    def trial_phases(self, draws: int = paper.FRESH_DRAWS, seed: int = 0) -> TrialPhases:
        """Phases after every pulse and at the end of the automaton trials."""
        def run() -> TrialPhases:
            tr = self.trials(draws, seed)
            return trial_phases(self.system, self.reference, tr.colors, tr.onsets)
        return self._once(("trial_phases", draws, seed), run)

    def code(self, draws: int = paper.FRESH_DRAWS, seed: int = 0) -> PhaseCode:
        """The phase code of the kicks measured in the automaton trials."""
        def run() -> PhaseCode:
            tp = self.trial_phases(draws, seed)
            return phase_code(tp.kicks_deg, tp.colors)
        return self._once(("code", draws, seed), run)

    # --- the paper's view ----------------------------------------------------------------------
    def pca(self, training_seed: int = 0) -> TrainingPCA:
        """PCA of the rates of the training set drawn with `training_seed` (`training_pca`)."""
        return self._once(("pca", training_seed), lambda: training_pca(self.system, seed=training_seed))

    def rotation(self, training_seed: int = 0) -> RotationScan:
        """The rPC1 rotation that best separates valid from invalid end points of those trials."""
        def run() -> RotationScan:
            p = self.pca(training_seed)
            return best_rotation(p.scores[:, -1, :2], p.trials.targets > 0)
        return self._once(("rotation", training_seed), run)

    def oscillator_fit(self, training_seed: int = 0, kicks_deg: Sequence[float] | None = None,
                       n_boot: int = 100, seed: int = 0) -> OscillatorFit:
        """`fit_oscillator` on rPC1 at the best rotation, started from the cycle's period and
        `kicks_deg` (default: the PRC's mean kicks)."""
        start = tuple(float(k) for k in (self.prc.mean_deg if kicks_deg is None else kicks_deg))
        return self._once(("fit", training_seed, start, n_boot, seed), lambda: fit_oscillator(
            self.system, self.pca(training_seed), self.rotation(training_seed).best_angle_deg,
            self.cycle.period_ms, np.asarray(start), n_boot=n_boot, seed=seed))


def weights_fingerprint(system: Any) -> str | None:
    """SHA-256 of a torch model's class, alpha and parameters (names, dtypes, shapes, bytes); None for
    systems that are not torch modules (those are not cached)."""
    if not isinstance(system, torch.nn.Module):
        return None
    h = hashlib.sha256(f"{type(system).__module__}.{type(system).__qualname__}".encode())
    h.update(repr(getattr(system, "alpha", None)).encode())
    for name, t in system.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def network_analysis(system: DynamicalSystem) -> NetworkAnalysis:
    """The (cached) `NetworkAnalysis` of a system.

    Torch models are cached by `weights_fingerprint` (the last `CACHE_SIZE`
    networks); the analysis keeps its own copy of the model, so changing the
    caller's model afterwards changes its fingerprint and never the cached
    results. Other systems (e.g. `PlanarOscillator`) get a fresh object.
    """
    key = weights_fingerprint(system)
    if key is None:
        return NetworkAnalysis(system)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    na = _CACHE[key] = NetworkAnalysis(copy.deepcopy(system))
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return na


def clear_cache() -> None:
    """Forget every cached network analysis."""
    _CACHE.clear()


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
    The measurements come from `network_analysis(model)` (cached).
    """
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        if progress:
            print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    na = network_analysis(model)
    cyc = na.cycle
    log(f"cycle: {cyc.kind}, period {cyc.period_ms}")
    trials = na.trials(draws, seed)
    out: dict[str, Any] = {"mechanism": cyc.kind, "period_ms": cyc.period_ms,
                           "floquet_multipliers": cyc.floquet_multipliers, "cycle": cyc.to_dict()}
    keys_none = ["kick_deg", "prc_range_deg", "kick_in_trial_deg", "phase_code", "n_end_clusters", "end_clusters",
                 "automaton_states", "automaton_agreement", "automaton", "lstar", "accuracy_by_length", "noise",
                 "oscillator_fit"]
    pca = na.pca(training_seed)
    rot = na.rotation(training_seed)
    out["pca"] = {"explained_variance_pc1": float(pca.explained_variance_ratio[0]),
                  "explained_variance_pc12": float(pca.explained_variance_ratio[:2].sum()),
                  "rpc1": rot.to_dict(), "training_seed": training_seed}
    if not cyc.oscillates:
        _, final = simulate(na.system, trials.codes)
        out["network_accuracy"] = float(np.mean(decisions(na.system, final)[1] == trials.targets))
        out.update({k: None for k in keys_none})
        out["seconds"] = time.perf_counter() - t0
        return jsonable(out)

    ref, prc = na.reference, na.prc
    out["phase_reference"] = ref.to_dict()
    out["kick_deg"] = {c: {"mean": prc.mean_deg[i], "std": prc.std_deg[i]} for i, c in enumerate(task.COLORS)}
    out["prc_range_deg"] = dict(zip(task.COLORS, prc.range_deg))
    log("prc done")
    tp, code = na.trial_phases(draws, seed), na.code(draws, seed)
    out["network_accuracy"] = float(np.mean(tp.decisions == trials.targets))
    out["kick_in_trial_deg"] = {c: {"mean": code.kick_mean_deg[i], "std": code.kick_std_deg[i]}
                                for i, c in enumerate(task.COLORS)}
    out["phase_code"] = code.to_dict()
    clusters = circular_clusters(tp.end_deg, valid=trials.targets > 0)
    out["n_end_clusters"] = clusters.n
    out["end_clusters"] = clusters.to_dict()
    log("trial phases done")
    aut = network_automaton(tp, code)
    out["automaton_states"] = aut.automaton.n_states
    out["automaton_agreement"] = aut.agreement
    out["automaton"] = aut.to_dict()
    if lstar:
        out["lstar"] = learn_lstar(phase_membership(na.system, ref, code), seed=seed).to_dict()
        log("L* done")
    else:
        out["lstar"] = None
    out["accuracy_by_length"] = accuracy_by_length(na.system, ref, code, seed=seed)
    out["noise"] = noise_robustness(na.system, ref, noise_trials(seed), seed=seed)
    log("lengths, noise done")
    fit = na.oscillator_fit(training_seed, code.kick_mean_deg, n_boot=n_boot, seed=seed)
    out["oscillator_fit"] = fit.to_dict()
    log("oscillator fit done")
    out["seconds"] = time.perf_counter() - t0
    return jsonable(out)
