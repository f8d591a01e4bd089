"""The built book's layout on a desktop and on a phone, in the light and the dark theme.

For every page at 1366x900 and 390x844 (one Chromium, pages in sequence):

* no element sticks out of the viewport (nothing makes the page scroll sideways;
  a wide table or equation scrolls inside its own box);
* in every plotly figure the title, the mode bar (if any), the legend, the
  subplot titles and the plot areas do not overlap (bounding boxes from the DOM:
  ``.gtitle``, ``.modebar``, ``.legend``, ``.annotation``, ``.nsewdrag``);
* no console error;
* in the dark theme every button's text is legible (contrast >= 3 against the
  background it is drawn on).

Screenshots: ``_build/screenshots/layout/<page>-<desktop|phone>[-dark].png``.
"""

from __future__ import annotations

import pytest

from setdyn.book.build import toc_files

from conftest import ROOT, SCREENSHOTS

PAGES = [f"{name}.html" for name in toc_files(ROOT)]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
SHOTS = SCREENSHOTS / "layout"

WAIT_PLOTS_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].every(
    gd => gd._fullLayout && gd.querySelector('svg.main-svg'))"""

SETTLE_JS = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return true;
}"""

# Elements whose right edge is beyond the viewport, unless an ancestor scrolls or clips them.
TOO_WIDE_JS = """() => {
    const vw = document.documentElement.clientWidth;
    const out = [];
    const clipped = el => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            const ox = getComputedStyle(a).overflowX;
            if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') return true;
        }
        return false;
    };
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= vw + 1) continue;
        if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
        const pos = getComputedStyle(el).position;
        if (pos === 'fixed' && r.left >= vw - 1) continue;   /* an off-canvas drawer */
        if (clipped(el)) continue;
        out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} right=${Math.round(r.right)}`);
    }
    return {scrollWidth: document.documentElement.scrollWidth, vw, out: out.slice(0, 8), n: out.length};
}"""

