"""Task properties: combinatorics, timing rules, and refusals of bad input."""
import numpy as np
import pytest

from setdyn import task


def test_27_combinations_9_valid():
    combos = task.all_combinations()
    assert len(combos) == 27 and len(set(combos)) == 27
    assert sum(task.is_valid_set(c) for c in combos) == 9


def test_valid_iff_sum_is_zero_mod_3():
    for c in task.all_combinations():
        assert task.is_valid_set(c) == (sum(c) % 3 == 0)


@pytest.mark.parametrize("seq,valid", [("GGG", True), ("PGR", True), ("RPG", True), ("PGP", False),
                                       (["red", "red", "green"], False), ((2, 1, 0), True)])
def test_is_valid_set_examples(seq, valid):
    assert task.is_valid_set(seq) is valid


def test_timing_rules_hold_for_many_seeds():
    for seed in range(200):
        rng = np.random.default_rng(seed)
        onsets = task.draw_onsets(rng)
        assert list(onsets) == sorted(onsets)
        assert all(task.ONSET_MIN <= o <= task.ONSET_MAX for o in onsets)
        assert all(b - a >= task.MIN_ONSET_GAP for a, b in zip(onsets, onsets[1:]))
        codes = task.stimulus((0, 1, 2), onsets)
        assert codes.shape == (task.N_STEPS,)
        assert np.all(codes[-8:] == task.NO_INPUT), "the last 80 ms must be silent"
        assert np.sum(codes >= 0) == 3 * task.PULSE_STEPS  # pulses never overlap


def test_onsets_cover_the_whole_window():
    rng = np.random.default_rng(0)
    seen = {o for _ in range(3000) for o in task.draw_onsets(rng)}
    assert seen == set(range(task.ONSET_MIN, task.ONSET_MAX + 1))


def test_training_set_recipe():
    ts = task.training_set(0)
    assert len(ts) == 540
    assert np.mean(ts.targets == 1) == 0.5
    combos, counts = np.unique(ts.colors, axis=0, return_counts=True)
    assert len(combos) == 27
    for c, n in zip(combos, counts):
        assert n == (30 if task.is_valid_set(c) else 15)
    for codes, colors, onsets in zip(ts.codes, ts.colors, ts.onsets):
        np.testing.assert_array_equal(codes, task.stimulus(colors, onsets))
    # same seed, same set; other seed, other onsets
    np.testing.assert_array_equal(task.training_set(0).codes, ts.codes)
    assert not np.array_equal(task.training_set(1).onsets, ts.onsets)


def test_test_set_is_the_27_combinations_once():
    ts = task.test_set(seed=3)
    assert sorted(map(tuple, ts.colors)) == task.all_combinations()
    assert ts.targets.sum() == 9 - 18


def test_encodings_fixed_by_seed():
    e = task.color_encodings(4)
    assert e.shape == (3, 100)
    np.testing.assert_array_equal(e, task.color_encodings(4))
    assert abs(e.std() - 1) < 0.15


@pytest.mark.parametrize("bad,match", [
    ("orange", "unknown colour 'orange'.*green, purple, red"),
    (5, "0, 1 or 2"),
    (True, "name"),
])
def test_unknown_colour_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        task.color_index(bad)


def test_set_needs_three_colours():
    with pytest.raises(ValueError, match="exactly 3 colours, got 2"):
        task.is_valid_set("GP")
    with pytest.raises(ValueError, match="exactly 3 colours, got 4"):
        task.is_valid_set("GPRG")


@pytest.mark.parametrize("onsets,match", [
    ((5, 6, 20), "1 steps apart"),           # overlapping pulses
    ((5, 9, 20), "4 steps apart"),           # gap too short
    ((1, 10, 20), "outside the allowed window 3..40"),
    ((5, 15, 45), "outside the allowed window"),
    ((20, 10, 30), "strictly increasing"),
    ((5.0, 15, 25), "whole step numbers"),
])
def test_bad_onsets_refused(onsets, match):
    with pytest.raises(ValueError, match=match):
        task.make_trials([(0, 1, 2)], onsets=[onsets])


def test_stimulus_needs_one_onset_per_colour():
    with pytest.raises(ValueError, match="one onset per colour"):
        task.stimulus((0, 1, 2), (5, 15))
