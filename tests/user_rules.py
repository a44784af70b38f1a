"""Update rules as a researcher writes them in a file of their own: one class (or one
(init, update) pair) each, nothing registered.  The tests import them from here, so each rule is
written once, outside dynopt."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynopt import dynamics, optim
from dynopt.schemes import Scheme, SDEScheme, ops

__all__ = ["QHM", "AB2", "Platen", "QHMState", "qhm"]


class QHM(Scheme):
    """Quasi-hyperbolic momentum (Ma & Yarats 2019) as a scheme for gradient flow:
    g ← βg + (1−β)∇L(θ), θ ← θ − a h[(1−ν)∇L(θ) + νg]; g starts at ∇L(θ_0)."""

    class State(NamedTuple):
        q: np.ndarray
        g: np.ndarray
        grad_evals: int

    name = "qhm"
    approximates = (dynamics.GradientFlow,)
    order = 1
    grad_evals = 1

    def __init__(self, a=1.0, beta=0.9, nu=0.7):
        self.a, self.beta, self.nu = a, beta, nu

    def init(self, model, y0, dt):
        return self.State(y0, model.grad(y0), 1)

    def step(self, model, t, s, h):
        G = model.grad(s.q)
        g = self.beta * s.g + (1 - self.beta) * G
        return self.State(s.q - self.a * h * ((1 - self.nu) * G + self.nu * g), g, s.grad_evals + 1)


class AB2(Scheme):
    """Two-step Adams–Bashforth for gradient flow: θ ← θ − h(3/2 ∇L(θ_n) − 1/2 ∇L(θ_{n−1}));
    the past gradient starts at ∇L(θ_0), so the first step is Euler's."""

    class State(NamedTuple):
        q: np.ndarray
        g: np.ndarray
        grad_evals: int

    name = "ab2"
    approximates = (dynamics.GradientFlow,)
    order = 2
    grad_evals = 1

    def init(self, model, y0, dt):
        return self.State(y0, model.grad(y0), 1)

    def step(self, model, t, s, h):
        G = model.grad(s.q)
        return self.State(s.q - h * (1.5 * G - 0.5 * s.g), G, s.grad_evals + 1)


class Platen(SDEScheme):
    """Kloeden & Platen's derivative-free order-1.0 strong scheme (1992, eq 11.1.7) for
    diagonal noise: Milstein with ∂g replaced by a difference at the support value
    Ῡ = Y + f h + g √h."""

    name = "platen"
    noise_types = ("diagonal",)
    strong_order = 1.0
    weak_order = 1.0
    grad_evals = 1

    def step(self, model, t, state, dt, z):
        y = state.y
        sq = ops.sqrt(dt)
        dW = z[0] * sq
        f = model.drift_in("ito")(t, y)
        g = model.diffusion(t, y)
        support = y + f * dt + g * sq
        gs = model.diffusion(t, support)
        new = y + f * dt + g * dW + (gs - g) * (dW * dW - dt) / (2 * sq)
        return self.State(new, state.grad_evals + 1)


class QHMState(NamedTuple):
    buf: object


def qhm(a, beta, nu):
    """Quasi-hyperbolic momentum (Ma & Yarats 2019): g ← βg + (1−β)∇L, θ ← θ − a[(1−ν)∇L + νg]."""
    def init(p):
        return QHMState(optim.tree_map(lambda x: np.zeros_like(np.asarray(x, dtype=float)), p))

    def update(g, s, p=None):
        buf = optim.tree_map(lambda b, x: beta * b + (1 - beta) * x, s.buf, g)
        return optim.tree_map(lambda x, b: -a * ((1 - nu) * x + nu * b), g, buf), QHMState(buf)

    return optim.GradientTransformation(init, update)
