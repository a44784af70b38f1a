"""Linear stability of the schemes on L = hθ²/2 (h > 0), and Polyak's optimal parameters.

Each scheme's own definition (``recurrences.py``) gives its characteristic polynomial in z
with a = αh: a momentum-form scheme (momentum family, symplectic Euler) through its
two-step recurrence with θ_n = zⁿ; a Runge–Kutta scheme (GD = Euler) through its stability
function R(a) = one step of θ' = −θ with step a, as z − R(a).  The Schur–Cohn/Jury
conditions (degree 1: c₁ ± c₀ > 0; degree 2, c₂ > 0: p(1) > 0, p(−1) > 0, c₂ ± c₀ > 0 — all
roots strictly inside the unit circle) are solved in sympy for the largest stable a at each
β ∈ (0, 1), and again in the ODE variables (hγ², λγ) through the scheme's own (α, β) map,
on the λγ range where β ∈ (0, 1).  Parameter ranges are handled by substituting
β = 1/(1+u) (λγ = X₀/(1+u), X₀ the λγ where β = 0) with u > 0, so every sign sympy needs
is decided, never assumed; an undecided sign raises NotProved.

The table (``dynopt derive stability``) is built from the registry: GD (Euler on gradient
flow) and one row per distinct iteration of the registered momentum schemes; the other
registered schemes with a symbolic definition (symplectic Euler, higher Runge–Kutta) are
listed beside it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynopt.schemes import METHODS, rk_step
from dynopt.symbolic.core import Derivation, NotProved, a, beta, derivation, gamma, h, lam, require_zero, z
from dynopt.symbolic.recurrences import (GD_NAME, GD_SCHEME, recurrence_defect, registered_schemes,
                                         resolve_scheme, rk_tableau, scheme_coefficients, scheme_kind)

__all__ = ["SchemeStability", "scheme_stability", "characteristic_polynomial", "jury_conditions",
           "stable_upper_bound", "stability_bounds", "stability_schemes", "stability_table",
           "other_stability_table", "companion_spectral_radius", "spectral_radius_grid",
           "polyak_gd", "polyak_heavy_ball", "H_ODE", "X_ODE"]

#: ODE variables: H = hγ² (hγ for Runge–Kutta / GD), X = λγ
H_ODE = sp.Symbol("hγ2", positive=True)
X_ODE = sp.Symbol("λγ", positive=True)
_u = sp.Symbol("u", positive=True)


def __getattr__(name):
    # the table's scheme names are read from the registry when asked for, never stored
    if name == "STABILITY_SCHEMES":
        return stability_schemes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class SchemeStability:
    """Linear stability of one scheme on L = hθ²/2.

    Attributes
    ----------
    scheme : str
        Label (registry name, ``"gd"`` for Euler on gradient flow, or the class's name).
    characteristic_polynomial : sympy.Poly
        In z, with coefficients in a = αh and β (a = hγ for a Runge–Kutta scheme).
    max_alpha_h : sympy.Expr
        Largest stable αh as a function of β ∈ (0, 1) (``sympy.oo``: every αh > 0 is stable).
    ode_variable : str
        ``"h*γ**2"`` (momentum form) or ``"h*γ"`` (Runge–Kutta).
    max_ode_variable : sympy.Expr
        Largest stable ODE variable, a function of λγ = :data:`X_ODE` (momentum form).
    map : str
        Where αh and β come from: the (α, β) map, or ``"GD step γ"`` / ``"step γ"``.
    """

    scheme: str
    characteristic_polynomial: sp.Poly
    max_alpha_h: sp.Expr
    ode_variable: str
    max_ode_variable: sp.Expr
    map: str

    def as_row(self) -> dict:
        """The table row: every expression as a string ``sympy.sympify`` parses."""
        return {"scheme": self.scheme, "characteristic_polynomial": str(self.characteristic_polynomial.as_expr()),
                "max_alpha_h": str(self.max_alpha_h), "ode_variable": self.ode_variable,
                "max_ode_variable": str(self.max_ode_variable), "map": self.map}


def _momentum_polynomial(weights):
    # θ_{n+1}, θ_n, θ_{n−1} divided by z^{n−1}; ∇L(x) = hx and αh = a
    return sp.Poly(sp.expand(recurrence_defect(weights, z ** 2, z, sp.Integer(1), a, beta, lambda x: x)), z)


def _stability_function(tableau):
    """R(a): one step of θ' = −θ with step a from θ = 1 (the scheme's own stage loop)."""
    return sp.expand(rk_step(lambda t, y: -y, 0, sp.Integer(1), a, *tableau))


def characteristic_polynomial(scheme):
    """Characteristic polynomial in z of the scheme on L = hθ²/2, in a = αh and β.

    Parameters
    ----------
    scheme : str, type or Scheme
        Registry name (``"gd"`` = Euler), scheme class (registered or not) or instance.

    Returns
    -------
    sympy.Poly
        Momentum form: θ_n = zⁿ in its recurrence; Runge–Kutta: z − R(a).
    """
    inst, _ = resolve_scheme(scheme)
    if scheme_kind(inst) == "runge-kutta":
        return sp.Poly(z - _stability_function(rk_tableau(inst)), z)
    return _momentum_polynomial(scheme_coefficients(inst).weights)


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


def _root_bound(num, var):
    """Smallest positive root of a polynomial condition num(var) > 0 in ``var`` alone (the
    condition holds on (0, root)), or None when it holds for every var > 0."""
    coeffs = [c for _, c in sorted(num.terms())]        # lowest degree first: sign at var → 0⁺
    if not coeffs or coeffs[0] < 0:
        raise NotProved(f"condition {num.as_expr()} > 0 fails for small {var} > 0")
    roots = [x for x in num.real_roots() if x.is_positive]
    return min(roots, key=lambda x: float(x)) if roots else None


def stable_upper_bound(conditions, var, param, param_sub):
    """Largest stable ``var`` (> 0) from the Jury conditions, for the parameter range.

    Each condition must be linear in ``var`` (coefficients in ``param``), or a polynomial in
    ``var`` alone (then its smallest positive root bounds the stable interval).

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
            if num.free_symbols - {var}:
                raise NotProved(f"Jury condition {cond} is not linear in {var}")
            root = _root_bound(num, var)
            if root is not None:
                uppers.append(root)
            continue
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


