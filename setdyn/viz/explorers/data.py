"""What the explorers compute in Python and export to the page: trials, the oscillator and its verdict,
the network with its PCA basis, and the JSON the JavaScript reads.

Two explorers, each in two versions with the same controls:

* **static** (:func:`oscillator_explorer_html`, :func:`network_explorer_html`):
  HTML + a small plain-JS program (``setdyn/viz/js/model.js``, ``explorer.js``) that recomputes
  everything in the reader's browser and redraws with ``Plotly.react``. The
  network explorer embeds the shipped weights, colour encodings and PCA basis
  (float32, base64) and simulates the CT-RNN in JavaScript; it agrees with
  :mod:`setdyn.model` to ~1e-12. Works in the built book (no kernel) and
  needs nothing but ``window.Plotly``, which the book loads from its own files.
* **live** (:func:`oscillator_explorer_widget`, :func:`network_explorer_widget`):
  ipywidgets + plotly ``FigureWidget`` driven by setdyn's Python model, for
  a running kernel (Binder, JupyterLab).

The static HTML is built in :mod:`.static`, the Python figures in :mod:`.plots`,
the ipywidgets in :mod:`.live`. A chapter calls :func:`setdyn.viz.explorers.show_oscillator_explorer`
/ :func:`~setdyn.viz.explorers.show_network_explorer`, which publish both: Jupyter shows the
ipywidgets version, the book the static one (see :func:`setdyn.display.live`).

Conventions shared by both versions:

* onsets are given in ms (multiples of 10 ms) and checked with the rules of
  :func:`setdyn.task.check_onsets`;
* oscillator ``f(t) = A sin(2 pi t / T + phi0 + sum of the kicks of the pulses
  with onset + delay <= t) - c`` (:func:`setdyn.oscillator.handcrafted`), one
  kick per pulse (kicks per colour in degrees; paper: green 0, purple +120,
  red -120, phi0 = 0, delay 0: the kick lands at the onset);
* the oscillator's verdict (:func:`oscillator_phase`): when the three kicks form a Z3 code,
  ``kick_i = c + 120 s_i + e_i`` (a common offset c shared by all colours, the steps s_i a
  permutation of 0, 1, 2, the deviations e_i summing to 0 and each smaller than a third of the
  60-degree tolerance), every SET adds the same total 3c to the phase (mod 360): the kicks of one
  green, one purple and one red. The *valid phase* is therefore the kick-free phase plus
  ``k_G + k_P + k_R``, and the verdict is *valid* iff the final phase lies within 60 degrees of
  it. For a Z3 code this is the SET rule for all 27 sequences (and only then: a deviation of a
  third of the tolerance or more misjudges the triple of that colour); for other kicks the
  explorer gives no verdict and says why. The paper's kicks (0, +120, -120) are a Z3 code with
  c = 0;
* the network's answer: :func:`setdyn.paper.verdict` (``z`` at the last step beyond
  +-:data:`setdyn.paper.DECISION_THRESHOLD`); the JavaScript reads the threshold from
  ``task.decision_threshold`` in the exported data (:func:`task_json`);
* PC1/PC2: PCA of the noise-free rates of all training trials; rPC1 = cos(a) PC1
  + sin(a) PC2, with the angle a that best separates the end points of valid
  trials (low rPC1) from invalid ones, unless given: the same PCA
  (:func:`setdyn.analysis.training_pca`) and angle
  (:func:`setdyn.analysis.best_rotation`) as the chapters.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ... import paper, task, validate, weights
from ...model import CTRNN, float64_copy

_PAPER = paper.PAPER_OSCILLATOR
#: The explorers' parameters for the paper's hand-set oscillator (:data:`setdyn.paper.PAPER_OSCILLATOR`),
#: with no starting phase and the kick landing 10 ms after the onset, as in the paper's code.
PAPER_PARAMS: dict[str, Any] = {"amplitude": _PAPER["amplitude"], "period_ms": _PAPER["period_ms"],
                                "offset": _PAPER["offset"], "kicks_deg": list(_PAPER["kicks_deg"]),
                                "phase0_deg": 0.0, "kick_delay_ms": _PAPER["kick_delay_ms"]}
#: The range of each explorer slider (the static page's and the ipywidgets'); a starting value outside
#: it would show as the slider's end, so :func:`explorer_params` refuses it.
SLIDER_RANGES: dict[str, tuple[float, float]] = {"amplitude": (0.0, 15.0), "period_ms": (100.0, 600.0),
                                                 "offset": (-10.0, 10.0), "kicks_deg": (-180.0, 180.0),
                                                 "phase0_deg": (-180.0, 180.0), "kick_delay_ms": (0.0, 60.0)}
#: The oscillator calls a trial valid when its kicks add up to within this angle of a whole turn (degrees):
#: half the distance between two states of the Z3 automaton.
VALID_TOLERANCE_DEG = 60.0
#: Noisy repeats run by the network explorer's noise button.
NOISE_TRIALS = 20
TRIAL_MS = paper.TRIAL_MS


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


def trial_from(sequence: str | Sequence[int], onsets: Sequence[int] | None) -> tuple[list[int], list[float]]:
    """(colour indices, onsets in ms) from a sequence ('PGP') and onsets in steps (default 5, 15, 25)."""
    seq = list(task.parse_sequence(sequence))
    if len(seq) != 3:
        raise ValueError(f"a trial has 3 colours, got {len(seq)}: {sequence!r}")
    steps = task.check_onsets(task.default_onsets() if onsets is None else onsets)
    return seq, [s * task.DT_MS for s in steps]


# --------------------------------------------------------------------------- the oscillator


def oscillator(t_ms: np.ndarray, sequence: Sequence[int], onsets_ms: Sequence[float],
               amplitude: float = _PAPER["amplitude"], period_ms: float = _PAPER["period_ms"],
               offset: float = _PAPER["offset"], kicks_deg: Sequence[float] = _PAPER["kicks_deg"],
               phase0_deg: float = 0.0, kick_delay_ms: float = 0.0) -> np.ndarray:
    """The handcrafted oscillator of one trial at times t (ms): :func:`setdyn.oscillator.handcrafted`."""
    from ...analysis.oscillator import handcrafted

    seq = np.asarray(validate.colors(sequence, "sequence"), dtype=np.int64).reshape(1, -1)  # 0-2: no -1
    ons = np.asarray(list(onsets_ms), dtype=float).reshape(1, -1)
    return handcrafted(t_ms, ons, seq, amplitude=amplitude, period_ms=period_ms, offset=offset,
                       kicks_deg=kicks_deg, phase0_deg=phase0_deg, kick_delay_ms=kick_delay_ms)[0]


@dataclass
class KickCode:
    """Three kicks (deg; green, purple, red) read as a Z3 code: kick_i = c + 120 s_i + e_i.

    ``common_offset_deg`` is c and ``deviation_deg`` the e_i, centred so that they sum to 0 (then
    every SET adds exactly 3c mod 360); ``steps`` the s_i (0: +0, 1: +120, 2: -120);
    ``is_z3_code``: the steps are a permutation and every |e_i| is below ``tolerance_deg / 3``,
    which is exactly when the oscillator's verdict is the SET rule for all 27 sequences.
    """

    common_offset_deg: float
    steps: tuple[int, int, int]
    deviation_deg: tuple[float, float, float]
    is_z3_code: bool


def kick_code(kicks_deg: Sequence[float], tolerance_deg: float = VALID_TOLERANCE_DEG) -> KickCode:
    """The kicks (deg; green, purple, red) as a Z3 code (:class:`KickCode`), with the decomposition of
    :func:`setdyn.analysis.phase_code_from_means` and its residuals centred to sum to 0."""
    from ...analysis.code import phase_code_from_means
    from ...numerics import wrap_deg

    k = np.asarray(list(kicks_deg), dtype=float)
    if k.shape != (3,) or not np.all(np.isfinite(k)):
        raise ValueError(f"kicks_deg needs three finite kicks (green, purple, red) in degrees, got {list(kicks_deg)}")
    code = phase_code_from_means(k)
    shift = float(np.mean(code.residual_deg))
    dev = code.residual_deg - shift
    common = float(wrap_deg(code.common_offset_deg + shift))
    ok = len(set(code.steps)) == 3 and bool(np.max(np.abs(dev)) < tolerance_deg / 3.0)
    return KickCode(common, code.steps, tuple(float(d) for d in dev), ok)


@dataclass
class OscillatorPhase:
    """Phases (deg, in [0, 360)) at the end of the trial and the oscillator's verdict."""

    free_phase: float  #: the phase without any kick
    valid_phase: float  #: the free phase plus the kicks of one green, one purple and one red (= 3c for a Z3 code)
    path: list[float]  #: free phase, then the phase after each colour's kick
    final_phase: float
    off_by: float  #: final phase minus valid phase, wrapped to [-180, 180)
    code: KickCode
    #: "valid" or "invalid" (final phase within the tolerance of the valid phase, or not) when the kicks
    #: form a Z3 code; "no code" otherwise (the phase then does not follow the SET rule)
    verdict: str

    @property
    def phase_verdict(self) -> str:
        """What the phase alone says ("valid" within the tolerance of the valid phase), code or not."""
        return "valid" if abs(self.off_by) < VALID_TOLERANCE_DEG else "invalid"


