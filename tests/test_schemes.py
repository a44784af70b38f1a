import dataclasses

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from dynopt.analysis import convergence_study
from dynopt.analysis import default_ladder, model_for
from dynopt.dynamics import GradientFlow, HeavyBall, HighResolutionODE, NesterovODE
from dynopt.engine import integrate
from dynopt.problems import double_well, ellipse, from_grad, get_problem
from dynopt.schemes import METHODS, SDEScheme

# every registered ODE scheme of gradient flow or heavy ball (the models the standard
# problems set up); schemes of Nesterov's and the high-resolution ODEs are measured in
# tests/test_accel.py against those models' own references
ODE_METHODS = {n: c for n, c in METHODS.items()
               if not issubclass(c, SDEScheme) and any(issubclass(m, c.approximates) for m in (GradientFlow, HeavyBall))}
from dynopt.schemes import (ConvergenceError, HeavyBallMomentum, Implicit19, Leapfrog,
                            get_scheme, leapfrog_coefficients, leapfrog_ode_parameters,
                            nesterov_coefficients, nesterov_ode_parameters)


@pytest.mark.parametrize("name", sorted(ODE_METHODS))
@pytest.mark.parametrize("problem", ["quadratic", "double_well"])
def test_declared_order_matches_measured(name, problem):
    """One test for every scheme's declared order (STYLE.md item 1)."""
    p = get_problem(problem)
    setup = p.comparison
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


@pytest.mark.parametrize("weight", [0.25, 1.0])
def test_implicit19_weight_moves_the_gradient_point(weight):
    """The variant with the gradient at (1 − w)θ_n + wθ_{n+1} solves its own equation, by
    Newton (with a Hessian) and by fixed-point iteration (without one)."""
    p = double_well()
    m = HeavyBall(p, 1.0)
    plain = HeavyBall(from_grad(p.grad_fn, 1), 1.0)
    gamma = 0.1
    a, b = nesterov_coefficients(gamma, 1.0)
    for model in (m, plain):
        sch = Implicit19(weight=weight)
        state = sch.init(model, model.as_state([2.0]), gamma)
        q, v = state.q, state.v
        q1, v1 = sch.step(model, 0.0, state, gamma)[:2]
        resid = v1 - (b * v - a * p.grad_fn((1 - weight) * q + weight * q1))
        assert np.max(np.abs(resid)) < 1e-12
    mid = Implicit19().step(m, 0.0, Implicit19().init(m, m.as_state([2.0]), gamma), gamma).q
    assert np.max(np.abs(mid - q1)) > 1e-6  # a different scheme, not the midpoint again
    with pytest.raises(ValueError, match="`weight` must be in"):
        Implicit19(weight=0.0)


def test_implicit19_weight_is_read_by_the_recurrence():
    """Gradient at θ_{n+1} (w = 1) on L = hθ²/2: (1 + a)z² − (1 + β)z + β, against eq 19's
    (1 + a/2)z² + (a/2 − β − 1)z + β."""
    from dynopt.symbolic.stability import scheme_stability

    def poly(weight):
        expr = scheme_stability(Implicit19(weight=weight)).characteristic_polynomial.as_expr()
        return sympy.sympify(str(expr))  # the same names, plain symbols

    a_, b_, z = sympy.symbols("a β z")
    assert sympy.expand(poly(1.0) - ((1 + a_) * z ** 2 - (1 + b_) * z + b_)) == 0
    assert sympy.expand(poly(0.5) - ((1 + a_ / 2) * z ** 2 + (a_ / 2 - b_ - 1) * z + b_)) == 0


def test_implicit19_fails_loudly_when_it_cannot_converge():
    m = HeavyBall(double_well(), 1.0)
    with pytest.raises(ConvergenceError, match="did not converge"):
        integrate(m, Implicit19(max_iter=1), (0, 1), [2.0], 0.1)


