"""Build the book: ``python -m setdyn.book.build`` (what ``make book`` runs).

Runs ``jupyter-book build . -W`` from the repository root: every chapter in
``_toc.yml`` is executed (through the jupyter-cache in
``_build/.jupyter_cache``, so an unchanged chapter is not re-run), any cell
error or Sphinx warning fails the build, and the HTML lands in
``_build/html``.

Two things Jupyter Book does not do by itself:

* **Stale results.** The execution cache is keyed on a chapter's own code
  only. When the ``setdyn`` package (or ``requirements.txt``) changes, a
  chapter's figures and numbers may change although its text did not, so the
  cache is cleared and every chapter re-runs. When only the book's Sphinx
  extension changes, pages are re-rendered without re-running.
* **Sticky failures.** After a failed build the Sphinx environment is deleted,
  so the next build re-reads every page and reports the same problem again
  instead of silently skipping the page that failed (results that did
  execute stay cached).

After the build it checks that no page loads a script or stylesheet from the
internet.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
CACHE = BUILD / ".jupyter_cache"
DOCTREES = BUILD / ".doctrees"
STAMP = HTML / ".setdyn-built"
FINGERPRINT = BUILD / ".setdyn-fingerprint"

# setdyn files that only affect how pages are rendered, not what chapters compute.
RENDER_ONLY = {"setdyn/book/sphinx_ext.py", "setdyn/book/build.py", "setdyn/book/static/setdyn.css",
               "setdyn/book/static/setdyn-layout.js", "setdyn/book/static/setdyn-table.js"}
# Files that decide what the book looks like; the tests rebuild when one is newer than STAMP.
CONFIG_FILES = ("_config.yml", "_toc.yml", "requirements.txt")


def toc_files(root: Path = ROOT) -> list[str]:
    """Every page of ``_toc.yml`` (root first, then in reading order), without suffix."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    out: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "root" in node:
                out.append(node["root"])
            if "file" in node:
                out.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return out


def page_source(name: str, root: Path = ROOT) -> Path:
    """The source file of a toc entry (``book/intro`` -> ``book/intro.md``)."""
    for suffix in ("", ".md", ".ipynb"):
        path = root / f"{name}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"_toc.yml lists {name!r} but no {name}.md or {name}.ipynb exists")


def is_notebook(path: Path) -> bool:
    """True for .ipynb and for MyST Markdown text notebooks (jupytext header with a kernelspec)."""
    if path.suffix == ".ipynb":
        return True
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    return bool(match) and "kernelspec:" in match.group(1)


def chapters(root: Path = ROOT) -> list[Path]:
    """Source files of all pages in _toc.yml, in order."""
    return [page_source(name, root) for name in toc_files(root)]


def notebook_chapters(root: Path = ROOT) -> list[Path]:
    """The pages that are notebooks (they have code and are executed)."""
    return [p for p in chapters(root) if is_notebook(p)]


def executed_notebook(page: Path, root: Path = ROOT) -> Path:
    """Where the build leaves a page's executed notebook (``_build/jupyter_execute/<page>.ipynb``).

    myst-nb writes one per notebook page, with every output (and the glued values, see
    :func:`setdyn.book.glued.glued_values`); the tests read them instead of running the
    chapters again.
    """
    rel = page.relative_to(root).with_suffix(".ipynb")
    return root / "_build" / "jupyter_execute" / rel


def glue_file(page: Path, root: Path = ROOT) -> Path:
    """The values a page glued, as myst-nb leaves them beside its executed notebook
    (``_build/jupyter_execute/<page>.glue.json``; read with :func:`setdyn.book.glued.glued_values`)."""
    nb = executed_notebook(page, root)
    return nb.with_name(nb.stem + ".glue.json")


def source_files(root: Path = ROOT) -> list[Path]:
    """Everything the built book depends on (for the tests' staleness check)."""
    files = [root / name for name in CONFIG_FILES if (root / name).exists()]
    files += chapters(root)
    files += [p for p in (root / "book").rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts]
    files += _package_files(root)
    return sorted(set(files))


def _package_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in (root / "setdyn").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )


def _digest(root: Path, files) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def fingerprints(root: Path = ROOT) -> dict[str, str]:
    """SHA-256 digests of what the chapters' results depend on ("execute": the package's code and data and
    requirements.txt) and of what only changes how pages look ("render": the Sphinx extension, static files)."""
    pkg = _package_files(root)
    execute = [p for p in pkg if p.relative_to(root).as_posix() not in RENDER_ONLY]
    execute += [root / "requirements.txt"] if (root / "requirements.txt").exists() else []
    render = [p for p in pkg if p.relative_to(root).as_posix() in RENDER_ONLY]
    return {"execute": _digest(root, execute), "render": _digest(root, render)}


def _read_fingerprints() -> dict[str, str]:
    if not FINGERPRINT.exists():
        return {}
    pairs = (line.split("=", 1) for line in FINGERPRINT.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


_EXTERNAL_RE = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
    re.I,
)


