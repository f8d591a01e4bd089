"""The numbers each chapter glues into its prose, one function per chapter.

Each function returns ``{name: value}`` in the order the chapter glues them; the chapter calls
``glue_all(task_numbers(train))`` (see :func:`setdyn.book.glued.glue_all`). The formulas are the
chapters' own, moved here unchanged so that the setup cell stays short and the values are
testable without running a notebook.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import task
from .measures import combination_counts


def task_numbers(train: task.TrialSet) -> dict[str, Any]:
    """Chapter 1: the 27 triples, the trial's timing (ms), and the make-up of the training set ``train``."""
    combos = task.all_combinations()
    n_valid = sum(task.is_valid_set(c) for c in combos)
    per_combo = combination_counts(train.colors)
    return {
        "n_combos": len(combos), "n_valid": n_valid, "n_invalid": len(combos) - n_valid,
        "n_same": sum(len(set(c)) == 1 for c in combos), "n_different": sum(len(set(c)) == 3 for c in combos),
        "dt_ms": task.DT_MS, "trial_ms": task.N_STEPS * task.DT_MS, "n_steps": task.N_STEPS,
        "pulse_ms": task.PULSE_STEPS * task.DT_MS, "onset_min_ms": task.ONSET_MIN * task.DT_MS,
        "onset_max_ms": task.ONSET_MAX * task.DT_MS, "gap_ms": task.MIN_ONSET_GAP * task.DT_MS,
        "silent_ms": (task.N_STEPS - task.ONSET_MAX - task.PULSE_STEPS) * task.DT_MS,
        "score_ms": task.SCORE_STEPS * task.DT_MS, "input_dim": task.INPUT_DIM, "n_train": len(train),
        "train_valid_pct": 100 * float(np.mean(train.targets > 0)),
        "valid_repeats": per_combo[(0, 0, 0)], "invalid_repeats": per_combo[(0, 0, 1)],
        "onset_list": ", ".join(f"{o * task.DT_MS:.0f}" for o in task.default_onsets()),
    }


def seed_search_text(seed: int, tried: int) -> str:
    """Chapter 2's sentence on the seed search: the shipped seed and how many seeds were tried."""
    rule = "met the rule with a slow limit cycle as its input-free dynamics"
    if tried == 1:
        return f"Seed {seed}, the first seed tried, {rule}"
    return f"Seed {seed} was the first of the {tried} seeds tried that {rule}"


def training_numbers(meta: dict[str, Any], n_params: int) -> dict[str, Any]:
    """Chapter 2: the shipped training run (sidecar ``meta``), its stopping rule and its accuracies (%)."""
    cfg = meta["config"]
    out: dict[str, Any] = {
        "n_units": cfg["n_units"], "n_params": n_params, "seed": cfg["seed"], "epochs": meta["epochs"],
        "max_epochs": cfg["max_epochs"], "train_minutes": meta["seconds"] / 60, "noise_std": cfg["noise_std"],
        "x0_noise_std": cfg["x0_noise_std"], "seeds_tried": meta["selection"]["seeds_tried"],
        "stop_train_noisy": 100 * cfg["stop_train_acc_noisy"], "stop_test_clean": 100 * cfg["stop_test_acc_clean"],
        "stop_fresh_clean": 100 * cfg["stop_fresh_acc_clean"], "stop_patience": cfg["stop_patience"],
        "fresh_draws": cfg["fresh_draws"], "n_fresh": 27 * cfg["fresh_draws"], "eval_every": cfg["eval_every"],
        "one_test_trial_pct": 100 / 27,
        "seed_search_text": seed_search_text(cfg["seed"], meta["selection"]["seeds_tried"]),
    }
    for key, value in meta["accuracy"].items():
        out[key] = 100 * value
    return out


