"""setdyn.solution_space (chapter 7's numbers) on constructed maps, and on the shipped one."""
import numpy as np
import pytest

from setdyn.analysis.taxonomy import LABELS
from setdyn import solution_space as ss
from setdyn.sweep.grid import PRESETS, parse_seeds
from setdyn.sweep.stats import fraction_ci
from setdyn.viz import solution_space as figures
from setdyn.viz.solution_map import load_map


def _net(i, source, taxon, alpha=1.0, noise=0.1, activation="tanh"):
    return {"id": f"{source}/{i}", "row_id": f"config-{i}", "source": source, "seed": i, "alpha": alpha, "noise_std": noise,
            "activation": activation, "taxon": taxon, "taxon_reason": "", "fresh_acc_clean": 1.0,
            "period_ms": None, "free_run": "limit cycle", "x": 0.0, "y": 0.0}


def _clustered(taxa, sources, settings=None, spread=0.01, seed=0):
    """A map whose DSA distances are small within a label and large across labels."""
    rng = np.random.default_rng(seed)
    kinds = sorted(set(taxa))
    centre = {k: 10.0 * i for i, k in enumerate(kinds)}
    pos = np.array([centre[t] + spread * rng.standard_normal() for t in taxa])
    dist = np.abs(pos[:, None] - pos[None])
    settings = settings or [(1.0, 0.1, "tanh")] * len(taxa)
    nets = [_net(i, s, t, *st) for i, (s, t, st) in enumerate(zip(sources, taxa, settings))]
    return {"networks": nets, "distances": dist.tolist()}


def test_cells_count_only_sampled_networks_with_wilson_intervals():
    taxa = ["phase-code"] * 3 + ["not-learned"] * 2 + ["phase-code", "phase-code", "transient"]
    sources = ["paper-seeds"] * 5 + ["book", "paper", "followup"]
    settings = [(1.0, 0.1, "tanh")] * 7 + [(0.1, 0.0, "relu")]
    df = ss.table(_clustered(taxa, sources, settings))
    c = ss.cells(df)
    assert list(c["activation"]) == ["tanh", "relu"]  # tanh first
    paper = c[c["paper"]].iloc[0]
    assert (paper["n"], paper["phase-code"], paper["not-learned"]) == (5, 3, 2)  # not the book's, not the paper's
    assert (paper["lo"], paper["hi"]) == pytest.approx(fraction_ci(3, 5))
    relu = c[c["activation"] == "relu"].iloc[0]
    assert (relu["n"], relu["transient"], relu["phase_frac"], bool(relu["paper"])) == (1, 1, 0.0, False)


def test_medoid_and_examples():
    d = np.array([[0, 1, 5, 9], [1, 0, 4, 8], [5, 4, 0, 4], [9, 8, 4, 0]], float)
    assert ss.medoid(d, [0, 1, 2, 3]) in (1, 2)  # sums 15, 13, 13, 21: the first of the ties
    assert ss.medoid(d, [0, 1, 2, 3]) == 1
    assert ss.medoid(d, [3]) == 3
    data = _clustered(["phase-code", "phase-code", "phase-code", "transient"], ["paper", "followup", "book", "followup"])
    picks = ss.examples(data)
    assert set(picks) == {"phase-code", "transient"} and picks["transient"] == 3
    assert picks["phase-code"] in (1, 2)  # never the paper's own network (its weights do not ship)


def test_needed_for_reaches_the_target_half_width():
    n = ss.needed_for(0.45)
    lo, hi = fraction_ci(round(0.45 * n), n)
    assert (hi - lo) / 2 <= ss.TARGET_HALF_WIDTH
    lo, hi = fraction_ci(round(0.45 * (n - 8)), n - 8)
    assert (hi - lo) / 2 > ss.TARGET_HALF_WIDTH
    assert 200 < n < 300  # about 1.96^2 p (1 - p) / 0.06^2 = 264


def test_the_paper_setting_preset_reaches_the_target_at_any_fraction():
    """The seeds on the map at the paper's setting from other sweeps, with every seed of `make paper-setting`,
    count at least the networks a ±6-point interval needs where it is widest (a fraction of 1/2)."""
    nets = ss.sampled(ss.table(load_map()))
    others = nets[ss.at_paper_setting(nets) & (nets["source"] != "paper-setting")]
    seeds = set(others["seed"].astype(int)) | set(parse_seeds(PRESETS["paper-setting"].seeds))
    assert len(seeds) == len(others) + PRESETS["paper-setting"].size  # no preset seed repeats another sweep's
    assert len(seeds) >= ss.needed_for(0.5) >= ss.needed_for(0.3)


