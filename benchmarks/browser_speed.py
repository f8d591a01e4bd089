"""Speed of the in-browser explorers (setdyn.viz.explorers) in headless Chromium.

    .venv/bin/python benchmarks/browser_speed.py [--rounds 40]

Writes one page with both explorers and a bare one-trace plotly figure (the
baseline: what any Plotly.react costs on this machine right now), loads it
from a local server in Debian's Chromium and measures, interleaved so that
background load hits all alike (medians, ms):

* oscillator: one slider input event -> recompute + Plotly.react;
* network: one 50-step CT-RNN simulation; one colour click -> simulate +
  Plotly.react; 20 noisy runs + Plotly.react;
* baseline: Plotly.react of a 501-point line;
* a 3e7-iteration JS loop (how busy the CPU is).

Also prints the size of each explorer's HTML (what it adds to a page beyond
plotly.js). Uses the shipped model.
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

BENCH_JS = """async (rounds) => {
  const insts = Object.values(setdynExplorers.instances);
  const osc = insts.find(i => i.kind === 'oscillator'), net = insts.find(i => i.kind === 'network');
  const base = document.getElementById('baseline');
  const x = Array.from({length: 501}, (_, i) => i);
  await Plotly.newPlot(base, [{x, y: x.map(Math.sin)}], {height: 300});
  const slider = osc.root.querySelector('input[data-name="amplitude"]');
  const buttons = ['G', 'P', 'R'].map(c => net.root.querySelector(`button[data-slot="0"][data-color="${c}"]`));
  const codes = setdynExplorers.stimulus(net.data.task, [1, 0, 2], [50, 150, 250]);
  const t = {oscillator_slider: [], network_simulation: [], network_click: [], network_noise: [], baseline_react: [], cpu_loop: []};
  const time = async (key, f) => { const t0 = performance.now(); await f(); t[key].push(performance.now() - t0); };
  for (let i = 0; i < rounds; i++) {
    await time('baseline_react', () => Plotly.react(base, [{x, y: x.map(v => Math.sin(v / 40 + i))}], {height: 300}));
    await time('oscillator_slider', () => {
      slider.value = String(4 + (i % 20) * 0.3);
      slider.dispatchEvent(new Event('input', {bubbles: true}));
      return osc.lastRender;
    });
    for (let k = 0; k < 10; k++) await time('network_simulation', () => setdynExplorers.simulate(net.net, codes, 0, 0));
    await time('network_click', () => { buttons[i % 3].click(); return net.lastRender; });
    if (i % 4 === 0) {
      await time('network_noise', () => { net.root.querySelector('button[data-action="noise"]').click(); return net.lastRender; });
      net.root.querySelector('button[data-action="clear"]').click();
      await net.lastRender;
    }
    if (i % 10 === 0) await time('cpu_loop', () => { let s = 0; for (let j = 0; j < 3e7; j++) s += Math.sqrt(j); return s; });
  }
  return t;
}"""


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from setdyn.viz import explorers as widgets
    from setdyn.book.sphinx_ext import plotly_js_source

    osc, net = widgets.oscillator_explorer_html(), widgets.network_explorer_html()
    for name, h in (("oscillator", osc), ("network", net)):
        print(f"page weight, {name} explorer: {len(h.encode()) / 1024:.0f} kB (beyond plotly.js, "
              f"{plotly_js_source().stat().st_size / 1e6:.1f} MB, shared)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copyfile(plotly_js_source(), root / "plotly.min.js")
        (root / "bench.html").write_text(
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
                times = page.evaluate(BENCH_JS, args.rounds)
                browser.close()
        finally:
            server.shutdown()
    med = {k: statistics.median(v[len(v) // 5:] or v) for k, v in times.items()}
    load = os.getloadavg()[0]
    print(f"medians over {args.rounds} rounds (load average {load:.1f} on {os.cpu_count()} CPUs):")
    for k, v in med.items():
        print(f"  {k:20s} {v:8.2f} ms")
    return med


if __name__ == "__main__":
    main()
