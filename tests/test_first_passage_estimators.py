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


@pytest.mark.filterwarnings("error")
def test_mean_passage_time_of_one_path_has_an_undefined_standard_error():
    """One path: the mean is its time; the spread over paths is undefined (nan), and is not
    computed at all (numpy's std with ddof=1 of one value would warn)."""
    r = mean_passage_time(np.array([1.5]))
    assert r.defined and r.n_paths == 1 and r.mean == 1.5
    assert np.isnan(r.std_err) and np.isnan(r.lower) and np.isnan(r.upper)


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


# ----------------------------------------------------------------------------------------
# Records, curves and rates of small samples worked out by hand
# ----------------------------------------------------------------------------------------
def _records(s):
    return s.time.tolist(), s.weight.tolist(), s.event.tolist(), s.path.tolist(), s.n_paths


def test_from_times_records_events_then_censored_parts():
    """Event records (passed paths with weight > 0) come first in path order, then the censored
    records (weight 1 − w of paths with w < 1) at their censoring times."""
    s = PassageSample.from_times([1.0, np.nan, 2.0, 0.5, np.inf], [3.0, 4.0, 5.0, 6.0, 7.0],
                                 weights=[1.0, 0.0, 0.25, 0.0, 0.0],
                                 passed=[True, False, True, True, False])
    assert _records(s) == ([1.0, 2.0, 4.0, 5.0, 6.0, 7.0], [1.0, 0.25, 1.0, 0.75, 1.0, 1.0],
                           [True, True, False, False, False, False], [0, 2, 1, 2, 3, 4], 5)
    assert s.events == 1.25 and s.censored_fraction == pytest.approx(3.75 / 5, rel=1e-15)
    # defaults: NaN and +inf are not passed; weights 1; a scalar censoring time
    d = PassageSample.from_times([1.0, np.nan, np.inf, 0.0], 2.0)
    assert _records(d) == ([1.0, 0.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0], [True, True, False, False], [0, 3, 1, 2], 4)
    assert d.events == 2.0 and d.censored_fraction == 0.5
    full = PassageSample.from_times([3.0, 1.0])
    assert _records(full) == ([3.0, 1.0], [1.0, 1.0], [True, True], [0, 1], 2) and full.censored_fraction == 0.0
    # a passage exactly at the censoring time is allowed
    assert PassageSample.from_times([3.0], 3.0).events == 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(times=[]), r"^`times` must be a non-empty 1-D array; got shape \(0,\)$"),
    (dict(times=[[1.0]]), r"^`times` must be a non-empty 1-D array; got shape \(1, 1\)$"),
    (dict(times=[1.0, 2.0], passed=[True]), r"^`passed` must have shape \(2,\); got \(1,\)$"),
    (dict(times=[1.0, np.nan], passed=[True, True]), r"^`times` must be finite where `passed` is True$"),
    (dict(times=[-np.inf, 1.0]), r"^`times` of passed paths must be ≥ 0 \(times are measured from the start\)$"),
    (dict(times=[1.0, 2.0], weights=[1.0]), r"^`weights` must have shape \(2,\); got \(1,\)$"),
    (dict(times=[1.0], censor_time=2.0, weights=[-0.1]),
     r"^`weights` must lie in \[0, 1\] \(probability that a path passed\)$"),
    (dict(times=[1.0], censor_time=2.0, weights=[np.nan]), r"^`weights` must lie in \[0, 1\]"),
    (dict(times=[1.0, np.nan], censor_time=2.0, weights=[1.0, 0.1]),
     r"^`weights` must be 0 for paths that did not pass \(no passage time\)$"),
    (dict(times=[1.0, np.nan, np.nan]), r"^`censor_time` is required: 2 of 3 paths did not pass \(or passed with "
                                        r"weight < 1\)$"),
    (dict(times=[1.0], weights=[0.5]), r"^`censor_time` is required: 1 of 1 paths"),
    (dict(times=[1.0, 2.0], censor_time=[3.0]), r"^`censor_time` must be a scalar or have shape \(2,\); got \(1,\)$"),
    (dict(times=[1.0], censor_time=np.inf), r"^`censor_time` must be finite and ≥ 0$"),
    (dict(times=[np.nan], censor_time=-1.0), r"^`censor_time` must be finite and ≥ 0$"),
    (dict(times=[1.0, 2.5], censor_time=[3.0, 2.0]),
     r"^`times\[1\]` = 2\.5 exceeds `censor_time` = 2\.0: a path cannot pass after its observation stopped$"),
    (dict(times=[3.0, 2.5], censor_time=[3.0, 2.0]), r"^`times\[1\]` = 2\.5 exceeds `censor_time` = 2\.0"),
])
def test_from_times_messages(kwargs, match):
    """Each malformed input to PassageSample.from_times is refused with its own message."""
    with pytest.raises(ValueError, match=match):
        PassageSample.from_times(**kwargs)


