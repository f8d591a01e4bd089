"""setdyn.viz.figures: every figure function draws the traces the chapters rely on, from the data given.

Most tests feed small synthetic results, so they check what is drawn (names,
counts, shapes, colours, slider steps), not the analysis; two tests use the
shipped model end to end.
"""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from setdyn import paper, task
from setdyn.viz import figures
from setdyn.analysis.automaton import z3_automaton


def names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def trace(fig: go.Figure, name: str):
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, f"expected one trace {name!r}, got {names(fig)}"
    return found[0]


def serialises(fig: go.Figure) -> dict:
    """The figure survives plotly's validation and JSON encoding (what the book publishes)."""
    return json.loads(pio.to_json(fig, validate=True))


def ring(n: int = 60, r: float = 5.0) -> np.ndarray:
    th = np.linspace(0, 2 * np.pi, n)
    return np.c_[r * np.cos(th), r * np.sin(th), 0.2 * np.sin(2 * th)]


# ------------------------------------------------------------------ helpers


def test_sample_times_are_after_each_step():
    t = figures.sample_times()
    assert t.shape == (task.N_STEPS,) and t[0] == task.DT_MS and t[-1] == task.N_STEPS * task.DT_MS


def test_trial_signal_parses_sequences_and_defaults_onsets():
    s = figures.trial_signal("x", "PGR", None, np.zeros(50))
    assert s.colors == (1, 0, 2) and s.onsets == task.default_onsets() and s.valid is True
    none = figures.trial_signal("no input", None, None, np.zeros(50))
    assert none.colors == () and none.onsets == () and none.valid is None
    assert figures.trial_signal("g", "GGG", None, np.zeros(50)).line_color == task.COLOR_HEX["green"]
    with pytest.raises(ValueError):
        figures.trial_signal("bad", "PGR", (5, 6, 7), np.zeros(50))  # onsets too close


def test_r_squared():
    y = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert figures.r_squared(y, y) == 1.0
    assert figures.r_squared(y, np.full_like(y, y.mean())) == pytest.approx(0.0)
    assert figures.r_squared(y, y + 1.0) < 1.0


# ------------------------------------------------------------------ chapter 1


def test_combinations_grid_marks_9_valid_and_shows_81_colour_squares():
    fig = figures.combinations_grid()
    assert len(trace(fig, "valid (9)").x) == 9
    assert len(trace(fig, "invalid (18)").x) == 18
    squares = sum(len(trace(fig, c).x) for c in task.COLORS)
    assert squares == 81
    for c in task.COLORS:
        assert trace(fig, c).marker.color == task.COLOR_HEX[c]
        assert len(trace(fig, c).x) == 27  # each colour appears 27 times over all triples
    sums = trace(fig, "sum mod 3").text
    assert len(sums) == 27 and sums.count("0") == 9
    serialises(fig)


def test_trial_figure_draws_each_pulse_at_its_onset_in_its_colour():
    enc = np.random.default_rng(0).standard_normal((3, 100))
    fig = figures.trial_figure("PRG", (5, 20, 35), encodings=enc)
    pulses = [t for t in fig.data if " pulse " in (t.name or "")]
    assert [p.name for p in pulses] == ["purple pulse 1", "red pulse 2", "green pulse 3"]
    assert [min(p.x) for p in pulses] == [50, 200, 350] and [max(p.x) for p in pulses] == [70, 220, 370]
    assert [p.fillcolor for p in pulses] == [task.COLOR_HEX[c] for c in ("purple", "red", "green")]
    heat = trace(fig, "input u(t)")
    z = np.asarray(heat.z)
    assert z.shape == (100, task.N_STEPS)
    np.testing.assert_allclose(z[:, 5], enc[1])  # step 5 shows purple's vector
    assert np.all(z[:, :5] == 0) and np.all(z[:, -8:] == 0)
    assert "a valid SET" in fig.layout.title.text
    assert "not a SET" in figures.trial_figure("PGP").layout.title.text
    serialises(fig)


