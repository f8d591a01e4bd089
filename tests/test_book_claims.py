"""The chapters' key claims, asserted on the numbers they glue into their prose.

Each chapter glues its numbers and qualitative words (``setdyn.book.glued``); the build leaves
the executed notebooks in ``_build/jupyter_execute`` (see ``test_book_notebooks.py``), and
:func:`setdyn.book.glued.glued_values` reads them back. The tests below assert what the prose
says about those numbers: accuracies are the shipped model's recorded ones, sums add up,
"a stable limit cycle" has a Floquet multiplier of 1 along it and < 1 across, a word such as
"is" / "Yes" agrees with the number it summarises, and a quantity computed in two chapters is
the same in both.
"""

from __future__ import annotations

import math

import pytest

from setdyn import paper, task, weights
from setdyn.book.build import glue_file, notebook_chapters
from setdyn.book.glued import glued_values
from setdyn.prose import count_words

from conftest import ROOT


@pytest.fixture(scope="module")
def glued(built_book) -> dict[str, dict]:
    """Chapter stem (e.g. ``02_model``) -> its glued values, from the build's executed notebooks."""
    return {p.stem: glued_values(glue_file(p)) for p in notebook_chapters(ROOT) if glue_file(p).is_file()}


@pytest.fixture(scope="module")
def meta() -> dict:
    return weights.load_meta()


def test_every_chapter_with_prose_numbers_glued_some(glued):
    for stem in ("01_task", "02_model", "03_output", "04_phase_portrait", "05_automaton", "06_oscillator"):
        assert glued.get(stem), f"no glued values found for {stem}"


def test_chapter_1_counts(glued):
    g = glued["01_task"]
    assert (g["n_combos"], g["n_valid"], g["n_invalid"]) == (27, 9, 18)
    assert g["n_same"] + g["n_different"] == g["n_valid"] and (g["n_same"], g["n_different"]) == (3, 6)
    # "each of the 9 sets k times and each of the 18 non-sets m times"
    assert g["n_train"] == g["n_valid"] * g["valid_repeats"] + g["n_invalid"] * g["invalid_repeats"]
    assert g["train_valid_pct"] == pytest.approx(100 * g["n_valid"] * g["valid_repeats"] / g["n_train"])
    assert g["trial_ms"] == g["n_steps"] * g["dt_ms"] == paper.TRIAL_MS
    assert g["silent_ms"] == g["trial_ms"] - g["onset_max_ms"] - g["pulse_ms"]

def test_chapter_1_example_is_the_first_purple_red_green_trial(glued, meta):
    """"Below is trial k of the training set, purple, red, green": the first PRG of the training set."""
    k = glued["01_task"]["example_index"]
    colors = task.training_set(meta["config"]["seed"]).colors
    assert task.sequence_name(colors[k]) == "PRG"
    assert all(task.sequence_name(c) != "PRG" for c in colors[:k])


def test_chapter_2_accuracies_are_the_shipped_models(glued, meta):
    g = glued["02_model"]
    for key, value in meta["accuracy"].items():
        assert g[key] == pytest.approx(100 * value, abs=1e-9), key
    assert g["epochs"] == meta["epochs"] and g["seed"] == meta["config"]["seed"]
    # "noise-free, the network is perfect on the training set, the test set and on fresh onsets"
    assert g["train_acc_clean"] == g["test_acc_clean"] == 100.0
    assert g["fresh_acc_clean"] >= g["stop_fresh_clean"]
    # "that is one of the 27 test trials"
    assert g["one_test_trial_pct"] == pytest.approx(100 / 27)
    assert 100 - g["test_acc_noisy"] == pytest.approx(g["one_test_trial_pct"])
    # the stopping rule held at the end
    assert g["train_acc_noisy"] >= g["stop_train_noisy"] and g["test_acc_clean"] >= g["stop_test_clean"]
    assert g["n_fresh"] == 27 * g["fresh_draws"]


