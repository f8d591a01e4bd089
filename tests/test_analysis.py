"""The measurements of setdyn.analysis on systems whose answers are known.

* The handcrafted oscillator as a planar dynamical system: known period,
  Floquet multipliers, phase kicks (whatever the arrival phase and radial
  push) and hence a 3-state Z3 automaton.
* CT-RNNs built by hand: a stable fixed point, a decaying spiral, a
  period-2 flip (the dt = tau artefact) and a rotation that saturates into
  a limit cycle.
"""
import json

import numpy as np
import pytest
import torch

from setdyn import analysis as A
from setdyn import task
from setdyn.analysis import PlanarOscillator, learn_lstar, wrap_deg
from setdyn.model import CTRNN

KICKS = (25.0, 145.0, -95.0)  # a Z3 code with a common offset of 25 degrees


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The model's own runs in these tests: one thread (two are much slower on two busy cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def osc():
    return PlanarOscillator(period_ms=273.0, kicks_deg=KICKS, contraction=0.2, radial_kicks=(0.3, -0.2, 0.1),
                            phase0_deg=40.0, radius0=1.5)


@pytest.fixture(scope="module")
def osc_cycle(osc):
    return A.free_run_dynamics(osc, settle_steps=600, window_steps=1000)


@pytest.fixture(scope="module")
def osc_ref(osc, osc_cycle):
    return A.phase_reference(osc, osc_cycle)


@pytest.fixture(scope="module")
def osc_trials(osc, osc_ref):
    tr = task.fresh_set(11, draws=10)
    return tr, A.trial_phases(osc, osc_ref, tr.colors, tr.onsets)


# ------------------------------------------------------------------ planar oscillator

def test_oscillator_period_and_floquet_multipliers(osc, osc_cycle):
    c = osc_cycle
    assert c.kind == "limit cycle" and c.oscillates
    assert c.period_ms == pytest.approx(273.0, abs=0.05)
    along, across = osc.floquet_multipliers
    assert c.floquet_multipliers[0] == pytest.approx(along, abs=0.01)
    assert c.floquet_multipliers[1] == pytest.approx(across, rel=0.05)
    assert c.pc12_variance == pytest.approx(1.0)
    assert c.decay_per_period == pytest.approx(1.0, abs=1e-3)
    json.dumps(c.to_dict())


def test_integer_period_cycle_is_measured_exactly():
    paper = PlanarOscillator()  # 290 ms = 29 steps: the orbit repeats exactly
    c = A.free_run_dynamics(paper, settle_steps=300, window_steps=600)
    assert c.kind == "limit cycle" and c.period_ms == pytest.approx(290.0, abs=1e-6)
    ref = A.phase_reference(paper, c)
    prc = A.phase_response_curve(paper, ref, n_phases=24)
    np.testing.assert_allclose(prc.mean_deg, [0.0, 120.0, -120.0], atol=0.1)


def test_asymptotic_phase_of_known_states(osc, osc_ref):
    om = np.rad2deg(osc.omega)
    # x0 has radius 1.5: off the cycle, but its isochron is the ray, so its phase is 0
    assert osc_ref.transient_steps > 0
    assert abs(osc_ref.asymptotic_phase(osc.x0[None], 0)[0]) < 0.05
    # free-running states are at phase 0 relative to the free run, at any time
    traj = A.free_trajectory(osc, 60)
    np.testing.assert_allclose(osc_ref.asymptotic_phase(traj, np.arange(61)), 0.0, atol=0.05)
    # a state turned by delta (at any radius) is delta ahead
    t = np.arange(0, 60, 7)
    delta = np.linspace(-170, 170, len(t))
    ang = np.deg2rad(40.0 + om * t + delta)
    r = np.linspace(0.3, 2.0, len(t))
    states = np.c_[r * np.cos(ang), r * np.sin(ang)]
    np.testing.assert_allclose(wrap_deg(osc_ref.asymptotic_phase(states, t) - delta), 0.0, atol=0.05)
    # the cycle's own parametrisation: phase p is the free run's phase at step p / omega
    pts = osc_ref.curve(np.array([0.0, 90.0]))
    np.testing.assert_allclose(np.rad2deg(np.arctan2(pts[:, 1], pts[:, 0])), wrap_deg(40.0 + np.array([0, 90])),
                               atol=0.01)


