"""The DSA map: the shared trials, per-network PCs, DSA distances (a short run), MDS, and the k-NN check."""
import numpy as np
import pytest
import torch

from setdyn import weights
from setdyn.analysis import dsa_map
from setdyn.training import TrainConfig, build_model


def test_knn_agreement_against_chance():
    # two well separated groups of points: every nearest neighbour shares the label
    rng = np.random.default_rng(0)
    pts = np.r_[rng.normal(0, 0.1, (10, 2)), rng.normal(5, 0.1, (10, 2))]
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    labels = ["a"] * 10 + ["b"] * 10
    k = dsa_map.knn_agreement(d, labels, k=3, n_permutations=200)
    assert k.observed == 1.0 and k.chance_mean < 0.6 and k.p_value < 0.01
    # the same distances with labels unrelated to them: agreement at chance level
    mixed = dsa_map.knn_agreement(d, ["a", "b"] * 10, k=3, n_permutations=200)
    assert mixed.p_value > 0.05
    with pytest.raises(ValueError, match="k must be"):
        dsa_map.knn_agreement(d, labels, k=20)


def test_knn_agreement_of_one_label():
    """`only`: does one label occupy a region of its own? Group "a" together, "b" and "c" mixed."""
    rng = np.random.default_rng(1)
    pts = np.r_[rng.normal(0, 0.1, (6, 2)), rng.normal(5, 1.0, (14, 2))]
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    labels = ["a"] * 6 + ["b", "c"] * 7
    a = dsa_map.knn_agreement(d, labels, only="a", n_permutations=300)
    assert a.observed == 1.0 and a.chance_mean < 0.5 and a.p_value < 0.01
    b = dsa_map.knn_agreement(d, labels, only="b", n_permutations=300)
    assert b.p_value > 0.05
    with pytest.raises(ValueError, match="only='z'"):
        dsa_map.knn_agreement(d, labels, only="z")


def test_pc_rates_and_a_short_dsa_run():
    trials = dsa_map.map_trials(1)
    nets = [weights.load(), weights.load(),
            build_model(TrainConfig(seed=3, activation="relu"), dtype=torch.float64)]
    data = [dsa_map.pc_rates(m, trials) for m in nets]
    assert data[0].shape == (27, 50, dsa_map.N_PCS)
    # PCs are uncorrelated and sorted by variance
    flat = data[0].reshape(-1, dsa_map.N_PCS)
    cov = np.cov(flat.T)
    assert np.allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-8) and np.all(np.diff(np.diag(cov)) <= 1e-12)
    d = dsa_map.dsa_distances(data, iters=50)
    assert d.shape == (3, 3) and np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    assert d[0, 1] < 0.2 * d[0, 2]  # a network is (nearly) at distance 0 from itself, far from a random relu net
    xy = dsa_map.embed(d)
    assert xy.shape == (3, 2)


def test_knn_agreement_within_strata():
    """Labels that only follow the strata (alpha, say): the plain test is fooled, the within-strata one is not;
    labels that split each stratum by geometry pass both."""
    rng = np.random.default_rng(2)
    pts = np.r_[rng.normal(0, 0.1, (10, 2)), rng.normal(5, 0.1, (10, 2))]
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    alpha = [1.0] * 10 + [0.1] * 10
    labels = ["code"] * 10 + ["transient"] * 10  # exactly the strata
    assert dsa_map.knn_agreement(d, labels, n_permutations=300).p_value < 0.01
    within = dsa_map.knn_agreement(d, labels, n_permutations=300, strata=alpha)
    assert within.chance_mean == 1.0 and within.p_value == 1.0
    # inside each stratum, two tight sub-clusters carry two labels: a real grouping beyond alpha
    pts = np.r_[rng.normal(0, 0.1, (5, 2)), rng.normal(1, 0.1, (5, 2)), rng.normal(5, 0.1, (5, 2)),
                rng.normal(6, 0.1, (5, 2))]
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    labels = ["a"] * 5 + ["b"] * 5 + ["a"] * 5 + ["b"] * 5
    within = dsa_map.knn_agreement(d, labels, n_permutations=300, strata=alpha)
    assert within.observed == 1.0 and within.p_value < 0.01