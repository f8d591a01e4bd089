"""The training engines, by name: how a minibatch's loss and gradients are computed.

- "native" (`native`): the hand-written backpropagation through time, compiled
  (a = 1 only; needs a C++ compiler; builds on first use, about a minute);
- "bptt" (`bptt`): the same algorithm in Python (a = 1 only);
- "autograd" (`autograd`): PyTorch's autograd (any a = dt/tau, tanh or relu).

The hand-written engines differentiate tanh only. "auto" picks the first in
this order that covers the config's alpha and activation and runs here. All give the same gradients up to float rounding, but a training run is
chaotic: the same config trained by two engines ends in different weights.

To add an engine: write a subclass of `Engine` (its `gradients`, and the
switches it needs) in a module here and add it to `ENGINES`.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from .autograd import AutogradEngine
from .base import Engine, Minibatch
from .bptt import BpttEngine
from .native import NativeEngine

if TYPE_CHECKING:
    from ..config import TrainConfig

#: The engines by name, in the order "auto" tries them.
ENGINES: dict[str, Engine] = {e.name: e for e in (NativeEngine(), BpttEngine(), AutogradEngine())}
#: What a user may ask for: "auto" or an engine's name.
ENGINE_CHOICES: tuple[str, ...] = ("auto", *ENGINES)


def resolve_engine(engine: str | Engine, cfg: "TrainConfig") -> str:
    """The name of the engine a run with `cfg` uses when asked for `engine` (a name in ENGINE_CHOICES
    or an Engine).

    "auto" is the first engine of `ENGINES` that covers cfg.alpha and runs here ("native" for
    alpha = 1 where it compiles, which it does on the first call; "bptt" for alpha = 1 elsewhere,
    with a warning; "autograd" otherwise). An engine asked for by name must cover cfg.alpha and run
    here; otherwise ValueError saying why.
    """
    name = engine.name if isinstance(engine, Engine) else engine
    if name not in ENGINE_CHOICES:
        raise ValueError(f"unknown training engine {name!r}; accepted: {', '.join(ENGINE_CHOICES)}")
    if name == "auto":
        skipped = None
        for candidate in ENGINES.values():
            if not (candidate.covers(cfg.alpha) and candidate.covers_activation(cfg.activation)):
                continue
            reason = candidate.unavailable_reason()
            if reason is None:
                if skipped:
                    warnings.warn(f"setdyn: {skipped}; training with engine {candidate.name!r} instead", stacklevel=2)
                return candidate.name
            skipped = skipped or reason
        raise ValueError(f"no training engine runs here for alpha = {cfg.alpha}: {skipped}")
    chosen = ENGINES[name]
    if not chosen.covers_activation(cfg.activation):
        raise ValueError(f"engine {name!r} differentiates activation {', '.join(chosen.activations)} only, "
                         f"got activation = {cfg.activation!r}; use 'autograd' or 'auto'")
    if not chosen.covers(cfg.alpha):
        raise ValueError(f"engine {name!r} covers alpha = 1 only, got alpha = {cfg.alpha}; use 'autograd' or 'auto'")
    reason = chosen.unavailable_reason()
    if reason is not None:
        raise ValueError(reason)
    return name


def get_engine(engine: str | Engine) -> Engine:
    """The engine object for a name in `ENGINES` (or the engine itself); ValueError for other names."""
    if isinstance(engine, Engine):
        return engine
    if engine not in ENGINES:
        raise ValueError(f"unknown training engine {engine!r}; accepted: {', '.join(ENGINES)} "
                         "(resolve 'auto' first with resolve_engine)")
    return ENGINES[engine]


__all__ = ["ENGINES", "ENGINE_CHOICES", "Engine", "Minibatch", "get_engine", "resolve_engine"]