def test_trial_picker_has_one_slider_step_per_combination():
    fig = figures.trial_picker_figure()
    assert names(fig) == ["pulse 1", "pulse 2", "pulse 3", "target"]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == [task.sequence_name(c) for c in task.all_combinations()]
    pgr = steps[[s.label for s in steps].index("PGR")]
    assert pgr.args[0]["fillcolor"][:3] == [task.COLOR_HEX[c] for c in ("purple", "green", "red")]
    assert "a valid SET" in pgr.args[1]["title.text"]
    serialises(fig)


# ------------------------------------------------------------------ chapter 2


def test_training_curves_from_a_history():
    n, ev = 20, [5, 10, 15, 20]
    hist = {"train_loss": np.linspace(1, 0.1, n), "train_acc_noisy": np.linspace(0, 0.9, n), "eval_epoch": ev,
            "train_acc_clean": [0.5, 0.7, 0.9, 1.0], "test_acc_clean": [0.5, 0.6, 1.0, 1.0],
            "test_loss_clean": [0.9, 0.5, 0.2, 0.1], "fresh_acc_clean": [0.4, 0.6, 0.9, 1.0]}
    fig = figures.training_curves(hist)
    assert len(trace(fig, "train loss (noisy)").y) == n
    assert list(trace(fig, "test accuracy (noise-free)").x) == ev
    np.testing.assert_allclose(trace(fig, "fresh onsets (noise-free)").y, [40, 60, 90, 100])
    assert list(trace(fig, "paper: noisy train").y) == [pytest.approx(100 * paper.PAPER_ACCURACY["train_acc_noisy"])] * 2
    assert fig.layout.yaxis.type == "log"
    serialises(fig)


# ------------------------------------------------------------------ chapter 3


def test_output_figure_one_panel_per_trial_with_pulses_shaded():
    z = np.sin(np.arange(50) / 4)
    panels = [figures.trial_signal("not a set", "GGP", None, z), figures.trial_signal("no input", None, None, z),
              figures.trial_signal("a set", "PGR", None, z)]
    fig = figures.output_figure(panels)
    assert names(fig) == ["not a set", "no input", "a set"]
    assert all(len(t.y) == 50 for t in fig.data)
    assert list(fig.data[0].x[:2]) == [10, 20]
    colours = [s.fillcolor for s in fig.layout.shapes if s.type == "rect" and s.fillcolor in task.COLOR_HEX.values()]
    assert len(colours) == 6  # three pulses in each of the two trials with input
    serialises(fig)


# ------------------------------------------------------------------ chapter 4


def test_variance_figure():
    r = np.array([0.5, 0.3, 0.1, 0.05, 0.05])
    fig = figures.variance_figure(r)
    np.testing.assert_allclose(trace(fig, "per component").y, 100 * r)
    np.testing.assert_allclose(trace(fig, "cumulative").y, 100 * np.cumsum(r))


def test_phase_portraits_2d_and_3d():
    cyc = ring()
    no_input = ring(50)
    ends = ring(30)
    valid = np.arange(30) % 3 == 0
    fig = figures.phase_portrait_figure(no_input[:, :2], cyc[:, :2], ends[:, :2], valid, start_pc=np.zeros(2))
    assert len(trace(fig, "no input, 0-500 ms").x) == 50
    assert len(trace(fig, "end points: valid").x) == 10 and len(trace(fig, "end points: invalid").x) == 20
    assert len(trace(fig, "limit cycle").x) == 60 and len(trace(fig, "start").x) == 1
    serialises(fig)
    fig3 = figures.phase_portrait_3d(no_input, cyc, ends, valid)
    assert {t.type for t in fig3.data} == {"scatter3d"}
    assert len(trace(fig3, "end points: valid").z) == 10
    serialises(fig3)


