"""The statistics of a sweep table: how often each mechanism appears.

`summary` gives, per (alpha, noise) cell, the fraction of networks with a
label and its 95% Wilson score interval, over all networks and over those
that learned the task (noise-free accuracy on fresh onsets >=
`setdyn.analysis.mechanism.LEARNED_ACC`). The dataclasses below hold every number that
chapter 7 prints, one per section of the chapter; each field's name is the
name the chapter glues it under, and each is a plain Python int, float or str.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from ..analysis.mechanism import LEARNED_ACC
from ..paper import COLORS, DT_MS, N_STEPS, PAPER_KICKS_DEG, PAPER_OSCILLATOR
from ..prose import count, count_words, signed
from .grid import PAPER_CELL
from .table import LABELS, categories

#: Confidence level of every interval (95%).
CONFIDENCE = 0.95


def fraction_ci(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a fraction of k successes in n trials ((nan, nan) for n = 0).

    scipy's ``binomtest(k, n).proportion_ci(method="wilson")``; the bounds are
    exactly 0 for k = 0 and 1 for k = n.
    """
    if n == 0:
        return (float("nan"), float("nan"))
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return (float(ci.low), float(ci.high))


def learned(df: pd.DataFrame, threshold: float = LEARNED_ACC) -> pd.Series:
    """Which networks learned the task: noise-free accuracy on fresh onsets >= `threshold` (a bool Series)."""
    return df["fresh_acc_clean"] >= threshold


def in_cell(df: pd.DataFrame, cell: tuple[float, float] = PAPER_CELL) -> pd.Series:
    """Which rows (of a table or a `summary`) belong to the (alpha, noise) `cell` (a bool Series)."""
    return (df["alpha"] == cell[0]) & (df["noise_std"] == cell[1])


def summary(df: pd.DataFrame, label: str = "phase-oscillator", learned_threshold: float = LEARNED_ACC) -> pd.DataFrame:
    """Fraction of networks with `label` per (alpha, noise) cell, with 95% Wilson intervals.

    Returns one row per cell, fastest neurons first, with columns alpha,
    noise_std, n (networks), k (with the label), fraction, ci_low, ci_high;
    n_learned (noise-free accuracy on fresh onsets >= `learned_threshold`),
    k_learned, fraction_learned, ci_low_learned, ci_high_learned (the same
    among networks that learned the task); and the count of each label
    (n_phase-oscillator, n_fixed-point, n_other).
    """
    rows = []
    for (a, n), g in df.groupby(["alpha", "noise_std"], sort=False):
        k = int((g["label"] == label).sum())
        ok = learned(g, learned_threshold)
        kl = int(((g["label"] == label) & ok).sum())
        nl = int(ok.sum())
        lo, hi = fraction_ci(k, len(g))
        lol, hil = fraction_ci(kl, nl)
        row = {"alpha": float(a), "noise_std": float(n), "n": len(g), "k": k, "fraction": k / len(g),
               "ci_low": lo, "ci_high": hi, "n_learned": nl, "k_learned": kl,
               "fraction_learned": kl / nl if nl else float("nan"), "ci_low_learned": lol, "ci_high_learned": hil}
        for lab in LABELS:
            row[f"n_{lab}"] = int((g["label"] == lab).sum())
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values(["alpha", "noise_std"], ascending=[False, True]).reset_index(drop=True)
    return out


def by_alpha(df: pd.DataFrame, label: str = "phase-oscillator", learned_threshold: float = LEARNED_ACC) -> pd.DataFrame:
    """Among networks that learned the task, how many carry `label`, per alpha (noise levels pooled).

    Columns: alpha, tau_ms (= dt / alpha, ms), n_learned, k; fastest neurons first.
    """
    ok = df[learned(df, learned_threshold)]
    rows = [{"alpha": float(a), "tau_ms": DT_MS / float(a), "n_learned": len(g), "k": int((g["label"] == label).sum())}
            for a, g in ok.groupby("alpha")]
    return pd.DataFrame(rows, columns=["alpha", "tau_ms", "n_learned", "k"]).sort_values(
        "alpha", ascending=False).reset_index(drop=True)


def z3_deviation_deg(df: pd.DataFrame) -> np.ndarray:
    """How far (degrees) each phase oscillator's three colour kicks are from an exact Z3 code.

    The largest distance of (kick - common offset) to the nearest multiple of
    120 degrees (0: the kicks are the offset plus 0, +120 and -120 exactly).
    Returns an array of shape (number of phase oscillators,).
    """
    osc = df[df["label"] == "phase-oscillator"]
    kicks = osc[["kick_green_deg", "kick_purple_deg", "kick_red_deg"]].to_numpy(float)
    rel = kicks - osc["kick_common_offset_deg"].to_numpy(float)[:, None]
    return np.abs((rel + 60.0) % 120.0 - 60.0).max(axis=1) if len(osc) else np.zeros(0)


