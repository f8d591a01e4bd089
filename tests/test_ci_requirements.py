"""Under the environment variable CI a missing requirement fails; on a developer's machine it skips."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PROBE = '''
import pytest
from conftest import missing_requirement

def test_needs_a_compiler():
    missing_requirement("no such compiler")

def test_needs_a_module():
    pytest.importorskip("setdyn_no_such_module")

def test_not_applicable_here():
    pytest.skip("a legitimate skip: not this machine's case")
'''


@pytest.mark.parametrize("ci", [False, True])
def test_missing_requirements_fail_only_under_ci(tmp_path, ci):
    probe = TESTS / f"_probe_ci_{os.getpid()}_{int(ci)}_test.py"
    probe.write_text(PROBE)
    try:
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        if ci:
            env["CI"] = "1"
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(probe)],
                           cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300)
    finally:
        probe.unlink()
    out = r.stdout
    if ci:
        assert "2 failed, 1 skipped" in out, out
        assert "missing requirement under CI: no such compiler" in out
        assert "missing requirement under CI" in out.split("test_needs_a_module")[-1]
    else:
        assert "3 skipped" in out and r.returncode == 0, out
