"""JupyterLab as Binder runs it, on this machine: a repository copy, postBuild, a real server.

Used by ``tests/test_binder_lab.py``. Nothing here is mocked: the server is the
project's ``jupyter lab`` (from ``.venv``), started the way repo2docker's image
starts it, with the repository as ``$HOME`` and ``binder/postBuild`` run first.

What differs from Binder, and why:

* ``postBuild``'s ``pip install --no-deps -e .`` runs with ``PIP_DRY_RUN=1``
  (offline, no build isolation): pip really builds the editable metadata, so
  a broken ``pyproject.toml`` fails, but the shared ``.venv`` is left alone.
  The kernel imports the copy's ``setdyn`` through ``PYTHONPATH`` instead.
* JupyterLab's application directory is a temporary directory
  (``JUPYTERLAB_DIR``) whose ``static``, ``schemas`` and ``themes`` are links to
  ``.venv/share/jupyter/lab``, so ``postBuild`` installs its settings override
  there and not into the shared environment.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)  # the project's environment (tests run from .venv/bin/python)


# --------------------------------------------------------------------------- the repository copy


def repository_files(root: Path = ROOT) -> list[Path]:
    """Files git would put in a clone plus untracked, not-ignored files (what Binder would see after a commit)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    return [Path(p.decode()) for p in out.split(b"\0") if p]


def copy_repository(dest: Path, root: Path = ROOT) -> Path:
    """Copy the repository's files (not .git, not ignored files such as .venv or _build) to ``dest``."""
    for rel in repository_files(root):
        src = root / rel
        if not src.is_file():  # deleted in the working tree, or a submodule
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def make_app_dir(dest: Path) -> Path:
    """A JupyterLab application directory sharing the environment's built assets (read-only links)."""
    source = VENV / "share" / "jupyter" / "lab"
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("static", "schemas", "themes"):
        if (source / name).exists():
            (dest / name).symlink_to(source / name, target_is_directory=True)
    return dest


def base_env(home: Path, app_dir: Path, pythonpath: Path) -> dict[str, str]:
    """The environment of Binder's user session: repository = $HOME, nothing from this machine's Jupyter config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "JPY_", "PYTHON", "PIP_", "VIRTUAL_ENV", "IPYTHONDIR", "MPLCONFIGDIR"))
    }
    env.update(
        HOME=str(home),
        JUPYTERLAB_DIR=str(app_dir),
        PYTHONPATH=str(pythonpath),
        PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        VIRTUAL_ENV=str(VENV),
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_postbuild(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``binder/postBuild`` like repo2docker does (``./binder/postBuild``, ``cwd`` = repository), pip in dry-run mode."""
    pip_env = dict(
        env,
        PIP_DRY_RUN="1",  # see the module docstring
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",  # (sic) pip's spelling for "do not isolate the build"
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    script = repo / "binder" / "postBuild"  # binder/ exists, so repo2docker reads only binder/
    cmd = [str(script)] if os.access(script, os.X_OK) else ["bash", str(script)]
    return subprocess.run(cmd, cwd=repo, env=pip_env, capture_output=True, text=True, timeout=300)


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` on 127.0.0.1, a random free port and a random token; ``stop()`` always cleans up."""

    def __init__(self, repo: Path, env: dict[str, str], log_path: Path) -> None:
        self.repo, self.env, self.log_path = repo, env, log_path
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    # -- lifecycle

    def start(self, timeout: float = 120.0) -> "LabServer":
        cmd = [
            str(VENV / "bin" / "python"),
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.repo}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers (and this CI) run as root; Binder does not
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            cmd, cwd=self.repo, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=5)
                return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def stop(self) -> None:
        """Shut down kernels and server (REST first, then signals to the server's process group)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                for kernel in self.api("GET", "/api/kernels", timeout=10):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=20)
            except Exception:  # noqa: BLE001 - best effort; signals follow
                pass
            try:
                self.api("POST", "/api/shutdown", timeout=10)
            except Exception:  # noqa: BLE001
                pass
            for sig, wait in ((None, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                if sig is not None and self.proc.poll() is None:
                    try:
                        os.killpg(self.proc.pid, sig)
                    except ProcessLookupError:
                        break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log:
            self._log.close()
            self._log = None

    # -- REST API

    def api(self, method: str, path: str, body: object = None, timeout: float = 30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None

    def url(self, urlpath: str) -> str:
        """Browser URL for a Binder-style ``urlpath`` (e.g. ``lab/tree/book/x.md``), token included."""
        sep = "&" if "?" in urlpath else "?"
        return f"{self.base}/{urlpath}{sep}token={self.token}"

    def close_documents(self) -> None:
        """End every kernel session and forget the workspace, so the next chapter starts clean."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}", timeout=60)
        for ws in self.api("GET", "/lab/api/workspaces")["workspaces"]["ids"]:
            self.api("DELETE", f"/lab/api/workspaces/{ws}")

    # -- the log (the server's and its kernels' stdout/stderr)

    def log_text(self) -> str:
        if self._log:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, n: int = 4000) -> str:
        return self.log_text()[-n:]


# --------------------------------------------------------------------------- kernel messages seen by the browser


def decode_ws_frame(payload: bytes | str) -> tuple[str, dict, dict] | None:
    """(channel, header, content) of a kernel websocket frame, both protocols JupyterLab speaks.

    ``v1.kernel.websocket.jupyter.org`` (binary): uint64 count of offsets, the
    offsets, then channel, header, parent header, metadata, content, buffers.
    The legacy protocol sends JSON text.
    """
    try:
        if isinstance(payload, str):
            msg = json.loads(payload)
            return msg.get("channel", ""), msg.get("header", {}), msg.get("content", {})
        (n,) = struct.unpack_from("<Q", payload, 0)
        offsets = struct.unpack_from(f"<{n}Q", payload, 8)
        parts = [payload[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        if len(parts) < 5:
            return None
        return parts[0].decode(), json.loads(parts[1]), json.loads(parts[4])
    except (ValueError, struct.error, UnicodeDecodeError):
        return None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def kernel_error_text(channel: str, header: dict, content: dict) -> str | None:
    """The text of a kernel message that reports an error (an ``error`` message, or a traceback on stderr)."""
    if channel != "iopub":
        return None
    kind = header.get("msg_type")
    if kind == "error":
        tb = "\n".join(content.get("traceback") or [])
        return _ANSI.sub("", f"{content.get('ename')}: {content.get('evalue')}\n{tb}")
    if kind == "stream" and content.get("name") == "stderr" and "Traceback (most recent call last)" in content.get(
        "text", ""
    ):
        return _ANSI.sub("", content["text"])
    return None
