"""Figure of chapter 6: the network's rPC1 beside oscillator curves (paper Fig. 8), and R^2."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ... import task
from .common import PAPER_DASH, VALID_HEX, TrialSignal, apply_layout, shade_pulses, sample_times


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
        shade_pulses(fig, s.colors, s.onsets, row=i, col=1)
        fig.update_yaxes(title="rPC1", row=i, col=1)
    pad = 0.08 * (hi - lo)
    fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_xaxes(range=[0, task.N_STEPS * task.DT_MS], title="time (ms)", row=n, col=1)
    for tr in fig.data:  # legend entries without the trial label
        if tr.showlegend is not False:
            tr.name = tr.name.rsplit(" (", 1)[0]
    return apply_layout(fig, 220 * n + 90, legend={"orientation": "h", "y": -0.08})


def r_squared(y: np.ndarray, yhat: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot of a prediction yhat for data y (all samples pooled).

    The same score :func:`setdyn.oscillator.fit_handcrafted` reports for its
    fit; exposed here so a chapter can score other parameter sets (the
    paper's hand-set oscillator) on the same trials.
    """
    y = np.asarray(y, float).ravel()
    yhat = np.asarray(yhat, float).ravel()
    ss = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - yhat) ** 2).sum()) / ss if ss > 0 else float("nan")
