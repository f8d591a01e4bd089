"""Sweep throughput: networks per core-hour (training plus analysis), and what 16,000 networks would cost.

    python benchmarks/sweep_throughput.py [--epochs 10] [--slots 8]

Times the sweep's own units of work on one thread, then scales them by the epochs a network really
trains (the median of the shipped sweep table, `setdyn/data/sweep.csv`; early stopping makes it
shorter than the recipe's 2500):

* training, tanh (any alpha): the batched trainer, `--slots` networks together, CPU seconds per
  network-epoch;
* training, relu: autograd, one network at a time (the batched trainer covers tanh only);
* analysis of one trained network (`setdyn.sweep.worker.analyze_network`: the mechanism classifier and
  the taxonomy), on the shipped network;
* the heap fix of Dask workers: batched training in a fresh process with glibc's settings as Dask's nanny
  gives them (MALLOC_TRIM_THRESHOLD_=65536), without and with `setdyn.sweep.worker.reuse_heap_memory`.

Prints JSON lines and a summary; asserts nothing. CPU time (time.process_time) is reported, not wall
time, so that a machine shared with other work gives the code's own cost. What a cluster changes:
networks are independent Dask tasks, so N networks on C cores take about N / C / (networks per
core-hour) hours once C is below N / (slots); DSA's all-pairs cost (`benchmarks/dsa_cost.py`) grows
as N^2 and dominates long before 16,000 networks unless its pairs become Dask tasks too.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from setdyn import weights  # noqa: E402
from setdyn.sweep.table import load_shipped  # noqa: E402
from setdyn.sweep.worker import analyze_network  # noqa: E402
from setdyn.training import TrainConfig, train, train_batched  # noqa: E402

#: Sweep sizes the projection prints, and the cluster sizes (cores) it spreads them over.
PROJECT_NETWORKS = (90, 256, 16000)
PROJECT_CORES = (2, 64, 512)


def cpu_seconds(fn) -> float:
    c = time.process_time()
    fn()
    return time.process_time() - c


def heap_fix_ms(epochs: int, slots: int) -> dict[str, float]:
    """CPU ms per network-epoch of batched training in a fresh process under Dask's nanny's glibc setting,
    without and with `reuse_heap_memory` (each process warms up with one epoch first)."""
    code = ("import sys, time, torch; from setdyn.sweep.worker import reuse_heap_memory; "
            "from setdyn.training import TrainConfig, train_batched; torch.set_num_threads(1)\n"
            "fix, e, k = sys.argv[1] == 'fix', int(sys.argv[2]), int(sys.argv[3])\n"
            "fix and reuse_heap_memory()\n"
            "cfg = lambda s, n: TrainConfig(seed=s, max_epochs=n, stop_train_acc_noisy=None, "
            "stop_test_acc_clean=None, stop_fresh_acc_clean=None)\n"
            "train_batched([cfg(s, 1) for s in range(k)], progress=False)\n"
            "c = time.process_time(); train_batched([cfg(s, e) for s in range(k)], progress=False)\n"
            "print(1000 * (time.process_time() - c) / e / k)")
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    return {name: float(subprocess.run([sys.executable, "-c", code, name, str(epochs), str(slots)], env=env,
                                       check=True, capture_output=True, text=True).stdout.split()[-1])
            for name in ("as_dask_gives_it", "fix")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10, help="epochs timed per engine (default 10)")
    ap.add_argument("--slots", type=int, default=8, help="networks trained together by the batched trainer")
    args = ap.parse_args()
    torch.set_num_threads(1)
    no_stop = dict(max_epochs=args.epochs, stop_train_acc_noisy=None, stop_test_acc_clean=None,
                   stop_fresh_acc_clean=None)
    train(TrainConfig(seed=0, **{**no_stop, "max_epochs": 1}), progress=False, engine="autograd")  # warm-up
    per_epoch = {
        "tanh_batched": cpu_seconds(lambda: train_batched(
            [TrainConfig(seed=s, **no_stop) for s in range(args.slots)], progress=False)) / args.epochs / args.slots,
        "relu_autograd": cpu_seconds(lambda: train(
            TrainConfig(seed=0, activation="relu", **no_stop), progress=False, engine="autograd")) / args.epochs,
    }
    print(json.dumps({"cpu_seconds_per_network_epoch": per_epoch}), flush=True)
    heap = heap_fix_ms(args.epochs, args.slots)
    print(json.dumps({"dask_worker_heap_ms_per_network_epoch": heap}), flush=True)
    print(f"(inside a Dask worker, glibc's heap as the nanny sets it: {heap['as_dask_gives_it']:.0f} ms per "
          f"network-epoch; with reuse_heap_memory: {heap['fix']:.0f} ms)")
    model = weights.load()
    analysis = cpu_seconds(lambda: analyze_network(model, TrainConfig()))
    print(json.dumps({"analysis_cpu_seconds_per_network": analysis}), flush=True)

    table = load_shipped()
    epochs = float(pd.to_numeric(table["epochs"]).median())
    per_network = {k: (v * epochs + analysis) / 3600 for k, v in per_epoch.items()}
    print(json.dumps({"median_epochs_in_shipped_sweep": epochs, "networks_in_table": len(table),
                      "core_hours_per_network": per_network,
                      "networks_per_core_hour": {k: 1 / v for k, v in per_network.items()}}, indent=1))
    # the follow-up's grid: half tanh (batched), half relu (autograd)
    mix = (per_network["tanh_batched"] + per_network["relu_autograd"]) / 2
    print(f"(epochs per network: the shipped tanh sweep's median, {epochs:.0f}; a run that never stops early "
          f"trains {TrainConfig.max_epochs}, {TrainConfig.max_epochs / epochs:.1f}x as long)")
    for n in PROJECT_NETWORKS:
        print(f"{n:6d} networks, half tanh, half relu: {n * mix:7.1f} core-hours; wall hours on "
              + ", ".join(f"{c} cores {n * mix / c:.2g}" for c in PROJECT_CORES))


if __name__ == "__main__":
    main()
