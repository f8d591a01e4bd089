"""How the oscillator is born: each training snapshot measured, and the epochs where things happen.

Per snapshot (`measure_snapshot`): noisy and noise-free accuracy; the input-free
dynamics (`free_run_dynamics`: kind, period, Floquet multipliers); the fixed
point(s) of the input-free map x -> J tanh(x) + b and the eigenvalues of its
Jacobian at the central one (the one the cycle winds around); once there is a
limit cycle, each colour's phase kick (`phase_response_curve`, mean over the
arrival phase) and the Z3 check (`mechanism.z3_check`).

From the snapshots (`find_events`):

* birth: the first snapshot from which on the free run is a limit cycle, and the
  epoch where the central fixed point's leading eigenvalue modulus crosses 1
  (interpolated in log epoch between the two snapshots around it);
* the bifurcation: a complex pair leaving the unit circle with the cycle born at
  the pair's rotation period is a Neimark-Sacker (the map's Hopf); a stable
  fixed point vanishing through a real eigenvalue 1 with a long-period cycle is a
  saddle-node on an invariant cycle;
* Z3: the first snapshot from which on the Z3 automaton of the kicks predicts the
  end phase of all 27 test trials (`z3_explains`, the classifier's criterion);
* accuracy: the first evaluation (every 5 epochs in the run's history) meeting
  `paper.ACCEPT`, and the first snapshot meeting it.

Epochs count passes over the training set (0 = untrained); periods in ms; angles in degrees.

How the shipped files in setdyn/data/emergence were made: checkpoints.* by
``python -m setdyn train --config setdyn/data/pretrained.json --checkpoints 40``
(with the run's history added to the index); measures.json by `measure_checkpoints`
and `find_events`; birth_scan.json by `birth_scan` of the same run retrained with
``train(TrainConfig(..., max_epochs=345), engine="autograd", checkpoints=range(276, 346))``
(one snapshot per epoch around the birth; those weights are not shipped, a test checks
that the scan retraces the shipped snapshots where both have one).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .. import paper
from ..model import CTRNN
from ..numerics import first_differing_digit, jsonable
from ..prose import ordinal
from .code import phase_code_from_means
from .cycle import fixed_point, free_run_dynamics
from .phase import phase_reference, phase_response_curve
from .simulate import jacobians, single_thread

#: A Neimark-Sacker birth: the born cycle's period within this factor of the rotation period of the
#: complex pair that crossed (2 pi / angle steps).
NS_PERIOD_FACTOR = 1.5
#: The shipped snapshots of the book's network (retrained from its recorded config) and their measurements.
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "emergence"
#: Eigenvalues kept per snapshot (largest modulus first): enough for the complex-plane picture.
N_EIGENVALUES = 100


def _fixed_points(model: CTRNN, guesses: Sequence[np.ndarray], tol: float = 1e-6) -> list[np.ndarray]:
    """Distinct converged fixed points of the input-free map found by Newton from `guesses`."""
    found: list[np.ndarray] = []
    for g in guesses:
        if g is None:
            continue
        x, ok = fixed_point(model, g)
        if ok and np.all(np.isfinite(x)) and not any(np.linalg.norm(x - f) < tol * (1 + np.linalg.norm(f))
                                                     for f in found):
            found.append(x)
    return found


def _eigs(model: CTRNN, x: np.ndarray) -> np.ndarray:
    ev = np.linalg.eigvals(jacobians(model, x[None])[0])
    return ev[np.lexsort((-ev.imag, -np.abs(ev)))]


def fixed_point_spectrum(model: CTRNN, tail: np.ndarray, previous_fixed_point: np.ndarray | None = None
                         ) -> tuple[dict[str, Any], np.ndarray | None]:
    """The fixed points of the input-free map near a settled free run `tail` (M x N states) and the
    Jacobian eigenvalues at the central one: the continuation of `previous_fixed_point` if given,
    else the one nearest the orbit's centre. Returns ({n_fixed_points, n_stable_fixed_points,
    eigenvalues (K x 2, re/im, largest modulus first), leading_modulus, leading_angle_deg}, central)."""
    fps = _fixed_points(model, [previous_fixed_point, tail.mean(0), tail[-1], np.zeros(model.n_units)])
    rec: dict[str, Any] = {"n_fixed_points": len(fps),
                           "n_stable_fixed_points": sum(bool(np.abs(_eigs(model, f)[0]) < 1) for f in fps),
                           "eigenvalues": None, "leading_modulus": None, "leading_angle_deg": None}
    if not fps:
        return rec, None
    anchor = previous_fixed_point if previous_fixed_point is not None else tail.mean(0)
    central = min(fps, key=lambda f: np.linalg.norm(f - anchor))
    ev = _eigs(model, central)[:N_EIGENVALUES]
    rec.update(eigenvalues=np.c_[ev.real, ev.imag], leading_modulus=float(np.abs(ev[0])),
               leading_angle_deg=float(abs(np.degrees(np.angle(ev[0])))))
    return rec, central


@single_thread
def birth_scan(models: Sequence[CTRNN], epochs: Sequence[int]) -> list[dict[str, Any]]:
    """The dynamics only (no accuracies, no kicks) of many snapshots, e.g. every epoch around the
    birth: per snapshot epoch, kind, period_ms, amplitude (half the peak-to-peak range of the settled
    orbit's rate PC1; 0 at a fixed point), leading_modulus and leading_angle_deg."""
    out, fp = [], None
    for model, epoch in zip(models, epochs):
        dyn = free_run_dynamics(model)
        spec, c = fixed_point_spectrum(model, dyn.states[dyn.settle_steps:], fp)
        fp = c if c is not None else fp
        out.append(jsonable({"epoch": int(epoch), "kind": dyn.kind, "period_ms": dyn.period_ms,
                             "amplitude": dyn.amplitude, "leading_modulus": spec["leading_modulus"],
                             "leading_angle_deg": spec["leading_angle_deg"]}))
    return out


def supercritical_fit(scan: Sequence[dict[str, Any]], max_excess: float = 0.1) -> dict[str, Any] | None:
    """How the cycle's size grows past the crossing: a straight line amplitude^2 = s (|lambda| - m0)
    fitted to the limit-cycle snapshots with 1 < |lambda| < 1 + max_excess.

    A supercritical Neimark-Sacker birth starts at zero size, amplitude ~ sqrt(|lambda| - 1): the
    line's root m0 is then 1. A cycle born at finite size (subcritical, or a global bifurcation)
    has its root far below 1. Returns {n, slope, root_modulus, r2}, None with fewer than 3 points."""
    pts = [(r["leading_modulus"], r["amplitude"] ** 2) for r in scan
           if r["kind"] == "limit cycle" and r["leading_modulus"] is not None
           and 1 < r["leading_modulus"] < 1 + max_excess]
    if len(pts) < 3:
        return None
    m, a2 = np.array(pts).T
    slope, icpt = np.polyfit(m, a2, 1)
    pred = slope * m + icpt
    r2 = 1 - np.sum((a2 - pred) ** 2) / np.sum((a2 - a2.mean()) ** 2)
    return jsonable({"n": len(pts), "slope": slope, "root_modulus": -icpt / slope, "r2": r2})


@single_thread
def measure_snapshot(model: CTRNN, cfg: Any, previous_fixed_point: np.ndarray | None = None,
                     z3_draws: int = 5, prc_phases: int = 36) -> tuple[dict[str, Any], np.ndarray | None]:
    """Measure one snapshot (float64 `model`; `cfg` its TrainConfig for the accuracies).

    previous_fixed_point: the central fixed point of the snapshot before (the Newton start that
    continues it). Returns (record, central fixed point or None). The record: accuracy (the
    `evaluate_all` keys), kind, period_ms, floquet (moduli, largest first), n_fixed_points,
    n_stable_fixed_points, eigenvalues ([re, im] pairs of the central fixed point's Jacobian,
    largest modulus first), leading_modulus, leading_angle_deg (|arg| of the leading eigenvalue),
    kicks_deg (mean kick per colour, green, purple, red) and kick_range_deg (max - min over the
    arrival phase), z3_steps, z3_residual_deg, z3 (the `z3_check` counts) and z3_code.
    """
    from ..training.evaluation import evaluate_all
    from .mechanism import z3_check

    f32 = CTRNN(model.colors.detach().float(), n_units=model.n_units, alpha=model.alpha)
    f32.load_state_dict({k: v.detach().float() for k, v in model.state_dict().items()})
    rec: dict[str, Any] = {"accuracy": evaluate_all(f32.eval(), cfg)}
    dyn = free_run_dynamics(model)
    rec["kind"] = dyn.kind
    rec["period_ms"] = dyn.period_ms
    rec["floquet"] = dyn.floquet_multipliers
    rec["amplitude"] = dyn.amplitude
    spec, central = fixed_point_spectrum(model, dyn.states[dyn.settle_steps:], previous_fixed_point)
    rec.update(spec)
    rec.update(kicks_deg=None, kick_range_deg=None, z3_steps=None, z3_residual_deg=None, z3=None, z3_code=False)
    if dyn.kind == "limit cycle":
        ref = phase_reference(model, dyn)
        prc = phase_response_curve(model, ref, n_phases=prc_phases)
        if not np.all(np.isfinite(prc.mean_deg)):  # a colour's kick could not be measured: no code yet
            rec.update(kicks_deg=prc.mean_deg, kick_range_deg=prc.range_deg)
            return jsonable(rec), central
        code = phase_code_from_means(prc.mean_deg)
        z3 = z3_check(model, ref, code, draws=z3_draws)
        rec.update(kicks_deg=prc.mean_deg, kick_range_deg=prc.range_deg, z3_steps=list(code.steps),
                   z3_residual_deg=code.residual_deg, z3_code=bool(z3["z3_explains"]),
                   z3={k: z3[k] for k in ("z3_phase_agreement_27", "z3_decision_agreement_27",
                                          "z3_phase_agreement_fresh", "z3_decision_agreement_fresh")})
    return jsonable(rec), central


def measure_checkpoints(models: Sequence[CTRNN], index: dict[str, Any], progress: bool = False
                        ) -> list[dict[str, Any]]:
    """`measure_snapshot` for every snapshot of a checkpoint folder (`load_checkpoints` in float64),
    continuing the central fixed point from one snapshot to the next. One record per snapshot,
    with its epoch and training loss added."""
    from ..training import TrainConfig

    cfg = TrainConfig.from_dict(index["config"])
    rows, fp = [], None
    for i, (model, epoch) in enumerate(zip(models, index["epochs"])):
        rec, fp_new = measure_snapshot(model, cfg, fp)
        fp = fp_new if fp_new is not None else fp
        rows.append({"epoch": int(epoch), "train_loss": index["train_loss"][i], **rec})
        if progress:
            print(f"epoch {epoch}: {rec['kind']}, period {rec['period_ms']}, |lambda| {rec['leading_modulus']}, "
                  f"z3 {rec['z3_code']}", flush=True)
    return rows


def _persistent_from(flags: Sequence[bool]) -> int | None:
    """First index from which every flag is True (None if the last is False)."""
    if not flags or not flags[-1]:
        return None
    i = len(flags)
    while i > 0 and flags[i - 1]:
        i -= 1
    return i


def accepted(acc: dict[str, float]) -> bool:
    """The accuracies meet `paper.ACCEPT` (the levels a trained network must reach)."""
    return all(acc.get(k) is not None and acc[k] >= v for k, v in paper.ACCEPT.items())


def accuracy_epoch(history: dict[str, list[float]]) -> int | None:
    """The first evaluated epoch of a run's history meeting `paper.ACCEPT` (noisy train accuracy of
    that epoch, noise-free test and fresh-onset accuracy), None if none did."""
    for i, e in enumerate(history.get("eval_epoch", [])):
        rec = {"train_acc_noisy": history["train_acc_noisy"][int(e) - 1],
               "test_acc_clean": history["test_acc_clean"][i], "fresh_acc_clean": history["fresh_acc_clean"][i]}
        if accepted(rec):
            return int(e)
    return None


def find_events(rows: Sequence[dict[str, Any]], history: dict[str, list[float]] | None = None,
                scan: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The three events of training from the snapshot records (see the module docstring).

    Returns birth_epoch (first snapshot of the persistent limit cycle), birth_after_epoch (the
    snapshot before it), crossing_epoch (leading modulus crosses 1, interpolated in log epoch),
    bifurcation (name) with its evidence, z3_epoch, accuracy_epoch (from the run's history, exact to
    its evaluation interval) and accuracy_snapshot_epoch; None where the event did not happen.
    With a `birth_scan` of the epochs around the birth, birth_scan_epoch (the first scanned epoch
    from which on the free run is a limit cycle) is added and crossing_epoch is taken from the scan
    (interpolated linearly between its two epochs around the crossing).
    """
    epochs = [r["epoch"] for r in rows]
    out: dict[str, Any] = {}
    i = _persistent_from([r["kind"] == "limit cycle" for r in rows])
    out["birth_epoch"] = epochs[i] if i is not None else None
    out["birth_after_epoch"] = epochs[i - 1] if i else None
    # the crossing of |lambda| = 1 that goes with the birth: between the snapshots around it, else the
    # last one before it (interpolated in log epoch)
    mod = [r["leading_modulus"] for r in rows]
    ups = [j for j in range(1, len(rows)) if mod[j - 1] is not None and mod[j] is not None
           and mod[j - 1] < 1 <= mod[j] and (i is None or j <= i)]
    cross = frac = None
    if ups:
        j = ups[-1]
        e0, e1 = max(epochs[j - 1], 0.5), epochs[j]
        frac = (1 - mod[j - 1]) / (mod[j] - mod[j - 1])
        cross = float(np.exp(np.log(e0) + frac * (np.log(e1) - np.log(e0))))
    at_birth = bool(ups) and i is not None and ups[-1] == i
    out["crossing_epoch"] = cross
    out["bifurcation"], out["bifurcation_evidence"] = None, {}
    if i:
        before, after = rows[i - 1], rows[i]
        ang = before["leading_angle_deg"]
        if at_birth and ang is not None and after["leading_angle_deg"] is not None:
            ang = ang + frac * (after["leading_angle_deg"] - ang)  # the pair's angle where it crosses
        rot = 360.0 / ang * paper.DT_MS if ang else None
        ev = {"modulus_before": before["leading_modulus"], "modulus_after": after["leading_modulus"],
              "angle_before_deg": before["leading_angle_deg"], "angle_after_deg": after["leading_angle_deg"],
              "angle_at_crossing_deg": ang, "pair_rotation_period_ms": rot, "period_at_birth_ms": after["period_ms"],
              "stable_fixed_points_before": before["n_stable_fixed_points"],
              "stable_fixed_points_after": after["n_stable_fixed_points"]}
        if (at_birth and ang and ang > 1.0 and rot is not None
                and 1 / NS_PERIOD_FACTOR <= after["period_ms"] / rot <= NS_PERIOD_FACTOR):
            out["bifurcation"] = "Neimark-Sacker (Hopf-like)"
        elif before["n_stable_fixed_points"] > 0 and after["n_stable_fixed_points"] == 0 and (not ang or ang <= 1.0):
            out["bifurcation"] = "saddle-node on invariant cycle"
        else:
            out["bifurcation"] = "other"
        out["bifurcation_evidence"] = ev
    if scan:
        k = _persistent_from([r["kind"] == "limit cycle" for r in scan])
        out["birth_scan_epoch"] = scan[k]["epoch"] if k is not None else None
        sm = [r["leading_modulus"] for r in scan]
        up = [j for j in range(1, len(scan))
              if sm[j - 1] is not None and sm[j] is not None and sm[j - 1] < 1 <= sm[j]]
        if up:
            j = up[-1]
            e0, e1 = scan[j - 1]["epoch"], scan[j]["epoch"]
            out["crossing_epoch"] = float(e0 + (1 - sm[j - 1]) / (sm[j] - sm[j - 1]) * (e1 - e0))
            out["crossing_between"] = [e0, e1]
    z = _persistent_from([bool(r["z3_code"]) for r in rows])
    out["z3_epoch"] = epochs[z] if z is not None else None
    out["accuracy_epoch"] = accuracy_epoch(history) if history else None
    a = _persistent_from([accepted(r["accuracy"]) for r in rows])
    out["accuracy_snapshot_epoch"] = epochs[a] if a is not None else None
    return jsonable(out)


def emergence_table(directory: str | Path, rows: list[dict[str, Any]] | None = None,
                    progress: bool = False) -> dict[str, Any]:
    """The emergence table of a checkpoint folder: per snapshot (epoch, accuracy, kind, period_ms,
    leading modulus and angle, kicks, Z3 agreement) and the events; `rows` if already measured."""
    from ..training.checkpoints import load_checkpoints

    models, index = load_checkpoints(directory)
    rows = rows if rows is not None else measure_checkpoints(models, index, progress)
    history = index.get("history")
    keys = ("epoch", "kind", "period_ms", "leading_modulus", "leading_angle_deg", "n_fixed_points",
            "n_stable_fixed_points", "floquet", "kicks_deg", "z3_steps", "z3_code")
    table = []
    for r in rows:
        t = {k: r[k] for k in keys}
        t["accuracy"] = {k: r["accuracy"][k] for k in ("train_acc_noisy", "test_acc_clean", "fresh_acc_clean",
                                                       "fresh_acc_noisy")}
        t["z3_agreement"] = (r["z3"]["z3_phase_agreement_27"] / 27) if r["z3"] else None
        table.append(t)
    return {"snapshots": table, "events": find_events(rows, history)}


def load_shipped() -> dict[str, Any]:
    """The shipped emergence data (setdyn/data/emergence): models (float64 snapshots), index (epochs,
    losses, config, the run's history), rows (`measure_checkpoints`, as measured when shipped: a test
    re-measures the last), scan and supercritical_fit (`birth_scan`), events (`find_events` of all)."""
    import json

    from ..training.checkpoints import load_checkpoints

    models, index = load_checkpoints(SHIPPED)
    measured = json.loads((SHIPPED / "measures.json").read_text())
    birth = json.loads((SHIPPED / "birth_scan.json").read_text())
    return {"models": models, "index": index, "rows": measured["rows"], "scan": birth["scan"],
            "events": find_events(measured["rows"], index.get("history"), birth["scan"]),
            "supercritical_fit": birth["supercritical_fit"]}


def first_loss_words(shipped_loss: float, retrained_loss: float) -> str:
    """How the first epoch's training loss of the shipped run and of its retraining compare, in words."""
    digit = first_differing_digit(shipped_loss, retrained_loss)
    if digit is None:
        return "the loss of the very first epoch still agrees to every digit, but later ones do not"
    return f"the loss of the very first epoch already differs in the {ordinal(digit)} significant digit"


def chapter_numbers(shipped: dict[str, Any], shipped_meta: dict[str, Any]) -> dict[str, Any]:
    """The numbers (and the words they decide) the chapter "How the oscillator is born" prints, from
    `load_shipped()` and the shipped model's sidecar (`setdyn.weights.load_meta()`): one flat dict
    of plain Python values, epochs as ints, periods in ms, angles in degrees, accuracies in %."""
    rows, ev, scan, fit = shipped["rows"], shipped["events"], shipped["scan"], shipped["supercritical_fit"]
    index = shipped["index"]
    by_epoch = {r["epoch"]: r for r in rows}
    last = rows[-1]
    born = next(r for r in scan if r["epoch"] == ev["birth_scan_epoch"])
    e0, e1 = ev["crossing_between"]
    a0, a1 = (next(r["leading_angle_deg"] for r in scan if r["epoch"] == e) for e in (e0, e1))
    ang = a0 + (ev["crossing_epoch"] - e0) / (e1 - e0) * (a1 - a0)
    first_cycle = next(r for r in rows if r["kind"] == "limit cycle" and r["epoch"] >= ev["birth_epoch"])
    kicks0 = np.asarray(first_cycle["kicks_deg"])
    spread0 = float(np.max(np.abs(np.angle(np.exp(1j * np.radians(kicks0[:, None] - kicks0[None]))))) * 180 / np.pi)
    z3row = by_epoch[ev["z3_epoch"]]
    order = sorted([("the cycle", ev["crossing_epoch"]), ("the Z3 code", ev["z3_epoch"]),
                    ("the paper's accuracy", ev["accuracy_epoch"])], key=lambda t: t[1])
    supercritical = abs(fit["root_modulus"] - 1) < 0.02 and fit["r2"] > 0.95
    acc = index["accuracy"]
    return jsonable({
        "n_snapshots": len(rows), "final_epoch": last["epoch"], "shipped_epoch": shipped_meta["epochs"],
        "first_loss_words": first_loss_words(shipped_meta["history"]["train_loss"][0],
                                             index["history"]["train_loss"][0]),
        "final_period_ms": last["period_ms"], "shipped_period_ms": shipped_meta["free_run"]["period_ms"],
        "final_train_acc_noisy": 100 * acc["train_acc_noisy"], "final_test_acc_clean": 100 * acc["test_acc_clean"],
        "final_fresh_acc_clean": 100 * acc["fresh_acc_clean"],
        "shipped_train_acc_noisy": 100 * shipped_meta["accuracy"]["train_acc_noisy"],
        "birth_epoch": ev["birth_scan_epoch"], "crossing_epoch": ev["crossing_epoch"], "crossing_from": e0,
        "crossing_to": e1, "modulus_before": scan[[r["epoch"] for r in scan].index(e0)]["leading_modulus"],
        "modulus_after": born["leading_modulus"], "bifurcation": ev["bifurcation"],
        "angle_at_crossing_deg": ang, "pair_period_ms": 360.0 / ang * paper.DT_MS, "birth_period_ms": born["period_ms"],
        "fit_root": fit["root_modulus"], "fit_r2": fit["r2"], "fit_n": fit["n"],
        "growth_word": "grows from zero size, as the square root of the distance past the crossing"
        if supercritical else "appears at a finite size",
        "criticality": "supercritical" if supercritical else "not supercritical",
        "birth_fresh_acc": 100 * by_epoch[ev["birth_epoch"]]["accuracy"]["fresh_acc_clean"],
        "birth_lead_word": "long before the network answers anything"
        if by_epoch[ev["birth_epoch"]]["accuracy"]["fresh_acc_clean"] < 0.05 else "while the network is learning",
        "code_word": "The phase code is in place before the readout has learned to read it."
        if z3row["accuracy"]["fresh_acc_clean"] < paper.ACCEPT["fresh_acc_clean"]
        else "The code and the accuracy arrive together.",
        "first_kicks_epoch": first_cycle["epoch"], "first_kick_spread_deg": spread0,
        "first_kicks_word": "nearly the same" if spread0 < 30 else "different",
        "z3_epoch": ev["z3_epoch"], "z3_kick_g": z3row["kicks_deg"][0], "z3_kick_p": z3row["kicks_deg"][1],
        "z3_kick_r": z3row["kicks_deg"][2], "z3_fresh_acc": 100 * z3row["accuracy"]["fresh_acc_clean"],
        "final_kick_g": last["kicks_deg"][0], "final_kick_p": last["kicks_deg"][1],
        "final_kick_r": last["kicks_deg"][2],
        "accuracy_epoch": ev["accuracy_epoch"],
        "order": ", then ".join(n for n, _ in order),
        "cycle_first": order[0][0] == "the cycle",
    })


__all__ = ["NS_PERIOD_FACTOR", "SHIPPED", "accepted", "accuracy_epoch", "birth_scan", "chapter_numbers",
           "emergence_table", "find_events", "fixed_point_spectrum", "load_shipped", "measure_checkpoints",
           "measure_snapshot", "supercritical_fit"]
