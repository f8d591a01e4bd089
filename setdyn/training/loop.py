"""The training loop: epochs of minibatches, periodic noise-free evaluation, history and early stopping.

`train` owns everything but the gradients, which come from an engine
(`setdyn.training.engines`). `RunLog` is one run's history and stopping rule;
the batched trainer (`setdyn.training.batched`) keeps one per network and so
records and stops its networks exactly as `train` does.

Per epoch: a permutation of the 540 training trials, minibatches of
cfg.batch_size trials, for each the engine's loss and clipped gradients and
one AdamW step. Every cfg.eval_every epochs (and at the last) the network is
evaluated without noise on the training, test and fresh-onset sets; the run
stops once the levels cfg.stop_* have held for cfg.stop_patience evaluations
in a row. Time is in epochs; a trial is 50 steps of 10 ms.
"""
from __future__ import annotations

import contextlib
import copy
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Collection, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from ..model import CTRNN
from .checkpoints import weights_of
from .config import TrainConfig, build_model
from .engines import Engine, get_engine, resolve_engine
from .evaluation import clean_accuracies, evaluation_sets
from .noise import NoiseStream

#: What a run records every epoch ...
EPOCH_KEYS: tuple[str, ...] = ("train_loss", "train_acc_noisy")
#: ... and at every evaluation (eval_epoch: the epoch evaluated, counted from 1).
EVAL_KEYS: tuple[str, ...] = ("eval_epoch", "train_acc_clean", "test_acc_clean", "test_loss_clean", "fresh_acc_clean")


@dataclass
class TrainResult:
    """A trained network and how it got there."""

    model: CTRNN
    config: TrainConfig
    #: EPOCH_KEYS: one value per epoch; EVAL_KEYS: one value per evaluation
    history: dict[str, list[float]] = field(default_factory=dict)
    stopped_early: bool = False  #: the stopping rule ended the run before cfg.max_epochs
    seconds: float = 0.0  #: wall time of the training
    engine: str = "autograd"  #: how the gradients were computed (an engine name, or "batched")
    #: epoch -> float32 copy of the trainable tensors, for the epochs asked for in `train(checkpoints=...)`
    #: that the run reached, and always its last epoch (empty if none were asked for)
    snapshots: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)


