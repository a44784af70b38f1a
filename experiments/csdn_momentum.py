"""An MLP with and without momentum (csdn-000)
===========================================

csdn-000: a 784(64) → 200 → 10 MLP trained with momentum 0.9 (hand-written, and the
built-in PyTorch-convention SGD), with my_net's ReLU on the logits, and with plain SGD;
lr 1e-2, batch 64, 5 epochs.  Prints 'epoch: e, Train Loss: ...' like the source.

Run::

    python experiments/csdn_momentum.py                 # bundled 8×8 digits
    python experiments/csdn_momentum.py --mnist DIR     # MNIST IDX files you already have
"""
import argparse

import numpy as np

from _common import out_path
from dynopt import optim
from dynopt.learning import data
from dynopt.learning import networks as models
from dynopt.plotting import plot_curves, plt

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--mnist", metavar="DIR", help="folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

ds = data.load_mnist(args.mnist) if args.mnist else data.load_digits()
print(f"data: {ds.name}, {ds.X.shape[0]} images of {ds.X.shape[1]} pixels")
curves = {}
for label, relu, mom in [("momentum 0.9", False, 0.9), ("momentum 0.9, ReLU on logits (my_net)", True, 0.9),
                         ("no momentum", False, 0.0)]:
    net = models.MLP(ds.X.shape[1], 200, 10, relu_on_output=relu)
    r = models.train(net, net.init_params(args.seed), optim.sgd(1e-2, mom), ds.X, ds.y,
                     batch_size=64, epochs=args.epochs, rng=args.seed + 1)
    print(label)
    for e, loss in enumerate(r.epoch_losses):
        print("epoch: {}, Train Loss: {:.6f}".format(e, loss))
    curves[label] = (np.linspace(0, args.epochs, len(r.batch_losses)), r.batch_losses)
fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
plot_curves(curves, ax=ax, title=f"csdn-000 on {ds.name}")
fig.savefig(out_path(f"csdn_momentum_{ds.name}.png"), dpi=120)
print("wrote", out_path(f"csdn_momentum_{ds.name}.png"))
