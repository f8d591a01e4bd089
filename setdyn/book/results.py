"""The shipped model and the results every chapter reads, computed once per kernel.

``shipped()`` loads ``setdyn/data/pretrained.*`` and returns a :class:`Shipped`; each
heavier result (the PCA of the training rates, the rPC1 angle, the limit cycle, the phase
reference, the phase response curve) is computed the first time a chapter asks for it and
then kept; the cycle, phase reference and PRC come from the analysis pipeline's cache
(:func:`setdyn.analysis.network_analysis`), which makes the same calls with the same
arguments, so every number is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from .. import analysis, weights
from ..model import CTRNN


@dataclass
class Shipped:
    """The shipped network and what the chapters measure on it.

    Attributes
    ----------
    meta : dict
        The sidecar JSON (config, accuracy, history, selection, ...).
    """

    meta: dict[str, Any] = field(repr=False)

    @cached_property
    def model(self) -> CTRNN:
        """The shipped weights in float64 (:func:`setdyn.weights.load`), loaded on first use."""
        return weights.load()

    @property
    def config(self) -> dict[str, Any]:
        """The training configuration recorded with the weights."""
        return self.meta["config"]

    @property
    def accuracy(self) -> dict[str, float]:
        """The accuracies recorded with the weights (fractions)."""
        return self.meta["accuracy"]

    @property
    def train_seed(self) -> int:
        """Seed of the training set (onsets) the network was trained on."""
        return int(self.config["seed"])

    @cached_property
    def pca(self) -> Any:
        """PCA of the noise-free rates of all training trials (:func:`setdyn.analysis.training_pca`)."""
        return analysis.training_pca(self.model, seed=self.config["seed"])

    @property
    def valid(self) -> np.ndarray:
        """Per training trial: True for a SET (shape (n_trials,))."""
        return self.pca.trials.targets > 0

    @cached_property
    def rotation(self) -> Any:
        """The scan of PC1-PC2 rotations of the training end points (:func:`setdyn.analysis.best_rotation`)."""
        return analysis.best_rotation(self.pca.scores[:, -1, :2], self.valid)

    @property
    def angle_deg(self) -> float:
        """The rPC1 rotation (degrees): the angle of widest margin between SET and non-SET end points."""
        return self.rotation.best_angle_deg

    @cached_property
    def pipeline(self) -> Any:
        """The cached per-network chain cycle -> phase reference -> PRC -> code
        (:func:`setdyn.analysis.network_analysis`), shared with every other caller on these weights."""
        return analysis.network_analysis(self.model)

    @property
    def cycle(self) -> Any:
        """The input-free limit cycle (:func:`setdyn.analysis.free_run_dynamics`)."""
        return self.pipeline.cycle

    @property
    def reference(self) -> Any:
        """The phase ruler on the cycle (:func:`setdyn.analysis.phase_reference`)."""
        return self.pipeline.reference

    @property
    def prc(self) -> Any:
        """Phase response curve of each colour over the cycle (:func:`setdyn.analysis.phase_response_curve`)."""
        return self.pipeline.prc


@lru_cache(maxsize=1)
def shipped() -> Shipped:
    """The shipped model and its results, loaded once per process (see :class:`Shipped`)."""
    return Shipped(weights.load_meta())
