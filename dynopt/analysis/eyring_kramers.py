"""Escape times over an index-1 saddle in any dimension: the Eyring–Kramers formula for
overdamped Langevin dynamics and Kramers' (Langer's) rate for the underdamped equation.

Conventions as in :mod:`dynopt.analysis.rates`: dX = −∇U dt + σ dW at kT = σ²/2; the Kramers
equation dX = V dt, dV = −λV dt − ∇U dt + σ dW (unit mass, isotropic friction λ) at
kT = σ²/(2λ).  With H_m = ∇²U(m) at the minimum and H_s = ∇²U(s) at the saddle, whose only
negative eigenvalue is λ₁(s):

* overdamped (Bovier, Eckhoff, Gayrard & Klein 2004, Thm 3.2):
  E[τ] = (2π/|λ₁(s)|)·√(|det H_s| / det H_m)·exp((U(s) − U(m))/kT)·(1 + O(√kT |log kT|));
* underdamped (Kramers 1940 in 1-D; Langer 1969 in N-D):
  k = (μ₊/2π)·√(det H_m / |det H_s|)·exp(−ΔU/kT), with μ₊ = √(λ²/4 + |λ₁(s)|) − λ/2 the
  growth rate of the linearised dynamics at the saddle.  As λ → ∞, λ·k tends to the
  overdamped rate of the position equation dX = −∇U/λ dt + (σ/λ) dW.

In one dimension these are :func:`dynopt.analysis.rates.eyring_kramers_rate` and
:func:`dynopt.analysis.rates.kramers_rate` (``regime="intermediate"``).  The time is the
mean time to reach the other minimum (see :mod:`dynopt.analysis.rates` on rate versus MFPT):
E[τ] to the saddle itself is about half of it.

References
----------
A. Bovier, M. Eckhoff, V. Gayrard and M. Klein, J. Eur. Math. Soc. 6, 399–424 (2004).
H. A. Kramers, Physica 7, 284 (1940).  J. S. Langer, Ann. Phys. 54, 258 (1969).
N. Berglund, Markov Process. Relat. Fields 19, 459 (2013).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import linalg

from dynopt.analysis.rates import kramers_temperature, overdamped_temperature
from dynopt.analysis.saddles import Landscape, StationaryPoint, stationary_point
from dynopt.checks import check_finite_param

__all__ = ["TransitionPrefactor", "transition_prefactor", "eyring_kramers_time", "kramers_rate_nd",
           "TransitionTime", "transition_time"]


class TransitionPrefactor(NamedTuple):
    """The geometry of a transition: ``barrier`` ΔU = U(s) − U(m), ``min_eigenvalues``,
    ``saddle_eigenvalues`` (ascending; the first is the unstable λ₁(s) < 0),
    ``det_ratio`` |det H_s| / det H_m."""

    barrier: float
    min_eigenvalues: np.ndarray
    saddle_eigenvalues: np.ndarray
    det_ratio: float


def transition_prefactor(min_hessian, saddle_hessian, barrier) -> TransitionPrefactor:
    """Check the Hessians (minimum positive definite, saddle of index 1) and collect their
    spectra.

    Parameters
    ----------
    min_hessian, saddle_hessian : array_like, shape (d, d), symmetric
    barrier : float > 0

    Raises
    ------
    ValueError
        When the minimum's Hessian is not positive definite or the saddle's has not exactly
        one negative eigenvalue (and no zero one).
    """
    Hm, Hs = (np.atleast_2d(np.asarray(h, float)) for h in (min_hessian, saddle_hessian))
    if Hm.shape != Hs.shape or Hm.shape[0] != Hm.shape[1]:
        raise ValueError(f"`min_hessian` and `saddle_hessian` must be square of one shape; got {Hm.shape}, {Hs.shape}")
    wm, ws = linalg.eigvalsh(0.5 * (Hm + Hm.T)), linalg.eigvalsh(0.5 * (Hs + Hs.T))
    if not np.all(wm > 0):
        raise ValueError(f"`min_hessian` must be positive definite; eigenvalues {wm.tolist()}")
    if not (ws[0] < 0 and np.all(ws[1:] > 0)):
        raise ValueError(f"`saddle_hessian` must have exactly one negative eigenvalue (index-1 saddle); "
                         f"eigenvalues {ws.tolist()}")
    dU = check_finite_param(barrier, "barrier", low=0.0, low_inclusive=False)
    # ratio of products of eigenvalues in logs: no overflow in many dimensions
    ratio = math.exp(float(np.sum(np.log(np.abs(ws))) - np.sum(np.log(wm))))
    return TransitionPrefactor(dU, wm, ws, ratio)


def eyring_kramers_time(min_hessian, saddle_hessian, barrier, sigma) -> float:
    """Overdamped Eyring–Kramers mean transition time
    E[τ] ≈ (2π/|λ₁(s)|)·√(|det H_s| / det H_m)·exp(ΔU/kT), kT = σ²/2.

    Parameters
    ----------
    min_hessian, saddle_hessian : array_like, shape (d, d)
    barrier : float > 0
        ΔU = U(s) − U(m).
    sigma : float > 0

    Returns
    -------
    float
        The asymptotic mean time from m to the other minimum; relative corrections O(kT/ΔU)
        for smooth potentials (the finite-barrier correction).
    """
    p = transition_prefactor(min_hessian, saddle_hessian, barrier)
    kT = overdamped_temperature(sigma)
    return 2 * math.pi / abs(p.saddle_eigenvalues[0]) * math.sqrt(p.det_ratio) * math.exp(p.barrier / kT)


def kramers_rate_nd(min_hessian, saddle_hessian, barrier, sigma, friction) -> float:
    """Kramers–Langer rate of the underdamped equation (unit mass, friction λ),
    k = (μ₊/2π)·√(det H_m/|det H_s|)·exp(−ΔU/kT), μ₊ = √(λ²/4 + |λ₁(s)|) − λ/2, kT = σ²/(2λ).

    Parameters
    ----------
    min_hessian, saddle_hessian : array_like, shape (d, d)
    barrier : float > 0
    sigma, friction : float > 0

    Returns
    -------
    float
        Valid for ΔU ≫ kT in the spatial-diffusion regime (λ·I(E_b)/kT ≫ 1); it tends to
        the transition-state rate as λ → 0, where energy diffusion takes over.
    """
    p = transition_prefactor(min_hessian, saddle_hessian, barrier)
    lam = check_finite_param(friction, "friction", low=0.0, low_inclusive=False)
    kT = kramers_temperature(sigma, lam)
    kb = abs(float(p.saddle_eigenvalues[0]))
    mu = kb / (math.sqrt(lam * lam / 4 + kb) + lam / 2)  # √(λ²/4 + kb) − λ/2 without cancellation
    return mu / (2 * math.pi) / math.sqrt(p.det_ratio) * math.exp(-p.barrier / kT)


class TransitionTime(NamedTuple):
    """``time`` (Eyring–Kramers E[τ]) from ``minimum`` over ``saddle`` (StationaryPoints)."""

    time: float
    minimum: StationaryPoint
    saddle: StationaryPoint
    prefactor: TransitionPrefactor


def transition_time(problem, minimum, saddle, sigma) -> TransitionTime:
    """:func:`eyring_kramers_time` of a potential given as an expression, from guesses of the
    minimum and the saddle (refined by Newton, :func:`dynopt.analysis.saddles.stationary_point`).

    Parameters
    ----------
    problem : Problem, sympy expression or Landscape
    minimum, saddle : array_like, shape (d,)
    sigma : float > 0
    """
    L = problem if isinstance(problem, Landscape) else Landscape(problem)
    m, s = stationary_point(L, minimum), stationary_point(L, saddle)
    if m is None or m.index != 0:
        raise ValueError(f"`minimum` {np.asarray(minimum).tolist()} does not lead Newton to a minimum")
    if s is None or s.index != 1:
        raise ValueError(f"`saddle` {np.asarray(saddle).tolist()} does not lead Newton to an index-1 saddle")
    p = transition_prefactor(m.hessian, s.hessian, s.value - m.value)
    return TransitionTime(eyring_kramers_time(m.hessian, s.hessian, s.value - m.value, sigma), m, s, p)
