"""Scratch RMSProp vs the framework's (d2l-002)
============================================

d2l-002: the scratch RMSProp (eps 1e-6 inside √(s + eps)) vs torch.optim.RMSprop
(alpha 0.9, eps 1e-8 outside √s) on a linear model, same init and batches.  With eps aligned
the two are the same iterates; otherwise the loss moves in the 7th digit.

Run::

    python experiments/rmsprop_scratch_vs_builtin.py [--seed 0]
"""
import argparse

import numpy as np

from dynopt import optim
from dynopt.learning import data
from dynopt.learning import networks as models

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

rng = np.random.default_rng(args.seed)
# stand-in for the airfoil data of get_data_ch7: 1500×5, every column standardized
X = rng.standard_normal((1500, 5))
signal = X @ rng.standard_normal(5)
Z = data.standardize(np.column_stack([X, signal + signal.std() * rng.standard_normal(1500)]))
X, y = Z[:, :-1], Z[:, -1]
model = models.LinearRegression(5)
p0 = {"w": rng.normal(0, 0.01, 5), "b": np.zeros(1)}
runs = {"scratch (d2l: eps 1e-6 inside)": optim.rmsprop(0.01, 0.9, 1e-6, convention="d2l"),
        "torch.optim.RMSprop (eps 1e-8 outside)": optim.rmsprop(0.01, 0.9, 1e-8, convention="pytorch")}
final = {}
for name, opt in runs.items():
    r = models.train(model, p0, opt, X, y, batch_size=10, epochs=2, rng=args.seed + 1, full_loss=True)
    final[name] = r.params
    print(f"{name:42s} loss: {r.full_losses[-1]:.6f}")
a, b = final.values()
print("max |Δθ| between the two:", max(np.abs(a[k] - b[k]).max() for k in a))
