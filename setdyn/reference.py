"""The paper's reference repository read without Julia, and this book's analysis run on its network.

The reference code (keith-murray/ctrnn-julia, commit 19cdcf9) stores its 540
training and 27 test trials (``data/data_540.jls``, ``data/data_27.jls``) and
the network behind every figure of the paper (``data/models/model_31.jls``)
with Julia's ``Serialization`` (read by :mod:`setdyn.julia_serialization`).

* :func:`find_reference` finds the three files in a checkout of the
  reference repository or in a folder holding them; :func:`load_reference`
  loads everything (:class:`Reference`).
* :func:`load_trials` -> :class:`ReferenceTrials`: colours as setdyn
  indices (0, 1, 2 = green, purple, red), pulse start and end (s), the four
  input vectors, targets; ``.trial_set()`` gives a setdyn ``TrialSet``.
* :func:`load_network` -> :class:`setdyn.model.CTRNN` with alpha = 1 and
  the reference's colour encodings. The flat parameter vector holds x0, J,
  B, b, W, b_out (:data:`PARAMETER_LAYOUT`); Dense weights are (out, in),
  column-major, so that x_{t+1} = J tanh(x_t) + B u_t + b + eta_t and
  z = W tanh(x) + b_out, which is setdyn's step. (Transposing J drops the
  noise-free training accuracy from 100% to 16%.)
* :func:`load_history` -> the per-epoch record (loss and accuracy).

Timing. The reference reads its input at grid time t (dt = 10 ms) as
``vecs[SET[searchsortedfirst(locations, t)]]``, so a colour is on when
b < t <= b + 0.02 s (two samples per pulse), and the input at t_n = n dt
drives x_{n+1}. :meth:`ReferenceTrials.codes` builds setdyn's stimulus codes
exactly so (code n drives x_{n+1}, as in ``CTRNN.run``); no pulse edge of
the 567 trials lies within 1 us of a grid time, so rounding of t cannot
change them.

Rotation angles are reported in the PC sign convention of
:mod:`setdyn.pc_convention`, in which the paper's network gives the paper's
60 degrees (59.5; setdyn's own signs give 120.5).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import analysis, paper, pc_convention, task
from .julia_serialization import JuliaObject, JuliaType, read_values
from .model import CTRNN, accuracy
from .analysis.oscillator import handcrafted
from .training import TrainConfig, evaluate


# ---------------------------------------------------------------- the three files

TRAIN_FILE, TEST_FILE, MODEL_FILE = "data_540.jls", "data_27.jls", "model_31.jls"
#: sha256 of the reference repository's files at commit 19cdcf9 (a file by one of these names must match).
KNOWN_SHA256: dict[str, str] = {
    TRAIN_FILE: "1b6d576b4842e01842db7adc54eec3073124cfd1585c55d80ed3361b6995a759",
    TEST_FILE: "1f0837dad3cb52b0acda8becfdc6b8f83722903ac2f8ae56ee7430cda1956cd7",
    MODEL_FILE: "a45616760e538a6c110ac62794ec00648707c862cab8fe04b101b6fa2ac932da",
}
REFERENCE_REPOSITORY = "keith-murray/ctrnn-julia at commit 19cdcf9"
#: Rows of the per-epoch record in the model file.
HISTORY_ROWS: tuple[str, ...] = ("train_loss", "test_loss", "train_acc", "test_acc")
#: The reference's time step (s): the input at grid time t_n = n DT_S drives x_{n+1}.
DT_S = paper.DT_MS / 1000.0
#: A pulse edge closer than this (s) to a grid time would make the input depend on rounding.
_EDGE_TOL_S = 1e-7


def _check_digest(path: Path) -> None:
    """A file named as one of the reference's must have its sha256; other names are not checked."""
    want = KNOWN_SHA256.get(path.name)
    if want is None:
        return
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != want:
        raise ValueError(f"{path}: sha256 {got} differs from the reference repository's {path.name} "
                         f"({want}, {REFERENCE_REPOSITORY}): corrupt or a different file")


