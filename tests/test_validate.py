"""Property-based tests (Hypothesis) of the validators and the entry points that use them:
valid input gives the right result, invalid input a ValueError naming the accepted values;
never a silent coercion (2.9 is not red, 0.7 not green, onset -1 not the last step)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from setdyn import paper, task, validate
from setdyn.model import CTRNN

settings.register_profile("setdyn", max_examples=60, deadline=None)
settings.load_profile("setdyn")

VALID_CODES = st.integers(-1, 2)
INVALID_INT_CODES = st.integers().filter(lambda c: not -1 <= c <= 2)
NON_WHOLE = st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not math.isfinite(x) or x != round(x))
BAD_REALS = st.sampled_from([math.nan, math.inf, -math.inf])


def _model() -> CTRNN:
    return CTRNN(task.color_encodings(0), n_units=8, seed=1)


# ----------------------------------------------------------------------------- stimulus codes


@given(st.lists(VALID_CODES, min_size=1, max_size=60))
def test_valid_codes_pass_unchanged(codes):
    out = validate.codes(codes)
    assert out.dtype == np.int64 and out.tolist() == codes
    assert validate.codes(torch.tensor(codes)).tolist() == codes
    assert validate.codes(np.array(codes, dtype=np.float64)).tolist() == codes  # whole floats keep their value


@given(st.lists(VALID_CODES, min_size=1, max_size=20), INVALID_INT_CODES, st.data())
def test_out_of_range_codes_refused(codes, bad, data):
    i = data.draw(st.integers(0, len(codes)))
    with pytest.raises(ValueError, match=r"-1 \(no input\) or 0, 1, 2"):
        validate.codes(codes[:i] + [bad] + codes[i:])
    with pytest.raises(ValueError, match=r"-1 \(no input\) or 0, 1, 2"):
        _model().run(np.array([codes[:i] + [bad] + codes[i:]]))


@given(st.lists(VALID_CODES, min_size=1, max_size=20), NON_WHOLE, st.data())
def test_fractional_and_nan_codes_refused(codes, bad, data):
    i = data.draw(st.integers(0, len(codes)))
    arr = np.array(codes[:i] + [bad] + codes[i:], dtype=np.float64)
    with pytest.raises(ValueError, match="whole numbers"):
        validate.codes(arr)
    with pytest.raises(ValueError, match="whole numbers"):
        _model().run(torch.as_tensor(arr)[None])


@pytest.mark.parametrize("bad", [[0.7], [2.9], [-2], [3], [True, False], [math.nan], ["1"]])
def test_named_bad_codes_refused_by_ctrnn_run(bad):
    """The issue's cases: 0.7 used to read green, 2.9 red, -2 red, 3 'no input'."""
    with pytest.raises(ValueError, match="stimulus codes"):
        _model().run(np.array([bad * 5]))


def test_ctrnn_final_outputs_and_drive_refuse_bad_codes():
    m = _model()
    with pytest.raises(ValueError):
        m.final_outputs(np.full((1, 10), -2), 1)
    with pytest.raises(ValueError):
        m.drive(torch.full((1, 10), 3))


# ----------------------------------------------------------------------------- colours


@given(st.integers(0, 2))
def test_colour_forms_agree(i):
    assert validate.color(i) == validate.color(np.int64(i)) == i
    assert validate.color(paper.COLORS[i]) == validate.color(paper.COLORS[i].upper()) == i
    assert validate.color(paper.COLOR_LETTERS[i]) == validate.color(paper.COLOR_LETTERS[i].lower()) == i


@given(st.one_of(st.integers().filter(lambda i: not 0 <= i <= 2), st.floats(), st.booleans(),
                 st.text().filter(lambda t: t.strip().lower() not in
                                  set(paper.COLORS) | {c.lower() for c in paper.COLOR_LETTERS}),
                 st.none()))
def test_bad_colours_refused(bad):
    with pytest.raises(ValueError, match="green, purple, red"):
        validate.color(bad)
    with pytest.raises(ValueError):
        task.color_index(bad)


@pytest.mark.parametrize("bad", [3, 99, -1, 1.0, 0.7, math.nan, True, "orange", ""])
def test_named_bad_colours_refused_by_sequences(bad):
    with pytest.raises(ValueError):
        task.parse_sequence([0, bad, 1])
    with pytest.raises(ValueError):
        task.stimulus([0, bad, 1], (5, 15, 25))


# ----------------------------------------------------------------------------- onsets


def valid_onsets(n=3):
    """Sorted onsets in the window, consecutive ones >= MIN_ONSET_GAP apart."""
    return st.lists(st.integers(paper.ONSET_MIN, paper.ONSET_MAX), min_size=n, max_size=n, unique=True) \
        .map(sorted).filter(lambda o: all(b - a >= paper.MIN_ONSET_GAP for a, b in zip(o, o[1:])))


@given(valid_onsets(), st.tuples(*[st.integers(0, 2)] * 3))
def test_valid_onsets_give_the_pulses(onsets, colours):
    assert task.check_onsets(onsets) == tuple(onsets)
    codes = task.stimulus(colours, onsets)
    for c, o in zip(colours, onsets):
        assert codes[o:o + paper.PULSE_STEPS].tolist() == [c] * paper.PULSE_STEPS
    assert (codes >= 0).sum() == 3 * paper.PULSE_STEPS  # nothing dropped, nothing extra