def test_chapter_2_retraining_wording_is_chosen_by_its_numbers(glued):
    """'bit for bit' only when the retrained losses equal the shipped history exactly; otherwise the
    sentence names the first epoch's difference and says why (another kind of machine)."""
    g = glued["02_model"]
    wording = g["retrain_wording"]
    assert g["retrain_engine"] == "autograd"  # the shipped file records no engine: it predates the choice
    assert 0 <= g["retrain_first_diff"] <= g["retrain_max_diff"]
    if g["retrain_max_diff"] == 0:
        assert "bit for bit" in wording
    else:
        assert "bit for bit" not in wording
        assert f"within {g['retrain_first_diff']:.1g} at the first epoch" in wording
        assert f"largest difference {g['retrain_max_diff']:.1g}" in wording
        assert "CPU of another kind" in wording or "kind of machine that trained it" in wording
        assert ("drift apart" in wording) == (g["retrain_max_diff"] > 2 * g["retrain_first_diff"])
        assert g["retrain_max_diff"] < 1e-5  # float32 rounding, not another engine (0.023 before)


def test_chapter_3_output_ends_as_trained_and_oscillates(glued):
    g = glued["03_output"]
    assert g["z_end_invalid"] < -paper.DECISION_THRESHOLD and g["z_end_valid"] > paper.DECISION_THRESHOLD
    # "makes n oscillations in 500 ms: the paper's two full oscillations"
    assert g["n_osc_in_trial"] == pytest.approx(paper.TRIAL_MS / g["period_in_trial"])
    assert 1.5 < g["n_osc_in_trial"] < 2.5
    assert g["n_osc_cycle"] == pytest.approx(paper.TRIAL_MS / g["cycle_period"])
    assert g["paper_turns"] == pytest.approx(paper.TRIAL_MS / paper.PAPER_OSCILLATOR["period_ms"])


def test_chapter_4_a_stable_limit_cycle_in_two_dimensions(glued):
    g = glued["04_phase_portrait"]
    assert g["var_pc12"] == pytest.approx(g["var_pc1"] + g["var_pc2"])
    assert g["var_pc12"] > 80  # "essentially two-dimensional"
    assert g["cycle_kind"] == "limit cycle"
    assert g["floquet_1"] == pytest.approx(1.0, abs=0.01)  # "along the cycle: neither grows nor decays"
    assert abs(g["floquet_2"]) < 0.1  # "any other deviation dies out within one turn"
    assert g["decay_per_period"] == pytest.approx(1.0, abs=1e-3)  # "keeps the same amplitude"
    assert g["turns_per_trial"] == pytest.approx(paper.TRIAL_MS / g["period_ms"])
    # "every angle from ... to ... separates", and the best one is inside that arc with a positive margin
    assert g["best_margin"] > 0 and g["sep_from"] <= g["best_angle"] <= g["sep_to"]
    # "purple sets it back by about a third of a turn, red advances it"; green barely moves it
    assert g["kick_purple"] == pytest.approx(-120, abs=30) and g["kick_red"] == pytest.approx(120, abs=30)
    assert abs(g["kick_green"]) < 30


def test_chapter_5_the_z3_automaton_in_the_phase(glued):
    g = glued["05_automaton"]
    assert g["n_states"] == 3 and g["is_z3"] == "Yes"
    assert g["lstar_states"] == 3 and g["lstar_z3"] == "is" and g["lstar_set"] == "accepts exactly"
    assert g["n_clusters"] == 3 and g["cluster_margin"] > 0
    assert g["n_disagree"] == round((1 - g["agreement"] / 100) * g["agreement_trials"])
    # "the paper's prediction with the signs exchanged, to within pred_dev degrees"
    assert g["pred_PGP"] > 0 > g["pred_RGR"]
    assert g["pred_dev"] == pytest.approx(max(abs(abs(g["pred_PGP"]) - 120), abs(abs(g["pred_RGR"]) - 120)))
    assert g["pred_dev"] < 30 and abs(g["pred_PGR"]) < 30
    # "the phase tells the automaton's state for every length ... does not drift"
    assert g["len_min_acc"] > 90 and abs(g["len_drift"]) < 1 and g["len_max_std"] < g["half_class"]
    # "the errors at this noise level come from the readout threshold, not from the phase code"
    assert g["noise_phase_acc_train"] >= g["noise_acc_train"]
    # the kicks measured over the cycle and on real trials name the same code
    assert g["steps_text"] == "green 0, purple -120, red +120"


