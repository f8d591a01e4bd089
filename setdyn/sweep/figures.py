"""The sweep's figures (plotly), as chapter 7 shows them.

`figure_fractions` and `figure_labels` draw a sweep table per (alpha, noise)
cell, `figure_landscape` every network at once, and `figure_gallery` the
phase portraits of `setdyn.sweep.ship.portraits`.
"""
from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..paper import COLOR_HEX, DT_MS
from .grid import PAPER_CELL
from .stats import summary
from .table import LABELS, OTHER_REASONS, categories

#: Colour of each label and of each reason for "other".
LABEL_COLORS: dict[str, str] = {
    "phase-oscillator": COLOR_HEX["purple"], "fixed-point": COLOR_HEX["green"], "other": "#999999",
    "other: did not learn": "#d9d9d9", "other: fixed point + another attractor": "#a1d99b",
    "other: cycle not explained by Z3": "#bcbddc", "other: transient code": "#fdae6b",
    "other: no clear attractor code": "#737373"}
#: Bar colour per recurrent noise std.
NOISE_COLORS: dict[float, str] = {0.0: "#9ecae1", 0.05: "#4292c6", 0.1: "#08519c"}
#: Where `figure_landscape` draws a network without a free-running cycle (ms, on its log axis).
NO_CYCLE_MS = 50.0
#: Lowest accuracy in the zoomed panel of `figure_landscape`.
ZOOM_ACCURACY = 0.95


def _alpha_label(alpha: float) -> str:
    """Category label of an alpha on the x axis: α and the time constant τ = dt / α (ms), on two lines."""
    return f"α = {alpha:g}<br>(τ = {DT_MS / alpha:g} ms)"


def figure_fractions(df: pd.DataFrame, label: str = "phase-oscillator", learned_only: bool = False) -> go.Figure:
    """Fraction of `label` networks per (alpha, noise) cell with 95% Wilson error bars: one group of
    bars per alpha, one bar per noise; hover shows k / n; the paper's cell is marked. With
    `learned_only`, among the networks that learned the task."""
    s = summary(df, label)
    suffix = "_learned" if learned_only else ""
    nk, kk = ("n_learned", "k_learned") if learned_only else ("n", "k")
    fig = go.Figure()
    for noise, g in s.groupby("noise_std", sort=True):
        frac = g[f"fraction{suffix}"]
        fig.add_bar(
            x=[_alpha_label(a) for a in g["alpha"]], y=frac,
            name=f"noise std {noise:g}", marker_color=NOISE_COLORS.get(round(float(noise), 3)),
            error_y=dict(type="data", symmetric=False, array=g[f"ci_high{suffix}"] - frac,
                         arrayminus=frac - g[f"ci_low{suffix}"]),
            customdata=np.stack([g[kk], g[nk], g[f"ci_low{suffix}"], g[f"ci_high{suffix}"]], 1),
            hovertemplate="%{x}, noise " + f"{noise:g}" + "<br>%{customdata[0]} of %{customdata[1]} networks"
                          "<br>fraction %{y:.2f} (95% CI %{customdata[2]:.2f}-%{customdata[3]:.2f})<extra></extra>")
    who = "networks that learned the task" if learned_only else "all trained networks"
    fig.update_layout(barmode="group", yaxis=dict(title=f"fraction {label}", range=[0, 1.1]),
                      title=dict(text=f"How often is the solution a {label}?<br>"
                                      f"<sup>{who}; error bars: 95% Wilson interval</sup>"),
                      legend=dict(title="recurrent noise", orientation="h", y=-0.12, yanchor="top"),
                      margin=dict(t=80, b=40), template="plotly_white", height=460)
    a0, n0 = PAPER_CELL
    paper = s[(s["alpha"] == a0) & (s["noise_std"] == n0)]
    if len(paper):
        fig.add_annotation(x=_alpha_label(a0), y=1.02, text="paper's setting",
                           showarrow=False, yanchor="bottom")
    return fig


