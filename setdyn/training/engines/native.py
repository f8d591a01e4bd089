"""Engine "native": the hand-written BPTT's loss and gradients as one compiled call per minibatch.

The hand-written BPTT in Python (`setdyn.training.engines.bptt`) spends about as much time on
its element-wise operations and their dispatch as on the matrix products. Here
the same computation is a small C++ extension (`native_bptt.cpp`) that fuses
each step's element-wise work into one pass next to the step's matrix
product; the products and tanh still go through PyTorch (MKL). It is compiled
on first use with PyTorch's `cpp_extension` (needs a C++ compiler, g++ on
Linux, and ninja, which requirements.txt installs; about a minute, once;
cached in ~/.cache/torch_extensions) and gives
the same loss and gradients as `bptt.loss_and_grads` up to float
rounding, with the same noise (`setdyn.training.noise.MinibatchNoise`). The
decision rule's threshold comes from `setdyn.paper.DECISION_THRESHOLD` as an
argument of every call.

`available()` says whether it compiled; engine "auto" uses it where it does and
otherwise falls back to engine "bptt", saying so. A training run with it draws
its noise from setdyn's own compiled generator (`draw_noise`), so its numbers
differ from those of the other engines (which share PyTorch's).
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import ModuleType

import torch

from ... import paper, task
from ...model import CTRNN
from ..config import TrainConfig
from ..noise import MinibatchNoise, NoiseStream
from .base import Engine, Minibatch
from .bptt import checked_minibatch, workspace

SOURCE = Path(__file__).with_name("native_bptt.cpp")
#: the compiled module's name (PyTorch caches the build under it, in ~/.cache/torch_extensions)
EXTENSION = "setdyn_training_native"
#: compiler flags; -fno-math-errno lets sqrt vectorise in the noise generator
FLAGS = ["-O3", "-march=native", "-fopenmp-simd", "-fno-math-errno"]

_lock = threading.Lock()
_module: ModuleType | None = None
_error: str | None = None


def load() -> ModuleType:
    """The compiled kernel (compiles it on first use); RuntimeError naming the cause if that fails."""
    global _module, _error
    with _lock:
        if _module is None and _error is None:
            try:
                from torch.utils.cpp_extension import load as load_extension

                _put_ninja_on_path()

                # loading a cached build takes a moment; say something only if this is a (slow) build
                note = threading.Timer(3.0, print, ("setdyn: compiling the native BPTT kernel (once per machine, "
                                                    "about a minute) ...",), {"file": sys.stderr, "flush": True})
                note.start()
                try:
                    _module = load_extension(name=EXTENSION, sources=[str(SOURCE)],
                                             extra_cflags=FLAGS, verbose=False)
                finally:
                    note.cancel()
            except Exception as err:  # no compiler, no headers, ...: say why, once
                _error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
        if _module is None:
            raise RuntimeError(unavailable_reason())
        return _module


def _put_ninja_on_path() -> None:
    """PyTorch builds extensions with ninja, which it looks for on PATH; requirements.txt installs it
    into the environment, whose bin directory is not on PATH unless the environment is activated."""
    try:
        import ninja
    except ImportError:
        return
    path = os.environ.get("PATH", "")
    if ninja.BIN_DIR not in path.split(os.pathsep):
        os.environ["PATH"] = ninja.BIN_DIR + (os.pathsep + path if path else "")


def unavailable_reason() -> str:
    """Why the native kernel could not be built (after a failed `load`)."""
    return (f"the native BPTT kernel is not available ({_error}); it needs a C++ compiler (g++) to build. "
            "Use engine 'bptt' (the same computation in Python, slower)")


def available() -> bool:
    """Whether the native kernel compiles and loads here (compiles it on the first call)."""
    try:
        load()
        return True
    except RuntimeError:
        return False


def loss_and_grads(model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, noise_std: float,
                   x0_noise_std: float, activity_penalty: float, generator: torch.Generator | None,
                   noise: MinibatchNoise | None = None,
                   grad_clip: float | None = None) -> tuple[float, torch.Tensor, dict[str, torch.Tensor]]:
    """`bptt.loss_and_grads` (same arguments, same results up to float rounding), compiled.
    With `grad_clip`, every gradient element is clamped to +-grad_clip (as training clips)."""
    return minibatch_gradients(model, codes, targets, noise_std, x0_noise_std, activity_penalty, generator, noise,
                               grad_clip)[:3]


def minibatch_gradients(model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, noise_std: float,
                        x0_noise_std: float, activity_penalty: float, generator: torch.Generator | None,
                        noise: MinibatchNoise | None, grad_clip: float | None
                        ) -> tuple[float, torch.Tensor, dict[str, torch.Tensor], int]:
    """`loss_and_grads` plus the number of trials whose output at the last step is correct
    (`paper.decide`: z beyond +-DECISION_THRESHOLD on the side of the target), all in one call:
    what a training step needs."""
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be a positive number or None, got {grad_clip}")
    codes, noise = checked_minibatch(model, codes, noise, noise_std, x0_noise_std, generator, "native BPTT")
    kernel = load()
    nb, T = codes.shape
    J = model.J.detach()
    dtype, N = J.dtype, J.shape[0]
    GH, = workspace((T, nb, N), dtype=dtype)
    try:
        loss, correct, z, *grads = kernel.loss_and_grads(
            noise.states, noise.xi.contiguous(), codes, model.colors, model.B.detach(), model.b.detach(), J,
            model.W.detach(), model.b_out.detach(), model.x0.detach(),
            torch.as_tensor(targets, dtype=dtype).contiguous(), float(activity_penalty), task.SCORE_STEPS,
            float(grad_clip or 0.0), float(paper.DECISION_THRESHOLD), GH)
    except RuntimeError as err:  # the kernel's checks: say what is wrong in one line
        raise ValueError(f"native BPTT: {str(err).splitlines()[0]}") from None
    return float(loss), z, dict(zip(paper.PARAM_NAMES, grads)), int(correct)


def draw_noise(batch: int, n_steps: int, n_units: int, noise_std: float, x0_noise_std: float, seed: int,
               index: int, dtype: torch.dtype = torch.float32) -> MinibatchNoise:
    """Minibatch `index`'s noise from setdyn's own generator: like `setdyn.training.noise.draw_noise` (same
    layout and distribution), but about four times faster and drawn straight into the time-major
    states. Generator: 16 xoshiro128+ streams side by side and Box-Muller, compiled; eta is stream
    2 * index and xi stream 2 * index + 1 of `seed`, so any minibatch's noise can be redrawn alone."""
    if noise_std < 0 or x0_noise_std < 0:
        raise ValueError(f"noise stds must be >= 0, got {noise_std} and {x0_noise_std}")
    kernel = load()
    states = torch.empty(n_steps + 1, batch, n_units, dtype=dtype)
    if noise_std > 0:
        kernel.fill_normal(states[1:], float(noise_std), int(seed), 2 * int(index))
    else:
        states[1:].zero_()
    xi = torch.zeros(batch, n_units, dtype=dtype)
    if x0_noise_std > 0:
        kernel.fill_normal(xi, float(x0_noise_std), int(seed), 2 * int(index) + 1)
    return MinibatchNoise(states, xi)


