"""Guard for refactorings: snapshot every result the book shows, and compare two snapshots.

Usage (from the repository root, with this checkout's package on the path)::

    export PYTHONPATH=$PWD OMP_NUM_THREADS=1
    python tests/result_snapshot.py snapshot --out before.json   # old code
    ...change the code...
    python tests/result_snapshot.py snapshot --out after.json    # new code
    python tests/result_snapshot.py compare before.json after.json

``snapshot`` executes every chapter listed in ``_toc.yml`` (MyST Markdown
notebooks in ``book/``, converted with jupytext and run top to bottom by
nbclient with the ``python3`` kernel of *this* interpreter, working directory
``book/``, as in the book build) and records, per chapter:

- ``glue``: every value stored with ``myst_nb.glue`` (the executed notebook
  keeps it in a ``display_data`` output whose metadata is ``{"scrapbook":
  {"name": ..., "mime_prefix": ...}}``; with ``display=False`` the mime keys
  carry the prefix ``application/papermill.record/``). For each name: its
  ``text/plain`` representation, the number it parses to (if it does), and a
  hash of any richer representation (HTML, a glued figure).
- ``figures``: one entry per figure, in page order, from every output of the
  page: plotly figures (``application/vnd.plotly.v1+json``), plotly figures
  inlined in HTML (``Plotly.newPlot(id, data, layout, config)``, e.g. the
  static twin of a widget), the JSON data embedded in the HTML explorers
  (``<script type="application/json">``) and images (``image/png``,
  ``image/jpeg``, ``image/svg+xml``: SHA-256 of the bytes). A plotly figure's
  ``data`` hash covers its traces, its animation frames and the payloads of
  its sliders and buttons (``layout.sliders[*].steps[*].args``,
  ``layout.updatemenus[*].buttons[*].args``): everything that is a number the
  reader can see. Its ``layout`` hash covers the rest of the layout (titles,
  axes, sizes); it is recorded for information, and ``compare`` reports a
  layout difference without failing unless ``--strict-layout`` is given.
- ``tables``: one entry per HTML table (pandas DataFrames and Stylers), in
  page order: the number of rows and a hash of the text of every cell (the
  numbers as the reader sees them, formatted).
- ``outputs``: a hash of every other visible output (printed text, tables,
  HTML), reported by ``compare`` like the layout (without failing unless
  ``--strict-outputs``).

``compare`` fails on a glued value whose number (to 12 significant digits),
text (when it is not a number) or rich representation changed, on a figure
whose data hash, kind or trace count changed, on a table whose cells
changed, and on a chapter, figure or table that appeared or disappeared. A glued number that is equal to 12 significant
digits but printed differently (last-digit float noise, ``10`` vs ``10.0``) is
reported as a note.

Canonical form behind every hash: JSON with sorted keys; every number written
with 12 significant digits (``format(x, ".12g")``, -0 written as 0) so that
float noise in the last digits of printing does not count, while any change a
reader could see does; plotly's base64 typed arrays (``{"dtype", "bdata",
"shape"}``) are decoded to their numbers first, so the same numbers hash the
same whether a figure was built from lists or numpy arrays. Keys that are
never results (plotly ``uid``, HTML element ids of the form
``setdyn-fig-<counter>-<digest>``) are dropped.

Names that change from run to run on purpose are listed in ``VOLATILE`` with
the reason; they are recorded but never compared.

This script imports neither ``setdyn`` nor the test suite: it only runs the
chapters, so it works unchanged on any package layout.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
SIGNIFICANT_DIGITS = 12
CELL_TIMEOUT = 1800  # seconds per cell; generous (2 shared cores)

#: (chapter stem, glue name) -> why the value differs between runs. Recorded, never compared.
VOLATILE: dict[tuple[str, str], str] = {
    ("02_model", "retrain_seconds_per_epoch"): (
        "wall-clock seconds per epoch of the short retraining demo: depends on the machine and its load "
        "(0.18 s and 0.38 s in two runs on the same machine)"
    ),
}

# ------------------------------------------------------------------ canonical form


def _number(x: float) -> str:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return repr(x)
    s = format(x, f".{SIGNIFICANT_DIGITS}g")
    return "0" if s == "-0" else s


def _typed_array(obj: dict) -> list | None:
    """Decode plotly's base64 typed array ``{"dtype", "bdata", "shape"?}`` to nested lists."""
    import numpy as np

    try:
        arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]).newbyteorder("<"))
    except (TypeError, ValueError):
        return None
    shape = obj.get("shape")
    if shape:
        dims = [int(s) for s in str(shape).split(",")] if not isinstance(shape, list) else shape
        arr = arr.reshape(dims)
    return arr.tolist()


