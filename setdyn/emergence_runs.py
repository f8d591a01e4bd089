"""``python -m setdyn emergence``: the oscillator's birth measured across many seeds.

For each seed: train the paper's recipe (the shipped model's recorded config,
only the seed changed) with weight snapshots (``python -m setdyn train --config
setdyn/data/pretrained.json --seed S --checkpoints 40 --out OUT/seed_S``), then
measure every snapshot (`setdyn.analysis.emergence.measure_checkpoints`), find the
events, and classify the final network (`setdyn.sweep.worker.analyze_network`).
Each seed ends in OUT/seed_S/record.json (`emergence_seeds.seed_record`).

Resumable: a seed whose record exists is skipped, a seed whose snapshots exist
is only measured. Files are written atomically, so an interrupted run loses at
most the seed in progress. ``--ship`` writes the records, with the book's own
run (seed 0 of setdyn/data/emergence) first, to setdyn/data/emergence/seeds.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from . import validate
from .errors import CliError
from .output import check_out, write_json
from .training import ENGINE_CHOICES

ROOT = Path(__file__).resolve().parent
#: The recorded config every seed retrains (only the seed changes).
CONFIG = ROOT / "data" / "pretrained.json"
#: Where --ship writes the seed records: `setdyn.analysis.emergence_seeds.SHIPPED_SEEDS`, written out here so
#: that the command line starts without importing the analysis (a test checks the two are the same path).
SHIPPED_SEEDS = ROOT / "data" / "emergence" / "seeds.json"
#: Snapshots per run (as the book's own run).
N_CHECKPOINTS = 40

HELP = "train many seeds with weight snapshots and measure the birth of the oscillator in each"


def train_seed(seed: int, out: Path, engine: str = "auto", epochs: int | None = None) -> Path:
    """Train one seed with snapshots into OUT/seed_S (skipped if its snapshots exist); returns the folder."""
    folder = out / f"seed_{seed}"
    if (folder / "checkpoints.json").exists() and (folder / "model.json").exists():
        return folder
    cmd = [sys.executable, "-m", "setdyn", "train", "--config", str(CONFIG), "--seed", str(seed),
           "--engine", engine, "--checkpoints", str(N_CHECKPOINTS), "--out", str(folder)]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.log", "w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        raise CliError(f"training seed {seed} failed (exit {proc.returncode}); see {folder / 'train.log'}")
    return folder


def measure_folder(folder: Path, seed: int) -> dict[str, Any]:
    """Measure a snapshot folder and classify its last snapshot: the seed record (also written to
    FOLDER/record.json; returned as is if that exists)."""
    from .analysis.emergence import measure_checkpoints
    from .analysis.emergence_seeds import seed_record
    from .sweep.worker import analyze_network
    from .training import TrainConfig
    from .training.checkpoints import load_checkpoints

    path = folder / "record.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    models, index = load_checkpoints(folder)
    rows = measure_checkpoints(models, index)
    cfg = TrainConfig.from_dict(index["config"])
    final = models[-1].float()
    labels = analyze_network(final, cfg, accuracy=index.get("accuracy"))
    record = seed_record(seed, rows, index, labels)
    write_json(path, record)
    return record


def shipped_record() -> dict[str, Any]:
    """The record of the book's own run (setdyn/data/emergence, seed of the shipped config)."""
    from .analysis.emergence import SHIPPED, load_shipped
    from .analysis.emergence_seeds import seed_record
    from .sweep.worker import analyze_network
    from .training import TrainConfig

    shipped = load_shipped()
    index = shipped["index"]
    cfg = TrainConfig.from_dict(index["config"])
    labels = analyze_network(shipped["models"][-1].float(), cfg, accuracy=index.get("accuracy"))
    rec = seed_record(cfg.seed, shipped["rows"], index, labels)
    rec["source"] = str(SHIPPED.relative_to(ROOT.parent))
    return rec


def run(seeds: Sequence[int], out: Path, jobs: int = 2, engine: str = "auto", epochs: int | None = None,
        progress: bool = True) -> list[dict[str, Any]]:
    """Train and measure every seed (`jobs` at a time); the records in seed order."""
    from tqdm.auto import tqdm

    def one(seed: int) -> dict[str, Any]:
        return measure_folder(train_seed(seed, out, engine, epochs), seed)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, s) for s in seeds]
        records = [f.result() for f in tqdm(futures, desc="seeds", disable=not progress)]
    return sorted(records, key=lambda r: r["seed"])


