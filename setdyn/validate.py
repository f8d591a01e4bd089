"""One validator per kind of input: every public entry point checks its arguments here.

Each function returns the value in its canonical form (an int, a float, a tuple,
an int64 array) or raises a ``ValueError`` whose message names the argument, the
value received and the values accepted. Nothing is rounded, wrapped, clipped or
dropped: 2.9 is not a colour, -1 is not an onset, NaN is not a period.

Kinds of input
--------------
* :func:`codes`: stimulus codes per step, -1 (no input) or 0, 1, 2 (green, purple, red).
* :func:`color`: one colour, as an index 0-2, a name ('green') or a letter ('G').
* :func:`pulses`: colours (-1 no pulse) and onset steps of a batch of trials, checked together.
* :func:`onsets`: onset steps of the pulses (whole steps of 10 ms inside the trial,
  by default inside the task's onset window and at least 5 steps apart).
* :func:`finite`: a finite number of any sign (a phase, an offset, a kick in degrees).
* :func:`positive`: a finite number > 0 (a period in ms, an amplitude, alpha).
* :func:`non_negative`: a finite number >= 0 (a noise std); :func:`non_negatives`: an array of them.
* :func:`probability`: a finite number in [0, 1].
* :func:`whole`: an integer in a range (a number of epochs, workers, units).
* :func:`seed`: a seed for NumPy and PyTorch generators, 0 .. 2**32 - 1.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from . import paper

#: Largest accepted seed (inclusive): every generator setdyn seeds accepts 32 bits.
SEED_MAX = 2**32 - 1
_CODES_TEXT = "-1 (no input) or 0, 1, 2 (green, purple, red)"
_COLOR_TEXT = (f"a name {', '.join(paper.COLORS)}, a letter {', '.join(paper.COLOR_LETTERS)} "
               "or an index 0, 1, 2")


def _is_bool(x: Any) -> bool:
    return isinstance(x, (bool, np.bool_))


def _scalar_kind(x: Any) -> str:
    """'i' for an integer scalar, 'f' for a real one, 'b' for a bool, '' for anything else.

    Scalars are Python/NumPy numbers and 0-d NumPy arrays or torch tensors."""
    if _is_bool(x):
        return "b"
    if isinstance(x, numbers.Integral):
        return "i"
    if isinstance(x, numbers.Real):
        return "f"
    if getattr(x, "ndim", None) == 0 and hasattr(x, "dtype"):
        dt = str(x.dtype).replace("torch.", "")
        return "b" if dt == "bool" else "i" if dt.startswith(("int", "uint")) else \
            "f" if dt.startswith(("float", "double", "half", "bfloat")) else ""
    return ""


def _is_int(x: Any) -> bool:
    """A Python or NumPy integer (not a bool), or a 0-d integer array/tensor."""
    return _scalar_kind(x) == "i"


def _as_array(values: Any) -> np.ndarray:
    """values as a NumPy array without changing any element (torch tensors via .numpy())."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _whole_array(values: Any, name: str, accepted: str) -> np.ndarray:
    """values (any shape) as an int64 array of whole numbers: integer arrays as they are, float arrays
    only when every element is a whole number; booleans, strings and objects are refused."""
    arr = _as_array(values)
    kind = arr.dtype.kind
    if kind == "b" or kind not in "iuf":
        raise ValueError(f"{name} must be integers, {accepted}; got an array of {arr.dtype}")
    if kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) if arr.size else np.zeros(0, bool)
        if bad.any():
            raise ValueError(f"{name} must be whole numbers, {accepted}; got {float(arr[bad].flat[0])}")
    return arr.astype(np.int64)


def codes(values: Any, name: str = "stimulus codes") -> np.ndarray:
    """Stimulus codes (any shape) as an int64 array; every element must be -1, 0, 1 or 2.

    Integer arrays and tensors are taken as they are; float arrays only when every
    element is a whole number (so 2.0 is accepted, 2.9, 0.7 and NaN are refused);
    booleans, strings and objects are refused.
    """
    out = _whole_array(values, name, _CODES_TEXT)
    if out.size and (out.min() < paper.NO_INPUT or out.max() > len(paper.COLORS) - 1):
        wrong = out[(out < paper.NO_INPUT) | (out > len(paper.COLORS) - 1)].flat[0]
        raise ValueError(f"{name} must be {_CODES_TEXT}; got {int(wrong)}")
    return out


def pulses(colors: Any, onsets: Any, n_steps: int, pulse_steps: int = paper.PULSE_STEPS,
           name: str = "pulses") -> tuple[np.ndarray, np.ndarray]:
    """Pulses of a batch of trials as (colours, onset steps), both int64 arrays of shape B x n.

    A colour is -1 (no pulse) or 0, 1, 2; the onset of every present pulse is a whole step
    with its whole pulse inside the n_steps-step trial (0 .. n_steps - pulse_steps): an onset
    of -1 is not wrapped to the last step. Onsets of absent pulses are not read.
    """
    col = np.atleast_2d(codes(colors, f"{name}: colours"))
    ons = np.atleast_2d(_whole_array(onsets, f"{name}: onset steps",
                                     f"0 .. {n_steps - pulse_steps} (10 ms steps)"))
    if ons.shape != col.shape:
        raise ValueError(f"{name}: onsets {ons.shape} and colours {col.shape} must have the same shape "
                         "(trials x pulses)")
    present = col >= 0
    bad = present & ((ons < 0) | (ons + pulse_steps > n_steps))
    if bad.any():
        raise ValueError(f"{name}: the pulse at onset step {int(ons[bad].flat[0])} does not fit in the trial: "
                         f"accepted onsets 0..{n_steps - pulse_steps} for {n_steps} steps and "
                         f"{pulse_steps}-step pulses")
    return col, ons


