"""Optimizers as dynamical systems: the continuous-time limits of :mod:`dynopt.optim`.

* SGD with lr η is Euler's method on the gradient flow θ' = −∇L, time t = nη.
* Heavy-ball momentum (lr α, momentum β) is the leapfrog of θ'' + λθ' = −∇L with step γ
  and friction λ from kexue-5655 eq 15 (:func:`heavy_ball_ode_parameters`); Nesterov
  (Sutskever's look-ahead form) is the same ODE through eq 18
  (:func:`nesterov_ode_parameters`).
* RMSProp with lr η and decay ρ = 1 − cη tracks, as η → 0 at fixed c, the ODE
  θ' = −∇L/√(s + ε), s' = c(∇L² − s), time t = nη (da Silva & Gazeau 2018;
  Barakat & Bianchi 2021, §3): :class:`RMSPropODE`.
* Adam with β1 = 1 − aη, β2 = 1 − bη tracks the non-autonomous ODE of Barakat & Bianchi
  (2021, eq. (ODE)): m' = a(∇L − m), v' = b(∇L² − v),
  θ' = −(m/(1 − e^{−at})) / (√(v/(1 − e^{−bt})) + ε), time t = nη: :class:`AdamODE`.
* Adagrad with lr η tracks θ' = −∇L/√(σ + ε), σ' = ∇L² in the time τ = nη² (with
  σ = η²·s): :class:`AdagradODE`.
"""
from __future__ import annotations
# the submodule, not the package: dynopt.schemes imports this package for its model classes


import numpy as np
from dynopt.dynamics.base import Model
from dynopt.checks import check_finite_param
from dynopt.problems import Problem

__all__ = ["RMSPropODE", "AdamODE", "AdagradODE"]


# ---------------------------------------------------------------------------------
# Adaptive methods' ODEs
# ---------------------------------------------------------------------------------
class _Augmented(Model):
    """Models whose state is [θ, k auxiliary blocks of size d]; a position-only start gets
    zero auxiliaries (the optimizers' zero-initialized buffers)."""

    n_aux = 1

    @property
    def state_dim(self):
        return (1 + self.n_aux) * self.d

    def as_state(self, y0, name="y0"):
        arr = np.asarray(y0, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim == 2 and arr.shape[1] == self.d:
            return np.concatenate([arr] + [np.zeros_like(arr)] * self.n_aux, axis=1)
        return super().as_state(arr, name)


def _den(s, eps, inside):
    return np.sqrt(s + eps) if inside else np.sqrt(s) + eps


class RMSPropODE(_Augmented):
    """θ' = −∇L/√(s + ε), s' = c(∇L² − s): the limit of RMSProp with decay ρ = 1 − cη
    as η → 0 (time t = nη).  Order-1 tracking from a start with s(0) > 0.

    Parameters
    ----------
    problem : Problem
    c : float > 0
        Relaxation rate of s, (1 − ρ)/η.
    eps : float > 0
    eps_inside : bool
        √(s + ε) (d2l, npnet) or √s + ε (PyTorch).
    """

    kind = "rmsprop_ode"

    def __init__(self, problem: Problem, c: float, eps: float = 1e-8, eps_inside: bool = True):
        super().__init__(problem)
        self.c = check_finite_param(c, "c", low=0.0, low_inclusive=False)
        self.eps = check_finite_param(eps, "eps", low=0.0, low_inclusive=False)
        self.eps_inside = bool(eps_inside)
        self.name = f"RMSProp ODE (c={self.c:g})"

    def drift(self, t, y):
        d = self.d
        q, s = y[:, :d], np.maximum(y[:, d:], 0.0)
        g = self.problem.grad_fn(q)
        return np.concatenate([-g / _den(s, self.eps, self.eps_inside), self.c * (g * g - s)], axis=1)


class AdamODE(_Augmented):
    """Barakat & Bianchi's (2021) ODE of Adam with β1 = 1 − aη, β2 = 1 − bη (time t = nη):
    m' = a(∇L − m), v' = b(∇L² − v), θ' = −m̂/(√v̂ + ε) with m̂ = m/(1 − e^{−at}),
    v̂ = v/(1 − e^{−bt}) (or m̂ = m, v̂ = v without bias correction).

    At t = 0 with m = v = 0 the bias-corrected drift is its limit −∇L/(|∇L| + ε).
    """

    kind = "adam_ode"
    n_aux = 2

    def __init__(self, problem: Problem, a: float, b: float, eps: float = 1e-8,
                 bias_correction: bool = True, eps_inside: bool = False):
        super().__init__(problem)
        self.a = check_finite_param(a, "a", low=0.0, low_inclusive=False)
        self.b = check_finite_param(b, "b", low=0.0, low_inclusive=False)
        self.eps = check_finite_param(eps, "eps", low=0.0, low_inclusive=False)
        self.bias_correction = bool(bias_correction)
        self.eps_inside = bool(eps_inside)
        self.name = f"Adam ODE (a={self.a:g}, b={self.b:g})"

    def drift(self, t, y):
        d = self.d
        q, m, v = y[:, :d], y[:, d:2 * d], np.maximum(y[:, 2 * d:], 0.0)
        g = self.problem.grad_fn(q)
        if not self.bias_correction:
            mh, vh = m, v
        elif t > 0:
            mh, vh = m / -np.expm1(-self.a * t), v / -np.expm1(-self.b * t)
        else:
            mh, vh = g, g * g
        dq = -mh / _den(vh, self.eps, self.eps_inside)
        return np.concatenate([dq, self.a * (g - m), self.b * (g * g - v)], axis=1)


class AdagradODE(_Augmented):
    """θ' = −∇L/√(σ + ε), σ' = ∇L²: Adagrad with lr η in the time τ = nη², σ = η²·s.

    Adagrad's own ε becomes η²ε here, so ε → 0 in the limit."""

    kind = "adagrad_ode"

    def __init__(self, problem: Problem, eps: float = 1e-12):
        super().__init__(problem)
        self.eps = check_finite_param(eps, "eps", low=0.0, low_inclusive=False)
        self.name = "Adagrad ODE"

    def drift(self, t, y):
        d = self.d
        q, s = y[:, :d], np.maximum(y[:, d:], 0.0)
        g = self.problem.grad_fn(q)
        return np.concatenate([-g / np.sqrt(s + self.eps), g * g], axis=1)
