"""Means of first-passage times under censoring: the plain mean (refused when any path is
censored), the restricted mean E[min(τ, h)] and the mean under a stated exponential tail.
The samples, the Kaplan–Meier curve and the tail rate they use are in
:mod:`dynopt.analysis.first_passage`."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynopt.analysis.first_passage import CensoredDataError, PassageSample, _as_sample, _z, exit_rate, kaplan_meier
from dynopt.checks import check_finite_param

__all__ = ["MeanPassageTime", "mean_passage_time", "RestrictedMean", "restricted_mean", "TailMean", "tail_mean"]


class MeanPassageTime(NamedTuple):
    """Plain mean passage time, defined only without censoring.

    Fields: ``mean``, ``std_err`` (over paths), ``lower``, ``upper`` (normal interval),
    ``n_paths``, ``censored_fraction``, ``defined`` (False when censoring made the mean
    unknowable; then the numbers are NaN) and ``reason`` (why not, else "").
    """

    mean: float
    std_err: float
    lower: float
    upper: float
    n_paths: int
    censored_fraction: float
    defined: bool
    reason: str


def _censored_message(s: PassageSample, what: str) -> str:
    frac = s.censored_fraction
    return (f"{what} is undefined: a censored fraction {frac:.4g} ({frac * s.n_paths:.6g} of "
            f"{s.n_paths} paths) had not passed when observation stopped, so averaging the "
            "paths that passed would be biased low. Use exit_rate (events / time at risk, "
            "exponential tail), kaplan_meier (survival curve, median via .quantile(0.5)) or "
            "restricted_mean (E[min(τ, h)]) instead, tail_mean if the tail is exponential, or "
            "simulate longer.")


def mean_passage_time(times, censor_time=None, *, passed=None, weights=None, confidence=0.95,
                      on_censored="raise", censored_tolerance=0.0) -> MeanPassageTime:
    """Mean passage time with its standard error — only when no path is censored.

    Parameters
    ----------
    times, censor_time, passed, weights
        As in :meth:`PassageSample.from_times`, or a :class:`PassageSample` as ``times``.
    confidence : float in (0, 1)
        Coverage of the normal interval mean ± z·se.
    on_censored : {"raise", "undefined"}
        When the censored fraction exceeds ``censored_tolerance``: raise
        :class:`CensoredDataError`, or return ``defined=False`` with the reason.
    censored_tolerance : float in [0, 1)
        Censored fraction accepted as zero (e.g. survival weights of 1e-30 left by
        :meth:`PassageSample.from_hazards`); accepted censored weight enters the mean at its
        censoring time, a bias of at most this fraction times the unknown residual time.

    Returns
    -------
    MeanPassageTime

    Raises
    ------
    CensoredDataError
        When paths are censored and ``on_censored="raise"``; the message names the
        censored fraction and the estimators to use instead.
    """
    s = _as_sample(times, censor_time, passed, weights)
    if on_censored not in ("raise", "undefined"):
        raise ValueError(f"`on_censored` must be 'raise' or 'undefined'; got {on_censored!r}")
    tol = check_finite_param(censored_tolerance, "censored_tolerance", low=0.0, high=1.0, high_inclusive=False)
    conf, z = _z(confidence)
    frac = s.censored_fraction
    if frac > tol:
        msg = _censored_message(s, "the mean passage time")
        if on_censored == "raise":
            raise CensoredDataError(msg, frac)
        nan = float("nan")
        return MeanPassageTime(nan, nan, nan, nan, s.n_paths, frac, False, msg)
    # one mean per path (its records are fractions of one outcome), then the spread over paths
    per_path = np.bincount(s.path, weights=s.weight * s.time, minlength=s.n_paths)
    mean = float(per_path.mean())
    se = float(per_path.std(ddof=1) / np.sqrt(s.n_paths)) if s.n_paths > 1 else float("nan")
    return MeanPassageTime(mean, se, mean - z * se, mean + z * se, s.n_paths, frac, True, "")


class RestrictedMean(NamedTuple):
    """E[min(τ, horizon)] = ∫₀^horizon S(t) dt from the Kaplan–Meier curve.

    Fields: ``value``, ``std_err``, ``lower``, ``upper`` (normal interval), ``horizon``,
    ``confidence``, ``censored_fraction``.  It is *not* the mean passage time unless the
    survival curve has reached 0 by ``horizon``.
    """

    value: float
    std_err: float
    lower: float
    upper: float
    horizon: float
    confidence: float
    censored_fraction: float


def restricted_mean(times, censor_time=None, *, passed=None, weights=None, horizon=None,
                    confidence=0.95) -> RestrictedMean:
    """Restricted mean passage time, the area under the Kaplan–Meier curve up to a horizon.

    Variance (Klein & Moeschberger §4.5): Σ_{u_j ≤ h} A_j² d_j / (n_j (n_j − d_j)) with
    A_j = ∫_{u_j}^{h} Ŝ(t) dt.

    Parameters
    ----------
    times, censor_time, passed, weights
        As in :meth:`PassageSample.from_times`, or a :class:`PassageSample` as ``times``.
    horizon : float, optional
        Upper limit h, at most the largest observed time (default: that time).
    confidence : float in (0, 1)

    Returns
    -------
    RestrictedMean
    """
    km = kaplan_meier(times, censor_time, passed=passed, weights=weights,
                      confidence=confidence, band="plain")
    h = km.horizon if horizon is None else check_finite_param(
        horizon, "horizon", low=0.0, high=km.horizon)
    _, z = _z(confidence)
    inside = km.time <= h
    u, surv, d, n = km.time[inside], km.survival[inside], km.events[inside], km.at_risk[inside]
    pieces = np.concatenate([[1.0], surv]) * np.diff(np.concatenate([[0.0], u, [h]]))
    value = float(pieces.sum())
    tail = pieces[::-1].cumsum()[::-1][1:]  # A_j = ∫_{u_j}^h Ŝ
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n > d, tail ** 2 * d / (n * (n - d)), 0.0)
    se = float(np.sqrt(terms.sum()))
    return RestrictedMean(value, se, value - z * se, value + z * se, float(h), km.confidence,
                          km.censored_fraction)


class TailMean(NamedTuple):
    """Mean passage time under an exponential tail beyond ``t_min``.

    Fields: ``value``, ``std_err`` (conservative: the errors of the two parts added),
    ``lower``, ``upper`` (normal interval), ``t_min``, ``survival_at_t_min`` Ŝ(t_min),
    ``rate`` (the tail's k̂), ``confidence``, ``censored_fraction``.
    """

    value: float
    std_err: float
    lower: float
    upper: float
    t_min: float
    survival_at_t_min: float
    rate: float
    confidence: float
    censored_fraction: float


def tail_mean(times, censor_time=None, *, passed=None, weights=None, t_min=0.0,
              confidence=0.95) -> TailMean:
    """Mean passage time E τ = ∫₀^{t_min} Ŝ dt + Ŝ(t_min)/k̂, assuming S ∝ e^{−kt} after t_min.

    The head is the Kaplan–Meier restricted mean up to ``t_min``; the tail is extrapolated
    with the exit rate k̂ of :func:`exit_rate`.  This is a model-based estimate: check on
    the Kaplan–Meier curve (log scale) that the tail after ``t_min`` is a straight line, and
    that the result does not move when ``t_min`` does.  Without censoring
    :func:`mean_passage_time` needs no model.

    Parameters
    ----------
    times, censor_time, passed, weights
        As in :meth:`PassageSample.from_times`, or a :class:`PassageSample` as ``times``.
    t_min : float ≥ 0, at most the largest observed time
    confidence : float in (0, 1)

    Returns
    -------
    TailMean
        The standard error adds the head's and the tail's errors (their positive
        correlation is not estimated, so this bounds it from above); the tail's relative
        variance is (se Ŝ/Ŝ)² + 1/D.
    """
    s = _as_sample(times, censor_time, passed, weights)
    _, z = _z(confidence)
    km = kaplan_meier(s, confidence=confidence, band="plain")
    t0 = check_finite_param(t_min, "t_min", low=0.0, high=km.horizon)
    rate = exit_rate(s, t_min=t0, confidence=confidence)
    if rate.events <= 0:
        raise ValueError(f"no passages after `t_min` = {t0}: the tail rate is unknown")
    head = restricted_mean(s, horizon=t0, confidence=confidence)
    j = int(np.searchsorted(km.time, t0, side="right"))
    surv, se_surv = float(km.at(t0)), float(km.std_err[j - 1]) if j > 0 else 0.0
    tail = surv / rate.rate
    se = tail * float(np.sqrt((se_surv / surv) ** 2 + 1.0 / rate.events)) + head.std_err
    value = tail + head.value
    return TailMean(value, se, value - z * se, value + z * se, t0, surv, rate.rate,
                    km.confidence, s.censored_fraction)
