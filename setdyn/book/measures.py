"""Small measurements the chapters report that belong to no analysis step of their own."""
from __future__ import annotations

from typing import Any

import numpy as np


def separating_arc(angles_deg: np.ndarray, margins: np.ndarray) -> tuple[float, float]:
    """The arc of rotation angles around the best one on which the margin stays positive.

    Parameters
    ----------
    angles_deg : ndarray of shape (n,)
        Equally spaced angles of a scan round the whole circle (degrees), e.g.
        ``RotationScan.angles_deg``.
    margins : ndarray of shape (n,)
        The margin at each angle (positive: a threshold on rPC1 separates the classes).

    Returns
    -------
    (from_deg, to_deg) : tuple of float
        The widest-margin angle minus / plus the number of scan steps to the nearest angle on
        each side whose margin is <= 0 (exclusive). The scan wraps round the circle, so the arc
        may contain 0 degrees (``from_deg`` negative) or exceed 360. When every margin is
        positive the arc spans n - 1 steps on each side.
    """
    angles = np.asarray(angles_deg, dtype=float)
    margins = np.asarray(margins, dtype=float)
    if angles.shape != margins.shape or angles.ndim != 1 or len(angles) < 2:
        raise ValueError(f"angles_deg and margins must be 1-D of the same length >= 2, got shapes "
                         f"{angles.shape} and {margins.shape}")
    n, best = len(margins), int(np.argmax(margins))
    step = angles[1] - angles[0]
    below = next((k for k in range(1, n) if margins[(best - k) % n] <= 0), n) - 1
    above = next((k for k in range(1, n) if margins[(best + k) % n] <= 0), n) - 1
    return float(angles[best] - below * step), float(angles[best] + above * step)


def combination_counts(colors: Any) -> dict[tuple[int, ...], int]:
    """How often each ordered colour triple occurs in a trial set (all 27 keys, zeros included).

    Parameters
    ----------
    colors : array of shape (n_trials, 3)
        Colour indices per trial (e.g. ``TrialSet.colors``).
    """
    from .. import task

    counts = {tuple(c): 0 for c in task.all_combinations()}
    for c in np.asarray(colors):
        counts[tuple(int(x) for x in c)] += 1
    return counts


#: One animation frame at 60 Hz (ms): the latency goal of a slider.
FRAME_MS = 1000 / 60


def latency_summary(recorded: dict[str, Any]) -> dict[str, Any]:
    """What the appendix says about the explorers' latency, from a ``benchmarks/browser_speed.py --record``
    file (its JSON, loaded): per kind of control the largest median (ms) and CPU time per move, the bare
    Plotly.react baseline, the run's conditions, and the sentence the numbers decide. Names start with
    "lat_"; slider controls are every oscillator slider and onset and the network's onsets."""
    c = recorded["controls"]
    sliders = {k: v for k, v in c.items() if ("oscillator:" in k and "colour" not in k)
               or k.startswith("network: onset")}
    clicks = {k: v for k, v in c.items() if "colour click" in k}
    noise = {k: v for k, v in c.items() if "noise" in k}
    worst = max(v["median_ms"] for v in sliders.values())
    return {
        "lat_rounds": recorded["rounds"], "lat_load": recorded["load_average"], "lat_cpus": recorded["cpus"],
        "lat_n_sliders": len(sliders),
        "lat_slider_max_ms": worst, "lat_slider_min_ms": min(v["median_ms"] for v in sliders.values()),
        "lat_slider_cpu_max_ms": max(v["cpu_ms"] for v in sliders.values()),
        "lat_click_max_ms": max((v["median_ms"] for v in clicks.values()), default=float("nan")),
        "lat_noise_ms": max((v["median_ms"] for v in noise.values()), default=float("nan")),
        "lat_baseline_ms": c["baseline: bare Plotly.react"]["median_ms"],
        "lat_frame_ms": FRAME_MS,
        "lat_verdict": (f"each is within one frame ({FRAME_MS:.1f} ms)" if worst <= FRAME_MS
                        else f"the slowest takes {worst / FRAME_MS:.1f} frames"),
    }