def test_chapter_6_the_fit_explains_the_network_and_the_papers_values_do_not(glued):
    g = glued["06_oscillator"]
    assert 0.5 < g["r2_fit"] <= 1 and g["r2_paper"] < 0  # "worse than a constant"
    assert all(g[f"r2_{s}"] > 0.5 for s in ("PGP", "PGR", "RGR"))
    for name in task.COLORS:
        assert g[f"fit_ci_lo_{name}"] <= g[f"fit_kick_{name}"] <= g[f"fit_ci_hi_{name}"]
    # "purple and red exchanged": the fitted kicks have the signs of the measured ones
    assert g["fit_kick_purple"] < 0 < g["fit_kick_red"]
    assert abs(g["fit_period"] - g["cycle_period"]) < 0.1 * g["cycle_period"]


def test_numbers_shared_by_chapters_agree(glued):
    c1, c3, c4, c5, c6 = (glued[k] for k in ("01_task", "03_output", "04_phase_portrait", "05_automaton",
                                             "06_oscillator"))
    assert c1["n_train"] == c4["n_train"]
    assert c3["cycle_period"] == c4["period_ms"] == c5["period_ms"] == c6["cycle_period"]
    for name in task.COLORS:
        assert c4[f"kick_{name}"] == c5[f"prc_{name}"]
    assert c1["onset_list"] == c3["onset_list"] == c6["onset_list"]
    assert not math.isnan(c6["angle"])


def test_chapter_8_across_seeds_is_the_shipped_records(glued):
    """The 'Across seeds' section's numbers are `emergence_seeds.chapter_numbers` of the shipped records,
    and its words agree with the counts."""
    from setdyn.analysis import emergence_seeds as es

    g = glued["08_emergence"]
    records = es.load_records()
    st = es.statistics(records)
    assert g["seeds_n_seeds"] == len(records) >= 16
    assert g["seeds_n_codes"] == sum(es.is_phase_code(r) for r in records) == st["phase_codes"]["k"]
    assert g["seeds_same_birth_word"] == ("Yes" if st["ns_share"]["k"] == g["seeds_n_codes"] else "Not always")
    assert g["seeds_earlier_cycle"] + g["seeds_earlier_same"] + g["seeds_earlier_accuracy"] == g["seeds_n_learned"]
    assert g["seeds_n_learned"] == sum(es.learned(r) for r in records)
    assert (g["seeds_earlier_word"] == "earlier") == (g["seeds_earlier_cycle"] > g["seeds_earlier_accuracy"])
    assert g["seeds_code_lo"] <= g["seeds_code_pct"] <= g["seeds_code_hi"]
    if g["seeds_birth_median"] is not None and g["seeds_accuracy_median"] is not None:
        assert g["seeds_birth_min"] <= g["seeds_birth_median"] <= g["seeds_birth_max"]


def test_chapter_8_sets_the_sweeps_paper_cell_beside_the_seeds(glued):
    from setdyn.sweep import stats, table

    g = glued["08_emergence"]
    df = table.load_shipped()
    cell = df[stats.in_cell(df)]
    assert (g["seeds_sweep_k"], g["seeds_sweep_n"]) == ((cell.label == "phase-oscillator").sum(), len(cell))
    assert g["seeds_sweep_lo"] < 100 * g["seeds_sweep_k"] / g["seeds_sweep_n"] < g["seeds_sweep_hi"]