def _lambda_gamma_range(b_x):
    """Substitution λγ = X₀/(1+u), u > 0, for the λγ range (0, X₀) where β ∈ (0, 1): X₀ is
    the positive root of β(λγ) = 0 (λγ = u when β never vanishes)."""
    roots = [x for x in sp.solve(sp.Eq(b_x, 0), X_ODE) if x.is_positive]
    if len(roots) > 1:
        raise NotProved(f"β = {b_x} vanishes at several λγ > 0: {roots}")
    return {X_ODE: roots[0] / (1 + _u)} if roots else {X_ODE: _u}


@functools.lru_cache(maxsize=None)
def _momentum_bounds(weights, al, b, label):
    """(max αh in β, max hγ² in λγ) of a momentum-form scheme (cached on its definition)."""
    poly = _momentum_polynomial(weights)
    conds, lead = jury_conditions(poly)
    on_beta = {beta: 1 / (1 + _u)}
    if _sign(lead, on_beta) <= 0:
        raise NotProved(f"leading coefficient {lead} of {label} is not positive")
    max_a = stable_upper_bound(conds, a, beta, on_beta)
    to_ode = {a: sp.simplify((al * h).subs({h: H_ODE / gamma ** 2}).subs(lam, X_ODE / gamma)),
              beta: sp.simplify(b.subs(lam, X_ODE / gamma))}
    if any(gamma in e.free_symbols for e in to_ode.values()):
        raise NotProved(f"{label}: αh and β are not functions of (hγ², λγ) alone: {to_ode}")
    ode_conds = [sp.simplify(c.subs(to_ode, simultaneous=True)) for c in conds]
    on_x = _lambda_gamma_range(to_ode[beta])
    if _sign(lead.subs(to_ode, simultaneous=True), on_x) <= 0:
        raise NotProved(f"leading coefficient of {label} is not positive in ODE variables")
    max_ode = stable_upper_bound(ode_conds, H_ODE, X_ODE, on_x)
    # consistency of the two bounds through the map
    if max_a is not sp.oo and max_ode is not sp.oo:
        require_zero(max_a.subs(beta, to_ode[beta]) - to_ode[a].subs(H_ODE, max_ode),
                     f"{label}: the (αh, β) and (hγ², λγ) bounds describe the same boundary")
    return max_a, max_ode


@functools.lru_cache(maxsize=None)
def _rk_bound(tableau):
    poly = sp.Poly(z - _stability_function(tableau), z)
    conds, _ = jury_conditions(poly)
    return poly, stable_upper_bound(conds, a, beta, {beta: 1 / (1 + _u)})


