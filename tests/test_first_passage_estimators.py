"""Censoring-aware first-passage estimators: Kaplan–Meier, exit rate, means."""
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from dynopt.analysis.first_passage import CensoredDataError, PassageSample, exit_rate, kaplan_meier
from dynopt.analysis.passage_means import mean_passage_time, restricted_mean, tail_mean

# Freireich et al. (1963) 6-MP arm, as in Kalbfleisch & Prentice and R's survival package:
# remission times in weeks, event = 0 marks a censored time.
SIX_MP_TIME = np.array([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35.])
SIX_MP_EVENT = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0], bool)


def six_mp():
    return np.where(SIX_MP_EVENT, SIX_MP_TIME, np.nan), SIX_MP_TIME


def test_kaplan_meier_without_censoring_is_the_empirical_survival(rng):
    x = np.round(rng.exponential(3.0, 400), 1)  # rounding makes ties
    km = kaplan_meier(x)
    empirical = np.array([(x > t).mean() for t in km.time])
    np.testing.assert_allclose(km.survival, empirical, rtol=0, atol=1e-14)
    grid = np.linspace(0, x.max(), 97)
    np.testing.assert_allclose(km.at(grid), [(x > t).mean() for t in grid], atol=1e-14)
    assert km.censored_fraction == 0.0
    # an explicit censoring time that nobody reaches changes nothing
    np.testing.assert_allclose(kaplan_meier(x, x.max() + 1).survival, km.survival)


def test_kaplan_meier_matches_the_six_mp_example():
    times, cens = six_mp()
    km = kaplan_meier(times, cens, band="log")
    np.testing.assert_array_equal(km.time, [6, 7, 10, 13, 16, 22, 23])
    np.testing.assert_array_equal(km.at_risk, [21, 17, 15, 12, 11, 7, 6])
    factors = np.array([18 / 21, 16 / 17, 14 / 15, 11 / 12, 10 / 11, 6 / 7, 5 / 6])
    np.testing.assert_allclose(km.survival, np.cumprod(factors), rtol=1e-14)
    # R: summary(survfit(Surv(time, status) ~ 1)) on the 6-MP arm (printed to 3-4 digits)
    np.testing.assert_allclose(km.std_err, [0.0764, 0.0869, 0.0963, 0.1068, 0.1141, 0.1282, 0.1346],
                               atol=6e-5)
    np.testing.assert_allclose(km.lower, [0.720, 0.653, 0.586, 0.510, 0.439, 0.337, 0.249], atol=6e-4)
    np.testing.assert_allclose(km.upper, [1.000, 0.996, 0.968, 0.935, 0.896, 0.858, 0.807], atol=6e-4)
    assert km.quantile(0.5) == 23.0
    assert km.censored_fraction == pytest.approx(12 / 21)
    # log-log band at t = 6 by hand: S^{exp(±z √(Σd/(n(n−d))) / |log S|)}
    ll = kaplan_meier(times, cens)
    s, z = 18 / 21, stats.norm.ppf(0.975)
    w = z * np.sqrt(3 / (21 * 18)) / abs(np.log(s))
    assert ll.lower[0] == pytest.approx(s ** np.exp(w), rel=1e-12)
    assert ll.upper[0] == pytest.approx(s ** np.exp(-w), rel=1e-12)
    assert np.all((ll.lower <= ll.survival) & (ll.survival <= ll.upper))


def test_restricted_mean_of_six_mp_is_the_area_under_the_curve():
    times, cens = six_mp()
    rm = restricted_mean(times, cens)
    s = np.cumprod([18 / 21, 16 / 17, 14 / 15, 11 / 12, 10 / 11, 6 / 7, 5 / 6])
    knots = np.array([0, 6, 7, 10, 13, 16, 22, 23, 35.])
    area = np.sum(np.concatenate([[1.0], s]) * np.diff(knots))
    assert rm.value == pytest.approx(area, rel=1e-14)
    assert rm.horizon == 35.0 and rm.lower < rm.value < rm.upper
    assert restricted_mean(times, cens, horizon=6.0).value == pytest.approx(6.0)
    with pytest.raises(ValueError, match="`horizon` must be in"):
        restricted_mean(times, cens, horizon=36.0)


def test_fractional_event_weights_equal_duplicated_paths():
    times, cens = six_mp()
    t = np.where(np.isnan(times), np.nan, times)
    w = np.where(SIX_MP_EVENT, 0.5, 0.0)
    half = kaplan_meier(t, cens, weights=w)
    # the same as two copies of each path, one passed and one censored at its censoring time
    dup = kaplan_meier(np.concatenate([times, np.full(21, np.nan)]), np.concatenate([cens, cens]),
                       passed=np.concatenate([SIX_MP_EVENT, np.zeros(21, bool)]))
    np.testing.assert_allclose(half.survival, dup.survival, rtol=1e-14)
    assert exit_rate(t, cens, weights=w).events == pytest.approx(4.5)