@given(valid_onsets(), st.integers(0, 2), st.one_of(
    st.integers(max_value=paper.ONSET_MIN - 1), st.integers(min_value=paper.ONSET_MAX + 1)))
def test_onsets_outside_the_window_refused_not_dropped(onsets, i, bad):
    onsets = list(onsets)
    onsets[i] = bad
    with pytest.raises(ValueError, match="onset"):
        task.stimulus((0, 1, 2), sorted(onsets))
    with pytest.raises(ValueError, match="onset"):
        task.check_onsets(sorted(onsets))


@pytest.mark.parametrize("bad", [(-1, 15, 25), (5, 15, 60), (5, 15, 48), (5.0, 15, 25), (5, 15.5, 25),
                                 (True, 15, 25), (5, 7, 25), (25, 15, 5), (5, 5, 25), (math.nan, 15, 25)])
def test_named_bad_onsets_refused(bad):
    with pytest.raises(ValueError):
        task.stimulus((0, 1, 2), bad)


@given(st.integers(0, 100), st.integers(1, 100))
def test_free_onsets_fit_the_trial(o, n_steps):
    """Without the task window (any trial length): the whole pulse inside the trial, or an error."""
    if 0 <= o and o + paper.PULSE_STEPS <= n_steps:
        assert validate.onsets([o], n_steps, window=None, min_gap=None) == (o,)
    else:
        with pytest.raises(ValueError, match="does not fit|outside"):
            validate.onsets([o], n_steps, window=None, min_gap=None)


# ----------------------------------------------------------------------------- numbers


@given(st.floats(min_value=1e-300, max_value=1e300))
def test_positive_accepts_finite_positive(x):
    assert validate.positive(x, "period_ms") == x


@given(st.one_of(st.floats(max_value=0.0), BAD_REALS, st.booleans(), st.text(), st.none()))
def test_positive_refuses(bad):
    with pytest.raises(ValueError, match="period_ms must be a finite number > 0"):
        validate.positive(bad, "period_ms")


@given(st.one_of(st.floats(min_value=0.0, max_value=1e300), st.integers(0, 10**6)))
def test_non_negative_accepts(x):
    assert validate.non_negative(x, "noise_std") == float(x)


@given(st.one_of(st.floats(max_value=-1e-300), BAD_REALS, st.booleans()))
def test_non_negative_refuses(bad):
    with pytest.raises(ValueError, match="noise_std must be a finite number >= 0"):
        validate.non_negative(bad, "noise_std")


@given(st.one_of(st.floats(max_value=-1e-300), BAD_REALS))
def test_ctrnn_refuses_bad_noise(bad):
    m = _model()
    codes = task.stimulus((0, 1, 2), (5, 15, 25))
    with pytest.raises(ValueError, match="noise_std"):
        m.run(codes, noise_std=bad)
    with pytest.raises(ValueError, match="x0_noise_std"):
        m.run(codes, x0_noise_std=bad)


@given(st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True), BAD_REALS))
def test_ctrnn_refuses_bad_alpha(bad):
    with pytest.raises(ValueError, match=r"alpha = dt/tau must be in \(0, 1\]"):
        CTRNN(task.color_encodings(0), n_units=4, alpha=bad)


@given(st.floats(min_value=0, max_value=1))
def test_probability(x):
    assert validate.probability(x, "p") == x


@given(st.one_of(st.floats(max_value=-1e-300), st.floats(min_value=1, exclude_min=True), BAD_REALS))
def test_probability_refuses(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        validate.probability(bad, "p")


@given(st.integers(0, validate.SEED_MAX))
def test_seeds(s):
    assert validate.seed(s) == s == validate.seed(np.uint32(s))


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=validate.SEED_MAX + 1),
                 st.floats(), st.booleans(), st.text()))
def test_bad_seeds_refused(bad):
    with pytest.raises(ValueError, match="seed must be an integer between 0 and 4294967295"):
        validate.seed(bad)
    with pytest.raises(ValueError, match="seed"):
        task.fresh_set(bad, draws=1)


@given(st.integers(-10, 10))
def test_whole_bounds(n):
    if 1 <= n <= 5:
        assert validate.whole(n, "n", 1, 5) == n
    else:
        with pytest.raises(ValueError, match="n must be an integer between 1 and 5"):
            validate.whole(n, "n", 1, 5)


@pytest.mark.parametrize("bad", [10.5, 1e23, "3", True, None, math.nan])
def test_whole_refuses_non_integers(bad):
    with pytest.raises(ValueError, match="must be an integer"):
        validate.whole(bad, "n_units", 1)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_accepts_any_sign(x):
    assert validate.finite(x, "phase0_deg") == x


@given(st.one_of(BAD_REALS, st.booleans(), st.text(), st.none()))
def test_finite_refuses(bad):
    with pytest.raises(ValueError, match="phase0_deg must be a finite number"):
        validate.finite(bad, "phase0_deg")
