"""setdyn.viz.explorers on the Python side: oscillator, network data export, static HTML, ipywidgets versions.

The browser side (the same explorers running in Chromium) is tests/test_widgets_browser.py.
"""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from setdyn import analysis, paper, task
from setdyn.viz import explorers as widgets
from setdyn.display import WIDGET_MIME

COMBOS = task.all_combinations()


@pytest.fixture(scope="module")
def explorer_net():
    """The network the explorers show: the shipped model, its PCA basis and rPC1 angle."""
    return widgets.explorer_network()


@pytest.fixture(scope="module")
def pages(explorer_net):
    return {"oscillator": widgets.oscillator_explorer_html(), "network": widgets.network_explorer_html()}


# --------------------------------------------------------------------------- oscillator


def reference_oscillator(t_ms, seq, onsets_ms, amplitude=7.0, period_ms=290.0, offset=1.5,
                         kicks_deg=(0.0, 120.0, -120.0), kick_delay_ms=10.0):
    """The paper's formula written out: f(t) = A sin(2 pi t / T + kicks so far) - offset, one kick per pulse
    from 10 ms after its onset on, as the paper's code applies it (t, T, onsets in ms; kicks in degrees)."""
    out = []
    for t in t_ms:
        phase = 2 * np.pi * (t / 1000.0) / (period_ms / 1000.0)
        for c, o in zip(seq, onsets_ms):
            if t >= o + kick_delay_ms:
                phase += np.deg2rad(kicks_deg[c])
        out.append(amplitude * np.sin(phase) - offset)
    return np.array(out)


def test_oscillator_matches_the_formula_written_out():
    t = np.arange(0, 501, 1.0)
    for seq in COMBOS:
        ons = [50.0, 150.0, 250.0]
        f = widgets.oscillator(t, seq, ons, **widgets.PAPER_PARAMS)
        assert np.abs(f - reference_oscillator(t, seq, ons)).max() < 1e-9


def test_oscillator_ends_low_on_valid_trials_as_published():
    """paper.md: the published oscillator ends at -8.4 on valid trials, +1.0 / +2.9 on invalid ones."""
    for seq in COMBOS:
        f_end = widgets.oscillator([500.0], seq, [50, 150, 250], **widgets.PAPER_PARAMS)[0]
        if task.is_valid_set(seq):
            assert f_end == pytest.approx(-8.4, abs=0.05)
        else:
            assert f_end > 0.9


def test_oscillator_verdict_is_the_set_rule_for_all_27():
    for seq in COMBOS:
        ph = widgets.oscillator_phase(seq, **widgets.PAPER_PARAMS)
        assert ph.verdict == ("valid" if task.is_valid_set(seq) else "invalid"), task.sequence_name(seq)
        assert ph.off_by in (0.0, 120.0, -120.0)
    # swapped kicks (purple -120, red +120) still recognise SETs
    swapped = {**widgets.PAPER_PARAMS, "kicks_deg": [0, -120, 120]}
    assert all((widgets.oscillator_phase(s, **swapped).verdict == "valid") == task.is_valid_set(s) for s in COMBOS)


def test_oscillator_verdict_with_100_degree_kicks_is_withheld():
    """Kicks 0, +100, -100 are not a Z3 code (20 degrees off, a third of the 60-degree tolerance):
    the phase alone would misjudge exactly PPP and RRR (300 = -60 degrees from the valid phase, not
    within the tolerance), so the explorer gives no verdict at all."""
    wrong = {**widgets.PAPER_PARAMS, "kicks_deg": [0, 100, -100]}
    phases = {task.sequence_name(s): widgets.oscillator_phase(s, **wrong) for s in COMBOS}
    misjudged = {n for n, ph in phases.items() if (ph.phase_verdict == "valid") != task.is_valid_set(task.parse_sequence(n))}
    assert misjudged == {"PPP", "RRR"}
    assert {ph.verdict for ph in phases.values()} == {"no code"}
    assert not widgets.kick_code([0, 100, -100]).is_z3_code


