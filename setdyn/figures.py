"""Every figure of the book: functions that turn computed results into plotly figures.

The functions here draw; they do not measure. Simulations and measurements
come from :mod:`setdyn.model` and :mod:`setdyn.analysis`; the chapters pass
their results in.

Conventions shared by all figures:

* colours of the stimuli are the paper's (:data:`setdyn.task.COLOR_HEX`);
  trials that are valid SETs are drawn in :data:`VALID_HEX`, invalid ones in
  :data:`INVALID_HEX`, the input-free network in :data:`NO_INPUT_HEX`;
* time is in ms; a sample of a run at index t (``rates[:, t]``, the state
  after the input of step t) is drawn at ``(t + 1) * 10`` ms
  (:func:`sample_times`);
* phases are in degrees, with the free-running network's phase as 0 (see
  :mod:`setdyn.analysis`); on phase circles 0 degrees is at the right and
  phases grow counterclockwise (the direction the cycle turns).

Every function returns a :class:`plotly.graph_objects.Figure` whose traces
have stable names (tests rely on them).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import task
from .numerics import wrap_deg

#: Valid SETs / invalid triples / no input.
VALID_HEX = "#111111"
INVALID_HEX = "#A6A6A6"
NO_INPUT_HEX = "#8C8C8C"
#: The paper's values are drawn with this dash style wherever they are compared.
PAPER_DASH = "dash"
TEMPLATE = "plotly_white"
FONT = {"size": 13}


def color_hex(c: int | str) -> str:
    """Paper colour of a stimulus colour given by index, name or letter."""
    return task.COLOR_HEX[task.COLORS[task.color_index(c)]]


def sample_times(n_steps: int = task.N_STEPS) -> np.ndarray:
    """Times (ms) of the samples of a run: (t + 1) * dt for t = 0 .. n_steps - 1."""
    return (np.arange(n_steps) + 1) * task.DT_MS


def _layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    margin = kw.pop("margin", {"l": 60, "r": 20, "t": 50, "b": 50})
    fig.update_layout(template=TEMPLATE, height=height, font=FONT, margin=margin,
                      **kw)
    return fig


def _pulse_rects(fig: go.Figure, colors: Sequence[int], onsets: Sequence[int], row: int | None = None,
                 col: int | None = None, neutral: bool = False, opacity: float = 0.3) -> None:
    """Shade each pulse (onset step o covers o*10 .. (o+2)*10 ms) in its colour (or grey)."""
    for c, o in zip(colors, onsets):
        if c is None or int(c) < 0:
            continue
        kw = {"row": row, "col": col} if row is not None else {}
        fig.add_vrect(x0=o * task.DT_MS, x1=(o + task.PULSE_STEPS) * task.DT_MS, line_width=0, layer="below",
                      fillcolor=NO_INPUT_HEX if neutral else color_hex(int(c)), opacity=opacity, **kw)


@dataclass(frozen=True)
class TrialSignal:
    """One trial's signal for a time-series figure.

    label: legend / panel name; colors, onsets: the pulses (colour indices,
    onset steps; empty for no input); y: one value per sample (drawn at
    :func:`sample_times`); valid: True/False for a SET, None for no input.
    """

    label: str
    colors: tuple[int, ...]
    onsets: tuple[int, ...]
    y: np.ndarray

    @property
    def valid(self) -> bool | None:
        return task.is_valid_set(self.colors) if len(self.colors) == 3 else None

    @property
    def line_color(self) -> str:
        """The colour of a single-colour trial (GGG -> green), else black (valid) / grey (no input)."""
        if not self.colors:
            return NO_INPUT_HEX
        if len(set(self.colors)) == 1:
            return color_hex(self.colors[0])
        return VALID_HEX if self.valid else "#555555"


def trial_signal(label: str, sequence: str | Sequence[int] | None, onsets: Sequence[int] | None,
                 y: np.ndarray) -> TrialSignal:
    """A :class:`TrialSignal` from a sequence ('PGP', or None / '' for no input) and onset steps."""
    colors = task.parse_sequence(sequence) if sequence else ()
    if not colors:
        ons: tuple[int, ...] = ()
    else:
        ons = task.check_onsets(task.default_onsets(len(colors)) if onsets is None else onsets)
    return TrialSignal(label, tuple(colors), ons, np.asarray(y, dtype=float).ravel())


# ============================================================== chapter 1: the task


def combinations_grid() -> go.Figure:
    """The 27 ordered colour triples as a 3 x 9 grid, valid SETs framed in black.

    Rows: first colour; columns: second and third colour. Each cell shows the
    three colours as squares and, below them, the sum of the colour indices
    (green 0, purple 1, red 2) mod 3. Traces: ``"valid (9)"`` and
    ``"invalid (18)"`` (the frames), one per stimulus colour (81 squares in
    all) and ``"sum mod 3"`` (27 numbers).
    """
    combos = task.all_combinations()
    cx = np.array([(c[1] * 3 + c[2]) * 1.0 for c in combos])
    cy = np.array([2.0 - c[0] for c in combos]) * 1.25
    valid = np.array([task.is_valid_set(c) for c in combos])
    fig = go.Figure()
    labels = [f"{task.sequence_name(c)}: sum {sum(c)} = {sum(c) % 3} mod 3" for c in combos]
    for ok, name, colr in ((True, "valid", VALID_HEX), (False, "invalid", INVALID_HEX)):
        sel = valid == ok
        fig.add_trace(go.Scatter(
            x=cx[sel], y=cy[sel], mode="markers", name=f"{name} ({int(sel.sum())})",
            marker={"symbol": "square-open", "size": 62, "color": colr, "line": {"width": 3.5 if ok else 1.5}},
            hovertext=[lab for lab, s in zip(labels, sel) if s], hoverinfo="text", meta=name))
    for k, cname in enumerate(task.COLORS):
        xs, ys, hov = [], [], []
        for i, c in enumerate(combos):
            for pos, ci in enumerate(c):
                if ci == k:
                    xs.append(cx[i] + (pos - 1) * 0.24)
                    ys.append(cy[i] + 0.1)
                    hov.append(labels[i])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=cname, hovertext=hov, hoverinfo="text",
                                 marker={"symbol": "square", "size": 13, "color": task.COLOR_HEX[cname]}, meta=cname))
    fig.add_trace(go.Scatter(x=cx, y=cy - 0.2, mode="text", name="sum mod 3", text=[f"{sum(c) % 3}" for c in combos],
                             textfont={"size": 12, "color": "#333"}, hoverinfo="skip", showlegend=False))
    fig.update_xaxes(tickvals=list(range(9)), ticktext=[f"·{task.COLOR_LETTERS[b]}{task.COLOR_LETTERS[c]}"
                                                        for b in range(3) for c in range(3)],
                     range=[-0.6, 8.6], showgrid=False, zeroline=False, title="second and third colour")
    fig.update_yaxes(tickvals=[2.5, 1.25, 0.0], ticktext=[f"{L}··" for L in task.COLOR_LETTERS], range=[-0.6, 3.1],
                     showgrid=False, zeroline=False, title="first colour")
    return _layout(fig, 380, title="The 27 ordered colour triples (number: sum of indices mod 3)",
                   legend={"orientation": "h", "y": -0.22})


def trial_figure(colors: Sequence[int] | str, onsets: Sequence[int] | None = None,
                 encodings: np.ndarray | None = None, n_steps: int = task.N_STEPS) -> go.Figure:
    """One trial (paper Fig. 1): the colour pulses over time, the scoring window and the target.

    With ``encodings`` (3 x D colour vectors) a second panel shows the input
    u(t) itself, D dimensions x 50 steps. Traces: one per pulse named
    ``"<colour> pulse <k>"``, ``"target"``, and ``"input u(t)"`` (a heatmap)
    when encodings are given.
    """
    seq = task.parse_sequence(colors)
    ons = task.check_onsets(task.default_onsets(len(seq)) if onsets is None else onsets, n_steps)
    valid = task.is_valid_set(seq) if len(seq) == 3 else None
    rows = 2 if encodings is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.45, 0.55] if rows == 2 else [1.0])
    end = n_steps * task.DT_MS
    for k, (c, o) in enumerate(zip(seq, ons)):
        x0, x1 = o * task.DT_MS, (o + task.PULSE_STEPS) * task.DT_MS
        fig.add_trace(go.Scatter(x=[x0, x0, x1, x1, x0], y=[0, 1, 1, 0, 0], fill="toself", mode="lines",
                                 name=f"{task.COLORS[c]} pulse {k + 1}", fillcolor=color_hex(c),
                                 line={"color": color_hex(c), "width": 1},
                                 hovertext=f"{task.COLORS[c]}: {x0:.0f}-{x1:.0f} ms", hoverinfo="text",
                                 showlegend=False), row=1, col=1)
        fig.add_annotation(x=(x0 + x1) / 2, y=1.12, text=task.COLOR_LETTERS[c], showarrow=False,
                           font={"color": color_hex(c), "size": 15}, row=1, col=1)
    score0 = (n_steps - task.SCORE_STEPS) * task.DT_MS
    fig.add_vrect(x0=score0, x1=end, fillcolor="#dddddd", opacity=0.5, line_width=0, layer="below", row=1, col=1)
    target = 1.0 if valid else -1.0
    fig.add_trace(go.Scatter(x=[score0, end], y=[0.5 + 0.4 * target] * 2, mode="lines+text", name="target",
                             line={"color": VALID_HEX if valid else INVALID_HEX, "width": 4},
                             text=["", f"target {target:+.0f}"], textposition="top left", showlegend=False),
                  row=1, col=1)
    fig.update_yaxes(range=[-0.1, 1.3], showticklabels=False, showgrid=False, title="colour shown", row=1, col=1)
    if encodings is not None:
        enc = np.asarray(encodings, dtype=float)
        codes = task.stimulus(seq, ons, n_steps)
        u = np.where(codes[None, :] >= 0, enc[np.clip(codes, 0, 2)].T, 0.0)
        fig.add_trace(go.Heatmap(z=u, x=sample_times(n_steps) - task.DT_MS / 2, y=np.arange(u.shape[0]),
                                 colorscale="RdBu", zmid=0, name="input u(t)", showscale=False,
                                 hovertemplate="t %{x:.0f} ms, dim %{y}: %{z:.2f}<extra></extra>"), row=2, col=1)
        fig.update_yaxes(title="input dimension", row=2, col=1)
    fig.update_xaxes(range=[0, end], title="time (ms)", row=rows, col=1)
    word = "a valid SET" if valid else "not a SET"
    return _layout(fig, 260 + 220 * (rows - 1),
                   title=f"{task.sequence_name(seq)}: {word}, onsets {', '.join(f'{o * 10:.0f}' for o in ons)} ms")


def trial_picker_figure(onsets: Sequence[int] | None = None) -> go.Figure:
    """All 27 trials at fixed onsets behind a plotly slider (works without a kernel).

    Three pulse traces (``"pulse 1"`` .. ``"pulse 3"``) and ``"target"``;
    each slider step restyles their colours and the target and sets the
    title to the trial's label.
    """
    ons = task.check_onsets(task.default_onsets() if onsets is None else onsets)
    combos = task.all_combinations()
    fig = go.Figure()
    end = task.N_STEPS * task.DT_MS
    score0 = (task.N_STEPS - task.SCORE_STEPS) * task.DT_MS
    first = combos[0]
    for k, o in enumerate(ons):
        x0, x1 = o * task.DT_MS, (o + task.PULSE_STEPS) * task.DT_MS
        fig.add_trace(go.Scatter(x=[x0, x0, x1, x1, x0], y=[0, 1, 1, 0, 0], fill="toself", mode="lines",
                                 name=f"pulse {k + 1}", fillcolor=color_hex(first[k]),
                                 line={"color": color_hex(first[k])}, showlegend=False, hoverinfo="skip"))
    fig.add_vrect(x0=score0, x1=end, fillcolor="#dddddd", opacity=0.5, line_width=0, layer="below")

    def target_y(c):
        return [0.5 + 0.4 * (1.0 if task.is_valid_set(c) else -1.0)] * 2

    def title(c):
        label = "a valid SET, target +1" if task.is_valid_set(c) else "not a SET, target -1"
        return f"{task.sequence_name(c)}: {label}"

    fig.add_trace(go.Scatter(x=[score0, end], y=target_y(first), mode="lines", name="target",
                             line={"color": VALID_HEX, "width": 4}, showlegend=False))
    steps = []
    for c in combos:
        steps.append({"label": task.sequence_name(c), "method": "update",
                      "args": [{"fillcolor": [color_hex(x) for x in c] + [None],
                                "line.color": [color_hex(x) for x in c]
                                + [VALID_HEX if task.is_valid_set(c) else INVALID_HEX],
                                "y": [[0, 1, 1, 0, 0]] * 3 + [target_y(c)]},
                               {"title.text": title(c)}]})
    fig.update_xaxes(range=[0, end], title="time (ms)")
    fig.update_yaxes(range=[-0.1, 1.1], showticklabels=False, showgrid=False)
    fig.update_layout(sliders=[{"active": 0, "steps": steps, "currentvalue": {"prefix": "trial: "},
                                "pad": {"t": 40}}])
    return _layout(fig, 330, title=title(first), margin={"l": 30, "r": 20, "t": 50, "b": 40})


# ============================================================== chapter 2: training


def training_curves(history: Mapping[str, Sequence[float]], paper_train_acc: float = 0.963) -> go.Figure:
    """Loss and accuracies per epoch of a training run (the ``history`` of a weight file's sidecar).

    Top: ``"train loss (noisy)"`` per epoch and ``"test loss (noise-free)"`` at
    evaluations (log scale). Bottom: ``"train accuracy (noisy)"`` per epoch and
    ``"train accuracy (noise-free)"``, ``"test accuracy (noise-free)"``,
    ``"fresh onsets (noise-free)"`` at evaluations, with the paper's noisy
    train accuracy as a dashed line (``"paper: noisy train"``).
    """
    loss = np.asarray(history["train_loss"], float)
    epochs = np.arange(1, len(loss) + 1)
    ev = np.asarray(history.get("eval_epoch", []), float)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.07, subplot_titles=("loss", "accuracy"))
    fig.add_trace(go.Scatter(x=epochs, y=loss, name="train loss (noisy)", line={"color": "#1f77b4", "width": 1}),
                  row=1, col=1)
    if len(ev):
        fig.add_trace(go.Scatter(x=ev, y=np.asarray(history["test_loss_clean"], float), name="test loss (noise-free)",
                                 line={"color": "#ff7f0e", "width": 1.5}), row=1, col=1)
    fig.add_trace(go.Scatter(x=epochs, y=100 * np.asarray(history["train_acc_noisy"], float),
                             name="train accuracy (noisy)", line={"color": "#1f77b4", "width": 1}, opacity=0.7),
                  row=2, col=1)
    for key, name, colr in (("train_acc_clean", "train accuracy (noise-free)", "#2ca02c"),
                            ("test_acc_clean", "test accuracy (noise-free)", "#ff7f0e"),
                            ("fresh_acc_clean", "fresh onsets (noise-free)", "#9467bd")):
        if len(ev) and key in history:
            fig.add_trace(go.Scatter(x=ev, y=100 * np.asarray(history[key], float), name=name,
                                     line={"color": colr, "width": 1.5}), row=2, col=1)
    fig.add_trace(go.Scatter(x=[epochs[0], epochs[-1]], y=[100 * paper_train_acc] * 2, name="paper: noisy train",
                             mode="lines", line={"color": "black", "dash": PAPER_DASH, "width": 1}), row=2, col=1)
    fig.update_yaxes(type="log", title="MSE", row=1, col=1)
    fig.update_yaxes(title="% correct", range=[0, 101], row=2, col=1)
    fig.update_xaxes(title="epoch (5 minibatches of 108 trials)", row=2, col=1)
    return _layout(fig, 560, legend={"orientation": "h", "y": -0.15})


# ============================================================== chapter 3: the output


def output_figure(panels: Sequence[TrialSignal], ylabel: str = "output z") -> go.Figure:
    """Paper Fig. 3: the output z(t) of several trials, one panel each, pulses shaded in their colours.

    One trace per panel, named by the panel's label; dotted lines mark the
    targets +-1 and the grey band the last 50 ms where the output is scored.
    """
    n = len(panels)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[p.label for p in panels])
    end = task.N_STEPS * task.DT_MS
    for i, p in enumerate(panels, start=1):
        t = sample_times(len(p.y))
        fig.add_trace(go.Scatter(x=t, y=p.y, name=p.label, mode="lines+markers", marker={"size": 4},
                                 line={"color": p.line_color if p.colors else NO_INPUT_HEX, "width": 2},
                                 showlegend=False), row=i, col=1)
        _pulse_rects(fig, p.colors, p.onsets, row=i, col=1)
        fig.add_vrect(x0=end - task.SCORE_STEPS * task.DT_MS, x1=end, fillcolor="#dddddd", opacity=0.5,
                      line_width=0, layer="below", row=i, col=1)
        for yv in (-1, 1):
            fig.add_hline(y=yv, line={"dash": "dot", "color": "#999", "width": 1}, row=i, col=1)
        fig.update_yaxes(range=[-1.6, 1.6], tickvals=[-1, 0, 1], title=ylabel, row=i, col=1)
    fig.update_xaxes(range=[0, end], row=n, col=1, title="time (ms)")
    return _layout(fig, 190 * n + 60)


# ============================================================== chapter 4: the phase portrait


def variance_figure(explained_variance_ratio: Sequence[float], n: int = 10) -> go.Figure:
    """Variance explained by each principal component (bars) and cumulated (line)."""
    r = 100 * np.asarray(explained_variance_ratio, float)[:n]
    pcs = [f"PC{i + 1}" for i in range(len(r))]
    fig = go.Figure([go.Bar(x=pcs, y=r, name="per component", marker_color="#4c72b0",
                            text=[f"{v:.1f}" for v in r], textposition="outside"),
                     go.Scatter(x=pcs, y=np.cumsum(r), name="cumulative", mode="lines+markers",
                                line={"color": "#dd8452"})])
    fig.update_yaxes(title="% of variance", range=[0, 105])
    return _layout(fig, 340, title="Variance of the noise-free rates explained by each principal component",
                   legend={"orientation": "h", "y": -0.2})


def phase_portrait_figure(no_input_pc: np.ndarray, cycle_pc: np.ndarray, end_pc: np.ndarray,
                          valid: np.ndarray, start_pc: np.ndarray | None = None) -> go.Figure:
    """Paper Fig. 4: the PC1-PC2 plane.

    Left: ``"no input, 0-500 ms"`` (the 50 samples of the input-free trial,
    T x 2), ``"limit cycle"`` (the free run after its transient, M x 2) and
    ``"start"`` (tanh(x0), 1 x 2, when given). Right: the end points (B x 2)
    of the trials, ``"end points: valid"`` and ``"end points: invalid"``,
    over the faint limit cycle (``"limit cycle (right panel)"``, same data).
    """
    valid = np.asarray(valid, bool)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("no input: a limit cycle", "end points of the trials"),
                        horizontal_spacing=0.08)
    cyc = go.Scatter(x=cycle_pc[:, 0], y=cycle_pc[:, 1], mode="lines", name="limit cycle",
                     line={"color": "#cccccc", "width": 6}, hoverinfo="skip")
    fig.add_trace(cyc, row=1, col=1)
    t = sample_times(len(no_input_pc))
    fig.add_trace(go.Scatter(x=no_input_pc[:, 0], y=no_input_pc[:, 1], mode="lines+markers", name="no input, 0-500 ms",
                             marker={"size": 6, "color": t, "colorscale": "Viridis", "showscale": True,
                                     "colorbar": {"title": {"text": "ms"}, "x": -0.12, "len": 0.8, "thickness": 12}},
                             line={"color": "#444", "width": 1},
                             hovertemplate="t = %{marker.color:.0f} ms<extra></extra>"), row=1, col=1)
    if start_pc is not None:
        s = np.atleast_2d(start_pc)
        fig.add_trace(go.Scatter(x=s[:, 0], y=s[:, 1], mode="markers+text", name="start", text=["start"],
                                 textposition="top center", marker={"symbol": "x", "size": 11, "color": "black"}),
                      row=1, col=1)
    fig.add_trace(go.Scatter(x=cycle_pc[:, 0], y=cycle_pc[:, 1], mode="lines", name="limit cycle (right panel)",
                             line={"color": "#e6e6e6", "width": 6}, hoverinfo="skip", showlegend=False), row=1, col=2)
    for ok, name, colr, sym in ((True, "end points: valid", VALID_HEX, "circle"),
                                (False, "end points: invalid", INVALID_HEX, "circle-open")):
        sel = valid == ok
        fig.add_trace(go.Scatter(x=end_pc[sel, 0], y=end_pc[sel, 1], mode="markers", name=name,
                                 marker={"color": colr, "size": 6, "symbol": sym, "line": {"width": 1.2}}),
                      row=1, col=2)
    lim = float(np.nanmax(np.abs(np.concatenate([cycle_pc[:, :2], end_pc[:, :2], no_input_pc[:, :2]])))) * 1.1
    for c in (1, 2):
        fig.update_xaxes(title="PC1", range=[-lim, lim], row=1, col=c)
        fig.update_yaxes(title="PC2", range=[-lim, lim], scaleanchor=f"x{'' if c == 1 else c}", scaleratio=1,
                         row=1, col=c)
    return _layout(fig, 470, legend={"orientation": "h", "y": -0.18})


def phase_portrait_3d(no_input_pc: np.ndarray, cycle_pc: np.ndarray, end_pc: np.ndarray,
                      valid: np.ndarray) -> go.Figure:
    """The same in PC1-PC2-PC3 (3-D, WebGL): ``"limit cycle"``, ``"no input, 0-500 ms"``,
    ``"end points: valid"``, ``"end points: invalid"`` (all ... x 3)."""
    valid = np.asarray(valid, bool)
    fig = go.Figure()
    fig.add_trace(go.Scatter3d(x=cycle_pc[:, 0], y=cycle_pc[:, 1], z=cycle_pc[:, 2], mode="lines", name="limit cycle",
                               line={"color": "#bbbbbb", "width": 8}, hoverinfo="skip"))
    fig.add_trace(go.Scatter3d(x=no_input_pc[:, 0], y=no_input_pc[:, 1], z=no_input_pc[:, 2], mode="lines+markers",
                               name="no input, 0-500 ms", line={"color": "#444", "width": 3},
                               marker={"size": 3, "color": sample_times(len(no_input_pc)), "colorscale": "Viridis"}))
    for ok, name, colr in ((True, "end points: valid", VALID_HEX), (False, "end points: invalid", INVALID_HEX)):
        sel = valid == ok
        fig.add_trace(go.Scatter3d(x=end_pc[sel, 0], y=end_pc[sel, 1], z=end_pc[sel, 2], mode="markers", name=name,
                                   marker={"size": 3, "color": colr}))
    fig.update_layout(scene={"xaxis_title": "PC1", "yaxis_title": "PC2", "zaxis_title": "PC3 (stretched)",
                             "aspectmode": "manual", "aspectratio": {"x": 1, "y": 1, "z": 0.5}},
                      scene_camera={"eye": {"x": 1.35, "y": -1.35, "z": 0.85}})
    return _layout(fig, 540, margin={"l": 0, "r": 0, "t": 40, "b": 0}, legend={"orientation": "h", "y": 1.05})


def rotation_figure(end_pc: np.ndarray, valid: np.ndarray, angles_deg: np.ndarray, margins: np.ndarray,
                    best_angle_deg: float, paper_angle_deg: float = 60.0, slider_step_deg: float = 5.0,
                    margin_at: Any = None) -> go.Figure:
    """The rotation to rPC1, with a plotly slider over the rotation angle.

    end_pc: end points (B x 2, PC1-PC2); angles_deg, margins: the separability
    scan (:func:`setdyn.analysis.best_rotation`: margin = min over invalid
    minus max over valid of rPC1, > 0 when a threshold separates them).
    ``margin_at(angles)`` (optional) gives margins at the slider's angles;
    by default they are read off the scan at the nearest angle.

    Traces: top left ``"end points: valid"``, ``"end points: invalid"``,
    ``"rPC1 axis"``; top right ``"rPC1: valid"``, ``"rPC1: invalid"``
    (the end points projected on rPC1); bottom ``"separability margin"``
    against the angle, ``"this angle"``, ``"best angle"``,
    ``"paper's angle"``. The slider restyles the axis, the projections and
    the marker.
    """
    e = np.asarray(end_pc, float)[:, :2]
    v = np.asarray(valid, bool)
    angles_deg = np.asarray(angles_deg, float)
    margins = np.asarray(margins, float)
    steps_deg = np.unique(np.round(np.concatenate([np.arange(0.0, 360.0, slider_step_deg),
                                                   [best_angle_deg % 360.0, paper_angle_deg % 360.0]]), 1))
    if margin_at is None:
        def margin_at(a):
            d = np.abs(wrap_deg(angles_deg[None, :] - np.asarray(a)[:, None]))
            return margins[np.argmin(d, 1)]
    step_margins = np.asarray(margin_at(steps_deg), float)
    lim = float(np.abs(e).max()) * 1.15
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.3, 0.3, len(e))

    def proj(a):
        r = np.deg2rad(a)
        return np.cos(r) * e[:, 0] + np.sin(r) * e[:, 1]

    def axis(a):
        r = np.deg2rad(a)
        cx, cy = round(lim * np.cos(r), 3), round(lim * np.sin(r), 3)
        return [-cx, cx], [-cy, cy]

    fig = make_subplots(rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]], row_heights=[0.6, 0.4],
                        column_widths=[0.45, 0.55], vertical_spacing=0.15, horizontal_spacing=0.1,
                        subplot_titles=("end points (black: sets), rPC1 axis (red)", "end points on rPC1",
                                        "margin between sets and non-sets on rPC1 (red dot: this angle)"))
    a0 = float(best_angle_deg)
    for ok, name, colr, sym in ((True, "valid", VALID_HEX, "circle"), (False, "invalid", INVALID_HEX, "circle-open")):
        fig.add_trace(go.Scatter(x=e[v == ok, 0], y=e[v == ok, 1], mode="markers", name=f"end points: {name}",
                                 marker={"color": colr, "size": 5, "symbol": sym}, legendgroup=name), row=1, col=1)
    ax, ay = axis(a0)
    fig.add_trace(go.Scatter(x=ax, y=ay, mode="lines+markers", name="rPC1 axis",
                             line={"color": "#d62728", "width": 3},
                             marker={"symbol": "arrow", "angleref": "previous", "size": [0, 14], "color": "#d62728"}),
                  row=1, col=1)
    p0 = proj(a0)
    for ok, name, colr, sym in ((True, "valid", VALID_HEX, "circle"), (False, "invalid", INVALID_HEX, "circle-open")):
        fig.add_trace(go.Scatter(x=p0[v == ok], y=(0.5 if ok else -0.5) + jitter[v == ok], mode="markers",
                                 name=f"rPC1: {name}", marker={"color": colr, "size": 5, "symbol": sym},
                                 legendgroup=name, showlegend=False), row=1, col=2)
    fig.add_trace(go.Scatter(x=angles_deg, y=margins, mode="lines", name="separability margin",
                             line={"color": "#4c72b0"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=[a0], y=[float(margin_at(np.array([a0]))[0])], mode="markers", name="this angle",
                             marker={"color": "#d62728", "size": 12}), row=2, col=1)
    fig.add_vline(x=best_angle_deg % 360.0, line={"color": "#4c72b0", "dash": "dot"}, row=2, col=1)
    fig.add_vline(x=paper_angle_deg % 360.0, line={"color": "black", "dash": PAPER_DASH}, row=2, col=1)
    fig.add_trace(go.Scatter(x=[best_angle_deg % 360.0], y=[float(np.max(margins))], mode="markers+text",
                             name="best angle", text=[f"best {best_angle_deg:.0f}°"], textposition="top center",
                             marker={"color": "#4c72b0", "size": 8, "symbol": "diamond"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=[paper_angle_deg % 360.0], y=[float(np.min(margins))], mode="markers+text",
                             name="paper's angle", text=[f"paper {paper_angle_deg:.0f}°"], textposition="bottom right",
                             marker={"color": "black", "size": 8, "symbol": "square"}), row=2, col=1)
    fig.add_hline(y=0, line={"color": "#999", "width": 1}, row=2, col=1)
    # trace indices: 0, 1 end points; 2 axis; 3, 4 projections; 5 margin curve; 6 marker
    steps = []
    for a, m in zip(steps_deg, step_margins):
        p = proj(a)
        x_ax, y_ax = axis(a)
        sep = "separable" if m > 0 else "overlapping"
        steps.append({"label": f"{a:g}", "method": "update",
                      "args": [{"x": [x_ax, np.round(p[v], 3).tolist(), np.round(p[~v], 3).tolist(), [float(a)]],
                                "y": [y_ax, np.round(0.5 + jitter[v], 3).tolist(),
                                      np.round(-0.5 + jitter[~v], 3).tolist(),
                                      [float(m)]]},
                               {"title.text": f"rotation {a:g}°: margin {m:+.2f} ({sep})"},
                               [2, 3, 4, 6]]})
    active = int(np.argmin(np.abs(steps_deg - round(a0 % 360.0, 1))))
    m0 = float(step_margins[active])
    fig.update_layout(sliders=[{"active": active, "steps": steps, "currentvalue": {"prefix": "rotation angle (deg): "},
                                "pad": {"t": 50}}],
                      title=f"rotation {steps_deg[active]:g}°: margin {m0:+.2f} "
                            f"({'separable' if m0 > 0 else 'overlapping'})")
    fig.update_xaxes(title="PC1", range=[-lim, lim], row=1, col=1)
    fig.update_yaxes(title="PC2", range=[-lim, lim], scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_xaxes(title="rPC1", range=[-lim, lim], row=1, col=2)
    fig.update_yaxes(tickvals=[0.5, -0.5], ticktext=["valid", "invalid"], range=[-1, 1], row=1, col=2)
    fig.update_xaxes(title="rotation angle (deg)", range=[0, 360], dtick=30, row=2, col=1)
    fig.update_yaxes(title="margin (PC units)", row=2, col=1)
    lo, hi = float(np.min(margins)), float(np.max(margins))
    pad = 0.15 * (hi - lo if hi > lo else 1.0)
    fig.update_yaxes(range=[lo - pad, hi + pad], row=2, col=1)
    # no legend: the panels' titles and the text labels say what is what (a legend crowds a narrow page)
    return _layout(fig, 800, showlegend=False, margin={"l": 60, "r": 20, "t": 80, "b": 50})


def rpc1_figure(signals: Sequence[TrialSignal], title: str = "rPC1 over time", ylabel: str = "rPC1",
                neutral_pulses: bool | None = None) -> go.Figure:
    """Paper Fig. 5 (and 7): rPC1 (or any signal) over time, one trace per trial, named by its label.

    Pulses are shaded: in their colour when only one trial has pulses or all
    trials share their colours, in grey (``neutral_pulses``) otherwise.
    """
    fig = go.Figure()
    used: dict[str, int] = {}
    dashes = ("solid", "dash", "dashdot", "longdash", "longdashdot")
    for s in signals:
        if not s.colors:
            dash = "dot"
        else:  # trials drawn in the same colour get different dash styles
            dash = dashes[used.get(s.line_color, 0) % len(dashes)]
            used[s.line_color] = used.get(s.line_color, 0) + 1
        fig.add_trace(go.Scatter(x=sample_times(len(s.y)), y=s.y, mode="lines", name=s.label,
                                 line={"color": s.line_color, "width": 2.5, "dash": dash}))
    with_pulses = [s for s in signals if s.colors]
    if with_pulses:
        same = len({(s.colors, s.onsets) for s in with_pulses}) == 1
        neutral = (not same) if neutral_pulses is None else neutral_pulses
        shown = set()
        for s in with_pulses:
            for c, o in zip(s.colors, s.onsets):
                key = (o, c if not neutral else -9)
                if key not in shown:
                    shown.add(key)
                    _pulse_rects(fig, [c], [o], neutral=neutral, opacity=0.18 if neutral else 0.3)
    fig.update_xaxes(range=[0, task.N_STEPS * task.DT_MS], title="time (ms)")
    fig.update_yaxes(title=ylabel)
    return _layout(fig, 380, title=title, legend={"orientation": "h", "y": -0.2})


# ============================================================== chapter 5: the automaton


_HEX_ANGLES = {0: 90.0, 1: 210.0, 2: 330.0}  # direction of the move of green, purple, red (degrees)


def hexagon_hypothesis_figure() -> go.Figure:
    """Paper Fig. 2, the first hypothesis: attractor states on a hexagonal lattice, one automaton state each.

    Every colour moves the state to the neighbouring attractor in its own
    direction (green up, purple lower left, red lower right; the three moves
    cancel). After three colours the network sits on one of 10 attractors:
    the start (all different) and the three far corners (all the same) are
    valid. Traces: ``"attractor"`` (all lattice states reached),
    ``"start"``, one edge trace per colour (``"green move"`` ...),
    ``"end: valid"`` (4) and ``"end: invalid"`` (6).
    """
    e = {c: np.array([np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))]) for c, a in _HEX_ANGLES.items()}

    def pos(counts):
        return sum(n * e[c] for c, n in enumerate(counts))

    def key(p):
        return (round(float(p[0]), 6), round(float(p[1]), 6))

    nodes: dict = {}
    edges: dict = {c: set() for c in range(3)}
    ends = {}
    for word_len in range(4):
        for word in itertools.product(range(3), repeat=word_len):
            counts = [word.count(c) for c in range(3)]
            p = pos(counts)
            nodes[key(p)] = p
            if word_len > 0:
                prev = pos([word[:-1].count(c) for c in range(3)])
                edges[word[-1]].add((key(prev), key(p)))
            if word_len == 3:
                ends.setdefault(key(p), task.is_valid_set(word))
    fig = go.Figure()
    for c in range(3):
        xs, ys, sizes = [], [], []
        for a, b in sorted(edges[c]):
            pa, pb = np.array(a), np.array(b)
            pa2, pb2 = pa + 0.12 * (pb - pa), pb - 0.16 * (pb - pa)
            xs += [pa2[0], pb2[0], None]
            ys += [pa2[1], pb2[1], None]
            sizes += [0, 11, 0]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"{task.COLORS[c]} move",
                                 line={"color": color_hex(c), "width": 2.5},
                                 marker={"symbol": "arrow", "angleref": "previous", "size": sizes,
                                         "color": color_hex(c)},
                                 hoverinfo="skip"))
    allp = np.array(list(nodes.values()))
    fig.add_trace(go.Scatter(x=allp[:, 0], y=allp[:, 1], mode="markers", name="attractor",
                             marker={"size": 16, "color": "white", "line": {"color": "#555", "width": 1.5}}))
    for ok, name, colr in ((True, "end: valid", VALID_HEX), (False, "end: invalid", INVALID_HEX)):
        pts = np.array([nodes[k] for k, v in ends.items() if v == ok])
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name=f"{name} ({len(pts)})",
                                 marker={"size": 16, "color": colr, "line": {"color": "#555", "width": 1.5}}))
    fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers+text", name="start", text=["start"],
                             textposition="middle right", marker={"size": 22, "symbol": "circle-open",
                                                                   "color": "#d62728", "line": {"width": 3}}))
    fig.update_xaxes(visible=False, range=[-3.0, 3.0])
    fig.update_yaxes(visible=False, range=[-2.0, 3.3], scaleanchor="x", scaleratio=1)
    return _layout(fig, 520, title="First hypothesis: one attractor per automaton state, on a hexagonal lattice",
                   legend={"orientation": "h", "y": -0.05})


def _arc(a0: float, a1: float, r: float, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Points of the arc at radius r from angle a0 to a1 (degrees, the short way)."""
    d = wrap_deg(a1 - a0)
    th = np.deg2rad(a0 + d * np.linspace(0.08, 0.92, n))
    return r * np.cos(th), r * np.sin(th)


def automaton_figure(transitions: np.ndarray, state_deg: Sequence[float], kick_mean_deg: Sequence[float],
                     kick_std_deg: Sequence[float] | None = None, start: int = 0, accepting: Sequence[int] = (0,),
                     title: str = "The automaton in the phase of the oscillation") -> go.Figure:
    """Paper Fig. 6: the states of an automaton placed on the phase circle, transitions as arrows.

    transitions (n x 3): state after green, purple, red; state_deg: each
    state's phase (deg); kick_mean_deg (3,), kick_std_deg: the measured kick
    of each colour, printed on its arrows. Traces: ``"phase circle"``,
    one per colour (``"green"``, ``"purple"``, ``"red"``) holding that
    colour's transitions, ``"accepting (set)"`` (rings around the accepting
    states), ``"states"`` (markers at state_deg) and ``"kicks"`` (the
    labels); an arrow marks the start state.
    """
    trans = np.asarray(transitions, dtype=int)
    ang = np.asarray(state_deg, float)
    th = np.linspace(0, 2 * np.pi, 200)
    fig = go.Figure(go.Scatter(x=np.cos(th), y=np.sin(th), mode="lines", name="phase circle",
                               line={"color": "#dddddd", "width": 8}, hoverinfo="skip"))
    radius = {0: 1.0, 1: 0.78, 2: 1.22}
    label_x, label_y, label_t, label_c = [], [], [], []
    for c in range(3):
        xs, ys, sizes = [], [], []
        for s in range(len(trans)):
            t = int(trans[s, c])
            if t == s:  # self-loop: a small circle outside the state
                cx, cy = 1.25 * np.cos(np.deg2rad(ang[s])), 1.25 * np.sin(np.deg2rad(ang[s]))
                lt = np.linspace(0.15, 2 * np.pi - 0.15, 40) + np.deg2rad(ang[s]) + np.pi
                lx, ly = cx + 0.2 * np.cos(lt), cy + 0.2 * np.sin(lt)
            else:
                lx, ly = _arc(ang[s], ang[t], radius[c])
            xs += list(lx) + [None]
            ys += list(ly) + [None]
            sizes += [0] * (len(lx) - 1) + [15, 0]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=task.COLORS[c],
                                 line={"color": color_hex(c), "width": 3},
                                 marker={"symbol": "arrow", "angleref": "previous", "size": sizes,
                                         "color": color_hex(c)},
                                 hoverinfo="skip"))
        k = float(kick_mean_deg[c])
        sd = f" ± {float(kick_std_deg[c]):.0f}" if kick_std_deg is not None else ""
        # the label sits beside the first transition of this colour
        s0 = start
        t0 = int(trans[s0, c])
        if t0 == s0:
            mid = ang[s0]
            r = 1.72
        else:
            d = wrap_deg(ang[t0] - ang[s0])
            mid = ang[s0] + d / 2
            r = radius[c] + (0.2 if radius[c] > 1 else -0.28)
        label_x.append(r * np.cos(np.deg2rad(mid)))
        label_y.append(r * np.sin(np.deg2rad(mid)))
        label_t.append(f"{task.COLOR_LETTERS[c]}: {k:+.0f}°{sd}")
        label_c.append(color_hex(c))
    ra = np.deg2rad(ang)
    acc = [s for s in range(len(ang)) if s in set(int(a) for a in accepting)]
    fig.add_trace(go.Scatter(x=np.cos(ra[acc]), y=np.sin(ra[acc]), mode="markers", name="accepting (set)",
                             marker={"size": 60, "symbol": "circle-open", "color": VALID_HEX, "line": {"width": 3}},
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=np.cos(ra), y=np.sin(ra), mode="markers+text", name="states",
                             text=[f"{a:+.0f}°" for a in ang], textposition="middle center",
                             textfont={"size": 12, "color": "white"},
                             marker={"size": 46, "color": [VALID_HEX if s in acc else "#777" for s in range(len(ang))],
                                     "line": {"color": "white", "width": 2}}))
    fig.add_annotation(x=0.86 * np.cos(ra[start]), y=0.86 * np.sin(ra[start]), ax=0.4 * np.cos(ra[start]),
                       ay=0.4 * np.sin(ra[start]), xref="x", yref="y", axref="x", ayref="y", text="start",
                       showarrow=True, arrowhead=2, arrowwidth=2, arrowcolor="#333", font={"size": 12})
    fig.add_trace(go.Scatter(x=label_x, y=label_y, mode="text", name="kicks", text=label_t,
                             textfont={"color": label_c, "size": 13}, showlegend=False))
    fig.update_xaxes(visible=False, range=[-2.1, 2.1])
    fig.update_yaxes(visible=False, range=[-1.8, 1.8], scaleanchor="x", scaleratio=1)
    return _layout(fig, 500, title=title, legend={"orientation": "h", "y": -0.02})


