"""Every notebook chapter of _toc.yml ran top to bottom without an error, in the book build.

The chapters run once, in the build (``python -m setdyn.book.build``, through the
``built_book`` fixture, which rebuilds when a chapter or the package changed). The build
already fails on a cell error (``raise_on_error`` in ``_config.yml``); this test reads the
executed notebooks the build leaves in ``_build/jupyter_execute`` and checks that each is
there, is newer than its source, has every code cell executed and no error output. (It
replaces a second run of every chapter under ``nbval --lax``, which checked only that no
cell raised.) The glued values in the same notebooks are checked in ``test_book_claims.py``.
"""

from __future__ import annotations

import json

import pytest

from setdyn.book.build import executed_notebook, notebook_chapters
from setdyn.book.glued import notebook_errors

from conftest import ROOT

CHAPTERS = notebook_chapters(ROOT)


def test_there_are_notebook_chapters():
    assert CHAPTERS, "_toc.yml lists no notebook chapter"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.relative_to(ROOT).as_posix() for p in CHAPTERS])
def test_chapter_ran_in_the_build(chapter, built_book):
    import jupytext

    path = executed_notebook(chapter)
    assert path.is_file(), f"the build left no executed notebook for {chapter.relative_to(ROOT)} at {path}"
    assert path.stat().st_mtime >= chapter.stat().st_mtime, f"{path.name} is older than its source"
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert not notebook_errors(nb), f"{chapter.relative_to(ROOT)}: {notebook_errors(nb)}"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    source_code = [c for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    assert len(code) == len(source_code), "the executed notebook has other cells than the chapter"
    not_run = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not not_run, f"{chapter.relative_to(ROOT)}: code cells {not_run} were not executed"