def _load(path: str | Path, n_values: int) -> list[Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    _check_digest(path)
    return read_values(path, n_values)


@dataclass(frozen=True)
class ReferencePaths:
    """Where the reference's three files are: training trials, test trials, trained model."""

    train: Path
    test: Path
    model: Path


def find_reference(directory: str | Path) -> ReferencePaths:
    """The three files in a checkout of the reference repository (``data/data_540.jls``,
    ``data/data_27.jls``, ``data/models/model_31.jls``) or in a folder holding all three.

    Raises FileNotFoundError naming the places looked at.
    """
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"reference directory {d} does not exist (expected a checkout of "
                                f"{REFERENCE_REPOSITORY} or a folder holding {TRAIN_FILE}, {TEST_FILE}, {MODEL_FILE})")
    layouts = [(d / "data" / TRAIN_FILE, d / "data" / TEST_FILE, d / "data" / "models" / MODEL_FILE),
               (d / TRAIN_FILE, d / TEST_FILE, d / MODEL_FILE)]
    for files in layouts:
        if all(f.is_file() for f in files):
            return ReferencePaths(*files)
    missing = [str(f) for files in layouts for f in files if not f.is_file()]
    raise FileNotFoundError(f"{d} is neither a checkout of {REFERENCE_REPOSITORY} nor a folder holding "
                            f"{TRAIN_FILE}, {TEST_FILE} and {MODEL_FILE}; missing: {', '.join(missing)}")


# ---------------------------------------------------------------- trials

@dataclass(frozen=True)
class ReferenceTrials:
    """The reference's trials as its files hold them, and as setdyn reads them.

    sets (n x 7, int): the reference's input sequence, "no input" (1)
    interleaved with the colours (2 green, 3 purple, 4 red);
    locations_s (n x 6, float32, s): each pulse's start and end
    [b1, b1 + 0.02, b2, b2 + 0.02, b3, b3 + 0.02]; vecs (4 x 100, float32):
    row 0 the zero "no input" vector, rows 1-3 the green, purple and red
    encodings; target_steps (n x 50): the target per step (0, then +-1 on
    the last 5 steps).
    """

    sets: np.ndarray
    locations_s: np.ndarray
    vecs: np.ndarray
    target_steps: np.ndarray

    def __len__(self) -> int:
        return len(self.sets)

    @property
    def colors(self) -> np.ndarray:
        """setdyn colour indices (n x 3): 0 green, 1 purple, 2 red."""
        return self.sets[:, 1::2] - 2

    @property
    def encodings(self) -> np.ndarray:
        """The colour encodings (3 x 100; rows green, purple, red), as setdyn's CTRNN takes them."""
        return self.vecs[1:]

    @property
    def pulse_start_s(self) -> np.ndarray:
        """Pulse starts b (n x 3, s)."""
        return self.locations_s[:, 0::2]

    @property
    def pulse_end_s(self) -> np.ndarray:
        """Pulse ends b + 0.02 (n x 3, s)."""
        return self.locations_s[:, 1::2]

    @property
    def targets(self) -> np.ndarray:
        """+1 (valid) or -1 (invalid) per trial: the target at the last step (n,)."""
        return self.target_steps[:, -1].astype(float)

    def codes(self, n_steps: int = paper.N_STEPS) -> np.ndarray:
        """setdyn stimulus codes (n x n_steps; -1 none, 0..2 colour): code n is the input at grid
        time t_n = n dt, which drives x_{n+1}.

        The reference's input at t is ``vecs[SET[searchsortedfirst(locations, t)]]``: the
        first location >= t picks the entry, so a colour is on when b < t <= b + 0.02.
        """
        t = np.arange(n_steps) * DT_S
        loc = self.locations_s.astype(np.float64)
        index = (loc[:, :, None] < t[None, None, :]).sum(1)  # searchsortedfirst - 1: locations below t
        return np.take_along_axis(self.sets, index, 1) - 2  # SET 1, 2, 3, 4 -> code -1, 0, 1, 2

    def onset_steps(self) -> np.ndarray:
        """The first step (0-based grid index) at which each colour is on (n x 3)."""
        t = np.arange(paper.N_STEPS) * DT_S
        return (t[None, None, :] <= self.pulse_start_s.astype(np.float64)[:, :, None]).sum(2)

    def trial_set(self) -> task.TrialSet:
        """The trials as a setdyn TrialSet (codes, colours, onset steps, targets)."""
        return task.TrialSet(self.codes(), self.colors.astype(np.int64), self.onset_steps(), self.targets)


