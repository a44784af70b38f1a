"""Momentum SGD as a discretized Kramers equation: the (γ, λ, σ) of an optimizer's (α, β, noise),
exact stationary covariances from the discrete Lyapunov equation, and ensembles.
"""
from __future__ import annotations
from dynopt.checks import as_generator


import math
from dataclasses import dataclass
import numpy as np
from scipy.linalg import solve_discrete_lyapunov
from dynopt.checks import check_finite_param
from dynopt.problems import Problem
from dynopt.schemes import (leapfrog_ode_parameters)

__all__ = ["KramersParameters", "kramers_parameters", "momentum_sgd_matrices", "momentum_sgd_stationary_covariance", "sgd_stationary_variance", "MomentumSGDRun", "momentum_sgd_ensemble"]


@dataclass(frozen=True)
class KramersParameters:
    """The Kramers equation θ'' + λθ' = −∇L + σξ (kexue-5655 eq 21) of momentum SGD.

    Attributes
    ----------
    gamma, friction : float
        Step γ and friction λ from the inverse of kexue-5655 eq 15.
    sigma2 : float
        Noise intensity σ² = γc.  In the eq-14 form the noisy force −(∇L + ξ) is
        discretized like the force, so the velocity kick per step is γ·ξ, variance γ²c =
        σ²·γ (the implicit friction divides kick and force by the same 1 + λγ/2 that turns
        γ² into α).
    temperature : float
        σ²/(2λ): the stationary density of the Kramers equation is
        ∝ exp(−(η²/2 + L)/T).  With (γ, λ) from eq 15 this is exactly αc/(2(1−β)), the
        small-curvature temperature of SGD with learning rate α/(1−β).
    """

    gamma: float
    friction: float
    sigma2: float
    temperature: float


def kramers_parameters(alpha, beta, noise_var) -> KramersParameters:
    """Map momentum SGD v ← βv − α(∇L + ξ), θ ← θ + v, Var ξ = c, to the Kramers equation.

    Parameters
    ----------
    alpha : float > 0
    beta : float in [0, 1)
    noise_var : float ≥ 0
        Per-step, per-coordinate gradient-noise variance c.

    Returns
    -------
    KramersParameters
    """
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0)
    gamma, lam = leapfrog_ode_parameters(alpha, b)
    sigma2 = gamma * c
    temp = sigma2 / (2 * lam) if lam > 0 else math.inf
    return KramersParameters(gamma, lam, sigma2, temp)


def momentum_sgd_matrices(alpha, beta, h, lookahead=False):
    """(A, b) with z_{n+1} = A z_n + b ξ_n for z = (θ, v) of momentum SGD on L = hθ²/2
    (θ* = 0); ``lookahead`` takes the gradient at θ + βv (Nesterov).

    Returns
    -------
    A : ndarray, shape (2, 2)
    b : ndarray, shape (2,)
    """
    if lookahead:  # gradient at θ + βv
        A = np.array([[1 - alpha * h, beta * (1 - alpha * h)], [-alpha * h, beta * (1 - alpha * h)]])
    else:
        A = np.array([[1 - alpha * h, beta], [-alpha * h, beta]])
    return A, np.array([-alpha, -alpha])


def momentum_sgd_stationary_covariance(alpha, beta, h, noise_var, lookahead=False):
    """Exact stationary covariance of (θ, v) for momentum SGD on L = hθ²/2 with gradient
    noise of variance c: the solution of Σ = AΣAᵀ + c bbᵀ
    (``scipy.linalg.solve_discrete_lyapunov``).

    Raises
    ------
    ValueError
        If the iteration is unstable (spectral radius ≥ 1): no stationary law.
    """
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0, high_inclusive=False)
    h = check_finite_param(h, "h", low=0.0, low_inclusive=False)
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    A, bv = momentum_sgd_matrices(a, b, h, lookahead)
    if np.max(np.abs(np.linalg.eigvals(A))) >= 1:
        raise ValueError(f"momentum SGD with alpha={a:g}, beta={b:g} is unstable at curvature h={h:g}")
    return solve_discrete_lyapunov(A, c * np.outer(bv, bv))