def ship(records: Sequence[dict[str, Any]], dest: Path = SHIPPED_SEEDS) -> Path:
    """Write the records, the book's own run first, to `dest` (atomically)."""
    own = shipped_record()
    rest = [r for r in records if r["seed"] != own["seed"]]
    write_json(dest, {"about": "one record per training run of the paper's recipe (setdyn/data/pretrained.json, "
                                "seed replaced): `setdyn.analysis.emergence_seeds.seed_record`; made by "
                                "`python -m setdyn emergence --seeds ... --ship`",
                       "seeds": [own, *sorted(rest, key=lambda r: r["seed"])]})
    return dest


#: The training history a sweep row needs (`setdyn.training.epochs_to_accuracy`); accuracies are counts of
#: trials over 540 or 27, so 6 decimals keep them exact enough for its thresholds.
SWEEP_HISTORY_KEYS: tuple[str, ...] = ("train_acc_noisy", "eval_epoch", "test_acc_clean")


def export_to_sweep(seeds: Sequence[int], out: Path, sweep_dir: Path) -> list[Path]:
    """Copy each seed's final network (OUT/seed_S/model.safetensors) into a sweep folder's layout:
    SWEEP/nets/ID.safetensors + ID.json, ID = `setdyn.sweep.grid.net_id` of its config, the record kept
    (engine, accuracy, epochs, machine) with only `SWEEP_HISTORY_KEYS` of its history. Then
    ``python -m setdyn sweep --reanalyze --out SWEEP`` writes their rows, and they sit beside any sweep's
    networks (the map of solutions reads sweep folders). Returns the written weight files."""
    import torch

    from . import weights
    from .sweep.grid import net_id
    from .training import TrainConfig

    written = []
    for seed in seeds:
        src = out / f"seed_{seed}" / "model.safetensors"
        meta = weights.load_meta(src)
        hist = meta.get("history") or {}
        meta["history"] = {k: [round(v, 6) for v in hist[k]] for k in SWEEP_HISTORY_KEYS if k in hist}
        dest = sweep_dir / "nets" / f"{net_id(TrainConfig.from_dict(meta['config']))}.safetensors"
        weights.save(weights.load(src, dtype=torch.float32), dest, meta)
        written.append(dest)
    return written


def handle(args: argparse.Namespace) -> None:
    from .sweep.grid import parse_seeds

    try:
        seeds = parse_seeds(args.seeds)
        validate.whole(args.jobs, "--jobs (seeds trained at once)", 1, 256)
        if args.epochs is not None:
            validate.whole(args.epochs, "--epochs", 1, 1_000_000)
    except ValueError as e:
        raise CliError(str(e)) from None
    out = check_out(args.out)
    records = run(seeds, out, jobs=args.jobs, engine=args.engine, epochs=args.epochs)
    if args.ship:
        print(f"wrote {ship(records)}", file=sys.stderr)
    if args.sweep_dir:
        paths = export_to_sweep(seeds, out, Path(args.sweep_dir))
        print(f"wrote {len(paths)} networks to {Path(args.sweep_dir) / 'nets'}; classify them with "
              f"python -m setdyn sweep --reanalyze --out {args.sweep_dir}", file=sys.stderr)
    from .analysis.emergence_seeds import statistics

    print(json.dumps(statistics(records), indent=1))


def register(subparsers: Any) -> None:
    """Add the ``emergence`` subcommand to `setdyn.cli`'s subparsers."""
    p = subparsers.add_parser("emergence", help=HELP)
    p.add_argument("--seeds", required=True, help="seeds, e.g. 1-15 or 0,2,5-7")
    p.add_argument("--out", required=True, help="folder of the runs (OUT/seed_S/...)")
    p.add_argument("--jobs", type=int, default=2, help="seeds trained at once (default 2)")
    p.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                   help="gradients (see train --engine; default auto: native where it compiles)")
    p.add_argument("--epochs", type=int, help="maximum epochs (default the recipe's 2500)")
    p.add_argument("--ship", action="store_true", help=f"afterwards write {SHIPPED_SEEDS.relative_to(ROOT.parent)}")
    p.add_argument("--sweep-dir", metavar="SWEEP",
                   help="afterwards copy the final networks into SWEEP/nets, a sweep folder's layout")
    p.set_defaults(func=handle)


__all__ = ["CONFIG", "N_CHECKPOINTS", "SHIPPED_SEEDS", "export_to_sweep", "measure_folder", "register", "run", "ship",
           "shipped_record", "train_seed"]
