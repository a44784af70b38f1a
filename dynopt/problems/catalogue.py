"""The catalogue of named problems: quadratics, the ellipse, Rosenbrock, double wells, Lessard's
counterexample, log-sum-exp and power functions, each with its sympy expression.
"""
from __future__ import annotations

import dataclasses

from dynopt.problems.base import _xsyms, from_expr


import numpy as np
import sympy as sp
from dynopt.checks import check_finite_param, check_int
from dynopt.problems.base import ComparisonSetup, Problem, from_grad

__all__ = ["quadratic", "ellipse", "rosenbrock", "double_well", "tilted_double_well", "PROBLEMS", "get_problem", "lessard_function", "log_sum_exp", "power_function"]


def quadratic(H, center=None, name: str = "quadratic") -> Problem:
    """L(x) = ½ (x − c)ᵀ H (x − c) for a symmetric positive definite H.

    Closed-form numpy; its sympy expression is attached (and tested to agree).

    Parameters
    ----------
    H : array_like, shape (d, d)
        Symmetric positive definite.
    center : array_like, shape (d,), optional
        The minimizer c (default 0).
    """
    try:
        H = np.atleast_2d(np.asarray(H, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"`H` must be a real square matrix (not ragged); got {H!r}") from None
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"`H` must be a square matrix; got shape {H.shape}")
    if not np.all(np.isfinite(H)) or not np.allclose(H, H.T, rtol=0, atol=1e-12 * max(1.0, np.abs(H).max())):
        raise ValueError("`H` must be a finite symmetric matrix")
    eig = np.linalg.eigvalsh(H)
    if eig.min() <= 0:
        raise ValueError(f"`H` must be positive definite; its smallest eigenvalue is {eig.min():.3g}")
    d = H.shape[0]
    c = np.zeros(d) if center is None else np.asarray(center, dtype=float).reshape(d)
    if not np.isfinite(c).all():
        raise ValueError(f"`center` must be finite; got {center!r}")
    syms = _xsyms(d)
    xv = sp.Matrix(syms) - sp.Matrix([sp.nsimplify(ci) for ci in c])
    Hs = sp.Matrix(d, d, lambda i, j: sp.nsimplify(H[i, j]))
    expr = sp.expand((xv.T * Hs * xv)[0, 0] / 2)
    Hc = H.copy()

    def value(p):
        z = p - c
        return 0.5 * np.einsum("ni,ij,nj->n", z, Hc, z)

    def grad(p):
        return (p - c) @ Hc  # H symmetric

    def hess(p):
        return np.broadcast_to(Hc, (p.shape[0], d, d)).copy()

    return Problem(name=name, dim=d, value_fn=value, grad_fn=grad, hess_fn=hess, expr=expr,
                   symbols=syms, minima=c[None, :], hessian_matrix=Hc, center=c,
                   params={"H": Hc.tolist()})


def ellipse() -> Problem:
    """The sources' 2-D example L = 0.1·x1² + 2·x2² (d2l-002, kexue-5655's pictures)."""
    return quadratic(np.diag([0.2, 4.0]), name="ellipse")


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    """Rosenbrock's banana L = (a − x1)² + b (x2 − x1²)², minimum at (a, a²).

    Defined by its sympy expression (lambdified).
    """
    a = check_finite_param(a, "a")
    b = check_finite_param(b, "b", low=0.0, low_inclusive=False)
    x1, x2 = _xsyms(2)
    expr = (sp.nsimplify(a) - x1) ** 2 + sp.nsimplify(b) * (x2 - x1 ** 2) ** 2
    p = from_expr(expr, (x1, x2), name="rosenbrock", minima=[[a, a * a]])
    return Problem(**{**p.__dict__, "params": {"a": a, "b": b}})


def double_well(dim: int = 1) -> Problem:
    """L = Σ_i (x_i⁴/4 − x_i²/2): minima at x_i = ±1 (2^d of them), barrier ¼ per axis.

    Closed-form numpy (hot loop of the SDE engine); the sympy expression is attached,
    and the gradient x³ − x is declared as ``grad_polynomial`` for the fused kernels.
    """
    check_int(dim, "dim")
    syms = _xsyms(dim)
    expr = sum(s ** 4 / 4 - s ** 2 / 2 for s in syms)

    def value(p):
        q = p * p
        return np.sum(0.25 * q * q - 0.5 * q, axis=1)

    def grad(p):
        return p * p * p - p

    def hess(p):
        n = p.shape[0]
        out = np.zeros((n, dim, dim))
        idx = np.arange(dim)
        out[:, idx, idx] = 3 * p * p - 1
        return out

    minima = np.ones((1, dim))
    return Problem(name="double_well" if dim == 1 else f"double_well{dim}d", dim=int(dim),
                   value_fn=value, grad_fn=grad, hess_fn=hess, expr=expr, symbols=syms,
                   minima=minima, params={"dim": int(dim)}, grad_polynomial=(0.0, -1.0, 0.0, 1.0))


