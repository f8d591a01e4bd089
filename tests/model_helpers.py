"""A model for gradient comparisons: reference weights plus a random perturbation (the fresh init
has b = 0, which would hide errors in the bias gradients)."""
import torch

from setdyn.training import TrainConfig, build_model


def perturbed_model(seed: int, dtype: torch.dtype = torch.float64):
    model = build_model(TrainConfig(seed=seed), dtype=dtype)
    g = torch.Generator().manual_seed(100 + seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=dtype))
    return model
