"""The paper's oscillator with "the paper's values" reproduces the reference code's curves sample for sample.

The reference (generate_ieee_figures.jl, `sine_wave`) evaluates, at t = 0.01, 0.02, ... 0.50 s,

    phase = SET[searchsortedfirst(locations, t)]       # 1 none, 2 green, 3 purple, 4 red
    if phase != 1 & skip == true   -> phase = 1; skip = false
    elseif phase != 1 & skip == false -> skip = true
    phase_store += phases[phase]                       # [0, 0, 2pi/3, -2pi/3]
    value = 7 sin(2pi/0.29 t + phase_store) - 1.5

with skip starting false. Julia's `&` binds tighter than `!=` and `==`, and a chain of comparisons is
a conjunction, so each condition reads (phase != (1 & skip)) && ((1 & skip) == cond). The loop below
is that, literally, in Python; it is compared with `setdyn.analysis.handcrafted` on the reference's
own 567 trials (skipped where ../shared/reference is absent) and on trials of setdyn's generator.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from setdyn import paper, reference, task
from setdyn.analysis import handcrafted

REF_DIR = Path(os.environ.get("SETDYN_REFERENCE_DIR")
               or Path(__file__).resolve().parents[2] / "shared" / "reference")


def julia_sine_wave(SET, locations, times=np.arange(1, 51) / 100):
    """The reference's loop, statement for statement (1-based SET values, Julia precedence spelled out)."""
    params, phases = [7, 2 * math.pi / 0.29, -1.5], [0.0, 0.0, 2.0 * math.pi / 3.0, -2.0 * math.pi / 3.0]
    loc = np.asarray(locations, np.float32).astype(np.float64)  # Float32 locations compared with Float64 t
    out, skip, phase_store = [], False, 0.0
    for t in times:
        phase = int(SET[int(np.searchsorted(loc, t, side="left"))])  # searchsortedfirst, 0-based here
        one_and_skip = 1 & int(skip)
        if phase != one_and_skip and one_and_skip == True:  # noqa: E712 (Julia: 1 == true)
            phase, skip = 1, False
        elif phase != one_and_skip and one_and_skip == False:  # noqa: E712
            skip = True
        phase_store += phases[phase - 1]
        out.append(params[0] * math.sin(params[1] * t + phase_store) + params[2])
    return np.array(out)


def _julia_trial(colors, onsets_steps, offset_ms=3.7):
    """SET and locations (s) for setdyn colours and onset steps: a pulse starting offset_ms before the
    grid time of its first input sample, as the reference's continuous starts do."""
    SET = [1]
    for c in colors:
        SET += [c + 2, 1]
    b = [(o * task.DT_MS - offset_ms) / 1000.0 for o in onsets_steps]
    return SET, [v for s in b for v in (s, s + 0.02)]


def _handcrafted(onsets, colors, **kw):
    t = (np.arange(paper.N_STEPS) + 1) * task.DT_MS
    return handcrafted(t, np.asarray(onsets, float) * task.DT_MS, colors, **kw)


def test_julia_loop_kicks_on_the_second_sample():
    """The literal loop itself: nothing happens at the pulse's first sample, one kick at its second."""
    SET, loc = _julia_trial([1, 0, 0], [10, 20, 30])
    y = julia_sine_wave(SET, loc)
    free = julia_sine_wave([1] * 7, loc)
    t = np.arange(1, 51) / 100
    np.testing.assert_allclose(free, 7 * np.sin(2 * np.pi / 0.29 * t) - 1.5, atol=1e-12)
    first_diff = int(np.flatnonzero(np.abs(y - free) > 1e-9)[0])
    assert t[first_diff] == pytest.approx(0.11)  # colour on at 0.10 and 0.11; kick lands at 0.11


def test_paper_values_reproduce_the_reference_loop():
    assert paper.PAPER_OSCILLATOR["kick_delay_ms"] == 10.0
    trials = task.fresh_set(11, 4)  # 108 trials of setdyn's generator
    ours = _handcrafted(trials.onsets, trials.colors)
    for k in range(len(trials)):
        SET, loc = _julia_trial(trials.colors[k], trials.onsets[k])
        np.testing.assert_allclose(ours[k], julia_sine_wave(SET, loc), atol=1e-9)
    # the kick at the onset (the paper's words) does not reproduce it
    at_onset = _handcrafted(trials.onsets, trials.colors, kick_delay_ms=0.0)
    k = int(np.flatnonzero((trials.colors != 0).any(1))[0])  # a trial with a purple or red pulse
    SET, loc = _julia_trial(trials.colors[k], trials.onsets[k])
    assert np.abs(at_onset[k] - julia_sine_wave(SET, loc)).max() > 0.1


@pytest.mark.skipif(not (REF_DIR / reference.TEST_FILE).is_file(),
                    reason=f"the reference's trial files are not in {REF_DIR} (set SETDYN_REFERENCE_DIR)")
def test_paper_values_reproduce_the_reference_on_its_own_trials():
    paths = reference.find_reference(REF_DIR) if (REF_DIR / reference.MODEL_FILE).is_file() else None
    files = [paths.train, paths.test] if paths else [REF_DIR / reference.TEST_FILE]
    for f in files:
        tr = reference.load_trials(f)
        ours = _handcrafted(tr.onset_steps(), tr.colors)
        want = np.stack([julia_sine_wave(s, loc) for s, loc in zip(tr.sets, tr.locations_s)])
        np.testing.assert_allclose(ours, want, atol=1e-9)