def _nan_or(values: pd.Series, how: str) -> float:
    """float(values.<how>()) or nan for no values."""
    return float(getattr(values, how)()) if len(values) else float("nan")


@dataclass(frozen=True)
class PaperSetting:
    """Chapter 7, "The sweep" and "How often, at the paper's setting" (percentages in %)."""

    n_total: int  #: networks in the table
    n_cells: int  #: (alpha, noise) cells
    paper_alpha: float
    paper_noise: float
    paper_n: int  #: networks at the paper's setting
    paper_k: int  #: ... that are phase oscillators
    paper_frac: float
    paper_lo: float
    paper_hi: float
    paper_n_learned: int
    paper_k_learned: int
    paper_frac_learned: float
    paper_lo_learned: float
    paper_hi_learned: float
    paper_n_fixed: int
    other_min_n: int  #: fewest networks in another cell
    max_epochs: int
    learned_pct: float
    n_phase_all: int
    n_fixed_all: int
    n_learned_all: int
    book_label: str  #: the book's own network, classified like a row
    book_seed: int
    book_period: float  #: ms
    other_max_n: int
    other_n_text: str  #: "8" or "5 to 8": the networks in each other cell
    paper_n_not_learned: int
    paper_fixed_text: str
    paper_other_learned_text: str
    verdict: str
    twin_label: str  #: the sweep's network with the book's config
    twin_period: float  #: ms


def paper_setting(df: pd.DataFrame, book: dict[str, Any]) -> PaperSetting:
    """The numbers of the paper's setting; `book` is `setdyn.sweep.table.load_book_row()`."""
    s = summary(df)
    paper = s[in_cell(s)].iloc[0]
    others = s[~in_cell(s)]
    rows = df[in_cell(df)]
    n_fixed = int(paper["n_fixed-point"])
    n_learned_other = int(paper.n_learned - paper.k_learned - n_fixed)
    twin = rows[rows.seed == book["seed"]]
    return PaperSetting(
        n_total=len(df), n_cells=len(s), paper_alpha=PAPER_CELL[0], paper_noise=PAPER_CELL[1],
        paper_n=int(paper.n), paper_k=int(paper.k), paper_frac=float(100 * paper.fraction),
        paper_lo=float(100 * paper.ci_low), paper_hi=float(100 * paper.ci_high),
        paper_n_learned=int(paper.n_learned), paper_k_learned=int(paper.k_learned),
        paper_frac_learned=float(100 * paper.fraction_learned), paper_lo_learned=float(100 * paper.ci_low_learned),
        paper_hi_learned=float(100 * paper.ci_high_learned), paper_n_fixed=n_fixed,
        other_min_n=int(others.n.min()) if len(others) else 0, max_epochs=int(df.max_epochs.max()),
        learned_pct=100 * LEARNED_ACC, n_phase_all=int((df.label == "phase-oscillator").sum()),
        n_fixed_all=int((df.label == "fixed-point").sum()), n_learned_all=int(learned(df).sum()),
        book_label=book["label"], book_seed=int(book["seed"]), book_period=float(book["period_ms"]),
        other_max_n=int(others.n.max()) if len(others) else 0,
        other_n_text=(f"{others.n.min()}" if others.n.min() == others.n.max() else f"{others.n.min()} to {others.n.max()}")
        if len(others) else "0",
        paper_n_not_learned=int((categories(rows) == "other: did not learn").sum()),
        paper_fixed_text=count(n_fixed, "is a clean fixed-point solution", "are clean fixed-point solutions"),
        paper_other_learned_text=count(n_learned_other, "network learned it another way",
                                       "networks learned it in other ways"),
        verdict=("the oscillator is the rule, not a lucky seed" if paper.fraction_learned > 0.5 else
                 "the oscillator is one solution among several"),
        twin_label=twin.label.iloc[0] if len(twin) else "not in the table",
        twin_period=float(twin.period_ms.iloc[0]) if len(twin) else float("nan"))


@dataclass(frozen=True)
class AcrossCells:
    """Chapter 7: how the fraction of phase oscillators and of learners varies over the cells (%)."""

    seeds_per_cell: str  #: seeds in each cell but the paper's ('8' or '8-12')
    best_cell: str  #: cell(s) with the highest fraction of phase oscillators among learners
    best_frac: float
    worst_cell: str
    worst_frac: float
    by_alpha: str  #: phase oscillators among learners, per alpha
    learn_min: float  #: lowest fraction of seeds that learned, over the cells
    learn_max: float


def _cell_text(r: Any) -> str:
    return f"α = {r.alpha:g}, noise {r.noise_std:g}"


