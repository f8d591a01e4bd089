"""The import graph of setdyn's modules has no cycles.

Built from the source with `ast` (nothing is imported): every ``import`` and
``from ... import`` statement, at module level or inside a function, except
those under ``if TYPE_CHECKING:``, becomes an edge from the importing module to
the setdyn module it names (``from .pkg import name`` points at ``pkg.name``
when that is a module, else at ``pkg``). A submodule's implicit import of its
parent package is not an edge: Python initialises the parent first.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "setdyn"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> set[int]:
    """ids of the statements inside `if TYPE_CHECKING:` blocks."""
    skip: set[int] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            for s in n.body:
                skip.update(id(x) for x in ast.walk(s))
    return skip


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The setdyn modules that module `name` (file `path`) imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for t in targets:
            r = resolve(t) if t.split(".")[0] == "setdyn" else None
            if r is not None and r != name and not name.startswith(r + "."):
                out.add(r)
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    mods = modules(root)
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_the_graph_builder_sees_imports_and_cycles(tmp_path):
    pkg = tmp_path / "setdyn"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .sub import c\n")
    (pkg / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n")
    g = import_graph(pkg)
    assert g["setdyn.a"] == {"setdyn.b"} and g["setdyn.b"] == {"setdyn.sub.c"}
    assert g["setdyn.sub.c"] == set() and find_cycle(g) is None
    (pkg / "sub" / "c.py").write_text("import setdyn.a\n")  # now a -> b -> c -> a
    cycle = find_cycle(import_graph(pkg))
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"setdyn.a", "setdyn.b", "setdyn.sub.c"}


def test_setdyn_has_no_import_cycle():
    graph = import_graph()
    assert "setdyn.cli" in graph and len(graph) > 10
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["setdyn.sweep.cli", "setdyn.sweep.run"])
def test_the_sweep_does_not_import_the_command_line(module):
    graph = import_graph()
    assert module in graph and "setdyn.cli" not in graph[module]
