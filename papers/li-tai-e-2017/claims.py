"""Claims of li-tai-e-2017: Stochastic modified equations and adaptive stochastic gradient algorithms

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.ledger import claim, judge

SOURCE = {
    "title": "Stochastic modified equations and adaptive stochastic gradient algorithms",
    "reference": "Q. Li, C. Tai and W. E, ICML 2017, PMLR 70 (arXiv:1511.06251); the mathematical "
                 "foundations in JMLR 20 (2019) 1–47. SGD x_{k+1} = x_k − η∇f_γk(x_k) vs the first- and "
                 "second-order stochastic modified equations in the weak sense, t = kη",
}

# --- SDE ---
import numpy as np  # noqa: E402

from dynopt import problems  # noqa: E402
from dynopt.dynamics import SGDModifiedEquation
from dynopt.engine import simulate
from dynopt.plotting import plot_curves, plot_sme_weak_errors, plt  # noqa: E402
from dynopt.analysis import OBSERVABLES, sgd_moment_path, sgd_moments, sme_moment_path, sme_moments, sme_weak_errors

ORDER_TOL = 0.1  # |fitted − declared| allowed; the errors are exact, so the CI only measures curvature
Z_TOL = 5.0      # exact SGD moments vs dynopt's SGD Monte Carlo, in standard errors
JUDGED = ("mean", "dist2", "excess_loss")


def _problem(seed):
    """2-D least squares, N = 10, residuals ≠ 0 (gradient noise persists at θ*)."""
    rng = np.random.default_rng(seed)
    N, d = 10, 2
    A = rng.normal(size=(N, d)) @ np.diag([1.2, 0.8])
    b = A @ np.array([1.0, -1.0]) + rng.normal(size=N)
    return problems.least_squares(A, b)


@claim("li-tai-e-2017.sme-weak-order", method="numeric", statement=(
    "Constant-step SGD x_{k+1} = x_k − η∇f_γk(x_k) is a weak approximation, at times t = kη, of the "
    "SME dX = −∇f(X) dt + (ηΣ(X))^{1/2} dW of order 1 and of the second-order SME "
    "dX = −∇(f(X) + (η/4)|∇f(X)|²) dt + (ηΣ(X))^{1/2} dW of order 2: |E g(x_k) − E g(X_{kη})| ≤ C η^α "
    "(α = 1, 2) on [0, T] for smooth g of polynomial growth (Σ the covariance of ∇f_γ)."))
def sme_weak_order(ctx):
    prob = _problem(ctx.seed)
    H, center = prob.hessian_matrix, prob.center
    lam = np.linalg.eigvalsh(H)
    T, B = 2.0, 1
    th0 = center + np.array([2.0, -1.5])
    # exact on both sides, so the ladder costs nothing; start where ηλ_max ≈ 0.04 (past the
    # pre-asymptotic range in which the η² terms rival the η terms)
    n_steps = [64 * 2 ** j for j in range(ctx.size(6, 8))]
    lrs = [T / n for n in n_steps]
    res = sme_weak_errors(prob, lrs, T, th0, batch_size=B, replace=True)
    res_b = sme_weak_errors(prob, lrs, T, th0, batch_size=3, replace=False, control=False)
    fits = {o: {k: res.fits[o][k] for k in res.observables} for o in (1, 2, "ode2")}

    def ok_fit(f, p):
        return abs(f.order - p) <= ORDER_TOL

    ok_orders = all(ok_fit(fits[1][k], 1) and ok_fit(fits[2][k], 2) for k in JUDGED)
    ok_orders_b = all(ok_fit(res_b.fits[1][k], 1) and ok_fit(res_b.fits[2][k], 2) for k in JUDGED)

    # Monte Carlo cross-check: dynopt's own SGD iterates vs the exact moment recursion, at the two
    # largest η (where the SME errors are largest), and the weak errors as Monte Carlo sees them
    n_paths = ctx.size(20000, 200000)
    dist2 = OBSERVABLES["dist2"][1]
    mc, zmax, samples = [], 0.0, {}
    for i, lr in enumerate(lrs[:2]):
        K = int(round(T / lr))
        model = SGDModifiedEquation(prob, lr, B, order=1)
        r = simulate(model, "sgd", (0, T), th0, lr, n_paths=n_paths, seed=ctx.seed + i)
        X = r.final_positions
        n_ok = X.shape[0]
        ex = sgd_moments(model, th0, K)
        XX = np.einsum("ni,nj->nij", X, X)
        z_mean = (X.mean(0) - ex.mean) / (X.std(0, ddof=1) / np.sqrt(n_ok))
        z_second = (XX.mean(0) - ex.second) / (XX.std(0, ddof=1) / np.sqrt(n_ok))
        zmax = max(zmax, float(np.abs(z_mean).max()), float(np.abs(z_second).max()))
        D = np.sum((X - center) ** 2, axis=1)
        samples[lr] = D
        row = {"lr": lr, "steps": K, "n_paths": n_paths, "n_diverged": r.n_diverged, "seed": ctx.seed + i,
               "z_mean": np.round(z_mean, 2).tolist(), "z_second_moment": np.round(z_second, 2).ravel().tolist()}
        se_d = float(D.std(ddof=1) / np.sqrt(n_ok))
        for o in (1, 2):  # the weak error of g = |θ − θ*|² as Monte Carlo sees it
            e = float(D.mean() - dist2(sme_moments(SGDModifiedEquation(prob, lr, B, order=o), th0, T), H, center))
            row[f"mc_dist2_error_order{o}"] = e
            row[f"mc_dist2_error_order{o}_in_se"] = round(e / se_d, 2)
        # paths a Monte Carlo study would need to see the exact order-2 error of E|θ−θ*|² at 3 SE
        row["paths_needed_order2_dist2_at_3se"] = int((3 * D.std(ddof=1) / res.errors[2]["dist2"][i]) ** 2)
        mc.append(row)
    ok_mc = zmax <= Z_TOL
    ok = bool(ok_orders and ok_orders_b and ok_mc)

    # figure: exact weak errors vs η; the signed error of E|θ − θ*|² along time at the two largest η
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.8), layout="constrained")
    plot_sme_weak_errors(res, observables=JUDGED, ax=axes[0], control=("dist2",),
                         title=f"least squares N={prob.n_examples}, d=2, B={B}: exact weak errors at T={T:g}")
    curves, styles = {}, {}
    for j, lr in enumerate(lrs[:2]):
        K = int(round(T / lr))
        ts = lr * np.arange(K + 1)
        gs = np.array([dist2(m, H, center) for m in sgd_moment_path(SGDModifiedEquation(prob, lr, B), th0, K)])
        for o, ls in ((1, "-"), (2, "--")):
            mod = SGDModifiedEquation(prob, lr, B, order=o)
            ge = np.array([dist2(m, H, center) for m in sme_moment_path(mod, th0, ts)])
            lab = f"η={lr:g}, SME order {o}"
            curves[lab] = (ts, gs - ge)
            styles[lab] = {"color": f"C{j}", "ls": ls}
        D = samples[lr]
        mc_err = D.mean() - dist2(sme_moments(SGDModifiedEquation(prob, lr, B, order=1), th0, T), H, center)
        axes[1].errorbar([T + 0.02 * (j - 0.5)], [mc_err], yerr=[3 * D.std(ddof=1) / np.sqrt(D.size)], fmt="x",
                         color=f"C{j}", ms=6, capsize=3,
                         label=f"η={lr:g}: Monte Carlo SGD − SME 1 at T, ±3 SE ({D.size} paths)")
    plot_curves(curves, ax=axes[1], logy=False, xlabel="t = kη",
                ylabel="E|θ_k − θ*|² (SGD, exact) − E|θ(t) − θ*|² (SME)", styles=styles,
                title="weak error along the run (zero line: exact agreement)")
    axes[1].axhline(0, color="grey", lw=0.6)
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ctx.savefig(fig, "weak-errors")
    plt.close(fig)

    def fit_dict(f):
        return {"order": round(f.order, 4), "ci95": [round(f.ci[0], 4), round(f.ci[1], 4)]}

    measured = {f"order{o}_sme": {k: round(fits[o][k].order, 3) for k in JUDGED} for o in (1, 2)}
    return judge(
        ok, expected={"order1_sme": 1.0, "order2_sme": 2.0}, measured=measured,
        tolerance=f"|fitted order − declared| ≤ {ORDER_TOL} for g ∈ {list(JUDGED)} (B=1 with and B=3 "
                  f"without replacement); exact SGD moments within {Z_TOL:g} SE of dynopt's SGD Monte Carlo",
        correction=None if ok else (
            f"fitted weak orders {measured} (B=1), "
            f"{ {o: {k: round(res_b.fits[o][k].order, 3) for k in JUDGED} for o in (1, 2)} } (B=3); "
            f"max |z| of the exact SGD moments vs Monte Carlo {zmax:.1f}"),
        evidence={
            "method": "exact: z = E(1, θ, θθᵀ) of SGD by its linear recursion over the finite sum "
                      "(dynopt.analysis.sme.sgd_moment_map, matrix power) and of each SME by expm of its closed "
                      "moment equations read off the model's drift/diffusion (dynopt.analysis.sme.moment_generator); "
                      "no sampling error in the weak errors, so the 95% CIs of fit_order reflect only the "
                      "higher-order terms; Monte Carlo only cross-checks the exact SGD moments",
            "problem": {"kind": "least squares", "N": prob.n_examples, "d": 2, "data_seed": ctx.seed,
                        "hessian_eigs": np.round(lam, 4).tolist(),
                        "trace_noise_cov_at_minimum": round(float(np.trace(
                            prob.gradient_noise_covariance(center))), 4)},
            "theta0_minus_minimum": [2.0, -1.5], "T": T, "batch_size": B, "sampling": "with replacement",
            "lrs": lrs, "lr_lambda_max": [round(h * lam.max(), 5) for h in lrs],
            "weak_errors": res.as_dict()["errors"],
            "fitted_orders": {(f"order{o}" if o in (1, 2) else o): {k: fit_dict(f) for k, f in d.items()}
                              for o, d in fits.items()},
            "fitted_orders_B3_without_replacement": {f"order{o}": {k: fit_dict(res_b.fits[o][k]) for k in JUDGED}
                                                     for o in (1, 2)},
            "observables": {k: OBSERVABLES[k][0] for k in res.observables},
            "monte_carlo_check": mc,
            "why_these_g": (
                "mean: with affine per-example gradients E θ_k follows GD exactly and E θ(t) the SME's drift "
                "exactly, so the noise cannot mask the drift: the order-1 SME's error in the mean is GD vs "
                "gradient flow, O(η), and −(η/4)∇|∇L|² = −(η/2)H∇L is the first term of GD's modified "
                "equation, which makes it O(η²). Starting away from θ* makes the O(η) term nonzero (from θ* "
                "both errors in the mean vanish). trace_cov (the noise-made part of E|θ−θ*|²) is itself O(η), "
                "so both SMEs get it to O(η²) and it tests the diffusion √(ηΣ) at leading order; the control "
                "'ode2' (order-2 drift, no noise) has error O(η) in dist2/excess_loss/trace_cov: those g see "
                "the noise, the mean does not. dist2 = E|θ−θ*|² and excess_loss = E L − L* combine both."),
            "formulas": (
                "order-1 SME as in the paper (checked against a secondary summary of Li, Tai & E); the "
                "order-2 drift −∇(L + (η/4)|∇L|²) as stated in the issue, re-derived here by one-step moment "
                "matching (E Δ = −η∇L + O(η³), E ΔΔᵀ = η²(∇L∇Lᵀ + Σ) + O(η³)); the primary text was not "
                "available in the stored pages"),
            "seeds": {"data_and_mc": ctx.seed},
        })
