"""Every figure of the book: functions that turn computed results into plotly figures.

The functions here draw; they do not measure. Simulations and measurements
come from :mod:`setdyn.model`, :mod:`setdyn.analysis`, :mod:`setdyn.automaton`
and :mod:`setdyn.oscillator`; the chapters pass their results in. (The one
exception is :func:`r_squared`, the coefficient of determination used to
score an oscillator curve against the network.)

One module per topic: :mod:`.common` (colours, layout, sample times,
:class:`TrialSignal`), :mod:`.trials` (chapters 1-3), :mod:`.portrait`
(chapter 4), :mod:`.phase` (chapter 5), :mod:`.oscillator` (chapter 6). All
public names are re-exported here, so a chapter writes
``from setdyn.viz import figures`` and ``figures.trial_figure(...)``.

Every function returns a :class:`plotly.graph_objects.Figure` whose traces
have stable names (tests rely on them).
"""
from __future__ import annotations

from .common import (FONT, INVALID_HEX, NO_INPUT_HEX, PAPER_DASH, TEMPLATE, VALID_HEX, TrialSignal, color_hex,
                     sample_times, trial_signal)
from .oscillator import oscillator_figure, r_squared
from .phase import (automaton_figure, end_phase_figure, hexagon_hypothesis_figure, length_figure, noise_figure,
                    phase_path_figure, prc_figure)
from .portrait import phase_portrait_3d, phase_portrait_figure, rotation_figure, rpc1_figure, variance_figure
from .trials import combinations_grid, output_figure, trial_figure, trial_picker_figure, training_curves

__all__ = [
    "FONT", "INVALID_HEX", "NO_INPUT_HEX", "PAPER_DASH", "TEMPLATE", "VALID_HEX", "TrialSignal", "color_hex",
    "sample_times", "trial_signal", "oscillator_figure", "r_squared", "automaton_figure", "end_phase_figure",
    "hexagon_hypothesis_figure", "length_figure", "noise_figure", "phase_path_figure", "prc_figure",
    "phase_portrait_3d", "phase_portrait_figure", "rotation_figure", "rpc1_figure", "variance_figure",
    "combinations_grid", "output_figure", "trial_figure", "trial_picker_figure", "training_curves",
]
