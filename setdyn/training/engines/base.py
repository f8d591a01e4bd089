"""What a training engine supplies: the loss and clipped gradients of one minibatch, nothing else.

The training loop (`setdyn.training.loop`) owns everything around it: the
epochs, the minibatch order, the optimiser step, evaluation, history and
early stopping. An engine is a class with a name, a few switches, and one
method, `gradients`; `setdyn.training.engines` keeps them in a table by name.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch

from ..noise import MinibatchNoise, NoiseStream

if TYPE_CHECKING:
    from ...model import CTRNN
    from ..config import TrainConfig


class Minibatch(NamedTuple):
    """What an engine returns for one minibatch."""

    loss: float  #: the training loss (MSE on the last 5 steps + activity penalty)
    #: number of trials whose noisy output at the last step was right (`paper.decide`). A float
    #: for the engines that compute it as accuracy x batch size (kept so that recorded histories
    #: stay bit for bit what they were).
    correct: float
    grads: dict[str, torch.Tensor]  #: per parameter name, clipped element-wise to +-cfg.grad_clip


class Engine:
    """A way of computing a minibatch's loss and gradients. Subclasses set the switches below and
    write `gradients`."""

    name: str = ""
    #: covers only a = dt/tau = 1 (the hand-written backward passes)
    alpha_one_only: bool = False
    #: the activations it differentiates (the hand-written backward passes: tanh only)
    activations: tuple[str, ...] = ("tanh",)
    #: take PyTorch's fused AdamW (the same update in one kernel, equal up to float rounding)
    fused_optimizer: bool = False
    #: evaluate epoch e on a second thread while epoch e + 1 trains (worth it when evaluation is
    #: one GIL-free compiled call per trial set)
    lagged_evaluation: bool = False

    def covers(self, alpha: float) -> bool:
        """Whether this engine trains a network with this alpha = dt/tau."""
        return alpha == 1.0 or not self.alpha_one_only

    def covers_activation(self, activation: str) -> bool:
        """Whether this engine trains a network with this activation (a name in `setdyn.model.ACTIVATIONS`)."""
        return activation in self.activations

    def unavailable_reason(self) -> str | None:
        """Why the engine cannot run here, or None when it can (may build it on the first call)."""
        return None

    def noise_stream(self, cfg: "TrainConfig", generator: torch.Generator, n_trials: int,
                     n_steps: int) -> NoiseStream | None:
        """A second thread drawing the run's permutations and minibatch noise ahead, or None when the
        engine draws its noise in line from `generator` (`gradients(noise=None)`)."""
        return None

    def gradients(self, model: "CTRNN", codes: torch.Tensor, targets: torch.Tensor, cfg: "TrainConfig",
                  generator: torch.Generator | None, noise: MinibatchNoise | None) -> Minibatch:
        """Loss, number correct and clipped gradients of one minibatch.

        Parameters
        ----------
        model : the network; its parameters are read, not changed.
        codes : long tensor of shape (batch, T), stimulus codes (-1 none, 0..2 colour), T steps of 10 ms.
        targets : tensor of shape (batch,), +1 (valid) or -1 (invalid).
        cfg : the run's config (noise stds, activity penalty, gradient clip).
        generator : where the noise is drawn from when `noise` is None.
        noise : the minibatch's noise drawn ahead by `noise_stream`, or None.
        """
        raise NotImplementedError

    def final_outputs(self, model: "CTRNN", codes: torch.Tensor, n_last: int) -> torch.Tensor:
        """Noise-free outputs z on the last `n_last` steps, shape (batch, n_last), for evaluation."""
        return model.final_outputs(codes, n_last)

    def __repr__(self) -> str:
        return f"<training engine {self.name!r}>"


__all__ = ["Engine", "Minibatch"]
