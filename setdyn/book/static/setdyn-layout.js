/* Plotly figures on a narrow screen (a phone): the book's figures are laid out for a
   desktop column; below NARROW_PX this script re-lays each one out once it is drawn:
   side-by-side panels are stacked, the legend goes below the plot, long titles wrap and
   colour bars follow their panel. Back on a wide screen the original layout returns.
   Only figures the book renders (inside .setdyn-figure) are touched: the explorers lay
   themselves out. No library beyond plotly.js (already on the page), no network. */
(function () {
  "use strict";
  var NARROW_PX = 640;
  var PANEL_PX = 290;       /* height of one stacked panel's plot area */
  var GAP_PX = 84;          /* room between stacked panels for a title and axis labels */
  var LEGEND_GAP_PX = 84;  /* from the bottom of the plot area to the legend (ticks + axis title) */
  var SLIDER_PX = 120;     /* a plotly slider with its label, below the axis */
  var CHAR_PX = 7.2;        /* average width of a title character at 13-14 px */

  function narrow() { return window.innerWidth < NARROW_PX; }
  function clone(x) { return x === undefined ? undefined : JSON.parse(JSON.stringify(x)); }
  function visibleLength(s) { return s.replace(/<[^>]*>/g, "").length; }

  /* Insert <br> between words so that no line is longer than maxChars visible characters. */
  function wrap(text, maxChars) {
    if (!text) return text;
    return String(text).split(/<br\s*\/?>/i).map(function (line) {
      if (visibleLength(line) <= maxChars) return line;
      var out = [], cur = "";
      line.split(" ").forEach(function (w) {
        var next = cur ? cur + " " + w : w;
        if (cur && visibleLength(next) > maxChars) { out.push(cur); cur = w; } else { cur = next; }
      });
      if (cur) out.push(cur);
      return out.join("<br>");
    }).join("<br>");
  }
  /* A plotly title as HTML: only the tags plotly titles use (br, sup, sub, b, i, em) survive. */
  function safeTitle(text) {
    var div = document.createElement("div");
    div.textContent = String(text);
    return div.innerHTML.replace(/&lt;(\/?)(br|sup|sub|b|i|em)\s*\/?&gt;/gi, "<$1$2>");
  }
  function lines(text) { return text ? String(text).split(/<br\s*\/?>/i).length : 0; }

  function domainOf(obj) { return obj && obj.domain ? obj.domain : null; }
  function close(a, b) { return Math.abs(a - b) < 1e-3; }

  /* The panels of a figure: cartesian x axes with their anchored y axis, and scenes/polars. */
  function panels(full) {
    var out = [];
    Object.keys(full).forEach(function (k) {
      if (/^xaxis\d*$/.test(k)) {
        var xa = full[k];
        if (xa.overlaying || !xa.anchor || xa.anchor === "free") return;
        var yk = "yaxis" + xa.anchor.slice(1);
        var ya = full[yk];
        if (!ya || !ya.domain) return;
        out.push({ keys: [k, yk], x: xa.domain.slice(), y: ya.domain.slice(), kind: "xy", id: xa._id + ya._id });
      } else if (/^(scene|polar|ternary|geo)\d*$/.test(k) && domainOf(full[k])) {
        var d = full[k].domain;
        out.push({ keys: [k], x: d.x.slice(), y: d.y.slice(), kind: "domain", id: k });
      }
    });
    return out;
  }

  function columns(ps) {
    var xs = [];
    ps.forEach(function (p) { if (!xs.some(function (x) { return close(x, p.x[0]); })) xs.push(p.x[0]); });
    return xs.length;
  }

  function inBox(x, y, p, tol) {
    return x >= p.x[0] - tol && x <= p.x[1] + tol && y >= p.y[0] - tol && y <= p.y[1] + tol;
  }
  function mapInto(v, from, to) { return to[0] + (v - from[0]) / (from[1] - from[0] || 1) * (to[1] - to[0]); }

  function adapt(gd) {
    var full = gd._fullLayout;
    var width = gd.clientWidth || window.innerWidth;
    var saved = { layout: clone(gd.layout), colorbars: [], height: gd.style.height };
    var upd = {};
    var margin = full.margin;
    var mt = margin.t, mb = margin.b;
    /* title: wrap to the width */
    var maxChars = Math.max(18, Math.floor((width - 30) / CHAR_PX));
    var t = gd.layout.title;  /* not _fullLayout: plotly puts a placeholder there when there is no title */
    var title = t && (typeof t === "string" ? t : t.text);
    if (title) {
      /* the title leaves the plot and becomes a line of text above it, which wraps by itself */
      var head = document.createElement("div");
      head.className = "setdyn-phone-title";
      head.innerHTML = safeTitle(title);
      gd.parentElement.insertBefore(head, gd);
      saved.head = head;
      upd["title.text"] = "";
    }
    /* stacking */
    var ps = panels(full);
    var stacked = ps.length > 1 && columns(ps) > 1;
    var plotH = full.height - mt - mb;
    var newPlotH = plotH;
    var cells = [];
    var titleChars = Math.floor(maxChars * 0.85);  /* a stacked panel's title wraps at this many characters */
    /* the most lines a subplot title takes once wrapped to the phone's width */
    var wrappedLines = stacked ? Math.max.apply(null, [1].concat((full.annotations || []).filter(function (a) {
      return a.text && a.xref === "paper" && a.yref === "paper";
    }).map(function (a) {
      return String(wrap(a.text, titleChars)).split(/<br\s*\/?>/i).length;
    }))) : 1;
    if (stacked) {
      ps.sort(function (a, b) { return (b.y[1] - a.y[1]) || (a.x[0] - b.x[0]); });
      var n = ps.length;
      /* a subplot title that wraps to more lines needs more room between panels: 18 px a line */
      var gap = GAP_PX + 18 * (wrappedLines - 1);
      newPlotH = n * PANEL_PX + (n - 1) * gap;
      var unit = 1 / newPlotH;
      ps.forEach(function (p, i) {
        var top = 1 - i * (PANEL_PX + gap) * unit;
        var dom = { x: [0, 1], y: [Math.max(0, top - PANEL_PX * unit), top] };
        cells.push({ from: p, to: dom });
        if (p.kind === "xy") {
          upd[p.keys[0] + ".domain"] = dom.x;
          upd[p.keys[1] + ".domain"] = dom.y;
        } else {
          upd[p.keys[0] + ".domain"] = { x: dom.x, y: dom.y };
        }
      });
      /* paper-referenced annotations (subplot titles), shapes and images follow their panel */
      ["annotations", "shapes", "images"].forEach(function (kind) {
        (full[kind] || []).forEach(function (a, j) {
          var xp = kind === "shapes" ? a.xref === "paper" && a.yref === "paper" : a.xref === "paper" && a.yref === "paper";
          if (!xp) return;
          var xs = kind === "shapes" ? [a.x0, a.x1] : [a.x];
          var ys = kind === "shapes" ? [a.y0, a.y1] : [a.y];
          var cell = cells.find(function (c) { return inBox(xs[0], ys[0], c.from, 0.03); });
          if (!cell) return;
          if (kind === "shapes") {
            upd["shapes[" + j + "].x0"] = mapInto(a.x0, cell.from.x, cell.to.x);
            upd["shapes[" + j + "].x1"] = mapInto(a.x1, cell.from.x, cell.to.x);
            upd["shapes[" + j + "].y0"] = mapInto(a.y0, cell.from.y, cell.to.y);
            upd["shapes[" + j + "].y1"] = mapInto(a.y1, cell.from.y, cell.to.y);
          } else {
            upd[kind + "[" + j + "].x"] = mapInto(a.x, cell.from.x, cell.to.x);
            upd[kind + "[" + j + "].y"] = mapInto(a.y, cell.from.y, cell.to.y);
            if (kind === "annotations" && a.text) upd["annotations[" + j + "].text"] = wrap(a.text, titleChars);
          }
        });
      });
    }
    /* legend below the plot, across the full width */
    var legend = full.showlegend;
    if (legend) {
      upd["legend.orientation"] = "h";
      upd["legend.x"] = 0; upd["legend.xanchor"] = "left"; upd["legend.xref"] = "paper";
      /* below the x axis title, in paper units of the new plot height (plotly then grows the margin) */
      upd["legend.yref"] = "paper"; upd["legend.y"] = -LEGEND_GAP_PX / newPlotH; upd["legend.yanchor"] = "top";
    }
    /* the legend's rows: plotly wraps its items to the figure's width (about 40 px + 7 px a character each) */
    var names = legend ? (gd._fullData || []).filter(function (t) { return t.showlegend && t.visible !== false; })
      .map(function (t) { return String(t.name || ""); }) : [];
    var avail = (gd.clientWidth || 390) - 20, rows = names.length ? 1 : 0, rowX = 0;
    names.forEach(function (nm) {
      var w = 40 + 7 * nm.replace(/<[^>]*>/g, "").length;
      if (rowX > 0 && rowX + w > avail) { rows += 1; rowX = 0; }
      rowX += w;
    });
    /* below the plot: the gap for ticks and axis title, then the rows (what the bottom margin does not hold) */
    var legendPx = legend ? LEGEND_GAP_PX - 50 + 22 * rows + 10 : 0;
    var sliderPx = SLIDER_PX * (full.sliders || []).length;
    /* room for the top panel's title: 34 px for one line, 18 px more for each further line */
    var titleLines = stacked ? Math.max.apply(null, [wrappedLines].concat((full.annotations || []).map(function (a) {
      return a.text ? String(a.text).split(/<br\s*\/?>/i).length : 1;
    }))) : 0;
    /* unstacked panels one above the other (make_subplots rows) keep room for the top one's title */
    var topNotes = stacked ? [] : (full.annotations || []).filter(function (a) {
      return a.text && a.xref === "paper" && a.yref === "paper" && a.yanchor === "bottom" && a.y >= 0.95;
    });
    var topLines = Math.max.apply(null, [0].concat(topNotes.map(function (a) {
      return String(a.text).split(/<br\s*\/?>/i).length;
    })));
    var subTitles = stacked ? 16 + 18 * titleLines : topLines ? 12 + 18 * topLines : 0;
    var newT = Math.max(14, subTitles);
    var newB = Math.max(Math.min(mb, 60), 50) + sliderPx;
    upd["margin.t"] = newT;
    upd["margin.b"] = newB;
    upd["margin.l"] = Math.min(margin.l, 55);
    /* a right-hand y axis (e.g. a second quantity) keeps its room */
    var rightAxis = Object.keys(full).some(function (k) { return /^yaxis\d*$/.test(k) && full[k].side === "right"; });
    upd["margin.r"] = rightAxis ? Math.max(margin.r, 60) : Math.min(margin.r, 15);
    if (!stacked) newPlotH = Math.max(plotH, 260);
    if (legend) upd["legend.y"] = -(LEGEND_GAP_PX + sliderPx) / newPlotH;
    var newH = Math.round(newT + newB + legendPx + newPlotH);
    upd.height = newH;
    /* colour bars sit to the right of their own panel */
    var data = gd._fullData || [];
    var traceIdx = [], cbUpd = { "marker.colorbar.x": [], "marker.colorbar.y": [], "marker.colorbar.len": [],
      "marker.colorbar.xanchor": [], "marker.colorbar.yanchor": [] };
    if (stacked) {
      data.forEach(function (t, i) {
        var cb = t.marker && t.marker.showscale ? t.marker.colorbar : null;
        if (!cb) return;
        var id = (t.xaxis || "") + (t.yaxis || "");
        var cell = cells.find(function (c) { return c.from.id === id || c.from.id === t.scene; });
        if (!cell) return;
        saved.colorbars.push([i, clone(gd.data[i].marker && gd.data[i].marker.colorbar)]);
        traceIdx.push(i);
        cbUpd["marker.colorbar.x"].push(1.0);
        cbUpd["marker.colorbar.xanchor"].push("right");
        cbUpd["marker.colorbar.y"].push((cell.to.y[0] + cell.to.y[1]) / 2);
        cbUpd["marker.colorbar.yanchor"].push("middle");
        cbUpd["marker.colorbar.len"].push(0.9 * (cell.to.y[1] - cell.to.y[0]));
      });
    }
    gd._setdynSaved = saved;
    gd.dataset.setdynNarrow = "1";
    gd.style.height = newH + "px";
    saved.parentHeight = gd.parentElement.style.height;  /* plotly's HTML wraps the figure in a div of fixed height */
    gd.parentElement.style.height = "auto";
    var done = traceIdx.length ? Plotly.restyle(gd, cbUpd, traceIdx) : Promise.resolve();
    return done.then(function () { return Plotly.relayout(gd, upd); });
  }

  function restore(gd) {
    var saved = gd._setdynSaved;
    if (!saved) return;
    delete gd._setdynSaved;
    delete gd.dataset.setdynNarrow;
    if (saved.head && saved.head.parentElement) saved.head.parentElement.removeChild(saved.head);
    saved.colorbars.forEach(function (pair) {
      if (gd.data[pair[0]].marker) gd.data[pair[0]].marker.colorbar = pair[1];
    });
    gd.style.height = saved.height;
    gd.parentElement.style.height = saved.parentHeight;
    if (saved.title !== undefined) {
      if (saved.layout.title && typeof saved.layout.title === "object") saved.layout.title.text = saved.title;
      else saved.layout.title = saved.title;
    }
    Plotly.react(gd, gd.data, saved.layout);
  }

  function figures() {
    return Array.prototype.slice.call(document.querySelectorAll(".setdyn-figure .plotly-graph-div"));
  }

  /* A slider step may set a new title: move it to the HTML line too. */
  function titleMoved(gd) {
    var saved = gd._setdynSaved, t = gd.layout.title;
    var text = t && (typeof t === "string" ? t : t.text);
    if (!saved || !saved.head || !text) return false;
    saved.head.innerHTML = safeTitle(text);
    saved.title = text;
    busy++;
    Plotly.relayout(gd, { "title.text": "" }).then(function () { busy--; }, function () { busy--; });
    return true;
  }

  var pending = false, busy = 0;
  function update() {
    pending = false;
    if (!window.Plotly) return;
    var small = narrow();
    figures().forEach(function (gd) {
      if (!gd._fullLayout) return;
      if (small && gd._setdynSaved) titleMoved(gd);
      else if (small && !gd._setdynSaved) {
        busy++;
        adapt(gd).catch(function (e) { console.warn("setdyn-layout:", e); }).then(function () { busy--; });
      } else if (!small && gd._setdynSaved) restore(gd);
    });
  }
  /* True when every drawn figure has the layout of the current screen width (for tests). */
  function settled() {
    var small = narrow();
    return busy === 0 && !pending && figures().every(function (gd) {
      if (small && gd._setdynSaved && gd._setdynSaved.head && gd._fullLayout.title.text) return false;
      return !gd._fullLayout || !!gd._setdynSaved === small;
    });
  }
  function schedule() { if (!pending) { pending = true; window.requestAnimationFrame(update); } }

  function start() {
    update();
    /* figures still being drawn: try again when each one finishes */
    figures().forEach(function (gd) {
      if (gd.on) gd.on("plotly_afterplot", schedule);
    });
    window.addEventListener("resize", schedule);
  }
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
  /* For hand-written explorers: a copy of a plotly `layout` (with explicit axis/polar domains)
     whose side-by-side panels are stacked when the plot is narrower than NARROW_PX, with the
     legend below. Returns `layout` itself on a wide plot. */
  function stackLayout(layout, widthPx) {
    if (widthPx >= NARROW_PX) return layout;
    var L = clone(layout), ps = [];
    Object.keys(L).forEach(function (k) {
      var v = L[k];
      if (/^xaxis\d*$/.test(k) && v && v.domain && v.anchor && !v.overlaying) {
        var yk = "yaxis" + v.anchor.slice(1), ya = L[yk];
        if (ya && !ya.overlaying) ps.push({ keys: [k, yk], x: v.domain, y: ya.domain || [0, 1], kind: "xy" });
      } else if (/^(polar|scene|ternary)\d*$/.test(k) && v && v.domain && v.domain.x) {
        ps.push({ keys: [k], x: v.domain.x, y: v.domain.y, kind: "domain" });
      }
    });
    if (ps.length < 2 || columns(ps) < 2) return layout;
    /* cells: panels grouped by column, top to bottom within a column, left column first */
    ps.sort(function (a, b) { return (a.x[0] - b.x[0]) || (b.y[1] - a.y[1]); });
    var m = L.margin || {}, mt = m.t === undefined ? 30 : m.t, mb = m.b === undefined ? 45 : m.b;
    var oldPlotH = (L.height || 450) - mt - mb;
    var heights = ps.map(function (p) { return Math.max(160, (p.y[1] - p.y[0]) * oldPlotH); });
    var plotH = heights.reduce(function (a, b) { return a + b; }, 0) + (ps.length - 1) * GAP_PX;
    var top = 1, cells = [];
    ps.forEach(function (p, i) {
      var dom = { x: [0, 1], y: [Math.max(0, top - heights[i] / plotH), top] };
      cells.push({ from: { x: p.x.slice(), y: p.y.slice() }, to: dom });
      if (p.kind === "xy") { L[p.keys[0]].domain = dom.x; L[p.keys[1]].domain = dom.y; }
      else L[p.keys[0]].domain = dom;
      top -= (heights[i] + GAP_PX) / plotH;
    });
    (L.annotations || []).forEach(function (a) {
      if (a.xref !== "paper" || a.yref !== "paper") return;
      var cell = cells.find(function (c) { return inBox(a.x, a.y, c.from, 0.03); });
      if (!cell) return;
      a.x = mapInto(a.x, cell.from.x, cell.to.x);
      a.y = mapInto(a.y, cell.from.y, cell.to.y);
    });
    if (L.legend) {
      L.legend.orientation = "h"; L.legend.x = 0; L.legend.xanchor = "left";
      L.legend.y = -LEGEND_GAP_PX / plotH; L.legend.yanchor = "top";
    }
    /* room for a legend of up to 5 lines, so that plotly need not shrink the panels for it */
    L.margin = Object.assign({}, m, { b: mb + (L.legend ? LEGEND_GAP_PX + 110 : 0), r: Math.min(m.r === undefined ? 20 : m.r, 15) });
    L.height = Math.round(plotH + mt + L.margin.b);
    return L;
  }

  window.setdynLayout = { stackLayout: stackLayout, update: update, settled: settled, NARROW_PX: NARROW_PX };
})();
