"""Figures of chapter 4: the phase portrait (principal components, rotation to rPC1, rPC1 over time)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ... import task
from .common import INVALID_HEX, PAPER_DASH, VALID_HEX, TrialSignal, apply_layout, shade_pulses, sample_times


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
    return apply_layout(fig, 340, title="Variance of the noise-free rates explained by each principal component",
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
                        horizontal_spacing=0.16)
    cyc = go.Scatter(x=cycle_pc[:, 0], y=cycle_pc[:, 1], mode="lines", name="limit cycle",
                     line={"color": "#cccccc", "width": 6}, hoverinfo="skip")
    fig.add_trace(cyc, row=1, col=1)
    t = sample_times(len(no_input_pc))
    fig.add_trace(go.Scatter(x=no_input_pc[:, 0], y=no_input_pc[:, 1], mode="lines+markers", name="no input, 0-500 ms",
                             marker={"size": 6, "color": t, "colorscale": "Viridis", "showscale": True,
                                     "colorbar": {"title": {"text": "ms"}, "x": 0.43, "xanchor": "left",
                                                  "len": 0.8, "thickness": 12}},
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
    return apply_layout(fig, 470, legend={"orientation": "h", "y": -0.18})


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
    return apply_layout(fig, 540, margin={"l": 0, "r": 0, "t": 40, "b": 0}, legend={"orientation": "h", "y": 1.05})


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
            d = np.abs(((angles_deg[None, :] - np.asarray(a)[:, None]) + 180) % 360 - 180)
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
    return apply_layout(fig, 800, showlegend=False, margin={"l": 60, "r": 20, "t": 80, "b": 50})


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
                    shade_pulses(fig, [c], [o], neutral=neutral, opacity=0.18 if neutral else 0.3)
    fig.update_xaxes(range=[0, task.N_STEPS * task.DT_MS], title="time (ms)")
    fig.update_yaxes(title=ylabel)
    return apply_layout(fig, 380, title=title, legend={"orientation": "h", "y": -0.2})
