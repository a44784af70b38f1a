"""The momentum tuning rule of kexue-5655: when the learning rate drops from α to rα,
raise β to 1 − (1 − β)√r.

The source's rule comes from β ≈ 1 − λ√α (eq 15 to first order): keep λ, solve for it,
substitute rα.  The exact rule keeps λ in the exact map (15): recover (γ, λ) from
(α, β), solve α' = γ'²/(1 + λγ'/2) = rα for the new step γ' and evaluate β'.  With
x = λγ/2 = (1 − β)/(1 + β) the new x' solves x'² = r x² (1 + x')/(1 + x): β' depends on
β and r only, never on α.
"""
from __future__ import annotations

import functools

import sympy as sp

from dynopt.symbolic.coefficients import leapfrog_update
from dynopt.symbolic.core import Derivation, NotProved, alpha, beta, derivation, gamma, lam, r, require_zero

__all__ = ["approximate_rule", "exact_rule", "rule_table", "BETAS", "RATIOS"]

BETAS = (0.9, 0.99)
RATIOS = (0.5, 0.1, 0.01)
_eps = sp.Symbol("ε", positive=True)  # 1 − β


@functools.lru_cache(maxsize=None)
def approximate_rule():
    """β' from β ≈ 1 − λ√α (the source's reasoning): returns (first_order_beta, beta_new)."""
    b15, a15, _ = leapfrog_update()
    # eq 15 to first order in γ: β ≈ 1 − λγ, α ≈ γ², i.e. β ≈ 1 − λ√α
    b1 = sp.series(b15, gamma, 0, 2).removeO()
    a1 = sp.series(a15, gamma, 0, 3).removeO()
    gam_of_alpha = sp.solve(sp.Eq(alpha, a1), gamma)
    gam_of_alpha = [s for s in gam_of_alpha if s.is_positive is not False]
    if len(gam_of_alpha) != 1:
        raise NotProved(f"α ≈ γ² should have one positive root; got {gam_of_alpha}")
    b_first = sp.expand(b1.subs(gamma, gam_of_alpha[0]))          # 1 − λ√α
    lam_sol = sp.solve(sp.Eq(beta, b_first), lam)
    if len(lam_sol) != 1:
        raise NotProved(f"β = 1 − λ√α should give one λ; got {lam_sol}")
    b_new = sp.simplify(b_first.subs(alpha, r * alpha).subs(lam, lam_sol[0]))
    return b_first, b_new


@functools.lru_cache(maxsize=None)
def exact_rule():
    """Exact β' from eq 15 at fixed λ: returns (beta_new, x_new) with x = λγ/2.

    β' = (1 − x')/(1 + x'), x' the positive root of x'² (1 + x) = r x² (1 + x'),
    x = (1 − β)/(1 + β).
    """
    b15, a15, _ = leapfrog_update()
    x, xn = sp.symbols("x x'", positive=True)
    # invert eq 15: β(x) with x = λγ/2
    x_of_b = sp.solve(sp.Eq(beta, b15.subs(lam, 2 * x / gamma)), x)
    if len(x_of_b) != 1:
        raise NotProved(f"β(λγ/2) should be invertible; got {x_of_b}")
    x_of_b = sp.simplify(x_of_b[0])
    gam2 = sp.solve(sp.Eq(alpha, a15.subs(lam, 2 * x / gamma)), gamma)
    gam2 = [s for s in gam2 if s.is_positive is not False]
    if len(gam2) != 1:
        raise NotProved(f"α(γ) at fixed λγ should have one positive root; got {gam2}")
    lam_val = 2 * x / gam2[0]                                       # λ from (α, β)
    # new step γ' at rα with the same λ
    eq_new = sp.together(r * alpha - a15.subs(lam, lam_val))
    poly = sp.Poly(sp.numer(eq_new), gamma)
    if poly.degree() != 2:
        raise NotProved(f"rα = γ'²/(1+λγ'/2) should be quadratic in γ'; got {poly}")
    # product of the roots < 0: exactly one positive root, picked by its sign at one point
    prod = sp.simplify(poly.all_coeffs()[2] / poly.all_coeffs()[0])
    if not prod.is_negative:
        raise NotProved(f"product of the roots of the γ' equation is not provably < 0: {prod}")
    pt = {alpha: sp.Rational(1, 3), x: sp.Rational(1, 7), r: sp.Rational(1, 2)}
    new_gamma = [s for s in sp.solve(poly.as_expr(), gamma) if s.subs(pt).evalf() > 0]
    if len(new_gamma) != 1:
        raise NotProved(f"rα = γ'²/(1+λγ'/2) should have one positive root; got {new_gamma}")
    x_new_of_x = sp.simplify(lam_val * new_gamma[0] / 2)           # x' in terms of x and r
    x_new = x_new_of_x.subs(x, x_of_b)
    x_new = sp.simplify(x_new.replace(lambda e: e.is_Pow and e.exp == sp.Rational(1, 2),
                                      lambda e: sp.sqrt(sp.factor(sp.expand(e.base)))))
    b_new = sp.simplify(b15.subs(lam, 2 * x / gamma).subs(x, x_new))
    # the closed form depends on (β, r) only
    if alpha in b_new.free_symbols or lam in b_new.free_symbols or gamma in b_new.free_symbols:
        raise NotProved(f"exact β' should depend on β and r only; got {b_new}")
    # and solves x'²(1 + x) = r x²(1 + x')
    require_zero(sp.simplify((x_new ** 2 * (1 + x) - r * x ** 2 * (1 + x_new)).subs(x, x_of_b)),
                 "x' solves x'^2 (1 + x) = r x^2 (1 + x')")
    return b_new, x_new


@functools.lru_cache(maxsize=None)
def leading_terms(order: int = 3):
    """Series of the exact 1 − β' in ε = 1 − β: the approximate rule is its first term."""
    b_new, _ = exact_rule()
    one_minus = sp.series(1 - b_new.subs(beta, 1 - _eps), _eps, 0, order).removeO()
    return sp.collect(sp.expand(sp.simplify(one_minus)), _eps)


def rule_table(betas=BETAS, ratios=RATIOS):
    """Rows (β, r, approximate β', exact β', relative error of 1 − β')."""
    _, approx = approximate_rule()
    exact, _ = exact_rule()
    fa = sp.lambdify((beta, r), approx, "math")
    fe = sp.lambdify((beta, r), exact, "math")
    rows = []
    for b in betas:
        for rr in ratios:
            ba, be = float(fa(b, rr)), float(fe(b, rr))
            rows.append({"beta": b, "r": rr, "approximate": ba, "exact": be,
                         "relative_error_1_minus_beta": (ba - be) / (1 - be)})
    return rows


@derivation("tuning-rule", "kexue-5655: raise β to 1 − (1−β)√r when α drops to rα; exact rule from eq 15")
def _tuning():
    b_first, approx = approximate_rule()
    exact, x_new = exact_rule()
    lead = leading_terms()
    return Derivation(
        "tuning-rule", "kexue-5655: raise β to 1 − (1−β)√r when α drops to rα; exact rule from eq 15",
        results={"first_order_beta": b_first, "approximate_beta_new": approx, "exact_beta_new": exact,
                 "exact_1_minus_beta_new_series": lead},
        steps=["eq 15 to first order: β ≈ 1 − λ√α; solve for λ, substitute α → rα",
               "exact: x = λγ/2 = (1−β)/(1+β), γ² = α(1+x); keep λ; solve rα = γ'²/(1+λγ'/2) for γ' > 0",
               "series of the exact 1 − β' in ε = 1 − β: the approximate rule is its leading term"],
        data={"table": rule_table()})
