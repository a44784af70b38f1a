"""The momentum family of kexue-5655 and symplectic Euler.

The momentum family (leapfrog = heavy ball, Nesterov, the β/2 variant, the implicit scheme
(19)) works in optimizer variables (θ_n, v_n) with coefficients (α, β) obtained from the ODE
step γ and friction λ through an exact map (eq 15 or 18).
"""
from __future__ import annotations


import numbers

import numpy as np
from typing import NamedTuple

from dynopt.dynamics import HeavyBall
from dynopt.schemes.base import ConvergenceError, Scheme
from dynopt.schemes.maps import ALPHA_BETA, COEFFICIENT_MAPS
from dynopt.schemes.registry import register

__all__ = ["MomentumScheme", "SymplecticEuler", "Leapfrog", "HeavyBallMomentum", "Nesterov", "NesterovHalf", "Implicit19"]


@register()
class SymplecticEuler(Scheme):
    """Symplectic (semi-implicit) Euler for θ' = η, η' = −λη − ∇L:
    η_{n+1} = η_n + γ(−λη_n − ∇L(θ_n)), θ_{n+1} = θ_n + γη_{n+1}.  Order 1,
    1 gradient per step, symplectic at λ = 0."""

    class State(NamedTuple):
        """Positions θ_n and velocities η_n, shape (n, d); gradient evaluations per path."""

        q: np.ndarray
        v: np.ndarray
        grad_evals: int

    name = "symplectic-euler"
    approximates = (HeavyBall,)
    order = 1
    symplectic = True
    reference = "Hairer, Lubich & Wanner, Geometric Numerical Integration, §I.1"

    def init(self, model, y0, dt):
        return self.State(y0[:, : model.d].copy(), y0[:, model.d:].copy(), 0)

    @staticmethod
    def update(q, v, force, friction, h):
        """One step as plain arithmetic (arrays or sympy symbols): ``force`` is q ↦ −∇L(q)."""
        v = v + h * (-friction * v + force(q))
        return q + h * v, v

    def step(self, model, t, state, dt):
        q, v = self.update(state.q, state.v, model.force, model.friction, dt)
        return self.State(q, v, state.grad_evals + 1)

    def output(self, model, state):
        return np.concatenate([state.q, state.v], axis=1)


