import numpy as np
import pytest

from dynopt.analysis import convergence_study, fit_order
from dynopt.dynamics import GradientFlow, HeavyBall
from dynopt.engine import integrate
from dynopt.problems import double_well, from_grad, quadratic


def test_divergence_is_reported_with_its_step():
    p = quadratic([[10.0]])
    sol = integrate(GradientFlow(p), "euler", (0, 100), [1.0], 0.5)  # |1 − 5|^k blows up
    assert sol.diverged
    assert 0 < sol.diverged_step < 200
    assert np.isfinite(sol.t).all()


def test_convergence_study_never_fits_a_diverged_run():
    # θ' = −θ, with a gradient that is NaN outside |θ| ≤ 3 (as a real model's might be)
    p = from_grad(lambda x: np.where(np.abs(x) > 3, np.nan, x), dim=1)
    res = convergence_study(GradientFlow(p), "euler", [1.0], 10.0, [4, 40, 80, 160, 320])
    assert res.errors[0] is None and res.diverged
    assert "diverged" in res.note
    d = res.as_dict()
    assert None in d["errors"] and all(e is None or np.isfinite(e) for e in d["errors"])
    assert res.fit is not None and abs(res.fit.order - 1) < 0.3


def test_fit_order_recovers_a_power_law():
    h = np.array([0.1, 0.05, 0.025, 0.0125])
    fit = fit_order(h, 3.0 * h ** 2.5)
    assert fit.order == pytest.approx(2.5, abs=1e-12)
    noisy = 3.0 * h ** 2 * np.array([1.02, 0.97, 1.01, 0.99])
    fit = fit_order(h, noisy)
    assert fit.ci[0] < fit.order < fit.ci[1]
    assert fit.ci[0] < 2 < fit.ci[1]


@pytest.mark.parametrize("steps, errors, match", [([1, 2], [1, 2], "at least 3"),
                                                  ([1, 2, 3], [1, 0, 2], "> 0"),
                                                  ([1, 2, 3], [1, np.nan, 2], "finite")])
def test_fit_order_bad_input(steps, errors, match):
    with pytest.raises(ValueError, match=match):
        fit_order(steps, errors)


@pytest.mark.parametrize("kw, match", [({"dt": 0.0}, "`dt` must be in"), ({"dt": -0.1}, "`dt`"),
                                       ({"dt": 0.3}, "`dt` must divide"),
                                       ({"t_span": (1, 0)}, "`t_span`"),
                                       ({"y0": [[1.0, 2.0, 3.0]]}, "`y0` must have shape")])
def test_integrate_bad_input(kw, match):
    args = {"t_span": (0, 1), "y0": [1.0], "dt": 0.1}
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        integrate(HeavyBall(double_well(), 1.0), "leapfrog", **args)


