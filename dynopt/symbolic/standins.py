"""Stand-in models for the symbolic reading of a scheme's step: the model's oracles
(gradient, force, drift, noise term, diffusion and its derivative) on numpy object arrays of
sympy expressions, with the symbols they are written in.

* :class:`QuadraticModel`: L = κθ²/2, gradient flow or the heavy ball θ'' + λθ' = −κθ;
* :class:`GeneralModel`: a general smooth L in one dimension through its Taylor coefficients
  c_k = L⁽ᵏ⁾(θ₀);
* :class:`LinearTestSDE`: dX = λX dt + μX dW; :class:`OUModel`: dX = −kX dt + σ dW;
  :class:`HarmonicKramers`: dθ = η dt, dη = (−λη − kθ) dt + σ dW.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from dynopt.expr import sympy_value

__all__ = ["QuadraticModel", "GeneralModel", "LinearTestSDE", "OUModel", "HarmonicKramers", "STATIONARY_MODELS",
           "P", "step_symbol", "curvature", "product", "friction", "friction_step", "sde_lambda", "sde_mu",
           "stiffness", "noise_sigma", "theta", "L_fun"]

#: the step γ (the scheme's dt), the curvature κ of L = κθ²/2 and the product x = γκ
step_symbol = sp.Symbol("h", positive=True)
curvature = sp.Symbol("κ", positive=True)
product = sp.Symbol("x", positive=True)
#: friction λ of second-order models, and λγ
friction = sp.Symbol("λ", positive=True)
friction_step = sp.Symbol("λh", positive=True)
#: dX = λX dt + μX dW (λ real, μ real)
sde_lambda = sp.Symbol("λ", real=True)
sde_mu = sp.Symbol("μ", real=True)
#: OU dX = −kX dt + σ dW and harmonic Kramers L = kθ²/2
stiffness = sp.Symbol("k", positive=True)
noise_sigma = sp.Symbol("σ", positive=True)
theta = sp.Symbol("θ", real=True)
L_fun = sp.Function("L")
_eta0 = sp.Symbol("η_0", real=True)

#: models of :func:`stationary_variance`
STATIONARY_MODELS = ("ou", "kramers")

P = 5  # powers of the step kept in the consistency series


# -- stand-in models ----------------------------------------------------------------------
class _Problem:
    """The part of a Problem a step may reach through ``model.problem``."""

    dim = 1
    hess_fn = None
    name = "stand-in"

    def __init__(self, grad):
        self.grad_fn = grad


class _StandIn:
    """Common oracles of the stand-in models; counts gradient evaluations."""

    d = 1
    is_sde = False
    friction = None
    calculus = "ito"

    def __init__(self, grad, second_order=False, friction_=None):
        self._grad = grad
        self.second_order = second_order
        self.friction = friction_
        self.grad_calls = 0
        self.problem = _Problem(self.grad)

    @property
    def state_dim(self):
        return 2 if self.second_order else 1

    def grad(self, q):
        self.grad_calls += 1
        return self._grad(q)

    def force(self, q):
        return -self.grad(q)

    def drift(self, t, y):
        if not self.second_order:
            return -self.grad(y)
        q, v = y[:, :1], y[:, 1:]
        return np.concatenate([v, -self.friction * v + self.force(q)], axis=1)

    rhs = drift

    def position(self, y):
        return y[..., :1]


class QuadraticModel(_StandIn):
    """L = κθ²/2 in one dimension: gradient flow θ' = −κθ, or with ``second_order`` the
    heavy ball θ'' + λθ' = −κθ on (θ, η)."""

    def __init__(self, second_order=False):
        super().__init__(lambda q: curvature * q, second_order, friction if second_order else None)


class GeneralModel(_StandIn):
    """A general smooth L in one dimension, expanded at θ₀ = 0: L'(θ) = Σ c_{k+1} θᵏ/k! with
    c_k = L⁽ᵏ⁾(θ₀) symbols; ``truncate`` cuts every gradient to the powers of the step kept."""

    coefficients = sp.symbols("c1:9", real=True)

    def __init__(self, second_order=False, truncate=None):
        cs = self.coefficients
        trunc = truncate or (lambda e: e)

        def grad(q):
            out = sum((cs[k] * q ** k / math.factorial(k) for k in range(1, P + 2)), cs[0] * np.ones_like(q))
            return np.frompyfunc(trunc, 1, 1)(out) if isinstance(out, np.ndarray) else trunc(out)

        super().__init__(grad, second_order, friction if second_order else None)

    @classmethod
    def as_derivatives(cls, expr):
        """``expr`` with c_k written as L⁽ᵏ⁾(θ)."""
        return sympy_value(expr).subs({c: sp.Derivative(L_fun(theta), (theta, k + 1))
                                      for k, c in enumerate(cls.coefficients)})


class _SDEStandIn(_StandIn):
    is_sde = True
    noise_dim = 1

    def drift_in(self, calculus):
        if calculus == "ito" or self.noise == "additive":
            return self.drift
        return lambda t, y: self.drift(t, y) - 0.5 * self.diffusion(t, y) * self.diffusion_dx(t, y)

    def noise_term(self, t, y, dW):
        return self.diffusion(t, y) * dW if self.state_dim == 1 else self._noise2(dW)

    noise = None  # replaced per instance by the noise type string

    def add_noise(self, t, y, dW, target):
        return target + self.noise_term(t, y, dW)


class LinearTestSDE(_SDEStandIn):
    """dX = λX dt + μX dW (Itô, diagonal noise), the mean-square stability test equation."""

    noise = "diagonal"
    scalar_sigma = None
    drift_polynomial = None

    def __init__(self):
        super().__init__(lambda q: -sde_lambda * q)

    def drift(self, t, y):
        return sde_lambda * y

    def diffusion(self, t, y):
        return sde_mu * y

    def diffusion_dx(self, t, y):
        return sde_mu * np.ones_like(y)


class OUModel(_SDEStandIn):
    """dX = −kX dt + σ dW: overdamped Langevin on L = kθ²/2 (additive noise)."""

    noise = "additive"
    drift_polynomial = None

    def __init__(self):
        super().__init__(lambda q: stiffness * q)
        self.sigma = noise_sigma
        self.scalar_sigma = noise_sigma

    def drift(self, t, y):
        return -self.grad(y)

    def diffusion(self, t, y):
        return noise_sigma * np.ones_like(y)

    def diffusion_dx(self, t, y):
        return 0 * y

    @property
    def temperature(self):
        return noise_sigma ** 2 / 2


class HarmonicKramers(_SDEStandIn):
    """dθ = η dt, dη = (−λη − kθ) dt + σ dW: Kramers on L = kθ²/2, kT = σ²/(2λ)."""

    noise = "additive"
    drift_polynomial = None
    scalar_sigma = None

    def __init__(self):
        super().__init__(lambda q: stiffness * q, True, friction)
        self.sigma = noise_sigma

    def diffusion(self, t, y):
        return np.concatenate([0 * y[:, :1], noise_sigma * np.ones_like(y[:, 1:])], axis=1)

    def diffusion_dx(self, t, y):
        return 0 * y

    def _noise2(self, dW):
        return np.concatenate([0 * dW, noise_sigma * dW], axis=1)

    @property
    def temperature(self):
        return noise_sigma ** 2 / (2 * friction)
