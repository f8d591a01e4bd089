"""The map of solutions' data: built from sweep folders (python -m setdyn map), shipped, and read by chapter 7."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from setdyn import solution_map as sm
from setdyn import weights
from setdyn.analysis import dsa_map
from setdyn.book.build import ROOT
from setdyn.fidelity import load_reference_if_present
from setdyn.viz.solution_map import decode_detail, load_map


def test_stratified_spreads_over_labels():
    labels = ["a"] * 6 + ["b"] * 3 + ["c"]
    picked = sm.stratified(labels, 5)
    assert sorted({labels[i] for i in picked}) == ["a", "b", "c"]
    assert len(picked) == len(set(picked)) == 5
    assert sm.stratified(labels, 50) == list(range(10))


def _data(knn_p: float, taxa: list[str], free_runs: list[str]) -> dict:
    nets = [{"source": "book" if i == 0 else "paper-seeds", "taxon": t, "free_run": f}
            for i, (t, f) in enumerate(zip(taxa, free_runs))]
    return {"networks": nets, "labels": ["not-learned", "phase-code", "unlabelled"],
            "knn": {"observed": 0.6, "chance_mean": 0.3, "p_value": knn_p, "n_permutations": 1000},
            "method": {"score_method": "wasserstein", "dsa_seconds": 0.01},
            "angular_check": {"ids": ["a", "b", "c"], "pairs": 3, "spearman": 0.2, "seconds_per_pair": 4.0}}


def test_summary_words_follow_the_numbers():
    s = sm.summary(_data(0.001, ["phase-code", "not-learned", "not-learned", "unlabelled"],
                         ["limit cycle", "limit cycle", "fixed point", "limit cycle"]))
    assert s["map_knn_verdict"] == "the map groups networks by mechanism"
    assert (s["map_n_not_learned"], s["map_not_learned_cycle"]) == (2, "1")
    assert s["map_largest"] == "not-learned" and "not the largest" in s["map_unlabelled_verdict"]
    assert s["map_book_label"] == "phase-code"
    assert "differently" in s["map_angular_verdict"]
    s = sm.summary(_data(0.2, ["phase-code", "unlabelled", "unlabelled", "not-learned"],
                         ["limit cycle", "fixed point", "fixed point", "limit cycle"]))
    assert "does not group" in s["map_knn_verdict"]
    assert "only weakly" in sm.summary(_data(0.05, ["phase-code"] * 3, ["limit cycle"] * 3))["map_knn_verdict"]
    assert s["map_unlabelled_verdict"] == "“unlabelled” is the largest class"
    assert s["map_not_learned_cycle"] == "all"


def test_build_from_a_sweep_folder(tmp_path):
    """Two networks of a sweep folder and the book's: coordinates, labels from the rows, a detail that
    decodes to the network's own traces, distances that are a metric's (symmetric, zero diagonal)."""
    src = ROOT / "sweeps" / "paper_seeds"
    rows = sorted((src / "rows").glob("*.json"))[:2]
    (tmp_path / "rows").mkdir()
    (tmp_path / "nets").mkdir()
    for row in rows:
        shutil.copy(row, tmp_path / "rows")
        for ext in (".safetensors", ".json"):
            shutil.copy(src / "nets" / (row.stem + ext), tmp_path / "nets")
    data = sm.build({tmp_path: "paper-seeds"}, progress=False)
    nets = data["networks"]
    assert [n["source"] for n in nets] == ["paper-seeds", "paper-seeds", "book"]
    for n, row in zip(nets, rows):
        assert n["taxon"] == json.loads(row.read_text())["taxon"]
    d = np.array(data["distances"])
    assert d.shape == (3, 3) and np.allclose(d, d.T) and np.all(np.diag(d) == 0) and np.all(d[~np.eye(3, dtype=bool)] > 0)
    T = len(data["t_ms"])
    assert data["t_ms"][-1] == 500 and T == 500 // sm.DETAIL_STEP_MS
    got = decode_detail(nets[-1]["detail"], 27, T)
    want = np.stack(sm.detail(weights.load()))
    scale = np.abs(want).max(axis=(1, 2), keepdims=True)
    assert np.all(np.abs(got - want) <= scale / 127 + 1e-9)
    assert data["method"]["sweeps"] == {str(tmp_path): "paper-seeds"}  # outside the repository: as given


def test_shipped_map_names_its_sweeps_inside_the_repository():
    """The shipped map records where its networks came from relative to the repository, not one machine's paths."""
    assert sm._repo_path(ROOT / "sweeps" / "followup") == "sweeps/followup"
    for folder in load_map()["method"]["sweeps"]:
        assert not Path(folder).is_absolute() and (ROOT / folder / "rows").is_dir(), folder