def test_rotation_figure_slider_moves_the_axis_and_the_projections():
    from setdyn import analysis

    rng = np.random.default_rng(1)
    valid = np.arange(60) < 20
    ends = np.where(valid[:, None], [-4.0, -4.0], [[4.0, 0.5]]) + 0.3 * rng.standard_normal((60, 2))
    scan = analysis.best_rotation(ends, valid)
    fig = figures.rotation_figure(ends, valid, scan.angles_deg, scan.margins, scan.best_angle_deg,
                                  margin_at=lambda a: analysis.separability(ends, valid, a))
    for n in ("end points: valid", "end points: invalid", "rPC1 axis", "rPC1: valid", "rPC1: invalid",
              "separability margin", "this angle", "best angle", "paper's angle"):
        trace(fig, n)
    assert len(trace(fig, "separability margin").x) == len(scan.angles_deg)
    steps = fig.layout.sliders[0].steps
    labels = [float(s.label) for s in steps]
    assert 60.0 in labels and round(scan.best_angle_deg % 360, 1) in labels
    assert labels[fig.layout.sliders[0].active] == pytest.approx(round(scan.best_angle_deg % 360, 1))
    # the step for 0 degrees projects on PC1 itself
    s0 = steps[labels.index(0.0)]
    assert list(s0.args[2]) == [2, 3, 4, 6]
    np.testing.assert_allclose(s0.args[0]["x"][1], np.round(ends[valid, 0], 3))
    np.testing.assert_allclose(s0.args[0]["y"][3], analysis.separability(ends, valid, [0.0]))
    assert "margin" in s0.args[1]["title.text"]
    serialises(fig)


def test_rpc1_figure_distinguishes_trials_of_the_same_colour():
    y = np.cos(np.arange(50) / 4)
    sig = [figures.trial_signal("no input", None, None, y), figures.trial_signal("GGG", "GGG", None, y),
           figures.trial_signal("PGP", "PGP", None, y), figures.trial_signal("RGR", "RGR", None, y)]
    fig = figures.rpc1_figure(sig)
    assert names(fig) == ["no input", "GGG", "PGP", "RGR"]
    assert trace(fig, "GGG").line.color == task.COLOR_HEX["green"]
    assert trace(fig, "no input").line.dash == "dot"
    assert trace(fig, "PGP").line.color == trace(fig, "RGR").line.color
    assert trace(fig, "PGP").line.dash != trace(fig, "RGR").line.dash


# ------------------------------------------------------------------ chapter 5


def test_hexagon_hypothesis_has_10_end_attractors_4_of_them_valid():
    fig = figures.hexagon_hypothesis_figure()
    assert len(trace(fig, "end: valid (4)").x) == 4
    assert len(trace(fig, "end: invalid (6)").x) == 6
    # 0..3 steps on the triangular lattice with e_G + e_P + e_R = 0 reach 19 distinct points
    assert len(trace(fig, "attractor").x) == 19
    for c in task.COLORS:
        assert trace(fig, f"{c} move").line.color == task.COLOR_HEX[c]
    serialises(fig)


def test_automaton_figure_draws_each_transition():
    aut = z3_automaton((0, 2, 1))
    fig = figures.automaton_figure(aut.transitions, [0.0, 120.0, -120.0], [1.0, -119.0, 118.0], [2.0, 5.0, 3.0])
    assert len(trace(fig, "states").x) == 3
    assert len(trace(fig, "accepting (set)").x) == 1
    for c, name in enumerate(task.COLORS):
        t = trace(fig, name)
        assert t.line.color == task.COLOR_HEX[name]
        n_edges = list(t.x).count(None)
        assert n_edges == 3  # one transition per state and colour
    labels = trace(fig, "kicks").text
    assert labels[1].startswith("P: -119°") and "± 5" in labels[1]
    assert [a.text for a in fig.layout.annotations] == ["start"]
    serialises(fig)


