"""Langevin's stationary density in the double well
=================================================

Langevin dynamics dθ = −∇L dt + σ dW in the double well L = θ⁴/4 − θ²/2, an ensemble run
by Monte Carlo: is its stationary density exp(−2L/σ²) (derived from the Fokker–Planck
equation) or exp(−L/σ²) (as kexue-5655's eq 9 writes)?  A Kolmogorov–Smirnov test and the
Wasserstein distance against both, and the histogram against both curves.

Run::

    python experiments/langevin_density.py
"""
import numpy as np

import dynopt
from _common import out_path
from dynopt.analysis import density_distances, gibbs_density
from dynopt.dynamics import OverdampedLangevin
from dynopt.engine import EnsembleOptions, simulate
from dynopt.plotting import plot_density_fit, plt, save_figure

p, sigma = dynopt.double_well(), 0.7
model = OverdampedLangevin(p, sigma)
res = simulate(model, "euler-maruyama", (0, 10), [0.0], 0.01, n_paths=4000, seed=1,
               backend="numpy", options=EnsembleOptions(progress=False))
x = res.final_positions[:, 0]

U = lambda v: v ** 4 / 4 - v ** 2 / 2  # noqa: E731
curves = {}
for name, temperature in (("exp(−2L/σ²)", sigma ** 2 / 2), ("exp(−L/σ²)", sigma ** 2)):
    pdf, _ = gibbs_density(U, temperature, -3, 3)
    dist = density_distances(x, pdf, -3, 3)
    print(f"{name}: KS p = {dist['ks_pvalue']:.3g}, W1 = {dist['wasserstein']:.3g}")
    grid = np.linspace(-2.5, 2.5, 400)
    curves[f"{name}, KS p = {dist['ks_pvalue']:.2g}"] = (grid, pdf(grid))

density, edges = np.histogram(x, bins=60, range=(-2.5, 2.5), density=True)
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
plot_density_fit((edges[:-1] + edges[1:]) / 2, density, curves, ax=ax,
                 title=f"{len(x)} paths at t = 10, σ = {sigma}")
save_figure(fig, out_path("langevin_density.png"))
