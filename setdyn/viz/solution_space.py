"""Figures of the space of solutions (chapter 7): mechanisms per setting, the phase-code fraction per
setting with its 95% interval, and one typical network per mechanism (`setdyn.solution_space`)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.taxonomy import LABELS
from ..sweep.grid import PRESETS
from .figures.common import FONT, TEMPLATE
from .solution_map import label_colours

#: The settings every figure lays out: the follow-up grid's, so that a setting not trained yet shows as empty.
GRID = PRESETS["followup"]
ACTIVATION_COLOURS = {"tanh": "#0072B2", "relu": "#CC79A7"}


def cell_name(alpha: float, noise: float) -> str:
    """An axis category for a setting: 'α 1 · σ 0.1' (σ: the training noise std)."""
    return f"α {alpha:g} · σ {noise:g}"


def _settings() -> list[tuple[float, float]]:
    """The grid's settings, top to bottom: falling alpha, rising noise."""
    return [(a, s) for a in sorted(GRID.alphas, reverse=True) for s in sorted(GRID.noises)]


def _setting_axis(fig: go.Figure, **where: Any) -> None:
    names = [cell_name(a, s) for a, s in _settings()]
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1], tickfont=dict(size=11), **where)


def figure_cell_labels(cells: pd.DataFrame) -> go.Figure:
    """Stacked horizontal bars (a phone reads them without turning): per setting, the share (%) of its
    networks with each label, and its number of networks beside the bar; one panel per activation; a setting
    with no trained network yet gets a cross. `cells`: `setdyn.solution_space.cells`."""
    acts = list(GRID.activations)
    colours = label_colours(list(LABELS))
    trained = set(cells["activation"]) if len(cells) else set()
    fig = make_subplots(rows=len(acts), cols=1, shared_xaxes=True, vertical_spacing=0.09,
                        subplot_titles=[f"{a} networks" + ("" if a in trained else " (none trained yet: ×)")
                                        for a in acts])
    ys = [cell_name(a, s) for a, s in _settings()]
    shown = set()
    for r, act in enumerate(acts, start=1):
        c = cells[cells["activation"] == act] if len(cells) else cells
        lookup = {(row["alpha"], row["noise_std"]): row for _, row in c.iterrows()}
        for lab in LABELS:
            counts = [int(lookup[k][lab]) if k in lookup else 0 for k in _settings()]
            if not any(counts):
                continue
            n = [int(lookup[k]["n"]) if k in lookup else 1 for k in _settings()]
            fig.add_bar(y=ys, x=[100 * a / b for a, b in zip(counts, n)], orientation="h", name=lab,
                        marker_color=colours[lab], legendgroup=lab, showlegend=lab not in shown, row=r, col=1,
                        customdata=list(zip(counts, n)),
                        hovertemplate="%{y}: %{customdata[0]} of %{customdata[1]} " + lab + "<extra></extra>")
            shown.add(lab)
        done = [(y, k) for y, k in zip(ys, _settings()) if k in lookup]
        if done:
            fig.add_scatter(y=[y for y, _ in done], x=[100] * len(done), mode="text", showlegend=False,
                            text=[f"n={int(lookup[k]['n'])}" for _, k in done], textposition="middle right",
                            textfont=dict(size=10, color="#444"), hoverinfo="skip", row=r, col=1)
        empty = [y for y, k in zip(ys, _settings()) if k not in lookup]
        if empty:  # a setting not trained yet: a grey cross, not a silent gap
            fig.add_scatter(y=empty, x=[50] * len(empty), mode="markers", showlegend=False, row=r, col=1,
                            marker=dict(symbol="x-thin", size=9, line=dict(width=2, color="#999")),
                            hovertemplate="%{y}: no network trained yet<extra></extra>")
        _setting_axis(fig, row=r, col=1)
    fig.update_xaxes(range=[0, 118], tickvals=[0, 25, 50, 75, 100])
    fig.update_xaxes(title_text="% of the setting's networks", row=len(acts), col=1)
    fig.update_layout(barmode="stack", template=TEMPLATE, font=FONT, height=250 * len(acts) + 170,
                      margin=dict(t=40, b=20, l=10, r=10), bargap=0.25,
                      legend=dict(orientation="h", y=-0.1, yanchor="top"))
    return fig


