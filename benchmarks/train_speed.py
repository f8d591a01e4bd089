"""Training speed: prints figures, asserts nothing (run by `make bench`).

1. ms per epoch (540 trials, 5 minibatches, forward + backward + AdamW) for
   setdyn's engines (`setdyn.training.train_epoch`): `native` (the compiled
   hand-written BPTT, the default) as `train` runs it, with a second thread
   drawing the noise ahead from setdyn's fast generator
   (the engine's `noise_stream`); the same with PyTorch's noise drawn in line
   (everything on one core); `bptt` (the same algorithm in Python) with its
   noise thread; `autograd`; and a plain per-step autograd loop (dense
   inputs, drive[t] indexing).
2. The matmul FLOP limit: the epoch's 750 matrix products (3 of 108 x 100
   by 100 x 100 per step) timed alone, back to back.
   Also the same products chained as BPTT needs them (each step's product
   waits for the previous one and writes fresh memory), without anything else.
   All of the above are timed in interleaved rounds (a block of 4 epochs of
   each variant, of which the last 3 are timed, then one limit sample; repeat),
   so a machine that speeds up or slows down during the run (this one is
   shared) affects all alike; medians are printed.
3. A real run of 100 epochs with `setdyn.training.train` (the default engine;
   its evaluation of the train, test and fresh-onset sets every 5 epochs
   included; the native engine runs it beside the next epoch): ms per epoch.
4. Time to the paper's accuracy (noisy train >= 96%, noise-free test 100%):
   projected from the shipped sweep (median epochs of the networks at the
   paper's setting that reached it) x the real run's epoch time; and
   measured, by training seeds for real with `setdyn.training.train` (set
   BENCH_SEEDS, default 0,1,2; BENCH_SEEDS= skips it): the wall-clock time
   at the first evaluation that meets the paper's accuracy, and at the stop
   rule (which also asks 99% on fresh onsets, held 4 evaluations).
"""
from __future__ import annotations

import os
import statistics
import time

import torch

from setdyn import task
from setdyn.sweep.grid import PAPER_CELL
from setdyn.sweep.table import load_shipped
from setdyn.training import (ENGINES, TrainConfig, build_model, epochs_to_accuracy, make_optimizer, train,
                             train_epoch)

torch.set_num_threads(1)
cfg = TrainConfig()
ts = task.training_set(0)
codes = torch.as_tensor(ts.codes)
targets = torch.as_tensor(ts.targets, dtype=torch.float32)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))
BLOCK = 4  # epochs per variant per round; the first of each block is not timed


def plain_epoch(model, opt, g) -> None:
    """The textbook loop: dense inputs u_t (batch x T x 100), B u_t per step, drive[t] indexing."""
    enc = torch.cat([model.colors, torch.zeros(1, model.colors.shape[1])])
    for idx in torch.randperm(len(ts), generator=g).split(cfg.batch_size):
        u = enc[codes[idx]]
        x = model.x0 + 0.5 * torch.randn(len(idx), 100, generator=g)
        zs, rs = [], []
        for t in range(u.shape[1]):
            x = torch.tanh(x) @ model.J.T + u[:, t] @ model.B.T + model.b + 0.1 * torch.randn(len(idx), 100, generator=g)
            r = torch.tanh(x)
            rs.append(r)
            zs.append(r @ model.W.T + model.b_out)
        z = torch.cat(zs, 1)
        loss = ((z[:, -5:] - targets[idx, None]) ** 2).mean() + 1e-6 * (torch.stack(rs) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 5.0)
        opt.step()


class Variant:
    """One way of running epochs, with its own model, optimiser and random numbers."""

    def __init__(self, name: str, engine: str, threaded: bool = False) -> None:
        self.name, self.engine = name, engine
        self.model = build_model(cfg)
        self.opt = make_optimizer(self.model, cfg, engine if engine != "plain" else "autograd")
        self.g = torch.Generator().manual_seed(0)
        self.stream = ENGINES[engine].noise_stream(cfg, self.g, len(ts), task.N_STEPS) if threaded else None
        self.times: list[float] = []

    def epoch(self) -> float:
        t0 = time.perf_counter()
        if self.engine == "plain":
            plain_epoch(self.model, self.opt, self.g)
        else:
            perm = self.stream.permutation() if self.stream else torch.randperm(len(ts), generator=self.g)
            train_epoch(self.model, self.opt, codes, targets, perm, cfg, self.g, self.engine, noise=self.stream)
        return time.perf_counter() - t0


