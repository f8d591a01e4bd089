"""The paper's view of the dynamics: PCA of the training trials' rates, and the rotation that separates them.

* `training_pca(system)` -> TrainingPCA (scikit-learn's PCA of all B x T rate
  vectors, each component's sign fixed so that its largest loading is
  positive);
* `best_rotation(end_pc12, valid)` -> RotationScan (the rPC1 angle with the
  widest valid / invalid margin); `rotate_pc`, `rpc1`, `pc_angle_deg`,
  `separability`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.decomposition import PCA

from .. import task
from ..numerics import jsonable
from .simulate import DynamicalSystem, single_thread, trial_rates


@dataclass
class TrainingPCA:
    """PCA of the noise-free rates of a trial set (the paper's: all 540 training trials, 50 steps each).

    pca: the fitted `sklearn.decomposition.PCA`; rates: B x T x N (rates after
    each step, as `CTRNN.run` returns them); scores: B x T x n_components;
    explained_variance_ratio per component.
    """

    pca: PCA = field(repr=False)
    trials: task.TrialSet = field(repr=False)
    rates: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    explained_variance_ratio: np.ndarray

    def project(self, rates: np.ndarray) -> np.ndarray:
        """PC scores of rates (... x N) -> (... x n_components)."""
        r = np.asarray(rates, float)
        return self.pca.transform(r.reshape(-1, r.shape[-1])).reshape(*r.shape[:-1], -1)


def fit_pca(samples: np.ndarray, n_components: int = 10) -> PCA:
    """scikit-learn's PCA (exact SVD) of samples (M x N), each component's sign fixed so that its
    largest loading (in absolute value) is positive: the sign convention of every figure."""
    pca = PCA(min(n_components, *np.shape(samples)), svd_solver="full").fit(np.asarray(samples, float))
    comp = pca.components_
    comp *= np.sign(comp[np.arange(len(comp)), np.abs(comp).argmax(1)])[:, None]
    return pca


@single_thread
def training_pca(system: DynamicalSystem, trials: task.TrialSet | None = None, seed: int = 0,
                 n_components: int = 10) -> TrainingPCA:
    """PCA (`fit_pca`) of the noise-free rates of the training set drawn with `seed` (or given trials)."""
    trials = trials if trials is not None else task.training_set(seed)
    rates = trial_rates(system, trials.codes)
    pca = fit_pca(rates.reshape(-1, rates.shape[-1]), n_components)
    scores = pca.transform(rates.reshape(-1, rates.shape[-1])).reshape(*rates.shape[:2], -1)
    return TrainingPCA(pca, trials, rates, scores, pca.explained_variance_ratio_)


def rotate_pc(scores12: np.ndarray, angle_deg: float) -> np.ndarray:
    """(rPC1, rPC2) of (PC1, PC2) scores (... x 2): the axes turned by angle_deg counterclockwise.

    rPC1 = cos(a) PC1 + sin(a) PC2 is the coordinate along the unit vector at
    angle a from PC1 in the PC1-PC2 plane; rPC2 = -sin(a) PC1 + cos(a) PC2.
    """
    a = np.deg2rad(angle_deg)
    s = np.asarray(scores12, float)
    return np.stack([np.cos(a) * s[..., 0] + np.sin(a) * s[..., 1], -np.sin(a) * s[..., 0] + np.cos(a) * s[..., 1]], -1)


def pc_angle_deg(scores12: np.ndarray) -> np.ndarray:
    """Angle (deg) of points in the PC1-PC2 plane, atan2(PC2, PC1)."""
    s = np.asarray(scores12, float)
    return np.rad2deg(np.arctan2(s[..., 1], s[..., 0]))


def separability(end_pc12: np.ndarray, valid: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """Margin (PC units) between valid and invalid end points on rPC1, per rotation angle.

    margin(a) = min over invalid of rPC1 - max over valid of rPC1: positive
    when a threshold on rPC1 separates them with valid trials on the low side
    (the side where the paper's oscillator ends valid trials).
    """
    e = np.asarray(end_pc12, float)
    v = np.asarray(valid, bool)
    a = np.deg2rad(np.asarray(angles_deg, float))
    proj = np.cos(a)[:, None] * e[None, :, 0] + np.sin(a)[:, None] * e[None, :, 1]
    return proj[:, ~v].min(1) - proj[:, v].max(1)


@dataclass
class RotationScan:
    """Separability margin of the end points against the rotation angle; best angle (deg) and margin."""

    angles_deg: np.ndarray
    margins: np.ndarray
    best_angle_deg: float
    best_margin: float

    @property
    def separable(self) -> bool:
        return self.best_margin > 0

    def to_dict(self) -> dict:
        return jsonable({"best_angle_deg": self.best_angle_deg, "best_margin": self.best_margin,
                         "separable": self.separable})


def best_rotation(end_pc12: np.ndarray, valid: np.ndarray, step_deg: float = 0.5) -> RotationScan:
    """Scan rotation angles in [0, 360) and keep the one with the widest valid/invalid margin on rPC1."""
    angles = np.arange(0.0, 360.0, step_deg)
    m = separability(end_pc12, valid, angles)
    i = int(np.argmax(m))
    return RotationScan(angles, m, float(angles[i]), float(m[i]))


def rpc1(pca: TrainingPCA, rates: np.ndarray, angle_deg: float) -> np.ndarray:
    """rPC1 of rates (... x N): PCA projection on PC1-PC2, rotated by angle_deg (see `rotate_pc`)."""
    return rotate_pc(pca.project(rates)[..., :2], angle_deg)[..., 0]
