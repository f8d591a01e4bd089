"""The Binder path, on this machine: JupyterLab opens every chapter as a notebook, runs it, widgets answer.

A temporary copy of the repository is prepared the way repo2docker prepares
Binder's image and session (see ``tests/lab_helpers.py``): the repository is
``$HOME``, ``postBuild`` runs in it (installing the JupyterLab settings
override that makes *Jupytext Notebook* the default viewer of ``.md`` files),
then the project's ``jupyter lab`` serves it on 127.0.0.1 (random port,
token). Headless Debian Chromium, driven by Playwright, opens each chapter of
``_toc.yml`` that has code cells at the URL its Binder launch button opens
(``lab/tree/book/<chapter>.md``), so the default viewer is what is tested:
the chapter must open as a notebook, not as text, and its kernel must start.
Chapters with ipywidgets are then run (Run > Run All Cells, wait for the
kernel to go idle, no cell failed, plotly figures drawn), one slider is moved
with the keyboard and the output must change (the Python callback ran and
updated the figure or text). Chapters without widgets are not run again here:
their code ran once in the book build, whose executed notebooks
``test_book_notebooks.py`` and ``test_book_claims.py`` check.

Every request leaving the machine is blocked and fails the test. One
screenshot per chapter goes to ``_build/screenshots/lab/``; per-chapter
seconds are printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENSHOTS, is_local
from lab_helpers import (
    LabServer,
    base_env,
    copy_repository,
    decode_ws_frame,
    free_port,
    kernel_error_text,
    make_app_dir,
    run_postbuild,
)
from setdyn.book.build import is_notebook, page_source, toc_files

SHOTS = SCREENSHOTS / "lab"
#: What a Binder launch button asks JupyterLab to open (``urlpath`` of the Binder URL).
URLPATH = "lab/tree/{path}"
JUPYTEXT_VIEWER = "Jupytext Notebook"
CHAPTER_TIMEOUT_S = 240
WIDGET_IMPORT = re.compile(r"^\s*(import ipywidgets|from ipywidgets\b|from setdyn\.viz import .*\bexplorers\b|"
                           r"import setdyn\.viz\.explorers|from setdyn\.viz\.explorers\b)", re.M)


@dataclass
class Chapter:
    name: str  # toc entry, e.g. book/machinery
    path: str  # relative source path, e.g. book/machinery.md
    code_cells: int
    has_widgets: bool


def _chapters() -> list[Chapter]:
    import jupytext

    out = []
    for name in toc_files(ROOT):
        src = page_source(name, ROOT)
        if not is_notebook(src):  # a plain Markdown page (its ```bash blocks are not code cells)
            continue
        nb = jupytext.read(src)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if not code:
            continue
        source = "\n".join(c.source for c in code)
        out.append(Chapter(name, src.relative_to(ROOT).as_posix(), len(code), bool(WIDGET_IMPORT.search(source))))
    return out


CHAPTERS = _chapters()


# --------------------------------------------------------------------------- the server, as on Binder


@dataclass
class Lab:
    server: LabServer
    repo: Path
    app_dir: Path
    times: dict[str, float] = field(default_factory=dict)


def _say(config, msg: str) -> None:
    """Print even under pytest's output capture (the per-chapter seconds are part of the test's report)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        print(msg, flush=True)
        return
    with capman.global_and_fixture_disabled():
        print(msg, flush=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, request):
    t0 = time.perf_counter()
    tmp = tmp_path_factory.mktemp("binder")
    repo = copy_repository(tmp / "home")  # on Binder the repository is $HOME
    app_dir = make_app_dir(tmp / "lab-app")
    env = base_env(home=repo, app_dir=app_dir, pythonpath=repo)

    built = run_postbuild(repo, env)
    assert built.returncode == 0, f"postBuild failed ({built.returncode}):\n{built.stdout}\n{built.stderr}"
    overrides = sorted((app_dir / "settings" / "overrides.d").glob("*.json"))
    assert overrides, f"postBuild installed no settings override in {app_dir / 'settings' / 'overrides.d'}"

    # The kernel must run the copy's setdyn (PYTHONPATH wins over the editable install of /work/main).
    where = subprocess.run(
        [str(Path(env["VIRTUAL_ENV"]) / "bin" / "python"), "-c", "import setdyn; print(setdyn.__file__)"],
        cwd=repo / "book", env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(where).resolve().is_relative_to(repo.resolve()), f"kernel would import setdyn from {where}"

    server = LabServer(repo, env, tmp / "jupyter-lab.log")
    lab = Lab(server, repo, app_dir)
    try:
        server.start()
        _say(request.config, f"\n[binder-lab] copy + postBuild + server start: {time.perf_counter() - t0:.1f} s")
        yield lab
    finally:
        server.stop()
        if lab.times:
            summary = ", ".join(f"{k}: {v:.1f} s" for k, v in lab.times.items())
            _say(request.config, f"\n[binder-lab] per-chapter seconds: {summary} (total {sum(lab.times.values()):.0f} s)")
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "jupyter-lab.log").write_text(server.log_text() if server.log_path.exists() else "")


