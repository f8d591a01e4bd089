"""The map of solutions (setdyn.viz.solution_map + setdyn/viz/js/solution_map.js) in headless Chromium.

A synthetic map (12 networks, 3 mechanisms, both activations, 2 alphas, one "book" network; traces from
sin/cos, so the decoded values are known) is written into a page that loads plotly.js from the installed
plotly package, served from a temporary directory on 127.0.0.1 (as in test_widgets_browser.py). The
``guarded_page`` fixture (conftest.py) blocks every request leaving the machine and records JS errors.

Checked: one point per network, in its mechanism's colour; picking a network (list or click) shows its
decoded traces; the activation filter hides exactly its networks; a phone has no horizontal overflow and
the detail panel under the map; without plotly.js the map says so.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import serve_folder
from setdyn import task
from setdyn.viz.solution_map import decode_detail, encode_detail, label_colours, map_html

pytest.importorskip("playwright")

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1366, "height": 900}
LABELS = ["not-learned", "phase-code", "star", "hexagon", "lattice", "line-attractor", "fixed-points", "transient",
          "unlabelled"]
TAXA = ("phase-code", "star", "fixed-points")
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>{title}</title></head>
<body style="margin:8px">{plotly}
{body}
</body></html>
"""
ROOT = ".setdyn-solution-map"
INST = "Object.values(setdynSolutionMap.instances)[0]"


def synthetic_map(n: int = 12, T: int = 26) -> dict:
    """A map of n networks whose traces are circles (PC1 = a cos, PC2 = a sin) and ramps (z)."""
    combos = task.all_combinations()
    valid = [task.is_valid_set(c) for c in combos]
    t = np.arange(T) * 20.0
    nets = []
    for i in range(n):
        a = 1.0 + 0.2 * i
        phase = 2 * np.pi * (t[None, :] / 240.0 + np.arange(27)[:, None] / 27)
        sign = np.where(valid, 1.0, -1.0)[:, None]
        z = sign * np.sin(np.pi / 2 * t[None, :] / t[-1]) * (0.8 + 0.05 * i)
        angle = 2 * np.pi * i / n
        nets.append({
            "id": f"net{i:02d}", "source": "book" if i == 0 else "followup" if i % 4 == 3 else "paper-seeds",
            "seed": i, "alpha": (1.0, 0.5)[i % 2], "noise_std": 0.1, "activation": ("tanh", "tanh", "relu")[i % 3],
            "taxon": TAXA[i % 3], "taxon_reason": f"synthetic network {i}: a circle of radius {a:.1f} </script> & co",
            "fresh_acc_clean": 0.9 + 0.005 * i, "period_ms": 240.0 if i % 3 == 0 else None,
            "x": (1 + 0.3 * (i % 2)) * np.cos(angle), "y": (1 + 0.3 * (i % 2)) * np.sin(angle),
            "detail": encode_detail(a * np.cos(phase), a * np.sin(phase), z)})
    return {"schema": "setdyn-solution-map/1", "labels": LABELS, "sequences": [task.sequence_name(c) for c in combos],
            "valid": valid, "t_ms": t.tolist(), "method": {"score_method": "synthetic"}, "knn": {}, "networks": nets}




@pytest.fixture(scope="module")
def data():
    return synthetic_map()


@pytest.fixture(scope="module")
def site(tmp_path_factory, data):
    """Base URL of a local server with map.html (plotly.js loaded) and no-plotly.html."""
    from setdyn.book.sphinx_ext import plotly_js_source

    root = tmp_path_factory.mktemp("solution_map")
    shutil.copyfile(plotly_js_source(), root / "plotly.min.js")
    body = map_html(data)
    for name, plotly in (("map", '<script src="plotly.min.js"></script>'), ("no-plotly", "")):
        (root / f"{name}.html").write_text(PAGE.format(title=name, plotly=plotly, body=body), encoding="utf-8")
    yield from serve_folder(root)


def open_map(guarded_page, site, viewport=DESKTOP):
    gp = guarded_page(viewport=viewport)
    gp.page.goto(site + "map.html")
    gp.page.wait_for_function("() => window.setdynSolutionMap && Object.keys(setdynSolutionMap.instances).length > 0")
    settle(gp.page)
    return gp


def settle(page):
    page.evaluate(f"() => {INST}.lastRender")


DRAWN = """() => Array.from(document.querySelectorAll('.sm-map .scatterlayer .trace')).map((tr, k) => {
  const gd = document.querySelector('.sm-map');
  return {name: gd.data[k].name, ids: Array.from(gd.data[k].customdata || []),
          fills: Array.from(tr.querySelectorAll('path.point')).map(p => getComputedStyle(p).fill)};
})"""


def drawn_points(page, data):
    """{network id: (trace name, fill colour)} of the points on the map."""
    out = {}
    for tr in page.evaluate(DRAWN):
        assert len(tr["fills"]) == len(tr["ids"]), tr
        for i, fill in zip(tr["ids"], tr["fills"]):
            out[data["networks"][i]["id"]] = (tr["name"], fill)
    return out


def rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[k:k + 2], 16) for k in (0, 2, 4)))


def portrait(page):
    """The detail panel's 27 trial traces (rate PC1, PC2) and the output traces z(t), as drawn."""
    return page.evaluate("""() => {
      const p = document.querySelector('.sm-portrait'), o = document.querySelector('.sm-outputs');
      const trials = (gd) => gd.data.filter(t => typeof t.meta === 'number').sort((a, b) => a.meta - b.meta);
      return {x: trials(p).map(t => Array.from(t.x)), y: trials(p).map(t => Array.from(t.y)),
              colours: trials(p).map(t => t.line.color), z: trials(o).map(t => Array.from(t.y)),
              zcolours: trials(o).map(t => t.line.color)};
    }""")


