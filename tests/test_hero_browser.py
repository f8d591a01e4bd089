"""The intro's hero figure (setdyn.viz.hero + setdyn/viz/js/hero.js): its data and the page in Chromium.

The fragment is written into a standalone page in a temporary directory and
opened from the file system by the guarded Chromium of conftest.py (any request
leaving the machine, console error or uncaught JS error fails the test). At a
phone (390x844) and a laptop (1366x900) viewport, the page's own buttons are
clicked through all 27 colour sequences and the shown verdict is compared with
the SET rule (setdyn.task.is_valid_set) and the network's own answer with
setdyn.paper.verdict; nothing may be wider than the viewport; the figure turns,
pauses, and stays usable without motion (prefers-reduced-motion) and in dark
mode. Screenshots go to _build/screenshots/hero-*.png.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from setdyn import analysis, paper, task, weights
from setdyn.viz import hero

from conftest import SCREENSHOTS

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
COMBOS = [task.sequence_name(c) for c in task.all_combinations()]
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>hero</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 0; background: #fff; color: #1d1d1f; }}
  main {{ max-width: 780px; margin: 0 auto; padding: 0 16px; }}
  @media (prefers-color-scheme: dark) {{ body {{ background: #121214; color: #e8e8ec; }} }}
</style></head>
<body><main><h1>Recurrent networks recognize patterns with low-dimensional oscillations</h1>
{body}
<p>The text of the introduction goes on here.</p></main></body></html>
"""
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
WIDEST = """() => {
  const w = document.documentElement.clientWidth, bad = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5))
      bad.push(`${e.tagName.toLowerCase()}.${e.getAttribute('class') || ''} [${r.left.toFixed(1)}, ${r.right.toFixed(1)}]`);
  }
  return {w, scroll: document.documentElement.scrollWidth, bad};
}"""


@pytest.fixture(scope="module")
def data():
    return hero.hero_data()


