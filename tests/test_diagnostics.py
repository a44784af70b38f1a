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


# ----------------------------------------------------------------------------------------
# Exact values against hand computations
# ----------------------------------------------------------------------------------------
def _fields(result):
    return dict(result._asdict())


def test_equilibration_check_means_is_the_paired_t_test_of_the_half_window_means():
    """Several paths: the whole result equals a hand paired t-test on the per-path means of the
    first ⌊n/2⌋ and the next ⌊n/2⌋ times (an odd last time is dropped), dof = paths − 1."""
    from scipy import stats

    x = np.random.default_rng(11).normal(size=(9, 6)) + np.linspace(0.0, 0.8, 9)[:, None]
    m1, m2 = x[:4].mean(axis=0), x[4:8].mean(axis=0)
    d = m2 - m1
    se = np.sqrt(np.sum((d - d.mean()) ** 2) / 5) / np.sqrt(6)
    t = d.mean() / se
    p = 2 * stats.t.sf(abs(t), 5)
    assert p == pytest.approx(stats.ttest_rel(m2, m1).pvalue, rel=1e-12)
    got = equilibration_check(x)
    want = {"equilibrated": bool(p >= 0.01), "method": "means", "statistic": t, "p_value": p,
            "first_half": m1.mean(), "second_half": m2.mean(), "difference": m2.mean() - m1.mean(),
            "std_err": se, "alpha": 0.01}
    assert _fields(got).keys() == want.keys()
    for k, v in want.items():
        if isinstance(v, (bool, str)):
            assert got._asdict()[k] == v, k
        else:
            assert got._asdict()[k] == pytest.approx(v, rel=1e-12, abs=0), k
    assert equilibration_check(x, method="means", alpha=0.01, batches=20) == got


def test_equilibration_check_equilibrated_is_p_at_least_alpha():
    """``equilibrated`` holds at alpha = p exactly and fails just above it."""
    x = np.random.default_rng(3).normal(size=(8, 5))
    p = equilibration_check(x).p_value
    assert 0 < p < 1
    assert equilibration_check(x, alpha=p).equilibrated is True
    assert equilibration_check(x, alpha=np.nextafter(p, 1.0)).equilibrated is False


def test_equilibration_check_one_path_uses_batch_means_of_each_half():
    """One path: the standard error is √(s₁²/b₁ + s₂²/b₂) of the batch means of each half
    (b/2 batches per half, trailing times that do not fill a batch dropped), dof = b − 2."""
    from scipy import stats

    x = np.random.default_rng(5).normal(size=27) + 0.05 * np.arange(27)
    half = 13
    b = 6
    per = half // (b // 2)  # 4 values per batch, 1 left over in each half
    b1 = np.array([x[k * per:(k + 1) * per].mean() for k in range(3)])
    b2 = np.array([x[half + k * per:half + (k + 1) * per].mean() for k in range(3)])
    se = np.sqrt(b1.var(ddof=1) / 3 + b2.var(ddof=1) / 3)
    diff = x[half:2 * half].mean() - x[:half].mean()
    t = diff / se
    p = 2 * stats.t.sf(abs(t), b - 2)
    got = equilibration_check(x, batches=b)
    assert got.method == "means" and got.alpha == 0.01
    for name, v in {"statistic": t, "p_value": p, "first_half": x[:half].mean(),
                    "second_half": x[half:2 * half].mean(), "difference": diff, "std_err": se}.items():
        assert getattr(got, name) == pytest.approx(v, rel=1e-12, abs=0), name
    assert got.equilibrated is bool(p >= 0.01)
    # 23 times: halves of 11 (the last time dropped), 3 batches of 3 in each (2 values left over)
    y = np.random.default_rng(15).normal(size=23)
    c1 = np.array([y[3 * k:3 * k + 3].mean() for k in range(3)])
    c2 = np.array([y[11 + 3 * k:11 + 3 * k + 3].mean() for k in range(3)])
    assert equilibration_check(y, batches=6).std_err == pytest.approx(
        np.sqrt(c1.var(ddof=1) / 3 + c2.var(ddof=1) / 3), rel=1e-12)
    long = np.random.default_rng(6).normal(size=100)
    assert equilibration_check(long) == equilibration_check(long, batches=20)
    assert equilibration_check(long) != equilibration_check(long, batches=10)