def _fail(path: Path, what: str) -> ValueError:
    return ValueError(f"{path}: {what}; expected the reference repository's trials "
                      f"(vector of (SET, locations, vecs) tuples, then the targets)")


def load_trials(path: str | Path) -> ReferenceTrials:
    """Read a trial file of the reference (``data_540.jls`` or ``data_27.jls``).

    Checks the layout: each trial a tuple (SET::Vector{Int64} of 7 alternating
    1 with a colour 2-4, locations::Vector{Float32} of 6 increasing times
    with pulses of 20 ms, vecs::Matrix{Float32} 4 x 100 with a zero first
    row, the same in every trial), targets Float32 1 x 50 x n with +-1 on the
    last 5 steps (+1 exactly for SETs) and 0 before; and that no pulse edge
    lies within 0.1 us of a grid time (so the input does not depend on how
    the grid times are rounded). Raises ValueError naming what differs.
    """
    path = Path(path)
    trials, targets = _load(path, 2)
    if not isinstance(trials, list) or not trials:
        raise _fail(path, f"the first value is {type(trials).__name__}, not a non-empty Vector{{Any}}")
    sets, locs, vecs = [], [], None
    for i, tr in enumerate(trials):
        ok = (isinstance(tr, tuple) and len(tr) == 3 and all(isinstance(a, np.ndarray) for a in tr)
              and tr[0].dtype == np.int64 and tr[0].shape == (7,) and tr[1].dtype == np.float32
              and tr[1].shape == (6,) and tr[2].dtype == np.float32 and tr[2].shape == (4, paper.INPUT_DIM))
        if not ok:
            raise _fail(path, f"trial {i} is not a (Vector{{Int64}} of 7, Vector{{Float32}} of 6, "
                              f"Matrix{{Float32}} 4 x {paper.INPUT_DIM}) tuple")
        if vecs is None:
            vecs = tr[2]
        elif not np.array_equal(vecs, tr[2]):
            raise _fail(path, f"trial {i} has other input vectors than trial 0")
        sets.append(tr[0])
        locs.append(tr[1])
    s, loc = np.stack(sets), np.stack(locs)
    if not (np.all(s[:, 0::2] == 1) and np.all((s[:, 1::2] >= 2) & (s[:, 1::2] <= 4))):
        raise _fail(path, "a SET sequence is not [1, c1, 1, c2, 1, c3, 1] with colours c in 2 (green), "
                          "3 (purple), 4 (red)")
    if np.any(vecs[0] != 0):
        raise _fail(path, "the first input vector ('no input') is not zero")
    width = (loc[:, 1::2].astype(np.float64) - loc[:, 0::2])
    if np.any(np.diff(loc.astype(np.float64), axis=1) <= 0) or np.any(np.abs(width - 0.02) > 1e-5):
        raise _fail(path, "pulse locations are not increasing [b, b + 0.02] pairs (s)")
    n = len(s)
    if not (isinstance(targets, np.ndarray) and targets.dtype == np.float32 and targets.shape == (1, paper.N_STEPS, n)):
        shape = getattr(targets, "shape", None)
        raise _fail(path, f"the targets are {type(targets).__name__} {shape}, not Float32 1 x {paper.N_STEPS} x {n}")
    tgt = targets[0].T.copy()  # n x 50
    valid = (s[:, 1::2] - 2).sum(1) % 3 == 0
    want = np.where(valid, 1.0, -1.0)
    score = paper.SCORE_STEPS
    if np.any(tgt[:, :-score] != 0) or np.any(tgt[:, -score:] != want[:, None]):
        raise _fail(path, f"the targets are not 0 then +1 (SET) / -1 (not a SET) on the last {score} steps")
    t = np.arange(paper.N_STEPS) * DT_S
    if np.min(np.abs(loc.astype(np.float64)[:, :, None] - t)) < _EDGE_TOL_S:
        raise _fail(path, "a pulse edge lies on a grid time, where the input would depend on rounding")
    out = ReferenceTrials(s, loc, vecs, tgt)
    if np.any((out.codes() >= 0).sum(1) != paper.PULSE_STEPS * 3):
        raise _fail(path, f"a trial does not show each colour for exactly {paper.PULSE_STEPS} grid steps")
    return out


