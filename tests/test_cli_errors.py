"""Every bad input the hardening issue lists, given to the command line: one line on stderr, exit
code 2, no traceback, no file left behind. Ctrl-C: one line, exit 130.

The table runs in-process through `setdyn.cli.main(argv)` (cwd in a temporary folder, stderr
captured), which is what `python -m setdyn` calls; a 63-subprocess version took about 11 minutes,
each subprocess importing torch. A few representative cases (END_TO_END) and Ctrl-C still run as
real subprocesses, so the module entry point, the exit code and the signal handling are covered
end to end.

The count of bad inputs tried is BAD_INPUTS below (`len(CASES)`).
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from setdyn import weights
from setdyn.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
GOOD = TrainConfig().to_dict()


def config_file(**change):
    """Setup: a weight-file-like JSON whose config has `change` applied."""
    def setup(tmp):
        p = tmp / "cfg.json"
        p.write_text(json.dumps({"config": {**GOOD, **change}}))
        return {"CFG": str(p)}
    return setup


def raw_file(text, name="cfg.json"):
    def setup(tmp):
        p = tmp / name
        p.write_text(text)
        return {"CFG": str(p)}
    return setup


def weight_file(header_alpha="1.0", sidecar=lambda m: m, drop_sha=False):
    """Setup: an older-layout weight file (sidecar is the record) with the given damage."""
    def setup(tmp):
        p = tmp / "w.safetensors"
        tensors = load_file(str(weights.PRETRAINED))
        header = {"format": "setdyn-ctrnn", "format_version": "1"}
        if header_alpha is not None:
            header["alpha"] = header_alpha
        save_file(tensors, str(p), metadata=header)
        meta = {"format": "setdyn-ctrnn", "format_version": 1, "weights_sha256": weights.sha256(p),
                "config": dict(GOOD)}
        meta = sidecar(meta)
        if drop_sha:
            del meta["weights_sha256"]
        p.with_suffix(".json").write_text(json.dumps(meta))
        return {"W": str(p)}
    return setup


def sweep_folder(csv_text=None, row=None):
    def setup(tmp):
        out = tmp / "sw"
        (out / "rows").mkdir(parents=True)
        if csv_text is not None:
            (out / "sweep.csv").write_text(csv_text)
        if row is not None:
            (out / "rows" / "a1_n0_s0_x.json").write_text(row)
        return {"SW": str(out)}
    return setup


def a_file(tmp):
    (tmp / "afile").write_text("x")
    return {}


def no_setup(tmp):
    return {}


def unknown_key(m):
    m["config"]["bogus"] = 1
    return m


# (id, argv with {OUT}/{CFG}/{W}/{SW}/{TMP} placeholders, setup, words the one line must contain)
CASES = [
    ("seed -1", "train --seed -1 --out {OUT}", no_setup, "seed must be"),
    ("seed 1e20", "train --seed 1e20 --out {OUT}", no_setup, "not a whole number"),
    ("seed 10**20", "train --seed 100000000000000000000 --out {OUT}", no_setup, "seed must be"),
    ("epochs 1e23", "train --epochs 1e23 --out {OUT}", no_setup, "not a whole number"),
    ("epochs 10**23", "train --epochs 100000000000000000000000 --out {OUT}", no_setup, "epochs must be"),
    ("epochs 0", "train --epochs 0 --out {OUT}", no_setup, "epochs must be"),
    ("engine bogus", "train --engine fast --out {OUT}", no_setup, "invalid choice"),
    ("config list", "train --config {CFG} --out {OUT}", raw_file("[1, 2]"), "JSON object"),
    ("config string", "train --config {CFG} --out {OUT}", raw_file('"abc"'), "JSON object"),
    ("config null", "train --config {CFG} --out {OUT}", raw_file('{"config": null}'), "'config' must be an object"),
    ("config not JSON", "train --config {CFG} --out {OUT}", raw_file("{nope"), "not valid JSON"),
    ("config missing", "train --config {TMP}/absent.json --out {OUT}", no_setup, "does not exist"),
    ("config folder", "train --config {TMP} --out {OUT}", no_setup, "folder"),
    ("config unknown key", "train --config {CFG} --out {OUT}", config_file(bogus=1), "unknown training config"),
    ("config alpha 0", "train --config {CFG} --out {OUT}", config_file(alpha=0), "alpha"),
    ("config alpha -0.5", "train --config {CFG} --out {OUT}", config_file(alpha=-0.5), "alpha"),
    ("config n_units abc", "train --config {CFG} --out {OUT}", config_file(n_units="abc"), "n_units"),
    ("config n_units 10.5", "train --config {CFG} --out {OUT}", config_file(n_units=10.5), "n_units"),
    ("config seed '7'", "train --config {CFG} --out {OUT}", config_file(seed="7"), "seed"),
    ("config betas [0.9]", "train --config {CFG} --out {OUT}", config_file(betas=[0.9]), "betas"),
    ("config batch_size 0", "train --config {CFG} --out {OUT}", config_file(batch_size=0), "batch_size"),
    ("config lr NaN", "train --config {CFG} --out {OUT}", config_file(lr=math.nan), "lr"),
    ("config noise_std -1", "train --config {CFG} --out {OUT}", config_file(noise_std=-1), "noise_std"),
    ("out is a file", "train --out {TMP}/afile", a_file, "existing file"),
    ("out under a file", "train --out {TMP}/afile/run", a_file, "which is a file"),
    ("out unwritable", "train --out /proc/setdyn-run", no_setup, "cannot write"),
    ("evaluate alpha 0", "evaluate --weights {W}", weight_file("0"), "alpha"),
    ("evaluate alpha NaN", "evaluate --weights {W}", weight_file("nan"), "alpha"),
    ("evaluate alpha 2", "evaluate --weights {W}", weight_file("2"), "alpha"),
    ("evaluate alpha missing", "evaluate --weights {W}", weight_file(None), "no alpha"),
    ("evaluate alpha differs", "evaluate --weights {W}", weight_file("0.5"), "differs from the config"),
    ("evaluate no config", "evaluate --weights {W}",
     weight_file(sidecar=lambda m: {k: v for k, v in m.items() if k != "config"}), "records no training config"),
    ("evaluate config null", "evaluate --weights {W}", weight_file(sidecar=lambda m: {**m, "config": None}),
     "'config' must be an object"),
    ("evaluate unknown key", "evaluate --weights {W}", weight_file(sidecar=unknown_key), "unknown training config"),
    ("evaluate no sha256", "evaluate --weights {W}", weight_file(drop_sha=True), "has no weights_sha256"),
    ("evaluate folder", "evaluate --weights {TMP}", no_setup, "is a folder"),
    ("evaluate missing", "evaluate --weights {TMP}/absent.safetensors", no_setup, "does not exist"),
    ("analyze alpha 0", "analyze --weights {W}", weight_file("0"), "alpha"),
    ("analyze config null", "analyze --weights {W}", weight_file(sidecar=lambda m: {**m, "config": None}),
     "'config' must be an object"),
    ("analyze no config", "analyze --weights {W}",
     weight_file(sidecar=lambda m: {k: v for k, v in m.items() if k != "config"}), "records no training config"),
    ("analyze folder", "analyze --weights {TMP}", no_setup, "is a folder"),
    ("search-seed jobs 0", "search-seed --jobs 0 --out {OUT}", no_setup, "worker processes must be"),
    ("search-seed jobs -1", "search-seed --jobs -1 --out {OUT}", no_setup, "worker processes must be"),
    ("search-seed start -1", "search-seed --start=-1 --out {OUT}", no_setup, "seed must be"),
    ("search-seed max-seeds 0", "search-seed --max-seeds 0 --out {OUT}", no_setup, "must be an integer"),
    ("search-seed out file", "search-seed --out {TMP}/afile", a_file, "existing file"),
    ("sweep jobs 0", "sweep --jobs 0 --out {OUT}", no_setup, "--jobs"),
    ("sweep jobs -1", "sweep --jobs -1 --out {OUT}", no_setup, "--jobs"),
    ("sweep group 0", "sweep --group 0 --out {OUT}", no_setup, "--group"),
    ("sweep slots 0", "sweep --slots 0 --out {OUT}", no_setup, "--slots"),
    ("sweep epochs 0", "sweep --epochs 0 --out {OUT}", no_setup, "--epochs"),
    ("sweep noise nan", "sweep --noise nan --out {OUT}", no_setup, "--noise"),
    ("sweep noise -1", "sweep --noise=-1 --out {OUT}", no_setup, "--noise"),
    ("sweep noise inf", "sweep --noise inf --out {OUT}", no_setup, "--noise"),
    ("sweep alpha 0", "sweep --alpha 0 --out {OUT}", no_setup, "--alpha"),
    ("sweep alpha 2", "sweep --alpha 2 --out {OUT}", no_setup, "--alpha"),
    ("sweep alpha nan", "sweep --alpha nan --out {OUT}", no_setup, "--alpha"),
    ("sweep seeds -1", "sweep --seeds=-1 --out {OUT}", no_setup, "seeds"),
    ("sweep cell-seeds", "sweep --cell-seeds 1.0:0-3 --out {OUT}", no_setup, "--cell-seeds"),
    ("sweep cell noise nan", "sweep --cell-seeds 1.0,nan:0-3 --out {OUT}", no_setup, "--cell-seeds"),
    ("sweep out file", "sweep --out {TMP}/afile", a_file, "existing file"),
    ("sweep.csv without id", "sweep --seeds 0 --alpha 1 --noise 0 --out {SW}", sweep_folder("seed,alpha\n0,1\n"),
     "no 'id' column"),
    ("truncated row", "sweep --seeds 0 --alpha 1 --noise 0 --out {SW}", sweep_folder(row='{"id": "a1'),
     "a1_n0_s0_x.json"),
]
BAD_INPUTS = len(CASES)


def run_cli(argv, tmp, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "setdyn", *argv], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=timeout)


def listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*"))


def _check_one_line(rc, stderr, words, tmp_path, before):
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert rc == 2, (rc, stderr[-3000:])
    assert "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    assert words in lines[0], lines[0]
    assert listing(tmp_path) == before, "a file or folder was left behind"


def _values(tmp_path, setup):
    return {"OUT": str(tmp_path / "out"), "TMP": str(tmp_path), **setup(tmp_path)}


@pytest.mark.parametrize("name, argv, setup, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys, name, argv, setup, words):
    from setdyn import cli

    values = _values(tmp_path, setup)
    before = listing(tmp_path)
    monkeypatch.chdir(tmp_path)
    try:
        rc = cli.main(argv.format(**values).split())
    except SystemExit as e:  # argparse's usage errors leave through parser.exit(2, one line)
        rc = e.code
    _check_one_line(rc, capsys.readouterr().err, words, tmp_path, before)


#: Representative cases run through `python -m setdyn` end to end: an argparse usage error, a bad
#: config value (TrainConfig), a damaged weight file, and the sweep's own subcommand.
END_TO_END = ["seed -1", "config lr NaN", "evaluate alpha NaN", "sweep noise nan"]


@pytest.mark.parametrize("name", END_TO_END)
def test_bad_input_end_to_end_in_a_subprocess(tmp_path, name):
    _, argv, setup, words = next(c for c in CASES if c[0] == name)
    values = _values(tmp_path, setup)
    before = listing(tmp_path)
    r = run_cli(argv.format(**values).split(), tmp_path)
    _check_one_line(r.returncode, r.stderr, words, tmp_path, before)


def test_ctrl_c_is_one_line_exit_130_and_writes_nothing(tmp_path):
    """SIGINT during training: one line, exit 130; the good model already in --out is untouched."""
    from setdyn.training import build_model

    out = tmp_path / "out"
    out.mkdir()
    cfg = TrainConfig(seed=3, max_epochs=1)  # the good model already there (untrained is enough here)
    weights.save(build_model(cfg), out / "model.safetensors", {"config": cfg.to_dict()})
    before = listing(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "setdyn", "train", "--seed", "4", "--epochs", "500",
                             "--engine", "autograd", "--out", str(out)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "train seed" not in seen:
        ch = proc.stderr.read(1)
        assert ch, seen
        seen += ch
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted:")
    assert [ln for ln in err.splitlines() if "interrupted" in ln or "Error" in ln] == [err.strip().splitlines()[-1]]
    assert listing(tmp_path) == before
    assert weights.load_meta(out / "model.safetensors")["config"]["seed"] == 3


@pytest.mark.parametrize("to_group", [False, True], ids=["parent", "process-group"])
def test_ctrl_c_during_search_seed_stops_the_workers(tmp_path, to_group):
    """Ctrl-C in a terminal reaches the parent and its worker processes (process group); `kill -INT`
    only the parent. Either way: one line, exit 130, no worker left running, no folder left behind."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "search"
    proc = subprocess.Popen([sys.executable, "-m", "setdyn", "search-seed", "--jobs", "2", "--max-seeds", "2",
                             "--engine", "autograd", "--out", str(out)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    kids: list[str] = []
    while len(kids) < 2 and time.time() < deadline:
        time.sleep(0.5)
        kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    time.sleep(3)
    if to_group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines() == ["interrupted: stopped before finishing; files already there are unchanged"]
    time.sleep(1)
    assert not [k for k in kids if Path(f"/proc/{k}").exists() and
                "setdyn" in Path(f"/proc/{k}/cmdline").read_bytes().decode(errors="replace")]
    assert not out.exists()
