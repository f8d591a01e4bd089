"""The explorers' figures computed in Python (plotly dicts), for the live ipywidgets versions
(:mod:`.live`); the static versions draw the same figures in JavaScript.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ... import paper, task
from .data import (NOISE_TRIALS, TRIAL_MS, VALID_TOLERANCE_DEG, ExplorerNetwork, explorer_params, onsets_to_steps,
                   oscillator, oscillator_phase)


#: Colour of the oscillator's verdict on the phase circle and in the text.
VERDICT_HEX = {"valid": "#2b8a1b", "invalid": "#c0392b", "no code": "#a07800"}


def _pulse_shapes(seq: Sequence[int], onsets_ms: Sequence[float], axes: Sequence[tuple[str, str]]) -> list[dict]:
    return [{"type": "rect", "xref": xr, "yref": f"{yr} domain", "x0": o, "x1": o + task.PULSE_STEPS * task.DT_MS,
             "y0": 0, "y1": 1, "fillcolor": task.COLOR_HEX[task.COLORS[c]], "opacity": 0.35, "line": {"width": 0},
             "layer": "below"} for xr, yr in axes for c, o in zip(seq, onsets_ms)]


def _coarse_t() -> np.ndarray:
    """Times (ms) of the explorers' coarse samples: t = 0 (the initial state) then every 10 ms."""
    return np.arange(task.N_STEPS + 1) * task.DT_MS


def _f_range(p: dict[str, Any]) -> list[float]:
    """Fixed y range of f(t): +-16 unless amplitude + |offset| needs more (steps of 5)."""
    top = max(16.0, 5.0 * np.ceil((p["amplitude"] + abs(p["offset"]) + 1.0) / 5.0))
    return [-top, top]


#: Angles (deg) labelled on the explorer's phase circle.
CIRCLE_TICKS_DEG = (0, 60, 120, 180, 240, 300)


def _on_circle(r: float, theta_deg: Sequence[float], *, centre: bool = False,
               closed: bool = True) -> dict[str, list]:
    """x, y of points at radius r and angles theta (deg, counterclockwise from +x) for the phase circle;
    ``centre``: start at the centre (and end there if ``closed``: a wedge)."""
    th = np.deg2rad(np.asarray(theta_deg, float))
    x, y = list(r * np.cos(th)), list(r * np.sin(th))
    if centre:
        x, y = [0.0, *x, *([0.0] if closed else [])], [0.0, *y, *([0.0] if closed else [])]
    return {"x": x, "y": y}


