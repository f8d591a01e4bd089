"""Which mechanism does a trained network use? An automatic classifier with its evidence.

`classify(model, cfg)` measures, noise-free (times in ms, phases in degrees):

* accuracy: the accuracies of `setdyn.training.evaluate_all`, the key one being
  noise-free accuracy on 27 combinations x 20 fresh onset draws;
* free-running behaviour from x0 (`setdyn.analysis.free_run_dynamics`):
  limit cycle (period >= 80 ms), fast cycle (the dt = tau artefact),
  decaying spiral, fixed point or irregular;
* fixed points (`find_fixed_points`): minimise |F(x) - x|^2 from many sampled
  states, refine with Newton, deduplicate, classify each by the eigenvalues
  of the step map's Jacobian (stable / saddle / unstable), and check whether
  trial end states relax onto stable fixed points that separate valid from
  invalid trials (`basin_purity`);
* end-point clusters: clusters of the trials' end phases on the cycle
  (oscillators), or of the end states in rate space (everything else);
* the Z3 phase automaton (oscillators only): colour kicks from the phase
  response curve, their decomposition into a common offset plus 0 / +-120
  degrees, and agreement of the automaton with the network on the 27 inputs
  (end phase within +-60 degrees of the automaton's state; separately, the
  same accept / reject as the network's output, which also counts the
  readout's own errors).

One label per network:

* ``phase-oscillator``: learned the task (fresh-onset accuracy >=
  `LEARNED_ACC`), the free run is a limit cycle, and the Z3 phase automaton
  predicts the end phase of all 27 inputs;
* ``fixed-point``: learned the task, the free run settles to a fixed point,
  at least two stable fixed points exist, and >= 95% of trial end states
  relax onto stable fixed points that tell valid from invalid (purity >=
  0.95);
* ``other``: everything else (did not learn; fast cycle; oscillator whose
  phases do not follow the Z3 automaton; mixed fixed point + oscillation;
  transient code; ...), with the reason in ``evidence["reason"]``.

The rule is `label_from_evidence`, a pure function of the measurements, so
stored rows can be relabelled (`relabel`) when it changes. The free run,
phase reference, phase response curve and phase code come from the cached
`setdyn.analysis.pipeline.network_analysis`, shared with `analyze` and the
chapters.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import paper, task
from ..model import CTRNN
from ..numerics import jsonable, wrap_deg
from ..training import TrainConfig, evaluate_all
from .code import CLASS_DEG, PhaseCode
from .circular import circular_clusters
from .cycle import fixed_point
from .phase import PhaseReference, trial_phases
from .pipeline import network_analysis
from .simulate import free_trajectory, jacobians, relax, simulate, trajectory

#: A network "learned the task" at this noise-free accuracy on 27 x 20 fresh onset draws.
LEARNED_ACC = 0.95
#: A fixed-point code: at least this fraction of trial end states relax onto stable fixed points ...
ON_FIXED_POINTS_MIN = 0.95
#: ... whose basins keep the answer: at least this fraction of each basin's trials share it (purity).
PURITY_MIN = 0.95
#: Fixed points closer than this (relative to the state scale) are one.
DEDUPE_REL = 1e-3
#: A state is a fixed point when |F(x) - x| is below this (relative to 1 + |x|).
FP_TOL_REL = 1e-8


@dataclass
class FixedPoint:
    """A fixed point x* of the input-free map, with the moduli of its Jacobian's leading eigenvalues."""

    x: np.ndarray = field(repr=False)
    residual: float  #: |F(x*) - x*|
    eig_moduli: np.ndarray  #: largest first (at most 6)
    n_unstable: int  #: eigenvalues with modulus > 1
    kind: str  #: "stable", "saddle" or "unstable"
    leading_angle_deg: float  #: argument of the leading eigenvalue (0 = real, > 0 = rotation)
    output: float  #: readout z at x*