def canonical(obj: Any) -> Any:
    """Numbers as 12-significant-digit strings, typed arrays decoded, non-result keys dropped."""
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, (int, float)):
        return {"#": _number(obj)}  # tagged, so that the number 3 and the string "3" stay distinct
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj and set(obj) <= {"bdata", "dtype", "shape"}:
            decoded = _typed_array(obj)
            if decoded is not None:
                return canonical(decoded)
        return {k: canonical(v) for k, v in obj.items() if k != "uid"}
    return repr(obj)


def digest(obj: Any) -> str:
    text = json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


# ------------------------------------------------------------------ figures


def _split_plotly(fig: dict) -> tuple[Any, Any]:
    """(what the data hash covers, what the layout hash covers) of a plotly figure JSON."""
    layout = dict(fig.get("layout") or {})
    controls = {}
    for key, items_key in (("sliders", "steps"), ("updatemenus", "buttons")):
        menus = layout.pop(key, None) or []
        controls[key] = [[item.get("args") for item in (m.get(items_key) or [])] for m in menus]
        # the rest of the control (labels, positions) is presentation
        layout[key] = [
            {**m, items_key: [{k: v for k, v in item.items() if k != "args"} for item in (m.get(items_key) or [])]}
            for m in menus
        ]
    frames = [{k: v for k, v in f.items() if k != "layout"} for f in (fig.get("frames") or [])]
    return {"data": fig.get("data") or [], "frames": frames, "controls": controls}, layout


def _title(layout: dict) -> str:
    title = layout.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    return re.sub(r"<[^>]+>", " ", str(text)).strip()[:80] if text else ""


def plotly_record(fig: dict, kind: str) -> dict:
    data, layout = _split_plotly(fig)
    return {
        "kind": kind,
        "title": _title(fig.get("layout") or {}),
        "traces": len(fig.get("data") or []),
        "data": digest(data),
        "layout": digest(layout),
    }


_NEWPLOT = re.compile(r"Plotly\.newPlot\(\s*")
_JSON_SCRIPT = re.compile(r"<script[^>]*type=\"application/json\"[^>]*>(.*?)</script>", re.S)
_TABLE = re.compile(r"<table\b.*?</table>", re.S | re.I)
_CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t[hd]>", re.S | re.I)
_ROW = re.compile(r"<tr\b.*?</tr>", re.S | re.I)
#: element ids that change from run to run: setdyn's figure divs and explorers, pandas Styler's T_<uuid5>
_ELEMENT_ID = re.compile(r"setdyn-[a-z]+-\d+-[0-9a-f]+|sx-[0-9a-f]{6,}|\bT_[0-9a-f]{5}(?![0-9a-f])")


def _table_cells(table: str) -> list[list[str]]:
    """The text of every cell of an HTML table, row by row (tags stripped, whitespace collapsed)."""
    import html as html_lib

    rows = []
    for row in _ROW.findall(table):
        cells = [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for _, cell in _CELL.findall(row)]
        rows.append(cells)
    return rows


def _newplot_figures(html: str) -> list[dict]:
    """The (data, layout) of every ``Plotly.newPlot(id, data, layout, config)`` call in an HTML string."""
    decoder = json.JSONDecoder()
    figures = []
    for match in _NEWPLOT.finditer(html):
        pos = match.end()
        args = []
        for _ in range(3):  # id, data, layout
            try:
                value, end = decoder.raw_decode(html, pos)
            except json.JSONDecodeError:
                break
            args.append(value)
            pos = end
            while pos < len(html) and html[pos] in " \t\r\n,":
                pos += 1
        if len(args) == 3:
            figures.append({"data": args[1], "layout": args[2]})
    return figures


def html_records(html: str) -> tuple[list[dict], list[dict], str]:
    """Figures and explorer data, tables, and the rest of an HTML output (ids normalised)."""
    records = [plotly_record(fig, "plotly-in-html") for fig in _newplot_figures(html)]
    for payload in _JSON_SCRIPT.findall(html):
        try:
            data = json.loads(payload)
        except json.JSONDecodeError:
            data = payload
        records.append({"kind": "explorer-data", "title": "", "traces": 0, "data": digest(data), "layout": ""})
    tables = []
    for table in _TABLE.findall(html):
        cells = _table_cells(table)
        header = " | ".join(cells[0])[:80] if cells else ""
        tables.append({"kind": "table", "title": header, "rows": len(cells), "data": digest(cells)})
    rest = _JSON_SCRIPT.sub("<script json/>", html)
    rest = re.sub(r"<script.*?</script>", "<script/>", rest, flags=re.S) if records else rest
    rest = _TABLE.sub("<table/>", rest)
    return records, tables, _ELEMENT_ID.sub("ID", rest)


