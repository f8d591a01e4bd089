"""The one-attribute SET task: three colours shown one after another.

A trial lasts 500 ms on a 10 ms grid (50 steps). Each colour is shown for
20 ms (2 steps). Three colours form a SET when they are all the same or all
different; with green, purple, red = 0, 1, 2 this is exactly when their sum
is 0 mod 3.

Stimuli are integer codes per step: -1 for no input, 0/1/2 for a colour.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from . import validate
# The task's constants live in `setdyn.paper`; re-exported here so that `task.DT_MS` etc. keep working.
from .paper import (COLOR_HEX, COLOR_LETTERS, COLORS, DT_MS, FRESH_DRAWS, INPUT_DIM, MIN_ONSET_GAP,  # noqa: F401
                    N_STEPS, NO_INPUT, ONSET_MAX, ONSET_MIN, PULSE_STEPS, SCORE_STEPS)


def color_index(color: str | int) -> int:
    """Index 0, 1, 2 of a colour given by name ('green'), letter ('G') or index (see
    :func:`setdyn.validate.color`; anything else is a ValueError)."""
    return validate.color(color)


def parse_sequence(colors: str | Iterable[str | int]) -> tuple[int, ...]:
    """Colour indices of a sequence: 'PGR', ['purple', 'green', 'red'] or (1, 0, 2)."""
    return validate.colors(colors)


def sequence_name(colors: Sequence[int]) -> str:
    """Letters of a sequence of colour indices, e.g. (1, 0, 2) -> 'PGR'."""
    return "".join(COLOR_LETTERS[color_index(c)] for c in colors)


def is_valid_set(colors: str | Iterable[str | int]) -> bool:
    """True when three colours are all the same or all different."""
    seq = parse_sequence(colors)
    if len(seq) != 3:
        raise ValueError(f"a SET needs exactly 3 colours, got {len(seq)}: {seq}")
    return len(set(seq)) in (1, 3)


def all_combinations() -> list[tuple[int, int, int]]:
    """The 27 ordered colour triples, in lexicographic order (GGG, GGP, ..., RRR)."""
    return [tuple(c) for c in itertools.product(range(3), repeat=3)]  # type: ignore[misc]


def check_onsets(onsets: Sequence[int], n_steps: int = N_STEPS) -> tuple[int, ...]:
    """Validate explicit onset steps; returns them as a tuple of ints.

    Rules (steps of 10 ms): each onset in [ONSET_MIN, ONSET_MAX], sorted,
    consecutive onsets at least MIN_ONSET_GAP apart (so pulses never overlap),
    and every pulse ends inside the trial.
    """
    return validate.onsets(onsets, n_steps)


#: The onset generators: "grid" draws whole steps uniformly from ONSET_MIN..ONSET_MAX (this book's
#: first recipe; every weight file trained before the "reference" generator existed used it);
#: "reference" draws the pulse starts in continuous time as the reference code does (see
#: `draw_onsets`). A TrainConfig records which one trained a network.
ONSET_GENERATORS: tuple[str, ...] = ("grid", "reference")


def check_generator(generator: str) -> str:
    """`generator` if it names an onset generator; ValueError listing the accepted names otherwise."""
    if not isinstance(generator, str) or generator not in ONSET_GENERATORS:
        raise ValueError(f"unknown onset generator {generator!r}; accepted: {', '.join(map(repr, ONSET_GENERATORS))}")
    return generator


def first_input_step(start_ms: np.ndarray | float) -> np.ndarray:
    """The first grid step whose input shows a pulse starting at `start_ms` (ms, any shape): the
    reference reads the input at the left end of each Euler step, so a pulse starting at b is
    seen at the grid times b < n dt <= b + 20 ms, the first being n = floor(b / dt) + 1."""
    return np.floor(np.asarray(start_ms, dtype=float) / DT_MS).astype(np.int64) + 1


def draw_onsets(rng: np.random.Generator, n_pulses: int = 3, generator: str = "grid") -> tuple[int, ...]:
    """Onset steps (the first step at which each colour is shown) for one trial, sorted.

    generator "grid": whole steps uniform in ONSET_MIN..ONSET_MAX (3..40), redrawn until
    consecutive onsets are >= MIN_ONSET_GAP steps apart.
    generator "reference": the reference code's recipe: pulse starts b uniform in continuous
    time [ONSET_MIN dt, ONSET_MAX dt) = [30, 400) ms, sorted, redrawn until consecutive starts
    are >= MIN_ONSET_GAP dt = 50 ms apart; the onset step is `first_input_step(b)` (4..40:
    never 3, and a 5-step gap only when the fractional parts allow it).
    """
    check_generator(generator)
    n_pulses = validate.whole(n_pulses, "n_pulses", 0)
    if n_pulses * MIN_ONSET_GAP > ONSET_MAX - ONSET_MIN + MIN_ONSET_GAP:
        raise ValueError(f"{n_pulses} pulses do not fit in one trial; at most 8")
    if generator == "reference":
        lo, hi, gap = ONSET_MIN * DT_MS, ONSET_MAX * DT_MS, MIN_ONSET_GAP * DT_MS
        while True:
            starts = np.sort(rng.uniform(lo, hi, size=n_pulses))
            if n_pulses < 2 or np.all(np.diff(starts) >= gap):
                return tuple(int(o) for o in first_input_step(starts))
    while True:
        onsets = np.sort(rng.integers(ONSET_MIN, ONSET_MAX + 1, size=n_pulses))
        if n_pulses < 2 or np.all(np.diff(onsets) >= MIN_ONSET_GAP):
            return tuple(int(o) for o in onsets)


def default_onsets(n_pulses: int = 3) -> tuple[int, ...]:
    """Evenly spread onsets used for the illustrative trials (steps): 5, 15, 25 for three."""
    n_pulses = validate.whole(n_pulses, "n_pulses", 0, 4)
    return tuple(5 + 10 * i for i in range(n_pulses))


def stimulus(colors: Sequence[int], onsets: Sequence[int], n_steps: int = N_STEPS) -> np.ndarray:
    """Per-step stimulus codes (int array of length n_steps; -1 = no input).

    colors: one colour per pulse (indices, names or letters); onsets: their onset
    steps, checked by :func:`check_onsets` (a pulse outside the trial is an error,
    never dropped)."""
    n_steps = validate.whole(n_steps, "n_steps", 1)
    seq = parse_sequence(colors)
    ons = check_onsets(onsets, n_steps)
    if len(seq) != len(ons):
        raise ValueError(f"need one onset per colour: {len(seq)} colours, {len(ons)} onsets")
    codes = np.full(n_steps, NO_INPUT, dtype=np.int64)
    for c, o in zip(seq, ons):
        codes[o : o + PULSE_STEPS] = c
    return codes


def color_encodings(seed: int, dim: int = INPUT_DIM) -> np.ndarray:
    """The three fixed colour vectors (3 x dim, rows green, purple, red), N(0, 1)."""
    seed, dim = validate.seed(seed, "encoding seed"), validate.whole(dim, "input dimension", 1)
    return np.random.default_rng(seed).standard_normal((3, dim))


@dataclass(frozen=True)
class TrialSet:
    """A batch of trials: stimulus codes (n x T), colours (n x 3), onsets (n x 3), targets (n,)."""

    codes: np.ndarray
    colors: np.ndarray
    onsets: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


def make_trials(
    combos: Sequence[Sequence[int]],
    onsets: Sequence[Sequence[int]] | None = None,
    rng: np.random.Generator | None = None,
    n_steps: int = N_STEPS,
    generator: str = "grid",
) -> TrialSet:
    """Trials for the given colour triples; onsets given explicitly or drawn from rng with the onset
    generator `generator` ("grid" or "reference", see `draw_onsets`)."""
    check_generator(generator)
    if onsets is None:
        if rng is None:
            raise ValueError("give either explicit onsets or a random generator to draw them")
        onsets = [draw_onsets(rng, len(c), generator) for c in combos]
    if len(onsets) != len(combos):
        raise ValueError(f"need one onset triple per trial: {len(combos)} trials, {len(onsets)} onset lists")
    colors = np.array([parse_sequence(c) for c in combos], dtype=np.int64)
    ons = np.array([check_onsets(o, n_steps) for o in onsets], dtype=np.int64)
    codes = np.stack([stimulus(c, o, n_steps) for c, o in zip(colors, ons)])
    targets = np.array([1.0 if is_valid_set(c) else -1.0 for c in colors])
    return TrialSet(codes, colors, ons, targets)


def training_set(seed: int, valid_repeats: int = 30, invalid_repeats: int = 15, generator: str = "grid") -> TrialSet:
    """The reference training set: each valid triple 30x, each invalid 15x (540 trials,
    50% valid), random onsets per trial drawn with `seed` by the onset generator `generator`."""
    seed = validate.seed(seed)
    valid_repeats = validate.whole(valid_repeats, "valid_repeats", 0)
    invalid_repeats = validate.whole(invalid_repeats, "invalid_repeats", 0)
    rng = np.random.default_rng(seed)
    combos = [c for c in all_combinations() for _ in range(valid_repeats if is_valid_set(c) else invalid_repeats)]
    return make_trials(combos, rng=rng, generator=generator)


def test_set(onsets: Sequence[int] | None = None, seed: int | None = None, generator: str = "grid") -> TrialSet:
    """The 27 combinations once each: with one onset draw from `seed` (by `generator`), or fixed onsets."""
    combos = all_combinations()
    check_generator(generator)
    if seed is not None:
        if onsets is not None:
            raise ValueError("give either fixed onsets or a seed to draw them, not both")
        return make_trials(combos, rng=np.random.default_rng(validate.seed(seed)), generator=generator)
    ons = default_onsets() if onsets is None else check_onsets(onsets)
    return make_trials(combos, onsets=[ons] * len(combos))


def fresh_set(seed: int, draws: int = FRESH_DRAWS, generator: str = "grid") -> TrialSet:
    """All 27 combinations x `draws` fresh onset draws (by `generator`): the generalisation check."""
    seed, draws = validate.seed(seed), validate.whole(draws, "draws", 1)
    combos = [c for c in all_combinations() for _ in range(draws)]
    return make_trials(combos, rng=np.random.default_rng(seed), generator=generator)
