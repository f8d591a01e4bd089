"""Training per the paper's reference recipe.

AdamW (lr 1e-4, betas 0.9/0.999); the reference decays weights by
`x -= 1e-4 * x` every step, which is PyTorch's AdamW with weight_decay = 1.0
(PyTorch multiplies the decay by the learning rate). Gradients are clipped
element-wise to +-5. Loss: MSE of z against the target on the last 5 steps
plus an activity penalty 1e-4 * 0.01 * mean(r^2).
"""
from __future__ import annotations

import copy
import dataclasses
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from . import bptt, native, task
from .model import CTRNN, accuracy

#: How gradients are computed: "native" (`setdyn.native`: the hand-written BPTT compiled; a = 1
#: only; needs a C++ compiler), "bptt" (the same in Python, `setdyn.bptt`; a = 1 only), "autograd"
#: (PyTorch), or "auto" (native where it applies and compiles, else bptt where it applies, else
#: autograd). All give the same gradients up to float rounding, but a training run is chaotic:
#: the same config trained by two engines ends in different weights.
ENGINES: tuple[str, ...] = ("auto", "native", "bptt", "autograd")
#: engines that take their gradients from setdyn's hand-written backward pass (a = 1 only)
HAND_WRITTEN: tuple[str, ...] = ("native", "bptt")


@dataclass
class TrainConfig:
    """Every hyperparameter of a training run (times in steps of dt = 10 ms)."""

    seed: int = 0  #: seeds the initial weights, the training onsets and the noise
    encoding_seed: int = 0  #: seeds the three colour vectors
    n_units: int = 100
    alpha: float = 1.0  #: dt / tau
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay_per_step: float = 1e-4  #: reference: x -= 1e-4 * x every update
    grad_clip: float = 5.0  #: element-wise
    batch_size: int = 108
    activity_penalty: float = 1e-6  #: reference: 1e-4 * 0.01 * mean(r^2)
    noise_std: float = 0.1  #: recurrent noise eta, std per unit per step
    x0_noise_std: float = 0.5  #: noise on the initial state during training
    max_epochs: int = 2500
    stop_train_acc_noisy: float | None = 0.96  #: stop once this noisy train accuracy ...
    stop_test_acc_clean: float | None = 1.0  #: ... and this clean test accuracy ...
    stop_fresh_acc_clean: float | None = 0.99  #: ... and this accuracy on fresh onsets ...
    stop_patience: int = 4  #: ... have held for this many consecutive evaluations
    eval_every: int = 5  #: epochs between noise-free evaluations
    test_onset_seed: int = 12345  #: onsets of the 27-trial test set
    fresh_onset_seed: int = 777  #: onsets of the generalisation set (27 x fresh_draws)
    fresh_draws: int = 20
    eval_noise_seed: int = 99  #: noise for the noisy evaluations

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown training config keys {sorted(unknown)}; accepted: {sorted(names)}")
        d = dict(d)
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)


def build_model(cfg: TrainConfig, dtype: torch.dtype = torch.float32) -> CTRNN:
    """A freshly initialised model with the config's seeds."""
    return CTRNN(task.color_encodings(cfg.encoding_seed), n_units=cfg.n_units, alpha=cfg.alpha,
                 seed=cfg.seed, dtype=dtype)