def test_from_hazards_gives_geometric_survival_and_the_exact_mean():
    p, n_steps, dt = 0.05, 400, 0.1
    h = np.full((3, n_steps), p)
    times = dt * np.arange(1, n_steps + 1)
    sample = PassageSample.from_hazards(h, times)
    km = kaplan_meier(sample)
    np.testing.assert_allclose(km.survival, (1 - p) ** np.arange(1, n_steps + 1), rtol=1e-10)
    assert sample.censored_fraction == pytest.approx((1 - p) ** n_steps)
    with pytest.raises(CensoredDataError):
        mean_passage_time(sample)
    h[:, -1] = 1.0  # every path is known to have passed by the last step
    full = mean_passage_time(PassageSample.from_hazards(h, times))
    k = np.arange(1, n_steps + 1)
    pk = np.where(k < n_steps, p * (1 - p) ** (k - 1), (1 - p) ** (n_steps - 1))
    assert full.defined and full.mean == pytest.approx(np.sum(pk * times), rel=1e-12)


def test_exit_rate_recovers_the_rate_behind_the_censored_double_well_numbers(rng):
    # 8192 exponential passage times of mean 41 censored at T = 50 pass ~70 % of the time,
    # as in the double-well run whose passed-only mean was 21.7
    tau, T = 41.0, 50.0
    x = rng.exponential(tau, 8192)
    times = np.where(x <= T, x, np.nan)
    naive = np.nanmean(times)
    assert naive < 0.6 * tau  # the bias that averaging the passed paths alone would hide
    r = exit_rate(times, T)
    assert r.lower < 1 / tau < r.upper
    assert abs(r.rate - 1 / tau) < 5 * r.std_err
    assert r.timescale_interval[0] < tau < r.timescale_interval[1]
    assert r.censored_fraction == pytest.approx(np.exp(-T / tau), abs=5 * 0.005)
    # the exponential tail after t_min has the same rate
    assert abs(exit_rate(times, T, t_min=10.0).rate - 1 / tau) < 5 * r.std_err * 1.3


def test_exit_rate_interval_has_nominal_coverage():
    seeds = np.random.SeedSequence(7).spawn(1500)
    k, T, hits = 0.3, 4.0, 0
    for ss in seeds:
        x = np.random.default_rng(ss).exponential(1 / k, 60)
        r = exit_rate(np.where(x <= T, x, np.nan), T, confidence=0.9)
        hits += r.lower <= k <= r.upper
    cover, se = hits / len(seeds), np.sqrt(0.9 * 0.1 / len(seeds))
    assert 0.9 - 4 * se < cover < 0.9 + 8 * se  # Garwood's interval is conservative


def test_censored_sample_never_yields_a_plain_mean(rng):
    x = rng.exponential(10.0, 1000)
    times = np.where(x <= 1.0, x, np.nan)  # ~90 % censored
    frac = np.isnan(times).mean()
    with pytest.raises(CensoredDataError, match=f"censored fraction {frac:.4g}") as info:
        mean_passage_time(times, 1.0)
    assert info.value.censored_fraction == pytest.approx(frac)
    assert "exit_rate" in str(info.value) and "kaplan_meier" in str(info.value)
    und = mean_passage_time(times, 1.0, on_censored="undefined")
    assert not und.defined and np.isnan(und.mean) and f"{frac:.4g}" in und.reason
    # a single censored path is enough to refuse
    one = np.append(rng.exponential(1.0, 99), np.nan)
    with pytest.raises(CensoredDataError, match="censored fraction 0.01 "):
        mean_passage_time(one, 100.0)


def test_tail_mean_adds_the_transient_back_to_the_tail_timescale(rng):
    # a delay δ then an exponential of mean 1/k: the mean is δ + 1/k, the tail rate k
    delay, tau, T = 3.0, 30.0, 40.0
    x = delay + rng.exponential(tau, 8192)
    times = np.where(x <= T, x, np.nan)
    for t_min in (3.0, 8.0):
        tm = tail_mean(times, T, t_min=t_min)
        assert abs(tm.value - (delay + tau)) < 5 * tm.std_err, t_min
        assert tm.lower < tm.value < tm.upper and tm.censored_fraction > 0.2
        r = exit_rate(times, T, t_min=t_min)
        assert abs(r.timescale - tau) < 5 * r.std_err * tau ** 2
    assert restricted_mean(times, T, horizon=0.0).value == 0.0
    with pytest.raises(ValueError, match="t_min"):
        tail_mean(times, T, t_min=50.0)