# ------------------------------------------------------------------ one executed notebook


def _glue_entry(bundle: dict, prefix: str) -> dict:
    data = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in bundle.items()}
    entry: dict[str, Any] = {}
    if "text/plain" in data:
        text = _text(data["text/plain"])
        entry["text"] = text
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            entry["number"] = _number(number)
    rich = {k: v for k, v in data.items() if k != "text/plain"}
    if PLOTLY_MIME in rich:
        entry["figure"] = plotly_record(rich.pop(PLOTLY_MIME), "plotly-glued")
    if rich:
        entry["rich"] = digest({k: _text(v) if isinstance(v, (str, list)) else v for k, v in rich.items()})
    return entry


def record_notebook(nb: Any) -> dict:
    """Glue values, figure hashes and other output hashes of one executed notebook."""
    glue: dict[str, dict] = {}
    duplicates: list[str] = []
    figures: list[dict] = []
    tables: list[dict] = []
    outputs: list[dict] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            meta = output.get("metadata", {}) or {}
            if "scrapbook" in meta:
                name = meta["scrapbook"]["name"]
                if name in glue:
                    duplicates.append(name)
                glue[name] = _glue_entry(output.get("data", {}), meta["scrapbook"].get("mime_prefix", ""))
                continue
            if kind == "stream":
                if output.get("name") == "stdout":
                    outputs.append({"cell": index, "kind": "stdout", "hash": digest(_text(output["text"]))})
                continue
            if kind == "error":
                raise RuntimeError(f"cell {index} raised {output.get('ename')}: {output.get('evalue')}")
            data = output.get("data", {})
            if WIDGET_MIME in data and "text/html" not in data:
                continue  # a bare widget (e.g. a progress bar): its text/plain is a repr, not a result
            if PLOTLY_MIME in data:
                figures.append(plotly_record(data[PLOTLY_MIME], "plotly"))
                continue
            found_image = False
            for mime in IMAGE_MIMES:
                if mime in data:
                    raw = _text(data[mime])
                    blob = base64.b64decode(raw) if mime != "image/svg+xml" else raw.encode()
                    figures.append({"kind": mime, "title": "", "traces": 0,
                                    "data": hashlib.sha256(blob).hexdigest(), "layout": ""})
                    found_image = True
                    break
            if found_image:
                continue
            if "text/html" in data:
                records, found_tables, rest = html_records(_text(data["text/html"]))
                figures.extend(records)
                tables.extend(found_tables)
                outputs.append({"cell": index, "kind": "text/html", "hash": digest(rest)})
            elif "text/markdown" in data:
                outputs.append({"cell": index, "kind": "text/markdown", "hash": digest(_text(data["text/markdown"]))})
            elif "text/latex" in data:
                outputs.append({"cell": index, "kind": "text/latex", "hash": digest(_text(data["text/latex"]))})
            elif "text/plain" in data:
                outputs.append({"cell": index, "kind": "text/plain", "hash": digest(_text(data["text/plain"]))})
    for i, fig in enumerate(figures, 1):
        fig["id"] = f"fig{i:02d}"
    for i, table in enumerate(tables, 1):
        table["id"] = f"tab{i:02d}"
    for i, out in enumerate(outputs, 1):
        out["id"] = f"out{i:02d}"
    return {
        "glue": glue,
        "glue_duplicates": sorted(set(duplicates)),
        "figures": figures,
        "tables": tables,
        "outputs": outputs,
    }


# ------------------------------------------------------------------ chapters