@dataclass
class MechanismReport:
    """A network's label and the evidence behind it (see module docstring)."""

    label: str
    evidence: dict[str, Any]
    fixed_points: list[FixedPoint] = field(default_factory=list, repr=False)

    def row(self) -> dict[str, Any]:
        """Flat columns for the sweep table (JSON-encoded where nested)."""
        e = self.evidence
        kicks = e.get("kick_deg") or {}
        return {
            "label": self.label,
            "reason": e.get("reason"),
            "learned": e.get("learned"),
            "free_run": e.get("free_run"),
            "period_ms": e.get("period_ms"),
            "floquet_max_transverse": e.get("floquet_max_transverse"),
            "kick_green_deg": kicks.get("green"),
            "kick_purple_deg": kicks.get("purple"),
            "kick_red_deg": kicks.get("red"),
            "kick_common_offset_deg": e.get("common_offset_deg"),
            "z3_steps": e.get("z3_steps"),
            "z3_phase_agreement_27": e.get("z3_phase_agreement_27"),
            "z3_decision_agreement_27": e.get("z3_decision_agreement_27"),
            "z3_phase_agreement_fresh": e.get("z3_phase_agreement_fresh"),
            "z3_explains": e.get("z3_explains"),
            "n_end_clusters": e.get("n_end_clusters"),
            "end_cluster_space": e.get("end_cluster_space"),
            "n_fixed_points": e.get("n_fixed_points"),
            "n_stable_fixed_points": e.get("n_stable_fixed_points"),
            "n_saddles": e.get("n_saddles"),
            "basin_purity": e.get("basin_purity"),
            "fraction_ending_on_fixed_points": e.get("fraction_ending_on_fixed_points"),
            "analysis_seconds": e.get("seconds"),
            "evidence": json.dumps(jsonable(e), sort_keys=True),
        }


# ------------------------------------------------------------------------------------------------------------
# fixed points
# ------------------------------------------------------------------------------------------------------------
def _residual(model: CTRNN, x: torch.Tensor) -> torch.Tensor:
    """G(x) = J phi(x) + b - x: F(x) - x = a G(x) for the input-free step F, so the fixed points of
    F are the zeros of G whatever alpha is (phi: the model's activation)."""
    return model.activation(x) @ model.J.detach().T + model.b.detach() - x


def sample_states(model: CTRNN, n: int = 256, seed: int = 0) -> np.ndarray:
    """Starting points for the fixed-point search (n x N): states visited in noise-free trials of all 27
    combinations and in the free run, half of them perturbed by Gaussian noise of 10% of the state spread."""
    rng = np.random.default_rng(seed)
    trials = task.fresh_set(seed + 31, 2)
    traj = trajectory(model, trials.codes)  # B x (T+1) x N
    free = free_trajectory(model, 300)
    pool = np.concatenate([traj.reshape(-1, traj.shape[-1]), free])
    pick = pool[rng.choice(len(pool), size=n, replace=len(pool) < n)]
    spread = pool.std(0).mean()
    half = n // 2
    pick[half:] += 0.1 * spread * rng.standard_normal(pick[half:].shape)
    return pick


def find_fixed_points(model: CTRNN, n_starts: int = 256, iters: int = 400, seed: int = 0,
                      starts: np.ndarray | None = None) -> list[FixedPoint]:
    """Fixed points of the input-free, noise-free map x -> (1-a) x + a (J phi(x) + b).

    Minimises q(x) = |J phi(x) + b - x|^2 / 2 from `n_starts` sampled states
    (Adam, `iters` steps, all starts at once), polishes the candidates with
    Newton's method (`setdyn.analysis.cycle.fixed_point`), keeps those with |F(x) - x| <
    FP_TOL_REL (1 + |x|), deduplicates (distance < DEDUPE_REL x state scale)
    and classifies each by the eigenvalue moduli of the step map's Jacobian
    (1-a) I + a J diag(phi'(x*)): all < 1 stable, some > 1 saddle, all >
    1 unstable. Sorted stable first, then by readout z.
    """
    dt = model.J.dtype
    x0 = sample_states(model, n_starts, seed) if starts is None else np.asarray(starts)
    x = torch.tensor(x0, dtype=dt, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.05)
    for _ in range(iters):
        opt.zero_grad()
        q = 0.5 * (_residual(model, x) ** 2).sum(1)
        q.sum().backward()
        opt.step()
    with torch.no_grad():
        q = (0.5 * (_residual(model, x) ** 2).sum(1)).numpy()
    cand = x.detach().numpy()
    scale = 1.0 + float(np.sqrt(np.mean(x0 ** 2)))
    order = np.argsort(q)
    found: list[np.ndarray] = []
    for i in order:
        if not np.isfinite(q[i]) or q[i] > 1e-2 * scale ** 2:
            break
        if any(np.linalg.norm(cand[i] - f) < 1e-2 * scale for f in found):
            continue  # will polish to a known point
        xs, ok = fixed_point(model, cand[i])
        if not ok:
            continue
        if any(np.linalg.norm(xs - f) < DEDUPE_REL * scale for f in found):
            continue
        found.append(xs)
    out = []
    for xs in found:
        with torch.no_grad():
            xt = torch.as_tensor(xs[None], dtype=dt)
            res = float(np.linalg.norm(_residual(model, xt).numpy()) * model.alpha)
            z = float(model.readout(model.activation(xt)).reshape(-1)[0])
        ev = np.linalg.eigvals(jacobians(model, xs[None])[0])
        ev = ev[np.argsort(-np.abs(ev))]
        n_unst = int(np.sum(np.abs(ev) > 1))
        kind = "stable" if n_unst == 0 else ("unstable" if n_unst == len(ev) else "saddle")
        out.append(FixedPoint(xs, res, np.abs(ev[:6]), n_unst, kind, float(np.degrees(abs(np.angle(ev[0])))), z))
    out.sort(key=lambda f: (f.kind != "stable", f.output))
    return out