class RunLog:
    """One training run's history, evaluation schedule and stopping rule, epoch by epoch.

    The driver calls `end_epoch` after each epoch and, when it says an evaluation is due,
    `judge` with the noise-free results of that epoch; `stopped` and `finished` say when to end.
    """

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.history: dict[str, list[float]] = {k: [] for k in EPOCH_KEYS + EVAL_KEYS}
        self.streak = 0  #: consecutive evaluations meeting the stopping levels
        self.stopped = False
        self.t0 = time.perf_counter()

    @property
    def epoch(self) -> int:
        """Epochs recorded so far."""
        return len(self.history["train_loss"])

    @property
    def finished(self) -> bool:
        """The run ends here: stopped early, or cfg.max_epochs done."""
        return self.stopped or self.epoch >= self.cfg.max_epochs

    @property
    def seconds(self) -> float:
        """Wall time since the log was made (s)."""
        return time.perf_counter() - self.t0

    def end_epoch(self, loss: float, acc_noisy: float) -> bool:
        """Record an epoch's mean minibatch loss and noisy accuracy; True if an evaluation is due
        (every cfg.eval_every epochs, and at the last)."""
        self.history["train_loss"].append(loss)
        self.history["train_acc_noisy"].append(acc_noisy)
        return self.epoch % self.cfg.eval_every == 0 or self.epoch == self.cfg.max_epochs

    def judge(self, epoch: int, clean: dict[str, float]) -> dict[str, float]:
        """Record the evaluation of `epoch` (`clean`: train/test/fresh_acc_clean and test_loss_clean)
        and apply the stopping rule; returns the record (with that epoch's train_loss and
        train_acc_noisy). Sets `stopped` once the levels have held cfg.stop_patience times in a row."""
        rec = {"train_loss": self.history["train_loss"][epoch - 1],
               "train_acc_noisy": self.history["train_acc_noisy"][epoch - 1], "eval_epoch": epoch, **clean}
        for k in EVAL_KEYS:
            self.history[k].append(rec[k])
        self.streak = self.streak + 1 if self.levels_met(rec) else 0
        self.stopped = self.streak >= self.cfg.stop_patience
        return rec

    def levels_met(self, rec: dict[str, float]) -> bool:
        """Whether an evaluation record meets every stopping level that is set (False if none is)."""
        cfg = self.cfg
        checks = [(cfg.stop_train_acc_noisy, "train_acc_noisy"), (cfg.stop_test_acc_clean, "test_acc_clean"),
                  (cfg.stop_fresh_acc_clean, "fresh_acc_clean")]
        if all(t is None for t, _ in checks):
            return False
        return all(t is None or rec[k] >= t for t, k in checks)

    def forget_after(self, epoch: int) -> None:
        """Drop the per-epoch records after `epoch` (an epoch trained past a stopping evaluation)."""
        for k in EPOCH_KEYS:
            del self.history[k][epoch:]

    def result(self, model: CTRNN, engine: str) -> TrainResult:
        """The run's TrainResult with `model` (its weights now)."""
        return TrainResult(model, self.cfg, self.history, self.stopped, self.seconds, engine)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` PyTorch intra-op threads (None: leave as is), restored afterwards."""
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def make_optimizer(model: CTRNN, cfg: TrainConfig, engine: str | Engine) -> torch.optim.AdamW:
    """The reference's AdamW (see `TrainConfig.adamw_weight_decay`). Engines with `fused_optimizer`
    (the hand-written ones) take PyTorch's fused implementation (the same update in one kernel; it
    differs from the per-tensor one only by float rounding); autograd keeps the per-tensor one, with
    which the shipped model was trained, so that retraining it retraces its history exactly."""
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.adamw_weight_decay,
                             fused=get_engine(engine).fused_optimizer or None)


def fused_adamw_step(opt: torch.optim.Optimizer) -> None:
    """`opt.step()`, for a fused AdamW (`make_optimizer` for the hand-written engines) in two PyTorch
    calls, without the optimiser's per-call Python bookkeeping, which costs several times the update
    itself here: the same kernel on the same state, so the same numbers (a test checks this).
    Anything else, and the first step (which creates the state), goes through `opt.step()`."""
    group = opt.param_groups[0] if len(opt.param_groups) == 1 else {}
    params = group.get("params", [])
    state = [opt.state.get(p) for p in params]
    plain = (isinstance(opt, torch.optim.AdamW) and group.get("fused") and not group.get("amsgrad")
             and not group.get("maximize") and all(state) and all(p.grad is not None for p in params))
    if not plain:
        opt.step()
        return
    steps = [s["step"] for s in state]
    torch._foreach_add_(steps, 1)
    torch._fused_adamw_(params, [p.grad for p in params], [s["exp_avg"] for s in state],
                        [s["exp_avg_sq"] for s in state], [], steps, amsgrad=False, lr=group["lr"],
                        beta1=group["betas"][0], beta2=group["betas"][1], weight_decay=group["weight_decay"],
                        eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)


def train_epoch(model: CTRNN, opt: torch.optim.Optimizer, codes: torch.Tensor, targets: torch.Tensor,
                perm: torch.Tensor, cfg: TrainConfig, generator: torch.Generator | None,
                engine: str | Engine = "bptt", noise: NoiseStream | None = None) -> tuple[list[float], float]:
    """One pass over the training set in the order `perm`, in minibatches of cfg.batch_size: per
    minibatch the engine's loss and clipped gradients and one optimiser step.

    codes: (n_trials, T) stimulus codes; targets: (n_trials,) +-1. The minibatches' noise comes
    from `noise` if given (the engine's `noise_stream`), else from `generator`. Returns the
    minibatch losses and the number of trials whose noisy output was right at the last step.
    """
    engine = get_engine(engine)
    params = dict(model.named_parameters())
    losses, correct = [], 0.0
    for idx in perm.split(cfg.batch_size):
        step = engine.gradients(model, codes[idx], targets[idx], cfg, generator,
                                noise.minibatch() if noise is not None else None)
        for name, p in params.items():
            p.grad = step.grads[name]
        fused_adamw_step(opt)
        losses.append(step.loss)
        correct += step.correct
    return losses, correct


def train(cfg: TrainConfig, progress: bool = True,
          callback: Callable[[int, dict[str, float]], None] | None = None, engine: str = "auto",
          checkpoints: Collection[int] | None = None) -> TrainResult:
    """Train a network from scratch; deterministic for a given config and engine.

    Parameters
    ----------
    cfg : the run's hyperparameters.
    progress : show a tqdm bar (one tick per epoch).
    callback : called after every evaluation with (epoch, record): the record holds that epoch's
        train_loss and train_acc_noisy and the EVAL_KEYS.
    engine : a name in `ENGINE_CHOICES` (see `setdyn.training.engines`).
    checkpoints : epochs (0 = before training) at which to keep a copy of the weights in
        `TrainResult.snapshots` (e.g. `checkpoints.checkpoint_epochs`); the last epoch is always kept
        when any are asked for. Taking them changes no number of the run.

    The arithmetic runs on one thread (faster than two for this small model, and bit-reproducible);
    engines with a noise stream draw their noise ahead on a second thread, which changes no number.
    """
    chosen = get_engine(resolve_engine(engine, cfg))
    with torch_threads(1):
        return _train(cfg, progress, callback, chosen, set(checkpoints or ()))


def _train(cfg: TrainConfig, progress: bool, callback: Callable[[int, dict[str, float]], None] | None,
           engine: Engine, checkpoints: set[int]) -> TrainResult:
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    sets = evaluation_sets(cfg)
    train_set = sets["train"]
    codes = torch.as_tensor(train_set.codes)
    targets = torch.as_tensor(train_set.targets, dtype=torch.float32)
    opt = make_optimizer(model, cfg, engine)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    stream = engine.noise_stream(cfg, g, len(train_set), codes.shape[1])
    # lagged evaluation: epoch e is evaluated beside the training of epoch e + 1 on a copy of the weights;
    # if that stops the run, the weights go back to epoch e and epoch e + 1 is dropped: the same result as
    # evaluating in line
    lagged = ThreadPoolExecutor(1, thread_name_prefix="setdyn-eval") if engine.lagged_evaluation else None
    snapshot = copy.deepcopy(model) if lagged else None
    pending: tuple[int, Future] | None = None
    log = RunLog(cfg)
    bar = tqdm(range(1, cfg.max_epochs + 1), desc=f"train seed {cfg.seed}", disable=not progress, unit="epoch")
    snapshots = {0: weights_of(model)} if 0 in checkpoints else {}

    def judge(epoch: int, clean: dict[str, float]) -> bool:
        rec = log.judge(epoch, clean)
        bar.set_postfix(loss=f"{rec['train_loss']:.3f}", train=f"{rec['train_acc_noisy']:.3f}",
                        fresh=f"{rec['fresh_acc_clean']:.3f}")
        if callback is not None:
            callback(epoch, rec)
        return log.stopped

    try:
        for epoch in bar:
            model.train()
            perm = stream.permutation() if stream else torch.randperm(len(train_set), generator=g)
            losses, correct = train_epoch(model, opt, codes, targets, perm, cfg, g, engine, stream)
            due = log.end_epoch(float(np.mean(losses)), correct / len(train_set))
            if epoch in checkpoints:
                snapshots[epoch] = weights_of(model)
            if pending is not None:
                done, result = pending
                pending = None
                if judge(done, result.result()):  # stop at epoch `done`: undo this epoch
                    model.load_state_dict(snapshot.state_dict())
                    log.forget_after(done)
                    break
            if not due:
                continue
            model.eval()
            if lagged and epoch != cfg.max_epochs:
                snapshot.load_state_dict(model.state_dict())
                pending = (epoch, lagged.submit(clean_accuracies, snapshot, sets, engine))
            elif judge(epoch, clean_accuracies(model, sets, engine)):
                break
    finally:
        if stream is not None:
            stream.close()
        if lagged is not None:
            lagged.shutdown(wait=True)
    bar.close()
    model.eval()
    result = log.result(model, engine.name)
    if checkpoints:  # an epoch undone by a lagged stop is dropped; the last epoch is always kept
        result.snapshots = {e: w for e, w in snapshots.items() if e < log.epoch}
        result.snapshots[log.epoch] = weights_of(model)
    return result


__all__ = ["EPOCH_KEYS", "EVAL_KEYS", "RunLog", "TrainResult", "fused_adamw_step", "make_optimizer", "torch_threads",
           "train", "train_epoch"]
