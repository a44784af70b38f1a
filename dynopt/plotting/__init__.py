"""Figures.  The only part of dynopt that imports matplotlib (Agg backend: no screen needed).

Every ``plot_*`` function takes ``ax=`` (a new figure when omitted) and returns the artists
it drew; :func:`save_figure` writes a figure as a PNG atomically (after :func:`tidy_figure`)
and closes it.
"""
import matplotlib

# the backend must be chosen before pyplot is imported, which the submodules do
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from .style import STYLE, save_figure, tidy_figure, new_axes, shorten, problem_label, variable_labels  # noqa: E402
from .ode import finish_sharpness_grid, plot_contour, plot_trajectory, plot_orders, plot_work_precision, orders_figure, work_precision_figure, plot_grid_map, plot_iterations_vs_kappa, plot_loglog_curves, plot_time_series, plot_basin, plot_optimizer_paths, plot_curves, plot_stability_regions  # noqa: E402
from .sde import plot_sde_orders, plot_density_fit, plot_bias, plot_sme_weak_errors, plot_survival, plot_mfpt_vs_inverse_noise, plot_turnover, density_panels, plot_passage  # noqa: E402

__all__ = ["plt", "finish_sharpness_grid", "STYLE", "save_figure", "tidy_figure", "new_axes", "shorten", "problem_label", "variable_labels", "plot_contour", "plot_trajectory", "plot_orders", "plot_work_precision", "orders_figure", "work_precision_figure", "plot_grid_map", "plot_iterations_vs_kappa", "plot_loglog_curves", "plot_time_series", "plot_basin", "plot_optimizer_paths", "plot_curves", "plot_stability_regions", "plot_sde_orders", "plot_density_fit", "plot_bias", "plot_sme_weak_errors", "plot_survival", "plot_mfpt_vs_inverse_noise", "plot_turnover", "density_panels", "plot_passage"]
