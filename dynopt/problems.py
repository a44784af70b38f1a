"""Objectives L(θ) with value, gradient and Hessian batched over points.

Every built-in objective is defined once.  Either it is a sympy expression that is
lambdified (:func:`from_expr`), or it is closed-form numpy with its sympy expression
attached so that the test-suite can check that the two agree.

Shapes follow one rule: a batch of points has shape ``(n, d)``; ``value`` returns
``(n,)``, ``grad`` returns ``(n, d)`` and ``hess`` returns ``(n, d, d)``.  A single point
of shape ``(d,)`` gives a float, a ``(d,)`` gradient and a ``(d, d)`` Hessian.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import sympy as sp

__all__ = [
    "Problem",
    "from_expr",
    "from_grad",
    "quadratic",
    "ellipse",
    "rosenbrock",
    "double_well",
    "tilted_double_well",
    "PROBLEMS",
    "get_problem",
    "FiniteSum",
    "finite_sum",
    "least_squares",
]


def as_points(x, dim: int, name: str = "x"):
    """Return ``x`` as a float array of shape ``(n, dim)`` and whether it was one point.

    Raises
    ------
    ValueError
        If the trailing dimension is not ``dim`` or the array is not 1-D or 2-D.
    """
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1 and arr.shape[0] == dim:
        return arr[None, :], True
    if arr.ndim == 2 and arr.shape[1] == dim:
        return arr, False
    if dim == 1 and arr.ndim == 0:
        return arr.reshape(1, 1), True
    raise ValueError(
        f"`{name}` must have shape ({dim},) or (n, {dim}); got shape {arr.shape}"
    )


@dataclass(frozen=True)
class Problem:
    """An objective L: R^d -> R with batched value, gradient and Hessian.

    Attributes
    ----------
    name : str
        Short name used in tables, figures and the CLI.
    dim : int
        Dimension d of θ.
    value_fn, grad_fn, hess_fn : callable
        Batched implementations taking ``(n, d)`` arrays.  ``hess_fn`` may be ``None``.
    expr : sympy.Expr or None
        The objective as a sympy expression in ``symbols`` (used by dynopt.symbolic and
        by the tests that check closed-form implementations against it).
    symbols : tuple of sympy.Symbol
    minima : ndarray, shape (k, d), optional
        Known local minimizers, best first.
    hessian_matrix : ndarray, shape (d, d), optional
        The constant Hessian of a quadratic problem (enables exact references).
    """

    name: str
    dim: int
    value_fn: Callable
    grad_fn: Callable
    hess_fn: Optional[Callable] = None
    expr: Optional[sp.Expr] = None
    symbols: tuple = ()
    minima: Optional[np.ndarray] = None
    hessian_matrix: Optional[np.ndarray] = None
    center: Optional[np.ndarray] = None
    params: dict = field(default_factory=dict)

    # -- public API -----------------------------------------------------------------
    def value(self, x):
        """L at ``x`` (shape ``(d,)`` → float, ``(n, d)`` → ``(n,)``)."""
        pts, single = as_points(x, self.dim)
        out = np.asarray(self.value_fn(pts), dtype=float).reshape(pts.shape[0])
        return float(out[0]) if single else out

    def grad(self, x):
        """∇L at ``x`` (shape ``(d,)`` → ``(d,)``, ``(n, d)`` → ``(n, d)``)."""
        pts, single = as_points(x, self.dim)
        out = self.grad_fn(pts)
        return out[0] if single else out

    def hess(self, x):
        """∇²L at ``x`` (shape ``(d,)`` → ``(d, d)``, ``(n, d)`` → ``(n, d, d)``)."""
        if self.hess_fn is None:
            raise ValueError(f"problem {self.name!r} has no Hessian; pass hess= to from_grad")
        pts, single = as_points(x, self.dim)
        out = self.hess_fn(pts)
        return out[0] if single else out

    @property
    def is_quadratic(self) -> bool:
        """True when the Hessian is constant (exact references via expm apply)."""
        return self.hessian_matrix is not None

    def __repr__(self):  # the dataclass repr would print whole lambdified functions
        return f"Problem({self.name!r}, dim={self.dim})"


# ---------------------------------------------------------------------------------
# User-defined objectives
# ---------------------------------------------------------------------------------
def _lambdify_batched(exprs, symbols):
    """Lambdify a list of expressions into one function of an ``(n, d)`` array."""
    fns = [sp.lambdify(symbols, e, modules="numpy") for e in exprs]

    def f(pts):
        cols = [pts[:, i] for i in range(pts.shape[1])]
        # constant entries come back as Python scalars: broadcast them to the batch
        return np.stack([np.broadcast_to(np.asarray(fn(*cols), dtype=float), (pts.shape[0],))
                         for fn in fns], axis=-1)

    return f


def from_expr(expr, symbols=None, name: str = "custom", minima=None) -> Problem:
    """Build a :class:`Problem` from a sympy expression (or a string sympy can parse).

    Parameters
    ----------
    expr : sympy.Expr or str
        The objective, e.g. ``"x**4/4 - x**2/2"``.
    symbols : sequence of sympy.Symbol, optional
        The coordinates in order.  Defaults to the free symbols sorted by name.
    name : str
    minima : array_like, shape (k, d), optional

    Returns
    -------
    Problem
    """
    if isinstance(expr, str):
        expr = sp.sympify(expr)
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"`expr` must be a sympy expression or a string; got {type(expr).__name__}")
    if symbols is None:
        symbols = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    symbols = tuple(symbols)
    if not symbols:
        raise ValueError("`expr` has no free symbols: an objective needs at least one coordinate")
    extra = expr.free_symbols - set(symbols)
    if extra:
        raise ValueError(f"`expr` has symbols {sorted(map(str, extra))} not listed in `symbols`")
    d = len(symbols)
    grad_exprs = [sp.diff(expr, s) for s in symbols]
    hess_exprs = [sp.diff(g, s) for g in grad_exprs for s in symbols]
    value = _lambdify_batched([expr], symbols)
    grad = _lambdify_batched(grad_exprs, symbols)
    hess_flat = _lambdify_batched(hess_exprs, symbols)
    return Problem(
        name=name,
        dim=d,
        value_fn=lambda p: value(p)[:, 0],
        grad_fn=grad,
        hess_fn=lambda p: hess_flat(p).reshape(p.shape[0], d, d),
        expr=expr,
        symbols=symbols,
        minima=None if minima is None else np.atleast_2d(np.asarray(minima, float)),
    )


def from_grad(grad, dim: int, value=None, hess=None, name: str = "custom") -> Problem:
    """Build a :class:`Problem` from user callables batched over ``(n, dim)`` points.

    Parameters
    ----------
    grad : callable
        ``grad(x)`` with ``x`` of shape ``(n, dim)`` returning ``(n, dim)``.
    dim : int
    value, hess : callable, optional
        Batched value ``(n,)`` and Hessian ``(n, dim, dim)``.

    Returns
    -------
    Problem
    """
    if not callable(grad):
        raise TypeError("`grad` must be callable")
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"`dim` must be a positive integer; got {dim!r}")

    def missing_value(p):
        raise ValueError(f"problem {name!r} was built without value=; only its gradient is known")

    return Problem(name=name, dim=int(dim), value_fn=value or missing_value, grad_fn=grad, hess_fn=hess)


# ---------------------------------------------------------------------------------
# Built-ins
# ---------------------------------------------------------------------------------
def _xsyms(d):
    return sp.symbols(f"x1:{d + 1}", real=True)


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
    H = np.atleast_2d(np.asarray(H, dtype=float))
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"`H` must be a square matrix; got shape {H.shape}")
    if not np.all(np.isfinite(H)) or not np.allclose(H, H.T, rtol=0, atol=1e-12 * max(1.0, np.abs(H).max())):
        raise ValueError("`H` must be a finite symmetric matrix")
    eig = np.linalg.eigvalsh(H)
    if eig.min() <= 0:
        raise ValueError(f"`H` must be positive definite; its smallest eigenvalue is {eig.min():.3g}")
    d = H.shape[0]
    c = np.zeros(d) if center is None else np.asarray(center, dtype=float).reshape(d)
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
    if b <= 0:
        raise ValueError(f"`b` must be > 0; got {b}")
    x1, x2 = _xsyms(2)
    expr = (sp.nsimplify(a) - x1) ** 2 + sp.nsimplify(b) * (x2 - x1 ** 2) ** 2
    p = from_expr(expr, (x1, x2), name="rosenbrock", minima=[[a, a * a]])
    return Problem(**{**p.__dict__, "params": {"a": a, "b": b}})


def double_well(dim: int = 1) -> Problem:
    """L = Σ_i (x_i⁴/4 − x_i²/2): minima at x_i = ±1 (2^d of them), barrier ¼ per axis.

    Closed-form numpy (hot loop of the SDE engine); the sympy expression is attached.
    """
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"`dim` must be a positive integer; got {dim!r}")
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
                   minima=minima, params={"dim": int(dim)})


def tilted_double_well(tilt: float = 0.3, dim: int = 1) -> Problem:
    """L = x1⁴/4 − x1²/2 + tilt·x1 + Σ_{i>1} x_i²/2.

    For 0 < tilt < 2/(3√3) ≈ 0.385 there is a deep minimum at x1 < 0, a shallow one at
    x1 > 0 and a barrier (local maximum) between them.  Minima sorted deepest first.
    """
    crit = 2 / (3 * np.sqrt(3))
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


# ---------------------------------------------------------------------------------
# Finite sums L(θ) = (1/N) Σ_i ℓ_i(θ)
# ---------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class FiniteSum(Problem):
    """A finite-sum objective L(θ) = (1/N) Σ_i ℓ_i(θ) with per-example gradients.

    Extra attributes
    ----------------
    n_examples : int
        N.
    example_grad_fn : callable
        ``example_grad_fn(pts, idx)`` with ``pts`` of shape ``(n, d)`` and an index array
        ``idx`` of shape ``(m,)`` returns ``(n, m, d)``: ∇ℓ_i at each point.
    """

    n_examples: int = 0
    example_grad_fn: Optional[Callable] = None

    def example_grads(self, x, idx=None):
        """Per-example gradients ∇ℓ_i(x): ``(d,)`` → ``(m, d)``, ``(n, d)`` → ``(n, m, d)``."""
        pts, single = as_points(x, self.dim)
        idx = np.arange(self.n_examples) if idx is None else np.asarray(idx, dtype=np.intp)
        out = self.example_grad_fn(pts, idx)
        return out[0] if single else out

    def minibatch_grad(self, x, idx):
        """Mean gradient over the examples ``idx`` (the SGD oracle), shape like ``x``."""
        return self.example_grads(x, idx).mean(axis=-2)

    def sample_batch(self, rng, batch_size: int, replace: bool = False):
        """Indices of one minibatch drawn with ``rng`` (a numpy Generator)."""
        if not 1 <= batch_size <= self.n_examples:
            raise ValueError(f"`batch_size` must be in [1, {self.n_examples}]; got {batch_size}")
        return rng.choice(self.n_examples, size=batch_size, replace=replace)

    def gradient_noise_covariance(self, x):
        """Covariance Σ(x) = (1/N) Σ_i (∇ℓ_i − ∇L)(∇ℓ_i − ∇L)ᵀ of one example's gradient.

        A minibatch of size B drawn without replacement has covariance
        Σ(x)/B · (N − B)/(N − 1); with replacement Σ(x)/B.
        """
        g = self.example_grads(x)
        z = g - g.mean(axis=-2, keepdims=True)
        return np.einsum("...mi,...mj->...ij", z, z) / self.n_examples


def finite_sum(example_grad, n_examples: int, dim: int, example_value=None, hess=None,
               name: str = "finite_sum") -> FiniteSum:
    """Build a :class:`FiniteSum` from per-example callables.

    Parameters
    ----------
    example_grad : callable
        ``example_grad(pts, idx) -> (n, m, d)``.
    n_examples, dim : int
    example_value : callable, optional
        ``example_value(pts, idx) -> (n, m)``.
    hess : callable, optional
        Batched Hessian of the mean loss, ``(n, d) -> (n, d, d)``.
    """
    if not isinstance(n_examples, (int, np.integer)) or n_examples < 1:
        raise ValueError(f"`n_examples` must be a positive integer; got {n_examples!r}")
    all_idx = np.arange(n_examples)

    def grad(p):
        return example_grad(p, all_idx).mean(axis=1)

    def value(p):
        if example_value is None:
            raise ValueError(f"problem {name!r} was built without example_value=")
        return example_value(p, all_idx).mean(axis=1)

    return FiniteSum(name=name, dim=int(dim), value_fn=value, grad_fn=grad, hess_fn=hess,
                     n_examples=int(n_examples), example_grad_fn=example_grad)


def least_squares(A, b, name: str = "least_squares") -> FiniteSum:
    """L(θ) = (1/N) Σ_i ½ (a_iᵀθ − b_i)², a finite sum with a constant Hessian AᵀA/N.

    Parameters
    ----------
    A : array_like, shape (N, d)
    b : array_like, shape (N,)
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(f"`A` must be (N, d) and `b` (N,); got {A.shape} and {b.shape}")
    N, d = A.shape
    H = A.T @ A / N
    if np.linalg.eigvalsh(H).min() <= 0:
        raise ValueError("`A` must have full column rank (AᵀA positive definite)")
    center = np.linalg.solve(H, A.T @ b / N)
    f_star = 0.5 * np.mean((A @ center - b) ** 2)

    def example_grad(p, idx):
        r = p @ A[idx].T - b[idx]  # (n, m)
        return r[:, :, None] * A[idx][None, :, :]

    def example_value(p, idx):
        return 0.5 * (p @ A[idx].T - b[idx]) ** 2

    def value(p):
        z = p - center
        return 0.5 * np.einsum("ni,ij,nj->n", z, H, z) + f_star

    def grad(p):
        return (p - center) @ H

    def hess(p):
        return np.broadcast_to(H, (p.shape[0], d, d)).copy()

    syms = _xsyms(d)
    return FiniteSum(name=name, dim=d, value_fn=value, grad_fn=grad, hess_fn=hess,
                     symbols=syms, minima=center[None, :], hessian_matrix=H, center=center,
                     n_examples=N, example_grad_fn=example_grad,
                     params={"N": N, "f_star": float(f_star)})


PROBLEMS = {
    "quadratic": lambda: quadratic(np.array([[2.0, 0.5], [0.5, 1.0]])),
    "ellipse": ellipse,
    "rosenbrock": rosenbrock,
    "double_well": double_well,
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


# --- acceleration (issue 6) ---
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
    L = float(L)
    mu = float(mu)
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
