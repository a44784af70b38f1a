"""Every optimizer with the flow it discretizes
============================================

All optimizers on the ellipse 0.1x1² + 2x2² and on Rosenbrock, each drawn with the ODE it
discretizes (gradient flow, heavy ball through kexue-5655 eqs 15/18, the Adagrad, RMSProp
and Adam ODEs of dynopt.dynamics.adaptive); then the order at which RMSProp and Adam iterates
approach their ODE as the learning rate → 0.

Run::

    python experiments/optimizer_flows.py
"""

from _common import out_path
from dynopt.analysis import DEFAULT_2D_HYPERPARAMETERS, ode_tracking_study, paths_with_flows
from dynopt.plotting import plot_optimizer_paths, plt
from dynopt.problems import ellipse, get_problem

fig, axes = plt.subplots(2, 6, figsize=(20, 6.5), layout="constrained")
for row, (pname, (x0, n, hps)) in enumerate(DEFAULT_2D_HYPERPARAMETERS.items()):
    prob = get_problem(pname)
    for col, (name, (path, flow, div)) in enumerate(paths_with_flows(prob, x0, n, hps).items()):
        end = "diverged at step %d" % div if div else "θ_end = (%.3f, %.3f)" % tuple(path[-1])
        print(f"{pname:10s} {name:9s} {end}; flow ends at ({flow[-1, 0]:.3f}, {flow[-1, 1]:.3f})")
        plot_optimizer_paths(prob, {name: path[::max(1, len(path) // 60)]}, flows={name: flow},
                             ax=axes[row, col], legend=False, title=f"{name} on {pname}")
fig.savefig(out_path("optimizer_flows.png"), dpi=110)
print("wrote", out_path("optimizer_flows.png"))

lrs = [0.02 / 2 ** k for k in range(5)]
for label, r in {"Adam": ode_tracking_study("adam", ellipse(), [-5, -2], 1.0, lrs, a=5.0, b=0.5),
                 "RMSProp (warm)": ode_tracking_study("rmsprop", ellipse(), [-5, -2], 1.0, lrs,
                                                         warm_start=True, c=5.0, eps=1e-6),
                 "RMSProp (s0 = 0)": ode_tracking_study("rmsprop", ellipse(), [-5, -2], 1.0, lrs,
                                                           c=5.0, eps=1e-6)}.items():
    print(f"{label:17s} order {r.fit.order:.3f}  CI [{r.fit.ci[0]:.3f}, {r.fit.ci[1]:.3f}]")
