"""Stationary Fokker–Planck densities of the Langevin and Kramers equations (Itô).

* Overdamped Langevin dθ = −∇L dt + σ dW (kexue-5655 eq 8 read as an Itô SDE with white
  noise of intensity σ): the zero-current stationary density solves
  −∇L p − (σ²/2)∇p = 0, i.e. p ∝ exp(−2L/σ²).  The source's eq (9) exp(−L/σ²) has the
  temperature σ² instead of σ²/2.
* Kramers dθ = η dt, dη = (−λη − ∇L) dt + σ dW: every f(H), H = |η|²/2 + L, is
  annihilated by the Hamiltonian (Liouville) part; zero η-current then forces
  f' = −(2λ/σ²) f, so p ∝ exp(−2λH/σ²) for λ > 0, whose θ-marginal is exp(−2λL/σ²).
  At λ = 0 the zero-current condition leaves only constants (not normalizable), and
  Itô's formula gives d E[H]/dt = −λE|η|² + dσ²/2 = dσ²/2: the energy grows linearly,
  there is no stationary density — the source's eq (22) is not one.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from dynopt.symbolic.core import Derivation, NotProved, derivation, is_zero, lam, require_zero, sigma

__all__ = ["check_normalisable", "langevin_fp_operator", "kramers_fp_operator", "langevin_stationary", "kramers_stationary",
           "kramers_zero_current_at_lambda0",
           "energy_drift", "kramers_theta_marginal", "ou_stationary_covariance",
           "kramers_moment_energy"]

_E = sp.Symbol("E", real=True)


def _coords(d):
    if d == 1:
        return (sp.Symbol("θ", real=True),), (sp.Symbol("η", real=True),)
    return (sp.symbols(f"θ1:{d + 1}", real=True), sp.symbols(f"η1:{d + 1}", real=True))


def _potential(th):
    return sp.Function("L")(*th)


def langevin_fp_operator(p, L, th):
    """Stationary Fokker–Planck operator of dθ = −∇L dt + σ dW applied to ``p``:
    Σ_i ∂_i(∂_iL p) + (σ²/2) Δp (its zero set contains the stationary densities)."""
    return sum(sp.diff(sp.diff(L, x) * p, x) + sigma ** 2 / 2 * sp.diff(p, x, 2) for x in th)


def kramers_fp_operator(p, L, th, et, friction=lam):
    """Stationary Fokker–Planck operator of dθ = η dt, dη = (−λη − ∇L) dt + σ dW on ``p``."""
    out = 0
    for x, v in zip(th, et):
        out += -v * sp.diff(p, x) + sp.diff((friction * v + sp.diff(L, x)) * p, v) \
            + sigma ** 2 / 2 * sp.diff(p, v, 2)
    return out


@functools.lru_cache(maxsize=None)
def langevin_stationary(d: int = 1):
    """Solve the zero-current equations −∂_iL p − (σ²/2)∂_i p = 0, i = 1..d.

    Returns
    -------
    sympy.Expr
        The density up to normalization (the constant set to 1).
    """
    th, _ = _coords(d)
    L = _potential(th)
    x0 = th[0]
    pf = sp.Function("p")
    # first component as an ODE in θ1 (the other coordinates are parameters)
    ode = sp.Eq(-sp.diff(L, x0) * pf(x0) - sigma ** 2 / 2 * sp.diff(pf(x0), x0), 0)
    sol = sp.dsolve(ode, pf(x0)).rhs
    consts = sorted(sol.free_symbols - set(th) - {sigma}, key=str)
    if len(consts) != 1:
        raise NotProved(f"zero current in θ1 should leave one integration constant; got {sol}")
    C = consts[0]
    if d == 1:
        p = sol.subs(C, 1)
    else:
        F = sp.Function("F")(*th[1:])
        p = sol.subs(C, F)
        for x in th[1:]:
            cur = sp.simplify((-sp.diff(L, x) * p - sigma ** 2 / 2 * sp.diff(p, x)) / sp.exp(-2 * L / sigma ** 2))
            # the remaining components force the "constant" F to be constant
            if not is_zero(cur + sigma ** 2 / 2 * sp.diff(F, x)):
                raise NotProved(f"zero current in {x} should reduce to F' = 0; got {cur}")
        p = p.subs(F, 1)
    require_zero(langevin_fp_operator(p, L, th), f"exp(−2L/σ²) is stationary (d={d})")
    return sp.simplify(p)


@functools.lru_cache(maxsize=None)
def kramers_stationary(d: int = 1):
    """Stationary density of the Kramers equation for λ > 0 (up to normalization).

    Ansatz p = f(H): the Liouville part vanishes for every f (proved), and zero η-current
    λη f + (σ²/2) ∂_η f = 0 becomes an ODE for f(E), solved with ``sympy.dsolve``.
    """
    th, et = _coords(d)
    L = _potential(th)
    H = sum(v ** 2 for v in et) / 2 + L
    f = sp.Function("f")
    pH = f(H)
    liouville = sum(-v * sp.diff(pH, x) + sp.diff(L, x) * sp.diff(pH, v) for x, v in zip(th, et))
    require_zero(liouville, "the Hamiltonian part annihilates every f(H)")
    ode = _zero_eta_current_ode(lam)
    sol = sp.dsolve(ode, f(_E)).rhs
    consts = sorted(sol.free_symbols - {_E, sigma, lam}, key=str)
    if len(consts) != 1:
        raise NotProved(f"zero η-current should leave one constant; got {sol}")
    p = sol.subs(consts[0], 1).subs(_E, H)
    require_zero(kramers_fp_operator(p, L, th, et), f"exp(−2λH/σ²) is stationary (d={d})")
    return sp.simplify(p)


def _zero_eta_current_ode(friction):
    """Zero η-current λη f(H) + (σ²/2)∂_η f(H) = 0, divided by η, as an ODE for f(E)."""
    th, et = _coords(1)
    H = et[0] ** 2 / 2 + _potential(th)
    f = sp.Function("f")
    cur = (friction * et[0] * f(H) + sigma ** 2 / 2 * sp.diff(f(H), et[0])) / et[0]
    # f'(H) appears as Subs(Derivative(f(ξ), ξ), ξ, H): rename H -> E, then evaluate
    cur = sp.simplify(cur).subs(H, _E).replace(lambda e: isinstance(e, sp.Subs), lambda e: e.doit())
    if cur.has(et[0]) or cur.has(th[0]):
        raise NotProved(f"zero η-current is not an ODE in the energy alone: {cur}")
    return sp.Eq(cur, 0)


def kramers_zero_current_at_lambda0():
    """At λ = 0 zero η-current leaves f' = 0: only constant f(H), not normalizable."""
    f = sp.Function("f")
    return sp.dsolve(_zero_eta_current_ode(0), f(_E)).rhs