def oscillator_explorer_figure(net: ExplorerNetwork, sequence: Sequence[int], onsets_ms: Sequence[float],
                      params: dict[str, Any]) -> tuple[dict, dict]:
    """The oscillator explorer's figure as a plotly dict, and a summary (verdict, R^2, ...)."""
    p = explorer_params(params)
    fine = np.arange(0, TRIAL_MS + 1, 1.0)
    coarse = _coarse_t()
    f = oscillator(fine, sequence, onsets_ms, **p)
    no_kick = oscillator(fine, [], [], **p)
    rates, _ = net.run(sequence, onsets_ms)
    rpc1 = net.rpc1(net.project(rates[0]))
    fc = oscillator(coarse, sequence, onsets_ms, **p)
    r2 = 1 - np.sum((rpc1 - fc) ** 2) / np.sum((rpc1 - rpc1.mean()) ** 2)
    ph = oscillator_phase(sequence, **p)
    hexes = [task.COLOR_HEX[task.COLORS[c]] for c in sequence]
    good = VERDICT_HEX[ph.verdict]
    tol = VALID_TOLERANCE_DEG
    pc = {"type": "scatter", "xaxis": "x3", "yaxis": "y3", "hoverinfo": "skip", "showlegend": False}
    data = [
        {"type": "scatter", "x": fine, "y": no_kick, "name": "no kicks", "mode": "lines",
         "line": {"color": "#bbb", "dash": "dot", "width": 1.5}, "hoverinfo": "skip"},
        {"type": "scatter", "x": fine, "y": f, "name": "oscillator f(t)", "mode": "lines",
         "line": {"color": "#222", "width": 2.5}},
        {"type": "scatter", "x": coarse, "y": rpc1, "name": "network rPC1", "mode": "lines", "xaxis": "x2",
         "yaxis": "y2", "line": {"color": "#1f5fa8", "width": 2.5}},
        {"type": "scatter", "x": fine, "y": f, "name": "f(t) (same as above)", "mode": "lines", "xaxis": "x2",
         "yaxis": "y2", "showlegend": False, "line": {"color": "#222", "width": 1, "dash": "dash"}, "opacity": 0.5,
         "hoverinfo": "skip"},
        {**_on_circle(1.0, np.arange(0, 361, 3.0)), "name": "phase circle", "mode": "lines",
         "line": {"color": "#ccc", "width": 1}, **pc},
        {**_on_circle(1.27, CIRCLE_TICKS_DEG), "name": "phase ticks", "mode": "text",
         "text": [f"{d}\u00b0" for d in CIRCLE_TICKS_DEG], "textfont": {"size": 11, "color": "#666"}, **pc},
        {**_on_circle(1.15, ph.valid_phase + np.linspace(-tol, tol, 25), centre=True), "name": "valid zone",
         "mode": "lines", "fill": "toself", "fillcolor": "rgba(92,214,41,0.22)", "line": {"width": 0}, **pc},
        {**_on_circle(1.0, ph.path), "mode": "lines+markers+text", "name": "phase after each colour",
         "text": ["", "1", "2", "3"][:len(ph.path)], "textposition": "middle right",
         "line": {"color": "#999", "width": 1, "dash": "dot"},
         "marker": {"size": 10, "color": ["#fff", *hexes], "line": {"color": "#444", "width": 1}}, **pc},
        {**_on_circle(1.1, [ph.final_phase], centre=True, closed=False), "mode": "lines+markers", "name": "final phase",
         "line": {"color": good, "width": 4}, "marker": {"size": [0, 12], "symbol": "diamond"}, **pc},
        {**_on_circle(1.1, [ph.valid_phase]), "mode": "markers+text", "text": ["valid"], "textposition": "top center",
         "name": "valid phase", "marker": {"size": 14, "symbol": "circle-open", "color": "#2b8a1b", "line": {"width": 3}},
         **pc},
    ]
    layout = {
        "height": 520, "margin": {"l": 55, "r": 20, "t": 30, "b": 45}, "uirevision": "sx",
        "legend": {"orientation": "h", "x": 0, "y": 1.08}, "template": "plotly_white",
        "xaxis": {"domain": [0, 0.62], "anchor": "y", "range": [0, TRIAL_MS], "showticklabels": False},
        "yaxis": {"domain": [0.55, 1], "title": {"text": "f(t)"}, "range": _f_range(p)},
        "xaxis2": {"domain": [0, 0.62], "anchor": "y2", "range": [0, TRIAL_MS], "matches": "x",
                   "title": {"text": "time (ms)"}},
        "yaxis2": {"domain": [0, 0.45], "title": {"text": "network rPC1"}, "range": [-1.1 * net.pc_radius, 1.1 * net.pc_radius]},
        "xaxis3": {"domain": [0.7, 1], "anchor": "y3", "range": [-1.45, 1.45], "visible": False, "fixedrange": True},
        "yaxis3": {"domain": [0.08, 0.92], "anchor": "x3", "range": [-1.45, 1.45], "visible": False, "fixedrange": True,
                   "scaleanchor": "x3", "constrain": "domain"},
        "shapes": _pulse_shapes(sequence, onsets_ms, [("x", "y"), ("x2", "y2")]),
        "annotations": [{"xref": "paper", "yref": "paper", "x": 0.85, "y": 0, "showarrow": False,
                         "text": f"phase at {TRIAL_MS:.0f} ms", "font": {"size": 12}}],
    }
    truth = "valid" if task.is_valid_set(sequence) else "invalid"
    summary = {"verdict": ph.verdict, "truth": truth, "phase": ph, "r2": float(r2), "f_end": float(f[-1]),
               "rpc1": rpc1, "f": f}
    return {"data": data, "layout": layout}, summary


