"""Claims of chen-fox-guestrin-2014: Stochastic Gradient Hamiltonian Monte Carlo
(Chen, Fox & Guestrin, ICML 2014)

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
The dynamics is the momentum-SGD iteration itself (dynopt.analysis.momentum_sgd_ensemble:
dynopt.engine.simulate of the Kramers model with the "momentum-sgd" scheme, seeded), i.e. the
leapfrog of the Kramers equation; exact discrete expectations come from the covariance
recursion Σ ← AΣAᵀ + c bbᵀ.
"""
from dynopt.ledger import claim, judge

SOURCE = {
    "title": "Stochastic Gradient Hamiltonian Monte Carlo",
    "reference": "T. Chen, E. B. Fox, C. Guestrin, Proc. ICML 2014, PMLR 32(2):1683–1691; arXiv:1402.4102",
}


def _exact_energy(alpha, beta, h, c, n_steps, every):
    """E[H_n] = E[hθ²/2 + v²/(2γ²)] of momentum SGD on hθ²/2 from (0, 0), exactly."""
    import numpy as np

    from dynopt.analysis import momentum_sgd_matrices
    from dynopt.schemes import leapfrog_ode_parameters

    A, b = momentum_sgd_matrices(alpha, beta, h)
    gamma, _ = leapfrog_ode_parameters(alpha, beta)
    Q = np.diag([h / 2, 1 / (2 * gamma ** 2)])
    S = np.zeros((2, 2))
    out = [0.0]
    for n in range(1, n_steps + 1):
        S = A @ S @ A.T + c * np.outer(b, b)
        if n % every == 0:
            out.append(float(np.trace(Q @ S)))
    return np.array(out)


@claim("chen-fox-guestrin-2014.naive-sghmc",
       statement="Naive stochastic-gradient HMC — Hamiltonian dynamics with noisy gradients and no "
                 "friction — does not leave the target invariant: the noise heats the system up and "
                 "the energy grows without bound; by Itô's formula for dθ = η dt, "
                 "dη = −λη dt − ∇U dt + σ dW, dE[H]/dt = −λE[η²] + σ²/2, so at λ = 0 E[H] grows "
                 "linearly, and a friction term (SGHMC) restores a stationary law at T = σ²/(2λ) (§3.1–3.2).",
       method="monte-carlo")
