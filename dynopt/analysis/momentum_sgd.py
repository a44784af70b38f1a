"""Momentum SGD as a discretized Kramers equation: the (γ, λ, σ) of an optimizer's (α, β, noise),
exact stationary covariances from the discrete Lyapunov equation, and ensembles.
"""
from __future__ import annotations


import math
from dataclasses import dataclass
import numpy as np
from scipy.linalg import solve_discrete_lyapunov
from dynopt.checks import check_finite_param, check_int
from dynopt.problems import Problem
from dynopt.dynamics import Kramers
from dynopt.engine import EnsembleOptions, Moments, as_seed_sequence, simulate
from dynopt.schemes import leapfrog_ode_parameters

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


class _EnergyMoments(Moments):
    """Ensemble moments of (H, |η|²) of a Kramers state y = [θ, η] instead of y itself."""

    def __init__(self, model, every):
        super().__init__(every=every, name="energy")
        self.model = model

    def start(self, layout, state_dim):
        super().start(layout, 2)

    def observe(self, k, t, y, b0, b1, layout, alive):
        eta2 = np.sum(self.model.velocity(y) ** 2, axis=1)
        H = 0.5 * eta2 + self.model.problem.value_fn(self.model.position(y))
        super().observe(k, t, np.column_stack([H, eta2]), b0, b1, layout, alive)


def momentum_sgd_ensemble(problem: Problem, alpha, beta, noise_var, n_steps, n_paths, rng,
                          theta0=None, record_every=None) -> MomentumSGDRun:
    """Momentum SGD with additive Gaussian gradient noise, an ensemble of paths::

        v_{n+1} = β v_n − α(∇L(θ_n) + ξ_n),  θ_{n+1} = θ_n + v_{n+1},  ξ_n ~ N(0, c·I)

    (kexue-5655 eq 16 with a noisy gradient; β = 1 is "naive SGHMC", Chen, Fox & Guestrin
    2014, eq 3 discretized).  Started from rest at ``theta0`` (default x* or 0).

    The run is :func:`dynopt.engine.simulate` of the Kramers model with (γ, λ, σ² = γc)
    from :func:`kramers_parameters` (β = 1 is λ = 0) and the ``"momentum-sgd"`` scheme,
    whose step with ``dt = γ`` is this iteration.

    Parameters
    ----------
    problem : Problem
    alpha : float > 0
    beta : float in [0, 1]
    noise_var : float ≥ 0
    n_steps, n_paths : int ≥ 1
    rng : int, SeedSequence or Generator
        Root of the engine's per-block random streams.
    theta0 : array_like, shape (d,), optional
    record_every : int, optional
        Record energy statistics every so many steps (default: only at the end).

    Returns
    -------
    MomentumSGDRun
        Paths that blow up are excluded from the energy statistics (their final rows are NaN).
    """
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0)
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    check_int(n_steps, "n_steps")
    check_int(n_paths, "n_paths")
    if record_every is not None:
        check_int(record_every, "record_every")
    root = as_seed_sequence(rng=rng, name="rng")
    d = problem.dim
    if theta0 is None:
        theta0 = problem.minima[0] if problem.minima is not None else np.zeros(d)
    kp = kramers_parameters(a, b, c)
    model = Kramers(problem, kp.friction, math.sqrt(kp.sigma2))
    energy = _EnergyMoments(model, record_every or n_steps)
    res = simulate(model, "momentum-sgd", (0.0, n_steps * kp.gamma), np.asarray(theta0, float).reshape(d), kp.gamma,
                   n_paths=int(n_paths), seed=root, observers=[energy],
                   options=EnsembleOptions(progress=False))
    stats = res.observations["energy"]
    se = stats.se[:, 0] if n_paths > 1 else np.full(len(stats.t), math.nan)
    return MomentumSGDRun(model.position(res.y_final), model.velocity(res.y_final) * kp.gamma,
                          np.round(stats.t / kp.gamma).astype(int), stats.mean[:, 0], se,
                          stats.mean[:, 1], kp.gamma)
