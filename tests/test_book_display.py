"""setdyn.display: what chapters publish for figures and widgets."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest

from setdyn.display import INTERACTIVE_TWIN_NOTE, LIVE_NOTE, PLOTLY_MIME, WIDGET_MIME, figure_bundle, figure_html, live_bundle


def _fig():
    return go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2])).update_layout(title="demo", height=300)


def test_figure_bundle_is_plotly_json_for_jupyterlab():
    bundle = figure_bundle(_fig())
    assert set(bundle) == {PLOTLY_MIME, "text/plain"}
    assert bundle[PLOTLY_MIME]["data"][0]["type"] == "scatter"
    assert bundle[PLOTLY_MIME]["config"]["displaylogo"] is False
    assert "demo" in bundle["text/plain"]


def test_figure_html_draws_with_local_plotly_only():
    html = figure_html(_fig(), div_id="x1")
    assert 'id="x1" class="plotly-graph-div"' in html
    assert "Plotly.newPlot" in html
    assert "height:300px" in html
    assert not re.search(r"https?://", html), "figure HTML must not reference the internet"
    assert "<script src" not in html  # plotly.js is loaded once per page by the book, not per figure


def test_figure_html_accepts_the_json_of_a_figure():
    json_fig = figure_bundle(_fig())[PLOTLY_MIME]
    assert "Plotly.newPlot" in figure_html(json_fig, div_id="x2")


def test_live_bundle_has_widget_and_static_twin():
    import ipywidgets as widgets  # a requirement: missing it is a failure, not a skip
    bundle = live_bundle(widgets.IntSlider(), twin=_fig())
    assert WIDGET_MIME in bundle  # JupyterLab shows the live control
    assert "plotly-graph-div" in bundle["text/html"]  # the book shows the twin ...
    assert LIVE_NOTE.split(":")[0] in bundle["text/html"]  # ... and says the control runs only in Jupyter


def test_live_note_is_true_for_the_twin():
    """Issue 15: a twin with its own plotly slider is not called a static picture; a plain one is."""
    widgets = pytest.importorskip("ipywidgets")
    with_slider = _fig()
    with_slider.update_layout(sliders=[{"steps": [{"label": "a", "method": "restyle", "args": [{"visible": [True]}]}]}])
    html_slider = live_bundle(widgets.IntSlider(), twin=with_slider)["text/html"]
    assert INTERACTIVE_TWIN_NOTE.split(";")[0] in html_slider and "Static picture" not in html_slider
    assert "Static picture" in live_bundle(widgets.IntSlider(), twin=_fig())["text/html"]
    assert "Static picture" in live_bundle(widgets.IntSlider(), twin="<p>x</p>")["text/html"]
    assert "my own words" in live_bundle(widgets.IntSlider(), twin=with_slider, note="my own words")["text/html"]


def test_live_bundle_rejects_non_widgets():
    with pytest.raises(TypeError):
        live_bundle(object(), twin="<p>x</p>")


def test_figures_have_no_mode_bar():
    """The mode bar covers titles on a phone: the book's config hides it everywhere."""
    bundle = figure_bundle(go.Figure(go.Scatter(x=[0, 1], y=[1, 2])))
    assert bundle[PLOTLY_MIME]["config"]["displayModeBar"] is False


def test_sortable_table_has_every_row_and_raw_values():
    import numpy as np
    import pandas as pd

    from setdyn.display import sortable_table

    df = pd.DataFrame({"seed": [3, 1, 2], "period_ms": [243.8376, np.nan, 81.5], "label": ["a<b", "c", "d"]})
    html = sortable_table(df)._repr_html_()
    assert html.count("<tr>") == 4  # header + 3 rows
    assert 'data-type="num"' in html and 'data-type="text"' in html
    assert 'data-value="243.8376"' in html and ">243.8<" in html  # sorted by the full value, shown rounded
    assert 'data-value=""' in html  # NaN: an empty cell, sorted last
    assert "a&lt;b" in html  # text is escaped
    with pytest.raises(ValueError, match="DataFrame"):
        sortable_table([[1, 2]])
    with pytest.raises(ValueError, match="digits"):
        sortable_table(df, digits=0)