def test_uncensored_mean_has_its_standard_error_and_equals_the_restricted_mean(rng):
    x = rng.gamma(2.0, 1.5, 300)
    m = mean_passage_time(x)
    assert m.defined and m.censored_fraction == 0.0
    assert m.mean == pytest.approx(x.mean(), rel=1e-14)
    assert m.std_err == pytest.approx(x.std(ddof=1) / np.sqrt(x.size), rel=1e-12)
    assert restricted_mean(x).value == pytest.approx(x.mean(), rel=1e-12)


def test_from_observer_reads_passed_mask_and_absolute_times():
    res = SimpleNamespace(passed=np.array([True, False, True]), times=np.array([3.0, 5.0]))
    s = PassageSample.from_observer(res, censor_time=12.0, t0=2.0)
    assert s.n_paths == 3 and s.censored_fraction == pytest.approx(1 / 3)
    assert exit_rate(s).exposure == pytest.approx(1.0 + 10.0 + 3.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(times=[1.0, np.nan]), "censor_time"),
    (dict(times=[1.0, 5.0], censor_time=3.0), r"times\[1\]"),
    (dict(times=[-1.0], censor_time=3.0), "≥ 0"),
    (dict(times=[1.0, np.nan], censor_time=3.0, weights=[0.5, 0.5]), "weights"),
    (dict(times=[1.0], censor_time=3.0, weights=[1.5]), r"\[0, 1\]"),
])
def test_bad_input_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kaplan_meier(**kwargs)


def test_bad_options_name_the_argument():
    with pytest.raises(ValueError, match="band"):
        kaplan_meier([1.0, 2.0], band="arcsine")
    with pytest.raises(ValueError, match="confidence"):
        exit_rate([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError, match="t_min"):
        exit_rate([1.0, 2.0], t_min=5.0)
    with pytest.raises(ValueError, match="horizon"):
        restricted_mean([1.0, 2.0], horizon=3.0)
    with pytest.raises(TypeError, match="PassageSample"):
        kaplan_meier(PassageSample.from_times([1.0]), 2.0)


def test_log_log_band_before_one_event_is_the_log_band_not_zero_to_one():
    """A Brownian-bridge event of tiny weight leaves Ŝ within rounding of 1; the log-log
    band's delta method (se ~ 1/√weight) would make it [0, 1] there, a spike in every
    survival plot.  Before the event weight reaches 1 the log band stands in; after, the
    log-log band is unchanged."""
    times = np.array([0.4, 1.0, 2.0, 3.0, np.nan, np.nan])
    passed = np.array([True, True, True, True, False, False])
    w = np.array([1e-9, 1, 1, 1, 0, 0.0])
    ll = kaplan_meier(times, 5.0, passed=passed, weights=w, band="log-log")
    lg = kaplan_meier(times, 5.0, passed=passed, weights=w, band="log")
    assert ll.lower[0] == lg.lower[0] and ll.lower[0] > 0.999 and ll.upper[0] == 1.0
    s, gw = ll.survival[1:], (ll.std_err[1:] / ll.survival[1:]) ** 2
    sth = np.sqrt(gw) / np.abs(np.log(s))
    z = 1.959963984540054
    np.testing.assert_allclose(ll.lower[1:], s ** np.exp(z * sth), rtol=1e-12)
    np.testing.assert_allclose(ll.upper[1:], s ** np.exp(-z * sth), rtol=1e-12)


@pytest.mark.parametrize("band", ["log-log", "log", "plain"])
def test_kaplan_meier_band_is_zero_where_the_curve_reaches_zero(band):
    from dynopt.analysis.first_passage import kaplan_meier

    km = kaplan_meier([1.0, 2.0, 3.0, 4.0], band=band)  # every path passed: Ŝ ends at 0
    assert km.survival[-1] == 0.0
    assert km.upper[-1] == 0.0 and km.lower[-1] == 0.0 and km.std_err[-1] == 0.0
    assert np.all(km.upper[:-1] > km.survival[:-1]) and np.all(np.isfinite(km.std_err))


def test_tail_mean_reads_passed():
    from dynopt.analysis.passage_means import tail_mean

    times = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    passed = np.array([True, True, False, True, True, False, True, True])
    with_mask = tail_mean(times, 5.0, passed=passed, t_min=1.0)
    as_nan = tail_mean(np.where(passed, times, np.nan), 5.0, t_min=1.0)
    all_passed = tail_mean(times, 5.0, t_min=1.0)
    assert with_mask == as_nan  # `passed` is the NaN convention made explicit
    assert with_mask.value > all_passed.value and with_mask.censored_fraction == 0.25
