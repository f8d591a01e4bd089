"""The built book, checked as files and in a real browser (Playwright + Debian Chromium).

The book is built first when ``_build/html`` is missing or older than any
chapter, config file or ``setdyn`` source (fixture ``built_book``). Every page
is served from 127.0.0.1 and must load with no JS console errors and no
request leaving the machine; every plotly figure must have drawn, every
formula must be typeset, and every plotly slider must change its figure when
moved. A screenshot of each page is saved under ``_build/screenshots/``.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest

from setdyn.book.build import toc_files

from conftest import ROOT, SCREENSHOTS

# Pages: every entry of _toc.yml, plus the pages Sphinx adds.
PAGES = [f"{name}.html" for name in toc_files(ROOT)] + ["index.html", "search.html", "genindex.html"]

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)
FETCHING_LINK_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "prefetch", "manifest", "apple-touch-icon"}

WAIT_PLOTS_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].every(
    gd => gd._fullLayout && gd._fullData && gd.querySelector('svg.main-svg'))"""

PLOTS_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(gd => {
    const gl = gd.querySelectorAll('.gl-container canvas');
    const marks = gd.querySelectorAll(
        '.trace path:not([d=""]), .trace .point, .trace text, .hm image, .contour path').length;
    return {
        id: gd.id,
        traces: (gd._fullData || []).length,
        points: (gd._fullData || []).reduce((n, t) => n + ((t.x && t.x.length) || (t.y && t.y.length)
                 || (t.z && t.z.length) || (t.values && t.values.length) || 0), 0),
        svg: !!gd.querySelector('svg.main-svg'),
        marks: marks,
        glCanvases: [...gl].filter(c => c.width > 0 && c.height > 0).length,
        hasGl: (gd._fullLayout._has && gd._fullLayout._has('gl')) || !!gd._fullLayout.scene,
        noWebgl: !!gd.querySelector('.no-webgl'),
        sliders: ((gd._fullLayout.sliders) || []).length,
    };
})"""

MATHJAX_READY_JS = """async () => {
    if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return null;
    await MathJax.startup.promise;
    return true;
}"""

MATH_JS = """() => ({
    sources: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('.math mjx-container, mjx-container.MathJax').length,
    errors: document.querySelectorAll('mjx-merror').length,
    mathjax: !!window.MathJax,
})"""

# A snapshot of what a figure shows: trace data as drawn (_fullData, typed arrays decoded)
# and the layout minus the slider's own state.
SNAPSHOT_JS = """(gd) => JSON.stringify({
    data: gd._fullData.map(t => Object.fromEntries(
        ['x', 'y', 'z', 'visible', 'text', 'r', 'theta', 'values']
            .filter(k => t[k] !== undefined)
            .map(k => [k, ArrayBuffer.isView(t[k]) ? Array.from(t[k]) : t[k]]))),
    layout: Object.fromEntries(Object.entries(gd.layout).filter(([k]) => !['sliders', 'updatemenus'].includes(k))),
})"""


def _screenshot_path(page_name: str) -> Path:
    return SCREENSHOTS / (page_name.replace("/", "__").removesuffix(".html") + ".png")


def _open(guarded_page, book_server, page_name):
    guarded = guarded_page()
    page = guarded.page
    page.goto(book_server + page_name, wait_until="load")
    page.wait_for_load_state("networkidle")
    return guarded, page


# --------------------------------------------------------------------------- files


def test_no_internet_script_or_stylesheet(built_book):
    """No page (or stylesheet) makes the browser fetch a script, stylesheet, font or image from the internet."""
    from bs4 import BeautifulSoup

    problems = []
    pages = sorted(built_book.rglob("*.html"))
    assert pages, "no HTML pages built"
    for path in pages:
        soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "html.parser")
        rel = path.relative_to(built_book)
        for tag in soup.find_all(["script", "img", "iframe", "source", "video", "audio", "embed"]):
            src = tag.get("src") or ""
            if EXTERNAL.match(src):
                problems.append(f"{rel}: <{tag.name} src={src}>")
        for tag in soup.find_all("link"):
            rels = {r.lower() for r in (tag.get("rel") or [])}
            if rels & FETCHING_LINK_RELS and EXTERNAL.match(tag.get("href") or ""):
                problems.append(f"{rel}: <link rel={' '.join(rels)} href={tag.get('href')}>")
        for style in soup.find_all("style"):
            if re.search(r"(@import|url\()\s*['\"]?(https?:)?//", style.get_text()):
                problems.append(f"{rel}: <style> imports from the internet")
    for css in built_book.rglob("*.css"):
        if re.search(r"(@import\s+(url\()?|url\()\s*['\"]?(https?:)?//", css.read_text(errors="replace")):
            problems.append(f"{css.relative_to(built_book)}: CSS loads from the internet")
    assert not problems, "the built book loads resources from the internet:\n" + "\n".join(problems)


def test_no_widget_placeholders(built_book):
    """Widgets never appear as an empty box: no widget views, no widget manager, no 'Loading widget'."""
    for path in sorted(built_book.rglob("*.html")):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(built_book)
        assert "application/vnd.jupyter.widget-view+json" not in text, f"{rel}: widget view without a manager"
        assert "application/vnd.jupyter.widget-state+json" not in text, f"{rel}: embedded widget state"
        # in what a cell shows (the appendix's prose may name the placeholder it avoids)
        outputs = re.findall(r'<div class="cell_output.*?</div>\s*</div>', text, re.S)
        assert not any("Loading widget" in out for out in outputs), f"{rel}: 'Loading widget...'"
        assert not re.search(r"embed-amd|require(\.min)?\.js|html-manager", text), f"{rel}: widget manager script"


def test_vendored_files(built_book):
    """plotly.js is the installed plotly's copy, outside _static; MathJax is local."""
    from setdyn.book.sphinx_ext import PLOTLY_MARKERS, plotly_js_source

    vendored = built_book / "_vendor" / "plotly.min.js"
    assert vendored.is_file()
    assert filecmp.cmp(vendored, plotly_js_source(), shallow=False), "stale plotly.min.js in _vendor"
    assert not list((built_book / "_static").rglob("plotly*.js")), "plotly.js must not be in _static"
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    # Jupyter Book puts every .js/.css of the source _static folder on every page: keep it small.
    src_static = ROOT / "_static"
    if src_static.exists():
        big = [p for p in src_static.rglob("*") if p.is_file() and p.stat().st_size > 200_000]
        assert not big, f"large files in _static are loaded on every page: {big}"
    # plotly.js is only loaded by pages that have a figure
    for path in built_book.rglob("*.html"):
        text = path.read_text(encoding="utf-8", errors="replace")
        has_fig = any(marker in text for marker in PLOTLY_MARKERS)
        loads = len(re.findall(r"<script[^>]*\bsrc=\"[^\"]*_vendor/plotly\.min\.js\"", text))
        assert loads == (1 if has_fig else 0), f"{path.relative_to(built_book)} loads plotly.js {loads} times"