def test_phase_path_figure():
    paths = {"PGP": ((1, 0, 1), [0.0, -120.0, -125.0, 120.0]), "RGR": ((2, 0, 2), [0.0, 100.0, 80.0, 178.0])}
    fig = figures.phase_path_figure(paths, -50.0)
    assert [n for n in names(fig) if n not in ("phase circle", "angles")] == ["set phase", "PGP", "RGR"]
    assert all(t.type == "scatter" for t in fig.data)  # ordinary x-y axes, no polar subplot
    pgp = trace(fig, "PGP")
    shown = [i for i, c in enumerate(pgp.marker.color) if c != "rgba(0,0,0,0)"]
    assert [pgp.marker.color[i] for i in shown] == [figures.NO_INPUT_HEX] + [
        task.COLOR_HEX[c] for c in ("purple", "green", "purple")]
    assert [x for x in pgp.text if x] == ["start", "P", "G", "P"]
    # the k-th marked point sits on ring k + 1 at its phase
    for k, i in enumerate(shown):
        x, y = pgp.x[i], pgp.y[i]
        assert np.hypot(x, y) == pytest.approx(k + 1)
        assert np.degrees(np.arctan2(y, x)) == pytest.approx(paths["PGP"][1][k])
    x, y = trace(fig, "set phase").x, trace(fig, "set phase").y
    assert np.degrees(np.arctan2(y[1], x[1])) == pytest.approx(-50.0)
    serialises(fig)


def test_prc_figure_draws_each_colour_in_its_colour_against_the_papers_kicks():
    a = np.arange(0, 360, 30.0)
    shift = np.stack([5 + 0 * a, -110 + 0 * a, 130 + 0 * a])  # one row per colour, all different
    fig = figures.prc_figure(a, shift, shift.mean(1))
    for c, name in enumerate(task.COLORS):
        curve = trace(fig, name)
        assert curve.line.color == task.COLOR_HEX[name]  # row c is drawn as colour c
        assert curve.y[0] == shift[c, 0]
        mean = trace(fig, f"{name} mean")
        assert list(mean.x) == [0, 360] and mean.line.color == task.COLOR_HEX[name]
        # the paper's kicks are drawn without the caller passing them: setdyn.paper's values
        assert list(trace(fig, f"paper: {name}").y) == [paper.PAPER_KICKS_DEG[c]] * 2
    # fixed axes, so curves of different networks compare by eye
    assert list(fig.layout.xaxis.range) == [0, 360] and list(fig.layout.yaxis.range) == [-180, 180]


def test_end_phase_figure_draws_every_trial_at_its_phase():
    rng = np.random.default_rng(0)
    valid = rng.random(300) < 0.33
    ends = np.where(valid, -50, 70 + 120 * rng.integers(0, 2, 300)) + 5 * rng.standard_normal(300)
    ends[:3] = np.nan  # never reached the cycle: not drawn
    fig = figures.end_phase_figure(ends, valid, [-50, 70, 190])
    v = trace(fig, f"valid trials ({int(valid[3:].sum())})")
    inv = trace(fig, f"invalid trials ({int((~valid[3:]).sum())})")
    assert len(v.x) + len(inv.x) == 297
    np.testing.assert_allclose(np.degrees(np.arctan2(v.y, v.x)), ends[3:][valid[3:]], atol=1e-9)
    centres = trace(fig, "cluster centres")
    assert list(centres.x).count(None) == 3
    assert all(t.type == "scatter" for t in fig.data)
    serialises(fig)


def test_length_and_noise_figures():
    by_len = {"lengths": [1, 2, 3], "accuracy": [1.0, 1.0, 0.9], "std_error_deg": [3.0, 5.0, 8.0]}
    fig = figures.length_figure(by_len)
    np.testing.assert_allclose(trace(fig, "accuracy").y, [100, 100, 90])
    np.testing.assert_allclose(trace(fig, "phase error (circular std)").y, [3, 5, 8])
    noise = {"noise_std": [0.0, 0.1], "accuracy": [1.0, 0.9], "phase_class_accuracy": [1.0, 1.0],
             "phase_error_deg": [0.0, 12.0]}
    fig = figures.noise_figure(noise, 0.1)
    np.testing.assert_allclose(trace(fig, "network decision").y, [100, 90])
    np.testing.assert_allclose(trace(fig, "phase class").y, [100, 100])