class MomentumScheme(Scheme):
    """Schemes written as θ_{n+1} = θ_n + v_{n+1}, v_{n+1} = β v_n − α ∇L(x_n), with
    v_n ≈ γ η_{n−1/2} and (α, β) from the ODE step γ and friction λ by an exact map.

    A momentum scheme is defined by one method, ``gradient_point(q, v, beta, q_next)``:
    the point x_n where the gradient is taken, as plain arithmetic on θ_n = ``q``,
    v_n = ``v``, β and θ_{n+1} = ``q_next`` (only an implicit scheme, ``implicit = True``,
    may use ``q_next``).  The numeric step calls it on arrays; :mod:`dynopt.symbolic` calls
    the same method on sympy symbols to derive the scheme's recurrence, characteristic
    polynomial, stability bound and consistency order, so a subclass written by a user is
    analysed exactly like the built-in ones.  ``coefficients`` names the (γ, λ) → (α, β)
    map (:data:`dynopt.schemes.maps.ALPHA_BETA`).

    To add a momentum scheme: subclass, implement ``gradient_point``, set ``order``,
    ``coefficients`` and ``reference`` (``approximates = (HeavyBall,)`` is inherited);
    an implicit scheme sets ``implicit = True`` and overrides ``step`` to solve for
    θ_{n+1}, counting every gradient in the state's ``grad_evals``; decorate with
    ``@register()``.  The order and gradient-count tests (tests/test_schemes.py) and the
    symbolic derivations pick it up.  The state is :class:`MomentumScheme.State`.

    Parameters
    ----------
    start : {"half-step", "rest"}
        ``"half-step"`` (an integrator's consistent start): v_0 = γ η(−γ/2), to second
        order from the ODE, ``γ(η_0 + (γ/2)(λη_0 + ∇L(θ_0)))``.  ``"rest"`` (an
        optimizer's start): v_0 = γ η_0, i.e. v_0 = 0 when started from rest.
    coefficients : {"eq15", "eq18"}
        Which exact map turns (γ, λ) into (α, β).

    The state carries the step γ of the last update (v ≈ γη is reported as v/γ), the
    (α, β) of that step, so that the map is evaluated once per run, and the gradient
    count, including the gradient of the half-step start.
    """

    class State(NamedTuple):
        """θ_n and v_n (n, d); the step γ with its (α, β); gradient evaluations per path."""

        q: np.ndarray
        v: np.ndarray
        gamma: float
        alpha: float
        beta: float
        grad_evals: int

    approximates = (HeavyBall,)
    coefficients = "eq15"
    implicit = False

    def __init__(self, start: str = "half-step", coefficients: str | None = None):
        if start not in ("half-step", "rest"):
            raise ValueError(f"`start` must be one of ['half-step', 'rest']; got {start!r}")
        coefficients = coefficients or type(self).coefficients
        if coefficients not in COEFFICIENT_MAPS:
            raise ValueError(f"`coefficients` must be one of {sorted(COEFFICIENT_MAPS)}; got {coefficients!r}")
        self.start = start
        self.coefficients = coefficients

    def alpha_beta(self, model, dt):
        """(α, β) for the step ``dt`` on ``model``: the checked numeric map on real numbers;
        on anything else (sympy symbols, when :mod:`dynopt.symbolic` reads the step) the same
        map as plain arithmetic, :meth:`alpha_beta_of`."""
        if isinstance(dt, numbers.Real) and isinstance(model.friction, numbers.Real):
            return COEFFICIENT_MAPS[self.coefficients][0](dt, model.friction)
        return self.alpha_beta_of(dt, model.friction)

    def init(self, model, y0, dt):
        q, eta = y0[:, : model.d].copy(), y0[:, model.d:]
        alpha, beta = self.alpha_beta(model, dt)
        if self.start == "rest":
            return self.State(q, dt * eta, dt, alpha, beta, 0)
        v = dt * (eta + dt / 2 * (model.friction * eta - model.force(q)))
        return self.State(q, v, dt, alpha, beta, 1)

    def _alpha_beta_for(self, model, state, dt):
        """(α, β) for a step ``dt`` from ``state``: the state's pair unless ``dt`` changed."""
        if dt == state.gamma:
            return state.alpha, state.beta
        return self.alpha_beta(model, dt)

    def output(self, model, state):
        return np.concatenate([state.q, state.v / state.gamma], axis=1)

    def alpha_beta_of(self, gamma, friction):
        """(α, β) of this scheme's map as plain arithmetic (floats or sympy symbols)."""
        return ALPHA_BETA[self.coefficients](gamma, friction)

    def gradient_point(self, q, v, beta, q_next=None):
        """The point where ∇L is evaluated, from θ_n, v_n, β (and θ_{n+1} if implicit)."""
        raise NotImplementedError

    def step(self, model, t, state, dt):
        q, v = state.q, state.v
        alpha, beta = self._alpha_beta_for(model, state, dt)
        v = beta * v - alpha * model.grad(self.gradient_point(q, v, beta))
        return self.State(q + v, v, dt, alpha, beta, state.grad_evals + 1)

    def __repr__(self):
        return f"{type(self).__name__}(start={self.start!r}, coefficients={self.coefficients!r})"


@register()
class Leapfrog(MomentumScheme):
    """Leapfrog for θ'' + λθ' = −∇L = heavy-ball momentum (kexue-5655 eqs 13–16):
    v_{n+1} = β v_n − α ∇L(θ_n), θ_{n+1} = θ_n + v_{n+1}, (α, β) from eq 15.

    Order 2 with the consistent half-step start; 1 gradient per step; symplectic at λ = 0.
    With the optimizer's start v_0 = 0 the first half-step velocity is off by O(γ),
    which costs one order (see the ledger claim kexue-5655.nesterov-order / compare).
    """

    name = "leapfrog"
    symplectic = True
    reference = "kexue-5655 eqs 13–16; Polyak (1964)"

    @property
    def order(self):
        return 2 if self.start == "half-step" else 1

    def gradient_point(self, q, v, beta, q_next=None):
        return q


@register()
class HeavyBallMomentum(Leapfrog):
    """Heavy-ball momentum as an optimizer runs it: the leapfrog (eq 16) started from
    rest, v_0 = 0 (``start="rest"``).  Same iterates as :class:`Leapfrog` but for v_0."""

    name = "heavy-ball"

    def __init__(self, start="rest", coefficients=None):
        super().__init__(start, coefficients)


