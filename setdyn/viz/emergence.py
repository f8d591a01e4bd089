"""The emergence scrubber: training as an explorable, one frame per weight snapshot.

An epoch slider (and a play button) moves through the snapshots of a training
run (`setdyn.training.checkpoints`); in sync the figure shows

* the phase portrait: the example trials and the input-free orbit, in the first
  two principal components of the *final* network's training-set rates (so that
  every frame is drawn in the same axes);
* the output z(t) of three trials (invalid, no input, valid, as in Fig. 3);
* the eigenvalues of the Jacobian at the central fixed point, with the unit circle;
* each colour's mean phase kick as an arrow on a dial, once there is a cycle;
* a marker on the loss and accuracy curves, with the three events of
  `setdyn.analysis.emergence.find_events`.

Everything is precomputed here (:func:`scrubber_data`, a JSON payload) and drawn
in the reader's browser by ``setdyn/viz/js/emergence.js`` with plain SVG; no
kernel, nothing fetched. A frame only changes attributes of existing elements,
with path strings built once at mount, so it redraws well within 16 ms.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from .. import paper, task
from ..analysis import activation, free_trajectory, training_pca
from ..model import CTRNN
from ..display import HTMLFragment

if TYPE_CHECKING:
    import plotly.graph_objects as go

JS_DIR = Path(__file__).parent / "js"
#: The three example trials (sequence, as in the paper's Fig. 3: invalid, no input, valid).
EXAMPLES: tuple[str, ...] = ("GGP", "", "GPR")
#: Input-free steps before the settled orbit is drawn, and steps drawn of it.
SETTLE_STEPS, ORBIT_STEPS = 1500, 60
#: Points of the loss / accuracy curves (log-spaced in epoch).
CURVE_POINTS = 240

_ids = itertools.count(1)


class ScrubberHTML(HTMLFragment):
    """HTML of the scrubber (`setdyn.display.HTMLFragment`)."""

    what = "emergence scrubber"


def _r(a: Any, d: int = 3) -> Any:
    """Rounded nested lists (None stays None) for a compact payload."""
    if a is None:
        return None
    return np.round(np.asarray(a, float), d).tolist()


def _log_curve(epochs: np.ndarray, values: np.ndarray, n: int) -> list[list[float]]:
    """(epoch, value) at about n log-spaced epochs (the first and last kept)."""
    idx = np.unique(np.round(np.geomspace(1, len(epochs), n)).astype(int) - 1)
    return [[int(epochs[i]), round(float(values[i]), 4)] for i in idx]


def example_codes() -> tuple[np.ndarray, np.ndarray]:
    """(codes of the three `EXAMPLES` trials, codes of the 27 test trials): the inputs every frame shows."""
    test = task.test_set()
    names = [task.sequence_name(c) for c in test.colors]
    ex = np.stack([test.codes[names.index(s)] if s else np.full(test.codes.shape[1], task.NO_INPUT)
                   for s in EXAMPLES])
    return ex, test.codes


def snapshot_frame(model: CTRNN, row: dict[str, Any], pca: Any, ex_codes: np.ndarray,
                   test_codes: np.ndarray) -> dict[str, Any]:
    """One frame of the scrubber, computed from a snapshot's weights (float64 `model`) and its
    measurement `row`: the three example trials, the 27 end states and the settled input-free orbit
    in the final network's first two PCs (`pca`), the outputs z(t), the eigenvalues, kicks (degrees),
    period (ms) and accuracies (see `scrubber_data`)."""
    with torch.no_grad():
        ex = model.run(ex_codes)
        ends = model.run(test_codes).rates[:, -1]
        free = free_trajectory(model, SETTLE_STEPS + ORBIT_STEPS)
        orbit = activation(model, torch.as_tensor(free[-ORBIT_STEPS:])).numpy()
    pc = lambda r: pca.project(np.asarray(r, float))[..., :2]  # noqa: E731
    z3 = row.get("z3")
    return {
        "trials": _r(pc(ex.rates.numpy())), "ends": _r(pc(ends.numpy())), "orbit": _r(pc(orbit)),
        "z": _r(ex.outputs.numpy()), "eig": _r(row["eigenvalues"], 4), "kind": row["kind"],
        "period_ms": None if row["period_ms"] is None else round(float(row["period_ms"]), 1),
        "kicks_deg": _r(row["kicks_deg"], 1),
        "z3_agreement": None if not z3 else round(z3["z3_phase_agreement_27"] / 27, 3),
        "fresh_acc": round(float(row["accuracy"]["fresh_acc_clean"]), 3),
        "train_acc_noisy": round(float(row["accuracy"]["train_acc_noisy"]), 3),
        "modulus": None if row["leading_modulus"] is None else round(float(row["leading_modulus"]), 4)}


def scrubber_data(models: Sequence[CTRNN], index: dict[str, Any], rows: Sequence[dict[str, Any]],
                  events: dict[str, Any]) -> dict[str, Any]:
    """The scrubber's JSON payload from the snapshots (float64 models, in epoch order), their
    checkpoint index, their measurements (`measure_checkpoints`) and the events (`find_events`).

    Returns a dict with: epochs, frames (per snapshot: portrait {trials: 3 x T x 2, ends: 27 x 2,
    orbit: ORBIT_STEPS x 2 settled input-free orbit}, z (3 x T),
    eig (K x 2, re/im), kind, period_ms, kicks_deg (3 or None), z3_agreement, accuracy), the
    examples (names, valid), loss and accuracy curves (log-spaced (epoch, value) pairs), the
    events, colours and the decision threshold.
    """
    if len(models) != len(rows) or len(models) != len(index["epochs"]):
        raise ValueError(f"{len(models)} models, {len(rows)} measurements and {len(index['epochs'])} epochs: "
                         "they must be the same snapshots")
    seed = int(index["config"]["seed"])
    pca = training_pca(models[-1], seed=seed)
    ex_codes, test_codes = example_codes()
    test = task.test_set()
    frames = [snapshot_frame(model, row, pca, ex_codes, test_codes) for model, row in zip(models, rows)]
    hist = index.get("history") or {}
    loss = np.asarray(hist.get("train_loss", []), float)
    ep = np.arange(1, len(loss) + 1)
    ev_ep = np.asarray(hist.get("eval_epoch", []), int)
    fresh = np.asarray(hist.get("fresh_acc_clean", []), float)
    return {
        "epochs": [int(e) for e in index["epochs"]],
        "frames": frames,
        "examples": [{"name": s or "no input", "valid": bool(s) and task.is_valid_set(s)} for s in EXAMPLES],
        "valid": [bool(t > 0) for t in test.targets],
        "loss": _log_curve(ep, loss, CURVE_POINTS) if len(loss) else [],
        "accuracy": _log_curve(ev_ep, fresh, CURVE_POINTS // 2) if len(ev_ep) else [],
        "events": {k: events.get(k) for k in ("birth_epoch", "birth_scan_epoch", "crossing_epoch", "z3_epoch",
                                              "accuracy_epoch")},
        "colors": [{"name": n, "letter": c, "hex": paper.COLOR_HEX[n]} for n, c in zip(paper.COLORS,
                                                                                     paper.COLOR_LETTERS)],
        "threshold": paper.DECISION_THRESHOLD,
        "dt_ms": paper.DT_MS,
    }


def timeline_figure(rows: Sequence[dict[str, Any]], events: dict[str, Any],
                    history: dict[str, list[float]]) -> go.Figure:
    """The three events on one time axis (plotly figure): per snapshot the leading eigenvalue modulus at
    the central fixed point (top, with |lambda| = 1), and below the run's noise-free accuracy on fresh
    onsets and noisy training accuracy with the snapshots' Z3 agreement (fraction of the 27 test
    trials whose end phase the Z3 automaton predicts); dashed lines at the birth (the crossing of
    |lambda| = 1, or the first epoch of the cycle in a birth scan), the Z3 code and the paper's accuracy.
    Epochs on a log axis (epoch + 1)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ep = np.array([r["epoch"] for r in rows]) + 1
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.45, 0.55])
    mod = [r["leading_modulus"] for r in rows]
    kinds = [r["kind"] for r in rows]
    fig.add_trace(go.Scatter(x=ep, y=mod, mode="lines+markers", name="|λ| leading (fixed point)",
                             marker=dict(color=["#d62728" if k == "limit cycle" else "#1f77b4" for k in kinds]),
                             line=dict(color="#888"), text=kinds,
                             hovertemplate="epoch %{customdata}<br>|λ| %{y:.3f}<br>%{text}<extra></extra>",
                             customdata=ep - 1), 1, 1)
    fig.add_hline(y=1.0, line=dict(color="#444", dash="dot"), row=1, col=1)
    ev_ep = np.asarray(history["eval_epoch"])
    fig.add_trace(go.Scatter(x=ev_ep + 1, y=history["fresh_acc_clean"], name="accuracy, fresh onsets (no noise)",
                             line=dict(color="#1f77b4")), 2, 1)
    noisy = np.asarray(history["train_acc_noisy"])
    fig.add_trace(go.Scatter(x=ev_ep + 1, y=noisy[ev_ep - 1], name="accuracy, training (noisy)",
                             line=dict(color="#aec7e8")), 2, 1)
    z3 = [None if not r["z3"] else r["z3"]["z3_phase_agreement_27"] / 27 for r in rows]
    fig.add_trace(go.Scatter(x=ep, y=z3, mode="lines+markers", name="Z3 agreement (27 trials)",
                             line=dict(color="#2ca02c")), 2, 1)
    born = next((events[k] for k in ("birth_scan_epoch", "crossing_epoch", "birth_epoch") if events.get(k) is not None),
                None)
    for k, (name, e) in enumerate((("cycle born", born), ("Z3 code", events.get("z3_epoch")),
                                   ("paper's accuracy", events.get("accuracy_epoch")))):
        if e is not None:
            fig.add_vline(x=e + 1, line=dict(color="#333", dash="dash"))
            fig.add_annotation(x=np.log10(e + 1), xref="x2", y=1.01 + 0.055 * k, yref="paper",
                               text=f"{name} ({e:.0f})", showarrow=False, xanchor="right", font=dict(size=11))
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="epoch + 1 (log scale)", row=2, col=1)
    fig.update_yaxes(title_text="|λ| at fixed point", row=1, col=1)
    fig.update_yaxes(title_text="fraction", range=[-0.03, 1.05], row=2, col=1)
    fig.update_layout(height=500, margin=dict(l=60, r=10, t=60, b=50), legend=dict(orientation="h", y=-0.2),
                      template="plotly_white")
    return fig