def test_equilibration_check_zero_spread():
    """A zero standard error gives t = 0 (p = 1) for no difference and t = ±inf (p = 0) otherwise."""
    flat = np.ones((6, 4))
    r = equilibration_check(flat)
    assert (r.statistic, r.p_value, r.std_err, r.equilibrated) == (0.0, 1.0, 0.0, True)
    step = np.ones((6, 4))
    step[3:] = 2.0
    r = equilibration_check(step)
    assert r.statistic == np.inf and r.p_value == 0.0 and r.difference == 1.0 and not r.equilibrated
    r = equilibration_check(-step)
    assert r.statistic == -np.inf and r.p_value == 0.0


def test_equilibration_check_ks_compares_the_first_and_last_snapshots():
    """``method="ks"``: scipy's two-sample KS between the first and the last time, their means,
    and an undefined (NaN) standard error."""
    from scipy import stats

    x = np.random.default_rng(8).normal(size=(7, 30))
    x[-1] *= 3.0
    ref = stats.ks_2samp(x[0], x[-1])
    got = equilibration_check(x, method="ks", alpha=0.2)
    assert got.method == "ks" and got.alpha == 0.2
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert got.first_half == pytest.approx(x[0].mean(), rel=1e-12)
    assert got.second_half == pytest.approx(x[-1].mean(), rel=1e-12)
    assert got.difference == pytest.approx(x[-1].mean() - x[0].mean(), rel=1e-12)
    assert np.isnan(got.std_err)
    assert got.equilibrated is bool(ref.pvalue >= 0.2)
    assert equilibration_check(x, method="ks", alpha=ref.pvalue).equilibrated is True
    assert equilibration_check(x, method="ks", alpha=np.nextafter(ref.pvalue, 1)).equilibrated is False


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 0.0}, r"^`alpha` must be in \(0\.0, 1\.0\); got 0\.0$"),
    ({"alpha": 1.0}, r"^`alpha` must be in \(0\.0, 1\.0\); got 1\.0$"),
    ({"method": "KS"}, r"^`method` must be 'means' or 'ks'; got 'KS'$"),
])
def test_equilibration_check_argument_messages(kwargs, match):
    """Each refused argument is named with its allowed values."""
    with pytest.raises(ValueError, match=match):
        equilibration_check(np.zeros((10, 3)), **kwargs)


