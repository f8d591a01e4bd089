"""Sweeps over seeds, alpha (dt / tau) and recurrent noise: train, classify, tabulate.

    python -m setdyn.sweep --seeds 0-31 --alpha 1.0,0.5,0.1 --noise 0,0.05,0.1 --out DIR \\
        [--epochs N] [--scheduler ADDRESS] [--jobs 2] [--slots 16]

(also `python -m setdyn sweep ...`). Every network is one row of
``DIR/sweep.csv``: its config, accuracies, mechanism label and evidence
(period in ms, phase kicks in degrees, fixed points, end-point clusters,
automaton agreement). Trained weights go to ``DIR/nets/ID.safetensors`` (+
``.json``). The sweep is resumable: a rerun skips networks whose row exists,
and analyses without retraining those whose weights exist.

Networks train in groups with the batched trainer (`setdyn.batched`), one
group per Dask task. Without ``--scheduler`` a `dask.distributed.LocalCluster`
of ``--jobs`` single-threaded worker processes runs them on this machine; with
``--scheduler ADDRESS`` the same tasks go to an existing cluster (see
README.sweep.md for dask-jobqueue / SLURM). Rows are written as soon as each
network is analysed (local runs: by the worker itself; remote runs: by the
client when a group returns, or by workers too with ``--shared-fs``).

`summary(df)` turns the table into the chapter's numbers (fraction of phase
oscillators per (alpha, noise) cell with 95% Wilson intervals) and
`figure_fractions(df)` / `figure_gallery(...)` draw them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .training import TrainConfig, epochs_to_accuracy

if TYPE_CHECKING:  # pandas is imported where used: `python -m setdyn` starts faster
    import pandas as pd

#: The paper's setting (alpha = dt / tau, recurrent noise std).
PAPER_CELL: tuple[float, float] = (1.0, 0.1)
#: The shipped results table.
SHIPPED = Path(__file__).parent / "data" / "sweep.csv"
LABELS: tuple[str, ...] = ("phase-oscillator", "fixed-point", "other")
CSV_NAME = "sweep.csv"


# ---------------------------------------------------------------------------------------------------------------
# configs and ids
# ---------------------------------------------------------------------------------------------------------------
def parse_seeds(text: str) -> list[int]:
    """'0-31' -> 0..31; '0,3,5-7' -> [0, 3, 5, 6, 7]."""
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            a, b = part.split("-", 1) if not part.startswith("-") else (part, part)
            lo, hi = int(a), int(b)
            if hi < lo:
                raise ValueError(f"seed range {part!r} is empty (end before start)")
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    if not out or any(s < 0 for s in out):
        raise ValueError(f"seeds must be non-negative integers or ranges like 0-31, got {text!r}")
    return sorted(set(out), key=out.index)


def parse_floats(text: str) -> list[float]:
    """'1.0,0.5,0.1' -> [1.0, 0.5, 0.1]."""
    try:
        vals = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise ValueError(f"expected comma-separated numbers, got {text!r}")
    return vals


def net_id(cfg: TrainConfig) -> str:
    """Stable, readable id of a network: alpha, noise, seed and a hash of the full config."""
    digest = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    return f"a{cfg.alpha:g}_n{cfg.noise_std:g}_s{cfg.seed}_{digest}"


def grid(seeds: Sequence[int], alphas: Sequence[float], noises: Sequence[float], epochs: int | None = None,
         seeds_per_cell: dict[tuple[float, float], Sequence[int]] | None = None, **overrides: Any) -> list[TrainConfig]:
    """Configs of a sweep in priority order: seed by seed across all cells (so a partial sweep covers
    every cell evenly). `seeds_per_cell` overrides the seeds of given (alpha, noise) cells."""
    cells = [(a, n) for a in alphas for n in noises]
    per = {c: list((seeds_per_cell or {}).get(c, seeds)) for c in cells}
    out: list[TrainConfig] = []
    for r in range(max(len(v) for v in per.values())):
        for (a, n) in cells:
            if r < len(per[(a, n)]):
                kw: dict[str, Any] = dict(seed=per[(a, n)][r], alpha=a, noise_std=n, **overrides)
                if epochs is not None:
                    kw["max_epochs"] = epochs
                out.append(TrainConfig(**kw))
    return out


# ---------------------------------------------------------------------------------------------------------------
# the unit of work: one group of networks, trained together, each analysed as it finishes
# ---------------------------------------------------------------------------------------------------------------
def train_group(cfg_dicts: Sequence[dict[str, Any]], out: str | None = None, slots: int = 16,
                analyse: bool = True, progress: bool = False) -> list[dict[str, Any]]:
    """Train the configs with the batched trainer and return one row per network.

    Runs inside a worker process. Networks whose weights already exist in
    ``out/nets`` are loaded instead of trained. With `out`, every finished
    network's weights (``out/nets/ID.safetensors``) and row (``out/rows/ID.json``)
    are written at once, so an interrupted sweep loses at most the networks in
    training.
    """
    import torch

    from . import weights
    from .training import evaluate_all, train_batched

    torch.set_num_threads(1)
    reuse_heap_memory()
    cfgs = [TrainConfig.from_dict(d) for d in cfg_dicts]
    rows: list[dict[str, Any]] = []
    outp = Path(out) if out else None

    def finish(cfg: TrainConfig, model, meta: dict[str, Any]) -> None:
        nid = net_id(cfg)
        row = base_row(cfg, meta)
        if analyse:
            row.update(analyse_network(model, cfg, meta.get("accuracy")))
        if outp is not None:
            (outp / "rows").mkdir(parents=True, exist_ok=True)
            tmp = outp / "rows" / f".{nid}.json.tmp"
            tmp.write_text(json.dumps(row))
            tmp.replace(outp / "rows" / f"{nid}.json")
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

    def on_result(i: int, res) -> None:
        cfg = todo[i]
        acc = evaluate_all(res.model, cfg)
        meta = {"config": cfg.to_dict(), "accuracy": acc, "epochs": len(res.history["train_loss"]),
                "seconds": res.seconds, "stopped_early": res.stopped_early, "history": res.history,
                "trainer": "setdyn.batched"}
        if outp is not None:
            weights.save(res.model, outp / "nets" / f"{net_id(cfg)}.safetensors", meta)
        finish(cfg, res.model, meta)
        if outp is None:  # no shared file system: send the weights back to the client with the row
            rows[-1]["_net"] = {"tensors": {k: getattr(res.model, k).detach().float().numpy().copy()
                                            for k in ("J", "B", "b", "W", "b_out", "x0", "colors")},
                                "alpha": cfg.alpha, "meta": meta}

    last = [0.0]

    def on_epoch(status: list[dict[str, float]]) -> None:
        """Every 60 s: out/progress/GROUP.json with each training network's epoch and accuracies."""
        if outp is None or time.time() - last[0] < 60:
            return
        last[0] = time.time()
        (outp / "progress").mkdir(parents=True, exist_ok=True)
        info = [{**st, "id": net_id(todo[int(st["index"])])} for st in status]
        name = net_id(todo[0]) if todo else "group"
        (outp / "progress" / f"{name}.json").write_text(json.dumps({"time": time.time(), "training": info},
                                                                   indent=0))

    if todo:
        train_batched(todo, slots=slots, progress=progress, on_result=on_result, eval_train_clean=False,
                      on_epoch=on_epoch)
    return rows


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
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 64 << 20)) and bool(libc.mallopt(m_trim_threshold, 512 << 20))