def test_from_times_boundaries_are_accepted():
    """Time 0, weights 0 and 1, censoring time 0 are inside the allowed ranges."""
    s = PassageSample.from_times([0.0, np.nan], 0.0)
    assert _records(s) == ([0.0, 0.0], [1.0, 1.0], [True, False], [0, 1], 2)
    w = PassageSample.from_times([1.0, 2.0], 3.0, weights=[0.0, 1.0])
    assert _records(w) == ([2.0, 3.0], [1.0, 1.0], [True, False], [1, 0], 2)
    # a zero-weight passage after the censoring time is no passage: accepted
    assert PassageSample.from_times([5.0, 1.0], 3.0, weights=[0.0, 1.0]).events == 1.0


def test_from_hazards_records_and_survival_weights():
    """Path i has event weight S_{k−1}h_k at step k and a censored record S_last at the censoring
    time (default the last step time); zero weights are dropped."""
    h = [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [1.0, 0.3, 0.2]]
    s = PassageSample.from_hazards(h, [1.0, 2.0, 4.0])
    assert _records(s) == ([1.0, 2.0, 1.0, 4.0, 4.0], [0.5, 0.25, 1.0, 0.25, 1.0],
                           [True, True, True, False, False], [0, 0, 2, 0, 1], 3)
    c = PassageSample.from_hazards(h, [1.0, 2.0, 4.0], censor_time=9.0)
    assert c.time.tolist() == [1.0, 2.0, 1.0, 9.0, 9.0]
    assert PassageSample.from_hazards(h, [1.0, 2.0, 4.0], censor_time=4.0).time.tolist() == s.time.tolist()
    assert PassageSample.from_hazards([[0.0]], [0.0]).time.tolist() == [0.0]


@pytest.mark.parametrize("h, st, cens, match", [
    (np.zeros(3), [1.0, 2.0, 3.0], None, r"^`hazards` must have shape \(n_paths, n_steps\); got \(3,\)$"),
    (np.zeros((0, 2)), [1.0, 2.0], None, r"^`hazards` must have shape \(n_paths, n_steps\); got \(0, 2\)$"),
    (np.zeros((1, 2)), [1.0], None, r"^`step_times` must be increasing, ≥ 0, shape \(2,\)$"),
    (np.zeros((1, 2)), [2.0, 2.0], None, r"^`step_times` must be increasing"),
    (np.zeros((1, 2)), [-1.0, 2.0], None, r"^`step_times` must be increasing"),
    (np.full((1, 2), 1.5), [1.0, 2.0], None, r"^`hazards` must lie in \[0, 1\]$"),
    (np.full((1, 2), -0.1), [1.0, 2.0], None, r"^`hazards` must lie in \[0, 1\]$"),
    (np.full((1, 2), np.nan), [1.0, 2.0], None, r"^`hazards` must lie in \[0, 1\]$"),
    (np.zeros((1, 2)), [1.0, 2.0], 1.5, r"^`censor_time` must be in \[2\.0, inf\); got 1\.5$"),
])
def test_from_hazards_messages(h, st, cens, match):
    """Malformed hazards, step times and censoring times are refused with their own messages."""
    with pytest.raises(ValueError, match=match):
        PassageSample.from_hazards(h, st, censor_time=cens)