def matmul_epoch_limit() -> float:
    """Seconds the epoch's matrix products alone take on one core: per step one forward product
    (r J^T) and two backward (dL/dr and dJ), 50 steps, 5 minibatches: 750 products of 108 x 100 by
    100 x 100, timed back to back on the same operands (so from cache: a bound, not an estimate)."""
    a, w, out = torch.randn(108, 100), torch.randn(100, 100), torch.empty(108, 100)
    n = 3 * task.N_STEPS * (len(ts) // cfg.batch_size)
    t0 = time.perf_counter()
    for _ in range(n):
        torch.mm(a, w, out=out)
    return time.perf_counter() - t0


def chained_products_epoch() -> float:
    """Seconds the same products take as BPTT has to do them: each step's product reads the previous
    step's output and writes a fresh 108 x 100 block (forward and backward chains through a 50-step
    buffer), and dJ as one 100 x 5400 by 5400 x 100 product; 5 minibatches. Nothing else."""
    nb, n, steps = cfg.batch_size, cfg.n_units, task.N_STEPS
    R, G = torch.rand(steps + 1, nb, n) - 0.5, torch.empty(steps + 1, nb, n)
    J = torch.randn(n, n) * 0.075
    Jt = J.T.contiguous()
    r, g = R.unbind(0), G.unbind(0)
    G[-1].copy_(R[-1])
    t0 = time.perf_counter()
    for _ in range(len(ts) // nb):
        for t in range(steps):
            r[t + 1].addmm_(r[t], Jt)
        for t in range(steps, 0, -1):
            torch.mm(g[t], J, out=g[t - 1])
        G[1:].reshape(-1, n).T @ R[:-1].reshape(-1, n)
    return time.perf_counter() - t0


def run_per_epoch(epochs: int = 100) -> float:
    """Seconds per epoch of a real `setdyn.training.train` run (default engine, stop rule off), its
    evaluations every 5 epochs included."""
    res = train(TrainConfig(seed=0, max_epochs=epochs, stop_train_acc_noisy=None, stop_test_acc_clean=None,
                            stop_fresh_acc_clean=None), progress=False)
    return res.seconds / epochs


def main() -> None:
    variants = [Variant("native (default), noise on a 2nd thread", "native", threaded=True),
                Variant("native, PyTorch's noise in line (one core)", "native"),
                Variant("Python BPTT, noise on a 2nd thread", "bptt", threaded=True),
                Variant("setdyn autograd", "autograd"),
                Variant("plain autograd loop", "plain")]
    limits, chains = [], []
    for v in variants:
        v.epoch()  # warm-up
    for _ in range(ROUNDS):
        for v in variants:  # a block of epochs: the first lets the other variants' noise threads settle
            for i in range(BLOCK):
                dt = v.epoch()
                if i:
                    v.times.append(dt)
        limits.append(matmul_epoch_limit())
        chains.append(chained_products_epoch())
    for v in variants:
        if v.stream:
            v.stream.close()
    ms = {v.name: statistics.median(v.times) * 1e3 for v in variants}
    limit = statistics.median(limits) * 1e3
    ours = ms[variants[0].name]
    flops = 3 * 2 * len(ts) * task.N_STEPS * cfg.n_units ** 2
    print(f"ms per epoch, median of {ROUNDS} interleaved rounds x {BLOCK - 1} epochs:")
    for v in variants:
        extra = "" if v is variants[0] else f"  (default is {ms[v.name] / ours:.2f}x faster)"
        print(f"  {v.name:46s} {ms[v.name]:7.1f}{extra}")
    print(f"  {'matmul FLOP limit':46s} {limit:7.1f}  ({flops / limit / 1e6:.0f} GFLOP/s on 108x100 @ 100x100)")
    chain = statistics.median(chains) * 1e3
    print(f"  {'the same products, chained as BPTT does them':46s} {chain:7.1f}  ({chain / limit:.2f}x the limit)")
    print(f"default epoch / FLOP limit: {ours / limit:.2f}x (target <= 2x); "
          f"one core: {ms[variants[1].name] / limit:.2f}x")
    per_epoch = run_per_epoch() * 1e3
    print(f"a real training run (setdyn.training.train), evaluation every {cfg.eval_every} epochs included: "
          f"{per_epoch:.1f} ms per epoch")

    sw = load_shipped()
    paper_cell = sw[(sw.alpha == PAPER_CELL[0]) & (sw.noise_std == PAPER_CELL[1])]
    for column, what in (("epochs_to_paper_accuracy", "the paper's accuracy"), ("epochs", "the stop rule")):
        if column not in paper_cell:
            continue
        reached = paper_cell[column].where(paper_cell.stopped_early.astype(bool) | (column != "epochs")).dropna()
        if len(reached):
            ep = float(reached.median())
            print(f"time to {what}, projected: median {ep:.0f} epochs ({len(reached)} of {len(paper_cell)} sweep "
                  f"networks at the paper's setting reached it) x {per_epoch:.1f} ms = {ep * per_epoch / 1e3:.0f} s"
                  + (" (target < 60 s)" if column != "epochs" else ""))

    seeds = [int(s) for s in os.environ.get("BENCH_SEEDS", "0,1,2").split(",") if s.strip()]
    firsts, stops = [], []
    for s in seeds:
        t0 = time.perf_counter()
        seen: dict[int, float] = {}  # evaluated epoch -> seconds when its evaluation was in

        def note(epoch: int, rec: dict[str, float]) -> None:
            seen[epoch] = time.perf_counter() - t0

        res = train(TrainConfig(seed=s), progress=True, callback=note)
        n = len(res.history["train_loss"])
        first = epochs_to_accuracy(res.history)
        msg = (f"paper's accuracy at epoch {first} after {seen[first]:.0f} s" if first
               else "paper's accuracy not reached")
        print(f"seed {s} ({res.engine}): {msg}; stop rule {'met' if res.stopped_early else 'not met'} after {n} "
              f"epochs, {res.seconds:.0f} s ({res.seconds / n * 1e3:.1f} ms per epoch with evaluation)")
        if first:
            firsts.append(seen[first])
        if res.stopped_early:
            stops.append(res.seconds)
    if firsts:
        print(f"time to the paper's accuracy, median over the {len(firsts)} of {len(seeds)} seeds that reached it: "
              f"{statistics.median(firsts):.0f} s (target < 60 s)")
    if stops:
        print(f"time to the stop rule, median over the {len(stops)} seeds that met it: {statistics.median(stops):.0f} s")


if __name__ == "__main__":
    main()
