"""The emergence scrubber in a running kernel (Binder, JupyterLab): the same controls drive Python.

An epoch slider and a play button, as in the book's in-browser scrubber
(`setdyn.viz.emergence.scrubber_html`), but each move computes the snapshot's
frame in Python from its weights (`emergence.snapshot_frame`: trials, end states
and input-free orbit simulated by `setdyn.model.CTRNN`) and redraws a plotly
``FigureWidget`` of four panels: the phase portrait (final network's PCs), the
outputs z(t), the eigenvalues with the unit circle, and the colours' kicks.
`show_scrubber` publishes it with the in-browser version as its static twin.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .. import paper
from ..analysis import training_pca
from ..model import CTRNN
from .emergence import EXAMPLES, example_codes, scrubber_data, scrubber_html, snapshot_frame

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: Line colours of the three example trials (invalid, no input, valid).
EXAMPLE_COLOURS = ("#d62728", "#7f7f7f", "#2ca02c")


def frame_figure(frame: dict[str, Any], epoch: int) -> go.Figure:
    """The four panels of one frame (plotly figure; the traces keep their order from frame to frame; data
    as plain lists, which a FigureWidget keeps as they are)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=2, vertical_spacing=0.16, horizontal_spacing=0.12,
                        subplot_titles=("phase portrait (PC1, PC2)", "output z(t)", "eigenvalues at the fixed point",
                                        "kick per colour (degrees)"))
    trials = np.asarray(frame["trials"])
    for k, name in enumerate(EXAMPLES):
        fig.add_trace(go.Scatter(x=trials[k, :, 0].tolist(), y=trials[k, :, 1].tolist(), mode="lines", name=name or "no input",
                                 line=dict(color=EXAMPLE_COLOURS[k], width=1.5)), 1, 1)
    orbit = np.asarray(frame["orbit"])
    fig.add_trace(go.Scatter(x=orbit[:, 0].tolist(), y=orbit[:, 1].tolist(), mode="lines", name="input-free orbit",
                             line=dict(color="#000", width=2.5)), 1, 1)
    z = np.asarray(frame["z"])
    t = np.arange(z.shape[1]) * paper.DT_MS
    for k, name in enumerate(EXAMPLES):
        fig.add_trace(go.Scatter(x=t.tolist(), y=z[k].tolist(), mode="lines", showlegend=False, line=dict(color=EXAMPLE_COLOURS[k])),
                      1, 2)
    eig = np.asarray(frame["eig"])
    outside = np.hypot(eig[:, 0], eig[:, 1]) > 1
    fig.add_trace(go.Scatter(x=eig[:, 0].tolist(), y=eig[:, 1].tolist(), mode="markers", showlegend=False,
                             marker=dict(size=6, color=np.where(outside, "#d62728", "#1f77b4").tolist())), 2, 1)
    a = np.linspace(0, 2 * np.pi, 121)
    fig.add_trace(go.Scatter(x=np.cos(a).tolist(), y=np.sin(a).tolist(), mode="lines", showlegend=False,
                             line=dict(color="#888", dash="dot")), 2, 1)
    kicks = frame["kicks_deg"] or [0.0, 0.0, 0.0]
    fig.add_trace(go.Bar(x=list(paper.COLORS), y=kicks, showlegend=False,
                         marker_color=[paper.COLOR_HEX[c] for c in paper.COLORS]), 2, 2)
    period = f", period {frame['period_ms']:.0f} ms" if frame["period_ms"] else ""
    fig.update_layout(title=dict(text=f"epoch {epoch}: {frame['kind']}{period}, "
                                      f"{100 * frame['fresh_acc']:.0f}% right on fresh onsets", font=dict(size=14)),
                      height=620, margin=dict(l=40, r=10, t=80, b=40), template="plotly_white",
                      legend=dict(orientation="h", y=-0.08))
    fig.update_yaxes(range=[-180, 180], row=2, col=2)
    fig.update_xaxes(range=[-1.6, 1.6], row=2, col=1)
    fig.update_yaxes(range=[-1.3, 1.3], scaleanchor="x3", row=2, col=1)
    return fig


def scrubber_widget(models: Sequence[CTRNN], index: dict[str, Any], rows: Sequence[dict[str, Any]]) -> Any:
    """An ``ipywidgets.VBox`` (play button, epoch slider, FigureWidget). Moving the slider simulates that
    snapshot (`snapshot_frame`) and redraws. Extra attributes: ``slider``, ``figure``, ``frame_of(i)``."""
    import ipywidgets as W

    from .explorers.live import figure_widget, update_figure_widget

    epochs = [int(e) for e in index["epochs"]]
    pca = training_pca(models[-1], seed=int(index["config"]["seed"]))
    ex_codes, test_codes = example_codes()

    def frame_of(i: int) -> dict[str, Any]:
        return snapshot_frame(models[i], rows[i], pca, ex_codes, test_codes)

    last = len(models) - 1
    fig = figure_widget(frame_figure(frame_of(last), epochs[last]))
    slider = W.IntSlider(value=last, min=0, max=last, description="snapshot", continuous_update=False,
                         layout=W.Layout(width="100%"))
    play = W.Play(value=last, min=0, max=last, interval=700, description="play")
    W.jslink((play, "value"), (slider, "value"))
    label = W.HTML(f"epoch {epochs[last]}")

    def on_change(change: dict[str, Any]) -> None:
        i = int(change["new"])
        label.value = f"epoch {epochs[i]}"
        update_figure_widget(fig, frame_figure(frame_of(i), epochs[i]))

    slider.observe(on_change, names="value")
    box = W.VBox([W.HBox([play, label]), slider, fig])
    box.slider, box.figure, box.frame_of = slider, fig, frame_of
    return box


def show_scrubber(models: Sequence[CTRNN], index: dict[str, Any], rows: Sequence[dict[str, Any]],
                  events: dict[str, Any]) -> None:
    """Display the scrubber: Python-driven ipywidgets in a live kernel, the in-browser version in the book."""
    from ..display import live

    live(scrubber_widget(models, index, rows), scrubber_html(scrubber_data(models, index, rows, events)),
         note="Runs in your browser. In Jupyter (Binder or local) the same slider and play button drive setdyn's "
              "Python model, which simulates each snapshot.")


__all__ = ["frame_figure", "scrubber_widget", "show_scrubber"]
