"""The relu option: model, config, engines, weight files and the analysis's Jacobians."""
import json
import warnings

import numpy as np
import pytest
import torch

from setdyn import task, weights
from setdyn.analysis.cycle import lyapunov_exponents
from setdyn.analysis.mechanism import _residual, find_fixed_points
from setdyn.analysis.simulate import jacobians
from setdyn.cli import main as cli_main
from setdyn.model import ACTIVATIONS, CTRNN
from setdyn.training import TrainConfig, build_model, resolve_engine, train


def relu_model(alpha=1.0, seed=2):
    return CTRNN(task.color_encodings(0), n_units=20, alpha=alpha, seed=seed, dtype=torch.float64, activation="relu")


def test_activation_is_validated():
    with pytest.raises(ValueError, match="tanh, relu"):
        TrainConfig(activation="sigmoid")
    with pytest.raises(ValueError, match="tanh, relu"):
        CTRNN(task.color_encodings(0), activation="ReLU")
    assert TrainConfig().activation == "tanh" and ACTIVATIONS == ("tanh", "relu")
    assert build_model(TrainConfig(activation="relu")).activation_name == "relu"


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_relu_paths_agree(alpha):
    """The fused a = 1 loop, the per-step loop and final_outputs compute the same relu network."""
    m = relu_model(alpha)
    codes = task.test_set().codes
    fast = m.run(codes).outputs
    slow = m.run(codes, fast=False).outputs
    assert torch.allclose(fast, slow, atol=1e-10)
    assert torch.allclose(m.final_outputs(codes, 5), fast[:, -5:], atol=1e-10)
    r = m.run(codes).rates
    assert (r >= 0).all() and (r == 0).any()  # relu rates: non-negative, some exactly silent


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_jacobian_uses_relu_derivative(alpha):
    """The closed-form Jacobian equals autograd's derivative of the relu step (tanh's would not)."""
    m = relu_model(alpha)
    x = torch.randn(4, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    closed = jacobians(m, x)
    zero = torch.zeros(20, dtype=torch.float64)
    auto = np.stack([torch.autograd.functional.jacobian(lambda v: m.step(v[None], zero[None])[0], xi).numpy()
                     for xi in x])
    assert np.allclose(closed, auto, atol=1e-12)
    tanh_gain = alpha * m.J.detach().numpy()[None] * (1 - np.tanh(x.numpy()) ** 2)[:, None, :]
    assert not np.allclose(closed - (1 - alpha) * np.eye(20), tanh_gain, atol=1e-3)


def test_relu_fixed_points_and_lyapunov():
    """Fixed points of a relu network are zeros of J relu(x) + b - x, and the Lyapunov exponents along a
    fixed point are the log moduli of its relu Jacobian's eigenvalues."""
    m = relu_model()
    fps = find_fixed_points(m, n_starts=32, iters=200)
    assert fps
    for f in fps:
        assert np.linalg.norm(_residual(m, torch.as_tensor(f.x[None])).numpy()) < 1e-8
    x = fps[0].x
    with np.errstate(divide="ignore"):  # silent units: eigenvalue 0
        ev = np.sort(np.log(np.abs(np.linalg.eigvals(jacobians(m, x[None])[0]))))[::-1]
    le = lyapunov_exponents(m, np.repeat(x[None], 400, 0), k=2)
    assert np.allclose(le, ev[:2], atol=2e-2)


def test_engines_for_relu():
    cfg = TrainConfig(activation="relu")
    assert resolve_engine("auto", cfg) == "autograd"
    for name in ("bptt", "native"):
        with pytest.raises(ValueError, match="tanh only.*relu"):
            resolve_engine(name, cfg)


def test_cli_refuses_bptt_with_relu(tmp_path, capsys):
    rc = cli_main(["train", "--seed", "0", "--out", str(tmp_path), "--epochs", "1", "--engine", "bptt",
                   "--activation", "relu"])
    assert rc != 0 and "differentiates activation tanh only" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_relu_trains_and_round_trips(tmp_path):
    # noise-free and lr 1e-3, so that a few epochs move the loss by more than the minibatch noise
    cfg = TrainConfig(seed=1, activation="relu", max_epochs=6, eval_every=3, fresh_draws=1, stop_patience=1,
                      lr=1e-3, noise_std=0.0, x0_noise_std=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = train(cfg, progress=False)
    assert res.engine == "autograd"
    losses = res.history["train_loss"]
    assert len(losses) == 6 and np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    path, js = weights.save(res.model, tmp_path / "relu", {"config": cfg.to_dict()})
    assert json.loads(js.read_text())["config"]["activation"] == "relu"
    back = weights.load(path)
    assert back.activation_name == "relu"
    codes = task.test_set().codes
    assert torch.allclose(back.run(codes).outputs, res.model.double().run(codes).outputs, atol=1e-5)


def test_old_weight_files_load_as_tanh():
    """The shipped file predates the option: no 'activation' in its metadata, and it loads as tanh."""
    from safetensors import safe_open

    with safe_open(str(weights.PRETRAINED), "pt") as f:
        assert "activation" not in (f.metadata() or {})
    assert "activation" not in weights.load_meta()["config"]
    assert weights.load().activation_name == "tanh"
    assert TrainConfig.from_dict(weights.load_meta()["config"]).activation == "tanh"