def test_scheme_refuses_the_wrong_model():
    with pytest.raises(ValueError, match="'leapfrog' discretizes HeavyBall models; got a GradientFlow"):
        integrate(GradientFlow(ellipse()), "leapfrog", (0, 1), [1.0, 1.0], 0.1)


# -- the scheme contract: run data in the state, counts that match the calls made ---------------
def counting(problem):
    """``problem`` with a gradient that counts its calls (and no declared polynomial, so
    no fused kernel bypasses ``grad_fn``); returns (problem, calls) with calls a list."""
    calls = [0]

    def grad(x):
        calls[0] += 1
        return problem.grad_fn(x)
    return dataclasses.replace(problem, grad_fn=grad, grad_polynomial=None), calls


#: one run per concrete ODE model class: (model from a problem, y0, t_span, dt)
ODE_MODEL_RUNS = {
    GradientFlow: (lambda p: GradientFlow(p), [1.5], (0.0, 1.0), 1 / 16),
    HeavyBall: (lambda p: HeavyBall(p, 0.8), [1.5, 0.3], (0.0, 1.0), 1 / 16),
    NesterovODE: (lambda p: NesterovODE(p), [1.5, 0.0], (0.0, 1.0), 1 / 16),
    HighResolutionODE: (lambda p: HighResolutionODE(p, mu=1.0, s=1 / 256), [1.5, 0.0], (0.0, 1.0), 1 / 16),
}
ALL_ODE = sorted(n for n, c in METHODS.items() if not issubclass(c, SDEScheme))


def ode_runs(name):
    """The (model class, run) pairs a registered ODE scheme declares it approximates."""
    sch = get_scheme(name)
    runs = [(cls, run) for cls, run in ODE_MODEL_RUNS.items() if issubclass(cls, sch.approximates)]
    assert runs, f"{name}: no run in ODE_MODEL_RUNS for approximates={sch.approximates}"
    return runs


@pytest.mark.parametrize("name", ALL_ODE)
def test_grad_evals_count_every_gradient_call(name):
    """Solution.grad_evals equals the gradient calls actually made, start included
    (the half-step start costs one: 65 calls for 64 leapfrog steps)."""
    for cls, (make, y0, span, dt) in ode_runs(name):
        p, calls = counting(double_well())
        sol = integrate(make(p), name, span, y0, dt)
        assert sol.grad_evals == calls[0] > 0, (name, cls.__name__, sol.grad_evals, calls[0])


def test_half_step_start_is_counted():
    p, calls = counting(double_well())
    sol = integrate(HeavyBall(p, 1.0), "leapfrog", (0, 64 * 0.05), [2.0], 0.05)
    assert (sol.grad_evals, calls[0]) == (65, 65)
    sol = integrate(HeavyBall(p, 1.0), "heavy-ball", (0, 64 * 0.05), [2.0], 0.05)  # from rest: no start cost
    assert sol.grad_evals == 64


@pytest.mark.parametrize("name", ALL_ODE)
def test_one_instance_serves_many_runs(name):
    """A scheme is configuration only: reusing an instance, over a step ladder and again,
    gives the results and counts of fresh instances."""
    shared = get_scheme(name)
    config = dict(vars(shared))
    for cls, (make, y0, span, dt) in ode_runs(name):
        model = make(double_well())
        for h in (dt, dt / 2, dt):
            if cls is HighResolutionODE:  # its step is pinned to √s
                model = HighResolutionODE(double_well(), mu=1.0, s=h * h)
            a = integrate(model, shared, span, y0, h)
            b = integrate(model, get_scheme(name), span, y0, h)
            np.testing.assert_array_equal(a.y, b.y)
            assert a.grad_evals == b.grad_evals
    assert vars(shared) == config  # runs leave nothing on the scheme object


def test_implicit19_counts_reset_between_runs():
    sch, m = Implicit19(), HeavyBall(double_well(), 1.0)
    counts = [integrate(m, sch, (0, 1), [2.0], 0.1).grad_evals for _ in range(3)]
    assert counts[0] == counts[1] == counts[2] > 2 * 10  # predictor + iterations each step