def figure_cell_phase(cells: pd.DataFrame) -> go.Figure:
    """The share of phase codes per setting with its 95% Wilson interval, one colour per activation, side by
    side within a setting's row (horizontal, like `figure_cell_labels`); the paper's setting is shaded. `cells`:
    `setdyn.solution_space.cells`."""
    fig = go.Figure()
    names = [cell_name(a, s) for a, s in _settings()]
    for act in GRID.activations[::-1]:  # the group's first trace sits lowest in a row: tanh on top
        c = cells[cells["activation"] == act] if len(cells) else cells
        if not len(c):
            continue
        fig.add_scatter(
            y=[cell_name(a, s) for a, s in zip(c["alpha"], c["noise_std"])], x=100 * c["phase_frac"],
            mode="markers", name=act, marker=dict(color=ACTIVATION_COLOURS.get(act, "#555"), size=9),
            orientation="h", offsetgroup=act,  # side by side within a setting's row (layout.scattermode)
            error_x=dict(type="data", symmetric=False, array=100 * (c["hi"] - c["phase_frac"]),
                         arrayminus=100 * (c["phase_frac"] - c["lo"]), thickness=1.5, width=4),
            customdata=c[["phase-code", "n"]].to_numpy(),
            hovertemplate=act + ", %{y}: %{customdata[0]} of %{customdata[1]} networks (%{x:.0f}%)<extra></extra>")
    fig.add_scatter(y=names, x=[None] * len(names), mode="markers", showlegend=False, hoverinfo="skip")
    paper = cells[cells["paper"]] if len(cells) else cells
    if len(paper):
        y = cell_name(paper["alpha"].iloc[0], paper["noise_std"].iloc[0])
        fig.add_hrect(y0=names[::-1].index(y) - 0.45, y1=names[::-1].index(y) + 0.45, fillcolor="#f2e6c9",
                      opacity=0.6, line_width=0, layer="below")
        fig.add_annotation(y=y, x=100, text="paper's setting", showarrow=False, xanchor="right", yshift=11,
                           font=dict(size=10, color="#6b5a2e"))
    _setting_axis(fig)
    fig.update_xaxes(title_text="phase codes (% of networks)", range=[-3, 103])
    fig.update_layout(template=TEMPLATE, font=FONT, height=420, margin=dict(t=20, b=20, l=10, r=10),
                      scattermode="group", scattergap=0.5,
                      legend=dict(orientation="h", y=-0.18, yanchor="top", traceorder="reversed"))
    return fig


def example_titles(df: pd.DataFrame, picks: dict[str, int]) -> dict[str, str]:
    """A panel title per example (keyed by the map id): the label and the network's setting (σ: training noise;
    the activation when it is not tanh)."""
    out = {}
    for lab, i in picks.items():
        row = df.loc[i]
        act = "" if row["activation"] == "tanh" else f" · {row['activation']}"
        who = "the book's network" if row["source"] == "book" else \
            f"seed {int(row['seed'])} · α {row['alpha']:g} · σ {row['noise_std']:g}{act}"
        out[row["id"]] = f"<b>{lab}</b><br>{who}"
    return out


def figure_examples(data: dict[str, Any]) -> go.Figure:
    """One typical network of each mechanism (the map's ``examples``, written by `setdyn.solution_map.build`):
    phase portraits with trial end points, fixed points and slow points (`setdyn.sweep.figures.figure_gallery`)."""
    from ..solution_space import table
    from ..sweep.figures import figure_gallery

    ex = data["examples"]
    por = pd.DataFrame(ex["portraits"]["data"], columns=ex["portraits"]["columns"])
    df = table(data)
    picks = {lab: int(df.index[df["id"] == i][0]) for lab, i in ex["ids"].items()}
    fig = figure_gallery(por, titles=example_titles(df, picks), cols=3, vertical_spacing=0.2)
    rows = -(-len(picks) // 3)
    fig.update_layout(title=None, margin=dict(t=70), height=340 * rows + 80)
    return fig


__all__ = ["ACTIVATION_COLOURS", "GRID", "cell_name", "example_titles", "figure_examples", "figure_cell_labels",
           "figure_cell_phase"]