def test_followup_words_follow_the_numbers():
    # a grid of 16 learned networks, 2 phase codes, which cluster: a minority, and a region of their own
    taxa = ["phase-code"] * 2 + ["transient"] * 8 + ["line-attractor"] * 6 + ["not-learned"] * 3 + ["phase-code"] * 4
    sources = ["followup"] * 19 + ["paper-seeds"] * 4
    g = ss.followup(_clustered(taxa, sources))
    assert (g["space_fu_n"], g["space_fu_learned"], g["space_fu_k"]) == (19, 16, 2)
    assert g["space_fu_hi"] < 50 and g["space_fu_minority_verdict"] == "a minority here too"
    assert g["space_fu_region_pct"] == 100 and g["space_fu_region_p"] < 0.01
    assert g["space_fu_region_verdict"].startswith("here too")
    assert g["space_fu_found_text"] == "phase-code (6), line-attractor (6)"
    assert g["space_fu_missing_text"] == "hexagon, lattice, star"
    assert g["space_fu_extra_text"] == "not-learned (3), transient (8)"
    # phase codes scattered at random among the others: no region of their own
    rng = np.random.default_rng(1)
    data = _clustered(taxa, sources)
    pos = rng.uniform(0, 100, len(taxa))
    data["distances"] = np.abs(pos[:, None] - pos[None]).tolist()
    assert ss.followup(data)["space_fu_region_verdict"].startswith("not clearly here")
    # most learned grid networks are phase codes: the words turn
    g = ss.followup(_clustered(["phase-code"] * 12 + ["transient"], ["followup"] * 13))
    assert g["space_fu_lo"] > 50 and g["space_fu_minority_verdict"].startswith("a majority")


def test_paper_setting_and_the_papers_network():
    taxa = ["phase-code"] * 4 + ["not-learned"] * 4 + ["phase-code", "phase-code"]
    sources = ["paper-seeds"] * 8 + ["paper", "book"]
    data = _clustered(taxa, sources)
    g = ss.paper_setting(data)
    assert (g["space_paper_n"], g["space_paper_k"], g["space_paper_pct"]) == (8, 4, 50)
    assert g["space_paper_codes_nn_text"] == "every one of its 4 phase codes"
    assert g["space_paper_labels_text"] == "4 phase-code, 4 not-learned"
    assert g["space_paper_on_map"] and g["space_paper_network_label"] == "phase-code"
    assert 1 <= g["space_paper_book_rank"] <= 5  # among the phase codes, nearer than every other label
    assert "the book’s network" in " ".join(g["space_paper_network_nearest"]) or g["space_paper_book_rank"] > 3
    assert g["space_paper_needed"] == ss.needed_for(0.5)
    assert g["space_other_max_n"] == 0  # every network here is at the paper's setting
    g = ss.paper_setting(_clustered(taxa[:8], sources[:8]))
    assert not g["space_paper_on_map"] and "not on this map" in g["space_paper_network_text"]


def test_figures_cover_every_setting_of_the_grid():
    """Both per-setting figures lay out all 9 settings, whatever has been trained; a setting not trained yet
    is marked, not dropped."""
    taxa = ["phase-code", "transient", "not-learned"]
    data = _clustered(taxa, ["paper-seeds", "followup", "followup"],
                      [(1.0, 0.1, "tanh"), (0.1, 0.0, "tanh"), (0.5, 0.05, "tanh")])
    c = ss.cells(ss.table(data))
    fig = figures.figure_cell_labels(c)
    bars = [t for t in fig.data if t.type == "bar"]
    assert {t.name for t in bars} == set(taxa)
    assert sum(sum(t.x) for t in bars) == 3 * 100  # each trained setting's shares add up to 100%
    assert sum(c[0] for t in bars for c in t.customdata) == 3  # and its counts to its networks
    crosses = [t for t in fig.data if t.type == "scatter" and t.mode == "markers"]
    assert sum(len(t.y) for t in crosses) == 2 * 9 - 3  # every empty setting of tanh and relu
    assert len(fig.layout.yaxis.categoryarray) == 9
    phase = figures.figure_cell_phase(c)
    assert len(phase.layout.yaxis.categoryarray) == 9
    (tanh,) = [t for t in phase.data if t.name == "tanh"]
    assert sorted(tanh.x) == [0, 0, 100]


def test_phase_figure_puts_activations_side_by_side():
    """tanh and relu of one setting sit in separate lanes of its row (they overlapped at 0% once)."""
    data = _clustered(["phase-code", "not-learned"], ["followup", "followup"], [(1.0, 0.0, "tanh"), (1.0, 0.0, "relu")])
    fig = figures.figure_cell_phase(ss.cells(ss.table(data)))
    points = [t for t in fig.data if t.name in ("tanh", "relu")]
    assert len(points) == 2 and fig.layout.scattermode == "group"
    assert len({t.offsetgroup for t in points}) == 2 and all(t.orientation == "h" for t in points)


