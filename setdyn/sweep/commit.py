"""Committing a sweep's finished rows to git as it goes, so that a later session resumes instead of
starting over.

A sweep directory holds ``rows/ID.json`` (one per finished network, written
atomically as each network is analysed), ``nets/ID.safetensors`` + ``.json``
(its weights, about 80 kB per network) and ``sweep.csv`` (the merged table).
`commit_rows` stages exactly these and commits them in the git repository
that contains the directory; nothing else that is staged is committed.

Resuming on a fresh machine: clone (or pull) the repository and rerun the
same ``python -m setdyn sweep ... --out DIR`` command. `setdyn.sweep.run`
reads ``rows/*.json`` and ``sweep.csv``, skips every network that has a row
(with a label, when analysing), analyses without retraining every network
whose weights exist but whose row does not, and trains the rest. Network ids
(`setdyn.sweep.grid.net_id`) hash the full config, so the same command gives
the same ids.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from .table import CSV_NAME

#: What a sweep commit holds, relative to the sweep directory.
COMMITTED: tuple[str, ...] = ("rows", "nets", CSV_NAME)


def _git(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(out), *args], capture_output=True, text=True)


def check_repository(out: str | Path) -> Path:
    """The top of the git work tree that contains `out` (created if missing); ValueError when there is none."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    top = _git(out, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise ValueError(f"--commit-rows needs the sweep directory inside a git work tree; {out} is not "
                         f"({top.stderr.strip()})")
    return Path(top.stdout.strip())


def commit_rows(out: str | Path, message: str) -> bool:
    """Stage and commit DIR/rows, DIR/nets and DIR/sweep.csv (only those); True when a commit was made,
    False when nothing had changed. RuntimeError with git's message when git fails."""
    out = Path(out)
    check_repository(out)
    paths = [p for p in COMMITTED if (out / p).exists()]
    if not paths:
        return False
    add = _git(out, "add", "--", *paths)
    if add.returncode != 0:
        raise RuntimeError(f"git add failed in {out}: {add.stderr.strip()}")
    if _git(out, "diff", "--cached", "--quiet", "--", *paths).returncode == 0:
        return False
    done = _git(out, "commit", "-q", "-m", message, "--", *paths)
    if done.returncode != 0:
        raise RuntimeError(f"git commit failed in {out}: {done.stderr.strip()}")
    return True


__all__ = ["COMMITTED", "check_repository", "commit_rows"]