def test_from_observer_with_bridge_records_and_per_path_censoring():
    """A FirstPassage result with per-path censor times: passed paths at their event times with
    their weights, bridge passages as fractional events, censored paths (weight > 0) at their
    censor times, all measured from t0; the result's own t0 is the default."""
    res = SimpleNamespace(passed=np.array([1, 0, 0, 1]), t0=1.0, weight=np.array([0.9, 0.6, 0.0, 1.0]),
                          event_time=np.array([3.0, np.nan, np.nan, 2.0]), bridge_path=np.array([1, 0]),
                          bridge_time=np.array([4.0, 2.5]), bridge_weight=np.array([0.4, 0.1]),
                          censor_time=np.array([9.0, 8.0, 7.0, 9.0]))
    s = PassageSample.from_observer(res)
    assert _records(s) == ([2.0, 1.0, 3.0, 1.5, 7.0], [0.9, 1.0, 0.4, 0.1, 0.6],
                           [True, True, True, True, False], [0, 3, 1, 0, 1], 4)
    assert s.time.dtype == float and s.event.dtype == bool
    shifted = PassageSample.from_observer(res, t0=0.0)
    assert shifted.time.tolist() == [3.0, 2.0, 4.0, 2.5, 8.0]


def test_from_observer_without_censor_times_uses_the_end():
    """A result without per-path censor times: passage times from t0 (default the result's, else
    0) and censoring at ``censor_time`` − t0; an integer ``passed`` mask is read as booleans."""
    res = SimpleNamespace(passed=np.array([1, 0, 1]), times=np.array([3.0, 5.0]), t0=1.0)
    s = PassageSample.from_observer(res, censor_time=12.0)
    assert _records(s) == ([2.0, 4.0, 11.0], [1.0, 1.0, 1.0], [True, True, False], [0, 2, 1], 3)
    bare = SimpleNamespace(passed=np.array([True, False]), times=np.array([3.0]))
    assert PassageSample.from_observer(bare, 10.0).time.tolist() == [3.0, 10.0]


def test_kaplan_meier_of_six_paths_by_hand():
    """Passages at 1, 2, 2, 4 and two censored at 5: Ŝ = 5/6, 1/2, 1/3, at risk 6, 5, 3, events
    1, 2, 1; Greenwood se = Ŝ√Σ d/(n(n − d)); each band written out; the curve's fields."""
    z = stats.norm.ppf(0.975)
    times, cens = [1.0, 2.0, 2.0, 4.0, np.nan, np.nan], 5.0
    S = np.array([5 / 6, 1 / 2, 1 / 3])
    gw = np.cumsum([1 / 30, 2 / 15, 1 / 6])
    se = S * np.sqrt(gw)
    km = kaplan_meier(times, cens)
    assert km.time.tolist() == [1.0, 2.0, 4.0] and km.at_risk.tolist() == [6.0, 5.0, 3.0]
    assert km.events.tolist() == [1.0, 2.0, 1.0]
    np.testing.assert_allclose(km.survival, S, rtol=1e-15)
    np.testing.assert_allclose(km.std_err, se, rtol=1e-14)
    sth = np.sqrt(gw) / np.abs(np.log(S))
    np.testing.assert_allclose(km.lower, S ** np.exp(z * sth), rtol=1e-13)
    np.testing.assert_allclose(km.upper, S ** np.exp(-z * sth), rtol=1e-13)
    assert (km.horizon, km.confidence, km.band, km.n_paths) == (5.0, 0.95, "log-log", 6)
    assert km.censored_fraction == pytest.approx(1 / 3, rel=1e-15)
    lg = kaplan_meier(times, cens, band="log", confidence=0.9)
    z9 = stats.norm.ppf(0.95)
    np.testing.assert_allclose(lg.lower, S / np.exp(z9 * np.sqrt(gw)), rtol=1e-13)
    np.testing.assert_allclose(lg.upper, np.minimum(S * np.exp(z9 * np.sqrt(gw)), 1.0), rtol=1e-13)
    assert lg.band == "log" and lg.confidence == 0.9
    pl = kaplan_meier(times, cens, band="plain")
    np.testing.assert_allclose(pl.lower, np.clip(S - z * se, 0, 1), rtol=1e-13)
    np.testing.assert_allclose(pl.upper, np.clip(S + z * se, 0, 1), rtol=1e-13)
    default = kaplan_meier(times, cens, passed=None, weights=None, confidence=0.95, band="log-log")
    for f in ("time", "survival", "std_err", "lower", "upper", "at_risk", "events"):
        assert getattr(default, f).tolist() == getattr(km, f).tolist()
    # a censored record at an event time is still at risk there
    tie = kaplan_meier([1.0, 2.0, np.nan], [5.0, 5.0, 2.0])
    assert tie.at_risk.tolist() == [3.0, 2.0]
    np.testing.assert_allclose(tie.survival, [2 / 3, 1 / 3], rtol=1e-15)


