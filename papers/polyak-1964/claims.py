"""Claims of polyak-1964: Some methods of speeding up the convergence of iteration methods

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "Some methods of speeding up the convergence of iteration methods",
    "reference": "B. T. Polyak, USSR Computational Mathematics and Mathematical Physics 4(5), 1964",
}


# --- acceleration (issue 6) ---
@claim("polyak-1964.rate-vs-kappa",
       statement="Heavy ball x_{k+1} = x_k − α∇f(x_k) + β(x_k − x_{k−1}) with α = 4/(√L+√μ)², "
                 "β = ((√κ−1)/(√κ+1))² converges on quadratics like ((√κ−1)/(√κ+1))^k, so it needs "
                 "O(√κ log 1/ε) iterations where gradient descent (rate (κ−1)/(κ+1)) needs O(κ log 1/ε); "
                 "Nesterov's method (α = 1/L, β = (√κ−1)/(√κ+1): rate 1 − 1/√κ; quadratic-optimal "
                 "α = 4/(3L+μ), β = (√(3κ+1)−2)/(√(3κ+1)+2): rate 1 − 2/√(3κ+1)) is also O(√κ).",
       method="numeric")
def rate_vs_kappa(ctx):
    import numpy as np

    from dynopt.accel import TUNINGS, asymptotic_rate, iterations_to_tolerance, tuned_method
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