def base_row(cfg: TrainConfig, meta: dict[str, Any]) -> dict[str, Any]:
    """Config and training outcome columns of a row."""
    acc = meta.get("accuracy", {})
    return {"id": net_id(cfg), "seed": cfg.seed, "alpha": cfg.alpha, "noise_std": cfg.noise_std,
            "lr": cfg.lr, "max_epochs": cfg.max_epochs, "epochs": meta.get("epochs"),
            "epochs_to_paper_accuracy": epochs_to_accuracy(meta.get("history") or {}),
            "stopped_early": meta.get("stopped_early"), "train_seconds": meta.get("seconds"),
            **{k: acc.get(k) for k in ("train_acc_noisy", "train_acc_clean", "test_acc_clean", "test_acc_noisy",
                                       "fresh_acc_clean", "fresh_acc_noisy")},
            "config": json.dumps(cfg.to_dict(), sort_keys=True)}


def analyse_network(model, cfg: TrainConfig, accuracy: dict[str, float] | None = None) -> dict[str, Any]:
    """Mechanism columns of a row (see `setdyn.analysis.mechanism.classify`); errors become label 'other'."""
    try:
        from .analysis.mechanism import classify

        rep = classify(model, cfg, accuracy=accuracy)
        return rep.row()
    except Exception as e:  # an analysis failure must not lose the trained network
        return {"label": "other", "analysis_error": f"{type(e).__name__}: {e}",
                "analysis_traceback": traceback.format_exc()[-2000:]}


# ---------------------------------------------------------------------------------------------------------------
# orchestration
# ---------------------------------------------------------------------------------------------------------------
def read_table(out: str | Path) -> pd.DataFrame:
    """The sweep table of a directory: DIR/sweep.csv merged with rows written by workers since."""
    import pandas as pd

    out = Path(out)
    frames = []
    csv = out / CSV_NAME
    if csv.is_file() and csv.stat().st_size > 0:
        frames.append(pd.read_csv(csv))
    rows_dir = out / "rows"
    if rows_dir.is_dir():
        rows = [json.loads(p.read_text()) for p in sorted(rows_dir.glob("*.json"))]
        if rows:
            frames.append(pd.DataFrame(rows))
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    return df.drop_duplicates("id", keep="last").reset_index(drop=True)


