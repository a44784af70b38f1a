"""Exact and asymptotic references for escape from a potential well.

Conventions (as everywhere in dynopt):

* overdamped Langevin dX = −U'(X) dt + σ dW has temperature kT = σ²/2 and stationary
  density ∝ exp(−2U/σ²) = exp(−Φ), Φ = 2U/σ²;
* the Kramers (underdamped) equation dX = V dt, dV = −λV dt − U'(X) dt + σ dW (unit mass,
  friction λ) has kT = σ²/(2λ).

The exact reference is :func:`mean_first_passage_time`, the 1-D mean first-passage time
(MFPT) by quadrature.  The asymptotic references (ΔU ≫ kT) are :func:`eyring_kramers_rate`
(overdamped) and :func:`kramers_rate` (underdamped, in its high-friction, intermediate and
low-friction forms).

Rate versus MFPT
----------------
A rate k counts transitions from well A to well B; the MFPT from the bottom of A to a point
x_f is T(x_f).  For ΔU ≫ kT, T to any point well past the saddle (e.g. the other minimum)
is 1/k up to relative corrections of order kT/ΔU.  T to the saddle itself is about 1/(2k):
a path at the saddle top goes on into B or falls back into A with probability ½ each, so
only every other arrival at the saddle is a transition.  Compare 1/k with the MFPT to the
*other* minimum (or any point a few √(kT)/ω_b past the saddle), not with the MFPT to the
saddle.

References
----------
C. W. Gardiner, *Stochastic Methods*, 4th ed., Springer (2009), §5.5 (first-passage times).
H. A. Kramers, Physica 7, 284 (1940).
P. Hänggi, P. Talkner and M. Borkovec, Rev. Mod. Phys. 62, 251 (1990), §IV (rate formulas
and their regimes).
N. Berglund, Markov Process. Relat. Fields 19, 459 (2013) (Eyring–Kramers law).
"""
from __future__ import annotations

import bisect
import math
from typing import Callable, NamedTuple

import numpy as np
from scipy import integrate, optimize

from dynopt.checks import check_finite_param
from dynopt.problems.base import Problem

__all__ = ["overdamped_temperature", "kramers_temperature", "MeanFirstPassage",
           "mean_first_passage_time", "Barrier", "barrier_of", "separatrix_action",
           "eyring_kramers_rate", "eyring_kramers_rate_1d", "KRAMERS_REGIMES", "kramers_rate",
           "kramers_rate_1d"]

_BOUNDARIES = ("reflecting", "absorbing")
# An infinite reflecting end is replaced by the point where Φ exceeds its minimum by this
# much: the neglected mass ∫ e^{−Φ} beyond it is ~e^{−50} ≈ 2e-22 of the well's.
_TAIL = 50.0
# e^{Φ} must stay representable after shifting Φ by its minimum.
_MAX_PHI_RANGE = 650.0
# scipy's quad refuses epsrel ≤ 50·eps ≈ 1.1e-14 (with epsabs = 0), for the inner integrals too.
_MIN_RTOL = 1e-13
KRAMERS_REGIMES = ("high", "intermediate", "low", "turnover")


def overdamped_temperature(sigma) -> float:
    """kT = σ²/2 of overdamped Langevin dX = −U'(X) dt + σ dW."""
    s = check_finite_param(sigma, "sigma", low=0.0, low_inclusive=False)
    return s * s / 2


def kramers_temperature(sigma, friction) -> float:
    """kT = σ²/(2λ) of the Kramers equation dX = V dt, dV = −λV dt − U'(X) dt + σ dW."""
    s = check_finite_param(sigma, "sigma", low=0.0, low_inclusive=False)
    lam = check_finite_param(friction, "friction", low=0.0, low_inclusive=False)
    return s * s / (2 * lam)


def _scalar_potential(potential) -> tuple[Callable, Callable | None]:
    """U as a float → float function and U'' (or None) from a callable or a 1-D Problem."""
    if isinstance(potential, Problem):
        if potential.dim != 1:
            raise ValueError(f"`potential` must be a Problem of dimension 1; got dim={potential.dim}")
        value = potential.value_fn

        def u(x):
            return float(value(np.array([[x]], dtype=float))[0])

        hess = None
        if potential.hess_fn is not None:
            def hess(x):
                return float(potential.hess_fn(np.array([[x]], dtype=float))[0, 0, 0])
        return u, hess
    if callable(potential):
        return (lambda x: float(potential(x))), None
    raise TypeError("`potential` must be a callable U(x) or a dynopt Problem of dimension 1; "
                    f"got {type(potential).__name__}")


