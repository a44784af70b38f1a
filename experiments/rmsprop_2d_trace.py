"""RMSProp's 2-D trace (d2l-002)
=============================

d2l-002: RMSProp on f = 0.1·x1² + 2·x2² from (−5, −2), η = 0.4, γ = 0.9, eps = 1e-6 inside
the root.  Prints the source's line 'epoch 20, x1 -0.010599, x2 0.000000' and draws the trace.

Run::

    python experiments/rmsprop_2d_trace.py
"""
import numpy as np

from _common import out_path
from dynopt import optim
from dynopt.plotting import plot_optimizer_paths
from dynopt.problems import ellipse

problem = ellipse()
opt = optim.rmsprop(0.4, decay=0.9, eps=1e-6, convention="d2l")
res = optim.run(opt, problem.grad, np.array([-5.0, -2.0]), 20)
for i, (x1, x2) in enumerate(res.path[1:], 1):
    print("epoch %d, x1 %f, x2 %f" % (i, x1, x2))
ax = plot_optimizer_paths(problem, {"RMSProp": res.path}, xlim=(-5.5, 1), ylim=(-3, 1))[0].axes
ax.figure.savefig(out_path("rmsprop_2d_trace.png"), dpi=120)
print("wrote", out_path("rmsprop_2d_trace.png"))