def tilted_double_well(tilt: float = 0.3, dim: int = 1) -> Problem:
    """L = x1⁴/4 − x1²/2 + tilt·x1 + Σ_{i>1} x_i²/2.

    For 0 < tilt < 2/(3√3) ≈ 0.385 there is a deep minimum at x1 < 0, a shallow one at
    x1 > 0 and a barrier (local maximum) between them.  Minima sorted deepest first.
    """
    crit = 2 / (3 * np.sqrt(3))
    tilt = check_finite_param(tilt, "tilt", low=0.0, low_inclusive=False, high=crit, high_inclusive=False)
    check_int(dim, "dim")
    if not 0 < tilt < crit:
        raise ValueError(f"`tilt` must be in (0, {crit:.4f}) for two minima; got {tilt}")
    syms = _xsyms(dim)
    t = sp.nsimplify(tilt)
    expr = syms[0] ** 4 / 4 - syms[0] ** 2 / 2 + t * syms[0] + sum(s ** 2 / 2 for s in syms[1:])
    roots = np.sort(np.roots([1.0, 0.0, -1.0, tilt]).real)  # x³ − x + tilt = 0
    minima = np.zeros((2, dim))
    minima[:, 0] = [roots[0], roots[2]]  # deep (left) first, then shallow (right)
    p = from_expr(expr, syms, name="tilted_double_well", minima=minima)
    return Problem(**{**p.__dict__, "params": {"tilt": tilt, "dim": dim, "barrier": float(roots[1])}})


def _compared(problem: Problem, x0, T, n0) -> Problem:
    """``problem`` declaring its default comparison (see :class:`ComparisonSetup`)."""
    return dataclasses.replace(problem, comparison=ComparisonSetup(tuple(x0), float(T), dict(n0)))


PROBLEMS = {
    "quadratic": lambda: _compared(quadratic(np.array([[2.0, 0.5], [0.5, 1.0]])), (1.0, -1.0), 1.0,
                                   {"default": 32, "euler": 64, "rk4": 16}),
    "ellipse": ellipse,
    "rosenbrock": lambda: _compared(rosenbrock(), (0.0, 0.0), 0.5,
                                    {"default": 128, "euler": 256, "heun": 1024, "rk4": 384}),
    "double_well": lambda: _compared(double_well(), (2.0,), 1.0, {"default": 32, "euler": 64, "rk4": 64}),
    "double_well2d": lambda: double_well(2),
    "tilted_double_well": tilted_double_well,
}


def get_problem(name: str) -> Problem:
    """Return the built-in problem ``name`` (see ``PROBLEMS``).

    Raises
    ------
    ValueError
        ``problem`` must be one of the registered names; the message lists them.
    """
    if isinstance(name, Problem):
        return name
    try:
        factory = PROBLEMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"`problem` must be one of {sorted(PROBLEMS)}; got {name!r}") from None
    return factory()


