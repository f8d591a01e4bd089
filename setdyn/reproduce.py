"""Is a retrained network the shipped one? What `make train` prints after retraining.

Reproducibility, defined honestly: PyTorch's and MKL's float32 kernels depend on
the CPU (its capability, AVX2 or AVX-512, and its vendor) and on the BLAS, so

* on the same kind of machine (:func:`setdyn.weights.same_machine_kind`: same
  CPU capability, BLAS, LAPACK, CPU model and torch) retraining from the
  recorded config reproduces the weight file bit for bit;
* on another kind the first epochs agree within float32 rounding
  (:data:`REL_TOL` on the training loss of the first :data:`FIRST_EPOCHS`
  epochs), the rounding differences then grow over thousands of epochs, and the
  retrained network is judged by what it does (accuracy, limit cycle), not by
  its bits.

Usage: ``python -m setdyn.reproduce RETRAINED.safetensors [SHIPPED.safetensors]``;
exit code 0 when the retrained network passes the judgement that applies.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import paper, weights

#: epochs compared between a retrained history and the shipped one
FIRST_EPOCHS = 3
#: relative tolerance on the training loss of those epochs on another kind of machine: about 8
#: float32 ulps (machine epsilon 1.2e-7); differences seen across machines are 2e-8 to 5e-8
REL_TOL = 1e-6
#: tolerance on the noisy training accuracy of those epochs: one trial of the 540
ACC_TOL = 1 / 540


def history_difference(recorded: dict[str, list[float]], retrained: dict[str, list[float]],
                       epochs: int = FIRST_EPOCHS) -> dict[str, float]:
    """Largest relative difference of the training loss and absolute difference of the noisy
    training accuracy over the first `epochs` epochs of two training histories."""
    n = min(epochs, len(recorded["train_loss"]), len(retrained["train_loss"]))
    if n < 1:
        raise ValueError("both histories need at least one epoch")
    a, b = (np.asarray(h["train_loss"][:n]) for h in (recorded, retrained))
    acc_a, acc_b = (np.asarray(h["train_acc_noisy"][:n]) for h in (recorded, retrained))
    return {"epochs": n, "loss_rel": float(np.max(np.abs(a - b) / np.abs(a))),
            "acc_abs": float(np.max(np.abs(acc_a - acc_b)))}


def judge(retrained_path: str | Path, shipped_path: str | Path = weights.PRETRAINED) -> tuple[bool, list[str]]:
    """Compare a retrained weight file with the shipped one; returns (passed, lines to print)."""
    new, old = weights.load_meta(retrained_path), weights.load_meta(shipped_path)
    same, why = weights.same_machine_kind(old.get("machine"), new.get("machine"))
    lines = [f"machine: {why}"]
    diff = history_difference(old["history"], new["history"])
    if same:
        a, b = weights.load(retrained_path), weights.load(shipped_path)
        d = max(float((getattr(a, k) - getattr(b, k)).detach().abs().max()) for k in weights.TENSOR_NAMES)
        ok = d == 0 and old["history"] == new["history"]
        lines.append(f"case: same kind of machine, so retraining must be bit for bit: max |weight difference| = "
                     f"{d:g}, histories {'identical' if old['history'] == new['history'] else 'differ'} -> "
                     f"{'PASS' if ok else 'FAIL'}")
        return ok, lines
    first = diff["loss_rel"] <= REL_TOL and diff["acc_abs"] <= ACC_TOL
    lines.append(f"case: another (or unknown) kind of machine, so bits differ by float32 rounding; first "
                 f"{diff['epochs']} epochs: loss differs by {diff['loss_rel']:.1e} relative (tolerance {REL_TOL:g}), "
                 f"noisy accuracy by {diff['acc_abs']:.4f} (tolerance {ACC_TOL:.4f}) -> {'PASS' if first else 'FAIL'}")
    acc, cyc = new.get("accuracy", {}), new.get("free_run", {})
    meets = {k: acc.get(k, -1.0) >= v for k, v in paper.ACCEPT.items()}
    mech = bool(cyc.get("is_limit_cycle")) and bool(cyc.get("oscillates_in_trial"))
    lines.append("judged by what it does, not by its bits: " + ", ".join(
        f"{k} {acc.get(k, float('nan')):.4f} (>= {v:g}: {'yes' if meets[k] else 'no'})"
        for k, v in paper.ACCEPT.items()) + f"; limit cycle through the trial: {'yes' if mech else 'no'}"
        + (f" (period {cyc['period_ms']:.1f} ms)" if "period_ms" in cyc else ""))
    ok = first and all(meets.values()) and mech
    lines.append(f"retrained network: {'PASS' if ok else 'FAIL'}")
    return ok, lines


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= len(args) <= 2:
        print("error: usage: python -m setdyn.reproduce RETRAINED.safetensors [SHIPPED.safetensors]",
              file=sys.stderr)
        return 2
    try:
        ok, lines = judge(*args)
    except (ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
