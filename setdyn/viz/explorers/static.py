"""The explorers as static HTML: the exported data (:mod:`.data`) as JSON beside the explorers'
plain-JS program (``setdyn/viz/js/model.js`` and ``explorer.js``), which recomputes everything in the reader's
browser and draws with ``window.Plotly`` (loaded by the book from its own files). Works in the
built book, with no kernel.
"""
from __future__ import annotations

import hashlib
import html
import itertools
import json
from pathlib import Path
from typing import Any, Sequence

from ...model import CTRNN
from .data import NOISE_TRIALS, network_explorer_data, oscillator_explorer_data
from ...display import HTMLFragment

JS_DIR = Path(__file__).resolve().parents[1] / "js"

_ids = itertools.count(1)


class ExplorerHTML(HTMLFragment):
    """HTML of a static explorer (`setdyn.display.HTMLFragment`)."""

    what = "explorer"


def explorer_js() -> str:
    """The explorers' JavaScript: the computations (setdyn/viz/js/model.js, ``window.setdynModel``), the
    fast redraw (redraw.js, ``window.setdynRedraw``), then the controls and figures (setdyn/viz/js/explorer.js,
    ``window.setdynExplorers``)."""
    return "\n".join((JS_DIR / name).read_text(encoding="utf-8") for name in ("model.js", "redraw.js", "explorer.js"))


def explorer_css() -> str:
    """The explorers' stylesheet (setdyn/viz/js/explorer.css)."""
    return (JS_DIR / "explorer.css").read_text(encoding="utf-8")


def _explorer_html(kind: str, data: dict[str, Any], height: int, intro: str) -> ExplorerHTML:
    payload = json.dumps({"kind": kind, **data}, separators=(",", ":")).replace("</", "<\\/")
    uid = f"setdyn-{kind}-{next(_ids)}-{hashlib.sha1(payload.encode()).hexdigest()[:8]}"
    js = explorer_js()
    if "</script" in js.lower():
        raise ValueError("explorer.js must not contain '</script'")
    # data-setdyn-needs-plotly (and class="plotly-graph-div") make setdyn.book.sphinx_ext load plotly.js on the page
    return ExplorerHTML(
        f'<div class="setdyn-explorer" id="{uid}" data-kind="{kind}" data-setdyn-needs-plotly>\n'
        f"<style>{explorer_css()}</style>\n"
        f'<p class="sx-intro">{html.escape(intro)}</p>\n'
        '<div class="sx-controls"></div>\n'
        '<div class="sx-verdict" aria-live="polite"></div>\n'
        f'<div class="plotly-graph-div" style="height:{int(height)}px"></div>\n'
        "<noscript>This explorer runs in your browser and needs JavaScript.</noscript>\n"
        f'<script type="application/json" class="sx-data">{payload}</script>\n'
        f'<script>\n{js}\nwindow.setdynExplorers.mount(document.getElementById("{uid}"));\n</script>\n'
        "</div>\n"
    )


def oscillator_explorer_html(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGR",
                             onsets: Sequence[int] | None = None, params: dict[str, Any] | None = None,
                             presets: dict[str, dict[str, Any]] | None = None, train_seed: int | None = None,
                             angle_deg: float | None = None) -> ExplorerHTML:
    """Static oscillator explorer: sliders for A, T, offset and the kick of each colour, the trial
    (colours and onsets), f(t) beside the network's rPC1 for the same trial (simulated in the
    browser), the final phase on a phase circle and the verdict.

    ``onsets`` in steps of 10 ms (default 5, 15, 25); ``params`` the starting slider values
    (default: the paper's); ``presets`` named parameter sets offered as buttons (the paper's
    values are always offered as "paper's values").
    """
    data = oscillator_explorer_data(model, sequence=sequence, onsets=onsets, params=params, presets=presets,
                                    train_seed=train_seed, angle_deg=angle_deg)
    return _explorer_html("oscillator", data, 520, "The oscillator and the network run in your browser: "
                          "move a slider, pick colours or change the onsets.")


def network_explorer_html(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGR",
                          onsets: Sequence[int] | None = None, noise_std: float = 0.1, seed: int = 0,
                          noise_trials: int = NOISE_TRIALS, train_seed: int | None = None,
                          angle_deg: float | None = None) -> ExplorerHTML:
    """Static network explorer: the trained CT-RNN simulated in the browser for the trial the
    reader picks: z(t), the trajectory in PC1-PC2 over the limit cycle, the end point among
    the training trials' end points, the network's answer, and noisy repeats on demand.
    """
    data = network_explorer_data(model, sequence=sequence, onsets=onsets, noise_std=noise_std, seed=seed,
                                 noise_trials=noise_trials, train_seed=train_seed, angle_deg=angle_deg)
    return _explorer_html("network", data, 480, "The trained network runs in your browser: pick the colours "
                          "and onsets; the noise button repeats the trial with recurrent noise.")