def oscillator_phase(sequence: Sequence[int], period_ms: float = _PAPER["period_ms"],
                     kicks_deg: Sequence[float] = _PAPER["kicks_deg"], phase0_deg: float = 0.0,
                     t_end_ms: float = TRIAL_MS, **_: Any) -> OscillatorPhase:
    """Final phase of the oscillator and its verdict: valid iff the final phase is within
    :data:`VALID_TOLERANCE_DEG` of the valid phase (free phase + k_G + k_P + k_R), given that the kicks
    form a Z3 code (:func:`kick_code`); "no code" otherwise.

    sequence: colours 0, 1, 2 (or names/letters; -1 and 3 are refused); period_ms and t_end_ms
    finite and > 0; kicks_deg three finite numbers."""
    sequence = validate.colors(sequence, "sequence")
    period_ms = validate.positive(period_ms, "period_ms")
    t_end_ms = validate.positive(t_end_ms, "t_end_ms")
    phase0_deg = validate.finite(phase0_deg, "phase0_deg")
    kicks_deg = _three(kicks_deg)
    free = (phase0_deg + 360.0 * t_end_ms / period_ms) % 360.0
    valid = (free + sum(kicks_deg)) % 360.0
    path, total = [free], 0.0
    for c in sequence:
        total += kicks_deg[c]
        path.append((free + total) % 360.0)
    off = (path[-1] - valid + 180.0) % 360.0 - 180.0
    code = kick_code(kicks_deg)
    phase_says = "valid" if abs(off) < VALID_TOLERANCE_DEG else "invalid"
    return OscillatorPhase(free, valid, path, path[-1], off, code, phase_says if code.is_z3_code else "no code")


