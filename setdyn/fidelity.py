"""Where this book differs from the paper and its reference code, measured.

Each function measures one difference, or one claim of the paper that the
book otherwise never checks (the page ``book/differences.md`` shows them in
one table):

* onsets: :func:`onset_statistics`, :func:`onset_ks`, :func:`reference_onsets`
  compare setdyn's onset generators (``task.draw_onsets``) with the
  reference's own 567 trials; :func:`accuracies_on_reference_onsets` judges a
  network by its acceptance levels (``paper.ACCEPT``) on trials drawn as the
  reference draws them;
* end silence: :func:`silence_after_last_pulse_ms` (grid trials) and
  :func:`reference_silence_ms` (the reference's continuous pulse ends);
* the paper's oscillator: :func:`paper_oscillator_r2` (chapter 6's number,
  with the kick where the paper states it or where its code puts it) and
  :func:`literal_integral_kick_deg` (the paper's integral of phi taken
  literally);
* eta: :func:`noise_convention_accuracy` (the 0.1 as a standard deviation, as
  the code has it, or as a variance);
* the colour encodings: :func:`encoding_correlations` and
  :func:`chance_correlation_sd` ("uncorrelated");
* rPC1's "nonuniform frequency": :func:`cycle_speed` (phase velocity along
  the free-running cycle in PC1-PC2);
* the sign of the output: :func:`final_outputs`.

:func:`measure_all` computes every number of the page at once, for this
book's network and (where its files are present, :func:`load_reference_if_present`)
the reference's trials and network.

Times in ms unless a name says otherwise; angles in degrees.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from . import analysis, paper, task
from .analysis.oscillator import handcrafted
from .model import CTRNN
from .numerics import r_squared
from .training import TrainConfig, evaluate_all


# ---------------------------------------------------------------- onsets

def onset_statistics(onsets: np.ndarray) -> dict[str, float]:
    """What distinguishes onset generators, for onset steps (n x 3, step of the first input sample):
    share of trials whose first colour is first seen at step 3 (30 ms), share of consecutive-onset
    gaps of exactly 5 steps (50 ms), and the mean onset step."""
    o = np.asarray(onsets)
    if o.ndim != 2 or o.shape[1] < 2:
        raise ValueError(f"onsets must be trials x pulses (at least 2 pulses), got shape {o.shape}")
    gaps = np.diff(o, axis=1)
    return {"first_onset_at_step_3": float(np.mean(o[:, 0] == task.ONSET_MIN)),
            "gap_of_5_steps": float(np.mean(gaps == task.MIN_ONSET_GAP)),
            "mean_onset_step": float(o.mean())}


def onset_ks(onsets: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Two-sample Kolmogorov-Smirnov p-values of two sets of onset steps (n x 3, m x 3): the first
    onset, all onsets pooled, and the gaps between consecutive onsets."""
    a, b = np.asarray(onsets), np.asarray(other)
    return {"first_onset": float(stats.ks_2samp(a[:, 0], b[:, 0]).pvalue),
            "all_onsets": float(stats.ks_2samp(a.ravel(), b.ravel()).pvalue),
            "gaps": float(stats.ks_2samp(np.diff(a, axis=1).ravel(), np.diff(b, axis=1).ravel()).pvalue)}


def generator_onsets(generator: str, n_trials: int = 20000, seed: int = 0) -> np.ndarray:
    """Onset steps of n_trials three-colour trials drawn by `generator` ("grid" or "reference")."""
    rng = np.random.default_rng(seed)
    return np.array([task.draw_onsets(rng, 3, generator) for _ in range(n_trials)])


def reference_onsets(directory: str | Path) -> np.ndarray:
    """The onset steps (567 x 3) of the reference's 540 training and 27 test trials."""
    from .reference import find_reference, load_trials
    paths = find_reference(directory)
    return np.concatenate([load_trials(paths.train).onset_steps(), load_trials(paths.test).onset_steps()])