@functools.lru_cache(maxsize=None)
def kramers_theta_marginal():
    """∫ exp(−2λH/σ²) dη over ℝ (d = 1): returns the θ-marginal up to normalization."""
    th, et = _coords(1)
    p = kramers_stationary(1)
    m = sp.integrate(p, (et[0], -sp.oo, sp.oo))
    m = sp.simplify(m)
    if m.has(sp.Integral):
        raise NotProved(f"η-integral of the Kramers density not evaluated: {m}")
    return m


@functools.lru_cache(maxsize=None)
def energy_drift(d: int = 1):
    """Itô generator of the Kramers SDE applied to H = |η|²/2 + L: d E[H]/dt = E[this]."""
    th, et = _coords(d)
    L = _potential(th)
    H = sum(v ** 2 for v in et) / 2 + L
    gen = 0
    for x, v in zip(th, et):
        gen += v * sp.diff(H, x) + (-lam * v - sp.diff(L, x)) * sp.diff(H, v) + sigma ** 2 / 2 * sp.diff(H, v, 2)
    return sp.simplify(gen)


def ou_stationary_covariance(H, sig):
    """Stationary covariance of dθ = −Hθ dt + σ dW by scipy's Lyapunov solver (numeric)."""
    from scipy.linalg import solve_continuous_lyapunov

    H = np.atleast_2d(np.asarray(H, float))
    return solve_continuous_lyapunov(-H, -sig ** 2 * np.eye(H.shape[0]))


def kramers_moment_energy(hcurv, friction, sig, times):
    """E[H](t) of the Kramers SDE on L = hθ²/2 from the exact second-moment ODE
    dΣ/dt = AΣ + ΣAᵀ + BBᵀ (solved by ``scipy.linalg.expm`` of its vectorized form),
    started at θ = 1, η = 0.  Returns the array of E[H] at ``times``."""
    from scipy.linalg import expm

    A = np.array([[0.0, 1.0], [-hcurv, -friction]])
    Q = np.array([[0.0, 0.0], [0.0, sig ** 2]])
    eye = np.eye(2)
    K = np.kron(A, eye) + np.kron(eye, A)  # vec(AΣ + ΣAᵀ) for row-major vec
    big = np.zeros((5, 5))
    big[:4, :4] = K
    big[:4, 4] = Q.ravel()
    out = []
    for tt in times:
        y = expm(big * tt) @ np.array([1.0, 0.0, 0.0, 0.0, 1.0])
        S = y[:4].reshape(2, 2)
        out.append(0.5 * (hcurv * S[0, 0] + S[1, 1]))
    return np.array(out)


