/* setdyn explorers, part 3 of 3: the two explorers' controls and figures, drawn with window.Plotly.
 * The computations come from part 1 (model.js, window.setdynModel) and the fast redraw from part 2
 * (redraw.js, window.setdynRedraw), which setdyn/viz/explorers/static.py inlines before this file.
 * The root element holds the exported data (setdyn.viz.explorers.data) as JSON
 * in a script element of type application/json and class sx-data; the decision threshold and the
 * oscillator's tolerance are read from it (data.task), never typed here.
 */
(function () {
  "use strict";
  if (window.setdynExplorers) return;
  const M = window.setdynModel, redraw = window.setdynRedraw.redraw;
  const DEG = M.DEG, decodeFloat32 = M.decodeFloat32, makeNet = M.makeNet, readout = M.readout, normals =
    M.normals, simulate = M.simulate, project = M.project, answer = M.answer, isValidSet = M.isValidSet,
    checkOnsets = M.checkOnsets, stimulus = M.stimulus, oscillator = M.oscillator, fRange = M.fRange,
    oscillatorPhase = M.oscillatorPhase, rSquared = M.rSquared;

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  /** A labelled range slider with a live readout; returns {row, input, value()}. */
  function slider(name, label, min, max, step, value, unit, onInput, help) {
    const input = el("input", { type: "range", min: min, max: max, step: step, value: value, "data-name": name, "aria-label": label });
    const out = el("output", {});
    out.textContent = input.value + unit; // the value the slider snapped to (its step), not the one asked for
    input.addEventListener("input", function () { out.textContent = input.value + unit; onInput(); });
    const row = el("label", { class: "sx-slider", title: help || label }, [el("span", { text: label }), input, out]);
    return { row: row, input: input, value: function () { return Number(input.value); },
      set: function (v) { input.value = v; out.textContent = input.value + unit; } };
  }

  function button(text, attrs, onClick) {
    const b = el("button", Object.assign({ type: "button" }, attrs || {}), []);
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  /** The trial controls (colour and onset of each slot) shared by both explorers. */
  function trialControls(data, onInput) {
    const task = data.task, dt = task.dt_ms;
    const state = { seq: data.init.seq.slice(), onsets: data.init.onsets_ms.slice() };
    const box = el("div", { class: "sx-trial" });
    const slots = state.seq.map(function (c0, k) {
      const colorButtons = task.letters.map(function (letter, c) {
        const b = button(letter, { class: "sx-color", "data-slot": k, "data-color": letter, title: task.names[c],
          style: "--sx-c:" + task.hex[c] }, function () { state.seq[k] = c; paint(); onInput(); });
        return b;
      });
      const range = el("input", { type: "range", min: task.onset_min * dt, max: task.onset_max * dt, step: dt,
        value: state.onsets[k], "data-onset": k, "aria-label": "onset " + (k + 1) + " (ms)" });
      const num = el("input", { type: "number", min: task.onset_min * dt, max: task.onset_max * dt, step: dt,
        value: state.onsets[k], "data-onset-number": k, "aria-label": "onset " + (k + 1) + " (ms), typed" });
      range.addEventListener("input", function () { num.value = range.value; state.onsets[k] = Number(range.value); validate(); onInput(); });
      num.addEventListener("input", function () {
        state.onsets[k] = num.value === "" ? NaN : Number(num.value);
        if (Number.isFinite(state.onsets[k])) range.value = num.value;
        validate();  // the message at once; the figure waits for the next frame
        onInput();
      });
      box.appendChild(el("div", { class: "sx-slot" }, [
        el("span", { class: "sx-slot-title", text: "colour " + (k + 1) }),
        el("span", { class: "sx-colors" }, colorButtons),
        el("label", { class: "sx-onset" }, [el("span", { text: "onset" }), range, num, el("span", { text: "ms" })]),
      ]));
      return { colorButtons: colorButtons, range: range, num: num };
    });
    const message = el("div", { class: "sx-message", role: "alert" });
    box.appendChild(message);
    function paint() {
      slots.forEach(function (s, k) {
        s.colorButtons.forEach(function (b, c) { b.setAttribute("aria-pressed", String(state.seq[k] === c)); });
      });
    }
    paint();
    /** null when the onsets are allowed; else shows and returns the message. */
    function validate() {
      const err = checkOnsets(task, state.onsets);
      message.textContent = err ? "Not a valid trial: " + err + "." : "";
      box.classList.toggle("sx-bad", !!err);
      return err;
    }
    return { node: box, state: state, validate: validate };
  }

  function seqName(task, seq) { return seq.map(function (c) { return task.letters[c]; }).join(""); }

  /** Shaded colour pulses on the given axes. */
  function pulseShapes(task, seq, onsetsMs, axes) {
    const shapes = [];
    axes.forEach(function (ax) {
      seq.forEach(function (c, k) {
        shapes.push({ type: "rect", xref: ax[0], yref: ax[1] + " domain", x0: onsetsMs[k], x1: onsetsMs[k] + task.pulse_steps * task.dt_ms,
          y0: 0, y1: 1, fillcolor: task.hex[c], opacity: 0.35, line: { width: 0 }, layer: "below" });
      });
    });
    return shapes;
  }

  const PLOT_CONFIG = { displaylogo: false, displayModeBar: false, responsive: true };
  /* In the book, side-by-side panels stack on a phone (setdyn/book/static/setdyn-layout.js). */
  function narrowLayout(layout, plot) {
    const book = window.setdynLayout;
    const out = book && book.stackLayout ? book.stackLayout(layout, plot.clientWidth || window.innerWidth) : layout;
    if (out !== layout && out.height) plot.style.height = out.height + "px";
    return out;
  }
  /** Colour of the oscillator's verdict (as VERDICT_HEX in setdyn/viz/explorers/plots.py). */
  const VERDICT_HEX = { valid: "#2b8a1b", invalid: "#c0392b", "no code": "#a07800" };

  function timesMs(task, step) {
    const out = [];
    for (let t = 0; t <= task.n_steps * task.dt_ms + 1e-9; t += step) out.push(t);
    return out;
  }

  /** rPC1 (or z) of the network at 0, 10, ..., 500 ms: the state at 0 is tanh(x0). */
  function withStart(first, series) { return [first].concat(Array.from(series)); }

  /**
   * update() at most once per animation frame: the first input draws at once, inputs arriving while
   * that frame is still open are merged into one redraw at the next frame (inst.lastRender resolves
   * when it is drawn).
   */
  function coalesced(inst, render) {
    let busy = false, waiting = null, drawn = Promise.resolve();
    function run() {
      busy = true;
      const out = render();  // null: nothing new to draw (the controls hold an invalid trial)
      if (out) drawn = Promise.resolve(out);
      inst.lastRender = drawn;  // never the waiting promise itself, which is resolved with this
      requestAnimationFrame(function () {
        busy = false;
        if (waiting) { const w = waiting; waiting = null; w.resolve(run()); }
      });
      return inst.lastRender;
    }
    return function () {
      if (!busy) return run();
      if (!waiting) {
        let resolve = null;
        const promise = new Promise(function (r) { resolve = r; });
        waiting = { resolve: resolve, promise: promise };
        inst.lastRender = promise;
      }
      return waiting.promise;
    };
  }

  /** Points (x, y) on a circle of radius r at angles thetaDeg (counterclockwise from +x). */
  function onCircle(r, thetaDeg) {
    return { x: thetaDeg.map(function (t) { return r * Math.cos(t * DEG); }),
      y: thetaDeg.map(function (t) { return r * Math.sin(t * DEG); }) };
  }
  const CIRCLE = onCircle(1, Array.from({ length: 121 }, function (_, i) { return 3 * i; }));
  const TICKS = [0, 60, 120, 180, 240, 300];

  /** "R² = 0.85", with a word on what a negative value means. */
  function r2Text(r2) {
    return "Match to the network's rPC1: R\u00b2 = " + r2.toFixed(2) +
      (r2 < 0 ? " (below 0: worse than predicting the network's mean)." : ".");
  }

  // ------------------------------------------------------------------ oscillator explorer

  function mountOscillator(root, data) {
    const task = data.task, net = makeNet(data.net);
    const fine = timesMs(task, 1), coarse = timesMs(task, task.dt_ms), tEnd = task.n_steps * task.dt_ms;
    const plot = root.querySelector(".plotly-graph-div");
    const verdictBox = root.querySelector(".sx-verdict");
    const inst = { kind: "oscillator", root: root, net: net, data: data, lastRender: Promise.resolve(), renders: 0 };
    let scheduled = null;
    function update() { return scheduled(); }
    const trial = trialControls(data, update);
    const p0 = data.init.params;
    const sliders = {
      amplitude: slider("amplitude", "amplitude A", 0, 15, 0.1, p0.amplitude, "", update),
      period_ms: slider("period_ms", "period T", 100, 600, 1, p0.period_ms, " ms", update),
      offset: slider("offset", "offset c", -10, 10, 0.1, p0.offset, "", update),
    };
    task.names.forEach(function (name, c) {
      sliders["kick_" + name] = slider("kick_" + name, "kick " + name, -180, 180, 1, p0.kicks_deg[c], "\u00b0", update);
    });
    sliders.phase0_deg = slider("phase0_deg", "phase \u03c60", -180, 180, 1, p0.phase0_deg, "\u00b0", update,
      "phase of the oscillator at t = 0 (the paper: 0)");
    sliders.kick_delay_ms = slider("kick_delay_ms", "kick delay", 0, 60, 10, p0.kick_delay_ms, " ms", update,
      "a pulse's kick counts from its onset plus this delay (the paper: 0, at the onset; 20 ms: at the end of the pulse; a fit may pick a later one)");
    const params = el("div", { class: "sx-params" }, Object.keys(sliders).map(function (k) { return sliders[k].row; }));
    function setParams(q) {
      ["amplitude", "period_ms", "offset", "phase0_deg", "kick_delay_ms"].forEach(function (k) { sliders[k].set(q[k]); });
      task.names.forEach(function (name, c) { sliders["kick_" + name].set(q.kicks_deg[c]); });
    }
    const presets = el("div", { class: "sx-buttons" }, Object.keys(data.presets || {}).map(function (name) {
      return button(name, { "data-preset": name }, function () { setParams(data.presets[name]); update(); });
    }));
    root.querySelector(".sx-controls").append(trial.node, params, presets);

    function readParams() {
      return { amplitude: sliders.amplitude.value(), period_ms: sliders.period_ms.value(), offset: sliders.offset.value(),
        kicks_deg: task.names.map(function (name) { return sliders["kick_" + name].value(); }),
        phase0_deg: sliders.phase0_deg.value(), kick_delay_ms: sliders.kick_delay_ms.value() };
    }

    let cacheKey = null, cached = null;
    function networkRpc1(seq, onsetsMs) {
      const key = seq.join(",") + "|" + onsetsMs.join(",");
      if (key !== cacheKey) {
        const run = simulate(net, stimulus(task, seq, onsetsMs), 0, 0);
        const r0 = project(net, net.r0).rpc1[0];
        cached = withStart(r0, project(net, run.rates).rpc1);
        cacheKey = key;
      }
      return cached;
    }

    const shown = {};
    function render() {
      if (trial.validate()) {
        verdictBox.dataset.verdict = "";
        verdictBox.textContent = "Fix the onsets to see the oscillator.";
        return null;
      }
      const seq = trial.state.seq, onsets = trial.state.onsets, p = readParams();
      const f = oscillator(p, seq, onsets, fine);
      const noKick = oscillator(p, [], [], fine);
      const rpc1 = networkRpc1(seq, onsets);
      const fCoarse = oscillator(p, seq, onsets, coarse);
      const ph = oscillatorPhase(p, seq, tEnd, task.valid_tolerance_deg);
      const truth = isValidSet(seq) ? "valid" : "invalid";
      const r2 = rSquared(fCoarse, rpc1);
      const hex = seq.map(function (c) { return task.hex[c]; });
      const tol = task.valid_tolerance_deg, pc = { xaxis: "x3", yaxis: "y3", hoverinfo: "skip", showlegend: false };
      const zone = onCircle(1.15, Array.from({ length: 25 }, function (_, i) { return ph.validPhase - tol + i * tol / 12; }));
      const path = onCircle(1, ph.path), fin = onCircle(1.1, [ph.finalPhase]), val = onCircle(1.1, [ph.validPhase]);
      const ticks = onCircle(1.27, TICKS);
      const traces = [
        { x: fine, y: noKick, name: "no kicks", mode: "lines", line: { color: "#bbb", dash: "dot", width: 1.5 }, hoverinfo: "skip" },
        { x: fine, y: f, name: "oscillator f(t)", mode: "lines", line: { color: "#222", width: 2.5 } },
        { x: coarse, y: rpc1, name: "network rPC1", mode: "lines", xaxis: "x2", yaxis: "y2",
          line: { color: "#1f5fa8", width: 2.5 } },
        { x: fine, y: f, name: "f(t) (same as above)", mode: "lines", xaxis: "x2", yaxis: "y2", showlegend: false,
          line: { color: "#222", width: 1, dash: "dash" }, opacity: 0.5, hoverinfo: "skip" },
        Object.assign({ x: CIRCLE.x, y: CIRCLE.y, name: "phase circle", mode: "lines", line: { color: "#ccc", width: 1 } }, pc),
        Object.assign({ x: ticks.x, y: ticks.y, name: "phase ticks", mode: "text", text: TICKS.map(function (t) { return t + "\u00b0"; }),
          textfont: { size: 11, color: "#666" } }, pc),
        Object.assign({ x: [0].concat(zone.x, [0]), y: [0].concat(zone.y, [0]), name: "valid zone", mode: "lines", fill: "toself",
          fillcolor: "rgba(92,214,41,0.22)", line: { width: 0 } }, pc),
        Object.assign({ x: path.x, y: path.y, mode: "lines+markers+text", name: "phase after each colour",
          text: ["", "1", "2", "3"], textposition: "middle right", line: { color: "#999", width: 1, dash: "dot" },
          marker: { size: 10, color: ["#fff"].concat(hex), line: { color: "#444", width: 1 } } }, pc),
        Object.assign({ x: [0, fin.x[0]], y: [0, fin.y[0]], mode: "lines+markers", name: "final phase",
          line: { color: VERDICT_HEX[ph.verdict], width: 4 }, marker: { size: [0, 12], symbol: "diamond" } }, pc),
        Object.assign({ x: val.x, y: val.y, mode: "markers+text", text: ["valid"], textposition: "top center", name: "valid phase",
          marker: { size: 14, symbol: "circle-open", color: "#2b8a1b", line: { width: 3 } } }, pc),
      ];
      const layout = {
        height: 520, margin: { l: 55, r: 20, t: 30, b: 45 }, uirevision: "sx",
        legend: { orientation: "h", x: 0, y: 1.08 },
        xaxis: { domain: [0, 0.62], anchor: "y", range: [0, tEnd], showticklabels: false },
        yaxis: { domain: [0.55, 1], title: { text: "f(t)" }, range: fRange(p) },
        xaxis2: { domain: [0, 0.62], anchor: "y2", range: [0, tEnd], matches: "x", title: { text: "time (ms)" } },
        yaxis2: { domain: [0, 0.45], title: { text: "network rPC1" }, range: [-1.1 * net.radius, 1.1 * net.radius] },
        xaxis3: { domain: [0.7, 1], anchor: "y3", range: [-1.45, 1.45], visible: false, fixedrange: true },
        yaxis3: { domain: [0.08, 0.92], anchor: "x3", range: [-1.45, 1.45], visible: false, fixedrange: true,
          scaleanchor: "x3", constrain: "domain" },
        shapes: pulseShapes(task, seq, onsets, [["x", "y"], ["x2", "y2"]]),
        annotations: [{ xref: "paper", yref: "paper", x: 0.85, y: 0, showarrow: false,
          text: "phase at " + tEnd + " ms", font: { size: 12 } }],
      };
      verdictBox.dataset.verdict = ph.verdict;
      verdictBox.dataset.truth = truth;
      verdictBox.innerHTML = "";
      const isSet = seqName(task, seq) + " is " + (truth === "valid" ? "a SET" : "not a SET");
      if (ph.verdict === "no code") {
        const worst = Math.max.apply(null, ph.code.deviation.map(Math.abs));
        verdictBox.append(
          el("strong", { class: "sx-nocode", text: "Oscillator: no verdict. " }),
          el("span", { text: "These kicks are not a Z3 code (a common offset plus 0, +120 and \u2212120\u00b0 in some order, each within " +
            (tol / 3).toFixed(0) + "\u00b0; here off by up to " + worst.toFixed(0) + "\u00b0), so the final phase (" +
            ph.finalPhase.toFixed(0) + "\u00b0) does not follow the SET rule for every sequence. " + isSet + ". " }));
      } else {
        verdictBox.append(
          el("strong", { class: "sx-" + ph.verdict, text: "Oscillator: " + ph.verdict + ". " }),
          el("span", { text: "Final phase " + ph.finalPhase.toFixed(0) + "\u00b0, " + Math.abs(ph.offBy).toFixed(0) +
            "\u00b0 from the valid phase " + ph.validPhase.toFixed(0) + "\u00b0 (kick-free phase plus one green, one purple and one red kick, " +
            "which every SET adds: three times the kick offset shared by all colours, " + ph.code.commonOffset.toFixed(0) + "\u00b0). " + isSet +
            (ph.verdict === truth ? " \u2714. " : " \u2718. ") }));
      }
      verdictBox.append(el("span", { text: "f(" + tEnd + " ms) = " + f[f.length - 1].toFixed(2) + ". " + r2Text(r2) }));
      inst.last = { f: f, rpc1: rpc1, phase: ph, r2: r2, params: p };
      inst.renders += 1;
      return redraw(plot, traces, narrowLayout(layout, plot), shown, PLOT_CONFIG);
    }
    scheduled = coalesced(inst, render);
    inst.update = update;
    inst.figure = shown;  // the redraw state: .synced resolves when plotly's own state matches the picture
    inst.trial = trial;
    inst.sliders = sliders;
    update();
    return inst;
  }

  // ------------------------------------------------------------------ network explorer

  function mountNetwork(root, data) {
    const task = data.task, net = makeNet(data.net);
    const coarse = timesMs(task, task.dt_ms), tEnd = task.n_steps * task.dt_ms;
    const plot = root.querySelector(".plotly-graph-div");
    const verdictBox = root.querySelector(".sx-verdict");
    const inst = { kind: "network", root: root, net: net, data: data, lastRender: Promise.resolve(), renders: 0, noisy: false };
    let scheduled = null;
    function update() { return scheduled(); }
    const trial = trialControls(data, update);
    const noise = slider("noise_std", "noise std", 0, 1, 0.01, data.init.noise_std, "", function () { if (inst.noisy) update(); });
    const seedInput = el("input", { type: "number", min: 0, step: 1, value: data.init.seed, "data-name": "seed", "aria-label": "noise seed" });
    seedInput.addEventListener("input", function () { if (inst.noisy) update(); });
    const nTrials = data.init.noise_trials;
    const noiseButton = button("add noise (" + nTrials + " runs)", { "data-action": "noise" }, function () {
      if (inst.noisy) seedInput.value = Number(seedInput.value) + nTrials; // next press: new draws
      inst.noisy = true;
      update();
    });
    const clearButton = button("no noise", { "data-action": "clear" }, function () { inst.noisy = false; update(); });
    const noiseRow = el("div", { class: "sx-buttons" }, [noise.row,
      el("label", { class: "sx-seed" }, [el("span", { text: "seed" }), seedInput]), noiseButton, clearButton]);
    root.querySelector(".sx-controls").append(trial.node, noiseRow);

    // references: the input-free trial, the limit cycle and the end points of the training trials
    const free = simulate(net, new Int8Array(task.n_steps).fill(-1), 0, 0);
    const start = project(net, net.r0);
    const cycle = data.clusters.cycle;
    const pts = decodeFloat32(data.clusters.points), valid = data.clusters.valid;
    const ends = { valid: { x: [], y: [] }, invalid: { x: [], y: [] } };
    for (let i = 0; i < valid.length; i++) {
      const g = valid[i] === "1" ? ends.valid : ends.invalid;
      g.x.push(pts[2 * i]); g.y.push(pts[2 * i + 1]);
    }
    const extent = net.radius;
    const ax = [Math.cos(net.angle * DEG) * extent * 1.1, Math.sin(net.angle * DEG) * extent * 1.1];

    const shown = {};
    function render() {
      if (trial.validate()) {
        verdictBox.dataset.answer = "";
        verdictBox.textContent = "Fix the onsets to run the network.";
        return null;
      }
      const seq = trial.state.seq, onsets = trial.state.onsets;
      const codes = stimulus(task, seq, onsets);
      const run = simulate(net, codes, 0, 0);
      const pc = project(net, run.rates);
      const zLast = run.z[task.n_steps - 1], ans = answer(zLast, task.decision_threshold);
      const truth = isValidSet(seq) ? "valid" : "invalid";
      // noisy repeats: seeds seed, seed+1, ...
      const nz = { t: [], z: [], x: [], y: [], ex: [], ey: [], correct: 0 };
      if (inst.noisy) {
        const std = noise.value(), seed0 = Number(seedInput.value) || 0;
        for (let k = 0; k < nTrials; k++) {
          const rn = simulate(net, codes, std, seed0 + k), pn = project(net, rn.rates);
          nz.t.push.apply(nz.t, coarse.concat([null]));
          nz.z.push.apply(nz.z, withStart(net.z0, rn.z).concat([null]));
          nz.x.push.apply(nz.x, withStart(start.pc1[0], pn.pc1).concat([null]));
          nz.y.push.apply(nz.y, withStart(start.pc2[0], pn.pc2).concat([null]));
          nz.ex.push(pn.pc1[task.n_steps - 1]); nz.ey.push(pn.pc2[task.n_steps - 1]);
          if (answer(rn.z[task.n_steps - 1], task.decision_threshold) === truth) nz.correct += 1;
        }
      }
      const codeColor = Array.from(codes, function (c) { return c >= 0 ? task.hex[c] : "#1f5fa8"; });
      const traces = [
        { x: coarse, y: withStart(net.z0, free.z), name: "no input", mode: "lines", line: { color: "#aaa", dash: "dash", width: 1.5 } },
        { x: nz.t, y: nz.z, name: "with noise", mode: "lines", line: { color: "#e08a00", width: 1 }, opacity: 0.45, connectgaps: false,
          visible: inst.noisy ? true : "legendonly", showlegend: inst.noisy },
        { x: coarse, y: withStart(net.z0, run.z), name: "this trial", mode: "lines+markers", line: { color: "#1f5fa8", width: 2.5 },
          marker: { size: 5, color: ["#1f5fa8"].concat(codeColor) } },
        { x: cycle.x, y: cycle.y, mode: "lines", xaxis: "x2", yaxis: "y2", name: "limit cycle (no input)",
          line: { color: "#aaa", width: 5 }, opacity: 0.5 },
      ].concat(data.clusters.hulls.map(function (h) {
        return { x: h.x, y: h.y, mode: "lines", xaxis: "x2", yaxis: "y2", fill: "toself", hoverinfo: "skip", showlegend: false,
          name: "end-point cluster", fillcolor: h.valid ? "rgba(0,0,0,0.10)" : "rgba(120,120,120,0.12)",
          line: { width: 0.5, color: h.valid ? "#111" : "#999" } };
      })).concat([
        { x: ends.valid.x, y: ends.valid.y, name: "end points, valid sets", mode: "markers", xaxis: "x2", yaxis: "y2",
          marker: { size: 5, color: "#2b8a1b", opacity: 0.5 } },
        { x: ends.invalid.x, y: ends.invalid.y, name: "end points, invalid sets", mode: "markers", xaxis: "x2", yaxis: "y2",
          marker: { size: 5, color: "#999", opacity: 0.5, symbol: "x" } },
        { x: [-ax[0], ax[0]], y: [-ax[1], ax[1]], mode: "lines+text", xaxis: "x2", yaxis: "y2", text: ["", "rPC1"], textposition: "top center",
          showlegend: false, name: "rPC1 axis", line: { color: "#555", width: 1, dash: "dot" }, hoverinfo: "skip" },
        { x: nz.x, y: nz.y, mode: "lines", xaxis: "x2", yaxis: "y2", showlegend: false, name: "with noise",
          line: { color: "#e08a00", width: 1 }, opacity: 0.35, visible: inst.noisy },
        { x: nz.ex, y: nz.ey, mode: "markers", xaxis: "x2", yaxis: "y2", showlegend: false, name: "noisy end points",
          marker: { color: "#e08a00", size: 7, symbol: "diamond" }, visible: inst.noisy },
        { x: withStart(start.pc1[0], pc.pc1), y: withStart(start.pc2[0], pc.pc2), mode: "lines+markers", xaxis: "x2", yaxis: "y2",
          showlegend: false, name: "this trial", line: { color: "#1f5fa8", width: 2.5 }, marker: { size: 5, color: ["#1f5fa8"].concat(codeColor) } },
        { x: [start.pc1[0]], y: [start.pc2[0]], mode: "markers", xaxis: "x2", yaxis: "y2", name: "start", showlegend: false,
          marker: { size: 11, symbol: "square", color: "#1f5fa8" } },
        { x: [pc.pc1[task.n_steps - 1]], y: [pc.pc2[task.n_steps - 1]], mode: "markers", xaxis: "x2", yaxis: "y2", name: "end", showlegend: false,
          marker: { size: 18, symbol: "star", color: ans === "valid" ? "#2b8a1b" : ans === "invalid" ? "#c0392b" : "#e0b000", line: { color: "#222", width: 1 } } },
      ]);
      const layout = {
        height: 510, margin: { l: 55, r: 20, t: 60, b: 45 }, uirevision: "sx",
        legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
        xaxis: { domain: [0, 0.46], anchor: "y", range: [0, tEnd], title: { text: "time (ms)" } },
        yaxis: { anchor: "x", title: { text: "output z" }, range: [-2, 2] },
        xaxis2: { domain: [0.56, 1], anchor: "y2", title: { text: "PC1" }, range: [-extent * 1.15, extent * 1.15] },
        yaxis2: { anchor: "x2", title: { text: "PC2" }, scaleanchor: "x2", range: [-extent * 1.15, extent * 1.15] },
        shapes: pulseShapes(task, seq, onsets, [["x", "y"]]).concat([task.decision_threshold, -task.decision_threshold].map(function (v) {
          return { type: "line", xref: "x", yref: "y", x0: 0, x1: tEnd, y0: v, y1: v, line: { color: "#777", width: 1, dash: "dot" } };
        })),
      };
      verdictBox.dataset.answer = ans;
      verdictBox.dataset.truth = truth;
      verdictBox.dataset.noisyCorrect = inst.noisy ? String(nz.correct) : "";
      verdictBox.innerHTML = "";
      verdictBox.append(
        el("strong", { class: "sx-" + ans, text: "Network: " + ans + " " }),
        el("span", { text: "(z = " + zLast.toFixed(2) + " at " + tEnd + " ms; above " + task.decision_threshold + " means valid, below \u2212" + task.decision_threshold + " invalid). " +
          seqName(task, seq) + " is " + (truth === "valid" ? "a SET" : "not a SET") + (ans === truth ? " \u2714." : " \u2718.") +
          (inst.noisy ? " With noise (std " + noise.value() + "): " + nz.correct + " of " + nTrials + " runs answered correctly." : "") }));
      inst.last = { z: run.z, pc: pc, answer: ans, noisyCorrect: nz.correct };
      inst.renders += 1;
      return redraw(plot, traces, narrowLayout(layout, plot), shown, PLOT_CONFIG);
    }
    scheduled = coalesced(inst, render);
    inst.update = update;
    inst.figure = shown;  // the redraw state: .synced resolves when plotly's own state matches the picture
    inst.trial = trial;
    inst.noise = noise;
    update();
    return inst;
  }

  // ------------------------------------------------------------------ entry point

  function mount(root) {
    const data = JSON.parse(root.querySelector("script.sx-data").textContent);
    if (!window.Plotly) {
      root.querySelector(".sx-verdict").textContent =
        "This explorer draws with plotly.js, which is not loaded on this page (in Jupyter, use the ipywidgets version: setdyn.viz.explorers.show_" +
        data.kind + "_explorer()).";
      return null;
    }
    const inst = data.kind === "oscillator" ? mountOscillator(root, data) : mountNetwork(root, data);
    window.setdynExplorers.instances[root.id] = inst;
    return inst;
  }

  window.setdynExplorers = {
    instances: {}, mount: mount, makeNet: makeNet, simulate: simulate, project: project, answer: answer,
    stimulus: stimulus, checkOnsets: checkOnsets, isValidSet: isValidSet, oscillator: oscillator,
    oscillatorPhase: oscillatorPhase, normals: normals, decodeFloat32: decodeFloat32,
  };
})();