def test_wrong_model_error_names_scheme_and_classes():
    with pytest.raises(ValueError, match="'nesterov-convex' discretizes NesterovODE models; got a HeavyBall"):
        integrate(HeavyBall(ellipse(), 1.0), "nesterov-convex", (0, 1), [1.0, 1.0], 0.1)
    with pytest.raises(ValueError, match="'heavy-ball-sc' discretizes HighResolutionODE models"):
        integrate(GradientFlow(ellipse()), "heavy-ball-sc", (0, 1), [1.0, 1.0], 0.1)


def test_coefficient_maps_check_their_arguments_by_name():
    from dynopt.schemes import leapfrog_ode_parameters, nesterov_ode_parameters

    for fn in (leapfrog_ode_parameters, nesterov_ode_parameters):
        with pytest.raises(ValueError, match="^`alpha` must be in \\(0.0, inf\\)"):
            fn(0.0, 0.5)
        for beta in (-0.1, 1.5):
            with pytest.raises(ValueError, match="^`beta` must be in \\[0.0, 1.0\\]"):
                fn(0.1, beta)


def test_implicit19_reports_a_non_finite_predictor_as_divergence():
    from dynopt.dynamics import HeavyBall
    from dynopt.engine import integrate
    from dynopt.problems import from_expr

    # ∇L = x⁷ overflows at 1e45: the predictor is not finite, the run must stop as diverged
    # (not raise from the Newton loop)
    with np.errstate(over="ignore", invalid="ignore"):
        sol = integrate(HeavyBall(from_expr("x**8/8"), 1.0), "implicit19", (0.0, 1.0), [1e45, 0.0], 0.1)
    assert sol.diverged_step == 1 and sol.n_steps == 1


def test_momentum_schemes_report_velocity_as_step_over_gamma():
    from dynopt.dynamics import HeavyBall
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    dt = 0.25
    sol = integrate(HeavyBall(quadratic(np.eye(1)), 0.5), "heavy-ball", (0.0, 8 * dt), [1.0, 0.0], dt, save_every=1)
    x, v = sol.y[:, 0, 0], sol.y[:, 0, 1]
    # θ_{n+1} = θ_n + v_{n+1}, and the reported velocity is v_n / γ
    np.testing.assert_allclose(v[1:], np.diff(x) / dt, rtol=1e-14)


def test_momentum_scheme_step_with_a_new_dt_uses_that_dt_coefficients():
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import quadratic
    from dynopt.schemes import get_scheme, leapfrog_coefficients

    model = HeavyBall(quadratic(np.eye(1)), 0.5)
    s = get_scheme("heavy-ball")
    st = s.init(model, np.array([[1.0, 0.0]]), 0.25)
    a2, b2 = leapfrog_coefficients(0.125, 0.5)
    new = s.step(model, 0.0, st, 0.125)
    np.testing.assert_allclose(new.v, b2 * st.v - a2 * st.q, rtol=1e-15)
    assert (new.alpha, new.beta) == (a2, b2)


def test_coefficient_maps_name_gamma_and_friction():
    from dynopt.schemes import leapfrog_coefficients, nesterov_coefficients

    for fn in (leapfrog_coefficients, nesterov_coefficients):
        for g in (0.0, -1.0):
            with pytest.raises(ValueError, match="^`gamma` must be in \\(0.0, inf\\)"):
                fn(g, 0.5)
        with pytest.raises(ValueError, match="^`friction` must be in \\[0.0, inf\\)"):
            fn(0.1, -0.5)
    with pytest.raises(ValueError, match="must be in \\[0, 2\\] so that β ∈ \\[0, 1\\]; got λγ = 3$"):
        leapfrog_coefficients(1.0, 3.0)
    with pytest.raises(ValueError, match="must be in \\[0, 1\\] so that β ∈ \\[0, 1\\]; got λγ = 1.5$"):
        nesterov_coefficients(1.0, 1.5)


