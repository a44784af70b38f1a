"""Tuned methods and rates vs condition number: GD, Polyak's heavy ball and Nesterov on a
spectrum [μ, L], iterations to a tolerance and asymptotic rates (Polyak 1964).
"""
from __future__ import annotations


import math
from dataclasses import dataclass
from typing import Optional
import numpy as np
from dynopt.dynamics import GradientFlow, HeavyBall, Model
from dynopt.checks import check_finite_param, check_int
from dynopt.engine import integrate
from dynopt.problems import Problem
from dynopt.schemes import (Euler, HeavyBallMomentum, Nesterov, leapfrog_ode_parameters,
                            nesterov_ode_parameters)

__all__ = ["Tuning", "gd_tuning", "polyak_tuning", "nesterov_tuning", "nesterov_quadratic_tuning", "TUNINGS", "tuned_method", "ToleranceRun", "iterations_to_tolerance", "asymptotic_rate"]


# ---------------------------------------------------------------------------------------
# Tunings for μ-strongly convex, L-smooth f and their predicted rates
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tuning:
    """A constant-parameter first-order method: learning rate α, momentum β.

    Attributes
    ----------
    name : str
    alpha, beta : float
    rate : float
        The predicted linear rate ρ on quadratics with spectrum in [μ, L]:
        ‖x_k − x*‖ ≈ C·ρ^k (up to a polynomial factor where roots are repeated).
    method : {"gd", "heavy-ball", "nesterov"}
        Where the gradient is taken (at x_k, or at the look-ahead x_k + β v_k).
    reference : str
    """

    name: str
    alpha: float
    beta: float
    rate: float
    method: str
    reference: str = ""

    def predicted_iterations(self, tol: float) -> float:
        """ln(tol)/ln(ρ): iterations for ρ^k to reach ``tol``."""
        return math.log(tol) / math.log(self.rate)


def _mu_L(mu, L):
    mu = check_finite_param(mu, "mu", low=0.0, low_inclusive=False)
    L = check_finite_param(L, "L", low=mu)
    return mu, L


def gd_tuning(mu, L) -> Tuning:
    """Gradient descent with α = 2/(L+μ): rate (κ−1)/(κ+1), κ = L/μ."""
    mu, L = _mu_L(mu, L)
    k = L / mu
    return Tuning("GD", 2 / (L + mu), 0.0, (k - 1) / (k + 1), "gd", "Cauchy (1847); Polyak (1987) §1.4")


def polyak_tuning(mu, L) -> Tuning:
    """Heavy ball with Polyak's quadratic-optimal α = 4/(√L+√μ)², β = ((√κ−1)/(√κ+1))²:
    rate (√κ−1)/(√κ+1) (Polyak 1964, Theorem 9)."""
    mu, L = _mu_L(mu, L)
    q = math.sqrt(L / mu)
    return Tuning("heavy ball (Polyak)", 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2,
                  ((q - 1) / (q + 1)) ** 2, (q - 1) / (q + 1), "heavy-ball", "Polyak (1964)")


def nesterov_tuning(mu, L) -> Tuning:
    """Nesterov's standard strongly convex tuning α = 1/L, β = (√κ−1)/(√κ+1): rate
    1 − 1/√κ (Nesterov 2004, §2.2; on quadratics the root at μ is double)."""
    mu, L = _mu_L(mu, L)
    q = math.sqrt(L / mu)
    return Tuning("Nesterov (standard)", 1 / L, (q - 1) / (q + 1), 1 - 1 / q, "nesterov",
                  "Nesterov (2004), constant step scheme III")


def nesterov_quadratic_tuning(mu, L) -> Tuning:
    """Nesterov tuned for quadratics: α = 4/(3L+μ), β = (√(3κ+1)−2)/(√(3κ+1)+2), rate
    1 − 2/√(3κ+1) (Lessard, Recht & Packard 2016, Proposition 1 / Table)."""
    mu, L = _mu_L(mu, L)
    q = math.sqrt(3 * L / mu + 1)
    return Tuning("Nesterov (quadratic-optimal)", 4 / (3 * L + mu), (q - 2) / (q + 2), 1 - 2 / q,
                  "nesterov", "Lessard, Recht & Packard (2016), §2.2")


TUNINGS = {"gd": gd_tuning, "polyak": polyak_tuning, "nesterov": nesterov_tuning,
           "nesterov-quadratic": nesterov_quadratic_tuning}


