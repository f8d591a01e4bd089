"""setdyn.reference on the reference repository's own files (keith-murray/ctrnn-julia, commit 19cdcf9).

The files are read from ``../shared/reference`` next to the repository (or from
$SETDYN_REFERENCE_DIR); they are never copied into the repository. Where they
are absent every test here is skipped with a message that says so.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from setdyn import analysis, cli, paper, pc_convention, reference, task
from setdyn.julia_serialization import read_values

REF_DIR = Path(os.environ.get("SETDYN_REFERENCE_DIR")
               or Path(__file__).resolve().parents[2] / "shared" / "reference")
pytestmark = pytest.mark.skipif(
    not all((REF_DIR / f).is_file() for f in (reference.TRAIN_FILE, reference.TEST_FILE, reference.MODEL_FILE)),
    reason=f"the reference repository's files are not in {REF_DIR} (set SETDYN_REFERENCE_DIR to a folder "
           f"holding {reference.TRAIN_FILE}, {reference.TEST_FILE} and {reference.MODEL_FILE})")


@pytest.fixture(scope="module")
def ref() -> reference.Reference:
    torch.set_num_threads(1)
    return reference.load_reference(REF_DIR)


@pytest.fixture(scope="module")
def figures(ref) -> dict:
    return reference.paper_figures(ref)


# ------------------------------------------------------------------ files and trials

def test_finds_a_folder_and_a_checkout_and_names_what_is_missing(tmp_path):
    flat = reference.find_reference(REF_DIR)
    assert flat.train.name == "data_540.jls" and flat.model.parent == REF_DIR
    (tmp_path / "data" / "models").mkdir(parents=True)  # a checkout's layout, by symbolic links
    for f, sub in ((reference.TRAIN_FILE, "data"), (reference.TEST_FILE, "data"), (reference.MODEL_FILE, "data/models")):
        (tmp_path / sub / f).symlink_to(REF_DIR / f)
    found = reference.find_reference(tmp_path)
    assert found.model == tmp_path / "data" / "models" / reference.MODEL_FILE
    (tmp_path / "data" / reference.TEST_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="data_27.jls"):
        reference.find_reference(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        reference.find_reference(tmp_path / "nowhere")


def test_trial_counts_colours_and_targets(ref):
    train, test = ref.train, ref.test
    assert (len(train), len(test)) == (540, 27)
    # the test set: the 27 ordered colour triples once each, 9 of them SETs
    assert sorted(map(tuple, test.colors.tolist())) == task.all_combinations()
    assert int((test.targets > 0).sum()) == 9
    # the training set: each SET 30 times, each non-SET 15 times: 50% valid
    combos, counts = np.unique(train.colors, axis=0, return_counts=True)
    assert len(combos) == 27
    assert all(n == (30 if task.is_valid_set(c) else 15) for c, n in zip(combos, counts))
    assert np.mean(train.targets > 0) == 0.5
    for t in (train, test):
        assert np.array_equal(t.targets > 0, [task.is_valid_set(c) for c in t.colors])
        assert np.all(t.target_steps[:, :-paper.SCORE_STEPS] == 0)
        assert np.all(t.target_steps[:, -paper.SCORE_STEPS:] == t.targets[:, None])
        assert np.allclose(t.pulse_end_s - t.pulse_start_s, 0.02, atol=1e-6)
        assert t.pulse_start_s.min() >= 0.03 and t.pulse_start_s.max() <= 0.40
    # both files share the four input vectors; "no input" is the zero vector
    assert np.array_equal(train.vecs, test.vecs) and not train.vecs[0].any() and train.vecs.shape == (4, 100)


def test_input_codes_follow_the_reference_rule(ref):
    """Code n is vecs[SET[searchsortedfirst(locations, t_n)]] with t_n = n dt: a colour is on for
    b < t <= b + 0.02, two steps per pulse; checked against np.searchsorted, independently."""
    t = np.arange(paper.N_STEPS) * paper.DT_MS / 1000
    for trials in (ref.train, ref.test):
        codes = trials.codes()
        for i in range(0, len(trials), 7):
            idx = np.searchsorted(trials.locations_s[i].astype(np.float64), t, side="left")  # 0-based first >= t
            assert np.array_equal(codes[i], trials.sets[i][idx] - 2)
        assert np.all((codes >= 0).sum(1) == 3 * paper.PULSE_STEPS)
        ts = trials.trial_set()
        assert np.array_equal(ts.codes[np.arange(len(ts))[:, None], ts.onsets], ts.colors)
        assert np.all(ts.codes[np.arange(len(ts))[:, None], ts.onsets - 1] == paper.NO_INPUT)
        assert ts.onsets.min() >= 4  # a continuous onset b >= 30 ms is first seen at 40 ms, never at step 3


# ------------------------------------------------------------------ the network

def test_network_is_the_reference_dynamics(ref):
    """CTRNN.run equals x_{t+1} = J tanh(x_t) + B u_t + b, z = W tanh(x) + b_out, written out in NumPy from
    the raw parameters and the reference's input vectors."""
    p = reference.load_parameters(ref.paths.model)
    assert {k: v.shape for k, v in p.items()} == {"x0": (100,), "J": (100, 100), "B": (100, 100), "b": (100,),
                                                    "W": (1, 100), "b_out": (1,)}
    trials = ref.test
    x = np.tile(p["x0"].astype(float), (len(trials), 1))
    u = trials.vecs.astype(float)[trials.codes() + 1]  # row 0 is "no input"
    z = []
    for n in range(paper.N_STEPS):
        x = np.tanh(x) @ p["J"].T.astype(float) + u[:, n] @ p["B"].T.astype(float) + p["b"]
        z.append(np.tanh(x) @ p["W"][0].astype(float) + p["b_out"][0])
    with torch.no_grad():
        ours = ref.model.run(trials.codes()).outputs.numpy()
    assert np.allclose(ours, np.array(z).T, atol=1e-9)


