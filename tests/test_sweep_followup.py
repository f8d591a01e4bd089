"""The sweeps committed to the repository: the follow-up paper's grid, trained row by row and committed as
it goes (sweeps/followup), and the 31 other seeds of the paper's recipe (sweeps/paper_seeds).

The sweep spans sessions: `python -m setdyn sweep --preset followup --out sweeps/followup --commit-rows 600`
(`make followup`) commits each finished network's row and weights, and the same command on a fresh clone
resumes. These tests check that what is committed is what a resume needs, and that it is sound.
"""
import json

import numpy as np
import pytest
import torch

from setdyn import weights
from setdyn.analysis import taxonomy
from setdyn.book.build import ROOT
from setdyn.sweep import grid
from setdyn.training import TrainConfig, evaluate_all

FOLLOWUP = ROOT / "sweeps" / "followup"


def committed_rows() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((FOLLOWUP / "rows").glob("*.json"))]


def followup_ids() -> set[str]:
    pre = grid.PRESETS["followup"]
    cfgs = grid.configs(grid.parse_seeds(pre.seeds), pre.alphas, pre.noises, activations=pre.activations)
    return {grid.net_id(c) for c in cfgs}


def test_the_followup_preset_is_the_papers_grid():
    pre = grid.PRESETS["followup"]
    assert (pre.alphas, pre.noises, pre.activations) == ((0.1, 0.5, 1.0), (0.0, 0.05, 0.1), ("tanh", "relu"))
    assert len(followup_ids()) == pre.size == 90


def test_the_paper_setting_preset_completes_256_seeds_of_the_papers_setting():
    """make paper-setting adds seeds the other sweeps do not have, all at the paper's setting, so that with the
    31 seeds of sweeps/paper_seeds and the follow-up grid's paper cell the setting has at least 256 networks."""
    pre = grid.PRESETS["paper-setting"]
    assert (pre.alphas, pre.noises, pre.activations) == ((grid.PAPER_CELL[0],), (grid.PAPER_CELL[1],), ("tanh",))
    seeds = set(grid.parse_seeds(pre.seeds))
    paper_seeds = {json.loads(p.read_text())["seed"] for p in (ROOT / "sweeps" / "paper_seeds" / "rows").glob("*.json")}
    followup_seeds = set(grid.parse_seeds(grid.PRESETS["followup"].seeds))
    assert not seeds & paper_seeds and not seeds & followup_seeds
    assert len(seeds | paper_seeds | followup_seeds) >= 256


def test_committed_rows_belong_to_the_grid_and_have_their_weights():
    rows = committed_rows()
    assert rows, f"no committed rows in {FOLLOWUP / 'rows'}"
    ids = followup_ids()
    for r in rows:
        cfg = TrainConfig.from_dict(json.loads(r["config"]))
        assert grid.net_id(cfg) == r["id"] and r["id"] in ids, r["id"]
        assert (cfg.alpha, cfg.noise_std, cfg.activation) == (r["alpha"], r["noise_std"], r["activation"])
        meta = json.loads((FOLLOWUP / "nets" / f"{r['id']}.json").read_text())
        assert TrainConfig.from_dict(meta["config"]) == cfg
        assert (FOLLOWUP / "nets" / f"{r['id']}.safetensors").is_file()


def test_each_committed_label_follows_from_its_recorded_evidence():
    for r in committed_rows():
        assert r.get("taxon") in taxonomy.LABELS, (r["id"], r.get("taxon_error"))
        ev = taxonomy.TaxonomyEvidence.from_dict(json.loads(r["taxon_evidence"]))
        assert taxonomy.label_from_evidence(ev) == (r["taxon"], r["taxon_reason"]), r["id"]


def test_a_committed_network_has_its_recorded_accuracy():
    r = committed_rows()[0]
    model = weights.load(FOLLOWUP / "nets" / f"{r['id']}.safetensors", dtype=torch.float32)
    assert model.activation_name == r["activation"] and model.alpha == pytest.approx(r["alpha"])
    acc = evaluate_all(model, TrainConfig.from_dict(json.loads(r["config"])))
    # the same weights on another CPU may round one borderline trial the other way
    for key, trials in (("test_acc_clean", 27), ("fresh_acc_clean", 540)):
        assert abs(acc[key] - r[key]) <= 1 / trials + 1e-9, (key, acc[key], r[key])


def test_evidence_round_trips_through_json():
    rng = np.random.default_rng(0)
    hexagon = np.c_[np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3), 0.01 * rng.standard_normal(6)]
    ev = taxonomy.TaxonomyEvidence(free_run="fixed point", period_steps=None, n_fixed_points=7, n_stable=6,
                                   stable=taxonomy.point_geometry(hexagon),
                                   slow=taxonomy.slow_geometry(hexagon, 1.0), state_scale=2.0)
    back = taxonomy.TaxonomyEvidence.from_dict(json.loads(json.dumps(ev.to_dict())))
    assert back == ev
    assert taxonomy.label_from_evidence(back)[0] == "hexagon"


def test_paper_seeds_are_the_emergence_runs_with_their_labels():
    """sweeps/paper_seeds holds the final networks of chapter 8's seeds 1-31 (the shipped config, only the
    seed changed); each row's label is the one the shipped seed records give that run."""
    from setdyn.analysis.emergence_seeds import load_records

    folder = ROOT / "sweeps" / "paper_seeds"
    rows = {r["seed"]: r for r in (json.loads(p.read_text()) for p in (folder / "rows").glob("*.json"))}
    records = {r["seed"]: r for r in load_records()}
    assert sorted(rows) == sorted(s for s in records if s != 0) == list(range(1, 32))
    shipped = TrainConfig.from_dict(weights.load_meta()["config"])
    for seed, r in rows.items():
        cfg = TrainConfig.from_dict(json.loads(r["config"]))
        assert cfg.to_dict() == {**shipped.to_dict(), "seed": seed}
        assert r["taxon"] == records[seed]["taxon"], seed
        assert (folder / "nets" / f"{r['id']}.safetensors").is_file()
