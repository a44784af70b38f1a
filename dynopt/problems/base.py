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

from dynopt.checks import check_int
from dynopt.expr import parse

__all__ = ["as_points", "ComparisonSetup", "Problem", "from_expr", "from_grad", "lambdify_batched"]


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
class ComparisonSetup:
    """Where ``dynopt compare`` runs a registered problem by default: the start point ``x0``, the
    horizon ``T`` and the coarsest step counts of the ladders (``n0``: scheme name -> N, with a
    ``"default"``).

    The coarsest N is chosen so that the whole ladder N·√2^k, k = 0..5 lies in the asymptotic
    regime and above the reference's accuracy (~1e-12): stiff gradient flow on Rosenbrock needs
    small steps; RK4 reaches rounding quickly.
    """

    x0: tuple
    T: float
    n0: dict


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
    grad_polynomial : tuple of float, optional
        Set when the gradient acts componentwise as one polynomial,
        ∂L/∂x_i = Σ_k c_k x_i^k for every i, with coefficients ``(c_0, c_1, ...)`` in
        increasing powers (the double well: ``(0, -1, 0, 1)``).  Models and schemes read
        it to run fused in-place kernels instead of calling ``grad_fn``, so a copy made
        with ``dataclasses.replace(p, grad_fn=...)`` must reset it unless the new gradient
        is the same polynomial.
    comparison : ComparisonSetup, optional
        Set on the registered problems that ``dynopt compare`` runs by default (with their tuned
        start, horizon and ladders); any other problem is compared from a start point the caller
        gives.
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
    grad_polynomial: Optional[tuple] = None
    comparison: Optional[ComparisonSetup] = None

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
def lambdify_batched(exprs, symbols):
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
        expr = parse(expr, symbols, argument="expr")
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
    value = lambdify_batched([expr], symbols)
    grad = lambdify_batched(grad_exprs, symbols)
    hess_flat = lambdify_batched(hess_exprs, symbols)
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
    check_int(dim, "dim")

    def missing_value(p):
        raise ValueError(f"problem {name!r} was built without value=; only its gradient is known")

    return Problem(name=name, dim=int(dim), value_fn=value or missing_value, grad_fn=grad, hess_fn=hess)


# ---------------------------------------------------------------------------------
# Built-ins
# ---------------------------------------------------------------------------------
def _xsyms(d):
    return sp.symbols(f"x1:{d + 1}", real=True)
