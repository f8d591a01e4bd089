"""Everything the paper fixes, written once: task timing, the decision rule, the
paper's reported numbers and hand-set oscillator, and the named trial sets.

K. T. Murray, "Recurrent networks recognize patterns with low-dimensional
oscillations", 2023 (arXiv:2310.07908). No other module retypes these values;
the C++ engine receives :data:`DECISION_THRESHOLD` as an argument and the
JavaScript explorers read it from their exported data.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# The paper this book reproduces (its parts, for the book's header and BibTeX).
PAPER_AUTHORS: tuple[str, ...] = ("K. T. Murray",)
PAPER_TITLE = "Recurrent networks recognize patterns with low-dimensional oscillations"
PAPER_YEAR = 2023
ARXIV_ID = "2310.07908"
#: Full reference of the paper this book reproduces.
CITATION = f'{", ".join(PAPER_AUTHORS)}, "{PAPER_TITLE}", {PAPER_YEAR}. arXiv:{ARXIV_ID}'
ARXIV_URL = f"https://arxiv.org/abs/{ARXIV_ID}"

# --- the task -------------------------------------------------------------------
COLORS: tuple[str, ...] = ("green", "purple", "red")
COLOR_LETTERS: tuple[str, ...] = ("G", "P", "R")
#: Paper colours (hex) used in every figure.
COLOR_HEX: dict[str, str] = {"green": "#5CD629", "purple": "#662BF0", "red": "#DA3A32"}

DT_MS = 10.0  #: simulation step (ms)
N_STEPS = 50  #: steps per trial (500 ms)
PULSE_STEPS = 2  #: each colour is on for 20 ms
ONSET_MIN = 3  #: earliest onset step (30 ms)
ONSET_MAX = 40  #: latest onset step (400 ms); the last pulse ends by 420 ms
MIN_ONSET_GAP = 5  #: consecutive onsets at least 50 ms apart (pulse + 30 ms gap)
SCORE_STEPS = 5  #: the target is scored on the last 50 ms
INPUT_DIM = 100  #: dimension of the colour encodings
NO_INPUT = -1  #: stimulus code for "nothing shown"
TRIAL_MS = N_STEPS * DT_MS  #: trial length (ms)

# --- the model ------------------------------------------------------------------
N_UNITS = 100  #: units in the paper's network
#: The trainable parameters of a CT-RNN, in the reference's order (x0, J, B, b, W, b_out).
PARAM_NAMES: tuple[str, ...] = ("x0", "J", "B", "b", "W", "b_out")

# --- the decision rule ----------------------------------------------------------
#: The output z at the last step above +0.5 means "valid", below -0.5 "invalid";
#: in between the network is undecided, which counts as wrong.
DECISION_THRESHOLD = 0.5


def decide(z: Any) -> Any:
    """The network's answer from its output z at the last step: +1 (valid) where
    z > 0.5, -1 (invalid) where z < -0.5, 0 (undecided, counted wrong) otherwise.

    Works element-wise on a float, a NumPy array or a torch tensor and returns the
    same kind (ints for a float, arrays/tensors of z's dtype otherwise).
    """
    if isinstance(z, (float, int, np.floating, np.integer)):
        z = float(z)
        return 1 if z > DECISION_THRESHOLD else -1 if z < -DECISION_THRESHOLD else 0
    if isinstance(z, np.ndarray):
        return ((z > DECISION_THRESHOLD).astype(z.dtype) - (z < -DECISION_THRESHOLD).astype(z.dtype))
    # torch tensor (kept duck-typed so this module does not import torch)
    return (z > DECISION_THRESHOLD).to(z.dtype) - (z < -DECISION_THRESHOLD).to(z.dtype)


def verdict(z: float) -> str:
    """'valid', 'invalid' or 'undecided' for an output z at the last step."""
    return {1: "valid", -1: "invalid", 0: "undecided"}[decide(float(z))]


# --- what the paper reports -----------------------------------------------------
#: Accuracies the paper reports for its network (fractions).
PAPER_ACCURACY: dict[str, float] = {"train_acc_noisy": 26 / 27, "test_acc_noisy": 1.0,
                                    "train_acc_clean": 1.0, "test_acc_clean": 1.0}
#: Rotation of PC1-PC2 that separates valid from invalid end points, as the paper gives it (degrees).
PAPER_ROTATION_DEG = 60.0
#: The paper's hand-set oscillator (Fig. 8): f(t) = A sin(2 pi t / T + kicks) - offset.
#: kick_delay_ms: when a pulse's kick lands after the pulse's first input sample. The paper writes the
#: kick as immediate, but its code (the `sine_wave` loop of generate_ieee_figures.jl) applies it at the
#: pulse's second sample, 10 ms after onset: Julia parses `phase != 1 & skip == true` as
#: `phase != (1 & skip) == true`, which skips the first sample instead of the second. 10 ms makes
#: these values reproduce the curves of the paper's Fig. 8 sample for sample.
PAPER_OSCILLATOR: dict[str, Any] = {"amplitude": 7.0, "period_ms": 290.0, "offset": 1.5,
                                    "kicks_deg": (0.0, 120.0, -120.0),  # green, purple, red
                                    "kick_delay_ms": 10.0}
#: Phase shifts of the automaton states (degrees), green, purple, red.
PAPER_KICKS_DEG: tuple[float, float, float] = PAPER_OSCILLATOR["kicks_deg"]


def prose_values() -> dict[str, Any]:
    """The paper's reported values as the chapters' prose glues them (keys ``paper_*``): its oscillator's
    amplitude, period (ms and s), offset, kick delay (ms) and kicks (signed text, degrees), and its rotation
    of PC1-PC2 (degrees)."""
    from .prose import signed

    osc = PAPER_OSCILLATOR
    return {"paper_amplitude": osc["amplitude"], "paper_period_ms": osc["period_ms"],
            "paper_period_s": osc["period_ms"] / 1000, "paper_offset": osc["offset"],
            "paper_kick_delay_ms": osc["kick_delay_ms"], "paper_rotation_deg": PAPER_ROTATION_DEG,
            **{f"paper_kick_{name}": signed(k) for name, k in zip(COLORS, PAPER_KICKS_DEG)}}


# --- when a trained network counts as solving the task ---------------------------
#: Training stops (and a seed is accepted) once all three hold.
ACCEPT: dict[str, float] = {"train_acc_noisy": 0.96, "test_acc_clean": 1.0, "fresh_acc_clean": 0.99}

# --- named trial sets and their seeds ---------------------------------------------
#: seed of the onsets of the 27-trial test set used during training
TEST_ONSET_SEED = 12345
#: seed of the onsets of the generalisation set (27 combinations x draws)
FRESH_ONSET_SEED = 777
FRESH_DRAWS = 20
#: seed of the held-out trials the oscillator fit is scored on (27 x 4 draws)
HELDOUT_ONSET_SEED = 4242
HELDOUT_DRAWS = 4
#: seed of the recurrent noise of the noisy accuracies measured during and after training
EVAL_NOISE_SEED = 99
#: offset added to a network's seed for the fresh trials of the mechanism classifier
MECHANISM_SEED_OFFSET = 4242
#: offset added to a network's seed for the trials of an automaton check
AUTOMATON_SEED_OFFSET = 2024