def test_default_viewer_for_markdown_is_jupytext(lab):
    """The settings JupyterLab serves (defaults + overrides) open .md/MyST files with Jupytext."""
    plugin = lab.server.api("GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    default = plugin["schema"]["properties"]["defaultViewers"]["default"]
    assert default.get("markdown") == JUPYTEXT_VIEWER, default
    assert default.get("myst") == JUPYTEXT_VIEWER, default


@pytest.mark.parametrize("mechanism", ["postBuild", "home", "neither"])
def test_each_override_mechanism_alone(lab, tmp_path, mechanism):
    """Either way of applying the override works by itself: postBuild's app-dir settings override, or
    ``~/.jupyter/labconfig`` (the repository is $HOME on Binder). Without both, nothing else (e.g. the
    environment itself) provides it, so the chapter tests really depend on the repository's files."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = dict(lab.server.env)
    settings_dir = lab.app_dir / "settings"
    if mechanism in ("postBuild", "neither"):
        env["HOME"] = str(empty)  # no ~/.jupyter/labconfig
    if mechanism in ("home", "neither"):
        settings_dir = empty  # no app-dir override
    code = (
        "import json, sys\n"
        "from jupyterlab_server.settings_utils import _get_overrides\n"
        "overrides, error = _get_overrides(sys.argv[1])\n"
        "print(json.dumps(overrides))\n"
    )
    out = subprocess.run(
        [str(Path(env["VIRTUAL_ENV"]) / "bin" / "python"), "-c", code, str(settings_dir)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    viewers = json.loads(out).get("@jupyterlab/docmanager-extension:plugin", {}).get("defaultViewers", {})
    if mechanism == "neither":
        assert viewers.get("markdown") != JUPYTEXT_VIEWER, f"the environment itself sets {viewers}"
    else:
        assert viewers.get("markdown") == JUPYTEXT_VIEWER, f"{mechanism}: {viewers}"


def test_launch_buttons_open_their_chapter(built_book):
    """The built page of each chapter has a Binder button whose urlpath is the one this test opens."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo_url = config["repository"]["url"].rstrip("/")
    gh = re.match(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?$", repo_url)
    branch = config["repository"].get("branch", "main")
    assert CHAPTERS, "no chapter with code cells in _toc.yml"
    for ch in CHAPTERS:
        html = (built_book / f"{ch.name}.html").read_text(encoding="utf-8")
        links = set(re.findall(r"https://mybinder\.org/v2/[^\"'<> ]+", html))
        want = "urlpath=" + URLPATH.format(path=ch.path)
        good = [u for u in links if u.replace("&amp;", "&").split("?", 1)[-1].split("&").count(want)]
        assert good, f"{ch.name}: no Binder link with {want!r} in {sorted(links)}"
        if gh:
            assert all(f"/v2/gh/{gh.group(1)}/{branch}?" in u for u in good), (ch.name, good, repo_url, branch)


# --------------------------------------------------------------------------- the chapters


@pytest.fixture(scope="module")
def lab_browser(playwright_session):
    """Headless Debian Chromium whose only way out is a proxy that does not exist.

    Requests to 127.0.0.1/localhost bypass the proxy; everything else fails in
    the browser (blocked) and is recorded by the test through ``page.on("request")``.
    Unlike Playwright's request interception this keeps JupyterLab's ~140 requests
    per page load on Chromium's fast path (about 3 s per chapter here).
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does it)", pytrace=False)
    nowhere = free_port()  # nothing listens there
    args = [*CHROMIUM_ARGS, f"--proxy-server=http://127.0.0.1:{nowhere}", "--proxy-bypass-list=127.0.0.1;localhost"]
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield browser
    browser.close()



_PROMPTS_JS = "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim())"
_KERNEL_IDLE_JS = """() => {
  const bar = document.querySelector('#jp-main-statusbar');
  const inds = [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')];
  return !!bar && /\\|\\s*Idle/.test(bar.textContent) && inds.every(e => e.dataset.status === 'idle');
}"""
_OUTPUTS_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')].map(e => ({
  mime: e.getAttribute('data-mime-type') || '', cls: e.className, text: e.textContent.slice(0, 3000)}))"""
_PLOTS_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel .js-plotly-plot')].map(gd => ({
  drawn: !!gd.querySelector('.main-svg'), traces: (gd.data || []).length}))"""
# What the Python side displays: the output minus the sliders themselves (whose readout the browser
# updates alone), plus the data and shapes of every plotly figure in it.
_SIGNATURE_JS = """(handle) => {
  const out = handle.closest('.jp-OutputArea-output');
  const clone = out.cloneNode(true);
  clone.querySelectorAll('.widget-slider, .widget-hslider, .widget-vslider').forEach(n => n.remove());
  const plots = [...out.querySelectorAll('.js-plotly-plot')].map(gd => JSON.stringify(
    [gd.data, (gd.layout || {}).shapes, (gd.layout || {}).annotations]));
  return JSON.stringify([clone.textContent, plots]);
}"""
ERROR_MARKERS = ("Traceback (most recent call last)", "Error displaying widget", "Failed to load model class")


def _wait(cond, timeout: float, what: str, page, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        page.wait_for_timeout(interval * 1000)


def _dialog_text(page) -> str | None:
    dialog = page.locator(".jp-Dialog")
    return dialog.first.inner_text() if dialog.count() else None


def _run_all(page) -> None:
    """Run > Run All Cells from the menu bar, once the command is enabled for this notebook."""
    for _attempt in range(20):
        page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.click("#jp-MainMenu .lm-MenuBar-itemLabel:text-is('Run')")
        item = page.locator(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Run All Cells'))").first
        item.wait_for(state="visible", timeout=10_000)
        if "lm-mod-disabled" not in (item.get_attribute("class") or ""):
            item.click()
            return
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    raise AssertionError("Run > Run All Cells stayed disabled")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name.rsplit("/", 1)[-1] for c in CHAPTERS])
def test_chapter_runs_in_jupyterlab(chapter: Chapter, lab: Lab, lab_browser, request):
    server = lab.server
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{chapter.name.rsplit('/', 1)[-1]}.png"
    external: list[str] = []
    problems: list[str] = []
    kernel_errors: list[str] = []
    log_start = len(server.log_text())
    times: dict[str, float] = {}
    t0 = time.perf_counter()

    context = lab_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = None
    try:
        page = context.new_page()
        # Non-local requests cannot leave (see lab_browser); any attempt fails the test.
        page.on("request", lambda req: None if is_local(req.url) else external.append(req.url))
        page.on("pageerror", lambda exc: problems.append(f"uncaught JS error: {exc}"))
        page.on("console", lambda m: problems.append(f"console error: {m.text}") if m.type == "error" else None)

        def on_ws(ws):
            if not is_local(ws.url):
                external.append(ws.url)
            if "/api/kernels/" in ws.url:
                def on_frame(payload):
                    msg = decode_ws_frame(payload)
                    text = msg and kernel_error_text(*msg)
                    if text:
                        kernel_errors.append(text)

                ws.on("framereceived", on_frame)

        page.on("websocket", on_ws)

        # 1. Open the chapter at the URL of its launch button: it must come up as a notebook.
        page.goto(server.url(URLPATH.format(path=chapter.path)), timeout=120_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell, .jp-FileEditor", timeout=120_000)
        assert page.locator(".jp-FileEditor").count() == 0, (
            f"{chapter.path} opened in the text editor, not as a notebook (default viewer override missing?)")
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").first.inner_text()
        assert Path(chapter.path).name in tab, f"the current tab is {tab!r}, not {chapter.path}"
        try:  # cells are rendered progressively
            _wait(lambda: len(page.evaluate(_PROMPTS_JS)) >= chapter.code_cells, 60, "every code cell", page)
        finally:
            n_cells = len(page.evaluate(_PROMPTS_JS))
        assert n_cells == chapter.code_cells, f"notebook shows {n_cells} code cells, the chapter has {chapter.code_cells}"
        _wait(lambda: page.evaluate(_KERNEL_IDLE_JS), 120, "the kernel to start", page)
        times["open"] = time.perf_counter() - t0

        if not chapter.has_widgets:
            # Its code already ran once, in the book build (test_book_notebooks.py checks the executed
            # notebook, test_book_claims.py its numbers); running it again here would only repeat that.
            # What is JupyterLab's own is checked: it opens as a notebook and its kernel starts.
            page.screenshot(path=str(shot))
            assert not external, f"requests outside this machine (blocked): {external}"
            assert not problems, f"{chapter.path} in JupyterLab:\n  " + "\n  ".join(problems[:20])
            return

        # 2. Run > Run All Cells; wait until every cell is done and the kernel is idle.
        t1 = time.perf_counter()
        _run_all(page)

        def started():
            if _dialog_text(page):
                raise AssertionError(f"a dialog appeared instead of running: {_dialog_text(page)!r}")
            return any(p != "[ ]:" for p in page.evaluate(_PROMPTS_JS))

        _wait(started, 30, "the cells to start running", page)
        stable = {"since": None}

        def finished():
            busy = any("*" in p for p in page.evaluate(_PROMPTS_JS)) or not page.evaluate(_KERNEL_IDLE_JS)
            if busy:
                stable["since"] = None
                return False
            stable["since"] = stable["since"] or time.monotonic()
            return time.monotonic() - stable["since"] > 1.0

        _wait(finished, CHAPTER_TIMEOUT_S, "Run All Cells to finish", page)
        times["run"] = time.perf_counter() - t1

        # 3. No cell failed.
        prompts = page.evaluate(_PROMPTS_JS)
        not_run = [i + 1 for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p)]
        shown = [o["text"] for o in page.evaluate(_OUTPUTS_JS) if any(m in o["text"] for m in ERROR_MARKERS)]
        assert not kernel_errors and not shown and not not_run, (
            f"{chapter.path}: code cells not run: {not_run}\nerrors:\n"
            + "\n---\n".join((kernel_errors or shown)[:3])[:6000]
        )
        plots = page.evaluate(_PLOTS_JS)
        assert all(p["drawn"] for p in plots), f"plotly figures not drawn: {plots}"
        fallback = [o["text"][:80] for o in page.evaluate(_OUTPUTS_JS)
                    if o["mime"] == "text/plain" and o["text"].startswith(("Figure({", "<plotly figure"))]
        assert not fallback, f"plotly figures shown as text (no plotly renderer in JupyterLab?): {fallback}"

        # 4. Widgets: move a slider, the Python callback must change what is displayed.
        if chapter.has_widgets:
            t2 = time.perf_counter()
            handle = page.locator(".jp-OutputArea-output .widget-slider .noUi-handle").first
            handle.wait_for(state="attached", timeout=30_000)
            handle.scroll_into_view_if_needed()
            before = handle.evaluate(_SIGNATURE_JS)
            value, vmax = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
            key = "ArrowLeft" if value is not None and value == vmax else "ArrowRight"
            handle.focus()
            page.keyboard.press(key)
            _wait(lambda: handle.get_attribute("aria-valuenow") != value, 10, "the slider to move", page)

            def changed():
                if kernel_errors:  # the callback raised: say so now rather than time out
                    raise AssertionError(f"{chapter.path}: error after moving the slider:\n"
                                         + "\n---\n".join(kernel_errors)[:6000])
                return handle.evaluate(_SIGNATURE_JS) != before

            _wait(changed, 60, f"the output to change after moving the slider {value} -> "
                  f"{handle.get_attribute('aria-valuenow')} (Python callback)", page)
            _wait(lambda: page.evaluate(_KERNEL_IDLE_JS), 60, "the kernel to go idle after the callback", page)
            page.wait_for_timeout(500)
            times["widget"] = time.perf_counter() - t2
            assert not kernel_errors, f"{chapter.path}: error after moving the slider:\n" + "\n---\n".join(kernel_errors)[:6000]
        else:
            page.locator(".jp-NotebookPanel .jp-Cell").first.scroll_into_view_if_needed()

        page.screenshot(path=str(shot))
        log = server.log_text()[log_start:]
        tracebacks = [m.start() for m in re.finditer(r"Traceback \(most recent call last\)", log)]
        assert not tracebacks, f"traceback in the server/kernel log:\n{log[max(0, tracebacks[0] - 2000):][:6000]}"
        assert not external, f"requests outside this machine (blocked): {external}"
        assert not problems, f"{chapter.path} in JupyterLab:\n  " + "\n  ".join(problems[:20])
    except BaseException:
        if page is not None:
            try:
                page.screenshot(path=str(shot))
            except Exception:  # noqa: BLE001
                pass
        raise
    finally:
        context.close()
        server.close_documents()  # shut the chapter's kernel down; next chapter starts from a clean workspace
        total = time.perf_counter() - t0
        lab.times[chapter.name] = total
        parts = ", ".join(f"{k} {v:.1f}" for k, v in times.items())
        _say(request.config, f"\n[binder-lab] {chapter.name}: {total:.1f} s ({parts})")