def write_table(df: pd.DataFrame, out: str | Path) -> Path:
    """Write DIR/sweep.csv atomically, sorted by (alpha desc, noise, seed), without traceback columns."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = df.drop(columns=[c for c in df.columns if c == "analysis_traceback"])
    if len(df):
        df = df.sort_values(["alpha", "noise_std", "seed"], ascending=[False, True, True])
    path = out / CSV_NAME
    tmp = out / f".{CSV_NAME}.tmp"
    df.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def run_sweep(configs: Sequence[TrainConfig], out: str | Path, scheduler: str | None = None, jobs: int = 2,
              slots: int = 16, group: int | None = None, analyse: bool = True, shared_fs: bool = False,
              progress: bool = True) -> pd.DataFrame:
    """Train and analyse every config not yet in DIR/sweep.csv; returns the full table.

    Args:
        configs: networks to have (finished ones are skipped).
        out: output directory (sweep.csv, nets/, rows/).
        scheduler: address of a running Dask scheduler (tcp://host:8786); None
            starts a LocalCluster of `jobs` single-threaded worker processes.
        jobs: local worker processes (ignored with `scheduler`).
        slots: networks trained at once per task (the batched trainer's K).
        group: networks per task (default: split evenly over the workers,
            at most 64 per task).
        analyse: classify each network (False: train and save weights only).
        shared_fs: with `scheduler`, workers can write to `out` too.
        progress: tqdm bar over networks.
    """
    from dask.distributed import Client, LocalCluster
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = read_table(out)
    done = set(table["id"]) if len(table) else set()
    if analyse and len(table) and "label" in table:
        done = set(table.loc[table["label"].notna(), "id"])
    todo = [c for c in configs if net_id(c) not in done]
    if len(table):
        write_table(table, out)
    if not todo:
        return table
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                               worker_dashboard_address=None)
        client = Client(cluster)
        n_workers = jobs
        worker_out: str | None = str(out.resolve())
    else:
        client = Client(scheduler)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        worker_out = str(out.resolve()) if shared_fs else None
    if group is None:
        group = max(1, min(64, math.ceil(len(todo) / n_workers)))
    # deal round-robin so that every task gets a slice of every priority level
    n_tasks = max(1, math.ceil(len(todo) / group))
    tasks = [todo[i::n_tasks] for i in range(n_tasks)]
    futures = [client.submit(train_group, [c.to_dict() for c in t], worker_out, slots, analyse,
                             pure=False, key=f"sweep-group-{i}-{net_id(t[0])}") for i, t in enumerate(tasks)]
    bar = tqdm(total=len(todo), desc="sweep", unit="net", disable=not progress)
    todo_ids = {net_id(c) for c in todo}
    seen: set[str] = set()
    handled: set[int] = set()
    try:
        while True:
            finished = all(f.done() for f in futures)
            table = read_table(out)  # picks up rows written by workers while their groups run
            for i, f in enumerate(futures):
                if i not in handled and f.done():
                    handled.add(i)
                    rows = _save_returned_weights(f.result(), out)  # raises the worker's error, if any
                    table = _merge(table, rows)
            if len(table):
                write_table(table, out)
                new = (set(table["id"]) & todo_ids) - seen
                bar.update(len(new))
                seen |= new
            if finished:
                break
            _wait_any(futures, 30.0)
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    return read_table(out)


def _reanalyse_one(path: str) -> dict[str, Any]:
    import torch

    from . import weights

    torch.set_num_threads(1)
    meta = weights.load_meta(path)
    cfg = TrainConfig.from_dict(meta["config"])
    model = weights.load(path, dtype=torch.float32)
    return {**base_row(cfg, meta), **analyse_network(model, cfg, meta.get("accuracy"))}


def reanalyse(out: str | Path, jobs: int = 2, ids: Sequence[str] | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Classify again every trained network in DIR/nets (or those in `ids`) with the current
    classifier, without retraining; rewrites their rows and DIR/sweep.csv. Returns the table."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    out = Path(out)
    paths = sorted((out / "nets").glob("*.safetensors"))
    if ids is not None:
        paths = [p for p in paths if p.stem in set(ids)]
    (out / "rows").mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futs = [pool.submit(_reanalyse_one, str(p)) for p in paths]
        for f in tqdm(as_completed(futs), total=len(futs), desc="reanalyse", unit="net", disable=not progress):
            row = f.result()
            tmp = out / "rows" / f".{row['id']}.json.tmp"
            tmp.write_text(json.dumps(row))
            tmp.replace(out / "rows" / f"{row['id']}.json")
    table = read_table(out)
    write_table(table, out)
    return table


def _wait_any(futures: Sequence[Any], timeout: float) -> None:
    """Sleep until a future finishes or `timeout` seconds pass."""
    from dask.distributed import wait

    try:
        wait([f for f in futures if not f.done()], timeout=timeout, return_when="FIRST_COMPLETED")
    except Exception:  # dask raises a TimeoutError subclass on timeout
        pass


def _save_returned_weights(rows: Sequence[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """Write weights that workers sent back (no shared file system) to out/nets; rows without them."""
    import torch

    from . import weights
    from .model import CTRNN

    clean = []
    for row in rows:
        row = dict(row)
        net = row.pop("_net", None)
        if net is not None:
            t = {k: torch.as_tensor(v) for k, v in net["tensors"].items()}
            model = CTRNN(t["colors"], n_units=t["J"].shape[0], alpha=net["alpha"])
            with torch.no_grad():
                for k in ("J", "B", "b", "W", "b_out", "x0"):
                    getattr(model, k).copy_(t[k])
            weights.save(model, out / "nets" / f"{row['id']}.safetensors", net["meta"])
        clean.append(row)
    return clean


def _merge(table: pd.DataFrame, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    if not rows:
        return table
    df = pd.concat([table, pd.DataFrame(rows)], ignore_index=True) if len(table) else pd.DataFrame(rows)
    return df.drop_duplicates("id", keep="last").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# the chapter's numbers and figures
# ---------------------------------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for k successes in n trials ((nan, nan) for n = 0)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


def load_shipped() -> pd.DataFrame:
    """The shipped sweep table (setdyn/data/sweep.csv)."""
    import pandas as pd

    return pd.read_csv(SHIPPED)


def summary(df: pd.DataFrame, label: str = "phase-oscillator", learned_threshold: float = 0.95) -> pd.DataFrame:
    """Fraction of networks with `label` per (alpha, noise) cell, with 95% Wilson intervals.

    Columns: alpha, noise_std, n (networks), k (with the label), fraction,
    ci_low, ci_high; n_learned (fresh-onset noise-free accuracy >=
    `learned_threshold`, as `setdyn.analysis.mechanism.LEARNED_ACC`), k_learned, fraction_learned, ci_low_learned,
    ci_high_learned (the same among networks that learned the task); and the
    count of each label (n_phase-oscillator, n_fixed-point, n_other).
    """
    import pandas as pd

    rows = []
    for (a, n), g in df.groupby(["alpha", "noise_std"], sort=False):
        k = int((g["label"] == label).sum())
        learned = g["fresh_acc_clean"] >= learned_threshold
        kl = int(((g["label"] == label) & learned).sum())
        nl = int(learned.sum())
        lo, hi = wilson(k, len(g))
        lol, hil = wilson(kl, nl)
        row = {"alpha": float(a), "noise_std": float(n), "n": len(g), "k": k, "fraction": k / len(g),
               "ci_low": lo, "ci_high": hi, "n_learned": nl, "k_learned": kl,
               "fraction_learned": kl / nl if nl else float("nan"), "ci_low_learned": lol, "ci_high_learned": hil}
        for lab in LABELS:
            row[f"n_{lab}"] = int((g["label"] == lab).sum())
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values(["alpha", "noise_std"], ascending=[False, True]).reset_index(drop=True)
    return out


def by_alpha(df: pd.DataFrame, label: str = "phase-oscillator", learned_threshold: float = 0.95) -> pd.DataFrame:
    """Among networks that learned the task (fresh-onset noise-free accuracy >= `learned_threshold`),
    how many carry `label`, per alpha (all noise levels pooled). Columns: alpha, tau_ms (= dt / alpha),
    n_learned, k; fastest neurons first."""
    import pandas as pd

    from .task import DT_MS

    learned = df[df["fresh_acc_clean"] >= learned_threshold]
    rows = [{"alpha": float(a), "tau_ms": DT_MS / float(a), "n_learned": len(g), "k": int((g["label"] == label).sum())}
            for a, g in learned.groupby("alpha")]
    return pd.DataFrame(rows, columns=["alpha", "tau_ms", "n_learned", "k"]).sort_values(
        "alpha", ascending=False).reset_index(drop=True)


def z3_deviation_deg(df: pd.DataFrame) -> np.ndarray:
    """For every phase oscillator of a sweep table: how far (degrees) its three colour kicks are from
    an exact Z3 code, i.e. the largest distance of (kick - common offset) to the nearest multiple of
    120 degrees (0 = the kicks are the offset plus 0, +120 and -120 exactly)."""
    osc = df[df["label"] == "phase-oscillator"]
    kicks = osc[["kick_green_deg", "kick_purple_deg", "kick_red_deg"]].to_numpy(float)
    rel = kicks - osc["kick_common_offset_deg"].to_numpy(float)[:, None]
    return np.abs((rel + 60.0) % 120.0 - 60.0).max(axis=1) if len(osc) else np.zeros(0)


def figure_fractions(df: pd.DataFrame, label: str = "phase-oscillator", learned_only: bool = False):
    """Plotly figure: fraction of `label` networks per (alpha, noise) cell, 95% Wilson error bars,
    one group of bars per alpha, one bar per noise; hover shows k / n; the paper's cell is marked."""
    import plotly.graph_objects as go

    from .task import DT_MS

    s = summary(df, label)
    suffix = "_learned" if learned_only else ""
    nk, kk = ("n_learned", "k_learned") if learned_only else ("n", "k")
    fig = go.Figure()
    colors = {0.0: "#9ecae1", 0.05: "#4292c6", 0.1: "#08519c"}
    for noise, g in s.groupby("noise_std", sort=True):
        frac = g[f"fraction{suffix}"]
        fig.add_bar(
            x=[f"alpha = {a:g} (tau = {DT_MS / a:g} ms)" for a in g["alpha"]], y=frac,
            name=f"noise std {noise:g}", marker_color=colors.get(round(float(noise), 3)),
            error_y=dict(type="data", symmetric=False, array=g[f"ci_high{suffix}"] - frac,
                         arrayminus=frac - g[f"ci_low{suffix}"]),
            customdata=np.stack([g[kk], g[nk], g[f"ci_low{suffix}"], g[f"ci_high{suffix}"]], 1),
            hovertemplate="%{x}, noise " + f"{noise:g}" + "<br>%{customdata[0]} of %{customdata[1]} networks"
                          "<br>fraction %{y:.2f} (95% CI %{customdata[2]:.2f}-%{customdata[3]:.2f})<extra></extra>")
    who = "networks that learned the task" if learned_only else "all trained networks"
    fig.update_layout(barmode="group", yaxis=dict(title=f"fraction {label}", range=[0, 1.05]),
                      title=f"How often is the solution a {label}? ({who}; bars: 95% Wilson CI)",
                      legend_title="recurrent noise", template="plotly_white", height=420)
    a0, n0 = PAPER_CELL
    paper = s[(s["alpha"] == a0) & (s["noise_std"] == n0)]
    if len(paper):
        fig.add_annotation(x=f"alpha = {a0:g} (tau = {DT_MS / a0:g} ms)", y=1.02, text="paper's setting",
                           showarrow=False, yanchor="bottom")
    return fig


#: Why a network is labelled "other", from the start of its reason (see `setdyn.analysis.mechanism.label_from_evidence`).
OTHER_REASONS: tuple[tuple[str, str], ...] = (
    ("did not learn", "other: did not learn"),
    ("mixed", "other: fixed point + another attractor"),
    ("limit cycle, but", "other: cycle not explained by Z3"),
    ("transient", "other: transient code"),
    ("free run", "other: no clear attractor code"),
)


def mechanism_category(label: str, reason: str | float | None) -> str:
    """The label, with "other" split by its reason: 'other: did not learn', 'other: fixed point +
    another attractor', 'other: cycle not explained by Z3', 'other: transient code' (learned, but
    at most one stable fixed point and no cycle: the answer is read from the state on its way to
    that point) or 'other: no clear attractor code'."""
    if label in LABELS[:2]:
        return label
    if label != "other":
        raise ValueError(f"unknown mechanism label {label!r}; accepted: {', '.join(LABELS)}")
    text = reason if isinstance(reason, str) else ""
    stable = re.search(r"; (\d+) stable fixed points", text)
    if text.startswith("free run") and stable and int(stable.group(1)) <= 1 and "limit cycle" not in text:
        return "other: transient code"
    for start, name in OTHER_REASONS:
        if text.startswith(start):
            return name
    return "other: no clear attractor code"


def figure_labels(df: pd.DataFrame, detail: bool = False):
    """Plotly stacked bars: count of each label per (alpha, noise) cell; with `detail`, "other" is
    split by its reason (`mechanism_category`)."""
    import plotly.graph_objects as go

    s = summary(df)
    cells = list(zip(s["alpha"], s["noise_std"]))
    x = [f"a={a:g}, noise={n:g}" for a, n in cells]
    colors = {"phase-oscillator": "#662BF0", "fixed-point": "#5CD629", "other": "#999999",
              "other: did not learn": "#d9d9d9", "other: fixed point + another attractor": "#a1d99b",
              "other: cycle not explained by Z3": "#bcbddc", "other: transient code": "#fdae6b",
              "other: no clear attractor code": "#737373"}
    cats = list(LABELS) if not detail else list(LABELS[:2]) + [name for _, name in OTHER_REASONS]
    col = df["label"] if not detail else categories(df)
    fig = go.Figure()
    for cat in cats:
        counts = [int(((df["alpha"] == a) & (df["noise_std"] == n) & (col == cat)).sum()) for a, n in cells]
        if detail and not any(counts):
            continue
        fig.add_bar(x=x, y=counts, name=cat, marker_color=colors[cat],
                    hovertemplate="%{x}: %{y} networks<extra>" + cat + "</extra>")
    fig.update_layout(barmode="stack", yaxis_title="networks", template="plotly_white", height=400,
                      title="Mechanism labels per (alpha, noise) cell", legend_title="label")
    return fig


def categories(df: pd.DataFrame):
    """`mechanism_category` of every row of a sweep table (a pandas Series)."""
    reasons = df["reason"] if "reason" in df else [None] * len(df)
    import pandas as pd

    return pd.Series([mechanism_category(lab, r) for lab, r in zip(df["label"], reasons)], index=df.index)


def portraits(models: Sequence[tuple[str, str, Any]], n_free: int = 150, draws: int = 4,
              fixed_points: bool = True) -> pd.DataFrame:
    """Phase-portrait data for a gallery: for each (id, label, CTRNN), in the plane of the first two
    principal components of its noise-free trial rates (27 combinations x `draws` onset draws):

    * kind "free": the input-free, noise-free run from x0, steps 0..n_free (10 ms each);
    * kind "end": the trials' end points (rates at 500 ms), `valid` = the trial's target;
    * kind "fixed": fixed points (`setdyn.analysis.mechanism.find_fixed_points`), `fp_kind` stable/saddle/unstable.

    Columns: id, label, kind, step, valid, fp_kind, pc1, pc2, explained (PC1+PC2 variance fraction).
    """
    import pandas as pd

    import torch

    from . import task

    trials = task.fresh_set(777, draws=draws)
    frames = []
    for nid, label, model in models:
        model = model.double() if model.J.dtype != torch.float64 else model
        with torch.no_grad():
            rates = model.run(trials.codes).rates.numpy()
            free = model.run(np.full((1, n_free), task.NO_INPUT)).rates[0].numpy()
            free = np.concatenate([torch.tanh(model.x0.detach())[None].numpy(), free])
        X = rates.reshape(-1, rates.shape[-1])
        mu = X.mean(0)
        _, sv, vt = np.linalg.svd(X - mu, full_matrices=False)
        P = vt[:2].T
        expl = float((sv[:2] ** 2).sum() / (sv ** 2).sum())
        f = (free - mu) @ P
        e = (rates[:, -1] - mu) @ P
        parts = [pd.DataFrame({"kind": "free", "step": np.arange(len(f)), "pc1": f[:, 0], "pc2": f[:, 1]}),
                 pd.DataFrame({"kind": "end", "valid": trials.targets > 0, "pc1": e[:, 0], "pc2": e[:, 1]})]
        if fixed_points:
            from .analysis.mechanism import find_fixed_points

            fps = find_fixed_points(model)
            if fps:
                r = (np.tanh(np.stack([fp.x for fp in fps])) - mu) @ P
                parts.append(pd.DataFrame({"kind": "fixed", "fp_kind": [fp.kind for fp in fps],
                                           "pc1": r[:, 0], "pc2": r[:, 1]}))
        df = pd.concat(parts, ignore_index=True)
        df.insert(0, "label", label)
        df.insert(0, "id", nid)
        df["explained"] = expl
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def figure_gallery(data: pd.DataFrame, titles: dict[str, str] | None = None, cols: int = 3):
    """Plotly grid of phase portraits from `portraits(...)` data (one panel per network id): the free
    run from x0 (grey line), trial end points (green valid, red invalid) and fixed points (black
    filled = stable, open = saddle / unstable), in each network's own PC1-PC2 plane."""
    import plotly.graph_objects as go  # noqa: F401
    from plotly.subplots import make_subplots

    ids = list(dict.fromkeys(data["id"]))
    titles = titles or {}
    cols = min(cols, max(1, len(ids)))
    nrows = math.ceil(len(ids) / cols)
    names = [titles.get(i, f"{i} ({data.loc[data.id == i, 'label'].iloc[0]})") for i in ids]
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=names, horizontal_spacing=0.06,
                        vertical_spacing=0.12)
    shown: set[str] = set()

    def legend(name: str) -> bool:
        first = name not in shown
        shown.add(name)
        return first

    for n, nid in enumerate(ids):
        g = data[data.id == nid]
        r, c = n // cols + 1, n % cols + 1
        fr = g[g.kind == "free"]
        fig.add_scatter(x=fr.pc1, y=fr.pc2, mode="lines", line=dict(color="#888", width=1), name="free run from x0",
                        legendgroup="free", showlegend=legend("free"), row=r, col=c,
                        hovertemplate="free run, step %{text}<extra></extra>", text=fr.step)
        for valid, color, name in ((True, "#1a9850", "end point, valid"), (False, "#d73027", "end point, invalid")):
            e = g[(g.kind == "end") & (g.valid == valid)]
            fig.add_scatter(x=e.pc1, y=e.pc2, mode="markers", marker=dict(color=color, size=5, opacity=0.7),
                            name=name, legendgroup=name, showlegend=legend(name), row=r, col=c,
                            hoverinfo="skip")
        fp = g[g.kind == "fixed"]
        for stable, sym, name in ((True, "circle", "stable fixed point"), (False, "circle-open", "unstable fixed point")):
            q = fp[(fp.fp_kind == "stable") == stable]
            if len(q):
                fig.add_scatter(x=q.pc1, y=q.pc2, mode="markers", marker=dict(color="black", size=9, symbol=sym,
                                                                             line=dict(width=2)),
                                name=name, legendgroup=name, showlegend=legend(name), row=r, col=c,
                                text=q.fp_kind, hovertemplate="%{text} fixed point<extra></extra>")
    fig.update_xaxes(showticklabels=False, title_text="PC1")
    fig.update_yaxes(showticklabels=False, title_text="PC2")
    fig.update_layout(template="plotly_white", height=330 * nrows + 60, margin=dict(t=120),
                      title="Phase portraits (each network's PC1-PC2 of its trial rates)")
    return fig


def figure_landscape(df: pd.DataFrame, paper: dict[str, Any] | None = None):
    """Plotly scatter of every network: free-running period (ms; 0 = no cycle) against noise-free
    fresh-onset accuracy, coloured by label; `paper` (a row dict, e.g. of the shipped network) is
    drawn as a star."""
    import plotly.graph_objects as go

    colors = {"phase-oscillator": "#662BF0", "fixed-point": "#5CD629", "other": "#999999"}
    fig = go.Figure()
    for lab in LABELS:
        g = df[df.label == lab]
        if not len(g):
            continue
        fig.add_scatter(x=g["fresh_acc_clean"], y=g["period_ms"].fillna(0), mode="markers", name=lab,
                        marker=dict(color=colors[lab], size=8, opacity=0.8),
                        text=[f"seed {s}, alpha {a:g}, noise {n:g}<br>{r}" for s, a, n, r in
                              zip(g.seed, g.alpha, g.noise_std, g.get("reason", [""] * len(g)))],
                        hovertemplate="%{text}<br>fresh accuracy %{x:.3f}, period %{y:.0f} ms<extra></extra>")
    if paper is not None:
        fig.add_scatter(x=[paper.get("fresh_acc_clean")], y=[paper.get("period_ms") or 0], mode="markers",
                        name="the book's network", marker=dict(symbol="star", size=18, color="gold",
                                                               line=dict(color="black", width=1)))
    fig.update_layout(template="plotly_white", height=420,
                      xaxis=dict(title="noise-free accuracy, fresh onsets", range=[-0.02, 1.04]),
                      yaxis=dict(title="free-running period (ms; 0 = none)", rangemode="tozero"),
                      title="Every trained network: accuracy, rhythm and mechanism")
    return fig


def load_gallery() -> pd.DataFrame:
    """The shipped gallery portraits (setdyn/data/sweep_gallery.csv; see `portraits`)."""
    import pandas as pd

    return pd.read_csv(SHIPPED.with_name("sweep_gallery.csv"))


def load_book_row() -> dict[str, Any]:
    """The book's own network (setdyn/data/pretrained.*) classified like a sweep row
    (setdyn/data/sweep_book.json): where the paper's network sits among the sweep's."""
    return json.loads(SHIPPED.with_name("sweep_book.json").read_text())


def ship(out: str | Path, dest: str | Path = SHIPPED, per_label: int = 2) -> tuple[Path, ...]:
    """Write the chapter's data from a sweep directory: the table without its bulky `evidence` column
    (`dest`, setdyn/data/sweep.csv), gallery portraits of up to `per_label` networks per label
    (learned ones for the two mechanisms; from the paper's setting where it has them, else from
    the others) plus the shipped network (sweep_gallery.csv), and the shipped network's own row
    (sweep_book.json)."""
    from . import weights

    out, dest = Path(out), Path(dest)
    table = read_table(out)
    slim = table.drop(columns=[c for c in ("evidence", "analysis_traceback") if c in table.columns])
    slim = slim.sort_values(["alpha", "noise_std", "seed"], ascending=[False, True, True])
    dest.parent.mkdir(parents=True, exist_ok=True)
    slim.to_csv(dest, index=False, float_format="%.6g")
    models = []
    if weights.PRETRAINED.is_file():
        from .analysis.mechanism import classify
        from .training import TrainConfig

        meta = weights.load_meta(weights.PRETRAINED)
        m = weights.load(weights.PRETRAINED)
        cfg = TrainConfig.from_dict(meta["config"])
        rep = classify(m, cfg, accuracy=meta.get("accuracy"))
        models.append(("book", rep.label, m))
        book = {**base_row(cfg, meta), **rep.row(), "id": "book"}
        book.pop("evidence", None)
        dest.with_name("sweep_book.json").write_text(json.dumps(book, indent=1, default=str) + "\n")
    a0, n0 = PAPER_CELL
    for lab in LABELS:
        g = table[table.label == lab].copy()
        if lab != "other":
            g = g[g.get("learned", True) == True]  # noqa: E712
        # the paper's setting first; a label it lacks is shown from the other settings
        g["elsewhere"] = ~((g.alpha == a0) & (g.noise_std == n0))
        g = g.sort_values(["elsewhere", "seed", "alpha", "noise_std"], ascending=[True, True, False, True])
        g = g.head(per_label)
        for nid in g["id"]:
            path = out / "nets" / f"{nid}.safetensors"
            if path.is_file():
                models.append((nid, lab, weights.load(path)))
    gallery = dest.with_name(dest.stem + "_gallery.csv")
    portraits(models).to_csv(gallery, index=False, float_format="%.5g")
    return dest, gallery, dest.with_name("sweep_book.json")


# ---------------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The sweep's options (shared by `python -m setdyn.sweep` and `python -m setdyn sweep`)."""
    p.add_argument("--seeds", default="0-31", help="seeds, e.g. 0-31 or 0,2,5-7 (default 0-31)")
    p.add_argument("--alpha", default="1.0,0.5,0.1", help="alpha = dt/tau values (default 1.0,0.5,0.1)")
    p.add_argument("--noise", default="0,0.05,0.1", help="recurrent noise std values (default 0,0.05,0.1)")
    p.add_argument("--cell-seeds", action="append", default=[], metavar="ALPHA,NOISE:SEEDS",
                   help="other seeds for one cell, e.g. 1.0,0.1:0-31 (repeatable)")
    p.add_argument("--out", required=True, help="output directory (sweep.csv, nets/, rows/)")
    p.add_argument("--epochs", type=int, help="maximum epochs per network (default 2500)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--jobs", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--slots", type=int, default=16, help="networks trained at once per worker (default 16)")
    p.add_argument("--group", type=int, help="networks per Dask task (default: all, split over workers)")
    p.add_argument("--no-analyse", action="store_true", help="train and save weights only")
    p.add_argument("--shared-fs", action="store_true", help="with --scheduler: workers can write to --out")
    p.add_argument("--reanalyse", action="store_true",
                   help="only classify again every network already trained in --out (current classifier)")
    p.add_argument("--ship", action="store_true",
                   help="afterwards write setdyn/data/sweep.csv and sweep_gallery.csv from --out")
    return p


def cmd_sweep(args: argparse.Namespace) -> pd.DataFrame:
    """Run the sweep described by parsed arguments; prints the summary and returns the table."""
    seeds = parse_seeds(args.seeds)
    alphas, noises = parse_floats(args.alpha), parse_floats(args.noise)
    for a in alphas:
        if not 0 < a <= 1:
            raise ValueError(f"alpha = dt/tau must be in (0, 1], got {a}")
    for n in noises:
        if n < 0:
            raise ValueError(f"noise std must be >= 0, got {n}")
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be a positive number of epochs, got {args.epochs}")
    per: dict[tuple[float, float], list[int]] = {}
    for spec in args.cell_seeds:
        try:
            cell, s = spec.split(":")
            a, n = parse_floats(cell)
        except ValueError:
            raise ValueError(f"--cell-seeds wants ALPHA,NOISE:SEEDS like 1.0,0.1:0-31, got {spec!r}") from None
        per[(a, n)] = parse_seeds(s)
    configs = grid(seeds, alphas, noises, args.epochs, per)
    # the paper's cell first: a partial sweep then has its headline number
    configs.sort(key=lambda c: (c.alpha, c.noise_std) != PAPER_CELL)
    if args.reanalyse:
        table = reanalyse(args.out, jobs=args.jobs)
    else:
        table = run_sweep(configs, args.out, scheduler=args.scheduler, jobs=args.jobs, slots=args.slots,
                          group=args.group, analyse=not args.no_analyse, shared_fs=args.shared_fs)
    if len(table) and "label" in table:
        print(summary(table).to_string(index=False))
    print(f"{len(table)} networks in {Path(args.out) / CSV_NAME}")
    if args.ship:
        for path in ship(args.out):
            print(f"wrote {path}")
    return table


def cli_entry(args: argparse.Namespace) -> None:
    """`python -m setdyn sweep` handler: bad arguments and file errors become `setdyn.cli.CliError`
    (one line on stderr, exit code 2)."""
    from .cli import CliError

    try:
        cmd_sweep(args)
    except (ValueError, OSError) as e:
        raise CliError(str(e)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m setdyn.sweep`; errors are one line on stderr with exit code 2."""
    p = add_arguments(argparse.ArgumentParser(prog="python -m setdyn.sweep", description=__doc__.splitlines()[0]))
    args = p.parse_args(argv)
    try:
        cmd_sweep(args)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
