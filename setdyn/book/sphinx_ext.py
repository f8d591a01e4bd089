"""Sphinx extension for the setdyn book (loaded from ``_config.yml``).

What it does, all offline:

* renders plotly figures: a myst-nb mime renderer for
  ``application/vnd.plotly.v1+json`` (plotly's default output, which myst-nb
  would otherwise drop with "unknown mime type") that writes a ``<div>`` and
  an inline ``Plotly.newPlot`` call, with the figure's alt text (``aria-label``)
  from its cell's ``mystnb: figure:`` metadata; a plotly figure without a
  name, caption and alt text is a warning (every figure is numbered);
* copies ``plotly.min.js`` from the *installed* plotly package to
  ``<html>/_vendor/plotly.min.js`` (outside ``_static``, so it is not put on
  every page) and adds one ``<script src>`` for it to each page whose HTML
  contains a plotly figure;
* before myst-nb picks one representation per output, fails the build (a
  Sphinx warning, an error under ``-W``) for an ipywidget without a static
  twin (use ``setdyn.display.live(widget, twin)``): the static page cannot
  draw it;
* drops the ipywidgets state myst-nb would embed in pages: the book has no
  widget manager (no CDN), widgets show their static twin instead;
* strips sphinx-thebe (always loaded by Jupyter Book, unused here) from the
  pages: it only carries a CDN URL;
* checks that MathJax and the myst-nb widget scripts do not point to a CDN;
* ships the book's own style and scripts (``setdyn/book/static``, small, on every
  page): ``setdyn.css`` (phone and dark-theme layout, tables), ``setdyn-layout.js``
  (plotly figures re-laid out on a narrow screen) and ``setdyn-table.js``
  (sortable, filterable tables of :func:`setdyn.display.sortable_table`).
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import re
import shutil
from html import escape as html_escape
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

from setdyn.display import PLOTLY_MIME, WIDGET_MIME, figure_html

LOGGER = logging.getLogger(__name__)

VENDOR_DIR = "_vendor"
PLOTLY_JS = f"{VENDOR_DIR}/plotly.min.js"
# A page gets plotly.js when its HTML contains one of these: plotly's own figure div
# (also what hand-written HTML+JS explorers should use), or an explicit request.
PLOTLY_MARKERS = ('class="plotly-graph-div"', "data-setdyn-needs-plotly")


def plotly_js_source() -> Path:
    """plotly.min.js shipped inside the installed plotly Python package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package: {path}")
    return path


HTML_BUILDERS = ("html", "dirhtml", "singlehtml")

#: The book's own static files (copied to ``_static``; loaded by every page).
STATIC_DIR = Path(__file__).parent / "static"
STATIC_CSS = ("setdyn.css",)
STATIC_JS = ("setdyn-layout.js", "setdyn-table.js")


def add_static_files(app: Sphinx, config: Any) -> None:
    """Put :data:`STATIC_DIR` on the static path and its CSS and JS on every page."""
    for name in (*STATIC_CSS, *STATIC_JS):
        if not (STATIC_DIR / name).is_file():
            raise FileNotFoundError(f"setdyn static file missing: {STATIC_DIR / name}")
    config.html_static_path = [*list(config.html_static_path or []), str(STATIC_DIR)]
    for name in STATIC_CSS:
        app.add_css_file(name)
    # not deferred: explorers' inline scripts call window.setdynLayout while the page loads
    for name in STATIC_JS:
        app.add_js_file(name)


class PlotlyMimeRenderer:
    """myst-nb mime render plugin (``myst_nb.core.render.MimeRenderPlugin``) for plotly figures."""

    # Prefer the figure over any HTML/JS fallback plotly may add (e.g. a CDN <script>).
    mime_priority_overrides = [(name, PLOTLY_MIME, 5) for name in HTML_BUILDERS]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[nodes.Element] | None:
        if data.mime_type != PLOTLY_MIME or inline:
            return None
        content = data.content
        if isinstance(content, (str, bytes)):
            content = json.loads(content)
        digest = hashlib.sha1(json.dumps(content, sort_keys=True).encode()).hexdigest()[:10]
        div_id = f"plotly-{digest}-{data.cell_index}-{data.output_index}"
        html = figure_html(dict(content), div_id=div_id)
        html = with_alt_text(html, content, figure_options(data.cell_metadata), renderer.source, data.line)
        return [nodes.raw(text=html, format="html", classes=["output", "text_html"])]


#: Keys a figure cell's ``mystnb: figure:`` metadata must give (``alt`` is ours; myst-nb ignores it).
FIGURE_KEYS = ("name", "caption", "alt")
_FIGURE_WRAPPER = '<div class="setdyn-figure">'


def figure_options(cell_metadata: dict | None) -> dict:
    """The ``mystnb: figure:`` options of a cell (``{}`` when it has none)."""
    options = ((cell_metadata or {}).get("mystnb") or {}).get("figure") or {}
    return options if isinstance(options, dict) else {}