def test_register_refuses_a_second_class_under_a_taken_name():
    from dynopt.schemes import METHODS, Euler, register

    class Other(Euler):
        pass

    with pytest.raises(ValueError, match="^scheme name 'euler' is already registered to Euler"):
        register("euler")(Other)
    assert METHODS["euler"] is Euler
    assert register("euler")(Euler) is Euler       # the same class again is harmless


def test_momentum_scheme_names_its_coefficient_maps():
    from dynopt.schemes import Leapfrog

    with pytest.raises(ValueError, match="^`coefficients` must be one of \\['eq15', 'eq18'\\]; got 'eq99'$"):
        Leapfrog(coefficients="eq99")


def test_implicit19_predictor_and_first_iterate_are_where_eq20_puts_them():
    """The predictor only sets where Newton starts, so a wrong one leaves the state and changes
    the gradient count (the work axis of work–precision figures): check the points directly."""
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import from_grad
    from dynopt.schemes import Implicit19

    calls = []

    def grad(x):
        calls.append(np.array(x, float))
        return x ** 3 - x

    prob = from_grad(grad, 1, hess=lambda x: (3 * x ** 2 - 1)[:, :, None])
    model, sch = HeavyBall(prob, 1.0), Implicit19()
    state = sch.init(model, model.as_state([2.0, 0.7]), 0.1)
    alpha, beta = state.alpha, state.beta
    q, v = state.q, state.v
    assert abs(v[0, 0]) > 0.05  # a case where the sign of βv/2 matters
    calls.clear()
    new = sch.step(model, 0.0, state, 0.1)
    predictor = q + 0.5 * beta * v
    z0 = q + beta * v - alpha * (predictor ** 3 - predictor)
    np.testing.assert_allclose(calls[0], predictor, rtol=1e-15)
    np.testing.assert_allclose(calls[1], 0.5 * (q + z0), rtol=1e-15)
    assert new.grad_evals - state.grad_evals == len(calls)


def test_scheme_reprs_are_the_ledger_cache_keys():
    """The reprs that ledger cache keys are made of: ``Scheme.__repr__`` is the class name with empty
    parentheses; a momentum scheme names its start and map (defaults: half-step, and the class's map);
    ``Implicit19`` keeps the family's repr at the default weight ½ and appends any other weight."""
    from dynopt.schemes import Nesterov

    assert repr(get_scheme("euler")) == "Euler()"
    assert repr(get_scheme("rk4")) == "RK4()"
    assert repr(Leapfrog()) == "Leapfrog(start='half-step', coefficients='eq15')"
    assert repr(Leapfrog(start="rest", coefficients="eq18")) == "Leapfrog(start='rest', coefficients='eq18')"
    assert repr(Nesterov()) == "Nesterov(start='half-step', coefficients='eq18')"
    assert repr(HeavyBallMomentum(start="rest")) == "HeavyBallMomentum(start='rest', coefficients='eq15')"
    assert repr(Implicit19()) == "Implicit19(start='half-step', coefficients='eq18')"
    assert repr(Implicit19(weight=0.5)) == "Implicit19(start='half-step', coefficients='eq18')"
    assert repr(Implicit19(start="rest", coefficients="eq15", weight=1.0)) == \
        "Implicit19(start='rest', coefficients='eq15', weight=1.0)"
    assert repr(Implicit19(weight=0.75)) == "Implicit19(start='half-step', coefficients='eq18', weight=0.75)"


def test_implicit19_defaults_and_weight_range():
    """``Implicit19``'s documented defaults (half-step start, eq 18 map, rtol 1e-13, 50 iterations,
    weight ½) and the refusal of a weight outside (0, 1]."""
    s = Implicit19()
    assert (s.start, s.coefficients, s.rtol, s.max_iter, s.weight) == ("half-step", "eq18", 1e-13, 50, 0.5)
    s = Implicit19("rest", "eq15", 1e-9, 7, 1.0)
    assert (s.start, s.coefficients, s.rtol, s.max_iter, s.weight) == ("rest", "eq15", 1e-9, 7, 1.0)
    for w in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match=r"`weight` must be in \(0, 1\]"):
            Implicit19(weight=w)


