/* setdyn emergence scrubber: training as an explorable, one frame per weight snapshot.
 *
 * setdyn/viz/emergence.py inlines this file (the guard makes a second copy a no-op)
 * followed by `setdynEmergence.mount(root)`. The root <figure> holds the payload
 * (setdyn.viz.emergence.scrubber_data) as JSON in <script type="application/json"
 * class="se-data">. Plain SVG, nothing fetched. Every path string is built once at
 * mount; a frame only sets attributes, and the root's data-draw-ms records how long
 * the last frame took (the browser test reads it).
 */
(function () {
  "use strict";
  if (window.setdynEmergence) return;
  const SVG = "http://www.w3.org/2000/svg";
  const PLAY_MS = 450; // time per frame when playing
  const W = 300, H = 220, P = 30; // panel size and padding (SVG units)

  function el(tag, attrs, parent) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, cls, parent, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(x, d) { return x === null || x === undefined ? "–" : Number(x).toFixed(d); }
  function sdeg(a) { const r = Math.round(a); return (r > 0 ? "+" : r < 0 ? "−" : "") + Math.abs(r) + "°"; }

  /** A linear scale [lo, hi] -> [a, b]. */
  function scale(lo, hi, a, b) { const k = (b - a) / (hi - lo || 1); return function (v) { return a + (v - lo) * k; }; }
  function clamp(v, lo, hi) { return v < lo ? lo : v > hi ? hi : v; }
  function pathOf(pts, sx, sy) {
    let d = "";
    for (let i = 0; i < pts.length; i++) d += (i ? "L" : "M") + sx(pts[i][0]).toFixed(1) + "," + sy(pts[i][1]).toFixed(1);
    return d;
  }
  function panel(body, title) {
    const box = html("div", "se-panel", body);
    html("div", "se-title", box, title);
    const svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title }, box);
    return svg;
  }
  function axes(svg, x0, x1, y0, y1) {
    el("rect", { x: P, y: 8, width: W - P - 8, height: H - P - 8, class: "se-frame" }, svg);
  }

  function mount(root) {
    const data = JSON.parse(root.querySelector("script.se-data").textContent);
    const F = data.frames, n = F.length, cols = data.colors.map(function (c) { return c.hex; });
    const body = root.querySelector(".se-body");
    // ---------------------------------------------------------------- controls
    const ctl = html("div", "se-controls", body);
    const play = html("button", "se-play", ctl, "▶ play");
    play.type = "button";
    const slider = html("input", "se-slider", ctl);
    Object.assign(slider, { type: "range", min: 0, max: n - 1, step: 1, value: n - 1 });
    slider.setAttribute("aria-label", "training snapshot");
    const label = html("span", "se-epoch", ctl);
    const status = html("div", "se-status", body);
    const grid = html("div", "se-grid", body);

    // ---------------------------------------------------------------- phase portrait
    let lim = 0.1;
    F.forEach(function (f) {
      f.trials.forEach(function (t) { t.forEach(function (p) { lim = Math.max(lim, Math.abs(p[0]), Math.abs(p[1])); }); });
      f.orbit.forEach(function (p) { lim = Math.max(lim, Math.abs(p[0]), Math.abs(p[1])); });
    });
    lim *= 1.05;
    const pp = panel(grid, "Phase portrait (final network's PCs)");
    axes(pp);
    const px = scale(-lim, lim, P, W - 8), py = scale(-lim, lim, H - P, 8);
    const cx = function (v) { return px(clamp(v, -lim, lim)); }, cy = function (v) { return py(clamp(v, -lim, lim)); };
    el("text", { x: (P + W) / 2, y: H - 8, class: "se-axis" }, pp).textContent = "PC1";
    el("text", { x: 10, y: H / 2, class: "se-axis", transform: "rotate(-90 10 " + H / 2 + ")" }, pp).textContent = "PC2";
    const orbitPath = el("path", { class: "se-orbit" }, pp);
    const exColors = ["#d62728", "#555", "#2ca02c"];
    const trialPaths = data.examples.map(function (e, i) { return el("path", { class: "se-trial", stroke: exColors[i] }, pp); });
    const ends = data.valid.map(function (v) { return el("circle", { r: 3, class: v ? "se-end-valid" : "se-end-invalid" }, pp); });
    const orbitD = F.map(function (f) { return pathOf(f.orbit, cx, cy); });
    const trialD = F.map(function (f) { return f.trials.map(function (t) { return pathOf(t, cx, cy); }); });
    const endXY = F.map(function (f) { return f.ends.map(function (p) { return [cx(p[0]).toFixed(1), cy(p[1]).toFixed(1)]; }); });

    // ---------------------------------------------------------------- output traces
    let zl = 1.2;
    F.forEach(function (f) { f.z.forEach(function (t) { t.forEach(function (v) { zl = Math.max(zl, Math.abs(v)); }); }); });
    zl = Math.min(zl, 3);
    const oz = panel(grid, "Output z(t)");
    axes(oz);
    const T = F[0].z[0].length;
    const tx = scale(0, T, P, W - 8), ty = scale(-zl, zl, H - P, 8);
    [-data.threshold, data.threshold].forEach(function (v) { el("line", { x1: P, x2: W - 8, y1: ty(v), y2: ty(v), class: "se-thr" }, oz); });
    el("text", { x: (P + W) / 2, y: H - 8, class: "se-axis" }, oz).textContent = "time (" + T * data.dt_ms + " ms)";
    const zPaths = data.examples.map(function (e, i) { return el("path", { class: "se-trial", stroke: exColors[i] }, oz); });
    const zD = F.map(function (f) {
      return f.z.map(function (t) { return pathOf(t.map(function (v, k) { return [k + 1, clamp(v, -zl, zl)]; }), tx, ty); });
    });
    const legend = el("g", {}, oz);
    data.examples.forEach(function (e, i) {
      el("text", { x: P + 4, y: 22 + 14 * i, class: "se-legend", fill: exColors[i] }, legend).textContent = e.name + (e.name === "no input" ? "" : e.valid ? " (SET)" : " (no SET)");
    });

    // ---------------------------------------------------------------- eigenvalues
    let el_ = 1.25;
    F.forEach(function (f) { (f.eig || []).forEach(function (e) { el_ = Math.max(el_, Math.abs(e[0]), Math.abs(e[1])); }); });
    el_ = Math.min(el_ * 1.05, 2.5);
    const eg = panel(grid, "Eigenvalues at the fixed point");
    axes(eg);
    const ex = scale(-el_ * 1.36, el_ * 1.36, P, W - 8), ey = scale(-el_, el_, H - P, 8);
    const rx = ex(1) - ex(0), ry = ey(0) - ey(1);
    el("ellipse", { cx: ex(0), cy: ey(0), rx: rx, ry: ry, class: "se-unit" }, eg);
    el("line", { x1: P, x2: W - 8, y1: ey(0), y2: ey(0), class: "se-thr" }, eg);
    el("line", { x1: ex(0), x2: ex(0), y1: 8, y2: H - P, class: "se-thr" }, eg);
    el("text", { x: (P + W) / 2, y: H - 8, class: "se-axis" }, eg).textContent = "Re λ (circle: |λ| = 1)";
    const K = F.reduce(function (m, f) { return Math.max(m, f.eig ? f.eig.length : 0); }, 0);
    const dots = [];
    for (let k = 0; k < K; k++) dots.push(el("circle", { r: 2.6, class: "se-eig" }, eg));
    const eigXY = F.map(function (f) {
      return (f.eig || []).map(function (e) { return [ex(clamp(e[0], -el_ * 1.36, el_ * 1.36)).toFixed(1), ey(clamp(e[1], -el_, el_)).toFixed(1), Math.hypot(e[0], e[1]) >= 1]; });
    });

    // ---------------------------------------------------------------- kicks dial
    const kd = panel(grid, "Kick of one pulse per colour");
    const kc = [W / 2, (H - 10) / 2 + 4], kr = 78;
    el("circle", { cx: kc[0], cy: kc[1], r: kr, class: "se-unit" }, kd);
    [0, 120, -120].forEach(function (a) {
      const t = a * Math.PI / 180;
      el("line", { x1: kc[0], y1: kc[1], x2: kc[0] + kr * Math.cos(t), y2: kc[1] - kr * Math.sin(t), class: "se-thr" }, kd);
    });
    const arrows = cols.map(function (c) { return el("line", { x1: kc[0], y1: kc[1], stroke: c, class: "se-kick" }, kd); });
    const heads = cols.map(function (c) { return el("circle", { r: 5, fill: c }, kd); });
    const kickNote = el("text", { x: W / 2, y: H - 6, class: "se-axis" }, kd);

    // ---------------------------------------------------------------- curves
    const box = html("div", "se-panel se-wide", grid);
    html("div", "se-title", box, "Training: loss (grey, log scale) and noise-free accuracy on fresh onsets (blue)");
    const CW = 760, CH = 190;
    const cs = el("svg", { viewBox: "0 0 " + CW + " " + CH, role: "img", "aria-label": "training curves" }, box);
    el("rect", { x: P + 10, y: 8, width: CW - P - 18, height: CH - P - 8, class: "se-frame" }, cs);
    const lastEpoch = data.epochs[n - 1];
    const lx = function (e) { return scale(0, Math.log10(lastEpoch + 1), P + 10, CW - 8)(Math.log10(e + 1)); };
    const lossV = data.loss.map(function (p) { return p[1]; }).filter(function (v) { return v > 0; });
    const lmin = Math.log10(Math.min.apply(null, lossV.concat([1]))), lmax = Math.log10(Math.max.apply(null, lossV.concat([1])));
    const lyv = scale(lmin, lmax, CH - P, 12), ay = scale(0, 1, CH - P, 12);
    el("path", { d: pathOf(data.loss.filter(function (p) { return p[1] > 0; }).map(function (p) { return [p[0], Math.log10(p[1])]; }), lx, lyv), class: "se-loss" }, cs);
    el("path", { d: pathOf(data.accuracy, lx, ay), class: "se-acc" }, cs);
    [1, 10, 100, 1000].filter(function (e) { return e <= lastEpoch; }).forEach(function (e) {
      el("text", { x: lx(e), y: CH - 16, class: "se-axis" }, cs).textContent = e;
    });
    el("text", { x: (P + CW) / 2, y: CH - 3, class: "se-axis" }, cs).textContent = "epoch (log scale; 0 = untrained)";
    // the birth: the first epoch of the cycle in an epoch-by-epoch scan, else where |λ| crosses 1
    const E = data.events, known = function (v) { return v !== null && v !== undefined; };
    const evs = [["cycle born", known(E.birth_scan_epoch) ? E.birth_scan_epoch : known(E.crossing_epoch)
      ? E.crossing_epoch : E.birth_epoch], ["Z3 code", E.z3_epoch],
    ["paper's accuracy", data.events.accuracy_epoch]];
    let row = 0;
    evs.forEach(function (ev) {
      const e = ev[1];
      if (e === null || e === undefined) return;
      el("line", { x1: lx(e), x2: lx(e), y1: 8, y2: CH - P, class: "se-event" }, cs);
      el("text", { x: lx(e) - 3, y: 22 + 13 * row++, class: "se-event-label" }, cs).textContent = ev[0] + " (" + Math.round(e) + ")";
    });
    const marker = el("line", { y1: 8, y2: CH - P, class: "se-marker" }, cs);
    const markX = data.epochs.map(function (e) { return lx(e).toFixed(1); });

    // ---------------------------------------------------------------- one frame
    function draw(i) {
      const t0 = performance.now();
      const f = F[i];
      orbitPath.setAttribute("d", orbitD[i]);
      trialPaths.forEach(function (p, j) { p.setAttribute("d", trialD[i][j]); });
      ends.forEach(function (c, j) { c.setAttribute("cx", endXY[i][j][0]); c.setAttribute("cy", endXY[i][j][1]); });
      zPaths.forEach(function (p, j) { p.setAttribute("d", zD[i][j]); });
      dots.forEach(function (d, k) {
        const e = eigXY[i][k];
        if (!e) { d.setAttribute("visibility", "hidden"); return; }
        d.setAttribute("visibility", "visible");
        d.setAttribute("cx", e[0]); d.setAttribute("cy", e[1]);
        d.setAttribute("class", e[2] ? "se-eig se-eig-out" : "se-eig");
      });
      arrows.forEach(function (a, c) {
        const k = f.kicks_deg ? f.kicks_deg[c] : null;
        const vis = k === null ? "hidden" : "visible";
        a.setAttribute("visibility", vis); heads[c].setAttribute("visibility", vis);
        if (k === null) return;
        const t = k * Math.PI / 180, x = kc[0] + kr * Math.cos(t), y = kc[1] - kr * Math.sin(t);
        a.setAttribute("x2", x.toFixed(1)); a.setAttribute("y2", y.toFixed(1));
        heads[c].setAttribute("cx", x.toFixed(1)); heads[c].setAttribute("cy", y.toFixed(1));
      });
      kickNote.textContent = f.kicks_deg
        ? data.colors.map(function (c, j) { return c.letter + " " + sdeg(f.kicks_deg[j]); }).join("  ") + (f.z3_agreement !== null ? "   Z3 " + Math.round(27 * f.z3_agreement) + "/27" : "")
        : "no limit cycle: no phase to kick";
      marker.setAttribute("x1", markX[i]); marker.setAttribute("x2", markX[i]);
      label.textContent = "epoch " + data.epochs[i] + " (" + (i + 1) + "/" + n + ")";
      status.textContent = f.kind + (f.period_ms ? ", period " + fmt(f.period_ms, 0) + " ms" : "") +
        "; |λ|max " + fmt(f.modulus, 3) + "; accuracy " + fmt(100 * f.fresh_acc, 0) + "% (fresh onsets, no noise)";
      root.dataset.frame = String(i);
      root.dataset.drawMs = (performance.now() - t0).toFixed(3);
    }

    let timer = null;
    function stop() { if (timer) { clearInterval(timer); timer = null; } play.textContent = "▶ play"; }
    play.addEventListener("click", function () {
      if (timer) { stop(); return; }
      if (+slider.value >= n - 1) slider.value = 0;
      draw(+slider.value);
      play.textContent = "❚❚ pause";
      timer = setInterval(function () {
        const i = +slider.value + 1;
        if (i >= n) { stop(); return; }
        slider.value = i; draw(i);
      }, PLAY_MS);
    });
    slider.addEventListener("input", function () { draw(+slider.value); });
    draw(n - 1);
  }

  window.setdynEmergence = { mount: mount };
})();
