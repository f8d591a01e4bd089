"""The space of solutions (chapter 7): what the networks of the map of solutions are, setting by setting.

Everything here reads the shipped map (`setdyn.viz.solution_map.load_map`, written by
``python -m setdyn map``), so the chapter's numbers, its figures and its map come from one file:

* `table`: its networks as a table, one row each, in the map's order (the order of its distance matrix);
* `cells`: each setting's networks by mechanism, with the phase-code fraction and its 95% Wilson interval;
* `examples`: one typical network of each mechanism, the medoid of its label by DSA distance;
* `paper_setting`: how often the paper's setting gives a phase code, how many networks would pin that
  down to ±6 points, and where the setting's networks and the paper's own network sit on the map;
* `followup`: the follow-up paper's qualitative claims (arXiv 2310.07908 v2) beside what this map measures.

Fractions count only networks trained from a plain seed (`SAMPLED_SOURCES`): the book's network was chosen
by a seed search (chapter 2) and the paper's is the one its author showed, so neither is a random draw.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from .analysis.dsa_map import knn_agreement
from .analysis.taxonomy import LABELS
from .prose import ordinal
from .sweep.grid import PAPER_ACTIVATION
from .sweep.stats import fraction_ci, in_cell

#: Map sources whose networks are random draws of their setting (see the module docstring).
SAMPLED_SOURCES: tuple[str, ...] = ("paper-seeds", "followup", "paper-setting")
#: Half-width (fraction) the phase-code fraction at the paper's setting should be known to (issue: ±6 points).
TARGET_HALF_WIDTH = 0.06
#: The follow-up's mechanisms, named by eye (arXiv 2310.07908 v2); the others here are this book's.
FOLLOWUP_MECHANISMS: tuple[str, ...] = ("phase-code", "hexagon", "lattice", "star", "line-attractor")
#: The follow-up's words (abstract of v2), quoted.
FOLLOWUP_REGION_QUOTE = "the phase code solution occupies a distinct region"
#: p-value below which a test's "yes" is stated plainly (as `setdyn.solution_map.KNN_CLEAR`).
CLEAR_P = 0.01
COLUMNS = ("id", "row_id", "source", "seed", "alpha", "noise_std", "activation", "taxon", "taxon_reason", "fresh_acc_clean",
           "period_ms", "free_run", "x", "y")


def table(data: dict[str, Any]) -> pd.DataFrame:
    """The map's networks (no detail), one row each in the map's order."""
    return pd.DataFrame([{k: n.get(k) for k in COLUMNS} for n in data["networks"]])


def sampled(df: pd.DataFrame) -> pd.DataFrame:
    """The networks trained from a plain seed (`SAMPLED_SOURCES`), each config once: where two sweeps trained
    the same config (the same seed and setting, with different engines), the one of the earlier source in
    `SAMPLED_SOURCES`; a retraining of the book's own config (its seed was chosen) not at all."""
    book = set(df.loc[df["source"] == "book", "row_id"].dropna())
    s = df[df["source"].isin(SAMPLED_SOURCES) & ~df["row_id"].isin(book)]
    rank = s["source"].map({src: i for i, src in enumerate(SAMPLED_SOURCES)})
    keep = s.assign(_rank=rank).sort_values("_rank", kind="stable").drop_duplicates("row_id").index
    return s.loc[sorted(keep)]


def retrained(first_sweep: pd.DataFrame, df: pd.DataFrame, source: str) -> dict[str, Any]:
    """Glue values (keys ``space_retrain_<source>_*``, '-' as '_'): the configs that both the first sweep
    (`setdyn.sweep.table`, trained with the batched trainer) and the map's `source` trained, and how many of them
    changed their outcome: whether they learned, and whether they are phase codes. The same config is the same
    seed, weights, trials and noise: only the engine's floating-point rounding, amplified by training, can differ."""
    from .analysis.mechanism import LEARNED_ACC

    mine = df[df["source"] == source].drop_duplicates("row_id").set_index("row_id")
    both = first_sweep.set_index("id").join(mine[["taxon"]], how="inner")
    flips_learned = (both["fresh_acc_clean"] >= LEARNED_ACC) != (both["taxon"] != "not-learned")
    flips_code = (both["label"] == "phase-oscillator") != (both["taxon"] == "phase-code")
    key = "space_retrain_" + source.replace("-", "_")
    return {f"{key}_n": len(both), f"{key}_learned_flips": int(flips_learned.sum()),
            f"{key}_code_flips": int(flips_code.sum())}


