"""setdyn.book: glue and reading glued values back, the cached shipped results, the chapters'
small measurements (separating arc, combination counts) and glued numbers."""
from __future__ import annotations

import numpy as np
import pytest

from setdyn import task
from setdyn.book import chapters, glued as glue_module
from setdyn.book.measures import combination_counts, separating_arc


def _glue_output(name: str, value) -> dict:
    """A notebook output as myst-nb writes it for glue(name, value, display=False)."""
    from IPython.core.formatters import format_display_data

    bundle, _ = format_display_data(value)
    return {"output_type": "display_data", "data": {glue_module.GLUE_PREFIX + k: v for k, v in bundle.items()},
            "metadata": {"scrapbook": {"name": name, "mime_prefix": glue_module.GLUE_PREFIX}}}


def test_glued_values_reads_back_numbers_and_words():
    nb = {"cells": [
        {"cell_type": "code", "outputs": [_glue_output("n", 27), _glue_output("pct", 95.55555555555556)]},
        {"cell_type": "markdown"},
        {"cell_type": "code", "outputs": [{"output_type": "stream", "text": "hi"}, _glue_output("word", "is"),
                                          _glue_output("n", 28)]},
    ]}
    assert glue_module.glued_values(nb) == {"n": 28, "pct": 95.55555555555556, "word": "is"}


def test_glue_stores_numpy_scalars_as_python_values(monkeypatch):
    stored = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: stored.update({name: (value, display)}))
    glue_module.glue_all({"a": np.float64(0.25), "b": np.int64(3), "c": "text"})
    assert stored == {"a": (0.25, False), "b": (3, False), "c": ("text", False)}
    assert type(stored["a"][0]) is float and type(stored["b"][0]) is int


def test_notebook_errors_lists_error_outputs():
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "error", "ename": "ValueError",
                                                        "evalue": "bad"}]}]}
    assert glue_module.notebook_errors(nb) == ["ValueError: bad"]
    assert glue_module.notebook_errors({"cells": []}) == []


def test_separating_arc_around_the_best_angle():
    angles = np.arange(0.0, 360.0, 10.0)
    margins = np.where((angles >= 100) & (angles <= 150), 1.0, -1.0)
    margins[12] = 2.0  # best at 120
    assert separating_arc(angles, margins) == (100.0, 150.0)


def test_separating_arc_wraps_round_zero():
    angles = np.arange(0.0, 360.0, 10.0)
    margins = np.where((angles >= 330) | (angles <= 20), 1.0, -0.5)
    margins[1] = 3.0  # best at 10: the arc runs from 330 (= -30) to 20
    assert separating_arc(angles, margins) == (-30.0, 20.0)


def test_separating_arc_when_every_angle_separates_and_on_bad_input():
    angles = np.arange(0.0, 360.0, 90.0)
    assert separating_arc(angles, np.array([1.0, 2.0, 1.0, 1.0])) == (90.0 - 270.0, 90.0 + 270.0)
    with pytest.raises(ValueError, match="same length"):
        separating_arc(angles, np.ones(3))


def test_combination_counts_of_the_training_set():
    train = task.training_set(0)
    counts = combination_counts(train.colors)
    assert len(counts) == 27 and sum(counts.values()) == len(train)
    # the reference's training set repeats every SET equally often, and every non-SET equally often
    assert len({counts[c] for c in counts if task.is_valid_set(c)}) == 1
    assert len({counts[c] for c in counts if not task.is_valid_set(c)}) == 1


def test_task_numbers_are_the_set_rules_counts():
    n = chapters.task_numbers(task.training_set(0))
    assert (n["n_combos"], n["n_valid"], n["n_invalid"], n["n_same"], n["n_different"]) == (27, 9, 18, 3, 6)
    assert n["n_train"] == 9 * n["valid_repeats"] + 18 * n["invalid_repeats"]
    assert n["trial_ms"] == 500.0 and n["onset_list"] == "50, 150, 250"


def test_shipped_is_computed_once():
    from setdyn.book import shipped

    assert shipped() is shipped()
    assert shipped().train_seed == shipped().config["seed"]


def test_glued_values_reads_the_glue_file_myst_nb_writes():
    glue_json = {"n": _glue_output("n", 9), "w": _glue_output("w", "accepts exactly")}
    assert glue_module.glued_values(glue_json) == {"n": 9, "w": "accepts exactly"}


def test_portrait_views_lie_on_the_shipped_cycle():
    """The settled input-free orbit closes after one turn, and the trial without input starts at tanh(x0)."""
    from setdyn.book import shipped

    s = shipped()
    no_input_pc, start_pc, cycle_pc = chapters.portrait_views(s.model, s.pca, s.cycle)
    assert no_input_pc.shape == (task.N_STEPS, 3) and start_pc.shape == (2,)
    radius = np.linalg.norm(cycle_pc[:, :2], axis=1).max()
    step = np.linalg.norm(np.diff(cycle_pc[:, :2], axis=0), axis=1).max()
    # one turn plus a step: the last point is within one step of the first
    assert np.linalg.norm(cycle_pc[-1, :2] - cycle_pc[0, :2]) <= step + 1e-9 < radius


def test_the_latency_summary_reads_the_recorded_benchmark():
    import json

    from setdyn.book.build import ROOT
    from setdyn.book.measures import FRAME_MS, latency_summary

    rec = json.loads((ROOT / "benchmarks" / "browser_speed_recorded.json").read_text())
    s = latency_summary(rec)
    sliders = [v["median_ms"] for k, v in rec["controls"].items()
               if ("oscillator:" in k and "colour" not in k) or k.startswith("network: onset")]
    assert s["lat_n_sliders"] == len(sliders) == 14 and s["lat_slider_max_ms"] == max(sliders)
    assert ("within one frame" in s["lat_verdict"]) == (max(sliders) <= FRAME_MS)
    fast = {k: {"median_ms": 2.0, "p90_ms": 3.0, "cpu_ms": 5.0} for k in rec["controls"]}
    assert "within one frame" in latency_summary({**rec, "controls": fast})["lat_verdict"]
    slow = {**fast, "oscillator: amplitude": {"median_ms": 40.0, "p90_ms": 50.0, "cpu_ms": 30.0}}
    assert "2.4 frames" in latency_summary({**rec, "controls": slow})["lat_verdict"]


def test_the_seed_search_sentence_counts_the_seeds_tried():
    from setdyn.book.chapters import seed_search_text

    assert seed_search_text(0, 1) == ("Seed 0, the first seed tried, met the rule with a slow limit cycle as its "
                                      "input-free dynamics")
    assert seed_search_text(7, 8) == ("Seed 7 was the first of the 8 seeds tried that met the rule with a slow "
                                      "limit cycle as its input-free dynamics")