class _Cumulative:
    """F(y) = ∫_{anchor}^{y} f (f ≥ 0) by quad, reusing the nearest point already computed
    between the anchor and y.

    The outer quadrature asks for the inner integral at scattered points; integrating
    only from the nearest known point keeps the cost to one short quad per request.  That
    point is taken on the anchor's side of y so that F(y) = F(y0) ± ∫ adds terms of one
    sign: stepping back from a point beyond y would subtract two nearly equal numbers when
    F grows by many orders of magnitude (e^{Φ} over a range of Φ of hundreds).
    """

    def __init__(self, f, anchor, rtol, points):
        self.f, self.rtol, self.points = f, rtol, np.asarray(points, float)
        self.anchor = float(anchor)
        self.ys, self.fs = [self.anchor], [0.0]

    def __call__(self, y):
        i = bisect.bisect_left(self.ys, y)
        if i < len(self.ys) and self.ys[i] == y:
            return self.fs[i]
        j = i - 1 if y > self.anchor else i
        y0 = self.ys[j]
        lo, hi = min(y0, y), max(y0, y)
        pts = self.points[(self.points > lo) & (self.points < hi)]
        piece = integrate.quad(self.f, lo, hi, points=pts if pts.size else None, epsabs=0.0,
                               epsrel=self.rtol, limit=200)[0]
        val = self.fs[j] + (piece if y >= y0 else -piece)
        self.ys.insert(i, float(y))
        self.fs.insert(i, val)
        return val


class MeanFirstPassage(NamedTuple):
    """Mean first-passage time by quadrature.

    Fields: ``time``; ``error`` (quad's estimate of the outer integral's absolute error);
    ``lower_limit``, ``upper_limit`` (the interval actually integrated over, finite cuts of
    infinite ends).
    """

    time: float
    error: float
    lower_limit: float
    upper_limit: float


def _cut(phi, x0, direction):
    """Finite stand-in for an infinite reflecting end: where Φ − min Φ = _TAIL."""
    d = 1.0
    for _ in range(60):
        xs = x0 + direction * np.linspace(0.0, d, 401)
        ph = np.array([phi(x) for x in xs])
        k = int(np.argmin(ph))
        if ph[-1] - ph[k] >= _TAIL and ph[-1] > ph[-2]:
            return optimize.brentq(lambda x: phi(x) - ph[k] - _TAIL, xs[k], xs[-1], xtol=1e-12)
        d *= 2.0
    side = "left" if direction < 0 else "right"
    raise ValueError(f"U does not confine to the {side} of x0 = {x0} (Φ = 2U/σ² does not grow by "
                     f"{_TAIL} within 2^60): give a finite {'a' if direction < 0 else 'b'}")


def _check_ends(a, b, x0, left, right):
    if left not in _BOUNDARIES or right not in _BOUNDARIES:
        raise ValueError(f"`left` and `right` must be one of {_BOUNDARIES}; got {left!r}, {right!r}")
    if left == right == "reflecting":
        raise ValueError("`left` and `right` cannot both be 'reflecting': nothing would be absorbed")
    a, b = float(a), float(b)
    if not a < b or math.isnan(a) or math.isnan(b):
        raise ValueError(f"need a < b; got a={a}, b={b}")
    x = check_finite_param(x0, "x0", low=a, high=b)
    if math.isinf(a) and left != "reflecting":
        raise ValueError("`a` = -inf needs `left`='reflecting' (an absorbing end must be finite)")
    if math.isinf(b) and right != "reflecting":
        raise ValueError("`b` = +inf needs `right`='reflecting' (an absorbing end must be finite)")
    return a, b, x


