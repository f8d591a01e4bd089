"""The unit of work of a sweep, run inside a Dask worker: a group of networks
trained together by the batched trainer (`setdyn.training.train_batched`),
each analysed and written out as soon as it finishes.
"""
from __future__ import annotations

import ctypes
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

import torch

from .. import weights
from ..training import train, train_batched
from ..analysis import taxonomy
from ..analysis.mechanism import classify
from ..model import CTRNN
from ..numerics import jsonable
from ..paper import PARAM_NAMES
from ..training import TrainConfig, epochs_to_accuracy, evaluate_all
from .grid import net_id
from .table import write_row

#: The accuracy columns of a row (see `setdyn.training.evaluate_all`).
ACCURACY_COLUMNS: tuple[str, ...] = ("train_acc_noisy", "train_acc_clean", "test_acc_clean", "test_acc_noisy",
                                     "fresh_acc_clean", "fresh_acc_noisy")
#: Seconds between two progress files of a group.
PROGRESS_EVERY_S = 60.0


def base_row(cfg: TrainConfig, meta: dict[str, Any]) -> dict[str, Any]:
    """Config and training outcome columns of a row (`meta`: a weight file's JSON)."""
    acc = meta.get("accuracy", {})
    return {"id": net_id(cfg), "seed": cfg.seed, "alpha": cfg.alpha, "noise_std": cfg.noise_std,
            "activation": cfg.activation,
            "lr": cfg.lr, "max_epochs": cfg.max_epochs, "epochs": meta.get("epochs"),
            "epochs_to_paper_accuracy": epochs_to_accuracy(meta.get("history") or {}),
            "stopped_early": meta.get("stopped_early"), "train_seconds": meta.get("seconds"),
            **{k: acc.get(k) for k in ACCURACY_COLUMNS},
            "config": json.dumps(cfg.to_dict(), sort_keys=True)}


def analyze_network(model: CTRNN, cfg: TrainConfig, accuracy: dict[str, float] | None = None) -> dict[str, Any]:
    """Mechanism columns of a row (see `setdyn.analysis.mechanism.classify`) and the taxonomy's
    (`setdyn.analysis.taxonomy.classify`: taxon, taxon_reason, taxon_evidence as JSON); an error becomes
    label 'other' with columns analysis_error and analysis_traceback, so that a failed analysis never loses
    a trained network."""
    try:
        rep = classify(model, cfg, accuracy=accuracy)
        row = rep.row()
    except Exception as e:  # noqa: BLE001 - any analysis failure is recorded in the row
        return {"label": "other", "analysis_error": f"{type(e).__name__}: {e}",
                "analysis_traceback": traceback.format_exc()[-2000:]}
    try:
        tax = taxonomy.classify(model, cfg, report=rep)
        row.update({"taxon": tax.label, "taxon_reason": tax.reason,
                    "taxon_evidence": json.dumps(jsonable(tax.evidence.to_dict()), sort_keys=True)})
    except Exception as e:  # noqa: BLE001 - as above: the mechanism columns stay
        row.update({"taxon": None, "taxon_error": f"{type(e).__name__}: {e}"})
    return row


def reuse_heap_memory() -> bool:
    """Let glibc keep freed memory for reuse in this process (Linux; a no-op elsewhere).

    Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also
    pins glibc's mmap threshold at 128 KiB: every multi-megabyte tensor of a
    training step is then mapped fresh and page-faulted on first touch, and
    training inside a worker took twice the CPU time it takes in a plain
    process (measured here: 155 vs 78 ms per network-epoch). Raising both
    thresholds restores heap reuse. Returns whether glibc accepted them.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 64 << 20)) and bool(libc.mallopt(m_trim_threshold, 512 << 20))


def tensors_of(model: CTRNN) -> dict[str, Any]:
    """The network's parameters and colour encodings as float32 NumPy arrays (to send to the client)."""
    return {k: getattr(model, k).detach().float().numpy().copy() for k in (*PARAM_NAMES, "colors")}


def model_from_tensors(tensors: dict[str, Any], alpha: float, activation: str = "tanh") -> CTRNN:
    """The network whose `tensors_of` these are."""
    t = {k: torch.as_tensor(v) for k, v in tensors.items()}
    model = CTRNN(t["colors"], n_units=t["J"].shape[0], alpha=alpha, activation=activation)
    with torch.no_grad():
        for k in PARAM_NAMES:
            getattr(model, k).copy_(t[k])
    return model


