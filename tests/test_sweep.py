"""Sweeps: parsing, the chapter's summary, and a real tiny sweep on a local Dask cluster (resumable)."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from setdyn.sweep import (PAPER_CELL, by_alpha, categories, figure_fractions, figure_labels, grid, mechanism_category, net_id,
                          parse_seeds, read_table, reuse_heap_memory, run_sweep, summary, wilson,
                          z3_deviation_deg)


def test_seed_lists_and_grid_order():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,5-6,2") == [0, 5, 6, 2]
    with pytest.raises(ValueError):
        parse_seeds("3-1")
    cfgs = grid([0, 1], [1.0, 0.5], [0.0], epochs=7, seeds_per_cell={(1.0, 0.0): [0, 1, 2]})
    assert [(c.alpha, c.seed) for c in cfgs] == [(1.0, 0), (0.5, 0), (1.0, 1), (0.5, 1), (1.0, 2)]
    assert all(c.max_epochs == 7 for c in cfgs)
    assert net_id(cfgs[0]) == net_id(grid([0], [1.0], [0.0], epochs=7)[0]) != net_id(cfgs[2])


def test_wilson_interval_known_values():
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10)[1] == 1.0
    assert np.isnan(wilson(0, 0)[0])


def test_summary_fractions_per_cell():
    df = pd.DataFrame({"alpha": [1.0] * 4 + [0.5] * 2, "noise_std": [0.1] * 4 + [0.0] * 2,
                       "label": ["phase-oscillator", "phase-oscillator", "fixed-point", "other", "other", "fixed-point"],
                       "fresh_acc_clean": [1.0, 1.0, 1.0, 0.5, 0.4, 1.0]})
    s = summary(df)
    paper = s[(s.alpha == PAPER_CELL[0]) & (s.noise_std == PAPER_CELL[1])].iloc[0]
    assert (paper.n, paper.k, paper.fraction) == (4, 2, 0.5)
    assert (paper.n_learned, paper.k_learned) == (3, 2)
    assert paper.ci_low < 0.5 < paper.ci_high
    assert paper["n_fixed-point"] == 1 and paper["n_other"] == 1
    other = s[s.alpha == 0.5].iloc[0]
    assert other.k == 0 and other.ci_low == 0.0
    fig = figure_fractions(df)
    assert len(fig.data) == 2 and fig.data[0].type == "bar"
    assert len(figure_labels(df).data) == 3


def test_by_alpha_counts_learned_networks_and_z3_deviation_measures_kicks():
    df = pd.DataFrame({"alpha": [1.0, 1.0, 1.0, 0.1], "label": ["phase-oscillator", "other", "other", "other"],
                       "fresh_acc_clean": [1.0, 0.99, 0.2, 1.0],
                       "kick_green_deg": [-17.0, np.nan, np.nan, np.nan], "kick_purple_deg": [-140.0, 0, 0, 0],
                       "kick_red_deg": [103.0, 0, 0, 0], "kick_common_offset_deg": [-17.0, 0, 0, 0]})
    t = by_alpha(df)
    assert list(t.alpha) == [1.0, 0.1] and list(t.tau_ms) == [10.0, 100.0]
    assert list(t.n_learned) == [2, 1] and list(t.k) == [1, 0]  # the network at 0.2 did not learn
    # kicks relative to the offset: 0, -123, +120 -> 3 degrees from an exact Z3 code
    np.testing.assert_allclose(z3_deviation_deg(df), [3.0])
    assert z3_deviation_deg(df[df.label == "other"]).size == 0


def test_other_is_split_by_its_reason():
    assert mechanism_category("phase-oscillator", "limit cycle whose phase ...") == "phase-oscillator"
    assert mechanism_category("other", "did not learn (fresh-onset accuracy 0.105)") == "other: did not learn"
    assert mechanism_category("other", "mixed: free run settles on a fixed point, but 11% ...") \
        == "other: fixed point + another attractor"
    assert mechanism_category("other", "limit cycle, but the Z3 phase automaton does not explain it") \
        == "other: cycle not explained by Z3"
    assert mechanism_category("other", "free run: irregular; 3 stable fixed points; basin purity 0.7") \
        == "other: no clear attractor code"
    assert mechanism_category("other", "free run: fixed point; 1 stable fixed points; basin purity 0.667") \
        == "other: transient code"
    with pytest.raises(ValueError, match="accepted: phase-oscillator, fixed-point, other"):
        mechanism_category("hexagon", "")
    df = pd.DataFrame({"alpha": [1.0, 1.0, 0.5], "noise_std": [0.1, 0.1, 0.0],
                       "label": ["phase-oscillator", "other", "other"],
                       "reason": ["...", "did not learn (0.1)", "mixed: ..."], "fresh_acc_clean": [1.0, 0.1, 1.0]})
    assert list(categories(df)) == ["phase-oscillator", "other: did not learn", "other: fixed point + another attractor"]
    fig = figure_labels(df, detail=True)
    counts = {t.name: list(t.y) for t in fig.data}
    assert set(counts) == {"phase-oscillator", "other: did not learn", "other: fixed point + another attractor"}
    assert sum(map(sum, counts.values())) == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_workers_can_keep_heap_memory_for_reuse():
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536, which doubled training time in workers
    assert reuse_heap_memory() is True


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    yield c
    c.close()


def test_tiny_sweep_on_a_local_dask_cluster_is_resumable(cluster, tmp_path):
    cfgs = grid([0, 1], [1.0], [0.1], epochs=2)
    table = run_sweep(cfgs, tmp_path, scheduler=cluster.scheduler_address, slots=2, group=1, progress=False)
    assert sorted(table["seed"]) == [0, 1]
    assert set(table["label"]) <= {"phase-oscillator", "fixed-point", "other"}
    assert (table["epochs"] == 2).all() and table["learned"].eq(False).all()
    assert table["analysis_error"].isna().all() if "analysis_error" in table else True
    nets = sorted((tmp_path / "nets").glob("*.safetensors"))
    assert [p.stem for p in nets] == sorted(net_id(c) for c in cfgs)  # weights sent back by the workers
    stamps = {p: p.stat().st_mtime_ns for p in nets}

    # a rerun has nothing to do: it must not even contact a scheduler
    again = run_sweep(cfgs, tmp_path, scheduler="tcp://127.0.0.1:9", progress=False)
    assert sorted(again["id"]) == sorted(table["id"])

    # drop one row: only that network is redone
    csv = tmp_path / "sweep.csv"
    df = pd.read_csv(csv)
    df[df.seed == 0].to_csv(csv, index=False)
    final = run_sweep(cfgs, tmp_path, scheduler=cluster.scheduler_address, slots=2, progress=False)
    assert sorted(final["seed"]) == [0, 1] and len(read_table(tmp_path)) == 2
    seed0 = next(p for p in nets if p.stem == net_id(cfgs[0]))
    assert seed0.stat().st_mtime_ns == stamps[seed0]


def test_command_line_runs_locally_and_reports_bad_arguments(tmp_path):
    r = subprocess.run([sys.executable, "-m", "setdyn.sweep", "--seeds", "0", "--alpha", "1.0", "--noise", "0",
                        "--epochs", "1", "--out", str(tmp_path), "--jobs", "1", "--no-analyse"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    df = pd.read_csv(tmp_path / "sweep.csv")
    assert len(df) == 1 and df.seed[0] == 0 and df.epochs[0] == 1
    assert (tmp_path / "nets" / f"{df.id[0]}.safetensors").is_file()
    bad = subprocess.run([sys.executable, "-m", "setdyn.sweep", "--seeds", "x", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and len(bad.stderr.strip().splitlines()) == 1


def test_gallery_portraits_of_the_shipped_network():
    from setdyn import weights
    from setdyn.sweep import figure_gallery, portraits

    data = portraits([("book", "phase-oscillator", weights.load(weights.PRETRAINED))], n_free=60, draws=1)
    assert set(data.kind) == {"free", "end", "fixed"}
    assert (data.kind == "end").sum() == 27 and (data.kind == "free").sum() == 61
    assert data.explained.iloc[0] > 0.3
    fig = figure_gallery(data)
    assert {t.name for t in fig.data} >= {"free run from x0", "end point, valid", "end point, invalid"}


def test_cli_subcommand_patch_works_with_setdyn_cli():
    """The `sweep` subcommand as registered in setdyn.cli (parser built here the same way)."""
    import argparse

    from setdyn.cli import CliError
    from setdyn.sweep import add_arguments, cli_entry

    p = add_arguments(argparse.ArgumentParser())
    with pytest.raises(CliError, match="alpha"):
        cli_entry(p.parse_args(["--out", "x", "--alpha", "2"]))
