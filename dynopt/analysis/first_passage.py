"""First-passage estimators that account for censoring.

An ensemble simulated up to a time T records, for each path, either the time at which it
first passed a level or the fact that it had not passed by T (it is *right-censored* at T).
Averaging only the paths that passed estimates E[τ | τ ≤ T], not E[τ]: for rare events it
is biased low, often by a factor of two.  The estimators here use every path:

* :func:`kaplan_meier` — the survival curve P(τ > t) with Greenwood variance and plain,
  log or log-log bands;
* :func:`exit_rate` — the rate of an exponential tail, events over time at risk, with the
  exact (Garwood) Poisson/Gamma confidence interval;

and, in :mod:`dynopt.analysis.passage_means`,

* :func:`~dynopt.analysis.passage_means.mean_passage_time` — the plain mean with its standard error, refused (an error or
  an ``undefined`` result) when any path is censored;
* :func:`~dynopt.analysis.passage_means.restricted_mean` — E[min(τ, h)], the area under the survival curve up to h,
  which is defined under censoring but is a different quantity from the mean;
* :func:`~dynopt.analysis.passage_means.tail_mean` — the mean under the stated model of an exponential tail beyond t_min.

:func:`dynopt.analysis.passage_report.passage_summary` reports all of them that censoring
allows, each labelled.

Every estimator takes either a :class:`PassageSample` or the raw arguments ``times,
censor_time, passed=, weights=``.  A sample is a list of weighted records (time, weight,
event, path): a path that passed at t is one event record of weight 1; a path censored at C
is one censored record of weight 1; a path that passed at t *with probability* w (e.g. a
Brownian-bridge estimate of a crossing between two monitoring times) is an event record of
weight w plus a censored record of weight 1 − w.  :meth:`PassageSample.from_hazards` builds
these "fractional events" from per-step crossing probabilities.  Times are measured from the
start of each path (subtract t0 from absolute times).

References
----------
E. L. Kaplan and P. Meier, J. Am. Stat. Assoc. 53, 457 (1958).
M. Greenwood, Reports on Public Health and Medical Subjects 33 (1926).
J. D. Kalbfleisch and R. L. Prentice, *The Statistical Analysis of Failure Time Data*,
2nd ed., Wiley (2002), §4.3 (log-log bands). F. Garwood, Biometrika 28, 437 (1936) (exact Poisson interval); J. P. Klein and M. L. Moeschberger, *Survival Analysis*, 2nd ed., Springer (2003), §4.5
(restricted mean and its variance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import stats

from dynopt.checks import check_finite_param

__all__ = ["PassageSample", "CensoredDataError", "SurvivalCurve", "kaplan_meier", "ExitRate", "exit_rate"]

_BANDS = ("plain", "log", "log-log")


class CensoredDataError(ValueError):
    """A plain mean was asked of censored passage times; ``censored_fraction`` says how many
    paths (by weight) had not passed."""

    def __init__(self, message, censored_fraction):
        super().__init__(message)
        self.censored_fraction = censored_fraction


@dataclass(frozen=True, eq=False)
class PassageSample:
    """Weighted passage records of an ensemble of ``n_paths`` paths.

    Fields (arrays of shape (m,)): ``time`` (passage time of an event record, censoring
    time of a censored one), ``weight`` (in (0, 1]; the weights of a path sum to 1),
    ``event`` (bool), ``path`` (the path of each record: standard errors of means are taken
    over paths); and ``n_paths``.
    """

    time: np.ndarray
    weight: np.ndarray
    event: np.ndarray
    path: np.ndarray
    n_paths: int

    @property
    def events(self) -> float:
        """Total event weight (the number of passages, possibly fractional)."""
        return float(self.weight[self.event].sum())

    @property
    def censored_fraction(self) -> float:
        """Fraction of the paths (by weight) that had not passed when observation stopped."""
        return float(self.weight[~self.event].sum() / self.n_paths)

    @classmethod
    def from_times(cls, times, censor_time=None, *, passed=None, weights=None):
        """Records from one passage time per path.

        Parameters
        ----------
        times : array_like, shape (n,)
            Passage time of each path, ≥ 0; NaN or +inf for a path that had not passed.
        censor_time : float or array_like, shape (n,), optional
            Time at which observation of each path stopped (the end of the simulation, or
            when a path was removed).  Required when some path did not pass or some
            ``weights`` are below 1; must be ≥ the passage time of a passed path.
        passed : array_like of bool, shape (n,), optional
            Which paths passed; overrides the NaN/inf convention of ``times``.
        weights : array_like, shape (n,), optional
            Probability in [0, 1] that path i passed at ``times[i]``; the remaining
            1 − weights[i] is censored at ``censor_time[i]``.  Must be 0 for a path that
            did not pass.  Default: 1 for passed paths.

        Returns
        -------
        PassageSample
        """
        t = np.asarray(times, dtype=float)
        if t.ndim != 1 or t.size == 0:
            raise ValueError(f"`times` must be a non-empty 1-D array; got shape {t.shape}")
        n = t.size
        if passed is None:
            ok = ~np.isnan(t) & (t != np.inf)  # -inf stays "passed" and fails the sign check
        else:
            ok = np.asarray(passed, dtype=bool)
            if ok.shape != (n,):
                raise ValueError(f"`passed` must have shape ({n},); got {ok.shape}")
            if not np.all(np.isfinite(t[ok])):
                raise ValueError("`times` must be finite where `passed` is True")
        if np.any(t[ok] < 0):
            raise ValueError("`times` of passed paths must be ≥ 0 (times are measured from the start)")
        w = _event_weights(weights, ok, n)
        cens_needed = w < 1
        c = _censor_times(censor_time, n, cens_needed)
        if np.any(ok & (w > 0) & np.isfinite(c) & (t > c)):
            i = int(np.flatnonzero(ok & (w > 0) & (t > c))[0])
            raise ValueError(f"`times[{i}]` = {t[i]} exceeds `censor_time` = {c[i]}: "
                             "a path cannot pass after its observation stopped")
        ev, ce, idx = ok & (w > 0), cens_needed, np.arange(n)
        return cls(time=np.concatenate([t[ev], c[ce]]), weight=np.concatenate([w[ev], 1.0 - w[ce]]),
                   event=np.concatenate([np.ones(ev.sum(), bool), np.zeros(ce.sum(), bool)]),
                   path=np.concatenate([idx[ev], idx[ce]]), n_paths=n)

    @classmethod
    def from_hazards(cls, hazards, step_times, censor_time=None):
        """Fractional events from per-step crossing probabilities.

        Parameters
        ----------
        hazards : array_like, shape (n_paths, n_steps)
            ``hazards[i, k]`` in [0, 1]: probability that path i crossed during step k given
            that it had not crossed before (e.g. the Brownian-bridge crossing probability
            between two monitored states).  Once a path is known to have passed, set its
            hazard to 1.
        step_times : array_like, shape (n_steps,)
            Time attributed to a crossing in step k (its end, or its midpoint), increasing.
        censor_time : float, optional
            Where the probability of not having crossed is censored (default: last step time).

        Returns
        -------
        PassageSample
            Path i has event weight S_{k-1} h_k at step k, S_k = Π_{j≤k}(1 − h_j), and a
            censored record of weight S_last.
        """
        h = np.asarray(hazards, dtype=float)
        st = np.asarray(step_times, dtype=float)
        if h.ndim != 2 or h.shape[0] == 0:
            raise ValueError(f"`hazards` must have shape (n_paths, n_steps); got {h.shape}")
        if st.shape != (h.shape[1],) or np.any(np.diff(st) <= 0) or np.any(st < 0):
            raise ValueError(f"`step_times` must be increasing, ≥ 0, shape ({h.shape[1]},)")
        if np.any(~(h >= 0) | (h > 1)):
            raise ValueError("`hazards` must lie in [0, 1]")
        cens = st[-1] if censor_time is None else check_finite_param(
            censor_time, "censor_time", low=float(st[-1]))
        surv = np.cumprod(1.0 - h, axis=1)
        before = np.hstack([np.ones((h.shape[0], 1)), surv[:, :-1]])
        w_ev = before * h
        pi, ki = np.nonzero(w_ev > 0)
        last, ce = surv[:, -1], surv[:, -1] > 0
        return cls(time=np.concatenate([st[ki], np.full(ce.sum(), cens)]), weight=np.concatenate([w_ev[pi, ki], last[ce]]),
                   event=np.concatenate([np.ones(pi.size, bool), np.zeros(ce.sum(), bool)]),
                   path=np.concatenate([pi, np.flatnonzero(ce)]), n_paths=h.shape[0])

    @classmethod
    def from_observer(cls, result, censor_time=None, *, t0=None):
        """Records from a first-passage observer result (``dynopt.engine.FirstPassage``):
        passages with their bridge weights and fractional bridge passages, censoring at the end
        or at blow-up; times from ``t0`` (default the result's).  ``censor_time`` (the end) is
        needed only by results without per-path ``censor_time``."""
        passed, t0 = np.asarray(result.passed, dtype=bool), getattr(result, "t0", 0.0) if t0 is None else t0
        if getattr(result, "censor_time", None) is None:
            t = np.full(passed.shape, np.nan)
            t[passed] = np.asarray(result.times, dtype=float) - t0
            return cls.from_times(t, float(censor_time) - t0, passed=passed)
        w, ce, r = result.weight, ~passed & (result.weight > 0), result
        ev = np.concatenate([np.flatnonzero(passed), r.bridge_path])
        return cls(time=np.concatenate([r.event_time[passed], r.bridge_time, r.censor_time[ce]]) - t0,
                   weight=np.concatenate([w[passed], r.bridge_weight, w[ce]]), path=np.concatenate(
                       [ev, np.flatnonzero(ce)]), event=np.arange(ev.size + ce.sum()) < ev.size, n_paths=passed.size)


def _event_weights(weights, ok, n):
    if weights is None:
        return ok.astype(float)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"`weights` must have shape ({n},); got {w.shape}")
    if np.any(~(w >= 0) | (w > 1)):
        raise ValueError("`weights` must lie in [0, 1] (probability that a path passed)")
    if np.any(w[~ok] > 0):
        raise ValueError("`weights` must be 0 for paths that did not pass (no passage time)")
    return w


def _censor_times(censor_time, n, needed):
    if censor_time is None:
        if np.any(needed):
            raise ValueError(f"`censor_time` is required: {int(needed.sum())} of {n} paths "
                             "did not pass (or passed with weight < 1)")
        return np.full(n, np.inf)
    c = np.asarray(censor_time, dtype=float)
    if c.ndim == 0:
        c = np.full(n, float(c))
    if c.shape != (n,):
        raise ValueError(f"`censor_time` must be a scalar or have shape ({n},); got {c.shape}")
    if np.any(~np.isfinite(c) | (c < 0)):
        raise ValueError("`censor_time` must be finite and ≥ 0")
    return c


def _as_sample(times, censor_time, passed, weights) -> PassageSample:
    if isinstance(times, PassageSample):
        if censor_time is not None or passed is not None or weights is not None:
            raise TypeError("give either a PassageSample or `times` with `censor_time`, `passed`, `weights`, not both")
        return times
    return PassageSample.from_times(times, censor_time, passed=passed, weights=weights)


def _z(confidence):
    c = check_finite_param(confidence, "confidence", low=0, low_inclusive=False, high=1, high_inclusive=False)
    return c, float(stats.norm.ppf(0.5 + c / 2))


# --- Kaplan–Meier ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SurvivalCurve:
    """Kaplan–Meier estimate of S(t) = P(τ > t), a right-continuous step function.

    Fields: ``time`` (distinct event times u_j); ``survival``, ``std_err``, ``lower``,
    ``upper`` (Ŝ(u_j), its Greenwood standard error and the band at ``confidence``);
    ``at_risk``, ``events`` (weight n_j with time ≥ u_j and event weight d_j at u_j);
    ``horizon`` (largest observed time: S is not estimated beyond it); ``confidence``,
    ``band``, ``censored_fraction``, ``n_paths``.
    """

    time: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    horizon: float
    confidence: float
    band: str
    censored_fraction: float
    n_paths: int

    def at(self, t):
        """Ŝ(t) at the given times (1 before the first event, NaN beyond ``horizon``)."""
        tt = np.asarray(t, dtype=float)
        j = np.searchsorted(self.time, tt, side="right")
        s = np.concatenate([[1.0], self.survival])[j]
        return np.where(tt > self.horizon, np.nan, s)

    def quantile(self, q):
        """Smallest event time with Ŝ ≤ 1 − q (q = 0.5: the median passage time), defined
        under censoring once the curve drops to 1 − q; NaN otherwise."""
        qq = check_finite_param(q, "q", low=0, low_inclusive=False, high=1, high_inclusive=False)
        hit = np.flatnonzero(self.survival <= 1 - qq + 1e-12)
        return float(self.time[hit[0]]) if hit.size else float("nan")


def kaplan_meier(times, censor_time=None, *, passed=None, weights=None, confidence=0.95, band="log-log") -> SurvivalCurve:
    """Kaplan–Meier survival curve of passage times under right censoring.

    Ŝ(t) = Π_{u_j ≤ t} (1 − d_j/n_j), with d_j the event weight at u_j and n_j the weight
    still at risk (records with time ≥ u_j; a record censored at u_j is counted at risk,
    the usual convention).  Greenwood: Var Ŝ = Ŝ² Σ d_j/(n_j(n_j − d_j)).

    Parameters
    ----------
    times, censor_time, passed, weights
        As in :meth:`PassageSample.from_times`, or a :class:`PassageSample` as ``times``.
    confidence : float in (0, 1)
        Pointwise coverage of the band.
    band : {"log-log", "log", "plain"}
        "log-log" (Kalbfleisch–Prentice; stays in [0, 1], best in small samples), "log"
        (R's survfit default) or "plain" (Ŝ ± z·se clipped to [0, 1]).

    Returns
    -------
    SurvivalCurve
        Without censoring Ŝ is the empirical survival function.  With fractional events
        Greenwood's formula treats weights as counts, an approximation.
    """
    s = _as_sample(times, censor_time, passed, weights)
    if band not in _BANDS:
        raise ValueError(f"`band` must be one of {_BANDS}; got {band!r}")
    conf, z = _z(confidence)
    order = np.argsort(s.time, kind="stable")
    t, w, ev = s.time[order], s.weight[order], s.event[order]
    u, inv = np.unique(t, return_inverse=True)
    d_all = np.bincount(inv, weights=np.where(ev, w, 0.0), minlength=u.size)
    w_all = np.bincount(inv, weights=w, minlength=u.size)
    n_all = w_all[::-1].cumsum()[::-1]
    keep = d_all > 0
    u, d, n = u[keep], d_all[keep], n_all[keep]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = np.clip(1.0 - d / n, 0.0, 1.0)
        surv = np.cumprod(frac)
        gw = np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf))
        se = surv * np.sqrt(gw)
        lo, hi = _band(surv, gw, se, z, band, np.cumsum(d))
    se = np.where(surv > 0, se, 0.0)
    return SurvivalCurve(time=u, survival=surv, std_err=se, lower=lo, upper=hi, at_risk=n,
                         events=d, horizon=float(s.time.max()), confidence=conf, band=band,
                         censored_fraction=s.censored_fraction, n_paths=s.n_paths)


def _band(surv, gw, se, z, band, events):
    if band == "plain":
        lo, hi = surv - z * se, surv + z * se
    else:
        f = np.exp(z * np.sqrt(gw))
        lo, hi = surv / f, surv * f
    if band == "log-log":
        # θ = log(−log S) has se √gw / |log S| (S = exp(−e^θ) swaps the ends); before the event
        # weight reaches 1 (tiny bridge events) se(θ) ~ 1/√weight: [0, 1], so the log band stands in
        sth = np.sqrt(gw) / np.abs(np.log(surv))
        ll_lo, ll_hi = surv ** np.exp(z * sth), surv ** np.exp(-z * sth)
        lo, hi = np.where(events >= 1.0, ll_lo, lo), np.where(events >= 1.0, ll_hi, hi)
    lo = np.where(surv > 0, np.nan_to_num(lo, nan=0.0), 0.0)
    hi = np.where(surv >= 1, 1.0, np.where(surv > 0, np.nan_to_num(hi, nan=1.0), 0.0))
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


# --- Exponential tail rate ---------------------------------------------------------------
class ExitRate(NamedTuple):
    """Rate of an exponential tail with its exact confidence interval.

    Fields: ``rate`` (events/exposure), ``lower``, ``upper`` (Garwood interval),
    ``std_err`` (√events / exposure), ``events``, ``exposure`` (total time at risk after
    ``t_min``), ``t_min``, ``confidence``, ``censored_fraction``.
    """

    rate: float
    lower: float
    upper: float
    std_err: float
    events: float
    exposure: float
    t_min: float
    confidence: float
    censored_fraction: float

    @property
    def timescale(self) -> float:
        """1/rate: the mean residual passage time of the exponential tail."""
        return 1.0 / self.rate if self.rate > 0 else float("inf")

    @property
    def timescale_interval(self):
        """(1/upper, 1/lower): the confidence interval of :attr:`timescale`."""
        return (1.0 / self.upper, 1.0 / self.lower if self.lower > 0 else float("inf"))


def exit_rate(times, censor_time=None, *, passed=None, weights=None, t_min=0.0,
              confidence=0.95) -> ExitRate:
    """Exit rate k of an exponential tail P(τ > t) ∝ e^{−k t} for t ≥ t_min.

    The maximum-likelihood estimate under right censoring is k̂ = D/E: the event weight D
    after ``t_min`` over the time at risk E = Σ_records w · max(0, time − t_min).  The exact
    Poisson (Garwood) interval is [Γ⁻¹(α/2; D), Γ⁻¹(1 − α/2; D + 1)]/E, α = 1 − confidence.

    Parameters
    ----------
    times, censor_time, passed, weights
        As in :meth:`PassageSample.from_times`, or a :class:`PassageSample` as ``times``.
    t_min : float ≥ 0
        Start of the exponential tail, past the initial transient, where the Kaplan–Meier
        curve is straight in log scale; earlier passages are left out (left truncation).
    confidence : float in (0, 1)

    Returns
    -------
    ExitRate

    Notes
    -----
    For a metastable escape 1/k̂ with ``t_min`` past the transient is the mean passage time
    *minus* the transient delay (double well, σ = 0.5, t_min = 5: 38.4 ± 0.5, exact MFPT
    41.03); :func:`tail_mean` adds it back (41.0 ± 0.5).  With fractional events D is not
    Poisson; the Garwood interval is then conservative.
    """
    s = _as_sample(times, censor_time, passed, weights)
    t0 = check_finite_param(t_min, "t_min", low=0.0)
    conf, _ = _z(confidence)
    exposure = float(np.sum(s.weight * np.maximum(s.time - t0, 0.0)))
    if exposure <= 0:
        raise ValueError(f"no time at risk after `t_min` = {t0}: choose a smaller `t_min`")
    d = float(s.weight[s.event & (s.time > t0)].sum())
    alpha = 1.0 - conf
    lo = float(stats.gamma.ppf(alpha / 2, d)) / exposure if d > 0 else 0.0
    hi = float(stats.gamma.ppf(1 - alpha / 2, d + 1)) / exposure
    return ExitRate(rate=d / exposure, lower=lo, upper=hi, std_err=float(np.sqrt(d)) / exposure,
                    events=d, exposure=exposure, t_min=t0, confidence=conf,
                    censored_fraction=s.censored_fraction)
