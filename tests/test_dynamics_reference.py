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


#: the registered "quadratic" problem's comparison setup, restated: L = ½xᵀHx from x0 to T
_WP_H = np.array([[2.0, 0.5], [0.5, 1.0]])
_WP_X0 = np.array([1.0, -1.0])
#: the step ladders N0·√2^k (k = 0..7) of its declared N0 (euler 64, heun 32, rk4 16)
_WP_N0 = {"euler": 64, "heun": 32, "rk4": 16}
#: one step's matrix (I + hA + ... up to the scheme's order, A = −H) and gradients per step
_WP_STAGES = {"euler": (1, 1), "heun": (2, 2), "rk4": (4, 4)}


def test_work_precision_study_against_closed_forms_and_scipy():
    """``work_precision_study``: for each fixed-step scheme the 8-rung ladder N0·√2^k with N
    gradients per step times N, and the error |P(−hH)^N x0 − e^{−HT}x0| (P the scheme's Taylor
    polynomial) computed here with matrix powers; for scipy's methods, one point per rtol
    10^−3 … 10^−11 (atol = rtol·10^−3) whose gradient, Hessian counts and error are scipy's own
    nfev, njev and its error at T, run here with solve_ivp."""
    from math import factorial

    from scipy.integrate import solve_ivp
    from scipy.linalg import expm

    from dynopt.analysis import work_precision_study
    from dynopt.problems import get_problem

    r = work_precision_study("quadratic", schemes=("euler", "heun", "rk4"), scipy_methods=("RK45", "Radau"))
    assert set(r) == {"fixed", "scipy", "scipy_rtol", "ode", "T", "problem"}
    assert (r["ode"], r["T"], r["problem"]) == ("gradient flow θ' = −∇L", 1.0, "quadratic")
    exact = expm(-_WP_H) @ _WP_X0
    assert set(r["fixed"]) == set(_WP_N0)
    for name, n0 in _WP_N0.items():
        order, per_step = _WP_STAGES[name]
        ns = [int(np.floor(n0 * np.sqrt(2.0) ** k + 0.5)) for k in range(8)]
        evals, errs = r["fixed"][name]
        assert evals == [per_step * n for n in ns], name
        want = []
        for n in ns:
            A = -_WP_H / n
            P = sum(np.linalg.matrix_power(A, j) / factorial(j) for j in range(order + 1))
            want.append(np.linalg.norm(np.linalg.matrix_power(P, n) @ _WP_X0 - exact))
        np.testing.assert_allclose(errs, want, rtol=1e-6, atol=1e-13, err_msg=name)
    prob = get_problem("quadratic")

    def rhs(t, y):
        return -prob.grad_fn(y[None, :])[0]

    rtols = [10.0 ** -k for k in range(3, 12)]
    assert set(r["scipy"]) == set(r["scipy_rtol"]) == {"RK45", "Radau"}
    for method in ("RK45", "Radau"):
        assert r["scipy_rtol"][method] == pytest.approx(rtols, rel=1e-15)
        kw = {"jac": lambda t, y: -_WP_H} if method == "Radau" else {}
        sols = [solve_ivp(rhs, (0.0, 1.0), _WP_X0, method=method, rtol=rt, atol=rt * 1e-3, **kw) for rt in rtols]
        g, e, h = r["scipy"][method]
        assert g == [s.nfev for s in sols], method
        assert h == ([s.njev for s in sols] if method == "Radau" else [0] * 9), method
        np.testing.assert_allclose(e, [np.linalg.norm(s.y[:, -1] - exact) for s in sols], rtol=1e-6, atol=1e-14)


def test_work_precision_study_defaults_and_problems_without_a_setup():
    """Defaults: the fixed-step schemes Euler, Heun and RK4 and scipy's RK45, DOP853, Radau and LSODA;
    a registered problem that declares no comparison setup is refused, naming the argument and
    listing the ones that do."""
    from dynopt.analysis import work_precision_study

    r = work_precision_study("double_well")
    assert list(r["fixed"]) == ["euler", "heun", "rk4"]
    assert list(r["scipy"]) == list(r["scipy_rtol"]) == ["RK45", "DOP853", "Radau", "LSODA"]
    assert (r["T"], r["problem"]) == (1.0, "double_well")
    assert [len(v) for v in r["fixed"]["heun"]] == [8, 8] and r["fixed"]["heun"][0][0] == 2 * 32
    with pytest.raises(ValueError, match=r"^`problem_name` must be one of \['double_well', 'quadratic', "
                                         r"'rosenbrock'\] \(the problems declaring a comparison setup\); got 'ellipse'$"):
        work_precision_study("ellipse")
    with pytest.raises(ValueError, match="`problem` must be one of"):
        work_precision_study("no-such-problem")