def test_noise_free_accuracy_is_100_percent_and_transposing_j_breaks_it(ref):
    from setdyn.training import evaluate

    assert evaluate(ref.model, ref.train.trial_set())[0] == 1.0
    assert evaluate(ref.model, ref.test.trial_set())[0] == 1.0
    flipped = copy.deepcopy(ref.model)
    with torch.no_grad():
        flipped.J.copy_(flipped.J.T.clone())
    assert evaluate(flipped, ref.train.trial_set())[0] < 0.3  # about 16%: the orientation matters


def test_history_ends_at_the_papers_accuracies(ref):
    h = ref.history
    assert set(h) == set(reference.HISTORY_ROWS) and all(len(v) == 2501 for v in h.values())
    assert h["train_acc"][-1] == pytest.approx(paper.PAPER_ACCURACY["train_acc_noisy"], abs=1e-5)  # 520 / 540
    assert h["test_acc"][-1] == paper.PAPER_ACCURACY["test_acc_noisy"]


def test_noisy_accuracy_matches_the_paper_within_the_noise(ref):
    """The paper's 96.30% train and 100% test are single noise draws: over many draws (README: mean 96.04%,
    sd 0.75 on train; 37.5% of test draws give 100%) they lie within the spread."""
    model = copy.deepcopy(ref.model).float()
    train = reference.noisy_accuracies(model, ref.train.trial_set(), 25, seed=0)
    assert 0.950 <= train.mean() <= 0.970
    assert abs(paper.PAPER_ACCURACY["train_acc_noisy"] - train.mean()) < 2 * train.std()
    test = reference.noisy_accuracies(model, ref.test.trial_set(), 40, seed=1000)
    assert 0.92 <= test.mean() < 1.0
    assert 0.1 <= np.mean(test == 1.0) <= 0.7  # 100% is a common draw, as the paper reports