def test_phase_response_is_the_kick_everywhere(osc, osc_ref):
    prc = A.phase_response_curve(osc, osc_ref, n_phases=36)
    assert prc.shift_deg.shape == (3, 36)
    np.testing.assert_allclose(wrap_deg(prc.shift_deg - np.array(KICKS)[:, None]), 0.0, atol=0.1)
    np.testing.assert_allclose(prc.mean_deg, KICKS, atol=0.1)
    assert (prc.std_deg < 0.1).all() and (prc.range_deg < 0.2).all()


def test_trial_phases_kicks_clusters_and_automaton(osc, osc_trials):
    tr, tp = osc_trials
    np.testing.assert_allclose(wrap_deg(tp.kicks_deg - np.array(KICKS)[tp.colors]), 0.0, atol=0.1)
    np.testing.assert_allclose(wrap_deg(tp.end_deg - tp.after_deg[:, -1]), 0.0, atol=0.05)
    assert (tp.decisions == tr.targets).all()
    code = A.phase_code(tp.kicks_deg, tp.colors)
    assert code.common_offset_deg == pytest.approx(25.0, abs=0.1)
    assert code.steps == (0, 1, 2) and code.is_bijection
    clusters = A.circular_clusters(tp.end_deg, valid=tr.targets > 0)
    assert clusters.n == 3 and clusters.margin_deg == pytest.approx(120.0, abs=0.5)
    valid = [c for c in clusters.clusters if c.valid_fraction == 1.0]
    assert len(valid) == 1 and valid[0].centre_deg == pytest.approx(75.0, abs=0.1)  # 3 x 25
    assert sorted(c.valid_fraction for c in clusters.clusters) == [0.0, 0.0, 1.0]
    na = A.network_automaton(tp, code)
    assert na.automaton.n_states == 3 and na.automaton.is_z3() and na.automaton.recognizes_set()
    assert na.agreement == 1.0 and na.phase_agreement == 1.0 and na.disagreements == []
    json.dumps(na.to_dict())


def test_lstar_on_the_oscillator_finds_z3(osc, osc_ref, osc_trials):
    _, tp = osc_trials
    code = A.phase_code(tp.kicks_deg, tp.colors)
    res = learn_lstar(A.phase_membership(osc, osc_ref, code), exhaustive_len=4, n_random=40)
    assert res.automaton.n_states == 3 and res.automaton.is_z3()


def test_longer_sequences_and_noise(osc, osc_ref, osc_trials):
    _, tp = osc_trials
    code = A.phase_code(tp.kicks_deg, tp.colors)
    acc = A.accuracy_by_length(osc, osc_ref, code, lengths=(1, 5, 10), n_per_length=20)
    assert acc["accuracy"] == [1.0, 1.0, 1.0]
    assert abs(acc["drift_deg_per_pulse"]) < 0.01
    tr = task.fresh_set(2, draws=4)
    noise = A.noise_robustness(osc, osc_ref, tr, (0.0, 0.02, 0.5))
    assert noise["accuracy"][0] == 1.0 and noise["phase_error_deg"][0] < 1e-6
    assert noise["phase_error_deg"][1] < noise["phase_error_deg"][2]
    assert noise["accuracy"][2] < 0.9


# ------------------------------------------------------------------ hand-built CT-RNNs

def _net(J, x0=None, b=None):
    m = CTRNN(task.color_encodings(0), seed=3, dtype=torch.float64)
    with torch.no_grad():
        m.J.copy_(torch.as_tensor(J))
        if x0 is not None:
            m.x0.copy_(torch.as_tensor(x0))
        if b is not None:
            m.b.copy_(torch.as_tensor(b))
    return m


