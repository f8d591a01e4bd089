"""Slider latency of the in-browser explorers (setdyn.viz.explorers) in headless Chromium, per control.

    .venv/bin/python benchmarks/browser_speed.py [--rounds 30]

Writes one page with both explorers (the oscillator explorer with the chapter's
"least-squares fit" preset) and a bare one-trace plotly figure (the baseline:
what one Plotly.react costs on this machine right now), loads it from a local
server in Debian's Chromium and, for every control of each explorer, moves it
``rounds`` times the way a reader does (one input event per animation frame)
and times each input event until the explorer has redrawn (its ``lastRender``
promise resolved: the DOM is updated and the browser paints on the next
frame). Prints the median and the 90th percentile per control (ms) and the
page's main-thread CPU time per move (Chrome's ThreadTime metric: on a loaded
machine the wall-clock latency grows, the CPU time hardly), the same for the
baseline, plus the size of each explorer's HTML. A repaint within one frame means a median below 16 ms.
Uses the shipped model.
"""

from __future__ import annotations

import argparse
import functools
import json
import http.server
import os
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The medians of the last ``--record`` run (read by the latency test).
RECORDED = Path(__file__).with_name("browser_speed_recorded.json")
CHROMIUM = os.environ.get("SETDYN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

#: Installed in the page: window.__controls() lists the controls; window.__move(name, rounds) moves one
#: `rounds` times with a real input (or click) event, one animation frame apart as under a reader's hand,
#: and returns the time from each event until the explorer has redrawn (ms).
SETUP_JS = """() => {
  const insts = Object.values(setdynExplorers.instances);
  const osc = insts.find(i => i.kind === 'oscillator'), net = insts.find(i => i.kind === 'network');
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const slide = (input, i) => {
    const lo = Number(input.min), hi = Number(input.max), st = Number(input.step) || 1;
    const v = Number(input.value), next = i % 2 === 0 && v + st <= hi ? v + st : v - st;
    input.value = String(next >= lo ? next : v + st);
    input.dispatchEvent(new Event('input', {bubbles: true}));
  };
  const base = document.getElementById('baseline'), x = Array.from({length: 501}, (_, i) => i);
  const controls = {};
  controls['baseline: bare Plotly.react'] = [null, i => { base.__p = Plotly.react(base, [{x, y: x.map(v => Math.sin(v / 40 + i))}], {height: 300}); }];
  for (const input of osc.root.querySelectorAll('.sx-params input[type=range]')) controls['oscillator: ' + input.dataset.name] = [osc, i => slide(input, i)];
  for (const k of [0, 1, 2]) controls['oscillator: onset ' + (k + 1)] = [osc, i => slide(osc.root.querySelector(`input[data-onset="${k}"]`), i)];
  controls['oscillator: colour click'] = [osc, i => osc.root.querySelector(`button[data-slot="1"][data-color="${'GPR'[i % 3]}"]`).click()];
  for (const k of [0, 1, 2]) controls['network: onset ' + (k + 1)] = [net, i => slide(net.root.querySelector(`input[data-onset="${k}"]`), i)];
  controls['network: colour click'] = [net, i => net.root.querySelector(`button[data-slot="0"][data-color="${'GPR'[i % 3]}"]`).click()];
  controls['network: noise std (20 noisy runs)'] = [net, i => slide(net.root.querySelector('input[data-name="noise_std"]'), i)];
  window.__controls = () => Object.keys(controls);
  window.__move = async (name, rounds) => {
    const [inst, act] = controls[name];
    if (!inst) await Plotly.newPlot(base, [{x, y: x.map(Math.sin)}], {height: 300});
    if (inst === osc) {
      osc.root.querySelector('button[data-preset="least-squares fit"]').click();
      if (name !== 'oscillator: colour click') for (const [k, c] of ['P', 'G', 'R'].entries()) osc.root.querySelector(`button[data-slot="${k}"][data-color="${c}"]`).click();
      await osc.lastRender;
    }
    const noisy = name.startsWith('network: noise');
    if (noisy) { net.root.querySelector('button[data-action="noise"]').click(); await net.lastRender; }
    const ts = [];
    for (let i = 0; i < rounds; i++) {
      await frame();
      const t0 = performance.now();
      act(i);
      await (inst ? inst.lastRender : base.__p);
      ts.push(performance.now() - t0);
    }
    if (noisy) { net.root.querySelector('button[data-action="clear"]').click(); await net.lastRender; }
    return ts;
  };
}"""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, linear interpolation."""
    v = sorted(values)
    pos = (len(v) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def measure(rounds: int = 30) -> dict[str, list[float]]:
    """Per-control latencies (ms, one list per control) in headless Chromium; see the module docstring."""
    from playwright.sync_api import sync_playwright

    from setdyn.book.sphinx_ext import plotly_js_source
    from setdyn.viz import explorers

    fit = {"amplitude": 5.19, "period_ms": 243.4, "offset": 0.28, "phase0_deg": -45.0, "kick_delay_ms": 40.0,
           "kick_deg": {"green": -17.1, "purple": -142.2, "red": 97.7}}
    osc = explorers.oscillator_explorer_html(presets={"least-squares fit": explorers.params_from_fit(fit)})
    net = explorers.network_explorer_html()
    for name, h in (("oscillator", osc), ("network", net)):
        print(f"page weight, {name} explorer: {len(h.encode()) / 1024:.0f} kB (beyond plotly.js, "
              f"{plotly_js_source().stat().st_size / 1e6:.1f} MB, shared)")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(plotly_js_source(), Path(tmp) / "plotly.min.js")
        (Path(tmp) / "bench.html").write_text(
            '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>'
            f'<script src="plotly.min.js"></script>{osc}{net}<div id="baseline"></div></body></html>',
            encoding="utf-8")

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format, *a):  # noqa: A002
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/bench.html")
                page.wait_for_function("() => window.setdynExplorers && Object.keys(setdynExplorers.instances).length === 2")
                page.evaluate(SETUP_JS)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")

                def cpu_s() -> float:
                    return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                                if m["name"] == "ThreadTime")

                times, cpu = {}, {}
                for name in page.evaluate("() => __controls()"):
                    c0 = cpu_s()
                    times[name] = page.evaluate("([n, r]) => __move(n, r)", [name, rounds])
                    cpu[name] = 1000 * (cpu_s() - c0) / rounds
                browser.close()
        finally:
            server.shutdown()
    return times, cpu


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--record", action="store_true",
                        help=f"write the medians to {RECORDED.name}, the values tests/test_widgets_browser.py scales its bound from")
    args = parser.parse_args(argv)
    times, cpu = measure(args.rounds)
    out = {}
    print(f"latency per control over {args.rounds} moves (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs), ms; cpu: the page's main-thread CPU time per move (what a busy machine "
          "cannot inflate):")
    print(f"  {'control':42s} {'median':>8s} {'p90':>8s} {'cpu':>8s}")
    for k, v in times.items():
        out[k] = (statistics.median(v), percentile(v, 90), cpu[k])
        print(f"  {k:42s} {out[k][0]:8.2f} {out[k][1]:8.2f} {out[k][2]:8.2f}")
    if args.record:
        RECORDED.write_text(json.dumps({
            "what": "benchmarks/browser_speed.py --record: per control, median and p90 latency (ms) and main-thread CPU ms per move",
            "rounds": args.rounds, "load_average": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(),
            "controls": {k: {"median_ms": round(v[0], 2), "p90_ms": round(v[1], 2), "cpu_ms": round(v[2], 2)}
                         for k, v in out.items()}}, indent=1) + "\n", encoding="utf-8")
        print(f"recorded in {RECORDED}")
    return out


if __name__ == "__main__":
    main()