# --------------------------------------------------------------------------- the network


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
            from ...analysis import free_run_rates

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
    for k in weights.TENSOR_NAMES:
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
    model, train_seed = weights.model_and_training_seed(model, train_seed)
    key = (_model_digest(model), int(train_seed), angle_deg)
    if key in _NETWORKS:
        return _NETWORKS[key]
    from ... import analysis

    m64 = float64_copy(model)
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


# --------------------------------------------------------------------------- exported data


def float32_base64(a: Any) -> str:
    """An array as float32 little-endian bytes in base64 (what the JavaScript decodes)."""
    return base64.b64encode(np.ascontiguousarray(np.asarray(a, dtype="<f4")).tobytes()).decode("ascii")


def task_json() -> dict[str, Any]:
    """The task's timing, colours and decision rule for the page: the JavaScript reads the threshold
    (``decision_threshold``) and the oscillator's tolerance (``valid_tolerance_deg``) from here."""
    return {"dt_ms": task.DT_MS, "n_steps": task.N_STEPS, "pulse_steps": task.PULSE_STEPS,
            "onset_min": task.ONSET_MIN, "onset_max": task.ONSET_MAX, "min_gap": task.MIN_ONSET_GAP,
            "names": list(task.COLORS), "letters": list(task.COLOR_LETTERS),
            "hex": [task.COLOR_HEX[c] for c in task.COLORS],
            "decision_threshold": paper.DECISION_THRESHOLD, "valid_tolerance_deg": VALID_TOLERANCE_DEG}


def network_json(net: ExplorerNetwork) -> dict[str, Any]:
    """The network for the page: float32 weights (base64, little-endian), PCA basis and rotation."""
    m = net.model
    t = {k: getattr(m, k).detach().numpy() for k in weights.TENSOR_NAMES}
    return {"n": int(m.n_units), "d": int(t["B"].shape[1]), "alpha": float(m.alpha),
            **{k: float32_base64(v) for k, v in t.items()},
            "pca_mean": float32_base64(net.pca_mean), "pca_components": float32_base64(net.pca_components),
            "angle_deg": net.angle_deg, "pc_radius": net.pc_radius}


