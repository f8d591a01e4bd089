"""Training speed: prints figures, asserts nothing (run by `make bench`).

1. ms per epoch (540 trials, 5 minibatches, forward + backward + AdamW), median
   of several, for both of setdyn's engines (`setdyn.train.train_epoch`: the
   hand-written BPTT, the default, and autograd) and for a plain per-step
   autograd loop (drive[t] indexing, dense inputs) measured in the same run.
2. The matmul FLOP limit: the epoch's matmul FLOPs divided by the GFLOP/s this
   machine reaches on the same matrix shapes; our epoch vs that bound.
3. Time to the paper's accuracy, projected: the median number of epochs the
   networks of the shipped sweep (setdyn/data/sweep.csv, paper's setting) that
   reached the target needed, times this run's epoch time including the
   evaluation every 5 epochs (target: under 60 s).
4. Epochs and seconds to reach the accuracy target for a few seeds, trained
   for real (set BENCH_SEEDS=0,1,2; default 1 seed, as each takes a minute or
   more; BENCH_SEEDS= skips it).
"""
from __future__ import annotations

import os
import statistics
import time

import torch

from setdyn import task
from setdyn.train import TrainConfig, build_model, train, train_epoch

torch.set_num_threads(1)
cfg = TrainConfig()
ts = task.training_set(0)
codes = torch.as_tensor(ts.codes)
targets = torch.as_tensor(ts.targets, dtype=torch.float32)


def epoch_bptt(model, opt, g) -> None:
    train_epoch(model, opt, codes, targets, torch.randperm(len(ts), generator=g), cfg, g, "bptt")


def epoch_autograd(model, opt, g) -> None:
    train_epoch(model, opt, codes, targets, torch.randperm(len(ts), generator=g), cfg, g, "autograd")


def epoch_plain(model, opt, g) -> None:
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


def time_epochs(fn, reps: int = 15) -> float:
    model = build_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1.0)
    g = torch.Generator().manual_seed(0)
    fn(model, opt, g)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(model, opt, g)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def matmul_limit_ms() -> float:
    """Time the epoch's matmuls alone at this machine's measured GFLOP/s (batch 108, N = 100)."""
    a, w = torch.randn(108, 100), torch.randn(100, 100)
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        a @ w
    per = (time.perf_counter() - t0) / n
    gflops = 2 * 108 * 100 * 100 / per / 1e9
    # per step: forward J r (1 matmul), backward dJ and dr (2 matmuls); 50 steps, 540 trials
    epoch_flops = 3 * 2 * 540 * 50 * 100 * 100
    print(f"matmul 108x100 @ 100x100: {gflops:.2f} GFLOP/s")
    return epoch_flops / (gflops * 1e9) * 1e3


if __name__ == "__main__":
    ours = time_epochs(epoch_bptt)
    auto = time_epochs(epoch_autograd)
    plain = time_epochs(epoch_plain)
    limit = matmul_limit_ms()
    print(f"epoch, setdyn BPTT (default): {ours:7.1f} ms (median of 15)")
    print(f"epoch, setdyn autograd:       {auto:7.1f} ms  -> BPTT is {auto / ours:.2f}x faster")
    print(f"epoch, plain autograd loop:   {plain:7.1f} ms  -> BPTT is {plain / ours:.2f}x faster")
    print(f"epoch, matmul FLOP limit:     {limit:7.1f} ms  -> BPTT is {ours / limit:.1f}x the limit (target <= 2x)")
    # evaluation: every cfg.eval_every epochs, noise-free runs of the train, test and fresh-onset sets
    from setdyn.train import evaluate

    model = build_model(cfg)
    sets = [ts, task.test_set(seed=cfg.test_onset_seed), task.fresh_set(cfg.fresh_onset_seed, cfg.fresh_draws)]
    t0 = time.perf_counter()
    for _ in range(3):
        for trials in sets:
            evaluate(model, trials)
    eval_ms = (time.perf_counter() - t0) / 3 * 1e3 / cfg.eval_every
    from setdyn.sweep import PAPER_CELL, load_shipped

    sw = load_shipped()
    done = sw[(sw.alpha == PAPER_CELL[0]) & (sw.noise_std == PAPER_CELL[1]) & sw.stopped_early.astype(bool)]
    if len(done):
        ep = float(done.epochs.median())
        print(f"evaluation overhead:          {eval_ms:7.1f} ms per epoch (every {cfg.eval_every} epochs)")
        print(f"time to target, projected: median {ep:.0f} epochs ({len(done)} networks of the shipped sweep that "
              f"reached it) x {ours + eval_ms:.1f} ms = {ep * (ours + eval_ms) / 1e3:.0f} s (target < 60 s); "
              f"even at the FLOP limit: {ep * limit / 1e3:.0f} s")
    seeds = [int(s) for s in os.environ.get("BENCH_SEEDS", "1").split(",") if s.strip()]
    if not seeds:
        raise SystemExit(0)
    secs = []
    for s in seeds:
        res = train(TrainConfig(seed=s), progress=True)
        ep = len(res.history["train_loss"])
        print(f"seed {s}: {'reached target' if res.stopped_early else 'did not reach target'} "
              f"after {ep} epochs, {res.seconds:.0f} s")
        secs.append(res.seconds)
    print(f"time to target, median over seeds {seeds}: {statistics.median(secs):.0f} s")
