"""Model shapes and the a = 1 fast path against the general Euler step."""
import numpy as np
import pytest
import torch

from setdyn import paper, task
from setdyn.model import CTRNN, accuracy, float64_copy


def make(alpha=1.0, dtype=torch.float64, seed=1):
    return CTRNN(task.color_encodings(0), alpha=alpha, seed=seed, dtype=dtype)


def test_shapes_and_trainables():
    m = make()
    names = {n for n, _ in m.named_parameters()}
    assert names == set(paper.PARAM_NAMES)
    assert "colors" not in names  # the encodings are fixed
    run = m.run(task.training_set(0).codes[:7])
    assert run.rates.shape == (7, 50, 100) and run.outputs.shape == (7, 50)


def test_reference_initialisation_scales():
    m = make(seed=3)
    # Glorot normal: std = gain * sqrt(2 / (fan_in + fan_out))
    assert m.J.std().item() == pytest.approx(0.75 * (2 / 200) ** 0.5, rel=0.05)
    assert m.B.std().item() == pytest.approx(1.0 * (2 / 200) ** 0.5, rel=0.05)
    assert m.W.std().item() == pytest.approx(1.5 * (2 / 101) ** 0.5, rel=0.3)


def reference_loop(m, codes, noise, x0noise):
    """Plain transcription of the equations, one trial at a time, dense inputs."""
    rng = np.random.default_rng(0)
    out = []
    for c in codes:
        x = m.x0.detach().numpy() + x0noise * rng.standard_normal(100)
        zs = []
        for t in range(len(c)):
            u = np.zeros(100) if c[t] < 0 else m.colors[c[t]].numpy()
            eta = noise * rng.standard_normal(100)
            x = (1 - m.alpha) * x + m.alpha * (m.J.detach().numpy() @ np.tanh(x) + m.B.detach().numpy() @ u
                                               + m.b.detach().numpy() + eta)
            zs.append(m.W.detach().numpy() @ np.tanh(x) + m.b_out.detach().numpy())
        out.append(np.concatenate(zs))
    return np.array(out)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_matches_equations_without_noise(alpha):
    m = make(alpha)
    with torch.no_grad():
        m.b.normal_(0, 0.3)
        m.b_out.fill_(0.2)
    codes = task.test_set(seed=0).codes
    np.testing.assert_allclose(m.run(codes).outputs.detach().numpy(), reference_loop(m, codes, 0, 0), atol=1e-10)


def test_fast_path_equals_general_path_with_noise():
    m = make(1.0)
    codes = task.training_set(0).codes[:50]
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = m.run(codes, noise_std=0.1, x0_noise_std=0.5, generator=g1, fast=True)
    b = m.run(codes, noise_std=0.1, x0_noise_std=0.5, generator=g2, fast=False)
    torch.testing.assert_close(a.rates, b.rates, atol=1e-12, rtol=0)
    # gradients agree too
    ga = torch.autograd.grad(a.outputs.sum(), m.J)[0]
    gb = torch.autograd.grad(b.outputs.sum(), m.J)[0]
    torch.testing.assert_close(ga, gb, atol=1e-10, rtol=0)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_final_outputs_equal_the_full_run(alpha):
    """The lean evaluation pass gives the full run's last outputs (float32, as in training)."""
    m = make(alpha, dtype=torch.float32)
    with torch.no_grad():
        m.b.normal_(0, 0.3)
    codes = task.training_set(1).codes
    torch.testing.assert_close(m.final_outputs(codes, 5), m.run(codes).outputs[:, -5:].detach(),
                               atol=1e-5, rtol=0)
    assert m.final_outputs(codes[:3], 1).shape == (3, 1)
    with pytest.raises(ValueError, match="n_last must be between 1 and the trial length 50, got 0"):
        m.final_outputs(codes, 0)
    with pytest.raises(ValueError, match="stimulus codes must be -1"):
        m.final_outputs(np.full((1, 50), -2), 5)


def test_noise_changes_the_run_and_is_seeded():
    m = make()
    codes = task.test_set(seed=0).codes
    clean = m.run(codes).outputs
    n1 = m.run(codes, noise_std=0.1, generator=torch.Generator().manual_seed(1)).outputs
    n2 = m.run(codes, noise_std=0.1, generator=torch.Generator().manual_seed(1)).outputs
    assert not torch.allclose(clean, n1)
    torch.testing.assert_close(n1, n2)


def test_bad_arguments_refused():
    with pytest.raises(ValueError, match=r"alpha = dt/tau must be in \(0, 1\]"):
        make(alpha=1.5)
    with pytest.raises(ValueError, match="3 x input_dim"):
        CTRNN(np.zeros((4, 100)))
    with pytest.raises(ValueError, match="stimulus codes must be -1"):
        make().run(np.full((1, 50), 3))


def test_accuracy_thresholds():
    z = torch.tensor([[0.9], [0.4], [-0.6], [-0.2], [0.7]])
    t = torch.tensor([1.0, 1.0, -1.0, -1.0, -1.0])
    assert accuracy(z, t) == pytest.approx(2 / 5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float64_copy_leaves_the_caller_s_model_alone(dtype):
    m = make(dtype=dtype, seed=2)
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    c = float64_copy(m)
    assert c is not m and not c.training and m.training
    assert all(v.dtype == dtype for v in m.state_dict().values())  # the caller's model keeps its dtype
    for k, v in c.state_dict().items():
        assert v.dtype == torch.float64
        assert torch.equal(v, before[k].double()), k  # float32 -> float64 is exact
        assert torch.equal(m.state_dict()[k], before[k]), k
    assert c.alpha == m.alpha
    with torch.no_grad():
        c.J.add_(1.0)  # the copy shares no memory with the original
    assert torch.equal(m.J, before["J"])
