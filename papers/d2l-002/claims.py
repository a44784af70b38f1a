"""Claims of d2l-002: RMSProp算法, Dive into Deep Learning (Chinese edition, PyTorch)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "RMSProp算法, Dive into Deep Learning (Chinese edition, PyTorch)",
    "reference": "Source text: ../shared/sources/002_19ffff0586cd2081.txt",
}


# --- optimizers (issue 5) ---
import numpy as np  # noqa: E402

from dynopt import optim  # noqa: E402
from dynopt.plotting import plot_optimizer_paths  # noqa: E402
from dynopt.problems import ellipse  # noqa: E402

#: what the source prints after 20 RMSProp steps ("epoch 20, x1 -0.010599, x2 0.000000")
_PRINTED_X = ("-0.010599", "0.000000")


@claim("d2l-002.rmsprop-2d-trace",
       statement="RMSProp with η = 0.4, γ = 0.9, eps = 1e-6 inside √(s + eps) on f = 0.1·x1² + 2·x2² "
                 "from (−5, −2) prints 'epoch 20, x1 -0.010599, x2 0.000000'.",
       method="numeric")
def rmsprop_2d_trace(ctx):
    problem = ellipse()
    opt = optim.rmsprop(0.4, decay=0.9, eps=1e-6, convention="d2l")
    res = optim.run(opt, problem.grad, np.array([-5.0, -2.0]), 20)
    x = res.path[-1]
    printed = tuple(f"{v:f}" for v in x)            # the source's '%f'
    expected = np.array([float(s) for s in _PRINTED_X])
    tol = 5e-7                                       # half a unit in the 6th printed decimal
    ok = printed == _PRINTED_X and bool(np.all(np.abs(x - expected) <= tol))
    ax = plot_optimizer_paths(problem, {"RMSProp (d2l, η=0.4, γ=0.9)": res.path},
                              xlim=(-5.5, 1.0), ylim=(-3.0, 1.0),
                              title="d2l-002: RMSProp on 0.1x1² + 2x2², 20 steps")[0].axes
    ctx.savefig(ax.figure)
    return judge(ok, expected=list(_PRINTED_X), measured=list(printed), tolerance=tol,
                 correction=None if ok else f"after 20 steps x1 = {x[0]:.6f}, x2 = {x[1]:.6f}",
                 evidence={"x_after_20_steps": x.tolist(), "f_after_20_steps": problem.value(x),
                           "steps": 20})