def _xy(r: Any, deg: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian coordinates of points at radius r and angle deg (0 at the right, counterclockwise)."""
    th = np.deg2rad(np.asarray(deg, float))
    r = np.asarray(r, float)
    return r * np.cos(th), r * np.sin(th)


def _phase_frame(fig: go.Figure, radii: Sequence[float], label_r: float, step_deg: int = 60) -> None:
    """Rings and angle labels of a phase circle drawn in ordinary x-y axes (trace ``"phase circle"``).

    (Cartesian rather than plotly's polar axes, so every trace has x and y.)
    """
    th = np.linspace(0, 360, 181)
    xs, ys = [], []
    for r in radii:
        x, y = _xy(r, th)
        xs += list(x) + [None]
        ys += list(y) + [None]
    for a in range(0, 360, step_deg):
        x, y = _xy([0, max(radii)], [a, a])
        xs += list(x) + [None]
        ys += list(y) + [None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="phase circle", line={"color": "#e3e3e3", "width": 1},
                             hoverinfo="skip", showlegend=False))
    angles = np.arange(0, 360, step_deg)
    lx, ly = _xy(label_r, angles)
    fig.add_trace(go.Scatter(x=lx, y=ly, mode="text", name="angles", text=[f"{a}°" for a in angles],
                             textfont={"color": "#777", "size": 11}, hoverinfo="skip", showlegend=False))
    lim = label_r * 1.12
    fig.update_xaxes(visible=False, range=[-lim, lim])
    fig.update_yaxes(visible=False, range=[-lim, lim], scaleanchor="x", scaleratio=1)


def phase_path_figure(paths: Mapping[str, tuple[Sequence[int], Sequence[float]]], valid_phase_deg: float,
                      title: str = "Phase after each colour") -> go.Figure:
    """Paper Fig. 7 on the phase circle: where the phase goes, pulse by pulse.

    paths: label -> (colours, phases) with phases = [start, after pulse 1, ...]
    (deg). Each path is a spiral (the radius grows by one ring per pulse), its
    markers coloured by the pulse just shown and lettered. Traces: one per
    path, named by its label, ``"set phase"`` (a ray at valid_phase_deg,
    where sets end) and the frame (``"phase circle"``, ``"angles"``).
    """
    fig = go.Figure()
    n_max = max(len(ph) for _, ph in paths.values())
    _phase_frame(fig, [float(k + 1) for k in range(n_max)], n_max + 0.45)
    x, y = _xy([0, n_max + 0.3], [valid_phase_deg] * 2)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="set phase",
                             line={"color": VALID_HEX, "width": 2, "dash": "dot"}))
    dashes = ["solid", "dash", "dashdot", "dot"]
    hidden = "rgba(0,0,0,0)"
    for i, (label, (colors, phases)) in enumerate(paths.items()):
        ph = np.asarray(phases, float)
        r, th, mc = [], [], []
        for k in range(len(ph)):
            r.append(1.0 + k)
            th.append(ph[k])
            mc.append(NO_INPUT_HEX if k == 0 else color_hex(colors[k - 1]))
            if k + 1 < len(ph):  # the arc to the next phase, the short way round
                d = wrap_deg(ph[k + 1] - ph[k])
                for f in np.linspace(0.1, 0.9, 9):
                    r.append(1.0 + k + f)
                    th.append(ph[k] + f * d)
                    mc.append(hidden)
        size = [13 if c != hidden else 0 for c in mc]
        size[-1] = 20
        letters = ["start"] + [task.COLOR_LETTERS[c] for c in colors]
        text, k = [], 0
        for c in mc:
            text.append(letters[k] if c != hidden else "")
            k += c != hidden
        px, py = _xy(r, th)
        fig.add_trace(go.Scatter(x=px, y=py, mode="lines+markers+text", name=label, text=text,
                                 textposition="top center", textfont={"size": 11},
                                 line={"color": ("#222", "#666", "#999", "#444")[i % 4], "width": 2.5,
                                       "dash": dashes[i % len(dashes)]},
                                 marker={"color": mc, "size": size, "line": {"width": 0}}))
    return _layout(fig, 600, title=title, legend={"orientation": "h", "y": -0.02})


def prc_figure(arrival_deg: np.ndarray, shift_deg: np.ndarray, mean_deg: Sequence[float] | None = None,
               paper_deg: Sequence[float] | None = (0.0, 120.0, -120.0)) -> go.Figure:
    """Phase response curves: the kick of one pulse of each colour against the phase it arrives at.

    shift_deg (3 x n). Traces: one per colour named by it, ``"<colour> mean"``
    (dotted, when mean_deg is given) and ``"paper: <colour>"`` (dashed,
    the paper's 0 / +120 / -120).
    """
    fig = go.Figure()
    a = np.asarray(arrival_deg, float)
    s = np.asarray(shift_deg, float)
    for c, name in enumerate(task.COLORS):
        fig.add_trace(go.Scatter(x=a, y=s[c], mode="lines+markers", name=name, marker={"size": 4},
                                 line={"color": color_hex(c), "width": 2.5}))
        if mean_deg is not None:
            fig.add_trace(go.Scatter(x=[0, 360], y=[float(mean_deg[c])] * 2, mode="lines", name=f"{name} mean",
                                     line={"color": color_hex(c), "width": 1, "dash": "dot"}, showlegend=False))
        if paper_deg is not None:
            fig.add_trace(go.Scatter(x=[0, 360], y=[float(paper_deg[c])] * 2, mode="lines", name=f"paper: {name}",
                                     line={"color": color_hex(c), "width": 1, "dash": PAPER_DASH}, opacity=0.6))
    fig.update_xaxes(title="phase at which the pulse arrives (deg)", range=[0, 360], dtick=60)
    fig.update_yaxes(title="phase shift (deg)", range=[-180, 180], dtick=60)
    return _layout(fig, 420, title="Phase response curve of each colour (one 20 ms pulse)",
                   legend={"orientation": "h", "y": -0.2})


def end_phase_figure(end_deg: np.ndarray, valid: np.ndarray, centres_deg: Sequence[float] = (),
                     seed: int = 0) -> go.Figure:
    """End phases of many trials as dots on the phase circle (radially jittered), with the cluster centres.

    Traces: ``"valid trials"`` and ``"invalid trials"`` (one dot per trial with
    a finite phase), ``"cluster centres"`` (rays) when given, and the frame
    (``"phase circle"``, ``"angles"``).
    """
    ph = np.asarray(end_deg, float)
    v = np.asarray(valid, bool)
    ok = np.isfinite(ph)
    r = 1.0 + np.random.default_rng(seed).uniform(-0.12, 0.12, len(ph))
    fig = go.Figure()
    _phase_frame(fig, [1.0], 1.35)
    for good, name, colr, sym in ((True, "valid", VALID_HEX, "circle"), (False, "invalid", INVALID_HEX, "circle-open")):
        sel = ok & (v == good)
        x, y = _xy(r[sel], ph[sel])
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name=f"{name} trials ({int(sel.sum())})",
                                 marker={"color": colr, "size": 5, "symbol": sym, "opacity": 0.7},
                                 hovertext=[f"{p:.0f}°" for p in ph[sel]], hoverinfo="text"))
    if len(centres_deg):
        xs, ys, tx, ty, tt = [], [], [], [], []
        for c in centres_deg:
            x, y = _xy([0.0, 1.2], [c, c])
            xs += list(x) + [None]
            ys += list(y) + [None]
            lx, ly = _xy(0.62, c + 12)
            tx.append(float(lx))
            ty.append(float(ly))
            tt.append(f"{c:+.0f}°")
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="cluster centres",
                                 line={"color": "#d62728", "dash": "dot", "width": 2}))
        fig.add_trace(go.Scatter(x=tx, y=ty, mode="text", name="centre labels", text=tt, showlegend=False,
                                 textfont={"color": "#d62728", "size": 12}, hoverinfo="skip"))
    return _layout(fig, 500, title="Phase at the end of the trial", legend={"orientation": "h", "y": -0.02})


def length_figure(by_length: Mapping[str, Any]) -> go.Figure:
    """Longer sequences (:func:`setdyn.analysis.accuracy_by_length`): accuracy and phase error against length.

    Traces: ``"accuracy"`` (left axis, %) and ``"phase error (circular std)"``
    (right axis, deg).
    """
    n = np.asarray(by_length["lengths"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=n, y=100 * np.asarray(by_length["accuracy"], float), mode="lines+markers",
                             name="accuracy", line={"color": VALID_HEX, "width": 2.5}), secondary_y=False)
    fig.add_trace(go.Scatter(x=n, y=np.asarray(by_length["std_error_deg"], float), mode="lines+markers",
                             name="phase error (circular std)", line={"color": "#d62728", "dash": "dash"}),
                  secondary_y=True)
    fig.add_vline(x=3, line={"color": "#999", "dash": "dot"})
    fig.update_xaxes(title="number of colours shown", dtick=1)
    fig.update_yaxes(title="% read correctly (mod 3)", range=[0, 105], secondary_y=False)
    fig.update_yaxes(title="phase error (deg)", range=[0, 63], tickmode="linear", tick0=0, dtick=15,
                     secondary_y=True, showgrid=False)
    return _layout(fig, 380, title="Reading the automaton's state from the phase, for 1 to 10 colours",
                   legend={"orientation": "h", "y": -0.22})


def noise_figure(noise: Mapping[str, Any], training_noise_std: float | None = None) -> go.Figure:
    """Robustness to test-time noise (:func:`setdyn.analysis.noise_robustness`).

    Traces: ``"network decision"`` and ``"phase class"`` (accuracy, %),
    ``"phase error (circular std)"`` (right axis, deg).
    """
    s = np.asarray(noise["noise_std"], float)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=s, y=100 * np.asarray(noise["accuracy"], float), mode="lines+markers",
                             name="network decision", line={"color": VALID_HEX, "width": 2.5}), secondary_y=False)
    fig.add_trace(go.Scatter(x=s, y=100 * np.asarray(noise["phase_class_accuracy"], float), mode="lines+markers",
                             name="phase class", line={"color": "#4c72b0"}), secondary_y=False)
    fig.add_trace(go.Scatter(x=s, y=np.asarray(noise["phase_error_deg"], float), mode="lines+markers",
                             name="phase error (circular std)", line={"color": "#d62728", "dash": "dash"}),
                  secondary_y=True)
    if training_noise_std is not None:
        fig.add_vline(x=training_noise_std, line={"color": "#999", "dash": "dot"})
    fig.update_xaxes(title="noise std per unit per step")
    fig.update_yaxes(title="% correct", range=[0, 105], secondary_y=False)
    top = float(np.nanmax(noise["phase_error_deg"])) if len(s) else 180.0
    fig.update_yaxes(title="phase error (deg)", range=[0, 1.05 * max(top, 30.0)], tickmode="linear", tick0=0,
                     dtick=30, secondary_y=True, showgrid=False)
    return _layout(fig, 380, title="Test-time recurrent noise", legend={"orientation": "h", "y": -0.22})


# ============================================================== chapter 6: the oscillator


def oscillator_figure(signals: Sequence[TrialSignal], curves: Mapping[str, Sequence[np.ndarray]],
                      t_ms: np.ndarray | None = None) -> go.Figure:
    """Paper Fig. 8: the network's rPC1 beside oscillator curves, one panel per trial.

    signals: the network's rPC1 per trial (one panel each); curves: name ->
    one array per trial (e.g. ``{"paper's oscillator": [...], "fitted
    oscillator": [...]}``), sampled at t_ms (default: the network's sample
    times). Traces per panel: ``"network rPC1 (<label>)"`` and
    ``"<curve name> (<label>)"``.
    """
    n = len(signals)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=[s.label for s in signals])
    styles = [{"color": "#777", "dash": PAPER_DASH, "width": 2}, {"color": "#d62728", "dash": "solid", "width": 2},
              {"color": "#2ca02c", "dash": "dot", "width": 2}]
    lo, hi = np.inf, -np.inf
    for i, s in enumerate(signals, start=1):
        t = sample_times(len(s.y))
        fig.add_trace(go.Scatter(x=t, y=s.y, mode="lines", name=f"network rPC1 ({s.label})", legendgroup="net",
                                 line={"color": VALID_HEX, "width": 3}, showlegend=i == 1), row=i, col=1)
        lo, hi = min(lo, np.nanmin(s.y)), max(hi, np.nanmax(s.y))
        for j, (name, ys) in enumerate(curves.items()):
            y = np.asarray(ys[i - 1], float)
            tc = sample_times(len(y)) if t_ms is None else np.asarray(t_ms, float)
            fig.add_trace(go.Scatter(x=tc, y=y, mode="lines", name=f"{name} ({s.label})", legendgroup=name,
                                     line=styles[j % len(styles)], showlegend=i == 1), row=i, col=1)
            lo, hi = min(lo, np.nanmin(y)), max(hi, np.nanmax(y))
        _pulse_rects(fig, s.colors, s.onsets, row=i, col=1)
        fig.update_yaxes(title="rPC1", row=i, col=1)
    pad = 0.08 * (hi - lo)
    fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_xaxes(range=[0, task.N_STEPS * task.DT_MS], title="time (ms)", row=n, col=1)
    for tr in fig.data:  # legend entries without the trial label
        if tr.showlegend is not False:
            tr.name = tr.name.rsplit(" (", 1)[0]
    return _layout(fig, 220 * n + 90, legend={"orientation": "h", "y": -0.08})
