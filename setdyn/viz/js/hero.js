/* setdyn hero figure: the trained network's limit cycle, kicked live by G / P / R.
 *
 * setdyn/viz/hero.py inlines this file (the guard below makes a second copy a
 * no-op) followed by `setdynHero.mount(root)`. The root <figure> holds the data
 * (setdyn.viz.hero.hero_data) as JSON in a script element of type application/json
 * and class sh-data. Plain SVG, no library, nothing fetched.
 *
 * Phases (degrees): the dot is at  clock + psi  on the orbit, where clock turns
 * once per measured period (slowed down by data.slowdown) and psi is the sum of
 * the measured kicks of the colours pressed so far. State k of the automaton is
 * the arc of a third of a turn centred on  clock + n c + 120 k  (n colours
 * pressed, c the common offset of the kicks); after three colours the state is
 * the Z3 sum of the colours' steps, and a SET ends in the start state 0.
 */
(function () {
  "use strict";
  if (window.setdynHero) return;

  const SVG = "http://www.w3.org/2000/svg";
  const W = 330, PADX = 48, PADY = 30, HMAX = 300;
  const KICK_MS = 700;       // duration of the animated kick (real time)
  const ARC_GAP_DEG = 5;     // gap between two state arcs
  const TAIL_DEG = 40;       // the dot's tail (shows which way it turns)
  const KICK_INSET = 13;     // the kick's arrow runs this far (px) inside the orbit
  const STATE_NAMES = ["0°", "+120°", "−120°"]; // state k sits 120 k degrees from the unkicked phase

  // ------------------------------------------------------------ pure helpers

  function mod(a, m) { return ((a % m) + m) % m; }

  /** Angle in (-180, 180]. */
  function wrap180(a) { const w = mod(a + 180, 360) - 180; return w === -180 ? 180 : w; }

  /** "+12°", "−120°", "0°" (true minus sign). */
  function fmtDeg(a) {
    const r = Math.round(a);
    return (r > 0 ? "+" : r < 0 ? "−" : "") + Math.abs(r) + "°";
  }

  function letterIndex(data, letter) {
    const i = data.colors.findIndex(function (c) { return c.letter === letter; });
    if (i < 0) throw new Error("unknown colour " + letter);
    return i;
  }

  /** Relative kick (kick minus the common offset, rounded to the Z3 code) of colour i: 0, +120 or -120. */
  function codeDeg(data, i) { return wrap180(data.class_deg * data.z3_steps[i]); }

  /** "0° − 120° + 120°": a sum of angles written out. */
  function fmtSum(terms) {
    return terms.map(function (t, j) {
      const r = Math.round(t);
      return j === 0 ? fmtDeg(r) : (r < 0 ? " − " : " + ") + Math.abs(r) + "°";
    }).join("");
  }

  /** The automaton after three letters: state (Z3 sum of the steps), validity and the verdict's two lines. */
  function verdict(data, letters) {
    const idx = letters.map(function (l) { return letterIndex(data, l); });
    const steps = idx.map(function (i) { return data.z3_steps[i]; });
    const state = mod(steps.reduce(function (a, b) { return a + b; }, 0), 3);
    const rel = idx.map(function (i) { return codeDeg(data, i); });
    const sum = rel.reduce(function (a, b) { return a + b; }, 0);
    const valid = state === 0;
    const reduced = wrap180(sum);
    const total = fmtDeg(sum) + (Math.round(reduced) !== Math.round(sum) ? " ≡ " + fmtDeg(reduced) + " (mod 360°)" : "");
    const text = letters.join(" ") + ": the kicks add up to " + fmtSum(rel) + " = " + total + " → " +
      (valid ? "SET (valid)" : "not a SET (invalid)");
    const detail = "Each kick less the common " + fmtDeg(data.common_offset_deg) + "; the dot ends " +
      (valid ? "in the state it started in (0°)." : "in state " + STATE_NAMES[state] + ", not where it started (0°).");
    return { state: state, valid: valid, text: text, detail: detail, steps: steps };
  }

  /** The network's own answer (output z at the last step against the decision threshold). */
  function networkAnswer(data, name) {
    const z = data.network_z[name], th = data.decision_threshold;
    return { z: z, answer: z > th ? "valid" : z < -th ? "invalid" : "undecided" };
  }

  function el(tag, attrs, parent, ns) {
    const e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  /** Black or white text, whichever reads better on a background colour "#rrggbb". */
  function inkOn(hex) {
    const c = [1, 3, 5].map(function (i) {
      const v = parseInt(hex.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    const lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    return lum > 0.25 ? "#111" : "#fff";
  }

  // ------------------------------------------------------------ geometry

  function makeGeometry(orbit) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    orbit.forEach(function (p) {
      x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]); y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
    });
    const s = Math.min((W - 2 * PADX) / (x1 - x0 || 1), (HMAX - 2 * PADY) / (y1 - y0 || 1));
    const h = Math.round((y1 - y0) * s + 2 * PADY);
    const ox = (W - (x1 - x0) * s) / 2;
    const pts = orbit.map(function (p) { return [ox + (p[0] - x0) * s, h - PADY - (p[1] - y0) * s]; });
    let cx = 0, cy = 0;
    pts.forEach(function (p) { cx += p[0]; cy += p[1]; });
    cx /= pts.length; cy /= pts.length;
    const n = pts.length;
    /** Point of the orbit at phase a (degrees), linear between the exported points. */
    function at(a) {
      const u = mod(a, 360) / 360 * n, i = Math.floor(u) % n, f = u - Math.floor(u), q = pts[(i + 1) % n];
      return [pts[i][0] + f * (q[0] - pts[i][0]), pts[i][1] + f * (q[1] - pts[i][1])];
    }
    /** A point dist px outside the orbit at phase a (away from its centroid; inside for dist < 0). */
    function outside(a, dist) {
      const p = at(a), dx = p[0] - cx, dy = p[1] - cy, r = Math.hypot(dx, dy) || 1;
      return [p[0] + dist * dx / r, p[1] + dist * dy / r, dx / r, dy / r];
    }
    /** SVG path along the orbit from phase a0 to a1 (either direction), shifted dist px outwards. */
    function arc(a0, a1, dist) {
      const k = Math.max(1, Math.ceil(Math.abs(a1 - a0) / 2));
      let d = "";
      for (let j = 0; j <= k; j++) {
        const p = outside(a0 + (a1 - a0) * j / k, dist || 0);
        d += (j ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1);
      }
      return d;
    }
    const closed = pts.map(function (p, j) { return (j ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); })
      .join("") + "Z";
    return { at: at, arc: arc, outside: outside, closed: closed, h: h, box: [x0, x1, y0, y1] };
  }

  // ------------------------------------------------------------ the figure

  function Hero(root, data) {
    this.root = root;
    this.data = data;
    this.geo = makeGeometry(data.orbit);
    this.rate = 360 / (data.period_ms * data.slowdown);  // degrees per real ms
    this.clock = 0;        // phase of the unperturbed network (deg)
    this.pressed = [];     // letters pressed in this trial
    this.psi = { from: 0, to: 0 };     // dot phase relative to the clock
    this.frame = { from: 0, to: 0 };   // n c: where the state arcs are centred, relative to the clock
    this.animStart = -Infinity;
    this.kick = null;      // {from, to, color} of the last kick (relative phases)
    this.reduced = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : { matches: false };
    this.paused = this.reduced.matches;
    this.visible = true;
    this.raf = 0;
    this.last = null;
    this.build();
    this.setPaused(this.paused);
    this.update();
    this.watch();
  }

  Hero.prototype.build = function () {
    const d = this.data, g = this.geo, self = this;
    const body = this.root.querySelector(".sh-body");
    body.textContent = "";

    // --- the plot
    const plot = el("div", { class: "sh-plotbox" }, body);
    const svg = el("svg", {
      class: "sh-plot", viewBox: "0 0 " + W + " " + g.h, role: "img",
      "aria-label": "The network's limit cycle in the plane of its first two principal components: " +
        "a dot goes round the closed orbit; three arcs mark the automaton's states.",
    }, plot, true);
    el("path", { class: "sh-orbit", d: g.closed }, svg, true);
    this.arcs = [0, 1, 2].map(function () { return el("path", { class: "sh-arc" }, svg, true); });
    this.labels = [0, 1, 2].map(function (k) {
      const t = el("text", { class: "sh-arc-label", "text-anchor": "middle", "dominant-baseline": "central" }, svg, true);
      t.textContent = STATE_NAMES[k];
      return t;
    });
    const marker = el("marker", { id: this.root.id + "-arrow", viewBox: "0 0 10 10", refX: 7, refY: 5,
      markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse" }, el("defs", {}, svg, true), true);
    this.arrowHead = el("path", { d: "M0 0L10 5L0 10Z" }, marker, true);
    // the tail: four pieces fading away from the dot (shows which way it turns)
    this.tail = [0.12, 0.25, 0.4, 0.6].map(function (o) { return el("path", { class: "sh-tail", opacity: o }, svg, true); });
    this.kickPath = el("path", { class: "sh-kick", "marker-end": "url(#" + this.root.id + "-arrow)" }, svg, true);
    this.dot = el("circle", { class: "sh-dot", r: 7 }, svg, true);
    // axes: two short arrows in the lower-left corner
    const ax = el("g", { class: "sh-axes", "aria-hidden": "true" }, svg, true);
    const x = 6, y = g.h - 6, L = 26;
    el("path", { d: "M" + x + " " + y + "H" + (x + L) + "M" + (x + L - 4) + " " + (y - 3) + "L" + (x + L) + " " + y +
      "L" + (x + L - 4) + " " + (y + 3) + "M" + x + " " + y + "V" + (y - L) + "M" + (x - 3) + " " + (y - L + 4) +
      "L" + x + " " + (y - L) + "L" + (x + 3) + " " + (y - L + 4) }, ax, true);
    el("text", { x: x + L + 3, y: y, "dominant-baseline": "central" }, ax, true).textContent = "PC1";
    el("text", { x: x - 3, y: y - L - 7 }, ax, true).textContent = "PC2";
    el("p", { class: "sh-note" }, plot).textContent =
      "One turn: " + Math.round(d.period_ms) + " ms of network time, shown " + Math.round(d.slowdown) + "× slower.";

    // --- controls and readout
    const side = el("div", { class: "sh-side" }, body);
    el("p", { class: "sh-prompt" }, side).textContent = "Show the network three colours:";
    const row = el("div", { class: "sh-buttons", role: "group", "aria-label": "colour pulses" }, side);
    this.colorButtons = d.colors.map(function (c, i) {
      const b = el("button", {
        type: "button", class: "sh-color", "data-color": c.letter,
        "aria-label": c.name + " pulse: shifts the phase by " + fmtDeg(d.kicks_deg[i]) + " (measured)",
        style: "--sh-c:" + c.hex + ";--sh-ink:" + inkOn(c.hex),
      }, row);
      b.textContent = c.letter;
      b.addEventListener("click", function () { self.press(c.letter); });
      return b;
    });
    this.resetButton = el("button", { type: "button", class: "sh-tool sh-reset", "aria-label": "reset: start a new trial" }, row);
    this.resetButton.textContent = "Reset";
    this.resetButton.addEventListener("click", function () { self.reset(); });
    this.pauseButton = el("button", { type: "button", class: "sh-tool sh-pause" }, row);
    this.pauseButton.addEventListener("click", function () { self.setPaused(!self.paused); });

    el("p", { class: "sh-kicks" }, side).textContent = "Measured kicks: " + d.colors.map(function (c, i) {
      return c.letter + " " + fmtDeg(d.kicks_deg[i]);
    }).join(", ") + ", i.e. a common " + fmtDeg(d.common_offset_deg) + " plus " +
      d.colors.map(function (c, i) { return fmtDeg(codeDeg(d, i)); }).join(", ") + ".";
    this.trail = el("ol", { class: "sh-trail", "aria-label": "state after each colour" }, side);
    const live = el("div", { "aria-live": "polite" }, side);
    this.verdictEl = el("p", { class: "sh-verdict" }, live);
    this.detailEl = el("p", { class: "sh-detail" }, live);
    this.networkEl = el("p", { class: "sh-network" }, live);
  };

  /** Apply a colour: kick the dot by its measured shift (animated unless motion is reduced). */
  Hero.prototype.press = function (letter) {
    const d = this.data, i = letterIndex(d, letter);
    if (this.pressed.length >= 3) this.clearTrial();
    const now = performance.now();
    const psiNow = this.current(this.psi, now), frameNow = this.current(this.frame, now);
    this.pressed.push(letter);
    // the arrow shows the whole measured kick, even if the previous one is still under way
    this.kick = { from: this.psi.to, to: this.psi.to + d.kicks_deg[i], color: d.colors[i].hex };
    this.psi = { from: psiNow, to: this.kick.to };
    this.frame = { from: frameNow, to: this.pressed.length * d.common_offset_deg };
    this.animStart = this.reduced.matches ? -Infinity : now;
    this.update();
    this.kickoff();
  };

  Hero.prototype.clearTrial = function () {
    this.pressed = [];
    this.psi = { from: 0, to: 0 };
    this.frame = { from: 0, to: 0 };
    this.kick = null;
  };

  /** Back to the unperturbed network, state 0. */
  Hero.prototype.reset = function () {
    const now = performance.now();
    const psiNow = this.current(this.psi, now), frameNow = this.current(this.frame, now);
    this.clearTrial();
    this.psi = { from: psiNow, to: 0 };
    this.frame = { from: frameNow, to: 0 };
    this.animStart = this.reduced.matches ? -Infinity : now;
    this.update();
    this.kickoff();
  };

  Hero.prototype.setPaused = function (p) {
    this.paused = p;
    this.pauseButton.textContent = p ? "Play" : "Pause";
    this.pauseButton.setAttribute("aria-label", p ? "play: let the cycle turn" : "pause the turning cycle");
    this.pauseButton.setAttribute("aria-pressed", String(p));
    this.kickoff();
  };

  /** How far the current kick's animation is at time now (0 to 1, eased). */
  Hero.prototype.progress = function (now) {
    const u = Math.min(1, Math.max(0, (now - this.animStart) / KICK_MS));
    return 1 - Math.pow(1 - u, 3);
  };

  /** Value of an animated quantity {from, to} at time now. */
  Hero.prototype.current = function (q, now) { return q.from + (q.to - q.from) * this.progress(now); };

  Hero.prototype.animating = function (now) { return now - this.animStart < KICK_MS; };

  /** Start the animation loop if something moves and the figure is on screen. */
  Hero.prototype.kickoff = function () {
    const self = this;
    if (this.raf || !this.visible) { if (!this.raf) this.draw(performance.now()); return; }
    function frame(now) {
      self.raf = 0;
      if (self.last !== null && !self.paused) self.clock = mod(self.clock + Math.min(now - self.last, 100) * self.rate, 360);
      self.last = now;
      self.draw(now);
      if (self.visible && (!self.paused || self.animating(now))) self.raf = requestAnimationFrame(frame);
      else self.last = null;
    }
    this.raf = requestAnimationFrame(frame);
  };

  /** Redraw the moving parts for time now. */
  Hero.prototype.draw = function (now) {
    const g = this.geo, d = this.data;
    const psi = this.current(this.psi, now), fr = this.current(this.frame, now);
    const lit = mod(Math.round((psi - fr) / d.class_deg), 3);
    const half = d.class_deg / 2 - ARC_GAP_DEG / 2;
    for (let k = 0; k < 3; k++) {
      const c = this.clock + fr + d.class_deg * k;
      this.arcs[k].setAttribute("d", g.arc(c - half, c + half));
      this.arcs[k].classList.toggle("sh-lit", k === lit);
      const q = g.outside(c, 0), p = g.outside(c, 12 + 7 * Math.abs(q[3]));  // beside the arc, clear of the dot
      this.labels[k].setAttribute("x", p[0].toFixed(1));
      this.labels[k].setAttribute("y", p[1].toFixed(1));
      this.labels[k].setAttribute("text-anchor", p[2] < -0.5 ? "end" : p[2] > 0.5 ? "start" : "middle");
      this.labels[k].classList.toggle("sh-lit", k === lit);
    }
    const p = g.at(this.clock + psi);
    this.dot.setAttribute("cx", p[0].toFixed(1));
    this.dot.setAttribute("cy", p[1].toFixed(1));
    const piece = TAIL_DEG / this.tail.length;
    for (let j = 0; j < this.tail.length; j++) {
      const a = this.clock + psi - TAIL_DEG + j * piece;
      this.tail[j].setAttribute("d", g.arc(a, a + piece));
    }
    if (this.kick) {
      const a0 = this.clock + this.kick.from;
      const a1 = this.clock + this.kick.from + (this.kick.to - this.kick.from) * this.progress(now);
      this.kickPath.setAttribute("d", Math.abs(a1 - a0) > 3 ? g.arc(a0, a1, -KICK_INSET) : "");
      this.kickPath.style.stroke = this.kick.color;
      this.arrowHead.setAttribute("fill", this.kick.color);
    } else {
      this.kickPath.setAttribute("d", "");
    }
    this.root.dataset.litState = String(lit);
  };

  /** Redraw the readout (trail of states, verdict, the network's answer). */
  Hero.prototype.update = function () {
    const d = this.data, self = this, n = this.pressed.length;
    this.trail.textContent = "";
    const chip = function (text, cls) { const li = el("li", { class: "sh-state " + cls }, self.trail); li.textContent = text; return li; };
    chip(STATE_NAMES[0], "sh-start").setAttribute("aria-label", "start: state 0°");
    let state = 0;
    for (let j = 0; j < 3; j++) {
      const letter = this.pressed[j];
      const step = el("li", { class: "sh-step", "aria-hidden": letter ? "false" : "true" }, this.trail);
      if (letter) {
        const c = d.colors[letterIndex(d, letter)];
        step.style.setProperty("--sh-c", c.hex);
        step.style.setProperty("--sh-ink", inkOn(c.hex));
        el("span", { class: "sh-pill" }, step).textContent = letter;
        step.setAttribute("aria-label", c.name);
        state = mod(state + d.z3_steps[letterIndex(d, letter)], 3);
        chip(STATE_NAMES[state], j === n - 1 ? "sh-now" : "").setAttribute("aria-label", "state " + STATE_NAMES[state]);
      } else {
        chip("?", "sh-empty").setAttribute("aria-hidden", "true");
      }
    }
    this.root.dataset.pressed = this.pressed.join("");
    if (n < 3) {
      this.verdictEl.textContent = n === 0 ? "Three colours form a SET when they are all the same or all different."
        : "State " + STATE_NAMES[state] + ". " + (3 - n) + " more colour" + (n === 2 ? "" : "s") + ".";
      delete this.verdictEl.dataset.valid;
      this.verdictEl.className = "sh-verdict";
      this.detailEl.textContent = "";
      this.networkEl.textContent = "";
      delete this.networkEl.dataset.answer;
      return;
    }
    const v = verdict(d, this.pressed);
    this.verdictEl.textContent = v.text;
    this.detailEl.textContent = v.detail;
    this.verdictEl.dataset.valid = String(v.valid);
    this.verdictEl.className = "sh-verdict " + (v.valid ? "sh-valid" : "sh-invalid");
    const name = this.pressed.join(""), a = networkAnswer(d, name);
    this.networkEl.dataset.answer = a.answer;
    this.networkEl.textContent = "The trained network itself, shown " + name + " at " +
      d.onsets_ms.map(function (t) { return Math.round(t); }).join(", ") + " ms, answers " +
      (a.answer === "valid" ? "SET" : a.answer === "invalid" ? "not a SET" : "undecided") +
      " (output " + (a.z >= 0 ? "+" : "−") + Math.abs(a.z).toFixed(2) + " at 500 ms).";
  };

  /** Pause the loop off screen and in hidden tabs; follow changes of prefers-reduced-motion. */
  Hero.prototype.watch = function () {
    const self = this;
    if ("IntersectionObserver" in window) {
      new IntersectionObserver(function (entries) {
        self.visible = entries[entries.length - 1].isIntersecting;
        if (self.visible) self.kickoff();
      }).observe(this.root);
    }
    document.addEventListener("visibilitychange", function () {
      self.visible = document.visibilityState === "visible";
      if (self.visible) self.kickoff();
    });
    if (this.reduced.addEventListener) {
      this.reduced.addEventListener("change", function (e) { self.setPaused(e.matches); });
    }
    this.kickoff();
  };

  // ------------------------------------------------------------ mount

  const instances = {};

  function mount(root) {
    if (!root || instances[root.id]) return instances[root && root.id];
    const data = JSON.parse(root.querySelector("script.sh-data").textContent);
    const hero = new Hero(root, data);
    instances[root.id] = hero;
    return hero;
  }

  window.setdynHero = { mount: mount, instances: instances, verdict: verdict, networkAnswer: networkAnswer,
                        wrap180: wrap180 };
})();
