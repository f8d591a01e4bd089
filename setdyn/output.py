"""An output folder a command may write: checked before any work starts, and locked while it writes.

`check_out` refuses an existing file, a path under a file and an unwritable place before a
run trains anything (so no epoch is lost to a bad ``--out``); `locked_out` holds the folder's
lock (`setdyn.weights.lock_folder`) for the run and removes the folders the run created if it
fails or is interrupted.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from . import weights
from .errors import CliError


def check_out(out: str) -> Path:
    """--out as a folder this run can write, checked before any training: not a file, not under a
    file, and writable (the nearest existing folder takes a temporary file). Nothing is created."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise CliError(f"--out {out} is an existing file; give a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CliError(f"--out {out} is under {existing}, which is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise CliError(f"--out {out}: cannot write in {existing} ({e.strerror or e})") from None
    return path


def write_json(path: str | Path, obj: Any) -> Path:
    """Write JSON atomically (a temporary file in the same folder, then a rename), readable by all (0644):
    a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(obj, indent=1) + "\n")
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make shipped data private to one user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class locked_out:
    """Lock the --out folder for this run (creating it); a folder this run created and left
    empty (the run failed or was interrupted) is removed again."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.created: list[Path] = []
        p = out
        while not p.exists():
            self.created.append(p)
            p = p.parent

    def __enter__(self) -> Path:
        self.lock = weights.lock_folder(self.out)
        try:
            return self.lock.__enter__()
        except weights.FolderLocked as e:
            raise CliError(str(e)) from None

    def __exit__(self, *exc: Any) -> None:
        self.lock.__exit__(*exc)
        if exc[0] is not None:
            for p in self.created:  # innermost first
                try:
                    p.rmdir()
                except OSError:
                    break