# ---------------------------------------------------------------- the trained network

#: Where each parameter sits in the model's flat ComponentArray (1-based first, last; shape as in Julia).
PARAMETER_LAYOUT: dict[str, tuple[tuple[str, ...], int, int, tuple[int, ...]]] = {
    "x0": (("layer_1", "weight"), 1, 100, (100,)),
    "J": (("layer_2", "layer_1", "layer_1", "layer_2", "weight"), 101, 10100, (100, 100)),
    "B": (("layer_2", "layer_1", "layer_2", "weight"), 10101, 20100, (100, 100)),
    "b": (("layer_2", "layer_1", "layer_2", "bias"), 20101, 20200, (100, 1)),
    "W": (("layer_5", "layer_1", "weight"), 20201, 20300, (1, 100)),
    "b_out": (("layer_5", "layer_1", "bias"), 20301, 20301, (1, 1)),
}
N_PARAMETERS = 20301


def _axis_layout(idxmap: Any, offset: int, path: tuple[str, ...], out: dict) -> None:
    """Flatten a ComponentArrays index map (a NamedTuple value of an Axis type) into
    {path: (first, last, shape)}, 1-based in the flat vector; empty components are skipped."""
    if not (isinstance(idxmap, JuliaObject) and idxmap.type.name == "NamedTuple"):
        raise ValueError(f"component {'.'.join(path) or '(top)'}: index map {idxmap!r} is not a NamedTuple")
    for name, v in zip(idxmap.type.params[0], idxmap.fields):
        p = path + (str(name),)
        if isinstance(v, JuliaObject) and v.type.name == "UnitRange":
            first, last = v.fields
            if last >= first:
                out[p] = (offset + first, offset + last, (last - first + 1,))
        elif isinstance(v, JuliaObject) and v.type.name == "ViewAxis" and len(v.type.params) == 3:
            inds, _, ax = v.type.params
            first, last = inds.fields
            if isinstance(ax, JuliaType) and ax.name == "ShapedAxis":
                out[p] = (offset + first, offset + last, tuple(int(d) for d in ax.params[0]))
            elif isinstance(ax, JuliaType) and ax.name == "Axis":
                _axis_layout(ax.params[0], offset + first - 1, p, out)
            else:
                raise ValueError(f"component {'.'.join(p)}: axis {ax} is not known")
        else:
            raise ValueError(f"component {'.'.join(p)}: {v!r} is not a range or a view axis")


