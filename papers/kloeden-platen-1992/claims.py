"""Claims of kloeden-platen-1992: Numerical Solution of Stochastic Differential Equations

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.ledger import claim, judge

SOURCE = {
    "title": "Numerical Solution of Stochastic Differential Equations",
    "reference": "P. E. Kloeden and E. Platen, Springer (Applications of Mathematics 23), 1992; "
                 "Euler–Maruyama §10.2, Milstein §10.3, weak schemes ch. 14",
}

# --- SDE ---
import numpy as np  # noqa: E402

from dynopt import dynamics  # noqa: E402
from dynopt.analysis import sde_order_study
from dynopt.plotting import plot_sde_orders, plt  # noqa: E402


def _gbm_solution(mu, s, T, calculus="ito"):
    """Exact X_T of dX = μX dt + sX dW (Itô: x0·exp((μ − s²/2)T + sW_T)) or of the
    Stratonovich equation dX = μX dt + sX∘dW (x0·exp(μT + sW_T)), as a function of (W_T, x0)."""
    drift = mu - s * s / 2 if calculus == "ito" else mu
    return lambda W, x0: x0 * np.exp(drift * T + s * W)


def _order_agrees(fit, expected):
    """|fitted − expected| ≤ 0.1 + half-width of the fit's 95% CI (pre-asymptotic curvature)."""
    return abs(fit.order - expected) <= 0.1 + (fit.ci[1] - fit.ci[0]) / 2


@claim("kloeden-platen-1992.orders", method="monte-carlo", statement=(
    "Euler–Maruyama converges with strong order 0.5 and weak order 1 for multiplicative noise, "
    "strong order 1 for additive noise; Milstein has strong order 1 (diagonal noise); the "
    "stochastic Heun scheme (Stratonovich) strong order 1 for commutative noise and weak order 1."))
def orders(ctx):
    mu, s, T = 1.0, 0.8, 1.0
    n = ctx.size(2 ** 13, 2 ** 16)
    ladder = ctx.size([8, 16, 32, 64, 128], [8, 16, 32, 64, 128, 256, 512])
    ito = dynamics.geometric_brownian_motion(mu, s)
    strat = dynamics.geometric_brownian_motion(mu, s, calculus="stratonovich")
    ou = dynamics.ornstein_uhlenbeck(1.0, 0.5)
    cases = [  # (label, model, scheme, exact solution from W_T, expected strong, expected weak)
        ("EM, GBM (Itô)", ito, "euler-maruyama", _gbm_solution(mu, s, T), 0.5, 1.0),
        ("EM, OU (additive)", ou, "euler-maruyama", None, 1.0, 1.0),
        ("Milstein, GBM (Itô)", ito, "milstein", _gbm_solution(mu, s, T), 1.0, 1.0),
        ("Heun, GBM (Stratonovich)", strat, "stochastic-heun", _gbm_solution(mu, s, T, "stratonovich"), 1.0, 1.0),
    ]
    rows, results, oks = {}, [], []
    for i, (label, model, scheme, exact, ps, pw) in enumerate(cases):
        r = sde_order_study(model, scheme, [1.0], T, ladder, n, ctx.seed + i, exact=exact,
                            reference_factor=4)
        results.append(r)
        ok_s = _order_agrees(r.strong_fit, ps)
        ok_w = r.weak_fit is not None and _order_agrees(r.weak_fit, pw)
        # the scheme's own declaration must match the textbook too
        ok_decl = r.declared_strong == ps and r.declared_weak == pw
        oks.append(ok_s and ok_w and ok_decl)
        rows[label] = {**r.as_dict(), "expected_strong": ps, "expected_weak": pw,
                       "strong_ok": bool(ok_s), "weak_ok": bool(ok_w), "declaration_ok": bool(ok_decl)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plot_sde_orders(results, "strong", ax=axes[0], title=f"strong error at T={T:g}, {n} paths, shared Brownian paths")
    plot_sde_orders(results, "weak", ax=axes[1], title="weak error of E[X_T] (pathwise estimator), ±2 SE")
    ctx.savefig(fig, "errors")
    plt.close(fig)
    measured = {k: {"strong": round(v["strong_order"]["order"], 3),
                    "weak": None if v["weak_order"] is None else round(v["weak_order"]["order"], 3)}
                for k, v in rows.items()}
    expected = {k: {"strong": v["expected_strong"], "weak": v["expected_weak"]} for k, v in rows.items()}
    ok = all(oks)
    bad = [k for k, o in zip(rows, oks) if not o]
    return judge(ok, expected=expected, measured=measured,
                 tolerance="|fitted − expected| ≤ 0.1 + half-width of the 95% CI of the slope",
                 correction=None if ok else f"orders differ for {bad}: measured {measured}",
                 evidence={"n_paths": n, "steps": [T / k for k in ladder], "cases": rows})