def external_resources(html_dir: Path = HTML) -> list[str]:
    """Tags in the built HTML that would make the browser fetch from the internet.

    Links (``<a href>``) are fine: the reader decides to follow them.
    """
    problems = []
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for match in _EXTERNAL_RE.finditer(text):
            tag = text[match.start() : text.find(">", match.start()) + 1]
            if tag.lower().startswith("<link") and not re.search(
                r"""rel\s*=\s*["']?(?:stylesheet|preload|modulepreload|icon|shortcut icon|prefetch|manifest)""",
                tag,
                re.I,
            ):
                continue  # e.g. <link rel="canonical">: metadata, never fetched
            problems.append(f"{page.relative_to(html_dir)}: {tag[:200]}")
    return problems


def _skip_slow_optional_imports() -> None:
    """Keep optional imports that the build never uses from costing seconds.

    jsonschema (imported by Jupyter Book to validate _config.yml) imports
    ``rfc3987_syntax`` when installed, only to check the "iri" string formats;
    that module compiles ~40 lark grammars at import, about 5 s of a ~7 s no-op
    rebuild. Marking it absent (ImportError) makes jsonschema skip those formats.
    Only this build process is affected, not the kernels or Jupyter.
    """
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


def build(*, fresh: bool = False, quiet: bool = False) -> float:
    """Build the book; returns seconds taken. Raises SystemExit on failure."""
    _skip_slow_optional_imports()
    from jupyter_book.cli.main import main as jupyter_book

    start = time.perf_counter()
    old, new = _read_fingerprints(), fingerprints()
    freshenv = fresh
    if fresh or old.get("execute") != new["execute"]:
        if CACHE.exists():
            print(
                "setdyn.book.build: the setdyn package or requirements.txt changed since the last "
                "build: clearing the execution cache, every chapter re-runs",
                flush=True,
            )
            shutil.rmtree(CACHE)
        freshenv = True
    elif old.get("render") != new["render"]:
        print("setdyn.book.build: the book's Sphinx extension changed: re-rendering every page", flush=True)
        freshenv = True

    # Kernels inherit this environment: setdyn importable even without `pip install -e .`,
    # one thread per kernel (the machine's cores are shared), no debugger noise on stderr.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    args = ["build", str(ROOT), "-W", "--builder", "html"]
    if freshenv:
        args.append("--all")
    if quiet:
        args.append("-q")
    STAMP.unlink(missing_ok=True)
    ok = False
    try:
        jupyter_book(args, standalone_mode=False)
        ok = True
    except SystemExit as exc:  # jupyter-book exits with the Sphinx status on failure
        ok = not exc.code
    except Exception as exc:  # noqa: BLE001 - reported below
        print(f"setdyn.book.build: {exc}", file=sys.stderr)
    if ok:
        problems = external_resources(HTML)
        if problems:
            print("setdyn.book.build: pages load resources from the internet:", file=sys.stderr)
            for line in problems:
                print("  " + line, file=sys.stderr)
            ok = False
    if not ok:
        # Forget which pages were read, so the next build reports the same failure again.
        (DOCTREES / "environment.pickle").unlink(missing_ok=True)
        print("setdyn.book.build: BUILD FAILED (see the messages above)", file=sys.stderr)
        raise SystemExit(1)
    restore_cached_outputs()
    FINGERPRINT.write_text("".join(f"{k}={v}\n" for k, v in new.items()))
    STAMP.write_text(f"built in {time.perf_counter() - start:.1f} s\n")
    return time.perf_counter() - start


def restore_cached_outputs(root: Path = ROOT) -> list[Path]:
    """Put the outputs back into executed notebooks that myst-nb wrote without them.

    When a page's code is unchanged but its text changed, myst-nb takes the
    outputs from the execution cache for the HTML, but writes the notebook it
    read (without outputs) to ``_build/jupyter_execute`` (myst-nb 1.4,
    ``sphinx_.py``: it writes ``notebook``, not ``nb_client.notebook``). The tests
    read those notebooks, so each such notebook is replaced by the cache's merged
    copy. Returns the notebooks rewritten.
    """
    import json

    import jupytext
    import nbformat
    from jupyter_cache import get_cache

    fixed = []
    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    for page in notebook_chapters(root):
        path = executed_notebook(page, root)
        if not path.is_file():
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        if all(c.get("execution_count") is not None for c in code):
            continue
        try:
            _, merged = cache.merge_match_into_notebook(jupytext.read(page))
        except KeyError:  # not in the cache: leave the notebook as myst-nb wrote it
            continue
        path.write_text(nbformat.writes(merged), encoding="utf-8")
        fixed.append(path)
    return fixed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m setdyn.book.build", description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", action="store_true", help="clear the execution cache and re-run every chapter")
    parser.add_argument("-q", "--quiet", action="store_true", help="less output from Sphinx")
    args = parser.parse_args(argv)
    seconds = build(fresh=args.fresh, quiet=args.quiet)
    print(f"setdyn.book.build: book built in {seconds:.1f} s -> {HTML.relative_to(ROOT)}/index.html")


if __name__ == "__main__":
    main()