def lessard_function(L: float = 25.0, mu: float = 1.0) -> Problem:
    """Lessard, Recht & Packard's 1-D counterexample (SIAM J. Optim. 26 (2016), §4.6):
    a μ-strongly convex, L-smooth f whose gradient is piecewise linear,

        ∇f(x) = L x (x < 1),  μ x + (L − μ) (1 ≤ x < 2),  L x − (L − μ) (x ≥ 2),

    with the constants of f fixed by continuity (f(0) = 0 = f*, x* = 0); for L = 25,
    μ = 1: f = 25x²/2, x²/2 + 24x − 12, 25x²/2 − 24x + 36.  The paper's case is L = 25, μ = 1, on
    which heavy ball with Polyak's quadratic tuning need not converge.

    Closed-form numpy; its sympy Piecewise expression is attached.  The Hessian is the
    piecewise constant L or μ (one-sided at the kinks x = 1, 2).
    """
    L = check_finite_param(L, "L")
    mu = check_finite_param(mu, "mu")
    if not (np.isfinite(L) and np.isfinite(mu)) or mu <= 0 or L <= mu:
        raise ValueError(f"`L` and `mu` must satisfy 0 < mu < L; got L={L!r}, mu={mu!r}")
    D = L - mu
    # constants from continuity of f at x = 1 and x = 2
    c1 = L / 2 - (mu / 2 + D)          # f = mu x²/2 + D x + c1 on [1, 2)
    c2 = (2 * mu + 2 * D + c1) - (2 * L - 2 * D)  # f = L x²/2 − D x + c2 on [2, ∞)

    def value(p):
        x = p[:, 0]
        return np.where(x < 1, L * x * x / 2,
                        np.where(x < 2, mu * x * x / 2 + D * x + c1, L * x * x / 2 - D * x + c2))

    def grad(p):
        return np.where(p < 1, L * p, np.where(p < 2, mu * p + D, L * p - D))

    def hess(p):
        return np.where(p < 1, L, np.where(p < 2, mu, L))[:, :, None]

    (x,) = _xsyms(1)
    Ls, ms = sp.nsimplify(L), sp.nsimplify(mu)
    Ds = Ls - ms
    c1s = Ls / 2 - (ms / 2 + Ds)
    c2s = (2 * ms + 2 * Ds + c1s) - (2 * Ls - 2 * Ds)
    expr = sp.Piecewise((Ls * x**2 / 2, x < 1), (ms * x**2 / 2 + Ds * x + c1s, x < 2),
                        (Ls * x**2 / 2 - Ds * x + c2s, True))
    return Problem(name="lessard", dim=1, value_fn=value, grad_fn=grad, hess_fn=hess, expr=expr,
                   symbols=(x,), minima=np.zeros((1, 1)), params={"L": L, "mu": mu})



PROBLEMS["lessard"] = lessard_function

def log_sum_exp(A, b=None, name: str = "log_sum_exp") -> Problem:
    """f(x) = log Σ_i exp(a_iᵀx + b_i), a smooth convex function (L ≤ max‖a_i‖²), not
    strongly convex in general.  Closed-form numpy (softmax gradient and Hessian
    Aᵀ(diag p − ppᵀ)A); its sympy expression is attached.

    Parameters
    ----------
    A : array_like, shape (m, d)
    b : array_like, shape (m,), optional (default 0)
    """
    A = np.atleast_2d(np.asarray(A, dtype=float))
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise ValueError(f"`A` must be a finite (m, d) matrix; got shape {A.shape}")
    m, d = A.shape
    b = np.zeros(m) if b is None else np.asarray(b, dtype=float).reshape(m)
    if not np.isfinite(b).all():
        raise ValueError(f"`b` must be finite; got {b!r}")

    def _p(x):
        z = x @ A.T + b
        zmax = z.max(axis=1, keepdims=True)
        e = np.exp(z - zmax)
        s = e.sum(axis=1, keepdims=True)
        return z, zmax, e / s, s

    def value(x):
        z, zmax, p, s = _p(x)
        return (zmax + np.log(s))[:, 0]

    def grad(x):
        return _p(x)[2] @ A

    def hess(x):
        p = _p(x)[2]
        Ap = p @ A
        return np.einsum("ni,ij,ik->njk", p, A, A) - Ap[:, :, None] * Ap[:, None, :]

    syms = _xsyms(d)
    expr = sp.log(sum(sp.exp(sum(sp.nsimplify(A[i, j]) * syms[j] for j in range(d)) + sp.nsimplify(b[i]))
                      for i in range(m)))
    return Problem(name=name, dim=d, value_fn=value, grad_fn=grad, hess_fn=hess, expr=expr, symbols=syms,
                   params={"A": A.tolist(), "b": b.tolist()})


def power_function(p: float, dim: int = 1) -> Problem:
    """f(x) = Σ|x_i|^p (convex for p ≥ 1; ∇f continuous for p > 1, Lipschitz only for p ≥ 2).

    Its oscillations under X'' + (r/t)X' + ∇f = 0 decay in energy like t^{−2pr/(p+2)}
    (virial average: ⟨X'²⟩ = (2p/(p+2))E, dE/dt = −(r/t)X'²), which is slower than t^{−2}
    when p(r − 1) < 2: the family behind r = 3 being the smallest friction constant.
    """
    p = check_finite_param(p, "p", low=1.0, low_inclusive=False)

    def value(x):
        return np.sum(np.abs(x) ** p, axis=1)

    def grad(x):
        return p * np.abs(x) ** (p - 1) * np.sign(x)

    return from_grad(grad, dim, value=value, name=f"|x|^{p:g}")