def portrait_numbers(pca: Any, cycle: Any) -> dict[str, Any]:
    """Chapter 4: variance of the principal components (%) and the limit cycle's period and stability."""
    ratio = pca.explained_variance_ratio
    return {
        "n_train": len(pca.trials), "n_samples": pca.rates.shape[0] * pca.rates.shape[1],
        "var_pc1": 100 * ratio[0], "var_pc2": 100 * ratio[1], "var_pc12": 100 * ratio[:2].sum(),
        "var_pc123": 100 * ratio[:3].sum(), "period_ms": cycle.period_ms,
        "turns_per_trial": task.N_STEPS * task.DT_MS / cycle.period_ms, "cycle_kind": cycle.kind,
        "floquet_2": cycle.floquet_multipliers[1], "floquet_1": cycle.floquet_multipliers[0],
        "orbit_pc12": 100 * cycle.pc12_variance, "decay_per_period": cycle.decay_per_period,
        "free_run_s": (len(cycle.states) - 1) * task.DT_MS / 1000,
    }


def oscillator_numbers(fit: Any, r2_paper: float, angle_deg: float, cycle: Any, prc: Any) -> dict[str, Any]:
    """Chapter 6: the least-squares oscillator fit against the paper's values and the measured cycle."""
    fit_kicks = np.array([fit.kick_deg[name] for name in task.COLORS])
    out: dict[str, Any] = {
        "angle": angle_deg, "r2_fit": fit.r2, "r2_paper": r2_paper, "n_fit": fit.n_fit_trials,
        "n_held": fit.n_heldout_trials, "fit_amplitude": fit.amplitude, "fit_period": fit.period_ms,
        "fit_offset": fit.offset, "fit_phase0": fit.phase0_deg, "fit_delay": fit.kick_delay_ms,
        "cycle_period": cycle.period_ms,
        "kick_vs_prc": float(np.max(np.abs((fit_kicks - prc.mean_deg + 180) % 360 - 180))),
    }
    for name in task.COLORS:
        out[f"fit_kick_{name}"] = fit.kick_deg[name]
        out[f"fit_ci_lo_{name}"] = fit.kick_ci95_deg[name][0]
        out[f"fit_ci_hi_{name}"] = fit.kick_ci95_deg[name][1]
    return out


def outputs(model: Any, sequences: list[str | None], onsets: tuple[int, ...]) -> np.ndarray:
    """Chapter 3: the noise-free output z of ``model`` for each sequence ('PGR'; None: no input), with
    the pulses at ``onsets`` (steps). Returns an array of shape (len(sequences), n_steps)."""
    import torch

    codes = np.stack([task.stimulus(task.parse_sequence(s), onsets) if s else np.full(task.N_STEPS, task.NO_INPUT)
                      for s in sequences])
    with torch.no_grad():
        return model.run(codes).outputs.numpy()


def output_numbers(z: np.ndarray, onsets: tuple[int, ...], cycle: Any, paper_period_ms: float) -> dict[str, Any]:
    """Chapter 3: how fast the output oscillates, and where it ends.

    ``z`` of shape (3, n_steps): a non-set, no input, a set (as :func:`outputs`); the period of the
    input-free output within the trial (ms) is measured on ``z[1]``.
    """
    from .. import analysis

    period_in_trial = analysis.oscillation_period(z[1])
    trial_ms = task.N_STEPS * task.DT_MS
    return {
        "period_in_trial": period_in_trial, "n_osc_in_trial": trial_ms / period_in_trial,
        "cycle_period": cycle.period_ms, "n_osc_cycle": trial_ms / cycle.period_ms,
        "paper_turns": trial_ms / paper_period_ms, "z_end_invalid": z[0, -1], "z_end_none": z[1, -1],
        "z_end_valid": z[2, -1], "onset_list": ", ".join(f"{o * task.DT_MS:.0f}" for o in onsets),
    }