def mean_first_passage_time(potential, sigma, x0, a, b, *, left="reflecting",
                            right="absorbing", rtol=1e-10) -> MeanFirstPassage:
    """Exact mean first-passage time of dX = −U'(X) dt + σ dW from x0 out of [a, b].

    With Φ = 2U/σ² (kT = σ²/2) the MFPT T solves (σ²/2)T'' − U'T' = −1 with T = 0 at an
    absorbing end and T' = 0 at a reflecting one (Gardiner §5.5):

    * reflecting at a, absorbing at b:
      T(x0) = (2/σ²) ∫_{x0}^{b} e^{Φ(y)} ∫_{a}^{y} e^{−Φ(z)} dz dy;
    * absorbing at a, reflecting at b:
      T(x0) = (2/σ²) ∫_{a}^{x0} e^{Φ(y)} ∫_{y}^{b} e^{−Φ(z)} dz dy;
    * absorbing at both ends, with S(u, v) = ∫_u^v e^{Φ}:
      T(x0) = (2/σ²)/S(a, b) · [S(x0, b) ∫_a^{x0} S(a, z) e^{−Φ(z)} dz
      + S(a, x0) ∫_{x0}^{b} S(z, b) e^{−Φ(z)} dz]  (the Green's-function form: all terms
      positive, no cancellation).

    Parameters
    ----------
    potential : callable or Problem
        U(x) for scalar x, or a dynopt Problem of dimension 1 (its ``value_fn`` is used).
    sigma : float > 0
        Noise amplitude.
    x0 : float in [a, b]
        Starting point.
    a, b : float, a < b
        Ends of the interval; a = −inf (b = +inf) is allowed at a reflecting end when U
        confines there: the integral is then cut where Φ exceeds its minimum by 50, which
        neglects a relative ~e^{−50} of the mass.
    left, right : {"reflecting", "absorbing"}
        Boundary conditions at a and at b (not both reflecting).
    rtol : float in [1e-13, 1e-2]
        Relative tolerance passed to ``scipy.integrate.quad``.

    Returns
    -------
    MeanFirstPassage

    Raises
    ------
    ValueError
        On bad ends or boundary conditions, when U does not confine towards an infinite
        end, or when Φ varies by more than 650 over the interval (e^{Φ} would overflow; use
        :func:`eyring_kramers_rate` there).

    Examples
    --------
    Double well U = x⁴/4 − x²/2 at σ = 0.5, from one minimum to the other:

    >>> r = mean_first_passage_time(lambda x: x**4/4 - x**2/2, 0.5, -1.0, -np.inf, 1.0)
    >>> round(r.time, 4)
    41.0343
    """
    u, _ = _scalar_potential(potential)
    s = check_finite_param(sigma, "sigma", low=0.0, low_inclusive=False)
    tol = check_finite_param(rtol, "rtol", low=_MIN_RTOL, high=1e-2)
    a, b, x = _check_ends(a, b, x0, left, right)

    def phi_raw(y):
        return 2.0 * u(y) / (s * s)

    lo = _cut(phi_raw, x, -1) if math.isinf(a) else a
    hi = _cut(phi_raw, x, +1) if math.isinf(b) else b
    shift, pts = _shift_and_breakpoints(phi_raw, lo, hi)

    def eplus(y):
        return math.exp(phi_raw(y) - shift)

    def eminus(y):
        return math.exp(shift - phi_raw(y))

    t, err = _mfpt_integral(eplus, eminus, x, lo, hi, left, right, tol, pts)
    scale = 2.0 / (s * s)
    return MeanFirstPassage(scale * t, scale * err, float(lo), float(hi))


def _shift_and_breakpoints(phi, lo, hi):
    """min Φ on [lo, hi] (subtracted so that e^{±Φ} stay finite) and the grid extrema of Φ,
    where the integrands peak and quad should split."""
    grid = np.linspace(lo, hi, 2001)
    ph = np.array([phi(y) for y in grid])
    if not np.all(np.isfinite(ph)):
        raise ValueError("U is not finite on [a, b]")
    shift = float(ph.min())
    if ph.max() - shift > _MAX_PHI_RANGE:
        raise ValueError(f"Φ = 2U/σ² varies by {ph.max() - shift:.4g} > {_MAX_PHI_RANGE} over the "
                         "interval: the MFPT overflows; increase `sigma` or use eyring_kramers_rate")
    interior = np.flatnonzero((np.diff(np.sign(np.diff(ph))) != 0)) + 1
    return shift, _peak_points(phi, grid, ph, interior[:50], lo, hi)


