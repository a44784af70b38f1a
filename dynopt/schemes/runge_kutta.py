"""Explicit Runge–Kutta methods: numbers (a Butcher tableau) plus one shared stage loop,
:func:`rk_step`.  On gradient flow, Euler *is* gradient descent (kexue-5655 eqs 2–4).
"""
from __future__ import annotations


from dynopt.schemes.base import Scheme
from dynopt.schemes.registry import register

__all__ = ["rk_step", "ExplicitRK", "Euler", "Heun", "RK4"]


def rk_step(fun, t, y, h, A, B, C):
    """One explicit Runge–Kutta step for ``y' = fun(t, y)`` with tableau (A, B, C).

    Parameters
    ----------
    fun : callable
        ``fun(t, y)`` on batched states ``(n, D)``.
    A : sequence of sequences
        Strictly lower-triangular stage coefficients.
    B, C : sequence
        Weights and nodes.
    """
    ks = []
    for i, ci in enumerate(C):
        yi = y
        for aij, kj in zip(A[i], ks):
            if aij:
                yi = yi + (h * aij) * kj
        ks.append(fun(t + ci * h, yi))
    out = y
    for bi, ki in zip(B, ks):
        if bi:
            out = out + (h * bi) * ki
    return out


class ExplicitRK(Scheme):
    """Explicit Runge–Kutta method given by its Butcher tableau (class attributes A, B, C).

    Discretizes any ODE model (``approximates = (Model,)``); one drift evaluation per
    stage.  State: :class:`Scheme.State` ``(y, grad_evals)``.
    """

    A: tuple = ()
    B: tuple = ()
    C: tuple = ()

    @property
    def grad_evals(self):
        return len(self.C)

    def step(self, model, t, state, dt):
        y = rk_step(model.drift, t, state.y, dt, self.A, self.B, self.C)
        return self.State(y, state.grad_evals + len(self.C))


@register()
class Euler(ExplicitRK):
    """Forward Euler, order 1, 1 gradient per step.  On gradient flow it *is* gradient
    descent θ_{n+1} = θ_n − γ∇L(θ_n) (kexue-5655 eqs 2–4)."""

    name = "euler"
    order = 1
    reference = "Euler (1768); kexue-5655 eq 2"
    A, B, C = ((),), (1.0,), (0.0,)


@register()
class Heun(ExplicitRK):
    """Heun's method (explicit trapezoid), order 2, 2 gradients per step."""

    name = "heun"
    order = 2
    reference = "Heun (1900)"
    A, B, C = ((), (1.0,)), (0.5, 0.5), (0.0, 1.0)


@register()
class RK4(ExplicitRK):
    """The classical Runge–Kutta method, order 4, 4 gradients per step."""

    name = "rk4"
    order = 4
    reference = "Kutta (1901)"
    A = ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0))
    B = (1 / 6, 1 / 3, 1 / 3, 1 / 6)
    C = (0.0, 0.5, 0.5, 1.0)
