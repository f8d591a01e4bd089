"""Running a sweep: train and analyse every network of a grid on Dask, resumably.

Networks train in groups with the batched trainer, one group per Dask task
(`setdyn.sweep.worker.train_group`). Without a scheduler address a
`dask.distributed.LocalCluster` of single-threaded worker processes runs them
on this machine; with one (``tcp://host:8786``) the same tasks go to an
existing cluster. Rows are written as soon as each network is analysed (local
runs: by the worker itself; remote runs: by the client when a group returns,
or by the workers too when they share the file system).

Resumable: a rerun skips networks whose row exists, and analyses without
retraining those whose weights exist. With ``commit_every_s`` the finished
rows and weights are also committed to git as the sweep goes
(`setdyn.sweep.commit`), so that another session resumes from the repository. `reanalyze` classifies every trained
network again with the current classifier, without retraining.
"""
from __future__ import annotations

import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from dask.distributed import Client, LocalCluster, wait
from tqdm.auto import tqdm

from .. import weights
from ..training import TrainConfig
from .commit import check_repository, commit_rows
from .grid import net_id
from .table import merge_rows, read_table, write_row, write_table
from .worker import model_from_tensors, reanalyze_one, train_group

#: Most networks in one Dask task when the group size is not given.
MAX_GROUP = 64
#: Seconds the client waits for a task before it merges the rows workers wrote meanwhile.
POLL_S = 30.0


def run_sweep(configs: Sequence[TrainConfig], out: str | Path, scheduler: str | None = None, jobs: int = 2,
              slots: int = 16, group: int | None = None, analyze: bool = True, shared_fs: bool = False,
              progress: bool = True, commit_every_s: float | None = None) -> pd.DataFrame:
    """Train and analyse every config not yet in DIR/sweep.csv; returns the full table.

    Parameters
    ----------
    configs : networks to have (finished ones are skipped), e.g. `setdyn.sweep.grid.configs(...)`.
    out : output directory (sweep.csv, nets/, rows/, progress/).
    scheduler : address of a running Dask scheduler (tcp://host:8786); None
        starts a LocalCluster of `jobs` single-threaded worker processes.
    jobs : local worker processes (ignored with `scheduler`).
    slots : networks trained at once per task (the batched trainer's K).
    group : networks per task (default: split evenly over the workers, at most `MAX_GROUP`).
    analyze : classify each network (False: train and save weights only).
    shared_fs : with `scheduler`, workers can write to `out` too.
    progress : tqdm bar over networks.
    commit_every_s : commit DIR/rows, DIR/nets and DIR/sweep.csv to git (`setdyn.sweep.commit.commit_rows`)
        at most this often while new rows arrive, and once at the end, also when the sweep is stopped (Ctrl-C,
        a worker's error): what finished is kept in DIR/sweep.csv and the commit; None: never commit.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if commit_every_s is not None:
        check_repository(out)
    table = read_table(out)
    done = set(table["id"]) if len(table) else set()
    if analyze and len(table) and "label" in table:
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
        group = max(1, min(MAX_GROUP, math.ceil(len(todo) / n_workers)))
    # deal round-robin so that every task gets a slice of every priority level
    n_tasks = max(1, math.ceil(len(todo) / group))
    tasks = [todo[i::n_tasks] for i in range(n_tasks)]
    futures = [client.submit(train_group, [c.to_dict() for c in t], worker_out, slots, analyze,
                             pure=False, key=f"sweep-group-{i}-{net_id(t[0])}") for i, t in enumerate(tasks)]
    bar = tqdm(total=len(todo), desc="sweep", unit="net", disable=not progress)
    todo_ids = {net_id(c) for c in todo}
    seen: set[str] = set()
    handled: set[int] = set()
    last_commit = [time.monotonic(), 0]  # time, rows seen at the last commit

    def commit(final: bool = False, note: str = "") -> None:
        if commit_every_s is None or len(seen) == last_commit[1]:
            return
        if final or time.monotonic() - last_commit[0] >= commit_every_s:
            commit_rows(out, f"sweep {out.name}: {len(seen)} of {len(todo)} networks finished{note}")
            last_commit[:] = [time.monotonic(), len(seen)]

    stopped = True  # until the loop ends normally: Ctrl-C, a worker's error, a lost cluster
    try:
        while True:
            finished = all(f.done() for f in futures)
            table = read_table(out)  # picks up rows written by workers while their groups run
            for i, f in enumerate(futures):
                if i not in handled and f.done():
                    handled.add(i)
                    rows = save_returned_weights(f.result(), out)  # raises the worker's error, if any
                    table = merge_rows(table, rows)
            if len(table):
                write_table(table, out)
                new = (set(table["id"]) & todo_ids) - seen
                bar.update(len(new))
                seen |= new
            commit(final=finished)
            if finished:
                break
            _wait_any(futures, POLL_S)
        stopped = False
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
        if stopped:  # keep what finished: rows written since the last poll go into the table (and a commit)
            table = read_table(out)
            if len(table):
                write_table(table, out)
                seen |= set(table["id"]) & todo_ids
            try:
                commit(final=True, note=" (stopped)")
            except Exception as e:  # noqa: BLE001 - never hide why the sweep stopped behind a git error
                print(f"sweep: could not commit the finished rows ({e}); rerun to resume", file=sys.stderr)
    return read_table(out)


def reanalyze(out: str | Path, jobs: int = 2, ids: Sequence[str] | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Classify again every trained network in DIR/nets (or those in `ids`) with the current
    classifier, without retraining, in `jobs` processes; rewrites their rows and DIR/sweep.csv.
    Returns the table."""
    out = Path(out)
    paths = sorted((out / "nets").glob("*.safetensors"))
    if ids is not None:
        paths = [p for p in paths if p.stem in set(ids)]
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futs = [pool.submit(reanalyze_one, str(p)) for p in paths]
        for f in tqdm(as_completed(futs), total=len(futs), desc="reanalyze", unit="net", disable=not progress):
            write_row(f.result(), out)
    table = read_table(out)
    write_table(table, out)
    return table