def toc_chapters(root: Path) -> list[Path]:
    """The pages of ``_toc.yml`` in reading order (root first), as existing ``.md``/``.ipynb`` files."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                names.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    names.append(toc["root"])
    walk(toc)
    pages = []
    for name in names:
        for suffix in (".md", ".ipynb"):
            path = root / (name + suffix)
            if path.exists():
                pages.append(path)
                break
        else:
            raise FileNotFoundError(f"_toc.yml lists {name!r}, but neither {name}.md nor {name}.ipynb exists")
    return pages


def is_executed_page(path: Path) -> bool:
    """True for the pages the book build executes: ``.ipynb`` and MyST Markdown notebooks (myst-nb's rule)."""
    if path.suffix == ".ipynb":
        return True
    from myst_nb.core.read import is_myst_markdown_notebook

    return is_myst_markdown_notebook(path.read_text(encoding="utf-8"))


def _kernel_manager():
    """A ``python3`` kernel that runs with this interpreter (not whatever ``python`` is on PATH)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    spec = km.kernel_spec
    if spec.argv and Path(spec.argv[0]).name.startswith("python"):
        spec.argv[0] = sys.executable
    if km.kernel_spec.argv[0] != sys.executable:
        raise RuntimeError(f"could not point the python3 kernel at {sys.executable}: {km.kernel_spec.argv}")
    return km


def execute(path: Path) -> Any | None:
    """The executed notebook of one page (None if the page is plain Markdown, not a notebook)."""
    import jupytext
    from nbclient import NotebookClient

    if not is_executed_page(path):
        return None
    nb = jupytext.read(path)
    client = NotebookClient(
        nb,
        km=_kernel_manager(),
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def _snapshot_dict(chapters: dict, seconds: dict) -> dict:
    return {
        "format": "setdyn result snapshot 1",
        "significant_digits": SIGNIFICANT_DIGITS,
        "volatile": {f"{c}:{n}": why for (c, n), why in VOLATILE.items()},
        "chapters": chapters,
        "seconds": seconds,  # never compared
        "python": sys.version.split()[0],
    }


def record_executed(root: Path, directory: Path) -> dict:
    """A snapshot from notebooks already executed (``snapshot --keep DIR``), without running anything."""
    import nbformat

    chapters = {}
    for path in toc_chapters(root):
        executed = directory / f"{path.stem}.ipynb"
        if is_executed_page(path) and executed.exists():
            record = record_notebook(nbformat.read(executed, as_version=4))
            # A book build's notebooks keep no glue outputs: myst-nb moves them to <stem>.glue.json.
            glue_file = directory / f"{path.stem}.glue.json"
            if glue_file.exists():
                for name, output in json.loads(glue_file.read_text()).items():
                    meta = output.get("metadata", {}).get("scrapbook", {})
                    record["glue"][name] = _glue_entry(output.get("data", {}), meta.get("mime_prefix", ""))
            chapters[path.stem] = record
    return _snapshot_dict(chapters, {})


def snapshot(root: Path, keep: Path | None = None, only: list[str] | None = None) -> dict:
    # The kernels must import this checkout's package, whatever the caller's PYTHONPATH says.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    chapters: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    start_all = time.perf_counter()
    for path in toc_chapters(root):
        stem = path.stem
        if only and stem not in only:
            continue
        start = time.perf_counter()
        print(f"[snapshot] {path.relative_to(root)} ...", file=sys.stderr, flush=True)
        nb = execute(path)
        seconds[stem] = round(time.perf_counter() - start, 1)
        if nb is None:
            print("[snapshot]   not a notebook (plain Markdown): nothing to run", file=sys.stderr, flush=True)
            continue
        if keep is not None:
            import nbformat

            keep.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, keep / f"{stem}.ipynb")
        chapters[stem] = record_notebook(nb)
        rec = chapters[stem]
        print(
            f"[snapshot]   {len(rec['glue'])} glued values, {len(rec['figures'])} figures, "
            f"{len(rec['tables'])} tables, {len(rec['outputs'])} other outputs, {seconds[stem]} s",
            file=sys.stderr,
            flush=True,
        )
    return _snapshot_dict(chapters, {**seconds, "total": round(time.perf_counter() - start_all, 1)})


# ------------------------------------------------------------------ compare


def _short(value: Any, width: int = 70) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def compare(old: dict, new: dict, strict_layout: bool = False, strict_outputs: bool = False) -> int:
    """Print every difference (chapter, name, old, new); return the number of failing ones."""
    failing = 0
    notes = 0

    def report(chapter: str, name: str, a: Any, b: Any, fail: bool = True) -> None:
        nonlocal failing, notes
        tag = "DIFF" if fail else "note"
        print(f"{tag}  {chapter}  {name}\n      old: {_short(a)}\n      new: {_short(b)}")
        if fail:
            failing += 1
        else:
            notes += 1

    volatile = set(old.get("volatile", {})) | set(new.get("volatile", {}))
    old_ch, new_ch = old["chapters"], new["chapters"]
    for chapter in sorted(set(old_ch) | set(new_ch)):
        if chapter not in new_ch or chapter not in old_ch:
            report(chapter, "(chapter)", "present" if chapter in old_ch else "missing",
                   "present" if chapter in new_ch else "missing")
            continue
        a, b = old_ch[chapter], new_ch[chapter]
        for name in sorted(set(a["glue"]) | set(b["glue"])):
            if f"{chapter}:{name}" in volatile:
                continue
            va, vb = a["glue"].get(name), b["glue"].get(name)
            if va == vb:
                continue
            if va is None or vb is None:
                report(chapter, f"glue {name}", va if va is not None else "(missing)", vb if vb is not None else "(missing)")
            elif "number" in va and "number" in vb and {**va, "text": ""} == {**vb, "text": ""}:
                # same number to SIGNIFICANT_DIGITS digits; only the last digits (or int/float) differ
                report(chapter, f"glue {name} (equal to {SIGNIFICANT_DIGITS} digits)", va["text"], vb["text"], fail=False)
            else:
                report(chapter, f"glue {name}", va, vb)
        fa, fb = a["figures"], b["figures"]
        if len(fa) != len(fb):
            report(chapter, "figure count", len(fa), len(fb))
        for x, y in zip(fa, fb):
            label = f"{x['id']} {x['kind']} {x['title']!r}".rstrip()
            for key in ("kind", "traces", "data"):
                if x.get(key) != y.get(key):
                    report(chapter, f"{label} {key}", x.get(key), y.get(key))
            if x.get("layout") != y.get("layout"):
                report(chapter, f"{label} layout", x.get("layout"), y.get("layout"), fail=strict_layout)
            if x.get("title") != y.get("title"):
                report(chapter, f"{label} title", x.get("title"), y.get("title"), fail=strict_layout)
        ta, tb = a.get("tables", []), b.get("tables", [])
        if len(ta) != len(tb):
            report(chapter, "table count", len(ta), len(tb))
        for x, y in zip(ta, tb):
            if (x["rows"], x["data"]) != (y["rows"], y["data"]):
                report(chapter, f"{x['id']} table {x['title']!r}", f"{x['rows']} rows {x['data'][:16]}",
                       f"{y['rows']} rows {y['data'][:16]}")
        oa, ob = a.get("outputs", []), b.get("outputs", [])
        if len(oa) != len(ob):
            report(chapter, "other output count", len(oa), len(ob), fail=strict_outputs)
        for x, y in zip(oa, ob):
            if (x["kind"], x["hash"]) != (y["kind"], y["hash"]):
                report(chapter, f"{x['id']} {x['kind']} (cell {x['cell']} -> {y['cell']})",
                       f"{x['kind']} {x['hash'][:16]}", f"{y['kind']} {y['hash'][:16]}", fail=strict_outputs)
    print(f"{failing} difference(s) in results, {notes} note(s) (layout/other outputs; see --strict-*)")
    return failing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="run every chapter and write the snapshot")
    snap.add_argument("--out", required=True, type=Path, help="JSON file to write")
    snap.add_argument("--root", type=Path, default=ROOT, help="repository root (holds _toc.yml); default: %(default)s")
    snap.add_argument("--keep", type=Path, help="also write the executed notebooks to this directory")
    snap.add_argument("--only", nargs="+", metavar="STEM", help="only these chapters (e.g. 01_task); for debugging")
    rec = sub.add_parser("record", help="write the snapshot of notebooks executed before (snapshot --keep DIR)")
    rec.add_argument("executed", type=Path, help="directory of executed notebooks, <chapter stem>.ipynb")
    rec.add_argument("--out", required=True, type=Path, help="JSON file to write")
    rec.add_argument("--root", type=Path, default=ROOT, help="repository root (holds _toc.yml); default: %(default)s")
    comp = sub.add_parser("compare", help="print every difference between two snapshots; exit 1 if any")
    comp.add_argument("old", type=Path)
    comp.add_argument("new", type=Path)
    comp.add_argument("--strict-layout", action="store_true", help="layout/title differences also fail")
    comp.add_argument("--strict-outputs", action="store_true", help="differences in other outputs also fail")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        result = snapshot(args.root.resolve(), args.keep, args.only)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.out} ({result['seconds']['total']} s)", file=sys.stderr)
        return 0
    if args.command == "record":
        result = record_executed(args.root.resolve(), args.executed)
        args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.out} ({len(result['chapters'])} chapters)", file=sys.stderr)
        return 0
    old = json.loads(args.old.read_text())
    new = json.loads(args.new.read_text())
    return 1 if compare(old, new, args.strict_layout, args.strict_outputs) else 0


if __name__ == "__main__":
    sys.exit(main())
