"""Claims of kexue-5655: 从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)",
    "reference": "Source text: ../shared/sources/003_5dfc4414a9398f20.txt; https://kexue.fm/archives/5655",
}


# --- symbolic (issue 3) ---
import sympy as _sp  # noqa: E402

from dynopt.symbolic import core as _sc  # noqa: E402


def _source_expr(text):
    """A formula as printed in the source (ε, γ, λ, β, α, r as sympy symbols)."""
    names = {"gamma": _sc.gamma, "eps": _sc.gamma, "lam": _sc.lam, "beta": _sc.beta,
             "alpha": _sc.alpha, "r": _sc.r, "sigma": _sc.sigma}
    return _sp.sympify(text, locals=names)


def _map_agreement(which, numeric_map):
    """Largest relative gap between the derived (α, β) and dynopt.schemes.maps on a grid."""
    from dynopt.symbolic.coefficients import coefficient_functions

    derived = coefficient_functions(which)
    worst = 0.0
    for gm in (0.01, 0.1, 0.3):
        for fr in (0.0, 0.5, 2.0):
            if fr * gm > 1:
                continue
            for x, y in zip(derived(gm, fr), numeric_map(gm, fr)):
                worst = max(worst, abs(x - y) / abs(y))
    return worst


def _coefficient_verdict(derived, printed, label, numeric_gap=None, extra=None):
    (b, a), (pb, pa) = derived, printed
    same = _sc.is_zero(b - pb) and _sc.is_zero(a - pa)  # raises NotProved if undecidable
    tol = 1e-12
    holds = same and (numeric_gap is None or numeric_gap <= tol)
    ev = {"derived_beta": str(b), "derived_alpha": str(a)}
    if numeric_gap is not None:
        ev["max_relative_gap_vs_dynopt_maps"] = numeric_gap
    ev.update(extra or {})
    return judge(holds, expected={"beta": str(pb), "alpha": str(pa)},
                 measured={"beta": str(b), "alpha": str(a)}, tolerance=f"symbolic identity; maps ≤ {tol:g}",
                 correction=None if holds else f"{label}: β = {b}, α = {a}", evidence=ev)


@claim("kexue-5655.eq15-coefficients", method="symbolic",
       statement="(13)-(14) combine into v_{n+1} = βv_n − α∇L(θ_n), θ_{n+1} = θ_n + v_{n+1} with "
                 "β = (1−λγ/2)/(1+λγ/2), α = γ²/(1+λγ/2) (eqs 15-16)")
def eq15_coefficients(ctx):
    from dynopt.schemes.maps import leapfrog_coefficients
    from dynopt.symbolic.coefficients import leapfrog_update, series_vs_exponential

    b, a, _ = leapfrog_update()
    agree, _ = series_vs_exponential(b)
    gap = _map_agreement("eq15", leapfrog_coefficients)
    return _coefficient_verdict((b, a), (_source_expr("(1 - lam*gamma/2)/(1 + lam*gamma/2)"),
                                         _source_expr("gamma**2/(1 + lam*gamma/2)")),
                                "(13)-(14) give", gap,
                                {"beta_matches_exp(-λγ)_to_order": agree})


@claim("kexue-5655.eq18-coefficients", method="symbolic",
       statement="with v_{n+1} = (γ/2)(η_{n+1}+η_n), (17) becomes (19) with β = 1−λγ, α = γ² (eq 18)")
def eq18_coefficients(ctx):
    from dynopt.schemes.maps import nesterov_coefficients
    from dynopt.symbolic.coefficients import eq17_update, series_vs_exponential

    b, a = eq17_update("printed")
    agree, _ = series_vs_exponential(b)
    gap = _map_agreement("eq18", nesterov_coefficients)
    return _coefficient_verdict((b, a), (_source_expr("1 - lam*gamma"), _source_expr("gamma**2")),
                                "(17) as printed gives", gap,
                                {"beta_matches_exp(-λγ)_to_order": agree,
                                 "note": "β = 1−λγ agrees with e^(−λγ) only to first order in γ"})


@claim("kexue-5655.eq18-reader-coefficients", method="symbolic",
       statement="reader (2018-10-31): from (17) one gets β = 1/(1+λε), α = ε²/(1+λε); author: "
                 "'your derivation should be right, but for simplicity I modified (17)'")
def eq18_reader_coefficients(ctx):
    from dynopt.symbolic.coefficients import FRICTION_VARIANTS, eq17_update

    reader = (_source_expr("1/(1 + lam*eps)"), _source_expr("eps**2/(1 + lam*eps)"))
    printed18 = (_source_expr("1 - lam*gamma"), _source_expr("gamma**2"))
    found, closes = {}, {}
    for k in FRICTION_VARIANTS:
        res = eq17_update(k)
        closes[k] = res is not None
        if res is None:
            continue
        if _sc.is_zero(res[0] - reader[0]) and _sc.is_zero(res[1] - reader[1]):
            found["reader"] = k
        if _sc.is_zero(res[0] - printed18[0]) and _sc.is_zero(res[1] - printed18[1]):
            found["eq18"] = k
    # the reader is right for (17) with the friction at (η_{n+1}+η_n)/2; the printed (17)
    # (friction at (η_n+η_{n−1})/2) is the author's modification and gives (18)
    holds = found.get("reader") == "forward" and found.get("eq18") == "printed"
    desc = {k: FRICTION_VARIANTS[v][1] for k, v in found.items()}
    return judge(holds, expected={"reader": "a friction discretization of (17) giving the reader's "
                                            "coefficients", "eq18": "the printed (17)"},
                 measured=desc, tolerance="symbolic identity",
                 correction=None if holds else f"friction terms that give each set: {desc}",
                 evidence={"friction_variants_closing_in_v": closes,
                           "reader_from": desc.get("reader"), "eq18_from": desc.get("eq18")})


@claim("kexue-5655.tuning-rule", method="symbolic",
       statement="from 1−λ√α = β: when the learning rate drops from α to rα, β can be raised to "
                 "1 − (1−β)√r")
def tuning_rule(ctx):
    from dynopt.symbolic.tuning import approximate_rule, leading_terms, rule_table

    _, approx = approximate_rule()
    printed = _source_expr("1 - (1 - beta)*sqrt(r)")
    eps = _sp.Symbol("ε", positive=True)
    lead = leading_terms()
    # the source's rule must equal the source's formula and the leading term of the exact rule
    same_formula = _sc.is_zero(approx - printed)
    leading = _sc.is_zero(lead.coeff(eps, 1) * eps - (1 - printed).subs(_sc.beta, 1 - eps))
    rows = rule_table()
    # neglected order: a first-order rule in ε = 1 − β may err by O(ε) relative in 1 − β'
    worst = max(abs(row["relative_error_1_minus_beta"]) / (1 - row["beta"]) for row in rows)
    holds = same_formula and leading and worst <= 1.0
    return judge(holds, expected=str(printed), measured=str(approx),
                 tolerance="rule = leading term of the exact rule; |rel. error of 1−β'| ≤ 1−β",
                 correction=None if holds else f"exact rule: 1−β' = {lead} + O(ε³), ε = 1−β",
                 evidence={"exact_1_minus_beta_new": str(lead) + " + O(ε^3), ε = 1-β",
                           "max_rel_error_over_(1-beta)": worst, "table": rows})


def _gaussian_cov_from_density(p, th, L_quadratic):
    """Covariance of a density exp(−Φ) with Φ quadratic: inverse Hessian of Φ (numeric)."""
    import numpy as np

    from sympy.core.function import AppliedUndef

    Lf = next(iter(p.atoms(AppliedUndef))).func
    q = p.replace(Lf, _sp.Lambda(th, L_quadratic)).doit()
    phi = -_sp.log(q)
    hess = _sp.hessian(_sp.expand(_sp.expand_log(phi, force=True)), th)
    return np.linalg.inv(np.array(hess.evalf(), dtype=float))


@claim("kexue-5655.eq9-langevin-stationary", method="symbolic",
       statement="the stationary distribution of θ' = −∇L + σξ (8) is P(θ) ∝ exp(−L(θ)/σ²) (eq 9)")
def eq9_langevin_stationary(ctx):
    import numpy as np

    from dynopt.symbolic.fokker_planck import _coords, langevin_fp_operator, langevin_stationary, \
        ou_stationary_covariance

    p1, p2 = langevin_stationary(1), langevin_stationary(2)
    th, _ = _coords(1)
    L = _sp.Function("L")(*th)
    source = _sp.exp(-L / _sc.sigma ** 2)
    stationary_source = _sc.is_zero(langevin_fp_operator(source, L, th))   # False: counterexample L
    same = _sc.is_zero(_sp.diff(_sp.log(p1) - _sp.log(source), th[0]))
    # numeric: quadratic L = ½θᵀHθ in d = 2, Lyapunov covariance vs the two densities
    Hm = np.array([[2.0, 0.5], [0.5, 1.0]])
    sig = 0.7
    th2, _ = _coords(2)
    Lq = _sp.Rational(1, 2) * (_sp.Matrix(th2).T * _sp.Matrix(Hm.tolist()) * _sp.Matrix(th2))[0, 0]
    lyap = ou_stationary_covariance(Hm, sig)
    cov_derived = _gaussian_cov_from_density(p2.subs(_sc.sigma, sig), th2, Lq)
    cov_source = np.linalg.inv(Hm) * sig ** 2  # exp(−L/σ²) with L = ½θᵀHθ
    gap_d = float(np.max(np.abs(cov_derived - lyap)) / np.max(np.abs(lyap)))
    gap_s = float(np.max(np.abs(cov_source - lyap)) / np.max(np.abs(lyap)))
    tol = 1e-10
    if gap_d > tol:
        raise RuntimeError(f"derived density and Lyapunov covariance disagree (rel. gap {gap_d:.3g})")
    holds = bool(same and stationary_source and gap_s <= tol)
    return judge(holds, expected="exp(-L/σ**2)", measured=str(p1), tolerance=f"symbolic; covariance rel. {tol:g}",
                 correction=None if holds else
                 f"for dθ = −∇L dt + σ dW the zero-current stationary density is P(θ) ∝ {p1} "
                 "(temperature σ²/2); exp(−L/σ²) is stationary for noise √2·σ",
                 evidence={"derived_1d": str(p1), "derived_2d": str(p2),
                           "eq9_is_stationary": stationary_source,
                           "ou_2d_lyapunov_vs_derived_rel_gap": gap_d,
                           "ou_2d_lyapunov_vs_eq9_rel_gap": gap_s,
                           "lyapunov_cov_over_inv_H_over_sigma2": float(lyap[0, 0] / (np.linalg.inv(Hm)[0, 0] * sig ** 2))})


@claim("kexue-5655.eq22-kramers-stationary", method="symbolic",
       statement="for θ''+λθ' = −∇L + σξ (21), at λ = 0 the stationary solution is "
                 "P(θ,η) ∝ exp(−(η²/2 + L)/σ²) (eq 22), and its θ-marginal is eq (9)")
def eq22_kramers_stationary(ctx):
    import numpy as np

    from dynopt.symbolic.fokker_planck import (_coords, energy_drift, kramers_fp_operator,
                                               kramers_moment_energy, kramers_stationary,
                                               kramers_theta_marginal, kramers_zero_current_at_lambda0)

    th, et = _coords(1)
    L = _sp.Function("L")(*th)
    Hs = et[0] ** 2 / 2 + L
    eq22 = _sp.exp(-Hs / _sc.sigma ** 2)
    eq22_stationary = _sc.is_zero(kramers_fp_operator(eq22, L, th, et, friction=0))
    f0 = kramers_zero_current_at_lambda0()          # constant only at λ = 0
    drift = energy_drift(1)                          # −λη² + σ²/2
    drift0 = drift.subs(_sc.lam, 0)
    grows = bool(drift0.is_positive)
    p_lam = kramers_stationary(1)
    marg = kramers_theta_marginal()
    eq9 = _sp.exp(-L / _sc.sigma ** 2)
    marginal_is_eq9 = _sc.is_zero(_sp.diff(_sp.log(marg) - _sp.log(eq9), th[0]))
    # numeric: L = hθ²/2, exact second moments; λ = 0 energy slope, λ = 1 stationary E[H]
    hc, sig = 2.0, 0.5
    ts = np.linspace(5.0, 25.0, 5)
    e0 = kramers_moment_energy(hc, 0.0, sig, ts)
    slope = float(np.polyfit(ts, e0, 1)[0])
    e1 = float(kramers_moment_energy(hc, 1.0, sig, [200.0])[0])
    # E[H] under exp(−2λH/σ²), d = 1 quadratic: equipartition σ²/(4λ) per quadratic term
    lam1 = 1.0
    e_derived = float(2 * sig ** 2 / (4 * lam1))
    slope_expected = float(drift0.subs(_sc.sigma, sig))
    ok_num = abs(slope - slope_expected) <= 1e-8 * slope_expected and abs(e1 - e_derived) <= 1e-8 * e_derived
    if not ok_num:
        raise RuntimeError(f"moment ODE disagrees with the derivation: slope {slope} vs {slope_expected}, "
                           f"E[H] {e1} vs {e_derived}")
    holds = bool(eq22_stationary and marginal_is_eq9)
    return judge(holds, expected="exp(-(η**2/2 + L)/σ**2) stationary at λ = 0; θ-marginal exp(-L/σ**2)",
                 measured={"stationary_lambda_gt_0": str(p_lam), "theta_marginal": str(marg),
                           "dE[H]/dt": str(drift), "eq22_is_stationary_at_lambda0": eq22_stationary},
                 tolerance="symbolic; moment ODE rel. 1e-8",
                 correction=None if holds else
                 f"at λ = 0 there is no stationary density: Itô gives dE[H]/dt = {drift} = {drift0} "
                 f"at λ = 0, so the energy grows linearly; for λ > 0 the stationary density is "
                 f"∝ {p_lam} and its θ-marginal ∝ {marg} (the Langevin density exp(−2L/σ²) of (8) "
                 "only at λ = 1)",
                 evidence={"zero_current_f_at_lambda0": str(f0), "energy_grows_at_lambda0": grows,
                           "numeric_energy_slope_lambda0": slope, "expected_slope": slope_expected,
                           "numeric_stationary_E[H]_lambda1": e1, "derived_E[H]_lambda1": e_derived})


@claim("kexue-5655.keras-nesterov-form", method="symbolic",
       statement="with Θ_n = θ_n + βv_n, standard Nesterov becomes Θ_{n+1} = Θ_n + βv_{n+1} − α∇L(Θ_n), "
                 "v_{n+1} = βv_n − α∇L(Θ_n) (the form frameworks such as Keras implement)")
def keras_nesterov_form(ctx):
    import numpy as np

    from dynopt.dynamics import HeavyBall
    from dynopt.integrate import integrate
    from dynopt.problems import rosenbrock
    from dynopt.schemes import get_scheme
    from dynopt.schemes.maps import nesterov_ode_parameters
    from dynopt.symbolic.small import _G, _lr, _mu, _v, nesterov_conjugation

    TH = _sp.Symbol("Θ", real=True)
    theta_new, v_new = nesterov_conjugation("standard")
    src_v = _mu * _v - _lr * _G(TH)
    src_theta = TH + _mu * src_v - _lr * _G(TH)       # the source's Θ-update (β = μ, α = λ_lr)
    same = _sc.is_zero(theta_new - src_theta) and _sc.is_zero(v_new - src_v)
    # numeric: dynopt's Nesterov scheme vs the Θ-form iteration
    problem, lr, mom = rosenbrock(), 1e-3, 0.9
    n = ctx.size(200, 1000)
    step, friction = nesterov_ode_parameters(lr, mom)
    sol = integrate(HeavyBall(problem, friction), get_scheme("nesterov", start="rest"),
                    (0.0, n * step), [-1.2, 1.0], step, save_every=1)
    theta = sol.y[:, 0, :2]
    Th, v = np.array([[-1.2, 1.0]]), np.zeros((1, 2))
    gap = 0.0
    for t in range(1, n + 1):
        g = problem.grad_fn(Th)
        v = mom * v - lr * g
        Th = Th + mom * v - lr * g
        gap = max(gap, float(np.max(np.abs(Th - mom * v - theta[t]))))
    gap /= float(np.max(np.abs(theta)))
    tol = 1e-12
    holds = bool(same and gap <= tol)
    return judge(holds, expected={"Theta": str(src_theta), "v": str(src_v)},
                 measured={"Theta": str(theta_new), "v": str(v_new), "max_rel_gap_iterates": gap},
                 tolerance=f"symbolic conjugation; iterates rel. {tol:g}",
                 correction=None if holds else f"Θ-form: Θ' = {theta_new}, v' = {v_new}",
                 evidence={"beta_half_variant_Theta": str(nesterov_conjugation("half")[0]),
                           "not_checked": "that Keras implements this form (no framework code here)",
                           "steps": n})


@claim("kexue-5655.nesterov-wider-stability", method="symbolic",
       statement="Nesterov is in theory an implicit iteration, so its stability region is wider "
                 "(than heavy-ball momentum), which is why it usually works better")
def nesterov_wider_stability(ctx):
    import numpy as np

    from dynopt.plotting import plot_stability_regions, plt
    from dynopt.symbolic.stability import (STABILITY_SCHEMES, X_ODE, companion_spectral_radius,
                                           stability_bounds)

    bounds = {name: stability_bounds(name) for name in STABILITY_SCHEMES}
    hb = bounds["heavy-ball"][0]
    # wider = the stable αh range contains heavy ball's for every β ∈ (0, 1)
    betas = [_sp.Rational(k, 20) for k in range(1, 20)]

    def wider(name):
        other = bounds[name][0]
        if other is _sp.oo:
            return True
        return all(_sp.simplify(other.subs(_sc.beta, b) - hb.subs(_sc.beta, b)) >= 0 for b in betas)

    verdicts = {name: wider(name) for name in ("nesterov", "nesterov-half", "implicit19")}
    # numeric cross-check: spectral radius just inside/outside each finite bound
    for name, (max_a, _, _) in bounds.items():
        if max_a is _sp.oo:
            rho = companion_spectral_radius(name, np.array([1e2, 1e4, 1e6]), np.array([0.5, 0.9, 0.99]))
            if np.any(rho >= 1):
                raise RuntimeError(f"{name}: unbounded region but spectral radius {rho.max()} ≥ 1")
            continue
        f = _sp.lambdify(_sc.beta, max_a, "numpy")
        bs = np.linspace(0.05, 0.95, 19)
        edge = np.broadcast_to(f(bs), bs.shape)
        inside = companion_spectral_radius(name, edge * (1 - 1e-3), bs)
        outside = companion_spectral_radius(name, edge * (1 + 1e-3), bs)
        if np.any(inside >= 1) or np.any(outside <= 1):
            raise RuntimeError(f"{name}: spectral radii disagree with the Jury bound {max_a}")
    # figure: both parametrizations
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    bs = np.linspace(0.0, 0.999, 300)
    colors = {name: f"C{i}" for i, name in enumerate(bounds)}
    curves_a, curves_o = {}, {}
    for name, (max_a, max_o, var) in bounds.items():
        fa = _sp.lambdify(_sc.beta, max_a, "numpy")
        curves_a[name] = (bs, np.broadcast_to(np.asarray(fa(bs), float), bs.shape))
        if name != "gd":
            # λγ range with β ∈ [0, 1): (0, 2) through eq 15, (0, 1) through eq 18
            xs = np.linspace(0.0, 1.998 if name == "heavy-ball" else 0.999, 300)
            fo = _sp.lambdify(X_ODE, max_o, "numpy")
            curves_o[name] = (xs, np.broadcast_to(np.asarray(fo(xs), float), xs.shape))
    plot_stability_regions(curves_a, ax=axes[0], xlabel="αh", ylabel="β", xmax=5.0, colors=colors,
                           title="stable αh on L = hθ²/2 (left of each curve; gd = nesterov-half)")
    plot_stability_regions(curves_o, ax=axes[1], xlabel="hγ²", ylabel="λγ", xmax=5.0, colors=colors,
                           title="same in ODE variables (eq 15 heavy ball, eq 18 Nesterov family)")
    ctx.savefig(fig, "regions")
    plt.close(fig)
    holds = bool(verdicts["nesterov"] and verdicts["nesterov-half"])
    table = {name: {"max_alpha_h": str(b[0]), "max_" + b[2]: str(b[1])} for name, b in bounds.items()}
    return judge(holds, expected="stable region of Nesterov ⊇ heavy ball's",
                 measured=table, tolerance="symbolic (Jury); spectral radii at ±0.1% of each bound",
                 correction=None if holds else
                 f"only the implicit scheme (19) has a wider region (stable for all αh > 0); the explicit "
                 f"Nesterov iterations are narrower than heavy ball's αh < {hb}: standard Nesterov "
                 f"αh < {bounds['nesterov'][0]}, the β/2 variant (20) αh < {bounds['nesterov-half'][0]} "
                 f"(in ODE variables hγ² < {bounds['nesterov'][1]} and < {bounds['nesterov-half'][1]} vs "
                 f"heavy ball's hγ² < {bounds['heavy-ball'][1]})",
                 evidence={"wider_than_heavy_ball": verdicts, "regions": table})
