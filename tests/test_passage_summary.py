"""passage_summary: the mean only without censoring, the restricted mean with its horizon, the
tail mean with its assumption, agreeing with the single estimators and an exponential law."""
import numpy as np
import pytest

from dynopt.analysis import (PassageSample, exit_rate, mean_passage_time, passage_summary, restricted_mean,
                             tail_mean)


def _exp_sample(n, mean, horizon, seed):
    t = np.random.default_rng(seed).exponential(mean, n)
    passed = t <= horizon
    return PassageSample.from_times(np.where(passed, t, np.nan), horizon, passed=passed), t


def test_uncensored_sample_gives_the_plain_mean():
    s, t = _exp_sample(2000, 3.0, 1e9, 1)
    out = passage_summary(s)
    m = mean_passage_time(s)
    assert out["censored_fraction"] == 0 and out["mean"]["value"] == pytest.approx(m.mean)
    assert out["mean"]["std_err"] == pytest.approx(m.std_err) and out["mean"]["reason"] == ""
    assert abs(out["mean"]["value"] - 3.0) <= 5 * out["mean"]["std_err"]


@pytest.mark.parametrize("horizon", [1.0, 6.0])
def test_censored_sample_never_reports_a_plain_mean(horizon):
    s, t = _exp_sample(4000, 10.0, horizon, 2)
    out = passage_summary(s)
    assert out["mean"]["value"] is None and "censored" in out["mean"]["reason"]
    rm = restricted_mean(s)
    assert out["restricted_mean"]["value"] == pytest.approx(rm.value) and out["restricted_mean"]["horizon"] == horizon
    assert f"E[min(τ, {horizon:g})]" in out["restricted_mean"]["label"]
    # E[min(τ, h)] = m(1 − e^{−h/m}) for an exponential law
    exact_rm = 10.0 * (1 - np.exp(-horizon / 10.0))
    assert abs(rm.value - exact_rm) <= 5 * rm.std_err
    tm = out["tail_mean"]
    assert tm["t_min"] == pytest.approx(horizon / 2)  # the median is not reached: half the horizon
    ref = tail_mean(s, t_min=horizon / 2)
    assert tm["value"] == pytest.approx(ref.value) and "exp(−k t)" in tm["assumption"]
    assert abs(tm["value"] - 10.0) <= 5 * tm["std_err"]
    er = exit_rate(s, t_min=horizon / 2)
    assert out["rate"]["rate"] == pytest.approx(er.rate) and out["rate"]["lower"] < 0.1 < out["rate"]["upper"]
    assert out["survival"]["median"] is None and "1/2" in out["survival"]["median_reason"]


def test_nothing_passed_is_reported_not_averaged():
    s = PassageSample.from_times(np.full(50, np.nan), 2.0)
    out = passage_summary(s)
    assert out["passed"] == 0 and out["tail_mean"]["value"] is None and "no path passed" in out["tail_mean"]["reason"]
    assert out["rate"]["rate"] == 0 and out["rate"]["upper"] > 0


# ----------------------------------------------------------------------------------------
# The whole summary of a six-path sample worked out by hand
# ----------------------------------------------------------------------------------------
# passages at 1, 2, 2, 4 and two paths censored at 5: Kaplan–Meier at u = 1, 2, 4 with
# n = 6, 5, 3 at risk and d = 1, 2, 1 events: Ŝ = 5/6, 1/2, 1/3; Greenwood sums 1/30, 1/6, 1/3
SIX = dict(times=[1.0, 2.0, 2.0, 4.0, np.nan, np.nan], censor_time=5.0)


def _censored_reason(frac, k, n):
    return (f"the mean passage time is undefined: a censored fraction {frac:.4g} ({k} of {n} paths) had not "
            "passed when observation stopped, so averaging the paths that passed would be biased low. Use "
            "exit_rate (events / time at risk, exponential tail), kaplan_meier (survival curve, median via "
            ".quantile(0.5)) or restricted_mean (E[min(τ, h)]) instead, tail_mean if the tail is exponential, "
            "or simulate longer.")


def _assert_same(got, want, path="out"):
    assert type(got) is type(want) or (isinstance(want, float) and isinstance(got, (int, float))), path
    if isinstance(want, dict):
        assert got.keys() == want.keys(), path
        for k in want:
            _assert_same(got[k], want[k], f"{path}[{k!r}]")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15), path
    else:
        assert got == want, path


