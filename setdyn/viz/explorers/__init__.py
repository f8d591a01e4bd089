"""Explorers: the handcrafted oscillator and the trained network, live in the page.

Three layers, one module each:

* :mod:`.data`: what Python computes and exports for the page (trials, the oscillator and its
  verdict, the network with its PCA basis, the JSON the JavaScript reads);
* :mod:`.static`: the static HTML + ``setdyn/viz/js/model.js`` and ``explorer.js`` (runs in the built book);
* :mod:`.plots` and :mod:`.live`: the same figures computed in Python, and the ipywidgets
  versions for a running kernel.

A chapter calls :func:`show_oscillator_explorer` or :func:`show_network_explorer`.
"""
from __future__ import annotations

from .data import (NOISE_TRIALS, PAPER_PARAMS, VALID_TOLERANCE_DEG, ExplorerNetwork, KickCode, OscillatorPhase,
                   explorer_network, explorer_params, kick_code, network_explorer_data, network_json, onsets_to_steps,
                   oscillator, oscillator_explorer_data, oscillator_phase, params_from_fit, task_json, trial_from)
from .live import (as_lists, oscillator_verdict_html, figure_widget, network_explorer_widget, oscillator_explorer_widget,
                   show_network_explorer, show_oscillator_explorer, update_figure_widget)
from .plots import network_explorer_figure, oscillator_explorer_figure
from .static import ExplorerHTML, explorer_css, explorer_js, network_explorer_html, oscillator_explorer_html

__all__ = [
    "NOISE_TRIALS", "PAPER_PARAMS", "VALID_TOLERANCE_DEG", "ExplorerNetwork", "KickCode", "OscillatorPhase", "kick_code", "explorer_network",
    "explorer_params", "network_explorer_data", "network_json", "onsets_to_steps", "oscillator",
    "oscillator_explorer_data", "oscillator_phase", "params_from_fit", "task_json", "trial_from", "as_lists", "oscillator_verdict_html",
    "figure_widget", "network_explorer_widget", "oscillator_explorer_widget", "show_network_explorer",
    "show_oscillator_explorer", "update_figure_widget", "network_explorer_figure", "oscillator_explorer_figure",
    "ExplorerHTML", "explorer_css", "explorer_js", "network_explorer_html", "oscillator_explorer_html",
]
