"""How a network is judged during and after training: the trial sets, accuracies and losses.

Three trial sets (`evaluation_sets`): the 540-trial training set (onsets
drawn with the run's seed), the 27-trial test set (onsets from
`paper.TEST_ONSET_SEED`) and the generalisation set of 27 x 20 fresh onset
draws (`paper.FRESH_ONSET_SEED`), all drawn by the run's onset generator
(`TrainConfig.onset_generator`). Accuracy is the fraction of trials whose
output z at the last step is on the target's side of the decision threshold
(`paper.decide`); the loss is the MSE of z against the target on the last 5
steps (50 ms).
"""
from __future__ import annotations

from typing import Any

import torch

from .. import paper, task
from ..model import CTRNN, accuracy
from .config import TrainConfig
from .engines import Engine, get_engine

#: The trial sets a run is evaluated on, in this order.
EVALUATION_SETS: tuple[str, ...] = ("train", "test", "fresh")


def evaluation_set_key(kind: str, cfg: TrainConfig) -> tuple[Any, ...]:
    """What identifies the trial set `kind` ("train", "test" or "fresh") of a run: (kind, its onset
    generator, its seed[, draws])."""
    if kind == "train":
        return (kind, cfg.onset_generator, cfg.seed)
    if kind == "test":
        return (kind, cfg.onset_generator, cfg.test_onset_seed)
    if kind == "fresh":
        return (kind, cfg.onset_generator, cfg.fresh_onset_seed, cfg.fresh_draws)
    raise ValueError(f"unknown evaluation set {kind!r}; accepted: {', '.join(EVALUATION_SETS)}")


def evaluation_set(kind: str, cfg: TrainConfig, cache: dict[tuple[Any, ...], task.TrialSet] | None = None
                   ) -> task.TrialSet:
    """The trial set `kind` of a run with `cfg` (see `EVALUATION_SETS`); kept in `cache` if given."""
    key = evaluation_set_key(kind, cfg)
    if cache is not None and key in cache:
        return cache[key]
    if kind == "train":
        trials = task.training_set(cfg.seed, generator=cfg.onset_generator)
    elif kind == "test":
        trials = task.test_set(seed=cfg.test_onset_seed, generator=cfg.onset_generator)
    else:
        trials = task.fresh_set(cfg.fresh_onset_seed, cfg.fresh_draws, generator=cfg.onset_generator)
    if cache is not None:
        cache[key] = trials
    return trials


def evaluation_sets(cfg: TrainConfig) -> dict[str, task.TrialSet]:
    """The training, test and fresh-onset trial sets of a run, by name."""
    return {kind: evaluation_set(kind, cfg) for kind in EVALUATION_SETS}


@torch.no_grad()
def evaluate(model: CTRNN, trials: task.TrialSet, noise_std: float = 0.0, x0_noise_std: float = 0.0,
             seed: int = 0, engine: str | Engine = "autograd") -> tuple[float, float]:
    """(accuracy, MSE on the last 5 steps) of a model on a trial set.

    With noise (stds per unit and step), the noise is drawn from a generator seeded with `seed`.
    Noise-free runs go through `engine`'s `final_outputs` (the compiled kernel for "native"; the
    numbers agree with the others' up to float rounding).
    """
    if noise_std == 0 and x0_noise_std == 0:
        z = get_engine(engine).final_outputs(model, torch.as_tensor(trials.codes), task.SCORE_STEPS)
    else:
        g = torch.Generator().manual_seed(seed)
        z = model.run(trials.codes, noise_std=noise_std, x0_noise_std=x0_noise_std,
                      generator=g).outputs[:, -task.SCORE_STEPS:]
    t = torch.as_tensor(trials.targets, dtype=z.dtype)
    mse = float(((z - t[:, None]) ** 2).mean())
    return accuracy(z, t), mse


def evaluate_all(model: CTRNN, cfg: TrainConfig) -> dict[str, float]:
    """The four accuracies of the paper (noisy/clean x train/test) plus those on fresh onsets, and
    the noise-free losses: keys `{train,test,fresh}_acc_{noisy,clean}` and `{...}_loss_clean`.
    Noisy runs use the training noise stds and the noise seed cfg.eval_noise_seed."""
    out = {}
    for name, trials in evaluation_sets(cfg).items():
        out[f"{name}_acc_noisy"], _ = evaluate(model, trials, cfg.noise_std, cfg.x0_noise_std, cfg.eval_noise_seed)
        out[f"{name}_acc_clean"], out[f"{name}_loss_clean"] = evaluate(model, trials)
    return out


def clean_accuracies(model: CTRNN, sets: dict[str, task.TrialSet], engine: str | Engine) -> dict[str, float]:
    """What a run records at an evaluation: noise-free accuracy on each set (`NAME_acc_clean`) and
    the test loss (`test_loss_clean`)."""
    out = {}
    for name, trials in sets.items():
        out[f"{name}_acc_clean"], loss = evaluate(model, trials, engine=engine)
        if name == "test":
            out["test_loss_clean"] = loss
    return out


def epochs_to_accuracy(history: dict[str, list[float]], train_acc_noisy: float = paper.ACCEPT["train_acc_noisy"],
                       test_acc_clean: float = paper.ACCEPT["test_acc_clean"]) -> int | None:
    """The first evaluated epoch at which the noisy train accuracy (of that epoch) and the
    noise-free test accuracy reach the given levels, or None if none did. The defaults are the
    paper's accuracy (`paper.ACCEPT`: >= 96% noisy train, 100% noise-free test)."""
    for i, epoch in enumerate(history.get("eval_epoch", [])):
        if history["train_acc_noisy"][epoch - 1] >= train_acc_noisy and history["test_acc_clean"][i] >= test_acc_clean:
            return int(epoch)
    return None


__all__ = ["EVALUATION_SETS", "clean_accuracies", "epochs_to_accuracy", "evaluate", "evaluate_all", "evaluation_set",
           "evaluation_set_key", "evaluation_sets"]
