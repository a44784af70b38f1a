"""Gradient descent, heavy ball and Nesterov as ODE discretizations
================================================================

Run::

    python experiments/ode_walkthrough.py

Writes experiments/out/ode_walkthrough.png and prints the fitted orders.
"""
import numpy as np

import dynopt
from _common import out_path
from dynopt.analysis import convergence_study
from dynopt.plotting import plot_contour, plot_orders, plot_trajectory, plt, save_figure
from dynopt.analysis import reference_solution


p = dynopt.ellipse()                      # 0.1·x1² + 2·x2², the sources' picture
x0 = [-5.0, -2.0]
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
plot_contour(p, ax=axes[0])
for scheme, model, dt in (("euler", dynopt.GradientFlow(p), 0.4),
                          ("heavy-ball", dynopt.HeavyBall(p, 1.0), 0.6),
                          ("nesterov", dynopt.HeavyBall(p, 1.0), 0.6)):
    sol = dynopt.integrate(model, scheme, (0, 12), x0, dt, save_every=1)
    plot_trajectory(sol.y[:, 0, :2], ax=axes[0], label=f"{scheme}, step {dt}")
# the two continuous flows: black, told apart by line style (solid first order, dashed second)
for model, name, ls in ((dynopt.GradientFlow(p), "gradient flow θ' = −∇L", "-"),
                        (dynopt.HeavyBall(p, 1.0), "heavy-ball ODE θ'' + θ' = −∇L", "--")):
    ys, _ = reference_solution(model, x0, np.linspace(0, 12, 300))
    plot_trajectory(ys[:, 0, :2], ax=axes[0], markers=False, label=name, color="k", lw=1.2, linestyle=ls)
axes[0].legend(fontsize=7)

results = []
for scheme, model in (("euler", dynopt.GradientFlow(p)), ("leapfrog", dynopt.HeavyBall(p, 1.0)),
                      ("heavy-ball", dynopt.HeavyBall(p, 1.0)), ("nesterov", dynopt.HeavyBall(p, 1.0))):
    res = convergence_study(model, scheme, x0, 2.0, [32, 45, 64, 91, 128, 181])
    results.append(res)
    print(f"{scheme:>11}: order {res.fit.order:.2f}  95% CI [{res.fit.ci[0]:.2f}, {res.fit.ci[1]:.2f}]")
plot_orders(results, ax=axes[1], title="global error at T = 2")
save_figure(fig, out_path("ode_walkthrough.png"))
print("wrote", out_path("ode_walkthrough.png"))
