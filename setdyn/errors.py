"""Errors shared by the parts of setdyn (a module of its own, so that every part can raise them
without importing the command line)."""
from __future__ import annotations


class CliError(Exception):
    """An error reported as one line on stderr with exit code 2."""