def assert_shows(page, data, k):
    """The detail panel shows network k: its id in data-selected and its decoded traces."""
    net = data["networks"][k]
    assert page.get_attribute(ROOT, "data-selected") == net["id"]
    want = decode_detail(net["detail"], 27, len(data["t_ms"]))
    got = portrait(page)
    for got_q, want_q in zip((got["x"], got["y"], got["z"]), want):
        np.testing.assert_allclose(np.array(got_q), want_q, rtol=1e-6, atol=1e-12)
    assert len(set(got["colours"])) == 2 and got["colours"] == got["zcolours"]
    assert [got["colours"][j] == got["colours"][data["valid"].index(True)] for j in range(27)] == data["valid"]
    assert net["taxon"] in page.inner_text(".sm-title")


def test_one_point_per_network_in_its_label_colour(guarded_page, site, data):
    gp = open_map(guarded_page, site)
    pts = drawn_points(gp.page, data)
    colours = label_colours(LABELS)
    assert sorted(pts) == sorted(n["id"] for n in data["networks"])
    for net in data["networks"]:
        assert pts[net["id"]] == (net["taxon"], rgb(colours[net["taxon"]])), net["id"]
    assert len({colours[t] for t in TAXA}) == 3
    # the legend names only the labels present, in the labels' order
    legend = gp.page.eval_on_selector_all(".sm-map .legend .traces .legendtext", "els => els.map(e => e.textContent)")
    assert legend == [lab for lab in LABELS if lab in TAXA]
    assert gp.page.get_attribute(ROOT, "data-shown") == "12"
    assert gp.page.inner_text(".sm-status") == "12 of 12 networks shown"
    # the book's network is a star, larger than the others
    book = gp.page.evaluate("() => { const t = document.querySelector('.sm-map').data[0];"
                            " return [t.marker.symbol[0], t.marker.size[0], t.marker.size[1]]; }")
    assert book[0] == "star" and book[1] > book[2]
    gp.assert_clean("solution map")


def test_opens_on_the_book_network_and_hover_tells_the_setting(guarded_page, site, data):
    gp = open_map(guarded_page, site)
    assert_shows(gp.page, data, 0)
    text = gp.page.evaluate("() => document.querySelector('.sm-map').data[0].text[0]")
    for part in ("net00", "seed 0", "α = 1", "τ = 10 ms", "noise 0.1", "tanh", "phase-code", "synthetic network 0",
                 "accuracy 90.0%", "period 240 ms", "&lt;/script&gt;"):
        assert part in text, (part, text)
    gp.assert_clean("solution map")


def test_select_and_click_show_the_decoded_network(guarded_page, site, data):
    gp = open_map(guarded_page, site)
    page = gp.page
    page.select_option(".sm-select", "5")
    settle(page)
    assert_shows(page, data, 5)
    # a click on network 7's point
    box = page.evaluate("""() => {
      const gd = document.querySelector('.sm-map');
      const k = gd.data.findIndex(t => t.customdata && t.customdata.includes(7)), j = gd.data[k].customdata.indexOf(7);
      const pt = document.querySelectorAll('.sm-map .scatterlayer .trace')[k].querySelectorAll('path.point')[j];
      const r = pt.getBoundingClientRect();
      return [r.x + r.width / 2, r.y + r.height / 2];
    }""")
    page.mouse.move(*box)
    page.mouse.click(*box)
    page.wait_for_function(f"() => document.querySelector('{ROOT}').dataset.selected === 'net07'")
    settle(page)
    assert_shows(page, data, 7)
    assert page.input_value(".sm-select") == "7"
    gp.assert_clean("solution map")


def test_activation_filter_hides_exactly_its_networks(guarded_page, site, data):
    gp = open_map(guarded_page, site)
    page = gp.page
    page.uncheck('input[data-key="activation"][data-value="relu"]')
    settle(page)
    tanh = sorted(n["id"] for n in data["networks"] if n["activation"] == "tanh")
    assert sorted(drawn_points(page, data)) == tanh
    assert page.get_attribute(ROOT, "data-shown") == str(len(tanh))
    assert page.inner_text(".sm-status") == f"{len(tanh)} of 12 networks shown"
    page.uncheck('input[data-key="alpha"][data-value="0.5"]')
    settle(page)
    both = sorted(n["id"] for n in data["networks"] if n["activation"] == "tanh" and n["alpha"] == 1.0)
    assert sorted(drawn_points(page, data)) == both
    page.check('input[data-key="activation"][data-value="relu"]')
    page.check('input[data-key="alpha"][data-value="0.5"]')
    settle(page)
    assert len(drawn_points(page, data)) == 12 and page.get_attribute(ROOT, "data-shown") == "12"
    gp.assert_clean("solution map")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_layout_fits(guarded_page, site, data, size, tmp_path):
    viewport = PHONE if size == "phone" else DESKTOP
    gp = open_map(guarded_page, site, viewport)
    page = gp.page
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"horizontal overflow: {width} px > {viewport['width']} px"
    m = page.locator(".sm-map").bounding_box()
    d = page.locator(".sm-detail").bounding_box()
    if size == "phone":
        assert d["y"] >= m["y"] + m["height"] - 1, (m, d)  # below the map
    else:
        assert d["x"] >= m["x"] + m["width"] - 1 and d["y"] < m["y"] + m["height"], (m, d)  # beside it
    assert m["width"] >= 0.5 * viewport["width"] - 40
    gp.assert_clean("solution map")


def test_without_plotly_says_so(guarded_page, site):
    gp = guarded_page(viewport=DESKTOP)
    gp.page.goto(site + "no-plotly.html")
    assert "plotly.js, which is not loaded" in gp.page.inner_text(".sm-status")
    gp.assert_clean("solution map without plotly")