def _peak_points(phi, grid, ph, interior, lo, hi):
    """Breakpoints around each grid extremum of Φ: the extremum itself, located between its
    grid neighbours, and points a few local widths 1/√|Φ''| to either side.

    A peak of e^{±Φ} narrower than the grid spacing lies anywhere between two grid points, and
    a piece that merely ends at it leaves its far side beyond quad's outermost nodes (the MFPT
    came out halved, with a tiny error estimate); cutting at the located extremum and around
    its width gives quad pieces on which the integrand is smooth at its own scale.
    """
    pts = [grid[interior]]
    for i in interior:
        sign = 1.0 if ph[i] <= ph[i - 1] else -1.0  # a minimum of Φ, else a maximum
        res = optimize.minimize_scalar(lambda y: sign * phi(y), bounds=(grid[i - 1], grid[i + 1]),
                                       method="bounded", options={"xatol": 1e-12 * max(1.0, abs(grid[i]))})
        x = float(res.x)
        d = 1e-3 * (grid[1] - grid[0])
        curv = abs(phi(x + d) - 2 * phi(x) + phi(x - d)) / d ** 2
        width = 1.0 / math.sqrt(curv) if curv > 0 and math.isfinite(curv) else grid[1] - grid[0]
        pts.append(x + width * np.array([-30.0, -10.0, -3.0, 0.0, 3.0, 10.0, 30.0]))
    pts = np.unique(np.concatenate(pts))
    return pts[(pts > lo) & (pts < hi)]


def _quad(f, lo, hi, tol, pts):
    inside = pts[(pts > min(lo, hi)) & (pts < max(lo, hi))]
    if lo == hi:
        return 0.0, 0.0
    return integrate.quad(f, lo, hi, points=inside if inside.size else None, epsabs=0.0,
                          epsrel=tol, limit=200)


def _mfpt_integral(eplus, eminus, x, lo, hi, left, right, tol, pts):
    """The double integrals of :func:`mean_first_passage_time` without the 2/σ² factor."""
    inner_tol = max(tol / 10, _MIN_RTOL)
    if left == "reflecting":
        m_left = _Cumulative(eminus, lo, inner_tol, pts)  # ∫_lo^y e^{−Φ}
        return _quad(lambda y: eplus(y) * m_left(y), x, hi, tol, pts)
    if right == "reflecting":
        m_right = _Cumulative(eminus, hi, inner_tol, pts)  # −∫_y^hi e^{−Φ}
        return _quad(lambda y: -eplus(y) * m_right(y), lo, x, tol, pts)
    s_left = _Cumulative(eplus, lo, inner_tol, pts)    # S(lo, z)
    s_right = _Cumulative(eplus, hi, inner_tol, pts)   # −S(z, hi)
    s_ab = s_left(hi)
    s_ax, s_xb = s_left(x), -s_right(x)
    i1, e1 = _quad(lambda z: s_left(z) * eminus(z), lo, x, tol, pts)
    i2, e2 = _quad(lambda z: -s_right(z) * eminus(z), x, hi, tol, pts)
    return (s_xb * i1 + s_ax * i2) / s_ab, (s_xb * e1 + s_ax * e2) / s_ab


# ----------------------------------------------------------------------------------------
# Asymptotic rates
# ----------------------------------------------------------------------------------------
class Barrier(NamedTuple):
    """A minimum and the saddle (local maximum in 1-D) bounding its well.

    Fields: ``minimum``, ``saddle`` (locations), ``height`` ΔU = U(saddle) − U(minimum),
    ``min_curvature`` U''(minimum) = ω₀² > 0, ``saddle_curvature`` U''(saddle) = −ω_b² < 0.
    """

    minimum: float
    saddle: float
    height: float
    min_curvature: float
    saddle_curvature: float


def _second_derivative(u, hess, x):
    if hess is not None:
        return hess(x)
    # central difference: truncation h²U''''/12 and rounding ε|U|/h² balance near h ~ 1e-4
    h = 1e-4 * max(1.0, abs(x))
    return (u(x + h) - 2.0 * u(x) + u(x - h)) / (h * h)


