"""Figures of chapter 5: the automaton in the phase (hexagon hypothesis, automaton, phase paths, PRC,
end phases, sequence length, noise)."""
from __future__ import annotations

import itertools
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ... import paper, task
from .common import INVALID_HEX, NO_INPUT_HEX, PAPER_DASH, VALID_HEX, apply_layout, color_hex


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
    return apply_layout(fig, 520, title="First hypothesis: one attractor per automaton state, on a hexagonal lattice",
                   legend={"orientation": "h", "y": -0.05})


def _arc(a0: float, a1: float, r: float, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Points of the arc at radius r from angle a0 to a1 (degrees, the short way)."""
    d = (a1 - a0 + 180.0) % 360.0 - 180.0
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
            d = (ang[t0] - ang[s0] + 180) % 360 - 180
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
    return apply_layout(fig, 500, title=title, legend={"orientation": "h", "y": -0.02})


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
                d = (ph[k + 1] - ph[k] + 180) % 360 - 180
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
    return apply_layout(fig, 600, title=title, legend={"orientation": "h", "y": -0.02})


def prc_figure(arrival_deg: np.ndarray, shift_deg: np.ndarray, mean_deg: Sequence[float] | None = None,
               paper_deg: Sequence[float] | None = paper.PAPER_KICKS_DEG) -> go.Figure:
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
    return apply_layout(fig, 420, title="Phase response curve of each colour (one 20 ms pulse)",
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
    return apply_layout(fig, 500, title="Phase at the end of the trial", legend={"orientation": "h", "y": -0.02})


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
    return apply_layout(fig, 380, title="Reading the automaton's state from the phase, for 1 to 10 colours",
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
    return apply_layout(fig, 380, title="Test-time recurrent noise", legend={"orientation": "h", "y": -0.22})