def relabel(out: str | Path) -> pd.DataFrame:
    """Label every analysed row of DIR again from its recorded taxonomy evidence (no network is run: the
    taxonomy's rule or its reasons' wording changed, not the measurements); rewrites the rows that change and
    DIR/sweep.csv. Returns the table."""
    from ..analysis.taxonomy import TaxonomyEvidence, label_from_evidence

    out = Path(out)
    for path in sorted((out / "rows").glob("*.json")):
        row = json.loads(path.read_text())
        if not row.get("taxon_evidence"):
            continue
        label, reason = label_from_evidence(TaxonomyEvidence.from_dict(json.loads(row["taxon_evidence"])))
        if (label, reason) != (row.get("taxon"), row.get("taxon_reason")):
            write_row({**row, "taxon": label, "taxon_reason": reason}, out)
    table = read_table(out)
    write_table(table, out)
    return table


def save_returned_weights(rows: Sequence[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """Write the weights that workers sent back (no shared file system) to out/nets; returns the rows
    without them."""
    clean = []
    for row in rows:
        row = dict(row)
        net = row.pop("_net", None)
        if net is not None:
            model = model_from_tensors(net["tensors"], net["alpha"], net.get("activation", "tanh"))
            weights.save(model, out / "nets" / f"{row['id']}.safetensors", net["meta"])
        clean.append(row)
    return clean


def _wait_any(futures: Sequence[Any], timeout: float) -> None:
    """Sleep until a future finishes or `timeout` seconds pass."""
    try:
        wait([f for f in futures if not f.done()], timeout=timeout, return_when="FIRST_COMPLETED")
    except Exception:  # noqa: BLE001 - dask raises a TimeoutError subclass on timeout
        pass