def figure_labels(df: pd.DataFrame, detail: bool = False) -> go.Figure:
    """Stacked bars: count of each label per (alpha, noise) cell; with `detail`, "other" is split by
    its reason (`setdyn.sweep.table.mechanism_category`)."""
    s = summary(df)
    cells = list(zip(s["alpha"], s["noise_std"]))
    x = [f"a={a:g}, noise={n:g}" for a, n in cells]
    cats = list(LABELS) if not detail else list(LABELS[:2]) + [name for _, name in OTHER_REASONS]
    col = df["label"] if not detail else categories(df)
    fig = go.Figure()
    for cat in cats:
        counts = [int(((df["alpha"] == a) & (df["noise_std"] == n) & (col == cat)).sum()) for a, n in cells]
        if detail and not any(counts):
            continue
        fig.add_bar(x=x, y=counts, name=cat, marker_color=LABEL_COLORS[cat],
                    hovertemplate="%{x}: %{y} networks<extra>" + cat + "</extra>")
    fig.update_layout(barmode="stack", yaxis_title="networks", template="plotly_white", height=400,
                      title="Mechanism labels per (alpha, noise) cell", legend_title="label")
    return fig


def gallery_titles(gallery: pd.DataFrame, df: pd.DataFrame) -> dict[str, str]:
    """A panel title per network of a gallery: seed, setting and category from the sweep table `df`
    ('the book's network' for the id "book")."""
    rows = df.set_index("id")
    cats = categories(df).set_axis(df["id"])

    def title(nid: str, label: str) -> str:
        if nid == "book":
            return f"the book's network<br>{label}"
        r = rows.loc[nid]
        # wrapped, so that neighbouring panels' titles do not run into each other
        return f"seed {r.seed}, α {r.alpha:g}, noise {r.noise_std:g}<br>" + "<br>".join(textwrap.wrap(cats[nid], 24))

    return {nid: title(nid, lab) for nid, lab in gallery.groupby("id", sort=False)["label"].first().items()}


def figure_gallery(data: pd.DataFrame, titles: dict[str, str] | None = None, cols: int = 3,
                   vertical_spacing: float = 0.12) -> go.Figure:
    """A grid of phase portraits from `setdyn.sweep.ship.portraits` data (one panel per network id):
    the free run from x0 (grey line), trial end points (green valid, red invalid), slow points when the data
    has them (small blue dots) and fixed points (black filled = stable, open = saddle / unstable), in each
    network's own PC1-PC2 plane."""
    ids = list(dict.fromkeys(data["id"]))
    titles = titles or {}
    cols = min(cols, max(1, len(ids)))
    nrows = math.ceil(len(ids) / cols)
    names = [titles.get(i, f"{i} ({data.loc[data.id == i, 'label'].iloc[0]})") for i in ids]
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=names, horizontal_spacing=0.08,
                        vertical_spacing=vertical_spacing)
    shown: set[str] = set()

    def legend(name: str) -> bool:
        first = name not in shown
        shown.add(name)
        return first

    for n, nid in enumerate(ids):
        g = data[data.id == nid]
        r, c = n // cols + 1, n % cols + 1
        fr = g[g.kind == "free"]
        fig.add_scatter(x=fr.pc1, y=fr.pc2, mode="lines", line=dict(color="#888", width=1), name="free run from x0",
                        legendgroup="free", showlegend=legend("free"), row=r, col=c,
                        hovertemplate="free run, step %{text}<extra></extra>", text=fr.step)
        for valid, color, name in ((True, "#1a9850", "end point, valid"), (False, "#d73027", "end point, invalid")):
            e = g[(g.kind == "end") & (g.valid == valid)]
            fig.add_scatter(x=e.pc1, y=e.pc2, mode="markers", marker=dict(color=color, size=5, opacity=0.7),
                            name=name, legendgroup=name, showlegend=legend(name), row=r, col=c,
                            hoverinfo="skip")
        sl = g[g.kind == "slow"]
        if len(sl):
            fig.add_scatter(x=sl.pc1, y=sl.pc2, mode="markers", marker=dict(color="#3b4cc0", size=4, opacity=0.6),
                            name="slow point", legendgroup="slow", showlegend=legend("slow"), row=r, col=c,
                            hovertemplate="slow point<extra></extra>")
        fp = g[g.kind == "fixed"]
        for stable, sym, name in ((True, "circle", "stable fixed point"), (False, "circle-open", "unstable fixed point")):
            q = fp[(fp.fp_kind == "stable") == stable]
            if len(q):
                fig.add_scatter(x=q.pc1, y=q.pc2, mode="markers", marker=dict(color="black", size=9, symbol=sym,
                                                                             line=dict(width=2)),
                                name=name, legendgroup=name, showlegend=legend(name), row=r, col=c,
                                text=q.fp_kind, hovertemplate="%{text} fixed point<extra></extra>")
    fig.update_xaxes(showticklabels=False, title_text="PC1")
    fig.update_yaxes(showticklabels=False, title_text="PC2")
    fig.update_layout(template="plotly_white", height=330 * nrows + 60, margin=dict(t=120),
                      title="Phase portraits (each network's PC1-PC2 of its trial rates)")
    return fig


