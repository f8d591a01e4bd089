"""What every figure of the book shares: colours, layout, sample times, pulse shading, :class:`TrialSignal`.

The functions here draw; they do not measure. Simulations and measurements
come from :mod:`setdyn.model`, :mod:`setdyn.analysis`, :mod:`setdyn.automaton`
and :mod:`setdyn.oscillator`; the chapters pass their results in. (The one
exception is :func:`r_squared`, the coefficient of determination used to
score an oscillator curve against the network, see its docstring.)

Conventions shared by all figures:

* colours of the stimuli are the paper's (:data:`setdyn.task.COLOR_HEX`);
  trials that are valid SETs are drawn in :data:`VALID_HEX`, invalid ones in
  :data:`INVALID_HEX`, the input-free network in :data:`NO_INPUT_HEX`;
* time is in ms; a sample of a run at index t (``rates[:, t]``, the state
  after the input of step t) is drawn at ``(t + 1) * 10`` ms
  (:func:`sample_times`);
* phases are in degrees, with the free-running network's phase as 0 (see
  :mod:`setdyn.analysis`); on phase circles 0 degrees is at the right and
  phases grow counterclockwise (the direction the cycle turns).

Every function returns a :class:`plotly.graph_objects.Figure` whose traces
have stable names (tests rely on them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from ... import task

#: Valid SETs / invalid triples / no input.
VALID_HEX = "#111111"
INVALID_HEX = "#A6A6A6"
NO_INPUT_HEX = "#8C8C8C"
#: The paper's values are drawn with this dash style wherever they are compared.
PAPER_DASH = "dash"
TEMPLATE = "plotly_white"
FONT = {"size": 13}


def color_hex(c: int | str) -> str:
    """Paper colour of a stimulus colour given by index, name or letter."""
    return task.COLOR_HEX[task.COLORS[task.color_index(c)]]


def sample_times(n_steps: int = task.N_STEPS) -> np.ndarray:
    """Times (ms) of the samples of a run: (t + 1) * dt for t = 0 .. n_steps - 1."""
    return (np.arange(n_steps) + 1) * task.DT_MS


def apply_layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    """The book's look on a figure: template, font, margins (px) and `height` (px); `kw` go to update_layout."""
    margin = kw.pop("margin", {"l": 60, "r": 20, "t": 50, "b": 50})
    fig.update_layout(template=TEMPLATE, height=height, font=FONT, margin=margin,
                      **kw)
    return fig


def shade_pulses(fig: go.Figure, colors: Sequence[int], onsets: Sequence[int], row: int | None = None,
                 col: int | None = None, neutral: bool = False, opacity: float = 0.3) -> None:
    """Shade each pulse (onset step o covers o*10 .. (o+2)*10 ms) in its colour (or grey)."""
    for c, o in zip(colors, onsets):
        if c is None or int(c) < 0:
            continue
        kw = {"row": row, "col": col} if row is not None else {}
        fig.add_vrect(x0=o * task.DT_MS, x1=(o + task.PULSE_STEPS) * task.DT_MS, line_width=0, layer="below",
                      fillcolor=NO_INPUT_HEX if neutral else color_hex(int(c)), opacity=opacity, **kw)


@dataclass(frozen=True)
class TrialSignal:
    """One trial's signal for a time-series figure.

    label: legend / panel name; colors, onsets: the pulses (colour indices,
    onset steps; empty for no input); y: one value per sample (drawn at
    :func:`sample_times`); valid: True/False for a SET, None for no input.
    """

    label: str
    colors: tuple[int, ...]
    onsets: tuple[int, ...]
    y: np.ndarray

    @property
    def valid(self) -> bool | None:
        return task.is_valid_set(self.colors) if len(self.colors) == 3 else None

    @property
    def line_color(self) -> str:
        """The colour of a single-colour trial (GGG -> green), else black (valid) / grey (no input)."""
        if not self.colors:
            return NO_INPUT_HEX
        if len(set(self.colors)) == 1:
            return color_hex(self.colors[0])
        return VALID_HEX if self.valid else "#555555"


def trial_signal(label: str, sequence: str | Sequence[int] | None, onsets: Sequence[int] | None,
                 y: np.ndarray) -> TrialSignal:
    """A :class:`TrialSignal` from a sequence ('PGP', or None / '' for no input) and onset steps."""
    colors = task.parse_sequence(sequence) if sequence else ()
    if not colors:
        ons: tuple[int, ...] = ()
    else:
        ons = task.check_onsets(task.default_onsets(len(colors)) if onsets is None else onsets)
    return TrialSignal(label, tuple(colors), ons, np.asarray(y, dtype=float).ravel())
