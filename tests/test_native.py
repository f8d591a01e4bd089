"""The compiled engine: the same loss and gradients as the Python BPTT, training with it, and the fallback."""
import shutil

import numpy as np
import pytest
import torch

from conftest import missing_requirement
from model_helpers import perturbed_model
from setdyn import task
from setdyn.training import ENGINES, TrainConfig, build_model, make_optimizer, resolve_engine, train, train_epoch
from setdyn.training.engines import bptt, native
from setdyn.training.loop import fused_adamw_step
from setdyn.training.noise import NoiseStream, draw_noise

SHORT = dict(max_epochs=3, eval_every=3, stop_train_acc_noisy=None, stop_test_acc_clean=None,
             stop_fresh_acc_clean=None)

if shutil.which("g++") is None and shutil.which("c++") is None:
    missing_requirement("the native engine needs a C++ compiler (g++; .ci/run installs it)")


@pytest.mark.parametrize("noise", [(0.1, 0.5), (0.0, 0.0)], ids=["noisy", "noise-free"])
def test_native_equals_python_bptt(noise):
    """float64, an activity penalty large enough to matter, every input code present."""
    model = perturbed_model(2)
    trials = task.training_set(4)
    codes = torch.as_tensor(trials.codes[::17])
    y = torch.as_tensor(trials.targets[::17], dtype=torch.float64)
    assert set(codes.unique().tolist()) == {-1, 0, 1, 2}
    ref = bptt.loss_and_grads(model, codes, y, *noise, 1e-2, torch.Generator().manual_seed(3))
    got = native.loss_and_grads(model, codes, y, *noise, 1e-2, torch.Generator().manual_seed(3))
    assert got[0] == pytest.approx(ref[0], rel=1e-12)
    torch.testing.assert_close(got[1], ref[1], rtol=1e-12, atol=1e-12)
    for name, p in model.named_parameters():
        assert got[2][name].shape == p.shape
        torch.testing.assert_close(got[2][name], ref[2][name], rtol=1e-10, atol=1e-13, msg=name)


def test_native_training_is_reproducible_and_tracks_python_bptt():
    """Given the same noise, native and Python BPTT take the same steps (up to float32 rounding); a
    native training run (its own noise generator) repeats exactly."""
    cfg = TrainConfig(seed=6, **SHORT)
    trials = task.training_set(cfg.seed)
    codes, y = torch.as_tensor(trials.codes), torch.as_tensor(trials.targets, dtype=torch.float32)
    runs = {}
    for engine in ("native", "bptt"):
        model = build_model(cfg)
        opt = make_optimizer(model, cfg, engine)
        g = torch.Generator().manual_seed(1)
        with NoiseStream(g, len(trials), cfg.batch_size, task.N_STEPS, cfg.n_units, cfg.noise_std,
                              cfg.x0_noise_std) as stream:
            losses = [train_epoch(model, opt, codes, y, stream.permutation(), cfg, g, engine, stream)[0]
                      for _ in range(3)]
        runs[engine] = (np.ravel(losses), model.state_dict())
    np.testing.assert_allclose(runs["native"][0], runs["bptt"][0], rtol=1e-4)
    for k, v in runs["native"][1].items():
        torch.testing.assert_close(v, runs["bptt"][1][k], rtol=1e-3, atol=1e-4)
    a = train(cfg, progress=False, engine="native")
    b = train(cfg, progress=False, engine="native")
    assert a.engine == "native" and resolve_engine("auto", cfg) == "native"
    assert a.history == b.history


def test_native_noise_is_normal_reproducible_and_streams_are_independent():
    from scipy import stats

    one = native.draw_noise(200, task.N_STEPS, 100, 0.1, 0.5, seed=3, index=4)
    again = native.draw_noise(200, task.N_STEPS, 100, 0.1, 0.5, seed=3, index=4)
    other = native.draw_noise(200, task.N_STEPS, 100, 0.1, 0.5, seed=3, index=5)
    assert one.states.shape == (task.N_STEPS + 1, 200, 100) and one.xi.shape == (200, 100)
    assert torch.equal(one.states[1:], again.states[1:]) and torch.equal(one.xi, again.xi)
    eta, xi = one.states[1:].double().flatten().numpy(), one.xi.double().flatten().numpy()
    assert stats.kstest(eta / 0.1, "norm").pvalue > 1e-3 and stats.kstest(xi / 0.5, "norm").pvalue > 1e-3
    assert abs(stats.kurtosis(eta)) < 0.02 and abs(np.mean(eta)) < 1e-3
    assert abs(np.corrcoef(eta, other.states[1:].double().flatten().numpy())[0, 1]) < 0.01
    assert abs(np.corrcoef(eta[:-1], eta[1:])[0, 1]) < 0.01
    quiet = native.draw_noise(3, task.N_STEPS, 100, 0.0, 0.0, seed=3, index=0)
    assert not quiet.states[1:].any() and not quiet.xi.any()
    with pytest.raises(ValueError, match="noise stds must be >= 0"):
        native.draw_noise(3, task.N_STEPS, 100, -0.1, 0.0, seed=3, index=0)
    calls = []

    def draw(size, index):
        calls.append((size, index))
        return native.draw_noise(size, task.N_STEPS, 100, 0.1, 0.5, seed=3, index=index)

    with NoiseStream(torch.Generator().manual_seed(0), 10, 4, task.N_STEPS, 100, 0.1, 0.5, draw=draw) as s:
        s.permutation()
        got = [s.minibatch() for _ in range(3)]
        s.permutation()
        got.append(s.minibatch())
    assert calls[:4] == [(4, 0), (4, 1), (2, 2), (4, 3)]
    assert torch.equal(got[3].xi, native.draw_noise(4, task.N_STEPS, 100, 0.1, 0.5, seed=3, index=3).xi)


