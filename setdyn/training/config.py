"""Every hyperparameter of a training run, checked when it is made, and the network it starts from.

The recipe is the paper's reference one: AdamW (lr 1e-4, betas 0.9/0.999);
the reference decays the weights by ``x -= 1e-4 * x`` every update, which is
PyTorch's AdamW with ``weight_decay = 1e-4 / lr`` (PyTorch multiplies the
decay by the learning rate); gradients clipped element-wise to +-5; loss the
MSE of z against the target on the last 5 steps (50 ms) plus an activity
penalty 1e-4 * 0.01 * mean(r^2). Training stops once the acceptance levels
of :data:`setdyn.paper.ACCEPT` have held for a few evaluations in a row.

Times are in steps of dt = 10 ms (a trial is 50 steps, 500 ms); epochs are
passes over the 540-trial training set.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from .. import paper, task, validate
from ..model import CTRNN, check_activation

#: Every seed is a whole number in [0, SEED_LIMIT): the run's noise generator is seeded with seed + 1
#: and the compiled engine takes seeds as signed 64-bit integers.
SEED_LIMIT = 2 ** 63 - 1

_SEEDS = ("seed", "encoding_seed", "test_onset_seed", "fresh_onset_seed", "eval_noise_seed")
#: whole numbers >= 1
_COUNTS = ("n_units", "batch_size", "max_epochs", "stop_patience", "eval_every", "fresh_draws")
#: finite numbers >= 0
_NON_NEGATIVE = ("noise_std", "x0_noise_std", "activity_penalty")
#: finite numbers > 0
_POSITIVE = ("lr", "grad_clip")
#: accuracy levels in [0, 1], or None for "no condition"
_LEVELS = ("stop_train_acc_noisy", "stop_test_acc_clean", "stop_fresh_acc_clean")


@dataclass
class TrainConfig:
    """Every hyperparameter of a training run; refused with a ValueError naming the field and the
    accepted values when out of range or of the wrong type (see `check`).

    Time is counted in steps of dt = 10 ms and in epochs (passes over the training set).
    """

    seed: int = 0  #: seeds the initial weights, the training onsets and (as seed + 1) the noise
    encoding_seed: int = 0  #: seeds the three colour vectors
    n_units: int = paper.N_UNITS
    alpha: float = 1.0  #: dt / tau, in (0, 1]; the paper has dt = tau = 10 ms
    activation: str = "tanh"  #: phi, one of `setdyn.model.ACTIVATIONS` (relu: the follow-up's setting)
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay_per_step: float = 1e-4  #: reference: x -= 1e-4 * x every update; in [0, 1)
    grad_clip: float = 5.0  #: element-wise
    batch_size: int = 108
    activity_penalty: float = 1e-6  #: reference: 1e-4 * 0.01 * mean(r^2)
    noise_std: float = 0.1  #: recurrent noise eta, std per unit per step
    x0_noise_std: float = 0.5  #: noise on the initial state during training
    max_epochs: int = 2500
    #: stop once this noisy train accuracy ...
    stop_train_acc_noisy: float | None = paper.ACCEPT["train_acc_noisy"]
    #: ... and this clean test accuracy ...
    stop_test_acc_clean: float | None = paper.ACCEPT["test_acc_clean"]
    #: ... and this accuracy on fresh onsets ...
    stop_fresh_acc_clean: float | None = paper.ACCEPT["fresh_acc_clean"]
    stop_patience: int = 4  #: ... have held for this many consecutive evaluations
    eval_every: int = 5  #: epochs between noise-free evaluations
    test_onset_seed: int = paper.TEST_ONSET_SEED  #: onsets of the 27-trial test set
    fresh_onset_seed: int = paper.FRESH_ONSET_SEED  #: onsets of the generalisation set (27 x fresh_draws)
    fresh_draws: int = paper.FRESH_DRAWS
    eval_noise_seed: int = paper.EVAL_NOISE_SEED  #: noise for the noisy evaluations
    #: how the onsets of the training, test and fresh trials are drawn (`task.ONSET_GENERATORS`):
    #: "grid" (whole steps; every weight file written before this field existed) or "reference"
    #: (continuous time, as the reference code); a file without the field was trained with "grid"
    onset_generator: str = "grid"

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Refuse wrong types and values (ValueError naming the field and the accepted values);
        store NumPy scalars as Python numbers and betas as a tuple. Called on construction.

        Every field is checked by the validator of its kind in :mod:`setdyn.validate`."""
        for name in _SEEDS:
            setattr(self, name, validate.whole(getattr(self, name), name, 0, SEED_LIMIT - 1))
        for name in _COUNTS:
            setattr(self, name, validate.whole(getattr(self, name), name, 1))
        for name in _NON_NEGATIVE:
            setattr(self, name, validate.non_negative(getattr(self, name), name))
        for name in _POSITIVE:
            setattr(self, name, validate.positive(getattr(self, name), name))
        self.activation = check_activation(self.activation)
        self.alpha = validate.positive(self.alpha, "alpha (dt/tau)", upper=1.0)
        self.weight_decay_per_step = _below_one(self.weight_decay_per_step, "weight_decay_per_step")
        for name in _LEVELS:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, validate.probability(value, f"{name} (an accuracy, or None: no condition)"))
        if not isinstance(self.onset_generator, str) or self.onset_generator not in task.ONSET_GENERATORS:
            raise ValueError(f"onset_generator must be one of {', '.join(map(repr, task.ONSET_GENERATORS))}, "
                             f"got {self.onset_generator!r}")
        betas = self.betas
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1) (Adam's decay rates), got {betas!r}")
        self.betas = tuple(_below_one(b, f"betas[{i}]") for i, b in enumerate(betas))  # type: ignore[assignment]

    @property
    def adamw_weight_decay(self) -> float:
        """PyTorch's AdamW weight_decay giving the reference's decay of weight_decay_per_step per
        update (PyTorch multiplies it by lr)."""
        return self.weight_decay_per_step / self.lr

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready types (betas as a list). The fields added after the first weight
        files, onset_generator and activation, are written only when they differ from what those files
        were trained with ("grid", "tanh"): a config without them means that, so the dicts (and the
        sweep's network ids, which hash them) of every earlier run stay what they were."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        for name, before in (("onset_generator", "grid"), ("activation", "tanh")):
            if d[name] == before:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """A config from a dict such as `to_dict` writes (missing keys take their defaults);
        ValueError for a non-dict, an unknown key or a bad value."""
        if not isinstance(d, dict):
            raise ValueError(f"a training config must be a mapping of field names to values, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown training config keys {sorted(unknown)}; accepted: {sorted(names)}")
        return cls(**d)


def _below_one(value: Any, name: str) -> float:
    """A number in [0, 1) (a decay rate): a probability that is not 1."""
    x = validate.non_negative(value, name)
    if x >= 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {x:g}")
    return x


def build_model(cfg: TrainConfig, dtype: torch.dtype = torch.float32) -> CTRNN:
    """A freshly initialised network with the config's seeds (weights from `seed`, colour vectors
    from `encoding_seed`)."""
    return CTRNN(task.color_encodings(cfg.encoding_seed), n_units=cfg.n_units, alpha=cfg.alpha,
                 seed=cfg.seed, dtype=dtype, activation=cfg.activation)


__all__ = ["SEED_LIMIT", "TrainConfig", "build_model"]
