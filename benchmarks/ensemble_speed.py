"""Ensemble training speed: K networks trained together vs one alone (prints, asserts nothing).

Trains one network with `setdyn.train.train` and K = 16 (BENCH_K) with
`setdyn.batched.train_batched` for the same number of epochs (BENCH_EPOCHS,
default 10; early stopping off, evaluation every 5 epochs as in real runs),
both on one thread, and prints ms per epoch and the ratio

    (wall time of K together) / (wall time of one)     (target: <= 4 for K = 16)

CPU time (time.process_time) is printed too: on a machine shared with other
work it is the steadier measure of the code's own cost. Then the cost per
network-epoch of the batched trainer for K = 1, 4, 8, 16 (BENCH_SCAN), which
is what a sweep pays: pick the `--slots` with the lowest.
"""
from __future__ import annotations

import os
import time

import torch

from setdyn.batched import train_batched
from setdyn.train import TrainConfig, train

K = int(os.environ.get("BENCH_K", "16"))
EPOCHS = int(os.environ.get("BENCH_EPOCHS", "10"))
NO_STOP = dict(max_epochs=EPOCHS, stop_train_acc_noisy=None, stop_test_acc_clean=None, stop_fresh_acc_clean=None)


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
    print(f"one network (setdyn.train.train):     {one_wall / EPOCHS * 1e3:8.1f} ms/epoch wall, "
          f"{one_cpu / EPOCHS * 1e3:8.1f} ms/epoch CPU")
    print(f"K = {K} together (setdyn.batched):      {ens_wall / EPOCHS * 1e3:8.1f} ms/epoch wall, "
          f"{ens_cpu / EPOCHS * 1e3:8.1f} ms/epoch CPU")
    print(f"ratio K={K} together / one: {ens_wall / one_wall:.2f}x wall, {ens_cpu / one_cpu:.2f}x CPU "
          f"(target <= 4x); per network {ens_wall / one_wall / K:.3f}x the time of training it alone")
    scan = [int(k) for k in os.environ.get("BENCH_SCAN", "1,4,8,16").split(",") if k]
    for k in scan:
        w, c = timed(lambda: train_batched([TrainConfig(seed=s, **NO_STOP) for s in range(k)], progress=False,
                                           eval_train_clean=False))
        print(f"batched K = {k:2d} (as in a sweep): {w / EPOCHS / k * 1e3:7.1f} ms wall, "
              f"{c / EPOCHS / k * 1e3:7.1f} ms CPU per network-epoch "
              f"({one_cpu / EPOCHS * 1e3:.1f} ms CPU for train() alone)")
