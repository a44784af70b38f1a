"""Linear stability of GD and the momentum schemes on L = hθ²/2 (h > 0), and Polyak's
optimal parameters.

Each scheme's two-step recurrence (``recurrences.py``) with θ_n = zⁿ gives its
characteristic polynomial in z, with a = αh and β.  The Schur–Cohn/Jury conditions for
c₂z² + c₁z + c₀ (c₂ > 0): p(1) > 0, p(−1) > 0, c₂ ± c₀ > 0 — all roots strictly inside the
unit circle — are solved in sympy for the largest stable a at each β ∈ (0, 1), and again
in the ODE variables (hγ², λγ) through the scheme's map (eq 15 or 18).  The parameter
range is handled by substituting β = 1/(1+u) (λγ = c/(1+u)) with u > 0, so every sign
sympy needs is decided, never assumed; an undecided sign raises NotProved.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from dynopt.symbolic.core import Derivation, NotProved, a, beta, derivation, gamma, h, lam, require_zero, z
from dynopt.symbolic.recurrences import MOMENTUM_SCHEMES, coefficients_of, gradient_point

__all__ = ["characteristic_polynomial", "jury_conditions", "stable_upper_bound", "stability_table",
           "STABILITY_SCHEMES", "spectral_radius_grid", "polyak_gd", "polyak_heavy_ball",
           "H_ODE", "X_ODE"]

#: ODE variables: H = hγ² (hγ for GD), X = λγ
H_ODE = sp.Symbol("hγ2", positive=True)
X_ODE = sp.Symbol("λγ", positive=True)
_u = sp.Symbol("u", positive=True)

STABILITY_SCHEMES = ("gd", "heavy-ball", "nesterov", "nesterov-half", "implicit19")


def characteristic_polynomial(name: str):
    """Characteristic polynomial in z of the scheme on L = hθ²/2, in a = αh and β.

    Derived by substituting θ_n = zⁿ into the recurrence (GD: θ_{n+1} = θ_n − αhθ_n).
    """
    if name == "gd":
        return sp.Poly(sp.expand(z - 1 + a), z)
    if name not in MOMENTUM_SCHEMES or name == "leapfrog":
        raise ValueError(f"`name` must be one of {list(STABILITY_SCHEMES)}; got {name!r}")
    t1, t0, tm = z ** 2, z, sp.Integer(1)   # θ_{n+1}, θ_n, θ_{n−1} divided by z^{n−1}
    point = gradient_point(name)(t1, t0, tm, beta)
    rec = (t1 - t0) - beta * (t0 - tm) + a * point    # ∇L(x) = hx, αh = a
    return sp.Poly(sp.expand(rec), z)


def jury_conditions(poly):
    """Schur–Cohn/Jury conditions (each ``expr > 0``) for all roots of ``poly`` in |z| < 1.

    Degree 1 (c₁z + c₀) and 2 (c₂z² + c₁z + c₀); the leading coefficient must be positive.
    """
    cs = poly.all_coeffs()
    lead = cs[0]
    if poly.degree() == 1:
        c1, c0 = cs
        return [c1 - c0, c1 + c0], lead
    if poly.degree() == 2:
        c2, c1, c0 = cs
        return [c2 + c1 + c0, c2 - c1 + c0, c2 - c0, c2 + c0], lead
    raise NotImplementedError("Jury conditions are implemented for degree ≤ 2")


def _sign(expr, param_sub):
    e = sp.factor(sp.together(sp.simplify(expr.subs(param_sub))))
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    if e == 0:
        return 0
    raise NotProved(f"cannot decide the sign of {expr} on the parameter range")


def stable_upper_bound(conditions, var, param, param_sub):
    """Largest stable ``var`` (> 0) from linear Jury conditions, for the parameter range.

    Returns
    -------
    sympy.Expr
        The bound in ``param`` (``sympy.oo`` when every var > 0 is stable).
    """
    uppers = []
    for cond in conditions:
        num, den = sp.fraction(sp.together(sp.expand(cond)))
        s_den = _sign(den, param_sub)
        num = sp.Poly(sp.expand(num * s_den), var)
        if num.degree() > 1:
            raise NotProved(f"Jury condition {cond} is not linear in {var}")
        c1, c0 = (num.all_coeffs() if num.degree() == 1 else [sp.Integer(0), num.all_coeffs()[0]])
        s1 = _sign(c1, param_sub) if c1 != 0 else 0
        if s1 == 0:
            if _sign(c0, param_sub) <= 0:
                raise NotProved(f"condition {cond} > 0 fails on the whole parameter range")
            continue
        root = sp.simplify(-c0 / c1)
        if s1 > 0:   # var > root: must not cut into var > 0
            if _sign(-root, param_sub) < 0:
                raise NotProved(f"condition {cond} excludes small {var} > 0 (needs {var} > {root})")
        else:
            uppers.append(root)
    if not uppers:
        return sp.oo
    best = uppers[0]
    for ub in uppers[1:]:
        s = _sign(ub - best, param_sub)
        if s < 0:
            best = ub
    return sp.factor(sp.simplify(best))


@functools.lru_cache(maxsize=None)
def stability_bounds(name: str):
    """(max αh in β, max of the ODE variable in λγ, ODE variable name) for scheme ``name``."""
    poly = characteristic_polynomial(name)
    conds, lead = jury_conditions(poly)
    on_beta = {beta: 1 / (1 + _u)}
    if _sign(lead, on_beta) <= 0:
        raise NotProved(f"leading coefficient {lead} of {name} is not positive")
    max_a = stable_upper_bound(conds, a, beta, on_beta)
    if name == "gd":
        # GD with step γ on L = hθ²/2: a = hγ, no β
        ode = max_a.subs(a, H_ODE)
        return max_a, ode, "h*γ"
    b, al = coefficients_of(name)
    which = MOMENTUM_SCHEMES[name][1]
    xmax = 2 if which == "eq15" else 1      # λγ range with β ∈ (0, 1)
    to_ode = {a: sp.simplify((al * h).subs({h: H_ODE / gamma ** 2}).subs(lam, X_ODE / gamma)),
              beta: sp.simplify(b.subs(lam, X_ODE / gamma))}
    if any(gamma in e.free_symbols for e in to_ode.values()):
        raise NotProved(f"{name}: αh and β are not functions of (hγ², λγ) alone: {to_ode}")
    ode_conds = [sp.simplify(c.subs(to_ode, simultaneous=True)) for c in conds]
    on_x = {X_ODE: xmax / (1 + _u)}
    lead_ode = lead.subs(to_ode, simultaneous=True)
    if _sign(lead_ode, on_x) <= 0:
        raise NotProved(f"leading coefficient of {name} is not positive in ODE variables")
    max_ode = stable_upper_bound(ode_conds, H_ODE, X_ODE, on_x)
    # consistency of the two bounds through the map
    if max_a is not sp.oo and max_ode is not sp.oo:
        require_zero(max_a.subs(beta, to_ode[beta]) - to_ode[a].subs(H_ODE, max_ode),
                     f"{name}: the (αh, β) and (hγ², λγ) bounds describe the same boundary")
    return max_a, max_ode, "h*γ**2"


def stability_table():
    """One dict per scheme: scheme, characteristic polynomial, max_alpha_h (in β),
    ode_variable, max_ode_variable (in λγ), coefficient map."""
    rows = []
    for name in STABILITY_SCHEMES:
        max_a, max_ode, var = stability_bounds(name)
        rows.append({"scheme": name, "characteristic_polynomial": str(characteristic_polynomial(name).as_expr()),
                     "max_alpha_h": str(max_a), "ode_variable": var, "max_ode_variable": str(max_ode),
                     "map": "GD step γ" if name == "gd" else MOMENTUM_SCHEMES[name][1]})
    return rows


# -- numeric spectral radii (for the tests and the claims) ------------------------------
def companion_spectral_radius(name, a_vals, b_vals):
    """Largest root modulus of the characteristic polynomial (numpy), broadcast over arrays."""
    poly = characteristic_polynomial(name)
    coeffs = [sp.lambdify((a, beta), c, "numpy") for c in poly.all_coeffs()]
    A, B = np.broadcast_arrays(np.asarray(a_vals, float), np.asarray(b_vals, float))
    cs = [np.broadcast_to(np.asarray(f(A, B), float), A.shape) for f in coeffs]
    if len(cs) == 2:
        return np.abs(-cs[1] / cs[0])
    c2, c1, c0 = cs
    disc = np.sqrt((c1 * c1 - 4 * c2 * c0).astype(complex))
    return np.maximum(np.abs((-c1 + disc) / (2 * c2)), np.abs((-c1 - disc) / (2 * c2)))


def spectral_radius_grid(name, a_grid, b_grid):
    """Spectral radius on the grid a_grid × b_grid (shape (len(b_grid), len(a_grid)))."""
    A, B = np.meshgrid(a_grid, b_grid)
    return companion_spectral_radius(name, A, B)


# -- Polyak (1964) ------------------------------------------------------------------------
mu_s, L_s, kappa = sp.symbols("μ L κ", positive=True)


@functools.lru_cache(maxsize=None)
def polyak_gd():
    """Optimal GD step on a spectrum [μ, L] and its rate: ρ(α) = max(|1−αμ|, |1−αL|) is
    minimal where the decreasing and increasing branches meet, 1−αμ = −(1−αL)."""
    al = sp.Symbol("α", positive=True)
    sol = sp.solve(sp.Eq(1 - al * mu_s, -(1 - al * L_s)), al)
    if len(sol) != 1:
        raise NotProved(f"GD optimal step: {sol}")
    a_opt = sp.simplify(sol[0])
    rate = sp.simplify(1 - a_opt * mu_s)
    rate_k = sp.simplify(rate.subs(L_s, kappa * mu_s))
    return a_opt, rate, rate_k


@functools.lru_cache(maxsize=None)
def polyak_heavy_ball():
    """Optimal heavy-ball (α, β) on a spectrum [μ, L]: for z² − (1+β−αh)z + β the roots
    are complex with modulus √β iff |1+β−αh| ≤ 2√β, linear in h, so on all of [μ, L] iff
    at both ends; the smallest √β puts both ends on the boundary:
    1+β−αμ = 2√β and 1+β−αL = −2√β.  Returns (alpha, beta, rate, rate in κ)."""
    al = sp.Symbol("α", positive=True)
    s = sp.Symbol("s", positive=True)  # √β
    sol = sp.solve([sp.Eq(1 + s ** 2 - al * mu_s, 2 * s), sp.Eq(1 + s ** 2 - al * L_s, -2 * s)],
                   [al, s], dict=True)
    sol = [x for x in sol if x[s].subs({mu_s: 1, L_s: 4}) < 1 and x[s].subs({mu_s: 1, L_s: 4}) > 0]
    if len(sol) != 1:
        raise NotProved(f"heavy-ball optimal parameters: {sol}")
    a_opt = sp.simplify(sol[0][al])
    s_opt = sp.simplify(sol[0][s])
    b_opt = sp.factor(sp.simplify(s_opt ** 2))
    rate_k = sp.simplify(s_opt.subs(L_s, kappa * mu_s))
    return a_opt, b_opt, s_opt, rate_k


@derivation("stability", "linear stability regions on L = hθ²/2 (Schur–Cohn/Jury), in (αh, β) and (hγ², λγ)")
def _stability():
    rows = stability_table()
    res = {}
    for r in rows:
        res[f"{r['scheme']}: max αh"] = sp.sympify(r["max_alpha_h"])
        res[f"{r['scheme']}: max {r['ode_variable']}"] = sp.sympify(r["max_ode_variable"])
    d = Derivation(
        "stability", "linear stability regions on L = hθ²/2 (Schur–Cohn/Jury), in (αh, β) and (hγ², λγ)",
        results=res,
        steps=["characteristic polynomial from the recurrence with θ_n = zⁿ, a = αh",
               "Jury: p(1) > 0, p(−1) > 0, c₂ ± c₀ > 0, each linear in a; solved for β = 1/(1+u), u > 0",
               "ODE variables through eq 15 (heavy ball) or eq 18 (Nesterov family, implicit 19)"],
        data={"json": rows})
    return d


@derivation("polyak", "Polyak (1964): optimal GD step and heavy-ball (α, β) on a spectrum [μ, L], with rates")
def _polyak():
    a_gd, r_gd, rk_gd = polyak_gd()
    a_hb, b_hb, r_hb, rk_hb = polyak_heavy_ball()
    return Derivation(
        "polyak", "Polyak (1964): optimal GD step and heavy-ball (α, β) on a spectrum [μ, L], with rates",
        results={"gd_alpha": a_gd, "gd_rate": r_gd, "gd_rate_kappa": rk_gd,
                 "hb_alpha": a_hb, "hb_beta": b_hb, "hb_rate": r_hb, "hb_rate_kappa": rk_hb},
        steps=["GD: min over α of max(|1−αμ|, |1−αL|) where 1−αμ = −(1−αL)",
               "HB: roots of z² − (1+β−αh)z + β have modulus √β iff |1+β−αh| ≤ 2√β; put μ and L on the boundary",
               "κ = L/μ"])
