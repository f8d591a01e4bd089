"""The PC sign convention for rotation angles (setdyn.pc_convention), on the shipped network.

The paper's network (59.5 degrees in the convention, the paper's 60) is tested in test_reference.py.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from setdyn import analysis, pc_convention, weights


@pytest.fixture(scope="module")
def shipped():
    model = weights.load()
    pca = analysis.training_pca(model, seed=weights.load_meta()["config"]["seed"])
    return model, pca, pca.trials.targets > 0


@pytest.mark.parametrize("frame", [pc_convention.PCFrame(s, t) for s in (1, -1) for t in (1, -1)])
def test_frame_conversions_are_inverse(frame):
    for a in (0.0, 30.0, 120.5, 250.0, 359.5):
        assert frame.to_setdyn(frame.from_setdyn(a)) == pytest.approx(a)
        assert -180.0 < frame.from_setdyn(a) <= 180.0


def test_angle_in_the_convention_does_not_depend_on_pc_signs(shipped):
    model, pca, valid = shipped
    setdyn_angles, convention = set(), set()
    for signs in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        p = copy.deepcopy(pca)
        s = np.ones(p.scores.shape[-1])
        s[:2] = signs
        p.pca.components_ *= s[:, None]
        p.scores *= s
        setdyn_angles.add(round(analysis.best_rotation(p.scores[:, -1, :2], valid).best_angle_deg % 360, 1))
        convention.add(round(pc_convention.best_rotation_deg(model, p, valid), 1))
    assert len(setdyn_angles) == 4 and len(convention) == 1


def test_shipped_network_keeps_its_48_degrees(shipped):
    """setdyn's own signs already satisfy the convention on the shipped network: its angle stays 48."""
    model, pca, valid = shipped
    frame = pc_convention.pc_frame(model, pca, valid)
    assert (frame.pc1_sign, frame.turn) == (1, 1)
    assert pc_convention.best_rotation_deg(model, pca, valid) == pytest.approx(48.0, abs=0.5)
