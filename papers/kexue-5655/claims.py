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