_rng = np.random.default_rng(0)
_Q = np.linalg.qr(_rng.standard_normal((100, 100)))[0]
_X0 = 2 * _Q[:, 0] + 0.5 * _Q[:, 1] + 0.1 * _rng.standard_normal(100)


def _rotation(rho, period_steps, rest=0.3):
    th = 2 * np.pi / period_steps
    d = np.diag(np.full(100, rest))
    d[:2, :2] = rho * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return _Q @ d @ _Q.T


def test_stable_fixed_point_is_not_oscillating():
    m = _net(0.5 * _Q, b=0.2 * _rng.standard_normal(100))
    c = A.free_run_dynamics(m, settle_steps=500, window_steps=500)
    assert c.kind == "fixed point" and not c.oscillates and c.period_ms is None
    assert np.abs(c.fixed_point_eigenvalues).max() == pytest.approx(0.5 * (1 - np.tanh(c.fixed_point) ** 2).max(),
                                                                    rel=0.5)
    with pytest.raises(ValueError, match="fixed point"):
        A.phase_reference(m, c)
    assert not A.oscillation_test(m).is_limit_cycle
    out = A.analyze(m, draws=2, n_boot=2)
    json.dumps(out)
    assert out["mechanism"] == "fixed point" and out["period_ms"] is None
    assert out["kick_deg"] is None and out["n_end_clusters"] is None and out["oscillator_fit"] is None


def test_decaying_spiral_and_converged_focus():
    slow = A.free_run_dynamics(_net(_rotation(0.999, 27), _X0), settle_steps=500, window_steps=1500)
    assert slow.kind == "decaying spiral" and not slow.oscillates
    assert slow.damped_period_ms == pytest.approx(270.0, rel=1e-3)
    assert slow.decay_time_ms == pytest.approx(-10 / np.log(0.999), rel=1e-3)
    assert slow.floquet_multipliers[0] < 0.99
    fast = A.free_run_dynamics(_net(_rotation(0.9, 27), _X0), settle_steps=1000, window_steps=500)
    assert fast.kind == "fixed point"
    assert fast.damped_period_ms == pytest.approx(270.0, rel=1e-3)


def test_period_two_flip_is_a_fast_cycle():
    c = A.free_run_dynamics(_net(-2 * np.eye(100), _X0), settle_steps=300, window_steps=300)
    assert c.kind == "fast cycle" and c.period_ms == pytest.approx(20.0) and not c.oscillates


def test_saturating_rotation_is_a_limit_cycle_with_consistent_phases():
    m = _net(_rotation(1.1, 25), _X0)
    c = A.free_run_dynamics(m, settle_steps=500, window_steps=1000)
    assert c.kind == "limit cycle"
    assert c.period_ms == pytest.approx(250.0, rel=0.05)
    assert abs(c.floquet_multipliers[0] - 1) < 1e-3 and c.floquet_multipliers[1] < 0.5
    ref = A.phase_reference(m, c)
    traj = A.free_trajectory(m, 50)
    np.testing.assert_allclose(ref.asymptotic_phase(traj, np.arange(51)), 0.0, atol=0.05)
    # a pulse's kick is the same whether read at the pulse or 100 ms later (input-free evolution keeps it)
    tr = task.fresh_set(3, draws=2)
    tp = A.trial_phases(m, ref, tr.colors, tr.onsets)
    np.testing.assert_allclose(wrap_deg(tp.end_deg - tp.after_deg[:, -1]), 0.0, atol=0.05)


# ------------------------------------------------------------------ building blocks

