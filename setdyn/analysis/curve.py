"""A closed orbit as a Fourier series x(theta) in its phase theta (rad), and the phase of a state near it."""
from __future__ import annotations

import numpy as np


def fourier_basis(theta: np.ndarray, harmonics: int, deriv: int = 0) -> np.ndarray:
    """Fourier basis [1, cos k theta, sin k theta] (k = 1..harmonics) at phases theta (rad), or its
    first or second derivative: array of shape (len(theta), 2 harmonics + 1)."""
    k = np.arange(1, harmonics + 1)
    a = np.outer(theta, k)
    if deriv == 0:
        return np.hstack([np.ones((len(theta), 1)), np.cos(a), np.sin(a)])
    if deriv == 1:
        return np.hstack([np.zeros((len(theta), 1)), -k * np.sin(a), k * np.cos(a)])
    return np.hstack([np.zeros((len(theta), 1)), -k ** 2 * np.cos(a), -k ** 2 * np.sin(a)])


def fit_closed_curve(x: np.ndarray, theta: np.ndarray, tol: float, max_h: int = 40) -> tuple[np.ndarray, int, float]:
    """Fourier series x(theta) through samples x (M x N) at phases theta (rad, M).

    Fits with 1, 2, 4, 8, 12, 16, 24, 32, 40 harmonics (as many as the
    distinct sample phases allow) and keeps the fewest whose largest
    residual is below tol / 10 or within 1.5 times the best residual.
    Returns (coefficients (2h+1) x N, h, largest residual in state units).
    """
    distinct = len(np.unique(np.round(np.mod(theta, 2 * np.pi), 9)))
    h_max = max(1, min(max_h, (distinct - 1) // 2))
    fits = []
    for h in sorted({h for h in (1, 2, 4, 8, 12, 16, 24, 32, 40, h_max) if h <= h_max}):
        b = fourier_basis(theta, h)
        coef = np.linalg.lstsq(b, x, rcond=None)[0]
        fits.append((coef, h, float(np.linalg.norm(b @ coef - x, axis=1).max())))
        if fits[-1][2] < tol / 10:
            break
    best = min(f[2] for f in fits)
    return next(f for f in fits if f[2] <= max(tol / 10, 1.5 * best))


def phase_on_curve(coef: np.ndarray, harmonics: int, states: np.ndarray,
                   grid: int = 360) -> tuple[np.ndarray, np.ndarray]:
    """(phase in rad in [0, 2 pi), distance to the curve) of states (B x N) near the curve `coef`.

    The nearest of `grid` points on the curve, refined by five clipped
    Newton steps on the squared distance.
    """
    z = np.asarray(states, dtype=float)
    g = 2 * np.pi * np.arange(grid) / grid
    c = fourier_basis(g, harmonics) @ coef
    d2 = (z ** 2).sum(1)[:, None] + (c ** 2).sum(1)[None] - 2 * z @ c.T
    th = g[np.argmin(d2, 1)]
    for _ in range(5):
        r = fourier_basis(th, harmonics) @ coef - z
        c1 = fourier_basis(th, harmonics, 1) @ coef
        c2 = fourier_basis(th, harmonics, 2) @ coef
        g1 = (r * c1).sum(1)
        g2 = (c1 * c1).sum(1) + (r * c2).sum(1)
        stepv = np.where(g2 > 0, g1 / np.where(g2 > 0, g2, 1), 0.0)
        th = th - np.clip(stepv, -2 * np.pi / grid, 2 * np.pi / grid)
    dist = np.linalg.norm(fourier_basis(th, harmonics) @ coef - z, axis=1)
    return np.mod(th, 2 * np.pi), dist