def test_oscillator_verdict_with_a_common_kick_offset():
    """Issue 15: kicks with an offset shared by all colours (the least-squares fit's, about -18 degrees)
    add 3c to every SET; the valid phase includes it, so the verdict is the SET rule for all 27."""
    for kicks in ([-17.1, -142.2, 97.7], [-18.0, 102.0, -138.0], [40.0, 160.0, -80.0]):
        p = {**widgets.PAPER_PARAMS, "kicks_deg": kicks, "period_ms": 243.4, "phase0_deg": -45.0}
        code = widgets.kick_code(kicks)
        assert code.is_z3_code and len(set(code.steps)) == 3
        # three times the common offset is what one kick of each colour adds (mod 360)
        assert (3 * code.common_offset_deg - sum(kicks) + 180) % 360 - 180 == pytest.approx(0, abs=1e-9)
        for seq in COMBOS:
            ph = widgets.oscillator_phase(seq, **p)
            assert ph.verdict == ("valid" if task.is_valid_set(seq) else "invalid"), (kicks, task.sequence_name(seq))
            assert ph.valid_phase == pytest.approx((ph.free_phase + sum(kicks)) % 360)
        # a SET of three colours ends on the valid phase; three of one colour 3 e_i away from it
        ends = [abs(widgets.oscillator_phase(s, **p).off_by) for s in COMBOS if task.is_valid_set(s)]
        assert max(ends) == pytest.approx(3 * max(abs(d) for d in code.deviation_deg), abs=1e-9)


def test_z3_code_is_exactly_when_the_verdict_is_the_set_rule():
    """kick_code(...).is_z3_code holds exactly for the kicks whose phase verdict is the SET rule on all
    27 sequences: random kicks near and far from a Z3 code, any common offset and order."""
    rng = np.random.default_rng(15)
    n_code = 0
    for _ in range(3000):
        steps = rng.permutation(3) if rng.random() < 0.8 else rng.integers(0, 3, 3)
        kicks = rng.uniform(-180, 180) + 120.0 * steps + rng.uniform(-30, 30, 3)
        p = {**widgets.PAPER_PARAMS, "kicks_deg": list(kicks), "phase0_deg": float(rng.uniform(-180, 180))}
        right = all((widgets.oscillator_phase(s, **p).phase_verdict == "valid") == task.is_valid_set(s) for s in COMBOS)
        code = widgets.kick_code(kicks)
        assert code.is_z3_code == right, (kicks, code)
        assert abs(sum(code.deviation_deg)) < 1e-9
        n_code += right
    assert 300 < n_code < 2700  # both cases well represented
    with pytest.raises(ValueError, match="three finite kicks"):
        widgets.kick_code([0, 120])


def test_oscillator_phases_are_the_phases_of_the_oscillator_curve():
    """The phases oscillator_phase reports are those of the curve oscillator() draws: without kicks
    f(500 ms) = A sin(valid phase) - c, and for every trial f(500 ms) = A sin(final phase) - c."""
    p = widgets.PAPER_PARAMS
    f_free = widgets.oscillator([500.0], [], [], **p)[0]
    ph0 = widgets.oscillator_phase([], **p)
    assert f_free == pytest.approx(p["amplitude"] * np.sin(np.deg2rad(ph0.free_phase)) - p["offset"], abs=1e-9)
    # 500 ms is 1.7241 turns of a 290 ms period: the kick-free phase is 0.7241 turn = 260.69 degrees
    assert ph0.free_phase == pytest.approx(260.69, abs=0.01)
    assert ph0.valid_phase == ph0.free_phase  # the paper's kicks add up to 0
    for seq in COMBOS:
        ph = widgets.oscillator_phase(seq, **p)
        f_end = widgets.oscillator([500.0], seq, [50, 150, 250], **p)[0]
        assert f_end == pytest.approx(p["amplitude"] * np.sin(np.deg2rad(ph.final_phase)) - p["offset"], abs=1e-9)