def figure_landscape(df: pd.DataFrame, paper: dict[str, Any] | None = None) -> go.Figure:
    """Every network: noise-free fresh-onset accuracy against free-running period (ms, log axis),
    coloured by label; networks without a cycle sit on the "no cycle" row at the bottom. Left: all
    networks; right: the same, zoomed on accuracies from `ZOOM_ACCURACY` up, where the phase
    oscillators are. `paper` (a row dict, e.g. `setdyn.sweep.table.load_book_row()`) is drawn as an
    open star under the other points, so none is hidden."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.1,
                        subplot_titles=("all networks", f"zoom: accuracy ≥ {ZOOM_ACCURACY:g}"))

    def period(p: Any) -> np.ndarray:
        p = pd.to_numeric(pd.Series(p, dtype=float), errors="coerce").to_numpy()
        return np.where(np.isfinite(p) & (p > 0), p, NO_CYCLE_MS)

    for col in (1, 2):
        if paper is not None:
            fig.add_scatter(x=[paper.get("fresh_acc_clean")], y=period([paper.get("period_ms")]), mode="markers",
                            name="the book's network", legendgroup="book", showlegend=col == 1,
                            marker=dict(symbol="star-open", size=22, color="#b8860b", line=dict(width=2.5)),
                            hovertemplate="the book's network<br>fresh accuracy %{x:.3f}<extra></extra>",
                            row=1, col=col)
        for lab in LABELS:
            g = df[df.label == lab]
            if not len(g):
                continue
            fig.add_scatter(x=g["fresh_acc_clean"], y=period(g["period_ms"]), mode="markers", name=lab,
                            legendgroup=lab, showlegend=col == 1,
                            marker=dict(color=LABEL_COLORS[lab], size=8, opacity=0.75),
                            text=[f"seed {s}, alpha {a:g}, noise {n:g}<br>{r}" for s, a, n, r in
                                  zip(g.seed, g.alpha, g.noise_std, g.get("reason", [""] * len(g)))],
                            customdata=g["period_ms"].fillna(0),
                            hovertemplate="%{text}<br>fresh accuracy %{x:.3f}, period %{customdata:.0f} ms"
                                          "<extra></extra>", row=1, col=col)
    ticks = [NO_CYCLE_MS, 100, 200, 500, 1000, 2000, 5000]
    fig.update_yaxes(type="log", range=[np.log10(NO_CYCLE_MS) - 0.08, np.log10(6000)], tickvals=ticks,
                     ticktext=["no cycle"] + [f"{t:g}" for t in ticks[1:]])
    fig.update_yaxes(title="free-running period (ms)", row=1, col=1)
    fig.update_xaxes(title="noise-free accuracy, fresh onsets", range=[-0.03, 1.05], row=1, col=1)
    fig.update_xaxes(title="noise-free accuracy, fresh onsets", range=[ZOOM_ACCURACY - 0.002, 1.002], row=1, col=2)
    fig.update_layout(template="plotly_white", height=480, margin=dict(t=80, b=40),
                      legend=dict(orientation="h", y=-0.2, yanchor="top"),
                      title="Every trained network: accuracy, rhythm and mechanism")
    return fig
