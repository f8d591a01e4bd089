/* setdyn explorers, part 1 of 2: the computations (no DOM, no plotting): the CT-RNN, the task's rules,
 * the oscillator. Part 2 (explorer.js) draws and handles the controls. Both computed in the reader's browser.
 *
 * setdyn/viz/explorers/static.py inlines this file and explorer.js into the page once per
 * explorer (the guards make a second copy a no-op), followed by `setdynExplorers.mount(root)`.
 * Nothing is fetched from anywhere.
 *
 * Model (setdyn.model.CTRNN), a = dt/tau:
 *   x_{t+1} = (1 - a) x_t + a (J tanh(x_t) + B u_t + b + eta_t)
 *   r_t = tanh(x_{t+1}),  z_t = W r_t + b_out      (t = 0 .. T-1)
 * Oscillator (setdyn.oscillator):
 *   f(t) = A sin(2 pi t / T + phi0 + sum of the kicks of the pulses with onset + delay <= t) - offset
 */
(function () {
  "use strict";
  if (window.setdynModel) return;

  const DEG = Math.PI / 180;

  // ------------------------------------------------------------------ data

  function decodeFloat32(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return Float64Array.from(new Float32Array(bytes.buffer)); // little-endian, as written by numpy '<f4'
  }

  /** The network from its exported float32 weights (computations run in float64). */
  function makeNet(w) {
    const n = w.n, d = w.d;
    const J = decodeFloat32(w.J), B = decodeFloat32(w.B), colors = decodeFloat32(w.colors);
    // B u for u = green, purple, red: the only inputs the task uses
    const input = [0, 1, 2].map(function (c) {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += B[i * d + k] * colors[c * d + k];
        v[i] = s;
      }
      return v;
    });
    const net = {
      n: n, d: d, alpha: w.alpha, J: J, input: input,
      b: decodeFloat32(w.b), W: decodeFloat32(w.W), bOut: decodeFloat32(w.b_out)[0],
      x0: decodeFloat32(w.x0), mean: decodeFloat32(w.pca_mean), pcs: decodeFloat32(w.pca_components),
      angle: w.angle_deg, radius: w.pc_radius,
    };
    net.r0 = net.x0.map(Math.tanh);
    net.z0 = readout(net, net.r0, 0);
    return net;
  }

  function readout(net, rates, offset) {
    let z = net.bOut;
    for (let i = 0; i < net.n; i++) z += net.W[i] * rates[offset + i];
    return z;
  }

  // ------------------------------------------------------------------ random numbers

  /** Seeded uniform [0, 1) generator (mulberry32). */
  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Seeded standard normal generator (Box-Muller on mulberry32). */
  function normals(seed) {
    const rand = mulberry32(seed);
    let spare = null;
    return function () {
      if (spare !== null) { const s = spare; spare = null; return s; }
      let u = 0;
      while (u === 0) u = rand();
      const m = Math.sqrt(-2 * Math.log(u)), v = 2 * Math.PI * rand();
      spare = m * Math.sin(v);
      return m * Math.cos(v);
    };
  }

  // ------------------------------------------------------------------ the network

  /**
   * Run one trial. codes: per-step stimulus codes (-1 none, 0/1/2 colour).
   * Returns rates (T x n, row-major) and outputs z (T), as setdyn.model.CTRNN.run.
   */
  function simulate(net, codes, noiseStd, seed) {
    const n = net.n, T = codes.length, a = net.alpha, J = net.J, b = net.b;
    const rates = new Float64Array(T * n), z = new Float64Array(T);
    const x = Float64Array.from(net.x0), r = Float64Array.from(net.r0), h = new Float64Array(n);
    const gauss = noiseStd > 0 ? normals(seed || 0) : null;
    for (let t = 0; t < T; t++) {
      const u = codes[t] >= 0 ? net.input[codes[t]] : null;
      for (let i = 0; i < n; i++) {
        let s = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) s += J[row + j] * r[j];
        s += b[i];
        if (u) s += u[i];
        if (gauss) s += noiseStd * gauss();
        h[i] = s;
      }
      const off = t * n;
      for (let i = 0; i < n; i++) {
        x[i] = a === 1 ? h[i] : (1 - a) * x[i] + a * h[i];
        r[i] = Math.tanh(x[i]);
        rates[off + i] = r[i];
      }
      z[t] = readout(net, rates, off);
    }
    return { rates: rates, z: z };
  }

  /** PC1, PC2 and rPC1 of rates (T x n). */
  function project(net, rates) {
    const n = net.n, T = rates.length / n;
    const pc1 = new Float64Array(T), pc2 = new Float64Array(T), rpc1 = new Float64Array(T);
    const c = Math.cos(net.angle * DEG), s = Math.sin(net.angle * DEG);
    for (let t = 0; t < T; t++) {
      let p = 0, q = 0;
      for (let i = 0; i < n; i++) {
        const v = rates[t * n + i] - net.mean[i];
        p += net.pcs[i] * v;
        q += net.pcs[n + i] * v;
      }
      pc1[t] = p; pc2[t] = q; rpc1[t] = c * p + s * q;
    }
    return { pc1: pc1, pc2: pc2, rpc1: rpc1 };
  }

  /** The network's answer from its final output (setdyn.paper.verdict); the threshold (0.5 in the
   * paper) comes from the exported data, task.decision_threshold, never typed here. */
  function answer(zLast, threshold) {
    return zLast > threshold ? "valid" : zLast < -threshold ? "invalid" : "undecided";
  }

  // ------------------------------------------------------------------ the task

  function isValidSet(seq) {
    const distinct = new Set(seq).size;
    return distinct === 1 || distinct === 3;
  }

  /** null when the onsets (ms) follow the rules of setdyn.task.check_onsets, else the message. */
  function checkOnsets(task, onsetsMs) {
    const dt = task.dt_ms, lo = task.onset_min * dt, hi = task.onset_max * dt;
    for (let k = 0; k < onsetsMs.length; k++) {
      const o = onsetsMs[k];
      if (!Number.isFinite(o)) return "onset " + (k + 1) + " is not a number";
      if (Math.round(o / dt) * dt !== o) return "onset " + (k + 1) + " (" + o + " ms) is not a multiple of " + dt + " ms";
      if (o < lo || o > hi) return "onset " + (k + 1) + " (" + o + " ms) is outside the allowed window " + lo + "-" + hi + " ms";
      if (o / dt + task.pulse_steps > task.n_steps) return "the pulse at " + o + " ms ends after the trial";
    }
    for (let k = 1; k < onsetsMs.length; k++) {
      const gap = onsetsMs[k] - onsetsMs[k - 1];
      if (gap <= 0) return "onsets must increase: onset " + (k + 1) + " (" + onsetsMs[k] + " ms) is not after onset " + k + " (" + onsetsMs[k - 1] + " ms)";
      if (gap < task.min_gap * dt) {
        return "onsets " + k + " and " + (k + 1) + " are " + gap + " ms apart; consecutive onsets need at least " +
          task.min_gap * dt + " ms (a " + task.pulse_steps * dt + " ms pulse and a gap)";
      }
    }
    return null;
  }

  /** Per-step stimulus codes (-1 none), as setdyn.task.stimulus. */
  function stimulus(task, seq, onsetsMs) {
    const codes = new Int8Array(task.n_steps).fill(-1);
    seq.forEach(function (c, k) {
      const o = Math.round(onsetsMs[k] / task.dt_ms);
      for (let s = o; s < o + task.pulse_steps; s++) codes[s] = c;
    });
    return codes;
  }

  // ------------------------------------------------------------------ the oscillator

  /**
   * f(t) at times tMs (ms), as setdyn.oscillator.handcrafted; p = {amplitude, period_ms, offset,
   * kicks_deg: [green, purple, red], phase0_deg, kick_delay_ms} (a kick counts from onset + delay on).
   */
  function oscillator(p, seq, onsetsMs, tMs) {
    const delay = p.kick_delay_ms || 0;
    return Array.from(tMs, function (t) {
      let phase = 2 * Math.PI * t / p.period_ms + (p.phase0_deg || 0) * DEG;
      for (let k = 0; k < seq.length; k++) if (t >= onsetsMs[k] + delay) phase += p.kicks_deg[seq[k]] * DEG;
      return p.amplitude * Math.sin(phase) - p.offset;
    });
  }

  /** Fixed y range of f(t): +-16 unless amplitude + |offset| needs more (steps of 5). */
  function fRange(p) {
    const top = Math.max(16, 5 * Math.ceil((p.amplitude + Math.abs(p.offset) + 1) / 5));
    return [-top, top];
  }

  function wrap360(deg) { return ((deg % 360) + 360) % 360; }
  function wrap180(deg) { const w = wrap360(deg); return w >= 180 ? w - 360 : w; } // [-180, 180), as setdyn.numerics.wrap_deg

  /**
   * The kicks (deg; green, purple, red) as a Z3 code, as setdyn.viz.explorers.data.kick_code:
   * kick_i = c + 120 s_i + e_i with the common offset c (circular mean of the kicks modulo 120),
   * the steps s_i and the deviations e_i centred to sum to 0. isZ3Code: the steps are a permutation
   * and every |e_i| < toleranceDeg / 3, exactly when the verdict below is the SET rule for all 27 sequences.
   */
  function kickCode(kicks, toleranceDeg) {
    let re = 0, im = 0;
    kicks.forEach(function (k) { re += Math.cos(3 * k * DEG); im += Math.sin(3 * k * DEG); });
    let c = Math.atan2(im / 3, re / 3) / DEG / 3;
    c -= 120 * Math.round(c / 120); // in [-60, 60): one of the three equivalent offsets
    const steps = kicks.map(function (k) { return ((Math.round(wrap180(k - c) / 120) % 3) + 3) % 3; });
    const resid = kicks.map(function (k, i) { return wrap180(wrap180(k - c) - 120 * steps[i]); });
    const shift = (resid[0] + resid[1] + resid[2]) / 3;
    const dev = resid.map(function (r) { return r - shift; });
    const isZ3Code = new Set(steps).size === 3 && Math.max.apply(null, dev.map(Math.abs)) < toleranceDeg / 3;
    return { commonOffset: wrap180(c + shift), steps: steps, deviation: dev, isZ3Code: isZ3Code };
  }

  /**
   * Phases (deg) at the end of the trial, as setdyn.viz.explorers.data.oscillator_phase: without kicks
   * (the free phase), after each pulse, the valid phase (free phase + k_G + k_P + k_R: what every SET
   * adds when the kicks form a Z3 code) and the verdict: valid iff the final phase is within
   * task.valid_tolerance_deg (60) of the valid phase, "no code" when the kicks are not a Z3 code.
   */
  function oscillatorPhase(p, seq, tEndMs, toleranceDeg) {
    const k = p.kicks_deg;
    const freePhase = wrap360((p.phase0_deg || 0) + 360 * tEndMs / p.period_ms);
    const validPhase = wrap360(freePhase + k[0] + k[1] + k[2]);
    const path = [freePhase];
    let sum = 0;
    seq.forEach(function (c) { sum += k[c]; path.push(wrap360(freePhase + sum)); });
    const finalPhase = path[path.length - 1];
    const offBy = wrap180(finalPhase - validPhase);
    const code = kickCode(k, toleranceDeg);
    const phaseVerdict = Math.abs(offBy) < toleranceDeg ? "valid" : "invalid";
    return { freePhase: freePhase, validPhase: validPhase, path: path, finalPhase: finalPhase, offBy: offBy,
      code: code, phaseVerdict: phaseVerdict, verdict: code.isZ3Code ? phaseVerdict : "no code" };
  }

  function rSquared(model, target) {
    let mean = 0;
    target.forEach(function (v) { mean += v; });
    mean /= target.length;
    let res = 0, tot = 0;
    target.forEach(function (v, i) { res += (v - model[i]) * (v - model[i]); tot += (v - mean) * (v - mean); });
    return 1 - res / tot;
  }

  window.setdynModel = {
    DEG: DEG, decodeFloat32: decodeFloat32, makeNet: makeNet, readout: readout, mulberry32: mulberry32,
    normals: normals, simulate: simulate, project: project, answer: answer, isValidSet: isValidSet,
    checkOnsets: checkOnsets, stimulus: stimulus, oscillator: oscillator, fRange: fRange, wrap360:
    wrap360, wrap180: wrap180, kickCode: kickCode, oscillatorPhase: oscillatorPhase, rSquared: rSquared,
  };
})();
