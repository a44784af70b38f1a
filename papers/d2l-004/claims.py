"""Claims of d2l-004: 动量法 — 从0开始, Dive into Deep Learning (Chinese edition, MXNet)

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.ledger import claim, judge

SOURCE = {
    "title": "动量法 — 从0开始, Dive into Deep Learning (Chinese edition, MXNet)",
    "reference": "动量法 — 从0开始, early MXNet/Gluon edition of 《动手学深度学习》 (gluon-tutorials-zh, "
                 "chapter_optimization/momentum-scratch.md in https://github.com/d2l-ai/d2l-zh); "
                 "discussion https://discuss.gluon.ai/t/topic/1879",
}


# --- optimizers ---
import numpy as np  # noqa: E402

from dynopt import optim  # noqa: E402
from dynopt.learning import data
from dynopt.learning import networks as models
from dynopt.plotting import plot_curves, plt  # noqa: E402

_TRUE_W, _TRUE_B = (2.0, -3.4), 4.2
#: "当γ = 0.99, 最终的速度将是学习率乘以相应小批量随机梯度ηg的100倍大"
_VELOCITY_PRINTED = ("0.99", 100)


def _learning_rate(k, steps_per_epoch):
    """The source's schedule ("if epoch > 2: lr *= 0.1", epochs counted from 1) at update k:
    0.2 in epochs 1–2, 0.02 from epoch 3 on."""
    return 0.2 if k < 2 * steps_per_epoch else 0.02


@claim("d2l-004.linreg-momentum",
       statement="Momentum (v = γv + η∇f_B, x = x − v) with lr 0.2, γ = 0.9, batch 10, 3 epochs "
                 "and lr ×0.1 from epoch 3 on, learns w and b 'close to the true values' "
                 "w = [2, −3.4], b = 4.2 (1000 samples, noise 0.01).",
       method="experiment")
def linreg_momentum(ctx):
    seeds = range(ctx.size(4, 20))
    errors, finals, curves = [], [], {}
    steps_per_epoch = 1000 // 10
    for s in seeds:
        ds = data.linear_regression_data(1000, _TRUE_W, _TRUE_B, 0.01, seed=ctx.seed + s)
        model = models.LinearRegression(2)
        p0 = model.init_params(np.random.default_rng(ctx.seed + 1000 + s))  # w ~ N(0, 1), b = 0
        lr = lambda k: _learning_rate(k, steps_per_epoch)  # noqa: E731
        r = models.train(model, p0, optim.sgd(lr, 0.9, convention="d2l"), ds.X, ds.y,
                         batch_size=10, epochs=3, rng=np.random.default_rng(ctx.seed + 2000 + s),
                         full_loss=True)
        learned = np.r_[r.params["w"], r.params["b"]]
        errors.append(float(np.max(np.abs(learned - np.r_[_TRUE_W, _TRUE_B]))))
        finals.append(learned)
        if s == 0:
            curves["full-data loss"] = (np.arange(4), r.full_losses)
            batch = r.batch_losses
    tol = 0.01  # "close": within the label-noise scale 0.01, i.e. ≤ 0.5% of |w|
    worst = float(max(errors))
    ok = worst <= tol
    fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
    plot_curves({"minibatch loss": (np.linspace(0, 3, len(batch)), batch), **curves},
                ax=ax, title="d2l-004: linear regression, momentum 0.9, lr 0.2 → 0.02 in epoch 3",
                styles={"full-data loss": {"marker": "o"}})
    ax.axhline(0.5 * 0.01 ** 2, color="k", lw=0.6, ls=":")
    ax.text(0.05, 0.5 * 0.01 ** 2 * 1.3, "noise floor σ²/2", fontsize=7)
    ctx.savefig(fig)
    finals = np.array(finals)
    return judge(ok, expected={"w": list(_TRUE_W), "b": _TRUE_B}, measured={
                     "w_b_seed0": finals[0].tolist(), "max_abs_error_over_seeds": worst},
                 tolerance=tol,
                 correction=None if ok else f"largest parameter error {worst:.3g} exceeds {tol}",
                 evidence={"n_seeds": len(errors), "mean_abs_error": float(np.mean(errors)),
                           "final_full_loss_seed0": float(curves["full-data loss"][1][-1]),
                           "noise_floor": 0.5 * 0.01 ** 2})


# --- symbolic ---
@claim("d2l-004.velocity-limit", method="symbolic",
       statement="if every minibatch gradient equals g, v_i := γv_{i−1} + ηg tends to ηg/(1−γ): at γ = 0.99 the final velocity is 100× ηg")
def velocity_limit(ctx):
    import sympy as sp

    from dynopt.analysis.velocity import velocity_limit_check

    momentum, source_amplification = _VELOCITY_PRINTED
    r = velocity_limit_check(momentum)
    holds = bool(sp.simplify(r.derived_amplification - source_amplification) == 0)
    return judge(holds, expected=source_amplification, measured=r.measured_amplification,
                 tolerance=r.tolerance, evidence=r.evidence,
                 correction=None if holds else
                 f"the limit is ηg/(1−γ) = {r.derived_amplification}·ηg at γ = {r.momentum}")
