"""Equilibration checks, split-R̂ and standard errors of variances and higher moments."""
import numpy as np
import pytest

from dynopt.analysis.diagnostics import (difference_z, equilibration_check, moment_estimate,
                                         split_rhat, variance_estimate)


def ou_ensemble(rng, n_times, n_paths, *, dt, x0=None, theta=1.0, sigma=1.0):
    """Exact OU samples dX = −θX dt + σ dW, shape (n_times, n_paths); x0=None starts stationary."""
    a, var = np.exp(-theta * dt), sigma ** 2 / (2 * theta)
    x = np.empty((n_times, n_paths))
    x[0] = rng.normal(0.0, np.sqrt(var), n_paths) if x0 is None else x0
    for k in range(1, n_times):
        x[k] = a * x[k - 1] + np.sqrt(var * (1 - a * a)) * rng.normal(size=n_paths)
    return x


def test_equilibration_check_flags_an_ensemble_started_far_away(rng):
    far = ou_ensemble(rng, 200, 100, dt=0.05, x0=3.0)  # window [0, 10] correlation times
    means = equilibration_check(far)
    assert not means.equilibrated and means.statistic < -5 and means.p_value < 1e-10
    assert not equilibration_check(far, method="ks").equilibrated
    # one point at the bottom of the well: the mean is right, the spread is not
    narrow = ou_ensemble(rng, 200, 100, dt=0.05, x0=0.0)
    assert not equilibration_check(narrow, method="ks").equilibrated


def test_equilibration_check_passes_a_stationary_ensemble(rng):
    x = ou_ensemble(rng, 200, 100, dt=0.05)
    for method in ("means", "ks"):
        res = equilibration_check(x, method=method)
        assert res.equilibrated and res.p_value > 0.01


def test_equilibration_check_false_alarm_rate_is_alpha():
    seeds = np.random.SeedSequence(3).spawn(300)
    alarms = {"means": 0, "ks": 0}
    for ss in seeds:
        x = ou_ensemble(np.random.default_rng(ss), 100, 50, dt=0.5)
        for m in alarms:
            alarms[m] += not equilibration_check(x, method=m, alpha=0.05).equilibrated
    se = np.sqrt(0.05 * 0.95 / len(seeds))
    for m, n in alarms.items():  # measured: 11 and 13 of 300 at alpha = 0.05
        assert abs(n / len(seeds) - 0.05) < 4 * se, m


def test_equilibration_check_on_one_path_uses_batch_means(rng):
    x = ou_ensemble(rng, 20000, 1, dt=0.2)[:, 0]
    assert equilibration_check(x).equilibrated
    trend = x + np.linspace(0.0, 1.0, x.size)
    res = equilibration_check(trend)
    assert not res.equilibrated and res.difference == pytest.approx(0.5, abs=5 * res.std_err)
    with pytest.raises(ValueError, match="ks"):
        equilibration_check(x, method="ks")
    with pytest.raises(ValueError, match="batches"):
        equilibration_check(x, batches=7)


def test_split_rhat_separates_relaxing_from_stationary_ensembles(rng):
    # samples two correlation times apart: τ ≈ 1.3 draws, so R̂ − 1 ≈ (τ − 1)/(2n) ≪ 0.01
    stationary = ou_ensemble(rng, 200, 100, dt=2.0)
    far = ou_ensemble(rng, 200, 100, dt=0.05, x0=3.0)
    for kw in ({}, {"rank_normalize": False}, {"groups": 10}):
        ok, bad = split_rhat(stationary, **kw), split_rhat(far, **kw)
        assert ok.equilibrated and ok.rhat < 1.01, kw
        assert not bad.equilibrated and bad.rhat > 1.05, kw
    res = split_rhat(stationary, groups=10)
    assert (res.n_chains, res.n_draws) == (20, 1000)
    # the folded R̂ sees a spread that relaxes while the mean stays put
    narrow = ou_ensemble(rng, 200, 100, dt=0.05, x0=0.0)
    assert split_rhat(narrow).rhat_folded > 1.05


def test_variance_standard_error_matches_the_spread_over_repeated_samples():
    rng = np.random.default_rng(11)
    reps = rng.gamma(2.0, 1.0, (2000, 200))  # skewed: μ₄ ≠ 3σ⁴ matters
    est = [variance_estimate(x) for x in reps]
    values = np.array([e.value for e in est])
    assert values.mean() == pytest.approx(2.0, abs=5 * values.std() / np.sqrt(values.size))
    spread = variance_estimate(values)             # Var of s² over repetitions, with its SE
    predicted = moment_estimate(np.array([e.std_err ** 2 for e in est]), 1, central=False)
    assert abs(difference_z(spread, predicted)) < 5
    # measured: spread sd 0.319, rms predicted SE 0.316 (z = 0.49)
    assert np.sqrt(spread.value / predicted.value) == pytest.approx(1.0, abs=0.08)


def test_third_moment_standard_error_matches_the_spread():
    rng = np.random.default_rng(12)
    reps = rng.gamma(2.0, 1.0, (2000, 200))
    est = [moment_estimate(x, 3) for x in reps]
    spread = variance_estimate(np.array([e.value for e in est]))
    predicted = moment_estimate(np.array([e.std_err ** 2 for e in est]), 1, central=False)
    assert abs(difference_z(spread, predicted)) < 5
    np.testing.assert_allclose(np.mean([e.value for e in est]), 4.0, rtol=0.05)  # 2·shape


def test_batch_means_standard_error_for_correlated_samples():
    rng = np.random.default_rng(13)
    phi, n, reps = 0.9, 4000, 400
    x = np.empty((n, reps))
    x[0] = rng.normal(size=reps) / np.sqrt(1 - phi * phi)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal(size=reps)
    batch = [variance_estimate(x[:, r], batches=20) for r in range(reps)]
    iid = [variance_estimate(x[:, r]) for r in range(reps)]
    sd = np.std([e.value for e in batch], ddof=1)
    rms = np.sqrt(np.mean([e.std_err ** 2 for e in batch]))
    # measured: sd 0.341, batch means 0.354, i.i.d. formula 0.117 (τ ≈ 9.5 for x²)
    assert rms / sd == pytest.approx(1.0, abs=0.15)
    assert np.mean([e.std_err for e in iid]) < 0.5 * sd
    assert batch[0].method == "batch means" and iid[0].method == "iid"
    mean_se = moment_estimate(x[:, 0], 1, central=False, batches=20)
    assert mean_se.std_err > 3 * x[:, 0].std() / np.sqrt(n)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="samples"):
        equilibration_check(np.zeros(3))
    with pytest.raises(ValueError, match="method"):
        equilibration_check(np.zeros((10, 3)), method="median")
    with pytest.raises(ValueError, match="alpha"):
        equilibration_check(np.zeros((10, 3)), alpha=1.5)
    with pytest.raises(ValueError, match="threshold"):
        split_rhat(np.zeros((10, 3)), threshold=1.0)
    with pytest.raises(ValueError, match="groups"):
        split_rhat(np.zeros((10, 3)), groups=5)
    with pytest.raises(ValueError, match="order"):
        moment_estimate([1.0, 2.0], 1)
    with pytest.raises(ValueError, match="finite"):
        variance_estimate([1.0, np.nan, 2.0])