def non_negatives(values: Any, name: str) -> np.ndarray:
    """A number or an array of finite numbers >= 0 (e.g. one noise std per trial) as a float array."""
    arr = _as_array(values)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be finite numbers >= 0, got an array of {arr.dtype}")
    arr = arr.astype(float)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ValueError(f"{name} must be finite numbers >= 0, got {float(arr[bad].flat[0])}")
    return arr


def color(value: Any, name: str = "colour") -> int:
    """Index 0, 1, 2 of one colour given by index, name ('green') or letter ('G'), any case."""
    if _is_int(value):
        if 0 <= int(value) < len(paper.COLORS):
            return int(value)
        raise ValueError(f"{name} index must be 0, 1 or 2 ({', '.join(paper.COLORS)}), got {int(value)}")
    if isinstance(value, str):
        key = value.strip().lower()
        for i, (full, letter) in enumerate(zip(paper.COLORS, paper.COLOR_LETTERS)):
            if key in (full, letter.lower()):
                return i
    raise ValueError(f"unknown {name} {value!r}; accepted: {_COLOR_TEXT}")


def colors(values: Any, name: str = "colours") -> tuple[int, ...]:
    """Indices of a sequence of colours: 'PGR', 'purple,green,red', ['P', 1, 'red'] or (1, 0, 2)."""
    if isinstance(values, str):
        items: Sequence[Any] = values.split(",") if "," in values else list(values)
    else:
        items = list(_as_array(values).tolist()) if hasattr(values, "dtype") else list(values)
    return tuple(color(c, f"{name}[{i}]") for i, c in enumerate(items))


def onsets(values: Any, n_steps: int = paper.N_STEPS,
           window: tuple[int, int] | None = (paper.ONSET_MIN, paper.ONSET_MAX),
           min_gap: int | None = paper.MIN_ONSET_GAP, pulse_steps: int = paper.PULSE_STEPS,
           name: str = "onsets") -> tuple[int, ...]:
    """Onset steps (10 ms each) of the pulses of one trial, as a tuple of ints.

    Every onset is a whole step, inside ``window`` (inclusive; default the task's
    3..40, that is 30-400 ms; None: anywhere), with its whole pulse of
    ``pulse_steps`` steps inside the trial of ``n_steps`` steps; with ``min_gap``
    (default 5 steps, 50 ms) the onsets are increasing and at least that far apart.
    """
    items = list(_as_array(values).tolist()) if hasattr(values, "dtype") else list(values)
    out = []
    for o in items:
        if not _is_int(o):
            raise ValueError(f"{name} must be whole step numbers (10 ms each), got {o!r}")
        out.append(int(o))
    lo, hi = window if window is not None else (0, n_steps - pulse_steps)
    for o in out:
        if not lo <= o <= hi:
            raise ValueError(f"onset step {o} is outside the allowed window {lo}..{hi} "
                             f"({lo * paper.DT_MS:.0f}-{hi * paper.DT_MS:.0f} ms)")
        if o < 0 or o + pulse_steps > n_steps:
            raise ValueError(f"the pulse at onset step {o} does not fit in the trial: accepted onsets "
                             f"0..{n_steps - pulse_steps} for {n_steps} steps and {pulse_steps}-step pulses")
    if min_gap is not None:
        for a, b in zip(out, out[1:]):
            if b <= a:
                raise ValueError(f"{name} must be strictly increasing, got {out}")
            if b - a < min_gap:
                raise ValueError(
                    f"onsets {a} and {b} are {b - a} steps apart; consecutive onsets need >= {min_gap} steps "
                    f"({min_gap * paper.DT_MS:.0f} ms: a {pulse_steps * paper.DT_MS:.0f} ms pulse and a gap)")
    return tuple(out)


def _real(value: Any, name: str, accepted: str) -> float:
    if _scalar_kind(value) not in ("i", "f"):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be {accepted}, got {x}")
    return x


def finite(value: Any, name: str) -> float:
    """A finite real number of any sign as a float (a phase in degrees, an offset, a kick)."""
    return _real(value, name, "a finite number")


def positive(value: Any, name: str, upper: float | None = None) -> float:
    """A finite number > 0 (and <= ``upper`` when given) as a float."""
    accepted = "a finite number > 0" if upper is None else f"in (0, {upper:g}]"
    x = _real(value, name, accepted)
    if x <= 0 or (upper is not None and x > upper):
        raise ValueError(f"{name} must be {accepted}, got {x:g}")
    return x


def non_negative(value: Any, name: str) -> float:
    """A finite number >= 0 as a float (0 allowed: e.g. a noise std of 0 means no noise)."""
    x = _real(value, name, "a finite number >= 0")
    if x < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {x:g}")
    return x


def probability(value: Any, name: str) -> float:
    """A finite number in [0, 1] as a float."""
    x = _real(value, name, "a finite number between 0 and 1")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} must be a finite number between 0 and 1, got {x:g}")
    return x


def whole(value: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (not a bool, not a float such as 10.5 or 1e23) in lo..hi (inclusive) as an int."""
    accepted = "an integer" + (f" >= {lo}" if lo is not None and hi is None else "") + \
        (f" between {lo} and {hi}" if lo is not None and hi is not None else "") + \
        (f" <= {hi}" if lo is None and hi is not None else "")
    if not _is_int(value):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    n = int(value)
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise ValueError(f"{name} must be {accepted}, got {n}")
    return n


def seed(value: Any, name: str = "seed") -> int:
    """A seed for the NumPy and PyTorch generators: an integer 0 .. 2**32 - 1."""
    return whole(value, name, 0, SEED_MAX)