def test_survival_curve_at_and_quantile():
    """Ŝ is 1 before the first event, right-continuous at event times, NaN beyond the horizon;
    quantile(q) is the first time with Ŝ ≤ 1 − q, NaN when never reached; q in (0, 1)."""
    km = kaplan_meier([1.0, 2.0, 2.0, 4.0, np.nan, np.nan], 5.0)
    got = km.at([0.0, 0.999, 1.0, 1.5, 2.0, 3.9, 4.0, 5.0, 5.001])
    np.testing.assert_allclose(got[:-1], [1, 1, 5 / 6, 5 / 6, 1 / 2, 1 / 2, 1 / 3, 1 / 3], rtol=1e-15)
    assert np.isnan(got[-1])
    assert km.quantile(0.5) == 2.0 and km.quantile(1 / 6) == 1.0 and km.quantile(0.1) == 1.0
    assert km.quantile(0.6) == 4.0 and km.quantile(2 / 3) == 4.0 and np.isnan(km.quantile(0.7))
    for q in (0.0, 1.0):
        with pytest.raises(ValueError, match=rf"^`q` must be in \(0, 1\); got {q}$"):
            km.quantile(q)


@pytest.mark.parametrize("kwargs, match", [
    (dict(band="Log"), r"^`band` must be one of \('plain', 'log', 'log-log'\); got 'Log'$"),
    (dict(confidence=0.0), r"^`confidence` must be in \(0, 1\); got 0\.0$"),
    (dict(confidence=1.0), r"^`confidence` must be in \(0, 1\); got 1\.0$"),
])
def test_kaplan_meier_option_messages(kwargs, match):
    """band and confidence are refused with their allowed values."""
    with pytest.raises(ValueError, match=match):
        kaplan_meier([1.0, 2.0], **kwargs)


def test_sample_and_raw_arguments_together_are_a_type_error():
    """A PassageSample with any of censor_time, passed, weights is refused, naming both ways."""
    s = PassageSample.from_times([1.0])
    msg = r"^give either a PassageSample or `times` with `censor_time`, `passed`, `weights`, not both$"
    for kw in (dict(censor_time=2.0), dict(passed=[True]), dict(weights=[1.0])):
        with pytest.raises(TypeError, match=msg):
            kaplan_meier(s, **kw)


def test_exit_rate_of_six_paths_by_hand():
    """Events after t_min over the time at risk after it, Garwood interval, se √D/E; the
    timescale and its interval are the reciprocals; defaults t_min = 0, confidence 0.95."""
    times, cens = [1.0, 2.0, 2.0, 4.0, np.nan, np.nan], 5.0
    r = exit_rate(times, cens)
    assert (r.events, r.exposure, r.t_min, r.confidence) == (4.0, 19.0, 0.0, 0.95)
    assert r.rate == pytest.approx(4 / 19, rel=1e-15) and r.std_err == pytest.approx(2 / 19, rel=1e-15)
    assert r.lower == pytest.approx(stats.gamma.ppf(0.025, 4) / 19, rel=1e-13)
    assert r.upper == pytest.approx(stats.gamma.ppf(0.975, 5) / 19, rel=1e-13)
    assert r.censored_fraction == pytest.approx(1 / 3, rel=1e-15)
    assert r.timescale == pytest.approx(19 / 4, rel=1e-15)
    assert r.timescale_interval == pytest.approx((1 / r.upper, 1 / r.lower), rel=1e-15)
    assert exit_rate(times, cens, t_min=0.0, confidence=0.95) == r
    # t_min = 2: the passages at 2 are not after it (left truncation)
    r2 = exit_rate(times, cens, t_min=2.0, confidence=0.8)
    assert (r2.events, r2.exposure, r2.t_min) == (1.0, 8.0, 2.0)
    assert r2.lower == pytest.approx(stats.gamma.ppf(0.1, 1) / 8, rel=1e-13)
    assert r2.upper == pytest.approx(stats.gamma.ppf(0.9, 2) / 8, rel=1e-13)
    # no event: rate 0, lower 0, infinite timescale
    none = exit_rate([np.nan, np.nan], 3.0)
    assert (none.rate, none.lower, none.events, none.exposure) == (0.0, 0.0, 0.0, 6.0)
    assert none.timescale == np.inf and none.timescale_interval[1] == np.inf
    assert none.upper == pytest.approx(stats.gamma.ppf(0.975, 1) / 6, rel=1e-13)
    with pytest.raises(ValueError, match=r"^`t_min` must be in \[0\.0, inf\); got -1\.0$"):
        exit_rate(times, cens, t_min=-1.0)
    with pytest.raises(ValueError, match=r"^no time at risk after `t_min` = 5\.0: choose a smaller `t_min`$"):
        exit_rate(times, cens, t_min=5.0)