def with_alt_text(html: str, content: dict, options: dict, source: str, line: int | None) -> str:
    """Give a plotly figure's HTML its alt text (``aria-label``) from the cell's figure options.

    Every plotly figure of the book is a numbered figure: its cell needs
    ``mystnb: figure: {name, caption, alt}`` (a Sphinx warning, an error under ``-W``,
    names what is missing). A figure the reader only looks at gets ``role="img"``;
    one with its own controls (sliders, buttons, a 3-D scene to drag) gets
    ``role="group"``, so that its controls stay reachable.
    """
    missing = [key for key in FIGURE_KEYS if not str(options.get(key, "")).strip()]
    if missing:
        LOGGER.warning(
            f"plotly figure without {', '.join(missing)}: give its cell the metadata "
            "`mystnb: figure: {name: fig-..., caption: ..., alt: ...}` (see the appendix, 'Figures')",
            location=(source, line),
            type="setdyn",
            subtype="figure",
        )
    alt = str(options.get("alt", "")).strip()
    if not alt or not html.startswith(_FIGURE_WRAPPER):
        return html
    layout = content.get("layout") or {}
    interactive = bool(layout.get("sliders") or layout.get("updatemenus") or layout.get("scene"))
    role = "group" if interactive else "img"
    attrs = f'<div class="setdyn-figure" role="{role}" aria-label="{html_escape(alt, quote=True)}">'
    return attrs + html[len(_FIGURE_WRAPPER):]


def register_plotly_renderer() -> None:
    """Add :class:`PlotlyMimeRenderer` to myst-nb's mime render plugins.

    myst-nb discovers plugins through the ``myst_nb.mime_renderers`` entry
    point group; registering here keeps the book working without reinstalling
    the package.
    """
    from myst_nb.core import render as nb_render

    found = getattr(nb_render, "load_mime_renders", None)
    if found is None:
        raise RuntimeError("myst_nb.core.render.load_mime_renders is gone: update setdyn.book.sphinx_ext")
    if getattr(found, "_setdyn", False):
        return

    def load_mime_renders() -> list:
        plugins = list(found())
        return plugins if PlotlyMimeRenderer in plugins else [*plugins, PlotlyMimeRenderer]

    load_mime_renders._setdyn = True  # type: ignore[attr-defined]
    nb_render.load_mime_renders = load_mime_renders


class CheckOutputsDrawable(SphinxPostTransform):
    """Warn about notebook outputs the static HTML cannot draw.

    Runs before myst-nb's ``SelectMimeType`` (priority 4), which would
    otherwise drop them silently (widgets) or with a generic warning (plotly).
    """

    default_priority = 3
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(nodes.container)):
            if node.get("nb_element") != "mime_bundle":
                continue
            mimes = {child.get("mime_type") for child in node.children}
            if "text/html" in mimes or PLOTLY_MIME in mimes:
                continue
            if WIDGET_MIME in mimes:
                LOGGER.warning(
                    "ipywidget without a static twin: display it with "
                    "setdyn.display.live(widget, twin), or tag the cell remove-output",
                    location=node,
                    type="setdyn",
                    subtype="widget",
                )


def drop_widget_state(app: Sphinx, doctree: nodes.document) -> None:
    """Remove the ipywidgets state script myst-nb registers for a page (no manager to use it)."""
    meta = getattr(app.env, "nb_metadata", None)
    if not meta:
        return
    js_files = meta.get(app.env.docname, {}).get("js_files", {})
    for key in [k for k in js_files if k.startswith("ipywidgets")]:
        del js_files[key]


def add_plotly_script(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Load plotly.js (once) at the top of the body of pages that contain a figure."""
    body = context.get("body") or ""
    if not any(marker in body for marker in PLOTLY_MARKERS):
        return
    src = context["pathto"](PLOTLY_JS, 1)
    context["body"] = f'<script src="{src}"></script>\n{body}'


_THEBE_BODY_RE = re.compile(
    r"""\s*<script type="text/x-thebe-config">.*?</script>\s*<script>kernelName = '[^']*'</script>""", re.S
)


def drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Remove sphinx-thebe's files and page config (Jupyter Book always loads it).

    The book has no thebe button (``launch_buttons.thebe: false``), so these
    only carry a CDN URL (``THEBE_JS_URL``) and a placeholder Binder repo.
    """
    if context.get("body"):
        context["body"] = _THEBE_BODY_RE.sub("\n", context["body"])
    for key in ("script_files", "css_files"):
        files = context.get(key)
        if not files:
            continue
        keep = [
            f
            for f in files
            if "sphinx-thebe" not in str(getattr(f, "filename", f) or "")
            and "THEBE_JS_URL" not in str(getattr(f, "attributes", {}).get("body", ""))
        ]
        files[:] = keep


def copy_vendor_files(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / PLOTLY_JS
    src = plotly_js_source()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or not filecmp.cmp(src, dest, shallow=False):
        shutil.copyfile(src, dest)


def check_config(app: Sphinx, config: Any) -> None:
    mathjax = str(getattr(config, "mathjax_path", "") or "")
    if "://" in mathjax or mathjax.startswith("//"):
        LOGGER.warning(
            f"mathjax_path points to the internet ({mathjax}); load sphinx-mathjax-offline",
            type="setdyn",
            subtype="offline",
        )
    widget_js = getattr(config, "nb_ipywidgets_js", None) or {}
    if widget_js:
        LOGGER.warning(
            "nb_ipywidgets_js must be {} (it loads require.js and the widget manager from a CDN)",
            type="setdyn",
            subtype="offline",
        )


def setup(app: Sphinx) -> dict[str, Any]:
    register_plotly_renderer()
    app.add_post_transform(CheckOutputsDrawable)
    app.connect("config-inited", check_config, priority=900)
    app.connect("config-inited", add_static_files, priority=910)
    app.connect("doctree-read", drop_widget_state)
    app.connect("html-page-context", add_plotly_script)
    app.connect("html-page-context", drop_thebe, priority=900)
    app.connect("build-finished", copy_vendor_files)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