def test_passage_summary_of_six_paths_against_a_hand_computation():
    """Every entry of the summary (t_min = the median 2): survival, restricted mean over [0, 5]
    = 19/6 with Klein–Moeschberger's variance, the undefined mean with its reason, the rate
    1 event / 8 time units with its Garwood interval, and the tail mean 11/6 + (1/2)/(1/8)."""
    from scipy import stats

    z = stats.norm.ppf(0.975)
    s_last, gw_last = 1 / 3, 1 / 3
    sth = np.sqrt(gw_last) / abs(np.log(s_last))
    band = [s_last ** np.exp(z * sth), s_last ** np.exp(-z * sth)]
    rm_var = (13 / 6) ** 2 * 1 / (6 * 5) + (4 / 3) ** 2 * 2 / (5 * 3) + (1 / 3) ** 2 * 1 / (3 * 2)
    head_se = (5 / 6) / np.sqrt(30)
    tail_se = 4.0 * np.sqrt(1 / 6 + 1.0)
    assumption = "P(τ > t) ∝ exp(−k t) for t ≥ t_min = 2"
    want = {
        "n_paths": 6, "passed": 4.0, "censored_fraction": 1 / 3, "horizon": 5.0, "confidence": 0.95,
        "survival": {"median": 2.0, "median_reason": "", "at_horizon": 1 / 3, "at_horizon_band": band},
        "restricted_mean": {"value": 19 / 6, "std_err": np.sqrt(rm_var), "horizon": 5.0,
                            "label": "restricted mean E[min(τ, 5)]"},
        "mean": {"value": None, "std_err": None, "reason": _censored_reason(1 / 3, 2, 6)},
        "rate": {"rate": 1 / 8, "lower": stats.gamma.ppf(0.025, 1) / 8, "upper": stats.gamma.ppf(0.975, 2) / 8,
                 "std_err": 1 / 8, "t_min": 2.0, "events": 1.0, "exposure": 8.0, "assumption": assumption},
        "tail_mean": {"value": 11 / 6 + 4.0, "std_err": tail_se + head_se, "t_min": 2.0, "survival_at_t_min": 0.5,
                      "assumption": assumption, "reason": ""},
    }
    got = passage_summary(**SIX)
    _assert_same(got, want)
    assert passage_summary(**SIX, t_min=None, confidence=0.95) == got
    assert passage_summary(**SIX, t_min=2.0) == got
    assert passage_summary(PassageSample.from_times(**SIX)) == got


def test_passage_summary_with_t_min_and_confidence_given():
    """t_min = 3 leaves the passage at 4 alone after it (exposure 1 + 2·2 = 5); confidence 0.9
    changes the Garwood interval, the band and nothing else of the point estimates."""
    from scipy import stats

    got = passage_summary(**SIX, t_min=3.0, confidence=0.9)
    assert got["confidence"] == 0.9
    assert got["rate"]["exposure"] == 5.0 and got["rate"]["rate"] == pytest.approx(1 / 5, rel=1e-14)
    assert got["rate"]["lower"] == pytest.approx(stats.gamma.ppf(0.05, 1) / 5, rel=1e-12)
    assert got["rate"]["upper"] == pytest.approx(stats.gamma.ppf(0.95, 2) / 5, rel=1e-12)
    assert got["rate"]["assumption"] == "P(τ > t) ∝ exp(−k t) for t ≥ t_min = 3"
    # head ∫_0^3 Ŝ = 1 + 5/6 + 1/2, Ŝ(3) = 1/2, tail (1/2)/(1/5)
    assert got["tail_mean"]["value"] == pytest.approx(1 + 5 / 6 + 1 / 2 + 2.5, rel=1e-13)
    assert got["tail_mean"]["survival_at_t_min"] == 0.5 and got["tail_mean"]["t_min"] == 3.0
    assert got["restricted_mean"]["value"] == pytest.approx(19 / 6, rel=1e-14)
    z = stats.norm.ppf(0.95)
    sth = np.sqrt(1 / 3) / abs(np.log(1 / 3))
    np.testing.assert_allclose(got["survival"]["at_horizon_band"],
                               [(1 / 3) ** np.exp(z * sth), (1 / 3) ** np.exp(-z * sth)], rtol=1e-12)
    # t_min at both ends of [0, horizon]; beyond is refused by name
    assert passage_summary(**SIX, t_min=0.0)["rate"]["exposure"] == pytest.approx(1 + 2 + 2 + 4 + 5 + 5, rel=1e-14)
    # t_min = 4.5: the two censored paths are still at risk, no passage follows
    after = passage_summary(**SIX, t_min=4.5)
    assert after["rate"]["events"] == 0.0 and after["rate"]["exposure"] == 1.0
    assert after["tail_mean"] == {"value": None, "std_err": None,
                                  "reason": "no passage after t_min = 4.5: the tail rate is unknown"}
    # at the horizon nothing is at risk any more: the rate is refused, naming t_min
    with pytest.raises(ValueError, match=r"^no time at risk after `t_min` = 5\.0: choose a smaller `t_min`$"):
        passage_summary(**SIX, t_min=5.0)
    with pytest.raises(ValueError, match=r"^`t_min` must be in \[0\.0, 5\.0\]; got 5\.5$"):
        passage_summary(**SIX, t_min=5.5)
    with pytest.raises(ValueError, match=r"^`t_min` must be in \[0\.0, 5\.0\]; got -1\.0$"):
        passage_summary(**SIX, t_min=-1.0)
    with pytest.raises(ValueError, match=r"^`confidence` must be in \(0, 1\); got 1\.0$"):
        passage_summary(**SIX, confidence=1.0)


