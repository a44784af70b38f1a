"""Leaving a well in 2-D: a target region, honest passage statistics and the saddle
===================================================================================

Overdamped Langevin dθ = −∇U dt + σ dW on U(x, y) = (x² − 1)² + (1 + x²/2)y², started in the
left minimum (−1, 0).  The target is a ball of radius 0.3 around the right minimum (1, 0),
compiled into the kernel with its Brownian-bridge correction.  Paths that have not arrived
by the horizon are censored: the summary reports the Kaplan–Meier survival, the rate
(events per time at risk), the restricted mean E[min(τ, T)], and a mean only if nothing is
censored.  The same landscape read without Monte Carlo: the minima, the index-1 saddle on
the minimum-energy path (string method, refined by Newton) and the Eyring–Kramers time,
an asymptotic rate for small σ — at this σ the barrier is only a few kT, so it is an order
of magnitude, not a prediction to the percent.

Run::

    python experiments/rare_events.py
"""
import numpy as np

import dynopt
from _common import out_path
from dynopt.analysis import PassageSample, kaplan_meier, minimum_energy_path, passage_summary, transition_time
from dynopt.dynamics import OverdampedLangevin
from dynopt.engine import EnsembleOptions, FirstPassage, simulate
from dynopt.engine.targets import Ball
from dynopt.plotting import plot_passage, plt, save_figure

p = dynopt.from_expr("(x**2 - 1)**2 + (1 + x**2/2)*y**2", name="two wells")
sigma, T, dt = 0.8, 20.0, 0.01
model = OverdampedLangevin(p, sigma)

# the landscape: minima, saddle, minimum-energy path, Eyring–Kramers time
mep = minimum_energy_path(p, [-1.0, 0.0], [1.0, 0.0])
ek = transition_time(p, mep.start.x, mep.saddle.x, sigma)
print(f"saddle at {mep.saddle.x.round(6)}, Hessian eigenvalues {mep.saddle.eigenvalues.round(6)}, "
      f"barrier {mep.barrier:.6g}; Eyring–Kramers time {ek.time:.3g} (σ = {sigma})")

# the Monte Carlo: first passage into the ball around the right minimum
fp = FirstPassage(Ball([1.0, 0.0], 0.3), absorb=True, bridge=sigma)
res = simulate(model, "euler-maruyama", (0, T), [-1.0, 0.0], dt, n_paths=4000, seed=3,
               observers=[fp], options=EnsembleOptions(progress=False))
sample = PassageSample.from_observer(res.first_passage)
summary = passage_summary(sample)
rate, rm = summary["rate"], summary["restricted_mean"]
print(f"{summary['passed']:.0f} of {summary['n_paths']} paths arrived by t = {T:g} "
      f"(censored fraction {summary['censored_fraction']:.3f})")
print(f"rate k = {rate['rate']:.4g} [{rate['lower']:.4g}, {rate['upper']:.4g}] "
      f"(1/k = {1 / rate['rate']:.3g}); {rm['label']} = {rm['value']:.3g} ± {rm['std_err']:.2g}")
print("mean passage time:", summary["mean"]["value"] if summary["mean"]["value"] is not None
      else summary["mean"]["reason"])

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
xs, ys = np.meshgrid(np.linspace(-1.8, 1.8, 200), np.linspace(-1.2, 1.2, 150))
U = (xs ** 2 - 1) ** 2 + (1 + xs ** 2 / 2) * ys ** 2
ax1.contour(xs, ys, U, levels=np.linspace(0, 3, 13), linewidths=0.6, cmap="viridis")
ax1.plot(mep.images[:, 0], mep.images[:, 1], "k.-", ms=3, lw=1, label="minimum-energy path")
ax1.plot(*mep.saddle.x, "rx", ms=8, label="saddle")
ax1.add_patch(plt.Circle((1.0, 0.0), 0.3, fill=False, color="C3", ls="--", label="target ball"))
ax1.set_aspect("equal")
ax1.set_xlabel("x")
ax1.set_ylabel("y")
ax1.legend(fontsize=7, loc="upper left")
plot_passage(kaplan_meier(sample), rate, ax=ax2, title=f"{summary['n_paths']} paths, σ = {sigma}")
save_figure(fig, out_path("rare_events.png"))
