"""The map of solutions: every trained network as a point of the MDS map of its dynamics, coloured by its
mechanism (`setdyn.analysis.taxonomy` label), drawn in the reader's browser by ``setdyn/viz/js/solution_map.js``
with ``window.Plotly`` (loaded by the book from its own files). Clicking a point (or picking it in a list)
shows that network's phase portrait and output traces beside the map; checkboxes filter by setting.

The data (schema ``setdyn-solution-map/1``, `load_map`) is built by ``python -m setdyn map``. Each network's
traces travel int8-quantised (`encode_detail`, `decode_detail`; the JS decodes the same way).
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
from html import escape as html_escape
from pathlib import Path
from typing import Any

import numpy as np

from .. import paper
from ..display import HTMLFragment

JS_DIR = Path(__file__).parent / "js"
#: The shipped map (built by ``python -m setdyn map``, `setdyn.solution_map`).
MAP_FILE = Path(__file__).resolve().parents[1] / "data" / "solution_map.json"
SCHEMA = "setdyn-solution-map/1"
#: The detail block's quantities, in their order in ``q``.
QUANTITIES: tuple[str, ...] = ("rate PC1", "rate PC2", "output z")
#: Colour of each mechanism label (Okabe-Ito, colour-blind friendly; greys for "no mechanism").
PALETTE: dict[str, str] = {
    "not-learned": "#BBBBBB", "phase-code": "#D55E00", "star": "#0072B2", "hexagon": "#009E73",
    "lattice": "#F0E442", "line-attractor": "#56B4E9", "fixed-points": "#CC79A7", "transient": "#E69F00",
    "unlabelled": "#555555"}
#: Colours for labels missing from `PALETTE` (Paul Tol's muted scheme), given out in `labels` order.
SPARE_COLOURS: tuple[str, ...] = ("#332288", "#882255", "#44AA99", "#999933", "#AA4499", "#88CCEE", "#117733")
NETWORK_KEYS = frozenset({"id", "source", "seed", "alpha", "noise_std", "activation", "taxon", "taxon_reason",
                          "fresh_acc_clean", "period_ms", "x", "y", "detail"})

#: Parts of the map's data the page does not need (the chapter reads them in Python): leaving them out keeps
#: the page small (the distances grow as the square of the networks).
PAGE_OMITS = frozenset({"distances", "angular_check", "examples", "method"})

_ids = itertools.count(1)


class SolutionMapHTML(HTMLFragment):
    """HTML of the map of solutions (`setdyn.display.HTMLFragment`)."""

    what = "map of solutions"


def label_colours(labels: list[str]) -> dict[str, str]:
    """Colour (hex) of every label: `PALETTE`'s, else the next of `SPARE_COLOURS` (then grey) in `labels` order."""
    spare = iter(SPARE_COLOURS)
    return {lab: PALETTE.get(lab) or next(spare, "#777777") for lab in labels}


def encode_detail(pc1: Any, pc2: Any, z: Any) -> dict[str, Any]:
    """A network's traces as the map's int8 ``detail`` block.

    ``pc1``, ``pc2`` (rates projected on the network's first two PCs, state units) and ``z`` (output) are
    arrays of one shape (n_trials, T): trials in the order of the map's ``sequences``, T samples at its
    ``t_ms``. Returns ``{"scale": [s_pc1, s_pc2, s_z], "q": base64}``: ``q`` holds int8 values
    round(x / scale * 127) in (quantity, trial, time) C order, so each value comes back within
    scale / 254 (`decode_detail`). ``scale`` is each quantity's largest |value| (1.0 when all are 0).
    """
    arrays = [np.asarray(a, dtype=float) for a in (pc1, pc2, z)]
    shapes = [a.shape for a in arrays]
    if len(set(shapes)) > 1 or arrays[0].ndim != 2 or 0 in shapes[0]:
        raise ValueError(f"encode_detail: pc1, pc2, z have shapes {shapes[0]}, {shapes[1]}, {shapes[2]}; they must be "
                         "non-empty 2-D arrays of one shape (n_trials, T), for the map (27 trials, len(t_ms))")
    for name, a in zip(("pc1", "pc2", "z"), arrays):
        if not np.isfinite(a).all():
            raise ValueError(f"encode_detail: {name} has {int((~np.isfinite(a)).sum())} non-finite values "
                             "(NaN or inf); the map can only show finite traces")
    stack = np.stack(arrays)
    peak = np.abs(stack).max(axis=(1, 2))
    scale = np.where(peak > 0, peak, 1.0)
    q = np.clip(np.rint(stack / scale[:, None, None] * 127), -127, 127).astype(np.int8)
    return {"scale": [float(s) for s in scale], "q": base64.b64encode(q.tobytes()).decode("ascii")}