def test_equilibration_check_refusals_on_one_path():
    """One path: 'ks' needs ≥ 2 paths; batches must be an even integer in [4, n_times // 2]."""
    one = np.arange(12.0)
    with pytest.raises(ValueError, match=r"^`method`='ks' needs ≥ 2 independent paths; use method='means'$"):
        equilibration_check(one[:, None], method="ks")
    with pytest.raises(ValueError, match=r"^`batches` must be an integer in \[4, 6\]; got 3$"):
        equilibration_check(one, batches=3)
    with pytest.raises(ValueError, match=r"^`batches` must be an integer in \[4, 6\]; got 7$"):
        equilibration_check(one, batches=7)
    with pytest.raises(ValueError, match=r"^`batches` must be even \(half in each half-window\); got 5$"):
        equilibration_check(one, batches=5)
    assert equilibration_check(one, batches=4).method == "means"
    assert equilibration_check(one, batches=6).method == "means"
    with pytest.raises(ValueError, match=r"^`samples` must have shape \(n_times, n_paths\) or \(n_times,\) with "
                                         r"n_times ≥ 4; got shape \(3, 2\)"):
        equilibration_check(np.zeros((3, 2)))
    assert equilibration_check(np.arange(8.0).reshape(4, 2)).method == "means"
    with pytest.raises(ValueError, match=r"^`samples` must be finite \(drop blown-up paths first\)$"):
        equilibration_check(np.array([[1.0, 2.0]] * 3 + [[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="`samples` must have shape"):
        equilibration_check(np.zeros((4, 0)))
    with pytest.raises(ValueError, match="`samples` must have shape"):
        equilibration_check(np.zeros((4, 2, 2)))


def _hand_rhat(chains):
    n, m = chains.shape
    means = [sum(chains[:, j]) / n for j in range(m)]
    w = sum(sum((chains[i, j] - means[j]) ** 2 for i in range(n)) / (n - 1) for j in range(m)) / m
    grand = sum(means) / m
    b_over_n = sum((mj - grand) ** 2 for mj in means) / (m - 1)
    return np.sqrt(((n - 1) / n * w + b_over_n) / w)


def _hand_rank_normal(chains):
    from scipy import stats

    flat = chains.ravel()
    # average ranks of ties, then Blom's (r − 3/8)/(S + 1/4)
    ranks = np.array([np.sum(flat < v) + (np.sum(flat == v) + 1) / 2 for v in flat])
    return stats.norm.ppf((ranks - 0.375) / (flat.size + 0.25)).reshape(chains.shape)


def test_split_rhat_matches_a_hand_rank_normalized_and_folded_rhat():
    """Rank-normalized split-R̂ (Vehtari et al. 2021): halves of each path become chains, ranks
    (ties averaged) go through Blom's (r − 3/8)/(S + 1/4) normal scores, and the reported R̂ is
    the larger of the bulk and the folded (|x − median|) values; n_chains, n_draws as split."""
    x = np.random.default_rng(21).normal(size=(11, 3)) + np.linspace(0, 1, 11)[:, None]
    x[0, 0] = x[1, 1]  # a tie
    split = np.concatenate([x[:5], x[5:10]], axis=1)
    bulk = _hand_rhat(_hand_rank_normal(split))
    folded = _hand_rhat(_hand_rank_normal(np.abs(split - np.median(split))))
    got = split_rhat(x)
    assert got.rhat_bulk == pytest.approx(bulk, rel=1e-12)
    assert got.rhat_folded == pytest.approx(folded, rel=1e-12)
    assert got.rhat == max(got.rhat_bulk, got.rhat_folded)
    assert (got.threshold, got.n_chains, got.n_draws) == (1.01, 6, 5)
    assert got.equilibrated is bool(got.rhat < 1.01)
    assert split_rhat(x, groups=None, threshold=1.01, rank_normalize=True) == got
    assert split_rhat(x, threshold=got.rhat).equilibrated is False
    assert split_rhat(x, threshold=np.nextafter(got.rhat, 2.0)).equilibrated is True


def test_split_rhat_classic_and_grouped():
    """``rank_normalize=False`` is the classic split-R̂ of the raw values (folded NaN); ``groups``
    pools consecutive paths into one chain per group and half."""
    x = np.random.default_rng(4).normal(size=(8, 6)) + np.linspace(0, 2, 8)[:, None]
    split = np.concatenate([x[:4], x[4:8]], axis=1)
    got = split_rhat(x, rank_normalize=False, threshold=1.1)
    r = _hand_rhat(split)
    assert got.rhat == pytest.approx(r, rel=1e-12) and got.rhat_bulk == got.rhat
    assert np.isnan(got.rhat_folded)
    assert (got.threshold, got.n_chains, got.n_draws, got.equilibrated) == (1.1, 12, 4, bool(r < 1.1))
    assert split_rhat(x, rank_normalize=False, threshold=got.rhat).equilibrated is False
    assert split_rhat(x, rank_normalize=False, threshold=np.nextafter(got.rhat, 2.0)).equilibrated is True
    # 6 paths in 2 groups of 3: chain g of each half holds all values of paths 3g..3g+2
    g = split_rhat(x, groups=2, rank_normalize=False)
    chains = np.stack([x[:4, 0:3].ravel(), x[:4, 3:6].ravel(), x[4:8, 0:3].ravel(), x[4:8, 3:6].ravel()], axis=1)
    assert g.rhat == pytest.approx(_hand_rhat(chains), rel=1e-12)
    assert (g.n_chains, g.n_draws) == (4, 12)
    # 7 paths in 3 groups: the last path is left out
    x7 = np.random.default_rng(9).normal(size=(6, 7))
    g7 = split_rhat(x7, groups=3, rank_normalize=False)
    ch = np.stack([x7[h, 2 * k:2 * k + 2].ravel() for h in (slice(0, 3), slice(3, 6)) for k in range(3)], axis=1)
    assert g7.rhat == pytest.approx(_hand_rhat(ch), rel=1e-12) and (g7.n_chains, g7.n_draws) == (6, 6)
    assert split_rhat(x, groups=6, rank_normalize=False).rhat == pytest.approx(r, rel=1e-12)


def test_split_rhat_constant_chains_and_refusals():
    """Zero within-chain variance: R̂ = 1 when the chains agree, inf when they differ; out-of-range
    arguments are refused by name; the smallest input (4 times, 1 path) gives 2 chains of 2 draws."""
    assert split_rhat(np.ones((6, 3)), rank_normalize=False).rhat == 1.0
    steps = np.ones((6, 3))
    steps[3:] = 2.0
    assert split_rhat(steps, rank_normalize=False).rhat == np.inf
    with pytest.raises(ValueError, match=r"^`threshold` must be in \(1\.0, inf\); got 1\.0"):
        split_rhat(np.zeros((10, 3)), threshold=1.0)
    with pytest.raises(ValueError, match=r"^`groups` must be an integer in \[1, 3\]; got 0"):
        split_rhat(np.zeros((10, 3)), groups=0)
    with pytest.raises(ValueError, match=r"^`samples` must have shape .* n_times ≥ 4; got shape \(3, 5\)"):
        split_rhat(np.zeros((3, 5)))
    one = split_rhat(np.random.default_rng(0).normal(size=(4, 1)), rank_normalize=False)
    assert (one.n_chains, one.n_draws) == (2, 2)


def test_moment_estimate_central_and_raw_against_hand_influence_values():
    """Central m_k with influence φ = d^k − m_k − k m_{k−1} d and raw m_k with φ = x^k − m_k:
    the value, the i.i.d. error sd(φ)/√n, and the batch-means error over blocks along time."""
    x = np.random.default_rng(13).gamma(2.0, size=(12, 3))
    flat = x.ravel()
    n = flat.size
    for k in (2, 3, 4):
        d = flat - flat.mean()
        mk, mkm1 = np.mean(d ** k), np.mean(d ** (k - 1))
        phi = d ** k - mk - k * mkm1 * d
        got = moment_estimate(x, k)
        assert got.value == pytest.approx(mk, rel=1e-12)
        assert got.std_err == pytest.approx(np.std(phi, ddof=1) / np.sqrt(n), rel=1e-12)
        assert (got.order, got.central, got.n, got.method) == (k, True, n, "iid")
        assert moment_estimate(x, k, central=True, batches=None) == got
    for k in (1, 3):
        got = moment_estimate(x, k, central=False)
        phi = flat ** k - np.mean(flat ** k)
        assert got.value == pytest.approx(np.mean(flat ** k), rel=1e-12)
        assert got.std_err == pytest.approx(np.std(phi, ddof=1) / np.sqrt(n), rel=1e-12)
        assert (got.order, got.central) == (k, False)
    # batches=3 along 12 times: blocks of 4 per path, 9 block means of φ in all
    d = x - x.mean()
    m3, m2 = np.mean(d ** 3), np.mean(d ** 2)
    phi = d ** 3 - m3 - 3 * m2 * d
    blocks = np.array([[phi[4 * b:4 * b + 4, j].mean() for j in range(3)] for b in range(3)]).ravel()
    got = moment_estimate(x, 3, batches=3)
    assert got.value == pytest.approx(m3, rel=1e-12) and got.method == "batch means"
    assert got.std_err == pytest.approx(np.std(blocks, ddof=1) / 3, rel=1e-12)
    assert moment_estimate(x, 2, batches=12).method == "batch means"
    assert moment_estimate(x, 2, batches=2).method == "batch means"


def test_moment_estimate_defaults_and_refusals():
    """Defaults are order 2, central, i.i.d.; order in [1, 64], batches in [2, n_times]; two
    values are enough."""
    x = np.random.default_rng(2).normal(size=20)
    assert moment_estimate(x) == moment_estimate(x, 2, central=True, batches=None)
    assert moment_estimate(x).value == pytest.approx(np.var(x), rel=1e-12)
    assert moment_estimate(x, 64).order == 64
    two = moment_estimate([1.0, 3.0])
    assert (two.value, two.std_err) == (1.0, 0.0)  # φ = d² − m₂ = 0 for both values
    assert moment_estimate([1.0, 3.0], 1, central=False).std_err == pytest.approx(1.0, rel=1e-15)
    with pytest.raises(ValueError, match=r"^`order` must be an integer in \[1, 64\]; got 65"):
        moment_estimate(x, 65)
    with pytest.raises(ValueError, match=r"^`order` must be an integer in \[1, 64\]; got 0"):
        moment_estimate(x, 0)
    with pytest.raises(ValueError, match=r"^`order` = 1 with central=True is identically 0; use central=False"):
        moment_estimate(x, 1)
    with pytest.raises(ValueError, match=r"^`batches` must be an integer in \[2, 20\]; got 1"):
        moment_estimate(x, batches=1)
    with pytest.raises(ValueError, match=r"^`batches` must be an integer in \[2, 20\]; got 21"):
        moment_estimate(x, batches=21)
    with pytest.raises(ValueError, match=r"^`x` must have shape .* n_times ≥ 2; got shape \(1,\)"):
        moment_estimate([1.0])
    with pytest.raises(ValueError, match=r"^`x` must be finite"):
        moment_estimate([1.0, np.nan, 2.0])


def test_variance_estimate_is_the_unbiased_variance_with_the_scaled_error():
    """s² with 1/(n − 1) and the delta-method error scaled by the same n/(n − 1)."""
    x = np.random.default_rng(7).exponential(size=15)
    m = moment_estimate(x, 2)
    got = variance_estimate(x)
    assert got.value == pytest.approx(np.var(x, ddof=1), rel=1e-12)
    assert got.std_err == pytest.approx(m.std_err * 15 / 14, rel=1e-12)
    assert (got.order, got.central, got.n, got.method) == (2, True, 15, "iid")
    b = variance_estimate(x.reshape(15, 1), batches=3)
    assert b.std_err == pytest.approx(moment_estimate(x, 2, batches=3).std_err * 15 / 14, rel=1e-12)
    assert b.method == "batch means"


def test_difference_z_and_its_refusal():
    """(a − b)/√(se_a² + se_b²), refused when both errors are 0."""
    from dynopt.analysis.diagnostics import MomentEstimate

    a = MomentEstimate(3.0, 0.3, 2, True, 10, "iid")
    b = MomentEstimate(1.0, 0.4, 2, True, 10, "iid")
    assert difference_z(a, b) == pytest.approx(2.0 / 0.5, rel=1e-14)
    assert difference_z(b, a) == pytest.approx(-4.0, rel=1e-14)
    zero = a._replace(std_err=0.0)
    with pytest.raises(ValueError, match=r"^`a` and `b` must have a positive combined standard error"):
        difference_z(zero, b._replace(std_err=0.0))
    assert difference_z(zero, b) == pytest.approx(2.0 / 0.4, rel=1e-14)


@pytest.mark.parametrize("module", ['diagnostics'])
def test_public_names_are_defined(module):
    """Every name in the module's ``__all__`` is defined by it."""
    import importlib

    mod = importlib.import_module(f"dynopt.analysis.{module}")
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_equilibration_check_messages_and_boundaries():
    """Each refusal names its argument and the allowed values; alpha 0 and 1 are excluded,
    4 and ⌊n/2⌋ batches are the allowed extremes, 2 paths already make a paired test and a KS test."""
    from scipy import stats

    x = np.random.default_rng(2).normal(size=(10, 3))
    with pytest.raises(ValueError, match=r"^`samples` must have shape \(n_times, n_paths\) or \(n_times,\) with "
                                         r"n_times ≥ 4; got shape \(3,\)$"):
        equilibration_check(np.zeros(3))
    with pytest.raises(ValueError, match=r"^`method` must be 'means' or 'ks'; got 'median'$"):
        equilibration_check(x, method="median")
    for alpha in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"^`alpha` must be in \(0\.0, 1\.0\); got "):
            equilibration_check(x, alpha=alpha)
    with pytest.raises(ValueError, match=r"^`method`='ks' needs ≥ 2 independent paths; use method='means'$"):
        equilibration_check(x[:, :1], method="ks")
    one = np.random.default_rng(3).normal(size=16)  # halves of 8
    with pytest.raises(ValueError, match=r"^`batches` must be even \(half in each half-window\); got 5$"):
        equilibration_check(one, batches=5)
    for b in (2, 10):
        with pytest.raises(ValueError, match=r"^`batches` must be an integer in \[4, 8\]; got "):
            equilibration_check(one, batches=b)
    assert equilibration_check(one, batches=4).std_err > 0 and equilibration_check(one, batches=8).std_err > 0
    two = x[:, :2]
    r = equilibration_check(two)
    d = two[5:].mean(axis=0) - two[:5].mean(axis=0)
    assert r.std_err == pytest.approx(abs(d[1] - d[0]) / 2, rel=1e-12)  # paired, dof 1
    assert r.p_value == pytest.approx(2 * stats.t.sf(abs(d.mean() / r.std_err), 1), rel=1e-12)
    assert equilibration_check(two, method="ks").method == "ks"