def test_simulation_conventions_match_the_model():
    m = _net(_rotation(1.1, 25), _X0)
    with torch.no_grad():
        m.B.normal_()
    tr = task.test_set(seed=4)
    with torch.no_grad():
        rates = m.run(tr.codes).rates.numpy()
    states = A.trajectory(m, tr.codes)
    np.testing.assert_allclose(np.tanh(states[:, 1:]), rates, atol=1e-12)
    np.testing.assert_allclose(A.trial_rates(m, tr.codes), rates, atol=1e-12)
    keep = tr.onsets + task.PULSE_STEPS
    kept, final = A.simulate(m, tr.codes, keep=keep)
    np.testing.assert_allclose(kept.numpy(), states[np.arange(27)[:, None], keep], atol=1e-12)
    np.testing.assert_allclose(final.numpy(), states[:, -1], atol=1e-12)
    np.testing.assert_array_equal(A.stimulus_codes(tr.colors, tr.onsets, task.N_STEPS), tr.codes)
    jac = A.jacobians(m, states[0, :3])
    eps = 1e-6
    x = torch.as_tensor(states[0, 1])
    num = np.stack([(m.step((x + eps * e)[None], torch.zeros(1, 100, dtype=x.dtype))
                     - m.step((x - eps * e)[None], torch.zeros(1, 100, dtype=x.dtype)))[0].detach().numpy() / (2 * eps)
                    for e in torch.eye(100, dtype=x.dtype)[:10]], 1)
    np.testing.assert_allclose(jac[1][:, :10], num, atol=1e-6)


def test_circular_clusters_and_statistics():
    ph = np.r_[np.linspace(170, 190, 11), np.linspace(-60, -40, 5), np.linspace(50, 70, 7), [np.nan]]
    rep = A.circular_clusters(ph, valid=np.r_[np.ones(11), np.zeros(13), [0]].astype(bool))
    assert rep.n == 3 and rep.labels[-1] == -1
    assert sorted(c.size for c in rep.clusters) == [5, 7, 11]
    wrap = [c for c in rep.clusters if c.size == 11][0]
    assert abs(wrap_deg(wrap.centre_deg - 180)) < 1e-9 and wrap.width_deg == pytest.approx(10)
    assert wrap.valid_fraction == 1.0
    assert rep.margin_deg == pytest.approx(90.0)
    assert A.circular_clusters(np.linspace(0, 350, 36)).n == 1
    assert A.circular_mean_deg([170, -170]) == pytest.approx(-180)
    assert A.circular_std_deg([10, 10, 10]) < 1e-5
    assert A.circular_std_deg(np.r_[np.full(50, 5.0), np.full(50, -5.0)]) == pytest.approx(5.0, rel=0.01)


def test_phase_code_decomposition():
    code = A.phase_code_from_means(np.array([-101.0, 16.0, 137.0]))
    assert code.common_offset_deg == pytest.approx(17.333, abs=1e-3)
    assert code.steps == (2, 0, 1) and code.is_bijection
    np.testing.assert_allclose(code.residual_deg, [1.667, -1.333, -0.333], atol=1e-3)
    assert not A.phase_code_from_means(np.array([0.0, 0.0, 120.0])).is_bijection


def test_pca_rotation_and_separability():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 5)) * np.array([5, 3, 1, 0.5, 0.1])
    u, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    for flip in (1.0, -1.0):  # the sign convention holds whichever sign the data's SVD hands out
        p = A.fit_pca(flip * x, 3)
        comp = p.components_
        np.testing.assert_allclose(np.abs(comp), np.abs(vt[:3]), atol=1e-9)
        assert (comp[np.arange(3), np.abs(comp).argmax(1)] > 0).all()  # largest loading positive
        np.testing.assert_allclose(p.explained_variance_ratio_, (s ** 2 / (s ** 2).sum())[:3])
        np.testing.assert_allclose(p.transform(flip * x), (flip * x - flip * x.mean(0)) @ comp.T, atol=1e-9)
    # valid end points at angle 200 deg, invalid ones at 80 and -40: the best rPC1 axis points away from 200
    ang = np.deg2rad(np.r_[np.full(20, 200.0), np.full(20, 80.0), np.full(20, -40.0)] + rng.normal(0, 3, 60))
    pts = np.c_[np.cos(ang), np.sin(ang)] * 4
    valid = np.r_[np.ones(20), np.zeros(40)].astype(bool)
    scan = A.best_rotation(pts, valid, step_deg=1.0)
    assert scan.separable and abs(wrap_deg(scan.best_angle_deg - 20.0)) < 10
    r = A.rotate_pc(pts, scan.best_angle_deg)
    assert r[valid, 0].max() < r[~valid, 0].min()
    assert A.separability(pts, valid, [200.0])[0] < 0
    np.testing.assert_allclose(A.pc_angle_deg(np.array([[0.0, 1.0]])), [90.0])


