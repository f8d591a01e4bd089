"""Slider latency of the in-browser explorers (setdyn.viz.explorers) in headless Chromium, per control.

    .venv/bin/python benchmarks/browser_speed.py [--rounds 30]

Writes one page with both explorers (the oscillator explorer with the chapter's
"least-squares fit" preset) and a bare one-trace plotly figure (the baseline:
what one Plotly.react costs on this machine right now), loads it from a local
server in Debian's Chromium and, for every control of each explorer, moves it
``rounds`` times the way a reader does (one input event per animation frame)
and times each input event until the explorer has redrawn (its ``lastRender``
promise resolved: the DOM is updated and the browser paints on the next
frame). Prints the median and the 90th percentile per control (ms), the
baseline, and a 3e7-iteration JS loop (how busy the CPU is), plus the size of
each explorer's HTML. A repaint within one frame means a median below 16 ms.
Uses the shipped model.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHROMIUM = os.environ.get("SETDYN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

#: One function in the page: time every control of both explorers. A control is moved with a real input
#: (or click) event; between two moves the page gets one animation frame, as under a reader's hand.
BENCH_JS = """async (rounds) => {
  const insts = Object.values(setdynExplorers.instances);
  const osc = insts.find(i => i.kind === 'oscillator'), net = insts.find(i => i.kind === 'network');
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const out = {};
  const time = async (key, inst, act) => {
    const ts = [];
    for (let i = 0; i < rounds; i++) {
      await frame();
      const t0 = performance.now();
      act(i);
      await inst.lastRender;
      ts.push(performance.now() - t0);
    }
    out[key] = ts;
  };
  const slide = (input, i) => {
    const lo = Number(input.min), hi = Number(input.max), st = Number(input.step) || 1;
    const n = Math.max(1, Math.min(20, Math.round((hi - lo) / st)));
    const v = Number(input.value), next = v + st <= hi && i % 2 === 0 ? v + st : v - st;
    input.value = String(next >= lo ? next : lo + st);
    input.dispatchEvent(new Event('input', {bubbles: true}));
  };
  // baseline: a bare one-trace Plotly.react of a 501-point line
  const base = document.getElementById('baseline'), x = Array.from({length: 501}, (_, i) => i);
  await Plotly.newPlot(base, [{x, y: x.map(Math.sin)}], {height: 300});
  const bt = [];
  for (let i = 0; i < rounds; i++) {
    await frame();
    const t0 = performance.now();
    await Plotly.react(base, [{x, y: x.map(v => Math.sin(v / 40 + i))}], {height: 300});
    bt.push(performance.now() - t0);
  }
  out['baseline: bare Plotly.react'] = bt;
  // oscillator explorer: a set with all colours, the least-squares fit loaded
  osc.root.querySelector('button[data-preset="least-squares fit"]').click();
  for (const [k, c] of ['P', 'G', 'R'].entries()) osc.root.querySelector(`button[data-slot="${k}"][data-color="${c}"]`).click();
  await osc.lastRender;
  for (const input of osc.root.querySelectorAll('.sx-params input[type=range]')) {
    await time('oscillator: ' + input.dataset.name, osc, i => slide(input, i));
  }
  for (const k of [0, 1, 2]) {
    const input = osc.root.querySelector(`input[data-onset="${k}"]`);
    await time('oscillator: onset ' + (k + 1), osc, i => slide(input, i));
  }
  await time('oscillator: colour click', osc, i => osc.root.querySelector(`button[data-slot="1"][data-color="${'GPR'[i % 3]}"]`).click());
  // network explorer
  for (const k of [0, 1, 2]) {
    const input = net.root.querySelector(`input[data-onset="${k}"]`);
    await time('network: onset ' + (k + 1), net, i => slide(input, i));
  }
  await time('network: colour click', net, i => net.root.querySelector(`button[data-slot="0"][data-color="${'GPR'[i % 3]}"]`).click());
  net.root.querySelector('button[data-action="noise"]').click();
  await net.lastRender;
  const std = net.root.querySelector('input[data-name="noise_std"]');
  await time('network: noise std (20 noisy runs)', net, i => slide(std, i));
  net.root.querySelector('button[data-action="clear"]').click();
  await net.lastRender;
  const cpu = [];
  for (let i = 0; i < 3; i++) { const t0 = performance.now(); let s = 0; for (let j = 0; j < 3e7; j++) s += Math.sqrt(j); cpu.push(performance.now() - t0 + 0 * s); }
  out['cpu: 3e7-iteration loop'] = cpu;
  return out;
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
                times = page.evaluate(BENCH_JS, rounds)
                browser.close()
        finally:
            server.shutdown()
    return times


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    times = measure(args.rounds)
    out = {}
    print(f"latency per control over {args.rounds} moves (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs), ms:")
    print(f"  {'control':42s} {'median':>8s} {'p90':>8s}")
    for k, v in times.items():
        out[k] = (statistics.median(v), percentile(v, 90))
        print(f"  {k:42s} {out[k][0]:8.2f} {out[k][1]:8.2f}")
    return out


if __name__ == "__main__":
    main()