def barrier_of(potential, minimum, saddle) -> Barrier:
    """Height and curvatures of the barrier between ``minimum`` and ``saddle``.

    Parameters
    ----------
    potential : callable or Problem
        U(x), or a 1-D dynopt Problem (its Hessian is used when it has one; otherwise U''
        comes from a central difference, relative error ~1e-8).
    minimum, saddle : float
        Locations of the critical points (not searched for: pass them exactly).

    Returns
    -------
    Barrier
    """
    u, hess = _scalar_potential(potential)
    xm = check_finite_param(minimum, "minimum")
    xs = check_finite_param(saddle, "saddle")
    if xm == xs:
        raise ValueError("`minimum` and `saddle` must differ")
    k0, kb = _second_derivative(u, hess, xm), _second_derivative(u, hess, xs)
    if not k0 > 0:
        raise ValueError(f"`minimum` = {xm} is not a minimum: U'' = {k0:.6g} must be > 0")
    if not kb < 0:
        raise ValueError(f"`saddle` = {xs} is not a barrier top: U'' = {kb:.6g} must be < 0")
    dU = u(xs) - u(xm)
    if not dU > 0:
        raise ValueError(f"barrier height U(saddle) − U(minimum) = {dU:.6g} must be > 0")
    return Barrier(xm, xs, dU, k0, kb)


def separatrix_action(potential, minimum, saddle) -> float:
    """Action I(E_b) = ∮ p dq of the orbit at the barrier energy E_b = U(saddle).

    Unit mass: p = √(2(E_b − U(q))) between the saddle and the turning point on the far
    side of the minimum, so I = 2 ∫ p dq.  Used by the low-friction Kramers rate.
    For U = x⁴/4 − x²/2 (minimum −1, saddle 0) I = 4/3.

    Parameters
    ----------
    potential : callable or Problem
    minimum, saddle : float

    Returns
    -------
    float
    """
    u, _ = _scalar_potential(potential)
    xm = check_finite_param(minimum, "minimum")
    xs = check_finite_param(saddle, "saddle")
    eb = u(xs)
    if not u(xm) < eb:
        raise ValueError("U(minimum) must be below U(saddle)")
    direction = math.copysign(1.0, xm - xs)
    d = abs(xm - xs)
    inner = xm
    for _ in range(60):
        outer = xm + direction * d
        if u(outer) > eb:
            break
        inner, d = outer, 2 * d
    else:
        raise ValueError("U does not rise above the barrier energy beyond `minimum`")
    turn = optimize.brentq(lambda q: u(q) - eb, inner, outer, xtol=1e-14)
    lo, hi = sorted((turn, xs))
    half = integrate.quad(lambda q: math.sqrt(max(2.0 * (eb - u(q)), 0.0)), lo, hi,
                          points=[xm], epsabs=0.0, epsrel=1e-11, limit=200)[0]
    return 2.0 * half


def eyring_kramers_rate(min_curvature, saddle_curvature, barrier, sigma) -> float:
    """Overdamped Eyring–Kramers rate k = √(U''(min)|U''(saddle)|)/(2π) · e^{−ΔU/kT}.

    For dX = −U'(X) dt + σ dW at kT = σ²/2, valid for ΔU ≫ kT with relative corrections
    O(kT/ΔU) (Berglund 2013).  1/k is the asymptotic MFPT to the *other* well; the MFPT to
    the saddle is ≈ 1/(2k) (see the module docstring).

    Parameters
    ----------
    min_curvature : float > 0
        U''(minimum) = ω₀².
    saddle_curvature : float ≠ 0
        U''(saddle) (its absolute value ω_b² is used).
    barrier : float > 0
        ΔU = U(saddle) − U(minimum).
    sigma : float > 0

    Returns
    -------
    float
    """
    k0 = check_finite_param(min_curvature, "min_curvature", low=0.0, low_inclusive=False)
    kb = abs(check_finite_param(saddle_curvature, "saddle_curvature"))
    if kb == 0:
        raise ValueError("`saddle_curvature` must be nonzero (a degenerate saddle has no EK rate)")
    dU = check_finite_param(barrier, "barrier", low=0.0, low_inclusive=False)
    kT = overdamped_temperature(sigma)
    return math.sqrt(k0 * kb) / (2 * math.pi) * math.exp(-dU / kT)


def eyring_kramers_rate_1d(potential, minimum, saddle, sigma) -> float:
    """:func:`eyring_kramers_rate` with the barrier of a 1-D potential (:func:`barrier_of`)."""
    bar = barrier_of(potential, minimum, saddle)
    return eyring_kramers_rate(bar.min_curvature, bar.saddle_curvature, bar.height, sigma)


