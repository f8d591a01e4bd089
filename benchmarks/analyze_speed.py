"""Time `setdyn.analysis.analyze` on a weight file (default: the shipped model); target < 60 s on 2 cores.

    .venv/bin/python benchmarks/analyze_speed.py [--weights PATH] [--draws 100]

Prints the time of each stage as it goes and the headline numbers at the end.
"""
from __future__ import annotations

import argparse
import json
import time

from setdyn import analysis, weights


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=str(weights.PRETRAINED))
    p.add_argument("--draws", type=int, default=100)
    args = p.parse_args()
    t0 = time.perf_counter()
    model = weights.load(args.weights)
    out = analysis.analyze(model, draws=args.draws, progress=True)
    total = time.perf_counter() - t0
    keys = ("mechanism", "period_ms", "n_end_clusters", "automaton_states", "automaton_agreement")
    print(json.dumps({k: out[k] for k in keys}))
    print(f"analyze: {out['seconds']:.1f} s (with loading: {total:.1f} s); target < 60 s")


if __name__ == "__main__":
    main()
