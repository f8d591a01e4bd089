"""The hand-written BPTT engine: the same loss and gradients as autograd, and training with it."""
import numpy as np
import pytest
import torch

from model_helpers import perturbed_model
from setdyn import task
from setdyn.training import TrainConfig, build_model, make_optimizer, resolve_engine, train, train_epoch
from setdyn.training.engines import bptt
from setdyn.training.engines.autograd import loss_fn
from setdyn.training.noise import NoiseStream, draw_noise

SHORT = dict(max_epochs=3, eval_every=3, stop_train_acc_noisy=None, stop_test_acc_clean=None,
             stop_fresh_acc_clean=None)


@pytest.mark.parametrize("noise", [(0.1, 0.5), (0.0, 0.0)], ids=["noisy", "noise-free"])
def test_loss_and_gradients_equal_autograd(noise):
    cfg = TrainConfig(noise_std=noise[0], x0_noise_std=noise[1], activity_penalty=1e-2)
    model = perturbed_model(1)
    trials = task.training_set(3)
    codes = torch.as_tensor(trials.codes[:40])
    y = torch.as_tensor(trials.targets[:40], dtype=torch.float64)
    assert (codes == task.NO_INPUT).any() and (codes >= 0).any()
    loss, z = loss_fn(model, codes, y, cfg, torch.Generator().manual_seed(9))
    loss.backward()
    value, z_bptt, grads = bptt.loss_and_grads(model, codes, y, cfg.noise_std, cfg.x0_noise_std,
                                               cfg.activity_penalty, torch.Generator().manual_seed(9))
    assert value == pytest.approx(loss.item(), rel=1e-9)
    torch.testing.assert_close(z_bptt, z[:, -task.SCORE_STEPS:].detach(), rtol=1e-9, atol=1e-9)
    assert set(grads) == {n for n, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        assert grads[name].shape == p.shape
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_bptt_refuses_alpha_below_one_and_engines_are_named():
    model = build_model(TrainConfig(alpha=0.5))
    codes = torch.full((2, task.N_STEPS), task.NO_INPUT)
    with pytest.raises(ValueError, match="alpha = dt/tau = 1 only.*autograd"):
        bptt.loss_and_grads(model, codes, torch.ones(2), 0.1, 0.5, 1e-6, None)
    assert resolve_engine("auto", TrainConfig(alpha=0.5)) == "autograd"
    with pytest.raises(ValueError, match="accepted: auto, native, bptt, autograd"):
        resolve_engine("jax", TrainConfig())
    with pytest.raises(ValueError, match="alpha = 1 only"):
        train(TrainConfig(alpha=0.5, **SHORT), progress=False, engine="bptt")


def test_training_with_bptt_is_reproducible_and_tracks_autograd():
    cfg = TrainConfig(seed=5, **SHORT)
    a = train(cfg, progress=False, engine="bptt")
    b = train(cfg, progress=False, engine="bptt")
    ref = train(cfg, progress=False, engine="autograd")
    assert a.engine == "bptt" and ref.engine == "autograd"
    assert a.history == b.history
    # same noise, same minibatches: the engines differ only by float32 rounding over 15 updates
    np.testing.assert_allclose(a.history["train_loss"], ref.history["train_loss"], rtol=1e-4)
    for k, v in a.model.state_dict().items():
        torch.testing.assert_close(v, ref.model.state_dict()[k], rtol=1e-3, atol=1e-4)


def _inline_draws(seed: int, n_trials: int, batch: int, noise_std: float, x0_noise_std: float, epochs: int):
    """The documented order, drawn with plain torch calls: per epoch a permutation, then per
    minibatch eta (batch x T x N, std noise_std) and xi (batch x N, std x0_noise_std), as
    `CTRNN.run` draws them (randn times std); a std of 0 draws nothing."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(epochs):
        out.append(torch.randperm(n_trials, generator=g))
        for start in range(0, n_trials, batch):
            size = min(batch, n_trials - start)
            eta = torch.randn(size, task.N_STEPS, 7, generator=g) * noise_std if noise_std > 0 else \
                torch.zeros(size, task.N_STEPS, 7)
            xi = torch.randn(size, 7, generator=g) * x0_noise_std if x0_noise_std > 0 else torch.zeros(size, 7)
            out.append((eta, xi))
    return out


@pytest.mark.parametrize("noise", [(0.1, 0.5), (0.0, 0.5), (0.2, 0.0)])
def test_noise_stream_draws_what_inline_drawing_draws(noise):
    """The background thread draws the same numbers, in the same order, as drawing in line (last
    minibatch smaller than the rest); eta is stored time-major, as CTRNN.run draws it batch-major."""
    expected = _inline_draws(4, 10, 4, *noise, epochs=2)
    sizes = []
    with NoiseStream(torch.Generator().manual_seed(4), 10, 4, task.N_STEPS, 7, *noise) as stream:
        for want in expected:
            if isinstance(want, torch.Tensor):
                assert torch.equal(stream.permutation(), want)
            else:
                eta, xi = want
                got = stream.minibatch()
                sizes.append(got.xi.shape[0])
                assert got.states.shape == (task.N_STEPS + 1, len(xi), 7)
                assert torch.equal(got.states[1:], eta.transpose(0, 1)) and torch.equal(got.xi, xi)
    assert sizes == [4, 4, 2] * 2


def test_noise_stream_refuses_misuse():
    with pytest.raises(ValueError, match="must be positive"):
        NoiseStream(torch.Generator(), 10, 0, task.N_STEPS, 7, 0.1, 0.5)
    stream = NoiseStream(torch.Generator(), 10, 4, task.N_STEPS, 7, 0.1, 0.5)
    with pytest.raises(RuntimeError, match="asked for a minibatch, the next item is a permutation"):
        stream.minibatch()
    stream.close()
    with pytest.raises(RuntimeError, match="closed"):
        stream.permutation()
    model = build_model(TrainConfig())
    wrong = draw_noise(3, task.N_STEPS, 100, 0.1, 0.5, None)
    with pytest.raises(ValueError, match="noise for 2 trials of 50 steps"):
        bptt.loss_and_grads(model, torch.full((2, task.N_STEPS), task.NO_INPUT), torch.ones(2), 0.1, 0.5, 1e-6,
                            None, noise=wrong)


def test_training_gives_the_same_numbers_with_and_without_the_noise_thread():
    cfg = TrainConfig(seed=2, **SHORT)
    trials = task.training_set(cfg.seed)
    codes, y = torch.as_tensor(trials.codes), torch.as_tensor(trials.targets, dtype=torch.float32)
    runs = []
    for threaded in (False, True):
        model = build_model(cfg)
        opt = make_optimizer(model, cfg, "bptt")
        g = torch.Generator().manual_seed(7)
        stream = NoiseStream(g, len(trials), cfg.batch_size, task.N_STEPS, cfg.n_units, cfg.noise_std,
                                  cfg.x0_noise_std) if threaded else None
        losses = []
        for _ in range(2):
            perm = stream.permutation() if stream else torch.randperm(len(trials), generator=g)
            losses += train_epoch(model, opt, codes, y, perm, cfg, g, "bptt", noise=stream)[0]
        if stream:
            stream.close()
        runs.append((losses, model.state_dict()))
    assert runs[0][0] == runs[1][0]
    for k, v in runs[0][1].items():
        assert torch.equal(v, runs[1][1][k]), k
