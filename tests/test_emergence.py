"""Snapshots along training (`train --checkpoints`) and the emergence of the oscillator in them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from setdyn.cli import main
from setdyn.training import TrainConfig, train
from setdyn.training.checkpoints import (CheckpointFileError, checkpoint_epochs, load_checkpoints, load_index,
                                         save_checkpoints)

SHORT = dict(max_epochs=6, eval_every=2, stop_train_acc_noisy=None, stop_test_acc_clean=None,
             stop_fresh_acc_clean=None)


@pytest.mark.parametrize("n, max_epochs", [(2, 1), (5, 3), (10, 10), (40, 2500), (16, 300)])
def test_checkpoint_epochs_are_n_distinct_log_spaced_from_0_to_max(n, max_epochs):
    ep = checkpoint_epochs(n, max_epochs)
    assert len(ep) == min(n, max_epochs + 1)
    assert ep[0] == 0 and ep[-1] == max_epochs and ep == sorted(set(ep))
    if len(ep) > 8:  # log-spaced: ratios of late neighbours about constant, gaps grow
        gaps = np.diff(ep)
        assert gaps[-1] > gaps[1]


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True])
def test_checkpoint_epochs_refuses_bad_counts(bad):
    with pytest.raises(ValueError, match="whole number >= 2"):
        checkpoint_epochs(bad, 100)


def test_snapshots_change_nothing_and_the_last_is_the_trained_network():
    cfg = TrainConfig(seed=3, **SHORT)
    plain = train(cfg, progress=False, engine="autograd")
    snap = train(cfg, progress=False, engine="autograd", checkpoints=[0, 2, 5])
    assert sorted(snap.snapshots) == [0, 2, 5, 6]
    for k, v in plain.model.state_dict().items():
        assert torch.equal(v, snap.model.state_dict()[k])
    assert torch.equal(snap.snapshots[6]["J"], plain.model.J.detach())
    assert not torch.equal(snap.snapshots[0]["J"], snap.snapshots[2]["J"])
    assert plain.snapshots == {}


def test_cli_writes_checkpoints_that_load_back(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"config": TrainConfig(seed=1, **SHORT).to_dict(), "engine": "autograd"}))
    assert main(["train", "--config", str(cfg), "--checkpoints", "4", "--out", str(tmp_path)]) == 0
    models, index = load_checkpoints(tmp_path)
    assert index["epochs"] == checkpoint_epochs(4, 6) and len(models) == 4
    assert index["train_loss"][0] is None and all(v > 0 for v in index["train_loss"][1:])
    final = json.loads((tmp_path / "model.json").read_text())
    assert index["train_loss"][-1] == pytest.approx(final["history"]["train_loss"][-1])
    from setdyn import weights
    trained = weights.load(tmp_path / "model.safetensors")
    assert torch.equal(models[-1].J, trained.J) and torch.equal(models[-1].colors, trained.colors)
    assert not list(tmp_path.glob("*.tmp"))  # the atomic writes left no temporary file


def test_cli_refuses_one_checkpoint(tmp_path, capsys):
    assert main(["train", "--checkpoints", "1", "--epochs", "2", "--out", str(tmp_path)]) == 2
    assert "--checkpoints" in capsys.readouterr().err


def test_corrupt_checkpoints_are_refused(tmp_path):
    w = {k: torch.zeros(s) for k, s in [("x0", (4,)), ("J", (4, 4)), ("B", (4, 5)), ("b", (4,)), ("W", (1, 4)),
                                          ("b_out", (1,))]}
    save_checkpoints(tmp_path, {0: w, 3: w}, torch.zeros(3, 5), 1.0, {"train_loss": [1.0, 0.9, 0.8]}, {})
    models, index = load_checkpoints(tmp_path)
    assert index["epochs"] == [0, 3] and index["train_loss"] == [None, 0.8]
    p = tmp_path / "checkpoints.safetensors"
    p.write_bytes(p.read_bytes()[:-4] + b"\0\0\0\1")
    with pytest.raises(CheckpointFileError, match="sha256"):
        load_checkpoints(tmp_path)
    with pytest.raises(CheckpointFileError, match="no checkpoint index"):
        load_index(tmp_path / "nowhere")


# ------------------------------------------------------------------ the shipped snapshots of the book's network

@pytest.fixture(scope="module")
def shipped():
    from setdyn.analysis.emergence import load_shipped
    return load_shipped()


def _row(shipped, epoch):
    return next(r for r in shipped["rows"] if r["epoch"] == epoch)


def test_shipped_snapshots_are_compact_and_span_the_run(shipped):
    from setdyn.analysis.emergence import SHIPPED
    size = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert size < 5e6
    index = shipped["index"]
    assert index["epochs"][0] == 0 and index["epochs"][-1] == len(index["history"]["train_loss"])
    assert len(shipped["models"]) == len(shipped["rows"]) == len(index["epochs"]) >= 30


def test_last_snapshot_is_measured_as_a_direct_analysis_of_its_weights_says(shipped):
    from setdyn.analysis import free_run_dynamics
    from setdyn.analysis.emergence import measure_snapshot
    from setdyn.training import TrainConfig
    model, last = shipped["models"][-1], shipped["rows"][-1]
    assert free_run_dynamics(model).period_ms == pytest.approx(last["period_ms"], rel=1e-9)
    # the run's own selection test (mean crossings of PC1) agrees within 1%
    assert shipped["index"]["free_run"]["period_ms"] == pytest.approx(last["period_ms"], rel=0.01)
    rec, _ = measure_snapshot(model, TrainConfig.from_dict(shipped["index"]["config"]))
    assert rec["kind"] == "limit cycle" and rec["z3_code"]
    np.testing.assert_allclose(rec["kicks_deg"], last["kicks_deg"], atol=1e-6)
    assert rec["accuracy"] == pytest.approx(last["accuracy"])
    assert rec["accuracy"]["fresh_acc_clean"] == shipped["index"]["accuracy"]["fresh_acc_clean"]


def test_birth_is_where_the_leading_modulus_crosses_one(shipped):
    ev, scan = shipped["events"], shipped["scan"]
    born = ev["birth_scan_epoch"]
    for r in scan:  # every epoch before the birth: a stable fixed point; from it on: a cycle outside |lambda| = 1
        if r["epoch"] < born:
            assert r["kind"] != "limit cycle" and r["leading_modulus"] < 1
        else:
            assert r["kind"] == "limit cycle" and r["leading_modulus"] > 1
    assert ev["crossing_between"] == [born - 1, born]
    before, after = _row(shipped, ev["birth_after_epoch"]), _row(shipped, ev["birth_epoch"])
    assert before["leading_modulus"] < 1 < after["leading_modulus"]
    assert ev["birth_after_epoch"] < born <= ev["birth_epoch"]


def test_the_birth_scan_retraces_the_shipped_run(shipped):
    """The scan retrained the same run with a snapshot per epoch: where both have a snapshot, same numbers."""
    common = {r["epoch"]: r for r in shipped["scan"]}.keys() & {r["epoch"] for r in shipped["rows"]}
    assert len(common) >= 2
    for e in common:
        s = next(r for r in shipped["scan"] if r["epoch"] == e)
        assert s["leading_modulus"] == pytest.approx(_row(shipped, e)["leading_modulus"], rel=1e-9)


def test_fixed_point_spectrum_at_the_birth_matches_the_table(shipped):
    from setdyn.analysis import free_run_dynamics
    from setdyn.analysis.emergence import fixed_point_spectrum
    i = shipped["index"]["epochs"].index(shipped["events"]["birth_epoch"])
    model = shipped["models"][i]
    dyn = free_run_dynamics(model)
    spec, x = fixed_point_spectrum(model, dyn.states[dyn.settle_steps:])
    assert spec["leading_modulus"] == pytest.approx(shipped["rows"][i]["leading_modulus"], rel=1e-8)
    # x is a fixed point of the input-free map, and the leading eigenvalue is a complex pair
    step = model.step(torch.as_tensor(x[None]), torch.zeros(1, model.n_units, dtype=torch.float64))[0].detach().numpy()
    assert np.abs(step - x).max() < 1e-8
    ev = np.asarray(spec["eigenvalues"])
    assert ev[0, 1] == pytest.approx(-ev[1, 1]) and abs(ev[0, 1]) > 0.1


def test_the_birth_is_a_supercritical_neimark_sacker(shipped):
    from setdyn.analysis.emergence import supercritical_fit
    ev, scan = shipped["events"], shipped["scan"]
    assert ev["bifurcation"].startswith("Neimark-Sacker")
    born = next(r for r in scan if r["epoch"] == ev["birth_scan_epoch"])
    angle = born["leading_angle_deg"]
    assert born["period_ms"] == pytest.approx(360 / angle * 10.0, rel=0.03)  # the cycle turns like the pair
    fit = supercritical_fit(scan)
    assert fit["root_modulus"] == pytest.approx(1.0, abs=0.01) and fit["r2"] > 0.98


def test_event_order_and_z3_epoch(shipped):
    ev = shipped["events"]
    assert ev["birth_epoch"] < ev["z3_epoch"] < ev["accuracy_epoch"]
    rows = shipped["rows"]
    i = [r["epoch"] for r in rows].index(ev["z3_epoch"])
    assert all(r["z3_code"] for r in rows[i:]) and not rows[i - 1]["z3_code"]
    assert len(set(rows[i]["z3_steps"])) == 3 and rows[i]["z3"]["z3_phase_agreement_27"] == 27
    from setdyn.analysis.emergence import accuracy_epoch
    h = shipped["index"]["history"]
    e = accuracy_epoch(h)
    k = h["eval_epoch"].index(e)
    assert h["fresh_acc_clean"][k] >= 0.99 and h["train_acc_noisy"][e - 1] >= 0.96
    assert all(h["fresh_acc_clean"][j] < 0.99 or h["train_acc_noisy"][h["eval_epoch"][j] - 1] < 0.96
               or h["test_acc_clean"][j] < 1 for j in range(k))


def _fake(epoch, kind, mod, angle, n_stable, period=None, z3=False, acc=0.0):
    return {"epoch": epoch, "kind": kind, "leading_modulus": mod, "leading_angle_deg": angle,
            "n_stable_fixed_points": n_stable, "period_ms": period, "z3_code": z3,
            "accuracy": {"train_acc_noisy": acc, "test_acc_clean": acc, "fresh_acc_clean": acc}}


def test_find_events_names_the_bifurcation_from_the_evidence():
    from setdyn.analysis.emergence import find_events
    ns = [_fake(0, "fixed point", 0.8, 20.0, 1), _fake(10, "fixed point", 0.95, 20.0, 1),
          _fake(20, "limit cycle", 1.05, 20.0, 0, 180.0), _fake(40, "limit cycle", 1.2, 20.0, 0, 190.0, True, 1.0)]
    ev = find_events(ns)
    assert ev["bifurcation"].startswith("Neimark-Sacker") and ev["birth_epoch"] == 20 and ev["z3_epoch"] == 40
    assert 10 < ev["crossing_epoch"] < 20 and ev["accuracy_snapshot_epoch"] == 40
    # a stable node vanishing through a real eigenvalue with a long-period cycle: a saddle-node on a cycle
    snic = [_fake(0, "fixed point", 0.9, 0.0, 2), _fake(10, "fixed point", 0.99, 0.0, 2),
            _fake(20, "limit cycle", 1.3, 0.0, 0, 2000.0)]
    assert find_events(snic)["bifurcation"] == "saddle-node on invariant cycle"
    # a cycle that dies again is no birth
    gone = ns[:3] + [_fake(30, "fixed point", 0.9, 20.0, 1)]
    assert find_events(gone)["birth_epoch"] is None and find_events(gone)["bifurcation"] is None


def test_cli_prints_the_emergence_table(shipped, tmp_path, capsys):
    from setdyn.training.checkpoints import save_checkpoints, weights_of
    from setdyn.paper import PARAM_NAMES
    idx = shipped["index"]
    pick = [idx["epochs"].index(shipped["events"]["birth_after_epoch"]),
            idx["epochs"].index(shipped["events"]["birth_epoch"])]
    snaps = {idx["epochs"][i]: weights_of(shipped["models"][i]) for i in pick}
    meta = {k: idx[k] for k in ("config", "history")}
    save_checkpoints(tmp_path, snaps, shipped["models"][0].colors, 1.0, idx["history"], meta)
    assert main(["analyze", "--checkpoints", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["epoch"] for s in out["snapshots"]] == [idx["epochs"][i] for i in pick]
    assert out["events"]["birth_epoch"] == shipped["events"]["birth_epoch"]
    assert out["events"]["bifurcation"].startswith("Neimark-Sacker")
    for s, i in zip(out["snapshots"], pick):
        assert s["leading_modulus"] == pytest.approx(shipped["rows"][i]["leading_modulus"], rel=1e-5)
    assert main(["analyze", "--checkpoints", str(tmp_path / "none")]) == 2


# ------------------------------------------------------------------ the scrubber in a browser

@pytest.fixture(scope="module")
def scrubber_page(shipped, tmp_path_factory):
    from setdyn.viz.emergence import scrubber_data, scrubber_html
    data = scrubber_data(shipped["models"], shipped["index"], shipped["rows"], shipped["events"])
    page = tmp_path_factory.mktemp("scrubber") / "scrubber.html"
    page.write_text('<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
                    'content="width=device-width, initial-scale=1"></head><body style="margin:8px">'
                    + scrubber_html(data) + "</body></html>", encoding="utf-8")
    return page, data


def test_scrubber_payload_follows_the_measurements(shipped, scrubber_page):
    _, data = scrubber_page
    assert data["epochs"] == shipped["index"]["epochs"]
    for f, r in zip(data["frames"], shipped["rows"]):
        assert f["kind"] == r["kind"] and (f["kicks_deg"] is None) == (r["kicks_deg"] is None)
        assert f["modulus"] == pytest.approx(r["leading_modulus"], abs=1e-4)
        assert len(f["trials"][0]) == 50 and len(f["ends"]) == 27
    assert len(json.dumps(data)) < 600_000


@pytest.mark.parametrize("viewport", [{"width": 1100, "height": 900}, {"width": 390, "height": 844}])
def test_scrubber_slides_through_every_frame_fast_and_fits(scrubber_page, guarded_page, viewport):
    page_file, data = scrubber_page
    g = guarded_page(viewport=viewport)
    g.page.goto(page_file.as_uri())
    root = g.page.locator("figure.setdyn-emergence")
    n = len(data["epochs"])
    assert root.get_attribute("data-frame") == str(n - 1)  # opens on the trained network
    times = []
    for i in range(n):
        g.page.eval_on_selector(".se-slider", f'e => {{ e.value = {i}; e.dispatchEvent(new Event("input")); }}')
        assert root.get_attribute("data-frame") == str(i)
        assert g.page.locator(".se-epoch").inner_text().startswith(f"epoch {data['epochs'][i]} ")
        times.append(float(root.get_attribute("data-draw-ms")))
    assert max(times) < 50, f"slowest frame {max(times):.1f} ms"  # generous; the aim is 16 ms
    # the kicks are hidden without a cycle and shown with one
    first = data["frames"][0]["kicks_deg"] is None
    g.page.eval_on_selector(".se-slider", 'e => { e.value = 0; e.dispatchEvent(new Event("input")); }')
    assert ("no limit cycle" in g.page.locator(".se-panel").nth(3).inner_text()) == first
    # play runs to the end on its own
    g.page.click(".se-play")
    g.page.wait_for_function(f'document.querySelector("figure.setdyn-emergence").dataset.frame === "{n - 1}"',
                             timeout=60_000)
    width = g.page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"horizontal overflow: {width} px > {viewport['width']} px"
    g.assert_clean("emergence scrubber")
