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
