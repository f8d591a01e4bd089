"""Snapshots of the weights along training: when to take them, and one compact file to keep them in.

Format (version 1), readable without setdyn:

* `checkpoints.safetensors`: per trainable tensor one float32 array stacked over the
  snapshots, J (S x N x N), B (S x N x D), b (S x N), W (S x 1 x N), b_out (S x 1),
  x0 (S x N), and the fixed colour vectors once, colors (3 x D); metadata
  {"format": "setdyn-checkpoints", "format_version": "1", "alpha": "<dt/tau>"}.
* `checkpoints.json`: {"format": "setdyn-checkpoints", "format_version": 1,
  "weights_sha256": ..., "epochs": [...], "train_loss": [...], "train_acc_noisy": [...],
  "config": {...}, "engine": ..., ...}; the lists have one entry per snapshot, in
  epoch order (epoch 0 is the untrained network; an epoch's loss and noisy accuracy are
  the means over its minibatches, as in the run's history).

Both files are written to a temporary name and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..model import CTRNN
from ..paper import PARAM_NAMES

FORMAT = "setdyn-checkpoints"
FORMAT_VERSION = 1
STEM = "checkpoints"


class CheckpointFileError(ValueError):
    """A checkpoint file that is missing, corrupt or not in the expected format."""


def checkpoint_epochs(n: int, max_epochs: int) -> list[int]:
    """The epochs at which `n` snapshots are taken in a run of at most `max_epochs` epochs:
    epoch 0 (the untrained network), log-spaced epochs in [1, max_epochs], and max_epochs;
    the run's actual last epoch (earlier if it stops early) is added by the loop.

    Returns sorted distinct epochs, exactly min(n, max_epochs + 1) of them. ValueError for n < 2
    (a first and a last snapshot are the least) or max_epochs < 1.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"the number of checkpoints must be a whole number >= 2 (first and last), got {n!r}")
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, (int, np.integer)) or max_epochs < 1:
        raise ValueError(f"max_epochs must be a whole number >= 1, got {max_epochs!r}")
    want = min(int(n), int(max_epochs) + 1)
    k = want - 1
    while True:  # rounding merges the small epochs: ask for more points until there are enough
        ep = np.unique(np.round(np.geomspace(1, max_epochs, k)).astype(int))
        ep = np.unique(np.concatenate([[0], ep, [max_epochs]]))
        if len(ep) >= want:
            break
        k += 1
    ep = [int(e) for e in ep]
    while len(ep) > want:  # drop the interior epoch closest (in log epoch) to its predecessor
        logs = np.log(np.asarray(ep[1:-1], float))
        i = int(np.argmin(np.diff(logs))) + 2 if len(logs) > 1 else 1
        del ep[i]
    return ep


def weights_of(model: CTRNN) -> dict[str, torch.Tensor]:
    """A float32 copy of the trainable tensors of `model` (PARAM_NAMES)."""
    return {k: getattr(model, k).detach().to(torch.float32).clone() for k in PARAM_NAMES}


def _atomic_write(path: Path, write: Any) -> None:
    """Call write(tmp_path) on a temporary file in path's folder, then rename it to `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoints(directory: str | Path, snapshots: dict[int, dict[str, torch.Tensor]], colors: torch.Tensor,
                     alpha: float, history: dict[str, Sequence[float]], meta: dict[str, Any]) -> Path:
    """Write DIR/checkpoints.safetensors and DIR/checkpoints.json (see the module docstring).

    snapshots : epoch -> {name: tensor} for every name in PARAM_NAMES (as `weights_of` gives).
    history : the run's per-epoch train_loss and train_acc_noisy (epoch e at index e - 1).
    meta : anything else for the index (config, engine, ...). Returns the safetensors path.
    """
    reserved = {"format", "format_version", "weights_sha256", "epochs", "train_loss", "train_acc_noisy"}
    if reserved & set(meta):
        raise ValueError(f"meta may not set the index's own keys {sorted(reserved & set(meta))}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not snapshots:
        raise ValueError("no snapshots to save")
    epochs = sorted(snapshots)
    tensors = {k: torch.stack([snapshots[e][k].to(torch.float32) for e in epochs]).contiguous() for k in PARAM_NAMES}
    tensors["colors"] = torch.as_tensor(colors).detach().to(torch.float32).contiguous().clone()
    path = directory / f"{STEM}.safetensors"
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "alpha": repr(float(alpha))}
    _atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))

    def at(key: str, e: int) -> float | None:
        return float(history[key][e - 1]) if 1 <= e <= len(history.get(key, [])) else None

    from ..weights import sha256

    index = {"format": FORMAT, "format_version": FORMAT_VERSION, "weights_sha256": sha256(path), "epochs": epochs,
             "train_loss": [at("train_loss", e) for e in epochs],
             "train_acc_noisy": [at("train_acc_noisy", e) for e in epochs], **meta}
    json_path = path.with_suffix(".json")
    _atomic_write(json_path, lambda tmp: tmp.write_text(json.dumps(index, indent=1) + "\n"))
    return path


def load_index(directory: str | Path) -> dict[str, Any]:
    """The JSON index of a checkpoint folder, checked for format and version."""
    path = Path(directory) / f"{STEM}.json"
    if not path.is_file():
        raise CheckpointFileError(f"no checkpoint index {path} "
                                  "(write one with `python -m setdyn train --checkpoints N`)")
    try:
        index = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointFileError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT or index.get("format_version") != FORMAT_VERSION:
        raise CheckpointFileError(f"{path}: expected format {FORMAT!r} version {FORMAT_VERSION}")
    return index


def load_checkpoints(directory: str | Path, dtype: torch.dtype = torch.float64) -> tuple[list[CTRNN], dict[str, Any]]:
    """The snapshot networks of a checkpoint folder (in `dtype`, float64 for analysis), in epoch order,
    and the index. CheckpointFileError if the files are missing, corrupt or do not match."""
    from ..weights import sha256

    directory = Path(directory)
    index = load_index(directory)
    path = directory / f"{STEM}.safetensors"
    if not path.is_file():
        raise CheckpointFileError(f"checkpoint weights {path} do not exist")
    if index.get("weights_sha256") != sha256(path):
        raise CheckpointFileError(f"{path} does not match its index (sha256 differs): corrupt or mismatched files")
    try:
        with safe_open(str(path), "pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointFileError(f"{path} is not a readable safetensors file: {e}") from None
    missing = set(PARAM_NAMES + ("colors",)) - set(tensors)
    if missing:
        raise CheckpointFileError(f"{path}: missing tensors {sorted(missing)}")
    n_snap = len(index["epochs"])
    if any(tensors[k].shape[0] != n_snap for k in PARAM_NAMES):
        raise CheckpointFileError(f"{path}: the tensors do not all hold {n_snap} snapshots (the index's epochs)")
    alpha = float(header.get("alpha", "1.0"))
    n = tensors["J"].shape[1]
    models = []
    for s in range(n_snap):
        model = CTRNN(tensors["colors"], n_units=n, alpha=alpha, dtype=dtype)
        with torch.no_grad():
            for k in PARAM_NAMES:
                getattr(model, k).copy_(tensors[k][s].to(dtype))
        model.eval()
        models.append(model)
    return models, index


__all__ = ["CheckpointFileError", "FORMAT", "FORMAT_VERSION", "checkpoint_epochs", "load_checkpoints", "load_index",
           "save_checkpoints", "weights_of"]
