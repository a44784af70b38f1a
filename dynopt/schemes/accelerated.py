"""Accelerated methods in the iterate form their papers use.

* :class:`NesterovConvex` — Nesterov's method for (non-strongly) convex f with momentum
  (k−1)/(k+r−1) (r = 3: (k−1)/(k+2)), the scheme whose limit is Su–Boyd–Candès' ODE
  X'' + (r/t)X' + ∇f(X) = 0 with t = k√s (JMLR 2016, eq 2–3 and §4).
* :class:`HeavyBallSC` and :class:`NesterovSC` — Polyak's heavy ball and NAG-SC with
  momentum (1 − √(μs))/(1 + √(μs)) (Shi, Du, Jordan & Su 2018, eqs 1.2 and 1.4), whose
  high-resolution ODEs are :class:`dynopt.dynamics.HighResolutionODE`.

Every scheme here is run with ``dt = √s``: the ODE time of iterate k is t_k = k√s and the
learning rate is s = dt².
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dynopt.dynamics import HighResolutionODE, NesterovODE
from dynopt.schemes import ops
from dynopt.schemes.base import Scheme
from dynopt.schemes.registry import register

__all__ = ["NesterovConvex", "HeavyBallSC", "NesterovSC"]


@register()
class NesterovConvex(Scheme):
    """Nesterov's method for convex f (Su, Boyd & Candès 2016, eq 3 with r = 3)::

        x_k = y_{k−1} − s ∇f(y_{k−1}),   y_k = x_k + (k−1)/(k+r−1) (x_k − x_{k−1}),

    x_0 = y_0.  Order 1 in the ODE step √s against X'' + (r/t)X' + ∇f = 0 (the
    ``nesterov_ode`` model, whose ``r`` it reads); 1 gradient per step; not symplectic.
    The start is the paper's: from rest (the model's initial velocity must be 0).
    Integrate from t = 0: the momentum coefficient depends on k = t/√s.
    """

    class State(NamedTuple):
        """x_k and x_{k−1} (n, d), the iterate index k, the step √s, gradients per path."""

        x: np.ndarray
        x_prev: np.ndarray
        k: int
        gamma: float
        grad_evals: int

    name = "nesterov-convex"
    approximates = (NesterovODE,)
    order = 1
    reference = "Nesterov (1983); Su, Boyd & Candès, JMLR 17 (2016), eqs 2–3"

    def init(self, model, y0, dt):
        x0 = y0[:, : model.d].copy()
        if np.any(y0[:, model.d:] != 0):
            raise ValueError("`y0` must start at rest (X'(0) = 0) for Nesterov's method")
        return self.State(x0, x0.copy(), 0, dt, 0)

    def step(self, model, t, state, dt):
        x, x_prev, k = state.x, state.x_prev, state.k
        c = max(k - 1, 0) / (k + model.r - 1) if k > 0 else 0.0
        y = x + c * (x - x_prev)
        return self.State(y - (dt * dt) * model.grad(y), x, k + 1, state.gamma, state.grad_evals + 1)

    def output(self, model, state):
        return np.concatenate([state.x, (state.x - state.x_prev) / state.gamma], axis=1)


class _StronglyConvexTwoStep(Scheme):
    """Two-step recurrences x_{k+2} = F(x_k, x_{k+1}) for μ-strongly convex f, stored as
    (x_k, x_{k+1}) so that the scheme's state at t_k = k√s reports x_k.

    Parameters
    ----------
    start : {"taylor", "euler"}
        How x_1 is made from the model's (X(0), X'(0)).  ``"taylor"``:
        x_1 = x_0 + √s X'(0) + (s/2) X''(0), consistent to O(s^{3/2}) — what the O(s)
        tracking of a high-resolution ODE needs.  ``"euler"``: x_1 = x_0 + √s X'(0), which
        with Shi et al.'s X'(0) = −2√s∇f(x_0)/(1+√(μs)) is their x_1 = x_0 −
        2s∇f(x_0)/(1+√(μs)); it is only O(s) accurate and costs half an order.
    """

    class State(NamedTuple):
        """x_k and x_{k+1} (n, d), the step √s, gradient evaluations per path."""

        x: np.ndarray
        x_next: np.ndarray
        gamma: float
        grad_evals: int

    approximates = (HighResolutionODE,)
    order = 2

    def __init__(self, start: str = "taylor"):
        if start not in ("taylor", "euler"):
            raise ValueError(f"`start` must be one of ['taylor', 'euler']; got {start!r}")
        self.start = start

    def _check_step(self, model, dt):
        if abs(dt * dt - model.s) > 1e-9 * model.s:
            raise ValueError(f"`dt` must be √s = {math.sqrt(model.s):.6g} for a model built with "
                             f"s = {model.s:g}; got {dt:g}")

    def momentum(self, model, dt):
        q = ops.sqrt(model.mu) * dt
        return (1 - q) / (1 + q)

    def init(self, model, y0, dt):
        self._check_step(model, dt)
        x0, v0 = y0[:, : model.d].copy(), y0[:, model.d:]
        x1 = x0 + dt * v0
        if self.start == "euler":
            return self.State(x0, x1, dt, 0)
        x1 = x1 + (dt * dt / 2) * model.drift(0.0, y0)[:, model.d:]
        return self.State(x0, x1, dt, 1)

    def output(self, model, state):
        return np.concatenate([state.x, (state.x_next - state.x) / state.gamma], axis=1)

    def gradient_point(self, x, x_next, a):
        raise NotImplementedError

    def step(self, model, t, state, dt):
        x, x_next = state.x, state.x_next
        a = self.momentum(model, dt)
        y = x_next + a * (x_next - x)
        g = model.grad(self.gradient_point(x_next, y))
        return self.State(x_next, y - (dt * dt) * g, dt, state.grad_evals + 1)

    def __repr__(self):
        return f"{type(self).__name__}(start={self.start!r})"


@register()
class HeavyBallSC(_StronglyConvexTwoStep):
    """Polyak's heavy ball, x_{k+1} = x_k + α(x_k − x_{k−1}) − s∇f(x_k) with
    α = (1 − √(μs))/(1 + √(μs)) (Shi et al. 2018, eq 1.2).  1 gradient per step.

    Order 2 in √s (i.e. O(s)) against its own high-resolution ODE
    X'' + 2√μ X' + (1 + √(μs))∇f(X) = 0 with the ``"taylor"`` start; order 1 (O(√s))
    against the low-resolution X'' + 2√μ X' + ∇f(X) = 0.
    """

    name = "heavy-ball-sc"
    reference = "Polyak (1964); Shi, Du, Jordan & Su (2018), eq 1.2"

    def gradient_point(self, x, y):
        return x


@register()
class NesterovSC(_StronglyConvexTwoStep):
    """NAG-SC, y_k = x_k + α(x_k − x_{k−1}), x_{k+1} = y_k − s∇f(y_k) with
    α = (1 − √(μs))/(1 + √(μs)) (Shi et al. 2018, eq 1.4).  1 gradient per step.

    Order 2 in √s against its own high-resolution ODE, which carries the gradient
    correction √s ∇²f(X) X'; order 1 against the low-resolution ODE.
    """

    name = "nag-sc"
    reference = "Nesterov (1983, 2004); Shi, Du, Jordan & Su (2018), eq 1.4"

    def gradient_point(self, x, y):
        return y