# ------------------------------------------------------------------ chapter 6


def test_oscillator_figure_one_panel_per_trial():
    from setdyn.analysis.oscillator import handcrafted

    t = figures.sample_times()
    seqs = ["PGP", "PGR", "RGR"]
    trials = task.make_trials([task.parse_sequence(s) for s in seqs], onsets=[task.default_onsets()] * 3)
    hand = handcrafted(t, trials.onsets * 10.0, trials.colors)
    sig = [figures.trial_signal(s, s, None, y) for s, y in zip(seqs, hand)]
    fig = figures.oscillator_figure(sig, {"paper's oscillator": list(hand), "fit": list(hand * 0.9)})
    assert len(fig.data) == 9
    assert [t.name for t in fig.data if t.showlegend is not False] == ["network rPC1", "paper's oscillator", "fit"]
    # panel k (top to bottom, in the order given) holds the three curves of trial k
    assert [a.text for a in fig.layout.annotations] == seqs
    for k, s in enumerate(seqs):
        on_panel = [t for t in fig.data if (t.yaxis or "y") == ("y" if k == 0 else f"y{k + 1}")]
        assert len(on_panel) == 3 and {t.legendgroup for t in on_panel} == {"net", "paper's oscillator", "fit"}
    # one shared y range that holds every curve, with a margin
    lo, hi = fig.layout.yaxis.range
    assert lo < min(hand.min(), 0.9 * hand.min()) and hi > max(hand.max(), 0.9 * hand.max())
    assert all(tuple(fig.layout[f"yaxis{k}"].range) == (lo, hi) for k in (2, 3))
    # each panel shades its three pulses at the onsets (50, 150, 250 ms) in the colours of its trial
    rects = [(sh.x0, sh.fillcolor) for sh in fig.layout.shapes]
    assert len(rects) == 9
    assert [x0 for x0, _ in rects[:3]] == [50.0, 150.0, 250.0]
    assert [c for _, c in rects[6:]] == [task.COLOR_HEX[n] for n in ("red", "green", "red")]
    serialises(fig)


# ------------------------------------------------------------------ with the shipped model


@pytest.fixture(scope="module")
def model():
    from setdyn import weights

    return weights.load()


def test_fig3_from_the_shipped_model_ends_at_the_targets(model):
    import torch

    onsets = task.default_onsets()
    codes = np.stack([task.stimulus(task.parse_sequence(s), onsets) for s in ("GGP", "PGR")])
    with torch.no_grad():
        z = model.run(codes).outputs.numpy()
    fig = figures.output_figure([figures.trial_signal(s, s, onsets, zi) for s, zi in zip(("GGP", "PGR"), z)])
    assert fig.data[0].y[-1] < -0.5 and fig.data[1].y[-1] > 0.5


def test_automaton_figure_from_the_network(model):
    from setdyn import analysis

    cycle = analysis.free_run_dynamics(model, settle_steps=500, window_steps=1000)
    ref = analysis.phase_reference(model, cycle)
    trials = task.fresh_set(5, 2)
    tp = analysis.trial_phases(model, ref, trials.colors, trials.onsets)
    code = analysis.phase_code(tp.kicks_deg, tp.colors)
    na = analysis.network_automaton(tp, code)
    raw = na.extraction.raw
    fig = figures.automaton_figure(raw.transitions, [c.centre_deg for c in na.class_report.clusters],
                                   code.kick_mean_deg, code.kick_std_deg, start=raw.start,
                                   accepting=sorted(raw.accepting))
    assert len(trace(fig, "states").x) == 3
    assert len(trace(fig, "accepting (set)").x) == 1
