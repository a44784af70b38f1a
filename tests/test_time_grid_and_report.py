"""Familiar time grids (t_eval, a dt that does not divide the interval), the progress-bar
rule, and the deterministic report rows of the ledger."""
import numpy as np
import pytest

from dynopt import dynamics, problems
from dynopt.engine import EnsembleOptions, eval_steps, integrate, simulate, step_count
from dynopt.engine import chunks
from dynopt.ledger import ClaimResult, Claim, below, judge
from dynopt.ledger.report import OPTIONAL_FILE, report_row


def _flow():
    return dynamics.GradientFlow(problems.quadratic(np.diag([1.0, 2.0])))


def test_integrate_saves_exactly_at_t_eval_and_matches_save_every():
    m = _flow()
    a = integrate(m, "rk4", (0.0, 1.0), [1.0, 1.0], 0.1, t_eval=[0.3, 0.6, 1.0])
    b = integrate(m, "rk4", (0.0, 1.0), [1.0, 1.0], 0.1, save_every=3)
    np.testing.assert_allclose(a.t, [0.3, 0.6, 1.0])
    np.testing.assert_allclose(b.t, [0.0, 0.3, 0.6, 0.9, 1.0])
    np.testing.assert_array_equal(a.y, b.y[[1, 2, 4]])
    assert a.y.shape == (3, 1, 2)


@pytest.mark.parametrize("t_eval, words", [([0.35], "nearest grid times are 0.3 and 0.4"),
                                           ([2.0], "within t_span"), ([0.5, 0.2], "increasing"),
                                           ([], "non-empty")])
def test_t_eval_errors_say_what_is_wrong(t_eval, words):
    with pytest.raises(ValueError, match=words):
        integrate(_flow(), "euler", (0.0, 1.0), [1.0, 1.0], 0.1, t_eval=t_eval)


def test_t_eval_and_save_every_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        integrate(_flow(), "euler", (0.0, 1.0), [1.0, 1.0], 0.1, t_eval=[0.5], save_every=2)


def test_dt_that_does_not_divide_names_both_numbers_and_the_nearest_valid_dt():
    with pytest.raises(ValueError) as e:
        step_count((0.0, 1.0), 0.3)
    msg = str(e.value)
    assert "0.3" in msg and "length 1" in msg and "0.25 (4 steps)" in msg and "0.333333 (3 steps)" in msg
    assert step_count((0.0, 1.0), 0.25) == 4
    assert eval_steps([0.0, 0.5], (0.0, 1.0), 0.25, 4) == [0, 2]


def test_simulate_saves_at_t_eval_like_save_every():
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    a = simulate(m, "euler-maruyama", (0, 1), [0.0], 0.01, n_paths=64, seed=3,
                 options=EnsembleOptions(t_eval=[0.5, 1.0]))
    b = simulate(m, "euler-maruyama", (0, 1), [0.0], 0.01, n_paths=64, seed=3, options=EnsembleOptions(save_every=50))
    np.testing.assert_allclose(a.t, [0.5, 1.0])
    np.testing.assert_array_equal(a.y, b.y[1:])


def test_progress_bar_appears_from_the_estimated_time_not_the_work_size(monkeypatch):
    clock = iter(np.arange(0.0, 100.0, 1.0))  # every reading one second later
    monkeypatch.setattr(chunks.time, "perf_counter", lambda: float(next(clock)))
    slow = chunks._Progress(total=10, desc="x", show=None)  # 1 s per unit: 10 s estimated
    slow.update(1)
    assert slow.bar is not None
    slow.close()
    fast = chunks._Progress(total=10 ** 12, desc="x", show=False)  # forced off whatever the size
    fast.update(1)
    assert fast.bar is None
    monkeypatch.setattr(chunks.time, "perf_counter", lambda: 0.0)
    quick = chunks._Progress(total=10 ** 12, desc="x", show=None)  # huge work, no time spent
    quick.update(10 ** 6)
    assert quick.bar is None


def test_below_writes_noise_as_a_bound_and_keeps_real_values():
    assert below(7.8e-16, 1e-12) == "< 1e-12"
    assert below(3.25e-3, 1e-12) == "0.00325"
    with pytest.raises(ValueError, match="floor"):
        below(1.0, 0.0)


def test_report_rows_have_no_timings_rounded_floats_and_optional_evidence_apart():
    c = Claim("src.x", "src", "s", "numeric", lambda ctx: None)
    v = judge(True, expected=1.0, measured=1.000012345678,
              evidence={"a": [0.123456789, -0.0], "optional": {"torch vs dynopt": {"diff": 3e-16}}})
    row, optional = report_row(ClaimResult(c, v, [], 12.5).as_dict())
    assert "seconds" not in row
    assert row["measured"] == 1.0 and row["evidence"]["a"] == [0.1235, 0.0]
    assert "optional" not in row["evidence"]
    assert row["evidence"]["optional_checks"]["checks"] == ["torch vs dynopt"]
    assert OPTIONAL_FILE in row["evidence"]["optional_checks"]["results_in"]
    assert optional == {"torch vs dynopt": {"diff": 3e-16}}


