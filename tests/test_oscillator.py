"""The handcrafted oscillator: formula, planar dynamical system, least-squares fit."""
import numpy as np
import pytest

from setdyn import task
from setdyn.model import accuracy
from setdyn.analysis.oscillator import PlanarOscillator, fit_handcrafted, handcrafted
from setdyn.numerics import wrap_deg


def test_published_formula_without_and_with_kicks():
    t = np.arange(0, 500, 10.0)
    f = handcrafted(t, np.zeros((1, 0)), np.zeros((1, 0), dtype=int))[0]
    np.testing.assert_allclose(f, 7 * np.sin(2 * np.pi * t / 290) - 1.5)
    # one purple pulse at 100 ms: +120 degrees from its second sample (110 ms) on, as in the paper's code
    g = handcrafted(t, [[100.0]], [[1]])[0]
    np.testing.assert_allclose(g[t < 110], f[t < 110])
    np.testing.assert_allclose(g[t >= 110], 7 * np.sin(2 * np.pi * t[t >= 110] / 290 + 2 * np.pi / 3) - 1.5)
    # as the paper writes it, from the onset on
    g0 = handcrafted(t, [[100.0]], [[1]], kick_delay_ms=0.0)[0]
    np.testing.assert_allclose(g0[t >= 100], 7 * np.sin(2 * np.pi * t[t >= 100] / 290 + 2 * np.pi / 3) - 1.5)
    # absent pulses (colour -1) do nothing; green does nothing
    np.testing.assert_allclose(handcrafted(t, [[100.0, 200.0]], [[0, -1]])[0], f)


def test_planar_system_is_the_formula_between_pulses():
    osc = PlanarOscillator(period_ms=290.0, kicks_deg=(10.0, 130.0, -110.0), phase0_deg=30.0)
    trials = task.fresh_set(3, draws=2)
    rates = osc.run(trials.codes).rates.numpy()  # rates[:, t] = state after step t, at (t + 1) * 10 ms
    t_ms = (np.arange(task.N_STEPS) + 1) * task.DT_MS
    f = handcrafted(t_ms, trials.onsets * task.DT_MS, trials.colors, kicks_deg=osc.kicks_deg, phase0_deg=30.0,
                    kick_delay_ms=task.PULSE_STEPS * task.DT_MS)
    # inside a pulse the system has half its kick; compare everywhere else
    inside = np.zeros_like(f, dtype=bool)
    for j in range(3):
        inside[np.arange(len(f)), trials.onsets[:, j]] = True
    np.testing.assert_allclose(osc.signal(rates)[~inside], f[~inside], atol=1e-9)


def test_planar_oscillator_solves_the_task_for_any_z3_code():
    trials = task.fresh_set(1, draws=10)
    for kicks in [(0, 120, -120), (25, 145, -95), (-100, 16, 136)]:
        osc = PlanarOscillator(kicks_deg=kicks, period_ms=273.0, contraction=0.3, radial_kicks=(0.2, -0.1, 0.3))
        assert accuracy(osc.run(trials.codes).outputs, trials.targets) == 1.0
    # kicks that are not a Z3 code (two colours alike) fail
    osc = PlanarOscillator(kicks_deg=(0, 0, 120))
    assert accuracy(osc.run(trials.codes).outputs, trials.targets) < 0.9


def test_exact_floquet_multipliers_and_validation():
    osc = PlanarOscillator(period_ms=270.0, contraction=0.1)
    assert osc.floquet_multipliers == pytest.approx((1.0, 0.9 ** 27))
    with pytest.raises(ValueError, match="contraction"):
        PlanarOscillator(contraction=0.0)
    with pytest.raises(ValueError, match="period"):
        PlanarOscillator(period_ms=-1)


def test_fit_recovers_known_parameters_with_noise():
    rng = np.random.default_rng(0)
    fit_set, held = task.test_set(seed=1), task.fresh_set(2, draws=2)
    t = (np.arange(task.N_STEPS) + 1) * task.DT_MS
    truth = dict(amplitude=5.0, period_ms=260.0, offset=-0.7, kicks_deg=(-100.0, 20.0, 140.0), phase0_deg=50.0,
                 kick_delay_ms=30.0)

    def data(tr):
        y = handcrafted(t, tr.onsets * task.DT_MS, tr.colors, **truth)
        return y + 0.2 * rng.standard_normal(y.shape)

    fit = fit_handcrafted(t, data(fit_set), fit_set.onsets * task.DT_MS, fit_set.colors, period_ms=240.0,
                          kicks_deg=(-80, 0, 120), heldout=(data(held), held.onsets * task.DT_MS, held.colors),
                          n_boot=20)
    assert fit.kick_delay_ms == 30.0
    assert fit.amplitude == pytest.approx(5.0, abs=0.1)
    assert fit.period_ms == pytest.approx(260.0, abs=2.0)
    assert fit.offset == pytest.approx(-0.7, abs=0.05)
    for c, k in zip(task.COLORS, truth["kicks_deg"]):
        assert abs(wrap_deg(fit.kick_deg[c] - k)) < 3
        lo, hi = fit.kick_ci95_deg[c]
        assert lo <= fit.kick_deg[c] <= hi and hi - lo < 15
    assert fit.r2 > 0.95 and fit.r2_fit > 0.95
    d = fit.to_dict()
    assert set(d) >= {"amplitude", "period_ms", "offset", "kick_deg", "r2"}
    assert "params" not in d