def kramers_rate(min_curvature, saddle_curvature, barrier, sigma, friction, *,
                 regime="intermediate", action=None) -> float:
    """Kramers' escape rate of the underdamped equation dX = V dt, dV = −λV dt − U' dt + σ dW.

    At kT = σ²/(2λ), with ω₀² = U''(min), ω_b² = |U''(saddle)| and E = e^{−ΔU/kT}
    (Kramers 1940; Hänggi, Talkner & Borkovec 1990, §IV):

    * ``"intermediate"`` — Kramers' spatial-diffusion rate, any λ with λ·I/kT ≫ 1:
      k = (ω₀/2π) · (√(λ²/4 + ω_b²) − λ/2)/ω_b · E.  As λ → 0 it tends to the
      transition-state rate (ω₀/2π)E, which it never exceeds.
    * ``"high"`` — its large-friction limit λ ≫ ω_b (the overdamped Smoluchowski rate,
      equal to :func:`eyring_kramers_rate` for the position equation dX = −U'/λ dt +
      (σ/λ) dW):  k = ω₀ω_b/(2πλ) · E.
    * ``"low"`` — energy diffusion, λ·I/kT ≪ 1, where the slow equilibration of energy
      in the well limits escape: k = λ · (I(E_b)/kT) · (ω₀/2π) · E, with
      I(E_b) = ∮ p dq the action of the separatrix orbit (:func:`separatrix_action`).
    * ``"turnover"`` — the heuristic interpolation k = k_low·k_int/(k_low + k_int) between
      the low and intermediate forms (it is not Mel'nikov–Meshkov theory; use it only to
      sketch the Kramers turnover, accurate to tens of percent near the maximum).

    All forms assume ΔU ≫ kT.  1/k is the mean time to reach the other well, not the
    saddle (see the module docstring).

    Parameters
    ----------
    min_curvature : float > 0
    saddle_curvature : float ≠ 0
    barrier : float > 0
    sigma : float > 0
    friction : float > 0
        λ.
    regime : {"high", "intermediate", "low", "turnover"}
    action : float > 0, optional
        I(E_b); required for "low" and "turnover".

    Returns
    -------
    float
    """
    if regime not in KRAMERS_REGIMES:
        raise ValueError(f"`regime` must be one of {KRAMERS_REGIMES}; got {regime!r}")
    k0 = check_finite_param(min_curvature, "min_curvature", low=0.0, low_inclusive=False)
    kb = abs(check_finite_param(saddle_curvature, "saddle_curvature"))
    if kb == 0:
        raise ValueError("`saddle_curvature` must be nonzero")
    dU = check_finite_param(barrier, "barrier", low=0.0, low_inclusive=False)
    lam = check_finite_param(friction, "friction", low=0.0, low_inclusive=False)
    kT = kramers_temperature(sigma, lam)
    w0, wb = math.sqrt(k0), math.sqrt(kb)
    arrhenius = math.exp(-dU / kT)
    if regime == "high":
        return w0 * wb / (2 * math.pi * lam) * arrhenius
    # √(λ²/4 + ω_b²) − λ/2 written without the cancellation that ruins it for λ ≫ ω_b
    reactive = kb / (math.sqrt(lam * lam / 4 + kb) + lam / 2)
    k_int = w0 / (2 * math.pi) * reactive / wb * arrhenius
    if regime == "intermediate":
        return k_int
    if action is None:
        raise ValueError(f"regime {regime!r} needs `action` = I(E_b) (see separatrix_action)")
    act = check_finite_param(action, "action", low=0.0, low_inclusive=False)
    k_low = lam * act / kT * w0 / (2 * math.pi) * arrhenius
    if regime == "low":
        return k_low
    return k_low * k_int / (k_low + k_int)


def kramers_rate_1d(potential, minimum, saddle, sigma, friction, *,
                    regime="intermediate") -> float:
    """:func:`kramers_rate` with the barrier (and, for "low"/"turnover", the separatrix
    action) of a 1-D potential."""
    bar = barrier_of(potential, minimum, saddle)
    act = separatrix_action(potential, minimum, saddle) if regime in ("low", "turnover") else None
    return kramers_rate(bar.min_curvature, bar.saddle_curvature, bar.height, sigma, friction,
                        regime=regime, action=act)