def test_implicit19_defaults():
    """The documented defaults: half-step start, eq 18 coefficients, rtol 1e-13, 50 iterations, w = ½."""
    s = Implicit19()
    assert (s.start, s.coefficients, s.rtol, s.max_iter, s.weight) == ("half-step", "eq18", 1e-13, 50, 0.5)
    g = get_scheme("implicit19")
    assert (g.rtol, g.max_iter, g.weight) == (1e-13, 50, 0.5)
    assert Implicit19(weight=1.0).weight == 1.0
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match=rf"`weight` must be in \(0, 1\]; got {bad}"):
            Implicit19(weight=bad)


@pytest.mark.parametrize("weight", [0.5, 1.0, 0.3])
def test_implicit19_linear_step_is_one_newton_solve(weight):
    """On L = ½θᵀHθ the step solves (I + wαH) z = θ + βv − α(1 − w)Hθ exactly; Newton lands there in
    one iteration and stops after the next, so 1 + 2 gradients (plus the start's one)."""
    from dynopt.problems import quadratic
    H = np.array([[2.0, 0.4], [0.4, 0.7]])
    m = HeavyBall(quadratic(H), 1.0)
    sch, gamma = Implicit19(weight=weight), 0.2
    st = sch.init(m, m.as_state([1.5, -0.5]), gamma)
    a, b = st.alpha, st.beta
    assert (a, b) == nesterov_coefficients(gamma, 1.0)
    q, v = st.q[0], st.v[0]
    z = np.linalg.solve(np.eye(2) + weight * a * H, q + b * v - a * (1 - weight) * H @ q)
    new = sch.step(m, 0.0, st, gamma)
    np.testing.assert_allclose(new.q[0], z, rtol=1e-13)
    np.testing.assert_allclose(new.v[0], z - q, rtol=1e-12)
    assert (new.gamma, new.alpha, new.beta) == (gamma, a, b)
    assert new.grad_evals == st.grad_evals + 3


def test_implicit19_fixed_point_iteration_by_hand():
    """Without a Hessian: the predictor, then z ← θ + βv − α∇L((1 − w)θ + wz) until the change is below
    rtol·(1 + max|z|), each iteration one gradient."""
    grad = lambda x: x ** 3 - x  # noqa: E731
    m = HeavyBall(from_grad(grad, 1), 1.0)
    sch, gamma = Implicit19(rtol=1e-10), 0.1
    st = sch.init(m, m.as_state([1.7]), gamma)
    q, v, a, b = st.q, st.v, st.alpha, st.beta
    z = q + b * v - a * grad(q + 0.5 * b * v)
    evals = st.grad_evals + 1
    while True:
        new_z = q + b * v - a * grad(0.5 * q + 0.5 * z)
        evals += 1
        dz = z - new_z
        z = new_z
        if np.max(np.abs(dz)) <= 1e-10 * (1 + np.max(np.abs(z))):
            break
    out = sch.step(m, 0.0, st, gamma)
    np.testing.assert_allclose(out.q, z, rtol=1e-14)
    assert out.grad_evals == evals and evals > st.grad_evals + 3
    with pytest.raises(ConvergenceError, match=r"^implicit19: fixed-point iteration did not converge to "
                                                r"rtol=1e-10 in 2 iterations at t=0.3 \(last \|Δθ\|="):
        Implicit19(rtol=1e-10, max_iter=2).step(m, 0.3, st, gamma)
    with pytest.raises(ConvergenceError, match=r"^implicit19: Newton iteration did not converge to "
                                                r"rtol=1e-13 in 1 iterations at t=0 "):
        mm = HeavyBall(double_well(), 1.0)
        Implicit19(max_iter=1).step(mm, 0.0, Implicit19().init(mm, mm.as_state([2.0]), gamma), gamma)