def tuned_method(problem: Problem, tuning: Tuning):
    """The dynopt (model, scheme, dt) whose iterates are the optimizer ``tuning``.

    GD with rate α is Euler on gradient flow with dt = α; heavy ball with (α, β) is the
    leapfrog started from rest on θ'' + λθ' = −∇L with (γ, λ) from the inverse of
    kexue-5655 eq 15; Nesterov with (α, β) is the look-ahead scheme with (γ, λ) from the
    inverse of eq 18 (γ = √α, λ = (1−β)/√α).  The maps are exact, so the iterates are the
    optimizer's to rounding.

    Returns
    -------
    model : Model
    scheme : Scheme
    dt : float
    """
    if tuning.method == "gd":
        return GradientFlow(problem), Euler(), tuning.alpha
    if tuning.method == "heavy-ball":
        gamma, lam = leapfrog_ode_parameters(tuning.alpha, tuning.beta)
        return HeavyBall(problem, lam), HeavyBallMomentum(start="rest"), gamma
    if tuning.method == "nesterov":
        gamma, lam = nesterov_ode_parameters(tuning.alpha, tuning.beta)
        return HeavyBall(problem, lam), Nesterov(start="rest"), gamma
    raise ValueError(f"`tuning.method` must be one of ['gd', 'heavy-ball', 'nesterov']; got {tuning.method!r}")


@dataclass
class ToleranceRun:
    """Result of :func:`iterations_to_tolerance`.

    Attributes
    ----------
    iterations : int or None
        First k with relative error ≤ tol (None if not reached in ``max_iter`` or diverged).
    errors : ndarray, shape (k_done + 1,)
        Relative errors ‖x_k − x*‖/‖x_0 − x*‖ (worst path), k = 0..k_done.
    diverged_step : int or None
    """

    iterations: Optional[int]
    errors: np.ndarray
    diverged_step: Optional[int]

    @property
    def reached(self) -> bool:
        return self.iterations is not None


def iterations_to_tolerance(model: Model, scheme, y0, dt, x_star, tol=1e-8,
                            max_iter=1_000_000) -> ToleranceRun:
    """Run ``scheme`` on ``model`` until ‖x_k − x*‖ ≤ tol·‖x_0 − x*‖ for every path.

    The run is :func:`dynopt.engine.integrate` with the tolerance as its terminal
    condition (``stop``), so divergence follows the engine's one rule (``blown_up``).

    Parameters
    ----------
    model, scheme, dt :
        As returned by :func:`tuned_method` (any dynopt ODE model and scheme work).
    y0 : array_like, shape (d,) or (n_paths, d) or with velocities
    x_star : array_like, shape (d,)
    tol : float in (0, 1)
    max_iter : int

    Returns
    -------
    ToleranceRun
    """
    tol = check_finite_param(tol, "tol", low=0.0, low_inclusive=False, high=1.0, high_inclusive=False)
    check_int(max_iter, "max_iter")
    xs = np.asarray(x_star, float).reshape(1, -1)
    e0 = np.linalg.norm(model.position(model.as_state(y0)) - xs, axis=1)
    if np.any(e0 == 0):
        raise ValueError("`y0` starts at `x_star`: the relative error is undefined")
    errs = [1.0]

    def reached(t, y):
        # the worst path's relative error, kept for the returned error history
        errs.append(float(np.max(np.linalg.norm(model.position(y) - xs, axis=1) / e0)))
        return errs[-1] <= tol

    sol = integrate(model, scheme, (0.0, max_iter * dt), y0, dt, stop=reached)
    return ToleranceRun(sol.stopped_step, np.array(errs), sol.diverged_step)


def asymptotic_rate(errors, tail: float = 0.5, polynomial: bool = True) -> float:
    """Linear rate ρ fitted to the last ``tail`` of a run of errors.

    With ``polynomial=True`` the model is log e_k = a + b·log k + k·log ρ (least squares),
    which absorbs the k^b factor of repeated roots (heavy ball and Nesterov at their
    optimal tunings have a double root, e_k ~ k ρ^k); otherwise the plain slope of log e_k.
    """
    e = np.asarray(errors, float)
    k0 = max(int(len(e) * (1 - tail)), 1)
    k = np.arange(k0, len(e), dtype=float)
    if len(k) < 4:
        raise ValueError(f"need at least 4 errors in the tail; got {len(k)}")
    if not np.all(e[k0:] > 0):
        raise ValueError("`errors` must be > 0 in the tail")
    cols = [np.ones_like(k), k] + ([np.log(k)] if polynomial else [])
    coef, *_ = np.linalg.lstsq(np.column_stack(cols), np.log(e[k0:]), rcond=None)
    return float(np.exp(coef[1]))
