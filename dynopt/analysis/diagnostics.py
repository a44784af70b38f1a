"""Stationarity diagnostics and standard errors beyond the mean.

Samples of an ensemble follow the layout of the engine's ``ValuesAt`` observer for a scalar
observable: an array of shape ``(n_times, n_paths)``, equally spaced times along axis 0 and
independent paths along axis 1.  A single path is ``(n_times,)``.

* :func:`equilibration_check` compares the two halves of a time window: the per-path
  half-window means (a paired t-test over independent paths, or batch means along one long
  path), or the ensemble's distribution at the start and at the end of the window
  (two-sample Kolmogorov–Smirnov).
* :func:`split_rhat` is the Gelman–Rubin potential scale reduction factor on split chains,
  rank-normalized and folded as recommended by Vehtari et al. (2021).
* :func:`moment_estimate` gives a raw or central moment with its standard error by the delta
  method: the estimator's influence values φ_i are averaged, and their spread gives the
  error — directly for i.i.d. samples, by batch means along time for correlated ones.

References
----------
A. Gelman and D. B. Rubin, Statist. Sci. 7, 457 (1992).
A. Vehtari, A. Gelman, D. Simpson, B. Carpenter and P.-C. Bürkner, Bayesian Anal. 16, 667
(2021) (rank-normalized split-R̂, threshold 1.01).
M. G. Kendall and A. Stuart, *The Advanced Theory of Statistics* Vol. 1, §10.5 (standard
errors of sample moments).
G. L. Jones, M. Haran, B. S. Caffo and R. Neath, J. Am. Stat. Assoc. 101, 1537 (2006)
(batch means).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from dynopt.checks import check_finite_param, check_int

__all__ = ["EquilibrationCheck", "equilibration_check", "SplitRHat", "split_rhat",
           "MomentEstimate", "moment_estimate", "variance_estimate", "difference_z"]


def _samples(samples, name="samples", min_times=4):
    x = np.asarray(samples, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < min_times or x.shape[1] < 1:
        raise ValueError(f"`{name}` must have shape (n_times, n_paths) or (n_times,) with "
                         f"n_times ≥ {min_times}; got shape {np.shape(samples)}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must be finite (drop blown-up paths first)")
    return x


def _count(value, name, low, high):
    return check_int(value, name, low=low, high=high)


def _batch_means(values, batches):
    """Means of ``batches`` equal consecutive blocks along axis 0, for every path."""
    n = values.shape[0] // batches * batches
    return values[:n].reshape(batches, n // batches, -1).mean(axis=1)


# ----------------------------------------------------------------------------------------
# Two halves of a window
# ----------------------------------------------------------------------------------------
class EquilibrationCheck(NamedTuple):
    """Outcome of :func:`equilibration_check`.

    Fields: ``equilibrated`` (p_value ≥ alpha), ``method``, ``statistic`` (t for "means",
    the KS distance for "ks"), ``p_value``, ``first_half``, ``second_half`` (means of the
    compared samples), ``difference`` (second − first), ``std_err`` (of the difference; NaN
    for "ks"), ``alpha``.
    """

    equilibrated: bool
    method: str
    statistic: float
    p_value: float
    first_half: float
    second_half: float
    difference: float
    std_err: float
    alpha: float


def equilibration_check(samples, *, method="means", alpha=0.01, batches=20) -> EquilibrationCheck:
    """Test whether an observable is stationary over a time window by comparing its halves.

    Parameters
    ----------
    samples : array_like, shape (n_times, n_paths) or (n_times,)
        A scalar observable at equally spaced times of the window (axis 0) on independent
        paths (axis 1).
    method : {"means", "ks"}
        "means": the difference between the second-half and first-half time averages in
        standard errors.  With ≥ 2 paths each path gives one paired difference and the
        test is a paired t-test (valid whatever the correlation in time); with one path
        the standard errors come from ``batches`` batch means along time.
        "ks": two-sample Kolmogorov–Smirnov test between the ensemble at the first time
        (in the first half) and at the last time (in the second half) of the window: it
        sees changes of spread or shape that leave the mean alone, e.g. an ensemble started
        at one point.  Needs ≥ 2 paths; the snapshots share paths, which makes the test
        conservative while they are still correlated.
    alpha : float in (0, 1)
        Significance level: ``equilibrated`` is ``p_value ≥ alpha``.
    batches : int ≥ 4, even
        Number of batches along time for a single path (half in each half-window).

    Returns
    -------
    EquilibrationCheck

    Notes
    -----
    Passing is evidence of stationarity only at the resolution of the test: a drift
    slower than the standard error goes unnoticed.  Use it on the window over which
    averages will be taken, after the burn-in one intends to discard.
    """
    x = _samples(samples)
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False, high=1.0,
                           high_inclusive=False)
    n_t, n_p = x.shape
    half = n_t // 2
    if method == "ks":
        if n_p < 2:
            raise ValueError("`method`='ks' needs ≥ 2 independent paths; use method='means'")
        first, last = x[0], x[-1]
        res = stats.ks_2samp(first, last)
        return EquilibrationCheck(bool(res.pvalue >= a), "ks", float(res.statistic),
                                  float(res.pvalue), float(first.mean()), float(last.mean()),
                                  float(last.mean() - first.mean()), float("nan"), a)
    if method != "means":
        raise ValueError(f"`method` must be 'means' or 'ks'; got {method!r}")
    m1, m2 = x[:half].mean(axis=0), x[half:2 * half].mean(axis=0)
    if n_p >= 2:
        d = m2 - m1
        se = float(d.std(ddof=1) / math.sqrt(n_p))
        dof = n_p - 1
    else:
        b = _count(batches, "batches", 4, half)
        if b % 2:
            raise ValueError(f"`batches` must be even (half in each half-window); got {b}")
        b1, b2 = _batch_means(x[:half], b // 2)[:, 0], _batch_means(x[half:2 * half], b // 2)[:, 0]
        se = float(math.sqrt(b1.var(ddof=1) / b1.size + b2.var(ddof=1) / b2.size))
        dof = b - 2
    diff = float(m2.mean() - m1.mean())
    t = diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    p = float(2 * stats.t.sf(abs(t), dof))
    return EquilibrationCheck(bool(p >= a), "means", float(t), p, float(m1.mean()),
                              float(m2.mean()), diff, se, a)


# ----------------------------------------------------------------------------------------
# Split-R̂
# ----------------------------------------------------------------------------------------
class SplitRHat(NamedTuple):
    """Outcome of :func:`split_rhat`.

    Fields: ``rhat`` (the reported value: max of bulk and folded when rank-normalized,
    else the classic split-R̂), ``rhat_bulk``, ``rhat_folded`` (NaN when not
    rank-normalized), ``equilibrated`` (rhat < threshold), ``threshold``, ``n_chains``
    (after splitting) and ``n_draws`` (per split chain).
    """

    rhat: float
    rhat_bulk: float
    rhat_folded: float
    equilibrated: bool
    threshold: float
    n_chains: int
    n_draws: int


def _rhat(chains):
    """Classic R̂ of draws (n, m): √(((n−1)/n W + B/n)/W)."""
    n = chains.shape[0]
    means = chains.mean(axis=0)
    w = chains.var(axis=0, ddof=1).mean()
    b_over_n = means.var(ddof=1)
    if w == 0:
        return 1.0 if b_over_n == 0 else math.inf
    return float(math.sqrt(((n - 1) / n * w + b_over_n) / w))


def _rank_normal(chains):
    r = stats.rankdata(chains, method="average").reshape(chains.shape)
    return stats.norm.ppf((r - 3 / 8) / (chains.size + 1 / 4))


def split_rhat(samples, *, groups=None, threshold=1.01, rank_normalize=True) -> SplitRHat:
    """Gelman–Rubin split-R̂ of an observable across paths (or groups of paths).

    Each chain is cut into its first and second half in time, so a trend inside the window
    shows up as disagreement between halves even when all chains share it (as an ensemble
    started from one point does).  R̂ = √(((n−1)/n·W + B/n)/W) with W the mean within-chain
    variance and B/n the variance of the chain means.

    Parameters
    ----------
    samples : array_like, shape (n_times, n_paths)
    groups : int, optional
        Pool the paths into this many groups of consecutive columns, each group one chain
        (its draws: all values of its paths).  Default: every path is a chain.
    threshold : float > 1
        ``equilibrated`` is rhat < threshold (1.01 after Vehtari et al. 2021; 1.1 is the
        older, looser convention).
    rank_normalize : bool
        Use rank-normalized (bulk) and folded (tails: |x − median|) R̂ and report the
        larger; robust to heavy tails.  False gives the classic split-R̂.

    Returns
    -------
    SplitRHat

    Notes
    -----
    For stationary but correlated draws R̂ − 1 ≈ (τ − 1)/(2n) with τ the integrated
    autocorrelation time in draws and n the draws per split chain: space the samples so
    that n ≫ τ before demanding 1.01.
    """
    x = _samples(samples)
    th = check_finite_param(threshold, "threshold", low=1.0, low_inclusive=False)
    n_t, n_p = x.shape
    half = n_t // 2
    split = np.concatenate([x[:half], x[half:2 * half]], axis=1)  # (half, 2 n_p)
    if groups is not None:
        g = _count(groups, "groups", 1, n_p)
        cols = n_p // g * g
        parts = [split[:, :n_p][:, :cols], split[:, n_p:][:, :cols]]
        # (half, g, paths per group) → draws of one chain are all its paths' values
        split = np.concatenate([p.reshape(half, g, -1).transpose(0, 2, 1).reshape(-1, g)
                                for p in parts], axis=1)
    if split.shape[1] < 2 or split.shape[0] < 2:
        raise ValueError("`samples` must give at least 2 split chains of ≥ 2 draws")
    if not rank_normalize:
        r = _rhat(split)
        return SplitRHat(r, r, float("nan"), bool(r < th), th, split.shape[1], split.shape[0])
    bulk = _rhat(_rank_normal(split))
    folded = _rhat(_rank_normal(np.abs(split - np.median(split))))
    r = max(bulk, folded)
    return SplitRHat(r, bulk, folded, bool(r < th), th, split.shape[1], split.shape[0])


# ----------------------------------------------------------------------------------------
# Moments with standard errors
# ----------------------------------------------------------------------------------------
class MomentEstimate(NamedTuple):
    """A sample moment with its standard error.

    Fields: ``value``, ``std_err``, ``order``, ``central`` (bool), ``n`` (number of
    values), ``method`` ("iid" or "batch means").
    """

    value: float
    std_err: float
    order: int
    central: bool
    n: int
    method: str


def moment_estimate(x, order=2, *, central=True, batches=None) -> MomentEstimate:
    """Raw or central sample moment of order k with its delta-method standard error.

    The central moment m_k = mean((x − x̄)^k) has influence values
    φ_i = (x_i − x̄)^k − m_k − k m_{k−1}(x_i − x̄), so for i.i.d. samples
    Var m_k ≈ (μ_{2k} − μ_k² − 2k μ_{k−1}μ_{k+1} + k² μ_{k−1}² μ_2)/n (Kendall & Stuart);
    the raw moment has φ_i = x_i^k − mean(x^k).

    Parameters
    ----------
    x : array_like, shape (n,) or (n_times, n_paths)
        Values.  Without ``batches`` all values are treated as i.i.d.
    order : int ≥ 1
    central : bool
        Central (about the sample mean) or raw moment.  Order 1 central is 0; use raw
        order 1 for the mean.
    batches : int ≥ 2, optional
        For values correlated along axis 0 (time): the standard error is the spread of the
        means of φ over ``batches`` consecutive blocks per path, divided by the root of the
        number of blocks.  Blocks must be much longer than the correlation time.

    Returns
    -------
    MomentEstimate
        For order 2 the value is the biased (1/n) variance; see :func:`variance_estimate`
        for the unbiased one.
    """
    k = _count(order, "order", 1, 64)
    v = _samples(x, "x", min_times=2)
    if central and k == 1:
        raise ValueError("`order` = 1 with central=True is identically 0; use central=False")
    if central:
        dev = v - v.mean()
        m_k, m_km1 = float(np.mean(dev ** k)), float(np.mean(dev ** (k - 1)))
        phi = dev ** k - m_k - k * m_km1 * dev
    else:
        m_k = float(np.mean(v ** k))
        phi = v ** k - m_k
    if batches is None:
        se = float(phi.std(ddof=1) / math.sqrt(phi.size)) if phi.size > 1 else float("nan")
        method = "iid"
    else:
        b = _count(batches, "batches", 2, v.shape[0])
        blocks = _batch_means(phi, b).ravel()
        se = float(blocks.std(ddof=1) / math.sqrt(blocks.size))
        method = "batch means"
    return MomentEstimate(m_k, se, k, bool(central), int(v.size), method)


def variance_estimate(x, *, batches=None) -> MomentEstimate:
    """Unbiased sample variance s² (1/(n − 1)) with its standard error.

    For i.i.d. values with fourth central moment μ₄ the error is √((μ₄ − σ⁴)/n) to leading
    order; with ``batches`` it comes from batch means along axis 0 (see
    :func:`moment_estimate`).
    """
    m = moment_estimate(x, 2, batches=batches)
    c = m.n / (m.n - 1)
    return m._replace(value=m.value * c, std_err=m.std_err * c)


def difference_z(a: MomentEstimate, b: MomentEstimate) -> float:
    """(a − b)/√(se_a² + se_b²): the gap between two independent estimates in standard errors."""
    se = math.hypot(a.std_err, b.std_err)
    if not se > 0:
        raise ValueError("`a` and `b` must have a positive combined standard error")
    return (a.value - b.value) / se
