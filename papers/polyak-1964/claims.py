"""Claims of polyak-1964: Some methods of speeding up the convergence of iteration methods

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.ledger import claim, judge

SOURCE = {
    "title": "Some methods of speeding up the convergence of iteration methods",
    "reference": "B. T. Polyak, USSR Computational Mathematics and Mathematical Physics 4(5), 1964",
}


# --- acceleration ---
@claim("polyak-1964.rate-vs-kappa",
       statement="Heavy ball x_{k+1} = x_k − α∇f(x_k) + β(x_k − x_{k−1}) with α = 4/(√L+√μ)², "
                 "β = ((√κ−1)/(√κ+1))² converges on quadratics like ((√κ−1)/(√κ+1))^k, so it needs "
                 "O(√κ log 1/ε) iterations where gradient descent (rate (κ−1)/(κ+1)) needs O(κ log 1/ε); "
                 "Nesterov's method (α = 1/L, β = (√κ−1)/(√κ+1): rate 1 − 1/√κ; quadratic-optimal "
                 "α = 4/(3L+μ), β = (√(3κ+1)−2)/(√(3κ+1)+2): rate 1 − 2/√(3κ+1)) is also O(√κ).",
       method="numeric")
def rate_vs_kappa(ctx):
    import numpy as np

    from dynopt.analysis import TUNINGS, asymptotic_rate, iterations_to_tolerance, tuned_method
    from dynopt.plotting import new_axes, plot_iterations_vs_kappa
    from dynopt.problems import quadratic

    tol = 1e-8
    kappas = [10.0, 100.0, 1000.0, 10000.0]
    d = 10
    names = {k: TUNINGS[k](1.0, 10.0).name for k in TUNINGS}
    measured = {names[k]: [] for k in TUNINGS}
    predicted = {names[k]: [] for k in TUNINGS}
    rates = {}
    count_ratio, rate_ratio = {}, {}
    for kappa in kappas:
        # spectrum log-spaced in [1, κ], start with every eigencomponent excited
        prob = quadratic(np.diag(np.logspace(0.0, np.log10(kappa), d)))
        x0 = np.ones(d)
        for key, make in TUNINGS.items():
            tu = make(1.0, kappa)
            model, scheme, dt = tuned_method(prob, tu)
            n_pred = tu.predicted_iterations(tol)
            run = iterations_to_tolerance(model, scheme, x0, dt, np.zeros(d), tol,
                                          max_iter=int(3 * n_pred) + 100)
            if not run.reached:
                raise RuntimeError(f"{tu.name} at κ={kappa:g} did not reach {tol:g} "
                                   f"(diverged at {run.diverged_step})")
            rho = asymptotic_rate(run.errors)
            measured[tu.name].append(run.iterations)
            predicted[tu.name].append(n_pred)
            rates[f"{tu.name} κ={kappa:g}"] = [rho, tu.rate]
            count_ratio[f"{tu.name} κ={kappa:g}"] = run.iterations / n_pred
            rate_ratio[f"{tu.name} κ={kappa:g}"] = np.log(rho) / np.log(tu.rate)
    lk = np.log(kappas)
    slope_meas = {n: float(np.polyfit(lk, np.log(v), 1)[0]) for n, v in measured.items()}
    slope_pred = {n: float(np.polyfit(lk, np.log(v), 1)[0]) for n, v in predicted.items()}
    # Tolerances: the tail rate (fitted with a k^b factor for the double roots) within 2 %
    # in log ρ; iteration counts within [0.8, 1.6]× ln(tol)/ln ρ (the k·ρ^k factor of a
    # double root adds ≈ ln k/ln(1/tol) ≤ 0.5); κ-exponents within 0.05 of the predicted.
    ok_rate = all(abs(r - 1) <= 0.02 for r in rate_ratio.values())
    ok_count = all(0.8 <= r <= 1.6 for r in count_ratio.values())
    ok_slope = all(abs(slope_meas[n] - slope_pred[n]) <= 0.05 for n in slope_meas)
    ax = new_axes()
    plot_iterations_vs_kappa(kappas, measured, predicted, ax=ax)
    ax.set_title(f"iterations to 1e-8 on {d}-D quadratics, spectrum in [1, κ]", fontsize=9)
    ctx.savefig(ax.figure)
    ok = ok_rate and ok_count and ok_slope
    return judge(
        ok,
        expected={"kappa_exponent": slope_pred, "rate": {k: v[1] for k, v in rates.items()}},
        measured={"kappa_exponent": slope_meas, "rate": {k: v[0] for k, v in rates.items()},
                  "iterations": measured},
        tolerance={"log_rate_rel": 0.02, "count_ratio": [0.8, 1.6], "kappa_exponent_abs": 0.05},
        correction=None if ok else "measured rates/iteration counts differ from the predictions: see evidence",
        evidence={"count_over_predicted": count_ratio, "log_rate_over_predicted": rate_ratio,
                  "tol": tol, "dim": d, "spectrum": "logspace(0, log10 κ, 10)", "x0": "ones"},
    )


# --- symbolic ---
def _source_formulas():
    """The step sizes, momentum and rates as Polyak states them (sympy, in μ, L and κ = L/μ)."""
    import sympy as sp

    from dynopt.symbolic.stability import L_s, kappa, mu_s

    sq = sp.sqrt
    return {"hb_alpha": 4 / (sq(L_s) + sq(mu_s)) ** 2, "hb_beta": ((sq(L_s) - sq(mu_s)) / (sq(L_s) + sq(mu_s))) ** 2,
            "hb_rate": (sq(kappa) - 1) / (sq(kappa) + 1), "gd_alpha": 2 / (mu_s + L_s),
            "gd_rate": (kappa - 1) / (kappa + 1)}


def _heavy_ball_matrix(alpha, beta, h):
    """Heavy ball's map (θ, v) → (θ', v') on one eigenvalue h: v' = βv − αhθ, θ' = θ + v'."""
    import numpy as np

    return np.array([[1 - alpha * h, beta], [-alpha * h, beta]])


@claim("polyak-1964.optimal-rates", method="symbolic",
       statement="for a quadratic with Hessian spectrum in [μ, L], κ = L/μ: heavy ball with "
                 "α = 4/(√L+√μ)², β = ((√L−√μ)/(√L+√μ))² converges at rate (√κ−1)/(√κ+1); the "
                 "best GD step α = 2/(μ+L) gives (κ−1)/(κ+1)")
def optimal_rates(ctx):
    import numpy as np
    from scipy import stats

    from dynopt.dynamics import GradientFlow, HeavyBall
    from dynopt.engine import integrate
    from dynopt.problems import quadratic
    from dynopt.schemes import leapfrog_ode_parameters
    from dynopt.symbolic.core import is_zero
    from dynopt.symbolic.stability import L_s, kappa, mu_s, polyak_gd, polyak_heavy_ball

    a_gd, _, rk_gd = polyak_gd()
    a_hb, b_hb, _, rk_hb = polyak_heavy_ball()
    src = _source_formulas()
    der = {"hb_alpha": a_hb, "hb_beta": b_hb, "hb_rate": rk_hb, "gd_alpha": a_gd, "gd_rate": rk_gd}
    same = {k: is_zero(der[k] - src[k]) for k in src}
    # numerics: spectrum in [1, 100], optimal parameters, spectral radii and iterates
    mu, Lv = 1.0, 100.0
    eigs = np.array([mu, 2.0, 7.0, 30.0, 80.0, Lv])
    vals = {mu_s: mu, L_s: Lv}
    al_hb, be_hb = float(a_hb.subs(vals)), float(b_hb.subs(vals))
    al_gd = float(a_gd.subs(vals))
    rate_hb, rate_gd = float(rk_hb.subs(kappa, Lv / mu)), float(rk_gd.subs(kappa, Lv / mu))

    rho_hb = max(float(np.max(np.abs(np.linalg.eigvals(_heavy_ball_matrix(al_hb, be_hb, x))))) for x in eigs)
    rho_gd = float(np.max(np.abs(1 - al_gd * eigs)))
    problem = quadratic(np.diag(eigs))
    x0 = np.ones(len(eigs))
    n = ctx.size(300, 1200)
    step, fr = leapfrog_ode_parameters(al_hb, be_hb)
    sol = integrate(HeavyBall(problem, fr), "heavy-ball", (0.0, n * step), x0, step, save_every=1)
    err_hb = np.linalg.norm(sol.y[:, 0, :len(eigs)], axis=1)
    sol = integrate(GradientFlow(problem), "euler", (0.0, n * al_gd), x0, al_gd, save_every=1)
    err_gd = np.linalg.norm(sol.y[:, 0, :], axis=1)
    ks = np.arange(n // 2, n + 1)
    fit_hb = float(np.exp(stats.linregress(ks, np.log(err_hb[ks])).slope))
    fit_gd = float(np.exp(stats.linregress(ks, np.log(err_gd[ks])).slope))
    # tolerances: eigvals of the defective (double-root) matrix are accurate to ~√eps; the
    # Jordan factor n·ρⁿ biases a log-linear fit over [n/2, n] by at most 2/n in log ρ
    tol_rho, tol_fit = 1e-6, 2.0 / n
    num_ok = (abs(rho_hb - rate_hb) <= tol_rho and abs(rho_gd - rate_gd) <= 1e-12
              and abs(np.log(fit_hb / rate_hb)) <= tol_fit and abs(np.log(fit_gd / rate_gd)) <= tol_fit)
    holds = bool(all(same.values()) and num_ok)
    return judge(holds, expected={k: str(v) for k, v in src.items()},
                 measured={"derived": {k: str(v) for k, v in der.items()},
                           "spectral_radius_hb": rho_hb, "spectral_radius_gd": rho_gd,
                           "fitted_rate_hb": fit_hb, "fitted_rate_gd": fit_gd},
                 tolerance={"spectral_radius": tol_rho, "log_fitted_rate": tol_fit},
                 correction=None if holds else f"derived: {der}; numeric: ρ_hb={rho_hb}, ρ_gd={rho_gd}, "
                                               f"fitted {fit_hb}, {fit_gd}",
                 evidence={"symbolic_agreement": same, "kappa": Lv / mu, "spectrum": eigs,
                           "rate_hb": rate_hb, "rate_gd": rate_gd, "steps": n})
