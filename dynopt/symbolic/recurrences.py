"""The schemes of dynopt.schemes as recurrences sympy can manipulate.

The momentum family (θ_{n+1} = θ_n + v_{n+1}, v_{n+1} = βv_n − α∇L(point)) is written as
a two-step recurrence in θ alone, using v_n = θ_n − θ_{n−1}:

    θ_{n+1} − θ_n = β(θ_n − θ_{n−1}) − α∇L(point(θ_{n+1}, θ_n, θ_{n−1}, β)).

The gradient point and the (γ, λ) → (α, β) map of each scheme mirror
``dynopt.schemes.ode`` (the tests check one step of each against the numeric scheme).
"""
from __future__ import annotations

from dynopt.symbolic.coefficients import eq17_update, leapfrog_update

__all__ = ["MOMENTUM_SCHEMES", "gradient_point", "coefficients_of", "RK_SCHEMES"]

#: name -> (gradient point (θ_{n+1}, θ_n, θ_{n−1}, β) -> point, coefficient map)
MOMENTUM_SCHEMES = {
    "leapfrog": (lambda t1, t0, tm, b: t0, "eq15"),
    "heavy-ball": (lambda t1, t0, tm, b: t0, "eq15"),
    "nesterov": (lambda t1, t0, tm, b: t0 + b * (t0 - tm), "eq18"),
    "nesterov-half": (lambda t1, t0, tm, b: t0 + b / 2 * (t0 - tm), "eq18"),
    "implicit19": (lambda t1, t0, tm, b: (t0 + t1) / 2, "eq18"),
}

#: Runge–Kutta schemes of dynopt.schemes (their tableaux are read from the classes)
RK_SCHEMES = ("euler", "heun", "rk4")


def gradient_point(name):
    """The point at which the scheme ``name`` evaluates ∇L."""
    if name not in MOMENTUM_SCHEMES:
        raise ValueError(f"`name` must be one of {sorted(MOMENTUM_SCHEMES)}; got {name!r}")
    return MOMENTUM_SCHEMES[name][0]


def coefficients_of(name):
    """(β, α) in terms of (γ, λ) for the momentum scheme ``name`` (derived, eq 15 or eq 18)."""
    if name not in MOMENTUM_SCHEMES:
        raise ValueError(f"`name` must be one of {sorted(MOMENTUM_SCHEMES)}; got {name!r}")
    which = MOMENTUM_SCHEMES[name][1]
    if which == "eq15":
        b, a, _ = leapfrog_update()
        return b, a
    return eq17_update("printed")
