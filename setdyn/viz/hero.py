"""The book's hero figure: the trained network's limit cycle, kicked live by G / P / R buttons.

A dot goes round the closed orbit the input-free network settles on (its
rates projected on the first two principal components of the training
trials, as in chapter 4), at the measured period slowed down by
:data:`SLOWDOWN`. Each colour button shifts the dot's phase by the phase
shift one 20 ms pulse of that colour causes in the network (the mean of its
phase response curve over the cycle, as in chapters 4 and 5). The three
states of the automaton are three arcs of the orbit, a third of a turn each,
centred on the phases 0, +120 and -120 degrees relative to the unperturbed
network (shifted by the colours' common offset per pulse); the arc holding the
dot is lit. After three colours a one-line verdict gives the state reached
(the Z3 sum of the colours' steps) and whether it is the start state, i.e.
whether the three colours are a SET, next to the network's own answer.

Everything runs in the reader's browser from a small JSON payload
(:func:`hero_data`) and ``setdyn/viz/js/hero.js``; no plotly, no kernel,
nothing fetched. In a myst-nb chapter, a cell tagged ``remove-input`` whose
last expression is :func:`hero` (or ``hero_html(hero_data())``) shows it:
the returned string has a ``_repr_html_``, so Jupyter publishes ``text/html``,
which the book keeps as raw HTML.
"""
from __future__ import annotations

import hashlib
import html
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import analysis, paper, task
from ..model import CTRNN
from ..display import HTMLFragment

JS_DIR = Path(__file__).parent / "js"

#: The hero shows the cycle this many times slower than the network runs it.
SLOWDOWN = 20.0
#: Points of the orbit exported (evenly spaced in phase).
ORBIT_POINTS = 180

_ids = itertools.count(1)


class HeroHTML(HTMLFragment):
    """HTML of the hero figure (`setdyn.display.HTMLFragment`)."""

    what = "hero figure"


def hero_data(model: CTRNN | None = None, *, train_seed: int | None = None, slowdown: float = SLOWDOWN,
              n_points: int = ORBIT_POINTS) -> dict[str, Any]:
    """What the hero figure needs, measured on a trained network (the shipped one by default).

    Parameters
    ----------
    model : CTRNN, optional
        The network; default: the shipped model (:func:`setdyn.weights.load`).
    train_seed : int, optional
        Seed of the training set whose noise-free rates define PC1 and PC2
        (:func:`setdyn.analysis.training_pca`); default: the shipped model's
        recorded seed. Required for another model.
    slowdown : float
        How many times slower than the network the cycle is shown (> 0).
    n_points : int
        Points of the orbit exported, evenly spaced in phase (>= 12).

    Returns
    -------
    dict
        JSON-ready: ``period_ms`` (float, ms), ``slowdown``, ``orbit`` (n_points x 2
        list, PC1 and PC2 at phases 360 k / n_points degrees; phase 0 is the
        asymptotic phase of x0, the phase grows with time), ``kicks_deg`` (3,
        measured mean shift of one pulse over the cycle, degrees, green, purple,
        red), ``common_offset_deg`` (float), ``z3_steps`` (3 ints: kick = common offset
        + 120 x step), ``class_deg`` (120), ``colors`` (name, letter, hex),
        ``onsets_ms`` (the onsets of the network's trials) and
        ``network_z`` (sequence name -> the network's output z at 500 ms for those
        onsets, noise-free), ``decision_threshold``.

    Raises
    ------
    ValueError
        If the network has no limit cycle, its kicks are not a Z3 code (three
        different steps), or an argument is out of range.
    """
    from .. import validate, weights

    slowdown = validate.positive(slowdown, "slowdown")
    n_points = validate.whole(n_points, "n_points", 12)
    model, train_seed = weights.model_and_training_seed(model, train_seed)

    cycle = analysis.free_run_dynamics(model)
    if cycle.kind != "limit cycle":
        raise ValueError(f"the hero figure needs a network whose input-free dynamics is a limit cycle, "
                         f"this one is a {cycle.kind}")
    ref = analysis.phase_reference(model, cycle)
    prc = analysis.phase_response_curve(model, ref)
    code = analysis.phase_code_from_means(prc.mean_deg, prc.std_deg)
    if not code.is_bijection:
        raise ValueError(f"the network's kicks are not a Z3 phase code (steps {code.steps} per colour "
                         f"{task.COLORS}; they must be all different)")

    pca = analysis.training_pca(model, seed=int(train_seed))
    phases = 360.0 * np.arange(n_points) / n_points
    with torch.no_grad():
        rates = analysis.activation(model, torch.as_tensor(ref.curve(phases), dtype=model.x0.dtype))
    orbit = pca.project(rates.numpy())[:, :2]

    trials = task.test_set()
    with torch.no_grad():
        z_last = model.run(trials.codes).outputs[:, -1].double().numpy()

    return {
        "period_ms": round(float(cycle.period_ms), 3),
        "slowdown": float(slowdown),
        "orbit": np.round(orbit, 4).tolist(),
        "kicks_deg": [round(float(k), 3) for k in code.kick_mean_deg],
        "common_offset_deg": round(float(code.common_offset_deg), 3),
        "z3_steps": [int(s) for s in code.steps],
        "class_deg": float(analysis.CLASS_DEG),
        "colors": [{"name": n, "letter": letter, "hex": paper.COLOR_HEX[n]}
                   for n, letter in zip(paper.COLORS, paper.COLOR_LETTERS)],
        "onsets_ms": [float(o * paper.DT_MS) for o in trials.onsets[0]],
        "network_z": {task.sequence_name(c): round(float(z), 4) for c, z in zip(trials.colors, z_last)},
        "decision_threshold": paper.DECISION_THRESHOLD,
    }


