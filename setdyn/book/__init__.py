"""The book layer: what the chapters share.

* :func:`glue` / :func:`glue_all` (one definition for every chapter) and :func:`glued_values` (read the glued
  numbers back from an executed notebook), in :mod:`.glued`;
* :func:`shipped`: the shipped model and its results, computed once per kernel, in :mod:`.results`;
* :func:`separating_arc` and other small chapter measurements, in :mod:`.measures`;
* the numbers each chapter glues, one function per chapter, in :mod:`.chapters`;
* the paper's and the book's references (BibTeX for the introduction), in :mod:`.cite`;
* the Sphinx extension (:mod:`.sphinx_ext`, loaded from ``_config.yml``) and the builder
  (:mod:`.build`, ``python -m setdyn.book.build``, what ``make book`` runs).

Only :mod:`.glued` is imported eagerly: the Sphinx extension and the builder must not import
torch.
"""
from __future__ import annotations

from typing import Any

from .glued import glue, glue_all, glued_values

__all__ = ["glue", "glue_all", "glued_values", "shipped", "Shipped", "separating_arc"]


def __getattr__(name: str) -> Any:
    if name in ("shipped", "Shipped"):
        from . import results as module

        return getattr(module, name)
    if name == "separating_arc":
        from .measures import separating_arc

        return separating_arc
    raise AttributeError(f"module 'setdyn.book' has no attribute {name!r}")