def basin_purity(model: CTRNN, stable: list[FixedPoint], trials: task.TrialSet,
                 relax_steps: int = 1000) -> tuple[float, float, int]:
    """Where do the trials' end states go when the input stays off?

    Relaxes each end state input-free for `relax_steps` steps and groups the
    trials by the stable fixed point they reach (within 1% of the state
    scale); trials that reach none (another attractor, e.g. a cycle) form
    one more group. Returns (purity: fraction of trials whose group's
    majority target is their own target; fraction of trials that end on a
    stable fixed point; number of distinct stable fixed points reached).
    (nan, 0, 0) without stable fixed points.
    """
    if not stable:
        return float("nan"), 0.0, 0
    _, xend = simulate(model, trials.codes)
    xr = relax(model, xend, relax_steps).numpy()
    fps = np.stack([f.x for f in stable])
    d = np.linalg.norm(xr[:, None] - fps[None], axis=2)
    scale = 1.0 + float(np.sqrt(np.mean(fps ** 2)))
    on_fp = d.min(1) < 1e-2 * scale
    group = np.where(on_fp, d.argmin(1), -1)
    correct = 0
    for k in np.unique(group):
        t = trials.targets[group == k]
        correct += max(int((t > 0).sum()), int((t < 0).sum()))
    return correct / len(trials), float(on_fp.mean()), int(len(np.unique(group[on_fp])))


# ------------------------------------------------------------------------------------------------------------
# end points, phases and the Z3 automaton
# ------------------------------------------------------------------------------------------------------------
def state_clusters(states: np.ndarray, rel_gap: float = 0.1, ratio: float = 10.0) -> int:
    """Number of clusters of points (M x N) by single linkage: a link splits clusters when it is longer
    than both `rel_gap` x the RMS distance of the points from their mean and `ratio` x the median
    single-linkage link (the typical distance between neighbours inside a cluster)."""
    from scipy.cluster.hierarchy import linkage

    pts = np.asarray(states, float)
    if len(pts) < 3:
        return len(pts)
    spread = float(np.sqrt(np.mean(np.sum((pts - pts.mean(0)) ** 2, 1))))
    if spread == 0:
        return 1
    heights = linkage(pts, "single")[:, 2]
    thr = max(rel_gap * spread, ratio * float(np.median(heights)))
    return int(1 + np.sum(heights > thr))


def classifier_trials(draws: int = paper.FRESH_DRAWS, seed: int = 0) -> task.TrialSet:
    """The fresh trials of the classifier: 27 combinations x `draws` onset draws (onset seed
    `seed + paper.MECHANISM_SEED_OFFSET`)."""
    return task.fresh_set(seed + paper.MECHANISM_SEED_OFFSET, draws)


