"""Modified equations (backward error analysis) of gradient descent and heavy ball.

* GD θ_{n+1} = θ_n − h∇L(θ_n): find f̃ = f + h f₁ (f = −∇L) whose exact flow over time h
  matches the step to O(h³).  The flow expands as θ + h f̃ + (h²/2)(Df̃)f̃ + O(h³), so the
  h² coefficient fixes f₁ = −½(Df)f = −½∇²L∇L = −∇(|∇L|²/4): GD follows the gradient flow
  of L̃ = L + (h/4)|∇L|² (Barrett & Dherin 2021, "implicit gradient regularization").
* Heavy ball θ_{n+1} − θ_n = β(θ_n − θ_{n−1}) − h∇L(θ_n) with fixed β: a first-order
  modified equation θ' = f₀ + h f₁ matched at orders h and h² gives
  f₀ = −∇L/(1−β), f₁ = −(1+β)/(4(1−β)³)∇|∇L|²: the gradient flow of
  [L + h(1+β)/(4(1−β)²)|∇L|²]/(1−β)  (Kovachki & Stuart 2021; the same form appears in
  Ghosh et al. 2023).

Both steps are the schemes' own definitions: GD is Euler's tableau run through ``rk_step``
(any Runge–Kutta scheme the same way, :func:`rk_modified_field`), heavy ball is the momentum
recurrence with its gradient point (any momentum-form scheme, :func:`momentum_modified_field`);
∇L at a stage or gradient point θ + δ is its Taylor polynomial at θ, exact to the order matched.
"""
from __future__ import annotations

import functools

import sympy as sp

from dynopt.expr import sympy_value

from dynopt.schemes import rk_step
from dynopt.symbolic.core import Derivation, NotProved, beta, derivation, h, is_zero, require_zero
from dynopt.symbolic.recurrences import recurrence_defect, rk_tableau, scheme_coefficients

__all__ = ["rk_modified_field", "momentum_modified_field", "gd_modified_field", "heavy_ball_modified_field",
           "modified_objective_expr"]

#: |∇L|² in the printed modified objectives
_GRAD2 = sp.Symbol("grad_L_norm2", nonnegative=True)


def _coords(d):
    return sp.symbols(f"θ1:{d + 1}", real=True) if d > 1 else (sp.Symbol("θ", real=True),)


def _lie_flow(field, th, order):
    """Taylor series of the exact flow of θ' = field(θ) for time h, to h^order."""
    out = sp.Matrix(th)
    term = sp.Matrix(field)
    for j in range(1, order + 1):
        out += h ** j / sp.factorial(j) * term
        term = term.jacobian(sp.Matrix(th)) * sp.Matrix(field)
    return out


def _grad_at(L, th, point, order=1):
    """∇L(point) as its Taylor polynomial at θ = ``th`` to degree ``order`` in δ = point − θ
    (δ = O(h) wherever it is used; the placeholders keep δ out of the differentiation)."""
    s = sp.symbols(f"s1:{len(th) + 1}")
    delta = sp.Matrix(point) - sp.Matrix(th)
    out = []
    for x in th:
        term = total = sp.diff(L, x)
        for k in range(1, order + 1):
            term = sum((sj * sp.diff(term, xj) for sj, xj in zip(s, th)), sp.Integer(0))
            total += term / sp.factorial(k)
        out.append(total.subs(dict(zip(s, delta)), simultaneous=True))
    return sp.Matrix(out)


