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
