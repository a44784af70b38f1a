"""Continuous-time models: ``dy = drift(t, y) dt`` (and, for SDEs, ``+ diffusion dW``).

States are batched: ``y`` has shape ``(n_paths, state_dim)``.  Second-order models store
position and velocity side by side, ``y = [θ, η]``, so ``state_dim = 2·d``.

Every model also offers ``rhs(t, y)`` on a flat 1-D state, the signature
``scipy.integrate.solve_ivp`` expects, and ``jac`` where the problem has a Hessian.
"""
from __future__ import annotations


import numpy as np
from dynopt.problems import Problem

__all__ = ["Model"]


class Model:
    """Base class of continuous-time models.

    Subclasses provide the attributes and methods below.

    Attributes
    ----------
    kind : str
        A short label for tables and caches (``"gradient_flow"``, ``"heavy_ball"``, ...);
        schemes declare the model classes they discretize and check ``isinstance``.
    state_dim : int
        Length of the state vector.
    drift(t, y) -> ndarray, shape (n, state_dim)
        The right-hand side on a batch of states.
    grad(q), force(q) -> ndarray, shape (n, d)
        ∇L and −∇L at positions (provided here from the problem; drifts call ``grad``).
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

    def grad(self, q):
        """∇L at positions ``q`` of shape ``(n, d)`` (the problem's batched gradient).

        The one gradient oracle of every model: drifts and forces call it, so a reader of a
        scheme's step (a counter, a tracer) replaces this one method to see every gradient.
        """
        return self.problem.grad_fn(q)

    def force(self, q):
        """−∇L at positions ``q`` of shape ``(n, d)``."""
        return -self.grad(q)

    def linear_part(self):
        return None

    def rhs(self, t, y):
        """Flat right-hand side for scipy: ``y`` of shape ``(n·state_dim,)``."""
        return self.drift(t, y.reshape(-1, self.state_dim)).ravel()

    def __repr__(self):
        return f"{type(self).__name__}({self.problem.name!r})"