def accuracies_on_reference_onsets(model: CTRNN, config: dict[str, Any] | TrainConfig | None = None,
                                   n_draws: int = 20) -> dict[str, float]:
    """The accuracies a network is accepted by (``paper.ACCEPT``) on trial sets drawn by the "reference"
    onset generator, with the network's own seeds (config: its TrainConfig or the dict of its weight
    file). Keys as ``training.evaluate_all`` (noisy ones: one draw, the config's eval_noise_seed), plus
    ``train_acc_noisy_mean`` and ``train_acc_noisy_sd`` over n_draws noise draws, and ``meets_all``
    (1.0 if every level of ACCEPT holds, the noisy one judged on the mean over draws)."""
    from .reference import noisy_accuracies
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(dict(config or {}))
    cfg = dataclasses.replace(cfg, onset_generator="reference")
    out = evaluate_all(model, cfg)
    draws = noisy_accuracies(model, task.training_set(cfg.seed, generator="reference"), n_draws)
    out["train_acc_noisy_mean"], out["train_acc_noisy_sd"] = float(draws.mean()), float(draws.std())
    judged = {**out, "train_acc_noisy": out["train_acc_noisy_mean"]}
    out["meets_all"] = float(all(judged[k] >= v for k, v in paper.ACCEPT.items()))
    return out


# ---------------------------------------------------------------- end silence

def silence_after_last_pulse_ms(trials: task.TrialSet) -> np.ndarray:
    """Input-free time after the last pulse of grid trials (ms, one per trial): the input samples
    after the last colour sample to the end of the trial."""
    last_on = trials.onsets.max(1) + task.PULSE_STEPS  # first step after the last pulse
    return (trials.codes.shape[1] - last_on) * task.DT_MS


def reference_silence_ms(pulse_end_s: np.ndarray) -> np.ndarray:
    """Time from the end of the last pulse to the end of the trial (ms) for the reference's pulse ends
    (n x 3, s, continuous time)."""
    return paper.TRIAL_MS - 1000.0 * np.asarray(pulse_end_s, float).max(1)


#: The paper's words on the end of a trial: "a delay period of 30 ms at the beginning and 100 ms at the
#: end of the trial where no colors were presented".
PAPER_END_SILENCE_MS = 100.0


# ---------------------------------------------------------------- the paper's oscillator

def paper_oscillator_r2(signal: np.ndarray, trials: task.TrialSet, kick_delay_ms: float | None = None,
                        **overrides: float) -> float:
    """R^2 of the paper's hand-set oscillator against a signal (rPC1, trials x T, sampled at 10 .. 500 ms)
    of `trials`; the kick lands `kick_delay_ms` after the onset (None: the paper's value,
    ``paper.PAPER_OSCILLATOR["kick_delay_ms"]``, where its code puts it). Other parameters of
    ``handcrafted`` may be overridden (e.g. kicks_deg)."""
    t = (np.arange(trials.codes.shape[1]) + 1) * task.DT_MS
    if kick_delay_ms is not None:
        overrides["kick_delay_ms"] = kick_delay_ms
    return float(r_squared(signal, handcrafted(t, trials.onsets * task.DT_MS, trials.colors, **overrides)))


def literal_integral_kick_deg(kick_deg: float = paper.PAPER_KICKS_DEG[1],
                              pulse_ms: float = task.PULSE_STEPS * task.DT_MS) -> float:
    """The phase shift of one pulse if the paper's integral of phi over time is taken literally: phi
    = kick_deg (read as per second, the unit of t) held for the pulse's pulse_ms; 2.4 deg for purple."""
    return float(kick_deg * pulse_ms / 1000.0)


# ---------------------------------------------------------------- eta

#: The paper writes eta ~ N(0, 0.10); the reference code draws it with standard deviation 0.1.
PAPER_NOISE_PARAMETER = 0.1


def noise_convention_accuracy(model: CTRNN, trials: task.TrialSet, n_draws: int = 20, seed: int = 0
                              ) -> dict[str, float]:
    """Mean noisy accuracy on `trials` over n_draws noise draws (and its sd over draws), with eta's 0.1
    read as a standard deviation (the code: keys as_std, as_std_sd) and as a variance (std sqrt(0.1) =
    0.316: as_variance, as_variance_sd); initial-state noise std 0.5 in both, as in training."""
    from .reference import noisy_accuracies
    out = {}
    for name, std in (("as_std", PAPER_NOISE_PARAMETER), ("as_variance", float(np.sqrt(PAPER_NOISE_PARAMETER)))):
        acc = noisy_accuracies(model, trials, n_draws, seed, noise_std=std)
        out[name], out[f"{name}_sd"] = float(acc.mean()), float(acc.std())
    return out