@register()
class Nesterov(MomentumScheme):
    """Standard Nesterov momentum: v_{n+1} = β v_n − α ∇L(θ_n + β v_n) (kexue-5655 eq 20
    with β in place of β/2), (α, β) from eq 18 by default.  1 gradient per step.

    The declared order (1) is what the eq-18 map allows against eq 10: β = 1 − λγ
    matches e^{−λγ} only to first order (the source says "second order")."""

    name = "nesterov"
    order = 1
    coefficients = "eq18"
    reference = "Nesterov (1983); Sutskever et al. (2013); kexue-5655 eq 20"

    def gradient_point(self, q, v, beta, q_next=None):
        return q + beta * v


@register()
class NesterovHalf(Nesterov):
    """The source's variant (kexue-5655 eq 20): gradient at θ_n + (β/2) v_n, an explicit
    approximation of the midpoint gradient of the implicit scheme (19)."""

    name = "nesterov-half"
    reference = "kexue-5655 eq 20"

    def gradient_point(self, q, v, beta, q_next=None):
        return q + (beta / 2) * v


@register()
class Implicit19(MomentumScheme):
    """The implicit scheme kexue-5655 eq 19: v_{n+1} = β v_n − α ∇L((θ_n + θ_{n+1})/2),
    θ_{n+1} = θ_n + v_{n+1}; (α, β) from eq 18 by default.

    ``weight`` w places the gradient point at (1 − w)θ_n + wθ_{n+1}: w = ½ is eq 19 (the
    default), w = 1 the gradient at the new point; every variant is this one class.

    Each step solves z − θ_n − βv_n + α∇L((1 − w)θ_n + wz) = 0 for z = θ_{n+1} by Newton's
    method (Hessian of the problem) or, without a Hessian, by fixed-point iteration, to
    ``rtol``, starting from the explicit predictor with the gradient at θ_n + wβv_n (eq 20
    for w = ½); raises :class:`ConvergenceError` if it does not converge in ``max_iter``.
    Gradients per step: one for the predictor plus one per iteration, counted in the
    state's ``grad_evals``.
    """

    name = "implicit19"
    order = 1
    coefficients = "eq18"
    implicit = True
    reference = "kexue-5655 eq 19"

    def __init__(self, start="half-step", coefficients=None, rtol=1e-13, max_iter=50, weight=0.5):
        super().__init__(start, coefficients)
        if not 0 < weight <= 1:
            raise ValueError(f"`weight` must be in (0, 1]; got {weight!r}")
        self.rtol = rtol
        self.max_iter = max_iter
        self.weight = weight

    def gradient_point(self, q, v, beta, q_next=None):
        w = self.weight
        # (1 − w)θ_n + wθ_{n+1}: for w = ½ the midpoint (θ_n + θ_{n+1})/2 to the bit
        return (1 - w) * q + w * q_next

    def step(self, model, t, state, dt):
        q, v = state.q, state.v
        alpha, beta = self._alpha_beta_for(model, state, dt)
        p, w = model.problem, self.weight
        base = q + beta * v
        z = base - alpha * p.grad_fn(q + w * beta * v)  # the explicit predictor (eq 20 at w = ½)
        evals = state.grad_evals + 1
        if not np.all(np.isfinite(z)):
            # let the integrator report the divergence
            return self.State(z, z - q, dt, alpha, beta, evals)
        newton = p.hess_fn is not None
        eye = np.eye(q.shape[1])
        for _ in range(self.max_iter):
            mid = self.gradient_point(q, v, beta, z)
            resid = z - base + alpha * p.grad_fn(mid)
            evals += 1
            if newton:
                # d(point)/dz = w
                J = eye + (w * alpha) * p.hess_fn(mid)
                dz = np.linalg.solve(J, resid[..., None])[..., 0]
            else:
                dz = resid
            z = z - dz
            if np.max(np.abs(dz)) <= self.rtol * (1.0 + np.max(np.abs(z))):
                return self.State(z, z - q, dt, alpha, beta, evals)
        raise ConvergenceError(
            f"{self.name}: {'Newton' if newton else 'fixed-point'} iteration did not converge to "
            f"rtol={self.rtol:g} in {self.max_iter} iterations at t={t:g} (last |Δθ|={np.max(np.abs(dz)):.3g})"
        )

    def __repr__(self):
        # eq 19 keeps the family's repr (ledger cache keys are made of it)
        extra = "" if self.weight == 0.5 else f", weight={self.weight!r}"
        return f"{type(self).__name__}(start={self.start!r}, coefficients={self.coefficients!r}{extra})"
