"""Continuous-time models: ``dy = drift(t, y) dt`` (and, for SDEs, ``+ diffusion dW``).

States are batched: ``y`` has shape ``(n_paths, state_dim)``.  Second-order models store
position and velocity side by side, ``y = [θ, η]``, so ``state_dim = 2·d``.

Every model also offers ``rhs(t, y)`` on a flat 1-D state, the signature
``scipy.integrate.solve_ivp`` expects, and ``jac`` where the problem has a Hessian.
"""
from __future__ import annotations

import numpy as np

from .problems import Problem

__all__ = ["Model", "GradientFlow", "HeavyBall", "NesterovODE", "check_finite_param"]


def check_finite_param(value, name: str, *, low=None, low_inclusive=True, high=None,
                       high_inclusive=True) -> float:
    """Validate a scalar parameter and return it as float.

    Raises
    ------
    ValueError
        Naming ``name`` and the allowed range when ``value`` is not finite or out of range.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a real number; got {value!r}") from None
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high}"
    rng = f"{'[' if low_inclusive and low is not None else '('}{lo}, {hi}{']' if high_inclusive and high is not None else ')'}"
    bad = not np.isfinite(v)
    if low is not None:
        bad |= v < low if low_inclusive else v <= low
    if high is not None:
        bad |= v > high if high_inclusive else v >= high
    if bad:
        raise ValueError(f"`{name}` must be in {rng}; got {value!r}")
    return v


class Model:
    """Base class of continuous-time models.

    Subclasses provide
    ------------------
    kind : str
        A short tag schemes check against (``"gradient_flow"``, ``"heavy_ball"``, ...).
    state_dim : int
        Length of the state vector.
    drift(t, y) -> ndarray, shape (n, state_dim)
        The right-hand side on a batch of states.
    position(y) -> ndarray, shape (n, d)
        The optimizer's iterate θ inside the state (what errors are measured on).
    linear_part() -> (A, y_star) or None
        For models with y' = A (y − y_star): enables exact references via expm.
    """

    kind = "generic"
    name = "model"

    def __init__(self, problem: Problem):
        if not isinstance(problem, Problem):
            raise TypeError(f"`problem` must be a dynopt Problem; got {type(problem).__name__}")
        self.problem = problem

    @property
    def d(self) -> int:
        return self.problem.dim

    def as_state(self, y0, name="y0"):
        """Broadcast ``y0`` to shape ``(n, state_dim)``; a position-only start gets η = 0."""
        arr = np.asarray(y0, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"`{name}` must have shape ({self.state_dim},) or (n, {self.state_dim}); got {np.shape(y0)}")
        if arr.shape[1] == self.state_dim:
            return arr.copy()
        if arr.shape[1] == self.d and self.state_dim == 2 * self.d:
            return np.concatenate([arr, np.zeros_like(arr)], axis=1)
        raise ValueError(f"`{name}` must have shape ({self.state_dim},) or (n, {self.state_dim})"
                         f" (or a position of length {self.d}); got {np.shape(y0)}")

    def position(self, y):
        return y[..., : self.d]

    def linear_part(self):
        return None

    def rhs(self, t, y):
        """Flat right-hand side for scipy: ``y`` of shape ``(n·state_dim,)``."""
        return self.drift(t, y.reshape(-1, self.state_dim)).ravel()

    def __repr__(self):
        return f"{type(self).__name__}({self.problem.name!r})"


class GradientFlow(Model):
    """Gradient flow θ' = −∇L(θ) (kexue-5655 eq 4); gradient descent is its Euler scheme."""

    kind = "gradient_flow"
    name = "gradient flow θ' = −∇L"

    @property
    def state_dim(self):
        return self.d

    def drift(self, t, y):
        return -self.problem.grad_fn(y)

    def jac(self, t, y):
        """Jacobian of ``rhs`` (block diagonal over paths)."""
        pts = y.reshape(-1, self.d)
        blocks = -self.problem.hess_fn(pts)
        return _block_diag(blocks)

    def linear_part(self):
        p = self.problem
        if not p.is_quadratic:
            return None
        return -p.hessian_matrix, p.center.copy()


class HeavyBall(Model):
    """The damped system θ'' + λθ' = −∇L(θ) (kexue-5655 eq 10) as θ' = η, η' = −λη − ∇L(θ).

    Parameters
    ----------
    problem : Problem
    friction : float
        λ ≥ 0.  λ = 0 is the undamped (energy-conserving) system.
    """

    kind = "heavy_ball"

    def __init__(self, problem: Problem, friction: float = 1.0):
        super().__init__(problem)
        self.friction = check_finite_param(friction, "friction", low=0.0)

    @property
    def name(self):
        return f"heavy ball θ''+λθ'=−∇L (λ={self.friction:g})"

    @property
    def state_dim(self):
        return 2 * self.d

    def velocity(self, y):
        return y[..., self.d:]

    def force(self, q):
        """−∇L at positions ``q`` of shape ``(n, d)``."""
        return -self.problem.grad_fn(q)

    def drift(self, t, y):
        q, v = y[:, : self.d], y[:, self.d:]
        return np.concatenate([v, -self.friction * v + self.force(q)], axis=1)

    def jac(self, t, y):
        d = self.d
        pts = y.reshape(-1, 2 * d)
        n = pts.shape[0]
        blocks = np.zeros((n, 2 * d, 2 * d))
        blocks[:, :d, d:] = np.eye(d)
        blocks[:, d:, :d] = -self.problem.hess_fn(pts[:, :d])
        blocks[:, d:, d:] = -self.friction * np.eye(d)
        return _block_diag(blocks)

    def linear_part(self):
        p = self.problem
        if not p.is_quadratic:
            return None
        d = self.d
        A = np.zeros((2 * d, 2 * d))
        A[:d, d:] = np.eye(d)
        A[d:, :d] = -p.hessian_matrix
        A[d:, d:] = -self.friction * np.eye(d)
        return A, np.concatenate([p.center, np.zeros(d)])


class NesterovODE(Model):
    """Su–Boyd–Candès' ODE X'' + (r/t) X' + ∇L(X) = 0 as X' = V, V' = −(r/t)V − ∇L(X).

    The friction r/t is singular at t = 0.  For the natural start X'(0) = 0 the limit
    V/t → X''(0) = −∇L(X(0))/(1 + r) is used at t = 0, so solvers may start there.
    """

    kind = "nesterov_ode"

    def __init__(self, problem: Problem, r: float = 3.0):
        super().__init__(problem)
        self.r = check_finite_param(r, "r", low=0.0)

    @property
    def name(self):
        return f"Nesterov ODE X''+({self.r:g}/t)X'+∇L=0"

    @property
    def state_dim(self):
        return 2 * self.d

    def drift(self, t, y):
        q, v = y[:, : self.d], y[:, self.d:]
        g = self.problem.grad_fn(q)
        if t > 0:
            acc = -(self.r / t) * v - g
        else:
            acc = -g / (1.0 + self.r)
        return np.concatenate([v, acc], axis=1)


def _block_diag(blocks):
    """Dense block-diagonal matrix from ``(n, k, k)`` blocks (n is small for scipy solves)."""
    n, k, _ = blocks.shape
    out = np.zeros((n * k, n * k))
    for i in range(n):
        out[i * k:(i + 1) * k, i * k:(i + 1) * k] = blocks[i]
    return out