def z3_check(model: CTRNN, ref: PhaseReference, code: PhaseCode, draws: int = paper.FRESH_DRAWS,
             seed: int = 0) -> dict[str, Any]:
    """Does the Z3 phase automaton explain the network?

    The automaton: start at 0, each colour adds its Z3 step (from the
    measured kicks, `code.steps`), accept when back at 0. Its prediction for
    a trial's end phase is 120 deg x (sum of steps mod 3) plus 3 x the common
    offset of the kicks. Checked on the 27 combinations with onsets 50, 150,
    250 ms (counts out of 27: end phase within +-60 deg of the prediction;
    automaton's accept equals the network's decision), and on 27 x `draws`
    fresh onset draws (fraction with the phase within +-60 deg).
    """
    out: dict[str, Any] = {}
    steps = np.array(code.steps)
    for name, trials in (("27", task.test_set()), ("fresh", classifier_trials(draws, seed))):
        tp = trial_phases(model, ref, trials.colors, trials.onsets, pulses=False)
        state = steps[trials.colors].sum(1) % 3
        predicted = wrap_deg(CLASS_DEG * state + 3 * code.common_offset_deg + tp.start_deg)
        err = np.abs(wrap_deg(tp.end_deg - predicted))
        phase_ok = np.isfinite(err) & (err < CLASS_DEG / 2)
        accept = state == 0
        dec_ok = (tp.decisions == 1) == accept
        if name == "27":
            out["z3_phase_agreement_27"] = int(phase_ok.sum())
            out["z3_decision_agreement_27"] = int(dec_ok.sum())
            out["z3_max_phase_error_27_deg"] = float(np.nanmax(err)) if np.isfinite(err).any() else None
        else:
            out["z3_phase_agreement_fresh"] = float(phase_ok.mean())
            out["z3_decision_agreement_fresh"] = float(dec_ok.mean())
            clusters = circular_clusters(tp.end_deg, valid=trials.targets > 0)
            out["n_end_clusters"] = clusters.n
            out["end_clusters"] = clusters.to_dict()
    # the automaton explains the network when its state predicts the end phase of every input; the
    # decision agreement is reported separately (it also counts the readout's own errors)
    out["z3_explains"] = bool(len(set(code.steps)) == 3 and out["z3_phase_agreement_27"] == 27)
    return out


# ------------------------------------------------------------------------------------------------------------
# the classifier
# ------------------------------------------------------------------------------------------------------------
def classify(model: CTRNN, cfg: TrainConfig | None = None, accuracy: dict[str, float] | None = None,
             seed: int = 0) -> MechanismReport:
    """Label a trained network `phase-oscillator`, `fixed-point` or `other`, with the evidence.

    model: the trained network (converted to float64 for the analysis).
    cfg: its training config (for the accuracies; default `TrainConfig()`).
    accuracy: precomputed `evaluate_all` output (computed when None).
    """
    t0 = time.perf_counter()
    model = _float64_copy(model)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _classify(model, cfg or TrainConfig(), accuracy, seed, t0)
    finally:
        torch.set_num_threads(threads)


def _float64_copy(model: CTRNN) -> CTRNN:
    m = CTRNN(model.colors.detach().double(), n_units=model.n_units, alpha=model.alpha, dtype=torch.float64,
              activation=model.activation_name)
    m.load_state_dict({k: v.detach().double() for k, v in model.state_dict().items()})
    m.eval()
    return m


def _classify(model: CTRNN, cfg: TrainConfig, accuracy: dict[str, float] | None, seed: int,
              t0: float) -> MechanismReport:
    ev: dict[str, Any] = {}
    acc = accuracy if accuracy is not None else evaluate_all(model, cfg)
    ev["accuracy"] = {k: acc.get(k) for k in ("train_acc_noisy", "train_acc_clean", "test_acc_clean",
                                             "fresh_acc_clean") if k in acc}
    learned = bool(acc.get("fresh_acc_clean", 0.0) >= LEARNED_ACC)
    ev["learned"] = learned

    # free-running behaviour (and, below, the phase chain: one cached pipeline per network)
    na = network_analysis(model)
    cyc = na.cycle
    kind = cyc.kind
    ev["free_run"] = kind
    ev["period_ms"] = cyc.period_ms
    if cyc.floquet_multipliers is not None and len(cyc.floquet_multipliers) > 1:
        ev["floquet_multipliers"] = [float(m) for m in cyc.floquet_multipliers]
        ev["floquet_max_transverse"] = float(cyc.floquet_multipliers[1])
    ev["damped_period_ms"] = cyc.damped_period_ms

    # fixed points
    fps = find_fixed_points(model, seed=seed)
    stable = [f for f in fps if f.kind == "stable"]
    ev["n_fixed_points"] = len(fps)
    ev["n_stable_fixed_points"] = len(stable)
    ev["n_saddles"] = sum(f.kind == "saddle" for f in fps)
    ev["fixed_points"] = [{"kind": f.kind, "output": f.output, "eig_moduli": f.eig_moduli[:4].tolist(),
                           "n_unstable": f.n_unstable, "leading_angle_deg": f.leading_angle_deg,
                           "residual": f.residual} for f in fps[:12]]
    fresh = classifier_trials(seed=seed)
    purity, on_fp, n_reached = basin_purity(model, stable, fresh)
    ev["basin_purity"] = None if np.isnan(purity) else purity
    ev["fraction_ending_on_fixed_points"] = on_fp
    ev["n_stable_reached"] = n_reached

    # end-point clusters in state space (all networks)
    _, xend = simulate(model, fresh.codes)
    ev["n_end_state_clusters"] = state_clusters(model.activation(xend).numpy())

    # phases and the automaton (limit cycles only)
    reason = None
    if kind == "limit cycle":
        try:
            ref, prc, code = na.reference, na.prc, na.prc_code
            ev["kick_deg"] = {c: float(prc.mean_deg[i]) for i, c in enumerate(task.COLORS)}
            ev["kick_std_deg"] = {c: float(prc.std_deg[i]) for i, c in enumerate(task.COLORS)}
            ev["common_offset_deg"] = float(code.common_offset_deg)
            ev["z3_steps"] = "".join(str(s) for s in code.steps)
            ev["z3_residual_deg"] = [float(r) for r in code.residual_deg]
            ev.update(z3_check(model, ref, code, seed=seed))
            ev["end_cluster_space"] = "phase"
        except Exception as e:  # noqa: BLE001 - a failed phase measurement is evidence, not a crash
            ev["phase_error"] = f"{type(e).__name__}: {e}"
            ev["z3_explains"] = False
    if "n_end_clusters" not in ev:
        ev["n_end_clusters"] = ev["n_end_state_clusters"]
        ev["end_cluster_space"] = "state"

    label, reason = label_from_evidence(ev)
    ev["reason"] = reason
    ev["seconds"] = time.perf_counter() - t0
    return MechanismReport(label, jsonable(ev), fps)