def test_chapter_7_map_numbers_are_the_shipped_maps(glued):
    """The map section's counts and words come from the shipped map and agree with each other."""
    from collections import Counter

    from setdyn.viz.solution_map import load_map

    g = glued["07_sweep"]
    data = load_map()
    nets = data["networks"]
    counts = Counter(n["taxon"] for n in nets)
    assert g["map_n"] == len(nets) == 1 + g["map_n_seeds"] + g["map_n_followup"] + g["map_n_setting"] + g["map_n_paper"]
    assert g["map_n_setting"] == sum(n["source"] == "paper-setting" for n in nets)
    assert g["map_setting_text"] == count_words(g["map_n_setting"], g["map_setting_total"], "further seeds")
    assert (g["map_n_paper"] == 1) == (g["map_paper_text"] == "the paper's own network")
    assert (g["map_n_followup"] == g["map_followup_total"]) == (g["map_grid_status"] == "in full")
    assert g["map_n_seeds"] == 31 and g["map_followup_total"] == 90
    assert sum(int(part.split()[0]) for part in g["map_labels_text"].split(", ")) == len(nets)
    assert g["map_largest_n"] == max(counts.values()) == counts[g["map_largest"]]
    assert ("not the largest" in g["map_unlabelled_verdict"]) == (0 < counts["unlabelled"] < g["map_largest_n"])
    p = data["knn"]["p_value"]
    strict = data.get("knn_within_alpha", data["knn"])["p_value"]  # the verdict rests on the within-alpha test
    assert g["map_knn_p"] == p and g["map_knn_alpha_p"] == strict
    assert ("does not" in g["map_knn_verdict"]) == (strict >= 0.1)
    assert ("only weakly" in g["map_knn_verdict"]) == (0.01 <= strict < 0.1)
    assert g["map_knn_alpha_chance_pct"] < g["map_knn_pct"] or "does not" in g["map_knn_verdict"]
    rho = data["angular_check"]["spearman"]
    assert g["map_angular_rho"] == rho and ("much alike" in g["map_angular_verdict"]) == (rho >= 0.7)
    failed = [n for n in nets if n["taxon"] == "not-learned"]
    cycling = sum(n["free_run"] == "limit cycle" for n in failed)
    assert g["map_n_not_learned"] == len(failed)
    assert g["map_not_learned_cycle"] in ("all", "none", str(cycling))
    assert (g["map_not_learned_cycle"] == "all") == (cycling == len(failed) > 0)


def test_chapter_7_space_numbers_are_the_shipped_maps(glued):
    """The space-of-solutions sections: every number and word is the shipped map's, recomputed here, and the
    words agree with the numbers they stand for."""
    from setdyn import solution_space as ss
    from setdyn.sweep.stats import fraction_ci
    from setdyn.viz.solution_map import load_map

    g = glued["07_sweep"]
    data = load_map()
    df = ss.table(data)
    want = {**ss.paper_setting(data, df), **ss.followup(data, df)}
    for key, value in want.items():
        if isinstance(value, (str, int, float)):
            assert g[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    here = ss.sampled(df)[ss.at_paper_setting(ss.sampled(df))]  # each config once, not the book's seed
    assert len(here) == len(set(here["row_id"])) and not set(here["row_id"]) & set(df.loc[df.source == "book", "row_id"])
    k = int((here["taxon"] == "phase-code").sum())
    assert (g["space_paper_k"], g["space_paper_n"]) == (k, len(here))
    lo, hi = fraction_ci(k, len(here))
    assert g["space_paper_lo"] == pytest.approx(100 * lo) and g["space_paper_hi"] == pytest.approx(100 * hi)
    assert g["space_paper_needed"] > g["space_paper_n"] or g["space_paper_half_width"] <= g["space_paper_target"]
    reached = g["space_paper_half_width"] <= g["space_paper_target"]
    assert g["space_paper_target_text"].startswith("That is within") == reached
    if not reached:
        assert f"about {g['space_paper_needed']} networks, {g['space_paper_needed'] - g['space_paper_n']} more" \
            in g["space_paper_target_text"]
    assert ("minority here too" in g["space_fu_minority_verdict"]) == (g["space_fu_hi"] < 50)
    assert g["space_fu_region_verdict"].startswith("here too") == (g["space_fu_region_alpha_p"] < ss.CLEAR_P)
    assert g["space_fu_region_pct"] > g["space_fu_region_chance_pct"] or "not clearly" in g["space_fu_region_verdict"]
    counts = df["taxon"].value_counts()
    for part in g["space_fu_found_text"].split(", "):
        label, n = part.rsplit(" (", 1)
        assert counts[label] == int(n.rstrip(")")) and label in ss.FOLLOWUP_MECHANISMS
    if g["space_paper_on_map"]:
        assert g["space_paper_network_label"] == "phase-code"  # the paper's network is the paper's phase code