def test_exit_rate_weights_fractional_events():
    """Fractional event weights count as events and their censored parts as time at risk."""
    r = exit_rate([1.0, 2.0], 4.0, weights=[0.5, 1.0])
    assert r.events == 1.5 and r.exposure == pytest.approx(0.5 * 1 + 2.0 + 0.5 * 4.0, rel=1e-15)


def test_mean_passage_time_over_paths_with_fractional_records():
    """Each path's mean is Σ weight·time over its records; the mean and its standard error are
    over paths, the interval mean ± z·se; censored weight up to the tolerance is accepted."""
    s = PassageSample.from_times([1.0, 2.0, 4.0], 5.0, weights=[1.0, 0.5, 1.0])
    per = np.array([1.0, 0.5 * 2.0 + 0.5 * 5.0, 4.0])
    with pytest.raises(CensoredDataError) as e:
        mean_passage_time(s)
    assert e.value.censored_fraction == pytest.approx(0.5 / 3, rel=1e-15)
    m = mean_passage_time(s, censored_tolerance=0.5 / 3)
    z = stats.norm.ppf(0.975)
    se = per.std(ddof=1) / np.sqrt(3)
    assert m.mean == pytest.approx(per.mean(), rel=1e-15) and m.std_err == pytest.approx(se, rel=1e-14)
    assert m.lower == pytest.approx(per.mean() - z * se, rel=1e-14)
    assert m.upper == pytest.approx(per.mean() + z * se, rel=1e-14)
    assert (m.n_paths, m.defined, m.reason) == (3, True, "")
    assert m.censored_fraction == pytest.approx(0.5 / 3, rel=1e-15)
    m9 = mean_passage_time(s, censored_tolerance=0.5, confidence=0.9)
    assert m9.upper == pytest.approx(per.mean() + stats.norm.ppf(0.95) * se, rel=1e-14)
    one = mean_passage_time([2.5])
    assert one.mean == 2.5 and np.isnan(one.std_err) and one.defined
    plain = mean_passage_time([1.0, 3.0])
    assert plain == mean_passage_time([1.0, 3.0], None, passed=None, weights=None, confidence=0.95,
                                      on_censored="raise", censored_tolerance=0.0)