def test_bad_input_is_refused(tmp_path, capsys):
    from setdyn.cli import main

    assert main(["map", "--sweeps", str(tmp_path), "--out", str(tmp_path / "m.json")]) == 2
    assert "is not a sweep folder" in capsys.readouterr().err
    assert main(["map", "--check-angular", "-1", "--out", str(tmp_path / "m.json")]) == 2
    assert "--check-angular" in capsys.readouterr().err
    assert main(["map", "--reference", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.json")]) == 2
    assert "--reference" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


# ------------------------------------------------------------------------------------------ the shipped map
def shipped() -> dict:
    return load_map()


def test_shipped_map_holds_every_committed_network_with_its_label():
    data = shipped()
    ids = [n["id"] for n in data["networks"]]
    assert len(set(ids)) == len(ids), "map ids are not unique"
    for folder, source in sm.SWEEPS.items():
        by_id = {n["row_id"]: n for n in data["networks"] if n["source"] == source}
        committed = {json.loads(p.read_text())["id"]: json.loads(p.read_text())
                     for p in (ROOT / folder / "rows").glob("*.json")}
        mapped = set(by_id)
        assert mapped <= set(committed), f"{source}: networks on the map without a committed row"
        if source == "paper-seeds":
            assert mapped == set(committed)
        for i in mapped:
            assert by_id[i]["taxon"] == committed[i]["taxon"], i
    assert [n["taxon"] for n in data["networks"] if n["source"] == "book"] == ["phase-code"]
    # the paper's own network, when the map was made with the reference code's files, is the paper's phase code
    assert [n["taxon"] for n in data["networks"] if n["source"] == "paper"] in ([], ["phase-code"])


def test_shipped_map_agreement_follows_from_its_distances():
    data = shipped()
    d = np.array(data["distances"])
    labels = [n["taxon"] for n in data["networks"]]
    knn = dsa_map.knn_agreement(d, labels, k=data["knn"]["k"], n_permutations=data["knn"]["n_permutations"])
    assert knn.observed == pytest.approx(data["knn"]["observed"])
    assert knn.p_value == pytest.approx(data["knn"]["p_value"])


def test_shipped_distances_are_recomputed_here():
    """DSA's wasserstein distance of three shipped networks, recomputed on this machine, is the shipped one."""
    data = shipped()
    nets = data["networks"]
    picks = [0, len(nets) // 2, len(nets) - 1]
    paper = [i for i, n in enumerate(nets) if n["source"] == "paper"]
    reference = load_reference_if_present() if paper else None
    if reference is not None:
        picks[1] = paper[0]  # the paper's own network too, where its files are at hand
    models = []
    for i in picks:
        n = nets[i]
        if n["source"] == "book":
            models.append(weights.load())
        elif n["source"] == "paper":
            models.append(reference.model)
        else:
            folder = next(f for f, s in sm.SWEEPS.items() if s == n["source"])
            models.append(weights.load(ROOT / folder / "nets" / f"{n['row_id']}.safetensors"))
    trials = dsa_map.map_trials()
    d = dsa_map.dsa_distances([dsa_map.pc_rates(m, trials) for m in models], score_method=data["method"]["score_method"])
    want = np.array(data["distances"])[np.ix_(picks, picks)]
    assert np.allclose(d, want, rtol=1e-3, atol=1e-6)