def test_cli_evaluate_reference(capsys):
    assert cli.main(["evaluate", "--reference", str(REF_DIR)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"train_acc_noisy", "train_acc_clean", "test_acc_clean", "test_acc_noisy", "fresh_acc_clean"}
    assert out["train_acc_clean"] == out["test_acc_clean"] == 1.0
    assert 0.94 <= out["train_acc_noisy"] <= 0.98


def test_cli_analyze_reference_runs_the_books_analysis_on_the_papers_network(capsys, monkeypatch):
    seen = {}

    def fake_analyze(model, **kw):  # the full analysis takes minutes; check what it is given
        seen["J"], seen["kw"] = model.J.detach().clone(), kw
        return {"period_ms": 1.0}

    monkeypatch.setattr(analysis, "analyze", fake_analyze)
    assert cli.main(["analyze", "--reference", str(REF_DIR)]) == 0
    assert json.loads(capsys.readouterr().out) == {"period_ms": 1.0}
    want = reference.load_parameters(REF_DIR / reference.MODEL_FILE)["J"]
    assert np.array_equal(seen["J"].numpy(), want.astype(np.float64))


def test_cli_reference_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["evaluate", "--reference", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "model_31.jls" in err and err.count("\n") == 1


# ------------------------------------------------------------------ refused files

def test_refuses_truncated_corrupt_and_foreign_files(tmp_path):
    src = (REF_DIR / reference.TEST_FILE).read_bytes()
    cut = tmp_path / "cut.jls"
    cut.write_bytes(src[:len(src) // 2])
    with pytest.raises(ValueError, match="truncated"):
        reference.load_trials(cut)
    named = tmp_path / reference.TEST_FILE  # the same bytes under the reference's name: the digest says so
    named.write_bytes(src[:-1] + bytes([src[-1] ^ 1]))
    with pytest.raises(ValueError, match="sha256"):
        reference.load_trials(named)
    bad_tag = tmp_path / "tag.jls"
    bad_tag.write_bytes(src[:8] + b"\x17" + src[9:])  # the first value's tag: 0x15 (array) -> 0x17
    with pytest.raises(ValueError, match=r"tag 23 at byte 8"):
        reference.load_trials(bad_tag)
    header = tmp_path / "header.jls"
    header.write_bytes(b"PK\x03\x04" + src[4:])
    with pytest.raises(ValueError, match="header"):
        read_values(header, 2)
    extra = tmp_path / "extra.jls"
    extra.write_bytes(src + b"\xe0")
    with pytest.raises(ValueError, match="left over"):
        reference.load_trials(extra)
    with pytest.raises(FileNotFoundError):
        reference.load_trials(tmp_path / "absent.jls")
    # a trial file is not a model, nor the other way round
    with pytest.raises(ValueError, match="ComponentArray"):
        reference.load_parameters(REF_DIR / reference.TEST_FILE)
    with pytest.raises(ValueError, match="Vector"):
        reference.load_trials(REF_DIR / reference.MODEL_FILE)


# ------------------------------------------------------------------ this book's analysis on the paper's network

def test_limit_cycle_of_about_two_turns_per_trial(figures):
    assert figures["mechanism"] == "limit cycle"
    assert figures["period_ms"] == pytest.approx(236.3, abs=2.0)  # independent measurement: 236 ms
    assert 2.0 <= figures["turns_per_trial"] <= 2.3  # the paper: about two turns in 500 ms
    assert figures["floquet_multiplier"] == pytest.approx(1.0, abs=5e-4)  # 0.99987


def test_kicks_are_0_plus_and_minus_120_relative_to_green(figures):
    for key in ("kick_rel_green_deg", "kick_in_trial_rel_green_deg"):
        k = figures[key]
        assert k["purple"] == pytest.approx(120.0, abs=4.0) and k["red"] == pytest.approx(-120.0, abs=4.0)
    assert figures["z3_steps"] == {"green": 0, "purple": 1, "red": 2}


def test_separating_rotation_is_the_papers_60_degrees_in_the_convention(figures):
    assert figures["rotation_margin"] > 0
    assert figures["rotation_setdyn_deg"] == pytest.approx(120.5, abs=2.0)  # setdyn's PC signs
    assert figures["rotation_paper_convention_deg"] == pytest.approx(paper.PAPER_ROTATION_DEG, abs=2.0)
    assert figures["pc_frame"] == {"pc1_sign": -1, "turn": 1}


def test_the_convention_does_not_depend_on_the_pc_signs(ref):
    """Flipping PC1, PC2 or both moves setdyn's best angle (a -> 180 - a, -a, a + 180) but not the angle in
    the convention: it is fixed by the network (valid end points, the cycle's turning), not by the PCA."""
    pca = analysis.training_pca(ref.model, trials=ref.train.trial_set())
    valid = ref.train.targets > 0
    seen_setdyn, seen_convention = set(), set()
    for signs in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        p = copy.deepcopy(pca)
        s = np.ones(p.scores.shape[-1])
        s[:2] = signs
        p.pca.components_ *= s[:, None]
        p.scores *= s
        angle = analysis.best_rotation(p.scores[:, -1, :2], valid).best_angle_deg
        seen_setdyn.add(round(angle % 360, 1))
        seen_convention.add(round(pc_convention.rotation_in_paper_convention(ref.model, p, valid, angle), 1))
    assert len(seen_setdyn) == 4 and seen_convention == {59.5}


def test_pc_frame_refuses_what_it_cannot_orient(ref):
    pca = analysis.training_pca(ref.model, trials=ref.test.trial_set())
    with pytest.raises(ValueError, match="valid"):
        pc_convention.pc_frame(ref.model, pca, np.ones(27, bool))
    with pytest.raises(ValueError, match="turns only"):
        pc_convention.pc_frame(ref.model, pca, ref.test.targets > 0, n_steps=5)


def test_hand_set_oscillator_fits_poorly_and_a_fitted_one_well(figures):
    # the paper's oscillator, its kick on the pulse's second sample as in the reference code
    assert figures["paper_oscillator_r2"] == pytest.approx(0.15, abs=0.03)
    assert figures["paper_oscillator_r2_kick_at_onset"] < figures["paper_oscillator_r2"] - 0.1
    fit = figures["fitted_oscillator"]
    assert fit["r2"] == pytest.approx(0.86, abs=0.03)  # on the 540 training trials it was not fitted to
    assert fit["period_ms"] == pytest.approx(figures["period_ms"], rel=0.05)