def test_mean_passage_time_undefined_record_and_messages():
    """Under censoring with on_censored="undefined" every number is NaN, defined is False and the
    reason names the censored fraction and the estimators to use; bad options are named."""
    r = mean_passage_time([1.0, np.nan, np.nan, 2.0], 3.0, on_censored="undefined")
    assert all(np.isnan(v) for v in (r.mean, r.std_err, r.lower, r.upper))
    assert (r.n_paths, r.censored_fraction, r.defined) == (4, 0.5, False)
    assert r.reason == ("the mean passage time is undefined: a censored fraction 0.5 (2 of 4 paths) had not passed "
                        "when observation stopped, so averaging the paths that passed would be biased low. Use "
                        "exit_rate (events / time at risk, exponential tail), kaplan_meier (survival curve, median "
                        "via .quantile(0.5)) or restricted_mean (E[min(τ, h)]) instead, tail_mean if the tail is "
                        "exponential, or simulate longer.")
    with pytest.raises(CensoredDataError, match=r"^the mean passage time is undefined: a censored fraction 0\.5 "):
        mean_passage_time([1.0, np.nan, np.nan, 2.0], 3.0)
    with pytest.raises(ValueError, match=r"^`on_censored` must be 'raise' or 'undefined'; got 'ignore'$"):
        mean_passage_time([1.0], on_censored="ignore")
    with pytest.raises(ValueError, match=r"^`censored_tolerance` must be in \[0\.0, 1\.0\); got 1\.0$"):
        mean_passage_time([1.0], censored_tolerance=1.0)
    with pytest.raises(ValueError, match=r"^`censored_tolerance` must be in \[0\.0, 1\.0\); got -0\.1$"):
        mean_passage_time([1.0], censored_tolerance=-0.1)
    with pytest.raises(ValueError, match=r"^`confidence` must be in \(0, 1\); got 1$"):
        mean_passage_time([1.0], confidence=1)


def test_restricted_mean_of_six_paths_by_hand():
    """∫₀^h Ŝ for h = 5 (19/6), h = 3 (1 + 5/6 + 1/2) and h = 2 (at an event time), with the
    variance Σ A_j² d_j/(n_j(n_j − d_j)), A_j = ∫_{u_j}^h Ŝ."""
    times, cens = [1.0, 2.0, 2.0, 4.0, np.nan, np.nan], 5.0
    z = stats.norm.ppf(0.975)
    cases = {5.0: (19 / 6, [13 / 6, 4 / 3, 1 / 3]), 3.0: (1 + 5 / 6 + 1 / 2, [5 / 6 + 1 / 2, 1 / 2]),
             2.0: (11 / 6, [5 / 6, 0.0])}
    d, n = [1, 2, 1], [6, 5, 3]
    for h, (value, tails) in cases.items():
        var = sum(a * a * d[j] / (n[j] * (n[j] - d[j])) for j, a in enumerate(tails))
        r = restricted_mean(times, cens, horizon=h)
        assert r.value == pytest.approx(value, rel=1e-14), h
        assert r.std_err == pytest.approx(np.sqrt(var), rel=1e-13), h
        assert r.lower == pytest.approx(value - z * np.sqrt(var), rel=1e-13)
        assert r.upper == pytest.approx(value + z * np.sqrt(var), rel=1e-13)
        assert (r.horizon, r.confidence) == (h, 0.95) and r.censored_fraction == pytest.approx(1 / 3)
    assert restricted_mean(times, cens) == restricted_mean(times, cens, horizon=5.0, confidence=0.95)
    assert restricted_mean(times, cens, horizon=0.0).value == 0.0
    r9 = restricted_mean(times, cens, confidence=0.9)
    assert r9.confidence == 0.9 and r9.upper == pytest.approx(19 / 6 + stats.norm.ppf(0.95) * r9.std_err, rel=1e-13)
    with pytest.raises(ValueError, match=r"^`horizon` must be in \[0\.0, 5\.0\]; got 5\.5$"):
        restricted_mean(times, cens, horizon=5.5)
    # every path passed: the last step reaches 0 and its term (n = d) is left out
    full = restricted_mean([1.0, 3.0])
    assert full.value == pytest.approx(2.0, rel=1e-15)
    assert full.std_err == pytest.approx(np.sqrt((1.0) ** 2 * 1 / (2 * 1)), rel=1e-14)


