"""The birth of the oscillator across seeds: the book's network is one run; is its story the rule?

Each seed is one training run of the paper's recipe (the shipped model's recorded
configuration with only the seed changed), kept as weight snapshots
(``python -m setdyn train --checkpoints 40``) and measured snapshot by snapshot
exactly as the book's run (`emergence.measure_checkpoints`, `emergence.find_events`).
Its final network gets the two labels of the sweep (`setdyn.sweep.worker.analyze_network`:
the mechanism classifier's and the taxonomy's).

`seed_record` condenses one seed to what the book shows (a few kB); `statistics`
answers the three questions of the chapter from the records:

* does every phase code pass through the same birth (bifurcation counts);
* do the seeds that end without a phase code oscillate on the way (ever a
  limit cycle among their snapshots, and for how many snapshots);
* does the birth predict the final mechanism earlier than accuracy does: per
  seed, the first snapshot from which on each rule names the final mechanism
  right ("phase code" iff the snapshot runs a limit cycle; "phase code" iff the
  snapshot meets the paper's accuracy), and the fraction of seeds each rule gets
  right at every snapshot epoch (`prediction_curves`).

Fractions come with 95% Wilson intervals (`setdyn.sweep.stats.fraction_ci`).
Epochs count passes over the training set; periods in ms; angles in degrees.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..numerics import jsonable
from ..prose import capitalised, count_words
from ..sweep.stats import fraction_ci
from .emergence import SHIPPED, accepted, find_events

#: The shipped seed records, written by ``python -m setdyn emergence --ship`` (`setdyn.emergence_runs`).
SHIPPED_SEEDS = SHIPPED / "seeds.json"

#: The label of a phase code, in the mechanism classifier's and the taxonomy's words.
PHASE_CODE_LABELS = ("phase-oscillator", "phase-code")
#: The bifurcation name `find_events` gives a Neimark-Sacker birth.
NEIMARK_SACKER = "Neimark-Sacker (Hopf-like)"


def seed_record(seed: int, rows: Sequence[dict[str, Any]], index: dict[str, Any],
                labels: dict[str, Any]) -> dict[str, Any]:
    """One seed, condensed: seed, engine, final_epoch, stopped_early, accuracy (final, the run's own),
    label / taxon (the final network's, `labels` from `analyze_network`), events (`find_events`), and
    per snapshot: epoch, kind, period_ms, leading_modulus, leading_angle_deg, n_stable_fixed_points,
    fresh_acc_clean, accepted (meets `paper.ACCEPT`), z3_code."""
    snaps = [{"epoch": r["epoch"], "kind": r["kind"], "period_ms": r["period_ms"],
              "leading_modulus": r["leading_modulus"], "leading_angle_deg": r["leading_angle_deg"],
              "n_stable_fixed_points": r["n_stable_fixed_points"],
              "fresh_acc_clean": r["accuracy"]["fresh_acc_clean"], "accepted": accepted(r["accuracy"]),
              "z3_code": bool(r["z3_code"])} for r in rows]
    return jsonable({"seed": int(seed), "engine": index.get("engine"), "final_epoch": index.get("final_epoch"),
                     "stopped_early": index.get("stopped_early"), "accuracy": index.get("accuracy"),
                     "label": labels.get("label"), "taxon": labels.get("taxon"),
                     "events": find_events(rows, index.get("history")), "snapshots": snaps})


def is_phase_code(record: dict[str, Any]) -> bool:
    """The final network is a phase code (by the mechanism classifier)."""
    return record["label"] in PHASE_CODE_LABELS


def learned(record: dict[str, Any]) -> bool:
    """The final network learned the task (the taxonomy's not-learned: fresh-onset accuracy below 95%)."""
    return record["taxon"] != "not-learned"


def _first_right_epoch(record: dict[str, Any], says_phase_code: str) -> int | None:
    """The first snapshot epoch from which on the rule ("cycle": the snapshot runs a limit cycle;
    "accuracy": it meets the paper's accuracy) names the final mechanism right, None if its last
    snapshot is wrong."""
    truth = is_phase_code(record)
    flags = [((s["kind"] == "limit cycle") if says_phase_code == "cycle" else bool(s["accepted"])) == truth
             for s in record["snapshots"]]
    if not flags or not flags[-1]:
        return None
    i = len(flags)
    while i > 0 and flags[i - 1]:
        i -= 1
    return int(record["snapshots"][i]["epoch"])


def prediction_curves(records: Sequence[dict[str, Any]], epochs: Sequence[int] | None = None
                      ) -> dict[str, list[float]]:
    """Fraction of seeds whose final mechanism (phase code or not) each rule names right at each epoch
    of `epochs` (default: every snapshot epoch of any seed) ("cycle": phase code iff the snapshot runs a limit cycle; "accuracy": phase code iff it
    meets the paper's accuracy). A run that stopped early keeps its last snapshot afterwards."""
    if epochs is None:
        epochs = sorted({s["epoch"] for r in records for s in r["snapshots"]})
    out: dict[str, list[float]] = {"epoch": [int(e) for e in epochs], "cycle": [], "accuracy": []}
    for e in epochs:
        right = {"cycle": 0, "accuracy": 0}
        for r in records:
            s = [x for x in r["snapshots"] if x["epoch"] <= e][-1]
            truth = is_phase_code(r)
            right["cycle"] += (s["kind"] == "limit cycle") == truth
            right["accuracy"] += bool(s["accepted"]) == truth
        for k in right:
            out[k].append(right[k] / len(records))
    return out


def _share(k: int, n: int) -> dict[str, Any]:
    lo, hi = fraction_ci(k, n)
    return {"k": int(k), "n": int(n), "fraction": k / n if n else float("nan"), "ci_low": lo, "ci_high": hi}


def statistics(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The answers across seeds (see the module docstring), as plain values:

    n_seeds; labels (count per final mechanism label) and taxa; phase_codes (k of n seeds);
    bifurcations (count per birth type among the phase codes) and ns_share (Neimark-Sacker births among
    them, with interval); cycle_before_accuracy (among seeds that reached the paper's accuracy: the
    persistent cycle born at an earlier snapshot than the accuracy, with interval); birth, z3 and
    accuracy epochs of the phase codes (lists, for distributions); non_codes_oscillating (seeds that end
    without a phase code but ran a limit cycle at some snapshot) with their snapshot counts;
    first_right (per seed, the first-right epochs of both rules) and, over the runs that learned the
    task (n_learned; a run that never learned has no mechanism to predict), earlier: how many the cycle
    rule names right earlier, at the same snapshot, later."""
    n = len(records)
    codes = [r for r in records if is_phase_code(r)]
    out: dict[str, Any] = {"n_seeds": n, "seeds": [r["seed"] for r in records]}
    out["labels"] = {lab: sum(r["label"] == lab for r in records) for lab in sorted({r["label"] for r in records})}
    out["taxa"] = {t: sum(r["taxon"] == t for r in records) for t in sorted({str(r["taxon"]) for r in records})}
    out["phase_codes"] = _share(len(codes), n)
    bif = [r["events"]["bifurcation"] or "none" for r in codes]
    out["bifurcations"] = {b: bif.count(b) for b in sorted(set(bif))}
    out["ns_share"] = _share(bif.count(NEIMARK_SACKER), len(codes))
    reached = [r for r in records if r["events"]["accuracy_snapshot_epoch"] is not None]
    before = [r for r in reached if r["events"]["birth_epoch"] is not None
              and r["events"]["birth_epoch"] < r["events"]["accuracy_snapshot_epoch"]]
    out["cycle_before_accuracy"] = _share(len(before), len(reached))
    out["birth_epochs"] = [r["events"]["birth_epoch"] for r in codes]
    out["crossing_epochs"] = [r["events"]["crossing_epoch"] for r in codes]
    out["z3_epochs"] = [r["events"]["z3_epoch"] for r in codes]
    out["accuracy_epochs"] = [r["events"]["accuracy_epoch"] for r in codes]
    others = [r for r in records if not is_phase_code(r)]
    osc = {r["seed"]: sum(s["kind"] == "limit cycle" for s in r["snapshots"]) for r in others}
    out["non_codes"] = len(others)
    out["non_codes_oscillating"] = _share(sum(v > 0 for v in osc.values()), len(others))
    out["non_code_cycle_snapshots"] = osc
    first = {r["seed"]: {"cycle": _first_right_epoch(r, "cycle"), "accuracy": _first_right_epoch(r, "accuracy")}
             for r in records}
    out["first_right"] = first

    def key(e: int | None) -> float:
        return np.inf if e is None else e
    # the mechanism of a run that never learned is "none": the race is run over the runs that learned
    taught = [r for r in records if learned(r)]
    out["n_learned"] = len(taught)
    cmp = [np.sign(key(first[r["seed"]]["cycle"]) - key(first[r["seed"]]["accuracy"]))
           if not (first[r["seed"]]["cycle"] is None and first[r["seed"]]["accuracy"] is None) else 0 for r in taught]
    out["earlier"] = {"cycle": int(sum(c < 0 for c in cmp)), "same": int(sum(c == 0 for c in cmp)),
                      "accuracy": int(sum(c > 0 for c in cmp))}
    code_first = [first[r["seed"]] for r in codes]
    out["codes_cycle_earlier"] = _share(sum(key(v["cycle"]) < key(v["accuracy"]) for v in code_first), len(codes))
    return jsonable(out)


def _learned_others_text(n: int, k: int, taxa: str) -> str:
    """The sentence on runs that learned without a phase code: how many of the n oscillated (k) on the way."""
    if n == 0:
        return "No run learned the task without a phase code."
    if n == 1:
        return (f"The one run that learned the task without a phase code ({taxa}) "
                f"{'oscillated' if k else 'never oscillated'} on the way.")
    return f"{capitalised(count_words(k, n, 'runs that learned the task without a phase code'))} ({taxa}) oscillated on the way."


def seed_ranges(seeds: Sequence[int]) -> str:
    """Seeds as the command line writes them: [1, 2, 3, 5, 7, 8] -> "1-3,5,7-8"."""
    out, seeds = [], sorted(seeds)
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        out.append(str(seeds[i]) if i == j else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ",".join(out)


def _birth_detail(record: dict[str, Any]) -> str:
    """Why a phase code's birth is not called Neimark-Sacker, in words from its evidence."""
    ev = record["events"]
    e = ev.get("bifurcation_evidence") or {}
    if e.get("modulus_before") is not None and e["modulus_before"] > 1 and e.get("pair_rotation_period_ms"):
        return (f"seed {record['seed']}, whose |λ| had already crossed 1 (to {e['modulus_before']:.4f}) one snapshot "
                f"before its first detected cycle, so that the rule cannot pair the two; its eigenvalue pair turns "
                f"with a period of {e['pair_rotation_period_ms']:.0f} ms and the cycle is born at "
                f"{e['period_at_birth_ms']:.0f} ms")
    return f"seed {record['seed']} ({ev['bifurcation'] or 'no birth found'})"


def chapter_numbers(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The numbers (and the words they decide) of the chapter's section "Across seeds", from the shipped
    records (`load_records`): one flat dict of plain values, every name starting with "seeds_" (the
    chapter glues them beside its single-run numbers); epochs as numbers, fractions in %."""
    st = statistics(records)
    codes = [r for r in records if is_phase_code(r)]
    n_codes, n = len(codes), st["n_seeds"]
    ns = st["ns_share"]
    cba = st["cycle_before_accuracy"]
    osc = st["non_codes_oscillating"]
    births = [e for e in st["birth_epochs"] if e is not None]
    accs = [e for e in st["accuracy_epochs"] if e is not None]
    lags = [r["events"]["accuracy_epoch"] / r["events"]["birth_epoch"] for r in codes
            if r["events"]["accuracy_epoch"] and r["events"]["birth_epoch"]]
    learned_cycles = [r for r in records if not is_phase_code(r) and r["snapshots"][-1]["kind"] == "limit cycle"]
    others = [r for r in records if learned(r) and not is_phase_code(r)]
    others_osc = [r for r in others if any(x["kind"] == "limit cycle" for x in r["snapshots"])]
    others_taxa = ", ".join(sorted({str(r["taxon"]) for r in others}))
    first = st["first_right"]
    leads = [first[str(r["seed"])]["accuracy"] - first[str(r["seed"])]["cycle"] for r in codes
             if first[str(r["seed"])]["accuracy"] is not None and first[str(r["seed"])]["cycle"] is not None]
    return jsonable({f"seeds_{k}": v for k, v in {
        "n_seeds": n, "seed_list": seed_ranges([r["seed"] for r in records[1:]]), "n_codes": n_codes, "code_pct": 100 * st["phase_codes"]["fraction"],
        "code_lo": 100 * st["phase_codes"]["ci_low"], "code_hi": 100 * st["phase_codes"]["ci_high"],
        "n_ns": ns["k"], "ns_words": count_words(ns["k"], ns["n"], "phase codes"),
        "ns_lo": 100 * ns["ci_low"], "ns_hi": 100 * ns["ci_high"],
        "same_birth_word": "Yes" if n_codes and ns["k"] == n_codes else "Not always",
        "other_births": "; ".join(_birth_detail(r) for r in codes if r["events"]["bifurcation"] != NEIMARK_SACKER)
        or "none",
        "n_learned_others": len(others), "learned_others_osc": len(others_osc),
        "learned_others_taxa": others_taxa or "none",
        "learned_others_text": _learned_others_text(len(others), len(others_osc), others_taxa),
        "birth_median": float(np.median(births)) if births else None,
        "birth_min": min(births) if births else None, "birth_max": max(births) if births else None,
        "accuracy_median": float(np.median(accs)) if accs else None,
        "lag_median": float(np.median(lags)) if lags else None,
        "cba_k": cba["k"], "cba_n": cba["n"], "cba_words": count_words(cba["k"], cba["n"], "seeds that reached it"),
        "cba_lo": 100 * cba["ci_low"], "cba_hi": 100 * cba["ci_high"],
        "n_non_codes": st["non_codes"], "osc_k": osc["k"],
        "osc_words": capitalised(count_words(osc["k"], osc["n"], "seeds that end without a phase code")),
        "osc_lo": 100 * osc["ci_low"], "osc_hi": 100 * osc["ci_high"],
        "n_cycle_not_code": len(learned_cycles),
        "lead_median": float(np.median(leads)) if leads else None, "n_leads": len(leads),
        "cycle_caveat": (f"A cycle is no promise that the run will learn, though: {len(learned_cycles)} "
                         f"run{'s end' if len(learned_cycles) > 1 else ' ends'} on a cycle whose kicks never became "
                         "a code.") if learned_cycles else "Every run that ends on a cycle ends as a phase code.",
        "n_learned": st["n_learned"], "earlier_cycle": st["earlier"]["cycle"], "earlier_same": st["earlier"]["same"],
        "earlier_accuracy": st["earlier"]["accuracy"],
        "earlier_word": "earlier" if st["earlier"]["cycle"] > st["earlier"]["accuracy"]
        else "later" if st["earlier"]["cycle"] < st["earlier"]["accuracy"] else "no earlier",
        "labels": ", ".join(f"{v} {k}" for k, v in sorted(st["taxa"].items(), key=lambda t: -t[1])),
        "engines": " and ".join(sorted({str(r.get("engine")) for r in records})),
    }.items()})


def sweep_comparison(sweep: Any) -> dict[str, Any]:
    """The sweep's networks at the paper's setting (chapter 7's table, `setdyn.sweep.table.load_shipped`), for
    the chapter to set beside these runs: seeds_sweep_k phase codes of seeds_sweep_n, with the 95% interval
    in % (seeds_sweep_lo, seeds_sweep_hi)."""
    from ..sweep.stats import in_cell

    cell = sweep[in_cell(sweep)]
    k, n = int((cell["label"] == PHASE_CODE_LABELS[0]).sum()), len(cell)
    lo, hi = fraction_ci(k, n)
    return {"seeds_sweep_k": k, "seeds_sweep_n": n, "seeds_sweep_lo": 100 * lo, "seeds_sweep_hi": 100 * hi}


def load_records(path: str | Path = SHIPPED_SEEDS) -> list[dict[str, Any]]:
    """The seed records of a JSON file written by `setdyn.emergence_runs.ship` (``{"seeds": [...]}``;
    default the shipped one)."""
    import json

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("seeds"), list):
        raise ValueError(f"{path}: not a seed-records file (expected an object with a 'seeds' list)")
    return data["seeds"]


__all__ = ["NEIMARK_SACKER", "PHASE_CODE_LABELS", "SHIPPED_SEEDS", "chapter_numbers", "seed_ranges", "sweep_comparison", "is_phase_code", "learned", "load_records", "prediction_curves",
           "seed_record", "statistics"]
