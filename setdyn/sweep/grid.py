"""The grid of a sweep: one training config per network, over seeds x alpha x noise x activation.

alpha is dt / tau (1.0: the paper's tau = 10 ms; 0.1: tau = 100 ms); noise is
the std of the recurrent noise per unit per step during training; activation
is tanh (the paper) or relu (the follow-up's second setting). Everything else
is the reference recipe of `setdyn.training.TrainConfig`. `PRESETS` names
whole grids (``--preset followup``: the follow-up paper's).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

from .. import validate
from ..model import ACTIVATIONS, check_activation
from ..training import TrainConfig

#: The paper's setting (alpha = dt / tau, recurrent noise std): the reference recipe's defaults.
PAPER_CELL: tuple[float, float] = (TrainConfig.alpha, TrainConfig.noise_std)
#: The paper's activation (the reference recipe's default).
PAPER_ACTIVATION: str = TrainConfig.activation

#: The table's file name inside a sweep's --out folder.
CSV_NAME = "sweep.csv"


@dataclass(frozen=True)
class Preset:
    """A named grid: seeds x alphas x noises x activations."""

    seeds: str  #: as `parse_seeds` reads it
    alphas: tuple[float, ...]
    noises: tuple[float, ...]
    activations: tuple[str, ...]
    source: str  #: where the grid comes from

    @property
    def size(self) -> int:
        return len(parse_seeds(self.seeds)) * len(self.alphas) * len(self.noises) * len(self.activations)


#: Named grids. "followup": the follow-up paper's (arXiv 2310.07908 v2), 3 x 3 x 2 cells x 5 seeds = 90 networks;
#: "paper-setting": 240 more seeds of the paper's own setting.
PRESETS: dict[str, Preset] = {
    "followup": Preset("0-4", (0.1, 0.5, 1.0), (0.0, 0.05, 0.1), ACTIVATIONS,
                       "Murray, arXiv 2310.07908 v2: alpha x noise x activation x 5 seeds"),
    # with the 31 seeds of sweeps/paper_seeds (1-31) and the follow-up grid's 5 (0-4) at the paper's setting,
    # seeds 0-271 once each, less the book's chosen seed: 271 networks, enough for a 95% Wilson interval of
    # +-6 points at any phase-code fraction (it is widest at 1/2: `solution_space.needed_for(0.5)` is 266)
    "paper-setting": Preset("32-271", (PAPER_CELL[0],), (PAPER_CELL[1],), (PAPER_ACTIVATION,),
                            "the paper's recipe, seeds 32-271 (chapter 7: the fraction of phase codes)"),
}


def parse_activations(text: str) -> list[str]:
    """Activations from text: 'tanh,relu' -> ['tanh', 'relu']; ValueError naming the accepted ones."""
    vals = [x.strip() for x in str(text).split(",") if x.strip()]
    if not vals:
        raise ValueError(f"expected comma-separated activations ({', '.join(ACTIVATIONS)}), got {text!r}")
    return [check_activation(v) for v in dict.fromkeys(vals)]


def parse_seeds(text: str) -> list[int]:
    """Seeds from text: '0-31' -> 0..31; '0,3,5-7' -> [0, 3, 5, 6, 7] (order kept, duplicates dropped).

    Raises
    ------
    ValueError
        For anything but non-negative integers and ranges LO-HI with LO <= HI.
    """
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo_text, dash, hi_text = part.partition("-")
        try:
            lo = int(lo_text)
            hi = int(hi_text) if dash else lo
        except ValueError:
            raise ValueError(f"seeds must be non-negative integers or ranges like 0-31, got {text!r}") from None
        if hi < lo:
            raise ValueError(f"seed range {part!r} is empty (end before start)")
        out.extend(range(lo, hi + 1))
    if not out or any(s < 0 for s in out):
        raise ValueError(f"seeds must be non-negative integers or ranges like 0-31, got {text!r}")
    return sorted(set(out), key=out.index)


def parse_floats(text: str, name: str = "the list") -> list[float]:
    """Finite numbers from text: '1.0,0.5,0.1' -> [1.0, 0.5, 0.1]; 'nan' and 'inf' are refused."""
    try:
        vals = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"expected comma-separated finite numbers, got {text!r}") from None
    if not vals:
        raise ValueError(f"expected comma-separated finite numbers, got {text!r}")
    return [validate.finite(v, f"{name}: each number of {text!r}") for v in vals]


def parse_cell_seeds(spec: str) -> tuple[tuple[float, float], list[int]]:
    """'1.0,0.1:0-31' -> ((1.0, 0.1), [0, ..., 31]): other seeds for one (alpha, noise) cell."""
    try:
        cell, seeds = spec.split(":")
        a, n = parse_floats(cell)
    except ValueError:
        raise ValueError(f"--cell-seeds wants ALPHA,NOISE:SEEDS like 1.0,0.1:0-31, got {spec!r}") from None
    return (a, n), parse_seeds(seeds)


def check_cells(alphas: Sequence[float], noises: Sequence[float]) -> None:
    """Raise ValueError unless every alpha is in (0, 1] and every noise std is >= 0."""
    for a in alphas:
        validate.positive(a, "alpha = dt/tau", upper=1.0)
    for n in noises:
        validate.non_negative(n, "noise std")


def net_id(cfg: TrainConfig) -> str:
    """Stable, readable id of a network: alpha, noise, activation (relu only), seed and a hash of the full
    config. A tanh config hashes without its activation field, so ids of networks trained before the field
    existed (rows and weights of earlier sweeps) stay what they were."""
    d = cfg.to_dict()
    if d.get("activation") == "tanh":
        del d["activation"]
    digest = hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]
    act = "" if cfg.activation == "tanh" else f"_{cfg.activation}"
    return f"a{cfg.alpha:g}_n{cfg.noise_std:g}{act}_s{cfg.seed}_{digest}"


def configs(seeds: Sequence[int], alphas: Sequence[float], noises: Sequence[float], epochs: int | None = None,
            seeds_per_cell: dict[tuple[float, float], Sequence[int]] | None = None,
            paper_first: bool = False, activations: Sequence[str] = ("tanh",),
            **overrides: Any) -> list[TrainConfig]:
    """The configs of a sweep, in priority order.

    Seed by seed across all (alpha, noise, activation) cells, so that a
    partial sweep covers every cell evenly; with `paper_first`, the paper's
    cell (`PAPER_CELL`, tanh) comes first, so that a partial sweep has its
    headline number.

    Parameters
    ----------
    seeds : the seeds of every cell.
    alphas : alpha = dt / tau values, each in (0, 1].
    noises : recurrent noise std values, each >= 0.
    epochs : maximum epochs per network (None: the recipe's 2500).
    seeds_per_cell : other seeds for given (alpha, noise) cells (every activation).
    activations : names in `setdyn.model.ACTIVATIONS`.
    **overrides : other `TrainConfig` fields, the same for every network.
    """
    check_cells(alphas, noises)
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be a positive number of epochs, got {epochs}")
    acts = [check_activation(f) for f in activations]
    cells = [(a, n, f) for f in acts for a in alphas for n in noises]
    per = {c: list((seeds_per_cell or {}).get(c[:2], seeds)) for c in cells}
    out: list[TrainConfig] = []
    for r in range(max(len(v) for v in per.values())):
        for (a, n, f) in cells:
            if r < len(per[(a, n, f)]):
                kw: dict[str, Any] = dict(seed=per[(a, n, f)][r], alpha=a, noise_std=n, activation=f, **overrides)
                if epochs is not None:
                    kw["max_epochs"] = epochs
                out.append(TrainConfig(**kw))
    if paper_first:
        out.sort(key=lambda c: (c.alpha, c.noise_std) != PAPER_CELL or c.activation != PAPER_ACTIVATION)
    return out