def network_explorer_figure(net: ExplorerNetwork, sequence: Sequence[int], onsets_ms: Sequence[float],
                   noise_std: float | None = None, seed: int = 0,
                   noise_trials: int = NOISE_TRIALS) -> tuple[dict, dict]:
    """The network explorer's figure as a plotly dict, and a summary (answer, noisy answers).

    ``noise_std`` None: no noisy repeats; else ``noise_trials`` repeats with recurrent noise.
    """
    coarse = _coarse_t()
    rates, z = net.run(sequence, onsets_ms)
    pc = net.project(rates[0])
    z_last = float(z[0, -1])
    ans = paper.verdict(z_last)
    truth = "valid" if task.is_valid_set(sequence) else "invalid"
    _, free_z = net.run([], [])
    extent = net.pc_radius
    a = np.deg2rad(net.angle_deg)
    ax = np.array([np.cos(a), np.sin(a)]) * extent * 1.1
    noisy = noise_std is not None
    nz_t, nz_z, nz_x, nz_y, nz_end, correct = [], [], [], [], np.zeros((0, 2)), 0
    if noisy:
        nr, nzz = net.run(sequence, onsets_ms, noise_std=float(noise_std), seed=seed, repeats=noise_trials)
        npc = net.project(nr)
        for k in range(noise_trials):
            nz_t += [*coarse, None]
            nz_z += [*nzz[k], None]
            nz_x += [*npc[k, :, 0], None]
            nz_y += [*npc[k, :, 1], None]
        nz_end = npc[:, -1]
        correct = int(sum(paper.verdict(v) == truth for v in nzz[:, -1]))
    steps = onsets_to_steps(onsets_ms)
    codes = task.stimulus(sequence, steps)
    cols = ["#1f5fa8"] + [task.COLOR_HEX[task.COLORS[c]] if c >= 0 else "#1f5fa8" for c in codes]
    end_col = {"valid": "#2b8a1b", "invalid": "#c0392b"}.get(ans, "#e0b000")
    xy2 = {"xaxis": "x2", "yaxis": "y2"}
    cl = net.clusters()
    v, iv = cl["points"][cl["valid"]], cl["points"][~cl["valid"]]
    hulls = [{"type": "scatter", "x": h["x"], "y": h["y"], "mode": "lines", **xy2, "fill": "toself",
              "fillcolor": "rgba(43,138,27,0.12)" if h["valid"] else "rgba(120,120,120,0.12)",
              "line": {"width": 0.5, "color": "#2b8a1b" if h["valid"] else "#999"}, "hoverinfo": "skip",
              "showlegend": False, "name": "end-point cluster"} for h in cl["hulls"]]
    data = [
        {"type": "scatter", "x": coarse, "y": free_z[0], "name": "no input", "mode": "lines",
         "line": {"color": "#aaa", "dash": "dash", "width": 1.5}},
        {"type": "scatter", "x": nz_t, "y": nz_z, "name": "with noise", "mode": "lines",
         "line": {"color": "#e08a00", "width": 1}, "opacity": 0.45, "visible": True if noisy else "legendonly",
         "showlegend": noisy},
        {"type": "scatter", "x": coarse, "y": z[0], "name": "this trial", "mode": "lines+markers",
         "line": {"color": "#1f5fa8", "width": 2.5}, "marker": {"size": 5, "color": cols}},
        {"type": "scatter", "x": cl["cycle"][:, 0], "y": cl["cycle"][:, 1], "mode": "lines", **xy2,
         "name": "limit cycle (no input)", "line": {"color": "#aaa", "width": 5}, "opacity": 0.5},
        *hulls,
        {"type": "scatter", "x": v[:, 0], "y": v[:, 1], "name": "end points, valid sets", "mode": "markers", **xy2,
         "marker": {"size": 5, "color": "#2b8a1b", "opacity": 0.5}},
        {"type": "scatter", "x": iv[:, 0], "y": iv[:, 1], "name": "end points, invalid sets", "mode": "markers",
         **xy2, "marker": {"size": 5, "color": "#999", "opacity": 0.5, "symbol": "x"}},
        {"type": "scatter", "x": [-ax[0], ax[0]], "y": [-ax[1], ax[1]], "mode": "lines+text", **xy2,
         "text": ["", "rPC1"], "textposition": "top center", "showlegend": False, "name": "rPC1 axis",
         "line": {"color": "#555", "width": 1, "dash": "dot"}, "hoverinfo": "skip"},
        {"type": "scatter", "x": nz_x, "y": nz_y, "mode": "lines", **xy2, "showlegend": False, "name": "with noise",
         "line": {"color": "#e08a00", "width": 1}, "opacity": 0.35, "visible": noisy},
        {"type": "scatter", "x": nz_end[:, 0], "y": nz_end[:, 1], "mode": "markers", **xy2, "showlegend": False,
         "name": "noisy end points", "marker": {"color": "#e08a00", "size": 7, "symbol": "diamond"},
         "visible": noisy},
        {"type": "scatter", "x": pc[:, 0], "y": pc[:, 1], "mode": "lines+markers", **xy2, "showlegend": False,
         "name": "this trial", "line": {"color": "#1f5fa8", "width": 2.5}, "marker": {"size": 5, "color": cols}},
        {"type": "scatter", "x": [pc[0, 0]], "y": [pc[0, 1]], "mode": "markers", **xy2, "name": "start",
         "showlegend": False, "marker": {"size": 11, "symbol": "square", "color": "#1f5fa8"}},
        {"type": "scatter", "x": [pc[-1, 0]], "y": [pc[-1, 1]], "mode": "markers", **xy2, "name": "end",
         "showlegend": False, "marker": {"size": 18, "symbol": "star", "color": end_col,
                                         "line": {"color": "#222", "width": 1}}},
    ]
    lim = [-extent * 1.15, extent * 1.15]
    layout = {
        "height": 480, "margin": {"l": 55, "r": 20, "t": 30, "b": 45}, "uirevision": "sx",
        "legend": {"orientation": "h", "x": 0, "y": 1.1}, "template": "plotly_white",
        "xaxis": {"domain": [0, 0.46], "anchor": "y", "range": [0, TRIAL_MS], "title": {"text": "time (ms)"}},
        "yaxis": {"anchor": "x", "title": {"text": "output z"}, "range": [-2, 2]},
        "xaxis2": {"domain": [0.56, 1], "anchor": "y2", "title": {"text": "PC1"}, "range": lim},
        "yaxis2": {"anchor": "x2", "title": {"text": "PC2"}, "scaleanchor": "x2", "range": lim},
        "shapes": _pulse_shapes(sequence, onsets_ms, [("x", "y")])
        + [{"type": "line", "xref": "x", "yref": "y", "x0": 0, "x1": TRIAL_MS, "y0": y, "y1": y,
            "line": {"color": "#777", "width": 1, "dash": "dot"}} for y in (paper.DECISION_THRESHOLD, -paper.DECISION_THRESHOLD)],
    }
    summary = {"answer": ans, "truth": truth, "z_last": z_last, "noisy_correct": correct if noisy else None,
               "z": z[0], "pcs": pc}
    return {"data": data, "layout": layout}, summary