def test_onsets_in_ms_follow_the_task_rules():
    assert widgets.onsets_to_steps([50, 150, 250]) == (5, 15, 25)
    for bad, msg in [([55, 150, 250], "multiple of 10 ms"), ([20, 150, 250], "outside the allowed window"),
                     ([50, 80, 250], "apart"), ([50, 40, 250], "strictly increasing"),
                     ([50, 150, float("nan")], "not a number")]:
        with pytest.raises(ValueError, match=msg):
            widgets.onsets_to_steps(bad)


def test_params_from_fit():
    fit = {"amplitude": 5.0, "period_ms": 244.0, "offset": -0.3, "phase0_deg": 12.0, "kick_delay_ms": 20.0,
           "kick_deg": {"green": 10.0, "purple": -110.0, "red": 130.0}}
    p = widgets.params_from_fit(fit)
    assert p["kicks_deg"] == [10.0, -110.0, 130.0] and p["kick_delay_ms"] == 20.0
    f = widgets.oscillator([0.0, 60.0, 70.0], [1], [50.0], **p)
    assert f[0] == pytest.approx(5 * np.sin(np.deg2rad(12)) + 0.3)
    # the kick of a pulse at 50 ms counts from 70 ms on (delay 20 ms)
    assert f[1] == pytest.approx(5 * np.sin(2 * np.pi * 60 / 244 + np.deg2rad(12)) + 0.3)
    assert f[2] == pytest.approx(5 * np.sin(2 * np.pi * 70 / 244 + np.deg2rad(12 - 110)) + 0.3)
    with pytest.raises(ValueError, match="unknown oscillator parameters"):
        widgets.oscillator_explorer_html(params={"amplitud": 3})


# --------------------------------------------------------------------------- the network and its export


def test_explorer_network_matches_setdyn_analysis(explorer_net):
    net = explorer_net
    pca = analysis.training_pca(net.model, seed=net.train_seed)
    np.testing.assert_allclose(net.pca_components, pca.pca.components_[:2])
    np.testing.assert_allclose(net.project(pca.rates), pca.scores[..., :2], atol=1e-9)
    assert net.angle_deg == analysis.best_rotation(pca.scores[:, -1, :2], pca.trials.targets > 0).best_angle_deg
    # valid end points are low on rPC1, invalid high: separable
    r = net.rpc1(net.end_points)
    assert r[net.end_valid].max() < r[~net.end_valid].min()
    assert set(np.unique(net.end_class)) == {0, 1, 2}
    assert np.array_equal(net.end_class == 0, net.end_valid)


def test_network_run_matches_model(explorer_net):
    net = explorer_net
    trials = task.test_set()
    with torch.no_grad():
        run = net.model.run(trials.codes)
    for i, seq in enumerate(COMBOS):
        rates, z = net.run(seq, [50.0, 150.0, 250.0])
        np.testing.assert_allclose(rates[0, 1:], run.rates[i].numpy())
        np.testing.assert_allclose(z[0, 1:], run.outputs[i].numpy())
        np.testing.assert_allclose(rates[0, 0], np.tanh(net.model.x0.detach().numpy()))
        assert paper.verdict(z[0, -1]) == ("valid" if task.is_valid_set(seq) else "invalid")