def across_cells(df: pd.DataFrame) -> AcrossCells:
    """How the cells compare."""
    s = summary(df)
    others = s[~in_cell(s)]
    cells = s[s.n_learned > 0]
    hi, lo = cells.fraction_learned.max(), cells.fraction_learned.min()
    lo_n, hi_n = int(others.n.min()), int(others.n.max())
    rate = s.n_learned / s.n
    return AcrossCells(
        seeds_per_cell=f"{lo_n}" if lo_n == hi_n else f"{lo_n}-{hi_n}",
        best_cell="; ".join(_cell_text(r) for r in cells[cells.fraction_learned == hi].itertuples()),
        best_frac=float(100 * hi),
        worst_cell="; ".join(_cell_text(r) for r in cells[cells.fraction_learned == lo].itertuples()),
        worst_frac=float(100 * lo),
        by_alpha="; ".join(f"α = {r.alpha:g} (τ = {r.tau_ms:g} ms): {r.k} of {r.n_learned}"
                           for r in by_alpha(df).itertuples()),
        learn_min=float(100 * rate.min()), learn_max=float(100 * rate.max()))


@dataclass(frozen=True)
class OtherMechanisms:
    """Chapter 7, "What the others are": the "other" networks by reason, the slowest neurons, and
    how the phase oscillators differ (ms, degrees)."""

    n_not_learned: int
    n_mixed: int
    n_not_z3: int
    n_unclear: int
    n_transient: int
    slow_alpha: float  #: the smallest alpha in the table
    slow_tau: float  #: its tau (ms)
    trial_ms: float
    trial_in_tau: float  #: the trial's length in units of the slow tau
    slow_n: int
    slow_learned: int
    slow_learned_text: str  #: "all 24 slow networks", "20 of the 24 slow networks"
    slow_transient: int
    slow_epochs: float  #: median epochs of the slow learners
    paper_epochs: float  #: median epochs of the learners at the paper's setting
    kick_dev_max: float  #: largest distance of a phase oscillator's kicks from an exact Z3 code (degrees)
    paper_period: float  #: the paper's oscillator (ms)
    paper_kicks: str
    period_min: float
    period_max: float
    offset_min: float  #: common offset of the kicks (degrees)
    offset_max: float


def other_mechanisms(df: pd.DataFrame) -> OtherMechanisms:
    """The networks that are not phase oscillators, and the spread among those that are."""
    cat = categories(df)
    slow_alpha = float(df.alpha.min())
    slow = df[df.alpha == df.alpha.min()]
    slow_ok = slow[learned(slow)]
    paper_ok = df[in_cell(df) & learned(df)]
    osc = df[df.label == "phase-oscillator"]
    dev = z3_deviation_deg(df)
    return OtherMechanisms(
        n_not_learned=int((cat == "other: did not learn").sum()),
        n_mixed=int((cat == "other: fixed point + another attractor").sum()),
        n_not_z3=int((cat == "other: cycle not explained by Z3").sum()),
        n_unclear=int((cat == "other: no clear attractor code").sum()),
        n_transient=int((cat == "other: transient code").sum()),
        slow_alpha=slow_alpha, slow_tau=DT_MS / slow_alpha, trial_ms=N_STEPS * DT_MS,
        trial_in_tau=N_STEPS * slow_alpha, slow_n=len(slow), slow_learned=len(slow_ok),
        slow_learned_text=count_words(len(slow_ok), len(slow), "slow networks"),
        slow_transient=int((categories(slow) == "other: transient code").sum()),
        slow_epochs=_nan_or(slow_ok.epochs, "median"), paper_epochs=_nan_or(paper_ok.epochs, "median"),
        kick_dev_max=float(dev.max()) if len(dev) else float("nan"),
        paper_period=PAPER_OSCILLATOR["period_ms"],
        paper_kicks=", ".join(f"{name} {signed(k)}" for name, k in zip(COLORS, PAPER_KICKS_DEG)),
        period_min=float(osc.period_ms.min()), period_max=float(osc.period_ms.max()),
        offset_min=float(osc.kick_common_offset_deg.min()), offset_max=float(osc.kick_common_offset_deg.max()))


@dataclass(frozen=True)
class FailedNetworks:
    """Chapter 7: the networks that did not learn, and how many of them still oscillate (periods in ms)."""

    n_failed: int
    n_failed_cycle: int
    failed_pmin: float
    failed_pmax: float


def failed_networks(df: pd.DataFrame) -> FailedNetworks:
    """The networks that did not learn the task."""
    failed = df[df["fresh_acc_clean"] < LEARNED_ACC]
    cyc = failed[failed.free_run == "limit cycle"]
    return FailedNetworks(n_failed=len(failed), n_failed_cycle=len(cyc), failed_pmin=_nan_or(cyc.period_ms, "min"),
                          failed_pmax=_nan_or(cyc.period_ms, "max"))
