"""Your own model at the edge of stability, against thresholds read from the optimizers
=======================================================================================

Any object with ``loss_and_grad(theta)`` over a flat parameter vector is a model; here a
rank-2 matrix factorisation of an 8 × 6 matrix M, L(U, V) = ½‖UVᵀ − M‖² / 48, written in numpy, with no Hessian:
its Hessian-vector products are central differences of the gradient, and the run says so.
Gradient descent and Adam train it full-batch; each one's stability threshold is derived
from its own update on L = hθ²/2 (2/η for GD; for Adam, with its preconditioner P frozen,
(2 + 2β₁)/((1 − β₁)η) on λ_max(P⁻¹H)), and the tracked sharpness — λ_max(H) for GD,
λ_max(P⁻¹H) for Adam — is drawn as a fraction of it.  With these step sizes GD starts just
below its threshold, overshoots it, and settles just below it in an oscillation (the thick
loss curve: iterates alternating across the valley, the loss above its minimum); Adam's
preconditioned sharpness rises to its threshold, crosses it, falls back at a small loss
spike and rises again (cohen-2022's finding, here on a model of a dozen lines).

Run::

    python experiments/own_model_sharpness.py
"""
import numpy as np

from _common import out_path
from dynopt.analysis import train_tracking_sharpness
from dynopt.plotting import plt, save_figure

M = np.random.default_rng(0).standard_normal((8, 6))


class MatrixFactorisation:
    """L(U, V) = ½‖UVᵀ − M‖²/|M| over θ = (vec U, vec V)."""

    theta0 = 0.5 * np.random.default_rng(1).standard_normal((8 + 6) * 2)

    def loss_and_grad(self, theta):
        U, V = theta[:16].reshape(8, 2), theta[16:].reshape(6, 2)
        R = U @ V.T - M
        return 0.5 * np.sum(R * R) / M.size, np.concatenate([(R @ V).ravel(), (R.T @ U).ravel()]) / M.size


model = MatrixFactorisation()
runs = {"GD, η = 13": train_tracking_sharpness(model, method="gd", lr=13.0, n_steps=600, every=10),
        "Adam, η = 0.2, β₁ = 0.9": train_tracking_sharpness(model, method="adam", lr=0.2, momentum=0.9,
                                                            n_steps=600, every=10)}
print("Hessian-vector products:", next(iter(runs.values())).hvp)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for label, run in runs.items():
    tracked = run.preconditioned if run.preconditioned is not None else run.sharpness[:, 0]
    print(f"{label}: threshold {run.threshold:.4g} ({run.threshold_derivation.split(':')[0]}); "
          f"tracked / threshold from {tracked[0] / run.threshold:.3g} to {tracked[-1] / run.threshold:.3g}; "
          f"loss {run.losses[0]:.3g} → {run.losses[-1]:.3g}")
    ax1.plot(run.steps, tracked / run.threshold, label=label)
    ax2.semilogy(np.arange(len(run.losses)), run.losses, label=label)
ax1.axhline(1.0, color="k", ls="--", lw=1, label="derived threshold")
ax1.set_xlabel("step")
ax1.set_ylabel("sharpness / threshold")
ax1.legend(fontsize=8)
ax2.set_xlabel("step")
ax2.set_ylabel("training loss")
ax2.legend(fontsize=8)
save_figure(fig, out_path("own_model_sharpness.png"))
