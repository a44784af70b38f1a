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


# ---- integrate against hand loops of Euler on a diagonal quadratic ----

def _euler_by_hand(y0, a, h, n):
    """x_{k+1} = x_k - h·a·x_k, componentwise."""
    xs = [np.array(y0, float)]
    for _ in range(n):
        xs.append(xs[-1] - h * (np.asarray(a) * xs[-1]))
    return np.array(xs)


def test_integrate_fields_against_a_hand_loop():
    """integrate: saved times and states, final state, counts and limits as a hand loop gives them."""
    m = _flow()  # L = (x² + 2y²)/2
    sol = integrate(m, "euler", (0.5, 1.5), [2.0, -1.0], 0.1, save_every=3)
    xs = _euler_by_hand([2.0, -1.0], [1.0, 2.0], 0.1, 10)
    np.testing.assert_allclose(sol.t, [0.5, 0.8, 1.1, 1.4, 1.5], rtol=1e-12)
    np.testing.assert_allclose(sol.y[:, 0], xs[[0, 3, 6, 9, 10]], rtol=1e-12)
    np.testing.assert_allclose(sol.y_final[0], xs[10], rtol=1e-12)
    assert (sol.method, sol.dt, sol.n_steps, sol.diverged_step, sol.grad_evals, sol.stopped_step) == \
        ("euler", 0.1, 10, None, 10, None)
    assert sol.blowup_limit == 2e12 and sol.diverged_paths is None and not sol.diverged and sol.model is m
    np.testing.assert_allclose(sol.final_positions, sol.y_final, rtol=0)
    np.testing.assert_allclose(sol.position(m), sol.y_final, rtol=0)
    # save_every dividing the steps: the last state is saved once
    every5 = integrate(m, "euler", (0.0, 1.0), [2.0, -1.0], 0.1, save_every=5)
    np.testing.assert_allclose(every5.t, [0.0, 0.5, 1.0], rtol=1e-12)
    plain = integrate(m, "euler", (0.0, 1.0), [2.0, -1.0], 0.1)
    np.testing.assert_allclose(plain.t, [0.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(plain.y[:, 0], xs[[0, 10]], rtol=1e-12)
    zero = integrate(m, "euler", (1.0, 1.0), [2.0, -1.0], 0.1)
    assert zero.n_steps == 0 and zero.t.tolist() == [1.0, 1.0] and zero.grad_evals == 0
    with pytest.raises(ValueError, match=r"^this Solution carries no model: use position\(model\)$"):
        type(sol)(t=sol.t, y=sol.y, y_final=sol.y_final, method="euler", dt=0.1, n_steps=10, diverged_step=None,
                  grad_evals=10).final_positions


def test_integrate_t_eval_saves_only_the_asked_times():
    """integrate with t_eval: only those states, the start and the end only when asked."""
    m = _flow()
    xs = _euler_by_hand([2.0, -1.0], [1.0, 2.0], 0.1, 10)
    a = integrate(m, "euler", (0.0, 1.0), [2.0, -1.0], 0.1, t_eval=[0.2, 0.7])
    np.testing.assert_allclose(a.t, [0.2, 0.7], rtol=1e-12)
    np.testing.assert_allclose(a.y[:, 0], xs[[2, 7]], rtol=1e-12)
    np.testing.assert_allclose(a.y_final[0], xs[10], rtol=1e-12)
    b = integrate(m, "euler", (0.0, 1.0), [2.0, -1.0], 0.1, t_eval=[0.0, 1.0])
    np.testing.assert_allclose(b.y[:, 0], xs[[0, 10]], rtol=1e-12)
    c = integrate(m, "euler", (0.0, 1.0), [2.0, -1.0], 0.1, t_eval=[0.9], stop=lambda t, y: t > 0.25)
    assert c.y.shape == (0, 1, 2) and c.t.size == 0 and c.stopped_step == 3


def test_integrate_stop_ends_at_the_first_true_step():
    """integrate: stop(t, y) after each step with the step's time and output; the run ends there."""
    m = _flow()
    seen = []

    def stop(t, y):
        seen.append(t)
        return y[0, 0] < 1.5

    xs = _euler_by_hand([2.0, -1.0], [1.0, 2.0], 0.1, 10)  # x = 2·0.9^k drops below 1.5 at k = 3
    s = integrate(m, "euler", (1.0, 2.0), [2.0, -1.0], 0.1, stop=stop, save_every=2)
    assert s.stopped_step == 3 and s.n_steps == 3 and s.grad_evals == 3 and s.diverged_step is None
    np.testing.assert_allclose(seen, [1.1, 1.2, 1.3], rtol=1e-12)
    np.testing.assert_allclose(s.t, [1.0, 1.2, 1.3], rtol=1e-12)
    np.testing.assert_allclose(s.y[:, 0], xs[[0, 2, 3]], rtol=1e-12)
    np.testing.assert_allclose(s.y_final[0], xs[3], rtol=1e-12)


def test_integrate_divergence_stops_at_the_step_and_names_the_paths():
    """integrate: the first step whose state passes the limit ends the run; diverged_paths says which rows."""
    m = dynamics.GradientFlow(problems.quadratic(np.array([[100.0]])))
    s = integrate(m, "euler", (0.0, 10.0), [[1.0], [1e-20]], 0.5, save_every=3)
    # x ← -49 x: 49^k passes 1e12 at k = 8 (49^7 ≈ 6.8e11)
    assert s.diverged_step == 8 and s.n_steps == 8 and s.grad_evals == 8 and s.stopped_step is None and s.diverged
    assert s.diverged_paths.tolist() == [True, False] and s.blowup_limit == 1e12
    np.testing.assert_allclose(s.t, [0.0, 1.5, 3.0], rtol=1e-12)
    np.testing.assert_allclose(s.y_final[:, 0], [(-49.0) ** 8, 1e-20 * (-49.0) ** 8], rtol=1e-12)
    ok = integrate(m, "euler", (0.0, 3.5), [[1.0]], 0.5)  # 49^7 < 1e12: finished
    assert ok.diverged_step is None and ok.n_steps == 7


def test_integrate_refusals_name_the_argument():
    """integrate: ensemble options, a stop that is not callable, max_steps, save_every with t_eval."""
    m = _flow()
    with pytest.raises(TypeError, match=r"^integrate\(\) got ensemble options \['n_paths', 'seed'\] for the ODE model .*; "
                                        r"they belong to dynopt\.engine\.simulate \(SDE models\)$"):
        integrate(m, "euler", (0, 1), [1.0, 1.0], 0.1, seed=1, n_paths=3)
    with pytest.raises(TypeError, match=r"^`stop` must be a callable stop\(t, y\) -> bool; got int$"):
        integrate(m, "euler", (0, 1), [1.0, 1.0], 0.1, stop=3)
    with pytest.raises(ValueError, match=r"^`max_steps` must be a positive integer; got 0$"):
        integrate(m, "euler", (0, 1), [1.0, 1.0], 0.1, max_steps=0)
    with pytest.raises(ValueError, match=r"above `max_steps`=9"):
        integrate(m, "euler", (0, 1), [1.0, 1.0], 0.1, max_steps=9)
    with pytest.raises(ValueError, match=r"^give `save_every` or `t_eval`, not both$"):
        integrate(m, "euler", (0, 1), [1.0, 1.0], 0.1, save_every=2, t_eval=[0.5])
    with pytest.raises(ValueError, match=r"^`save_every` must be a positive integer; got 0$"):
        integrate(m, "euler", (0, 1), [1.0, 1.0], 0.1, save_every=0)


def test_blown_up_is_non_finite_or_beyond_the_limit():
    """blown_up: some |entry| > limit or non-finite; the limit itself is not a blow-up; empty is fine."""
    from dynopt.engine.loop import BLOWUP, blown_up

    assert BLOWUP == 1e100
    assert not blown_up(np.zeros(0)) and not blown_up([1e100]) and blown_up([-1.0000001e100])
    assert not blown_up([[2.0, -3.0]], limit=3.0) and blown_up([[2.0, -3.5]], limit=3.0)
    assert blown_up([0.0, np.nan]) and blown_up([np.inf]) and blown_up([-np.inf])
    assert blown_up([1.0], limit=0.5) is True and blown_up([0.1], limit=0.5) is False


def test_integrate_edge_cases_of_saving_and_diverged_rows():
    """integrate: a zero-step run with t_eval at its start saves one state; a row diverges when any
    of its components passes the limit."""
    one = integrate(_flow(), "euler", (1.0, 1.0), [2.0, -1.0], 0.1, t_eval=[1.0])
    assert one.t.tolist() == [1.0] and one.y.shape == (1, 1, 2)
    m = dynamics.GradientFlow(problems.quadratic(np.diag([100.0, 1.0])))
    s = integrate(m, "euler", (0.0, 10.0), [[1.0, 1.0], [1e-20, 1.0]], 0.5)
    assert s.diverged_step == 8 and s.diverged_paths.tolist() == [True, False]
