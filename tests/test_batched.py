"""The batched (ensemble) trainer: exact gradients, the same training as `train`, per-member stopping."""
import numpy as np
import pytest
import torch

from setdyn.training import TrainConfig, train, train_batched
from setdyn.training.stacked import StackedRecurrence

NO_STOP = dict(stop_train_acc_noisy=None, stop_test_acc_clean=None, stop_fresh_acc_clean=None)


@pytest.mark.parametrize("alphas", [(1.0, 1.0), (1.0, 0.3)])
def test_hand_written_backward_matches_autograd(alphas):
    torch.manual_seed(0)
    K, B, T, N = 2, 3, 6, 5
    codes = torch.randint(-1, 3, (T, K, B))
    onehot = torch.nn.functional.one_hot(codes % 4, 4).double()
    a = torch.tensor(alphas, dtype=torch.float64).reshape(K, 1, 1)
    unit = all(x == 1.0 for x in alphas)
    noise = torch.randn(K, B, T, N, dtype=torch.float64)
    args = [torch.randn(K, B, N), torch.randn(K, 4, N), torch.randn(K, N), torch.randn(K, N, N)]
    args = [x.double().requires_grad_(True) for x in args]
    assert torch.autograd.gradcheck(
        lambda x0, tab, b, J: StackedRecurrence.apply(x0, tab, b, J, onehot, noise, a, unit, 3), args)


def _train_alike(cfg):
    """`train` with the engine whose noise the batched trainer draws (PyTorch's generator, in order)."""
    return train(cfg, progress=False, engine="bptt" if cfg.alpha == 1.0 else "autograd")


def _assert_same_training(single, member, atol=1e-5):
    for k in ("train_loss", "train_acc_noisy", "test_acc_clean", "fresh_acc_clean", "train_acc_clean"):
        np.testing.assert_allclose(member.history[k], single.history[k], atol=atol, err_msg=k)
    assert member.history["eval_epoch"] == single.history["eval_epoch"]
    assert member.stopped_early == single.stopped_early
    for k, v in single.model.state_dict().items():
        torch.testing.assert_close(member.model.state_dict()[k], v, atol=atol, rtol=0)


def test_members_train_like_train_with_mixed_alpha_and_noise():
    """Each member equals `setdyn.training.train` with the bptt engine for its config (same init, data order
    and noise draws; the native engine draws its noise with its own generator),
    up to float32 summation order."""
    cfgs = [TrainConfig(seed=3, max_epochs=3, eval_every=3, **NO_STOP),
            TrainConfig(seed=4, alpha=0.5, noise_std=0.0, lr=3e-4, max_epochs=3, eval_every=3, **NO_STOP)]
    members = train_batched(cfgs, progress=False)
    for cfg, member in zip(cfgs, members):
        _assert_same_training(_train_alike(cfg), member)


def test_finished_members_freeze_and_waiting_configs_take_their_slot():
    """A member that meets its targets stops (weights frozen at that epoch, like `train`), the others go
    on undisturbed, and with 2 slots for 3 configs the third joins when one finishes."""
    quick = TrainConfig(seed=5, max_epochs=6, eval_every=2, stop_patience=1, stop_train_acc_noisy=0.0,
                        stop_test_acc_clean=0.0, stop_fresh_acc_clean=0.0)  # met at the first evaluation
    long = TrainConfig(seed=6, max_epochs=4, eval_every=2, **NO_STOP)
    third = TrainConfig(seed=7, max_epochs=1, eval_every=1, **NO_STOP)
    finished = []
    res = train_batched([quick, long, third], slots=2, progress=False,
                        on_result=lambda i, r: finished.append(i))
    assert [len(r.history["train_loss"]) for r in res] == [2, 4, 1]
    assert [r.stopped_early for r in res] == [True, False, False]
    assert finished == [0, 2, 1]  # quick stops after epoch 2; third joins, trains 1 epoch, ends before long
    for cfg, member in zip([quick, long, third], res):
        _assert_same_training(_train_alike(cfg), member)


def test_fast_noise_mode_trains_but_draws_other_numbers():
    cfg = TrainConfig(seed=1, max_epochs=2, eval_every=2, **NO_STOP)
    exact, = train_batched([cfg], progress=False)
    fast, = train_batched([cfg], progress=False, exact_noise=False)
    assert np.all(np.isfinite(fast.history["train_loss"]))
    assert fast.history["train_loss"] != exact.history["train_loss"]


def test_incompatible_members_are_refused():
    with pytest.raises(ValueError, match="must share batch_size"):
        train_batched([TrainConfig(seed=0), TrainConfig(seed=1, batch_size=54)], progress=False)