def final_outputs(model: CTRNN, codes: torch.Tensor, n_last: int) -> torch.Tensor:
    """`CTRNN.final_outputs` (noise-free outputs on the last `n_last` steps, batch x n_last), compiled;
    equal up to float rounding and the float32 tanh approximation. a = 1 only."""
    if model.alpha != 1.0:
        raise ValueError(f"the native kernel covers alpha = dt/tau = 1 only, got alpha = {model.alpha}")
    codes = torch.as_tensor(codes, dtype=torch.long)
    if codes.ndim != 2:
        raise ValueError(f"codes must be batch x T, got shape {tuple(codes.shape)}")
    try:
        return load().final_outputs(codes, model.colors, model.B.detach(), model.b.detach(), model.J.detach(),
                                    model.W.detach(), model.b_out.detach(), model.x0.detach(), int(n_last))
    except RuntimeError as err:
        raise ValueError(f"native final_outputs: {str(err).splitlines()[0]}") from None


class NativeEngine(Engine):
    """Engine "native": `minibatch_gradients`, compiled; noise from `draw_noise` on a second thread
    (seeded cfg.seed + 1), noise-free evaluation by the compiled `final_outputs`, on a second
    thread beside the next epoch."""

    name = "native"
    alpha_one_only = True
    fused_optimizer = True
    lagged_evaluation = True

    def unavailable_reason(self) -> str | None:
        return None if available() else unavailable_reason()

    def noise_stream(self, cfg: TrainConfig, generator: torch.Generator, n_trials: int,
                     n_steps: int) -> NoiseStream:
        def fast(size: int, index: int) -> MinibatchNoise:
            return draw_noise(size, n_steps, cfg.n_units, cfg.noise_std, cfg.x0_noise_std, cfg.seed + 1, index)

        return NoiseStream(generator, n_trials, cfg.batch_size, n_steps, cfg.n_units, cfg.noise_std,
                           cfg.x0_noise_std, draw=fast)

    def gradients(self, model: CTRNN, codes: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig,
                  generator: torch.Generator | None, noise: MinibatchNoise | None) -> Minibatch:
        loss, _, grads, correct = minibatch_gradients(model, codes, targets, cfg.noise_std, cfg.x0_noise_std,
                                                      cfg.activity_penalty, generator, noise, cfg.grad_clip)
        return Minibatch(loss, correct, grads)

    def final_outputs(self, model: CTRNN, codes: torch.Tensor, n_last: int) -> torch.Tensor:
        return final_outputs(model, codes, n_last) if model.alpha == 1.0 else model.final_outputs(codes, n_last)


__all__ = ["EXTENSION", "NativeEngine", "SOURCE", "available", "draw_noise", "final_outputs", "load", "loss_and_grads",
           "minibatch_gradients", "unavailable_reason"]
