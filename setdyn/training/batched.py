"""Train many networks at once in one process: an ensemble with stacked weights.

Every member is the network `setdyn.training.train(cfg, engine="bptt")` (or
"autograd") would train for its own config: the same initial weights (those of `build_model(cfg)`, stacked), the
same training set (`task.training_set(cfg.seed)`), the same minibatch order
and -- with ``exact_noise=True``, the default -- the very same noise draws
(each member owns a `torch.Generator` seeded ``cfg.seed + 1`` and draws its
permutation, recurrent noise and initial-state noise in the order `train`
does). The same AdamW update (lr, decoupled decay ``weight_decay_per_step``
per update, betas, eps 1e-8), element-wise gradient clipping and loss are
applied per member, and each member keeps a `loop.RunLog`: the history,
evaluation schedule and early-stopping rule of `train` itself. Only the
epoch's arithmetic (all members at once) and the noise-free evaluation
(batched over members, on the sets of `evaluation.evaluation_set`) are this
module's own.

What differs is only floating-point summation order: a batched matmul
(`torch.bmm`) adds in another order than `torch.addmm`, so members agree with
`train` to ~1e-6 after one update and then drift apart the way two
floating-point runs of a chaotic optimisation do. Runs are *not* bitwise
identical to `train`. They are bitwise reproducible run to run for the same
grouping (the same configs in the same order with the same ``slots``); a
network trained in another group differs from float32 rounding (~1e-8) on.

Members may differ in seed, alpha (dt / tau), noise, learning rate, decay,
clip, activity penalty, epochs and stopping targets; they must share the
shapes (n_units, input dimension, batch size) and betas.

Time is in steps of dt = 10 ms throughout; the trial is 50 steps (500 ms).

Speed: all members step together, one `torch.bmm` per time step forward and
two per step backward (a hand-written backward pass through time). Finished
members leave the batch at once (their weights are frozen and returned), and
with ``slots`` < number of configs waiting configs take their place, so the
batch stays full.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import paper, task
from ..model import CTRNN
from ..paper import PARAM_NAMES
from .config import TrainConfig, build_model
from .evaluation import evaluation_set
from .loop import RunLog, TrainResult, torch_threads
from .stacked import StackedRecurrence, stacked_rollout

EPS = 1e-8  #: AdamW epsilon, PyTorch's default (as in `train`)
#: TrainResult.engine of the networks trained here
ENGINE_NAME = "batched"


@dataclass
class _Member:
    """One ensemble member (one config): its data, its generator and its `RunLog`."""

    index: int  #: position in the list of configs
    cfg: TrainConfig
    gen: torch.Generator
    codes: torch.Tensor  #: training set stimulus codes (n x T)
    targets: torch.Tensor  #: training targets (n,)
    log: RunLog  #: history, evaluation schedule and stopping rule, as in `train`


class BatchedTrainer:
    """Stacked parameters, AdamW state and per-member settings of the active members."""

    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        self.dtype = dtype
        self.members: list[_Member] = []
        self.params: dict[str, torch.Tensor] = {}
        self.m: dict[str, torch.Tensor] = {}
        self.v: dict[str, torch.Tensor] = {}
        self.colors = torch.empty(0)
        self.steps = torch.empty(0, dtype=torch.float64)

    # ---- membership -------------------------------------------------------------------------------------
    def add(self, members: Sequence[_Member]) -> None:
        """Append members with fresh initial weights (`build_model(cfg)`) and zero optimiser state."""
        if not members:
            return
        models = [build_model(m.cfg, self.dtype) for m in members]
        new = {k: torch.stack([getattr(mod, k).detach() for mod in models]) for k in PARAM_NAMES}
        colors = torch.stack([mod.colors for mod in models])
        zeros = torch.zeros(len(members), dtype=torch.float64)
        if self.members:
            for k in PARAM_NAMES:
                self.params[k] = torch.cat([self.params[k].detach(), new[k]]).requires_grad_(True)
                self.m[k] = torch.cat([self.m[k], torch.zeros_like(new[k])])
                self.v[k] = torch.cat([self.v[k], torch.zeros_like(new[k])])
            self.colors = torch.cat([self.colors, colors])
            self.steps = torch.cat([self.steps, zeros])
        else:
            self.params = {k: new[k].clone().requires_grad_(True) for k in PARAM_NAMES}
            self.m = {k: torch.zeros_like(new[k]) for k in PARAM_NAMES}
            self.v = {k: torch.zeros_like(new[k]) for k in PARAM_NAMES}
            self.colors, self.steps = colors, zeros
        self.members.extend(members)
        self._refresh_settings()

    def remove(self, keep: Sequence[int]) -> None:
        """Keep only the members at positions `keep` (in the current stacking)."""
        idx = torch.as_tensor(list(keep), dtype=torch.long)
        for k in PARAM_NAMES:
            self.params[k] = self.params[k].detach()[idx].clone().requires_grad_(True)
            self.m[k] = self.m[k][idx]
            self.v[k] = self.v[k][idx]
        self.colors = self.colors[idx]
        self.steps = self.steps[idx]
        self.members = [self.members[i] for i in keep]
        self._refresh_settings()

    def model(self, pos: int) -> CTRNN:
        """The member at position `pos` as a stand-alone `CTRNN` (a copy, eval mode)."""
        mem = self.members[pos]
        model = build_model(mem.cfg, self.dtype)
        with torch.no_grad():
            for k in PARAM_NAMES:
                getattr(model, k).copy_(self.params[k][pos])
        model.eval()
        return model

    def _refresh_settings(self) -> None:
        cfgs = [m.cfg for m in self.members]

        def col(values: Sequence[float], ndim: int) -> torch.Tensor:
            return torch.tensor(values, dtype=self.dtype).reshape(-1, *([1] * ndim))

        self.alpha = col([c.alpha for c in cfgs], 2)  # K x 1 x 1
        self.unit = all(c.alpha == 1.0 for c in cfgs)
        self.noise_std = [c.noise_std for c in cfgs]
        self.x0_noise_std = [c.x0_noise_std for c in cfgs]
        self.penalty = col([c.activity_penalty for c in cfgs], 0)
        self.lr = torch.tensor([c.lr for c in cfgs], dtype=torch.float64)
        # PyTorch's AdamW decays by lr * weight_decay with weight_decay = per_step / lr (as `train` does)
        self.decay = [1 - c.lr * c.adamw_weight_decay for c in cfgs]
        self.clip = [c.grad_clip for c in cfgs]

    # ---- forward ----------------------------------------------------------------------------------------
    def rates(self, codes: torch.Tensor, noise: torch.Tensor | None = None,
              x0_noise: torch.Tensor | None = None, grad: bool = True,
              keep: int = task.SCORE_STEPS) -> tuple[torch.Tensor, torch.Tensor]:
        """Last `keep` rates (keep x K x B x N) and per-member mean squared rate (K,) for stimulus
        codes (K x B x T); noise (K x B x T x N) and x0_noise (K x B x N) already scaled by their std."""
        K, nb, T = codes.shape
        p = self.params
        table = self.input_table()
        onehot = torch.nn.functional.one_hot(codes.permute(2, 0, 1) % 4, 4).to(self.dtype)  # -1 -> row 3
        x = p["x0"][:, None, :].expand(K, nb, -1)
        x = x + x0_noise if x0_noise is not None else x.contiguous()
        if grad:
            return StackedRecurrence.apply(x, table, p["b"], p["J"], onehot, noise, self.alpha, self.unit, keep)
        with torch.no_grad():
            sq = torch.zeros(K, dtype=x.dtype)
            R = stacked_rollout(x, table, p["b"], p["J"], onehot, noise, self.alpha, self.unit, sq)
        return R[T - keep:], sq / (T * nb * R.shape[3])

    def input_table(self) -> torch.Tensor:
        """B u for (green, purple, red, nothing): K x 4 x N."""
        p = self.params["B"]
        proj = torch.bmm(self.colors, p.transpose(1, 2))  # K x 3 x N
        return torch.cat([proj, torch.zeros_like(proj[:, :1])], 1)

    def readout(self, R: torch.Tensor) -> torch.Tensor:
        """Outputs z (T' x K x B) from rates (T' x K x B x N)."""
        return torch.einsum("tkbn,kn->tkb", R, self.params["W"][:, 0]) + self.params["b_out"][None, :, :]

    # ---- one minibatch update -------------------------------------------------------------------------
    def update(self, codes: torch.Tensor, targets: torch.Tensor, noise: torch.Tensor | None,
               x0_noise: torch.Tensor | None) -> tuple[np.ndarray, np.ndarray]:
        """One AdamW step for every member; returns (loss, accuracy) per member on this minibatch."""
        R, msq = self.rates(codes, noise, x0_noise, grad=True)
        z = self.readout(R)  # 5 x K x B
        mse = ((z - targets[None]) ** 2).mean((0, 2))
        loss_k = mse + self.penalty * msq
        for k in PARAM_NAMES:
            self.params[k].grad = None
        loss_k.sum().backward()
        self._adamw()
        with torch.no_grad():
            acc = _accuracy(z[-1].detach(), targets)
        return loss_k.detach().numpy().astype(float), acc

    @torch.no_grad()
    def _adamw(self) -> None:
        """PyTorch's single-tensor AdamW, vectorised over members (per-member lr, decay, clip, step)."""
        self.steps += 1
        cfg0 = self.members[0].cfg
        b1, b2 = cfg0.betas
        bc1 = 1 - b1 ** self.steps
        bc2_sqrt = (1 - b2 ** self.steps).sqrt()
        step_size = (self.lr / bc1).to(self.dtype)
        bc2_sqrt = bc2_sqrt.to(self.dtype)
        decay = torch.tensor(self.decay, dtype=self.dtype)
        clip = torch.tensor(self.clip, dtype=self.dtype)
        for k in PARAM_NAMES:
            p, g = self.params[k], self.params[k].grad
            shape = (-1,) + (1,) * (p.ndim - 1)
            c = clip.reshape(shape)
            g = torch.maximum(torch.minimum(g, c), -c)
            p.mul_(decay.reshape(shape))
            self.m[k].lerp_(g, 1 - b1)
            self.v[k].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (self.v[k].sqrt() / bc2_sqrt.reshape(shape)).add_(EPS)
            p.sub_(step_size.reshape(shape) * self.m[k] / denom)

    @torch.no_grad()
    def evaluate(self, positions: Sequence[int], sets: Sequence[task.TrialSet]) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free (accuracy, MSE on the last 5 steps) of members at `positions` on their trial sets
        (one TrialSet per position; all of the same size)."""
        idx = torch.as_tensor(list(positions), dtype=torch.long)
        sub = _Sub(self, idx)
        codes = torch.stack([torch.as_tensor(s.codes) for s in sets])
        targets = torch.stack([torch.as_tensor(s.targets, dtype=self.dtype) for s in sets])
        R, _ = sub.rates(codes)
        z = sub.readout(R)
        mse = ((z - targets[None]) ** 2).mean((0, 2)).numpy().astype(float)
        return _accuracy(z[-1], targets), mse


class _Sub(BatchedTrainer):
    """A read-only view of some members of a trainer (for evaluation)."""

    def __init__(self, parent: BatchedTrainer, idx: torch.Tensor) -> None:  # noqa: D107
        self.dtype = parent.dtype
        self.params = {k: v.detach()[idx] for k, v in parent.params.items()}
        self.colors = parent.colors[idx]
        self.alpha = parent.alpha[idx]
        self.unit = bool((self.alpha == 1).all())

    def rates(self, codes, noise=None, x0_noise=None, grad=False, keep=task.SCORE_STEPS):  # type: ignore[override]
        return super().rates(codes, noise, x0_noise, grad=False, keep=keep)


def _accuracy(z_last: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """Per-member accuracy from final outputs z (K x B) against targets (K x B): the fraction of
    trials where `paper.decide(z)` equals the target, as `model.accuracy`."""
    return (paper.decide(z_last) == targets).to(torch.float64).mean(1).numpy()


def _check_compatible(configs: Sequence[TrainConfig]) -> None:
    c0 = configs[0]
    for c in configs:
        if not isinstance(c, TrainConfig):
            raise ValueError(f"train_batched takes TrainConfig objects, got {type(c).__name__}")
        for name in ("n_units", "batch_size", "betas"):
            if getattr(c, name) != getattr(c0, name):
                raise ValueError(f"ensemble members must share {name}: {getattr(c0, name)} vs {getattr(c, name)} "
                                 f"(seed {c.seed})")


def train_batched(configs: Sequence[TrainConfig], slots: int | None = None, progress: bool = True,
                  exact_noise: bool = True, threads: int | None = 1,
                  on_result: Callable[[int, TrainResult], None] | None = None,
                  eval_train_clean: bool = True,
                  on_epoch: Callable[[list[dict[str, float]]], None] | None = None) -> list[TrainResult]:
    """Train every config as a member of one stacked ensemble; results in the order of `configs`.

    Args:
        configs: one `TrainConfig` per network (same n_units, batch size, betas).
        slots: how many members train at once (default: all). With fewer slots
            than configs, a waiting config joins as soon as a member finishes.
        progress: show a tqdm bar (one tick per ensemble epoch; postfix = members active/done).
        exact_noise: draw each member's noise from its own generator exactly as
            `train` does (identical random numbers). False draws all members'
            noise in one call from one generator (faster, statistically the same,
            different numbers).
        threads: torch intra-op threads while training (None = leave as is).
        on_result: called with (index into configs, TrainResult) as each member finishes.
        eval_train_clean: also measure noise-free accuracy on the training set at
            every evaluation, as `train` does (history only; the stopping rule
            does not use it). False saves ~10% of the time and records NaN.
        on_epoch: called after every ensemble epoch with one dict per active
            member: index (into configs), epoch, train_loss, train_acc_noisy and
            the last fresh_acc_clean (NaN before the first evaluation).

    Returns:
        A `TrainResult` per config (engine "batched"). ``seconds`` is the wall time from the
        member's start to its finish (shared with the other members, so not additive).
    """
    configs = list(configs)
    if not configs:
        return []
    _check_compatible(configs)
    relu = sorted({c.activation for c in configs} - {"tanh"})
    if relu:  # the hand-written backward pass differentiates tanh
        raise ValueError(f"the batched trainer covers activation tanh only, got {', '.join(relu)}; "
                         "train those configs with setdyn.training.train(cfg, engine='autograd')")
    if slots is not None and (isinstance(slots, bool) or not isinstance(slots, int) or slots < 1):
        raise ValueError(f"slots must be a whole number >= 1 (or None: all configs at once), got {slots!r}")
    with torch_threads(threads):
        return _train_batched(configs, slots or len(configs), progress, exact_noise, on_result, eval_train_clean,
                              on_epoch)


def _train_batched(configs: list[TrainConfig], slots: int, progress: bool, exact_noise: bool,
                   on_result: Callable[[int, TrainResult], None] | None,
                   eval_train_clean: bool = True,
                   on_epoch: Callable[[list[dict[str, float]]], None] | None = None) -> list[TrainResult]:
    results: list[TrainResult | None] = [None] * len(configs)
    queue = list(range(len(configs)))
    tr = BatchedTrainer()
    sets: dict[tuple, task.TrialSet] = {}  # the members' trial sets, each made once
    shared_gen = torch.Generator().manual_seed((configs[0].seed * 7919 + 1) % 2 ** 64)

    def admit() -> None:
        new = []
        while queue and len(tr.members) + len(new) < slots:
            i = queue.pop(0)
            cfg = configs[i]
            ts = evaluation_set("train", cfg, sets)
            new.append(_Member(i, cfg, torch.Generator().manual_seed(cfg.seed + 1), torch.as_tensor(ts.codes),
                               torch.as_tensor(ts.targets, dtype=tr.dtype), RunLog(cfg)))
        tr.add(new)

    admit()
    total_epochs = sum(c.max_epochs for c in configs)
    bar = tqdm(total=total_epochs, desc=f"train {len(configs)} nets", disable=not progress, unit="net-epoch",
               smoothing=0.05)
    n_done = 0
    while tr.members:
        losses, correct = _epoch(tr, exact_noise, shared_gen)
        n = len(tr.members[0].codes)
        to_eval = [pos for pos, m in enumerate(tr.members)
                   if m.log.end_epoch(float(losses[pos].mean()), float(correct[pos] / n))]
        bar.update(len(tr.members))
        if to_eval:
            kinds = ("train", "test", "fresh") if eval_train_clean else ("test", "fresh")
            evals = {kind: tr.evaluate(to_eval, [evaluation_set(kind, tr.members[p].cfg, sets) for p in to_eval])
                     for kind in kinds}
            if not eval_train_clean:
                evals["train"] = (np.full(len(to_eval), np.nan), np.full(len(to_eval), np.nan))
            for j, pos in enumerate(to_eval):
                log = tr.members[pos].log
                log.judge(log.epoch, {"train_acc_clean": float(evals["train"][0][j]),
                                      "test_acc_clean": float(evals["test"][0][j]),
                                      "test_loss_clean": float(evals["test"][1][j]),
                                      "fresh_acc_clean": float(evals["fresh"][0][j])})
        if on_epoch is not None:
            on_epoch([{"index": m.index, "epoch": m.log.epoch, "train_loss": m.log.history["train_loss"][-1],
                       "train_acc_noisy": m.log.history["train_acc_noisy"][-1],
                       "fresh_acc_clean": m.log.history["fresh_acc_clean"][-1] if m.log.history["fresh_acc_clean"]
                       else float("nan")} for m in tr.members])
        # members that stopped early first, then those at their last epoch (the order results are reported in)
        finished = ([p for p, m in enumerate(tr.members) if m.log.stopped]
                    + [p for p, m in enumerate(tr.members) if m.log.finished and not m.log.stopped])
        if finished:
            for pos in finished:
                m = tr.members[pos]
                res = m.log.result(tr.model(pos), ENGINE_NAME)
                results[m.index] = res
                bar.update(m.cfg.max_epochs - m.log.epoch)  # skipped epochs count as done
                if on_result is not None:
                    on_result(m.index, res)
            n_done += len(finished)
            tr.remove([p for p in range(len(tr.members)) if p not in finished])
            admit()
        bar.set_postfix(active=len(tr.members), done=n_done)
    bar.close()
    return [r for r in results if r is not None]


def _epoch(tr: BatchedTrainer, exact_noise: bool, shared_gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of every active member: (K x n_minibatches) losses and (K,) numbers of trials whose
    noisy output was right at the last step."""
    K = len(tr.members)
    n = len(tr.members[0].codes)
    bs = tr.members[0].cfg.batch_size
    perms = [torch.randperm(len(m.codes), generator=m.gen if exact_noise else shared_gen) for m in tr.members]
    losses = np.zeros((K, 0))
    correct = np.zeros(K)
    for start in range(0, n, bs):
        idxs = [p[start:start + bs] for p in perms]
        nb = len(idxs[0])
        codes = torch.stack([m.codes[i] for m, i in zip(tr.members, idxs)])
        targets = torch.stack([m.targets[i] for m, i in zip(tr.members, idxs)])
        noise, x0n = _draw_noise(tr, nb, codes.shape[2], exact_noise, shared_gen)
        loss, acc = tr.update(codes, targets, noise, x0n)
        losses = np.concatenate([losses, loss[:, None]], 1)
        correct += acc * nb
    return losses, correct


