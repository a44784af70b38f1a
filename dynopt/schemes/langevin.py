"""Langevin integrators for the Kramers equation.

The splittings are literally their names: :class:`Splitting` composes the substeps A (drift
of θ), B (kick by the force), O (exact Ornstein–Uhlenbeck step of η) read from a string such
as ``"BAOAB"`` (Leimkuhler & Matthews 2013).  :class:`MomentumSGD` is the leapfrog of
kexue-5655 eq 16 with a noisy gradient.
"""
from __future__ import annotations


import numbers
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from dynopt.dynamics import Kramers
from dynopt.schemes import ops
from dynopt.schemes.maps import eq15_alpha_beta, leapfrog_coefficients
from dynopt.schemes.sde import SDEScheme
from dynopt.schemes.registry import register

__all__ = ["Splitting", "BAOAB", "OBABO", "ABOBA", "MomentumSGD"]


class Splitting(SDEScheme):
    """A Langevin splitting scheme for the Kramers equation composed from named substeps.

    A: θ ← θ + h η.   B: η ← η − h ∇L(θ).   O: the exact Ornstein–Uhlenbeck step
    η ← c η + σ √((1 − c²)/(2λ)) ξ with c = e^{−λh} (η ← η + σ√h ξ when λ = 0).
    Each letter's substep is h divided by the number of times it occurs; the force is
    kept in the state with whether it belongs to the current θ, so BAOAB, ABOBA and
    OBABO need one gradient per step (plus one at the start, all counted in the state's
    ``grad_evals``).  Weak order 2 (Leimkuhler & Matthews 2013); strong order 1
    (additive noise).  ``n_terms`` is the number of O substeps: with Brownian replay the
    k-th O of a step gets the increment over the k-th part of the step.

    Parameters
    ----------
    sequence : str
        Letters from {A, B, O}, e.g. "BAOAB".
    """

    class State(NamedTuple):
        """Positions ``q`` and velocities ``p`` (n, d), the force −∇L, whether the force
        is that of the current ``q``, gradient evaluations per path."""

        q: np.ndarray
        p: np.ndarray
        force: np.ndarray
        fresh: bool
        grad_evals: int

    approximates = (Kramers,)
    noise_types = ("additive",)
    strong_order = 1.0
    strong_order_additive = 1.0
    weak_order = 2.0
    reference = "Leimkuhler & Matthews, Appl. Math. Res. Express 2013"

    def __init__(self, sequence="BAOAB"):
        seq = str(sequence).upper()
        if not seq or set(seq) - set("ABO") or not {"A", "B"} <= set(seq):
            raise ValueError(f"`sequence` must be letters from A, B, O containing A and B; got {sequence!r}")
        self.sequence = seq
        self.name = seq.lower()
        self.n_terms = max(1, seq.count("O"))
        # exact fractions: dt·½ rounds as dt·0.5 on floats and stays h/2 on symbols
        self._frac = {c: Fraction(1, seq.count(c)) for c in set(seq)}

    def init(self, model, y0, dt):
        d = model.d
        q = np.ascontiguousarray(y0[:, :d])
        p = np.ascontiguousarray(y0[:, d:])
        return self.State(q, p, model.force(q), True, 1)

    def output(self, model, state):
        return np.concatenate([state.q, state.p], axis=1)

    def _o(self, model, p, h, xi):
        """The exact Ornstein–Uhlenbeck substep of η over ``h`` with the normals ``xi``."""
        lam, s = model.friction, model.sigma
        if lam > 0:
            c = ops.exp(-lam * h)
            amp = s * ops.sqrt(-ops.expm1(-2 * lam * h) / (2 * lam))
        else:
            c, amp = 1.0, s * ops.sqrt(h)
        return (p if c == 1.0 else p * c) + xi * amp

    def step(self, model, t, state, dt, z):
        q, p, force = state.q, state.p, state.force
        fresh, evals = state.fresh, state.grad_evals
        k = 0
        for c in self.sequence:
            h = dt * self._frac[c]
            if c == "A":
                q = q + p * h
                fresh = False
            elif c == "B":
                if not fresh:
                    force = model.force(q)
                    fresh = True
                    evals += 1
                p = p + force * h
            else:
                p = self._o(model, p, h, z[k])
                k += 1
        return self.State(q, p, force, fresh, evals)


@register("baoab")
class BAOAB(Splitting):
    """B A O A B: one gradient per step; configurational averages exact for harmonic
    potentials and fourth order in the high-friction limit (Leimkuhler & Matthews 2013)."""

    def __init__(self):
        super().__init__("BAOAB")


@register("obabo")
class OBABO(Splitting):
    """O B A B O: velocity Verlet between two half OU steps (Bussi & Parrinello 2007)."""

    def __init__(self):
        super().__init__("OBABO")


@register("aboba")
class ABOBA(Splitting):
    """A B O B A (Leimkuhler & Matthews 2013)."""

    def __init__(self):
        super().__init__("ABOBA")


@register()
class MomentumSGD(SDEScheme):
    """Momentum SGD as the leapfrog of kexue-5655 eq 16 with a noisy gradient:

    v_{n+1} = β v_n − α ∇L(θ_n) + α σ ξ_n/√γ,  θ_{n+1} = θ_n + v_{n+1},

    with (α, β) from γ = dt and λ by eq 15, so v = γ η_{n+1/2} and the noise is the
    Kramers force σ dW integrated over one step (a BBK-type scheme).  One gradient per
    step; weak order 1 declared (its invariant measure is second order, measured in
    leimkuhler-matthews-2013.baoab-superconvergence).  Velocities are reported at half
    steps.
    """

    class State(NamedTuple):
        """Positions ``q`` and v = γ η_{n+1/2} (n, d), the step γ of the last update,
        gradient evaluations per path."""

        q: np.ndarray
        v: np.ndarray
        gamma: float
        grad_evals: int

    name = "momentum-sgd"
    approximates = (Kramers,)
    noise_types = ("additive",)
    strong_order = 1.0
    strong_order_additive = 1.0
    weak_order = 1.0
    reference = "kexue-5655 eqs 15–16 with noise; Brünger, Brooks & Karplus (1984)"

    def init(self, model, y0, dt):
        if isinstance(dt, numbers.Real):
            leapfrog_coefficients(dt, model.friction)  # its checks (λγ ≤ 2), once per run
        d = model.d
        q = np.ascontiguousarray(y0[:, :d])
        v = np.ascontiguousarray(y0[:, d:]) * dt
        return self.State(q, v, dt, 0)

    def output(self, model, state):
        return np.concatenate([state.q, state.v / state.gamma], axis=1)

    def step(self, model, t, state, dt, z):
        q = state.q
        alpha, beta = eq15_alpha_beta(dt, model.friction)
        v = state.v * beta - model.grad(q) * alpha + z[0] * (alpha * model.sigma / ops.sqrt(dt))
        return self.State(q + v, v, dt, state.grad_evals + 1)