@functools.lru_cache(maxsize=None)
def _rk_modified_field(tableau, d):
    th = _coords(d)
    L = sp.Function("L")(*th)
    grad = sp.Matrix([sp.diff(L, x) for x in th])
    F = sp.Matrix(sp.symbols(f"F1:{d + 1}"))
    # f1 is a field; only its value at θ enters the h² coefficient
    field = -grad + h * F
    flow = _lie_flow(field, th, 2)
    step = rk_step(lambda t, y: -_grad_at(L, th, y), 0, sp.Matrix(th), h, *tableau)
    resid = (flow - step).applyfunc(sp.expand)
    eqs = [sp.expand(r).coeff(h, 2) for r in resid]
    for r in resid:                          # the h¹ coefficient must already vanish
        require_zero(sp.expand(r).coeff(h, 1), "the step matches the flow of −∇L to first order")
    sol = sp.solve(eqs, list(F), dict=True)
    if len(sol) != 1:
        raise NotProved(f"h² matching has no unique solution: {sol}")
    f1 = sp.Matrix([sol[0][v] for v in F])
    return f1, grad


def rk_modified_field(scheme, d: int = 1):
    """Solve for the O(h) correction f₁ of the modified equation θ' = −∇L + h f₁ of a
    Runge–Kutta scheme with step h on gradient flow (general L in d dims).

    Parameters
    ----------
    scheme : str, type or Scheme
        A Runge–Kutta scheme (registry name such as ``"euler"``, class or instance).
    d : int
        Dimension (1 or 2 are quick).

    Returns
    -------
    (f1, grad_L) : sympy.Matrix, sympy.Matrix
        f₁ = 0 for a method of order ≥ 2.
    """
    return _rk_modified_field(rk_tableau(scheme), d)


def gd_modified_field(d: int = 1):
    """:func:`rk_modified_field` of GD (Euler): f₁ and ∇L for a general L in d dims."""
    return rk_modified_field("euler", d)


def modified_objective_expr(expr, symbols, step):
    """L̃ = L + (step/4)|∇L|² for a sympy objective (used to build a dynopt Problem)."""
    g2 = sum(sp.diff(expr, s) ** 2 for s in symbols)
    return sp.expand(expr + sympy_value(step) / 4 * g2)


def momentum_modified_field(scheme):
    """A momentum-form scheme with fixed β and learning rate h (1-D, general L): solve the
    orders h, h² of its recurrence θ(t+h) − θ(t) − β(θ(t) − θ(t−h)) + hL'(x) = 0 for the
    modified equation θ' = f₀ + h f₁ (x its gradient point on the same trajectory).

    Parameters
    ----------
    scheme : str, type or Scheme
        A momentum scheme or symplectic Euler (registry name, class or instance).

    Returns
    -------
    (f0, f1, L, θ) : the fields as expressions in θ and L, and the L and θ they use.
    """
    c = scheme_coefficients(scheme)
    if not is_zero(sum(c.weights) - 1):
        raise NotProved(f"{c.scheme}: the gradient point {c.gradient_point} is not θ + O(h)")
    return _momentum_modified_field(c.weights)


@functools.lru_cache(maxsize=None)
def _momentum_modified_field(weights):
    th = sp.Symbol("θ", real=True)
    L = sp.Function("L")(th)
    F0 = sp.Symbol("F0")
    # θ' = f, θ'' = f' f, θ''' = (f'f)' f, with f = F0 + h F1 — expand the recurrence in h
    # using symbolic values of f and its derivatives at θ, then solve order by order
    f = sp.Function("f")(th)
    d1 = f
    d2 = sp.diff(d1, th) * f
    d3 = sp.diff(d2, th) * f
    ser_p = h * d1 + h ** 2 / 2 * d2 + h ** 3 / 6 * d3          # θ(t+h) − θ(t)
    ser_m = h * d1 - h ** 2 / 2 * d2 + h ** 3 / 6 * d3          # θ(t) − θ(t−h)
    # ∇L(θ + δ) to first order in δ = O(h) suffices: h·δ² is O(h³)
    rec = recurrence_defect(weights, th + ser_p, th, th - ser_m, h, beta,
                            lambda x: _grad_at(L, (th,), [x])[0])
    # order h: (1−β) f + L' = 0 at leading order -> f0
    c1 = sp.expand(rec).coeff(h, 1)
    f0 = sp.solve(sp.Eq(c1.subs(f, F0), 0), F0)
    if len(f0) != 1:
        raise NotProved(f"order-h equation: {f0}")
    f0 = sp.simplify(f0[0])
    # order h²: with f = f0 + h f1, the h² coefficient involves f1 and (f0' f0)
    f1s = sp.Function("g")(th)
    rec_full = rec.subs(f, f0 + h * f1s).doit()
    # rec_full is a polynomial in h: its h² coefficient needs no series expansion
    c2 = sp.expand(rec_full).coeff(h, 2)
    f1 = sp.solve(sp.Eq(c2, 0), f1s)
    if len(f1) != 1:
        raise NotProved(f"order-h² equation: {f1}")
    f1 = sp.simplify(f1[0])
    resid = sp.expand(rec_full.subs(f1s, f1).doit())
    require_zero(sum(resid.coeff(h, k) * h ** k for k in range(3)),
                 "the modified equation satisfies the recurrence to O(h³)")
    return f0, f1, L, th