def decode_detail(detail: dict[str, Any], n_trials: int, T: int) -> np.ndarray:
    """The (3, n_trials, T) float array of a ``detail`` block (`encode_detail`): rate PC1, rate PC2, output z,
    value = q / 127 * scale[quantity]."""
    scale = np.asarray(detail.get("scale", []), dtype=float)
    if scale.shape != (3,) or not np.isfinite(scale).all() or (scale <= 0).any():
        raise ValueError(f"decode_detail: scale must be 3 positive finite numbers (PC1, PC2, z), got {detail.get('scale')!r}")
    try:
        raw = base64.b64decode(detail.get("q", ""), validate=True)
    except ValueError as exc:
        raise ValueError(f"decode_detail: q is not base64 ({exc})") from None
    if len(raw) != 3 * n_trials * T:
        raise ValueError(f"decode_detail: q holds {len(raw)} bytes; shape (3, {n_trials}, {T}) needs "
                         f"{3 * n_trials * T}")
    q = np.frombuffer(raw, dtype=np.int8).reshape(3, n_trials, T)
    return q / 127.0 * scale[:, None, None]


def check_map(data: dict[str, Any]) -> None:
    """Raise ValueError naming the first problem of a map payload (schema ``setdyn-solution-map/1``)."""
    missing = {"labels", "sequences", "valid", "t_ms", "networks"} - set(data)
    if missing:
        raise ValueError(f"map data lacks {sorted(missing)} (schema {SCHEMA})")
    if len(data["valid"]) != len(data["sequences"]):
        raise ValueError(f"{len(data['valid'])} valid flags for {len(data['sequences'])} sequences")
    if not data["networks"]:
        raise ValueError("map data has no networks")
    ids = [n.get("id") for n in data["networks"]]
    if len(set(ids)) != len(ids):
        raise ValueError("network ids are not unique")
    for net in data["networks"]:
        lack = NETWORK_KEYS - set(net)
        if lack:
            raise ValueError(f"network {net.get('id')!r} lacks {sorted(lack)}")
        if net["taxon"] not in data["labels"]:
            raise ValueError(f"network {net['id']!r} has taxon {net['taxon']!r}, not one of {data['labels']}")
        decode_detail(net["detail"], len(data["sequences"]), len(data["t_ms"]))


def map_html(data: dict[str, Any], alt: str | None = None) -> SolutionMapHTML:
    """A self-contained HTML fragment (style, data and script inlined) of the map of solutions.

    ``data`` follows schema ``setdyn-solution-map/1`` (`load_map`). The payload adds each label's colour
    (`label_colours`), the decision threshold and dt (ms, for tau = dt / alpha). ``alt``: the text a screen
    reader gives for the whole map (the book's figures carry one; ``role="group"`` keeps its controls reachable).
    """
    check_map(data)
    page = {k: v for k, v in data.items() if k not in PAGE_OMITS}
    payload = json.dumps({**page, "colours": label_colours(list(data["labels"])),
                          "threshold": paper.DECISION_THRESHOLD, "dt_ms": paper.DT_MS},
                         separators=(",", ":")).replace("</", "<\\/")
    uid = f"setdyn-map-{next(_ids)}-{hashlib.sha1(payload.encode()).hexdigest()[:8]}"
    js = (JS_DIR / "solution_map.js").read_text(encoding="utf-8")
    css = (JS_DIR / "solution_map.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("solution_map.js / solution_map.css must not contain '</script' or '</style'")
    # data-setdyn-needs-plotly (and class="plotly-graph-div") make setdyn.book.sphinx_ext load plotly.js
    if alt is not None and not str(alt).strip():
        raise ValueError("alt must be a description of the map, got an empty string")
    wrap = (f'<div class="setdyn-figure" role="group" aria-label="{html_escape(str(alt), quote=True)}">', "</div>\n") \
        if alt else ("", "")
    return SolutionMapHTML(wrap[0] +
        f'<div class="setdyn-solution-map" id="{uid}" data-setdyn-needs-plotly>\n<style>{css}</style>\n'
        '<div class="sm-body"><div class="sm-main"><div class="sm-filters"></div>'
        '<p class="sm-status" aria-live="polite"></p><div class="sm-map plotly-graph-div"></div></div>\n'
        '<div class="sm-detail" aria-live="polite"></div></div>\n'
        "<noscript>This map runs in your browser and needs JavaScript.</noscript>\n"
        f'<script type="application/json" class="sm-data">{payload}</script>\n'
        f'<script>\n{js}\nwindow.setdynSolutionMap.mount(document.getElementById("{uid}"));\n</script>\n</div>\n'
        + wrap[1])


def load_map(path: str | Path | None = None) -> dict[str, Any]:
    """The map's data (default: the shipped ``setdyn/data/solution_map.json``)."""
    path = Path(path) if path is not None else MAP_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; build the map's data with `python -m setdyn map`")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path} has schema {data.get('schema')!r}, not {SCHEMA!r}; rebuild it with "
                         "`python -m setdyn map`")
    return data


def show_map(data: dict[str, Any] | None = None, alt: str | None = None) -> None:
    """Display the map of solutions (in Jupyter and in the book alike; ``data`` None: `load_map`;
    ``alt`` as in `map_html`)."""
    from IPython.display import display

    display(map_html(load_map() if data is None else data, alt=alt))


__all__ = ["PALETTE", "SolutionMapHTML", "decode_detail", "encode_detail", "label_colours", "load_map",
           "map_html", "show_map"]