def test_tail_mean_of_six_paths_by_hand():
    """t_min = 2: head ∫₀² Ŝ = 11/6, Ŝ(2) = 1/2, rate 1/8, tail 4; se = tail·√((se Ŝ/Ŝ)² + 1/D)
    + head se; t_min = 0 has no head and Ŝ(0) = 1 with no error."""
    times, cens = [1.0, 2.0, 2.0, 4.0, np.nan, np.nan], 5.0
    z = stats.norm.ppf(0.975)
    r = tail_mean(times, cens, t_min=2.0)
    se = 4.0 * np.sqrt(1 / 6 + 1.0) + (5 / 6) / np.sqrt(30)
    assert r.value == pytest.approx(11 / 6 + 4.0, rel=1e-14)
    assert r.std_err == pytest.approx(se, rel=1e-13)
    assert r.lower == pytest.approx(11 / 6 + 4.0 - z * se, rel=1e-13)
    assert r.upper == pytest.approx(11 / 6 + 4.0 + z * se, rel=1e-13)
    assert (r.t_min, r.survival_at_t_min, r.rate, r.confidence) == (2.0, 0.5, 1 / 8, 0.95)
    assert r.censored_fraction == pytest.approx(1 / 3, rel=1e-15)
    zero = tail_mean(times, cens)
    assert zero == tail_mean(times, cens, t_min=0.0, confidence=0.95)
    assert zero.value == pytest.approx(19 / 4, rel=1e-14) and zero.survival_at_t_min == 1.0
    assert zero.std_err == pytest.approx(19 / 4 * np.sqrt(1 / 4), rel=1e-14)
    # t_min between event times: Ŝ(3) = 1/2 with the se of the step at 2
    r3 = tail_mean(times, cens, t_min=3.0, confidence=0.9)
    assert r3.value == pytest.approx(1 + 5 / 6 + 1 / 2 + 0.5 * 5, rel=1e-14)
    assert r3.confidence == 0.9
    with pytest.raises(ValueError, match=r"^no passages after `t_min` = 4\.5: the tail rate is unknown$"):
        tail_mean(times, cens, t_min=4.5)
    with pytest.raises(ValueError, match=r"^`t_min` must be in \[0\.0, 5\.0\]; got 6\.0$"):
        tail_mean(times, cens, t_min=6.0)


def test_tail_mean_after_the_first_event_uses_its_survival_error():
    """t_min = 1.5 (after the first step only): Ŝ = 5/6 with se Ŝ·√(1/30), rate 3/10.5, head
    ∫₀^1.5 Ŝ = 17/12 with se (5/12)/√30."""
    r = tail_mean([1.0, 2.0, 2.0, 4.0, np.nan, np.nan], 5.0, t_min=1.5)
    tail = (5 / 6) / (3 / 10.5)
    assert r.value == pytest.approx(17 / 12 + tail, rel=1e-14)
    assert r.std_err == pytest.approx(tail * np.sqrt(1 / 30 + 1 / 3) + (5 / 12) / np.sqrt(30), rel=1e-13)


@pytest.mark.parametrize("module", ['first_passage', 'passage_means'])
def test_public_names_are_defined(module):
    """Every name in the module's ``__all__`` is defined by it."""
    import importlib

    mod = importlib.import_module(f"dynopt.analysis.{module}")
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_from_times_converts_integer_times_to_float():
    """Integer times are read as floats: the stored times have a float dtype and the message
    for a time past its censoring time prints it as a float."""
    s = PassageSample.from_times([1, 2], censor_time=5)
    assert s.time.dtype == np.float64 and s.time.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"^`times\[1\]` = 3\.0 exceeds `censor_time` = 2\.0: "
                                         r"a path cannot pass after its observation stopped$"):
        PassageSample.from_times([1, 3], censor_time=2)


def test_from_hazards_reads_integer_hazards_and_step_times_as_floats():
    """Integer (or Fraction) hazards and step times give float records equal to the float input's."""
    s = PassageSample.from_hazards([[0, 1], [0, 0]], [1, 2])
    assert s.time.dtype == np.float64 and s.weight.dtype == np.float64
    assert _records(s) == _records(PassageSample.from_hazards([[0.0, 1.0], [0.0, 0.0]], [1.0, 2.0]))
    assert _records(s) == ([2.0, 2.0], [1.0, 1.0], [True, False], [0, 1], 2)
    from fractions import Fraction
    f = PassageSample.from_hazards([[Fraction(1, 2), Fraction(1)]], [1.0, 2.0])
    assert f.weight.dtype == np.float64 and _records(f) == ([1.0, 2.0], [0.5, 0.5], [True, True], [0, 0], 1)
