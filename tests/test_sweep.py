"""Sweeps: the grid, the statistics of chapter 7, the figures, and a real tiny sweep on a local Dask
cluster (resumable); the command line end to end."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dask.distributed import LocalCluster
from sklearn.decomposition import PCA

from setdyn import cli, weights
from setdyn.errors import CliError
from setdyn.analysis.mechanism import LEARNED_ACC
from setdyn.sweep import figures, grid, run, stats, table, worker
from setdyn.sweep.ship import pc_plane, portraits

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def run_module(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout, env=ENV,
                          cwd=ROOT)


# --- the grid ---------------------------------------------------------------------------------------------------
def test_seed_lists_and_grid_order():
    assert grid.parse_seeds("0-3") == [0, 1, 2, 3]
    assert grid.parse_seeds("0,5-6,2,5") == [0, 5, 6, 2]
    for bad in ("3-1", "x", "-3", "", "1-x"):
        with pytest.raises(ValueError, match="seed"):
            grid.parse_seeds(bad)
    assert grid.parse_cell_seeds("1.0,0.1:0-2") == ((1.0, 0.1), [0, 1, 2])
    with pytest.raises(ValueError, match="ALPHA,NOISE:SEEDS"):
        grid.parse_cell_seeds("1.0:0-2")
    cfgs = grid.configs([0, 1], [1.0, 0.5], [0.0], epochs=7, seeds_per_cell={(1.0, 0.0): [0, 1, 2]})
    assert [(c.alpha, c.seed) for c in cfgs] == [(1.0, 0), (0.5, 0), (1.0, 1), (0.5, 1), (1.0, 2)]
    assert all(c.max_epochs == 7 for c in cfgs)
    assert grid.net_id(cfgs[0]) == grid.net_id(grid.configs([0], [1.0], [0.0], epochs=7)[0]) != grid.net_id(cfgs[2])


def test_the_paper_cell_comes_first_and_bad_cells_are_refused():
    assert grid.PAPER_CELL == (1.0, 0.1)
    cfgs = grid.configs([0, 1], [0.5, 1.0], [0.0, 0.1], paper_first=True)
    assert [(c.alpha, c.noise_std) for c in cfgs[:2]] == [grid.PAPER_CELL] * 2 and len(cfgs) == 8
    with pytest.raises(ValueError, match=r"alpha = dt/tau must be in \(0, 1\]"):
        grid.configs([0], [1.5], [0.1])
    with pytest.raises(ValueError, match="noise std must be a finite number >= 0"):
        grid.configs([0], [1.0], [-0.1])
    with pytest.raises(ValueError, match="positive number of epochs"):
        grid.configs([0], [1.0], [0.1], epochs=0)


# --- statistics -------------------------------------------------------------------------------------------------
def test_wilson_intervals_known_values():
    assert stats.fraction_ci(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert stats.fraction_ci(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert stats.fraction_ci(0, 10)[0] == 0.0 and stats.fraction_ci(10, 10)[1] == 1.0
    assert np.isnan(stats.fraction_ci(0, 0)).all()
    # the Wilson score interval's closed form, for a few more
    z = 1.959963984540054
    for k, n in ((1, 3), (7, 19), (15, 32)):
        p = k / n
        centre, half = (p + z * z / (2 * n)), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        assert stats.fraction_ci(k, n) == pytest.approx(((centre - half) / (1 + z * z / n),
                                                          (centre + half) / (1 + z * z / n)), abs=1e-14)


def toy_table():
    return pd.DataFrame({"id": list("abcdef"), "seed": [0, 1, 2, 3, 0, 1], "max_epochs": [100] * 6,
                         "epochs": [40, 60, 100, 100, 100, 90],
                         "alpha": [1.0] * 4 + [0.5] * 2, "noise_std": [0.1] * 4 + [0.0] * 2,
                         "label": ["phase-oscillator", "phase-oscillator", "fixed-point", "other", "other", "fixed-point"],
                         "reason": ["cycle", "cycle", "fp", "did not learn (0.5)", "did not learn (0.4)", "fp"],
                         "free_run": ["limit cycle", "limit cycle", "fixed point", "limit cycle", "irregular",
                                      "fixed point"],
                         "period_ms": [250.0, 300.0, np.nan, 120.0, np.nan, np.nan],
                         "kick_green_deg": [10.0, 0.0, np.nan, np.nan, np.nan, np.nan],
                         "kick_purple_deg": [130.0, -121.0, np.nan, np.nan, np.nan, np.nan],
                         "kick_red_deg": [-110.0, 120.0, np.nan, np.nan, np.nan, np.nan],
                         "kick_common_offset_deg": [10.0, 0.0, np.nan, np.nan, np.nan, np.nan],
                         "fresh_acc_clean": [1.0, 1.0, 1.0, 0.5, 0.4, 1.0]})


def test_summary_fractions_per_cell():
    df = toy_table()
    s = stats.summary(df)
    paper = s[stats.in_cell(s)].iloc[0]
    assert (paper.n, paper.k, paper.fraction) == (4, 2, 0.5)
    assert (paper.n_learned, paper.k_learned) == (3, 2)
    assert (paper.ci_low, paper.ci_high) == stats.fraction_ci(2, 4) and paper.ci_low < 0.5 < paper.ci_high
    assert paper["n_fixed-point"] == 1 and paper["n_other"] == 1
    other = s[s.alpha == 0.5].iloc[0]
    assert other.k == 0 and other.ci_low == 0.0
    assert list(s.alpha) == [1.0, 0.5]  # fastest neurons first
    fig = figures.figure_fractions(df)
    assert len(fig.data) == 2 and fig.data[0].type == "bar"
    assert len(figures.figure_labels(df).data) == 3


def test_by_alpha_counts_learned_networks_and_z3_deviation_measures_kicks():
    df = pd.DataFrame({"alpha": [1.0, 1.0, 1.0, 0.1], "label": ["phase-oscillator", "other", "other", "other"],
                       "fresh_acc_clean": [1.0, 0.99, 0.2, 1.0],
                       "kick_green_deg": [-17.0, np.nan, np.nan, np.nan], "kick_purple_deg": [-140.0, 0, 0, 0],
                       "kick_red_deg": [103.0, 0, 0, 0], "kick_common_offset_deg": [-17.0, 0, 0, 0]})
    t = stats.by_alpha(df)
    assert list(t.alpha) == [1.0, 0.1] and list(t.tau_ms) == [10.0, 100.0]
    assert list(t.n_learned) == [2, 1] and list(t.k) == [1, 0]  # the network at 0.2 did not learn
    # kicks relative to the offset: 0, -123, +120 -> 3 degrees from an exact Z3 code
    np.testing.assert_allclose(stats.z3_deviation_deg(df), [3.0])
    assert stats.z3_deviation_deg(df[df.label == "other"]).size == 0


def test_chapter_numbers_of_a_small_table():
    df = toy_table()
    book = {"label": "phase-oscillator", "seed": 1, "period_ms": 290.0}
    p = stats.paper_setting(df, book)
    assert (p.n_total, p.n_cells, p.paper_n, p.paper_k, p.paper_n_learned, p.paper_k_learned) == (6, 2, 4, 2, 3, 2)
    assert p.paper_frac == 50.0 and p.paper_frac_learned == pytest.approx(200 / 3)
    assert (p.paper_lo, p.paper_hi) == tuple(100 * x for x in stats.fraction_ci(2, 4))
    assert (p.paper_n_fixed, p.paper_n_not_learned, p.other_min_n, p.other_max_n) == (1, 1, 2, 2)
    assert p.other_n_text == "2"
    assert (p.n_phase_all, p.n_fixed_all, p.n_learned_all, p.max_epochs) == (2, 2, 4, 100)
    assert p.paper_fixed_text == "1 is a clean fixed-point solution"
    assert p.paper_other_learned_text == "0 networks learned it in other ways"
    assert p.verdict == "the oscillator is the rule, not a lucky seed"
    assert (p.twin_label, p.twin_period) == ("phase-oscillator", 300.0)
    assert p.learned_pct == 100 * LEARNED_ACC
    c = stats.across_cells(df)
    assert c.seeds_per_cell == "2" and c.best_cell == "α = 1, noise 0.1" and c.best_frac == pytest.approx(200 / 3)
    assert c.worst_cell == "α = 0.5, noise 0" and c.worst_frac == 0.0
    assert c.by_alpha == "α = 1 (τ = 10 ms): 2 of 3; α = 0.5 (τ = 20 ms): 0 of 1"
    assert (c.learn_min, c.learn_max) == (50.0, 75.0)
    o = stats.other_mechanisms(df)
    assert (o.n_not_learned, o.n_mixed, o.n_not_z3, o.n_unclear, o.n_transient) == (2, 0, 0, 0, 0)
    assert (o.slow_alpha, o.slow_tau, o.trial_ms, o.trial_in_tau) == (0.5, 20.0, 500.0, 25.0)
    assert (o.slow_n, o.slow_learned, o.slow_epochs, o.paper_epochs) == (2, 1, 90.0, 60.0)
    assert o.slow_learned_text == "1 of 2 slow networks"
    assert o.kick_dev_max == pytest.approx(1.0)  # kicks - offset: (0, 120, -120) and (0, -121, 120)
    assert (o.period_min, o.period_max, o.offset_min, o.offset_max) == (250.0, 300.0, 0.0, 10.0)
    assert o.paper_period == 290.0 and o.paper_kicks == "green 0, purple +120, red -120"
    f = stats.failed_networks(df)
    assert (f.n_failed, f.n_failed_cycle, f.failed_pmin, f.failed_pmax) == (2, 1, 120.0, 120.0)


def test_chapter_numbers_of_the_shipped_table_add_up():
    df, book = table.load_shipped(), table.load_book_row()
    p, o, f = stats.paper_setting(df, book), stats.other_mechanisms(df), stats.failed_networks(df)
    at_paper = df[(df.alpha == 1.0) & (df.noise_std == 0.1)]
    assert p.paper_n == len(at_paper) and p.paper_k == (at_paper.label == "phase-oscillator").sum()
    assert p.paper_lo <= p.paper_frac <= p.paper_hi and p.paper_lo_learned <= p.paper_frac_learned <= p.paper_hi_learned
    # every network either learned or did not; the learners split into the mechanisms and the kinds of "other"
    assert o.n_not_learned == f.n_failed == p.n_total - p.n_learned_all
    assert p.n_phase_all + p.n_fixed_all + o.n_transient + o.n_mixed + o.n_not_z3 + o.n_unclear == p.n_learned_all
    assert p.paper_k_learned + p.paper_n_fixed <= p.paper_n_learned <= p.paper_n
    assert 0 <= o.kick_dev_max < 60 and o.period_min <= o.period_max


def test_other_is_split_by_its_reason():
    cat = table.mechanism_category
    assert cat("phase-oscillator", "limit cycle whose phase ...") == "phase-oscillator"
    assert cat("other", "did not learn (fresh-onset accuracy 0.105)") == "other: did not learn"
    assert cat("other", "mixed: free run settles on a fixed point, but 11% ...") == "other: fixed point + another attractor"
    assert cat("other", "limit cycle, but the Z3 phase automaton does not explain it") == "other: cycle not explained by Z3"
    assert cat("other", "free run: irregular; 3 stable fixed points; basin purity 0.7") == "other: no clear attractor code"
    assert cat("other", "free run: fixed point; 1 stable fixed points; basin purity 0.667") == "other: transient code"
    assert cat("other", float("nan")) == "other: no clear attractor code"
    with pytest.raises(ValueError, match="accepted: phase-oscillator, fixed-point, other"):
        cat("hexagon", "")
    df = pd.DataFrame({"alpha": [1.0, 1.0, 0.5], "noise_std": [0.1, 0.1, 0.0],
                       "label": ["phase-oscillator", "other", "other"],
                       "reason": ["...", "did not learn (0.1)", "mixed: ..."], "fresh_acc_clean": [1.0, 0.1, 1.0]})
    assert list(table.categories(df)) == ["phase-oscillator", "other: did not learn",
                                          "other: fixed point + another attractor"]
    fig = figures.figure_labels(df, detail=True)
    counts = {t.name: list(t.y) for t in fig.data}
    assert set(counts) == {"phase-oscillator", "other: did not learn", "other: fixed point + another attractor"}
    assert sum(map(sum, counts.values())) == 3


def test_pc_plane_is_sklearns_pca_up_to_sign():
    X = np.random.default_rng(0).normal(size=(200, 6)) @ np.diag([5, 3, 1, 0.5, 0.2, 0.1])
    mu, P, explained = pc_plane(X)
    pca = PCA(2).fit(X)
    np.testing.assert_allclose(np.abs((X - mu) @ P), np.abs(pca.transform(X)), atol=1e-10)
    assert explained == pytest.approx(pca.explained_variance_ratio_.sum(), abs=1e-12)


def test_table_rows_merge_and_write_in_order(tmp_path):
    write_rows = [{"id": "x", "seed": 1, "alpha": 0.5, "noise_std": 0.0, "analysis_traceback": "..."},
                  {"id": "y", "seed": 0, "alpha": 1.0, "noise_std": 0.1}]
    for r in write_rows:
        table.write_row(r, tmp_path)
    df = table.read_table(tmp_path)
    assert sorted(df.id) == ["x", "y"]
    df = table.merge_rows(df, [{"id": "x", "seed": 1, "alpha": 0.5, "noise_std": 0.0, "label": "other"}])
    assert len(df) == 2 and df.set_index("id").label["x"] == "other"
    written = pd.read_csv(table.write_table(df, tmp_path))
    assert list(written.id) == ["y", "x"] and "analysis_traceback" not in written


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_workers_can_keep_heap_memory_for_reuse():
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536, which doubled training time in workers
    assert worker.reuse_heap_memory() is True


# --- running sweeps ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    yield c
    c.close()


def test_tiny_sweep_on_a_local_dask_cluster_is_resumable(cluster, tmp_path):
    cfgs = grid.configs([0, 1], [1.0], [0.1], epochs=2)
    df = run.run_sweep(cfgs, tmp_path, scheduler=cluster.scheduler_address, slots=2, group=1, progress=False)
    assert sorted(df["seed"]) == [0, 1]
    assert set(df["label"]) <= set(table.LABELS)
    assert (df["epochs"] == 2).all() and df["learned"].eq(False).all()
    assert df["analysis_error"].isna().all() if "analysis_error" in df else True
    nets = sorted((tmp_path / "nets").glob("*.safetensors"))
    assert [p.stem for p in nets] == sorted(grid.net_id(c) for c in cfgs)  # weights sent back by the workers
    stamps = {p: p.stat().st_mtime_ns for p in nets}

    # a rerun has nothing to do: it must not even contact a scheduler
    again = run.run_sweep(cfgs, tmp_path, scheduler="tcp://127.0.0.1:9", progress=False)
    assert sorted(again["id"]) == sorted(df["id"])

    # drop one row: only that network is redone
    csv = tmp_path / "sweep.csv"
    kept = pd.read_csv(csv)
    kept[kept.seed == 0].to_csv(csv, index=False)
    final = run.run_sweep(cfgs, tmp_path, scheduler=cluster.scheduler_address, slots=2, progress=False)
    assert sorted(final["seed"]) == [0, 1] and len(table.read_table(tmp_path)) == 2
    seed0 = next(p for p in nets if p.stem == grid.net_id(cfgs[0]))
    assert seed0.stat().st_mtime_ns == stamps[seed0]


def test_the_real_parser_has_the_sweep_subcommand():
    p = cli.parser()
    args = p.parse_args(["sweep", "--out", "x", "--alpha", "2", "--no-analyse"])
    assert args.no_analyze and args.seeds == "0-31"
    assert p.parse_args(["sweep", "--out", "x", "--reanalyze"]).reanalyze
    with pytest.raises(CliError, match="alpha"):
        args.func(args)
    assert cli.main(["sweep", "--out", "x", "--seeds", "5-1"]) == 2


def test_python_m_setdyn_sweep_trains_a_tiny_grid(tmp_path):
    r = run_module("setdyn", "sweep", "--seeds", "0", "--alpha", "1.0", "--noise", "0.1", "--epochs", "2",
                   "--out", str(tmp_path), "--jobs", "1", "--no-analyse")
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"1 networks in {tmp_path / 'sweep.csv'}" in r.stdout
    df = pd.read_csv(tmp_path / "sweep.csv")
    assert len(df) == 1 and df.seed[0] == 0 and df.epochs[0] == 2 and df.alpha[0] == 1.0
    assert (tmp_path / "nets" / f"{df.id[0]}.safetensors").is_file()
    bad = run_module("setdyn.sweep", "--seeds", "x", "--out", str(tmp_path), timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: seeds") and len(bad.stderr.strip().splitlines()) == 1


def test_python_m_setdyn_analyze_and_search_seed(tmp_path):
    r = run_module("setdyn", "analyze")
    assert r.returncode == 0, r.stderr[-2000:]
    meta = json.loads((ROOT / "setdyn" / "data" / "pretrained.json").read_text())
    # the weight file records the period of the same free run; the two measurements differ by < 0.01 ms
    assert json.loads(r.stdout)["period_ms"] == pytest.approx(meta["free_run"]["period_ms"], abs=0.05)
    # two epochs cannot meet the selection rule: the search trains, judges, and reports that in one line
    r = run_module("setdyn", "search-seed", "--out", str(tmp_path), "--max-seeds", "1", "--jobs", "1",
                   "--epochs", "2")
    assert r.returncode == 2, r.stderr[-2000:]
    tried = json.loads(next(line for line in r.stderr.splitlines() if line.startswith("{")))
    assert tried["seed"] == 0 and tried["epochs"] == 2 and tried["passed"] is False
    assert r.stderr.strip().splitlines()[-1].startswith("error: no seed in 0..0 met the rule")
    assert not list(tmp_path.iterdir())


def test_gallery_portraits_of_the_shipped_network():
    model = weights.load(weights.PRETRAINED)
    before = model.J.detach().clone()
    data = portraits([("book", "phase-oscillator", model)], n_free=60, draws=1)
    assert set(data.kind) == {"free", "end", "fixed"}
    assert (data.kind == "end").sum() == 27 and (data.kind == "free").sum() == 61
    assert data.explained.iloc[0] > 0.3
    assert model.J.dtype == before.dtype and bool((model.J == before).all())  # the caller's network is unchanged
    fig = figures.figure_gallery(data)
    assert {t.name for t in fig.data} >= {"free run from x0", "end point, valid", "end point, invalid"}
