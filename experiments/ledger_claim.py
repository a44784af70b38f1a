"""A claim, checked and judged: gradient descent is stable for αh < 2
===================================================================

How the ledger decides a verdict, on one small claim: gradient descent on L = hθ²/2 (Euler's
method on the gradient flow) converges for steps αh < 2 and diverges above.  ``expected``
comes from the derivation (:func:`dynopt.symbolic.scheme_stability` calls the scheme's own
step on symbols), ``measured`` from running the iteration; :func:`dynopt.ledger.judge`
turns the comparison into the verdict.  In ``papers/<source>/claims.py`` the same check
would carry ``@claim(id, statement=..., method="numeric")`` and ``dynopt reproduce`` would
write its report.  Last, the verdict counts of the committed ledger.

Run::

    python experiments/ledger_claim.py
"""
import json
from collections import Counter
from pathlib import Path

import numpy as np

import dynopt
from _common import out_path
from dynopt.ledger import judge
from dynopt.plotting import plt, save_figure
from dynopt.symbolic import scheme_stability

expected = float(scheme_stability("gd").max_alpha_h)            # the derived bound, 2

h = 1.0
model = dynopt.GradientFlow(dynopt.quadratic(np.array([[h]])))
steps = np.linspace(1.5, 2.5, 41)
final = []
for ah in steps:
    sol = dynopt.integrate(model, "euler", (0.0, 60 * ah / h), [1.0], ah / h)
    final.append(abs(float(sol.final_positions[0, 0])))
final = np.array(final)
grid = float(steps[1] - steps[0])
measured = float(steps[np.argmax(final > 1.0)])                   # first step that grows
verdict = judge(abs(measured - expected) <= grid,
                expected={"max_alpha_h": expected}, measured={"first_growing_alpha_h": measured},
                tolerance={"grid_step": grid}, evidence={"n_iterations": 60, "steps": len(steps)})
print(verdict.verdict, verdict.expected, verdict.measured)

fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
ax.semilogy(steps, final, ".-", label="|θ| after 60 steps")
ax.axvline(expected, color="k", ls="--", lw=1, label="derived bound αh = 2")
ax.set_xlabel("αh")
ax.legend()
ax.set_title(f"verdict: {verdict.verdict}")
save_figure(fig, out_path("ledger_claim.png"))

# run from the repository root or from experiments/ (where the docs gallery runs it)
papers = Path("papers") if Path("papers").is_dir() else Path("..", "papers")
counts = Counter(c["verdict"] for f in sorted(papers.glob("*/claims.json"))
                 for c in json.loads(f.read_text(encoding="utf-8")))
print(f"committed ledger: {sum(counts.values())} claims,", dict(counts))