# ---------------------------------------------------------------- colour encodings

def encoding_correlations(encodings: np.ndarray) -> np.ndarray:
    """Pearson correlations of the colour encodings (3 x d: green, purple, red) for the pairs
    (green, purple), (green, red), (purple, red)."""
    e = np.asarray(encodings, float)
    if e.ndim != 2 or e.shape[0] != 3:
        raise ValueError(f"encodings must be 3 x d (green, purple, red), got shape {e.shape}")
    c = np.corrcoef(e)
    return np.array([c[0, 1], c[0, 2], c[1, 2]])


def chance_correlation_sd(dim: int = paper.INPUT_DIM) -> float:
    """Standard deviation of the Pearson correlation of two independent dim-dimensional N(0, 1) vectors:
    1 / sqrt(dim - 1) (0.10 for dim = 100)."""
    if dim < 3:
        raise ValueError(f"dim must be at least 3, got {dim}")
    return float(1.0 / np.sqrt(dim - 1))


# ---------------------------------------------------------------- rPC1's frequency

def cycle_speed(system: analysis.DynamicalSystem, pca: analysis.TrainingPCA, period_ms: float,
                settle_steps: int = 2000) -> dict[str, float]:
    """How uniformly the free-running network turns: the angle it advances per 10 ms step in the
    PC1-PC2 plane of `pca` over one period after settle_steps (deg per step), and the speed in the
    full rate space. Returns min, max and mean phase velocity (deg/step), its coefficient of
    variation, the max/min ratio, and the coefficient of variation of the speed in rate space.
    A constant frequency (the paper's oscillator) has CV 0 and ratio 1."""
    n_period = int(round(period_ms / task.DT_MS))
    x = analysis.free_trajectory(system, settle_steps + n_period)[settle_steps:]  # n_period + 1 states
    with torch.no_grad():
        r = analysis.activation(system, torch.as_tensor(x)).numpy()
    xy = pca.project(r)[:, :2]
    xy = xy - xy[:-1].mean(0)  # the centre of the closed loop (its first n_period points)
    dtheta = np.abs(np.rad2deg(np.diff(np.unwrap(np.arctan2(xy[:, 1], xy[:, 0])))))
    speed = np.linalg.norm(np.diff(r, axis=0), axis=1)
    return {"phase_velocity_min_deg": float(dtheta.min()), "phase_velocity_max_deg": float(dtheta.max()),
            "phase_velocity_mean_deg": float(dtheta.mean()),
            "phase_velocity_cv": float(dtheta.std() / dtheta.mean()),
            "phase_velocity_ratio": float(dtheta.max() / dtheta.min()),
            "rate_speed_cv": float(speed.std() / speed.mean())}


def final_outputs(model: CTRNN, trials: task.TrialSet) -> dict[str, float]:
    """Mean noise-free output z at the last step over the valid and over the invalid trials."""
    with torch.no_grad():
        z = model.run(trials.codes).outputs[:, -1].numpy()
    valid = trials.targets > 0
    return {"valid": float(z[valid].mean()), "invalid": float(z[~valid].mean())}


# ---------------------------------------------------------------- everything the differences page shows

def heldout_rpc1(model: CTRNN, training_seed: int) -> tuple[np.ndarray, task.TrialSet]:
    """rPC1 of the held-out trials (``analysis.heldout_trials``) at the network's best rotation, as
    chapter 6 scores the paper's oscillator on it: (signal trials x T, the trials)."""
    net = analysis.network_analysis(model)
    pca, angle = net.pca(training_seed), net.rotation(training_seed).best_angle_deg
    held = analysis.heldout_trials()
    return analysis.rpc1(pca, analysis.trial_rates(model, held.codes), angle), held


