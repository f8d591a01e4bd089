"""The mechanism of the shipped model (setdyn/data/pretrained.safetensors).

SETDYN_TEST_WEIGHTS=path runs the same checks on another weight file (a path that is not a
weight file fails, with the loader's message; nothing is skipped).
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from setdyn import analysis as A
from setdyn import task, weights

PATH = Path(os.environ.get("SETDYN_TEST_WEIGHTS", weights.PRETRAINED))


@pytest.fixture(scope="module")
def model():
    return weights.load(PATH)


@pytest.fixture(scope="module")
def cycle(model):
    return A.network_analysis(model).cycle


@pytest.fixture(scope="module")
def ref(model):
    return A.network_analysis(model).reference


@pytest.fixture(scope="module")
def fresh(model, ref):
    tr = task.fresh_set(31, draws=20)
    return tr, A.trial_phases(model, ref, tr.colors, tr.onsets)


def test_free_run_is_a_stable_slow_limit_cycle(cycle):
    assert cycle.kind == "limit cycle"
    # two methods, one period: the rotation number here, the PC1 mean-crossings recorded when the seed was
    # selected (243.8 ms for the shipped model); they agree within 0.1%
    recorded = weights.load_meta(PATH)["free_run"]["period_ms"]
    assert cycle.period_ms == pytest.approx(recorded, rel=1e-3)
    assert abs(cycle.floquet_multipliers[0] - 1) < 0.02  # along the cycle
    assert cycle.floquet_multipliers[1] < 0.5  # across it: attracting
    assert cycle.pc12_variance > 0.8


def test_kicks_are_a_z3_phase_code(model, ref):
    prc = A.phase_response_curve(model, ref, n_phases=36)
    code = A.phase_code_from_means(prc.mean_deg, prc.std_deg)
    assert code.is_bijection
    assert np.abs(code.residual_deg).max() < 20
    d = np.sort(np.mod(prc.mean_deg - prc.mean_deg[0], 360))
    np.testing.assert_allclose(np.diff(np.r_[d, 360.0]), 120.0, atol=20)
    assert (prc.std_deg < 15).all()


def test_three_end_clusters_one_valid(fresh):
    tr, tp = fresh
    clusters = A.circular_clusters(tp.end_deg, valid=tr.targets > 0)
    assert clusters.n == 3
    assert sorted(c.valid_fraction for c in clusters.clusters) == [0.0, 0.0, 1.0]
    assert clusters.margin_deg > 15


def test_automaton_agrees_on_the_27_combinations(model, ref, fresh):
    _, tp = fresh
    code = A.phase_code(tp.kicks_deg, tp.colors)
    na = A.network_automaton(tp, code)
    assert na.automaton.n_states == 3 and na.automaton.is_z3()
    assert na.agreement >= 0.99
    test = A.fit_trials()  # the 27 combinations with the training config's test onsets
    tpt = A.trial_phases(model, ref, test.colors, test.onsets)
    assert (na.automaton.accepts(test.colors) == (tpt.decisions == 1)).all()
    assert (tpt.decisions == test.targets).all()


def test_analyze_reports_every_measure(model):
    out = A.analyze(model, draws=10, n_boot=10)
    json.dumps(out)
    for key in ("period_ms", "floquet_multipliers", "kick_deg", "n_end_clusters", "automaton_states",
                "automaton_agreement", "oscillator_fit", "accuracy_by_length", "noise", "lstar"):
        assert out[key] is not None, key
    assert set(out["kick_deg"]) == set(task.COLORS)
    assert set(out["kick_deg"]["purple"]) == {"mean", "std"}
    assert set(out["oscillator_fit"]) >= {"amplitude", "period_ms", "offset", "kick_deg", "r2"}
    assert out["mechanism"] == "limit cycle"
    assert out["n_end_clusters"] == 3 and out["automaton_states"] == 3
    assert out["automaton_agreement"] >= 0.99
    assert out["lstar"]["states"] == 3 and out["lstar"]["is_z3"]
    assert out["accuracy_by_length"]["accuracy"][2] == 1.0  # three colours: the task itself
    assert out["oscillator_fit"]["r2"] > 0.5
