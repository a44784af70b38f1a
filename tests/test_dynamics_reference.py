import numpy as np
import pytest

from dynopt.dynamics import GradientFlow, HeavyBall, NesterovODE
from dynopt.problems import double_well, ellipse, quadratic
from dynopt.analysis import exact_linear, reference_solution, solve_ivp_reference, work_precision


@pytest.mark.parametrize("make_model", [lambda p: GradientFlow(p), lambda p: HeavyBall(p, 0.7),
                                        lambda p: HeavyBall(p, 0.0)])
def test_expm_and_dop853_agree_on_a_quadratic(make_model):
    p = quadratic([[3.0, 1.0], [1.0, 2.0]], center=[0.5, -0.25])
    m = make_model(p)
    y0 = np.array([[1.0, 2.0], [-1.0, 0.5]])
    ts = [0.3, 1.0, 2.5]
    exact = exact_linear(m, y0, ts)
    num = solve_ivp_reference(m, y0, ts)
    np.testing.assert_allclose(num, exact, rtol=0, atol=1e-10)


def test_reference_kind():
    _, kind = reference_solution(GradientFlow(ellipse()), [1.0, 1.0], [1.0])
    assert kind == "expm"
    _, kind = reference_solution(GradientFlow(double_well()), [2.0], [1.0])
    assert kind.startswith("DOP853")


def test_heavy_ball_state_and_drift():
    m = HeavyBall(double_well(), friction=0.5)
    y = m.as_state([2.0])
    np.testing.assert_array_equal(y, [[2.0, 0.0]])
    np.testing.assert_allclose(m.drift(0.0, np.array([[2.0, 1.0]])), [[1.0, -0.5 - 6.0]])


def test_jacobians_match_finite_differences():
    for m in (GradientFlow(double_well(2)), HeavyBall(double_well(2), 0.3)):
        y = np.linspace(0.2, 1.1, m.state_dim)
        J = m.jac(0.0, y)
        h = 1e-7
        fd = np.column_stack([(m.rhs(0, y + h * e) - m.rhs(0, y - h * e)) / (2 * h)
                              for e in np.eye(y.size)])
        np.testing.assert_allclose(J, fd, atol=1e-6)


def test_nesterov_ode_regular_start():
    m = NesterovODE(double_well(), r=3)
    acc = m.drift(0.0, np.array([[2.0, 0.0]]))[0, 1]
    assert acc == pytest.approx(-6.0 / 4)  # X''(0) = −∇L/(1+r)
    # t > 0 near 0 with V ≈ X''(0) t is continuous with the limit
    t = 1e-8
    acc_t = m.drift(t, np.array([[2.0, -1.5 * t]]))[0, 1]
    assert acc_t == pytest.approx(acc, rel=1e-6)


@pytest.mark.parametrize("kw, match", [({"friction": -1.0}, "`friction` must be in"),
                                       ({"friction": float("nan")}, "`friction`")])
def test_bad_friction(kw, match):
    with pytest.raises(ValueError, match=match):
        HeavyBall(ellipse(), **kw)


def test_bad_initial_state_shape():
    with pytest.raises(ValueError, match="`y0` must have shape"):
        HeavyBall(ellipse()).as_state(np.ones(3))


def test_work_precision_counts_gradients():
    m = GradientFlow(double_well())
    ref = reference_solution(m, [2.0], [1.0])[0][0]
    pts = work_precision(m, [2.0], 1.0, ref, methods=("RK45", "Radau"), rtols=(1e-4, 1e-8))
    by = {(p.method, p.rtol): p for p in pts}
    assert by[("RK45", 1e-8)].grad_evals > by[("RK45", 1e-4)].grad_evals > 0
    assert by[("RK45", 1e-8)].error < by[("RK45", 1e-4)].error
    assert by[("Radau", 1e-8)].hess_evals > 0  # the analytic Jacobian was used
