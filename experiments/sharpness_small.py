"""Sharpness meets 2/η: a small edge-of-stability run
==================================================

Full-batch gradient descent with step η on a small tanh network (64 → 16 → 10, squared
loss, 100 bundled digits): the sharpness S, the largest Hessian eigenvalue of the training
loss (Lanczos on exact Hessian-vector products), rises until it crosses 2/η, the stability
limit of Euler's method on the quadratic model; there the loss spikes, S falls back to
2/η, and training goes on near that edge while the loss still falls.  A small version of the ledger's ``cohen-2021.edge-of-stability``; the full-size
run is ``experiments/edge_of_stability.py``.

Run::

    python experiments/sharpness_small.py
"""
import numpy as np

from _common import out_path
from dynopt.analysis import digits_regression, train_tracking_sharpness
from dynopt.learning import TanhMLP
from dynopt.plotting import plt, save_figure

X, Y = digits_regression(100, seed=0)
model = TanhMLP(64, (16,), 10)
params = model.init_params(rng=0)
lr = 0.35
run = train_tracking_sharpness(model, params, X, Y, "gd", lr, n_steps=800, every=20, rng=1)
S = run.sharpness[:, 0]
print(f"threshold 2/η = {run.threshold:.2f}; sharpness from {S[0]:.2f} to max {S.max():.2f}, "
      f"last {S[-1]:.2f}; loss {run.losses[0]:.3f} → {run.losses[-1]:.4f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
ax1.plot(run.steps, S, label="sharpness S")
ax1.axhline(run.threshold, color="k", ls="--", lw=1, label="2/η")
ax1.set_xlabel("step")
ax1.legend()
ax2.semilogy(np.arange(len(run.losses)), run.losses)
ax2.set_xlabel("step")
ax2.set_ylabel("training loss")
save_figure(fig, out_path("sharpness_small.png"))
