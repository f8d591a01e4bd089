"""The taxonomy of solutions: which mechanism a network uses, named after the follow-up paper, with the evidence.

The follow-up (Murray, arXiv 2310.07908 v2) names five mechanisms by eye:
phase codes, hexagon fixed-point attractors, lattice attractors, star-like
fast oscillations and line attractors. This module measures each, adds what
`setdyn.analysis.mechanism` already separates (discrete fixed-point codes,
transient codes, networks that did not learn), and gives every network one
label from `LABELS` with the numbers it rests on (`TaxonomyEvidence`).

What is measured (times in steps of dt = 10 ms, distances in state units):

* the free run from x0 (`free_run_dynamics`): limit cycle, fast cycle
  (period in steps), fixed point, ...;
* slow points: |F(x) - x| minimised from many starts with the input off
  (F the noise-free step); points whose speed |F(x) - x| stays below
  `SLOW_REL` x the state scale are slow points, those that Newton's method
  polishes to a fixed point are classified by the moduli of the step's
  Jacobian eigenvalues (stable: all < 1);
* the geometry of the stable fixed points (`point_geometry`): how planar
  they are, how close to a regular hexagon, how close to a 2-D lattice;
* the geometry of the slow points (`slow_geometry`): the explained variance
  of their first principal component and the largest gap along it (a line
  attractor is a continuum of slow points along a curve);
* for trained networks, the phase-code evidence of
  `setdyn.analysis.mechanism.classify` (the Z3 kick automaton, accuracy,
  basin purity).

The rule is `label_from_evidence`, a pure function of `TaxonomyEvidence`, and
`DEFINITIONS` holds the sentence each label means, for the book.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from ..model import float64_copy
from ..paper import DT_MS, FRESH_DRAWS
from .cycle import MIN_PERIOD_MS, FreeRunDynamics, fixed_point, free_run_dynamics
from .mechanism import LEARNED_ACC, ON_FIXED_POINTS_MIN, PURITY_MIN
from .simulate import DynamicalSystem, input_table, jacobians, single_thread, state_dtype

#: The labels, in the order the rule tries them.
LABELS: tuple[str, ...] = ("not-learned", "phase-code", "star", "hexagon", "lattice", "line-attractor",
                           "fixed-points", "transient", "unlabelled")

#: Slow point: speed |F(x) - x| below this fraction of the state scale.
SLOW_REL = 1e-3
#: Two fixed points closer than this fraction of the state scale are one.
DEDUPE_REL = 1e-3
#: A star is a cycle of this many steps (30-40 ms at dt = 10 ms).
STAR_PERIOD_STEPS: tuple[int, ...] = (3, 4)
#: Stable points are planar when their first two PCs hold at least this fraction of their variance.
PLANAR_MIN = 0.9
#: Hexagon: largest deviation of the angular gaps from 60 degrees, as a fraction of 60 degrees ...
HEXAGON_MAX_GAP_ERROR = 0.25
#: ... and coefficient of variation of the radii.
HEXAGON_MAX_RADIUS_CV = 0.2
#: Lattice: at least this many stable points, whose coordinates in the lattice basis are within this
#: many lattice units of whole numbers.
LATTICE_MIN_POINTS = 6
LATTICE_MAX_ERROR = 0.15
#: Line attractor: at least this many distinct slow points, PC1 holding at least LINE_PC1_MIN of their
#: variance, and no gap along PC1 wider than LINE_MAX_GAP of their extent.
LINE_MIN_POINTS = 8
LINE_PC1_MIN = 0.9
LINE_MAX_GAP = 0.25
#: ... spanning at least this fraction of the state scale (a few slow points huddled round one fixed point
#: are not a line: the shipped network's span 1.4%).
LINE_MIN_EXTENT = 0.1

#: What each label means (one sentence each, for the book's definitions), written from the thresholds above.
DEFINITIONS: dict[str, str] = {
    "not-learned": f"did not learn the task: noise-free accuracy on 27 × {FRESH_DRAWS} fresh onset draws below "
                   f"{LEARNED_ACC:.0%}.",
    "phase-code": f"the input-free network runs a limit cycle (period ≥ {MIN_PERIOD_MS:.0f} ms) and each colour shifts "
                  "its phase so that a Z3 automaton of 0 and ±120 degree kicks predicts the end phase of all 27 inputs.",
    "star": f"star-like fast oscillation: the free run ends on a cycle of "
            f"{' or '.join(str(k) for k in STAR_PERIOD_STEPS)} steps "
            f"({'-'.join(f'{k * DT_MS:.0f}' for k in STAR_PERIOD_STEPS)} ms), a few points visited in turn.",
    "hexagon": f"six stable fixed points in a plane, at the corners of a near-regular hexagon (angular gaps within "
               f"{HEXAGON_MAX_GAP_ERROR * 60:.0f} degrees of 60, radii with a coefficient of variation of at most "
               f"{HEXAGON_MAX_RADIUS_CV:.0%}).",
    "lattice": f"{LATTICE_MIN_POINTS} or more stable fixed points in a plane on a 2-D grid: each is a whole-number "
               f"combination of two lattice vectors (within {LATTICE_MAX_ERROR:g} lattice units).",
    "line-attractor": f"a continuum of at least {LINE_MIN_POINTS} slow points (|F(x) - x| < {SLOW_REL:.1%} of the "
                      f"state scale) along a curve: their first principal component holds ≥ {LINE_PC1_MIN:.0%} of "
                      f"their variance, they span ≥ {LINE_MIN_EXTENT:.0%} of the state scale, with no gap wider than "
                      f"{LINE_MAX_GAP:g} of the span of their central 90%.",
    "fixed-points": f"two or more stable fixed points (neither hexagon nor lattice) onto which ≥ "
                    f"{ON_FIXED_POINTS_MIN:.0%} of trial end states relax, each point's basin holding one answer "
                    f"(purity ≥ {PURITY_MIN:g}).",
    "transient": "learned, but the answer is carried by the transient: relaxed with the input off, the end states "
                 "no longer separate valid from invalid (no attractor code found).",
    "unlabelled": "learned, but none of the measured mechanisms fits (the evidence says why).",
}


@dataclass
class PointGeometry:
    """Geometry of a set of points (the stable fixed points), in the plane of their first two PCs."""

    n_points: int
    plane_fraction: float | None  #: variance in the first two PCs / total (None for < 3 points)
    hexagon_gap_error: float | None  #: max |angular gap - 60 deg| / 60 deg around the centroid (6 points only)
    hexagon_radius_cv: float | None  #: std / mean of the distances from the centroid (6 points only)
    lattice_error: float | None  #: max distance of lattice coordinates from whole numbers (>= 4 points)
    lattice_extent: tuple[int, int] | None  #: number of distinct whole coordinates along each lattice vector


@dataclass
class SlowGeometry:
    """Geometry of the slow points (speed < SLOW_REL x the state scale)."""

    n_slow: int  #: distinct slow points
    pc1_fraction: float | None  #: explained variance of their first PC
    extent: float | None  #: range along PC1 / state scale
    max_gap: float | None  #: largest gap between neighbours along PC1 / range, both over the central 90%


@dataclass
class TaxonomyEvidence:
    """Everything the label rests on (see the module docstring); JSON-ready through `to_dict`."""

    free_run: str  #: `FreeRunDynamics.kind`
    period_steps: float | None  #: of the free-run cycle (None without one)
    n_fixed_points: int
    n_stable: int
    stable: PointGeometry
    slow: SlowGeometry
    state_scale: float  #: 1 + RMS norm of the starting states
    learned: bool | None = None  #: None when not a trained network (constructed examples)
    fresh_acc_clean: float | None = None
    z3_explains: bool | None = None  #: None when not measured (no limit cycle, or a constructed example)
    z3_phase_agreement_27: int | None = None
    basin_purity: float | None = None
    fraction_ending_on_fixed_points: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  #: the mechanism classifier's evidence, when measured

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TaxonomyEvidence":
        """The evidence `to_dict` wrote, also after a JSON round trip (a sweep row's ``taxon_evidence``)."""
        d = dict(d)
        stable = dict(d.pop("stable"))
        if stable.get("lattice_extent") is not None:
            stable["lattice_extent"] = tuple(stable["lattice_extent"])
        return cls(stable=PointGeometry(**stable), slow=SlowGeometry(**d.pop("slow")), **d)


@dataclass
class Taxon:
    """A network's label, the reason in words and the evidence."""

    label: str
    reason: str
    evidence: TaxonomyEvidence

    @property
    def definition(self) -> str:
        return DEFINITIONS[self.label]


# ------------------------------------------------------------------------------------------------------------
# measurements
# ------------------------------------------------------------------------------------------------------------
@single_thread
def search_slow_points(system: DynamicalSystem, starts: np.ndarray, iters: int = 400,
                       lr: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Minimise q(x) = |F(x) - x|^2 / 2 (F: the input-free, noise-free step) from each start (M x N) with Adam;
    returns (end points M x N, their speeds |F(x) - x|, M)."""
    dt = state_dtype(system)
    zero = input_table(system)[-1]
    x = torch.tensor(np.asarray(starts), dtype=dt, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(iters):
        opt.zero_grad()
        q = 0.5 * ((system.step(x, zero.expand(len(x), -1)) - x) ** 2).sum(1)
        q.sum().backward()
        opt.step()
    with torch.no_grad():
        speed = torch.linalg.norm(system.step(x, zero.expand(len(x), -1)) - x, dim=1).numpy()
    return x.detach().numpy(), speed


def _dedupe(points: np.ndarray, tol: float) -> np.ndarray:
    kept: list[np.ndarray] = []
    for p in points:
        if all(np.linalg.norm(p - k) >= tol for k in kept):
            kept.append(p)
    return np.array(kept).reshape(-1, points.shape[1])


def stable_fixed_points(system: DynamicalSystem, candidates: np.ndarray, scale: float) -> tuple[np.ndarray, int]:
    """Polish candidates with Newton (`cycle.fixed_point`), deduplicate; returns (the stable ones, K x N; the
    number of distinct fixed points of any stability). Stable: every Jacobian eigenvalue modulus < 1 - 1e-6."""
    found = []
    for c in _dedupe(candidates, 1e-2 * scale):
        xs, ok = fixed_point(system, c)
        if ok and all(np.linalg.norm(xs - f) >= DEDUPE_REL * scale for f in found):
            found.append(xs)
    if not found:
        return np.zeros((0, candidates.shape[1])), 0
    pts = np.stack(found)
    moduli = np.abs(np.linalg.eigvals(jacobians(system, pts))).max(1)
    return pts[moduli < 1 - 1e-6], len(found)


def _pca(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(variances largest first, principal axes as columns) of points (M x N)."""
    c = points - points.mean(0)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    return s ** 2, vt.T


def _lattice_error(p: np.ndarray) -> tuple[float, tuple[int, int]]:
    """Largest distance (lattice units) of planar points (M x 2) from the lattice spanned by their shortest
    difference vector a and the shortest one at >= 30 degrees to it; and the number of distinct whole
    coordinates along a and b."""
    d = (p[:, None] - p[None]).reshape(-1, 2)
    n = np.linalg.norm(d, axis=1)
    d, n = d[n > 1e-9 * (1 + n.max())], n[n > 1e-9 * (1 + n.max())]
    a = d[np.argmin(n)]
    sin = np.abs(a[0] * d[:, 1] - a[1] * d[:, 0]) / (np.linalg.norm(a) * n)
    if not (sin > 0.5).any():
        return float("inf"), (len(p), 1)
    b = d[sin > 0.5][np.argmin(n[sin > 0.5])]
    coords = np.linalg.solve(np.c_[a, b], (p - p[0]).T).T
    err = float(np.abs(coords - np.round(coords)).max())
    return err, (len(np.unique(np.round(coords[:, 0]))), len(np.unique(np.round(coords[:, 1]))))


def point_geometry(points: np.ndarray) -> PointGeometry:
    """Planarity, hexagon and lattice measures of points (M x N); see `PointGeometry`."""
    points = np.asarray(points, float)
    m = len(points)
    if m < 3:
        return PointGeometry(m, None, None, None, None, None)
    var, axes = _pca(points)
    plane = float(var[:2].sum() / var.sum()) if var.sum() > 0 else None
    p = (points - points.mean(0)) @ axes[:, :2]
    gap_err = radius_cv = None
    if m == 6:
        ang = np.sort(np.degrees(np.arctan2(p[:, 1], p[:, 0])))
        gaps = np.diff(np.r_[ang, ang[0] + 360])
        gap_err = float(np.abs(gaps - 60).max() / 60)
        r = np.linalg.norm(p, axis=1)
        radius_cv = float(r.std() / r.mean())
    lat_err, extent = _lattice_error(p) if m >= 4 else (None, None)
    return PointGeometry(m, plane, gap_err, radius_cv, lat_err, extent)


def slow_geometry(slow: np.ndarray, scale: float) -> SlowGeometry:
    """PCA of the distinct slow points (M x N); see `SlowGeometry`."""
    slow = _dedupe(np.asarray(slow, float), DEDUPE_REL * scale) if len(slow) else np.asarray(slow)
    if len(slow) < 3:
        return SlowGeometry(len(slow), None, None, None)
    var, axes = _pca(slow)
    proj = np.sort((slow - slow.mean(0)) @ axes[:, 0])
    span = float(proj[-1] - proj[0])
    lo, hi = np.quantile(proj, [0.05, 0.95])  # the gap is judged on the central 90%: a lone point at an end
    inner = proj[(proj >= lo) & (proj <= hi)]   # of a line is sampling, not a break in it
    gap = float(np.diff(inner).max() / (hi - lo)) if hi > lo and len(inner) > 1 else None
    return SlowGeometry(len(slow), float(var[0] / var.sum()) if var.sum() > 0 else None, span / scale, gap)


def default_starts(system: DynamicalSystem, n: int = 256, seed: int = 0) -> np.ndarray:
    """Starts for the slow-point search: `mechanism.sample_states` (states of noise-free trials and of the free
    run, half perturbed)."""
    from .mechanism import sample_states

    return sample_states(system, n, seed)  # type: ignore[arg-type]


class SlowSearch(NamedTuple):
    """Where the slow-point search ended: every end state and its speed |F(x) - x|, the state scale (1 + RMS
    norm of the starts) and the slow points among the ends (speed below `SLOW_REL` x scale)."""
    ends: np.ndarray
    speed: np.ndarray
    scale: float
    slow: np.ndarray


def slow_search(system: DynamicalSystem, starts: np.ndarray | None = None, iters: int = 400) -> SlowSearch:
    """Search slow points from `starts` (M x N states; default `default_starts`): one rule for the taxonomy
    and the figures that draw its slow points."""
    starts = default_starts(system) if starts is None else np.asarray(starts, float)
    scale = 1.0 + float(np.sqrt(np.mean(np.sum(starts ** 2, 1))))
    ends, speed = search_slow_points(system, starts, iters)
    return SlowSearch(ends, speed, scale, ends[speed < SLOW_REL * scale])


def measure(system: DynamicalSystem, starts: np.ndarray | None = None, iters: int = 400,
            cycle: FreeRunDynamics | None = None, **free_run: Any) -> TaxonomyEvidence:
    """The dynamical evidence of any system (a CTRNN or a hand-made map): free run, slow and fixed points and
    their geometry. starts: M x N states to search slow points from (default `default_starts`)."""
    cyc = cycle if cycle is not None else free_run_dynamics(system, **free_run)
    found = slow_search(system, starts, iters)
    scale = found.scale
    stable, n_fixed = stable_fixed_points(system, found.ends[found.speed < 1e-2 * scale], scale)
    return TaxonomyEvidence(free_run=cyc.kind, period_steps=cyc.period_steps, n_fixed_points=n_fixed,
                            n_stable=len(stable), stable=point_geometry(stable), slow=slow_geometry(found.slow, scale),
                            state_scale=scale)


def classify(model: Any, cfg: Any = None, accuracy: dict[str, float] | None = None, seed: int = 0,
             report: Any = None) -> Taxon:
    """Label a trained CTRNN: `mechanism.classify` (accuracy, free run, Z3 phase code, basin purity; or its
    `report` when given) plus this module's geometry."""
    from .mechanism import classify as mechanism_classify
    from .pipeline import network_analysis

    rep = report if report is not None else mechanism_classify(model, cfg, accuracy, seed)
    m64 = float64_copy(model)
    ev = measure(m64, cycle=network_analysis(m64).cycle)
    e = rep.evidence
    ev.learned = bool(e.get("learned"))
    ev.fresh_acc_clean = (e.get("accuracy") or {}).get("fresh_acc_clean")
    ev.z3_explains = e.get("z3_explains")
    ev.z3_phase_agreement_27 = e.get("z3_phase_agreement_27")
    ev.basin_purity = e.get("basin_purity")
    ev.fraction_ending_on_fixed_points = e.get("fraction_ending_on_fixed_points")
    ev.extra = {"mechanism_label": rep.label, "mechanism_reason": e.get("reason")}
    label, reason = label_from_evidence(ev)
    return Taxon(label, reason, ev)


# ------------------------------------------------------------------------------------------------------------
# the rule
# ------------------------------------------------------------------------------------------------------------
def is_hexagon(g: PointGeometry) -> bool:
    """Six stable points in a plane at the corners of a near-regular hexagon (the thresholds above)."""
    return (g.n_points == 6 and g.plane_fraction is not None and g.plane_fraction >= PLANAR_MIN
            and g.hexagon_gap_error is not None and g.hexagon_gap_error <= HEXAGON_MAX_GAP_ERROR
            and g.hexagon_radius_cv is not None and g.hexagon_radius_cv <= HEXAGON_MAX_RADIUS_CV)


def is_lattice(g: PointGeometry) -> bool:
    """Enough stable points in a plane on a 2-D grid, at least two lattice steps along each vector."""
    return (g.n_points >= LATTICE_MIN_POINTS and g.plane_fraction is not None and g.plane_fraction >= PLANAR_MIN
            and g.lattice_error is not None and g.lattice_error <= LATTICE_MAX_ERROR
            and g.lattice_extent is not None and min(g.lattice_extent) >= 2)


def is_line(s: SlowGeometry) -> bool:
    """A continuum of slow points along one curve: enough of them, mostly along one direction, long and
    without a wide gap (the thresholds above)."""
    return (s.n_slow >= LINE_MIN_POINTS and s.pc1_fraction is not None and s.pc1_fraction >= LINE_PC1_MIN
            and s.max_gap is not None and s.max_gap <= LINE_MAX_GAP
            and s.extent is not None and s.extent >= LINE_MIN_EXTENT)


def label_from_evidence(ev: TaxonomyEvidence) -> tuple[str, str]:
    """(label, reason): the first of `LABELS` whose definition the evidence meets. `learned` None (a constructed
    example) skips the checks that need a task: not-learned, and the trial-based fixed-points / transient."""
    if ev.learned is False:
        return "not-learned", f"fresh-onset accuracy {ev.fresh_acc_clean or 0:.3f} < {LEARNED_ACC:g}"
    if ev.free_run == "limit cycle" and ev.z3_explains:
        return "phase-code", (f"limit cycle of {ev.period_steps:.1f} steps; the Z3 kick automaton predicts "
                              f"{ev.z3_phase_agreement_27}/27 end phases")
    if ev.free_run == "fast cycle" and ev.period_steps is not None \
            and round(ev.period_steps) in STAR_PERIOD_STEPS and abs(ev.period_steps - round(ev.period_steps)) < 0.2:
        return "star", f"free run ends on a cycle of {ev.period_steps:.0f} steps"
    g, s = ev.stable, ev.slow
    if is_hexagon(g):
        return "hexagon", (f"6 stable fixed points, {g.plane_fraction:.0%} planar, angular gaps within "
                           f"{g.hexagon_gap_error * 60:.0f} deg of 60, radius CV {g.hexagon_radius_cv:.2f}")
    if is_lattice(g):
        return "lattice", (f"{g.n_points} stable fixed points, {g.plane_fraction:.0%} planar, on a "
                           f"{g.lattice_extent[0]} x {g.lattice_extent[1]} grid within {g.lattice_error:.2f} units")
    if is_line(s):
        return "line-attractor", (f"{s.n_slow} slow points, PC1 holds {s.pc1_fraction:.0%} of their variance, "
                                  f"largest gap {s.max_gap:.0%} of their extent")
    if ev.learned is None:
        return "unlabelled", f"free run: {ev.free_run}; {ev.n_stable} stable fixed points; no task evidence"
    purity, on_fp = ev.basin_purity, ev.fraction_ending_on_fixed_points
    if ev.n_stable >= 2 and purity is not None and purity >= PURITY_MIN and on_fp is not None \
            and on_fp >= ON_FIXED_POINTS_MIN:
        return "fixed-points", (f"{ev.n_stable} stable fixed points; {on_fp:.0%} of end states relax onto them, "
                                f"purity {purity:.3f}")
    if ev.free_run != "limit cycle" and (purity is None or purity < PURITY_MIN):
        pur = "no stable fixed point" if purity is None else f"purity {purity:.3f}"
        return "transient", f"free run: {ev.free_run}; relaxed end states do not keep the answer ({pur})"
    if ev.free_run == "limit cycle":
        return "unlabelled", (f"limit cycle of {ev.period_steps:.1f} steps, but the Z3 automaton explains only "
                              f"{ev.z3_phase_agreement_27}/27 end phases")
    relaxed = "no trial data" if on_fp is None else f"{on_fp:.0%} of end states relax onto them"
    pur = "no purity measured" if purity is None else f"purity {purity:.3f}"
    return "unlabelled", (f"free run: {ev.free_run}; {ev.n_stable} stable fixed points, {relaxed} "
                          f"(fixed-points needs two or more, ≥ {ON_FIXED_POINTS_MIN:.0%} relaxing, purity ≥ "
                          f"{PURITY_MIN:g}); {pur}")


__all__ = ["DEFINITIONS", "LABELS", "PointGeometry", "SlowGeometry", "Taxon", "TaxonomyEvidence", "classify",
           "label_from_evidence", "measure", "point_geometry", "search_slow_points", "slow_geometry", "slow_search", "SlowSearch",
           "stable_fixed_points"]