def loss_fn(model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig,
            generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Training loss and the outputs of a noisy forward pass."""
    run = model.run(codes, noise_std=cfg.noise_std, x0_noise_std=cfg.x0_noise_std, generator=generator)
    z = run.outputs[:, -task.SCORE_STEPS:]
    mse = ((z - targets[:, None]) ** 2).mean()
    return mse + cfg.activity_penalty * (run.rates ** 2).mean(), run.outputs


@torch.no_grad()
def evaluate(model: CTRNN, trials: task.TrialSet, noise_std: float = 0.0, x0_noise_std: float = 0.0,
             seed: int = 0, engine: str = "autograd") -> tuple[float, float]:
    """(accuracy, MSE on the last 5 steps) of a model on a trial set. Noise-free runs with engine
    "native" (as a native training run evaluates) use the compiled kernel; the numbers agree with the
    others up to float rounding."""
    if noise_std == 0 and x0_noise_std == 0:
        if engine == "native" and model.alpha == 1.0:
            z = native.final_outputs(model, trials.codes, task.SCORE_STEPS)
        else:
            z = model.final_outputs(trials.codes, task.SCORE_STEPS)
    else:
        g = torch.Generator().manual_seed(seed)
        z = model.run(trials.codes, noise_std=noise_std, x0_noise_std=x0_noise_std,
                      generator=g).outputs[:, -task.SCORE_STEPS:]
    t = torch.as_tensor(trials.targets, dtype=z.dtype)
    mse = float(((z - t[:, None]) ** 2).mean())
    return accuracy(z, t), mse


def evaluate_all(model: CTRNN, cfg: TrainConfig) -> dict[str, float]:
    """The four accuracies of the paper (noisy/clean x train/test) plus fresh-onset accuracy."""
    train = task.training_set(cfg.seed)
    test = task.test_set(seed=cfg.test_onset_seed)
    fresh = task.fresh_set(cfg.fresh_onset_seed, cfg.fresh_draws)
    out = {}
    for name, trials in (("train", train), ("test", test), ("fresh", fresh)):
        out[f"{name}_acc_noisy"], _ = evaluate(model, trials, cfg.noise_std, cfg.x0_noise_std, cfg.eval_noise_seed)
        out[f"{name}_acc_clean"], out[f"{name}_loss_clean"] = evaluate(model, trials)
    return out


@dataclass
class TrainResult:
    model: CTRNN
    config: TrainConfig
    history: dict[str, list[float]] = field(default_factory=dict)
    stopped_early: bool = False
    seconds: float = 0.0
    engine: str = "autograd"  #: how the gradients were computed ("native", "bptt" or "autograd")


def resolve_engine(engine: str, cfg: TrainConfig) -> str:
    """The engine a run uses (see `ENGINES`). "auto" is "native" for alpha = 1 where the native kernel
    compiles (it compiles on the first call), "bptt" for alpha = 1 elsewhere (with a warning), and
    "autograd" otherwise."""
    if engine not in ENGINES:
        raise ValueError(f"unknown training engine {engine!r}; accepted: {', '.join(ENGINES)}")
    if engine == "auto":
        if cfg.alpha != 1.0:
            return "autograd"
        if native.available():
            return "native"
        warnings.warn(f"setdyn: {native.unavailable_reason()}; training with engine 'bptt' instead", stacklevel=2)
        return "bptt"
    if engine in HAND_WRITTEN and cfg.alpha != 1.0:
        raise ValueError(f"engine {engine!r} covers alpha = 1 only, got alpha = {cfg.alpha}; use 'autograd' or 'auto'")
    if engine == "native" and not native.available():
        raise ValueError(native.unavailable_reason())
    return engine


def train(cfg: TrainConfig, progress: bool = True,
          callback: Callable[[int, dict[str, float]], None] | None = None, engine: str = "auto") -> TrainResult:
    """Train a model from scratch; deterministic for a given config and engine (see `ENGINES`).

    The arithmetic runs on one thread (faster than two for this small model, and bit-reproducible);
    with the native and bptt engines a second thread draws the noise ahead (`bptt.NoiseStream`), which changes
    no number.
    """
    engine = resolve_engine(engine, cfg)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(cfg, progress, callback, engine)
    finally:
        torch.set_num_threads(threads)


#: engines whose periodic evaluation runs on a second thread while the next epoch trains (their
#: evaluation is one GIL-free compiled call per trial set, so it does not slow the training thread)
LAGGED_EVALUATION: tuple[str, ...] = ("native",)


def _train(cfg: TrainConfig, progress: bool,
           callback: Callable[[int, dict[str, float]], None] | None, engine: str) -> TrainResult:
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    train_set = task.training_set(cfg.seed)
    sets = {"train": train_set, "test": task.test_set(seed=cfg.test_onset_seed),
            "fresh": task.fresh_set(cfg.fresh_onset_seed, cfg.fresh_draws)}
    codes = torch.as_tensor(train_set.codes)
    targets = torch.as_tensor(train_set.targets, dtype=torch.float32)
    opt = make_optimizer(model, cfg, engine)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    stream = noise_stream(cfg, engine, g, len(train_set), codes.shape[1]) if engine in HAND_WRITTEN else None
    # native: the evaluation of epoch e runs beside the training of epoch e + 1 on a copy of the weights;
    # if it stops the run, the weights go back to epoch e and epoch e + 1 is dropped: the same result
    # as evaluating in line
    lagged = ThreadPoolExecutor(1, thread_name_prefix="setdyn-eval") if engine in LAGGED_EVALUATION else None
    snapshot = copy.deepcopy(model) if lagged else None
    pending: tuple[int, Future] | None = None
    history: dict[str, list[float]] = {k: [] for k in ("train_loss", "train_acc_noisy")}
    history.update({k: [] for k in _EVAL_KEYS})
    state = {"streak": 0}

    def judge(epoch: int, clean: dict[str, float]) -> bool:
        """Record an evaluation; True if the run stops here."""
        rec = {"train_loss": history["train_loss"][epoch - 1], "train_acc_noisy": history["train_acc_noisy"][epoch - 1],
               "eval_epoch": epoch, **clean}
        for k in _EVAL_KEYS:
            history[k].append(rec[k])
        bar.set_postfix(loss=f"{rec['train_loss']:.3f}", train=f"{rec['train_acc_noisy']:.3f}",
                        fresh=f"{rec['fresh_acc_clean']:.3f}")
        if callback is not None:
            callback(epoch, rec)
        state["streak"] = state["streak"] + 1 if _targets_met(rec, cfg) else 0
        return state["streak"] >= cfg.stop_patience

    stopped = False
    t0 = time.perf_counter()
    bar = tqdm(range(1, cfg.max_epochs + 1), desc=f"train seed {cfg.seed}", disable=not progress, unit="epoch")
    try:
        for epoch in bar:
            model.train()
            perm = stream.permutation() if stream else torch.randperm(len(train_set), generator=g)
            losses, correct = train_epoch(model, opt, codes, targets, perm, cfg, g, engine, stream)
            history["train_loss"].append(float(np.mean(losses)))
            history["train_acc_noisy"].append(correct / len(train_set))
            if pending is not None:
                done, result = pending
                pending = None
                if judge(done, result.result()):  # stop at epoch `done`: undo this epoch
                    model.load_state_dict(snapshot.state_dict())
                    for k in ("train_loss", "train_acc_noisy"):
                        del history[k][done:]
                    stopped = True
                    break
            if epoch % cfg.eval_every and epoch != cfg.max_epochs:
                continue
            model.eval()
            if lagged and epoch != cfg.max_epochs:
                snapshot.load_state_dict(model.state_dict())
                pending = (epoch, lagged.submit(_clean_accuracies, snapshot, sets, engine))
            elif judge(epoch, _clean_accuracies(model, sets, engine)):
                stopped = True
                break
    finally:
        if stream is not None:
            stream.close()
        if lagged is not None:
            lagged.shutdown(wait=True)
    bar.close()
    model.eval()
    return TrainResult(model, cfg, history, stopped, time.perf_counter() - t0, engine)


_EVAL_KEYS = ("eval_epoch", "train_acc_clean", "test_acc_clean", "test_loss_clean", "fresh_acc_clean")


def _clean_accuracies(model: CTRNN, sets: dict[str, task.TrialSet], engine: str) -> dict[str, float]:
    """Noise-free accuracy on the train, test and fresh-onset sets (and the test loss)."""
    out = {}
    for name, trials in sets.items():
        out[f"{name}_acc_clean"], loss = evaluate(model, trials, engine=engine)
        if name == "test":
            out["test_loss_clean"] = loss
    return out


def noise_stream(cfg: TrainConfig, engine: str, generator: torch.Generator, n_trials: int,
                 n_steps: int) -> bptt.NoiseStream:
    """The second thread that draws a hand-written engine's noise ahead: for bptt in the order and
    with the numbers of drawing in line from `generator`; for native from setdyn's own faster
    generator (`native.draw_noise`, seeded with cfg.seed + 1). Permutations come from `generator`."""
    fast = None
    if engine == "native":
        def fast(size: int, index: int) -> bptt.MinibatchNoise:
            return native.draw_noise(size, n_steps, cfg.n_units, cfg.noise_std, cfg.x0_noise_std, cfg.seed + 1, index)
    return bptt.NoiseStream(generator, n_trials, cfg.batch_size, n_steps, cfg.n_units, cfg.noise_std,
                            cfg.x0_noise_std, draw=fast)


def make_optimizer(model: CTRNN, cfg: TrainConfig, engine: str) -> torch.optim.AdamW:
    """The reference's AdamW. PyTorch's AdamW decays by lr * weight_decay per step, hence the division.
    The hand-written engines (native, bptt) take PyTorch's fused implementation (the same update in
    one kernel; it differs from the per-tensor one only by float rounding); autograd keeps the
    per-tensor one, with which the shipped model was trained, so that retraining it retraces its
    history exactly."""
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=cfg.betas,
                             weight_decay=cfg.weight_decay_per_step / cfg.lr, fused=engine in HAND_WRITTEN or None)


def fused_adamw_step(opt: torch.optim.Optimizer) -> None:
    """`opt.step()` for a fused AdamW (`make_optimizer` for the hand-written engines) in two PyTorch
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
                perm: torch.Tensor, cfg: TrainConfig, generator: torch.Generator | None, engine: str = "bptt",
                noise: bptt.NoiseStream | None = None) -> tuple[list[float], float]:
    """One pass over the training set in the order `perm`, in minibatches of cfg.batch_size: per
    minibatch a noisy forward pass, gradients by `engine` ("native", "bptt" or "autograd"),
    element-wise clipping and one optimiser step. With `noise` (native and bptt only) the
    minibatches' noise comes from that stream instead of `generator`. Returns the minibatch losses
    and the number of trials whose noisy output was correct at the last step."""
    losses, correct = [], 0.0
    for idx in perm.split(cfg.batch_size):
        if engine == "native":  # loss, clipped gradients and the count of correct trials in one call
            loss_value, _, grads, hits = native.minibatch_gradients(
                model, codes[idx], targets[idx], cfg.noise_std, cfg.x0_noise_std, cfg.activity_penalty, generator,
                noise.minibatch() if noise is not None else None, cfg.grad_clip)
            for name, p in model.named_parameters():
                p.grad = grads[name]
            fused_adamw_step(opt)
            losses.append(loss_value)
            correct += hits
            continue
        if engine == "bptt":
            loss_value, z, grads = bptt.loss_and_grads(
                model, codes[idx], targets[idx], cfg.noise_std, cfg.x0_noise_std, cfg.activity_penalty, generator,
                noise=noise.minibatch() if noise is not None else None)
            for name, p in model.named_parameters():
                p.grad = grads[name].clamp_(-cfg.grad_clip, cfg.grad_clip)  # element-wise clip
        elif engine == "autograd" and noise is None:
            loss, z = loss_fn(model, codes[idx], targets[idx], cfg, generator)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            loss_value, z = loss.item(), z.detach()
            torch.nn.utils.clip_grad_value_(model.parameters(), cfg.grad_clip)
        else:
            raise ValueError(f"unknown training engine {engine!r} (or a noise stream with autograd); accepted: "
                             f"{', '.join(e for e in ENGINES if e != 'auto')}")
        opt.step()
        losses.append(loss_value)
        correct += accuracy(z, targets[idx]) * len(idx)
    return losses, correct


def epochs_to_accuracy(history: dict[str, list[float]], train_acc_noisy: float = 0.96,
                       test_acc_clean: float = 1.0) -> int | None:
    """The first evaluated epoch at which the noisy train accuracy (of that epoch) and the
    noise-free test accuracy reach the given levels, or None if none did. The defaults are the
    paper's accuracy (>= 96% noisy train, 100% noise-free test)."""
    for i, epoch in enumerate(history.get("eval_epoch", [])):
        if history["train_acc_noisy"][epoch - 1] >= train_acc_noisy and history["test_acc_clean"][i] >= test_acc_clean:
            return int(epoch)
    return None


def _targets_met(rec: dict[str, float], cfg: TrainConfig) -> bool:
    checks = [(cfg.stop_train_acc_noisy, "train_acc_noisy"), (cfg.stop_test_acc_clean, "test_acc_clean"),
              (cfg.stop_fresh_acc_clean, "fresh_acc_clean")]
    if all(t is None for t, _ in checks):
        return False
    return all(t is None or rec[k] >= t for t, k in checks)
