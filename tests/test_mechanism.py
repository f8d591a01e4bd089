"""The mechanism classifier: fixed-point finder, clusters, and labels of known networks."""
import numpy as np
import pytest
import torch

from setdyn import weights
from setdyn.numerics import wrap_deg
from setdyn.analysis.mechanism import classify, find_fixed_points, state_clusters
from setdyn.model import CTRNN
from setdyn.training import TrainConfig, build_model


def bistable_units(n: int = 3, gain: float = 2.0) -> CTRNN:
    """x = gain tanh(x) unit by unit: per unit 0 (slope 2, unstable) and +-1.915 (slope 0.17, stable)."""
    m = CTRNN(np.eye(3, 4), n_units=n, dtype=torch.float64)
    with torch.no_grad():
        m.J.copy_(gain * torch.eye(n, dtype=torch.float64))
        m.b.zero_()
    return m


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_fixed_point_finder_finds_all_27_and_classifies_them(alpha):
    model = bistable_units()
    model.alpha = alpha
    starts = 2.5 * np.random.default_rng(0).standard_normal((600, 3))
    fps = find_fixed_points(model, starts=starts)
    kinds = [f.kind for f in fps]
    assert len(fps) == 27
    assert kinds.count("stable") == 8 and kinds.count("unstable") == 1 and kinds.count("saddle") == 18
    for f in fps:
        assert f.residual < 1e-9
        assert np.all((np.abs(f.x) < 1e-9) | (np.abs(np.abs(f.x) - 1.9150) < 1e-3))
        assert f.n_unstable == int(np.sum(np.abs(f.x) < 1e-9))


def test_state_clusters_counts_separated_blobs():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0, 0], [5, 0, 0], [0, 5, 0]], float)
    pts = np.concatenate([c + 0.05 * rng.standard_normal((40, 3)) for c in centres])
    assert state_clusters(pts) == 3
    assert state_clusters(pts[:40]) == 1


def test_shipped_network_is_a_phase_oscillator():
    model = weights.load(weights.PRETRAINED)
    meta = weights.load_meta(weights.PRETRAINED)
    rep = classify(model, TrainConfig.from_dict(meta["config"]), accuracy=meta["accuracy"])
    e = rep.evidence
    assert rep.label == "phase-oscillator", e["reason"]
    assert e["free_run"] == "limit cycle"
    assert e["period_ms"] == pytest.approx(meta["free_run"]["period_ms"], rel=1e-3)  # 243.8 ms, recorded at selection
    assert e["z3_phase_agreement_27"] == 27 and e["z3_decision_agreement_27"] == 27
    assert sorted(e["z3_steps"]) == ["0", "1", "2"]
    assert e["n_end_clusters"] == 3 and e["end_cluster_space"] == "phase"
    kicks = np.array([e["kick_deg"][c] for c in ("green", "purple", "red")]) - e["common_offset_deg"]
    assert np.allclose(np.sort(np.abs(wrap_deg(kicks))), [0, 120, 120], atol=30)
    row = rep.row()
    assert row["label"] == "phase-oscillator" and isinstance(row["evidence"], str)


def test_untrained_network_is_other_because_it_did_not_learn():
    model = build_model(TrainConfig(seed=0), dtype=torch.float64)
    rep = classify(model, TrainConfig(seed=0))
    assert rep.label == "other"
    assert rep.evidence["learned"] is False and "did not learn" in rep.evidence["reason"]
    assert rep.evidence["n_fixed_points"] >= 1  # the evidence is filled in even so


def test_labelling_rule_from_evidence():
    from setdyn.analysis.mechanism import label_from_evidence, relabel
    import json

    base = {"learned": True, "accuracy": {"fresh_acc_clean": 1.0}}
    osc = {**base, "free_run": "limit cycle", "z3_explains": True, "z3_decision_agreement_27": 26}
    assert label_from_evidence(osc)[0] == "phase-oscillator" and "errs on 1" in label_from_evidence(osc)[1]
    assert label_from_evidence({**osc, "z3_explains": False})[0] == "other"
    fp = {**base, "free_run": "fixed point", "n_stable_fixed_points": 3, "basin_purity": 0.99,
          "fraction_ending_on_fixed_points": 1.0}
    assert label_from_evidence(fp)[0] == "fixed-point"
    mixed = label_from_evidence({**fp, "fraction_ending_on_fixed_points": 0.6})
    assert mixed[0] == "other" and mixed[1].startswith("mixed")
    assert label_from_evidence({**fp, "learned": False})[0] == "other"
    # relabel recomputes z3_explains from the phase agreement alone (older rows also required decisions)
    row = {"label": "other", "evidence": json.dumps({**osc, "z3_explains": False, "z3_steps": "120",
                                                     "z3_phase_agreement_27": 27})}
    assert relabel(row)["label"] == "phase-oscillator"