def label_from_evidence(ev: dict[str, Any]) -> tuple[str, str]:
    """The labelling rule, a pure function of the measurements (so that stored evidence can be
    relabelled when the rule changes). Returns (label, reason)."""
    acc = (ev.get("accuracy") or {}).get("fresh_acc_clean") or 0.0
    kind = ev.get("free_run")
    stable = ev.get("n_stable_fixed_points") or 0
    purity = ev.get("basin_purity")
    on_fp = ev.get("fraction_ending_on_fixed_points")
    if not ev.get("learned"):
        return "other", f"did not learn (fresh-onset accuracy {acc:.3f})"
    if kind == "limit cycle":
        if ev.get("z3_explains"):
            extra = ("" if ev.get("z3_decision_agreement_27") == 27 else
                     f"; its readout errs on {27 - (ev.get('z3_decision_agreement_27') or 0)} of them")
            return "phase-oscillator", f"limit cycle whose phase follows the Z3 automaton on all 27 inputs{extra}"
        return "other", ("limit cycle, but the Z3 phase automaton does not explain it "
                         f"(phase agreement {ev.get('z3_phase_agreement_27')}/27, steps {ev.get('z3_steps')})")
    if kind in ("fixed point", "decaying spiral") and stable >= 2 and purity is not None and purity >= PURITY_MIN \
            and on_fp is not None and on_fp >= ON_FIXED_POINTS_MIN:
        return "fixed-point", (f"{stable} stable fixed points; {on_fp:.0%} of trial end states relax onto them, "
                               f"valid/invalid purity {purity:.3f}")
    if kind in ("fixed point", "decaying spiral") and stable >= 1 and on_fp is not None and on_fp < ON_FIXED_POINTS_MIN:
        return "other", (f"mixed: free run settles on a fixed point, but {1 - on_fp:.0%} of trial end states "
                         f"relax onto another (non-stationary) attractor; purity {purity:.3f}")
    pur = "n/a" if purity is None else f"{purity:.3f}"
    return "other", f"free run: {kind}; {stable} stable fixed points; basin purity {pur}"


def relabel(row: dict[str, Any]) -> dict[str, Any]:
    """A sweep row with label and reason recomputed from its `evidence` JSON by `label_from_evidence`
    (measurements unchanged; rows without evidence are returned as they are)."""
    ev = row.get("evidence")
    if not isinstance(ev, str) or not ev.startswith("{"):
        return row
    e = json.loads(ev)
    if e.get("z3_phase_agreement_27") is not None:  # the automaton explains the phases (decision = readout)
        e["z3_explains"] = bool(sorted(str(e.get("z3_steps") or "")) == ["0", "1", "2"]
                                and e["z3_phase_agreement_27"] == 27)
    label, reason = label_from_evidence(e)
    e["reason"] = reason
    return {**row, "label": label, "reason": reason, "z3_explains": e.get("z3_explains"),
            "evidence": json.dumps(e, sort_keys=True)}
