"""Training: short runs lower the loss and are reproducible; the CLI reports errors cleanly."""
import json
import subprocess
import sys

import pytest
import torch

from setdyn import paper
from setdyn.training import TrainConfig, build_model, make_optimizer, train

SHORT = dict(max_epochs=6, eval_every=3, stop_train_acc_noisy=None, stop_test_acc_clean=None,
             stop_fresh_acc_clean=None)


def test_short_training_lowers_the_loss():
    cfg = TrainConfig(seed=0, lr=3e-3, **SHORT)  # a larger step so that 6 epochs move visibly
    res = train(cfg, progress=False)
    loss = res.history["train_loss"]
    assert len(loss) == 6
    assert loss[-1] < loss[0] - 0.03  # 1.097 -> 1.048 for this seed


def test_same_seed_same_history_other_seed_other_history():
    a = train(TrainConfig(seed=3, **{**SHORT, "max_epochs": 3}), progress=False)
    b = train(TrainConfig(seed=3, **{**SHORT, "max_epochs": 3}), progress=False)
    c = train(TrainConfig(seed=4, **{**SHORT, "max_epochs": 3}), progress=False)
    assert a.history == b.history
    assert a.history["train_loss"] != c.history["train_loss"]
    for k, v in a.model.state_dict().items():
        torch.testing.assert_close(v, b.model.state_dict()[k], rtol=0, atol=0)


@pytest.mark.parametrize("engine", ["autograd", "bptt"], ids=["per-tensor AdamW", "fused AdamW"])
def test_the_optimiser_decays_weights_as_the_reference(engine):
    """The project's optimiser (`make_optimizer`), given zero gradients, takes the reference's update
    x -= 1e-4 * x per step, for every parameter, with the per-tensor and the fused AdamW."""
    cfg = TrainConfig()
    model = build_model(cfg)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = make_optimizer(model, cfg, engine)
    for _ in range(3):
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
    assert opt.param_groups[0]["fused"] == (engine == "bptt" or None)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), before[name] * (1 - 1e-4) ** 3, rtol=1e-6, atol=0, msg=name)


def test_config_round_trip_and_unknown_key():
    cfg = TrainConfig(seed=7)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown training config keys \\['learning_rate'\\]"):
        TrainConfig.from_dict({"learning_rate": 1})


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "setdyn", *args], capture_output=True, text=True)


def test_cli_train_writes_loadable_weights(tmp_path):
    r = run_cli("train", "--seed", "2", "--out", str(tmp_path), "--epochs", "2")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "model.json").is_file()
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["config"]["seed"] == 2 and meta["config"]["max_epochs"] == 2
    assert len(meta["history"]["train_loss"]) == 2
    r = run_cli("evaluate", "--weights", out["weights"])
    assert r.returncode == 0, r.stderr
    acc = json.loads(r.stdout)
    assert set(acc) >= {"train_acc_noisy", "train_acc_clean", "test_acc_noisy", "test_acc_clean"}


