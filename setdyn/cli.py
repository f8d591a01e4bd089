"""Command line: `python -m setdyn {train,evaluate,search-seed,analyze,sweep} ...`.

The subcommands train, evaluate, search-seed and analyze are defined here;
every other part of setdyn that has a subcommand provides a
``register(subparsers)`` function and is listed in `PROVIDERS` (the sweep:
`setdyn.sweep.cli`). Providers raise `setdyn.errors.CliError`, so none of them
imports this module.

Errors (missing file, wrong shapes, wrong format version, bad arguments, a
bad --out, an output folder another run is writing) print one line on stderr
and exit with code 2, no traceback; Ctrl-C prints one line and exits with code
130, leaving the files that were there untouched (saves are atomic).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from . import validate, weights
from .errors import CliError
from .model import float64_copy
from .output import check_out as _check_out
from .output import locked_out as _locked_out
from .model import ACTIVATIONS
from .paper import ACCEPT
from . import emergence_runs, solution_map
from .sweep import cli as sweep_cli
from .training import ENGINE_CHOICES, TrainConfig, evaluate_all, resolve_engine, train

#: Modules that add subcommands, each with a function ``register(subparsers)``.
PROVIDERS = (sweep_cli, emergence_runs, solution_map)
SELECTION_RULE = ("the first seed counting from 0 whose trained network reaches noisy train accuracy >= "
                  f"{ACCEPT['train_acc_noisy']}, noise-free test accuracy = {ACCEPT['test_acc_clean']}, noise-free "
                  f"accuracy >= {ACCEPT['fresh_acc_clean']} on 27 x 20 fresh onset draws, "
                  "and whose noise-free, input-free trajectory is a limit cycle (period >= 80 ms) that keeps "
                  "oscillating to the end of the 500 ms trial")


def _train_and_judge(cfg_dict: dict[str, Any], progress: bool = False, engine: str = "auto",
                     checkpoints: int | None = None) -> dict[str, Any]:
    """Train one seed and judge it by the selection rule; returns everything needed to save it
    (with `checkpoints` = N, also N snapshots of the weights along training under "snapshots")."""
    from .analysis import oscillation_test
    from .training.checkpoints import checkpoint_epochs

    torch.set_num_threads(1)
    cfg = TrainConfig.from_dict(cfg_dict)
    epochs = checkpoint_epochs(checkpoints, cfg.max_epochs) if checkpoints is not None else None
    res = train(cfg, progress=progress, engine=engine, checkpoints=epochs)
    acc = evaluate_all(res.model, cfg)
    cyc = oscillation_test(float64_copy(res.model))
    passed = all(acc[k] >= v for k, v in ACCEPT.items()) and cyc.is_limit_cycle and cyc.oscillates_in_trial
    return {"config": cfg.to_dict(), "history": res.history, "accuracy": acc, "epochs": len(res.history["train_loss"]),
            "seconds": res.seconds, "stopped_early": res.stopped_early, "engine": res.engine,
            "free_run": {"period_ms": cyc.period_ms, "amplitude": cyc.amplitude,
                         "is_limit_cycle": cyc.is_limit_cycle, "oscillates_in_trial": cyc.oscillates_in_trial},
            "machine": weights.machine(), "passed": passed,
            "state_dict": {k: v.detach().clone() for k, v in res.model.state_dict().items()},
            "snapshots": res.snapshots}


def _save(out: Path, result: dict[str, Any], selection: dict[str, Any] | None, name: str) -> Path:
    cfg = TrainConfig.from_dict(result["config"])
    from .training import build_model

    model = build_model(cfg)
    model.load_state_dict(result["state_dict"])
    meta = {k: result[k] for k in ("config", "engine", "machine", "accuracy", "epochs", "seconds", "stopped_early",
                                   "free_run", "history")}
    if selection is not None:
        meta["selection"] = selection
    path, _ = weights.save(model, out / f"{name}.safetensors", meta)
    return path


#: The engine of weight files written before there was a choice (the shipped model among them).
LEGACY_ENGINE = "autograd"


def cmd_train(args: argparse.Namespace) -> None:
    engine = args.engine
    if args.config:
        meta = _read_json(args.config)
        if "config" in meta and not isinstance(meta["config"], dict):
            raise CliError(f"config file {args.config}: 'config' must be an object of training settings, "
                           f"got {meta['config']!r}")
        cfg_dict = dict(meta.get("config", meta))
        if engine is None:  # retrain as recorded
            engine = meta.get("engine", LEGACY_ENGINE) if "config" in meta else "auto"
    else:
        cfg_dict = TrainConfig(seed=0).to_dict()
    if args.seed is not None:
        cfg_dict["seed"] = args.seed
    if args.epochs is not None:
        cfg_dict["max_epochs"] = args.epochs
    if args.activation is not None:
        cfg_dict["activation"] = args.activation
    cfg = _config(cfg_dict, args.config or "--seed/--epochs")
    out = _check_out(args.out)
    try:
        engine = resolve_engine(engine or "auto", cfg)
    except (TypeError, ValueError) as e:
        raise CliError(f"bad training config: {e}") from None
    if args.checkpoints is not None and args.checkpoints < 2:
        raise CliError(f"--checkpoints must be a whole number >= 2 (the first and the last epoch), "
                       f"got {args.checkpoints}")
    with _locked_out(out):
        result = _train_and_judge(cfg_dict, progress=True, engine=engine, checkpoints=args.checkpoints)
        path = _save(out, result, None, "model")
        report = {"weights": str(path), "engine": engine, "passed_selection_rule": result["passed"],
                  **result["accuracy"], "free_run": result["free_run"]}
        if args.checkpoints is not None:
            report["checkpoints"] = str(_save_checkpoints(out, result))
    print(json.dumps(report, indent=1))


def _save_checkpoints(out: Path, result: dict[str, Any]) -> Path:
    """OUT/checkpoints.safetensors + .json from a `_train_and_judge` result with snapshots."""
    from .training import build_model
    from .training.checkpoints import save_checkpoints

    cfg = TrainConfig.from_dict(result["config"])
    model = build_model(cfg)
    meta = {k: result[k] for k in ("config", "engine", "stopped_early", "accuracy", "free_run", "history")}
    meta["final_epoch"] = result["epochs"]
    return save_checkpoints(out, result["snapshots"], model.colors, model.alpha, result["history"], meta)


def cmd_evaluate(args: argparse.Namespace) -> None:
    if args.reference:
        from . import reference

        print(json.dumps(reference.accuracies(_load_reference(args.reference)), indent=1))
        return
    model = _load(args.weights)
    cfg = _config(_recorded_config(args.weights), args.weights)
    model.float()
    acc = evaluate_all(model, cfg)
    keys = ["train_acc_noisy", "train_acc_clean", "test_acc_clean", "test_acc_noisy", "fresh_acc_clean"]
    print(json.dumps({k: acc[k] for k in keys}, indent=1))


def cmd_search_seed(args: argparse.Namespace) -> None:
    """Train seeds 0, 1, ... (two at a time) and ship the first that meets the rule."""
    recipe = {} if args.epochs is None else {"max_epochs": args.epochs}
    out = _check_out(args.out)
    tried: list[dict[str, Any]] = []
    found = None
    seed = args.start
    with _locked_out(out), _worker_pool(args.jobs) as pool:
        while found is None and seed < args.start + args.max_seeds:
            seeds = list(range(seed, min(seed + args.jobs, args.start + args.max_seeds)))
            results = list(pool.map(_train_and_judge, [TrainConfig(seed=s, **recipe).to_dict() for s in seeds],
                                    [False] * len(seeds), [args.engine] * len(seeds)))
            for s, r in zip(seeds, results):
                summary = {"seed": s, "passed": r["passed"], "epochs": r["epochs"], **r["accuracy"],
                           **{f"free_run_{k}": v for k, v in r["free_run"].items()}}
                tried.append(summary)
                print(json.dumps(summary), file=sys.stderr, flush=True)
                if r["passed"] and found is None:
                    found = r
                    break
            seed = seeds[-1] + 1
        if found is None:
            raise CliError(f"no seed in {args.start}..{args.start + args.max_seeds - 1} met the rule: "
                           f"{SELECTION_RULE}")
        tried = [t for t in tried if t["seed"] <= found["config"]["seed"]]
        selection = {"rule": SELECTION_RULE, "thresholds": ACCEPT, "seeds_tried": len(tried), "tried": tried}
        path = _save(out, found, selection, "pretrained")
    print(json.dumps({"weights": str(path), "seed": found["config"]["seed"], "seeds_tried": len(tried)}))


def cmd_analyze(args: argparse.Namespace) -> None:
    from . import analysis

    if args.checkpoints:
        from .analysis.emergence import emergence_table
        from .training.checkpoints import CheckpointFileError

        try:
            table = emergence_table(args.checkpoints)
        except CheckpointFileError as e:
            raise CliError(str(e)) from None
        print(json.dumps(table, indent=1))
        return
    if args.reference:
        from . import reference

        print(json.dumps(reference.analyze(_load_reference(args.reference), progress=True), indent=1))
        return
    model = _load(args.weights)
    seed = _config(_recorded_config(args.weights), args.weights).seed
    print(json.dumps(analysis.analyze(model, training_seed=seed, progress=True), indent=1))


def _read_json(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise CliError(f"config file {p} does not exist" + (" (it is a folder)" if p.is_dir() else ""))
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CliError(f"config file {p} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise CliError(f"config file {p} must hold a JSON object (training settings, or a weight file's JSON "
                       f"with a 'config' object), got {type(data).__name__}")
    return data


def _config(cfg_dict: Any, where: str) -> TrainConfig:
    """The TrainConfig of a dict read from `where`; any bad key or value is a CliError naming it."""
    if not isinstance(cfg_dict, dict):
        raise CliError(f"{where}: the training config must be an object, got {cfg_dict!r}")
    try:
        return TrainConfig.from_dict(cfg_dict)
    except (TypeError, ValueError) as e:
        raise CliError(f"bad training config in {where}: {e}") from None


def _recorded_config(path: str) -> Any:
    """The training config recorded in a weight file, or a CliError saying it records none."""
    try:
        meta = weights.load_meta(path)
    except weights.WeightFileError as e:
        raise CliError(str(e)) from None
    if meta.get("config") is None:
        raise CliError(f"{path} records no training config ('config'), so it cannot be evaluated or analysed")
    return meta["config"]


def _load(path: str):
    try:
        return weights.load(path)
    except weights.WeightFileError as e:
        raise CliError(str(e)) from None


def _load_reference(directory: str):
    """The paper's reference network and trials from a checkout of its repository or a folder of its files."""
    from . import reference

    try:
        return reference.load_reference(directory)
    except (FileNotFoundError, ValueError) as e:
        raise CliError(str(e)) from None


