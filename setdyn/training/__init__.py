"""Training the CT-RNN on the SET task, per the paper's reference recipe.

Map:

- `config`: `TrainConfig` (every hyperparameter, checked when made) and `build_model`;
- `loop`: `train`, THE training loop (epochs, evaluation, history, early stopping);
- `evaluation`: the trial sets a run is judged on, `evaluate_all`, `epochs_to_accuracy`;
- `engines`: how a minibatch's loss and gradients are computed, by name (`ENGINES`:
  native, bptt, autograd; "auto" picks);
- `noise`: the minibatch noise and the thread that draws it ahead;
- `batched`: `train_batched`, many networks at once with stacked weights.

Typical use::

    from setdyn.training import TrainConfig, train
    result = train(TrainConfig(seed=0))
"""
from .batched import train_batched
from .config import TrainConfig, build_model
from .engines import ENGINE_CHOICES, ENGINES, Engine, resolve_engine
from .evaluation import epochs_to_accuracy, evaluate, evaluate_all, evaluation_sets
from .loop import RunLog, TrainResult, make_optimizer, train, train_epoch

__all__ = ["ENGINES", "ENGINE_CHOICES", "Engine", "RunLog", "TrainConfig", "TrainResult", "build_model",
           "epochs_to_accuracy", "evaluate", "evaluate_all", "evaluation_sets", "make_optimizer", "resolve_engine",
           "train", "train_batched", "train_epoch"]
