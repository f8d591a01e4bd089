"""The explorers as ipywidgets for a running kernel (Binder, JupyterLab), driven by setdyn's Python
model, and the functions a chapter calls to show an explorer in both places.

:func:`show_oscillator_explorer` / :func:`show_network_explorer` publish the ipywidgets version
(shown by Jupyter) together with the static one (:mod:`.static`, shown by the book); see
:func:`setdyn.display.live`.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ... import paper, task
from ...model import CTRNN
from .data import NOISE_TRIALS, TRIAL_MS, VALID_TOLERANCE_DEG, explorer_network, explorer_params, onsets_to_steps, trial_from
from .plots import VERDICT_HEX, network_explorer_figure, oscillator_explorer_figure
from .static import ExplorerHTML, network_explorer_html, oscillator_explorer_html

if TYPE_CHECKING:
    import ipywidgets as widgets


def _mark(ok: bool) -> str:
    return "\u2714" if ok else "\u2718"


def oscillator_verdict_html(sequence: Sequence[int], summary: dict[str, Any]) -> str:
    """The oscillator explorer's verdict line (HTML) for a summary of :func:`oscillator_explorer_figure`;
    the static page writes the same sentences in explorer.js."""
    ph, truth = summary["phase"], summary["truth"]
    name = task.sequence_name(sequence)
    is_set = f"{name} is {'a SET' if truth == 'valid' else 'not a SET'}"
    if ph.verdict == "no code":
        worst = max(abs(d) for d in ph.code.deviation_deg)
        head = (f'<b style="color:{VERDICT_HEX[ph.verdict]}">Oscillator: no verdict.</b> These kicks are not a Z3 code '
                f"(a common offset plus 0, +120 and \u2212120\u00b0 in some order, each within "
                f"{VALID_TOLERANCE_DEG / 3:.0f}\u00b0; here off by up to {worst:.0f}\u00b0), so the final phase "
                f"({ph.final_phase:.0f}\u00b0) does not follow the SET rule for every sequence. {is_set}.")
    else:
        head = (f'<b style="color:{VERDICT_HEX[ph.verdict]}">Oscillator: {ph.verdict}.</b> Final phase '
                f"{ph.final_phase:.0f}\u00b0, {abs(ph.off_by):.0f}\u00b0 from the valid phase {ph.valid_phase:.0f}\u00b0 "
                f"(kick-free phase plus one green, one purple and one red kick, which every SET adds: three times the "
                f"kick offset shared by all colours, {ph.code.common_offset_deg:.0f}\u00b0). {is_set} {_mark(ph.verdict == truth)}.")
    r2 = summary["r2"]
    why = " (below 0: worse than predicting the network's mean)" if r2 < 0 else ""
    return (f"{head} f({TRIAL_MS:.0f} ms) = {summary['f_end']:.2f}. "
            f"Match to the network's rPC1: R\u00b2 = {r2:.2f}{why}.")


class _TrialControls:
    """Colour and onset of each slot (ipywidgets), onsets in ms checked like setdyn.task."""

    def __init__(self, seq: list[int], onsets_ms: list[float]) -> None:
        import ipywidgets as w

        dt = task.DT_MS
        self.colors = [w.ToggleButtons(options=[(letter, i) for i, letter in enumerate(task.COLOR_LETTERS)],
                                       value=c, description=f"colour {k + 1}",
                                       tooltips=list(task.COLORS),
                                       style={"button_width": "2.6em"}) for k, c in enumerate(seq)]
        self.onsets = [w.IntSlider(value=int(o), min=int(task.ONSET_MIN * dt), max=int(task.ONSET_MAX * dt),
                                   step=int(dt), description="onset (ms)", continuous_update=True)
                       for o in onsets_ms]
        self.message = w.HTML()
        rows = [w.HBox([c, o]) for c, o in zip(self.colors, self.onsets)]
        self.box = w.VBox([*rows, self.message])

    @property
    def widgets(self) -> list:
        return [*self.colors, *self.onsets]

    def read(self) -> tuple[list[int], list[float]] | None:
        """(sequence, onsets ms), or None (and the message shown) when the onsets are not allowed."""
        seq = [c.value for c in self.colors]
        ons = [float(o.value) for o in self.onsets]
        try:
            onsets_to_steps(ons)
        except ValueError as e:
            self.message.value = f'<span style="color:#b00020;font-weight:600">Not a valid trial: {html.escape(str(e))}.</span>'
            return None
        self.message.value = ""
        return seq, ons


def as_lists(obj: Any) -> Any:
    """A copy of a figure dict with every numpy array turned into a list.

    A plotly ``FigureWidget`` fed numpy arrays can fail when plotly.js sends a
    trace back after a redraw (plotly.py compares the array with ``not``); plain
    lists avoid that.
    """
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: as_lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_lists(v) for v in obj]
    return obj


def figure_widget(fig: Any) -> Any:
    """A plotly ``FigureWidget`` for a figure (object or dict), with list data (see `as_lists`)."""
    import plotly.graph_objects as go

    spec = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig
    return go.FigureWidget(as_lists(spec))


def update_figure_widget(widget: Any, new: Any) -> None:
    """Replace a FigureWidget's layout and trace data by those of a new figure of the same traces."""
    spec = as_lists(new.to_plotly_json() if hasattr(new, "to_plotly_json") else new)
    with widget.batch_update():
        widget.layout = spec["layout"]
        for trace, fresh in zip(widget.data, spec["data"]):
            trace.update({k: v for k, v in fresh.items() if k != "type"})