def test_launch_buttons_point_at_chapters(built_book):
    """Each notebook chapter has a Binder button opening that chapter in JupyterLab."""
    from setdyn.book.build import page_source, is_notebook

    for name in toc_files(ROOT):
        if not is_notebook(page_source(name, ROOT)):
            continue
        text = (built_book / f"{name}.html").read_text(encoding="utf-8")
        suffix = page_source(name, ROOT).suffix
        assert re.search(rf"https://mybinder\.org/v2/[^\"']*\?urlpath=lab/tree/{re.escape(name + suffix)}", text), (
            f"{name}: no Binder launch button for {name}{suffix}"
        )


# --------------------------------------------------------------------------- browser


@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_browser(page_name, guarded_page, book_server):
    guarded, page = _open(guarded_page, book_server, page_name)

    page.wait_for_function(WAIT_PLOTS_JS, timeout=30_000)
    if page.evaluate("() => !!window.MathJax"):
        page.evaluate(MATHJAX_READY_JS)
    page.wait_for_timeout(300)  # let WebGL scenes and fonts settle before the screenshot

    plots = page.evaluate(PLOTS_JS)
    for plot in plots:
        assert plot["svg"], f"{page_name}: figure {plot['id']} has no svg"
        assert plot["traces"] > 0 and plot["points"] > 0, f"{page_name}: figure {plot['id']} has no data: {plot}"
        assert not plot["noWebgl"], f"{page_name}: figure {plot['id']}: WebGL unavailable"
        if plot["hasGl"]:
            assert plot["glCanvases"] > 0, f"{page_name}: 3-D figure {plot['id']} drew no canvas: {plot}"
        else:
            assert plot["marks"] > 0, f"{page_name}: figure {plot['id']} drew no traces: {plot}"

    math = page.evaluate(MATH_JS)
    if math["sources"]:
        assert math["mathjax"], f"{page_name}: has math but MathJax is not loaded"
        assert math["typeset"] >= math["sources"], f"{page_name}: math not typeset: {math}"
        assert math["errors"] == 0, f"{page_name}: MathJax errors: {math}"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(_screenshot_path(page_name)), full_page=True)
    guarded.assert_clean(page_name)


def test_plotly_sliders_change_their_figure(guarded_page, book_server, built_book):
    """Every plotly slider in the book changes its figure when moved (there is at least one)."""
    moved = []
    for page_name in PAGES:
        if '"sliders"' not in (built_book / page_name).read_text(encoding="utf-8", errors="replace"):
            continue  # no plotly slider on this page: do not load it again
        guarded, page = _open(guarded_page, book_server, page_name)
        page.wait_for_function(WAIT_PLOTS_JS, timeout=30_000)
        for gd in page.query_selector_all(".plotly-graph-div"):
            n_sliders = gd.evaluate("gd => (gd._fullLayout.sliders || []).length")
            for s in range(n_sliders):
                gd.scroll_into_view_if_needed()
                steps, active = gd.evaluate(
                    f"gd => [gd._fullLayout.sliders[{s}].steps.length, gd._fullLayout.sliders[{s}].active]"
                )
                target = 0 if active == steps - 1 else steps - 1
                before = gd.evaluate(SNAPSHOT_JS)
                rail = gd.query_selector_all(".slider-container .slider-rail-touch-rect")[s]
                box = rail.bounding_box()
                x = box["x"] + (box["width"] - 3 if target == steps - 1 else 3)
                page.mouse.click(x, box["y"] + box["height"] / 2)
                page.wait_for_function(
                    f"gd => gd._fullLayout.sliders[{s}].active === {target}", arg=gd, timeout=5_000
                )
                page.wait_for_timeout(200)
                after = gd.evaluate(SNAPSHOT_JS)
                gd_id = gd.evaluate("gd => gd.id")
                assert after != before, f"{page_name}: slider {s} of figure {gd_id} moved but the figure did not change"
                moved.append(f"{page_name}#{gd_id}/{s}")
        guarded.assert_clean(page_name)
    assert moved, "no plotly slider anywhere in the book: the slider test has nothing to test"