def at_paper_setting(df: pd.DataFrame) -> pd.Series:
    """Which networks have the paper's setting (alpha, noise, tanh)."""
    return in_cell(df) & (df["activation"] == PAPER_ACTIVATION)


def cells(df: pd.DataFrame) -> pd.DataFrame:
    """One row per setting (activation, alpha, noise_std) of the sampled networks: n, one count column per
    label of `LABELS`, the phase codes' fraction and its 95% Wilson interval (lo, hi); tanh first, then by
    falling alpha and rising noise."""
    rows = []
    for (act, alpha, noise), g in sampled(df).groupby(["activation", "alpha", "noise_std"]):
        counts = g["taxon"].value_counts()
        k, n = int(counts.get("phase-code", 0)), len(g)
        lo, hi = fraction_ci(k, n)
        rows.append({"activation": act, "alpha": alpha, "noise_std": noise, "n": n,
                     **{lab: int(counts.get(lab, 0)) for lab in LABELS},
                     "phase_frac": k / n, "lo": lo, "hi": hi})
    out = pd.DataFrame(rows)
    if not len(out):
        return out
    order = out["activation"].map(lambda a: (a != PAPER_ACTIVATION, a))
    return out.assign(_o=order, paper=at_paper_setting(out)).sort_values(["_o", "alpha", "noise_std"], ascending=[True, False, True]) \
        .drop(columns="_o").reset_index(drop=True)


def definitions(df: pd.DataFrame) -> str:
    """The taxonomy's definitions as a Markdown list, in the order they are tried, each label not found among
    the networks of `df` marked "(none here)"."""
    from .analysis.taxonomy import DEFINITIONS

    present = set(df["taxon"])
    return "\n".join(f"- **{lab}**: {DEFINITIONS[lab]}" + ("" if lab in present else " *(none here)*")
                     for lab in LABELS)


def medoid(distances: np.ndarray, members: Sequence[int]) -> int:
    """The member with the smallest summed distance to the other members (ties: the first)."""
    members = list(members)
    sub = np.asarray(distances)[np.ix_(members, members)]
    return members[int(np.argmin(sub.sum(1)))]


def examples(data: dict[str, Any], df: pd.DataFrame | None = None) -> dict[str, int]:
    """One typical network per label present: its row index in the map, the medoid by DSA distance of the
    label's networks, among those whose weights ship with the repository (not the paper's own network)."""
    df = table(data) if df is None else df
    dist = np.asarray(data["distances"])
    out = {}
    for lab in LABELS:
        members = df.index[(df["taxon"] == lab) & (df["source"] != "paper")]
        if len(members):
            out[lab] = medoid(dist, members)
    return out