def _payload(page: str) -> dict:
    m = re.search(r'<script type="application/json" class="sx-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_exported_weights_are_the_shipped_float32(explorer_net, pages):
    from setdyn import weights

    shipped = weights.load(dtype=torch.float32)
    w = _payload(pages["network"])["net"]
    for k in ("J", "B", "b", "W", "b_out", "x0", "colors"):
        arr = np.frombuffer(base64.b64decode(w[k]), dtype="<f4")
        np.testing.assert_array_equal(arr, getattr(shipped, k).detach().numpy().ravel(), err_msg=k)
    mean = np.frombuffer(base64.b64decode(w["pca_mean"]), dtype="<f4")
    np.testing.assert_allclose(mean, explorer_net.pca_mean, rtol=1e-6)
    assert w["n"] == 100 and w["d"] == 100 and w["alpha"] == 1.0
    assert w["angle_deg"] == explorer_net.angle_deg


def test_static_html(pages):
    from setdyn.book import sphinx_ext as _sphinx_ext

    markers = getattr(_sphinx_ext, "PLOTLY_MARKERS", None) or (_sphinx_ext.PLOTLY_MARKER,)

    for kind, page in pages.items():
        assert isinstance(page, str) and page._repr_html_() == page
        assert "kB of HTML" in repr(page)
        size = len(page.encode())
        print(f"\n{kind} explorer: {size / 1024:.0f} kB")
        assert size < 1.5e6, f"{kind} explorer is {size / 1e6:.2f} MB (limit 1.5 MB beyond plotly.js)"
        # the book's Sphinx extension loads plotly.js on pages containing this marker
        assert any(m in page for m in markers)
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "explorer loads something from the internet"
        assert "://" not in page, "explorer mentions a URL"
        body = page[page.index("<script>") + len("<script>"):page.rindex("</script>")]
        assert "</script" not in body.lower() and "<!--" not in body
        assert _payload(page)["kind"] == kind
    # two explorers on one page get distinct ids
    ids = [re.search(r'id="(setdyn-[^"]+)"', p).group(1) for p in pages.values()]
    assert len(set(ids)) == 2


def test_html_arguments():
    page = widgets.network_explorer_html(sequence="RRR", onsets=(3, 20, 40), noise_std=0.3, seed=5)
    init = _payload(page)["init"]
    assert init == {"seq": [2, 2, 2], "onsets_ms": [30.0, 200.0, 400.0], "noise_std": 0.3, "seed": 5,
                    "noise_trials": widgets.NOISE_TRIALS}
    with pytest.raises(ValueError, match="apart"):
        widgets.oscillator_explorer_html(onsets=(5, 8, 25))
    with pytest.raises(ValueError, match="unknown colour"):
        widgets.oscillator_explorer_html(sequence="PGX")
    with pytest.raises(ValueError, match="train_seed"):
        widgets.explorer_network(widgets.explorer_network().model)
    osc = _payload(widgets.oscillator_explorer_html(presets={"fitted": {"amplitude": 4.0}}))
    assert set(osc["presets"]) == {"paper's values", "fitted"}
    assert osc["presets"]["fitted"]["amplitude"] == 4.0 and osc["presets"]["fitted"]["period_ms"] == 290.0


# --------------------------------------------------------------------------- ipywidgets versions


def _ys(fig):
    """Snapshot of a FigureWidget's data and layout."""
    return fig.to_json()


def test_oscillator_widget_sliders_update_the_figure(explorer_net):
    box = widgets.oscillator_explorer_widget()
    fig = box.figure
    for c, letter in enumerate("PGR"):  # all colours present: every kick matters
        box.trial.colors[c].value = "GPR".index(letter)
    assert box.summary["truth"] == "valid"
    for name, slider in box.sliders.items():
        before = _ys(fig)
        slider.value = slider.value + (slider.step if slider.value + slider.step <= slider.max else -slider.step)
        after = _ys(fig)
        assert after != before, f"slider {name} did not change the figure"
    before = _ys(fig)
    box.trial.onsets[1].value = 200
    assert _ys(fig) != before
    # the paper's values come back with the preset button; the verdict follows the SET rule
    box.preset_buttons[0].click()
    assert box.sliders["amplitude"].value == 7.0
    for seq in COMBOS:
        for k, c in enumerate(seq):
            box.trial.colors[k].value = c
        truth = "valid" if task.is_valid_set(seq) else "invalid"
        assert box.summary["phase"].verdict == truth
        assert f"Oscillator: {truth}" in box.verdict.value
    rpc1 = box.summary["rpc1"]
    rates, _ = explorer_net.run(list(seq), [50.0, 200.0, 250.0])
    np.testing.assert_allclose(rpc1, explorer_net.rpc1(explorer_net.project(rates[0])))


def test_oscillator_widget_rejects_bad_onsets():
    box = widgets.oscillator_explorer_widget()
    before = _ys(box.figure)
    box.trial.onsets[1].value = 80  # 30 ms after onset 1
    assert "Not a valid trial" in box.trial.message.value and "apart" in box.trial.message.value
    assert _ys(box.figure) == before
    box.trial.onsets[1].value = 150
    assert box.trial.message.value == ""


def test_network_widget(explorer_net):
    box = widgets.network_explorer_widget()
    fig = box.figure
    for seq in COMBOS[:27:4]:
        before = _ys(fig)
        for k, c in enumerate(seq):
            box.trial.colors[k].value = c
        truth = "valid" if task.is_valid_set(seq) else "invalid"
        assert box.summary["answer"] == truth
        assert f"Network: {truth}" in box.verdict.value
        _, z = explorer_net.run(list(seq), [50.0, 150.0, 250.0])
        np.testing.assert_allclose(box.summary["z"], z[0])
        if seq != (0, 0, 0):
            assert _ys(fig) != before
    noisy_index = [t.name for t in fig.data].index("with noise")
    assert fig.data[noisy_index].visible == "legendonly"
    box.noise_button.click()
    assert fig.data[noisy_index].visible is True
    assert box.summary["noisy_correct"] is not None and "runs answered correctly" in box.verdict.value
    first = _ys(fig)
    box.noise_button.click()  # a new draw
    assert box.seed.value == widgets.NOISE_TRIALS and _ys(fig) != first
    box.seed.value = 0
    assert _ys(fig) == first, "noisy runs are not reproducible for a given seed"
    box.noise.value = 0.5
    assert _ys(fig) != first
    box.clear_button.click()
    assert box.summary["noisy_correct"] is None


def test_show_publishes_widget_and_static_twin(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    widgets.show_oscillator_explorer()
    widgets.show_network_explorer(sequence="GGG")
    for bundle, kind in zip(shown, ("oscillator", "network")):
        assert WIDGET_MIME in bundle
        assert f'data-kind="{kind}"' in bundle["text/html"]
        assert "setdynExplorers.mount" in bundle["text/html"]


def test_the_page_reads_the_decision_rule_from_the_exported_data():
    """The JavaScript takes the decision threshold and the oscillator's tolerance from the exported
    task data (written once, in setdyn.paper and setdyn.viz.explorers.data), never as a literal."""
    import re

    data = widgets.task_json()
    assert data["decision_threshold"] == paper.DECISION_THRESHOLD
    assert data["valid_tolerance_deg"] == widgets.VALID_TOLERANCE_DEG
    js = widgets.explorer_js()
    assert "task.decision_threshold" in js and "task.valid_tolerance_deg" in js
    assert not re.search(r"[<>]=?\s*-?\s*0\.5\b", js), "explorer.js compares with a literal 0.5"
    assert not re.search(r"\b60\b\s*[;?]|<\s*60\b", js), "explorer.js retypes the 60-degree tolerance"


def test_python_network_explorer_answers_like_the_shipped_network():
    """The shipped network answers a set and a non-set correctly at the default onsets."""
    net = widgets.explorer_network()
    for seq in ("PGR", "GGP"):
        _, summary = widgets.network_explorer_figure(net, task.parse_sequence(seq), [50.0, 150.0, 250.0])
        assert abs(summary["z_last"]) > paper.DECISION_THRESHOLD
        assert summary["answer"] == ("valid" if task.is_valid_set(task.parse_sequence(seq)) else "invalid")
