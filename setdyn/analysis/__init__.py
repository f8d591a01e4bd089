"""Measurements of the trained network's dynamics (noise-free unless stated), by idea.

Times are in ms (or steps of dt = 10 ms where named *_steps); phases in
degrees, 0 = the phase of the free-running network. Every function takes a
"system": `setdyn.model.CTRNN` or anything with the same interface, such as
`PlanarOscillator` (see `simulate.DynamicalSystem`); use float64 models.

Modules
-------
simulate     trials, free runs, rates, Jacobians, decisions (`simulate`, `trajectory`, `free_run_rates`)
cycle        the free run: `oscillation_test` (seed selection), `free_run_dynamics` (kind, period, Floquet)
curve        a closed orbit as a Fourier series, and the phase of a state near it
phase        phase ruler (`phase_reference`), `phase_response_curve`, `trial_phases`
circular     circular mean / std (scipy) and `circular_clusters`
code         the Z3 phase code (`phase_code`), `network_automaton`, `phase_membership` (for L*)
automaton    finite-state machines: the Z3 automaton, extraction, L* (AALpy)
robustness   `accuracy_by_length`, `noise_robustness`
pca          `training_pca` (scikit-learn), rPC1 rotation (`best_rotation`, `rpc1`)
oscillator   the paper's handcrafted oscillator, `PlanarOscillator`, `fit_oscillator`
pipeline     `network_analysis(model)`: the cached chain cycle -> reference -> PRC -> code; `analyze`
mechanism    the mechanism classifier (`setdyn.analysis.mechanism.classify`; imported on demand)

Heavy functions run single-threaded (`single_thread`).
"""
from ..numerics import jsonable, r_squared, wrap_deg
from .automaton import Automaton, Extraction, LStarResult, extract_automaton, learn_lstar, z3_automaton
from .circular import Cluster, ClusterReport, circular_clusters, circular_mean_deg, circular_std_deg
from .code import (CLASS_DEG, NetworkAutomaton, PhaseCode, automaton_trials, network_automaton, phase_code,
                   phase_code_from_means, phase_membership)
from .cycle import (MIN_PERIOD_MS, FreeRunDynamics, OscillationTest, fixed_point, free_run_dynamics,
                    lyapunov_exponents, oscillation_period, oscillation_test)
from .oscillator import (OscillatorFit, PlanarOscillator, fit_handcrafted, fit_oscillator, fit_trials, handcrafted,
                         heldout_trials)
from .pca import (RotationScan, TrainingPCA, best_rotation, fit_pca, pc_angle_deg, rotate_pc, rpc1, separability,
                  training_pca)
from .phase import (PhaseReference, PhaseResponse, TrialPhases, asymptotic_phase, phase_reference,
                    phase_response_curve, trial_phases)
from .pipeline import NetworkAnalysis, analyze, clear_cache, network_analysis, weights_fingerprint
from .robustness import accuracy_by_length, noise_robustness, noise_trials, random_sequences
from .simulate import (DynamicalSystem, activation, decisions, free_run_rates, free_trajectory, jacobians, relax,
                       simulate, single_thread, stimulus_codes, trajectory, trial_rates)

__all__ = [
    "Automaton", "CLASS_DEG", "Cluster", "ClusterReport", "DynamicalSystem", "Extraction", "FreeRunDynamics",
    "LStarResult", "MIN_PERIOD_MS", "NetworkAnalysis", "NetworkAutomaton", "OscillationTest", "OscillatorFit",
    "PhaseCode", "PhaseReference", "PhaseResponse", "PlanarOscillator", "RotationScan", "TrainingPCA",
    "TrialPhases", "accuracy_by_length", "activation", "analyze", "asymptotic_phase", "automaton_trials",
    "best_rotation", "circular_clusters", "circular_mean_deg", "circular_std_deg", "clear_cache", "decisions",
    "extract_automaton", "fit_handcrafted", "fit_oscillator", "fit_pca", "fit_trials", "fixed_point",
    "free_run_dynamics", "free_run_rates", "free_trajectory", "handcrafted", "heldout_trials", "jacobians",
    "jsonable", "learn_lstar", "lyapunov_exponents", "network_analysis", "network_automaton", "noise_robustness",
    "noise_trials", "oscillation_period", "oscillation_test", "pc_angle_deg", "phase_code",
    "phase_code_from_means", "phase_membership", "phase_reference", "phase_response_curve", "r_squared",
    "random_sequences", "relax", "rotate_pc", "rpc1", "separability", "simulate", "single_thread",
    "stimulus_codes", "trajectory", "trial_phases", "trial_rates", "training_pca", "weights_fingerprint",
    "wrap_deg", "z3_automaton",
]
