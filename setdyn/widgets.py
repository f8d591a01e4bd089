"""Explorers: the handcrafted oscillator and the trained network, live in the page.

Two explorers, each in two versions with the same controls:

* **static** (:func:`oscillator_explorer_html`, :func:`network_explorer_html`):
  HTML + a small plain-JS program (``setdyn/js/explorer.js``) that recomputes
  everything in the reader's browser and redraws with ``Plotly.react``. The
  network explorer embeds the shipped weights, colour encodings and PCA basis
  (float32, base64) and simulates the CT-RNN in JavaScript; it agrees with
  :mod:`setdyn.model` to ~1e-12. Works in the built book (no kernel) and
  needs nothing but ``window.Plotly``, which the book loads from its own files.
* **live** (:func:`oscillator_explorer_widget`, :func:`network_explorer_widget`):
  ipywidgets + plotly ``FigureWidget`` driven by setdyn's Python model, for
  a running kernel (Binder, JupyterLab).

A chapter calls :func:`show_oscillator_explorer` / :func:`show_network_explorer`,
which publish both: Jupyter shows the ipywidgets version, the book the static one
(see :func:`setdyn.display.live`).

Conventions shared by both versions:

* onsets are given in ms (multiples of 10 ms) and checked with the rules of
  :func:`setdyn.task.check_onsets`;
* oscillator ``f(t) = A sin(2 pi t / T + phi0 + sum of the kicks of the pulses
  with onset + delay <= t) - c`` (:func:`setdyn.analysis.oscillator.handcrafted`), one
  kick per pulse (kicks per colour in degrees; paper: green 0, purple +120,
  red -120, phi0 = 0, delay 0: the kick lands at the onset);
* the oscillator's verdict: *valid* iff the final phase is the phase the
  oscillator would have without any kick (the "valid phase") to within 60
  degrees, i.e. the kicks add up to a whole turn (with the paper's kicks the
  sum is exactly 0 or +-120 mod 360);
* the network's answer: ``z`` at the last step > 0.5 valid, < -0.5 invalid,
  otherwise undecided (:func:`setdyn.model.accuracy`);
* PC1/PC2: PCA of the noise-free rates of all training trials; rPC1 = cos(a) PC1
  + sin(a) PC2, with the angle a that best separates the end points of valid
  trials (low rPC1) from invalid ones, unless given: the same PCA
  (:func:`setdyn.analysis.training_pca`) and angle
  (:func:`setdyn.analysis.best_rotation`) as the chapters.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from . import task
from .model import CTRNN
from .numerics import wrap_deg

JS_DIR = Path(__file__).parent / "js"

#: The paper's hand-set oscillator (Fig. 8): f(t) = 7 sin(2 pi t / 0.29 s + kicks) - 1.5.
PAPER_OSCILLATOR: dict[str, Any] = {"amplitude": 7.0, "period_ms": 290.0, "offset": 1.5,
                                    "kicks_deg": [0.0, 120.0, -120.0], "phase0_deg": 0.0, "kick_delay_ms": 0.0}
#: The oscillator calls a trial valid when its kicks add up to within this angle of a whole turn.
VALID_TOLERANCE_DEG = 60.0
#: Noisy repeats run by the network explorer's noise button.
NOISE_TRIALS = 20
TRIAL_MS = task.N_STEPS * task.DT_MS

_ids = itertools.count(1)


# --------------------------------------------------------------------------- trials


def onsets_to_steps(onsets_ms: Sequence[float]) -> tuple[int, ...]:
    """Onsets in ms -> steps, checked with :func:`setdyn.task.check_onsets` (ValueError if not allowed)."""
    steps = []
    for k, o in enumerate(onsets_ms):
        if o is None or not np.isfinite(o):
            raise ValueError(f"onset {k + 1} is not a number")
        if round(o / task.DT_MS) * task.DT_MS != o:
            raise ValueError(f"onset {k + 1} ({o:g} ms) is not a multiple of {task.DT_MS:g} ms")
        steps.append(int(round(o / task.DT_MS)))
    return task.check_onsets(steps)


def _trial(sequence: str | Sequence[int], onsets: Sequence[int] | None) -> tuple[list[int], list[float]]:
    """(colour indices, onsets in ms) from a sequence ('PGP') and onsets in steps (default 5, 15, 25)."""
    seq = list(task.parse_sequence(sequence))
    if len(seq) != 3:
        raise ValueError(f"a trial has 3 colours, got {len(seq)}: {sequence!r}")
    steps = task.check_onsets(task.default_onsets() if onsets is None else onsets)
    return seq, [s * task.DT_MS for s in steps]


# --------------------------------------------------------------------------- the oscillator


def oscillator(t_ms: np.ndarray, sequence: Sequence[int], onsets_ms: Sequence[float], amplitude: float = 7.0,
               period_ms: float = 290.0, offset: float = 1.5, kicks_deg: Sequence[float] = (0.0, 120.0, -120.0),
               phase0_deg: float = 0.0, kick_delay_ms: float = 0.0) -> np.ndarray:
    """The handcrafted oscillator of one trial at times t (ms): :func:`setdyn.analysis.oscillator.handcrafted`."""
    from .analysis.oscillator import handcrafted

    seq = np.asarray(list(sequence), dtype=np.int64).reshape(1, -1)
    ons = np.asarray(list(onsets_ms), dtype=float).reshape(1, -1)
    return handcrafted(t_ms, ons, seq, amplitude=amplitude, period_ms=period_ms, offset=offset,
                       kicks_deg=kicks_deg, phase0_deg=phase0_deg, kick_delay_ms=kick_delay_ms)[0]


@dataclass
class OscillatorPhase:
    """Phases (deg, in [0, 360)) at the end of the trial and the oscillator's verdict."""

    valid_phase: float  #: the phase without any kick
    path: list[float]  #: valid phase, then the phase after each colour's kick
    final_phase: float
    off_by: float  #: kicks summed, wrapped to (-180, 180]
    verdict: str  #: "valid" or "invalid"