def test_work_precision_points_against_scipy_directly():
    """Each point is scipy's own run: nfev (one gradient per rhs call), njev (Hessian calls through the
    analytic Jacobian, only for Radau/BDF/LSODA), its error at T, atol = rtol·1e-3; seconds is a time."""
    from scipy.integrate import solve_ivp
    m = GradientFlow(double_well())
    T, y0 = 1.0, np.array([2.0])
    ref = reference_solution(m, y0, [T])[0][0]
    methods, rtols = ("RK45", "Radau", "BDF", "LSODA", "DOP853"), (1e-4, 1e-7)
    pts = work_precision(m, y0, T, ref, methods=methods, rtols=rtols)
    assert [(p.method, p.rtol) for p in pts] == [(mm, r) for mm in methods for r in rtols]
    for p in pts:
        kw = {"jac": m.jac} if p.method in ("Radau", "BDF", "LSODA") else {}
        sol = solve_ivp(m.rhs, (0.0, T), y0, method=p.method, rtol=p.rtol, atol=p.rtol * 1e-3, **kw)
        assert p.grad_evals == sol.nfev, p
        assert p.hess_evals == (sol.njev if kw else 0), p
        assert p.error == pytest.approx(abs(sol.y[0, -1] - ref[0, 0]), rel=1e-12, abs=1e-16)
        assert isinstance(p.seconds, float) and 0.0 <= p.seconds < 10.0
    assert any(p.hess_evals > 0 for p in pts if p.method in ("Radau", "BDF"))


def test_work_precision_defaults_and_no_jacobian_without_a_hessian():
    """Defaults: RK45, DOP853, Radau, LSODA at rtol 1e-3 … 1e-11; a problem without a Hessian gets no Jacobian."""
    from dynopt.problems import from_grad
    m = GradientFlow(quadratic([[2.0]]))
    ref = reference_solution(m, [1.0], [0.5])[0][0]
    pts = work_precision(m, [1.0], 0.5, ref)
    assert [(p.method, p.rtol) for p in pts] == [(mm, 10.0 ** -k) for mm in ("RK45", "DOP853", "Radau", "LSODA")
                                                 for k in range(3, 12)]
    plain = GradientFlow(from_grad(lambda x: 2.0 * x, 1))
    pp = work_precision(plain, [1.0], 0.5, ref, methods=("Radau",), rtols=(1e-6,))
    assert pp[0].hess_evals == 0 and pp[0].error < 1e-5


def test_solve_ivp_reference_arguments_reach_scipy(monkeypatch):
    """rtol, atol (default rtol/10), method and t0 are scipy's; the values come from its dense output at
    t_eval; a failed solve is an error naming the method."""
    import dynopt.analysis.reference as mod
    from scipy.integrate import solve_ivp
    seen = {}

    def spy(fun, span, y, **kw):
        seen.update(kw, span=span)
        return solve_ivp(fun, span, y, **kw)
    monkeypatch.setattr(mod, "solve_ivp", spy)
    m = GradientFlow(double_well())
    out = solve_ivp_reference(m, [[2.0], [0.5]], [0.7, 0.3], t0=0.1, rtol=1e-9)
    assert seen["span"] == (0.1, 0.7) and seen["rtol"] == 1e-9 and seen["atol"] == 1e-9 * 1e-1
    assert seen["method"] == "DOP853" and seen["dense_output"] is True
    assert out.shape == (2, 2, 1)
    sol = solve_ivp(m.rhs, (0.1, 0.7), [2.0, 0.5], method="DOP853", rtol=1e-9, atol=1e-10, dense_output=True)
    np.testing.assert_allclose(out[:, :, 0], np.stack([sol.sol(0.7), sol.sol(0.3)]), rtol=1e-12)
    solve_ivp_reference(m, [2.0], [1.0], rtol=1e-6, atol=1e-3, method="RK45")
    assert (seen["atol"], seen["method"], seen["span"]) == (1e-3, "RK45", (0.0, 1.0))

    class Failed:
        success, message = False, "step size too small"
    monkeypatch.setattr(mod, "solve_ivp", lambda *a, **k: Failed())
    with pytest.raises(RuntimeError, match=r"^reference solve_ivp\(Radau\) failed: step size too small$"):
        solve_ivp_reference(m, [2.0], [1.0], method="Radau")


def test_reference_solution_kinds_and_exact_linear_refusal():
    """Linear models get expm (kind "expm"), others DOP853 at rtol 1e-13; exact_linear refuses a nonlinear model."""
    lin = GradientFlow(quadratic([[2.0]], center=[1.0]))
    vals, kind = reference_solution(lin, [3.0], [0.5, 1.0])
    assert kind == "expm"
    np.testing.assert_allclose(vals[:, 0, 0], 1.0 + 2.0 * np.exp(-2.0 * np.array([0.5, 1.0])), rtol=1e-13)
    vals_t0 = exact_linear(lin, [3.0], [1.5], t0=0.5)
    np.testing.assert_allclose(vals_t0[0, 0, 0], 1.0 + 2.0 * np.exp(-2.0), rtol=1e-13)
    nl = GradientFlow(double_well())
    _, kind = reference_solution(nl, [2.0], [0.5])
    assert kind == "DOP853(rtol=1e-13)"
    with pytest.raises(ValueError, match=r"is not linear: no exact reference$"):
        exact_linear(nl, [2.0], [0.5])
