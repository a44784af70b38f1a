"""Stationary densities and their tests: the Gibbs density of a potential, distances between an
ensemble and a density (Kolmogorov–Smirnov, Wasserstein), χ² on histograms, escape times and
kinetic temperature.
"""
from __future__ import annotations


import numpy as np
from scipy import integrate as _sint

from dynopt.analysis.first_passage import PassageSample
from dynopt.analysis.passage_means import mean_passage_time
from dynopt.checks import check_finite_param, finite_samples

__all__ = ["gibbs_density", "density_distances", "histogram_chi2", "escape_times", "kinetic_temperature"]


def gibbs_density(potential, temperature, lo, hi):
    """Normalised 1-D density ∝ exp(−U(x)/kT) on [lo, hi] (normaliser by ``scipy.integrate.quad``).

    ``potential`` is a callable on scalars and arrays, or a 1-D :class:`~dynopt.problems.Problem`.
    For any dimension, marginals and tests use :class:`dynopt.analysis.densities.GibbsDensity`.

    Returns
    -------
    (pdf, Z) : callable on arrays, float
    """
    if hasattr(potential, "value") and getattr(potential, "dim", None) == 1:
        problem = potential
        potential = lambda x: problem.value(np.reshape(np.asarray(x, float), (-1, 1))).reshape(np.shape(x))  # noqa: E731
    kT = check_finite_param(temperature, "temperature", low=0.0, low_inclusive=False)
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"`lo`, `hi` must be finite with hi > lo; got {lo!r}, {hi!r}")
    u = [float(potential(x)) for x in np.linspace(lo, hi, 201)]
    if not np.all(np.isfinite(u)):
        raise ValueError(f"`potential` must be finite on [{lo:g}, {hi:g}]")
    u0 = min(u)
    w = lambda x: np.exp(-(potential(x) - u0) / kT)  # noqa: E731
    with np.errstate(over="ignore", under="ignore"):  # an overflow is reported below, as Z
        Z, _ = _sint.quad(w, lo, hi, limit=200, points=[0.0] if lo < 0 < hi else None)
    if not (np.isfinite(Z) and Z > 0):
        raise ValueError(f"`temperature` = {kT:g}: the normaliser of exp(−U/kT) on [{lo:g}, {hi:g}] is {Z!r}, "
                         "so the density is undefined (it underflows to 0, or U is unbounded below there)")
    return (lambda x: w(np.asarray(x, float)) / Z), Z


def density_distances(samples, pdf, lo, hi):
    """KS test and Wasserstein-1 distance of 1-D ``samples`` to the density ``pdf`` on [lo, hi].

    The CDF is built by ``quad`` on a fine grid; samples outside [lo, hi] count against the
    fit (they are kept, the CDF is 0/1 there).

    Returns
    -------
    dict with ks_statistic, ks_pvalue, wasserstein, n
    """
    from scipy import stats

    x = finite_samples(samples, "samples")
    lo, hi = check_finite_param(lo, "lo"), check_finite_param(hi, "hi", low=lo, low_inclusive=False)
    grid = np.linspace(lo, hi, 4001)
    pd = np.asarray(pdf(grid), float)
    if not np.all(np.isfinite(pd)) or (pd < 0).any():
        raise ValueError(f"`pdf` must be finite and non-negative on [{lo:g}, {hi:g}]")
    cdf_grid = np.concatenate([[0.0], np.cumsum(0.5 * (pd[1:] + pd[:-1]) * np.diff(grid))])
    if not cdf_grid[-1] > 0:
        raise ValueError(f"`pdf` has no mass on [{lo:g}, {hi:g}]: the distances are undefined")
    cdf_grid /= cdf_grid[-1]
    cdf = lambda v: np.interp(v, grid, cdf_grid)  # noqa: E731
    ks = stats.kstest(x, cdf)
    # W1 between the empirical law and pdf: ∫|F_n − F| dx on the grid
    Fn = np.searchsorted(np.sort(x), grid, side="right") / x.size
    w1 = float(np.trapezoid(np.abs(Fn - cdf_grid), grid)) if hasattr(np, "trapezoid") else \
        float(np.trapz(np.abs(Fn - cdf_grid), grid))
    return {"ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue), "wasserstein": w1, "n": int(x.size)}


def histogram_chi2(counts, probs):
    """Pearson χ² of integer bin ``counts`` against bin probabilities ``probs`` (bins with
    expected count ≥ 5), with its p-value from ``scipy.stats.chi2``."""
    from scipy import stats

    counts = finite_samples(counts, "counts")
    probs = finite_samples(probs, "probs")
    if counts.size != probs.size:
        raise ValueError(f"`counts` and `probs` must have the same length; got {counts.size} and {probs.size}")
    if (counts < 0).any() or (probs < 0).any():
        raise ValueError("`counts` and `probs` must be non-negative")
    n = counts.sum()
    exp = probs * n
    keep = exp >= 5
    chi2 = float(((counts[keep] - exp[keep]) ** 2 / exp[keep]).sum())
    dof = int(keep.sum()) - 1
    if dof < 1:
        raise ValueError(f"χ² is undefined here: only {int(keep.sum())} bin(s) expect 5 or more counts "
                         f"(n = {n:g}); use more samples or wider bins")
    return {"chi2": chi2, "dof": dof, "pvalue": float(stats.chi2.sf(chi2, dof))}


def escape_times(result, name="first_passage", *, on_censored="raise"):
    """Mean first-passage time with its standard error from an ensemble result.

    The mean is taken over *all* paths (with their Brownian-bridge weights when the
    observer had ``bridge=``): it is defined only when every path passed.  Averaging only
    the paths that passed would estimate E[τ | τ ≤ T], biased low.

    Parameters
    ----------
    result : EnsembleResult
        With a :class:`dynopt.engine.FirstPassage` observation called ``name``.
    name : str
    on_censored : {"raise", "undefined"}
        When some paths had not passed (or blew up first): raise
        :class:`dynopt.analysis.CensoredDataError` naming the censored fraction, or return
        ``mean = se = None`` with that fraction and the reason.

    Returns
    -------
    dict with mean, se, passed, n, resolution, censored_fraction, reason

    Raises
    ------
    CensoredDataError
        With ``on_censored="raise"`` when any path is censored; use
        :func:`dynopt.analysis.kaplan_meier`, :func:`dynopt.analysis.exit_rate` or
        :func:`dynopt.analysis.tail_mean` on ``PassageSample.from_observer(...)`` instead.
    """
    fp = result.observations[name]
    sample = PassageSample.from_observer(fp, result.t_final)
    m = mean_passage_time(sample, on_censored=on_censored)
    return {"mean": m.mean if m.defined else None, "se": m.std_err if m.defined else None,
            "passed": int(fp.passed.sum()), "n": int(fp.passed.size), "resolution": fp.resolution,
            "censored_fraction": m.censored_fraction, "reason": m.reason}


def kinetic_temperature(velocities):
    """⟨|η|²⟩/d with its standard error: equals kT = σ²/(2λ) at equilibrium."""
    v = np.asarray(velocities, float)
    if v.ndim != 2 or v.shape[0] < 2 or v.shape[1] < 1:
        raise ValueError(f"`velocities` must have shape (n_paths, d) with n_paths >= 2; got shape {v.shape}")
    finite_samples(v, "velocities")
    e = (v ** 2).mean(axis=1)
    return float(e.mean()), float(e.std(ddof=1) / np.sqrt(e.size))
