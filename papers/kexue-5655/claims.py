"""Claims of kexue-5655: 从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)",
    "reference": "Source text: ../shared/sources/003_5dfc4414a9398f20.txt; https://kexue.fm/archives/5655",
}


# --- acceleration (issue 6) ---
@claim("kexue-5655.momentum-sgd-temperature",
       statement="Momentum SGD (eq 16 with a noisy gradient, per-step noise variance c) is the "
                 "leapfrog discretization of the Kramers equation (21) θ'' + λθ' = −∇L + σξ, with "
                 "(γ, λ) from eq 15 and σ² = γc ≈ √α·c; its temperature T = σ²/(2λ) = αc/(2(1−β)) "
                 "is the stationary h·Var θ of momentum SGD on hθ²/2 as α → 0 (λ fixed), and equals "
                 "the temperature of plain SGD with learning rate α/(1−β), so the marginal of θ is "
                 "the SGD one (after eq 22).",
       method="monte-carlo")
def momentum_sgd_temperature(ctx):
    import numpy as np

    from dynopt.accel import (kramers_parameters, momentum_sgd_ensemble,
                              momentum_sgd_stationary_covariance, sgd_stationary_variance)
    from dynopt.analysis import fit_order
    from dynopt.plotting import new_axes, plot_loglog_curves
    from dynopt.problems import quadratic
    from dynopt.schemes import leapfrog_coefficients

    h, c, lam = 1.0, 1.0, 1.0
    # (1) Monte Carlo vs the exact discrete stationary variance (discrete Lyapunov equation)
    n_paths = ctx.size(20000, 100000)
    prob = quadratic(np.array([[h]]))
    mc = {}
    zs = []
    for gamma in (0.4, 0.1):
        a, b = leapfrog_coefficients(gamma, lam)
        relax = 1.0 / (1.0 - np.sqrt(b))            # amplitude relaxation time in steps
        n_steps = int(np.ceil(25 * relax)) + 50     # bias e^{-50} of the start from rest
        run = momentum_sgd_ensemble(prob, a, b, c, n_steps, n_paths,
                                    rng=np.random.SeedSequence([ctx.seed, int(gamma * 1000)]))
        var = float(run.theta[:, 0].var(ddof=1))
        se = var * np.sqrt(2.0 / (n_paths - 1))     # Gaussian stationary law: SE of a variance
        exact = float(momentum_sgd_stationary_covariance(a, b, h, c)[0, 0])
        z = (var - exact) / se
        zs.append(z)
        mc[f"gamma={gamma:g}"] = {"alpha": a, "beta": b, "mc_var": var, "se": se, "exact_var": exact,
                                  "z": z, "n_steps": n_steps}
    ok_mc = all(abs(z) <= 5 for z in zs)

    # (2) exact discrete variance vs the Kramers temperature and SGD with lr α/(1−β), α → 0
    gammas = np.array([0.4, 0.2, 0.1, 0.05, 0.025, 0.0125, 0.00625])
    exact_T, kramers_T, sgd_T, alphas = [], [], [], []
    for g in gammas:
        a, b = leapfrog_coefficients(g, lam)
        alphas.append(a)
        exact_T.append(h * momentum_sgd_stationary_covariance(a, b, h, c)[0, 0])
        kramers_T.append(kramers_parameters(a, b, c).temperature)
        sgd_T.append(h * sgd_stationary_variance(a / (1 - b), h, c))
    exact_T, kramers_T, sgd_T, alphas = map(np.array, (exact_T, kramers_T, sgd_T, alphas))
    gap_k = np.abs(exact_T / kramers_T - 1)
    gap_s = np.abs(exact_T / sgd_T - 1)
    fit_k = fit_order(np.sqrt(alphas), gap_k)
    fit_s = fit_order(np.sqrt(alphas), gap_s)
    # The gaps must vanish as α → 0: to the Kramers temperature like α·h (order 2 in √α: the
    # curvature seen by one step), to SGD with lr α/(1−β) like lr·h/2 = O(√α) (SGD's own
    # step); and be small at the smallest α.
    ok_lim = (abs(fit_k.order - 2) <= 0.2 and abs(fit_s.order - 1) <= 0.2 and gap_k[-1] < 0.01
              and gap_s[-1] < 0.01)

    ax = new_axes()
    plot_loglog_curves(alphas, {"exact momentum SGD h·Var θ (Lyapunov)": exact_T,
                                "Kramers T = σ²/(2λ) = αc/(2(1−β))": kramers_T,
                                "SGD, lr α/(1−β): h·Var θ": sgd_T},
                       ax=ax, xlabel="learning rate α (λ = 1 fixed)", ylabel="temperature h·Var θ",
                       styles={"Kramers T = σ²/(2λ) = αc/(2(1−β))": "k:"},
                       title="momentum SGD on hθ²/2: stationary temperature")
    for key, m in mc.items():
        ax.errorbar([m["alpha"]], [h * m["mc_var"]], yerr=[5 * h * m["se"]], fmt="kx", markersize=6,
                    label="Monte Carlo ±5 SE" if key.endswith("0.4") else None)
    ax.legend(fontsize=7)
    ctx.savefig(ax.figure)
    ok = ok_mc and ok_lim
    return judge(
        ok,
        expected={"mc_var": [m["exact_var"] for m in mc.values()], "temperature_limit": "αc/(2(1−β))",
                  "gap_order_kramers": 2.0, "gap_order_sgd": 1.0},
        measured={"mc_var": [m["mc_var"] for m in mc.values()],
                  "gap_to_kramers_at_smallest_alpha": float(gap_k[-1]),
                  "gap_to_sgd_at_smallest_alpha": float(gap_s[-1]),
                  "gap_order_kramers": fit_k.order, "gap_order_sgd": fit_s.order},
        tolerance={"mc_z": 5, "gap_at_smallest_alpha": 0.01, "gap_order_abs": 0.2},
        correction=None if ok else ("the stationary variance of momentum SGD does not approach the "
                                    "Kramers/SGD temperature as stated: see evidence"),
        evidence={"monte_carlo": mc, "n_paths": n_paths, "h": h, "c": c, "friction": lam,
                  "alphas": alphas, "exact_T": exact_T, "kramers_T": kramers_T, "sgd_T": sgd_T,
                  "gap_order_kramers_ci": fit_k.ci, "gap_order_sgd_ci": fit_s.ci,
                  "note": "eq 22's temperature σ² (instead of σ²/(2λ)) is right only if 2λ = 1, and "
                          "at λ = 0 there is no stationary law (see chen-fox-guestrin-2014.naive-sghmc)"},
    )