def train_group(cfg_dicts: Sequence[dict[str, Any]], out: str | None = None, slots: int = 16,
                analyze: bool = True, progress: bool = False) -> list[dict[str, Any]]:
    """Train the configs with the batched trainer (tanh; relu configs one by one with the autograd engine,
    the only one that differentiates relu) and return one row per network.

    Runs inside a worker process. Networks whose weights already exist in
    ``out/nets`` are loaded instead of trained. With `out`, every finished
    network's weights (``out/nets/ID.safetensors``) and row (``out/rows/ID.json``)
    are written at once, so an interrupted sweep loses at most the networks in
    training; every `PROGRESS_EVERY_S` seconds ``out/progress/GROUP.json`` gives
    each training network's epoch and accuracies. Without `out` (no shared file
    system) each row carries the network under the key ``_net`` for the client
    to save (`setdyn.sweep.run`).

    Parameters
    ----------
    cfg_dicts : `TrainConfig.to_dict()` of each network.
    out : the sweep directory as the worker sees it, or None.
    slots : networks trained at once (the batched trainer's K).
    analyze : classify each network (False: train and save only).
    progress : a tqdm bar per group.
    """
    torch.set_num_threads(1)
    reuse_heap_memory()
    cfgs = [TrainConfig.from_dict(d) for d in cfg_dicts]
    rows: list[dict[str, Any]] = []
    outp = Path(out) if out else None

    def finish(cfg: TrainConfig, model: CTRNN, meta: dict[str, Any]) -> None:
        row = base_row(cfg, meta)
        if analyze:
            row.update(analyze_network(model, cfg, meta.get("accuracy")))
        if outp is not None:
            write_row(row, outp)
        rows.append(row)

    todo = []
    for cfg in cfgs:
        path = outp / "nets" / f"{net_id(cfg)}.safetensors" if outp else None
        if path is not None and path.is_file() and path.with_suffix(".json").is_file():
            try:
                model = weights.load(path, dtype=torch.float32)
                finish(cfg, model, weights.load_meta(path))
                continue
            except weights.WeightFileError:
                pass  # corrupt: retrain
        todo.append(cfg)

    def on_result(i: int, res: Any) -> None:
        cfg = todo[i]
        acc = evaluate_all(res.model, cfg)
        meta = {"config": cfg.to_dict(), "accuracy": acc, "epochs": len(res.history["train_loss"]),
                "seconds": res.seconds, "stopped_early": res.stopped_early, "history": res.history,
                "trainer": "setdyn.batched"}
        if outp is not None:
            weights.save(res.model, outp / "nets" / f"{net_id(cfg)}.safetensors", meta)
        finish(cfg, res.model, meta)
        if outp is None:  # no shared file system: send the weights back to the client with the row
            rows[-1]["_net"] = {"tensors": tensors_of(res.model), "alpha": cfg.alpha, "activation": cfg.activation,
                                "meta": meta}

    last = [0.0]

    def on_epoch(status: list[dict[str, float]]) -> None:
        if outp is None or time.time() - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = time.time()
        (outp / "progress").mkdir(parents=True, exist_ok=True)
        info = [{**st, "id": net_id(todo[int(st["index"])])} for st in status]
        name = net_id(todo[0]) if todo else "group"
        (outp / "progress" / f"{name}.json").write_text(json.dumps({"time": time.time(), "training": info},
                                                                   indent=0))

    batched = [i for i, c in enumerate(todo) if c.activation == "tanh"]
    if batched:
        train_batched([todo[i] for i in batched], slots=slots, progress=progress, eval_train_clean=False,
                      on_result=lambda j, res: on_result(batched[j], res),
                      on_epoch=lambda status: on_epoch([{**st, "index": batched[int(st["index"])]}
                                                        for st in status]))
    for i, cfg in enumerate(todo):
        if cfg.activation != "tanh":
            on_result(i, train(cfg, progress=progress, engine="autograd"))
    return rows


def reanalyze_one(path: str) -> dict[str, Any]:
    """The row of a saved network (``DIR/nets/ID.safetensors``), classified with the current classifier."""
    torch.set_num_threads(1)
    meta = weights.load_meta(path)
    cfg = TrainConfig.from_dict(meta["config"])
    model = weights.load(path, dtype=torch.float32)
    return {**base_row(cfg, meta), **analyze_network(model, cfg, meta.get("accuracy"))}