#: The keys of `measure_all` that need the reference's files (NaN without them).
REFERENCE_KEYS: tuple[str, ...] = (
    "ref_first_onset_at_step_3", "ref_gap_of_5_steps", "ref_mean_onset_step", "ref_ks_first_onset_p_grid",
    "ref_ks_first_onset_p_reference", "ref_silence_min_ms", "ref_silence_mean_ms", "ours_on_ref_train_noisy_mean",
    "ours_on_ref_test_clean", "paper_net_noise_as_std", "paper_net_noise_as_std_sd", "paper_net_noise_as_variance",
    "paper_net_noise_as_variance_sd", "paper_net_final_z_valid", "paper_net_final_z_invalid", "ref_enc_corr_max_abs",
    "paper_net_phase_velocity_min_deg", "paper_net_phase_velocity_max_deg", "paper_net_phase_velocity_mean_deg",
    "paper_net_phase_velocity_cv", "paper_net_phase_velocity_ratio", "paper_net_rate_speed_cv",
    "paper_net_rotation_deg", "paper_net_paper_osc_r2", "paper_net_paper_osc_r2_at_onset")


def measure_all(model: CTRNN, config: dict[str, Any], ref: Any = None, n_draws: int = 20) -> dict[str, float]:
    """Every number of the differences table, for a network (with the config dict of its weight file)
    and, if given, the reference's trials and network (``reference.load_reference``); keys starting
    with ``ref_`` or ``paper_net_`` are left out without it. Fractions in [0, 1], times in ms, angles
    in degrees."""
    from . import pc_convention, reference as reference_module
    seed = int(config.get("seed", 0))
    m: dict[str, float] = {}
    # onsets
    for gen in task.ONSET_GENERATORS:
        for k, v in onset_statistics(generator_onsets(gen)).items():
            m[f"{gen}_{k}"] = v
    acc = accuracies_on_reference_onsets(model, config, n_draws)
    for k in ("train_acc_noisy", "test_acc_clean", "fresh_acc_clean", "meets_all"):
        m[f"ours_refonsets_{k}"] = acc[k]
    m["ours_reference_train_noisy_mean"], m["ours_reference_train_noisy_sd"] = (acc["train_acc_noisy_mean"],
                                                                                acc["train_acc_noisy_sd"])
    cfg = TrainConfig.from_dict(dict(config))
    m["ours_grid_train_acc_noisy"] = evaluate_all(model, cfg)["train_acc_noisy"]  # the same noise draw, grid trials
    draws = reference_module.noisy_accuracies(model, task.training_set(seed, generator=cfg.onset_generator), n_draws)
    m["ours_grid_train_noisy_mean"], m["ours_grid_train_noisy_sd"] = float(draws.mean()), float(draws.std())
    for k, v in paper.ACCEPT.items():
        m[f"accept_{k}"] = v
    # the paper's oscillator on our network, as chapter 6 scores it
    y, held = heldout_rpc1(model, seed)
    m["ours_paper_osc_r2"] = paper_oscillator_r2(y, held)
    m["ours_paper_osc_r2_at_onset"] = paper_oscillator_r2(y, held, 0.0)
    m["kick_delay_ms"] = paper.PAPER_OSCILLATOR["kick_delay_ms"]
    m["literal_integral_kick_deg"] = literal_integral_kick_deg()
    m["paper_kick_deg"] = paper.PAPER_KICKS_DEG[1]
    # end silence
    ours_silence = silence_after_last_pulse_ms(task.training_set(seed))
    m["ours_silence_min_ms"], m["ours_silence_mean_ms"] = float(ours_silence.min()), float(ours_silence.mean())
    m["paper_silence_ms"] = PAPER_END_SILENCE_MS
    # noise, output sign, encodings, the cycle's speed, the rotation
    for k, v in noise_convention_accuracy(model, task.training_set(seed), n_draws).items():
        m[f"ours_noise_{k}"] = v
    m["noise_parameter"], m["noise_as_variance_std"] = PAPER_NOISE_PARAMETER, float(np.sqrt(PAPER_NOISE_PARAMETER))
    for k, v in final_outputs(model, task.test_set(seed=paper.TEST_ONSET_SEED)).items():
        m[f"ours_final_z_{k}"] = v
    enc = encoding_correlations(model.colors.detach().numpy())
    m["ours_enc_corr_max_abs"] = float(np.abs(enc).max())
    m["chance_corr_sd"] = chance_correlation_sd(model.colors.shape[1])
    net = analysis.network_analysis(model)
    pca = net.pca(seed)
    for k, v in cycle_speed(model, pca, net.cycle.period_ms).items():
        m[f"ours_{k}"] = v
    valid = task.training_set(seed).targets > 0
    m["ours_rotation_deg"] = pc_convention.best_rotation_deg(model, pca, valid)
    m["paper_rotation_deg"] = paper.PAPER_ROTATION_DEG
    if ref is None:
        return {**m, **{k: float("nan") for k in REFERENCE_KEYS}}
    # the reference's own trials and network
    ref_onsets = np.concatenate([ref.train.onset_steps(), ref.test.onset_steps()])
    for k, v in onset_statistics(ref_onsets).items():
        m[f"ref_{k}"] = v
    for gen in task.ONSET_GENERATORS:
        m[f"ref_ks_first_onset_p_{gen}"] = onset_ks(generator_onsets(gen), ref_onsets)["first_onset"]
    ref_silence = reference_silence_ms(np.concatenate([ref.train.pulse_end_s, ref.test.pulse_end_s]))
    m["ref_silence_min_ms"], m["ref_silence_mean_ms"] = float(ref_silence.min()), float(ref_silence.mean())
    train, test = ref.train.trial_set(), ref.test.trial_set()
    draws = reference_module.noisy_accuracies(model, train, n_draws)
    m["ours_on_ref_train_noisy_mean"] = float(draws.mean())
    m["ours_on_ref_test_clean"] = float(noise_free_accuracy(model, test))
    pnet = ref.model
    for k, v in noise_convention_accuracy(pnet, train, n_draws).items():
        m[f"paper_net_noise_{k}"] = v
    for k, v in final_outputs(pnet, test).items():
        m[f"paper_net_final_z_{k}"] = v
    m["ref_enc_corr_max_abs"] = float(np.abs(encoding_correlations(ref.test.encodings)).max())
    ppca = analysis.training_pca(pnet, trials=train)
    for k, v in cycle_speed(pnet, ppca, analysis.free_run_dynamics(pnet).period_ms).items():
        m[f"paper_net_{k}"] = v
    frame = pc_convention.pc_frame(pnet, ppca, train.targets > 0)
    m["paper_net_rotation_deg"] = pc_convention.best_rotation_deg(pnet, ppca, train.targets > 0)
    paper_angle = frame.to_setdyn(paper.PAPER_ROTATION_DEG)
    m["paper_net_paper_osc_r2"] = reference_module.paper_oscillator_r2(pnet, ppca, paper_angle, test)
    m["paper_net_paper_osc_r2_at_onset"] = reference_module.paper_oscillator_r2(pnet, ppca, paper_angle, test, 0.0)
    return m


