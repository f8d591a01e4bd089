"""DSA's cost as the number of networks grows: all pairs with the follow-up's settings, timed at small N.

    python benchmarks/dsa_cost.py [--sizes 2,4,8] [--iters 1000] [--score-method angular|wasserstein]

Networks: the shipped one plus freshly initialised ones (tanh and relu, seeds 1, 2, ...); DSA's cost depends
only on the data's shape (trials x 50 steps x 10 PCs), not on what the networks learned. Prints the seconds
for N networks, a least-squares fit t(N) = a N + c N (N - 1) / 2 (DMD fits per network, Procrustes
optimisations per pair), and what the fit projects for larger N on one core.
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from setdyn import weights  # noqa: E402
from setdyn.analysis import dsa_map  # noqa: E402
from setdyn.training import TrainConfig, build_model  # noqa: E402


def networks(n: int) -> list:
    nets = [weights.load()]
    for i in range(1, n):
        nets.append(build_model(TrainConfig(seed=i, activation=("tanh", "relu")[i % 2]), dtype=torch.float64))
    return nets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2,4,8")
    ap.add_argument("--iters", type=int, default=dsa_map.DSA_PARAMS["iters"])
    ap.add_argument("--draws", type=int, default=dsa_map.MAP_DRAWS)
    ap.add_argument("--score-method", default=dsa_map.SCORE_METHOD, choices=("angular", "euclidean", "wasserstein"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    trials = dsa_map.map_trials(args.draws)
    t = time.perf_counter()
    data = [dsa_map.pc_rates(m, trials) for m in networks(max(sizes))]
    prep = (time.perf_counter() - t) / max(sizes)
    t = time.perf_counter()
    dsa_map.dsa_distances(data[:2], score_method=args.score_method, iters=5)  # imports and first-call set-up
    print(json.dumps({"warm_up_seconds": time.perf_counter() - t}), flush=True)
    rows = []
    for n in sizes:
        t = time.perf_counter()
        d = dsa_map.dsa_distances(data[:n], score_method=args.score_method, iters=args.iters)
        sec = time.perf_counter() - t
        rows.append({"n": n, "pairs": n * (n - 1) // 2, "seconds": sec})
        print(json.dumps({**rows[-1], "distance_range": [float(d[d > 0].min()), float(d.max())]}), flush=True)
    ns = np.array([r["n"] for r in rows], float)
    A = np.c_[ns, ns * (ns - 1) / 2]
    (per_net, per_pair), *_ = np.linalg.lstsq(A, np.array([r["seconds"] for r in rows]), rcond=None)
    if per_net < 0 or per_pair < 0:
        print("warning: a negative fitted cost: the times are too short or too noisy to separate the terms")
    proj = {int(n): per_net * n + per_pair * n * (n - 1) / 2 for n in (32, 64, 91, 128, 256, 16000)}
    print(json.dumps({"score_method": args.score_method, "trials": len(trials), "rates_and_pca_seconds_per_network": prep, "iters": args.iters,
                      "fit_seconds_per_network": per_net, "fit_seconds_per_pair": per_pair,
                      "projected_core_hours": {n: s / 3600 for n, s in proj.items()}}, indent=1))


if __name__ == "__main__":
    main()
