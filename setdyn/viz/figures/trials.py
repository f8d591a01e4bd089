"""Figures of chapters 1-3: the task's trials, training curves and the network's output."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ... import paper, task
from .common import (INVALID_HEX, NO_INPUT_HEX, PAPER_DASH, VALID_HEX, TrialSignal, apply_layout, shade_pulses,
                     color_hex, sample_times)


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
    return apply_layout(fig, 380, title="The 27 ordered colour triples (number: sum of indices mod 3)",
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
    return apply_layout(fig, 260 + 220 * (rows - 1),
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
    return apply_layout(fig, 330, title=title(first), margin={"l": 30, "r": 20, "t": 50, "b": 40})


# ============================================================== chapter 2: training


def training_curves(history: Mapping[str, Sequence[float]],
                    paper_train_acc: float = paper.PAPER_ACCURACY["train_acc_noisy"]) -> go.Figure:
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
    return apply_layout(fig, 560, legend={"orientation": "h", "y": -0.15})


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
        shade_pulses(fig, p.colors, p.onsets, row=i, col=1)
        fig.add_vrect(x0=end - task.SCORE_STEPS * task.DT_MS, x1=end, fillcolor="#dddddd", opacity=0.5,
                      line_width=0, layer="below", row=i, col=1)
        for yv in (-1, 1):
            fig.add_hline(y=yv, line={"dash": "dot", "color": "#999", "width": 1}, row=i, col=1)
        fig.update_yaxes(range=[-1.6, 1.6], tickvals=[-1, 0, 1], title=ylabel, row=i, col=1)
    fig.update_xaxes(range=[0, end], row=n, col=1, title="time (ms)")
    return apply_layout(fig, 190 * n + 60)