@pytest.mark.parametrize("name", ["exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tanh"])
def test_ops_functions_dispatch_on_each_reader(name):
    """Numbers go to math (a Python float back), float arrays to the numpy ufunc, object arrays elementwise,
    a node with _ops_apply to that method, sympy expressions to sympy (expm1, log1p spelled out)."""
    import math as m

    from dynopt.schemes import ops
    fn = getattr(ops, name)
    assert fn.__name__ == name and name in ops.FUNCTIONS and name in fn.__doc__
    x = 0.3
    got = fn(x)
    assert type(got) is float and got == getattr(m, name)(x)
    assert fn(np.float64(x)) == getattr(m, name)(x)
    arr = np.array([0.1, 0.7])
    np.testing.assert_array_equal(fn(arr), getattr(np, name)(arr))
    s = sympy.Symbol("s", positive=True)
    special = {"expm1": sympy.exp(s) - 1, "log1p": sympy.log(1 + s)}
    want = special[name] if name in special else getattr(sympy, name)(s)
    assert sympy.simplify(fn(s) - want) == 0
    obj = np.array([s, 2 * s], dtype=object)
    out = fn(obj)
    assert out.dtype == object and sympy.simplify(out[1] - want.subs(s, 2 * s)) == 0

    class Node:
        def _ops_apply(self, fname):
            return ("applied", fname)
    assert fn(Node()) == ("applied", name)
    # a bool is not taken for a number: it never comes back as math's float
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from_bool = fn(True)
        except (TypeError, AttributeError):
            from_bool = None
    assert not isinstance(from_bool, float)


@pytest.mark.parametrize("name,coeffs", [("leapfrog", "eq15"), ("nesterov", "eq18"), ("heavy-ball", "eq15")])
def test_momentum_scheme_init_and_step_by_hand(name, coeffs):
    """Half-step start v₀ = γ(η + (γ/2)(λη + ∇L(θ₀))) with one gradient, or rest v₀ = γη with none; (α, β) from
    eq 15 (β = (1 − λγ/2)/(1 + λγ/2), α = γ²/(1 + λγ/2)) or eq 18 (α = γ², β = 1 − λγ); a changed step
    recomputes them."""
    p = double_well(2)
    lam, gam = 0.6, 0.2
    m = HeavyBall(p, lam)
    y0 = np.array([[1.3, -0.4, 0.5, -0.2]])
    q0, eta = y0[0, :2], y0[0, 2:]
    x = lam * gam / 2
    want_ab = {"eq15": (gam * gam / (1 + x), (1 - x) / (1 + x)), "eq18": (gam * gam, 1 - lam * gam)}[coeffs]
    for start in ("half-step", "rest"):
        sch = get_scheme(name, start=start)
        assert sch.coefficients == coeffs
        st = sch.init(m, y0.copy(), gam)
        assert (st.alpha, st.beta) == pytest.approx(want_ab, rel=1e-14) and st.gamma == gam
        if start == "rest":
            np.testing.assert_allclose(st.v[0], gam * eta, rtol=1e-15)
            assert st.grad_evals == 0
        else:
            np.testing.assert_allclose(st.v[0], gam * (eta + gam / 2 * (lam * eta + p.grad(q0))), rtol=1e-14)
            assert st.grad_evals == 1
        np.testing.assert_array_equal(st.q[0], q0)
        np.testing.assert_allclose(sch.output(m, st)[0, 2:], st.v[0] / gam, rtol=1e-15)
        a, b = want_ab
        point = q0 + b * st.v[0] if name == "nesterov" else q0
        v1 = b * st.v[0] - a * p.grad(point)
        s1 = sch.step(m, 0.0, st, gam)
        np.testing.assert_allclose(s1.q[0], q0 + v1, rtol=1e-14)
        assert s1.grad_evals == st.grad_evals + 1
        # a different step: (α, β) recomputed for it
        s2 = sch.step(m, gam, s1, 0.1)
        assert (s2.gamma, s2.alpha) == (0.1, pytest.approx(sch.alpha_beta(m, 0.1)[0], rel=1e-15))
    with pytest.raises(ValueError, match=r"^`start` must be one of \['half-step', 'rest'\]; got 'zero'$"):
        get_scheme(name, start="zero")
    with pytest.raises(ValueError, match=r"^`coefficients` must be one of \['eq15', 'eq18'\]; got 'eq16'$"):
        get_scheme(name, coefficients="eq16")


