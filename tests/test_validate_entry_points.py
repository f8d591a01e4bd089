"""Property tests (Hypothesis) over the public entry points that take codes, colours, onsets and
numbers: a valid input gives the right result, an invalid one a ValueError naming the accepted
values; nothing is coerced in silence (no -2 read as red, no 2.9 read as purple, no onset -1
wrapped to the last step, no NaN period or noise accepted).

BAD_INPUTS counts the hand-listed bad inputs below; Hypothesis adds generated ones on top.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from setdyn import paper  # noqa: E402
from setdyn.analysis import oscillator as osc  # noqa: E402
from setdyn.analysis.simulate import simulate, stimulus_codes, trajectory  # noqa: E402
from setdyn.sweep import grid  # noqa: E402
from setdyn.viz import explorers  # noqa: E402

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID_CODES = (-1, 0, 1, 2)
BAD_CODE = st.one_of(st.integers(-2**62, -2), st.integers(3, 2**62),
                     st.floats(allow_nan=True).filter(lambda x: not (math.isfinite(x) and x == round(x))))
BAD_REAL = st.sampled_from([math.nan, math.inf, -math.inf])
BAD_POSITIVE = st.one_of(BAD_REAL, st.floats(max_value=0.0, allow_nan=False, allow_infinity=False))


@pytest.fixture(scope="module")
def oscillator_system():
    return osc.PlanarOscillator()


# --- codes: simulate, trajectory, PlanarOscillator.run ---------------------------------------------------------------
@FAST
@given(st.lists(st.sampled_from(VALID_CODES), min_size=1, max_size=12))
def test_valid_codes_simulate_as_their_rows_of_the_input_table(codes):
    system = osc.PlanarOscillator()
    traj = trajectory(system, np.array([codes]))
    x = system.x0[None]
    table = system.input_table()
    for t, c in enumerate(codes):  # the step the code names, row c of the table (-1: the 'none' row)
        x = system.step(x, table[c][None])
        np.testing.assert_allclose(traj[0, t + 1], x[0].numpy())
    _, final = simulate(system, np.array([codes]))
    np.testing.assert_allclose(final[0].numpy(), traj[0, -1])
    np.testing.assert_allclose(system.run(np.array([codes])).rates[0, -1].numpy(), traj[0, -1])


@FAST
@given(st.lists(st.sampled_from(VALID_CODES), min_size=1, max_size=8), st.data())
def test_one_bad_code_is_refused_everywhere(codes, data):
    bad = data.draw(BAD_CODE)
    where = data.draw(st.integers(0, len(codes)))
    arr = np.array(codes[:where] + [bad] + codes[where:], dtype=float if isinstance(bad, float) else np.int64)
    system = osc.PlanarOscillator()
    for run in (lambda: simulate(system, arr[None]), lambda: trajectory(system, arr[None]),
                lambda: system.run(arr[None])):
        with pytest.raises(ValueError, match=r"-1 \(no input\) or 0, 1, 2"):
            run()


@pytest.mark.parametrize("bad", [-2, -4, 3, 2.9, 0.7, math.nan])
def test_the_codes_the_issue_names_are_refused(oscillator_system, bad):
    arr = np.array([[0, bad, 1]], dtype=float if isinstance(bad, float) else np.int64)
    for run in (simulate, trajectory):
        with pytest.raises(ValueError, match="no input"):
            run(oscillator_system, arr)
    with pytest.raises(ValueError, match="no input"):
        oscillator_system.run(arr)
    with pytest.raises(ValueError, match="no input"):
        simulate(oscillator_system, torch.as_tensor(arr))


@pytest.mark.parametrize("noise", [math.nan, -1.0, math.inf, [0.1, math.nan]])
def test_bad_noise_is_refused(oscillator_system, noise):
    with pytest.raises(ValueError, match="noise_std must be finite numbers >= 0"):
        simulate(oscillator_system, np.zeros((2, 3), np.int64), noise_std=noise)


@FAST
@given(st.one_of(st.just(0.0), st.floats(1e-3, 2.0)))
def test_valid_noise_is_used_as_given(noise):
    system = osc.PlanarOscillator()
    codes = np.full((1, 5), -1)
    _, a = simulate(system, codes, noise_std=noise, generator=torch.Generator().manual_seed(1))
    _, b = simulate(system, codes, noise_std=0.0)
    assert torch.equal(a, b) == (noise == 0.0)


# --- colours and onsets: stimulus_codes, trial_phases ---------------------------------------------------------------
@FAST
@given(st.lists(st.tuples(st.sampled_from((0, 1, 2)), st.integers(0, 48)), min_size=1, max_size=4,
                unique_by=lambda p: p[1] // paper.PULSE_STEPS))
def test_stimulus_codes_put_each_pulse_where_its_onset_says(pulses):
    pulses = [p for p in pulses if p[1] % paper.PULSE_STEPS == 0] or [(0, 0)]  # pulses that do not overlap
    colors = np.array([[c for c, _ in pulses]])
    onsets = np.array([[o for _, o in pulses]])
    codes = stimulus_codes(colors, onsets, paper.N_STEPS)
    expected = np.full(paper.N_STEPS, -1)
    for c, o in pulses:
        expected[o:o + paper.PULSE_STEPS] = c
    np.testing.assert_array_equal(codes[0], expected)


@FAST
@given(st.one_of(st.integers(-2**62, -1), st.integers(paper.N_STEPS - paper.PULSE_STEPS + 1, 2**62)))
def test_an_onset_outside_the_trial_is_refused_not_wrapped(onset):
    with pytest.raises(ValueError, match="does not fit in the trial"):
        stimulus_codes(np.array([[1]]), np.array([[onset]]), paper.N_STEPS)


@pytest.mark.parametrize("colors, onsets, words", [
    ([[3]], [[5]], "no input"), ([[99]], [[5]], "no input"), ([[-2]], [[5]], "no input"),
    ([[1]], [[-1]], "does not fit"), ([[1]], [[49]], "does not fit"), ([[1]], [[4.5]], "whole numbers"),
    ([[1, 2]], [[5]], "same shape"),
])
def test_bad_pulses_are_refused(colors, onsets, words):
    with pytest.raises(ValueError, match=words):
        stimulus_codes(np.array(colors), np.array(onsets), paper.N_STEPS)


def test_an_absent_pulse_s_onset_is_not_read():
    codes = stimulus_codes(np.array([[1, -1]]), np.array([[5, -1]]), 20)
    assert list(codes[0, 5:7]) == [1, 1] and (codes[0, 7:] == -1).all()


def test_trial_phases_refuses_an_onset_of_minus_one(oscillator_system):
    from setdyn.analysis.phase import phase_reference, trial_phases

    ref = phase_reference(oscillator_system)
    with pytest.raises(ValueError, match="does not fit"):
        trial_phases(oscillator_system, ref, np.array([[1]]), np.array([[-1]]))


# --- the handcrafted oscillator -------------------------------------------------------------------------------------
@pytest.mark.parametrize("colour", [3, 99, -2])
def test_handcrafted_refuses_colours_that_are_not_colours(colour):
    with pytest.raises(ValueError, match="no input"):
        osc.handcrafted(np.arange(0, 500, 10.0), [[50.0]], [[colour]])


@FAST
@given(st.sampled_from(["period_ms", "amplitude"]), BAD_POSITIVE)
def test_handcrafted_refuses_a_bad_period_or_amplitude(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a finite number > 0"):
        osc.handcrafted(np.arange(0, 500, 10.0), [[50.0]], [[1]], **{name: value})


@FAST
@given(st.floats(50, 600), st.floats(0.1, 20), st.lists(st.sampled_from((0, 1, 2)), min_size=1, max_size=3))
def test_handcrafted_is_the_sine_with_its_kicks(period, amplitude, colours):
    t = np.arange(0, 500, 10.0)
    ons = [[100.0 * (i + 1) for i in range(len(colours))]]
    f = osc.handcrafted(t, ons, [colours], amplitude=amplitude, period_ms=period, offset=0.0, kick_delay_ms=0.0)[0]
    kicks = np.deg2rad(paper.PAPER_KICKS_DEG)
    total = sum(kicks[c] * (t >= o) for c, o in zip(colours, ons[0]))
    np.testing.assert_allclose(f, amplitude * np.sin(2 * np.pi * t / period + total), atol=1e-9)


@pytest.mark.parametrize("kw", [dict(period_ms=math.nan), dict(period_ms=-290.0), dict(period_ms=0.0),
                                dict(amplitude=math.nan), dict(kicks_deg=(0, math.nan, 1)),
                                dict(kicks_deg=(0, 1)), dict(contraction=0.0), dict(contraction=math.nan)])
def test_planar_oscillator_refuses_bad_parameters(kw):
    with pytest.raises(ValueError, match="must be"):
        osc.PlanarOscillator(**kw)


@pytest.mark.parametrize("noise", [math.nan, -1.0])
def test_planar_oscillator_run_refuses_bad_noise(oscillator_system, noise):
    with pytest.raises(ValueError, match="finite number >= 0"):
        oscillator_system.run(np.zeros((1, 3), np.int64), noise_std=noise)


# --- the explorers ---------------------------------------------------------------------------------------------------
@FAST
@given(st.lists(st.sampled_from((0, 1, 2)), min_size=1, max_size=6))
def test_oscillator_phase_verdict_is_the_automaton_s(sequence):
    # with the paper's kicks (0, +120, -120) a trial is valid iff purples and reds balance mod 3
    expected = "valid" if (sequence.count(1) - sequence.count(2)) % 3 == 0 else "invalid"
    assert explorers.oscillator_phase(sequence).verdict == expected


@pytest.mark.parametrize("sequence", [[0, 1, -1], [3], [0, 99], [0, 1.5]])
def test_oscillator_phase_refuses_colours_that_are_not_colours(sequence):
    with pytest.raises(ValueError, match="colour|sequence"):
        explorers.oscillator_phase(sequence)


@pytest.mark.parametrize("kw", [dict(period_ms=math.nan), dict(period_ms=-290.0), dict(kicks_deg=(0, math.inf, 0))])
def test_oscillator_phase_refuses_bad_numbers(kw):
    with pytest.raises(ValueError, match="must be"):
        explorers.oscillator_phase([0, 1, 2], **kw)


def test_explorer_oscillator_refuses_minus_one():
    with pytest.raises(ValueError, match="must be 0, 1 or 2"):
        explorers.oscillator(np.arange(0, 500, 10.0), [0, 1, -1], [50.0, 150.0, 250.0])


@FAST
@given(st.sampled_from(sorted(set(explorers.PAPER_PARAMS) - {"kicks_deg"})),
       st.one_of(BAD_REAL, st.just(-290.0), st.just(1e6)))
def test_explorer_params_refuse_nan_and_values_the_slider_cannot_show(name, value):
    with pytest.raises(ValueError, match=name):
        explorers.explorer_params({name: value})


@FAST
@given(st.floats(100, 600), st.floats(0, 15))
def test_explorer_params_keep_values_inside_the_sliders(period, amplitude):
    p = explorers.explorer_params({"period_ms": period, "amplitude": amplitude})
    assert (p["period_ms"], p["amplitude"]) == (period, amplitude)


# --- the sweep's grid ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["nan", "1.0,inf", "-inf", "0.5,NaN"])
def test_sweep_grid_refuses_nan_and_inf(text):
    with pytest.raises(ValueError, match="finite number"):
        grid.parse_floats(text)


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=5))
def test_sweep_grid_reads_finite_numbers_exactly(values):
    assert grid.parse_floats(",".join(repr(v) for v in values)) == values


#: Hand-listed bad inputs in this file (parametrised cases), besides the generated ones.
BAD_INPUTS = 6 + 4 + 7 + 3 + 8 + 2 + 4 + 3 + 1 + 4