def _weights_or_reference(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--weights", default=str(weights.PRETRAINED))
    g.add_argument("--reference", metavar="DIR",
                   help="the paper's own network and trials instead: a checkout of keith-murray/ctrnn-julia "
                        "(data/, data/models/) or a folder holding data_540.jls, data_27.jls and model_31.jls")


def _quiet_on_ctrl_c() -> None:
    """Worker processes: Ctrl-C ends them without a traceback (the parent reports it)."""
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))


class _worker_pool(ProcessPoolExecutor):
    """A process pool whose workers die quietly on Ctrl-C and are killed (not awaited) when
    the parent is interrupted or fails."""

    def __init__(self, jobs: int) -> None:
        super().__init__(max_workers=jobs, initializer=_quiet_on_ctrl_c)

    def __exit__(self, exc_type: Any, *rest: Any) -> Any:
        if exc_type is not None:
            for proc in list((self._processes or {}).values()):
                proc.terminate()
            self.shutdown(wait=False, cancel_futures=True)
            return False
        return super().__exit__(exc_type, *rest)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: 'error: ...' on stderr, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message}\n")


def _arg(check: Callable[[Any], Any], parse: Callable[[str], Any] = int) -> Callable[[str], Any]:
    """An argparse type: parse the text, then check it with a validator (ValueError -> usage error)."""
    def convert(text: str) -> Any:
        try:
            return check(parse(text))
        except ValueError as e:
            msg = str(e) if "must" in str(e) else f"{text!r} is not a whole number"
            raise argparse.ArgumentTypeError(msg) from None
    convert.__name__ = getattr(check, "__name__", "value")
    return convert


