"""The map of solutions' Python side (setdyn.viz.solution_map): the int8 detail block, the HTML fragment,
loading the shipped map. The browser side is tested in test_solution_map_browser.py."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from setdyn.viz import solution_map as sm


def traces(T: int = 26, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 3, (27, T)), rng.normal(0, 0.2, (27, T)), np.tanh(rng.normal(0, 1, (27, T)))


def test_round_trip_within_one_step_of_the_scale():
    arrays = traces()
    detail = sm.encode_detail(*arrays)
    assert len(base64.b64decode(detail["q"])) == 3 * 27 * 26
    back = sm.decode_detail(detail, 27, 26)
    assert back.shape == (3, 27, 26)
    for k, a in enumerate(arrays):
        scale = detail["scale"][k]
        assert scale == pytest.approx(np.abs(a).max())
        assert np.abs(back[k] - a).max() <= scale / 127 * 0.5 + 1e-12
    # layout (quantity, trial, time), C order: byte (k * 27 + j) * T + t is quantity k, trial j, time t
    q = np.frombuffer(base64.b64decode(detail["q"]), np.int8)
    assert q[(2 * 27 + 5) * 26 + 7] == round(arrays[2][5, 7] / detail["scale"][2] * 127)


def test_all_zero_quantity_keeps_a_positive_scale():
    pc1, pc2, _ = traces()
    detail = sm.encode_detail(pc1, pc2, np.zeros_like(pc1))
    assert detail["scale"][2] == 1.0
    assert (sm.decode_detail(detail, 27, 26)[2] == 0).all()


@pytest.mark.parametrize("change, words", [
    (lambda a: (a[0][:, :10], a[1], a[2]), r"shapes \(27, 10\), \(27, 26\), \(27, 26\); .*one shape \(n_trials, T\)"),
    (lambda a: (a[0], a[1][0], a[2]), r"shapes \(27, 26\), \(26,\), \(27, 26\); .*2-D"),
    (lambda a: (a[0], a[1], np.where(a[2] > 0.5, np.nan, a[2])), r"z has \d+ non-finite values"),
    (lambda a: (a[0][:, :0], a[1][:, :0], a[2][:, :0]), r"non-empty"),
])
def test_bad_traces_are_refused_with_the_problem_and_the_shapes(change, words):
    with pytest.raises(ValueError, match=words):
        sm.encode_detail(*change(traces()))


def test_bad_detail_blocks_are_refused():
    detail = sm.encode_detail(*traces())
    with pytest.raises(ValueError, match=r"q holds 2106 bytes; shape \(3, 27, 25\) needs 2025"):
        sm.decode_detail(detail, 27, 25)
    with pytest.raises(ValueError, match="scale must be 3 positive finite"):
        sm.decode_detail({**detail, "scale": [1.0, 0.0, 1.0]}, 27, 26)
    with pytest.raises(ValueError, match="not base64"):
        sm.decode_detail({**detail, "q": "not base64!"}, 27, 26)


def small_map(reason: str = "limit cycle </script><script>alert(1)</script>") -> dict:
    from setdyn import task

    combos = task.all_combinations()
    nets = [{"id": f"n{i}", "source": "book" if i == 0 else "paper-seeds", "seed": i, "alpha": 1.0, "noise_std": 0.1,
             "activation": "tanh", "taxon": "phase-code", "taxon_reason": reason, "fresh_acc_clean": 0.99,
             "period_ms": 240.0, "x": float(i), "y": 0.0, "detail": sm.encode_detail(*traces(T=6, seed=i))}
            for i in range(3)]
    return {"schema": sm.SCHEMA, "labels": ["phase-code", "a-new-label"], "sequences": [task.sequence_name(c) for c in combos],
            "valid": [task.is_valid_set(c) for c in combos], "t_ms": [0, 100, 200, 300, 400, 500], "networks": nets}


def test_map_html_carries_the_payload_without_closing_its_script():
    data = small_map()
    page = sm.map_html(data)
    assert isinstance(page, sm.SolutionMapHTML) and page._repr_html_() == str(page)
    assert "data-setdyn-needs-plotly" in page and "plotly-graph-div" in page  # the book loads plotly.js
    blob = re.search(r'<script type="application/json" class="sm-data">(.*?)</script>', page, re.S).group(1)
    assert "</script" not in blob.lower()
    payload = json.loads(blob)
    assert payload["networks"] == json.loads(json.dumps(data["networks"]))
    assert payload["networks"][0]["taxon_reason"] == data["networks"][0]["taxon_reason"]
    assert payload["colours"] == {"phase-code": sm.PALETTE["phase-code"], "a-new-label": sm.SPARE_COLOURS[0]}
    assert "window.setdynSolutionMap.mount(" in page


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("t_ms"), r"lacks \['t_ms'\]"),
    (lambda d: d["networks"][1].update(id="n0"), "not unique"),
    (lambda d: d["networks"][2].update(taxon="blob"), r"'n2' has taxon 'blob', not one of"),
    (lambda d: d["networks"][1].pop("x"), r"'n1' lacks \['x'\]"),
    (lambda d: d.update(t_ms=[0, 100]), r"q holds 486 bytes; shape \(3, 27, 2\) needs 162"),
])
def test_map_html_refuses_bad_data(change, words):
    data = small_map()
    change(data)
    with pytest.raises(ValueError, match=words):
        sm.map_html(data)


def test_label_colours_are_distinct_for_the_taxonomy():
    from setdyn.analysis.taxonomy import LABELS

    colours = sm.label_colours(list(LABELS))
    assert list(colours) == list(LABELS) and len(set(colours.values())) == len(LABELS)


def test_load_map_names_the_command_when_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m setdyn map"):
        sm.load_map(tmp_path / "solution_map.json")
    (tmp_path / "old.json").write_text(json.dumps({"schema": "something-else"}))
    with pytest.raises(ValueError, match="python -m setdyn map"):
        sm.load_map(tmp_path / "old.json")
    (tmp_path / "map.json").write_text(json.dumps(small_map()))
    assert sm.load_map(tmp_path / "map.json")["networks"][0]["id"] == "n0"


def test_show_map_displays_the_fragment(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    sm.show_map(small_map())
    assert isinstance(shown[0], sm.SolutionMapHTML)


def test_alt_text_wraps_the_map_for_screen_readers():
    from setdyn.viz.solution_map import load_map, map_html

    data = load_map()
    page = str(map_html(data, alt='A map "of" networks'))
    assert page.startswith('<div class="setdyn-figure" role="group" aria-label="A map &quot;of&quot; networks">')
    assert page.rstrip().endswith("</div>")
    assert not str(map_html(data)).startswith('<div class="setdyn-figure"')
    with pytest.raises(ValueError, match="alt"):
        map_html(data, alt="  ")
