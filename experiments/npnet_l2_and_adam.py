"""npnet's L2 penalty and simplified Adam (npnet-001)
==================================================

npnet-001: (1) its L2 regularizer adds αw to the gradient — the gradient of (α/2)|w|₂²,
not of (α/2)|w|₂ as its text says; (2) its simplified Adam (no bias correction, eps inside
the root) takes steps (1 − β1ᵗ)/√(1 − β2ᵗ) times Kingma & Ba's.

Run::

    python experiments/npnet_l2_and_adam.py
"""
import numpy as np
import sympy as sp

from dynopt import optim

w = sp.symbols("w1:4", real=True)
alpha = sp.symbols("alpha", positive=True)
norm = sp.sqrt(sum(x ** 2 for x in w))
print("d/dw1 (α/2)|w|₂  =", sp.simplify(sp.diff(alpha / 2 * norm, w[0])))
print("d/dw1 (α/2)|w|₂² =", sp.simplify(sp.diff(alpha / 2 * norm ** 2, w[0])))
x = np.array([0.5, -1.0, 2.0])
g, _ = optim.add_decayed_weights(0.1).update(np.zeros(3), optim.EmptyState(), x)
print("implemented (weight_decay=0.1) at w =", x, "->", g)

steps = {}
for name, opt in {"npnet": optim.adam(1e-3, 0.9, 0.99, convention="npnet"),
                  "kingma-ba": optim.adam(1e-3, 0.9, 0.99)}.items():
    steps[name] = -np.diff(optim.run(opt, lambda p: np.ones_like(p), np.zeros(1), 100).path[:, 0])
ratio = steps["npnet"] / steps["kingma-ba"]
for t in (1, 5, 13, 50, 100):
    print(f"t = {t:3d}: npnet step / Adam step = {ratio[t - 1]:.3f}")
