"""One sign convention for the principal components, so that rotation angles can be compared.

The rotation that separates valid from invalid end points (the paper's rPC1)
is an angle in the PC1-PC2 plane, and PC signs are arbitrary: setdyn's PCA
makes each component's largest loading positive, the reference's
MultivariateStats PCA keeps the signs LAPACK returns. Flipping PC1 turns an
angle a into 180 - a, flipping PC2 into -a, flipping both into a + 180, so
angles from two PCAs mean nothing side by side until the signs are fixed.

The convention (:class:`PCFrame`), fixed by the network and not by the PCA:

1. PC1 is signed so that the trials that end valid lie, on average, on its
   negative side (valid trials end low on rPC1, as on the paper's
   oscillator, which ends valid trials at its minimum);
2. the angle is measured from PC1 in the direction in which the
   input-free run turns (the flow of the limit cycle), which makes the sign
   of PC2 irrelevant.

On the paper's own network (``setdyn.reference``) this is the frame of the
paper's figure: setdyn's scan gives 120.5 degrees in setdyn's signs, 59.5 in
this convention, and the paper rotates by 60. (The reference code rotates the
points by R(60) = [cos -sin; sin cos], so its rPC1 axis lies at -60 degrees
in its own PC signs, which are both flipped against setdyn's there: the same
axis.) What the convention cannot do is make the angle mean more than it
does: it says where the valid end points lie relative to PC1, the direction
of largest variance, which differs from network to network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import analysis, paper


@dataclass(frozen=True)
class PCFrame:
    """The convention that makes rotation angles comparable (see the module docstring).

    pc1_sign: +1 or -1, the sign given to setdyn's PC1 so that valid trials end
    on its negative side on average; turn: +1 if the free-running cycle turns
    from PC1 towards PC2 in that frame, -1 otherwise.
    """

    pc1_sign: int
    turn: int

    def from_setdyn(self, angle_deg: float) -> float:
        """Angle (deg, (-180, 180]) in this convention of the rPC1 axis at `angle_deg` in setdyn's
        (``analysis.rotate_pc``: counterclockwise from setdyn's PC1 towards its PC2)."""
        a = np.deg2rad(angle_deg)
        theta = self.turn * np.rad2deg(np.arctan2(np.sin(a), self.pc1_sign * np.cos(a)))
        return float(180.0 - np.mod(180.0 - theta, 360.0))  # in (-180, 180]

    def to_setdyn(self, angle_deg: float) -> float:
        """The inverse of :meth:`from_setdyn`, in [0, 360)."""
        a = np.deg2rad(self.turn * angle_deg)
        angle = float(np.mod(np.rad2deg(np.arctan2(np.sin(a), self.pc1_sign * np.cos(a))), 360.0))
        return 0.0 if angle >= 360.0 else angle  # np.mod(-1e-15, 360) rounds to 360


def pc_frame(system: analysis.DynamicalSystem, pca: analysis.TrainingPCA, valid: np.ndarray,
             n_steps: int = paper.N_STEPS) -> PCFrame:
    """The angle convention for a network: PC1's sign from the trials' end points (valid: B bools, one per
    training trial of `pca`), the turning direction from its input-free run over n_steps from x0.

    Raises ValueError when the free run does not turn at least half a turn (no cycle to orient by).
    """
    valid = np.asarray(valid, bool)
    end = pca.scores[:, -1, 0]
    if valid.shape != end.shape or valid.all() or not valid.any():
        raise ValueError(f"valid must mark valid and invalid trials among the {len(end)} trials of the PCA")
    s1 = -1 if end[valid].mean() > 0 else 1
    with torch.no_grad():
        rates = analysis.activation(system, torch.as_tensor(analysis.free_trajectory(system, n_steps)[1:])).numpy()
    xy = pca.project(rates)[:, :2]
    turns = np.unwrap(np.arctan2(xy[:, 1], s1 * xy[:, 0]))
    total = (turns[-1] - turns[0]) / (2 * np.pi)
    if abs(total) < 0.5:
        raise ValueError(f"the input-free run turns only {total:+.2f} times in PC1-PC2 in {n_steps} steps: "
                         "no cycle to orient the angle by")
    return PCFrame(s1, 1 if total > 0 else -1)


def rotation_in_paper_convention(system: analysis.DynamicalSystem, pca: analysis.TrainingPCA, valid: np.ndarray,
                                 angle_deg: float) -> float:
    """A setdyn rotation angle (deg) in the convention of :class:`PCFrame` (the paper's figure's)."""
    return pc_frame(system, pca, valid).from_setdyn(angle_deg)


def best_rotation_deg(system: analysis.DynamicalSystem, pca: analysis.TrainingPCA, valid: np.ndarray) -> float:
    """The rotation that best separates valid from invalid end points (``analysis.best_rotation``), in the
    convention: 59.5 degrees for the paper's network (the paper: 60)."""
    angle = analysis.best_rotation(pca.scores[:, -1, :2], np.asarray(valid, bool)).best_angle_deg
    return rotation_in_paper_convention(system, pca, valid, angle)