def _parameters(path: Path, ca: Any) -> dict[str, np.ndarray]:
    """x0, J, B, b, W, b_out (float32, setdyn's shapes) from the deserialized ComponentArray."""
    if not (isinstance(ca, JuliaObject) and ca.type.name == "ComponentArray"
            and ca.type.module == ("ComponentArrays",)):
        raise ValueError(f"{path}: the first value is {getattr(ca, 'type', type(ca))!s:.80}, not a "
                         "ComponentArrays.ComponentArray of the network's parameters")
    data, _ = ca.fields  # the flat vector; its axes repeat the type parameters read below
    if not (isinstance(data, np.ndarray) and data.dtype == np.float32 and data.shape == (N_PARAMETERS,)):
        raise ValueError(f"{path}: parameters {getattr(data, 'dtype', '?')} {getattr(data, 'shape', '?')}, "
                         f"expected Float32 of {N_PARAMETERS}")
    axis_type = ca.type.params[3].params[0] if len(ca.type.params) == 4 else None
    if not (isinstance(axis_type, JuliaType) and axis_type.name == "Axis" and axis_type.params):
        raise ValueError(f"{path}: the ComponentArray has no Axis in its type parameters")
    try:
        layout: dict = {}
        _axis_layout(axis_type.params[0], 0, (), layout)
    except (ValueError, AttributeError, TypeError) as e:
        raise ValueError(f"{path}: parameter layout not understood: {e}") from None
    want = {p: (a, b, s) for p, a, b, s in PARAMETER_LAYOUT.values()}
    if layout != want:
        raise ValueError(f"{path}: parameter layout {layout} differs from the reference network's {want}")
    out = {}
    for name, (_, first, last, shape) in PARAMETER_LAYOUT.items():
        out[name] = data[first - 1:last].reshape(shape, order="F")  # Julia is column-major
    return {"x0": out["x0"], "J": out["J"], "B": out["B"], "b": out["b"][:, 0], "W": out["W"],
            "b_out": out["b_out"][0]}


def load_parameters(path: str | Path) -> dict[str, np.ndarray]:
    """The trained network's parameters (float32): x0 (100,), J (100, 100), B (100, 100), b (100,),
    W (1, 100), b_out (1,), each Dense weight as (out, in), for x_{t+1} = J tanh(x_t) + B u_t + b."""
    path = Path(path)
    ca, _ = _load(path, 2)
    return _parameters(path, ca)


def load_history(path: str | Path) -> dict[str, np.ndarray]:
    """The model file's per-epoch record: {train_loss, test_loss, train_acc, test_acc}, 2501 values each
    (epoch 0, before training, then one per epoch)."""
    path = Path(path)
    ca, hist = _load(path, 2)
    _parameters(path, ca)
    if not (isinstance(hist, np.ndarray) and hist.dtype == np.float32 and hist.ndim == 2
            and hist.shape[0] == len(HISTORY_ROWS)):
        raise ValueError(f"{path}: the second value is {getattr(hist, 'shape', type(hist))}, not a Float32 "
                         f"{len(HISTORY_ROWS)} x epochs matrix")
    return {name: hist[i].copy() for i, name in enumerate(HISTORY_ROWS)}


def load_network(path: str | Path, encodings: np.ndarray | ReferenceTrials | None = None,
                 dtype: torch.dtype = torch.float64) -> CTRNN:
    """The reference's trained network as a setdyn CTRNN (alpha = 1), in `dtype` (float64 for analysis).

    encodings: the colour encodings (3 x 100, rows green, purple, red) or trials
    holding them; by default they are read from the test trials next to the
    model (the same folder, or ``../`` as in the repository's ``data/models/``).
    """
    path = Path(path)
    params = load_parameters(path)
    if encodings is None:
        here = [path.parent / TEST_FILE, path.parent.parent / TEST_FILE]
        found = next((p for p in here if p.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"the colour encodings are in the trial files, and no {TEST_FILE} is next to "
                                    f"{path} (looked at {', '.join(map(str, here))}); pass encodings=")
        encodings = load_trials(found)
    enc = encodings.encodings if isinstance(encodings, ReferenceTrials) else np.asarray(encodings)
    if enc.shape != (3, params["B"].shape[1]):
        raise ValueError(f"encodings must be 3 x {params['B'].shape[1]} (green, purple, red), got {enc.shape}")
    model = CTRNN(np.asarray(enc, dtype=np.float64), n_units=params["J"].shape[0], alpha=1.0, dtype=dtype)
    with torch.no_grad():
        for k, v in params.items():
            getattr(model, k).copy_(torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(getattr(model, k).shape)))
    model.eval()
    return model


