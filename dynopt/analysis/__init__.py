"""What is measured from runs: empirical orders with confidence intervals, scipy references,
work–precision, stationary densities and tests, first-passage estimators, moment closures,
tuning rules and rates.
"""
from .orders import OrderFit, fit_order, global_error, ConvergenceResult, convergence_study, SDEOrderResult, sde_order_study, scheme_linear_map
from .reference import REFERENCE_RTOL, exact_linear, solve_ivp_reference, reference_solution, count_gradient_calls, WorkPoint, work_precision
from .comparison import FRICTION, ProblemSetup, STANDARD_PROBLEMS, STANDARD_SCHEMES, model_for, default_ladder, compare, work_precision_study
from .stationary import gibbs_density, density_distances, histogram_chi2, escape_times, kinetic_temperature
from .sgd import sgd_stationary_covariances, covariance_z, EnsembleResult, sgd_least_squares_ensemble, ou_excess_loss, discrete_stationary_excess_loss
from .momentum_sgd import KramersParameters, kramers_parameters, momentum_sgd_matrices, momentum_sgd_stationary_covariance, sgd_stationary_variance, MomentumSGDRun, momentum_sgd_ensemble
from .sme import ExactMoments, affine_example_gradients, sgd_moment_map, moment_generator, sgd_moments, sme_moments, sgd_moment_path, sme_moment_path, OBSERVABLES, SMEWeakErrorResult, sme_weak_errors
from .tracking import TrackingResult, ode_tracking_study, DEFAULT_2D_HYPERPARAMETERS, paths_with_flows
from .tuning import Tuning, gd_tuning, polyak_tuning, nesterov_tuning, nesterov_quadratic_tuning, TUNINGS, tuned_method, ToleranceRun, iterations_to_tolerance, asymptotic_rate
from .nesterov_ode import nesterov_ode_bessel, nesterov_ode_reference, decay_exponent
from .orbits import Cycle, refine_cycle, classify_orbits

__all__ = ["OrderFit", "fit_order", "global_error", "ConvergenceResult", "convergence_study", "SDEOrderResult", "sde_order_study", "scheme_linear_map", "REFERENCE_RTOL", "exact_linear", "solve_ivp_reference", "reference_solution", "count_gradient_calls", "WorkPoint", "work_precision", "FRICTION", "ProblemSetup", "STANDARD_PROBLEMS", "STANDARD_SCHEMES", "model_for", "default_ladder", "compare", "work_precision_study", "gibbs_density", "density_distances", "histogram_chi2", "escape_times", "kinetic_temperature", "sgd_stationary_covariances", "covariance_z", "EnsembleResult", "sgd_least_squares_ensemble", "ou_excess_loss", "discrete_stationary_excess_loss", "KramersParameters", "kramers_parameters", "momentum_sgd_matrices", "momentum_sgd_stationary_covariance", "sgd_stationary_variance", "MomentumSGDRun", "momentum_sgd_ensemble", "ExactMoments", "affine_example_gradients", "sgd_moment_map", "moment_generator", "sgd_moments", "sme_moments", "sgd_moment_path", "sme_moment_path", "OBSERVABLES", "SMEWeakErrorResult", "sme_weak_errors", "TrackingResult", "ode_tracking_study", "DEFAULT_2D_HYPERPARAMETERS", "paths_with_flows", "Tuning", "gd_tuning", "polyak_tuning", "nesterov_tuning", "nesterov_quadratic_tuning", "TUNINGS", "tuned_method", "ToleranceRun", "iterations_to_tolerance", "asymptotic_rate", "nesterov_ode_bessel", "nesterov_ode_reference", "decay_exponent", "Cycle", "refine_cycle", "classify_orbits"]
from .sharpness import SHARPNESS_METHODS, sharpness_threshold, stability_bound, make_optimizer, SharpnessRun, train_tracking_sharpness, EdgeStats, edge_statistics, digits_regression

__all__ += ["SHARPNESS_METHODS", "sharpness_threshold", "stability_bound", "make_optimizer", "SharpnessRun", "train_tracking_sharpness", "EdgeStats", "edge_statistics", "digits_regression"]
