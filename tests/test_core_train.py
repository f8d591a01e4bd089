"""Training: short runs lower the loss and are reproducible; the CLI reports errors cleanly."""
import json
import subprocess
import sys

import pytest
import torch

from setdyn.train import TrainConfig, train

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


def test_weight_decay_matches_reference():
    """With zero gradients the reference update is x -= 1e-4 * x per step."""
    cfg = TrainConfig()
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([p], lr=cfg.lr, weight_decay=cfg.weight_decay_per_step / cfg.lr)
    p.grad = torch.zeros(3)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((3,), 1 - 1e-4))


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
    from setdyn.train import epochs_to_accuracy

    history = {"train_acc_noisy": [0.5, 0.95, 0.97, 0.97, 0.99, 0.99],
               "eval_epoch": [2, 4, 6], "test_acc_clean": [1.0, 0.96, 1.0]}
    assert epochs_to_accuracy(history) == 6  # epoch 2: train 0.95; epoch 4: test 0.96
    assert epochs_to_accuracy(history, train_acc_noisy=0.9, test_acc_clean=0.9) == 2
    assert epochs_to_accuracy(history, train_acc_noisy=1.0) is None
    assert epochs_to_accuracy({}) is None
