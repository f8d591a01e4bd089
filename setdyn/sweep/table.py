"""The sweep table: one row per network, in ``DIR/sweep.csv``.

A row holds the network's config (``id``, ``seed``, ``alpha``, ``noise_std``,
``config`` as JSON, ...), its training outcome (``epochs``,
``stopped_early``, the accuracies), its mechanism ``label`` (one of
`LABELS`) with the ``reason``, and the classifier's evidence (period in ms,
phase kicks in degrees, fixed points, end-point clusters, automaton
agreement; ``evidence`` holds all of it as JSON). Workers also write each
finished row to ``DIR/rows/ID.json``; `read_table` merges both.

The shipped copy that chapter 7 reads is ``setdyn/data/sweep.csv`` (without
the bulky ``evidence`` column), with ``sweep_gallery.csv`` (phase portraits)
and ``sweep_book.json`` (the book's own network classified like a row); see
`setdyn.sweep.ship`.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from .grid import CSV_NAME

#: The mechanism labels of `setdyn.analysis.mechanism.classify`.
LABELS: tuple[str, ...] = ("phase-oscillator", "fixed-point", "other")
#: The shipped results table.
SHIPPED = Path(__file__).resolve().parents[1] / "data" / CSV_NAME
#: Row order of a written table: fastest neurons first, then noise, then seed.
SORT_BY, SORT_ASCENDING = ["alpha", "noise_std", "seed"], [False, True, True]

#: Why a network is labelled "other", from the start of its reason (see `setdyn.analysis.mechanism.label_from_evidence`).
OTHER_REASONS: tuple[tuple[str, str], ...] = (
    ("did not learn", "other: did not learn"),
    ("mixed", "other: fixed point + another attractor"),
    ("limit cycle, but", "other: cycle not explained by Z3"),
    ("transient", "other: transient code"),
    ("free run", "other: no clear attractor code"),
)


def read_table(out: str | Path) -> pd.DataFrame:
    """The sweep table of a directory: DIR/sweep.csv merged with rows written by workers since."""
    out = Path(out)
    frames = []
    csv = out / CSV_NAME
    if csv.is_file() and csv.stat().st_size > 0:
        frames.append(pd.read_csv(csv))
    rows_dir = out / "rows"
    if rows_dir.is_dir():
        rows = [json.loads(p.read_text()) for p in sorted(rows_dir.glob("*.json"))]
        if rows:
            frames.append(pd.DataFrame(rows))
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    return df.drop_duplicates("id", keep="last").reset_index(drop=True)


def merge_rows(table: pd.DataFrame, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """`table` with `rows` added; a row replaces the table's row of the same id."""
    if not rows:
        return table
    df = pd.concat([table, pd.DataFrame(rows)], ignore_index=True) if len(table) else pd.DataFrame(rows)
    return df.drop_duplicates("id", keep="last").reset_index(drop=True)


def write_row(row: dict[str, Any], out: str | Path) -> Path:
    """Write one row to DIR/rows/ID.json atomically (what workers do as each network finishes)."""
    rows = Path(out) / "rows"
    rows.mkdir(parents=True, exist_ok=True)
    tmp = rows / f".{row['id']}.json.tmp"
    tmp.write_text(json.dumps(row))
    return tmp.replace(rows / f"{row['id']}.json")


def write_table(df: pd.DataFrame, out: str | Path) -> Path:
    """Write DIR/sweep.csv atomically, sorted by (alpha desc, noise, seed), without traceback columns."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = df.drop(columns=[c for c in df.columns if c == "analysis_traceback"])
    if len(df):
        df = df.sort_values(SORT_BY, ascending=SORT_ASCENDING)
    path = out / CSV_NAME
    tmp = out / f".{CSV_NAME}.tmp"
    df.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def load_shipped() -> pd.DataFrame:
    """The shipped sweep table (setdyn/data/sweep.csv)."""
    return pd.read_csv(SHIPPED)


def load_gallery() -> pd.DataFrame:
    """The shipped gallery portraits (setdyn/data/sweep_gallery.csv; see `setdyn.sweep.ship.portraits`)."""
    return pd.read_csv(SHIPPED.with_name("sweep_gallery.csv"))


def load_book_row() -> dict[str, Any]:
    """The book's own network (setdyn/data/pretrained.*) classified like a sweep row
    (setdyn/data/sweep_book.json): where the paper's network sits among the sweep's."""
    return json.loads(SHIPPED.with_name("sweep_book.json").read_text())


def mechanism_category(label: str, reason: str | float | None) -> str:
    """The label, with "other" split by its reason.

    'other: did not learn', 'other: fixed point + another attractor', 'other:
    cycle not explained by Z3', 'other: transient code' (learned, but at most
    one stable fixed point and no cycle: the answer is read from the state on
    its way to that point) or 'other: no clear attractor code'. `reason` may be
    NaN (a missing value in the table).
    """
    if label in LABELS[:2]:
        return label
    if label != "other":
        raise ValueError(f"unknown mechanism label {label!r}; accepted: {', '.join(LABELS)}")
    text = reason if isinstance(reason, str) else ""
    stable = re.search(r"; (\d+) stable fixed points", text)
    if text.startswith("free run") and stable and int(stable.group(1)) <= 1 and "limit cycle" not in text:
        return "other: transient code"
    for start, name in OTHER_REASONS:
        if text.startswith(start):
            return name
    return "other: no clear attractor code"


def categories(df: pd.DataFrame) -> pd.Series:
    """`mechanism_category` of every row of a sweep table (same index as `df`)."""
    reasons = df["reason"] if "reason" in df else [None] * len(df)
    return pd.Series([mechanism_category(lab, r) for lab, r in zip(df["label"], reasons)], index=df.index)