def params_from_fit(fit: Any) -> dict[str, Any]:
    """Oscillator parameters (for ``params`` or ``presets``) from a :class:`setdyn.oscillator.OscillatorFit`
    or its ``to_dict()`` (e.g. ``analyze(model)["oscillator_fit"]``)."""
    d = fit.to_dict() if hasattr(fit, "to_dict") else dict(fit)
    return {"amplitude": d["amplitude"], "period_ms": d["period_ms"], "offset": d["offset"],
            "kicks_deg": [d["kick_deg"][c] for c in task.COLORS], "phase0_deg": d.get("phase0_deg", 0.0),
            "kick_delay_ms": d.get("kick_delay_ms", 0.0)}


def explorer_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Oscillator parameters for an explorer: the paper's (:data:`PAPER_PARAMS`) updated by ``params``,
    as floats (ValueError on an unknown name, a kick count other than 3, or a value that is not a
    finite number inside its slider's range, :data:`SLIDER_RANGES`: NaN or a period of -290 ms is
    refused here instead of giving a blank page or a slider at its end)."""
    p = {**PAPER_PARAMS, **(params or {})}
    unknown = set(p) - set(PAPER_PARAMS)
    if unknown:
        raise ValueError(f"unknown oscillator parameters {sorted(unknown)}; accepted: {sorted(PAPER_PARAMS)}")
    out: dict[str, Any] = {}
    for k, v in p.items():
        out[k] = [_in_range(x, f"kicks_deg[{i}]", "kicks_deg") for i, x in enumerate(_three(v))] \
            if k == "kicks_deg" else _in_range(v, k, k)
    return out


def _three(kicks: Sequence[float]) -> tuple[float, ...]:
    """One finite kick per colour (green, purple, red)."""
    items = list(np.asarray(kicks).tolist()) if hasattr(kicks, "dtype") else list(kicks)
    if len(items) != len(paper.COLORS):
        raise ValueError(f"kicks_deg needs one kick per colour (green, purple, red), got {kicks!r}")
    return tuple(validate.finite(x, f"kicks_deg[{i}]") for i, x in enumerate(items))


def _in_range(value: Any, name: str, slider: str) -> float:
    lo, hi = SLIDER_RANGES[slider]
    x = validate.finite(value, name)
    if not lo <= x <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g} (the explorer's slider), got {x:g}")
    return x


def oscillator_explorer_data(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGR",
                             onsets: Sequence[int] | None = None, params: dict[str, Any] | None = None,
                             presets: dict[str, dict[str, Any]] | None = None, train_seed: int | None = None,
                             angle_deg: float | None = None) -> dict[str, Any]:
    """Everything the static oscillator explorer reads (JSON-ready): task, network, presets, start state.

    Arguments as :func:`setdyn.viz.explorers.oscillator_explorer_html`.
    """
    seq, ons = trial_from(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    all_presets = {"paper's values": explorer_params(None),
                   **{k: explorer_params(v) for k, v in (presets or {}).items()}}
    return {"task": task_json(), "net": network_json(net), "presets": all_presets,
            "init": {"seq": seq, "onsets_ms": ons, "params": explorer_params(params)}}


def network_explorer_data(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGR",
                          onsets: Sequence[int] | None = None, noise_std: float = 0.1, seed: int = 0,
                          noise_trials: int = NOISE_TRIALS, train_seed: int | None = None,
                          angle_deg: float | None = None) -> dict[str, Any]:
    """Everything the static network explorer reads (JSON-ready): task, network, training end-point
    clusters (every 4th point, base64), their hulls, the limit cycle, and the start state.

    Arguments as :func:`setdyn.viz.explorers.network_explorer_html`.
    """
    seq, ons = trial_from(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    cl = net.clusters()
    clusters = {"points": float32_base64(cl["points"]), "valid": "".join("1" if v else "0" for v in cl["valid"]),
                "hulls": [{"x": np.round(h["x"], 4).tolist(), "y": np.round(h["y"], 4).tolist(), "valid": h["valid"]}
                          for h in cl["hulls"]],
                "cycle": {"x": np.round(cl["cycle"][:, 0], 4).tolist(), "y": np.round(cl["cycle"][:, 1], 4).tolist()}}
    return {"task": task_json(), "net": network_json(net), "clusters": clusters,
            "init": {"seq": seq, "onsets_ms": ons, "noise_std": float(noise_std), "seed": int(seed),
                     "noise_trials": int(noise_trials)}}