def test_coefficient_maps_closed_forms_and_edges():
    """eq 15 and eq 18 and their inverses at chosen points, written out; λγ = 2 (eq 15) and λγ = 1 (eq 18)
    are the edges β = 0; past them each map refuses with the product it got."""
    from dynopt.schemes import momentum_from_ode
    from dynopt.schemes.maps import eq15_alpha_beta, eq18_alpha_beta
    assert leapfrog_coefficients(0.5, 4.0) == (0.125, 0.0)
    assert leapfrog_coefficients(0.5, 0.0) == (0.25, 1.0)
    assert nesterov_coefficients(0.5, 2.0) == (0.25, 0.0)
    assert eq15_alpha_beta(0.2, 1.0) == pytest.approx((0.04 / 1.1, 0.9 / 1.1), rel=1e-15)
    assert eq18_alpha_beta(0.2, 1.0) == pytest.approx((0.04, 0.8), rel=1e-15)
    g, lam = leapfrog_ode_parameters(0.04 / 1.1, 0.9 / 1.1)
    assert (g, lam) == (pytest.approx(0.2, rel=1e-14), pytest.approx(1.0, rel=1e-12))
    assert leapfrog_ode_parameters(0.25, 1.0) == (0.5, 0.0)
    assert leapfrog_ode_parameters(0.125, 0.0) == (pytest.approx(0.5, rel=1e-15), pytest.approx(4.0, rel=1e-15))
    assert nesterov_ode_parameters(0.04, 0.8) == (pytest.approx(0.2), pytest.approx(1.0))
    assert nesterov_ode_parameters(0.25, 0.0) == (0.5, 2.0)
    with pytest.raises(ValueError, match=r"^`friction`·`gamma` must be in \[0, 2\] so that β ∈ \[0, 1\]; got λγ = 2.2$"):
        leapfrog_coefficients(1.1, 2.0)
    with pytest.raises(ValueError, match=r"^`friction`·`gamma` must be in \[0, 1\] so that β ∈ \[0, 1\]; got λγ = 1.1$"):
        nesterov_coefficients(1.1, 1.0)
    with pytest.raises(ValueError, match=r"`gamma` must be in \(0.0, inf\); got 0.0"):
        nesterov_coefficients(0.0, 1.0)
    with pytest.raises(ValueError, match=r"`friction` must be in \[0.0, inf\); got -1.0"):
        nesterov_coefficients(0.1, -1.0)
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0.0, inf\); got 0.0"):
        leapfrog_ode_parameters(0.0, 0.5)
    with pytest.raises(ValueError, match=r"`beta` must be in \[0.0, 1.0\]; got 1.5"):
        nesterov_ode_parameters(0.1, 1.5)
    assert momentum_from_ode(0.2, 1.0) == leapfrog_coefficients(0.2, 1.0)
    assert momentum_from_ode(0.2, 1.0, form="nesterov") == nesterov_coefficients(0.2, 1.0)
    with pytest.raises(ValueError, match=r"^`form` must be one of \['heavy-ball', 'nesterov'\]; got 'adam'$"):
        momentum_from_ode(0.2, 1.0, form="adam")