# ------------------------------------------------------------------ the cached pipeline

def test_network_analysis_is_cached_by_weights_and_matches_the_direct_chain():
    A.clear_cache()
    m = _net(_rotation(1.1, 25), _X0)
    with torch.no_grad():
        m.B.normal_(generator=torch.Generator().manual_seed(1))
    na = A.network_analysis(m)
    assert A.network_analysis(_net(_rotation(1.1, 25), _X0)) is not na  # other input weights B
    assert A.network_analysis(m) is na
    copy = _net(_rotation(1.1, 25), _X0)
    copy.load_state_dict(m.state_dict())
    assert A.network_analysis(copy) is na  # same weights, another object: the same analysis
    # each step equals the direct call, and is computed once
    cycle = A.free_run_dynamics(m)
    assert na.cycle.kind == cycle.kind == "limit cycle" and na.cycle.period_steps == cycle.period_steps
    ref = A.phase_reference(m, cycle)
    np.testing.assert_array_equal(na.reference.coef, ref.coef)
    prc = A.phase_response_curve(m, ref)
    np.testing.assert_array_equal(na.prc.shift_deg, prc.shift_deg)
    assert na.prc_code.steps == A.phase_code_from_means(prc.mean_deg, prc.std_deg).steps
    tr = A.automaton_trials(draws=2)
    tp = A.trial_phases(m, ref, tr.colors, tr.onsets)
    np.testing.assert_array_equal(na.trial_phases(draws=2).end_deg, tp.end_deg)
    np.testing.assert_array_equal(na.code(draws=2).kick_mean_deg, A.phase_code(tp.kicks_deg, tp.colors).kick_mean_deg)
    assert na.cycle is na.cycle and na.prc is na.prc and na.code(draws=2) is na.code(draws=2)
    # a changed model is a new network: never served the old results
    with torch.no_grad():
        m.J.mul_(1.01)
    assert A.network_analysis(m) is not na
    assert A.network_analysis(copy) is na
    # systems that are not torch modules are not cached
    osc = PlanarOscillator()
    assert A.network_analysis(osc) is not A.network_analysis(osc)
    A.clear_cache()
    assert A.network_analysis(copy) is not na


def test_named_trial_sets():
    from setdyn import paper
    held = A.heldout_trials()
    assert len(held) == 27 * paper.HELDOUT_DRAWS
    np.testing.assert_array_equal(held.onsets, task.fresh_set(paper.HELDOUT_ONSET_SEED, paper.HELDOUT_DRAWS).onsets)
    np.testing.assert_array_equal(A.automaton_trials(5, seed=1).onsets,
                                  task.fresh_set(1 + paper.AUTOMATON_SEED_OFFSET, 5).onsets)
    np.testing.assert_array_equal(A.fit_trials().onsets, task.test_set(seed=paper.TEST_ONSET_SEED).onsets)
    assert len(A.noise_trials()) == 27 * 20


@pytest.mark.parametrize("bad", [[np.nan, 0.0, 120.0], [0.0, 120.0], [np.inf, 1.0, 2.0]])
def test_a_phase_code_refuses_missing_or_unmeasured_kicks(bad):
    with pytest.raises(ValueError, match="one finite mean kick"):
        A.phase_code_from_means(np.array(bad))
