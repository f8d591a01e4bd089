/* setdyn map of solutions: one point per trained network on the MDS map of its dynamics, coloured by its
 * mechanism; a click (or the list) shows the network's phase portrait and outputs beside the map.
 *
 * setdyn/viz/solution_map.py inlines this file (the guard makes a second copy a no-op) followed by
 * `setdynSolutionMap.mount(root)`. The root holds the payload (schema setdyn-solution-map/1 plus
 * `colours`, `threshold`, `dt_ms`) as JSON in <script type="application/json" class="sm-data">.
 * Draws with window.Plotly (the book loads it); nothing is fetched. The root records its state for
 * tests: data-selected (id of the network in the detail panel), data-shown (points on the map).
 */
(function () {
  "use strict";
  if (window.setdynSolutionMap) return;
  const CONFIG = { displaylogo: false, displayModeBar: false, responsive: true };
  const VALID = "#2b8a1b", INVALID = "#999999"; // valid SET / not a SET, as in the explorers (green, grey)
  const SOURCES = { // marker and name of each source, in the order the filters list them
    book: { symbol: "star", glyph: "\u2605", size: 17, name: "the book's network" },
    paper: { symbol: "star-diamond", glyph: "\u2726", size: 16, name: "the paper's network" },
    "paper-seeds": { symbol: "circle", glyph: "\u25CF", size: 9, name: "paper's seeds" },
    followup: { symbol: "diamond", glyph: "\u25C6", size: 9, name: "follow-up grid" },
    "paper-setting": { symbol: "circle", glyph: "\u25CF", size: 9, name: "more seeds of the paper's setting" },
  };
  const OTHER_SOURCE = { symbol: "square", glyph: "\u25A0", size: 8 };
  const FILTERS = [["alpha", "\u03B1"], ["noise_std", "noise"], ["activation", "activation"], ["source", "source"]];

  function html(tag, cls, parent, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function num(v) { return String(Number(Number(v).toPrecision(3))); }
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function source(s) { return SOURCES[s] || Object.assign({ name: s }, OTHER_SOURCE); }
  /** Break text into lines of about n characters (plotly hover labels do not wrap). */
  function wrap(s, n) {
    const out = [];
    let line = "";
    String(s).split(" ").forEach(function (w) {
      if (line && line.length + w.length + 1 > n) { out.push(line); line = w; } else line = line ? line + " " + w : w;
    });
    if (line) out.push(line);
    return out.join("<br>");
  }

  /** A detail block as [pc1, pc2, z], each nTrials arrays of T numbers: value = q / 127 * scale[quantity],
   * q an Int8Array in (quantity, trial, time) C order (setdyn.viz.solution_map.decode_detail). */
  function decode(detail, nTrials, T) {
    const bytes = atob(detail.q);
    if (bytes.length !== 3 * nTrials * T) throw new Error("detail holds " + bytes.length + " values, not 3 x " + nTrials + " x " + T);
    const u = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) u[i] = bytes.charCodeAt(i);
    const q = new Int8Array(u.buffer);
    return [0, 1, 2].map(function (k) {
      const s = detail.scale[k] / 127;
      const rows = [];
      for (let j = 0; j < nTrials; j++) {
        const row = new Array(T), o = (k * nTrials + j) * T;
        for (let t = 0; t < T; t++) row[t] = q[o + t] * s;
        rows.push(row);
      }
      return rows;
    });
  }

  function settingText(n, dt) {
    return "seed " + n.seed + " \u00B7 \u03B1 = " + num(n.alpha) + " (\u03C4 = " + num(dt / n.alpha) + " ms) \u00B7 noise " +
      num(n.noise_std) + " \u00B7 " + n.activation;
  }
  function hoverText(n, dt) {
    return "<b>" + esc(n.id) + "</b><br>" + settingText(n, dt) + " \u00B7 " + esc(source(n.source).name) +
      "<br><b>" + esc(n.taxon) + "</b>: " + wrap(esc(n.taxon_reason), 60) +
      "<br>accuracy " + (100 * n.fresh_acc_clean).toFixed(1) + "%" +
      (n.period_ms === null || n.period_ms === undefined ? "" : " \u00B7 period " + num(n.period_ms) + " ms");
  }

  /** The filter checkboxes: one group per setting, one box per value present in the data. */
  function buildFilters(box, nets, onChange) {
    FILTERS.forEach(function (f) {
      const key = f[0];
      let values = Array.from(new Set(nets.map(function (n) { return n[key]; })));
      if (key === "source") {
        const order = Object.keys(SOURCES);
        values.sort(function (a, b) { return (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || (a < b ? -1 : 1); });
      } else values.sort(function (a, b) { return typeof a === "number" ? a - b : a < b ? -1 : a > b ? 1 : 0; });
      const set = html("fieldset", "sm-group", box);
      html("legend", "", set, f[1]);
      values.forEach(function (v) {
        const lab = html("label", "sm-check", set);
        const cb = html("input", "", lab);
        Object.assign(cb, { type: "checkbox", checked: true });
        cb.dataset.key = key;
        cb.dataset.value = String(v);
        cb.addEventListener("change", onChange);
        const s = key === "source" ? source(v) : null;
        html("span", "", lab, s ? s.glyph + " " + s.name : typeof v === "number" ? num(v) : String(v));
      });
    });
  }

  function mount(root) {
    const data = JSON.parse(root.querySelector("script.sm-data").textContent);
    const status = root.querySelector(".sm-status");
    if (!window.Plotly) {
      status.textContent = "This map draws with plotly.js, which is not loaded on this page " +
        "(the book loads it; in Jupyter, open the chapter's page of the book).";
      status.classList.add("sm-nocode");
      return null;
    }
    const nets = data.networks, nT = data.sequences.length, T = data.t_ms.length, dt = data.dt_ms;
    const mapDiv = root.querySelector(".sm-map"), detail = root.querySelector(".sm-detail");
    mapDiv.setAttribute("aria-label", "map of solutions: one point per trained network, coloured by its mechanism");
    const inst = { root: root, data: data, selected: null };

    // ---------------------------------------------------------------- detail panel
    const pick = html("label", "sm-pick", detail);
    html("span", "", pick, "Network ");
    const select = html("select", "sm-select", pick);
    nets.forEach(function (n, i) {
      const o = html("option", "", select, n.id + " \u2014 " + n.taxon);
      o.value = String(i);
    });
    const title = html("p", "sm-title", detail);
    const reason = html("p", "sm-reason", detail);
    const portrait = html("div", "sm-portrait", detail), outputs = html("div", "sm-outputs", detail);

    function traces(xs, ys, ends) {
      const seen = {};
      const lines = xs.map(function (x, j) {
        const v = data.valid[j], g = v ? "valid SET" : "not a SET";
        const t = { type: "scatter", mode: "lines", x: x, y: ys[j], name: g, legendgroup: g, showlegend: !seen[g], meta: j,
          // samples every 20 ms: a spline through them (it passes through every sample) reads as the orbit
          line: { color: v ? VALID : INVALID, width: 1.3, shape: "spline", smoothing: 0.8 }, opacity: 0.8,
          hovertemplate: data.sequences[j] + " (" + g + ")<extra></extra>" };
        seen[g] = true;
        return t;
      });
      if (!ends) return lines;
      return lines.concat([true, false].map(function (v) {
        const js = data.valid.map(function (w, j) { return w === v ? j : -1; }).filter(function (j) { return j >= 0; });
        return { type: "scatter", mode: "markers", showlegend: false, hoverinfo: "skip", name: "end points",
          x: js.map(function (j) { return xs[j][T - 1]; }), y: js.map(function (j) { return ys[j][T - 1]; }),
          marker: { size: 6, color: v ? VALID : INVALID, line: { color: "#222", width: 0.6 } } };
      }));
    }
    const small = { margin: { l: 48, r: 8, t: 8, b: 40 }, template: null, showlegend: true,
      legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { size: 11 } }, font: { size: 11 } };

    function showDetail(i) {
      const n = nets[i];
      const d = decode(n.detail, nT, T);
      inst.selected = i;
      inst.decoded = d;
      select.value = String(i);
      root.dataset.selected = n.id;
      title.textContent = "";
      html("strong", "", title, n.taxon);
      title.append(" \u00B7 " + settingText(n, dt) + " \u00B7 " + source(n.source).name +
        " \u00B7 accuracy " + (100 * n.fresh_acc_clean).toFixed(1) + "%" +
        (n.period_ms === null || n.period_ms === undefined ? "" : " \u00B7 period " + num(n.period_ms) + " ms") +
        (!inst.visible(n) ? " (hidden on the map by the filters)" : ""));
      reason.textContent = n.taxon_reason;
      const drawn = [Plotly.react(portrait, traces(d[0], d[1], true), Object.assign({}, small, {
        xaxis: { title: { text: "rate PC1" }, zeroline: false, constrain: "domain" },
        yaxis: { title: { text: "rate PC2" }, zeroline: false, scaleanchor: "x", constrain: "domain" },
      }), CONFIG)];
      const tEnd = data.t_ms[T - 1];
      drawn.push(Plotly.react(outputs, traces(data.sequences.map(function () { return data.t_ms; }), d[2], false), Object.assign({}, small, {
        showlegend: false,
        xaxis: { title: { text: "time (ms)" }, range: [data.t_ms[0], tEnd], zeroline: false },
        yaxis: { title: { text: "output z" }, zeroline: false },
        shapes: [data.threshold, -data.threshold].map(function (v) {
          return { type: "line", x0: data.t_ms[0], x1: tEnd, y0: v, y1: v, line: { color: "#777", width: 1, dash: "dot" } };
        }),
      }), CONFIG));
      drawn.push(drawRing());
      inst.lastRender = Promise.all(drawn);
      return inst.lastRender;
    }

    // ---------------------------------------------------------------- the map
    const filterBox = root.querySelector(".sm-filters");
    buildFilters(filterBox, nets, function () { inst.lastRender = drawMap(); });
    inst.visible = function (n) {
      const boxes = filterBox.querySelectorAll("input[type=checkbox]");
      for (let b = 0; b < boxes.length; b++) {
        if (!boxes[b].checked && String(n[boxes[b].dataset.key]) === boxes[b].dataset.value) return false;
      }
      return true;
    };
    const xr = extent(nets.map(function (n) { return n.x; })), yr = extent(nets.map(function (n) { return n.y; }));
    function extent(v) {
      const lo = Math.min.apply(null, v), hi = Math.max.apply(null, v), pad = 0.08 * (hi - lo || 1);
      return [lo - pad, hi + pad];
    }
    const layout = { margin: { l: 30, r: 8, t: 8, b: 30 }, hovermode: "closest", template: null, font: { size: 12 },
      xaxis: { title: { text: "MDS 1", standoff: 4 }, showticklabels: false, zeroline: false, range: xr },
      yaxis: { title: { text: "MDS 2", standoff: 4 }, showticklabels: false, zeroline: false, range: yr,
        scaleanchor: "x", constrain: "domain" },
      legend: { orientation: "h", x: 0, y: -0.04, yanchor: "top", itemclick: false, itemdoubleclick: false },
      hoverlabel: { align: "left" }, uirevision: "map", shapes: [] };

    function drawRing() {
      if (inst.selected === null || !mapDiv.layout) return null;
      const n = nets[inst.selected], r = 0.03 * Math.max(xr[1] - xr[0], yr[1] - yr[0]);
      return Plotly.relayout(mapDiv, { shapes: inst.visible(n) ? [{ type: "circle", xref: "x", yref: "y",
        x0: n.x - r, x1: n.x + r, y0: n.y - r, y1: n.y + r, line: { color: "#111", width: 2 } }] : [] });
    }

    function drawMap() {
      const shown = nets.map(function (n, i) { return i; }).filter(function (i) { return inst.visible(nets[i]); });
      const tr = [], keys = [];
      data.labels.forEach(function (lab) {
        const idx = shown.filter(function (i) { return nets[i].taxon === lab; });
        if (!idx.length) return;
        const line = { color: "#333", width: 0.7 };
        // opacity 1: sized markers default to 0.7
        tr.push({ type: "scatter", mode: "markers", name: lab, legendgroup: lab, showlegend: false, customdata: idx,
          x: idx.map(function (i) { return nets[i].x; }), y: idx.map(function (i) { return nets[i].y; }),
          text: idx.map(function (i) { return hoverText(nets[i], dt); }), hovertemplate: "%{text}<extra></extra>",
          marker: { color: data.colours[lab], symbol: idx.map(function (i) { return source(nets[i].source).symbol; }),
            size: idx.map(function (i) { return source(nets[i].source).size; }), opacity: 1, line: line } });
        // the legend's key: a plain circle (a trace's legend shows its first point's symbol, maybe a star)
        keys.push({ type: "scatter", mode: "markers", name: lab, legendgroup: lab, x: [null], y: [null], hoverinfo: "skip",
          marker: { color: data.colours[lab], symbol: "circle", size: 9, line: line } });
      });
      root.dataset.shown = String(shown.length);
      status.textContent = shown.length + " of " + nets.length + " networks shown";
      return Plotly.react(mapDiv, tr.concat(keys), Object.assign({}, layout, { shapes: mapDiv.layout ? mapDiv.layout.shapes : [] }), CONFIG)
        .then(function () { return showDetail(inst.selected); });
    }

    select.addEventListener("change", function () { showDetail(Number(select.value)); });
    const first = nets.findIndex(function (n) { return n.source === "book"; });
    inst.selected = first >= 0 ? first : 0;
    inst.lastRender = drawMap().then(function () {
      mapDiv.on("plotly_click", function (ev) {
        if (ev.points && ev.points.length && ev.points[0].customdata !== undefined) showDetail(ev.points[0].customdata);
      });
    });
    window.setdynSolutionMap.instances[root.id] = inst;
    return inst;
  }

  window.setdynSolutionMap = { instances: {}, mount: mount, decode: decode };
})();