def test_runge_kutta_steps_by_hand_on_a_time_dependent_ode():
    """Euler, Heun and RK4 on y' = f(t, y) = −y³ + t·(1, 2), stage by stage as in the textbooks, with their
    gradient counts."""
    from dynopt.problems import quadratic

    class TimeODE(GradientFlow):
        def drift(self, t, y):
            return -y ** 3 + t * np.array([1.0, 2.0])
    m = TimeODE(quadratic(np.eye(2)))
    f = m.drift
    y, t, h = np.array([[0.7, -0.4], [1.5, 0.2]]), 0.3, 0.1
    k1 = f(t, y)
    want = {"euler": (y + h * k1, 1)}
    k2 = f(t + h, y + h * k1)
    want["heun"] = (y + h / 2 * (k1 + k2), 2)
    r2 = f(t + h / 2, y + h / 2 * k1)
    r3 = f(t + h / 2, y + h / 2 * r2)
    r4 = f(t + h, y + h * r3)
    want["rk4"] = (y + h / 6 * (k1 + 2 * r2 + 2 * r3 + r4), 4)
    for name, (w, evals) in want.items():
        sch = get_scheme(name)
        st = sch.step(m, t, sch.init(m, y.copy(), h), h)
        np.testing.assert_allclose(st.y, w, rtol=1e-14, err_msg=name)
        assert st.grad_evals == evals == sch.grad_evals and sch.order == {"euler": 1, "heun": 2, "rk4": 4}[name]


def test_scheme_base_refusals_describe_and_repr():
    """An ODE scheme refuses an SDE model and a model it does not discretize, each message word for word;
    describe and repr read the class; the registry refuses a second class under a taken name."""
    from dynopt import dynamics
    from dynopt.problems import quadratic
    from dynopt.schemes.registry import register
    p = quadratic(np.eye(1))
    sde = dynamics.OverdampedLangevin(p, 1.0)
    with pytest.raises(ValueError, match=r"^`scheme` 'euler' integrates ODE models; got the SDE model .* \(use "
                                         r"dynopt.engine.simulate with an SDE scheme\)$"):
        get_scheme("euler").check_model(sde)
    with pytest.raises(ValueError, match=r"^`scheme` 'leapfrog' discretizes HeavyBall models; got a GradientFlow \("):
        get_scheme("leapfrog").check_model(GradientFlow(p))
    with pytest.raises(ValueError, match=r"^`scheme` 'baoab' discretizes Kramers models; got a OverdampedLangevin \("):
        get_scheme("baoab").check_model(sde)
    from dynopt.schemes.base import model_classes
    assert model_classes((GradientFlow, HeavyBall)) == "GradientFlow, HeavyBall"
    assert get_scheme("euler").describe() == "euler (order 1, 1 grad/step)"
    assert get_scheme("rk4").describe() == "rk4 (order 4, 4 grad/step)"
    assert repr(get_scheme("heun")) == "Heun()"
    assert get_scheme(get_scheme("rk4")).name == "rk4"
    with pytest.raises(ValueError, match=r"^scheme name 'euler' is already registered to Euler$"):
        register("euler")(type("Other", (get_scheme("heun").__class__,), {}))
    with pytest.raises(ValueError, match=r"^`method` must be one of \[.*'euler'.*\]; got \['x'\]$"):
        get_scheme(["x"])


def test_implicit19_state_carries_alpha_beta_and_counts():
    """Each Implicit19 step (converged or diverged predictor) carries eq 18's (α, β), the step and the gradient count."""
    p = double_well()
    m = HeavyBall(p, 1.0)
    sch = Implicit19()
    gamma = 0.1
    a, b = nesterov_coefficients(gamma, 1.0)
    st = sch.step(m, 0.0, sch.init(m, m.as_state([2.0]), gamma), gamma)
    assert (st.gamma, st.alpha, st.beta) == (gamma, pytest.approx(a, rel=1e-15), pytest.approx(b, rel=1e-15))
    assert st.grad_evals >= 2
    with np.errstate(all="ignore"):  # the predictor overflows on purpose
        state = sch.init(m, m.as_state([1e200]), gamma)
        bad = sch.step(m, 0.0, state, gamma)
    assert not np.all(np.isfinite(bad.q))
    assert (bad.gamma, bad.alpha, bad.beta) == (gamma, pytest.approx(a, rel=1e-15), pytest.approx(b, rel=1e-15))
    assert bad.grad_evals == state.grad_evals + 1
