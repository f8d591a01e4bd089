"""Binder's requirements (binder/requirements.txt) are the root pins with a CPU-only torch.

repo2docker reads ``binder/`` instead of the repository root, so the Binder
environment is exactly ``binder/requirements.txt``. These tests read both files
on their own (not through the generator) and check that every pin agrees
except torch, which must be the same version with the ``+cpu`` local label from
the PyTorch CPU index; and that ``binder/generate.py`` reproduces the committed
file (so a change to the root file cannot leave Binder behind).
"""

from __future__ import annotations

import importlib.util
import re

import pytest

from conftest import ROOT

BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _load_generator():
    spec = importlib.util.spec_from_file_location("binder_generate", BINDER / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(path) -> tuple[dict[str, str], list[str]]:
    """({normalised name: version}, option lines) of a requirements file; every package line must be name==version."""
    pins: dict[str, str] = {}
    options: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("--") else raw.strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        assert match, f"{path.name} line {number}: {raw!r} is not an exact pin name==version"
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        assert name not in pins, f"{path.name} pins {name} twice"
        pins[name] = match.group(2)
    return pins, options


def test_binder_pins_match_root_except_torch():
    root, root_options = _pins(ROOT / "requirements.txt")
    binder, binder_options = _pins(BINDER / "requirements.txt")
    assert set(binder) == set(root), (
        f"only in root: {sorted(set(root) - set(binder))}; only in binder: {sorted(set(binder) - set(root))}"
    )
    differ = {name: (root[name], binder[name]) for name in root if name != "torch" and root[name] != binder[name]}
    assert not differ, f"pins that differ between requirements.txt and binder/requirements.txt: {differ}"
    assert "+" not in root["torch"], f"the root torch pin {root['torch']!r} already carries a local label"
    assert binder["torch"] == root["torch"] + "+cpu"
    assert root_options == []
    assert binder_options == [f"--extra-index-url {CPU_INDEX}"]


def test_binder_requirements_are_generated_from_root():
    generate = _load_generator()
    expected = generate.binder_requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert (BINDER / "requirements.txt").read_text(encoding="utf-8") == expected, (
        "binder/requirements.txt is stale: run python binder/generate.py"
    )
    assert generate.main(["--check"]) == 0


@pytest.mark.parametrize(
    "text, problem",
    [
        ("numpy==2.4.6\n", "found 0 torch lines"),
        ("torch==2.13.0\ntorch==2.12.0\n", "found 2 torch lines"),
        ("torch>=2.13\n", "not an exact pin"),
        ("torch==2.13.0+cu121\n", "not an exact pin"),
    ],
)
def test_generator_rejects_a_torch_pin_it_cannot_translate(text, problem):
    generate = _load_generator()
    with pytest.raises(ValueError, match=re.escape(problem)):
        generate.binder_requirements(text)


def test_generator_keeps_torch_lookalikes():
    generate = _load_generator()
    out = generate.binder_requirements("torchvision==0.28.0\ntorch==2.13.0\ntorch-geometric==2.7.0\n")
    assert out.splitlines()[-3:] == ["torchvision==0.28.0", "torch==2.13.0+cpu", "torch-geometric==2.7.0"]


def test_binder_folder_holds_every_repo2docker_file():
    """With binder/ present repo2docker ignores the root's configuration files, so none may stay there."""
    for name in ("requirements.txt", "runtime.txt", "postBuild"):
        assert (BINDER / name).is_file(), f"binder/{name} is missing"
    for name in ("runtime.txt", "postBuild", "environment.yml", "apt.txt", "start", "Dockerfile", "Project.toml"):
        assert not (ROOT / name).exists(), f"{name} at the repository root is ignored by repo2docker (binder/ exists)"
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
