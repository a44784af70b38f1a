"""Exact two-way maps between ODE parameters (step γ, friction λ) and optimizer
parameters (learning rate α, momentum β).

* Leapfrog / heavy ball, kexue-5655 eq 15:  β = (1 − λγ/2)/(1 + λγ/2),  α = γ²/(1 + λγ/2).
* Nesterov form of eq 17, kexue-5655 eq 18:  β = 1 − λγ,  α = γ².

The inverses are closed-form: no root finding, so a round trip is exact to rounding.

The optimizer side of the same maps (:func:`heavy_ball_ode_parameters`,
:func:`momentum_from_ode`) takes a learning rate and a momentum as the optimizers do.
"""
from __future__ import annotations


import math
from dynopt.checks import check_finite_param

__all__ = ["eq15_alpha_beta", "eq18_alpha_beta", "ALPHA_BETA", "leapfrog_coefficients", "leapfrog_ode_parameters", "nesterov_coefficients", "nesterov_ode_parameters", "COEFFICIENT_MAPS", "heavy_ball_ode_parameters", "nesterov_ode_parameters_from_optimizer", "momentum_from_ode"]


def eq15_alpha_beta(gamma, friction):
    """(α, β) of eq 15 as plain arithmetic: numbers in, numbers out; sympy symbols in,
    sympy expressions out.  :func:`leapfrog_coefficients` is the checked numeric form."""
    x = friction * gamma / 2
    return gamma * gamma / (1 + x), (1 - x) / (1 + x)


def eq18_alpha_beta(gamma, friction):
    """(α, β) of eq 18 as plain arithmetic (numbers or sympy symbols): α = γ², β = 1 − λγ."""
    return gamma * gamma, 1 - friction * gamma


def leapfrog_coefficients(gamma, friction):
    """(α, β) of heavy-ball momentum equal to the leapfrog step γ of θ''+λθ'=−∇L (eq 15).

    Parameters
    ----------
    gamma : float
        ODE step γ > 0.
    friction : float
        λ ≥ 0, with λγ ≤ 2 so that β ∈ [0, 1].

    Returns
    -------
    alpha, beta : float
    """
    g = check_finite_param(gamma, "gamma", low=0.0, low_inclusive=False)
    lam = check_finite_param(friction, "friction", low=0.0)
    x = lam * g / 2
    if x > 1:
        raise ValueError(f"`friction`·`gamma` must be in [0, 2] so that β ∈ [0, 1]; got λγ = {2 * x:g}")
    return eq15_alpha_beta(g, lam)


def leapfrog_ode_parameters(alpha, beta):
    """Inverse of :func:`leapfrog_coefficients`: (γ, λ) from (α, β), β ∈ [0, 1]."""
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0)
    x = (1 - b) / (1 + b)  # λγ/2
    gamma = math.sqrt(a * (1 + x))
    return gamma, 2 * x / gamma


def nesterov_coefficients(gamma, friction):
    """(α, β) of the Nesterov form (eq 19/20) for step γ and friction λ (eq 18)."""
    g = check_finite_param(gamma, "gamma", low=0.0, low_inclusive=False)
    lam = check_finite_param(friction, "friction", low=0.0)
    if lam * g > 1:
        raise ValueError(f"`friction`·`gamma` must be in [0, 1] so that β ∈ [0, 1]; got λγ = {lam * g:g}")
    return eq18_alpha_beta(g, lam)


def nesterov_ode_parameters(alpha, beta):
    """Inverse of :func:`nesterov_coefficients`: γ = √α, λ = (1 − β)/√α."""
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0)
    gamma = math.sqrt(a)
    return gamma, (1 - b) / gamma


#: coefficient map name -> its plain-arithmetic (α, β) function (numbers or sympy symbols)
ALPHA_BETA = {"eq15": eq15_alpha_beta, "eq18": eq18_alpha_beta}

COEFFICIENT_MAPS = {
    "eq15": (leapfrog_coefficients, leapfrog_ode_parameters),
    "eq18": (nesterov_coefficients, nesterov_ode_parameters),
}


# ---------------------------------------------------------------------------------
# Momentum ↔ ODE parameters (exact maps of the foundation)
# ---------------------------------------------------------------------------------
def heavy_ball_ode_parameters(lr, momentum):
    """(γ, λ) of θ'' + λθ' = −∇L whose leapfrog step is heavy-ball momentum (α, β) = (lr, μ).

    Exact inverse of kexue-5655 eq 15 (:func:`dynopt.schemes.maps.leapfrog_ode_parameters`);
    iterate n sits at time nγ.  Valid in every convention at constant lr.
    """
    return leapfrog_ode_parameters(lr, momentum)


def nesterov_ode_parameters_from_optimizer(lr, momentum):
    """(γ, λ) for Nesterov momentum (lr, μ) through kexue-5655 eq 18: γ = √lr, λ = (1 − μ)/√lr."""
    return nesterov_ode_parameters(lr, momentum)


def momentum_from_ode(gamma, friction, form: str = "heavy-ball"):
    """(lr, momentum) of the optimizer that discretizes θ'' + λθ' = −∇L with step γ.

    ``form="heavy-ball"`` uses eq 15, ``"nesterov"`` eq 18.
    """
    if form == "heavy-ball":
        return leapfrog_coefficients(gamma, friction)
    if form == "nesterov":
        return nesterov_coefficients(gamma, friction)
    raise ValueError(f"`form` must be one of ['heavy-ball', 'nesterov']; got {form!r}")