# ---------------------------------------------------------------- everything at once

@dataclass(frozen=True)
class Reference:
    """The reference repository's trials, network (a CTRNN) and training record."""

    paths: ReferencePaths
    train: ReferenceTrials
    test: ReferenceTrials
    model: CTRNN
    history: dict[str, np.ndarray]


def load_reference(directory: str | Path, dtype: torch.dtype = torch.float64) -> Reference:
    """Load the three files of a reference checkout or folder (see :func:`find_reference`)."""
    paths = find_reference(directory)
    train, test = load_trials(paths.train), load_trials(paths.test)
    if not np.array_equal(train.vecs, test.vecs):
        raise ValueError(f"{paths.train} and {paths.test} hold different input vectors; "
                         "the reference's training and test trials share one set")
    return Reference(paths, train, test, load_network(paths.model, test, dtype), load_history(paths.model))


# ---------------------------------------------------------------- accuracies

def noisy_accuracies(model: CTRNN, trials: task.TrialSet, n_draws: int, seed: int = 0,
                     noise_std: float | None = None, x0_noise_std: float | None = None) -> np.ndarray:
    """Accuracy (fraction) on `trials` for each of `n_draws` independent noise draws: (n_draws,).

    Noise as in training (default: TrainConfig's eta std 0.1 per unit and step,
    x0 noise std 0.5); draw k uses torch.Generator seeded with seed + k.
    """
    if n_draws < 1:
        raise ValueError(f"n_draws must be a positive number of noise draws, got {n_draws}")
    cfg = TrainConfig()
    sigma = cfg.noise_std if noise_std is None else noise_std
    sigma0 = cfg.x0_noise_std if x0_noise_std is None else x0_noise_std
    out = np.empty(n_draws)
    with torch.no_grad():
        for k in range(n_draws):
            g = torch.Generator().manual_seed(seed + k)
            z = model.run(trials.codes, noise_std=sigma, x0_noise_std=sigma0, generator=g).outputs
            out[k] = accuracy(z, trials.targets)
    return out


def accuracies(ref: Reference) -> dict[str, float]:
    """What ``python -m setdyn evaluate`` prints, for the reference's network on its own trials.

    train/test: the reference's 540 and 27 trials, noise-free and with one
    draw of the training noise (TrainConfig's noise and eval_noise_seed, as
    for setdyn's weights); fresh: setdyn's generalisation set (27 x 20 onset
    draws from setdyn's generator), noise-free.
    """
    cfg = TrainConfig()
    model = ref.model
    out = {}
    for name, trials in (("train", ref.train.trial_set()), ("test", ref.test.trial_set())):
        out[f"{name}_acc_noisy"], _ = evaluate(model, trials, cfg.noise_std, cfg.x0_noise_std, cfg.eval_noise_seed)
        out[f"{name}_acc_clean"], _ = evaluate(model, trials)
    out["fresh_acc_clean"], _ = evaluate(model, task.fresh_set(paper.FRESH_ONSET_SEED, paper.FRESH_DRAWS))
    keys = ["train_acc_noisy", "train_acc_clean", "test_acc_clean", "test_acc_noisy", "fresh_acc_clean"]
    return {k: out[k] for k in keys}


def analyze(ref: Reference, progress: bool = False) -> dict:
    """What ``python -m setdyn analyze`` prints, for the reference's network: ``analysis.analyze`` exactly
    as for setdyn's weights. ``analyze`` draws its own trials, so its PCA and rotation use setdyn's
    training set (seed 0), not the reference's 540 trials: the best rotation there is 132 degrees in
    setdyn's signs, against 120.5 on the reference's trials (:func:`paper_figures`)."""
    return analysis.analyze(ref.model, training_seed=0, progress=progress)


# ---------------------------------------------------------------- the paper's figures