#: Upper bound of --epochs (the paper's runs need 2500; a million is already weeks of CPU).
MAX_EPOCHS = 1_000_000
SEED_ARG = _arg(lambda v: validate.seed(v, "the seed"))


def _epochs(v: int) -> int:
    try:
        return validate.whole(v, "--epochs", 1, MAX_EPOCHS)
    except ValueError:
        raise ValueError(f"--epochs must be a positive number of epochs, at most {MAX_EPOCHS}, got {v}") from None


EPOCHS_ARG = _arg(_epochs)
JOBS_ARG = _arg(lambda v: validate.whole(v, "the number of worker processes", 1, 256))
COUNT_ARG = _arg(lambda v: validate.whole(v, "the number", 1))


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m setdyn", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one network; writes OUT/model.safetensors and OUT/model.json")
    t.add_argument("--seed", type=SEED_ARG, help=f"0 .. {validate.SEED_MAX} (default 0, or the config's; "
                   "with --config it replaces the recorded seed)")
    t.add_argument("--config", help="JSON with a 'config' object (e.g. setdyn/data/pretrained.json) to retrain from")
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=EPOCHS_ARG, help="maximum epochs (default from the config: 2500)")
    t.add_argument("--activation", choices=ACTIVATIONS,
                   help="the activation phi (default tanh, or the config's); relu trains with autograd only")
    t.add_argument("--engine", choices=ENGINE_CHOICES,
                   help="gradients: native (hand-written BPTT, compiled; alpha = 1; needs g++), bptt (the same "
                        "in Python), autograd (PyTorch, any alpha), or auto (native where it applies and "
                        "compiles, else bptt where it applies, else autograd); default auto, or with --config the "
                        f"engine recorded in that file ({LEGACY_ENGINE} if it records none)")
    t.add_argument("--checkpoints", type=int, metavar="N",
                   help="also keep N snapshots of the weights along training (epoch 0, log-spaced epochs, the "
                        "last) in OUT/checkpoints.safetensors + OUT/checkpoints.json")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="print the four accuracies of a weight file as JSON")
    _weights_or_reference(e)
    e.set_defaults(func=cmd_evaluate)
    s = sub.add_parser("search-seed", help="find the first seed meeting the selection rule and ship it")
    s.add_argument("--out", default=str(weights.DATA_DIR))
    s.add_argument("--start", type=SEED_ARG, default=0, help="first seed to try (default 0)")
    s.add_argument("--max-seeds", type=COUNT_ARG, default=40, help="seeds to try at most (default 40)")
    s.add_argument("--jobs", type=JOBS_ARG, default=2, help="worker processes (default 2)")
    s.add_argument("--epochs", type=EPOCHS_ARG, help="maximum epochs per seed (default 2500, the recipe's)")
    s.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                   help=f"gradients (see train --engine); the shipped model was searched with {LEGACY_ENGINE}")
    s.set_defaults(func=cmd_search_seed)
    a = sub.add_parser("analyze", help="measure the mechanism; prints one JSON object")
    _weights_or_reference(a)
    a.add_argument("--checkpoints", metavar="DIR",
                   help="instead: the emergence table of the snapshots in DIR (from train --checkpoints): per "
                        "snapshot accuracy, dynamics, period, leading eigenvalue, kicks, Z3 agreement, and the "
                        "epochs of the cycle's birth, the Z3 code and the paper's accuracy")
    a.set_defaults(func=cmd_analyze)
    for provider in PROVIDERS:
        provider.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (CliError, ValueError) as e:  # ValueError: bad input by the project's convention (WeightFileError too)
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: stopped before finishing; files already there are unchanged", file=sys.stderr)
        return 130
    return 0