def test_native_refuses_bad_input():
    with pytest.raises(ValueError, match="alpha = dt/tau = 1 only"):
        native.loss_and_grads(build_model(TrainConfig(alpha=0.5)), torch.full((2, task.N_STEPS), -1),
                              torch.ones(2), 0.1, 0.5, 1e-6, None)
    model = build_model(TrainConfig())
    wrong = draw_noise(3, task.N_STEPS, 100, 0.1, 0.5, None)
    with pytest.raises(ValueError, match="noise for 2 trials of 50 steps"):
        native.loss_and_grads(model, torch.full((2, task.N_STEPS), -1), torch.ones(2), 0.1, 0.5, 1e-6, None,
                              noise=wrong)
    with pytest.raises(ValueError, match="codes must be batch x T"):
        native.loss_and_grads(model, torch.full((task.N_STEPS,), -1), torch.ones(1), 0.1, 0.5, 1e-6, None)


def test_without_a_compiler_auto_falls_back_to_bptt_and_native_is_refused(monkeypatch):
    monkeypatch.setattr(native, "_module", None)
    monkeypatch.setattr(native, "_error", "CalledProcessError: no compiler")
    with pytest.warns(UserWarning, match="native BPTT kernel is not available.*no compiler.*'bptt' instead"):
        assert resolve_engine("auto", TrainConfig()) == "bptt"
    with pytest.raises(ValueError, match="needs a C.. compiler"):
        resolve_engine("native", TrainConfig())


def test_fast_fused_adamw_step_equals_the_optimiser_step():
    """The shortcut past AdamW's Python bookkeeping updates weights and state exactly as opt.step()."""
    cfg = TrainConfig()
    models = [build_model(cfg) for _ in range(2)]
    opts = [make_optimizer(m, cfg, "native") for m in models]
    g = torch.Generator().manual_seed(0)
    for _ in range(4):
        grads = [torch.randn(p.shape, generator=g) for p in models[0].parameters()]
        for m in models:
            for p, gr in zip(m.parameters(), grads):
                p.grad = gr.clone()
        opts[0].step()
        fused_adamw_step(opts[1])
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert torch.equal(a, b)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        sa, sb = opts[0].state[a], opts[1].state[b]
        assert all(torch.equal(sa[k], sb[k]) for k in ("step", "exp_avg", "exp_avg_sq"))
    assert float(opts[1].state[next(models[1].parameters())]["step"]) == 4


def test_native_final_outputs_equal_the_model_s():
    model = perturbed_model(3)
    codes = task.training_set(2).codes[::9]
    torch.testing.assert_close(native.final_outputs(model, codes, 5), model.final_outputs(codes, 5),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="stimulus codes must be -1"):
        native.final_outputs(model, np.full((2, task.N_STEPS), 5), 5)
    with pytest.raises(ValueError, match="keep must be between 1 and T"):
        native.final_outputs(model, codes, 0)


@pytest.mark.parametrize("stops", [True, False], ids=["stops early", "runs to the end"])
def test_evaluating_beside_the_next_epoch_changes_nothing(monkeypatch, stops):
    """The native engine evaluates epoch e while training e + 1 and, if that evaluation stops the run,
    undoes e + 1: history and weights equal those of evaluating in line."""
    rule = dict(stop_train_acc_noisy=0.0, stop_test_acc_clean=0.0, stop_fresh_acc_clean=0.0) if stops else \
        dict(stop_train_acc_noisy=None, stop_test_acc_clean=None, stop_fresh_acc_clean=None)
    cfg = TrainConfig(seed=1, max_epochs=9, eval_every=2, stop_patience=2, **rule)
    lagged = train(cfg, progress=False, engine="native")
    monkeypatch.setattr(ENGINES["native"], "lagged_evaluation", False)
    inline = train(cfg, progress=False, engine="native")
    assert lagged.stopped_early == inline.stopped_early == stops
    assert len(inline.history["train_loss"]) == (4 if stops else 9)
    assert lagged.history == inline.history
    for k, v in inline.model.state_dict().items():
        assert torch.equal(v, lagged.model.state_dict()[k]), k


def test_native_counts_correct_trials_with_the_paper_s_threshold(monkeypatch):
    """The kernel takes the decision threshold from `paper.DECISION_THRESHOLD` (an argument, not a
    number of its own): its count of correct trials follows the threshold the caller passes."""
    from setdyn import paper

    model = perturbed_model(4, dtype=torch.float32)
    trials = task.training_set(5)
    codes = torch.as_tensor(trials.codes[:60])
    y = torch.as_tensor(trials.targets[:60], dtype=torch.float32)
    counts = []
    for threshold in (0.0, 0.05, 0.2, paper.DECISION_THRESHOLD):
        monkeypatch.setattr(paper, "DECISION_THRESHOLD", threshold)
        _, z, _, correct = native.minibatch_gradients(model, codes, y, 0.0, 0.0, 1e-6, None, None, 5.0)
        last = z[:, -1]
        assert correct == int((((last > threshold) & (y > 0)) | ((last < -threshold) & (y < 0))).sum()), threshold
        counts.append(correct)
    assert len(set(counts)) > 1, counts  # the thresholds chosen do change the count