def oscillator_phase(sequence: Sequence[int], period_ms: float = 290.0,
                     kicks_deg: Sequence[float] = (0.0, 120.0, -120.0), phase0_deg: float = 0.0,
                     t_end_ms: float = TRIAL_MS, **_: Any) -> OscillatorPhase:
    """Final phase of the oscillator and its verdict: valid iff the kicks sum to within 60 deg of 0 mod 360."""
    valid = (phase0_deg + 360.0 * t_end_ms / period_ms) % 360.0
    path, total = [valid], 0.0
    for c in sequence:
        total += kicks_deg[c]
        path.append((valid + total) % 360.0)
    off = float(wrap_deg(total))
    if off == -180.0:
        off = 180.0
    return OscillatorPhase(valid, path, path[-1], off, "valid" if abs(off) < VALID_TOLERANCE_DEG else "invalid")


# --------------------------------------------------------------------------- the network


def answer(z_last: float) -> str:
    """The network's answer from z at the last step (the accuracy rule of setdyn.model.accuracy)."""
    return "valid" if z_last > 0.5 else "invalid" if z_last < -0.5 else "undecided"


@dataclass
class ExplorerNetwork:
    """A model plus what the explorers draw with it: PCA basis, rPC1 angle, training end points."""

    model: CTRNN  #: float64
    train_seed: int
    pca_mean: np.ndarray
    pca_components: np.ndarray  #: 2 x N
    explained: np.ndarray
    angle_deg: float
    end_points: np.ndarray  #: (trials x 2) PC1, PC2 of the last step of every training trial
    end_valid: np.ndarray
    end_class: np.ndarray  #: sum of the colour indices mod 3 (0 = valid), per training trial
    pc_radius: float  #: largest distance from the origin in the PC1-PC2 plane over all training rates
    _cache: dict = field(default_factory=dict, repr=False)

    def clusters(self, stride: int = 4) -> dict[str, Any]:
        """What the figures draw of the training end points: every ``stride``-th point (drawing all
        540 markers would triple the redraw time) and the convex hull of each class
        (sum of colour indices mod 3: 0 valid, 1 and 2 invalid)."""
        keep = np.arange(0, len(self.end_points), stride)
        hulls = []
        for k in range(3):
            pts = self.end_points[self.end_class == k]
            if len(pts):
                h = _convex_hull(pts)
                hulls.append({"x": h[:, 0], "y": h[:, 1], "valid": k == 0, "sum_mod_3": k})
        return {"points": self.end_points[keep], "valid": self.end_valid[keep], "hulls": hulls,
                "cycle": self.limit_cycle()}

    def limit_cycle(self, settle_steps: int = 1000, steps: int = 60) -> np.ndarray:
        """PC1, PC2 (steps x 2) of the input-free network after ``settle_steps``: its limit cycle."""
        if "cycle" not in self._cache:
            from .analysis import free_run_rates

            self._cache["cycle"] = self.project(free_run_rates(self.model, settle_steps + steps)[-steps:])
        return self._cache["cycle"]

    def project(self, rates: np.ndarray) -> np.ndarray:
        """PC1, PC2 (... x 2) of rates (... x N)."""
        return (np.asarray(rates) - self.pca_mean) @ self.pca_components.T

    def rpc1(self, pcs: np.ndarray) -> np.ndarray:
        a = np.deg2rad(self.angle_deg)
        return np.cos(a) * pcs[..., 0] + np.sin(a) * pcs[..., 1]

    def initial_rates(self) -> np.ndarray:
        return torch.tanh(self.model.x0.detach()).numpy()

    def run(self, sequence: Sequence[int], onsets_ms: Sequence[float], noise_std: float = 0.0,
            seed: int = 0, repeats: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(rates repeats x T+1 x N, outputs repeats x T+1) for one trial, with t = 0 (tanh(x0)) prepended."""
        codes = task.stimulus(sequence, onsets_to_steps(onsets_ms))
        key = (tuple(sequence), tuple(onsets_ms))
        if noise_std == 0 and key in self._cache:
            return self._cache[key]
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            run = self.model.run(np.repeat(codes[None], repeats, 0), noise_std=noise_std, generator=g)
        r0 = self.initial_rates()
        with torch.no_grad():
            z0 = float(self.model.readout(torch.as_tensor(r0)[None])[0])
        rates = np.concatenate([np.broadcast_to(r0, (repeats, 1, r0.size)), run.rates.numpy()], 1)
        z = np.concatenate([np.full((repeats, 1), z0), run.outputs.numpy()], 1)
        if noise_std == 0:
            self._cache[key] = (rates, z)
        return rates, z


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Closed convex hull polygon (k+1 x 2) of 2-D points (Andrew's monotone chain)."""
    pts = sorted(set(map(tuple, np.round(np.asarray(points, float), 9))))
    if len(pts) < 3:
        return np.array(pts + pts[:1])

    def half(seq):
        out: list = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    hull = lower[:-1] + upper[:-1]
    return np.array(hull + hull[:1])


_NETWORKS: dict[tuple, ExplorerNetwork] = {}


def _model_digest(model: CTRNN) -> str:
    h = hashlib.sha256()
    for k in ("J", "B", "b", "W", "b_out", "x0", "colors"):
        h.update(getattr(model, k).detach().to(torch.float64).numpy().tobytes())
    return h.hexdigest()


def explorer_network(model: CTRNN | None = None, train_seed: int | None = None,
                     angle_deg: float | None = None) -> ExplorerNetwork:
    """The network the explorers show: the shipped model by default.

    ``train_seed`` picks the training set the PCA is fitted on (default: the
    shipped model's recorded config seed; required for another model);
    ``angle_deg`` the rPC1 rotation (default: :func:`setdyn.analysis.best_rotation`).
    Cached per weights, seed and angle.
    """
    if model is None:
        from . import weights

        model = weights.load()
        if train_seed is None:
            train_seed = int(weights.load_meta()["config"]["seed"])
    elif train_seed is None:
        raise ValueError("give train_seed (the seed of setdyn.task.training_set the model was trained on) "
                         "for a model other than the shipped one")
    key = (_model_digest(model), int(train_seed), angle_deg)
    if key in _NETWORKS:
        return _NETWORKS[key]
    from . import analysis

    m64 = _as_float64(model)
    pca = analysis.training_pca(m64, seed=int(train_seed))
    mean, comps = pca.pca.mean_.copy(), pca.pca.components_[:2].copy()
    explained = np.asarray(pca.explained_variance_ratio[:2], dtype=float)
    ends = pca.scores[:, -1, :2].copy()
    valid = pca.trials.targets > 0
    angle = analysis.best_rotation(ends, valid).best_angle_deg if angle_deg is None else float(angle_deg) % 360.0
    radius = float(np.sqrt((pca.scores[..., :2] ** 2).sum(-1)).max())
    end_class = pca.trials.colors.sum(1) % 3
    net = ExplorerNetwork(m64, int(train_seed), mean, comps, explained, angle, ends, valid, end_class, radius)
    _NETWORKS[key] = net
    return net


def _as_float64(model: CTRNN) -> CTRNN:
    if model.J.dtype == torch.float64:
        return model.eval()
    m = CTRNN(model.colors.detach(), n_units=model.n_units, alpha=model.alpha, dtype=torch.float64)
    with torch.no_grad():
        for k in ("J", "B", "b", "W", "b_out", "x0"):
            getattr(m, k).copy_(getattr(model, k).detach().to(torch.float64))
    return m.eval()


# --------------------------------------------------------------------------- static HTML


def _b64(a: Any) -> str:
    return base64.b64encode(np.ascontiguousarray(np.asarray(a, dtype="<f4")).tobytes()).decode("ascii")


def _task_json() -> dict[str, Any]:
    return {"dt_ms": task.DT_MS, "n_steps": task.N_STEPS, "pulse_steps": task.PULSE_STEPS,
            "onset_min": task.ONSET_MIN, "onset_max": task.ONSET_MAX, "min_gap": task.MIN_ONSET_GAP,
            "names": list(task.COLORS), "letters": list(task.COLOR_LETTERS),
            "hex": [task.COLOR_HEX[c] for c in task.COLORS]}


def network_json(net: ExplorerNetwork) -> dict[str, Any]:
    """The network for the page: float32 weights (base64, little-endian), PCA basis and rotation."""
    m = net.model
    t = {k: getattr(m, k).detach().numpy() for k in ("J", "B", "b", "W", "b_out", "x0", "colors")}
    return {"n": int(m.n_units), "d": int(t["B"].shape[1]), "alpha": float(m.alpha),
            **{k: _b64(v) for k, v in t.items()},
            "pca_mean": _b64(net.pca_mean), "pca_components": _b64(net.pca_components),
            "angle_deg": net.angle_deg, "pc_radius": net.pc_radius}


class ExplorerHTML(str):
    """HTML of a static explorer: a ``str`` that Jupyter displays as HTML (``_repr_html_``)."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<setdyn explorer: {len(self.encode()) / 1024:.0f} kB of HTML; display it or write it into a page>"


def explorer_js() -> str:
    """The explorers' JavaScript (setdyn/js/explorer.js)."""
    return (JS_DIR / "explorer.js").read_text(encoding="utf-8")


def explorer_css() -> str:
    return (JS_DIR / "explorer.css").read_text(encoding="utf-8")


def _explorer_html(kind: str, data: dict[str, Any], height: int, intro: str) -> ExplorerHTML:
    payload = json.dumps({"kind": kind, **data}, separators=(",", ":")).replace("</", "<\\/")
    uid = f"setdyn-{kind}-{next(_ids)}-{hashlib.sha1(payload.encode()).hexdigest()[:8]}"
    js = explorer_js()
    if "</script" in js.lower():
        raise ValueError("explorer.js must not contain '</script'")
    # data-setdyn-needs-plotly (and class="plotly-graph-div") make setdyn._sphinx_ext load plotly.js on the page
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


def params_from_fit(fit: Any) -> dict[str, Any]:
    """Oscillator parameters (for ``params`` or ``presets``) from a :class:`setdyn.analysis.oscillator.OscillatorFit`
    or its ``to_dict()`` (e.g. ``analyze(model)["oscillator_fit"]``)."""
    d = fit.to_dict() if hasattr(fit, "to_dict") else dict(fit)
    return {"amplitude": d["amplitude"], "period_ms": d["period_ms"], "offset": d["offset"],
            "kicks_deg": [d["kick_deg"][c] for c in task.COLORS], "phase0_deg": d.get("phase0_deg", 0.0),
            "kick_delay_ms": d.get("kick_delay_ms", 0.0)}


def _params(params: dict[str, Any] | None) -> dict[str, Any]:
    p = {**PAPER_OSCILLATOR, **(params or {})}
    unknown = set(p) - set(PAPER_OSCILLATOR)
    if unknown:
        raise ValueError(f"unknown oscillator parameters {sorted(unknown)}; accepted: {sorted(PAPER_OSCILLATOR)}")
    p = {k: (float(v) if k != "kicks_deg" else [float(x) for x in v]) for k, v in p.items()}
    if len(p["kicks_deg"]) != 3:
        raise ValueError("kicks_deg needs one kick per colour (green, purple, red)")
    return p


def oscillator_explorer_html(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGP",
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
    seq, ons = _trial(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    all_presets = {"paper's values": _params(None), **{k: _params(v) for k, v in (presets or {}).items()}}
    data = {"task": _task_json(), "net": network_json(net), "presets": all_presets,
            "init": {"seq": seq, "onsets_ms": ons, "params": _params(params)}}
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
    seq, ons = _trial(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    cl = net.clusters()
    clusters = {"points": _b64(cl["points"]), "valid": "".join("1" if v else "0" for v in cl["valid"]),
                "hulls": [{"x": np.round(h["x"], 4).tolist(), "y": np.round(h["y"], 4).tolist(), "valid": h["valid"]}
                          for h in cl["hulls"]],
                "cycle": {"x": np.round(cl["cycle"][:, 0], 4).tolist(), "y": np.round(cl["cycle"][:, 1], 4).tolist()}}
    data = {"task": _task_json(), "net": network_json(net), "clusters": clusters,
            "init": {"seq": seq, "onsets_ms": ons, "noise_std": float(noise_std), "seed": int(seed),
                     "noise_trials": int(noise_trials)}}
    return _explorer_html("network", data, 480, "The trained network runs in your browser: pick the colours "
                          "and onsets; the noise button repeats the trial with recurrent noise.")


# --------------------------------------------------------------------------- figures (Python side)


def _pulse_shapes(seq: Sequence[int], onsets_ms: Sequence[float], axes: Sequence[tuple[str, str]]) -> list[dict]:
    return [{"type": "rect", "xref": xr, "yref": f"{yr} domain", "x0": o, "x1": o + task.PULSE_STEPS * task.DT_MS,
             "y0": 0, "y1": 1, "fillcolor": task.COLOR_HEX[task.COLORS[c]], "opacity": 0.35, "line": {"width": 0},
             "layer": "below"} for xr, yr in axes for c, o in zip(seq, onsets_ms)]


def _coarse_t() -> np.ndarray:
    return np.arange(task.N_STEPS + 1) * task.DT_MS


def _f_range(p: dict[str, Any]) -> list[float]:
    """Fixed y range of f(t): +-16 unless amplitude + |offset| needs more (steps of 5)."""
    top = max(16.0, 5.0 * np.ceil((p["amplitude"] + abs(p["offset"]) + 1.0) / 5.0))
    return [-top, top]


def oscillator_figure(net: ExplorerNetwork, sequence: Sequence[int], onsets_ms: Sequence[float],
                      params: dict[str, Any]) -> tuple[dict, dict]:
    """The oscillator explorer's figure as a plotly dict, and a summary (verdict, R^2, ...)."""
    p = _params(params)
    fine = np.arange(0, TRIAL_MS + 1, 1.0)
    coarse = _coarse_t()
    f = oscillator(fine, sequence, onsets_ms, **p)
    no_kick = oscillator(fine, [], [], **p)
    rates, _ = net.run(sequence, onsets_ms)
    rpc1 = net.rpc1(net.project(rates[0]))
    fc = oscillator(coarse, sequence, onsets_ms, **p)
    r2 = 1 - np.sum((rpc1 - fc) ** 2) / np.sum((rpc1 - rpc1.mean()) ** 2)
    ph = oscillator_phase(sequence, **p)
    hexes = [task.COLOR_HEX[task.COLORS[c]] for c in sequence]
    good = "#2b8a1b" if ph.verdict == "valid" else "#c0392b"
    data = [
        {"type": "scatter", "x": fine, "y": no_kick, "name": "no kicks", "mode": "lines",
         "line": {"color": "#bbb", "dash": "dot", "width": 1.5}, "hoverinfo": "skip"},
        {"type": "scatter", "x": fine, "y": f, "name": "oscillator f(t)", "mode": "lines",
         "line": {"color": "#222", "width": 2.5}},
        {"type": "scatter", "x": coarse, "y": rpc1, "name": "network rPC1", "mode": "lines", "xaxis": "x2",
         "yaxis": "y2", "line": {"color": "#1f5fa8", "width": 2.5}},
        {"type": "scatter", "x": fine, "y": f, "name": "f(t) (same as above)", "mode": "lines", "xaxis": "x2",
         "yaxis": "y2", "showlegend": False, "line": {"color": "#222", "width": 1, "dash": "dash"}, "opacity": 0.5,
         "hoverinfo": "skip"},
        {"type": "barpolar", "r": [1.15], "theta": [ph.valid_phase], "width": [2 * VALID_TOLERANCE_DEG],
         "name": "valid zone", "marker": {"color": "rgba(92,214,41,0.22)", "line": {"width": 0}},
         "hoverinfo": "skip", "showlegend": False},
        {"type": "scatterpolar", "r": [1, 1, 1, 1], "theta": ph.path, "mode": "lines+markers+text",
         "name": "phase after each colour", "text": ["", "1", "2", "3"], "textposition": "middle right",
         "showlegend": False, "line": {"color": "#999", "width": 1, "dash": "dot"},
         "marker": {"size": 10, "color": ["#fff", *hexes], "line": {"color": "#444", "width": 1}}},
        {"type": "scatterpolar", "r": [0, 1.1], "theta": [ph.final_phase] * 2, "mode": "lines+markers",
         "name": "final phase", "showlegend": False, "line": {"color": good, "width": 4},
         "marker": {"size": [0, 12], "symbol": "diamond"}},
        {"type": "scatterpolar", "r": [1.1], "theta": [ph.valid_phase], "mode": "markers+text", "text": ["valid"],
         "textposition": "top center", "name": "valid phase", "showlegend": False,
         "marker": {"size": 14, "symbol": "circle-open", "color": "#2b8a1b", "line": {"width": 3}}},
    ]
    layout = {
        "height": 520, "margin": {"l": 55, "r": 20, "t": 30, "b": 45}, "uirevision": "sx",
        "legend": {"orientation": "h", "x": 0, "y": 1.08}, "template": "plotly_white",
        "xaxis": {"domain": [0, 0.62], "anchor": "y", "range": [0, TRIAL_MS], "showticklabels": False},
        "yaxis": {"domain": [0.55, 1], "title": {"text": "f(t)"}, "range": _f_range(p)},
        "xaxis2": {"domain": [0, 0.62], "anchor": "y2", "range": [0, TRIAL_MS], "matches": "x",
                   "title": {"text": "time (ms)"}},
        "yaxis2": {"domain": [0, 0.45], "title": {"text": "network rPC1"}, "range": [-1.1 * net.pc_radius, 1.1 * net.pc_radius]},
        "polar": {"domain": {"x": [0.7, 1], "y": [0.08, 0.92]}, "radialaxis": {"visible": False, "range": [0, 1.25]},
                  "angularaxis": {"direction": "counterclockwise", "rotation": 0, "dtick": 60}},
        "shapes": _pulse_shapes(sequence, onsets_ms, [("x", "y"), ("x2", "y2")]),
        "annotations": [{"xref": "paper", "yref": "paper", "x": 0.85, "y": 0, "showarrow": False,
                         "text": f"phase at {TRIAL_MS:.0f} ms (deg)", "font": {"size": 12}}],
    }
    truth = "valid" if task.is_valid_set(sequence) else "invalid"
    summary = {"verdict": ph.verdict, "truth": truth, "phase": ph, "r2": float(r2), "f_end": float(f[-1]),
               "rpc1": rpc1, "f": f}
    return {"data": data, "layout": layout}, summary


def network_figure(net: ExplorerNetwork, sequence: Sequence[int], onsets_ms: Sequence[float],
                   noise_std: float | None = None, seed: int = 0,
                   noise_trials: int = NOISE_TRIALS) -> tuple[dict, dict]:
    """The network explorer's figure as a plotly dict, and a summary (answer, noisy answers).

    ``noise_std`` None: no noisy repeats; else ``noise_trials`` repeats with recurrent noise.
    """
    coarse = _coarse_t()
    rates, z = net.run(sequence, onsets_ms)
    pc = net.project(rates[0])
    z_last = float(z[0, -1])
    ans = answer(z_last)
    truth = "valid" if task.is_valid_set(sequence) else "invalid"
    _, free_z = net.run([], [])
    extent = net.pc_radius
    a = np.deg2rad(net.angle_deg)
    ax = np.array([np.cos(a), np.sin(a)]) * extent * 1.1
    noisy = noise_std is not None
    nz_t, nz_z, nz_x, nz_y, nz_end, correct = [], [], [], [], np.zeros((0, 2)), 0
    if noisy:
        nr, nzz = net.run(sequence, onsets_ms, noise_std=float(noise_std), seed=seed, repeats=noise_trials)
        npc = net.project(nr)
        for k in range(noise_trials):
            nz_t += [*coarse, None]
            nz_z += [*nzz[k], None]
            nz_x += [*npc[k, :, 0], None]
            nz_y += [*npc[k, :, 1], None]
        nz_end = npc[:, -1]
        correct = int(sum(answer(v) == truth for v in nzz[:, -1]))
    steps = onsets_to_steps(onsets_ms)
    codes = task.stimulus(sequence, steps)
    cols = ["#1f5fa8"] + [task.COLOR_HEX[task.COLORS[c]] if c >= 0 else "#1f5fa8" for c in codes]
    end_col = {"valid": "#2b8a1b", "invalid": "#c0392b"}.get(ans, "#e0b000")
    xy2 = {"xaxis": "x2", "yaxis": "y2"}
    cl = net.clusters()
    v, iv = cl["points"][cl["valid"]], cl["points"][~cl["valid"]]
    hulls = [{"type": "scatter", "x": h["x"], "y": h["y"], "mode": "lines", **xy2, "fill": "toself",
              "fillcolor": "rgba(43,138,27,0.12)" if h["valid"] else "rgba(120,120,120,0.12)",
              "line": {"width": 0.5, "color": "#2b8a1b" if h["valid"] else "#999"}, "hoverinfo": "skip",
              "showlegend": False, "name": "end-point cluster"} for h in cl["hulls"]]
    data = [
        {"type": "scatter", "x": coarse, "y": free_z[0], "name": "no input", "mode": "lines",
         "line": {"color": "#aaa", "dash": "dash", "width": 1.5}},
        {"type": "scatter", "x": nz_t, "y": nz_z, "name": "with noise", "mode": "lines",
         "line": {"color": "#e08a00", "width": 1}, "opacity": 0.45, "visible": True if noisy else "legendonly",
         "showlegend": noisy},
        {"type": "scatter", "x": coarse, "y": z[0], "name": "this trial", "mode": "lines+markers",
         "line": {"color": "#1f5fa8", "width": 2.5}, "marker": {"size": 5, "color": cols}},
        {"type": "scatter", "x": cl["cycle"][:, 0], "y": cl["cycle"][:, 1], "mode": "lines", **xy2,
         "name": "limit cycle (no input)", "line": {"color": "#aaa", "width": 5}, "opacity": 0.5},
        *hulls,
        {"type": "scatter", "x": v[:, 0], "y": v[:, 1], "name": "end points, valid sets", "mode": "markers", **xy2,
         "marker": {"size": 5, "color": "#2b8a1b", "opacity": 0.5}},
        {"type": "scatter", "x": iv[:, 0], "y": iv[:, 1], "name": "end points, invalid sets", "mode": "markers",
         **xy2, "marker": {"size": 5, "color": "#999", "opacity": 0.5, "symbol": "x"}},
        {"type": "scatter", "x": [-ax[0], ax[0]], "y": [-ax[1], ax[1]], "mode": "lines+text", **xy2,
         "text": ["", "rPC1"], "textposition": "top center", "showlegend": False, "name": "rPC1 axis",
         "line": {"color": "#555", "width": 1, "dash": "dot"}, "hoverinfo": "skip"},
        {"type": "scatter", "x": nz_x, "y": nz_y, "mode": "lines", **xy2, "showlegend": False, "name": "with noise",
         "line": {"color": "#e08a00", "width": 1}, "opacity": 0.35, "visible": noisy},
        {"type": "scatter", "x": nz_end[:, 0], "y": nz_end[:, 1], "mode": "markers", **xy2, "showlegend": False,
         "name": "noisy end points", "marker": {"color": "#e08a00", "size": 7, "symbol": "diamond"},
         "visible": noisy},
        {"type": "scatter", "x": pc[:, 0], "y": pc[:, 1], "mode": "lines+markers", **xy2, "showlegend": False,
         "name": "this trial", "line": {"color": "#1f5fa8", "width": 2.5}, "marker": {"size": 5, "color": cols}},
        {"type": "scatter", "x": [pc[0, 0]], "y": [pc[0, 1]], "mode": "markers", **xy2, "name": "start",
         "showlegend": False, "marker": {"size": 11, "symbol": "square", "color": "#1f5fa8"}},
        {"type": "scatter", "x": [pc[-1, 0]], "y": [pc[-1, 1]], "mode": "markers", **xy2, "name": "end",
         "showlegend": False, "marker": {"size": 18, "symbol": "star", "color": end_col,
                                         "line": {"color": "#222", "width": 1}}},
    ]
    lim = [-extent * 1.15, extent * 1.15]
    layout = {
        "height": 480, "margin": {"l": 55, "r": 20, "t": 30, "b": 45}, "uirevision": "sx",
        "legend": {"orientation": "h", "x": 0, "y": 1.1}, "template": "plotly_white",
        "xaxis": {"domain": [0, 0.46], "anchor": "y", "range": [0, TRIAL_MS], "title": {"text": "time (ms)"}},
        "yaxis": {"anchor": "x", "title": {"text": "output z"}, "range": [-2, 2]},
        "xaxis2": {"domain": [0.56, 1], "anchor": "y2", "title": {"text": "PC1"}, "range": lim},
        "yaxis2": {"anchor": "x2", "title": {"text": "PC2"}, "scaleanchor": "x2", "range": lim},
        "shapes": _pulse_shapes(sequence, onsets_ms, [("x", "y")])
        + [{"type": "line", "xref": "x", "yref": "y", "x0": 0, "x1": TRIAL_MS, "y0": y, "y1": y,
            "line": {"color": "#777", "width": 1, "dash": "dot"}} for y in (0.5, -0.5)],
    }
    summary = {"answer": ans, "truth": truth, "z_last": z_last, "noisy_correct": correct if noisy else None,
               "z": z[0], "pcs": pc}
    return {"data": data, "layout": layout}, summary


# --------------------------------------------------------------------------- ipywidgets versions


def _mark(ok: bool) -> str:
    return "\u2714" if ok else "\u2718"


class _TrialControls:
    """Colour and onset of each slot (ipywidgets), onsets in ms checked like setdyn.task."""

    def __init__(self, seq: list[int], onsets_ms: list[float]) -> None:
        import ipywidgets as w

        dt = task.DT_MS
        self.colors = [w.ToggleButtons(options=[(letter, i) for i, letter in enumerate(task.COLOR_LETTERS)],
                                       value=c, description=f"colour {k + 1}",
                                       tooltips=list(task.COLORS),
                                       style={"button_width": "2.6em"}) for k, c in enumerate(seq)]
        self.onsets = [w.IntSlider(value=int(o), min=int(task.ONSET_MIN * dt), max=int(task.ONSET_MAX * dt),
                                   step=int(dt), description="onset (ms)", continuous_update=True)
                       for o in onsets_ms]
        self.message = w.HTML()
        rows = [w.HBox([c, o]) for c, o in zip(self.colors, self.onsets)]
        self.box = w.VBox([*rows, self.message])

    @property
    def widgets(self) -> list:
        return [*self.colors, *self.onsets]

    def read(self) -> tuple[list[int], list[float]] | None:
        """(sequence, onsets ms), or None (and the message shown) when the onsets are not allowed."""
        seq = [c.value for c in self.colors]
        ons = [float(o.value) for o in self.onsets]
        try:
            onsets_to_steps(ons)
        except ValueError as e:
            self.message.value = f'<span style="color:#b00020;font-weight:600">Not a valid trial: {html.escape(str(e))}.</span>'
            return None
        self.message.value = ""
        return seq, ons


def as_lists(obj: Any) -> Any:
    """A copy of a figure dict with every numpy array turned into a list.

    A plotly ``FigureWidget`` fed numpy arrays can fail when plotly.js sends a
    trace back after a redraw (plotly.py compares the array with ``not``); plain
    lists avoid that.
    """
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: as_lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_lists(v) for v in obj]
    return obj


def figure_widget(fig: Any) -> Any:
    """A plotly ``FigureWidget`` for a figure (object or dict), with list data (see `as_lists`)."""
    import plotly.graph_objects as go

    spec = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig
    return go.FigureWidget(as_lists(spec))


def update_figure_widget(widget: Any, new: Any) -> None:
    """Replace a FigureWidget's layout and trace data by those of a new figure of the same traces."""
    spec = as_lists(new.to_plotly_json() if hasattr(new, "to_plotly_json") else new)
    with widget.batch_update():
        widget.layout = spec["layout"]
        for trace, fresh in zip(widget.data, spec["data"]):
            trace.update({k: v for k, v in fresh.items() if k != "type"})


def _update_figure(fig: Any, new: dict) -> None:
    new = as_lists(new)
    with fig.batch_update():
        for trace, spec in zip(fig.data, new["data"]):
            trace.update({k: v for k, v in spec.items() if k != "type"})
        fig.layout.shapes = new["layout"]["shapes"]
        for k in ("polar", "yaxis", "xaxis2", "yaxis2"):
            if k in new["layout"]:
                fig.layout[k].update(new["layout"][k])


def oscillator_explorer_widget(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGP",
                               onsets: Sequence[int] | None = None, params: dict[str, Any] | None = None,
                               presets: dict[str, dict[str, Any]] | None = None, train_seed: int | None = None,
                               angle_deg: float | None = None):
    """The oscillator explorer as ipywidgets (live kernel): same controls as the static version.

    Returns an ``ipywidgets.VBox`` with extra attributes: ``figure`` (plotly FigureWidget),
    ``sliders`` (dict name -> FloatSlider), ``trial`` (colour/onset controls), ``verdict``
    (HTML), ``summary`` (last computed values) and ``update()``.
    """
    import ipywidgets as w
    import plotly.graph_objects as go

    seq, ons = _trial(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    p0 = _params(params)
    trial = _TrialControls(seq, ons)
    sliders = {
        "amplitude": w.FloatSlider(value=p0["amplitude"], min=0, max=15, step=0.1, description="amplitude A"),
        "period_ms": w.FloatSlider(value=p0["period_ms"], min=100, max=600, step=1, description="period T (ms)"),
        "offset": w.FloatSlider(value=p0["offset"], min=-10, max=10, step=0.1, description="offset c"),
    }
    for c, name in enumerate(task.COLORS):
        sliders[f"kick_{name}"] = w.FloatSlider(value=p0["kicks_deg"][c], min=-180, max=180, step=1,
                                                description=f"kick {name} (\u00b0)")
    sliders["phase0_deg"] = w.FloatSlider(value=p0["phase0_deg"], min=-180, max=180, step=1,
                                          description="phase \u03c60 (\u00b0)")
    sliders["kick_delay_ms"] = w.FloatSlider(value=p0["kick_delay_ms"], min=0, max=60, step=10,
                                             description="kick delay (ms)")
    for s in sliders.values():
        s.style = {"description_width": "7.5em"}
    all_presets = {"paper's values": _params(None), **{k: _params(v) for k, v in (presets or {}).items()}}
    verdict = w.HTML()
    fig_dict, _ = oscillator_figure(net, seq, ons, p0)
    figure = figure_widget(fig_dict)
    box = w.VBox()

    def params_now() -> dict[str, Any]:
        return {"amplitude": sliders["amplitude"].value, "period_ms": sliders["period_ms"].value,
                "offset": sliders["offset"].value, "kicks_deg": [sliders[f"kick_{n}"].value for n in task.COLORS],
                "phase0_deg": sliders["phase0_deg"].value, "kick_delay_ms": sliders["kick_delay_ms"].value}

    def update(change: Any = None) -> None:
        trial_now = trial.read()
        if trial_now is None:
            verdict.value = "Fix the onsets to see the oscillator."
            return
        s, o = trial_now
        new, summ = oscillator_figure(net, s, o, params_now())
        _update_figure(figure, new)
        ph = summ["phase"]
        cls = "#2b8a1b" if ph.verdict == "valid" else "#c0392b"
        verdict.value = (
            f'<b style="color:{cls}">Oscillator: {ph.verdict}.</b> Final phase {ph.final_phase:.0f}\u00b0, '
            f"valid phase {ph.valid_phase:.0f}\u00b0 (kicks add up to {ph.off_by:.0f}\u00b0 mod 360). "
            f"{task.sequence_name(s)} is {'a SET' if summ['truth'] == 'valid' else 'not a SET'} "
            f"{_mark(ph.verdict == summ['truth'])}. f({TRIAL_MS:.0f} ms) = {summ['f_end']:.2f}. "
            f"Match to the network's rPC1: R\u00b2 = {summ['r2']:.2f}.")
        box.summary = summ

    def apply_preset(name: str) -> None:
        q = all_presets[name]
        with box.hold_sync():
            for key in ("amplitude", "period_ms", "offset", "phase0_deg", "kick_delay_ms"):
                sliders[key].value = q[key]
            for c, n in enumerate(task.COLORS):
                sliders[f"kick_{n}"].value = q["kicks_deg"][c]
        update()

    buttons = []
    for name in all_presets:
        b = w.Button(description=name)
        b.on_click(lambda _b, name=name: apply_preset(name))
        buttons.append(b)
    for ctl in [*trial.widgets, *sliders.values()]:
        ctl.observe(update, names="value")
    box.children = [trial.box, w.GridBox(list(sliders.values()),
                                         layout=w.Layout(grid_template_columns="repeat(2, minmax(20em, 1fr))")),
                    w.HBox(buttons), verdict, figure]
    box.figure, box.sliders, box.trial, box.verdict, box.update, box.network = figure, sliders, trial, verdict, update, net
    box.preset_buttons = buttons
    update()
    return box


def network_explorer_widget(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGR",
                            onsets: Sequence[int] | None = None, noise_std: float = 0.1, seed: int = 0,
                            noise_trials: int = NOISE_TRIALS, train_seed: int | None = None,
                            angle_deg: float | None = None):
    """The network explorer as ipywidgets (live kernel), simulating with setdyn.model.

    Returns an ``ipywidgets.VBox`` with extra attributes: ``figure`` (FigureWidget),
    ``trial``, ``noise`` (FloatSlider), ``seed`` (IntText), ``noise_button``,
    ``clear_button``, ``verdict``, ``summary`` and ``update()``.
    """
    import ipywidgets as w
    import plotly.graph_objects as go

    seq, ons = _trial(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    trial = _TrialControls(seq, ons)
    noise = w.FloatSlider(value=noise_std, min=0, max=1, step=0.01, description="noise std")
    seed_box = w.IntText(value=seed, description="seed", layout=w.Layout(width="12em"))
    noise_button = w.Button(description=f"add noise ({noise_trials} runs)")
    clear_button = w.Button(description="no noise")
    verdict = w.HTML()
    fig_dict, _ = network_figure(net, seq, ons)
    figure = figure_widget(fig_dict)
    box = w.VBox()
    box.noisy = False

    def update(change: Any = None) -> None:
        trial_now = trial.read()
        if trial_now is None:
            verdict.value = "Fix the onsets to run the network."
            return
        s, o = trial_now
        std = noise.value if box.noisy else None
        new, summ = network_figure(net, s, o, std, seed_box.value, noise_trials)
        _update_figure(figure, new)
        col = {"valid": "#2b8a1b", "invalid": "#c0392b"}.get(summ["answer"], "#a07800")
        text = (f'<b style="color:{col}">Network: {summ["answer"]}</b> (z = {summ["z_last"]:.2f} at '
                f"{TRIAL_MS:.0f} ms; above 0.5 means valid, below \u22120.5 invalid). {task.sequence_name(s)} is "
                f"{'a SET' if summ['truth'] == 'valid' else 'not a SET'} {_mark(summ['answer'] == summ['truth'])}.")
        if box.noisy:
            text += f" With noise (std {noise.value:g}): {summ['noisy_correct']} of {noise_trials} runs answered correctly."
        verdict.value = text
        box.summary = summ

    def add_noise(_b: Any) -> None:
        if box.noisy:
            seed_box.value = seed_box.value + noise_trials  # a new draw (triggers update)
        else:
            box.noisy = True
            update()

    def clear(_b: Any) -> None:
        box.noisy = False
        update()

    noise_button.on_click(add_noise)
    clear_button.on_click(clear)
    for ctl in trial.widgets:
        ctl.observe(update, names="value")
    noise.observe(lambda ch: update() if box.noisy else None, names="value")
    seed_box.observe(lambda ch: update() if box.noisy else None, names="value")
    box.children = [trial.box, w.HBox([noise, seed_box, noise_button, clear_button]), verdict, figure]
    box.figure, box.trial, box.noise, box.seed, box.verdict, box.update = figure, trial, noise, seed_box, verdict, update
    box.noise_button, box.clear_button, box.network = noise_button, clear_button, net
    update()
    return box


# --------------------------------------------------------------------------- show (book + kernel)

_STATIC_NOTE = ("Runs in your browser. In Jupyter (Binder or local) the same controls drive setdyn's Python model.")


def show_oscillator_explorer(**kwargs: Any) -> None:
    """Display the oscillator explorer: ipywidgets in a live kernel, the in-browser version in the book.

    Keyword arguments go to both :func:`oscillator_explorer_widget` and :func:`oscillator_explorer_html`.
    """
    _show(oscillator_explorer_widget(**kwargs), oscillator_explorer_html(**kwargs))


def show_network_explorer(**kwargs: Any) -> None:
    """Display the network explorer: ipywidgets in a live kernel, the in-browser version in the book."""
    _show(network_explorer_widget(**kwargs), network_explorer_html(**kwargs))


def _show(widget: Any, static: ExplorerHTML) -> None:
    from IPython.display import display

    from .display import live_bundle

    display(live_bundle(widget, static, note=_STATIC_NOTE), raw=True)