def sgd_stationary_variance(lr, h, noise_var) -> float:
    """Var θ of SGD θ ← θ − lr(hθ + ξ) at stationarity: lr·c/(h(2 − lr·h)) (needs lr·h < 2)."""
    lr = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
    h = check_finite_param(h, "h", low=0.0, low_inclusive=False)
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    if lr * h >= 2:
        raise ValueError(f"`lr`·h must be < 2 for a stationary law; got {lr * h:g}")
    return lr * c / (h * (2 - lr * h))


@dataclass
class MomentumSGDRun:
    """Result of :func:`momentum_sgd_ensemble`.

    Attributes
    ----------
    theta, v : ndarray, shape (n_paths, d)
        Final iterates and momenta.
    steps : ndarray, shape (m,)
        Steps at which observables were recorded.
    energy_mean, energy_se : ndarray, shape (m,)
        Ensemble mean and standard error of H = ‖v/γ‖²/2 + L(θ) (γ from eq 15).
    eta2_mean : ndarray, shape (m,)
        Ensemble mean of ‖v/γ‖².
    gamma : float
    """

    theta: np.ndarray
    v: np.ndarray
    steps: np.ndarray
    energy_mean: np.ndarray
    energy_se: np.ndarray
    eta2_mean: np.ndarray
    gamma: float


def momentum_sgd_ensemble(problem: Problem, alpha, beta, noise_var, n_steps, n_paths, rng,
                          theta0=None, record_every=None) -> MomentumSGDRun:
    """Momentum SGD with additive Gaussian gradient noise, an ensemble of paths::

        v_{n+1} = β v_n − α(∇L(θ_n) + ξ_n),  θ_{n+1} = θ_n + v_{n+1},  ξ_n ~ N(0, c·I)

    (kexue-5655 eq 16 with a noisy gradient; β = 1 is "naive SGHMC", Chen, Fox & Guestrin
    2014, eq 3 discretized).  Started from rest at ``theta0`` (default x* or 0).

    Parameters
    ----------
    problem : Problem
    alpha : float > 0
    beta : float in [0, 1]
    noise_var : float ≥ 0
    n_steps, n_paths : int ≥ 1
    rng : int, SeedSequence or Generator
    theta0 : array_like, shape (d,), optional
    record_every : int, optional
        Record energy statistics every so many steps (default: only at the end).

    Returns
    -------
    MomentumSGDRun
    """
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0)
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    for nm, val in (("n_steps", n_steps), ("n_paths", n_paths)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"`{nm}` must be a positive integer; got {val!r}")
    gen = as_generator(rng)
    d = problem.dim
    if theta0 is None:
        theta0 = problem.minima[0] if problem.minima is not None else np.zeros(d)
    theta = np.broadcast_to(np.asarray(theta0, float).reshape(1, d), (n_paths, d)).copy()
    v = np.zeros_like(theta)
    gamma, _ = leapfrog_ode_parameters(a, b)
    sd = math.sqrt(c)
    every = record_every or n_steps
    steps, em, es, e2 = [], [], [], []

    def record(n):
        eta2 = np.sum(v * v, axis=1) / gamma ** 2
        H = 0.5 * eta2 + problem.value_fn(theta)
        steps.append(n)
        em.append(H.mean())
        es.append(H.std(ddof=1) / math.sqrt(n_paths) if n_paths > 1 else math.nan)
        e2.append(eta2.mean())

    record(0)
    for n in range(1, n_steps + 1):
        g = problem.grad_fn(theta) + sd * gen.standard_normal((n_paths, d))
        v = b * v - a * g
        theta = theta + v
        if n % every == 0:
            record(n)
    return MomentumSGDRun(theta, v, np.array(steps), np.array(em), np.array(es), np.array(e2), gamma)
