"""Shared fixtures: the built book, a local web server for it, and a guarded Chromium.

Browser tests drive Debian's Chromium (``/usr/bin/chromium``) through Python
Playwright. Every page is opened in a context that blocks any request leaving
the machine and records it, together with JS console errors, uncaught page
errors and failed local requests, in ``GuardedPage.problems``.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SETDYN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # WebGL (plotly 3-D figures) on the CPU: Chromium no longer falls back to
    # SwiftShader by itself when the GPU is disabled.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about", "file", "chrome-error"}
SCREENSHOTS = ROOT / "_build" / "screenshots"


# --------------------------------------------------------------------------- requirements


def missing_requirement(what: str) -> None:
    """A test (or, at module level, a test file) whose requirement is missing: skipped on a
    developer's machine, a failure under the environment variable CI (.ci/run sets it), where
    every requirement must be installed so that nothing is skipped in silence."""
    if os.environ.get("CI"):
        pytest.fail(f"missing requirement under CI: {what}", pytrace=False)
    pytest.skip(what, allow_module_level=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI, a skip for a module that cannot be imported (pytest.importorskip) is a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if "could not import" in reason:
            report.outcome = "failed"
            report.longrepr = f"missing requirement under CI: {reason}"


# --------------------------------------------------------------------------- the book


def _book_is_stale(html: Path) -> str | None:
    """Why the book must be (re)built, or None when _build/html is up to date."""
    from setdyn.book.build import STAMP, source_files

    if not STAMP.exists():
        return "no successful build in _build/html"
    built = STAMP.stat().st_mtime
    newer = [p for p in source_files(ROOT) if p.stat().st_mtime > built]
    if newer:
        return f"{newer[0].relative_to(ROOT)} changed since the last build"
    return None


#: Held while the book builds, so that parallel test processes (pytest -n, xdist) build it once.
BOOK_LOCK = ROOT / "_build" / ".book-build.lock"
#: Book tests run last (see `pytest_collection_modifyitems`), so that under xdist the other tests
#: keep both cores busy while the book builds in the background (`pytest_sessionstart`).
BOOK_TEST_FILES = ("test_book_", "test_binder_lab", "test_emergence", "test_hero_browser", "test_widgets")


def build_book_once() -> str | None:
    """Build ``_build/html`` unless it is up to date, holding `BOOK_LOCK`; the build's output if it
    failed, else None. A process that waited for another's build finds the book fresh and returns."""
    from filelock import FileLock

    BOOK_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(BOOK_LOCK)):
        reason = _book_is_stale(ROOT / "_build" / "html")
        if not reason:
            return None
        print(f"\nbuilding the book ({reason}) ...", flush=True)
        proc = subprocess.run([sys.executable, "-m", "setdyn.book.build", "-q"], cwd=ROOT,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return proc.stdout[-6000:] + proc.stderr[-6000:]
    return None


def _runs_whole_suite(config) -> bool:
    tests = Path(__file__).resolve().parent
    return any(Path(a.split("::")[0]).resolve() == tests for a in config.args)


def pytest_sessionstart(session):
    """Under xdist, the controller starts building the book at once (in a thread that holds
    `BOOK_LOCK`) when the whole suite runs; the workers' `built_book` waits for it."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if _runs_whole_suite(config):
        threading.Thread(target=build_book_once, daemon=True, name="book-build").start()


def pytest_collection_modifyitems(config, items):
    """Book and browser tests last (stable order otherwise; the same on every xdist worker)."""
    def is_book(item) -> bool:
        return Path(str(item.fspath)).name.startswith(BOOK_TEST_FILES)
    items.sort(key=is_book)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """``_build/html``, built first (``python -m setdyn.book.build``) if missing or stale."""
    failure = build_book_once()
    if failure is not None:
        pytest.fail("the book does not build (python -m setdyn.book.build):\n" + failure, pytrace=False)
    return ROOT / "_build" / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


def serve_folder(root: Path):
    """Serve `root` over HTTP on 127.0.0.1 at a free port: yields the base URL (``http://127.0.0.1:<port>/``),
    shuts the server down afterwards. For fixtures: ``yield from serve_folder(root)``."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def book_server(built_book: Path):
    """Base URL (``http://127.0.0.1:<free port>/``) of a local server for the built book."""
    yield from serve_folder(built_book)


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def playwright_session():
    """The one Playwright (sync API) of this test process: a second one in the same process fails
    ("Sync API inside the asyncio loop"), so every browser is launched from this one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_session):
    """Headless Debian Chromium driven by Playwright (never Playwright's own download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install Debian's package: "
            "sudo apt-get update && sudo apt-get install -y chromium "
            "(.ci/run does this), or point SETDYN_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return True
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname in LOCAL_HOSTS


@dataclass
class GuardedPage:
    """A Playwright page plus everything that went wrong on it."""

    page: object
    problems: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def assert_clean(self, what: str = "page") -> None:
        msgs = [f"request outside the book (blocked): {u}" for u in self.external_requests] + self.problems
        assert not msgs, f"{what}:\n  " + "\n  ".join(msgs)


@pytest.fixture
def guarded_page(browser):
    """Factory: ``guarded_page(viewport=...)`` -> GuardedPage with network guard and error capture."""
    contexts = []

    def make(viewport: dict | None = None) -> GuardedPage:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        guarded = GuardedPage(page)

        def route(route, request):
            if is_local(request.url):
                route.continue_()
            else:
                guarded.external_requests.append(request.url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        page.on(
            "console",
            lambda msg: guarded.problems.append(f"console {msg.type}: {msg.text} ({msg.location.get('url', '')})")
            if msg.type == "error"
            else None,
        )
        page.on("pageerror", lambda exc: guarded.problems.append(f"uncaught JS error: {exc}"))

        def on_response(response):
            if response.status >= 400 and is_local(response.url) and not response.url.endswith("/favicon.ico"):
                guarded.problems.append(f"HTTP {response.status} for {response.url}")

        page.on("response", on_response)
        page.on(
            "requestfailed",
            lambda req: guarded.problems.append(f"request failed: {req.url} ({req.failure})")
            if is_local(req.url)
            else None,
        )
        return guarded

    yield make
    for context in contexts:
        context.close()