def test_passage_summary_without_censoring_and_without_a_median():
    """No censoring: the mean and its standard error over paths are reported; a curve that stays
    above ½ has no median (its reason names the horizon) and t_min falls back to half the horizon."""
    got = passage_summary([1.0, 2.0, 6.0])
    assert got["mean"] == {"value": 3.0, "std_err": pytest.approx(np.std([1.0, 2.0, 6.0], ddof=1) / np.sqrt(3),
                                                                  rel=1e-14), "reason": ""}
    assert got["censored_fraction"] == 0.0 and got["survival"]["at_horizon"] == 0.0
    assert got["survival"]["at_horizon_band"] == [0.0, 0.0]
    late = passage_summary([3.0, np.nan, np.nan], censor_time=4.0)
    assert late["survival"]["median"] is None
    assert late["survival"]["median_reason"] == "the survival curve stays above 1/2 up to the horizon 4"
    assert late["rate"]["t_min"] == 2.0 and late["tail_mean"]["t_min"] == 2.0
    # exposure after 2: 1 + 2 + 2, one event
    assert late["rate"]["rate"] == pytest.approx(1 / 5, rel=1e-14)
    assert late["survival"]["at_horizon"] == pytest.approx(2 / 3, rel=1e-14)


def test_passage_summary_when_nothing_passed():
    """No passage: a zero rate whose Garwood upper limit is Γ⁻¹(0.975; 1)/E over all the time at
    risk from 0, no tail mean, Ŝ = 1 at the horizon with the band [1, 1]."""
    from scipy import stats

    got = passage_summary([np.nan, np.nan, np.nan], censor_time=[2.0, 3.0, 5.0])
    want = {"n_paths": 3, "passed": 0.0, "censored_fraction": 1.0, "horizon": 5.0, "confidence": 0.95,
            "survival": {"median": None, "median_reason": "the survival curve stays above 1/2 up to the horizon 5",
                         "at_horizon": 1.0, "at_horizon_band": [1.0, 1.0]},
            "restricted_mean": {"value": 5.0, "std_err": 0.0, "horizon": 5.0, "label": "restricted mean E[min(τ, 5)]"},
            "mean": {"value": None, "std_err": None, "reason": _censored_reason(1.0, 3, 3)},
            "rate": {"rate": 0.0, "lower": 0.0, "upper": stats.gamma.ppf(0.975, 1) / 10.0, "t_min": 0.0, "events": 0.0,
                     "exposure": 10.0, "assumption": "constant hazard from t = 0"},
            "tail_mean": {"value": None, "std_err": None, "reason": "no path passed before the horizon 5"}}
    _assert_same(got, want)
    assert passage_summary([np.nan] * 3, censor_time=[2.0, 3.0, 5.0], confidence=0.8)["rate"]["upper"] == \
        pytest.approx(stats.gamma.ppf(0.9, 1) / 10.0, rel=1e-12)


def test_passage_summary_with_a_single_event_time():
    """One distinct event time (the curve's only step): Ŝ = 1/2 at the horizon with the log-log
    band of Greenwood's sum 1/(2·1)."""
    from scipy import stats

    got = passage_summary([1.0, np.nan], censor_time=3.0)
    z = stats.norm.ppf(0.975)
    sth = np.sqrt(0.5) / np.log(2.0)
    assert got["survival"]["at_horizon"] == 0.5
    np.testing.assert_allclose(got["survival"]["at_horizon_band"], [0.5 ** np.exp(z * sth), 0.5 ** np.exp(-z * sth)],
                               rtol=1e-12)
    assert got["survival"]["median"] == 1.0


@pytest.mark.parametrize("module", ['passage_report'])
def test_public_names_are_defined(module):
    """Every name in the module's ``__all__`` is defined by it."""
    import importlib

    mod = importlib.import_module(f"dynopt.analysis.{module}")
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        assert hasattr(mod, name), name