def _deg(a: float) -> str:
    """An angle as the figure writes it: '+101°', '−17°' (true minus sign), '0°'."""
    r = int(round(a))
    return f"{'+' if r > 0 else '−' if r < 0 else ''}{abs(r)}°"


def hero_js() -> str:
    """The hero's JavaScript (setdyn/viz/js/hero.js)."""
    return (JS_DIR / "hero.js").read_text(encoding="utf-8")


def hero_css() -> str:
    """The hero's style sheet (setdyn/viz/js/hero.css)."""
    return (JS_DIR / "hero.css").read_text(encoding="utf-8")


def hero_html(data: dict[str, Any], *, label: str = "") -> HeroHTML:
    """A self-contained HTML fragment of the hero figure (style, data and script inlined).

    Parameters
    ----------
    data : dict
        The output of :func:`hero_data`.
    label : str
        Put before the caption, e.g. ``"Figure 1."`` (default: none).

    Returns
    -------
    HeroHTML
        A ``<figure>`` with the data in a ``<script type="application/json">``
        and the script mounting it; several copies on one page are fine.
    """
    missing = {"period_ms", "slowdown", "orbit", "kicks_deg", "common_offset_deg", "z3_steps", "colors",
               "network_z", "onsets_ms"} - set(data)
    if missing:
        raise ValueError(f"hero data lacks {sorted(missing)}; build it with hero_data()")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    uid = f"setdyn-hero-{next(_ids)}-{hashlib.sha1(payload.encode()).hexdigest()[:8]}"
    js, css = hero_js(), hero_css()
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("hero.js / hero.css must not contain '</script' or '</style'")
    period, slow = float(data["period_ms"]), float(data["slowdown"])
    common = float(data["common_offset_deg"])
    kicks = ", ".join(f"{c['name']} {_deg(k)}" for c, k in zip(data["colors"], data["kicks_deg"]))
    caption = (
        f"{html.escape(label) + ' ' if label else ''}"
        "Without input the trained network goes round a limit cycle: its 100 rates, seen in their first two "
        f"principal components, repeat every {period:.0f}&nbsp;ms (shown {slow:.0f}× slower). "
        "Each button shifts the dot's phase by what one 20&nbsp;ms pulse of that colour does to the network, "
        f"as measured ({kicks}, averaged over the cycle). "
        "The three arcs are the automaton's three states, a third of a turn each, counted from where the "
        f"network would be without input; every colour also moves them by the common {_deg(common)}. "
        "Three colours form a SET exactly when the dot ends in the arc it started in."
    )
    return HeroHTML(
        f'<figure class="setdyn-hero" id="{uid}">\n'
        f"<style>{css}</style>\n"
        '<div class="sh-body"></div>\n'
        f'<figcaption class="sh-caption">{caption}</figcaption>\n'
        "<noscript>This figure runs in your browser and needs JavaScript.</noscript>\n"
        f'<script type="application/json" class="sh-data">{payload}</script>\n'
        f'<script>\n{js}\nwindow.setdynHero.mount(document.getElementById("{uid}"));\n</script>\n'
        "</figure>\n"
    )


def hero(model: CTRNN | None = None, *, label: str = "", **kwargs: Any) -> HeroHTML:
    """:func:`hero_html` of :func:`hero_data` (keyword arguments go to :func:`hero_data`)."""
    return hero_html(hero_data(model, **kwargs), label=label)