def scheme_stability(scheme) -> SchemeStability:
    """Linear stability of a scheme on L = hθ²/2, derived from its own definition.

    Parameters
    ----------
    scheme : str, type or Scheme
        Registry name (``"gd"`` = Euler on gradient flow), class (registered or not) or
        instance.  A momentum scheme, symplectic Euler or an explicit Runge–Kutta scheme is
        read through its recurrence or tableau; any other scheme through its step
        (:func:`dynopt.symbolic.steps.step_stability`, the bound on x = step × curvature).

    Returns
    -------
    SchemeStability
        Characteristic polynomial, the largest stable αh as a function of β, and the same
        bound in ODE variables: hγ² as a function of λγ through the scheme's (α, β) map
        (momentum form), or hγ with step γ = α (Runge–Kutta).

    Raises
    ------
    NotProved
        When a sign the Jury analysis needs cannot be decided on the parameter range.
    """
    inst, label = resolve_scheme(scheme)
    try:
        kind = scheme_kind(inst)
    except TypeError:
        return _stability_from_step(inst, label)
    if kind == "runge-kutta":
        poly, max_a = _rk_bound(rk_tableau(inst))
        gd = label == GD_NAME or type(inst) is METHODS.get(GD_SCHEME)
        return SchemeStability(label, poly, max_a, "h*γ", max_a.subs(a, H_ODE),
                               "GD step γ" if gd else "step γ")
    c = scheme_coefficients(inst)
    max_a, max_ode = _momentum_bounds(c.weights, c.alpha, c.beta, label)
    return SchemeStability(label, _momentum_polynomial(c.weights), max_a, "h*γ**2", max_ode, c.map)


def _stability_from_step(inst, label):
    """Any other deterministic scheme: its step read on L = κθ²/2 (dynopt.symbolic.steps);
    the bound is on the product x = step × curvature (step² × curvature at fixed λ·step for
    heavy-ball schemes)."""
    from dynopt.symbolic.steps import step_stability

    from dynopt.symbolic.standins import friction_step

    st = step_stability(inst)
    var = "h*γ" if st.matrix.flavour == "first" else "h*γ**2"
    # the step γ is the reader's h: its λh is this table's λγ
    bound = st.max_product.subs(friction_step, X_ODE)
    return SchemeStability(label, st.characteristic_polynomial, bound, var, bound, "the scheme's step")


def stability_bounds(name):
    """(max αh in β, max of the ODE variable in λγ, ODE variable name) of ``name`` (a
    registry name, ``"gd"``, or a scheme class or instance); see :func:`scheme_stability`."""
    s = scheme_stability(name)
    return s.max_alpha_h, s.max_ode_variable, s.ode_variable


def stability_schemes() -> tuple:
    """Rows of the stability table, read from the registry: ``"gd"`` (Euler on gradient
    flow), then one per distinct iteration of the registered momentum schemes (schemes that
    differ only in their start share a row, named after the one started from rest, as an
    optimizer is)."""
    rows, start_of = {}, {}
    for name in registered_schemes(("momentum",)):
        c = scheme_coefficients(name)
        key = (c.weights, c.alpha, c.beta)
        start = resolve_scheme(name)[0].start
        if key not in rows or (start == "rest" and start_of[key] != "rest"):
            rows[key], start_of[key] = name, start
    return (GD_NAME, *rows.values())


def stability_table():
    """One dict per row of :func:`stability_schemes` (see :meth:`SchemeStability.as_row`)."""
    return [scheme_stability(name).as_row() for name in stability_schemes()]


def other_stability_table():
    """Rows for the other registered schemes with a symbolic definition (symplectic Euler,
    Runge–Kutta schemes other than GD = Euler)."""
    names = registered_schemes(("symplectic-euler", "runge-kutta"))
    return [scheme_stability(name).as_row() for name in names if name != GD_SCHEME]


# -- numeric spectral radii (for the tests and the claims) ------------------------------
def companion_spectral_radius(name, a_vals, b_vals):
    """Largest root modulus of the characteristic polynomial of ``name`` (a registry name,
    ``"gd"``, or a scheme class or instance) at a = ``a_vals``, β = ``b_vals`` (numpy,
    broadcast)."""
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
    rows = [scheme_stability(name) for name in stability_schemes()]
    res = {}
    for r in rows:
        res[f"{r.scheme}: max αh"] = r.max_alpha_h
        res[f"{r.scheme}: max {r.ode_variable}"] = r.max_ode_variable
    d = Derivation(
        "stability", "linear stability regions on L = hθ²/2 (Schur–Cohn/Jury), in (αh, β) and (hγ², λγ)",
        results=res,
        steps=["characteristic polynomial from the recurrence with θ_n = zⁿ, a = αh",
               "Jury: p(1) > 0, p(−1) > 0, c₂ ± c₀ > 0, each linear in a; solved for β = 1/(1+u), u > 0",
               "ODE variables through eq 15 (heavy ball) or eq 18 (Nesterov family, implicit 19)",
               "schemes read from the registry; other_schemes: the same analysis for symplectic Euler "
               "and Runge–Kutta (stable interval of hγ on the real axis)"],
        data={"json": [r.as_row() for r in rows], "other_schemes": other_stability_table()})
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