#: Marker of each event in the seeds figure: (name, symbol, colour).
EVENT_MARKS = (("birth_epoch", "cycle born (first snapshot)", "circle-open", "#d62728"),
               ("z3_epoch", "Z3 code", "diamond", "#2ca02c"),
               ("accuracy_epoch", "paper's accuracy", "star", "#1f77b4"))


def seeds_figure(records: Sequence[dict[str, Any]]) -> go.Figure:
    """Every seed's training on one log time axis (plotly figure), one row per seed, grouped by the final
    network's taxonomy label: grey dots at snapshots with a fixed point, red dots where the input-free
    run is a limit cycle, and the events (`find_events`) as markers. Records from
    `setdyn.analysis.emergence_seeds.load_records`."""
    import plotly.graph_objects as go

    from ..analysis.emergence_seeds import is_phase_code

    order = sorted(records, key=lambda r: (not is_phase_code(r), str(r["taxon"]),
                                           r["events"]["birth_epoch"] if r["events"]["birth_epoch"] is not None
                                           else np.inf, r["seed"]))
    ylab = [f"{r['seed']} · {r['taxon']}" for r in order]
    fig = go.Figure()
    for cyc, name, colour in ((False, "no cycle", "#bbbbbb"), (True, "limit cycle", "#d62728")):
        xs, ys, text = [], [], []
        for y, r in zip(ylab, order):
            for snap in r["snapshots"]:
                if (snap["kind"] == "limit cycle") == cyc:
                    xs.append(snap["epoch"] + 1)
                    ys.append(y)
                    text.append(f"seed {r['seed']}, epoch {snap['epoch']}: {snap['kind']}, "
                                f"{100 * snap['fresh_acc_clean']:.0f}% fresh accuracy")
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=f"snapshot: {name}", text=text,
                                 hovertemplate="%{text}<extra></extra>",
                                 marker=dict(color=colour, size=5 if cyc else 4)))
    for key, name, symbol, colour in EVENT_MARKS:
        pts = [(r["events"][key] + 1, y) for y, r in zip(ylab, order) if r["events"].get(key) is not None]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers", name=name,
                                 hovertemplate=f"{name}: epoch %{{x}}<extra></extra>",
                                 marker=dict(symbol=symbol, size=11, color=colour,
                                             line=dict(width=2, color=colour))))
    fig.update_xaxes(type="log", title_text="epoch + 1 (log scale)")
    fig.update_yaxes(categoryorder="array", categoryarray=ylab[::-1], title_text="seed · final mechanism",
                     tickfont=dict(size=10))
    fig.update_layout(height=140 + 19 * len(order), margin=dict(l=10, r=10, t=10, b=50),
                      legend=dict(orientation="h", y=-60 / (140 + 19 * len(order)) - 0.08, yanchor="top"),
                      template="plotly_white")
    return fig