#: The reference's hand-set oscillator applies a pulse's kick at the pulse's second sample, 10 ms after
#: its onset (Julia parses `phase != 1 & skip == true` as `phase != (1 & skip) == true`): the paper's value.
REFERENCE_KICK_DELAY_MS = paper.PAPER_OSCILLATOR["kick_delay_ms"]


def paper_oscillator_r2(system: analysis.DynamicalSystem, pca: analysis.TrainingPCA, angle_deg: float,
                        trials: task.TrialSet, kick_delay_ms: float = REFERENCE_KICK_DELAY_MS) -> float:
    """R^2 of the paper's hand-set oscillator (A = 7, T = 290 ms, offset 1.5, kicks 0, +120, -120 deg)
    against rPC1 (setdyn angle `angle_deg`) of the trials, sampled at 10 .. 500 ms as the reference
    compares them; by default the kick lands 10 ms after onset, as in the reference code."""
    y = analysis.rpc1(pca, analysis.trial_rates(system, trials.codes), angle_deg)
    t = (np.arange(trials.codes.shape[1]) + 1) * paper.DT_MS
    f = handcrafted(t, trials.onsets * paper.DT_MS, trials.colors, kick_delay_ms=kick_delay_ms)
    return float(1 - ((y - f) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def paper_figures(ref: Reference, n_boot: int = 0) -> dict[str, Any]:
    """This book's measurements on the paper's network, next to what the paper shows (deg, ms).

    The PCA and the rotation use the reference's 540 training trials (the
    paper's Fig. 4); kicks come from the phase response curve (72 arrival
    phases) and from the pulses of those trials; the hand-set oscillator is
    scored at the paper's 60 degrees on the 27 test trials; the fitted one
    is fitted to the 27 test trials and scored on the 540 training trials.
    """
    model, train, test = ref.model, ref.train.trial_set(), ref.test.trial_set()
    cyc = analysis.free_run_dynamics(model)
    phase_ref = analysis.phase_reference(model, cyc)
    prc = analysis.phase_response_curve(model, phase_ref)
    tp = analysis.trial_phases(model, phase_ref, train.colors, train.onsets)
    code = analysis.phase_code(tp.kicks_deg, tp.colors)
    pca = analysis.training_pca(model, trials=train)
    valid = train.targets > 0
    rot = analysis.best_rotation(pca.scores[:, -1, :2], valid)
    frame = pc_convention.pc_frame(model, pca, valid)
    paper_angle = frame.to_setdyn(paper.PAPER_ROTATION_DEG)
    fit = analysis.fit_oscillator(model, pca, rot.best_angle_deg, cyc.period_ms, prc.mean_deg,
                                  fit_on=test, heldout=train, n_boot=n_boot)

    def rel(k: np.ndarray) -> list[float]:
        return [float(v) for v in (np.asarray(k) - k[0] + 180.0) % 360.0 - 180.0]

    return {"mechanism": cyc.kind, "period_ms": cyc.period_ms, "turns_per_trial": paper.TRIAL_MS / cyc.period_ms,
            "floquet_multiplier": float(cyc.floquet_multipliers[0]),
            "kick_deg": dict(zip(paper.COLORS, map(float, prc.mean_deg))),
            "kick_rel_green_deg": dict(zip(paper.COLORS, rel(prc.mean_deg))),
            "kick_in_trial_rel_green_deg": dict(zip(paper.COLORS, rel(code.kick_mean_deg))),
            "z3_steps": dict(zip(paper.COLORS, code.steps)),
            "rotation_setdyn_deg": rot.best_angle_deg, "rotation_margin": rot.best_margin,
            "rotation_paper_convention_deg": frame.from_setdyn(rot.best_angle_deg),
            "pc_frame": {"pc1_sign": frame.pc1_sign, "turn": frame.turn},
            "paper_oscillator_r2": paper_oscillator_r2(model, pca, paper_angle, test),
            "paper_oscillator_r2_kick_at_onset": paper_oscillator_r2(model, pca, paper_angle, test, 0.0),
            "fitted_oscillator": fit.to_dict()}
