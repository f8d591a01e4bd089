"""Show figures and widgets so they work both in the built book and in a live kernel.

Plotly figures: display them the ordinary way (``fig`` as the last expression
of a cell, ``fig.show()``, or :func:`show`, which adds the book's plotly
config). Plotly publishes ``application/vnd.plotly.v1+json``; JupyterLab (e.g.
on Binder) draws it with its plotly renderer, and the book draws it with the
mime renderer in :mod:`setdyn.book.sphinx_ext` (a ``<div>`` and an inline
``Plotly.newPlot`` call; plotly.js is loaded once per page from the book's own
files). No CDN is referenced.

Widgets: display every ipywidgets control with :func:`live`. It publishes
the widget view (JupyterLab shows the live control) **and** ``text/html`` with
a static twin (a figure or HTML) plus a note saying what works in the page
and what only in Binder/Jupyter. The book ignores widget views (a static page has no kernel),
so a reader of the HTML never meets a blank box or "Loading widget...". A
bare widget makes the book build fail with a message pointing here.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from typing import Any

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

#: plotly.js config used for every figure. No mode bar: on a phone it covers titles and
#: legends, and every figure still zooms (drag), resets (double-click) and shows values on hover.
PLOTLY_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}

_JUPYTER = ("use the launch button (rocket icon) at the top of the page to open it in Binder, "
            "or run the chapter locally (see the introduction).")
#: The note under a static twin that is a picture (no control works in this page).
LIVE_NOTE = "Static picture of a control that runs only when the page runs in Jupyter: " + _JUPYTER
#: The note under a twin that has controls of its own (a plotly slider or buttons): they work in this page,
#: the cell's full set of controls only in Jupyter.
INTERACTIVE_TWIN_NOTE = ("The slider or buttons of the figure above work in this page; the cell's full set of "
                         "controls runs when the page runs in Jupyter: " + _JUPYTER)


class HTMLFragment(str):
    """A self-contained piece of HTML (a static explorer, the hero, the scrubber): a ``str`` that
    Jupyter and the book display as HTML (``_repr_html_``). Subclasses set ``what`` for the repr."""

    what = "HTML fragment"

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<setdyn {self.what}: {len(self.encode()) / 1024:.0f} kB of HTML; display it or write it into a page>"


def default_note(twin: Any) -> str:
    """The note that is true under ``twin``: :data:`INTERACTIVE_TWIN_NOTE` when it is a plotly figure with
    its own slider or buttons (``layout.sliders`` / ``layout.updatemenus``), else :data:`LIVE_NOTE`."""
    if hasattr(twin, "to_plotly_json") or (isinstance(twin, dict) and "data" in twin):
        spec = twin.to_plotly_json() if hasattr(twin, "to_plotly_json") else twin
        layout = spec.get("layout") or {}
        if layout.get("sliders") or layout.get("updatemenus"):
            return INTERACTIVE_TWIN_NOTE
    return LIVE_NOTE


_counter = itertools.count(1)


def _json_fig(fig: Any) -> dict:
    """A JSON-compatible dict (data, layout, frames, config) for a plotly figure or such a dict."""
    import plotly.io as pio

    if isinstance(fig, dict) and not hasattr(fig, "to_plotly_json"):
        return json.loads(pio.to_json(fig, validate=False, remove_uids=False))
    # validates the figure and encodes numpy arrays the way plotly.js reads them (typed arrays)
    return json.loads(pio.to_json(fig, validate=True, remove_uids=False))


def figure_html(fig: Any, *, div_id: str | None = None) -> str:
    """HTML for one plotly figure: a div and an inline script calling ``Plotly.newPlot``.

    ``fig`` is a plotly figure or the JSON of one (the content of an
    ``application/vnd.plotly.v1+json`` output). The script expects
    ``window.Plotly``; the book provides it (one ``<script src=".../_vendor/plotly.min.js">``
    per page that has a figure).
    """
    import plotly.io as pio

    fig_json = _json_fig(fig)
    config = {**PLOTLY_CONFIG, **(fig_json.pop("config", None) or {})}
    if div_id is None:
        digest = hashlib.sha1(json.dumps(fig_json, sort_keys=True).encode()).hexdigest()[:10]
        div_id = f"setdyn-fig-{next(_counter)}-{digest}"
    height = (fig_json.get("layout") or {}).get("height") or 450
    body = pio.to_html(
        fig_json,
        config=config,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        default_width="100%",
        default_height=f"{int(height)}px",
        div_id=div_id,
        auto_play=False,
        validate=False,
    )
    return f'<div class="setdyn-figure">{body}</div>'


def figure_bundle(fig: Any) -> dict[str, Any]:
    """The mime bundle :func:`show` publishes: plotly JSON (with the book's config) and plain text."""
    fig_json = _json_fig(fig)
    fig_json["config"] = {**PLOTLY_CONFIG, **(fig_json.get("config") or {})}
    title = (fig_json.get("layout") or {}).get("title") or {}
    title_text = title.get("text") if isinstance(title, dict) else title
    return {
        PLOTLY_MIME: {k: v for k, v in fig_json.items() if k in ("data", "layout", "frames", "config")},
        "text/plain": f"<plotly figure{': ' + str(title_text) if title_text else ''}>",
    }


def show(fig: Any) -> None:
    """Display a plotly figure (same as ``fig.show()``, plus the book's plotly config)."""
    from IPython.display import display

    display(figure_bundle(fig), raw=True)


def _twin_html(twin: Any) -> str:
    if twin is None:
        return ""
    if isinstance(twin, str):
        return twin
    if hasattr(twin, "to_plotly_json") or (isinstance(twin, dict) and "data" in twin):
        return figure_html(twin)
    if hasattr(twin, "_repr_html_"):
        return twin._repr_html_() or ""
    raise TypeError(f"cannot turn {type(twin).__name__} into static HTML; pass a plotly figure or an HTML string")


def live_bundle(widget: Any, twin: Any = None, note: str | None = None) -> dict[str, Any]:
    """The mime bundle :func:`live` publishes (``note`` None: :func:`default_note` of the twin; "" for none)."""
    if note is None:
        note = default_note(twin)
    repr_bundle = getattr(widget, "_repr_mimebundle_", None)
    bundle = repr_bundle() if callable(repr_bundle) else None
    if not bundle or WIDGET_MIME not in bundle:
        raise TypeError(f"{type(widget).__name__} is not a displayable ipywidget")
    note_html = (
        f'<p class="setdyn-live-note" style="font-style:italic;opacity:0.75">{html.escape(note)}</p>'
        if note
        else ""
    )
    bundle = dict(bundle)
    bundle["text/html"] = f'<div class="setdyn-live">{_twin_html(twin)}{note_html}</div>'
    return bundle


def live(widget: Any, twin: Any = None, note: str | None = None) -> None:
    """Display an ipywidgets control that is live in Jupyter and has a static twin in the book.

    ``twin`` is what the static HTML shows in place of the control: a plotly
    figure (e.g. the same plot at its default setting, or with plotly's own
    slider), an HTML string (e.g. a plain-JS version of the control), or
    ``None`` for the note alone. ``note`` is printed under the twin and must be
    true there: by default :func:`default_note` (a picture: "runs only in
    Jupyter"; a figure with its own slider or buttons: those work here, the full
    controls in Jupyter); pass a sentence naming what works in the page when
    the default is too vague.
    """
    from IPython.display import display

    display(live_bundle(widget, twin, note), raw=True)


class SortableTable:
    """A table the book draws as a sortable, filterable HTML table (see :func:`sortable_table`)."""

    def __init__(self, html_text: str) -> None:
        self.html = html_text

    def _repr_html_(self) -> str:
        return self.html


def _cell_text(value: Any, digits: int) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def sortable_table(df: Any, *, caption: str = "", digits: int = 4, max_height_px: int = 480) -> SortableTable:
    """Every row of a pandas DataFrame as an HTML table a reader can sort and filter.

    In the book, ``_static/setdyn-table.js`` (shipped by :mod:`setdyn.book.sphinx_ext`)
    adds click-to-sort headers and a filter box to every ``.setdyn-table``; in
    Jupyter the same HTML is a plain scrollable table. Floats are shown with
    ``digits`` significant digits; sorting uses the full value (``data-value``).
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"sortable_table needs a pandas DataFrame, got {type(df).__name__}")
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits}")
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns}
    head = "".join(
        f'<th scope="col" data-type="{"num" if numeric[c] else "text"}" tabindex="0">{html.escape(str(c))}</th>'
        for c in df.columns
    )
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            text = html.escape(_cell_text(v, digits))
            if numeric[c]:
                raw = "" if text == "" else repr(float(v))
                cells.append(f'<td class="num" data-value="{raw}">{text}</td>')
            else:
                cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    body = (
        f'<div class="setdyn-table" data-rows="{len(df)}">'
        f'<div class="setdyn-table-scroll" style="max-height:{int(max_height_px)}px;overflow:auto">'
        f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></div>"
    )
    return SortableTable(body)