def prediction_figure(curves: dict[str, list[float]]) -> go.Figure:
    """Which early sign names the final mechanism (plotly figure): the fraction of seeds whose final
    mechanism (phase code or not) each rule gets right at each epoch: "a limit cycle now" and "the paper's
    accuracy now" (`setdyn.analysis.emergence_seeds.prediction_curves`)."""
    import plotly.graph_objects as go

    ep = np.asarray(curves["epoch"]) + 1
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ep, y=curves["cycle"], mode="lines+markers", name="rule: it runs a limit cycle now",
                             line=dict(color="#d62728", shape="hv")))
    fig.add_trace(go.Scatter(x=ep, y=curves["accuracy"], mode="lines+markers",
                             name="rule: it has the paper's accuracy now", line=dict(color="#1f77b4", shape="hv")))
    fig.update_xaxes(type="log", title_text="epoch + 1 (log scale)")
    fig.update_yaxes(title_text="seeds named right", range=[0, 1.03], tickformat=".0%")
    fig.update_layout(height=340, margin=dict(l=60, r=10, t=10, b=50), legend=dict(orientation="h", y=-0.25),
                      template="plotly_white")
    return fig


def scrubber_html(data: dict[str, Any], *, caption: str = "") -> ScrubberHTML:
    """A self-contained HTML fragment (style, data and script inlined) of the scrubber."""
    missing = {"epochs", "frames", "loss", "accuracy", "events", "colors"} - set(data)
    if missing:
        raise ValueError(f"scrubber data lacks {sorted(missing)}; build it with scrubber_data()")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    uid = f"setdyn-emergence-{next(_ids)}-{hashlib.sha1(payload.encode()).hexdigest()[:8]}"
    js = (JS_DIR / "emergence.js").read_text(encoding="utf-8")
    css = (JS_DIR / "emergence.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("emergence.js / emergence.css must not contain '</script' or '</style'")
    return ScrubberHTML(
        f'<figure class="setdyn-emergence" id="{uid}">\n<style>{css}</style>\n<div class="se-body"></div>\n'
        + (f'<figcaption class="se-caption">{caption}</figcaption>\n' if caption else "")
        + "<noscript>This figure runs in your browser and needs JavaScript.</noscript>\n"
        f'<script type="application/json" class="se-data">{payload}</script>\n'
        f'<script>\n{js}\nwindow.setdynEmergence.mount(document.getElementById("{uid}"));\n</script>\n</figure>\n')


__all__ = ["EVENT_MARKS", "EXAMPLES", "ScrubberHTML", "prediction_figure", "scrubber_data", "scrubber_html", "seeds_figure",
           "timeline_figure"]
