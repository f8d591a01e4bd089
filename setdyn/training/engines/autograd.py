"""Engine "autograd": PyTorch differentiates the simulation; any alpha = dt/tau in (0, 1], any activation.

The shipped network was trained with it. Its noise is drawn in line from the
run's generator by `CTRNN.run`: eta of shape (batch, T, N) first, then the
initial-state noise of shape (batch, N).
"""
from __future__ import annotations

import torch

from ... import task
from ...model import ACTIVATIONS, CTRNN, accuracy
from ..config import TrainConfig
from ..noise import MinibatchNoise
from .base import Engine, Minibatch


def loss_fn(model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig,
            generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Training loss and the outputs of one noisy forward pass.

    The loss is the MSE of z against the target on the last `task.SCORE_STEPS` steps (50 ms) plus
    cfg.activity_penalty * mean(r^2). Returns (loss, a scalar tensor; outputs z of shape (batch, T)).
    """
    run = model.run(codes, noise_std=cfg.noise_std, x0_noise_std=cfg.x0_noise_std, generator=generator)
    z = run.outputs[:, -task.SCORE_STEPS:]
    mse = ((z - targets[:, None]) ** 2).mean()
    return mse + cfg.activity_penalty * (run.rates ** 2).mean(), run.outputs


class AutogradEngine(Engine):
    """Engine "autograd": `loss_fn` differentiated by PyTorch, gradients clipped element-wise.
    Keeps PyTorch's per-tensor AdamW, with which the shipped model was trained, so that retraining
    it retraces its history exactly."""

    name = "autograd"
    activations = ACTIVATIONS

    def gradients(self, model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig,
                  generator: torch.Generator | None, noise: MinibatchNoise | None) -> Minibatch:
        if noise is not None:
            raise ValueError("engine 'autograd' draws its noise in line from the generator; it takes no noise stream")
        params = dict(model.named_parameters())
        loss, z = loss_fn(model, codes, targets, cfg, generator)
        grads = torch.autograd.grad(loss, list(params.values()))
        clipped = {name: g.clamp_(-cfg.grad_clip, cfg.grad_clip) for name, g in zip(params, grads)}
        return Minibatch(loss.item(), accuracy(z.detach(), targets) * len(targets), clipped)


__all__ = ["AutogradEngine", "loss_fn"]