def needed_for(frac: float, half_width: float = TARGET_HALF_WIDTH) -> int:
    """The fewest networks whose 95% Wilson interval at fraction `frac` is at most ±`half_width`."""
    n = 1
    while True:
        lo, hi = fraction_ci(round(frac * n), n)
        if (hi - lo) / 2 <= half_width:
            return n
        n += 1 if n < 64 else max(1, n // 64)


def nearest(dist: np.ndarray, i: int, k: int) -> list[int]:
    """The k networks nearest to network i (by DSA distance), nearest first."""
    d = np.asarray(dist, float)[i].copy()
    d[i] = np.inf
    return [int(j) for j in np.argsort(d, kind="stable")[:k]]


def paper_setting(data: dict[str, Any], df: pd.DataFrame | None = None) -> dict[str, Any]:
    """Glue values (keys ``space_paper_*``): the phase-code fraction at the paper's setting with its interval,
    the networks needed for ±6 points, where its phase codes sit (is each one's nearest network a phase
    code?), and the paper's own network's nearest neighbours when it is on the map."""
    df = table(data) if df is None else df
    dist = np.asarray(data["distances"])
    here = sampled(df)[at_paper_setting(sampled(df))]
    k, n = int((here["taxon"] == "phase-code").sum()), len(here)
    lo, hi = fraction_ci(k, n)
    frac = k / n if n else float("nan")
    learned = here[here["taxon"] != "not-learned"]
    kl = int((learned["taxon"] == "phase-code").sum())
    lo_l, hi_l = fraction_ci(kl, len(learned))
    codes = here.index[here["taxon"] == "phase-code"]
    nn_code = sum(df.loc[nearest(dist, i, 1)[0], "taxon"] == "phase-code" for i in codes)
    n_all = int((sampled(df).index.size))
    n_dupes = int(df["source"].isin(SAMPLED_SOURCES).sum()) - n_all
    out: dict[str, Any] = {
        "space_paper_n": n, "space_paper_k": k, "space_paper_pct": 100 * frac, "space_paper_lo": 100 * lo,
        "space_paper_hi": 100 * hi, "space_paper_half_width": 100 * (hi - lo) / 2,
        "space_paper_target": 100 * TARGET_HALF_WIDTH, "space_paper_needed": needed_for(frac) if n else 0,
        "space_paper_learned": len(learned), "space_paper_learned_k": kl,
        "space_paper_learned_pct": 100 * kl / len(learned) if len(learned) else float("nan"),
        "space_paper_learned_lo": 100 * lo_l, "space_paper_learned_hi": 100 * hi_l,
        "space_paper_set_aside": n_dupes,
        "space_paper_codes_nn_code": int(nn_code),
        "space_paper_codes_nn_text": (f"every one of its {codes.size} phase codes" if codes.size and nn_code == codes.size
                                      else f"{nn_code} of its {codes.size} phase codes"),
        "space_paper_labels_text": ", ".join(f"{c} {lab}" for lab, c in here["taxon"].value_counts().items()),
    }
    half = (hi - lo) / 2
    needed = out["space_paper_needed"]
    out["space_paper_target_text"] = (
        f"That is within the ±{100 * TARGET_HALF_WIDTH:.0f} points this chapter aims at." if n and half <= TARGET_HALF_WIDTH
        else f"Pinning the share down to ±{100 * TARGET_HALF_WIDTH:.0f} points would take about {needed} networks, "
             f"{max(needed - n, 0)} more than these.")
    c = cells(df)
    out["space_other_max_n"] = int(c.loc[~c["paper"], "n"].max()) if len(c) and (~c["paper"]).any() else 0
    paper = df.index[df["source"] == "paper"]
    out["space_paper_on_map"] = bool(len(paper))
    out["space_paper_network_text"] = ("The paper's own network is not on this map: the reference code's files "
                                       "were not at hand when it was made.")
    if len(paper):
        i = int(paper[0])
        near = nearest(dist, i, 3)
        named = [f"the book’s network ({df.loc[j, 'taxon']})" if df.loc[j, "source"] == "book"
                 else describe(df.loc[j], df.loc[j, "taxon"]) for j in near]
        out["space_paper_network_label"] = df.loc[i, "taxon"]
        out["space_paper_network_nearest"] = named
        text = (f"The paper's own network (the four-pointed star) is labelled {df.loc[i, 'taxon']}; the networks "
                f"nearest to it by DSA distance are {', '.join(named[:-1])} and {named[-1]}.")
        book = df.index[df["source"] == "book"]
        if len(book):
            rank = nearest(dist, i, len(df) - 1).index(int(book[0])) + 1
            out["space_paper_book_rank"] = rank
            if rank > len(near):
                text += f" The book's network is only its {ordinal(rank)} nearest of {len(df) - 1}."
        out["space_paper_network_text"] = text
    return out


#: Each source's networks, in words.
SOURCE_NAMES = {"paper-seeds": "of chapter 8", "followup": "of the follow-up grid", "paper-setting": "of the paper's setting"}


def describe(row: pd.Series, label: str | None = None) -> str:
    """A network in words: its seed, source and setting, and its label when given."""
    return (f"seed {int(row['seed'])} {SOURCE_NAMES.get(row['source'], 'of ' + str(row['source']))} "
            f"(α {row['alpha']:g}, noise {row['noise_std']:g}, {row['activation']}"
            + (f"; {label})" if label else ")"))


def followup(data: dict[str, Any], df: pd.DataFrame | None = None) -> dict[str, Any]:
    """Glue values (keys ``space_fu_*``): the follow-up's claims measured on this map's follow-up-grid
    networks (the same grid and recipe as the follow-up's): are phase codes a minority, do they occupy a
    region of their own, which of its mechanisms occur here and which labels it did not name."""
    df = table(data) if df is None else df
    grid = df[df["source"] == "followup"]
    learned = grid[grid["taxon"] != "not-learned"]
    k, n = int((learned["taxon"] == "phase-code").sum()), len(learned)
    lo, hi = fraction_ci(k, n)
    out: dict[str, Any] = {"space_fu_region_quote": FOLLOWUP_REGION_QUOTE,
                           "space_fu_n": len(grid), "space_fu_learned": n, "space_fu_k": k,
                           "space_fu_pct": 100 * k / n if n else float("nan"),
                           "space_fu_lo": 100 * lo, "space_fu_hi": 100 * hi}
    out["space_fu_by_alpha_text"] = "; ".join(
        f"α {a:g}: {int((g['taxon'] == 'phase-code').sum())} of {len(g)}"
        for a, g in sorted(learned.groupby("alpha"), key=lambda t: -t[0]))
    from .sweep.grid import PRESETS

    total = PRESETS["followup"].size
    missing = [a for a in PRESETS["followup"].activations if not (grid["activation"] == a).any()]
    out["space_fu_caution"] = ("the grid is complete" if len(grid) >= total else
                               f"the grid has {len(grid)} of its {total} networks so far"
                               + (f", none of them {' or '.join(missing)}" if missing else "")
                               + ", so this share can still move")
    out["space_fu_minority_verdict"] = (
        "a minority here too" if hi < 0.5 else "a majority here, unlike the follow-up" if lo > 0.5 else
        "not resolved here: the interval spans one half")
    labels = df["taxon"].to_numpy()
    n_codes = int((labels == "phase-code").sum())
    if n_codes >= 2:
        knn = knn_agreement(data["distances"], labels, only="phase-code")
        strict = knn_agreement(data["distances"], labels, only="phase-code", strata=list(df["alpha"]))
        out.update({"space_fu_region_pct": 100 * knn.observed, "space_fu_region_chance_pct": 100 * knn.chance_mean,
                    "space_fu_region_p": knn.p_value, "space_fu_region_codes": n_codes,
                    "space_fu_region_alpha_chance_pct": 100 * strict.chance_mean,
                    "space_fu_region_alpha_p": strict.p_value,
                    "space_fu_region_verdict": ("here too, phase codes sit together" if strict.p_value < CLEAR_P else
                                                "not clearly here, once neuron speed is allowed for")})
    counts = df["taxon"].value_counts()
    found = [lab for lab in FOLLOWUP_MECHANISMS if counts.get(lab, 0)]
    missing = [lab for lab in FOLLOWUP_MECHANISMS if not counts.get(lab, 0)]
    extra = [lab for lab in LABELS if lab not in FOLLOWUP_MECHANISMS and counts.get(lab, 0)]
    out["space_fu_found_text"] = ", ".join(f"{lab} ({counts[lab]})" for lab in found) or "none"
    out["space_fu_missing_text"] = ", ".join(missing) or "none"
    out["space_fu_extra_text"] = ", ".join(f"{lab} ({counts[lab]})" for lab in extra) or "none"
    return out


__all__ = ["CLEAR_P", "FOLLOWUP_MECHANISMS", "SAMPLED_SOURCES", "TARGET_HALF_WIDTH", "at_paper_setting", "cells",
           "describe", "examples", "followup", "retrained", "medoid", "nearest", "needed_for", "paper_setting", "sampled",
           "table"]
