"""Momentum from scratch on linear regression (d2l-004)
====================================================

d2l-004: momentum from scratch on the synthetic linear regression (w = [2, −3.4],
b = 4.2, 1000 samples, noise 0.01): lr 0.2, momentum 0.9, batch 10, 3 epochs, lr ×0.1 when
epoch > 2.  Prints the source's lines and the learned w, b.

Run::

    python experiments/d2l_linreg_momentum.py [--seed 0]
"""
import argparse

import numpy as np

from dynopt import optim
from dynopt.learning import data
from dynopt.learning import networks as models

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

ds = data.linear_regression_data(seed=args.seed)
model = models.LinearRegression(2)
steps_per_epoch = 100
lr = lambda k: 0.2 if k < 2 * steps_per_epoch else 0.02  # noqa: E731
r = models.train(model, model.init_params(args.seed + 1), optim.sgd(lr, 0.9, convention="d2l"),
                 ds.X, ds.y, batch_size=10, epochs=3, rng=args.seed + 2, full_loss=True)
print("batch size 10")
for e in range(1, 4):
    print("epoch %d, learning rate %f, loss %.4e" % (e, lr((e - 1) * steps_per_epoch), r.full_losses[e]))
print("w:", r.params["w"], "b:", r.params["b"][0])
print("max |error| vs truth:", np.max(np.abs(np.r_[r.params["w"], r.params["b"]] - [2, -3.4, 4.2])))
