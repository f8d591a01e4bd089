"""Snapshots along training (`train --checkpoints`) and the emergence of the oscillator in them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from setdyn.cli import main
from setdyn.training import TrainConfig, train
from setdyn.training.checkpoints import (CheckpointFileError, checkpoint_epochs, load_checkpoints, load_index,
                                         save_checkpoints)

SHORT = dict(max_epochs=6, eval_every=2, stop_train_acc_noisy=None, stop_test_acc_clean=None,
             stop_fresh_acc_clean=None)


@pytest.mark.parametrize("n, max_epochs", [(2, 1), (5, 3), (10, 10), (40, 2500), (16, 300)])
def test_checkpoint_epochs_are_n_distinct_log_spaced_from_0_to_max(n, max_epochs):
    ep = checkpoint_epochs(n, max_epochs)
    assert len(ep) == min(n, max_epochs + 1)
    assert ep[0] == 0 and ep[-1] == max_epochs and ep == sorted(set(ep))
    if len(ep) > 8:  # log-spaced: ratios of late neighbours about constant, gaps grow
        gaps = np.diff(ep)
        assert gaps[-1] > gaps[1]


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True])
def test_checkpoint_epochs_refuses_bad_counts(bad):
    with pytest.raises(ValueError, match="whole number >= 2"):
        checkpoint_epochs(bad, 100)


def test_snapshots_change_nothing_and_the_last_is_the_trained_network():
    cfg = TrainConfig(seed=3, **SHORT)
    plain = train(cfg, progress=False, engine="autograd")
    snap = train(cfg, progress=False, engine="autograd", checkpoints=[0, 2, 5])
    assert sorted(snap.snapshots) == [0, 2, 5, 6]
    for k, v in plain.model.state_dict().items():
        assert torch.equal(v, snap.model.state_dict()[k])
    assert torch.equal(snap.snapshots[6]["J"], plain.model.J.detach())
    assert not torch.equal(snap.snapshots[0]["J"], snap.snapshots[2]["J"])
    assert plain.snapshots == {}


def test_cli_writes_checkpoints_that_load_back(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"config": TrainConfig(seed=1, **SHORT).to_dict(), "engine": "autograd"}))
    assert main(["train", "--config", str(cfg), "--checkpoints", "4", "--out", str(tmp_path)]) == 0
    models, index = load_checkpoints(tmp_path)
    assert index["epochs"] == checkpoint_epochs(4, 6) and len(models) == 4
    assert index["train_loss"][0] is None and all(v > 0 for v in index["train_loss"][1:])
    final = json.loads((tmp_path / "model.json").read_text())
    assert index["train_loss"][-1] == pytest.approx(final["history"]["train_loss"][-1])
    from setdyn import weights
    trained = weights.load(tmp_path / "model.safetensors")
    assert torch.equal(models[-1].J, trained.J) and torch.equal(models[-1].colors, trained.colors)
    assert not list(tmp_path.glob("*.tmp"))  # the atomic writes left no temporary file


def test_cli_refuses_one_checkpoint(tmp_path, capsys):
    assert main(["train", "--checkpoints", "1", "--epochs", "2", "--out", str(tmp_path)]) == 2
    assert "--checkpoints" in capsys.readouterr().err


def test_corrupt_checkpoints_are_refused(tmp_path):
    w = {k: torch.zeros(s) for k, s in [("x0", (4,)), ("J", (4, 4)), ("B", (4, 5)), ("b", (4,)), ("W", (1, 4)),
                                          ("b_out", (1,))]}
    save_checkpoints(tmp_path, {0: w, 3: w}, torch.zeros(3, 5), 1.0, {"train_loss": [1.0, 0.9, 0.8]}, {})
    models, index = load_checkpoints(tmp_path)
    assert index["epochs"] == [0, 3] and index["train_loss"] == [None, 0.8]
    p = tmp_path / "checkpoints.safetensors"
    p.write_bytes(p.read_bytes()[:-4] + b"\0\0\0\1")
    with pytest.raises(CheckpointFileError, match="sha256"):
        load_checkpoints(tmp_path)
    with pytest.raises(CheckpointFileError, match="no checkpoint index"):
        load_index(tmp_path / "nowhere")