@pytest.fixture(scope="module")
def page_url(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("hero") / "hero.html"
    path.write_text(PAGE.format(body=hero.hero_html(data, label="Figure 1.")), encoding="utf-8")
    return path.as_uri()


def open_hero(guarded_page, page_url, size, *, dark=False, reduced=False):
    gp = guarded_page(viewport=VIEWPORTS[size])
    gp.page.emulate_media(color_scheme="dark" if dark else "light", reduced_motion="reduce" if reduced else "no-preference")
    gp.page.goto(page_url)
    gp.page.wait_for_function("() => window.setdynHero && Object.keys(setdynHero.instances).length === 1")
    gp.page.evaluate(NEXT_FRAME)
    return gp


def shown(page):
    """What the figure shows now: pressed letters, verdict, network answer, trail, lit state."""
    return page.evaluate("""() => {
      const root = document.querySelector('.setdyn-hero'), v = root.querySelector('.sh-verdict');
      return {pressed: root.dataset.pressed, valid: v.dataset.valid ?? null, text: v.textContent,
              answer: root.querySelector('.sh-network').dataset.answer ?? null,
              trail: [...root.querySelectorAll('.sh-state')].map(e => e.textContent),
              lit: root.dataset.litState};
    }""")


# --------------------------------------------------------------------------- the data


def test_hero_data_is_the_measured_phase_code(data):
    model = weights.load()
    cycle = analysis.free_run_dynamics(model)
    prc = analysis.phase_response_curve(model, analysis.phase_reference(model, cycle))
    assert data["period_ms"] == pytest.approx(cycle.period_ms, abs=1e-3)
    np.testing.assert_allclose(data["kicks_deg"], prc.mean_deg, atol=1e-3)
    # kick = common offset + 120 x Z3 step (+ a small residual), and the steps are a bijection
    kicks, c, steps = np.array(data["kicks_deg"]), data["common_offset_deg"], np.array(data["z3_steps"])
    resid = (kicks - c - 120.0 * steps + 180.0) % 360.0 - 180.0
    assert np.abs(resid).max() < 10, resid
    assert sorted(steps) == [0, 1, 2]
    # not the paper's kicks: the measured ones (the common offset is not 0)
    assert abs(c) > 1
    assert [col["hex"] for col in data["colors"]] == [paper.COLOR_HEX[n] for n in paper.COLORS]
    # the orbit is closed and goes once round its centre
    orbit = np.array(data["orbit"])
    assert orbit.shape == (hero.ORBIT_POINTS, 2)
    ang = np.unwrap(np.arctan2(*(orbit - orbit.mean(0)).T[::-1]))
    assert abs(abs(ang[-1] - ang[0]) - 2 * np.pi) < 0.3
    # the network's own answers (noise-free, default onsets) are the SET rule for all 27
    assert sorted(data["network_z"]) == sorted(COMBOS)
    for name, z in data["network_z"].items():
        assert paper.verdict(z) == ("valid" if task.is_valid_set(name) else "invalid"), (name, z)
    # the Z3 sum decides SET for all 27 sequences
    for name in COMBOS:
        state = sum(data["z3_steps"][task.color_index(ch)] for ch in name) % 3
        assert (state == 0) == task.is_valid_set(name), name


def test_hero_data_rejects_bad_input():
    with pytest.raises(ValueError, match="slowdown"):
        hero.hero_data(slowdown=0)
    with pytest.raises(ValueError, match="n_points"):
        hero.hero_data(n_points=3)
    with pytest.raises(ValueError, match="train_seed"):
        hero.hero_data(weights.load())
    with pytest.raises(ValueError, match="hero_data"):
        hero.hero_html({"period_ms": 244.0})


def test_hero_data_rejects_a_network_without_cycle():
    model = weights.load()
    with torch.no_grad():
        model.J.mul_(0.1)  # contracting: the input-free network settles on a fixed point
    with pytest.raises(ValueError, match="limit cycle"):
        hero.hero_data(model, train_seed=0)


def test_hero_html_is_self_contained(data):
    html = hero.hero_html(data)
    assert html.count("<script>") == 1 and html.count('type="application/json"') == 1
    # no URL but the SVG namespace (a name, never fetched; the browser tests block any request anyway)
    rest = html.replace('"http://www.w3.org/2000/svg"', "")
    assert "http://" not in rest and "https://" not in rest and "plotly" not in html.lower()
    assert html._repr_html_() == str(html)


# --------------------------------------------------------------------------- the page


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_all_27_sequences_with_the_buttons(guarded_page, page_url, data, size):
    """Clicks G / P / R through every sequence; the verdict is the SET rule, the network's answer its own.

    On the phone, motion is reduced (kicks land at once), so the lit state can be checked after each trial.
    """
    reduced = size == "phone"
    gp = open_hero(guarded_page, page_url, size, reduced=reduced)
    page = gp.page
    start = shown(page)
    assert start["valid"] is None and start["trail"][0] == "0°" and start["lit"] == "0"
    names = {0: "0°", 1: "+120°", 2: "−120°"}
    for name in COMBOS:
        page.click("button.sh-reset")
        for k, letter in enumerate(name):
            page.click(f'button[data-color="{letter}"]')
            assert shown(page)["pressed"] == name[:k + 1]
        got = shown(page)
        want = task.is_valid_set(name)
        assert got["valid"] == str(want).lower(), (name, got)
        assert got["text"].startswith(" ".join(name) + ":"), got["text"]
        assert got["text"].endswith("→ SET (valid)" if want else "→ not a SET (invalid)"), got["text"]
        assert got["answer"] == paper.verdict(data["network_z"][name]), (name, got)
        state = sum(data["z3_steps"][task.color_index(ch)] for ch in name) % 3
        assert got["trail"][-1] == names[state], (name, got["trail"])
        if reduced:
            page.evaluate(NEXT_FRAME)
            assert shown(page)["lit"] == str(state), (name, shown(page))
    # a fourth colour starts a new trial
    page.click('button[data-color="G"]')
    assert shown(page)["pressed"] == "G" and shown(page)["valid"] is None
    gp.assert_clean(f"hero, {size}")


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_fits_the_screen_and_is_legible(guarded_page, page_url, size, dark):
    gp = open_hero(guarded_page, page_url, size, dark=dark)
    page = gp.page
    for letter in "GPR":
        page.click(f'button[data-color="{letter}"]')
    page.wait_for_timeout(900)  # the last kick's animation
    fit = page.evaluate(WIDEST)
    assert not fit["bad"] and fit["scroll"] <= fit["w"], fit
    # the figure's first screen: the plot and the buttons are visible without scrolling
    vh = VIEWPORTS[size]["height"]
    for sel in (".sh-plot", 'button[data-color="R"]'):
        box = page.locator(sel).bounding_box()
        assert box["y"] + box["height"] <= vh, (sel, box)
    # text contrast: buttons against their colour, the readout against the page (WCAG: 4.5, bold/large 3)
    contrast = page.evaluate("""() => {
      const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
      const lum = c => { const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
                         return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const ratio = (a, b) => { const [l1, l2] = [lum(a), lum(b)].sort((x, y) => y - x); return (l1 + 0.05) / (l2 + 0.05); };
      const bg = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                        if (!/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return rgb(c); } return [255, 255, 255]; };
      const out = {};
      for (const sel of ['button.sh-color', 'button.sh-tool', '.sh-verdict', '.sh-detail', '.sh-network', '.sh-kicks', '.sh-caption', '.sh-prompt'])
        for (const [i, e] of [...document.querySelectorAll('.setdyn-hero ' + sel)].entries())
          out[sel + ' ' + i] = ratio(rgb(getComputedStyle(e).color), bg(e));
      return out;
    }""")
    low = {k: round(v, 2) for k, v in contrast.items() if v < (3.0 if "sh-color" in k else 4.5)}
    assert not low, low
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"hero-{size}-{'dark' if dark else 'light'}.png"), full_page=True)
    gp.assert_clean(f"hero, {size}, {'dark' if dark else 'light'}")


