"""Six optimizers on softmax regression (npnet-001)
================================================

npnet-001: softmax regression trained by the source's six configurations (SGD 1e-5,
Momentum 1e-4, Nesterov 1e-5, Adagrad 1e-2, RMSprop 1e-4, Adam 1e-4; batch 100, 25 epochs)
on a summed loss, as the source's learning rates assume.

Run::

    python experiments/npnet_optimizer_comparison.py [--mnist DIR] [--epochs 25]
"""
import argparse

import numpy as np

from _common import out_path
from dynopt import optim
from dynopt.learning import data
from dynopt.learning import networks as models
from dynopt.plotting import plot_curves, plt

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--mnist", metavar="DIR", help="MNIST or Fashion-MNIST IDX files")
ap.add_argument("--epochs", type=int, default=25)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

ds = data.load_mnist(args.mnist, normalize="unit") if args.mnist else data.load_digits("unit")
model = models.SoftmaxRegression(ds.X.shape[1], 10, reduction="sum")
p0 = model.init_params(args.seed)  # one initial model for all, as the source
configs = {
    "SGD": optim.sgd(1e-5, convention="npnet"),
    "Momentum": optim.sgd(1e-4, 0.9, convention="npnet"),
    "Nesterov": optim.sgd(1e-5, 0.9, nesterov=True, convention="npnet"),
    "Adagrad": optim.adagrad(1e-2, convention="npnet"),
    "RMSprop": optim.rmsprop(1e-4, 0.9, convention="npnet"),
    "Adam": optim.adam(1e-4, 0.9, 0.99, convention="npnet"),
}
curves = {}
for name, opt in configs.items():
    r = models.train(model, p0, opt, ds.X, ds.y, batch_size=100, epochs=args.epochs, rng=args.seed + 1,
                     full_loss=True)
    curves[name] = (np.arange(args.epochs + 1), r.full_losses / len(ds.y))
    print(f"{name:9s} final loss per example {curves[name][1][-1]:.4f}")
fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
plot_curves(curves, ax=ax, title="Comparison of optimizers", ylabel="loss per example")
fig.savefig(out_path("npnet_optimizer_comparison.png"), dpi=120)
print("wrote", out_path("npnet_optimizer_comparison.png"))
