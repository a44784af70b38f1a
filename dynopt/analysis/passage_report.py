"""One honest summary of a first-passage sample: every statistic that censoring allows, each
labelled with what it is (the building blocks are in :mod:`dynopt.analysis.first_passage`)."""
from __future__ import annotations

import numpy as np

from dynopt.analysis.first_passage import _as_sample, exit_rate, kaplan_meier
from dynopt.analysis.passage_means import mean_passage_time, restricted_mean, tail_mean
from dynopt.checks import check_finite_param

__all__ = ["passage_summary"]


def passage_summary(times, censor_time=None, *, passed=None, weights=None, t_min=None,
                    confidence=0.95) -> dict:
    """Every passage statistic that censoring allows, each labelled with what it is.

    Parameters
    ----------
    times, censor_time, passed, weights
        As in :meth:`PassageSample.from_times`, or a :class:`PassageSample` as ``times``.
    t_min : float, optional
        Start of the exponential tail for the rate and ``tail_mean`` (default: the
        Kaplan–Meier median when the curve reaches ½, else half the horizon).
    confidence : float in (0, 1)

    Returns
    -------
    dict (JSON-able)
        ``n_paths``, ``passed`` (event weight), ``censored_fraction``, ``horizon``;
        ``survival`` (median with its reason when undefined, Ŝ at the horizon with its
        band); ``rate`` (events / time at risk after ``t_min`` with its Garwood interval,
        under the assumption named in ``assumption``); ``restricted_mean`` (E[min(τ, h)]
        with its ``horizon`` h: not the mean passage time unless nothing is censored);
        ``mean`` (value and standard error only when nothing is censored, else value None
        and the ``reason``); ``tail_mean`` (the mean under the exponential tail named in
        ``assumption``, or value None with the reason).  The mean of the paths that passed
        is never reported: under censoring it estimates E[τ | τ ≤ horizon].
    """
    s = _as_sample(times, censor_time, passed, weights)
    km = kaplan_meier(s, confidence=confidence)
    h = km.horizon
    med = km.quantile(0.5)
    out = {"n_paths": s.n_paths, "passed": s.events, "censored_fraction": s.censored_fraction,
           "horizon": h, "confidence": km.confidence}
    last = int(km.time.size) - 1
    out["survival"] = {
        "median": None if np.isnan(med) else med,
        "median_reason": "" if not np.isnan(med) else f"the survival curve stays above 1/2 up to the horizon {h:.6g}",
        "at_horizon": float(km.survival[last]) if last >= 0 else 1.0,
        "at_horizon_band": [float(km.lower[last]), float(km.upper[last])] if last >= 0 else [1.0, 1.0]}
    rm = restricted_mean(s, confidence=confidence)
    out["restricted_mean"] = {"value": rm.value, "std_err": rm.std_err, "horizon": rm.horizon,
                              "label": f"restricted mean E[min(τ, {rm.horizon:.6g})]"}
    mp = mean_passage_time(s, confidence=confidence, on_censored="undefined")
    out["mean"] = ({"value": mp.mean, "std_err": mp.std_err, "reason": ""} if mp.defined else
                   {"value": None, "std_err": None, "reason": mp.reason})
    if s.events <= 0:
        why = f"no path passed before the horizon {h:.6g}"
        out["rate"] = {"rate": 0.0, "lower": 0.0, "upper": exit_rate(s, confidence=confidence).upper,
                       "t_min": 0.0, "events": 0.0, "exposure": exit_rate(s).exposure,
                       "assumption": "constant hazard from t = 0"}
        out["tail_mean"] = {"value": None, "std_err": None, "reason": why}
        return out
    tm0 = (med if not np.isnan(med) else h / 2) if t_min is None else check_finite_param(
        t_min, "t_min", low=0.0, high=h)
    rate = exit_rate(s, t_min=tm0, confidence=confidence)
    assumption = f"P(τ > t) ∝ exp(−k t) for t ≥ t_min = {tm0:.6g}"
    out["rate"] = {"rate": rate.rate, "lower": rate.lower, "upper": rate.upper, "std_err": rate.std_err,
                   "t_min": tm0, "events": rate.events, "exposure": rate.exposure, "assumption": assumption}
    if rate.events <= 0:
        out["tail_mean"] = {"value": None, "std_err": None,
                            "reason": f"no passage after t_min = {tm0:.6g}: the tail rate is unknown"}
    else:
        tmean = tail_mean(s, t_min=tm0, confidence=confidence)
        out["tail_mean"] = {"value": tmean.value, "std_err": tmean.std_err, "t_min": tm0,
                            "survival_at_t_min": tmean.survival_at_t_min, "assumption": assumption,
                            "reason": ""}
    return out