def heavy_ball_modified_field():
    """:func:`momentum_modified_field` of heavy ball: (f0, f1, L, θ)."""
    return momentum_modified_field("heavy-ball")


@derivation("modified-gd", "Barrett & Dherin (2021): GD with step h follows the gradient flow of L + (h/4)|∇L|²")
def _modified_gd():
    res = {}
    for d in (1, 2):
        f1, grad = gd_modified_field(d)
        reg = sum(g ** 2 for g in grad) / 4
        th = _coords(d)
        require_zero(f1 + sp.Matrix([sp.diff(reg, x) for x in th]),
                     f"f₁ = −∇(|∇L|²/4) (d={d})")
        res[f"f1_{d}d"] = f1
    res["modified_objective"] = sp.Symbol("L") + h / 4 * _GRAD2
    return Derivation(
        "modified-gd", "Barrett & Dherin (2021): GD with step h follows the gradient flow of L + (h/4)|∇L|²",
        results=res,
        steps=["ansatz θ' = −∇L + h f₁; exact flow over h: θ + h f̃ + (h²/2)(Df̃)f̃ + O(h³)",
               "match the GD step θ − h∇L: the h² coefficient gives f₁ (sympy.solve)",
               "proved f₁ = −∇(|∇L|²/4) for a general L in d = 1, 2"])


@derivation("modified-heavy-ball", "Kovachki & Stuart (2021): heavy ball with fixed β follows the gradient flow of [L + h(1+β)/(4(1−β)²)|∇L|²]/(1−β)")
def _modified_hb():
    f0, f1, L, th = heavy_ball_modified_field()
    Lp = sp.diff(L, th)
    require_zero(f0 + Lp / (1 - beta), "f₀ = −L'/(1−β)")
    target = -sp.diff((1 + beta) / (4 * (1 - beta) ** 3) * Lp ** 2, th)
    require_zero(f1 - target, "f₁ = −∂_θ[(1+β)/(4(1−β)³) L'²]")
    return Derivation(
        "modified-heavy-ball", "Kovachki & Stuart (2021): heavy ball with fixed β follows the gradient flow of "
                               "[L + h(1+β)/(4(1−β)²)|∇L|²]/(1−β)",
        results={"f0": f0, "f1": f1,
                 "modified_objective": (sp.Symbol("L") + h * (1 + beta) / (4 * (1 - beta) ** 2) * _GRAD2)
                 / (1 - beta)},
        steps=["ansatz θ' = f₀ + h f₁ in θ(t+h) − θ(t) − β(θ(t) − θ(t−h)) + hL'(θ(t)) = 0",
               "order h: (1−β) f₀ + L' = 0; order h²: (1−β) f₁ + (1+β)/2 · f₀'f₀ = 0 (sympy.solve)",
               "proved f₁ = −∂[(1+β)/(4(1−β)³) L'²] (1-D, general L); the recurrence holds to O(h³)"])