def _draw_noise(tr: BatchedTrainer, nb: int, T: int, exact: bool,
                shared: torch.Generator) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Recurrent noise (K x nb x T x N) and initial-state noise (K x nb x N), already scaled by each
    member's std; None when every member has std 0."""
    K, N = len(tr.members), tr.params["J"].shape[1]
    dt = tr.dtype
    if not any(s > 0 for s in tr.noise_std) and not any(s > 0 for s in tr.x0_noise_std):
        return None, None
    noise = torch.empty(K, nb, T, N, dtype=dt) if any(s > 0 for s in tr.noise_std) else None
    x0n = torch.empty(K, nb, N, dtype=dt) if any(s > 0 for s in tr.x0_noise_std) else None
    if exact:
        for k, m in enumerate(tr.members):
            # same order as CTRNN.run: drive noise (batch x T x N) first, then x0 noise (batch x N);
            # normal_(0, std) gives bitwise the same numbers as std * randn
            if noise is not None:
                noise[k].normal_(0.0, tr.noise_std[k], generator=m.gen) if tr.noise_std[k] > 0 else noise[k].zero_()
            if x0n is not None:
                x0n[k].normal_(0.0, tr.x0_noise_std[k], generator=m.gen) if tr.x0_noise_std[k] > 0 else x0n[k].zero_()
    else:
        if noise is not None:
            std = torch.tensor(tr.noise_std, dtype=dt).reshape(K, 1, 1, 1)
            noise = std * torch.randn((K, nb, T, N), generator=shared, dtype=dt)
        if x0n is not None:
            std = torch.tensor(tr.x0_noise_std, dtype=dt).reshape(K, 1, 1)
            x0n = std * torch.randn((K, nb, N), generator=shared, dtype=dt)
    return noise, x0n


__all__ = ["BatchedTrainer", "ENGINE_NAME", "train_batched"]
