"""Growing the batch vs decaying the learning rate
===============================================

kexue-5655 / Smith, Kindermans, Ying & Le (2018): on least squares, growing the batch by k
gives the same loss-vs-epoch curve as dividing the learning rate by k — same SDE
temperature η/B — with fewer updates.  Ensembles of independent SGD paths.

Run::

    python experiments/batch_vs_lr.py [--paths 500] [--k 5]
"""
import argparse

import numpy as np

from _common import out_path
from dynopt.analysis import ou_excess_loss, sgd_least_squares_ensemble
from dynopt.plotting import plot_curves, plt
from dynopt.problems import least_squares

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--paths", type=int, default=500)
ap.add_argument("--k", type=int, default=5)
ap.add_argument("--epochs-per-phase", type=int, default=10)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

rng = np.random.default_rng(args.seed)
N, d = 1000, 10
A = rng.standard_normal((N, d)) * np.sqrt(np.logspace(0, -1, d))
b = A @ rng.standard_normal(d) + 0.5 * rng.standard_normal(N)
P = least_squares(A, b)
E, eta, B, k = args.epochs_per_phase, 0.1, 10, args.k
if N % (k * k * B):
    raise SystemExit(f"--k {k}: the largest batch k²·{B} must divide N = {N}")
schedules = {"decay lr": [(E, eta, B), (E, eta / k, B), (E, eta / k ** 2, B)],
             "grow batch": [(E, eta, B), (E, eta, k * B), (E, eta, k * k * B)]}
res = {n: sgd_least_squares_ensemble(A, b, P.center + 1, s, args.paths, rng=args.seed + i + 1)
       for i, (n, s) in enumerate(schedules.items())}
sde = ou_excess_loss(P.hessian_matrix, P.gradient_noise_covariance(P.center), np.ones(d),
                        schedules["decay lr"], N)
print("epoch   decay-lr            grow-batch          SDE (η/B)")
for e in range(len(sde)):
    a, g = res["decay lr"], res["grow batch"]
    print(f"{e:5d}   {a.excess_mean[e]:.3e}±{a.excess_se[e]:.0e}   {g.excess_mean[e]:.3e}±{g.excess_se[e]:.0e}   {sde[e]:.3e}")
print("updates:", {n: r.steps for n, r in res.items()})
fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
plot_curves({n: (r.epochs, r.excess_mean, 2 * r.excess_se) for n, r in res.items()} |
            {"SDE": (np.arange(len(sde)), sde)}, ax=ax, ylabel="E[L − L*]")
fig.savefig(out_path("batch_vs_lr.png"), dpi=120)
print("wrote", out_path("batch_vs_lr.png"))
