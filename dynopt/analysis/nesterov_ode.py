"""Nesterov's ODE X'' + (r/t)X' + ∇f(X) = 0 (Su, Boyd & Candès 2016): its Bessel closed form on
quadratics, a reference solution from the singular start t = 0, and decay exponents.
"""
from __future__ import annotations


import numpy as np
from scipy import special, stats
from scipy.integrate import solve_ivp
from dynopt.dynamics import NesterovODE
from dynopt.checks import check_finite_param
from dynopt.problems import Problem

__all__ = ["nesterov_ode_bessel", "nesterov_ode_reference", "decay_exponent"]


# ---------------------------------------------------------------------------------------
# Su–Boyd–Candès: Nesterov's ODE X'' + (r/t)X' + ∇f(X) = 0
# ---------------------------------------------------------------------------------------
def _bessel_profile(z, r):
    """Γ(ν+1)(2/z)^ν J_ν(z), ν = (r−1)/2, with its limit 1 at z = 0."""
    nu = (r - 1) / 2
    z = np.asarray(z, float)
    out = np.ones_like(z)
    nz = z > 0
    out[nz] = special.gamma(nu + 1) * (2 / z[nz]) ** nu * special.jv(nu, z[nz])
    return out


def nesterov_ode_bessel(H, x0, t, r: float = 3.0, center=None):
    """Exact solution of X'' + (r/t)X' + H(X − c) = 0, X(0) = x0, X'(0) = 0.

    In each eigendirection of H (eigenvalue h), X − c = (x0 − c)·Γ(ν+1)(2/(√h t))^ν
    J_ν(√h t), ν = (r−1)/2 (substitute X = t^{−ν}u: u solves Bessel's equation of order
    ν; regularity at t = 0 selects J_ν).  For r = 3: 2 J₁(√h t)/(√h t) (Su, Boyd & Candès
    2016, §3.1).

    Parameters
    ----------
    H : array_like, shape (d, d), symmetric positive definite (or a scalar h > 0)
    x0 : array_like, shape (d,)
    t : array_like, shape (m,), t ≥ 0
    r : float ≥ 0

    Returns
    -------
    ndarray, shape (m, d)
    """
    r = check_finite_param(r, "r", low=0.0)
    H = np.atleast_2d(np.asarray(H, float))
    x0 = np.atleast_1d(np.asarray(x0, float))
    if H.shape != (x0.size, x0.size):
        raise ValueError(f"`H` must have shape ({x0.size}, {x0.size}) to match `x0`; got {H.shape}")
    c = np.zeros_like(x0) if center is None else np.asarray(center, float).reshape(x0.shape)
    t = np.atleast_1d(np.asarray(t, float))
    if np.any(t < 0):
        raise ValueError("`t` must be ≥ 0")
    w, Q = np.linalg.eigh(H)
    if w.min() <= 0:
        raise ValueError(f"`H` must be positive definite; smallest eigenvalue {w.min():.3g}")
    a = Q.T @ (x0 - c)
    prof = _bessel_profile(np.sqrt(w)[None, :] * t[:, None], r)
    return c + (prof * a) @ Q.T


def nesterov_ode_reference(problem: Problem, x0, t_eval, r: float = 3.0, start: str = "limit",
                           t_start: float = 1e-3, method: str = "DOP853", rtol: float = 1e-13):
    """Reference solution of Su–Boyd–Candès' ODE with X(0) = x0, X'(0) = 0.

    The friction r/t is singular at t = 0.  Two ways round it:

    * ``start="limit"``: integrate from t = 0 with :class:`~dynopt.dynamics.NesterovODE`,
      whose drift uses the limit V/t → X''(0) = −∇f(x0)/(1+r) at t = 0 (the solution is
      smooth, X = x0 − t²∇f(x0)/(2(1+r)) + O(t⁴)).
    * ``start="series"``: start at ``t_start`` from that series (X error O(t_start⁴),
      V error O(t_start³)) — an independent check of the first.

    Parameters
    ----------
    problem : Problem
    x0 : array_like, shape (d,)
    t_eval : array_like, increasing, ≥ 0 (≥ t_start for the series start)
    method : str
        ``solve_ivp`` method; Radau gets the Hessian-based Jacobian where available.
    rtol : float
        atol = rtol/10.

    Returns
    -------
    ndarray, shape (len(t_eval), 2d): X and X' at ``t_eval``.
    """
    if start not in ("limit", "series"):
        raise ValueError(f"`start` must be one of ['limit', 'series']; got {start!r}")
    model = NesterovODE(problem, r)
    x0 = np.asarray(x0, float).reshape(-1)
    t_eval = np.atleast_1d(np.asarray(t_eval, float))
    g0 = problem.grad(x0)
    if start == "limit":
        t0, y0 = 0.0, np.concatenate([x0, np.zeros_like(x0)])
    else:
        t0 = check_finite_param(t_start, "t_start", low=0.0, low_inclusive=False)
        if t_eval.min() < t0:
            raise ValueError(f"`t_eval` must be ≥ `t_start` = {t0:g} for the series start")
        y0 = np.concatenate([x0 - t0 ** 2 * g0 / (2 * (1 + r)), -t0 * g0 / (1 + r)])
    kw = {}
    if method in ("Radau", "BDF", "LSODA") and problem.hess_fn is not None:
        d = problem.dim

        def jac(t, y):
            J = np.zeros((2 * d, 2 * d))
            J[:d, d:] = np.eye(d)
            J[d:, :d] = -problem.hess_fn(y[None, :d])[0]
            J[d:, d:] = -(r / t) * np.eye(d) if t > 0 else 0.0
            return J
        kw["jac"] = jac
    sol = solve_ivp(model.rhs, (t0, float(t_eval.max())), y0, method=method, t_eval=t_eval,
                    rtol=rtol, atol=rtol / 10, **kw)
    if not sol.success:
        raise RuntimeError(f"solve_ivp({method}) failed on Nesterov's ODE: {sol.message}")
    return sol.y.T


def decay_exponent(t, values, window=(0.1, 1.0)):
    """Fitted exponent p of values ≈ C t^{−p} over t ∈ [window[0]·T, window[1]·T].

    Returns
    -------
    p : float
    stderr : float
    """
    t = np.asarray(t, float)
    v = np.asarray(values, float)
    T = t.max()
    m = (t >= window[0] * T) & (t <= window[1] * T) & (v > 0)
    if m.sum() < 3:
        raise ValueError("fewer than 3 positive values in the fitting window")
    res = stats.linregress(np.log(t[m]), np.log(v[m]))
    return float(-res.slope), float(res.stderr)
