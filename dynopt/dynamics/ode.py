"""Deterministic models: gradient flow θ' = −∇L, heavy ball θ'' + λθ' = −∇L, Nesterov's ODE
X'' + (r/t)X' + ∇f(X) = 0 (Su, Boyd & Candès 2016) and the high-resolution ODEs of
Shi, Du, Jordan & Su (2018).
"""
from __future__ import annotations
from dynopt.dynamics.sde import _block_diag


import numpy as np
from dynopt.problems import Problem
import math
from dynopt.dynamics.base import Model
from dynopt.checks import check_finite_param

__all__ = ["GradientFlow", "HeavyBall", "NesterovODE", "HighResolutionODE"]


class GradientFlow(Model):
    """Gradient flow θ' = −∇L(θ) (kexue-5655 eq 4); gradient descent is its Euler scheme."""

    kind = "gradient_flow"
    name = "gradient flow θ' = −∇L"

    @property
    def state_dim(self):
        return self.d

    def drift(self, t, y):
        return -self.grad(y)

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
        g = self.grad(q)
        if t > 0:
            acc = -(self.r / t) * v - g
        else:
            acc = -g / (1.0 + self.r)
        return np.concatenate([v, acc], axis=1)


# ---------------------------------------------------------------------------------------
# Shi, Du, Jordan & Su: high-resolution ODEs
# ---------------------------------------------------------------------------------------
class HighResolutionODE(Model):
    """Shi–Du–Jordan–Su's ODEs for μ-strongly convex f at step size s (2018, §2):

    * ``"heavy-ball"``:  X'' + 2√μ X' + (1 + √(μs))∇f(X) = 0  (eq 1.10)
    * ``"nag-sc"``:      X'' + 2√μ X' + √s ∇²f(X)X' + (1 + √(μs))∇f(X) = 0  (eq 1.12)
    * ``"low-resolution"``: X'' + 2√μ X' + ∇f(X) = 0, the O(√s) limit shared by both.

    The NAG-SC term √s∇²f(X)X' is the "gradient correction".  State y = [X, X'].
    Integrate with dt = √s (schemes :class:`~dynopt.schemes.HeavyBallSC`,
    :class:`~dynopt.schemes.NesterovSC`).

    Parameters
    ----------
    problem : Problem (with a Hessian for ``"nag-sc"``)
    mu : float > 0
    s : float > 0, with μs < 1
    variant : {"heavy-ball", "nag-sc", "low-resolution"}
    """

    kind = "high_resolution"
    VARIANTS = ("heavy-ball", "nag-sc", "low-resolution")

    def __init__(self, problem: Problem, mu: float, s: float, variant: str = "nag-sc"):
        super().__init__(problem)
        self.mu = check_finite_param(mu, "mu", low=0.0, low_inclusive=False)
        self.s = check_finite_param(s, "s", low=0.0, low_inclusive=False, high=1 / self.mu,
                                    high_inclusive=False)
        if variant not in self.VARIANTS:
            raise ValueError(f"`variant` must be one of {list(self.VARIANTS)}; got {variant!r}")
        if variant == "nag-sc" and problem.hess_fn is None:
            raise ValueError("`problem` needs a Hessian for the NAG-SC gradient correction")
        self.variant = variant
        self.damping = 2 * math.sqrt(self.mu)
        self.force_scale = 1.0 if variant == "low-resolution" else 1 + math.sqrt(self.mu * self.s)
        self.correction = math.sqrt(self.s) if variant == "nag-sc" else 0.0

    @property
    def name(self):
        return f"{self.variant} ODE (μ={self.mu:g}, s={self.s:g})"

    @property
    def state_dim(self):
        return 2 * self.d

    def drift(self, t, y):
        q, v = y[:, : self.d], y[:, self.d:]
        acc = -self.damping * v - self.force_scale * self.grad(q)
        if self.correction:
            acc = acc - self.correction * np.einsum("nij,nj->ni", self.problem.hess_fn(q), v)
        return np.concatenate([v, acc], axis=1)

    def linear_part(self):
        p = self.problem
        if not p.is_quadratic:
            return None
        d = self.d
        H = p.hessian_matrix
        A = np.zeros((2 * d, 2 * d))
        A[:d, d:] = np.eye(d)
        A[d:, :d] = -self.force_scale * H
        A[d:, d:] = -self.damping * np.eye(d) - self.correction * H
        return A, np.concatenate([p.center, np.zeros(d)])

    def shi_initial_velocity(self, x0):
        """Shi et al.'s X'(0) = −2√s∇f(x0)/(1 + √(μs)), shape (d,)."""
        return -2 * math.sqrt(self.s) * self.problem.grad(np.asarray(x0, float)) / (1 + math.sqrt(self.mu * self.s))
