"""Shipping a sweep's results for chapter 7, so that the book builds without retraining.

`ship(DIR)` writes, next to ``setdyn/data/sweep.csv``:

* ``sweep.csv``: the table without its bulky ``evidence`` column;
* ``sweep_gallery.csv``: phase portraits (`portraits`) of a few networks per
  label and of the book's own network;
* ``sweep_book.json``: the book's own network classified like a row.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from .. import task, weights
from ..model import float64_copy
from ..analysis.mechanism import classify, find_fixed_points
from ..model import CTRNN
from ..paper import FRESH_ONSET_SEED
from ..training import TrainConfig
from .grid import PAPER_CELL
from .table import LABELS, SHIPPED, SORT_ASCENDING, SORT_BY, read_table
from .worker import base_row


def pc_plane(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The first two principal components of the rows of `X` (shape (n_samples, n_units)).

    Returns the mean (n_units,), the projection P (n_units, 2) (so that the
    plane's coordinates are ``(x - mean) @ P``) and the fraction of the variance
    in the plane. This is `sklearn.decomposition.PCA(2)` up to the sign of each
    axis (a test checks it); it stays NumPy's SVD because sklearn's sign
    convention mirrors PC2 of the shipped gallery (setdyn/data/sweep_gallery.csv),
    and `ship` must reproduce that file.
    """
    mu = X.mean(0)
    _, sv, vt = np.linalg.svd(X - mu, full_matrices=False)
    return mu, vt[:2].T, float((sv[:2] ** 2).sum() / (sv ** 2).sum())


def portraits(models: Sequence[tuple[str, str, CTRNN]], n_free: int = 150, draws: int = 4,
              fixed_points: bool = True, slow_points: bool = False) -> pd.DataFrame:
    """Phase-portrait data for a gallery.

    For each (id, label, network), in the plane of the first two principal
    components of its noise-free trial rates (27 combinations x `draws` onset
    draws of the generalisation set's seed, `setdyn.paper.FRESH_ONSET_SEED`):

    * kind "free": the input-free, noise-free run from x0, steps 0..n_free (10 ms each);
    * kind "end": the trials' end points (rates at 500 ms), `valid` = the trial's target;
    * kind "fixed": fixed points (`setdyn.analysis.mechanism.find_fixed_points`), `fp_kind` stable/saddle/unstable.
    * kind "slow" (with `slow_points`): the taxonomy's slow points, where the state barely moves
      (`setdyn.analysis.taxonomy.slow_search`, speed below `SLOW_REL` of the state scale): a line
      attractor's continuum.

    Returns one row per point with columns id, label, kind, step, valid,
    fp_kind, pc1, pc2, explained (PC1 + PC2 fraction of the variance). The
    callers' networks are not changed (each is run on a float64 copy).
    """
    trials = task.fresh_set(FRESH_ONSET_SEED, draws=draws)
    frames = []
    for nid, label, model in models:
        model = float64_copy(model)
        with torch.no_grad():
            rates = model.run(trials.codes).rates.numpy()
            free = model.run(np.full((1, n_free), task.NO_INPUT)).rates[0].numpy()
            free = np.concatenate([model.activation(model.x0.detach())[None].numpy(), free])
        mu, P, explained = pc_plane(rates.reshape(-1, rates.shape[-1]))
        f = (free - mu) @ P
        e = (rates[:, -1] - mu) @ P
        parts = [pd.DataFrame({"kind": "free", "step": np.arange(len(f)), "pc1": f[:, 0], "pc2": f[:, 1]}),
                 pd.DataFrame({"kind": "end", "valid": trials.targets > 0, "pc1": e[:, 0], "pc2": e[:, 1]})]
        if fixed_points:
            fps = find_fixed_points(model)
            if fps:
                r = (model.activation(torch.as_tensor(np.stack([fp.x for fp in fps]))).numpy() - mu) @ P
                parts.append(pd.DataFrame({"kind": "fixed", "fp_kind": [fp.kind for fp in fps],
                                           "pc1": r[:, 0], "pc2": r[:, 1]}))
        if slow_points:
            from ..analysis.taxonomy import slow_search

            slow = slow_search(model).slow
            if len(slow):
                r = (model.activation(torch.as_tensor(slow)).numpy() - mu) @ P
                parts.append(pd.DataFrame({"kind": "slow", "pc1": r[:, 0], "pc2": r[:, 1]}))
        df = pd.concat(parts, ignore_index=True)
        df.insert(0, "label", label)
        df.insert(0, "id", nid)
        df["explained"] = explained
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def book_row(path: Path = weights.PRETRAINED) -> tuple[dict[str, Any], CTRNN]:
    """The book's network (a weight file) classified like a sweep row (id "book", no evidence column),
    and the network."""
    meta = weights.load_meta(path)
    model = weights.load(path)
    cfg = TrainConfig.from_dict(meta["config"])
    rep = classify(model, cfg, accuracy=meta.get("accuracy"))
    row = {**base_row(cfg, meta), **rep.row(), "id": "book"}
    row.pop("evidence", None)
    return row, model


def gallery_ids(table: pd.DataFrame, per_label: int = 2) -> list[tuple[str, str]]:
    """(id, label) of up to `per_label` networks per label: learned ones for the two mechanisms,
    from the paper's setting first (a label it lacks is shown from the other settings), lowest
    seeds first."""
    out = []
    a0, n0 = PAPER_CELL
    for lab in LABELS:
        g = table[table.label == lab].copy()
        if lab != "other":
            g = g[g.get("learned", True) == True]  # noqa: E712
        g["elsewhere"] = ~((g.alpha == a0) & (g.noise_std == n0))
        g = g.sort_values(["elsewhere", "seed", "alpha", "noise_std"], ascending=[True, True, False, True])
        out += [(nid, lab) for nid in g["id"].head(per_label)]
    return out


def ship(out: str | Path, dest: str | Path = SHIPPED, per_label: int = 2) -> tuple[Path, Path, Path]:
    """Write chapter 7's data from the sweep directory `out`; returns the paths of the table
    (`dest`), the gallery (``sweep_gallery.csv`` beside it) and the book's row (``sweep_book.json``)."""
    out, dest = Path(out), Path(dest)
    table = read_table(out)
    slim = table.drop(columns=[c for c in ("evidence", "analysis_traceback") if c in table.columns])
    slim = slim.sort_values(SORT_BY, ascending=SORT_ASCENDING)
    dest.parent.mkdir(parents=True, exist_ok=True)
    slim.to_csv(dest, index=False, float_format="%.6g")
    models = []
    book_json = dest.with_name("sweep_book.json")
    if weights.PRETRAINED.is_file():
        book, model = book_row()
        models.append(("book", book["label"], model))
        book_json.write_text(json.dumps(book, indent=1, default=str) + "\n")
    for nid, lab in gallery_ids(table, per_label):
        path = out / "nets" / f"{nid}.safetensors"
        if path.is_file():
            models.append((nid, lab, weights.load(path)))
    gallery = dest.with_name(dest.stem + "_gallery.csv")
    portraits(models).to_csv(gallery, index=False, float_format="%.5g")
    return dest, gallery, book_json
