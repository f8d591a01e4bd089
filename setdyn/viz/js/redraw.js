/* setdyn explorers, part 2 of 3: redrawing a plotly figure within one animation frame.
 * window.setdynRedraw.redraw(plot, traces, layout, state, config) is what the explorers (explorer.js) call on
 * every move of a control; `state` is one object per figure that it keeps between calls.
 */
(function () {
  "use strict";
  if (window.setdynRedraw) return;

  /**
   * Redraw a figure. When only trace coordinates and the x positions of shapes changed (same traces,
   * colours, axis ranges, shape kinds), the points and shapes are moved straight in the SVG
   * (`moveInPlace`, `moveShapes`: a few hundred attribute writes, well within a frame) and plotly's own
   * state is brought up to date once the controls rest for SYNC_MS (Plotly.animate with redraw false
   * for data, Plotly.react when shapes moved: the same picture, plus what hover uses). Anything else
   * goes through Plotly.react. Returns a promise that resolves when the picture is drawn;
   * `state.synced` resolves when plotly's state matches it too, and `state.sync()` syncs at once.
   */
  const DATA_KEYS = ["x", "y", "text"];
  const FAST = { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" };
  /** How long the controls must rest before plotly's state is synced (ms; `window.setdynRedraw.syncMs`). */
  const SYNC_MS = 150;
  function animateTo(plot, traces) {
    return window.Plotly.animate(plot, { data: traces.map(function (t) {
      const o = {};
      DATA_KEYS.forEach(function (k) { if (k in t) o[k] = t[k]; });
      return o;
    }), traces: traces.map(function (_, i) { return i; }) }, FAST);
  }
  /** The layout with the shapes' x positions and fill colours left out (what must not change for a
   * move in place). */
  function withoutShapeX(layout) {
    if (!layout.shapes) return layout;
    return Object.assign({}, layout, { shapes: layout.shapes.map(function (sh) {
      const o = Object.assign({}, sh);
      delete o.x0; delete o.x1; delete o.fillcolor;
      return o;
    }) });
  }
  function redraw(plot, traces, layout, state, config) {
    const key = JSON.stringify([traces.map(function (t) {
      const o = {};
      Object.keys(t).forEach(function (k) { if (DATA_KEYS.indexOf(k) < 0) o[k] = t[k]; });
      if (t.marker && Array.isArray(t.marker.color)) {  // per-point colours are data too
        o.marker = Object.assign({}, t.marker);
        delete o.marker.color;
      }
      return o;
    }), withoutShapeX(layout)]);
    const prev = state.traces, prevLayout = state.layout;
    state.traces = traces;
    state.layout = layout;
    if (state.key === key && plot._fullLayout && prev) {
      const shapesMoved = JSON.stringify(layout.shapes || []) !== JSON.stringify(prevLayout.shapes || []);
      if (moveInPlace(plot, traces, prev) && (!shapesMoved || moveShapes(plot, layout.shapes))) {
        state.reactOnSync = state.reactOnSync || shapesMoved;
        clearTimeout(state.timer);
        if (!state.pending) {
          state.pending = true;
          state.synced = new Promise(function (resolve) { state.resolveSync = resolve; });
        }
        state.sync = function () {
          clearTimeout(state.timer);
          if (!state.pending) return state.synced;
          state.pending = false;
          const full = state.reactOnSync;
          state.reactOnSync = false;
          Promise.resolve(full ? window.Plotly.react(plot, state.traces, state.layout, config)
            : animateTo(plot, state.traces)).then(state.resolveSync);
          return state.synced;
        };
        state.timer = setTimeout(state.sync, window.setdynRedraw.syncMs);
        return Promise.resolve(plot);
      }
      if (!shapesMoved && !state.reactOnSync) return settle(state, animateTo(plot, traces));
    }
    if (state.key !== key) refuse(plot, -1, state.key ? "style or layout changed" : "first draw");
    state.key = key;
    return settle(state, window.Plotly.react(plot, traces, layout, config));
  }
  /**
   * Move rectangle shapes to new x positions (x0, x1 in the units of their x axis) and fill colours in
   * the SVG; false (nothing changed) for anything else. Plotly draws a rect as "M x0,y0 H x1 V y1 H x0 Z"
   * in pixels.
   */
  function moveShapes(plot, shapes) {
    const fl = plot._fullLayout, drawn = fl && fl.shapes;
    if (!drawn || !shapes || drawn.length !== shapes.length) return refuse(plot, -1, "shapes");
    const writes = [];
    for (let i = 0; i < shapes.length; i++) {
      const sh = shapes[i], d = drawn[i];
      if (sh.x0 === d.x0 && sh.x1 === d.x1 && (sh.fillcolor === undefined || sh.fillcolor === d.fillcolor)) continue;
      const xa = d.type === "rect" && /^x\d*$/.test(d.xref) ? axisOf(fl, "x", d.xref) : null;
      const path = plot.querySelector('.shapelayer path[data-index="' + i + '"]');
      const m = path && /^M([^,]+),([^H]+)H([^V]+)V([^H]+)H([^Z]+)Z$/.exec(path.getAttribute("d"));
      if (!xa || xa.autorange || !m) return refuse(plot, -1, "shape " + i);
      const x0 = (xa._offset + xa.c2p(sh.x0)).toFixed(2), x1 = (xa._offset + xa.c2p(sh.x1)).toFixed(2);
      writes.push([i, path, "M" + x0 + "," + m[2] + "H" + x1 + "V" + m[4] + "H" + x0 + "Z"]);
    }
    writes.forEach(function (w) {
      w[1].setAttribute("d", w[2]);
      const colour = shapes[w[0]].fillcolor;
      if (colour !== undefined) {
        w[1].style.fill = colour;
        drawn[w[0]].fillcolor = colour;
        if (plot.layout.shapes && plot.layout.shapes[w[0]]) plot.layout.shapes[w[0]].fillcolor = colour;
      }
      drawn[w[0]].x0 = shapes[w[0]].x0;
      drawn[w[0]].x1 = shapes[w[0]].x1;
      if (plot.layout.shapes && plot.layout.shapes[w[0]]) {
        plot.layout.shapes[w[0]].x0 = shapes[w[0]].x0;
        plot.layout.shapes[w[0]].x1 = shapes[w[0]].x1;
      }
    });
    return true;
  }
  /** A redraw through plotly: any pending sync is superseded by it. */
  function settle(state, promise) {
    clearTimeout(state.timer);
    state.reactOnSync = false;
    if (state.pending) { state.pending = false; promise.then(state.resolveSync); }
    state.synced = promise;
    return promise;
  }

  function axisOf(fl, letter, id) { return fl[letter + "axis" + (id && id.length > 1 ? id.slice(1) : "")]; }
  function sameValues(a, b) {
    if (a === b) return true;
    if (!a || !b || a.length !== b.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
    return true;
  }
  /** Record why a move could not be done in place (plot.setdynRefusal: trace index and reason); false. */
  function refuse(plot, i, reason) {
    plot.setdynRefusal = { trace: i, reason: reason };
    return false;
  }
  function pathD(X, Y, close) {
    let d = "", pen = false;
    for (let k = 0; k < X.length; k++) {
      if (!isFinite(X[k]) || !isFinite(Y[k])) { pen = false; continue; }
      d += (pen ? "L" : "M") + X[k].toFixed(2) + "," + Y[k].toFixed(2);
      pen = true;
    }
    return close && d ? d + "Z" : d;
  }
  function pixels(ax, values) {
    const out = new Float64Array(values.length);
    for (let k = 0; k < values.length; k++) out[k] = values[k] === null || values[k] === undefined ? NaN : ax.c2p(values[k]);
    return out;
  }
  /**
   * Move already drawn scatter traces to new coordinates in the SVG: lines and "toself" fills get new
   * paths, markers new positions, text labels move with their points. Returns false (and changes
   * nothing) when a trace cannot be moved so (another trace type or line shape, an autoranged axis, a
   * different number of points or labels, changed label text): the caller then redraws through plotly.
   */
  function moveInPlace(plot, traces, prev) {
    const fl = plot._fullLayout, fd = plot._fullData;
    if (!fl || !fd || fd.length !== traces.length || prev.length !== traces.length) return refuse(plot, -1, "traces");
    const writes = [];
    for (let i = 0; i < traces.length; i++) {
      const t = traces[i], p = prev[i], d = fd[i];
      const colours = t.marker && Array.isArray(t.marker.color) ? t.marker.color : null;
      const recolour = colours && !sameValues(colours, p.marker && p.marker.color);
      if (sameValues(t.x, p.x) && sameValues(t.y, p.y) && !recolour) continue;
      if (!sameValues(t.text, p.text) || d.type !== "scatter") return refuse(plot, i, "text or type");
      if (d.visible !== true) { writes.push([i, null]); continue; }  // not drawn: data only
      const xa = axisOf(fl, "x", d.xaxis), ya = axisOf(fl, "y", d.yaxis), n = t.x.length;
      if (!xa || !ya || xa.autorange || ya.autorange) return refuse(plot, i, "axes");
      if (t.y.length !== n || p.x.length !== n || p.y.length !== n) return refuse(plot, i, "length");
      if (d.line && d.line.shape && d.line.shape !== "linear") return refuse(plot, i, "line shape");
      if (d.fill && d.fill !== "none" && d.fill !== "toself") return refuse(plot, i, "fill");
      const g = plot.querySelector("g.trace" + d.uid);
      if (!g) return refuse(plot, i, "no group");
      const mode = d.mode || "";
      const line = mode.indexOf("lines") >= 0 ? g.querySelector("path.js-line") : null;
      const fill = d.fill === "toself" ? g.querySelector("path.js-fill") : null;
      const points = mode.indexOf("markers") >= 0 ? g.querySelectorAll("path.point") : [];
      const labels = mode.indexOf("text") >= 0 ? g.querySelectorAll("g.textpoint") : [];
      if ((mode.indexOf("lines") >= 0 && !line) || (d.fill === "toself" && !fill)) return refuse(plot, i, "no path");
      if (mode.indexOf("markers") >= 0 && points.length !== n) return refuse(plot, i, "markers " + points.length + "/" + n);
      // plotly may leave out the label of a point whose text is empty
      const labelled = labels.length === n ? null : (Array.isArray(t.text) ? t.text : []).reduce(function (a, v, k) {
        if (v !== null && v !== undefined && String(v) !== "") a.push(k);
        return a;
      }, []);
      if (mode.indexOf("text") >= 0 && labelled && labelled.length !== labels.length) {
        return refuse(plot, i, "labels " + labels.length + "/" + n);
      }
      if (recolour && (points.length !== n || colours.length !== n)) return refuse(plot, i, "marker colours");
      writes.push([i, { X: pixels(xa, t.x), Y: pixels(ya, t.y), X0: pixels(xa, p.x), Y0: pixels(ya, p.y),
        line: line, fill: fill, points: points, labels: labels, labelled: labelled, colours: recolour ? colours : null }]);
    }
    plot.setdynRefusal = null;
    writes.forEach(function (w) {
      const i = w[0], m = w[1];
      plot.data[i].x = fd[i].x = traces[i].x;
      plot.data[i].y = fd[i].y = traces[i].y;
      if (!m) return;
      if (m.line) m.line.setAttribute("d", pathD(m.X, m.Y, false));
      if (m.fill) m.fill.setAttribute("d", pathD(m.X, m.Y, true));
      for (let k = 0; k < m.points.length; k++) {
        if (isFinite(m.X[k]) && isFinite(m.Y[k])) m.points[k].setAttribute("transform", "translate(" + m.X[k].toFixed(2) + "," + m.Y[k].toFixed(2) + ")");
        if (m.colours) m.points[k].style.fill = m.colours[k];
      }
      if (m.colours) fd[i].marker.color = plot.data[i].marker.color = m.colours;
      for (let j = 0; j < m.labels.length; j++) {
        const k = m.labelled ? m.labelled[j] : j, dx = m.X[k] - m.X0[k], dy = m.Y[k] - m.Y0[k];
        if (!isFinite(dx) || !isFinite(dy)) continue;
        Array.from(m.labels[j].querySelectorAll("text, tspan[x]")).forEach(function (node) {
          ["x", "y"].forEach(function (a, j) {
            if (node.hasAttribute(a)) node.setAttribute(a, (Number(node.getAttribute(a)) + (j ? dy : dx)).toFixed(2));
          });
        });
      }
    });
    return true;
  }

  window.setdynRedraw = { redraw: redraw, moveInPlace: moveInPlace, moveShapes: moveShapes, pathD: pathD,
    syncMs: SYNC_MS };
})();
