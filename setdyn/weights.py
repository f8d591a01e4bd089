"""Weight files: safetensors tensors that carry their own record, plus a readable JSON copy.

Format (version 1), readable without setdyn:

* `NAME.safetensors`: float32 tensors J (N x N), B (N x D), b (N), W (1 x N),
  b_out (1), x0 (N), colors (3 x D, rows green, purple, red); metadata
  {"format": "setdyn-ctrnn", "format_version": "1", "alpha": "<dt/tau>",
  "setdyn_meta": "<the record as JSON>", "content_sha256": "<sha256 of the
  tensors and the record>", "activation": "tanh" | "relu"} (files without
  "activation" are tanh).
* `NAME.json`: {"format": "setdyn-ctrnn", "format_version": 1,
  "weights_sha256": <sha256 of NAME.safetensors>, "config": {...},
  "machine": {...}, "history": {...}, "accuracy": {...}, "selection": {...}}:
  a readable copy of the record.

The tensor file alone is self-consistent: its record (config, history,
accuracies, the machine it was trained on) travels inside it, checked by
``content_sha256``. A save writes both files to temporary files in the same
folder, flushes them to disk and renames the tensors first, then the JSON copy;
at every instant the tensor file is either the old one or the new one, complete.
A JSON copy that does not match its tensor file (a save interrupted between the
two renames) is ignored with a warning. Files written before the record was
embedded (the shipped model among them) have no ``setdyn_meta``; for them the
JSON sidecar is the record, tied to the tensors by ``weights_sha256``.

Loading checks the names, shapes, dtype, format version, alpha (present, in
(0, 1], equal to the record's config) and the checksums, and refuses anything
else with a WeightFileError.

:func:`lock_folder` locks an output folder while one run writes it (a second
run refuses at once); :func:`machine` describes the CPU, BLAS and torch a
network is trained with, the conditions under which retraining is bit for bit.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import platform
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from . import paper
from .model import ACTIVATIONS, CTRNN

FORMAT = "setdyn-ctrnn"
FORMAT_VERSION = 1
DATA_DIR = Path(__file__).parent / "data"
PRETRAINED = DATA_DIR / "pretrained.safetensors"
TENSOR_NAMES: tuple[str, ...] = ("J", "B", "b", "W", "b_out", "x0", "colors")
#: safetensors metadata keys of the embedded record and of its checksum
META_KEY, CONTENT_KEY = "setdyn_meta", "content_sha256"
#: the fields of :func:`machine` that must agree for retraining to be bit for bit
MACHINE_KIND: tuple[str, ...] = ("cpu_capability", "blas", "lapack", "cpu_model", "torch")

#: Test hook: called with the name of each step of a save ("tensors-temp", "json-temp",
#: "tensors-renamed", "json-renamed") and, while a temporary file is written, "tensors-partial".
_save_hook: Callable[[str], None] | None = None


class WeightFileError(ValueError):
    """A weight file that is missing, corrupt or does not match the expected format."""


def expected_shapes(n: int, d: int) -> dict[str, tuple[int, ...]]:
    """The tensor shapes of a network of n units with d-dimensional colour inputs."""
    return {"J": (n, n), "B": (n, d), "b": (n,), "W": (1, n), "b_out": (1,), "x0": (n,), "colors": (3, d)}


class FolderLocked(WeightFileError):
    """Another run is writing the same output folder."""


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def machine() -> dict[str, str]:
    """The kind of machine this process trains on: torch's CPU capability (the
    kernels it dispatches to: DEFAULT, AVX2, AVX512...), the BLAS and LAPACK
    torch was built with (mkl, openblas...), the CPU model name, torch's version
    and the architecture. Retraining reproduces a weight file bit for bit only
    on the same kind (:data:`MACHINE_KIND`); elsewhere float32 rounding differs
    in the last bits."""
    shown = torch.__config__.show()

    def info(key: str) -> str:
        m = re.search(rf"{key}=([^,\s]+)", shown)
        return m.group(1) if m else "unknown"

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "blas": info("BLAS_INFO"),
            "lapack": info("LAPACK_INFO"), "cpu_model": cpu, "torch": torch.__version__,
            "arch": platform.machine()}


def same_machine_kind(recorded: dict[str, Any] | None, current: dict[str, Any] | None = None) -> tuple[bool, str]:
    """Whether `current` (default: this machine) is the kind `recorded` was trained on, and why.

    A record that is missing or lacks a field is unknown: it cannot promise bit-for-bit equality."""
    current = machine() if current is None else current
    if not isinstance(recorded, dict):
        return False, "the weight file records no machine (written before machines were recorded)"
    missing = [k for k in MACHINE_KIND if recorded.get(k) in (None, "unknown")]
    if len(missing) == len(MACHINE_KIND):
        return False, "the weight file records its machine as unknown" + (
            f" ({recorded['note']})" if recorded.get("note") else "")
    if missing:
        return False, f"the weight file's machine record lacks {', '.join(missing)}"
    differ = [f"{k} {recorded[k]!r} here {current.get(k)!r}" for k in MACHINE_KIND if recorded[k] != current.get(k)]
    if differ:
        return False, "trained on another kind of machine: " + "; ".join(differ)
    return True, "same kind of machine: " + ", ".join(f"{k} {recorded[k]}" for k in MACHINE_KIND)


def _content_digest(tensors: dict[str, torch.Tensor], record: str) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes())
    h.update(record.encode())
    return h.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(folder: Path, name: str, data: bytes, step: str) -> Path:
    """data into a new hidden temporary file in `folder`, flushed to disk."""
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        half = len(data) // 2
        f.write(data[:half])
        if _save_hook is not None:
            f.flush()
            _save_hook(f"{step}-partial")
        f.write(data[half:])
        f.flush()
        os.fsync(f.fileno())
    return tmp


def save(model: CTRNN, path: str | Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    """Write NAME.safetensors (with the record embedded) and its JSON copy NAME.json, atomically.

    meta holds config, history, accuracy, selection...; "machine" defaults to
    :func:`machine` of this process. A config recording alpha must agree with the
    model's. Returns the two paths.
    """
    path = Path(path).with_suffix(".safetensors")
    if path.parent.exists() and not path.parent.is_dir():
        raise WeightFileError(f"cannot write {path}: {path.parent} is a file, not a folder")
    if path.is_dir():
        raise WeightFileError(f"cannot write {path}: it is a folder")
    cfg = meta.get("config")
    if isinstance(cfg, dict) and "alpha" in cfg and float(cfg["alpha"]) != model.alpha:
        raise WeightFileError(f"the config's alpha {cfg['alpha']!r} differs from the model's {model.alpha!r}")
    meta = {"machine": machine(), **{k: v for k, v in meta.items()
                                     if k not in ("format", "format_version", "weights_sha256")}}
    record = json.dumps(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: getattr(model, k).detach().to("cpu", torch.float32).contiguous().clone() for k in TENSOR_NAMES}
    data = save_bytes(tensors, metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION),
                                         "alpha": repr(model.alpha), "activation": model.activation_name,
                                         META_KEY: record, CONTENT_KEY: _content_digest(tensors, record)})
    sidecar = {"format": FORMAT, "format_version": FORMAT_VERSION,
               "weights_sha256": hashlib.sha256(data).hexdigest(), **meta}
    json_path = path.with_suffix(".json")
    temps: list[Path] = []
    hook = _save_hook or (lambda step: None)
    try:
        temps.append(_write_temp(path.parent, path.name, data, "tensors"))
        hook("tensors-temp")
        temps.append(_write_temp(path.parent, json_path.name, (json.dumps(sidecar, indent=1) + "\n").encode(),
                                 "json"))
        hook("json-temp")
        os.replace(temps[0], path)
        _fsync_dir(path.parent)
        hook("tensors-renamed")
        os.replace(temps[1], json_path)
        _fsync_dir(path.parent)
        hook("json-renamed")
    finally:  # an exception (or Ctrl-C) leaves no temporary file behind
        for t in temps:
            t.unlink(missing_ok=True)
    return path, json_path


@contextlib.contextmanager
def lock_folder(folder: str | Path) -> Iterator[Path]:
    """Hold an exclusive lock on `folder` (created if missing) while a run writes it.

    The lock is an fcntl lock on the folder itself (no lock file is left behind)
    and goes away with the process. A second run on the same folder raises
    :class:`FolderLocked` at once instead of waiting or overwriting."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderLocked(f"{folder} is being written by another run; wait for it to finish or "
                               "choose another --out") from None
        yield folder
    finally:
        os.close(fd)  # releases the lock


