"""Weight files: round trip, and refusal of corrupt or mismatched files."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from setdyn import task, weights
from setdyn.model import CTRNN


@pytest.fixture
def saved(tmp_path):
    m = CTRNN(task.color_encodings(0), seed=5)
    path, _ = weights.save(m, tmp_path / "m.safetensors", {"config": {"seed": 5}})
    return m, path


def test_round_trip(saved):
    m, path = saved
    back = weights.load(path, dtype=torch.float32)
    for k in ("J", "B", "b", "W", "b_out", "x0", "colors"):
        torch.testing.assert_close(getattr(back, k), getattr(m, k), rtol=0, atol=0)
    codes = task.test_set(seed=0).codes
    torch.testing.assert_close(back.run(codes).outputs, m.run(codes).outputs)


def rewrite(path, tensors, metadata=None):
    save_file(tensors, str(path), metadata=metadata or {"format": "setdyn-ctrnn", "format_version": "1",
                                                        "alpha": "1.0"})
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["weights_sha256"] = weights.sha256(path)  # a consistent but wrong file
    path.with_suffix(".json").write_text(json.dumps(meta))


def test_corrupt_bytes_refused(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(weights.WeightFileError, match="does not match its sidecar"):
        weights.load(path)


def test_truncated_file_refused(saved):
    _, path = saved
    path.write_bytes(path.read_bytes()[:100])
    rewrite_meta = json.loads(path.with_suffix(".json").read_text())
    rewrite_meta["weights_sha256"] = weights.sha256(path)
    path.with_suffix(".json").write_text(json.dumps(rewrite_meta))
    with pytest.raises(weights.WeightFileError, match="not a readable safetensors"):
        weights.load(path)


def test_wrong_shape_refused(saved):
    _, path = saved
    t = load_file(str(path))
    t["J"] = torch.zeros(100, 99)
    rewrite(path, t)
    with pytest.raises(weights.WeightFileError, match=r"J has shape \(100, 99\), expected \(100, 100\)"):
        weights.load(path)


def test_wrong_dtype_refused(saved):
    _, path = saved
    t = load_file(str(path))
    t["b"] = t["b"].double()
    rewrite(path, t)
    with pytest.raises(weights.WeightFileError, match="b has dtype torch.float64, expected float32"):
        weights.load(path)


def test_missing_and_extra_tensors_refused(saved):
    _, path = saved
    t = load_file(str(path))
    del t["x0"]
    t["extra"] = torch.zeros(1)
    rewrite(path, t)
    with pytest.raises(weights.WeightFileError, match="expected exactly"):
        weights.load(path)


def test_wrong_format_version_refused(saved):
    _, path = saved
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["format_version"] = 2
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(weights.WeightFileError, match="format_version 2 is not supported; accepted: 1"):
        weights.load(path)
    rewrite(path, load_file(str(path)), {"format": "setdyn-ctrnn", "format_version": "0"})
    meta["format_version"] = 1
    meta["weights_sha256"] = weights.sha256(path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(weights.WeightFileError, match="accepted: 'setdyn-ctrnn' version 1"):
        weights.load(path)


def test_missing_sidecar_or_file_refused(saved, tmp_path):
    _, path = saved
    other = tmp_path / "copy.safetensors"
    shutil.copy(path, other)
    with pytest.raises(weights.WeightFileError, match="no sidecar"):
        weights.load(other)
    with pytest.raises(weights.WeightFileError, match="does not exist"):
        weights.load(tmp_path / "absent.safetensors")


def test_nan_refused(saved):
    _, path = saved
    t = load_file(str(path))
    t["W"][0, 0] = float("nan")
    rewrite(path, t)
    with pytest.raises(weights.WeightFileError, match="NaN"):
        weights.load(path)
