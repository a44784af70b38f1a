"""Stationary points and minimum-energy paths of a potential given as a sympy expression.

* :func:`stationary_point` — Newton's method on ∇U = 0 from a guess (``scipy.optimize.root``
  with the exact Hessian as Jacobian), classified by the Hessian spectrum
  (``scipy.linalg.eigh``): a minimum (index 0), an index-1 saddle, …;
* :func:`stationary_points` — every stationary point reached from a grid of guesses in a box,
  deduplicated (finds the minima and saddles of a 2-D landscape from its expression alone);
* :func:`minimum_energy_path` — the zero-temperature string method (E, Ren & Vanden-Eijnden
  2007) between two minima: images descend −∇U and are redistributed at equal arc length;
  the highest image is then refined by Newton into the index-1 saddle (the climbing-image
  step, done exactly).

Gradient and Hessian are differentiated symbolically from the problem's expression, so the
stationary points are those of the expression, not of a finite-difference approximation.

References
----------
W. E, W. Ren and E. Vanden-Eijnden, J. Chem. Phys. 126, 164103 (2007) (simplified string
method).  G. Henkelman, B. P. Uberuaga and H. Jónsson, J. Chem. Phys. 113, 9901 (2000)
(climbing image).  K. Müller and L. D. Brown, Theor. Chim. Acta 53, 75 (1979).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np
import sympy as sp
from scipy import interpolate, linalg, optimize

from dynopt.checks import check_int
from dynopt.problems.base import Problem

__all__ = ["Landscape", "StationaryPoint", "stationary_point", "stationary_points", "MinimumEnergyPath",
           "minimum_energy_path"]


class StationaryPoint(NamedTuple):
    """A point with ∇U = 0: ``x`` (d,), ``value`` U(x), ``hessian`` (d, d), its ascending
    ``eigenvalues`` and ``eigenvectors`` (columns), ``index`` (number of negative
    eigenvalues: 0 a minimum, 1 a saddle of a transition), ``grad_norm`` |∇U(x)|."""

    x: np.ndarray
    value: float
    hessian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    index: int
    grad_norm: float

    @property
    def kind(self) -> str:
        """"minimum", "saddle" (index 1), "index-k saddle" or "maximum"."""
        d = self.eigenvalues.size
        if self.index == 0:
            return "minimum"
        if self.index == d:
            return "maximum"
        return "saddle" if self.index == 1 else f"index-{self.index} saddle"

    def as_json(self) -> dict:
        """The point as JSON-able lists and numbers."""
        return {"kind": self.kind, "x": self.x.tolist(), "value": self.value, "index": self.index,
                "hessian_eigenvalues": self.eigenvalues.tolist(), "grad_norm": self.grad_norm}


class Landscape:
    """U, ∇U and ∇²U of a sympy expression, lambdified once.

    Parameters
    ----------
    problem : Problem or sympy expression
        A problem with a sympy ``expr`` and ``symbols``, or an expression (then ``symbols``).
    symbols : sequence of sympy.Symbol, optional
        The variables in order (default: the problem's, or the expression's sorted by name).
    """

    def __init__(self, problem, symbols: Optional[Sequence] = None):
        if isinstance(problem, Problem):
            expr, syms = problem.expr, tuple(symbols or problem.symbols or ())
            if expr is None:
                raise ValueError("`problem` must have a sympy expression (e.g. from_expr or --expr)")
        elif isinstance(problem, sp.Basic):
            expr = problem
            syms = tuple(symbols) if symbols is not None else tuple(sorted(expr.free_symbols, key=str))
        else:
            raise TypeError(f"`problem` must be a Problem or a sympy expression; got {type(problem).__name__}")
        if not syms or expr.free_symbols - set(syms):
            raise ValueError(f"the potential's free symbols {sorted(map(str, expr.free_symbols))} must all be "
                             f"among its variables {[str(s) for s in syms]}")
        grad = [sp.diff(expr, s) for s in syms]
        hess = [[sp.diff(g, s) for s in syms] for g in grad]
        self.expr, self.symbols, self.dim = expr, syms, len(syms)
        # lambdify prints sympy trees (the user's text was parsed safely before) into numpy code
        self._u = sp.lambdify(syms, expr, "numpy")
        self._g = sp.lambdify(syms, grad, "numpy")
        self._h = sp.lambdify(syms, hess, "numpy")

    def value(self, x) -> float:
        """U(x) at one point x (d,)."""
        return float(self._u(*np.asarray(x, float)))

    def grad(self, x) -> np.ndarray:
        """∇U(x) (d,) at one point."""
        return np.asarray(self._g(*np.asarray(x, float)), float)

    def hessian(self, x) -> np.ndarray:
        """∇²U(x) (d, d) at one point."""
        return np.asarray(self._h(*np.asarray(x, float)), float)

    def grads(self, X) -> np.ndarray:
        """∇U at the rows of X (n, d)."""
        X = np.asarray(X, float)
        cols = self._g(*X.T)
        return np.stack([np.broadcast_to(np.asarray(c, float), (X.shape[0],)) for c in cols], axis=1)

    def values(self, X) -> np.ndarray:
        """U at the rows of X (n, d)."""
        X = np.asarray(X, float)
        return np.broadcast_to(np.asarray(self._u(*X.T), float), (X.shape[0],)).copy()

    def classify(self, x) -> StationaryPoint:
        """The :class:`StationaryPoint` record of ``x`` (assumed stationary)."""
        x = np.asarray(x, float)
        H = self.hessian(x)
        w, V = linalg.eigh(0.5 * (H + H.T))
        return StationaryPoint(x, self.value(x), H, w, V, int(np.sum(w < 0)), float(np.linalg.norm(self.grad(x))))


def _landscape(problem, symbols=None) -> Landscape:
    return problem if isinstance(problem, Landscape) else Landscape(problem, symbols)


def stationary_point(problem, guess, *, tol=1e-12) -> Optional[StationaryPoint]:
    """The stationary point Newton's method reaches from ``guess`` (``scipy.optimize.root``,
    method "hybr", Jacobian = the exact Hessian), or None if it does not converge to
    |∇U| ≤ 1e-8·max(1, ‖∇²U‖·max(1, |x|)).

    Parameters
    ----------
    problem : Problem, sympy expression or Landscape
    guess : array_like, shape (d,)
    tol : float
        ``xtol`` of the root finder.
    """
    L = _landscape(problem)
    x0 = np.asarray(guess, float).ravel()
    if x0.shape != (L.dim,) or not np.all(np.isfinite(x0)):
        raise ValueError(f"`guess` must be {L.dim} finite numbers; got {np.asarray(guess).tolist()}")
    # a guess far from any stationary point can send Newton where exp overflows: it then
    # fails the gradient test below, which is the answer wanted
    with np.errstate(over="ignore", invalid="ignore"):
        sol = optimize.root(L.grad, x0, jac=L.hessian, method="hybr", tol=tol)
        if not np.all(np.isfinite(sol.x)):
            return None
        g1 = np.linalg.norm(L.grad(sol.x))
        # the gradient's scale near x: curvature times distance (a point with |∇U| small
        # against it is stationary to rounding)
        scale = np.abs(L.hessian(sol.x)).max() * max(1.0, np.abs(sol.x).max())
    if not g1 <= 1e-8 * max(1.0, scale):
        return None
    return L.classify(sol.x)


def stationary_points(problem, box, *, n_grid=12, tol=1e-12, merge=1e-6) -> list:
    """Stationary points reached by Newton from an ``n_grid``ᵈ grid of guesses in ``box``.

    Parameters
    ----------
    problem : Problem, sympy expression or Landscape
    box : sequence of (lo, hi), one per variable
    n_grid : int
        Guesses per axis (the grid's points are cell centres).
    merge : float
        Points closer than this are one.

    Returns
    -------
    list of StationaryPoint
        Inside the box, sorted by index then value; a point's ``x`` is the one with the
        smallest gradient among its duplicates.
    """
    L = _landscape(problem)
    b = np.asarray(box, float)
    if b.shape != (L.dim, 2) or not np.all(b[:, 1] > b[:, 0]):
        raise ValueError(f"`box` must be {L.dim} pairs (lo, hi) with hi > lo; got {np.asarray(box).tolist()}")
    check_int(n_grid, "n_grid")
    axes = [lo + (np.arange(n_grid) + 0.5) * (hi - lo) / n_grid for lo, hi in b]
    found = []
    for g in np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, L.dim):
        p = stationary_point(L, g, tol=tol)
        if p is None or np.any(p.x < b[:, 0]) or np.any(p.x > b[:, 1]):
            continue
        same = [i for i, q in enumerate(found) if np.linalg.norm(q.x - p.x) < merge]
        if not same:
            found.append(p)
        elif p.grad_norm < found[same[0]].grad_norm:
            found[same[0]] = p
    return sorted(found, key=lambda p: (p.index, p.value))


class MinimumEnergyPath(NamedTuple):
    """A string of ``images`` (n, d) from ``start`` to ``end`` (the minima, refined), their
    ``energies``, the ``saddle`` (the index-1 point Newton reaches from the highest image, or
    None if it reaches none) and ``barrier`` U(saddle) − U(start); ``iterations``,
    ``converged``."""

    images: np.ndarray
    energies: np.ndarray
    start: StationaryPoint
    end: StationaryPoint
    saddle: Optional[StationaryPoint]
    barrier: float
    iterations: int
    converged: bool

    def as_json(self) -> dict:
        """The path as JSON-able lists and numbers."""
        return {"start": self.start.as_json(), "end": self.end.as_json(),
                "saddle": None if self.saddle is None else self.saddle.as_json(), "barrier": self.barrier,
                "images": self.images.tolist(), "energies": self.energies.tolist(),
                "iterations": self.iterations, "converged": self.converged}


def _minimum(L, x):
    r = optimize.minimize(L.value, np.asarray(x, float), jac=L.grad, hess=L.hessian, method="trust-exact",
                          options={"gtol": 1e-10})
    return L.classify(r.x)


def _reparametrize(phi):
    """Images at equal arc length along the piecewise-linear string through ``phi``."""
    seg = np.linalg.norm(np.diff(phi, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] == 0:
        return phi
    # coincident images repeat an arc length, which interp1d turns into NaN: keep one of each
    keep = np.concatenate([[True], seg > 0])
    return interpolate.interp1d(s[keep] / s[-1], phi[keep], axis=0)(np.linspace(0.0, 1.0, phi.shape[0]))


def minimum_energy_path(problem, start, end, *, n_images=41, max_iter=20000, tol=1e-7) -> MinimumEnergyPath:
    """Minimum-energy path between the minima near ``start`` and ``end`` by the string method,
    and its index-1 saddle.

    The end points are first minimised (``scipy.optimize.minimize``, trust-exact).  Each
    iteration moves every interior image by −h∇U (h = 0.2/max‖∇²U‖ over the initial
    string, a stable explicit step) and redistributes the images at equal arc length.  The
    highest image of the converged string starts Newton on ∇U = 0; the saddle is kept only
    if the point reached has index 1.

    Parameters
    ----------
    problem : Problem, sympy expression or Landscape
    start, end : array_like, shape (d,)
        Points in the basins of the two minima.
    n_images : int ≥ 3
    max_iter : int
    tol : float
        Stop when no image moves more than ``tol`` (relative to the string's length) in an
        iteration.

    Returns
    -------
    MinimumEnergyPath
    """
    L = _landscape(problem)
    check_int(n_images, "n_images", low=3)
    a, b = (np.asarray(v, float).ravel() for v in (start, end))
    for name, v in (("start", a), ("end", b)):
        if v.shape != (L.dim,) or not np.all(np.isfinite(v)):
            raise ValueError(f"`{name}` must be {L.dim} finite numbers; got {v.tolist()}")
    m0, m1 = _minimum(L, a), _minimum(L, b)
    if np.linalg.norm(m0.x - m1.x) < 1e-8:
        raise ValueError(f"`start` and `end` descend to the same minimum {m0.x.tolist()}")
    phi = m0.x + np.linspace(0.0, 1.0, n_images)[:, None] * (m1.x - m0.x)
    curv = max(np.abs(linalg.eigvalsh(L.hessian(p))).max() for p in phi)
    h = 0.2 / max(curv, 1e-12)
    length = np.linalg.norm(m1.x - m0.x)
    converged, it = False, 0
    for it in range(1, max_iter + 1):
        new = phi.copy()
        new[1:-1] -= h * L.grads(phi[1:-1])
        new = _reparametrize(new)
        move = np.abs(new - phi).max() / length
        phi = new
        if move < tol:
            converged = True
            break
    E = L.values(phi)
    top = int(np.argmax(E[1:-1])) + 1
    sad = stationary_point(L, phi[top])
    if sad is not None and sad.index != 1:
        sad = None
    barrier = float(sad.value - m0.value) if sad is not None else float(E[top] - m0.value)
    return MinimumEnergyPath(phi, E, m0, m1, sad, barrier, it, converged)