def _check_alpha(path: Path, header: dict[str, str], meta: dict[str, Any]) -> float:
    if "alpha" not in header:
        raise WeightFileError(f"{path}: the metadata records no alpha (dt/tau); accepted: a number in (0, 1]")
    try:
        alpha = float(header["alpha"])
    except ValueError:
        raise WeightFileError(f"{path}: alpha {header['alpha']!r} is not a number; accepted: (0, 1]") from None
    if not (math.isfinite(alpha) and 0 < alpha <= 1):
        raise WeightFileError(f"{path}: alpha = dt/tau must be in (0, 1], the metadata says {header['alpha']}")
    cfg = meta.get("config")
    if isinstance(cfg, dict) and "alpha" in cfg:
        try:
            same = float(cfg["alpha"]) == alpha
        except (TypeError, ValueError):
            same = False
        if not same:
            raise WeightFileError(f"{path}: the metadata's alpha {header['alpha']} differs from the config's alpha "
                                  f"{cfg['alpha']!r}: mismatched files")
    return alpha


def _check_record(where: Path, meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightFileError(f"{where}: format must be {FORMAT!r}, got "
                              f"{meta.get('format') if isinstance(meta, dict) else meta!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise WeightFileError(f"{where}: format_version {meta.get('format_version')!r} is not supported; "
                              f"accepted: {FORMAT_VERSION}")
    if "config" in meta and not isinstance(meta["config"], dict):
        raise WeightFileError(f"{where}: 'config' must be an object of training settings, got {meta['config']!r}")
    return meta


def _read(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str], dict[str, Any]]:
    """Tensors, safetensors metadata and record of a weight file, every check done."""
    path = Path(path)
    if path.is_dir():
        raise WeightFileError(f"{path} is a folder, not a weight file; give NAME.safetensors "
                              f"(e.g. {path / 'model.safetensors'})")
    if not path.is_file():
        raise WeightFileError(f"weight file {path} does not exist")
    data = path.read_bytes()
    try:
        tensors = load_bytes(data)
        with safe_open(str(path), "pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        if META_KEY not in _peek_header(data):
            _legacy_record(path, data)  # an older file: a sidecar that does not match is reported first
        raise WeightFileError(f"{path} is not a readable safetensors file: {e}") from None
    if META_KEY in header:
        record = header[META_KEY]
        if header.get(CONTENT_KEY) != _content_digest(tensors, record):
            raise WeightFileError(f"{path}: tensors or record do not match their checksum ({CONTENT_KEY}): "
                                  "corrupt file")
        try:
            meta = json.loads(record)
        except json.JSONDecodeError as e:
            raise WeightFileError(f"{path}: the embedded record is not valid JSON: {e}") from None
        meta = _check_record(path, {"format": header.get("format"), "format_version": _int(header.get(
            "format_version")), "weights_sha256": hashlib.sha256(data).hexdigest(), **meta})
        _warn_if_stale_copy(path, meta["weights_sha256"])
    else:
        meta = _legacy_record(path, data)
    if header.get("format") != FORMAT or header.get("format_version") != str(FORMAT_VERSION):
        raise WeightFileError(f"{path}: metadata format {header.get('format')!r} version "
                              f"{header.get('format_version')!r}; accepted: {FORMAT!r} version {FORMAT_VERSION}")
    return tensors, header, meta


def _int(text: Any) -> Any:
    try:
        return int(text)
    except (TypeError, ValueError):
        return text


def _peek_header(data: bytes) -> dict[str, Any]:
    try:
        n = int.from_bytes(data[:8], "little")
        return json.loads(data[8:8 + n]).get("__metadata__", {}) or {}
    except (ValueError, AttributeError):
        return {}


def _legacy_record(path: Path, data: bytes) -> dict[str, Any]:
    """The JSON sidecar of a file without an embedded record, tied to it by weights_sha256."""
    json_path = path.with_suffix(".json")
    if not json_path.is_file():
        raise WeightFileError(f"no sidecar file {json_path} next to the weights")
    try:
        meta = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WeightFileError(f"{json_path} is not valid JSON: {e}") from None
    meta = _check_record(json_path, meta)
    if "weights_sha256" not in meta:
        raise WeightFileError(f"{json_path} has no weights_sha256, so it cannot be tied to {path.name}; "
                              "a sidecar must record the sha256 of its weight file")
    if meta["weights_sha256"] != hashlib.sha256(data).hexdigest():
        raise WeightFileError(f"{path} does not match its sidecar {json_path.name} (sha256 differs): "
                              "corrupt or mismatched files")
    return meta


def _warn_if_stale_copy(path: Path, digest: str) -> None:
    json_path = path.with_suffix(".json")
    try:
        copy = json.loads(json_path.read_text()) if json_path.is_file() else None
    except (OSError, ValueError):
        copy = {}
    if copy is not None and (not isinstance(copy, dict) or copy.get("weights_sha256") != digest):
        warnings.warn(f"{json_path.name} is not the copy of {path.name}'s record (a save interrupted between the "
                      f"two files?); the record inside {path.name} is used", stacklevel=3)


def model_and_training_seed(model: CTRNN | None, train_seed: int | None) -> tuple[CTRNN, int]:
    """(model, seed of its training set): the shipped model (float64) and its recorded config seed when
    model is None; otherwise the given model with the given seed (ValueError when it is missing: the
    training set of another model cannot be guessed)."""
    if model is None:
        model = load()
        if train_seed is None:
            train_seed = int(load_meta()["config"]["seed"])
    elif train_seed is None:
        raise ValueError("give train_seed (the seed of setdyn.task.training_set the model was trained on) "
                         "for a model other than the shipped one")
    return model, int(train_seed)


def load_meta(path: str | Path = PRETRAINED) -> dict[str, Any]:
    """The record of a weight file (config, history, accuracy, machine...), checked.

    For files with an embedded record this is the record inside the tensor file
    (the JSON is only its copy); for older files, the JSON sidecar."""
    path = Path(path).with_suffix(".safetensors") if Path(path).suffix == ".json" else Path(path)
    return _read(path)[2]


def load(path: str | Path = PRETRAINED, dtype: torch.dtype = torch.float64) -> CTRNN:
    """Load a model (default: the shipped one) in `dtype` (float64 for analysis)."""
    path = Path(path)
    tensors, header, meta = _read(path)
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
    alpha = _check_alpha(path, header, meta)
    activation = header.get("activation", "tanh")  # written since the relu option; older files are tanh
    if activation not in ACTIVATIONS:
        raise WeightFileError(f"{path}: activation {activation!r}; accepted: {', '.join(ACTIVATIONS)}")
    model = CTRNN(tensors["colors"], n_units=n, alpha=alpha, dtype=dtype, activation=activation)
    with torch.no_grad():
        for k in paper.PARAM_NAMES:
            getattr(model, k).copy_(tensors[k].to(dtype))
    model.eval()
    return model