def test_shipped_examples_are_the_medoids_of_their_labels():
    data = load_map()
    picks = ss.examples(data)
    assert data["examples"]["ids"] == {lab: data["networks"][i]["id"] for lab, i in picks.items()}
    shown = {row[0] for row in data["examples"]["portraits"]["data"]}
    assert shown == set(data["examples"]["ids"].values())


def test_a_shipped_example_portrait_is_recomputed_here():
    """The phase-code example's trajectories and trial end points, recomputed from its shipped weights on this
    machine, are the shipped ones (the fixed- and slow-point searches are left out: they cost seconds)."""
    import pandas as pd

    from setdyn import weights
    from setdyn.book.build import ROOT
    from setdyn.solution_map import SWEEPS
    from setdyn.sweep.ship import portraits

    data = load_map()
    ex = data["examples"]
    nid = ex["ids"]["phase-code"]
    source, row_id = nid.split("/", 1) if "/" in nid else ("book", None)
    folder = {s: f for f, s in SWEEPS.items()}
    model = weights.load() if source == "book" else weights.load(ROOT / folder[source] / "nets" / f"{row_id}.safetensors")
    got = portraits([(nid, "phase-code", model)], fixed_points=False)
    shipped = pd.DataFrame(ex["portraits"]["data"], columns=ex["portraits"]["columns"])
    shipped = shipped[(shipped["id"] == nid) & shipped["kind"].isin(["free", "end"])].reset_index(drop=True)
    assert len(got) == len(shipped)
    a, b = got[["pc1", "pc2"]].to_numpy(float).copy(), shipped[["pc1", "pc2"]].to_numpy(float)
    a *= np.sign(np.sum(a * b, axis=0))  # a PC is defined up to its sign, which another LAPACK may flip
    assert np.allclose(a, b, atol=1e-4)


def test_each_config_counts_once_and_the_books_seed_not_at_all():
    """Two sweeps that trained one config (with different engines) count it once, the earlier source's; a
    retraining of the book's config is left out, as the book's network is."""
    data = _clustered(["phase-code", "not-learned", "phase-code", "transient", "phase-code"],
                      ["paper-seeds", "followup", "followup", "followup", "book"])
    nets = data["networks"]
    nets[1]["row_id"] = nets[0]["row_id"]  # the follow-up grid retrained chapter 8's config
    nets[2]["row_id"] = nets[4]["row_id"]  # and the book's
    s = ss.sampled(ss.table(data))
    assert list(s["source"]) == ["paper-seeds", "followup"] and list(s["taxon"]) == ["phase-code", "transient"]
    assert ss.paper_setting(data)["space_paper_set_aside"] == 2


def test_retrained_counts_the_configs_whose_fate_changed():
    import pandas as pd

    data = _clustered(["phase-code", "not-learned", "transient", "phase-code"], ["paper-seeds"] * 4)
    first = pd.DataFrame({"id": ["config-0", "config-1", "config-2", "config-9"],
                          "label": ["phase-oscillator", "phase-oscillator", "other", "other"],
                          "fresh_acc_clean": [1.0, 0.99, 0.2, 1.0]})
    g = ss.retrained(first, ss.table(data), "paper-seeds")
    # config-1 learned and was a phase code before, not now; config-2 did not learn before, now it did
    assert g == {"space_retrain_paper_seeds_n": 3, "space_retrain_paper_seeds_learned_flips": 2,
                 "space_retrain_paper_seeds_code_flips": 1}


def test_definitions_list_every_label_and_mark_the_absent():
    data = _clustered(["phase-code", "transient", "not-learned"], ["followup"] * 3,
                      [(1.0, 0.1, "tanh"), (0.1, 0.0, "tanh"), (0.5, 0.05, "tanh")])
    lines = ss.definitions(ss.table(data)).splitlines()
    assert [line.split("**")[1] for line in lines] == list(LABELS)
    for line in lines:
        assert line.endswith("*(none here)*") == (line.split("**")[1] not in ("phase-code", "transient", "not-learned"))


def test_describe_names_seed_source_setting_and_label():
    row = ss.table(_clustered(["phase-code"], ["paper-setting"])).iloc[0]
    assert ss.describe(row) == "seed 0 of the paper's setting (α 1, noise 0.1, tanh)"
    assert ss.describe(row, "phase-code") == "seed 0 of the paper's setting (α 1, noise 0.1, tanh; phase-code)"
