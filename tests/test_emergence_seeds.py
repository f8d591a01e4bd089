"""The birth of the oscillator across seeds (`setdyn.analysis.emergence_seeds`, `python -m setdyn emergence`)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from setdyn import paper
from setdyn.analysis import emergence_seeds as es
from setdyn.cli import main

EPOCHS = [0, 10, 50, 100, 200, 400, 800]
GOOD = {k: 1.0 for k in paper.ACCEPT}
BAD = {k: 0.05 for k in paper.ACCEPT}


def _rows(kinds: list[str], accepted_from: int | None, modulus: list[float] | None = None) -> list[dict]:
    """Snapshot rows as `measure_checkpoints` gives them, for the fields the events and records read."""
    mod = modulus or [0.8] * len(kinds)
    return [{"epoch": e, "kind": k, "period_ms": 250.0 if k == "limit cycle" else None,
             "leading_modulus": m, "leading_angle_deg": 14.4, "n_stable_fixed_points": 0 if k == "limit cycle" else 1,
             "accuracy": GOOD if accepted_from is not None and e >= accepted_from else BAD,
             "z3_code": k == "limit cycle" and accepted_from is not None and e >= accepted_from}
            for e, k, m in zip(EPOCHS, kinds, mod)]


FP, LC = "fixed point", "limit cycle"
# a phase code born between epochs 50 and 100 (|lambda| crosses 1 there), accurate from 400
CODE = es.seed_record(1, _rows([FP, FP, FP, LC, LC, LC, LC], 400, [0.8, 0.9, 0.97, 1.02, 1.05, 1.06, 1.06]),
                      {"engine": "native"}, {"label": "phase-oscillator", "taxon": "phase-code"})
# never learned, never oscillated
FLAT = es.seed_record(2, _rows([FP] * 7, None), {}, {"label": "other", "taxon": "not-learned"})
# oscillated at epochs 50-100, then settled on fixed points and learned the task that way
DETOUR = es.seed_record(3, _rows([FP, FP, LC, LC, FP, FP, FP], 400), {}, {"label": "fixed-point", "taxon": "hexagon"})


def test_a_record_keeps_the_events_and_one_line_per_snapshot():
    assert CODE["seed"] == 1 and len(CODE["snapshots"]) == len(EPOCHS)
    ev = CODE["events"]
    assert ev["birth_epoch"] == 100 and ev["birth_after_epoch"] == 50
    assert 50 < ev["crossing_epoch"] < 100
    assert ev["accuracy_snapshot_epoch"] == 400 and ev["z3_epoch"] == 400
    assert [s["accepted"] for s in CODE["snapshots"]] == [e >= 400 for e in EPOCHS]
    json.dumps(CODE)  # plain JSON values


def test_statistics_answer_the_three_questions():
    st = es.statistics([CODE, FLAT, DETOUR])
    assert st["n_seeds"] == 3 and st["labels"] == {"fixed-point": 1, "other": 1, "phase-oscillator": 1}
    assert (st["phase_codes"]["k"], st["phase_codes"]["n"]) == (1, 3)
    assert st["birth_epochs"] == [100] and st["accuracy_epochs"] == [None]  # the constructed rows have no history
    # the detour seed reached the accuracy without a persistent cycle; the code had its cycle first
    assert (st["cycle_before_accuracy"]["k"], st["cycle_before_accuracy"]["n"]) == (1, 2)
    assert (st["non_codes_oscillating"]["k"], st["non_codes_oscillating"]["n"]) == (1, 2)
    assert st["non_code_cycle_snapshots"] == {"2": 0, "3": 2}
    # which rule names the final mechanism right, and from when
    assert st["first_right"]["1"] == {"cycle": 100, "accuracy": 400}
    assert st["first_right"]["2"] == {"cycle": 0, "accuracy": 0}
    assert st["first_right"]["3"] == {"cycle": 200, "accuracy": None}  # accuracy calls a fixed-point net a code
    assert st["n_learned"] == 2 and st["earlier"] == {"cycle": 2, "same": 0, "accuracy": 0}  # FLAT never learned
    lo, hi = st["cycle_before_accuracy"]["ci_low"], st["cycle_before_accuracy"]["ci_high"]
    assert 0 < lo < 0.5 < hi < 1


def test_prediction_curves_follow_the_snapshots_and_hold_the_last_after_a_stop():
    short = dict(CODE, snapshots=CODE["snapshots"][:5])  # stopped at epoch 200
    cur = es.prediction_curves([short, FLAT, DETOUR], [0, 100, 200, 400, 800])
    assert cur["epoch"] == [0, 100, 200, 400, 800]
    # epoch 0: both rules say "not a code" everywhere: right for FLAT and DETOUR
    assert cur["cycle"][0] == pytest.approx(2 / 3) and cur["accuracy"][0] == pytest.approx(2 / 3)
    assert cur["cycle"][1] == pytest.approx(2 / 3)  # CODE right, DETOUR oscillating
    assert cur["cycle"][-1] == 1.0 and cur["accuracy"][-1] == pytest.approx(1 / 3)
    assert cur["cycle"][3] == cur["cycle"][4]  # the stopped run keeps its epoch-200 snapshot


def test_load_records_refuses_other_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="seed-records"):
        es.load_records(p)


def test_train_seed_replaces_the_configs_seed(tmp_path):
    from setdyn.emergence_runs import CONFIG

    assert main(["train", "--config", str(CONFIG), "--seed", "7", "--epochs", "1", "--engine", "autograd",
                 "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "model.json").read_text())["config"]["seed"] == 7


def test_the_emergence_command_trains_measures_and_resumes(tmp_path, capsys):
    assert main(["emergence", "--seeds", "4", "--epochs", "6", "--jobs", "1", "--engine", "autograd",
                 "--out", str(tmp_path)]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["n_seeds"] == 1 and st["seeds"] == [4]
    rec = tmp_path / "seed_4" / "record.json"
    r = json.loads(rec.read_text())
    assert r["seed"] == 4 and r["final_epoch"] == 6 and [s["epoch"] for s in r["snapshots"]][-1] == 6
    assert r["label"] is not None and r["taxon"] is not None
    before = rec.stat().st_mtime_ns
    assert main(["emergence", "--seeds", "4", "--epochs", "6", "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert rec.stat().st_mtime_ns == before  # resumed: nothing retrained or re-measured
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize("args, message", [(["--seeds", "1-"], "seeds"), (["--seeds", "1", "--jobs", "0"], "--jobs"),
                                           (["--seeds", "1", "--epochs", "0"], "--epochs")])
def test_the_emergence_command_refuses_bad_input(tmp_path, capsys, args, message):
    assert main(["emergence", *args, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_live_scrubber_simulates_the_snapshot_the_slider_picks():
    from setdyn.analysis.emergence import load_shipped
    from setdyn.viz.emergence_live import scrubber_widget

    shipped = load_shipped()
    n = len(shipped["models"])
    box = scrubber_widget(shipped["models"], shipped["index"], shipped["rows"])
    assert box.slider.value == n - 1 and box.slider.max == n - 1
    first = box.frame_of(0)
    box.slider.value = 0  # what a reader's drag does: the observer recomputes and redraws
    orbit = box.figure.data[3]
    assert np.allclose(orbit.x, np.asarray(first["orbit"])[:, 0]) and np.allclose(orbit.y, np.asarray(first["orbit"])[:, 1])
    assert f"epoch {shipped['index']['epochs'][0]}:" in box.figure.layout.title.text
    assert shipped["rows"][0]["kind"] in box.figure.layout.title.text
    last = box.frame_of(n - 1)
    assert not np.allclose(np.asarray(first["orbit"]), np.asarray(last["orbit"]))  # the frames differ


def test_the_shipped_records_are_consistent_with_their_own_snapshots():
    """setdyn/data/emergence/seeds.json: at least 16 seeds, the book's run first; each record's events and
    labels agree with its per-snapshot lines (a phase code runs a limit cycle at the end, the birth is the
    first snapshot of the final run of limit-cycle snapshots, the accuracy event the first of the accepted)."""
    records = es.load_records()
    assert len(records) >= 16 and len({r["seed"] for r in records}) == len(records)
    assert records[0]["seed"] == 0 and "source" in records[0]
    for r in records:
        snaps, ev = r["snapshots"], r["events"]
        kinds = [s["kind"] == "limit cycle" for s in snaps]
        if es.is_phase_code(r):
            assert kinds[-1], r["seed"]
        if ev["birth_epoch"] is not None:
            i = [s["epoch"] for s in snaps].index(ev["birth_epoch"])
            assert all(kinds[i:]) and (i == 0 or not kinds[i - 1]), r["seed"]
        else:
            assert not kinds[-1], r["seed"]
        if ev["accuracy_snapshot_epoch"] is not None:
            i = [s["epoch"] for s in snaps].index(ev["accuracy_snapshot_epoch"])
            assert all(s["accepted"] for s in snaps[i:]), r["seed"]
    st = es.statistics(records)
    assert sum(st["labels"].values()) == len(records)


def test_the_shipped_record_of_the_books_run_is_remeasured_the_same():
    from setdyn.emergence_runs import shipped_record

    shipped = es.load_records()[0]
    again = shipped_record()
    assert again["label"] == shipped["label"] and again["taxon"] == shipped["taxon"]
    assert again["events"] == shipped["events"] and again["snapshots"] == shipped["snapshots"]


def test_the_runner_ships_where_the_chapter_reads():
    from setdyn.emergence_runs import SHIPPED_SEEDS

    assert SHIPPED_SEEDS == es.SHIPPED_SEEDS


@pytest.mark.parametrize("seeds, text", [([1, 2, 3, 5, 7, 8], "1-3,5,7-8"), ([4], "4"), ([], ""), ([3, 1, 2], "1-3")])
def test_seed_ranges_are_written_as_the_command_line_reads_them(seeds, text):
    from setdyn.sweep.grid import parse_seeds

    assert es.seed_ranges(seeds) == text
    if seeds:
        assert parse_seeds(text) == sorted(seeds)


@pytest.mark.parametrize("n, k, text", [
    (0, 0, "No run learned the task without a phase code."),
    (1, 1, "The one run that learned the task without a phase code (fixed-points) oscillated on the way."),
    (1, 0, "The one run that learned the task without a phase code (fixed-points) never oscillated on the way."),
    (3, 3, "All 3 runs that learned the task without a phase code (fixed-points) oscillated on the way."),
    (3, 0, "None of the 3 runs that learned the task without a phase code (fixed-points) oscillated on the way."),
    (3, 2, "2 of the 3 runs that learned the task without a phase code (fixed-points) oscillated on the way.")])
def test_the_sentence_on_runs_that_learned_another_way_follows_the_counts(n, k, text):
    assert es._learned_others_text(n, k, "fixed-points") == text


def test_glued_phrases_that_open_a_sentence_are_capitalised():
    numbers = es.chapter_numbers(es.load_records())
    assert numbers["seeds_osc_words"][0].isupper()