def naive_sghmc(ctx):
    import numpy as np

    from dynopt.analysis import kramers_parameters, momentum_sgd_ensemble
    from dynopt.plotting import plot_time_series
    from dynopt.plotting import new_axes
    from dynopt.problems import quadratic
    from dynopt.schemes import leapfrog_coefficients

    h, c, gamma = 1.0, 1.0, 0.1
    prob = quadratic(np.array([[h]]))
    n_paths = ctx.size(4000, 20000)
    n_steps = ctx.size(2000, 5000)
    every = 20
    n_groups = 20  # λ = 0 runs as independent path groups: batch means give the slope's SE
    rows = {}
    for lam in (0.0, 1.0):
        a, b = leapfrog_coefficients(gamma, lam)
        seeds = np.random.SeedSequence([ctx.seed, int(lam * 10)])
        if lam == 0.0:
            groups = [momentum_sgd_ensemble(prob, a, b, c, n_steps, n_paths // n_groups, rng=ss,
                                            theta0=[0.0], record_every=every)
                      for ss in seeds.spawn(n_groups)]
            run = type(groups[0])(np.concatenate([g.theta for g in groups]),
                                  np.concatenate([g.v for g in groups]), groups[0].steps,
                                  np.mean([g.energy_mean for g in groups], axis=0),
                                  np.sqrt(np.sum([g.energy_se ** 2 for g in groups], axis=0)) / n_groups,
                                  np.mean([g.eta2_mean for g in groups], axis=0), groups[0].gamma)
        else:
            groups = None
            run = momentum_sgd_ensemble(prob, a, b, c, n_steps, n_paths, rng=seeds,
                                        theta0=[0.0], record_every=every)
        exact = _exact_energy(a, b, h, c, n_steps, every)
        kp = kramers_parameters(a, b, c)
        rows[lam] = dict(alpha=a, beta=b, run=run, exact=exact, kp=kp, groups=groups)
    # λ = 0: Itô predicts E[H](t) = (σ²/2) t with σ² = γc and t = nγ, i.e. αc/2 per step
    r0 = rows[0.0]
    run0 = r0["run"]
    t0 = run0.steps * gamma
    ito0 = 0.5 * r0["kp"].sigma2 * t0
    z0 = (run0.energy_mean[-1] - r0["exact"][-1]) / run0.energy_se[-1]
    half = slice(len(t0) // 2, None)
    slope_mc = float(np.polyfit(t0[half], run0.energy_mean[half], 1)[0])
    # the groups are independent, so the spread of their slopes is the Monte Carlo error (the
    # records within a path are correlated: a regression SE over one ensemble would be wrong)
    group_slopes = np.array([np.polyfit(t0[half], g.energy_mean[half], 1)[0] for g in r0["groups"]])
    slope_se = float(group_slopes.std(ddof=1) / np.sqrt(n_groups))
    slope_ito = 0.5 * r0["kp"].sigma2
    # discretization bias, measured exactly: the same fit through the exact discrete means of the
    # covariance recursion (no Monte Carlo); it is O(αh) relative to σ²/2
    slope_discrete = float(np.polyfit(t0[half], r0["exact"][half], 1)[0])
    disc_bias = slope_discrete - slope_ito
    slope_dev = abs(slope_mc - slope_ito)
    slope_tol = 5 * slope_se + abs(disc_bias)
    rel_slope = abs(slope_mc / slope_ito - 1)
    growth = run0.energy_mean[-1] / run0.energy_mean[len(t0) // 2]
    # λ = 1: stationary E[H] → the exact discrete value (≈ T = σ²/(2λ) per dimension) and the
    # Itô balance λE[η²] = σ²/2 at stationarity
    r1 = rows[1.0]
    run1 = r1["run"]
    n_tail = len(run1.steps) // 2  # after ≥ 50 relaxation times
    # equilibration: E[H] at the start and at the end of the averaging window agree within 5 SE
    # (records ~1000 relaxation times apart; the quadrature SE is conservative for such pairs)
    eq_z = float((run1.energy_mean[-1] - run1.energy_mean[n_tail])
                 / np.hypot(run1.energy_se[-1], run1.energy_se[n_tail]))
    if abs(eq_z) > 5:
        raise RuntimeError(f"λ = 1: E[H] still drifts over the averaging window (z = {eq_z:.1f}): "
                           "not equilibrated, no verdict on the stationary energy")
    H1 = float(np.mean(run1.energy_mean[n_tail:]))
    z1 = (run1.energy_mean[-1] - r1["exact"][-1]) / run1.energy_se[-1]
    T1 = r1["kp"].temperature
    balance = float(r1["kp"].friction * np.mean(run1.eta2_mean[n_tail:]) / (0.5 * r1["kp"].sigma2))
    # tolerances: Monte Carlo within 5 SE of the exact discrete means; the λ = 0 slope within
    # 5 SE (batch means over the path groups) plus the exact discretization bias of Itô's σ²/2;
    # the energy doubles from n/2 to n (linear growth) within 15 %; with friction E[H] and the
    # Itô balance within 5 % of T and 1 (discretization O(αh) ≈ 1 %).
    ok = (abs(z0) <= 5 and abs(z1) <= 5 and slope_dev <= slope_tol and abs(growth - 2) <= 0.3
          and abs(H1 / T1 - 1) <= 0.05 and abs(balance - 1) <= 0.05)
    ax = new_axes(figsize=(7, 4.4))
    t1 = run1.steps * gamma
    sl = slice(1, None)  # E[H] = 0 at t = 0: log axes start at the first record
    plot_time_series(None, {"λ = 0 (naive SGHMC): Monte Carlo": (t0[sl], run0.energy_mean[sl]),
                            "λ = 0: Itô (σ²/2)·t": (t0[sl], ito0[sl]),
                            "λ = 1 (friction): Monte Carlo": (t1[sl], run1.energy_mean[sl]),
                            "λ = 1: exact discrete": (t1[sl], r1["exact"][sl]),
                            "T = σ²/(2λ)": (t1[sl], np.full_like(t1[sl], T1))},
                     ax=ax, xlabel="t = nγ", ylabel="E[H] = E[η²/2 + hθ²/2]", logx=True, logy=True,
                     styles={"λ = 0: Itô (σ²/2)·t": "k--", "T = σ²/(2λ)": "k:", "λ = 1: exact discrete": "--"},
                     bands={"λ = 0 (naive SGHMC): Monte Carlo": 5 * run0.energy_se[sl],
                            "λ = 1 (friction): Monte Carlo": 5 * run1.energy_se[sl]},
                     title=f"momentum with noisy gradients, γ = {gamma:g}, c = {c:g}: ±5 SE bands")
    ctx.savefig(ax.figure)
    return judge(
        ok,
        expected={"slope_dEH_dt_lambda0": slope_ito, "growth_ratio_n_over_n/2": 2.0,
                  "stationary_EH_lambda1": T1, "ito_balance": 1.0},
        measured={"slope_dEH_dt_lambda0": slope_mc, "growth_ratio_n_over_n/2": float(growth),
                  "stationary_EH_lambda1": H1, "ito_balance": balance,
                  "final_EH_lambda0": float(run0.energy_mean[-1])},
        tolerance={"mc_z": 5, "slope_abs": slope_tol, "slope_rule": "5 SE + |exact discretization bias|",
                   "growth_abs": 0.3, "stationary_rel": 0.05, "balance_rel": 0.05},
        correction=None if ok else "see evidence",
        evidence={"z_lambda0_vs_exact": float(z0), "z_lambda1_vs_exact": float(z1),
                  "equilibration_z_lambda1": eq_z,
                  "exact_final_EH": [float(r0["exact"][-1]), float(r1["exact"][-1])],
                  "alpha_beta": {f"lambda={k:g}": [v["alpha"], v["beta"]] for k, v in rows.items()},
                  "sigma2": {f"lambda={k:g}": v["kp"].sigma2 for k, v in rows.items()},
                  "slope_lambda0": {"monte_carlo": slope_mc, "se_batch_means": slope_se, "n_groups": n_groups,
                                    "z_vs_exact_discrete": float((slope_mc - slope_discrete) / slope_se),
                                    "exact_discrete": slope_discrete, "ito": slope_ito,
                                    "discretization_bias": disc_bias,
                                    "discretization_bias_source": "measured exactly: the same least-squares "
                                    "fit over t ∈ [T/2, T] through E[H_n] of the covariance recursion",
                                    "relative_deviation": float(rel_slope)},
                  "n_paths": n_paths, "n_steps": n_steps,
                  "engine": "the momentum-SGD iteration itself: dynopt.analysis.momentum_sgd_ensemble runs "
                            "dynopt.engine.simulate's 'momentum-sgd' scheme (the leapfrog of the Kramers "
                            "equation) on the Kramers model with (γ, λ, σ²) from kramers_parameters(α, β, c)"},
    )
