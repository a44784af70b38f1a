"""Stability regions derived from the schemes' own steps
======================================================

Each momentum scheme is its step function; called on sympy symbols on L = hθ²/2 it gives
the scheme's characteristic polynomial, and the Schur–Cohn/Jury conditions give the largest
stable αh as a function of β.  Gradient descent (Euler on gradient flow) is stable for
αh < 2, heavy ball for αh < 2(1 + β), Nesterov for αh < 2(1 + β)/(1 + 2β).  The heavy-ball
coefficients themselves come out of kexue-5655's staggered differences (13)–(14).

Run::

    python experiments/derive_stability.py
"""
import numpy as np
import sympy as sp

from _common import out_path
from dynopt.plotting import plot_stability_regions, plt, save_figure
from dynopt.symbolic import get_derivation, scheme_stability

d = get_derivation("leapfrog")
print("β =", sp.simplify(d.results["beta"]), "  α =", sp.simplify(d.results["alpha"]))

betas = np.linspace(0.0, 0.98, 50)
bounds = {}
for name in ("gd", "heavy-ball", "nesterov"):
    st = scheme_stability(name)
    print(f"{name:>10}: characteristic polynomial {st.characteristic_polynomial.as_expr()}, "
          f"stable for αh < {st.max_alpha_h}")
    symbols = sorted(st.max_alpha_h.free_symbols, key=str)
    bound = sp.lambdify(symbols, st.max_alpha_h, "numpy")
    bounds[name] = (betas, np.broadcast_to(bound(betas) if symbols else float(st.max_alpha_h), betas.shape))

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
plot_stability_regions(bounds, ax=ax, title="stable αh on L = hθ²/2 (from each scheme's step)")
save_figure(fig, out_path("derive_stability.png"))
