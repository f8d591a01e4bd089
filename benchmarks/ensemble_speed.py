"""Ensemble training speed: K networks trained together vs one alone (prints, asserts nothing).

Trains one network with `setdyn.training.train` and K = 16 (BENCH_K) with
`setdyn.training.train_batched` for the same number of epochs (BENCH_EPOCHS,
default 10; early stopping off, evaluation every 5 epochs as in real runs),
both on one thread, and prints ms per epoch and the ratio

    (wall time of K together) / (wall time of one)     (target: <= 4 for K = 16)

CPU time (time.process_time) is printed too: on a machine shared with other
work it is the steadier measure of the code's own cost. Then the cost per
network-epoch of the batched trainer for K = 1, 4, 8, 16 (BENCH_SCAN), which
is what a sweep pays: pick the `--slots` with the lowest.

Finally a floor: per network-epoch the recipe must draw 2.7 million normal
random numbers (noise on every unit, step and trial) and do 1.6 GFLOP of
matrix products (forward, and two products backward, per step). Both are
timed here at their best (one large normal_ call; a batched K = 16 bmm), and
K x (that floor) / (one network's epoch) is the smallest ratio any batched
trainer could reach on this machine: if it is above 4, the 4x target cannot
be met by batching, only by making each network-epoch cheaper than the
recipe allows.
"""
from __future__ import annotations

import os
import time

import torch

from setdyn.training import TrainConfig, train, train_batched

K = int(os.environ.get("BENCH_K", "16"))
EPOCHS = int(os.environ.get("BENCH_EPOCHS", "10"))
NO_STOP = dict(max_epochs=EPOCHS, stop_train_acc_noisy=None, stop_test_acc_clean=None, stop_fresh_acc_clean=None)


def floor_ms_per_network_epoch() -> tuple[float, float]:
    """(random numbers, matmul FLOPs at batched bmm speed) in ms for one network-epoch, measured."""
    n, T, N, nb = 540, 50, 100, 108
    x = torch.empty(n, T, N)
    g = torch.Generator().manual_seed(0)
    reps = 10
    t0 = time.perf_counter()
    for _ in range(reps):
        x.normal_(0.0, 0.1, generator=g)
    noise = (time.perf_counter() - t0) / reps * 1e3
    a, w = torch.randn(16, nb, N), torch.randn(16, N, N)
    reps = 300
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.bmm(a, w)
    gflops = 16 * 2 * nb * N * N / ((time.perf_counter() - t0) / reps) / 1e9
    flops = 3 * 2 * n * T * N * N  # per step: J r forward; J^T g and g r^T backward
    return noise, flops / (gflops * 1e9) * 1e3


def timed(fn) -> tuple[float, float]:
    c, t = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t, time.process_time() - c


if __name__ == "__main__":
    torch.set_num_threads(1)
    train(TrainConfig(seed=0, **{**NO_STOP, "max_epochs": 1}), progress=False)  # warm-up
    one_wall, one_cpu = timed(lambda: train(TrainConfig(seed=0, **NO_STOP), progress=False))
    cfgs = [TrainConfig(seed=s, **NO_STOP) for s in range(K)]
    ens_wall, ens_cpu = timed(lambda: train_batched(cfgs, progress=False))
    print(f"one network (setdyn.training.train):        {one_wall / EPOCHS * 1e3:8.1f} ms/epoch wall, "
          f"{one_cpu / EPOCHS * 1e3:8.1f} ms/epoch CPU")
    print(f"K = {K} together (setdyn.training.batched): {ens_wall / EPOCHS * 1e3:8.1f} ms/epoch wall, "
          f"{ens_cpu / EPOCHS * 1e3:8.1f} ms/epoch CPU")
    print(f"ratio K={K} together / one: {ens_wall / one_wall:.2f}x wall, {ens_cpu / one_cpu:.2f}x CPU "
          f"(target <= 4x); per network {ens_wall / one_wall / K:.3f}x the time of training it alone")
    noise_ms, mm_ms = floor_ms_per_network_epoch()
    one_ms = one_wall / EPOCHS * 1e3
    print(f"floor per network-epoch: {noise_ms:.1f} ms drawing the noise + {mm_ms:.1f} ms of matmuls at batched "
          f"speed = {noise_ms + mm_ms:.1f} ms; so K={K} together takes at least "
          f"{K * (noise_ms + mm_ms) / one_ms:.1f}x one network's time (target <= 4x)")
    scan = [int(k) for k in os.environ.get("BENCH_SCAN", "1,4,8,16").split(",") if k]
    for k in scan:
        w, c = timed(lambda: train_batched([TrainConfig(seed=s, **NO_STOP) for s in range(k)], progress=False,
                                           eval_train_clean=False))
        print(f"batched K = {k:2d} (as in a sweep): {w / EPOCHS / k * 1e3:7.1f} ms wall, "
              f"{c / EPOCHS / k * 1e3:7.1f} ms CPU per network-epoch "
              f"({one_cpu / EPOCHS * 1e3:.1f} ms CPU for train() alone)")
