"""Numbers and words for the chapters' prose: one :func:`glue`, and :func:`glued_values` to read
them back from an executed notebook (the claims test asserts the chapters' key claims on them).

A chapter writes ``glue("var_pc12", 100 * ratio[:2].sum())`` and the prose
``{glue:text}`var_pc12:.1f```; myst-nb stores the value's ``text/plain`` form in the
cell's output. Because the stored form is the Python ``repr``, :func:`glue` converts NumPy
scalars to plain Python values first (``np.float64(3.0)`` would print as such), and
:func:`glued_values` can turn every stored value back into a Python value with
:func:`ast.literal_eval`.
"""
from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

#: myst-nb's prefix for the mime types of a glue made with ``display=False``.
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value: Any) -> None:
    """Glue a number or text for the prose, as a plain Python value, without displaying it.

    Parameters
    ----------
    name : str
        The name the prose refers to (``{glue:text}`name```).
    value : int, float, str, bool or NumPy scalar
        NumPy scalars are stored as the equivalent Python value.
    """
    from myst_nb import glue as myst_glue

    myst_glue(name, value.item() if isinstance(value, np.generic) else value, display=False)


def glue_all(values: Any) -> None:
    """:func:`glue` every ``name: value`` of a dict or every field of a dataclass, in order (e.g. the
    numbers of :mod:`setdyn.book.chapters` or :mod:`setdyn.sweep.stats`)."""
    if dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = dataclasses.asdict(values)
    if not isinstance(values, dict):
        raise ValueError(f"glue_all takes a dict or a dataclass instance, got {type(values).__name__}")
    for name, value in values.items():
        glue(name, value)


def glued_values(source: str | Path | dict) -> dict[str, Any]:
    """Every value glued in an executed notebook, name -> Python value.

    Parameters
    ----------
    source : path or dict
        An executed notebook (``.ipynb``, or its nbformat JSON as a dict), or the
        ``<page>.glue.json`` myst-nb writes beside it in ``_build/jupyter_execute`` (name ->
        output; myst-nb moves the glue outputs there from the notebook).

    Returns
    -------
    dict
        The last value glued under each name, parsed from its ``text/plain`` form
        (``ast.literal_eval``; a value that is not a literal is kept as its text).
    """
    data = source if isinstance(source, dict) else json.loads(Path(source).read_text(encoding="utf-8"))
    if "cells" in data:
        outputs = [out for cell in data["cells"] for out in cell.get("outputs", []) or []]
    else:
        outputs = list(data.values())
    values: dict[str, Any] = {}
    for out in outputs:
        name = (out.get("metadata") or {}).get("scrapbook", {}).get("name")
        if name is None:
            continue
        bundle = out.get("data", {})
        text = bundle.get(GLUE_PREFIX + "text/plain", bundle.get("text/plain"))
        if isinstance(text, list):
            text = "".join(text)
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    return values


def notebook_errors(notebook: str | Path | dict) -> list[str]:
    """The error outputs (``ename: evalue``) of an executed notebook; empty when every cell ran."""
    nb = notebook if isinstance(notebook, dict) else json.loads(Path(notebook).read_text(encoding="utf-8"))
    return [f"{out.get('ename')}: {out.get('evalue')}" for cell in nb.get("cells", [])
            for out in cell.get("outputs", []) or [] if out.get("output_type") == "error"]
