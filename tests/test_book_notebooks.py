"""Every notebook chapter of _toc.yml runs top to bottom without an error (nbval).

Chapters are MyST Markdown text notebooks; each is converted with jupytext to
a temporary ``.ipynb`` next to its source (so cells run in the same working
directory as in the book build) and run by ``pytest --nbval-lax`` in a
subprocess, with a kernel from this environment. ``--nbval-lax`` checks that
no cell raises; outputs are compared only in cells marked
``# NBVAL_CHECK_OUTPUT``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import jupytext
import pytest

from setdyn.book.build import notebook_chapters

from conftest import ROOT

CHAPTERS = notebook_chapters(ROOT)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_TIMEOUT = int(os.environ.get("SETDYN_NBVAL_CELL_TIMEOUT", "300"))  # seconds, as in _config.yml


def test_there_are_notebook_chapters():
    assert CHAPTERS, "_toc.yml lists no notebook chapter"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.relative_to(ROOT).as_posix() for p in CHAPTERS])
def test_chapter_runs(chapter):
    notebook = jupytext.read(chapter)
    tmp = chapter.with_name(f".nbval_{chapter.stem}.ipynb")  # hidden: never part of the book
    jupytext.write(notebook, tmp, fmt="ipynb")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--nbval-lax",
                "--nbval-current-env",
                f"--nbval-cell-timeout={CELL_TIMEOUT}",
                "-p",
                "no:cacheprovider",
                "-q",
                "--color=no",
                "--rootdir",
                str(tmp.parent),
                "-c",
                os.devnull,
                str(tmp),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        tmp.unlink(missing_ok=True)
    if proc.returncode != 0:
        report = ANSI.sub("", proc.stdout[-12000:] + proc.stderr[-4000:])
        pytest.fail(f"{chapter.relative_to(ROOT)} fails under nbval (exit {proc.returncode}):\n{report}", pytrace=False)
