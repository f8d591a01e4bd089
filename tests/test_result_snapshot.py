"""The result guard (tests/result_snapshot.py) sees the changes it must see and ignores float-printing noise.

The guard itself runs every chapter (minutes); these tests exercise its
canonical form, its reading of executed notebooks and its comparison on
small hand-made notebooks, in milliseconds.
"""

from __future__ import annotations

import base64
import importlib.util
import json

import nbformat
import numpy as np
import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("result_snapshot", ROOT / "tests" / "result_snapshot.py")
rs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rs)


def _typed(arr: np.ndarray) -> dict:
    return {"dtype": "f8", "bdata": base64.b64encode(arr.astype("<f8").tobytes()).decode()}


def test_typed_array_and_list_hash_alike():
    x = np.linspace(0, 1, 7)
    assert rs.digest({"x": _typed(x)}) == rs.digest({"x": x.tolist()})


def test_float_noise_is_ignored_and_real_changes_are_not():
    x = np.array([0.1, 243.83767335539324, -17.668056135616624])
    assert rs.digest(list(x * (1 + 1e-15))) == rs.digest(list(x))
    assert rs.digest(list(x * (1 + 1e-9))) != rs.digest(list(x))
    assert rs.digest([-0.0]) == rs.digest([0.0])
    assert rs.digest([3]) != rs.digest(["3"])


def _plotly(y, title="t", uid="a"):
    return {"data": [{"type": "scatter", "y": y, "uid": uid}], "layout": {"title": {"text": title}}}


def _notebook(glue_value: float, y: list, title: str = "t") -> nbformat.NotebookNode:
    glue_out = nbformat.v4.new_output(
        "display_data",
        data={"application/papermill.record/text/plain": repr(glue_value)},
        metadata={"scrapbook": {"name": "period_ms", "mime_prefix": "application/papermill.record/"}},
    )
    fig_out = nbformat.v4.new_output("display_data", data={rs.PLOTLY_MIME: _plotly(y, title), "text/plain": "fig"})
    html_fig = (
        '<div id="setdyn-fig-3-abcdef0123"></div><script>Plotly.newPlot("setdyn-fig-3-abcdef0123", '
        + json.dumps(_plotly(y, title)["data"])
        + ', {"height": 300}, {"responsive": true})</script>'
        + '<table id="T_1a2b3"><tr><th id="T_1a2b3_h">q</th></tr><tr><td>1.00</td></tr></table>'
    )
    html_out = nbformat.v4.new_output("display_data", data={"text/html": html_fig, "text/plain": "x"})
    cell = nbformat.v4.new_code_cell("...", outputs=[glue_out, fig_out, html_out])
    return nbformat.v4.new_notebook(cells=[cell])


def _snap(nb) -> dict:
    return {"chapters": {"03_output": rs.record_notebook(nb)}, "volatile": {}}


def test_record_reads_glue_figures_and_tables():
    rec = rs.record_notebook(_notebook(243.8, [1.0, 2.0]))
    assert rec["glue"] == {"period_ms": {"text": "243.8", "number": "243.8"}}
    assert [f["kind"] for f in rec["figures"]] == ["plotly", "plotly-in-html"]
    # the same traces, once as plotly JSON and once inlined in HTML: the same data hash
    assert rec["figures"][0]["data"] == rec["figures"][1]["data"]
    assert [t["rows"] for t in rec["tables"]] == [2]


def test_compare_flags_changed_results_only(capsys):
    base = _snap(_notebook(243.8, [1.0, 2.0]))
    assert rs.compare(base, _snap(_notebook(243.8, [1.0, 2.0]))) == 0
    # the glued number, a figure's data (twice: JSON and HTML) each fail
    assert rs.compare(base, _snap(_notebook(243.9, [1.0, 2.0]))) == 1
    assert rs.compare(base, _snap(_notebook(243.8, [1.0, 2.5]))) == 2
    out = capsys.readouterr().out
    assert "03_output  glue period_ms" in out and "fig01 plotly 't' data" in out
    # a changed title is layout: a note, unless strict
    assert rs.compare(base, _snap(_notebook(243.8, [1.0, 2.0], title="u"))) == 0
    assert rs.compare(base, _snap(_notebook(243.8, [1.0, 2.0], title="u")), strict_layout=True) > 0


def test_compare_notes_printing_noise_in_a_glued_number(capsys):
    base = _snap(_notebook(243.83767335539324, [1.0]))
    noisy = _snap(_notebook(243.83767335539327, [1.0]))
    assert rs.compare(base, noisy) == 0
    assert "equal to 12 digits" in capsys.readouterr().out


@pytest.mark.parametrize("missing", ["old", "new"])
def test_compare_flags_a_missing_chapter(missing):
    snap = _snap(_notebook(1.0, [1.0]))
    empty = {"chapters": {}, "volatile": {}}
    old, new = (empty, snap) if missing == "old" else (snap, empty)
    assert rs.compare(old, new) == 1


def test_every_toc_chapter_is_found():
    pages = rs.toc_chapters(ROOT)
    assert pages[0].name == "intro.md" and len(pages) == len(set(pages))
    assert [p.stem for p in pages if rs.is_executed_page(p)][:2] == ["intro", "01_task"]  # the intro runs the hero