def test_turns_pauses_and_works_without_motion(guarded_page, page_url):
    dot = "() => { const d = document.querySelector('.sh-dot'); return [d.getAttribute('cx'), d.getAttribute('cy')]; }"
    gp = open_hero(guarded_page, page_url, "desktop")
    page = gp.page
    a = page.evaluate(dot)
    page.wait_for_timeout(400)
    assert page.evaluate(dot) != a, "the dot does not turn"
    page.click("button.sh-pause")
    assert page.get_attribute("button.sh-pause", "aria-pressed") == "true"
    page.evaluate(NEXT_FRAME)
    a = page.evaluate(dot)
    page.wait_for_timeout(300)
    assert page.evaluate(dot) == a, "the dot turns while paused"
    gp.assert_clean("hero, motion")

    gp = open_hero(guarded_page, page_url, "phone", reduced=True)
    page = gp.page
    assert page.get_attribute("button.sh-pause", "aria-pressed") == "true"  # no motion unless asked for
    a = page.evaluate(dot)
    page.wait_for_timeout(300)
    assert page.evaluate(dot) == a, "the dot moves although the reader asked for reduced motion"
    page.click('button[data-color="P"]')
    page.evaluate(NEXT_FRAME)
    assert page.evaluate(dot) != a, "a kick does not move the dot without motion"
    gp.assert_clean("hero, reduced motion")


def test_keyboard_and_labels(guarded_page, page_url):
    gp = open_hero(guarded_page, page_url, "phone")
    page = gp.page
    labels = page.eval_on_selector_all(".setdyn-hero button", "bs => bs.map(b => [b.tagName, b.getAttribute('aria-label')])")
    assert len(labels) == 5 and all(tag == "BUTTON" and label for tag, label in labels), labels
    assert "measured" in labels[0][1]
    page.focus('button[data-color="R"]')
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    page.keyboard.press("Shift+Tab")  # to P
    page.keyboard.press("Enter")
    got = shown(page)
    assert got["pressed"] == "RRP" and got["valid"] == "false", got
    gp.assert_clean("hero, keyboard")


def test_two_copies_on_one_page(guarded_page, data, tmp_path):
    """The script is inlined once per copy; the second copy reuses the first's code and works on its own."""
    path = tmp_path / "two.html"
    path.write_text(PAGE.format(body=hero.hero_html(data) + hero.hero_html(data)), encoding="utf-8")
    gp = guarded_page(viewport=VIEWPORTS["desktop"])
    gp.page.goto(path.as_uri())
    gp.page.wait_for_function("() => window.setdynHero && Object.keys(setdynHero.instances).length === 2")
    gp.page.locator('.setdyn-hero >> nth=1').locator('button[data-color="P"]').click()
    pressed = gp.page.eval_on_selector_all(".setdyn-hero", "rs => rs.map(r => r.dataset.pressed)")
    assert pressed == ["", "P"], pressed
    gp.assert_clean("two heroes")