def _update_figure(fig: Any, new: dict) -> None:
    new = as_lists(new)
    with fig.batch_update():
        for trace, spec in zip(fig.data, new["data"]):
            trace.update({k: v for k, v in spec.items() if k != "type"})
        fig.layout.shapes = new["layout"]["shapes"]
        for k in ("polar", "yaxis", "xaxis2", "yaxis2"):
            if k in new["layout"]:
                fig.layout[k].update(new["layout"][k])


def oscillator_explorer_widget(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGR",
                               onsets: Sequence[int] | None = None, params: dict[str, Any] | None = None,
                               presets: dict[str, dict[str, Any]] | None = None, train_seed: int | None = None,
                               angle_deg: float | None = None) -> widgets.VBox:
    """The oscillator explorer as ipywidgets (live kernel): same controls as the static version.

    Returns an ``ipywidgets.VBox`` with extra attributes: ``figure`` (plotly FigureWidget),
    ``sliders`` (dict name -> FloatSlider), ``trial`` (colour/onset controls), ``verdict``
    (HTML), ``summary`` (last computed values) and ``update()``.
    """
    import ipywidgets as w
    seq, ons = trial_from(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    p0 = explorer_params(params)
    trial = _TrialControls(seq, ons)
    sliders = {
        "amplitude": w.FloatSlider(value=p0["amplitude"], min=0, max=15, step=0.1, description="amplitude A"),
        "period_ms": w.FloatSlider(value=p0["period_ms"], min=100, max=600, step=1, description="period T (ms)"),
        "offset": w.FloatSlider(value=p0["offset"], min=-10, max=10, step=0.1, description="offset c"),
    }
    for c, name in enumerate(task.COLORS):
        sliders[f"kick_{name}"] = w.FloatSlider(value=p0["kicks_deg"][c], min=-180, max=180, step=1,
                                                description=f"kick {name} (\u00b0)")
    sliders["phase0_deg"] = w.FloatSlider(value=p0["phase0_deg"], min=-180, max=180, step=1,
                                          description="phase \u03c60 (\u00b0)")
    sliders["kick_delay_ms"] = w.FloatSlider(value=p0["kick_delay_ms"], min=0, max=60, step=10,
                                             description="kick delay (ms)")
    for s in sliders.values():
        s.style = {"description_width": "7.5em"}
    all_presets = {"paper's values": explorer_params(None), **{k: explorer_params(v) for k, v in (presets or {}).items()}}
    verdict = w.HTML()
    fig_dict, _ = oscillator_explorer_figure(net, seq, ons, p0)
    figure = figure_widget(fig_dict)
    box = w.VBox()

    def params_now() -> dict[str, Any]:
        return {"amplitude": sliders["amplitude"].value, "period_ms": sliders["period_ms"].value,
                "offset": sliders["offset"].value, "kicks_deg": [sliders[f"kick_{n}"].value for n in task.COLORS],
                "phase0_deg": sliders["phase0_deg"].value, "kick_delay_ms": sliders["kick_delay_ms"].value}

    def update(change: Any = None) -> None:
        trial_now = trial.read()
        if trial_now is None:
            verdict.value = "Fix the onsets to see the oscillator."
            return
        s, o = trial_now
        new, summ = oscillator_explorer_figure(net, s, o, params_now())
        _update_figure(figure, new)
        verdict.value = oscillator_verdict_html(s, summ)
        box.summary = summ

    def apply_preset(name: str) -> None:
        q = all_presets[name]
        with box.hold_sync():
            for key in ("amplitude", "period_ms", "offset", "phase0_deg", "kick_delay_ms"):
                sliders[key].value = q[key]
            for c, n in enumerate(task.COLORS):
                sliders[f"kick_{n}"].value = q["kicks_deg"][c]
        update()

    buttons = []
    for name in all_presets:
        b = w.Button(description=name)
        b.on_click(lambda _b, name=name: apply_preset(name))
        buttons.append(b)
    for ctl in [*trial.widgets, *sliders.values()]:
        ctl.observe(update, names="value")
    box.children = [trial.box, w.GridBox(list(sliders.values()),
                                         layout=w.Layout(grid_template_columns="repeat(2, minmax(20em, 1fr))")),
                    w.HBox(buttons), verdict, figure]
    box.figure, box.sliders, box.trial, box.verdict, box.update, box.network = figure, sliders, trial, verdict, update, net
    box.preset_buttons = buttons
    update()
    return box


def network_explorer_widget(model: CTRNN | None = None, *, sequence: str | Sequence[int] = "PGR",
                            onsets: Sequence[int] | None = None, noise_std: float = 0.1, seed: int = 0,
                            noise_trials: int = NOISE_TRIALS, train_seed: int | None = None,
                            angle_deg: float | None = None) -> widgets.VBox:
    """The network explorer as ipywidgets (live kernel), simulating with setdyn.model.

    Returns an ``ipywidgets.VBox`` with extra attributes: ``figure`` (FigureWidget),
    ``trial``, ``noise`` (FloatSlider), ``seed`` (IntText), ``noise_button``,
    ``clear_button``, ``verdict``, ``summary`` and ``update()``.
    """
    import ipywidgets as w
    seq, ons = trial_from(sequence, onsets)
    net = explorer_network(model, train_seed, angle_deg)
    trial = _TrialControls(seq, ons)
    noise = w.FloatSlider(value=noise_std, min=0, max=1, step=0.01, description="noise std")
    seed_box = w.IntText(value=seed, description="seed", layout=w.Layout(width="12em"))
    noise_button = w.Button(description=f"add noise ({noise_trials} runs)")
    clear_button = w.Button(description="no noise")
    verdict = w.HTML()
    fig_dict, _ = network_explorer_figure(net, seq, ons)
    figure = figure_widget(fig_dict)
    box = w.VBox()
    box.noisy = False

    def update(change: Any = None) -> None:
        trial_now = trial.read()
        if trial_now is None:
            verdict.value = "Fix the onsets to run the network."
            return
        s, o = trial_now
        std = noise.value if box.noisy else None
        new, summ = network_explorer_figure(net, s, o, std, seed_box.value, noise_trials)
        _update_figure(figure, new)
        col = {"valid": "#2b8a1b", "invalid": "#c0392b"}.get(summ["answer"], "#a07800")
        text = (f'<b style="color:{col}">Network: {summ["answer"]}</b> (z = {summ["z_last"]:.2f} at '
                f"{TRIAL_MS:.0f} ms; above {paper.DECISION_THRESHOLD:g} means valid, below \u2212{paper.DECISION_THRESHOLD:g} invalid). {task.sequence_name(s)} is "
                f"{'a SET' if summ['truth'] == 'valid' else 'not a SET'} {_mark(summ['answer'] == summ['truth'])}.")
        if box.noisy:
            text += f" With noise (std {noise.value:g}): {summ['noisy_correct']} of {noise_trials} runs answered correctly."
        verdict.value = text
        box.summary = summ

    def add_noise(_b: Any) -> None:
        if box.noisy:
            seed_box.value = seed_box.value + noise_trials  # a new draw (triggers update)
        else:
            box.noisy = True
            update()

    def clear(_b: Any) -> None:
        box.noisy = False
        update()

    noise_button.on_click(add_noise)
    clear_button.on_click(clear)
    for ctl in trial.widgets:
        ctl.observe(update, names="value")
    noise.observe(lambda ch: update() if box.noisy else None, names="value")
    seed_box.observe(lambda ch: update() if box.noisy else None, names="value")
    box.children = [trial.box, w.HBox([noise, seed_box, noise_button, clear_button]), verdict, figure]
    box.figure, box.trial, box.noise, box.seed, box.verdict, box.update = figure, trial, noise, seed_box, verdict, update
    box.noise_button, box.clear_button, box.network = noise_button, clear_button, net
    update()
    return box


# --------------------------------------------------------------------------- show (book + kernel)

_STATIC_NOTE = ("Runs in your browser. In Jupyter (Binder or local) the same controls drive setdyn's Python model.")


def show_oscillator_explorer(**kwargs: Any) -> None:
    """Display the oscillator explorer: ipywidgets in a live kernel, the in-browser version in the book.

    Keyword arguments go to both :func:`oscillator_explorer_widget` and :func:`oscillator_explorer_html`.
    """
    _show(oscillator_explorer_widget(**kwargs), oscillator_explorer_html(**kwargs))


def show_network_explorer(**kwargs: Any) -> None:
    """Display the network explorer: ipywidgets in a live kernel, the in-browser version in the book."""
    _show(network_explorer_widget(**kwargs), network_explorer_html(**kwargs))


def _show(widget: Any, static: ExplorerHTML) -> None:
    from IPython.display import display

    from ...display import live_bundle

    display(live_bundle(widget, static, note=_STATIC_NOTE), raw=True)
