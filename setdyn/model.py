"""The continuous-time RNN of the paper, discretised with forward Euler.

    x_{t+1} = (1 - a) x_t + a (J phi(x_t) + B u_t + b + eta_t),   a = dt / tau
    z_t     = W phi(x_t) + b_out

phi is the activation, tanh in the paper (the default) or relu (the
follow-up's second setting, `ACTIVATIONS`).

The paper uses dt = tau = 10 ms, so a = 1. Inputs u_t are one of three fixed
colour vectors or zero, so B u_t takes only four values: the model takes the
stimulus as integer codes per step (-1 = no input, 0..2 = colour) and looks
the projected input up.

Conventions: `run` returns for each step t = 0..T-1 the rate r after the step
has integrated u_t (that is phi(x_{t+1})) and the output z computed from it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import validate
from .paper import N_UNITS, decide

#: The activations phi a CTRNN accepts: the paper's tanh (default) and the follow-up's relu.
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")


def check_activation(name: object) -> str:
    """`name` if it is one of `ACTIVATIONS`; ValueError naming the accepted values otherwise."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return name


def glorot_normal(shape: tuple[int, ...], gain: float, generator: torch.Generator) -> torch.Tensor:
    """Glorot (Xavier) normal init as in Lux/Flux: std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_out = shape[0]
    fan_in = shape[1] if len(shape) > 1 else 1
    std = gain * (2.0 / (fan_in + fan_out)) ** 0.5
    return torch.randn(shape, generator=generator, dtype=torch.float64) * std


@dataclass
class Run:
    """What one forward pass returns: rates (batch x T x N), outputs z (batch x T)."""

    rates: torch.Tensor
    outputs: torch.Tensor


class CTRNN(nn.Module):
    """Continuous-time RNN with trainable x0, J, B, b, W, b_out and fixed colour encodings."""

    def __init__(self, colors: np.ndarray | torch.Tensor, n_units: int = N_UNITS, alpha: float = 1.0,
                 seed: int = 0, dtype: torch.dtype = torch.float32, activation: str = "tanh") -> None:
        super().__init__()
        #: the activation phi by name (one of `ACTIVATIONS`); written to weight files
        self.activation_name = check_activation(activation)
        alpha = validate.positive(alpha, "alpha = dt/tau", upper=1.0)
        n_units = validate.whole(n_units, "n_units", 1)
        seed = validate.seed(seed)
        colors = torch.as_tensor(colors, dtype=torch.float64)
        if colors.ndim != 2 or colors.shape[0] != 3:
            raise ValueError(f"colors must be a 3 x input_dim array (green, purple, red), got {tuple(colors.shape)}")
        g = torch.Generator().manual_seed(seed)
        n, d = n_units, colors.shape[1]
        self.alpha = float(alpha)
        self.register_buffer("colors", colors.to(dtype))
        self.B = nn.Parameter(glorot_normal((n, d), 1.0, g).to(dtype))
        self.J = nn.Parameter(glorot_normal((n, n), 0.75, g).to(dtype))
        self.W = nn.Parameter(glorot_normal((1, n), 1.5, g).to(dtype))
        self.x0 = nn.Parameter(glorot_normal((n,), 1.0, g).to(dtype))
        self.b = nn.Parameter(torch.zeros(n, dtype=dtype))
        self.b_out = nn.Parameter(torch.zeros(1, dtype=dtype))

    @property
    def n_units(self) -> int:
        return self.J.shape[0]

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """Rates phi(x) of states x (any shape)."""
        return torch.tanh(x) if self.activation_name == "tanh" else torch.relu(x)

    def activation_derivative(self, x: torch.Tensor) -> torch.Tensor:
        """phi'(x), element-wise: 1 - tanh(x)^2, or the step function (x > 0) for relu."""
        if self.activation_name == "tanh":
            return 1 - torch.tanh(x) ** 2
        return (x > 0).to(x.dtype)

    def _activation_(self, x: torch.Tensor) -> torch.Tensor:
        """phi applied in place."""
        return x.tanh_() if self.activation_name == "tanh" else x.relu_()

    def input_table(self) -> torch.Tensor:
        """B u for u in (green, purple, red, nothing): 4 x N. Row -1 is the zero input."""
        proj = self.colors @ self.B.T
        return torch.cat([proj, torch.zeros_like(proj[:1])])

    def drive(self, codes: torch.Tensor, noise_std: float = 0.0,
              generator: torch.Generator | None = None) -> torch.Tensor:
        """External drive B u_t + eta_t for integer stimulus codes (batch x T) -> batch x T x N."""
        noise_std = validate.non_negative(noise_std, "noise_std")
        d = self.input_table()[_as_codes(codes)]
        if noise_std > 0:
            d = d + noise_std * torch.randn(d.shape, generator=generator, dtype=d.dtype)
        return d

    def initial_state(self, batch: int, x0_noise_std: float = 0.0,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """x0 repeated `batch` times (batch x N), plus N(0, x0_noise_std^2) noise when > 0."""
        batch = validate.whole(batch, "batch", 0)
        x0_noise_std = validate.non_negative(x0_noise_std, "x0_noise_std")
        x = self.x0.expand(batch, -1)
        if x0_noise_std > 0:
            x = x + x0_noise_std * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        return x

    def step(self, x: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        """One Euler step of the state x (batch x N) under external drive (batch x N)."""
        a = self.alpha
        h = self.activation(x) @ self.J.T + drive + self.b
        return h if a == 1.0 else (1 - a) * x + a * h

    def readout(self, rates: torch.Tensor) -> torch.Tensor:
        return (rates @ self.W.T).squeeze(-1) + self.b_out

    def run(self, codes: torch.Tensor | np.ndarray, noise_std: float = 0.0, x0_noise_std: float = 0.0,
            generator: torch.Generator | None = None, x_init: torch.Tensor | None = None,
            fast: bool = True) -> Run:
        """Simulate trials. codes: batch x T ints (-1 none, 0..2 colour).

        noise_std is the std of eta per unit per step; x0_noise_std the std of
        the noise added to x0 (both finite and >= 0). x_init (batch x N) replaces x0 when given.
        Codes other than -1, 0, 1, 2 (2.9, 0.7, -2, 3, NaN, booleans) are a ValueError.
        """
        codes = _as_codes(codes)
        drive = self.drive(codes, noise_std, generator)
        x = self.initial_state(codes.shape[0], x0_noise_std, generator) if x_init is None else x_init
        return self.run_drive(x, drive, fast=fast)

    def run_drive(self, x: torch.Tensor, drive: torch.Tensor, fast: bool = True) -> Run:
        """Simulate from states x (batch x N) under a given drive (batch x T x N)."""
        if fast and self.alpha == 1.0:
            # a = 1: r_{t+1} = phi(J r_t + B u_t + b + eta_t), an Elman RNN on the rates;
            # one fused addmm + phi per step.
            r = self.activation(x)
            jt = self.J.T
            out = []
            for c in (drive + self.b).unbind(1):
                r = self.activation(torch.addmm(c, r, jt))
                out.append(r)
            rates = torch.stack(out, 1)
        else:
            out = []
            for d in drive.unbind(1):
                x = self.step(x, d)
                out.append(self.activation(x))
            rates = torch.stack(out, 1)
        return Run(rates, self.readout(rates))

    @torch.no_grad()
    def final_outputs(self, codes: torch.Tensor | np.ndarray, n_last: int) -> torch.Tensor:
        """Noise-free outputs z on the last `n_last` steps of each trial (batch x n_last), equal to
        `run(codes).outputs[:, -n_last:]` up to float rounding, but without storing every step: what
        evaluation needs, at a fraction of the time and memory."""
        codes = _as_codes(codes)
        nb, T = codes.shape
        if not validate._is_int(n_last) or not 1 <= n_last <= T:
            raise ValueError(f"n_last must be between 1 and the trial length {T}, got {n_last!r}")
        table = self.input_table()  # B u for green, purple, red, none; code -1 -> row 3
        rows = (codes % 4).T.contiguous()  # T x batch
        x = self.initial_state(nb)
        r = self.activation(x)
        a = self.alpha
        fused = a == 1.0
        if fused:  # as run_drive's fast path: r <- phi(addmm(B u_t + b, r, J^T)), in place
            table, jt = table + self.b, self.J.T.contiguous()
        out = []
        for t in range(T):
            if fused:
                r = self._activation_(torch.index_select(table, 0, rows[t]).addmm_(r, jt))
            else:  # as step(): h = phi(x) J^T + B u_t + b
                x = (1 - a) * x + a * (r @ self.J.T + torch.index_select(table, 0, rows[t]) + self.b)
                r = self.activation(x)
            if t >= T - n_last:
                out.append(r)
        return self.readout(torch.stack(out, 1))

    def free_run(self, x: torch.Tensor, n_steps: int) -> torch.Tensor:
        """States (not rates) x_1..x_n with no input and no noise, from x (batch x N)."""
        out = []
        zero = torch.zeros_like(x)
        for _ in range(n_steps):
            x = self.step(x, zero)
            out.append(x)
        return torch.stack(out, 1)


def accuracy(outputs: torch.Tensor | np.ndarray, targets: torch.Tensor | np.ndarray) -> float:
    """Fraction correct at the final step (`paper.decide`: z beyond +-DECISION_THRESHOLD on the target's side;
    undecided counts wrong). outputs: (batch, T) or (batch,); targets: (batch,) of +-1."""
    z = torch.as_tensor(outputs)[..., -1]
    t = torch.as_tensor(targets, dtype=z.dtype)
    hits = decide(z) == t  # decide: +1, -1, or 0 (undecided)
    return int(hits.sum()) / hits.numel()


def float64_copy(model: CTRNN) -> CTRNN:
    """A float64 copy of `model` in eval mode, for analysis; the caller's model is not changed
    (also when it is float64 already: the copy is then exact)."""
    with torch.no_grad():
        m = copy.deepcopy(model)
    m.to(torch.float64)
    for p in m.parameters():
        p.grad = None
    return m.eval()


def _as_codes(codes: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Stimulus codes as a batch x T long tensor, checked by :func:`setdyn.validate.codes`
    (-1 no input, 0..2 colours; anything else is a ValueError, never rounded)."""
    if torch.is_tensor(codes) and codes.dtype == torch.long:
        arr = codes
        if arr.numel() and (int(arr.min()) < -1 or int(arr.max()) > 2):
            validate.codes(arr)  # raises with the message naming the accepted codes
    else:
        arr = torch.as_tensor(validate.codes(codes))
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2:
        raise ValueError(f"stimulus codes must be batch x T (or T), got shape {tuple(arr.shape)}")
    return arr
