"""Statistics on the phase circle (degrees): circular mean and spread, and clusters of phases."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import circmean, circstd

from ..numerics import jsonable, wrap_deg


def circular_mean_deg(a: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Circular mean of angles in degrees, in [-180, 180) (NaNs ignored): `scipy.stats.circmean`."""
    return circmean(np.asarray(a, dtype=float), high=180.0, low=-180.0, axis=axis, nan_policy="omit")


def circular_std_deg(a: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Circular standard deviation sqrt(-2 ln R) in degrees (NaNs ignored): `scipy.stats.circstd`."""
    return circstd(np.asarray(a, dtype=float), high=180.0, low=-180.0, axis=axis, nan_policy="omit")


@dataclass
class Cluster:
    """A group of phases: circular mean, largest deviation from it and circular std (deg)."""

    centre_deg: float
    width_deg: float
    std_deg: float
    size: int
    valid_fraction: float | None = None


@dataclass
class ClusterReport:
    """Clusters of phases on the circle, split at empty arcs >= min_gap_deg.

    labels (B,): cluster index per phase (-1 for NaN); clusters ordered by
    centre; margin_deg: the narrowest empty arc separating two clusters
    (None for a single cluster).
    """

    clusters: list[Cluster]
    labels: np.ndarray
    margin_deg: float | None
    min_gap_deg: float

    @property
    def n(self) -> int:
        return len(self.clusters)

    def to_dict(self) -> dict:
        return jsonable({"n": self.n, "margin_deg": self.margin_deg, "min_gap_deg": self.min_gap_deg,
                         "clusters": [asdict(c) for c in self.clusters]})


def circular_clusters(phases_deg: np.ndarray, min_gap_deg: float = 30.0,
                      valid: np.ndarray | None = None) -> ClusterReport:
    """Split phases (deg, any shape) into clusters at every empty arc of at least min_gap_deg.

    valid (same number of entries, bools), if given, fills each cluster's
    fraction of valid trials.
    """
    ph = np.asarray(phases_deg, dtype=float).ravel()
    ok = np.nonzero(np.isfinite(ph))[0]
    labels = np.full(len(ph), -1)
    if len(ok) == 0:
        return ClusterReport([], labels, None, min_gap_deg)
    a = np.mod(ph[ok], 360.0)
    order = np.argsort(a)
    s = a[order]
    gaps = np.diff(np.append(s, s[0] + 360.0))  # gap after each sorted point
    cuts = np.nonzero(gaps >= min_gap_deg)[0]
    if len(cuts) == 0:
        groups = [order]
        margin = None
    else:
        start = (cuts[0] + 1) % len(s)
        rolled = np.roll(np.arange(len(s)), -start)
        cut_set = set(cuts.tolist())
        groups, cur = [], []
        for i in rolled:
            cur.append(order[i])
            if i in cut_set:
                groups.append(np.array(cur))
                cur = []
        if cur:
            groups.append(np.array(cur))
        margin = float(gaps[cuts].min()) if len(groups) > 1 else None
    clusters = []
    for gidx in groups:
        vals = ph[ok[gidx]]
        c = float(circular_mean_deg(vals))
        vf = float(np.mean(np.asarray(valid)[ok[gidx]])) if valid is not None else None
        clusters.append(Cluster(c, float(np.abs(wrap_deg(vals - c)).max()), float(circular_std_deg(vals)),
                                len(gidx), vf))
    order_c = np.argsort([c.centre_deg for c in clusters])
    for new, old in enumerate(order_c):
        labels[ok[groups[old]]] = new
    return ClusterReport([clusters[i] for i in order_c], labels, margin, min_gap_deg)
