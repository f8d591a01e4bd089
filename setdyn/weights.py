"""Weight files: safetensors tensors + a JSON sidecar with config, history and accuracies.

Format (version 1), readable without setdyn:

* `NAME.safetensors`: float32 tensors J (N x N), B (N x D), b (N), W (1 x N),
  b_out (1), x0 (N), colors (3 x D, rows green, purple, red); metadata
  {"format": "setdyn-ctrnn", "format_version": "1", "alpha": "<dt/tau>",
  "activation": "tanh" | "relu"} (files without "activation" are tanh).
* `NAME.json`: {"format": "setdyn-ctrnn", "format_version": 1,
  "weights_sha256": ..., "config": {...}, "history": {...},
  "accuracy": {...}, "selection": {...}}.

Loading checks the names, shapes, dtype, format version and the checksum, and
refuses anything else with a WeightFileError.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .model import ACTIVATIONS, CTRNN

FORMAT = "setdyn-ctrnn"
FORMAT_VERSION = 1
DATA_DIR = Path(__file__).parent / "data"
PRETRAINED = DATA_DIR / "pretrained.safetensors"


class WeightFileError(ValueError):
    """A weight file that is missing, corrupt or does not match the expected format."""


def expected_shapes(n: int, d: int) -> dict[str, tuple[int, ...]]:
    return {"J": (n, n), "B": (n, d), "b": (n,), "W": (1, n), "b_out": (1,), "x0": (n,), "colors": (3, d)}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save(model: CTRNN, path: str | Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    """Write NAME.safetensors and NAME.json; meta holds config, history, accuracy, selection."""
    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: getattr(model, k).detach().to(torch.float32).contiguous().clone()
               for k in ("J", "B", "b", "W", "b_out", "x0", "colors")}
    save_file(tensors, str(path), metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION),
                                            "alpha": repr(model.alpha), "activation": model.activation_name})
    sidecar = {"format": FORMAT, "format_version": FORMAT_VERSION, "weights_sha256": sha256(path), **meta}
    json_path = path.with_suffix(".json")
    json_path.write_text(json.dumps(sidecar, indent=1) + "\n")
    return path, json_path


def load_meta(path: str | Path = PRETRAINED) -> dict[str, Any]:
    """The JSON sidecar of a weight file, checked for format and version."""
    json_path = Path(path).with_suffix(".json")
    if not json_path.is_file():
        raise WeightFileError(f"no sidecar file {json_path} next to the weights")
    try:
        meta = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WeightFileError(f"{json_path} is not valid JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightFileError(f"{json_path}: format must be {FORMAT!r}, got {meta.get('format') if isinstance(meta, dict) else meta!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise WeightFileError(f"{json_path}: format_version {meta.get('format_version')!r} is not supported; accepted: {FORMAT_VERSION}")
    return meta


def load(path: str | Path = PRETRAINED, dtype: torch.dtype = torch.float64) -> CTRNN:
    """Load a model (default: the shipped one) in `dtype` (float64 for analysis)."""
    path = Path(path)
    if not path.is_file():
        raise WeightFileError(f"weight file {path} does not exist")
    meta = load_meta(path)
    digest = sha256(path)
    if meta.get("weights_sha256") != digest:
        raise WeightFileError(f"{path} does not match its sidecar {path.with_suffix('.json').name} (sha256 differs): "
                              "corrupt or mismatched files")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open
        with safe_open(str(path), "pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightFileError(f"{path} is not a readable safetensors file: {e}") from None
    if header.get("format") != FORMAT or header.get("format_version") != str(FORMAT_VERSION):
        raise WeightFileError(f"{path}: metadata format {header.get('format')!r} version "
                              f"{header.get('format_version')!r}; accepted: {FORMAT!r} version {FORMAT_VERSION}")
    if "J" not in tensors or "B" not in tensors:
        raise WeightFileError(f"{path}: missing tensors; need {sorted(expected_shapes(1, 1))}, got {sorted(tensors)}")
    n, d = tensors["B"].shape if tensors["B"].ndim == 2 else (-1, -1)
    want = expected_shapes(n, d)
    if set(tensors) != set(want):
        raise WeightFileError(f"{path}: tensor names {sorted(tensors)}; expected exactly {sorted(want)}")
    for k, shape in want.items():
        t = tensors[k]
        if tuple(t.shape) != shape:
            raise WeightFileError(f"{path}: tensor {k} has shape {tuple(t.shape)}, expected {shape}")
        if t.dtype != torch.float32:
            raise WeightFileError(f"{path}: tensor {k} has dtype {t.dtype}, expected float32")
        if not torch.isfinite(t).all():
            raise WeightFileError(f"{path}: tensor {k} contains NaN or infinite values")
    try:
        alpha = float(header.get("alpha", "1.0"))
    except ValueError:
        raise WeightFileError(f"{path}: alpha {header.get('alpha')!r} is not a number") from None
    activation = header.get("activation", "tanh")  # written since the relu option; older files are tanh
    if activation not in ACTIVATIONS:
        raise WeightFileError(f"{path}: activation {activation!r}; accepted: {', '.join(ACTIVATIONS)}")
    model = CTRNN(tensors["colors"], n_units=n, alpha=alpha, dtype=dtype, activation=activation)
    with torch.no_grad():
        for k in ("J", "B", "b", "W", "b_out", "x0"):
            getattr(model, k).copy_(tensors[k].to(dtype))
    model.eval()
    return model