def portrait_views(model: Any, pca: Any, cycle: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chapter 4's phase-portrait curves in principal components.

    Returns
    -------
    no_input_pc : ndarray of shape (n_steps, 3)
        PC1-PC3 of the noise-free trial without input.
    start_pc : ndarray of shape (2,)
        PC1-PC2 of the initial rates tanh(x0).
    cycle_pc : ndarray of shape (k, 3)
        PC1-PC3 of one turn (plus one step) of the settled input-free limit cycle.
    """
    from .. import analysis

    no_input_rates = analysis.trial_rates(model, np.full((1, task.N_STEPS), task.NO_INPUT))[0]
    no_input_pc = pca.project(no_input_rates)[:, :3]
    start_pc = pca.project(np.tanh(model.x0.detach().numpy()))[:2]
    one_turn = int(np.ceil(cycle.period_steps)) + 1
    cycle_pc = pca.project(np.tanh(cycle.states[cycle.settle_steps:cycle.settle_steps + one_turn]))[:, :3]
    return no_input_pc, start_pc, cycle_pc


def paper_oscillator_r2(model: Any, pca: Any, angle_deg: float) -> float:
    """Chapter 6: R^2 of the paper's hand-set oscillator against the network's rPC1 on the held-out
    trials :func:`setdyn.analysis.fit_oscillator` scores its fit on (27 x 4 fresh onset draws)."""
    from .. import analysis, paper
    from ..analysis.oscillator import handcrafted
    from ..viz.figures import r_squared, sample_times

    held = task.fresh_set(paper.HELDOUT_ONSET_SEED, paper.HELDOUT_DRAWS)
    y_held = analysis.rpc1(pca, analysis.trial_rates(model, held.codes), angle_deg)
    return r_squared(y_held, handcrafted(sample_times(), held.onsets * task.DT_MS, held.colors))


def retraining_comparison(meta: dict[str, Any], epochs: int, progress: bool = False) -> dict[str, Any]:
    """Retrain a weight file's recorded config for `epochs` epochs with the engine it records and
    compare the losses with its recorded history (chapter 2, "Watch it train").

    The engine is meta["engine"]; a file written before engines were recorded (the shipped one)
    was trained with autograd (:data:`setdyn.cli.LEGACY_ENGINE`). The wording the chapter shows is
    chosen here by the numbers: "bit for bit" only when the largest difference is exactly 0;
    otherwise the first epoch's difference and the reason, from
    :func:`setdyn.weights.same_machine_kind` of the file's machine record.

    Returns a dict: epochs, engine, recorded and retrained losses (arrays), max_diff,
    first_epoch_diff, seconds_per_epoch, same_kind (bool), why (text) and wording (a sentence
    fragment the chapter glues).
    """
    from .. import weights
    from ..cli import LEGACY_ENGINE
    from ..training import TrainConfig, train

    engine = meta.get("engine") or LEGACY_ENGINE
    config = TrainConfig.from_dict({**meta["config"], "max_epochs": epochs})
    run = train(config, progress=progress, engine=engine)
    recorded = np.asarray(meta["history"]["train_loss"][:epochs], dtype=float)
    redone = np.asarray(run.history["train_loss"], dtype=float)
    diff = np.abs(redone - recorded)
    max_diff, first = float(diff.max()), float(diff[0])
    same_kind, why = weights.same_machine_kind(meta.get("machine"))
    if max_diff == 0:
        wording = (f"are the first {epochs} entries of the shipped training history bit for bit "
                   "(largest difference 0)")
    elif same_kind:
        wording = (f"agree with the shipped history within {first:.1g} at the first epoch and within "
                   f"{max_diff:.1g} over {epochs} epochs, although this is the kind of machine that trained it")
    else:
        unrecorded = "unknown" in why or "records no machine" in why
        growth = "and drift apart after" if max_diff > 2 * first else "and stay that close"
        wording = (f"agree with the shipped history within {first:.1g} at the first epoch {growth} "
                   f"(largest difference {max_diff:.1g} over {epochs} epochs): float32 rounding in the last "
                   "bits, as on a CPU of another kind than the one that trained it"
                   + (" (its weight file does not record which kind that was)" if unrecorded else f" ({why})"))
    return {"epochs": epochs, "engine": engine, "recorded": recorded, "retrained": redone,
            "train_acc_noisy": np.asarray(run.history["train_acc_noisy"], dtype=float),
            "max_diff": max_diff, "first_epoch_diff": first, "seconds_per_epoch": run.seconds / epochs,
            "same_kind": same_kind, "why": why, "wording": wording}