def test_cli_errors_are_one_line_exit_2(tmp_path):
    r = run_cli("evaluate", "--weights", str(tmp_path / "nope.safetensors"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "does not exist" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("train", "--out", str(tmp_path), "--epochs", "0")
    assert r.returncode == 2 and "--epochs must be a positive" in r.stderr


def test_epochs_to_accuracy_is_the_first_evaluation_meeting_both_levels():
    from setdyn.training import epochs_to_accuracy

    history = {"train_acc_noisy": [0.5, 0.95, 0.97, 0.97, 0.99, 0.99],
               "eval_epoch": [2, 4, 6], "test_acc_clean": [1.0, 0.96, 1.0]}
    assert epochs_to_accuracy(history) == 6  # epoch 2: train 0.95; epoch 4: test 0.96
    assert epochs_to_accuracy(history, train_acc_noisy=0.9, test_acc_clean=0.9) == 2
    assert epochs_to_accuracy(history, train_acc_noisy=1.0) is None
    assert epochs_to_accuracy({}) is None


def test_config_defaults_are_the_paper_s():
    cfg = TrainConfig()
    assert (cfg.stop_train_acc_noisy, cfg.stop_test_acc_clean, cfg.stop_fresh_acc_clean) == (
        paper.ACCEPT["train_acc_noisy"], paper.ACCEPT["test_acc_clean"], paper.ACCEPT["fresh_acc_clean"])
    assert (cfg.test_onset_seed, cfg.fresh_onset_seed, cfg.fresh_draws) == (
        paper.TEST_ONSET_SEED, paper.FRESH_ONSET_SEED, paper.FRESH_DRAWS)
    assert cfg.n_units == paper.N_UNITS


@pytest.mark.parametrize("field,value,accepted", [
    ("seed", -1, r"seed must be an integer between 0 and "),
    ("seed", 2 ** 63, r"seed must be an integer between 0 and "),
    ("seed", 1.0, r"seed must be an integer .*got 1.0"),
    ("seed", True, r"seed must be an integer .*got True"),
    ("seed", "7", r"seed must be an integer .*got '7'"),
    ("eval_noise_seed", -3, r"eval_noise_seed must be an integer between 0 and "),
    ("n_units", 10.5, r"n_units must be an integer >= 1"),
    ("n_units", "abc", r"n_units must be an integer >= 1"),
    ("batch_size", 0, r"batch_size must be an integer >= 1, got 0"),
    ("max_epochs", 1e23, r"max_epochs must be an integer >= 1"),
    ("lr", float("nan"), r"lr must be a finite number > 0, got nan"),
    ("lr", 0.0, r"lr must be a finite number > 0"),
    ("lr", float("inf"), r"lr must be a finite number > 0"),
    ("grad_clip", -5.0, r"grad_clip must be a finite number > 0"),
    ("alpha", 0.0, r"alpha \(dt/tau\) must be in \(0, 1\]"),
    ("alpha", -0.5, r"alpha \(dt/tau\) must be in \(0, 1\]"),
    ("alpha", 1.5, r"alpha \(dt/tau\) must be in \(0, 1\]"),
    ("alpha", None, r"alpha \(dt/tau\) must be in \(0, 1\]"),
    ("noise_std", -1.0, r"noise_std must be a finite number >= 0"),
    ("x0_noise_std", float("nan"), r"x0_noise_std must be a finite number >= 0"),
    ("activity_penalty", float("-inf"), r"activity_penalty must be a finite number >= 0"),
    ("weight_decay_per_step", 1.0, r"weight_decay_per_step must be a number in \[0, 1\)"),
    ("betas", [0.9], r"betas must be two numbers in \[0, 1\)"),
    ("betas", "ab", r"betas must be two numbers in \[0, 1\)"),
    ("betas", (0.9, 1.0), r"betas\[1\] must be a number in \[0, 1\)"),
    ("stop_test_acc_clean", 1.5, r"stop_test_acc_clean \(an accuracy, or None: no condition\) must be a finite number between 0 and 1"),
    ("stop_patience", 0, r"stop_patience must be an integer >= 1"),
])
def test_config_refuses_bad_values_naming_the_field(field, value, accepted):
    with pytest.raises(ValueError, match=accepted):
        TrainConfig(**{field: value})
    with pytest.raises(ValueError, match=accepted):  # the same through a JSON-like dict
        TrainConfig.from_dict({field: value})


def test_config_accepts_numpy_numbers_as_python_ones_and_refuses_a_non_dict():
    import numpy as np

    cfg = TrainConfig(seed=np.int64(3), alpha=np.float64(0.5), betas=[0.8, 0.9], max_epochs=np.int32(4))
    assert (cfg.seed, cfg.alpha, cfg.betas, cfg.max_epochs) == (3, 0.5, (0.8, 0.9), 4)
    assert type(cfg.seed) is int and type(cfg.alpha) is float and type(cfg.max_epochs) is int
    json.dumps(cfg.to_dict())  # plain JSON types
    for bad in ([1, 2], "seed", None):
        with pytest.raises(ValueError, match="a training config must be a mapping"):
            TrainConfig.from_dict(bad)
