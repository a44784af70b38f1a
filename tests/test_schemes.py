import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynopt.analysis import convergence_study
from dynopt.analysis import STANDARD_PROBLEMS, default_ladder, model_for
from dynopt.dynamics import GradientFlow, HeavyBall
from dynopt.engine import integrate
from dynopt.problems import double_well, ellipse, get_problem
from dynopt.schemes import METHODS, SDEScheme

ODE_METHODS = {n: c for n, c in METHODS.items()
               if not issubclass(c, SDEScheme) and n not in ("nesterov-convex", "heavy-ball-sc", "nag-sc")}
from dynopt.schemes import (ConvergenceError, HeavyBallMomentum, Implicit19, Leapfrog,
                            get_scheme, leapfrog_coefficients, leapfrog_ode_parameters,
                            nesterov_coefficients, nesterov_ode_parameters)


@pytest.mark.parametrize("name", sorted(ODE_METHODS))
@pytest.mark.parametrize("problem", ["quadratic", "double_well"])
def test_declared_order_matches_measured(name, problem):
    """One test for every scheme's declared order (STYLE.md item 1)."""
    setup = STANDARD_PROBLEMS[problem]
    p = get_problem(problem)
    scheme = get_scheme(name)
    res = convergence_study(model_for(name, p), name, setup.x0, setup.T, default_ladder(name, setup))
    assert res.fit is not None
    assert abs(res.fit.order - scheme.order) <= 0.15, (name, res.fit.order, res.errors)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-4, 1.0), st.floats(0.0, 1.9))
def test_leapfrog_map_round_trip(gamma, lg):
    lam = lg / gamma
    a, b = leapfrog_coefficients(gamma, lam)
    g2, l2 = leapfrog_ode_parameters(a, b)
    assert g2 == pytest.approx(gamma, rel=1e-12)
    # λ comes back through (1 − β)/(1 + β): its absolute error is ~ machine eps / γ
    assert l2 == pytest.approx(lam, rel=1e-10, abs=1e-15 / gamma)
    a2, b2 = leapfrog_coefficients(g2, l2)
    assert (a2, b2) == pytest.approx((a, b), rel=1e-12, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-4, 1.0), st.floats(0.0, 0.99))
def test_nesterov_map_round_trip(gamma, lg):
    lam = lg / gamma
    a, b = nesterov_coefficients(gamma, lam)
    g2, l2 = nesterov_ode_parameters(a, b)
    assert g2 == pytest.approx(gamma, rel=1e-10)
    assert l2 == pytest.approx(lam, rel=1e-10, abs=1e-15 / gamma)  # through 1 − β: eps / γ


def test_eq15_values():
    a, b = leapfrog_coefficients(0.1, 2.0)
    assert b == pytest.approx(0.9 / 1.1)
    assert a == pytest.approx(0.01 / 1.1)


@pytest.mark.parametrize("call, match", [
    (lambda: leapfrog_coefficients(0.0, 1.0), "`gamma` must be in"),
    (lambda: leapfrog_coefficients(0.1, -1.0), "`friction` must be in"),
    (lambda: leapfrog_coefficients(1.0, 3.0), "β ∈ \\[0, 1\\]"),
    (lambda: leapfrog_ode_parameters(0.1, 1.5), "`beta` must be in \\[0.0, 1.0\\]"),
    (lambda: leapfrog_ode_parameters(0.1, -0.1), "`beta` must be in"),
    (lambda: nesterov_ode_parameters(-0.1, 0.5), "`alpha` must be in"),
    (lambda: get_scheme("adam"), "`method` must be one of \\["),
    (lambda: Leapfrog(start="later"), "`start` must be one of"),
])
def test_bad_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_heavy_ball_scheme_is_the_optimizer_loop():
    p = ellipse()
    gamma, lam = 0.3, 0.8
    alpha, beta = leapfrog_coefficients(gamma, lam)
    sol = integrate(HeavyBall(p, lam), HeavyBallMomentum(), (0, 30 * gamma), [-5.0, -2.0], gamma, save_every=1)
    theta, v = np.array([-5.0, -2.0]), np.zeros(2)
    for k in range(30):
        v = beta * v - alpha * p.grad(theta)
        theta = theta + v
        np.testing.assert_allclose(sol.y[k + 1, 0, :2], theta, rtol=1e-14, atol=1e-14)


def test_schemes_vectorize_over_an_ensemble(rng):
    p = double_well(2)
    y0 = rng.normal(size=(6, 2))
    for name in ("euler", "rk4", "leapfrog", "implicit19"):
        m = model_for(name, p)
        batch = integrate(m, name, (0, 1), y0, 0.05).y_final
        single = np.vstack([integrate(m, name, (0, 1), y, 0.05).y_final for y in y0])
        np.testing.assert_allclose(batch, single, rtol=1e-13, atol=1e-13)


def test_implicit19_solves_its_equation():
    p = double_well()
    m = HeavyBall(p, 1.0)
    sch = Implicit19()
    gamma = 0.1
    state = sch.init(m, m.as_state([2.0]), gamma)
    q, v = state.q, state.v
    q1, v1 = sch.step(m, 0.0, state, gamma)[:2]
    a, b = nesterov_coefficients(gamma, 1.0)
    resid = v1 - (b * v - a * p.grad_fn(0.5 * (q + q1)))
    assert np.max(np.abs(resid)) < 1e-13
    np.testing.assert_allclose(q1, q + v1)


def test_implicit19_fails_loudly_when_it_cannot_converge():
    m = HeavyBall(double_well(), 1.0)
    with pytest.raises(ConvergenceError, match="did not converge"):
        integrate(m, Implicit19(max_iter=1), (0, 1), [2.0], 0.1)


def test_scheme_refuses_the_wrong_model():
    with pytest.raises(ValueError, match="'leapfrog' discretizes HeavyBall models; got a GradientFlow"):
        integrate(GradientFlow(ellipse()), "leapfrog", (0, 1), [1.0, 1.0], 0.1)