# Per figure: the boxes that must not overlap.
FIGURE_BOXES_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(gd => {
    const box = (el, what) => {
        if (!el) return null;
        const r = el.getBoundingClientRect();
        const cs = getComputedStyle(el);
        if (r.width < 1 || r.height < 1 || cs.display === 'none' || cs.visibility === 'hidden') return null;
        return {what, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
    };
    const boxes = [];
    const mb = gd.querySelector('.modebar');
    const mbc = gd.querySelector('.modebar-container');
    if (mb && (!mbc || getComputedStyle(mbc).display !== 'none')) boxes.push(box(mb, 'mode bar'));
    boxes.push(box(gd.querySelector('.gtitle'), 'title'));
    gd.querySelectorAll('.legend .bg').forEach(el => boxes.push(box(el, 'legend')));
    gd.querySelectorAll('.draglayer .nsewdrag').forEach((el, i) => boxes.push(box(el, 'plot area ' + i)));
    gd.querySelectorAll('.infolayer .annotation').forEach((el, i) => {
        const a = (gd._fullLayout.annotations || [])[Number(el.dataset.index)] || {};
        // subplot titles and other labels placed outside any plot area (paper coordinates)
        if (a.xref === 'paper' && a.yref === 'paper') boxes.push(box(el.querySelector('.annotation-text-g') || el, 'label "' + (a.text || '').slice(0, 30) + '"'));
    });
    // axis titles (not a colour bar's, which sits on its plot by design)
    gd.querySelectorAll('.infolayer text[class^="x"][class$="title"], .infolayer text[class^="y"][class$="title"]')
        .forEach(el => el.closest('.colorbar') || boxes.push(box(el, 'axis title "' + (el.textContent || '').slice(0, 30) + '"')));
    const f = gd.querySelector('.main-svg').getBoundingClientRect();
    return {id: gd.id, boxes: boxes.filter(Boolean), frame: {x0: f.left, y0: f.top, x1: f.right, y1: f.bottom}};
})"""

# Every visible button in the dark theme: its text colour against the background it sits on.
BUTTON_CONTRAST_JS = """() => {
    const parse = c => { const m = c.match(/[\\d.]+/g) || []; return m.map(Number); };
    const lum = ([r, g, b]) => {
        const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = el => {
        for (let a = el; a; a = a.parentElement) {
            const c = parse(getComputedStyle(a).backgroundColor);
            if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
        }
        return [255, 255, 255];
    };
    const bad = [];
    for (const b of document.querySelectorAll('button, .btn, input[type=button], input[type=search], select')) {
        if (!b.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
        const r = b.getBoundingClientRect();
        if (r.width < 2 || r.height < 2) continue;
        const text = (b.innerText || b.value || b.placeholder || '').trim();
        if (!text) continue;   /* icon buttons: the theme styles them */
        const fg = parse(getComputedStyle(b).color), bg = background(b);
        const l1 = lum(fg), l2 = lum(bg);
        const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
        if (ratio < 3) bad.push(`${text.slice(0, 20)}: ${ratio.toFixed(2)}`);
    }
    return bad;
}"""


def overlaps(boxes: list[dict], tol: float = 2.0, text_tol: float = 4.0) -> list[str]:
    """Pairs of boxes that overlap by more than ``tol`` px in both directions (plot areas may touch); an axis
    title's box holds its line's ascent and descent, so a pair with one may overlap by ``text_tol`` px."""
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a["what"].startswith("plot area") and b["what"].startswith("plot area"):
                continue  # overlaid axes share a plot area
            t = text_tol if "axis title" in a["what"] + b["what"] else tol
            dx = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            dy = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
            if dx > t and dy > t:
                found.append(f"{a['what']} / {b['what']} ({dx:.0f} x {dy:.0f} px)")
    return found


def clipped(boxes: list[dict], frame: dict, tol: float = 2.0) -> list[str]:
    """Titles, labels, axis titles and legends that stick out of their figure by more than ``tol`` px (the
    figure clips them)."""
    return [f"{b['what']} cut off by the figure's edge" for b in boxes
            if (b["what"] in ("title", "legend") or b["what"].startswith(("label", "axis title")))
            and (b["x0"] < frame["x0"] - tol or b["y0"] < frame["y0"] - tol
                 or b["x1"] > frame["x1"] + tol or b["y1"] > frame["y1"] + tol)]


def test_clipped_finds_a_label_above_the_figure_and_an_axis_title_past_its_side():
    frame = {"x0": 0, "y0": 100, "x1": 390, "y1": 600}
    top = {"what": 'label "tanh networks"', "x0": 150, "y0": 92, "x1": 250, "y1": 108}
    inside = {"what": 'label "relu networks"', "x0": 150, "y0": 300, "x1": 250, "y1": 316}
    side = {"what": 'axis title "phase codes (% of the setting"', "x0": 80, "y0": 560, "x1": 398, "y1": 578}
    assert clipped([top, inside, side], frame) == ['label "tanh networks" cut off by the figure\'s edge',
                                                   'axis title "phase codes (% of the setting" cut off by the '
                                                   'figure\'s edge']


def test_overlaps_finds_an_overlap():
    a = {"what": "title", "x0": 0, "y0": 0, "x1": 100, "y1": 20}
    b = {"what": "mode bar", "x0": 90, "y0": 5, "x1": 150, "y1": 30}
    c = {"what": "legend", "x0": 0, "y0": 21, "x1": 80, "y1": 40}
    assert overlaps([a, b]) and not overlaps([a, c])
    x_title = {"what": 'axis title "PC1"', "x0": 10, "y0": 37, "x1": 40, "y1": 55}  # 3 px into the legend
    assert not overlaps([c, x_title]) and overlaps([c, dict(x_title, y0=33)])


def _load(guarded_page, book_server, page_name, size, dark):
    guarded = guarded_page(viewport=SIZES[size])
    page = guarded.page
    if dark:
        page.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
    # generous limits: on a loaded 2-core machine a page with several figures takes tens of seconds
    page.goto(book_server + page_name, wait_until="load", timeout=120_000)
    page.wait_for_load_state("networkidle", timeout=120_000)
    page.wait_for_function(WAIT_PLOTS_JS, timeout=120_000)
    page.evaluate(SETTLE_JS)
    # the phone layout (setdyn-layout.js) re-lays figures out after they are drawn
    page.wait_for_function("() => !window.setdynLayout || window.setdynLayout.settled()", timeout=120_000)
    page.wait_for_timeout(200)
    return guarded, page


#: The dark theme is checked at one size: its colours are the same at every width, and each page load costs
#: tens of seconds on a loaded 2-core machine (the phone: the tighter layout).
DARK_SIZE = "phone"


@pytest.mark.parametrize("page_name", PAGES)
def test_page_layout(page_name, guarded_page, book_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    stem = page_name.removesuffix(".html")
    problems = []
    for size in SIZES:
        guarded, page = _load(guarded_page, book_server, page_name, size, dark=False)
        wide = page.evaluate(TOO_WIDE_JS)
        if wide["scrollWidth"] > wide["vw"] + 1 or wide["n"]:
            problems.append(f"{size}: wider than the screen ({wide['scrollWidth']} > {wide['vw']} px): {wide['out']}")
        for fig in page.evaluate(FIGURE_BOXES_JS):
            for pair in overlaps(fig["boxes"]) + clipped(fig["boxes"], fig["frame"]):
                problems.append(f"{size}: figure {fig['id']}: {pair}")
        page.screenshot(path=str(SHOTS / f"{stem}-{size}.png"), full_page=True)
        problems += [f"{size}: {p}" for p in guarded.problems]
        problems += [f"{size}: request outside the book: {u}" for u in guarded.external_requests]

        if size != DARK_SIZE:
            continue
        guarded, page = _load(guarded_page, book_server, page_name, size, dark=True)
        assert page.evaluate("() => document.documentElement.dataset.theme") == "dark", "dark theme not applied"
        for bad in page.evaluate(BUTTON_CONTRAST_JS):
            problems.append(f"{size}, dark: illegible button {bad}")
        page.screenshot(path=str(SHOTS / f"{stem}-{size}-dark.png"), full_page=True)
        problems += [f"{size}, dark: {p}" for p in guarded.problems]
    assert not problems, f"{page_name}:\n  " + "\n  ".join(problems)


def test_phone_stacks_side_by_side_panels(guarded_page, book_server):
    """Chapter 4's two-panel phase portrait: side by side on a desktop, stacked on a phone."""
    columns_js = """() => [...document.querySelectorAll('.setdyn-figure .plotly-graph-div')].map(gd =>
        new Set([...gd.querySelectorAll('.draglayer .nsewdrag')].map(r => Math.round(r.getBoundingClientRect().left))).size)"""
    _, page = _load(guarded_page, book_server, "book/04_phase_portrait.html", "desktop", dark=False)
    desktop = page.evaluate(columns_js)
    _, page = _load(guarded_page, book_server, "book/04_phase_portrait.html", "phone", dark=False)
    phone = page.evaluate(columns_js)
    assert max(desktop) > 1, f"no side-by-side panels on the desktop: {desktop}"
    assert max(phone) == 1, f"panels side by side on a phone: {phone}"


def test_sweep_table_sorts_and_filters(guarded_page, book_server):
    """Chapter 7's tables of networks (the map's, then the first sweep's): every row, click-to-sort headers
    and a filter box."""
    _, page = _load(guarded_page, book_server, "book/07_sweep.html", "desktop", dark=False)
    assert page.locator(".setdyn-table").count() == 2
    for i, label in enumerate(["phase-code", "phase-oscillator"]):
        rows = f"[...document.querySelectorAll('.setdyn-table')[{i}].querySelectorAll('tbody tr')]"
        table = page.locator(".setdyn-table").nth(i)
        n = int(table.get_attribute("data-rows"))
        assert n > 10 and table.locator("tbody tr").count() == n
        header = table.locator("th", has_text="period_ms")
        col = page.evaluate(f"() => [...document.querySelectorAll('.setdyn-table')[{i}].querySelectorAll('th')]"
                            ".findIndex(t => t.textContent === 'period_ms')")
        values_js = f"""() => {rows}.filter(r => !r.hidden)
            .map(r => r.cells[{col}].dataset.value).filter(v => v !== '').map(Number)"""
        header.click()
        up = page.evaluate(values_js)
        assert up == sorted(up) and len(set(up)) > 1
        header.click()
        down = page.evaluate(values_js)
        assert down == sorted(down, reverse=True)
        table.locator("input[type=search]").fill(label)
        shown = page.evaluate(f"() => {rows}.filter(r => !r.hidden).map(r => r.textContent)")
        assert 0 < len(shown) < n and all(label in t for t in shown)