def noise_free_accuracy(model: CTRNN, trials: task.TrialSet) -> float:
    """Noise-free accuracy of a network on trials (fraction)."""
    from .training import evaluate
    return float(evaluate(model, trials)[0])


def reference_dir() -> Path:
    """Where the reference repository's files are looked for: $SETDYN_REFERENCE_DIR, else
    ``shared/reference`` next to the repository (they are never copied into it)."""
    import os
    env = os.environ.get("SETDYN_REFERENCE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "reference"


def load_reference_if_present(directory: str | Path | None = None) -> Any:
    """``reference.load_reference`` of `directory` (default :func:`reference_dir`), or None when its
    files are absent."""
    from .reference import find_reference, load_reference
    d = Path(directory) if directory is not None else reference_dir()
    try:
        find_reference(d)
    except FileNotFoundError:
        return None
    return load_reference(d)


__all__ = ["PAPER_END_SILENCE_MS", "PAPER_NOISE_PARAMETER", "REFERENCE_KEYS", "accuracies_on_reference_onsets",
           "chance_correlation_sd", "cycle_speed", "encoding_correlations", "final_outputs", "generator_onsets",
           "heldout_rpc1", "literal_integral_kick_deg", "load_reference_if_present", "measure_all",
           "noise_convention_accuracy", "noise_free_accuracy", "onset_ks", "onset_statistics", "paper_oscillator_r2",
           "reference_dir", "reference_onsets", "reference_silence_ms", "silence_after_last_pulse_ms"]