@derivation("langevin-stationary", "stationary density of dθ = −∇L dt + σ dW (zero current), d = 1, 2")
def _langevin():
    p1 = langevin_stationary(1)
    p2 = langevin_stationary(2)
    th, _ = _coords(1)
    L = _potential(th)
    resid9 = sp.simplify(langevin_fp_operator(sp.exp(-L / sigma ** 2), L, th) / sp.exp(-L / sigma ** 2))
    return Derivation(
        "langevin-stationary", "stationary density of dθ = −∇L dt + σ dW (zero current), d = 1, 2",
        results={"p_1d": p1, "p_2d": p2, "fp_residual_of_eq9_over_p": resid9},
        steps=["zero current −∇L p − (σ²/2)∇p = 0, first component solved by dsolve",
               "d = 2: the second component forces the integration 'constant' F(θ2) to be constant",
               "proved: the Fokker–Planck operator annihilates exp(−2L/σ²) for a general L",
               "eq (9) exp(−L/σ²): residual/p shown (zero only if L'' = L'²/σ² everywhere)"])


@derivation("kramers-stationary", "stationary density of the Kramers equation; λ = 0; Itô energy balance")
def _kramers():
    p1 = kramers_stationary(1)
    p2 = kramers_stationary(2)
    th, et = _coords(1)
    L = _potential(th)
    H = et[0] ** 2 / 2 + L
    p22 = sp.exp(-H / sigma ** 2)
    resid22 = sp.simplify(kramers_fp_operator(p22, L, th, et, friction=0) / p22)
    return Derivation(
        "kramers-stationary", "stationary density of the Kramers equation; λ = 0; Itô energy balance",
        results={"p_1d": p1, "p_2d": p2, "theta_marginal": kramers_theta_marginal(),
                 "dE_H_dt_1d": energy_drift(1), "dE_H_dt_2d": energy_drift(2),
                 "f_at_lambda0": kramers_zero_current_at_lambda0(),
                 "fp_residual_of_eq22_at_lambda0_over_p": resid22},
        steps=["Liouville part −η·∇_θ p + ∇L·∇_η p annihilates every f(H) (proved)",
               "zero η-current λη f + (σ²/2)∂_η f = 0 ⇒ f'(E) = −(2λ/σ²) f(E) (dsolve)",
               "proved: the Kramers operator annihilates exp(−2λH/σ²), d = 1, 2",
               "θ-marginal: ∫ dη gives exp(−2λL/σ²)",
               "Itô: generator on H = −λ|η|² + dσ²/2; at λ = 0 E[H] grows like dσ²t/2"])


def check_normalisable(expr, symbols, *, argument: str = "--expr") -> None:
    """Raise ValueError when exp(−L/kT) is visibly not normalisable on the whole space.

    L must grow to +∞ along both directions of every coordinate axis (the other coordinates
    at 0), as sympy's limits tell; a potential unbounded below (L = −x⁴) or flat along an axis
    (L = y² in (x, y)) has no Gibbs density, so "the density is stationary" would be a
    statement about nothing.  Passing is necessary, not sufficient (L = (x − y)² passes the
    axes yet is flat along x = y).

    Parameters
    ----------
    expr : sympy.Expr
        The potential L.
    symbols : sequence of sympy.Symbol
        Its coordinates.
    argument : str
        The option or argument named in the message.
    """
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"`expr` must be a sympy expression; got {type(expr).__name__}")
    for s in symbols:
        others = {o: 0 for o in symbols if o is not s}
        line = expr.subs(others)
        for end, label in ((sp.oo, "+∞"), (-sp.oo, "−∞")):
            try:
                lim = sp.limit(line, s, end)
            except (NotImplementedError, ValueError, TypeError):  # sympy cannot tell: no verdict
                continue
            if lim != sp.oo:
                raise ValueError(f"`{argument}`: exp(−L/kT) is not normalisable: L → {lim} as {s} → {label} "
                                 f"(other coordinates 0), so L = {expr} has no Gibbs density")