CACHED_PAPER = '''
from dynopt.ledger import claim, judge

@claim("{sid}.holds", statement="one plus one is two", method="numeric")
def holds(ctx):
    measured = 1.0 + 1.0
    return judge(abs(measured - 2) < 1e-12, expected=2, measured=measured, tolerance=1e-12)
'''


def test_a_claim_served_from_the_cache_says_so_and_reports_stay_identical(tmp_path, capsys):
    from dynopt.cli.main import main

    sid = "testsrc-cache"
    d = tmp_path / "papers" / sid
    d.mkdir(parents=True)
    (d / "claims.py").write_text(CACHED_PAPER.replace("{sid}", sid))
    args = ["reproduce", "--papers", str(tmp_path / "papers"), "--quick", "--no-progress", sid]
    assert main(args) == 0
    first = capsys.readouterr().out
    report = (d / "claims.json").read_bytes()
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "cached" not in first and "cached (computed in" in second  # the second run is served
    assert (d / "claims.json").read_bytes() == report
    assert b"seconds" not in report


def test_eval_steps_on_the_grid_its_ends_and_its_tolerance():
    """eval_steps: grid times map to their k (ends included, 1e-9 relative slack, clipped to [0, n])."""
    assert eval_steps([1.0, 1.5, 3.0], (1.0, 3.0), 0.5, 4) == [0, 1, 4]
    assert eval_steps(2.0, (1.0, 3.0), 0.5, 4) == [2]
    assert eval_steps([1.0 - 1e-10, 3.0 + 1e-10], (1.0, 3.0), 0.5, 4) == [0, 4]
    assert eval_steps([0.5 + 4e-9], (0.0, 10.0), 0.5, 20) == [1]  # slack 1e-9·|t1 - t0|
    assert eval_steps([-1.0, 1.0], (-1.0, 1.0), 0.25, 8) == [0, 8]
    assert all(type(k) is int for k in eval_steps([0.0, 0.5], (0.0, 1.0), 0.25, 4))


@pytest.mark.parametrize("t_eval,message", [
    ([], r"^`t_eval` must be a non-empty 1-D array of finite times; got \[\]$"),
    ([[0.0, 0.5]], r"^`t_eval` must be a non-empty 1-D array of finite times; got "),
    ([0.0, float("nan")], r"^`t_eval` must be a non-empty 1-D array of finite times; got "),
    ([float("inf")], r"^`t_eval` must be a non-empty 1-D array of finite times; got "),
    ([0.5, 0.5], r"^`t_eval` must be strictly increasing$"),
    ([0.75, 0.5], r"^`t_eval` must be strictly increasing$"),
    ([-0.25, 0.5], r"^`t_eval` must lie within t_span=\(0\.0, 1\.0\); got -0\.25\.\.0\.5$"),
    ([0.5, 1.25], r"^`t_eval` must lie within t_span=\(0\.0, 1\.0\); got 0\.5\.\.1\.25$"),
    ([0.0 - 2e-9], r"^`t_eval` must lie within t_span"),
    ([1.0 + 2e-9], r"^`t_eval` must lie within t_span"),
    ([0.25, 0.6, 0.7], r"^`t_eval` holds t = 0\.6, which is not on the step grid t0 \+ k·dt \(dt = 0\.25\); "
                       r"the nearest grid times are 0\.5 and 0\.75$"),
    ([0.5 + 2e-9], r"^`t_eval` holds t = 0\.5, which is not on the step grid"),
])
def test_eval_steps_refusals_name_t_eval_and_the_reason(t_eval, message):
    """eval_steps: every refusal names `t_eval`, and off-grid times get their nearest grid neighbours."""
    with pytest.raises(ValueError, match=message):
        eval_steps(t_eval, (0.0, 1.0), 0.25, 4)


def test_eval_steps_nearest_grid_times_use_t0():
    """eval_steps: the neighbours of an off-grid time are t0 + floor/ceil((t - t0)/dt)·dt."""
    with pytest.raises(ValueError, match=r"nearest grid times are 1\.3 and 1\.6$"):
        eval_steps([1.45], (0.1, 1.9), 0.3, 6)


def test_eval_steps_tolerance_boundaries():
    """eval_steps: a time exactly 1e-9·|t1 - t0| off the span or the grid is accepted, beyond it refused."""
    assert eval_steps([-1e-9], (0.0, 1.0), 0.25, 4) == [0]
    assert eval_steps([1e-9], (0.0, 1.0), 0.25, 4) == [0]
    assert eval_steps([10.5 + 1.5e-8], (10.0, 30.0), 0.5, 40) == [1]  # slack 2e-8 from the span's length
    with pytest.raises(ValueError, match="not on the step grid"):
        eval_steps([10.5 + 3e-8], (10.0, 30.0), 0.5, 40)
