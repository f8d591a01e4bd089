"""The map of solutions: Dynamical Similarity Analysis (DSA) between networks, embedded with MDS.

The follow-up's recipe (arXiv 2310.07908 v2): noise-free rates of every
network on one shared trial set, each network's rates reduced to its own
first 10 principal components; DSA (Ostrow et al. 2023, package
``dsa-metric``, import name ``DSA``) with n_delays = 10, delay_interval = 5,
rank = 25, iters = 1000, lr = 1e-2 on the CPU, all pairs by ``fit_score()``;
then scikit-learn's metric MDS on the precomputed distances with
random_state = 42. `knn_agreement` checks that the map means something: how
often a network's nearest neighbours (by DSA distance) share its label,
against the same count with the labels shuffled.

Cost: DSA fits one delay-embedded DMD per network (~N) and one Procrustes
optimisation of `DSA_PARAMS["iters"]` steps per pair (~N^2 / 2);
``benchmarks/dsa_cost.py`` measures both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from .. import paper, task
from ..model import CTRNN

#: The follow-up's DSA settings (delays in steps of dt = 10 ms: 10 delays 50 ms apart).
DSA_PARAMS: dict[str, Any] = {"n_delays": 10, "delay_interval": 5, "rank": 25, "iters": 1000, "lr": 1e-2}
#: DSA's comparison. dsa-metric 2.x defaults to "wasserstein"; the original DSA (and the follow-up's code,
#: which passes none) used its version's default, the angular Procrustes distance.
SCORE_METHOD = "angular"
#: Principal components kept per network.
N_PCS = 10
#: Onset draws of the shared trial set: 27 combinations x 19 draws = 513 trials (the follow-up: 500).
MAP_DRAWS = 19
#: MDS seed of the follow-up.
MDS_SEED = 42


def map_trials(draws: int = MAP_DRAWS) -> task.TrialSet:
    """The shared trial set every network is run on: 27 combinations x `draws` fresh onset draws."""
    return task.fresh_set(paper.FRESH_ONSET_SEED, draws)


@torch.no_grad()
def pc_rates(model: CTRNN, trials: task.TrialSet, n_pcs: int = N_PCS) -> np.ndarray:
    """Noise-free rates of `model` on `trials` projected on their own first `n_pcs` PCs:
    (trials, T, n_pcs), T = 50 steps of 10 ms."""
    rates = model.double().run(trials.codes).rates.numpy() if model.J.dtype != torch.float64 \
        else model.run(trials.codes).rates.numpy()
    flat = rates.reshape(-1, rates.shape[-1])
    flat = flat - flat.mean(0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    return (flat @ vt[:n_pcs].T).reshape(rates.shape[0], rates.shape[1], -1)


def dsa_distances(datasets: Sequence[np.ndarray], score_method: str = SCORE_METHOD, n_jobs: int = 1,
                  **params: Any) -> np.ndarray:
    """All-pairs DSA distances (N x N, symmetric, zero diagonal) between datasets (each trials x T x PCs),
    with `DSA_PARAMS` (overridden by `params`)."""
    from DSA import DSA

    p = {**DSA_PARAMS, **params}
    dsa = DSA(list(datasets), score_method=score_method, n_jobs=n_jobs, device="cpu", verbose=False, **p)
    d = np.asarray(dsa.fit_score(), dtype=float)
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    return d


def embed(distances: np.ndarray, n_components: int = 2, seed: int = MDS_SEED) -> np.ndarray:
    """Metric MDS of a precomputed distance matrix (N x N) -> N x n_components."""
    from sklearn.manifold import MDS

    # the follow-up's MDS(dissimilarity="precomputed", random_state=42) in scikit-learn 1.9's words: the
    # `dissimilarity` argument is now `metric`, and init="random" keeps the old default start
    mds = MDS(n_components=n_components, metric="precomputed", init="random", random_state=seed)
    return mds.fit_transform(np.asarray(distances, float))


@dataclass
class KnnAgreement:
    """How often the k nearest neighbours (by distance) share a network's label, against chance."""

    k: int
    observed: float  #: fraction of (network, neighbour) pairs with the same label
    chance_mean: float  #: the same with labels permuted, averaged over `n_permutations`
    chance_std: float
    p_value: float  #: (1 + permutations at least as high) / (1 + n_permutations)
    n_permutations: int


def _agreement(nn: np.ndarray, labels: np.ndarray, only: str | None = None) -> float:
    same = labels[nn] == labels[:, None]
    return float(same.mean() if only is None else same[labels == only].mean())


def knn_agreement(distances: np.ndarray, labels: Sequence[str], k: int = 1, n_permutations: int = 1000,
                  seed: int = 0, only: str | None = None, strata: Sequence[Any] | None = None) -> KnnAgreement:
    """k-nearest-neighbour label agreement of a distance matrix (N x N), with a permutation test.
    `only`: count only the networks with this label (does that mechanism occupy a region of its own?).
    `strata`: one value per network (e.g. its alpha); labels are then shuffled only within each stratum, so
    that chance already includes whatever the strata alone explain (a map that groups networks by alpha,
    with labels that follow alpha, agrees with the labels without seeing a mechanism)."""
    d = np.asarray(distances, float).copy()
    labels = np.asarray(labels)
    if d.shape != (len(labels), len(labels)):
        raise ValueError(f"distances must be {len(labels)} x {len(labels)} (one row per label), got {d.shape}")
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be between 1 and {len(labels) - 1}, got {k}")
    if only is not None and np.sum(labels == only) < 2:
        raise ValueError(f"only={only!r}: needs at least 2 networks with that label, "
                         f"found {int(np.sum(labels == only))}")
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    obs = _agreement(nn, labels, only)
    rng = np.random.default_rng(seed)
    groups = [np.arange(len(labels))] if strata is None else \
        [np.flatnonzero(np.asarray(strata, dtype=object) == v) for v in dict.fromkeys(strata)]

    def shuffled() -> np.ndarray:
        out = labels.copy()
        for g in groups:
            out[g] = labels[rng.permutation(g)]
        return out

    perm = np.array([_agreement(nn, shuffled(), only) for _ in range(n_permutations)])
    return KnnAgreement(k, obs, float(perm.mean()), float(perm.std()),
                        float((1 + np.sum(perm >= obs)) / (1 + n_permutations)), n_permutations)


__all__ = ["DSA_PARAMS", "KnnAgreement", "MAP_DRAWS", "N_PCS", "SCORE_METHOD", "dsa_distances", "embed",
           "knn_agreement", "map_trials", "pc_rates"]