def test_save_every_and_times():
    sol = integrate(GradientFlow(double_well()), "euler", (0, 1), [2.0], 0.1, save_every=2)
    np.testing.assert_allclose(sol.t, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert sol.y.shape == (6, 1, 1)
    assert sol.grad_evals == 10


def test_integrate_stopped_before_any_requested_time_saves_nothing():
    from dynopt.dynamics import GradientFlow
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    sol = integrate(GradientFlow(quadratic(np.eye(2))), "euler", (0.0, 1.0), [1.0, 1.0], 0.1,
                    t_eval=[0.5, 1.0], stop=lambda t, y: True)
    assert sol.stopped_step == 1 and sol.t.shape == (0,) and sol.y.shape == (0, 1, 2)
    np.testing.assert_allclose(sol.y_final, [[0.9, 0.9]], rtol=1e-15)


def test_solution_position_is_the_state_of_a_first_order_model():
    from dynopt.dynamics import GradientFlow
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    model = GradientFlow(quadratic(np.eye(2)))
    sol = integrate(model, "euler", (0.0, 0.2), [1.0, 2.0], 0.1)
    np.testing.assert_array_equal(sol.position(model), sol.y_final[:, :2])


def test_extend_study_equals_one_study_over_the_whole_ladder():
    """extend_study keeps every field of the first ladder (scheme, start, reference kind, ...)
    and refits through all rungs: the same result as one study over the joined ladder."""
    import dataclasses
    from dynopt.analysis.orders import extend_study
    from dynopt.engine import integrate as run
    p = quadratic([[2.0, 0.3], [0.3, 0.5]])
    model = HeavyBall(p, 0.8)
    y0 = np.array([1.0, -0.5, 0.0, 0.0])
    T = 2.0
    ref = integrate(model, "rk4", (0.0, T), y0, T / 4096).y_final
    first = convergence_study(model, "leapfrog", y0, T, [8, 16], reference=ref, problem_name="quad")
    assert first.fit is None and first.start == "half-step"
    ext = extend_study(first, model, "leapfrog", y0, [32, 64], ref)
    whole = convergence_study(model, "leapfrog", y0, T, [8, 16, 32, 64], reference=ref, problem_name="quad")
    assert dataclasses.asdict(ext) == dataclasses.asdict(whole)
    assert ext.start == "half-step" and ext.reference == "given" and ext.problem == "quad"
    assert ext.declared_order == 2 and ext.note == ""
    errs = [float(np.linalg.norm(run(model, "leapfrog", (0.0, T), y0, T / n).y_final[..., :2] - ref[..., :2]))
            for n in (8, 16, 32, 64)]
    np.testing.assert_allclose(ext.errors, errs, rtol=1e-12)
    assert ext.fit.order == pytest.approx(fit_order([T / n for n in (8, 16, 32, 64)], errs).order, rel=1e-12)


def test_convergence_result_as_dict_whole():
    """ConvergenceResult.as_dict: orders and intervals to 4 decimals, errors to 7 significant
    digits, steps and diverged/failed keys as %g; no fit gives None and the reason."""
    from dynopt.analysis.orders import ConvergenceResult, OrderFit
    fit = OrderFit(1.987654321, (1.87654321, 2.123456789), 0.01, -1.0, 0.999, 4, 0.95)
    r = ConvergenceResult("p", "s", "ode", 1.5, [0.5, 0.25, 0.125, 0.0625], [None, 0.0123456789, 0.00312345678, None],
                          [2, 4, 8, 16], fit, "given", declared_order=2, start="rest",
                          diverged={0.5: 3}, note="a note", failed={0.0625: "why"})
    assert r.as_dict() == {
        "problem": "p", "scheme": "s", "ode": "ode", "T": 1.5, "order": 1.9877, "order_ci": [1.8765, 2.1235],
        "declared_order": 2, "start": "rest", "steps": [0.5, 0.25, 0.125, 0.0625],
        "errors": [None, 1.234568e-2, 3.123457e-3, None], "grad_evals": [2, 4, 8, 16], "reference": "given",
        "diverged": {"0.5": 3}, "failed": {"0.0625": "why"}, "note": "a note"}
    bare = ConvergenceResult("p", "s", "ode", 1.0, [0.5], [0.1], [1], None, "scipy", note="too few")
    assert bare.as_dict() == {
        "problem": "p", "scheme": "s", "ode": "ode", "T": 1.0, "order": None, "order_ci": None,
        "declared_order": None, "start": None, "steps": [0.5], "errors": [0.1], "grad_evals": [1],
        "reference": "scipy", "diverged": {}, "order_undefined": "too few", "note": "too few"}
    assert ConvergenceResult("p", "s", "o", 1.0, [], [], [], fit, "given").as_dict().keys() == {
        "problem", "scheme", "ode", "T", "order", "order_ci", "declared_order", "start", "steps", "errors",
        "grad_evals", "reference", "diverged"}


def test_convergence_study_notes_word_for_word():
    """A rung whose error is 0 is failed with its reason, too few finished rungs leave no order, a diverged
    rung is listed with its step; the notes join with '; '; bad step counts are named by index."""
    from dynopt.analysis.orders import check_step_counts
    m = GradientFlow(quadratic([[1.0]]))
    ref = integrate(m, "euler", (0.0, 1.0), [1.0], 0.25).y_final
    res = convergence_study(m, "euler", [1.0], 1.0, [4, 8, 16], reference=ref)
    assert res.errors[0] is None and res.failed == {0.25: "error 0.0 (not finite and > 0)"} and res.fit is None
    assert res.note == ("no order fitted: 2 of 3 rungs finished with a finite error, at least 3 needed; "
                        "rungs without a finite positive error, not fitted: 0.25 (error 0.0 (not finite and > 0))")
    d = res.as_dict()
    assert d["failed"] == {"0.25": "error 0.0 (not finite and > 0)"} and d["order_undefined"] == res.note
    p = from_grad(lambda x: np.where(np.abs(x) > 3, np.nan, x), dim=1)
    div = convergence_study(GradientFlow(p), "euler", [1.0], 10.0, [4, 40, 80, 160])
    k = div.diverged[2.5]
    assert div.note == f"diverged rungs, not fitted (step γ → diverged at step k): 2.5 → {k}"
    with pytest.raises(ValueError, match=r"`n_steps_ladder\[1\]` must be a positive integer; got 0"):
        check_step_counts([4, 0], "n_steps_ladder")
    with pytest.raises(ValueError, match=r"`ladder\[2\]` must be a positive integer; got 2.5"):
        check_step_counts([4, 8, 2.5], "ladder")


def test_fit_order_fields_against_scipy_and_the_t_quantile():
    """slope, intercept, rvalue, stderr from linregress on the logs; the interval slope ± t_{(1+c)/2, n−2}·stderr;
    n and confidence kept; refusals word for word."""
    from scipy import stats
    h = np.array([0.2, 0.1, 0.05, 0.025, 0.0125])
    e = 2.0 * h ** 1.5 * np.array([1.05, 0.96, 1.02, 0.99, 1.01])
    r = stats.linregress(np.log(h), np.log(e))
    for conf in (0.95, 0.5):
        f = fit_order(list(h), list(e), confidence=conf)
        half = stats.t.ppf((1 + conf) / 2, 3) * r.stderr
        assert f.order == pytest.approx(r.slope, rel=1e-14) and f.intercept == pytest.approx(r.intercept, rel=1e-14)
        assert f.rvalue == pytest.approx(r.rvalue, rel=1e-14) and f.stderr == pytest.approx(r.stderr, rel=1e-14)
        assert f.ci == pytest.approx((r.slope - half, r.slope + half), rel=1e-13)
        assert (f.n, f.confidence) == (5, conf)
    assert fit_order(h, e).confidence == 0.95
    with pytest.raises(ValueError, match=r"^`steps` and `errors` must be 1-D of equal length; got \(5,\) and \(4,\)$"):
        fit_order(h, e[:4])
    with pytest.raises(ValueError, match=r"^need at least 3 \(step, error\) points to fit an order; got 2$"):
        fit_order(h[:2], e[:2])
    with pytest.raises(ValueError, match=r"^`steps` and `errors` must be finite and > 0$"):
        fit_order([0.1, -0.05, 0.025], [1.0, 0.5, 0.25])
    for c in (0.0, 1.0):
        with pytest.raises(ValueError, match=rf"^`confidence` must be in \(0, 1\); got {c}$"):
            fit_order(h, e, confidence=c)
    assert fit_order(h[:3], e[:3]).n == 3


def test_global_error_is_the_worst_path_position_distance():
    """max over paths of the Euclidean distance of the positions only (velocities ignored)."""
    from dynopt.analysis import global_error
    m = HeavyBall(quadratic(np.eye(2)), 1.0)
    num = np.array([[1.0, 2.0, 100.0, 100.0], [0.0, 0.0, 0.0, 0.0]])
    ref = np.array([[1.0, 1.0, 0.0, 0.0], [3.0, 4.0, -50.0, 0.0]])
    assert global_error(m, num, ref) == 5.0
    assert global_error(GradientFlow(quadratic(np.eye(2))), num[:, :2], ref[:, :2]) == 5.0


def test_extend_study_note_names_diverged_rungs_of_the_first_ladder():
    """extend_study's note lists the diverged rungs carried over from the first ladder."""
    import dataclasses
    from dynopt.analysis.orders import extend_study
    p = quadratic([[2.0, 0.3], [0.3, 0.5]])
    model = HeavyBall(p, 0.8)
    y0 = np.array([1.0, -0.5, 0.0, 0.0])
    T = 2.0
    ref = integrate(model, "rk4", (0.0, T), y0, T / 4096).y_final
    first = convergence_study(model, "leapfrog", y0, T, [8, 16], reference=ref, problem_name="quad")
    first = dataclasses.replace(first, diverged={0.5: 3})
    ext = extend_study(first, model, "leapfrog", y0, [32, 64], ref)
    assert ext.diverged == {0.5: 3}
    assert ext.note == "diverged rungs, not fitted (step γ → diverged at step k): 0.5 → 3"
