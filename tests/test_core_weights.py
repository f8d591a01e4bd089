"""Weight files: round trip, self-consistency, atomic saves under kills, folder locks, and
refusal of corrupt or mismatched files (today's format and the older one the shipped model uses)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from safetensors.torch import load_file, save_file

from setdyn import task, weights
from setdyn.model import CTRNN

ROOT = weights.DATA_DIR.parents[1]
OLD_HEADER = {"format": "setdyn-ctrnn", "format_version": "1", "alpha": "1.0"}


def make(seed, alpha=1.0):
    return CTRNN(task.color_encodings(0), seed=seed, alpha=alpha)


@pytest.fixture
def saved(tmp_path):
    m = make(5)
    path, _ = weights.save(m, tmp_path / "m.safetensors", {"config": {"seed": 5, "alpha": 1.0}})
    return m, path


def write_legacy(path, tensors, header=None, meta=None):
    """A file in the older layout (no embedded record): the JSON sidecar is the record, tied by sha256."""
    save_file(tensors, str(path), metadata=OLD_HEADER if header is None else header)
    meta = {"format": "setdyn-ctrnn", "format_version": 1, "config": {"seed": 5, "alpha": 1.0}} \
        if meta is None else meta
    meta = {**meta, "weights_sha256": weights.sha256(path)}  # a consistent but possibly wrong pair
    path.with_suffix(".json").write_text(json.dumps(meta))


@pytest.fixture
def legacy(saved):
    m, path = saved
    write_legacy(path, load_file(str(path)))
    return m, path


def same_weights(a, b):
    return all(torch.equal(getattr(a, k).float(), getattr(b, k).float()) for k in weights.TENSOR_NAMES)


# ------------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("which", ["saved", "legacy"])
def test_round_trip(which, request):
    m, path = request.getfixturevalue(which)
    back = weights.load(path, dtype=torch.float32)
    assert same_weights(back, m)
    codes = task.test_set(seed=0).codes
    torch.testing.assert_close(back.run(codes).outputs, m.run(codes).outputs)
    assert weights.load_meta(path)["config"]["seed"] == 5


def test_the_shipped_older_file_still_loads():
    meta = weights.load_meta()
    assert weights.META_KEY not in meta and meta["config"]["seed"] == 0
    assert weights.load().alpha == meta["config"]["alpha"] == 1.0


def test_the_record_travels_inside_the_tensor_file(saved, tmp_path):
    """The tensor file alone is self-consistent: no JSON needed, and a JSON from another
    network (the issue's seed-1 tensors beside a seed-0 sidecar) cannot change its record."""
    _, path = saved
    meta = weights.load_meta(path)
    assert meta["machine"] == weights.machine() and meta["weights_sha256"] == weights.sha256(path)
    alone = tmp_path / "alone" / "m.safetensors"
    alone.parent.mkdir()
    shutil.copy(path, alone)
    assert weights.load_meta(alone)["config"]["seed"] == 5
    other, _ = weights.save(make(0), tmp_path / "other.safetensors", {"config": {"seed": 0, "alpha": 1.0}})
    shutil.copy(other.with_suffix(".json"), alone.with_suffix(".json"))
    with pytest.warns(UserWarning, match="is not the copy"):
        assert weights.load_meta(alone)["config"]["seed"] == 5
    with pytest.warns(UserWarning):
        assert same_weights(weights.load(alone), make(5))


def test_machine_record_and_kind():
    here = weights.machine()
    assert set(weights.MACHINE_KIND) <= set(here)
    assert here["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert here["torch"] == torch.__version__
    assert weights.same_machine_kind(here)[0]
    assert not weights.same_machine_kind(None)[0]
    assert not weights.same_machine_kind({**here, "cpu_capability": "unknown"})[0]
    ok, why = weights.same_machine_kind({**here, "cpu_capability": "AVX512" if here["cpu_capability"] != "AVX512"
                                         else "AVX2"})
    assert not ok and "cpu_capability" in why


# ------------------------------------------------------------------------------------- refusals


def test_corrupt_bytes_refused(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(weights.WeightFileError, match="checksum"):
        weights.load(path)


def test_corrupt_embedded_record_refused(saved):
    _, path = saved
    data = path.read_bytes()
    assert b'\\"seed\\": 5' in data
    path.write_bytes(data.replace(b'\\"seed\\": 5', b'\\"seed\\": 6'))
    with pytest.raises(weights.WeightFileError, match="checksum"):
        weights.load_meta(path)


def test_legacy_corrupt_bytes_refused(legacy):
    _, path = legacy
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(weights.WeightFileError, match="does not match its sidecar"):
        weights.load(path)


@pytest.mark.parametrize("which", ["saved", "legacy"])
def test_truncated_file_refused(which, request):
    _, path = request.getfixturevalue(which)
    path.write_bytes(path.read_bytes()[:100])
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["weights_sha256"] = weights.sha256(path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(weights.WeightFileError, match="not a readable safetensors"):
        weights.load(path)


def test_wrong_shape_refused(legacy):
    _, path = legacy
    t = load_file(str(path))
    t["J"] = torch.zeros(100, 99)
    write_legacy(path, t)
    with pytest.raises(weights.WeightFileError, match=r"J has shape \(100, 99\), expected \(100, 100\)"):
        weights.load(path)


def test_wrong_dtype_refused(legacy):
    _, path = legacy
    t = load_file(str(path))
    t["b"] = t["b"].double()
    write_legacy(path, t)
    with pytest.raises(weights.WeightFileError, match="b has dtype torch.float64, expected float32"):
        weights.load(path)


def test_missing_and_extra_tensors_refused(legacy):
    _, path = legacy
    t = load_file(str(path))
    del t["x0"]
    t["extra"] = torch.zeros(1)
    write_legacy(path, t)
    with pytest.raises(weights.WeightFileError, match="expected exactly"):
        weights.load(path)


def test_wrong_format_version_refused(legacy):
    _, path = legacy
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["format_version"] = 2
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(weights.WeightFileError, match="format_version 2 is not supported; accepted: 1"):
        weights.load(path)
    write_legacy(path, load_file(str(path)), {**OLD_HEADER, "format_version": "0"})
    with pytest.raises(weights.WeightFileError, match="accepted: 'setdyn-ctrnn' version 1"):
        weights.load(path)


def test_missing_sidecar_file_or_folder_refused(legacy, tmp_path):
    _, path = legacy
    other = tmp_path / "copy.safetensors"
    shutil.copy(path, other)
    with pytest.raises(weights.WeightFileError, match="no sidecar"):
        weights.load(other)
    with pytest.raises(weights.WeightFileError, match="does not exist"):
        weights.load(tmp_path / "absent.safetensors")
    with pytest.raises(weights.WeightFileError, match="is a folder, not a weight file"):
        weights.load(tmp_path)


def test_sidecar_without_checksum_says_so(legacy):
    _, path = legacy
    meta = json.loads(path.with_suffix(".json").read_text())
    del meta["weights_sha256"]
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(weights.WeightFileError, match="has no weights_sha256"):
        weights.load(path)


def test_nan_refused(legacy):
    _, path = legacy
    t = load_file(str(path))
    t["W"][0, 0] = float("nan")
    write_legacy(path, t)
    with pytest.raises(weights.WeightFileError, match="NaN"):
        weights.load(path)


@pytest.mark.parametrize("header_alpha, config_alpha, match", [
    (None, 1.0, "records no alpha"),  # a missing alpha is an error, not 1.0
    ("0", 1.0, r"must be in \(0, 1\]"),
    ("nan", 1.0, r"must be in \(0, 1\]"),
    ("2", 1.0, r"must be in \(0, 1\]"),
    ("-0.5", 1.0, r"must be in \(0, 1\]"),
    ("abc", 1.0, "not a number"),
    ("0.5", 1.0, "differs from the config's alpha"),
    ("1.0", 0.5, "differs from the config's alpha"),
])
def test_bad_or_mismatched_alpha_refused(legacy, header_alpha, config_alpha, match):
    _, path = legacy
    header = {k: v for k, v in OLD_HEADER.items() if k != "alpha"}
    if header_alpha is not None:
        header["alpha"] = header_alpha
    write_legacy(path, load_file(str(path)), header,
                 {"format": "setdyn-ctrnn", "format_version": 1, "config": {"seed": 5, "alpha": config_alpha}})
    with pytest.raises(weights.WeightFileError, match=match):
        weights.load(path)


@pytest.mark.parametrize("config", [None, [], "x", 3])
def test_config_that_is_not_an_object_refused(legacy, config):
    _, path = legacy
    write_legacy(path, load_file(str(path)), None, {"format": "setdyn-ctrnn", "format_version": 1, "config": config})
    with pytest.raises(weights.WeightFileError, match="'config' must be an object"):
        weights.load_meta(path)


def test_save_refuses_a_config_that_contradicts_the_model(tmp_path):
    with pytest.raises(weights.WeightFileError, match="differs from the model's"):
        weights.save(make(1), tmp_path / "m.safetensors", {"config": {"alpha": 0.5}})
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------- atomic saves

KILLER = textwrap.dedent("""
    import os, signal, sys
    from setdyn import task, weights
    from setdyn.model import CTRNN
    path, step = sys.argv[1], sys.argv[2]
    def hook(s):
        if s == step:
            os.kill(os.getpid(), signal.SIGKILL)
    weights._save_hook = hook
    weights.save(CTRNN(task.color_encodings(0), seed=2), path, {"config": {"seed": 2, "alpha": 1.0}})
""")
STEPS = ["tensors-partial", "tensors-temp", "json-partial", "json-temp", "tensors-renamed", "json-renamed"]


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_during_a_save_leaves_a_consistent_pair(tmp_path, step):
    """SIGKILL inside and between the two files: the folder holds the old network or the new one,
    complete and with its own record; never a refused pair or a mix."""
    path, _ = weights.save(make(1), tmp_path / "m.safetensors", {"config": {"seed": 1, "alpha": 1.0}})
    r = subprocess.run([sys.executable, "-c", KILLER, str(path), step], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    new = STEPS.index(step) >= STEPS.index("tensors-renamed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, meta = weights.load(path), weights.load_meta(path)
    assert meta["config"]["seed"] == (2 if new else 1)
    assert same_weights(model, make(2 if new else 1))
    assert bool(caught) == (step == "tensors-renamed")  # only then is the JSON copy stale
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert visible == ["m.json", "m.safetensors"]


def test_an_exception_during_a_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    path, _ = weights.save(make(1), tmp_path / "m.safetensors", {"config": {"seed": 1, "alpha": 1.0}})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupt(step):
        if step == "json-temp":
            raise KeyboardInterrupt

    monkeypatch.setattr(weights, "_save_hook", interrupt)
    with pytest.raises(KeyboardInterrupt):
        weights.save(make(2), path, {"config": {"seed": 2, "alpha": 1.0}})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ------------------------------------------------------------------------------------- folder locks


def test_a_locked_folder_refuses_a_second_writer(tmp_path):
    out = tmp_path / "run"
    with weights.lock_folder(out):
        code = f"from setdyn import weights\nwith weights.lock_folder({str(out)!r}): pass"
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "FolderLocked" in r.stderr and "another run" in r.stderr
    with weights.lock_folder(out):  # released: free again, and no lock file left behind
        pass
    assert list(out.iterdir()) == []


def test_two_concurrent_trains_into_one_folder(tmp_path):
    """The second run refuses at once (one line, exit 2) while the first writes; the first's
    network is the one saved."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "setdyn", "train", "--seed", "1", "--epochs", "40",
                              "--engine", "autograd", "--out", str(out)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "train seed" not in seen:  # the progress bar: training (and so the lock) has started
        ch = first.stderr.read(1)
        assert ch, f"the first run ended early: {seen}"
        seen += ch
    second = subprocess.run([sys.executable, "-m", "setdyn", "train", "--seed", "2", "--epochs", "2",
                             "--engine", "autograd", "--out", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    rest = first.communicate(timeout=600)
    assert first.returncode == 0, seen + rest[1]
    assert second.returncode == 2
    assert second.stderr.strip().count("\n") == 0 and "being written by another run" in second.stderr
    assert weights.load_meta(out / "model.safetensors")["config"]["seed"] == 1
