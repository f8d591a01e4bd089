"""The ``sweep`` subcommand: ``python -m setdyn sweep ...`` (registered by `setdyn.cli`) and
``python -m setdyn.sweep ...``.

Bad arguments and file errors are one line on stderr with exit code 2.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .. import validate
from ..errors import CliError
from ..output import check_out
from . import grid

#: Upper bound of --epochs (the paper's runs need 2500).
MAX_EPOCHS = 1_000_000

HELP = "train and classify many networks (seeds x alpha x noise x activation)"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The sweep's options (shared by ``python -m setdyn.sweep`` and ``python -m setdyn sweep``)."""
    p.add_argument("--seeds", default="0-31", help="seeds, e.g. 0-31 or 0,2,5-7 (default 0-31)")
    p.add_argument("--alpha", default="1.0,0.5,0.1", help="alpha = dt/tau values (default 1.0,0.5,0.1)")
    p.add_argument("--noise", default="0,0.05,0.1", help="recurrent noise std values (default 0,0.05,0.1)")
    p.add_argument("--activation", default="tanh",
                   help="activations, e.g. tanh,relu (default tanh; relu trains with autograd, one net at a time)")
    p.add_argument("--preset", choices=sorted(grid.PRESETS),
                   help="a named grid instead of --seeds/--alpha/--noise/--activation: " + "; ".join(
                       f"{k}: {v.size} networks ({v.source})" for k, v in grid.PRESETS.items()))
    p.add_argument("--commit-rows", type=float, metavar="SECONDS",
                   help="commit finished rows and weights (OUT/rows, OUT/nets, OUT/sweep.csv) to git at most every "
                        "SECONDS while the sweep runs, and at the end, so that a later session resumes from the "
                        "repository (OUT must be inside a git work tree)")
    p.add_argument("--cell-seeds", action="append", default=[], metavar="ALPHA,NOISE:SEEDS",
                   help="other seeds for one cell, e.g. 1.0,0.1:0-31 (repeatable)")
    p.add_argument("--out", required=True, help="output directory (sweep.csv, nets/, rows/)")
    p.add_argument("--epochs", type=int, help="maximum epochs per network (default 2500)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--jobs", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--slots", type=int, default=16, help="networks trained at once per worker (default 16)")
    p.add_argument("--group", type=int, help="networks per Dask task (default: all, split over workers)")
    p.add_argument("--no-analyze", "--no-analyse", dest="no_analyze", action="store_true",
                   help="train and save weights only")
    p.add_argument("--shared-fs", action="store_true", help="with --scheduler: workers can write to --out")
    p.add_argument("--reanalyze", "--reanalyse", dest="reanalyze", action="store_true",
                   help="only classify again every network already trained in --out (current classifier)")
    p.add_argument("--relabel", action="store_true",
                   help="only label every row in --out again from its recorded evidence (seconds; no network runs)")
    p.add_argument("--ship", action="store_true",
                   help="afterwards write setdyn/data/sweep.csv and sweep_gallery.csv from --out")
    return p


def run_command(args: argparse.Namespace) -> Any:
    """Run the sweep described by parsed arguments; prints the summary and returns the table."""
    # Imported here, not at the top: pandas, scipy.stats, dask.distributed and the classifier cost
    # about 2.5 s of CPU (measured), which every other `python -m setdyn` command would pay too.
    from . import run, ship, stats, table

    if args.preset:
        pre = grid.PRESETS[args.preset]
        seeds, alphas, noises, acts = grid.parse_seeds(pre.seeds), pre.alphas, pre.noises, pre.activations
    else:
        seeds, alphas, noises = grid.parse_seeds(args.seeds), grid.parse_floats(args.alpha), grid.parse_floats(args.noise)
        acts = grid.parse_activations(args.activation)
    if args.commit_rows is not None and not args.commit_rows >= 0:
        raise ValueError(f"--commit-rows wants a number of seconds >= 0, got {args.commit_rows}")
    configs = grid.configs(seeds, alphas, noises, args.epochs,
                           dict(grid.parse_cell_seeds(spec) for spec in args.cell_seeds), paper_first=True,
                           activations=acts)
    if args.relabel:
        df = run.relabel(args.out)
    elif args.reanalyze:
        df = run.reanalyze(args.out, jobs=args.jobs)
    else:
        df = run.run_sweep(configs, args.out, scheduler=args.scheduler, jobs=args.jobs, slots=args.slots,
                           group=args.group, analyze=not args.no_analyze, shared_fs=args.shared_fs,
                           commit_every_s=args.commit_rows)
    if len(df) and "label" in df:
        print(stats.summary(df).to_string(index=False))
    print(f"{len(df)} networks in {Path(args.out) / table.CSV_NAME}")
    if args.ship:
        for path in ship.ship(args.out):
            print(f"wrote {path}")
    return df


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse sweep inputs that would divide by zero, hang, or train on NaN, before anything is
    written; on resume, the table and the rows already in --out must be readable."""
    try:
        validate.whole(args.jobs, "--jobs (worker processes)", 1, 256)
        validate.whole(args.slots, "--slots (networks per worker)", 1)
        if args.group is not None:
            validate.whole(args.group, "--group (networks per task)", 1)
        if args.epochs is not None:
            validate.whole(args.epochs, "--epochs", 1, MAX_EPOCHS)
        for s in grid.parse_seeds(args.seeds):
            validate.seed(s, "--seeds")
        for a in grid.parse_floats(args.alpha, "--alpha"):
            validate.positive(a, "--alpha (dt/tau)", upper=1.0)
        for n in grid.parse_floats(args.noise, "--noise"):
            validate.non_negative(n, "--noise (recurrent noise std)")
        for spec in args.cell_seeds:
            (a, n), seeds = grid.parse_cell_seeds(spec)
            validate.positive(a, "--cell-seeds alpha", upper=1.0)
            validate.non_negative(n, "--cell-seeds noise")
            for s in seeds:
                validate.seed(s, "--cell-seeds seeds")
    except ValueError as e:
        raise CliError(str(e)) from None
    out = check_out(args.out)
    table = out / grid.CSV_NAME
    if table.is_file():
        with open(table, newline="") as f:
            header = next(csv.reader(f), [])
        if "id" not in header:
            raise CliError(f"{table} has no 'id' column (columns: {', '.join(header) or 'none'}); "
                           "it is not a sweep table, or it is damaged: move it away to start afresh")
    for row in sorted((out / "rows").glob("*.json")) if (out / "rows").is_dir() else []:
        try:
            json.loads(row.read_text())
        except (ValueError, OSError) as e:
            raise CliError(f"{row} is damaged ({e}); delete it and the sweep retrains that network") from None


def handle(args: argparse.Namespace) -> None:
    """The ``sweep`` subcommand's handler: arguments checked first; bad arguments and file errors
    become `CliError`."""
    check_arguments(args)
    try:
        run_command(args)
    except (ValueError, OSError) as e:
        raise CliError(str(e)) from None


def register(subparsers: Any) -> None:
    """Add the ``sweep`` subcommand to `setdyn.cli`'s subparsers."""
    add_arguments(subparsers.add_parser("sweep", help=HELP)).set_defaults(func=handle)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m setdyn.sweep``; errors are one line on stderr with exit code 2."""
    p = add_arguments(argparse.ArgumentParser(prog="python -m setdyn.sweep", description=HELP))
    args = p.parse_args(argv)
    try:
        handle(args)
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
