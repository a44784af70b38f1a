"""Optimizers as dynamics: exact ties to the foundation's schemes, ODE limits with
fitted orders, and the SGD temperature η/B."""
import numpy as np
import pytest

from dynopt import optim
from dynopt.dynamics import RMSPropODE
from dynopt.schemes import continuous_limit
from dynopt.analysis import discrete_stationary_excess_loss, ode_tracking_study, ou_excess_loss, sgd_least_squares_ensemble
from dynopt.schemes import heavy_ball_ode_parameters, momentum_from_ode, nesterov_ode_parameters_from_optimizer
from dynopt.dynamics import GradientFlow, HeavyBall
from dynopt.engine import integrate
from dynopt.problems import ellipse, least_squares, rosenbrock
from dynopt.schemes import get_scheme

X0 = np.array([-5.0, -2.0])


def test_sgd_is_euler_on_gradient_flow():
    P = ellipse()
    path = optim.run(optim.sgd(0.1), P.grad, X0, 30).path
    sol = integrate(GradientFlow(P), "euler", (0, 3.0), X0, 0.1, save_every=1)
    np.testing.assert_allclose(path, sol.y[:, 0, :], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("conv", ["pytorch", "d2l", "sutskever"])
def test_heavy_ball_is_the_foundations_leapfrog_from_rest(conv):
    P = rosenbrock()
    x0 = np.array([-1.0, 1.5])
    lr, mu = 1e-3, 0.9
    gamma, lam = heavy_ball_ode_parameters(lr, mu)
    path = optim.run(optim.sgd(lr, mu, convention=conv), P.grad, x0, 200).path
    n = 200
    sol = integrate(HeavyBall(P, lam), get_scheme("heavy-ball"), (0, n * gamma), x0, gamma, save_every=1)
    np.testing.assert_allclose(path, sol.y[:, 0, :2], rtol=1e-10, atol=1e-12)
    assert momentum_from_ode(gamma, lam) == pytest.approx((lr, mu), rel=1e-13)


def test_sutskever_nesterov_is_the_foundations_nesterov_scheme():
    P = rosenbrock()
    x0 = np.array([-1.0, 1.5])
    lr, mu = 1e-3, 0.9
    gamma, lam = nesterov_ode_parameters_from_optimizer(lr, mu)
    path = optim.run(optim.sgd(lr, mu, nesterov=True, convention="sutskever"), P.grad, x0, 150).path
    sol = integrate(HeavyBall(P, lam), get_scheme("nesterov", start="rest"), (0, 150 * gamma), x0, gamma,
                    save_every=1)
    np.testing.assert_allclose(path, sol.y[:, 0, :2], rtol=1e-10, atol=1e-12)


def test_rmsprop_and_adam_track_their_odes_at_order_one():
    P = ellipse()
    lrs = [0.02 / 2 ** k for k in range(4)]
    warm = ode_tracking_study("rmsprop", P, X0, 1.0, lrs, warm_start=True, c=5.0, eps=1e-6)
    assert abs(warm.fit.order - 1) < 0.05
    cold = ode_tracking_study("rmsprop", P, X0, 1.0, lrs, warm_start=False, c=5.0, eps=1e-6)
    assert abs(cold.fit.order - 0.5) < 0.1      # the zero start costs half an order
    adam = ode_tracking_study("adam", P, X0, 1.0, lrs, a=5.0, b=0.5)
    assert abs(adam.fit.order - 1) < 0.05


def test_continuous_limit_names_and_bad_input():
    P = ellipse()
    m, dt = continuous_limit("adagrad", P, lr=0.1)
    assert dt == pytest.approx(0.01) and m.state_dim == 4
    with pytest.raises(ValueError, match="`name`"):
        continuous_limit("lion", P, lr=0.1)
    with pytest.raises(ValueError, match="`c`"):
        RMSPropODE(P, c=0.0)
    with pytest.raises(ValueError, match="`form`"):
        momentum_from_ode(0.1, 1.0, form="adam")


def test_temperature_limits():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(200, 3)) * [1.0, 0.7, 0.4]
    b = A @ [1.0, -1.0, 0.5] + 0.3 * rng.normal(size=200)
    P = least_squares(A, b)
    Sigma = P.gradient_noise_covariance(P.center)
    # SDE stationary excess loss η tr(Σ)/(4B); the discrete one tends to it as η → 0
    sde = ou_excess_loss(P.hessian_matrix, Sigma, np.zeros(3), [(400, 0.01, 4)], 200)[-1]
    assert sde == pytest.approx(0.01 * np.trace(Sigma) / 16, rel=1e-6)
    d_small = discrete_stationary_excess_loss(P.hessian_matrix, Sigma, 1e-4, 4)
    assert d_small == pytest.approx(1e-4 * np.trace(Sigma) / 16, rel=1e-3)


def test_sgd_ensemble_stationary_loss_matches_discrete_lyapunov():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(100, 2)) * [1.0, 0.5]
    b = A @ [1.0, -1.0] + 0.5 * rng.normal(size=100)
    P = least_squares(A, b)
    lr, B = 0.05, 5
    res = sgd_least_squares_ensemble(A, b, P.center, [(60, lr, B)], n_paths=400, rng=11)
    # average the last 40 epochs (correlated in time: use the per-epoch SE as a scale)
    tail = res.excess_mean[-40:].mean()
    pred = discrete_stationary_excess_loss(P.hessian_matrix, P.gradient_noise_covariance(P.center), lr, B)
    # multiplicative noise near θ* adds O(excess) to Σ: a few per cent; 5 SE of one epoch
    assert abs(tail - pred) < 5 * res.excess_se[-1] + 0.05 * pred
    with pytest.raises(ValueError, match="`batch_size`"):
        sgd_least_squares_ensemble(A, b, P.center, [(1, lr, 3)], n_paths=2, rng=0)
    with pytest.raises(ValueError, match="`sampling`"):
        sgd_least_squares_ensemble(A, b, P.center, [(1, lr, 5)], n_paths=2, rng=0, sampling="x")
    with pytest.raises(TypeError, match="^`rng` must be an int, a numpy SeedSequence or a Generator; got str$"):
        sgd_least_squares_ensemble(A, b, P.center, [(1, lr, 5)], n_paths=2, rng="x")


def test_sgd_ensemble_phases_chain_into_full_batch_gd():
    # B = N without replacement is full-batch GD: every path follows θ ← θ − η H(θ − θ*) and
    # the phases (each its own simulate run) must continue from each other's final states
    rng = np.random.default_rng(3)
    A = rng.normal(size=(20, 2))
    b = rng.normal(size=20)
    P = least_squares(A, b)
    schedule = [(3, 0.2, 20), (2, 0.05, 20)]
    res = sgd_least_squares_ensemble(A, b, P.center + 1.0, schedule, n_paths=3, rng=0,
                                     sampling="without-replacement")
    z = np.ones(2)
    expected = [0.5 * z @ P.hessian_matrix @ z]
    for n_epochs, lr, _ in schedule:
        for _ in range(n_epochs):
            z = z - lr * P.hessian_matrix @ z
            expected.append(0.5 * z @ P.hessian_matrix @ z)
    assert np.allclose(res.excess_mean, expected, rtol=1e-10)
    assert np.all(res.excess_se <= 1e-12 * res.excess_mean)
    assert res.steps == 5 and np.array_equal(res.lr, [0.2] * 3 + [0.05] * 2) and np.array_equal(res.batch, [20] * 5)


def test_sgd_ensemble_is_reproducible_and_phases_draw_different_streams():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(30, 2))
    b = rng.normal(size=30)
    sched = [(2, 0.1, 5), (2, 0.1, 5)]
    r1, r2 = (sgd_least_squares_ensemble(A, b, np.zeros(2), sched, n_paths=50, rng=7) for _ in range(2))
    assert np.array_equal(r1.excess_mean, r2.excess_mean)
    r3 = sgd_least_squares_ensemble(A, b, np.zeros(2), sched, n_paths=50, rng=np.random.SeedSequence(7))
    assert np.array_equal(r1.excess_mean, r3.excess_mean)
    assert not np.array_equal(r1.excess_mean, sgd_least_squares_ensemble(A, b, np.zeros(2), sched, 50, rng=8).excess_mean)


def test_least_squares_batch_grads_equal_the_per_example_gradients():
    # the fast per-path minibatch gradient of least squares against the generic fallback
    from dynopt.problems import finite_sum

    rng = np.random.default_rng(6)
    A = rng.normal(size=(15, 3))
    b = rng.normal(size=15)
    P = least_squares(A, b)
    generic = finite_sum(P.example_grad_fn, 15, 3)
    x = rng.normal(size=(8, 3))
    idx = rng.integers(0, 15, size=(8, 4))
    fast = P.batch_grads(x, idx)
    assert np.allclose(fast, generic.batch_grads(x, idx), rtol=1e-13, atol=1e-14)
    assert np.allclose(fast[2], P.minibatch_grad(x[2], idx[2]), rtol=1e-13, atol=1e-14)


def test_continuous_limit_of_each_optimizer():
    from dynopt.dynamics import AdagradODE, AdamODE, GradientFlow, HeavyBall, RMSPropODE
    from dynopt.problems import ellipse
    from dynopt.schemes import continuous_limit, momentum_from_ode

    P, lr = ellipse(), 0.04
    m, dt = continuous_limit("sgd", P, lr=lr)
    assert isinstance(m, GradientFlow) and m.problem is P and dt == lr
    m, dt = continuous_limit("momentum", P, lr=lr, momentum=0.8)
    assert isinstance(m, HeavyBall) and m.problem is P
    # the heavy-ball limit is the exact inverse of the leapfrog map (α, β) = (lr, μ)
    np.testing.assert_allclose(momentum_from_ode(dt, m.friction, "heavy-ball"), (lr, 0.8), rtol=1e-12)
    m, dt = continuous_limit("nesterov", P, lr=lr, momentum=0.8)
    assert isinstance(m, HeavyBall) and m.problem is P
    assert dt == pytest.approx(0.2, rel=1e-15) and m.friction == pytest.approx(0.2 / 0.2, rel=1e-15)
    np.testing.assert_allclose(momentum_from_ode(dt, m.friction, "nesterov"), (lr, 0.8), rtol=1e-12)
    m, dt = continuous_limit("adagrad", P, lr=lr, eps=1e-4)
    assert isinstance(m, AdagradODE) and dt == pytest.approx(lr ** 2) and m.eps == pytest.approx(1e-4 * lr ** 2)
    assert continuous_limit("adagrad", P, lr=lr)[0].eps == pytest.approx(1e-8 * lr ** 2)
    m, dt = continuous_limit("rmsprop", P, lr=lr, decay=0.9)
    assert isinstance(m, RMSPropODE) and dt == lr
    assert (m.c, m.eps, m.eps_inside) == (pytest.approx(0.1 / lr), 1e-8, True)
    m, _ = continuous_limit("rmsprop", P, lr=lr, decay=0.9, eps=1e-3, eps_inside=False)
    assert (m.eps, m.eps_inside) == (1e-3, False)
    m, dt = continuous_limit("adam", P, lr=lr)
    assert isinstance(m, AdamODE) and dt == lr
    assert (m.a, m.b) == (pytest.approx(0.1 / lr), pytest.approx(0.001 / lr))
    assert (m.eps, m.bias_correction, m.eps_inside) == (1e-8, True, False)
    m, _ = continuous_limit("adam", P, lr=lr, b1=0.5, b2=0.75, eps=1e-3, bias_correction=False, eps_inside=True)
    assert (m.a, m.b) == (pytest.approx(0.5 / lr), pytest.approx(0.25 / lr))
    assert (m.eps, m.bias_correction, m.eps_inside) == (1e-3, False, True)
    with pytest.raises(ValueError, match="^`lr` must be in"):
        continuous_limit("sgd", P, lr=0.0)


_ELLIPSE_H = np.diag([0.2, 4.0])


def _linear_flow(M, y0, t_end, n_points):
    """exp(Mt)·y0 at n_points equally spaced t in [0, t_end] (the exact flow of y' = My), by
    repeated products with exp(MΔt)."""
    from scipy.linalg import expm
    E = expm(M * (t_end / (n_points - 1)))
    out = [np.asarray(y0, float)]
    for _ in range(n_points - 1):
        out.append(E @ out[-1])
    return np.array(out)


def test_paths_with_flows_iterates_and_flows_against_hand_loops_and_closed_forms():
    """``paths_with_flows`` on the ellipse (L = ½xᵀdiag(0.2, 4)x): SGD's, heavy ball's (Sutskever
    form: v ← μv − η∇L(x), x ← x + v) and look-ahead Nesterov's (gradient at x + μv) iterates equal
    hand loops; their flows are the exact linear flows at t = 0 … nγ (γ = η for SGD, the eq 15
    inverse for heavy ball, √η with λ = (1 − μ)/√η for Nesterov); RMSProp's iterates are d2l's
    (eps inside the root: s ← ρs + (1 − ρ)g², x ← x − ηg/√(s + eps)) and its flow the RMSProp ODE
    θ' = −g/√(s + eps), s' = c(g² − s), c = (1 − ρ)/η, from s = 0, solved here by Radau at
    rtol 1e-10.  The default is 200 flow points at rtol 1e-8 (error ≲ 1e-6 here)."""
    from scipy.integrate import solve_ivp

    from dynopt.analysis import paths_with_flows

    x0, n = np.array([-5.0, -2.0]), 30
    hps = {"sgd": dict(lr=0.2), "momentum": dict(lr=0.05, momentum=0.8),
           "nesterov": dict(lr=0.05, momentum=0.8), "rmsprop": dict(lr=0.1, decay=0.9, eps=1e-6)}
    out = paths_with_flows(ellipse(), x0, n, hps)
    assert list(out) == list(hps)
    H = _ELLIPSE_H

    def loop(update):
        x, v, s, path = x0.copy(), np.zeros(2), np.zeros(2), [x0.copy()]
        for _ in range(n):
            x, v, s = update(x, v, s)
            path.append(x.copy())
        return np.array(path)

    mu = 0.8
    want = {
        "sgd": loop(lambda x, v, s: (x - 0.2 * (H @ x), v, s)),
        "momentum": loop(lambda x, v, s: (x + (mu * v - 0.05 * (H @ x)), mu * v - 0.05 * (H @ x), s)),
        "nesterov": loop(lambda x, v, s: (x + (mu * v - 0.05 * (H @ (x + mu * v))),
                                          mu * v - 0.05 * (H @ (x + mu * v)), s)),
    }

    def rms(x, v, s):
        g = H @ x
        s = 0.9 * s + 0.1 * g * g
        return x - 0.1 * g / np.sqrt(s + 1e-6), v, s
    want["rmsprop"] = loop(rms)
    for name, (path, flow, div) in out.items():
        assert div is None and path.shape == (n + 1, 2) and flow.shape == (200, 2), name
        np.testing.assert_allclose(path, want[name], rtol=1e-12, atol=1e-13, err_msg=name)

    gamma_hb, lam_hb = heavy_ball_ode_parameters(0.05, mu)
    gamma_n, lam_n = np.sqrt(0.05), (1 - mu) / np.sqrt(0.05)
    Z, I2 = np.zeros((2, 2)), np.eye(2)
    y0 = np.concatenate([x0, [0.0, 0.0]])
    flows = {"sgd": _linear_flow(-H, x0, n * 0.2, 200),
             "momentum": _linear_flow(np.block([[Z, I2], [-H, -lam_hb * I2]]), y0, n * gamma_hb, 200)[:, :2],
             "nesterov": _linear_flow(np.block([[Z, I2], [-H, -lam_n * I2]]), y0, n * gamma_n, 200)[:, :2]}

    def rms_ode(t, y):
        q, s = y[:2], np.maximum(y[2:], 0.0)
        g = H @ q
        return np.concatenate([-g / np.sqrt(s + 1e-6), 1.0 * (g * g - s)])
    ts = np.linspace(0, n * 0.1, 200)
    sol = solve_ivp(rms_ode, (0, ts[-1]), y0, method="Radau", t_eval=ts, rtol=1e-10, atol=1e-12)
    flows["rmsprop"] = sol.y[:2].T
    for name, f in flows.items():
        np.testing.assert_allclose(out[name][1], f, rtol=1e-5, atol=2e-6, err_msg=name)


def test_paths_with_flows_arguments_reach_the_reference_solver(monkeypatch):
    """The flow is ``solve_ivp_reference`` by LSODA at ``rtol`` (default 1e-8) on
    ``n_flow_points`` (default 200) equally spaced times from 0 to the last iterate's time; given
    explicitly they are passed on; a path that diverges at step k has k iterates and its flow ends
    at (k − 1)η, the last finite iterate."""
    from scipy.linalg import expm

    import dynopt.analysis.tracking as tracking

    calls = []
    real = tracking.solve_ivp_reference

    def spy(model, y0, ts, **kw):
        calls.append((np.array(ts), kw))
        return real(model, y0, ts, **kw)
    monkeypatch.setattr(tracking, "solve_ivp_reference", spy)
    x0 = np.array([-5.0, -2.0])
    out = tracking.paths_with_flows(ellipse(), x0, 12, {"sgd": dict(lr=0.2)})
    (ts, kw), = calls
    assert kw == {"rtol": 1e-8, "method": "LSODA"}
    np.testing.assert_allclose(ts, np.linspace(0.0, 12 * 0.2, 200), rtol=1e-15, atol=0)
    calls.clear()
    out = tracking.paths_with_flows(ellipse(), x0, 150, {"sgd": dict(lr=0.6)}, n_flow_points=7, rtol=1e-10)
    (ts, kw), = calls
    assert kw == {"rtol": 1e-10, "method": "LSODA"}
    path, flow, k = out["sgd"]
    # |1 − 0.6·4| = 1.4 > 1: the stiff coordinate grows until the blow-up rule stops the run
    assert k is not None and 2 < k < 150 and path.shape == (k, 2) and flow.shape == (7, 2)
    x = x0.copy()
    for _ in range(k - 1):
        x = x - 0.6 * (_ELLIPSE_H @ x)
    np.testing.assert_allclose(path[-1], x, rtol=1e-12)
    np.testing.assert_allclose(ts, np.linspace(0.0, (k - 1) * 0.6, 7), rtol=1e-15, atol=0)
    np.testing.assert_allclose(flow[-1], expm(-_ELLIPSE_H * (k - 1) * 0.6) @ x0, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("lr,momentum,g,tol", [(0.01, 0.9, 2.0, 1e-12), (0.3, 0.5, -1.5, 1e-6), (1.0, 0.99, 0.25, 0.5)])
def test_heavy_ball_velocity_run_is_the_hand_recursion(lr, momentum, g, tol):
    """|v_N| of v ← γv + ηg from 0 with N the first step count with γ^N ≤ tol."""
    from dynopt.analysis import heavy_ball_velocity_run
    N = 0
    while momentum ** N > tol:
        N += 1
    v = 0.0
    for _ in range(N):
        v = momentum * v + lr * g
    got, n = heavy_ball_velocity_run(lr, momentum, g, tol)
    assert n == N
    assert got == pytest.approx(abs(v), rel=1e-12)
    if tol == 1e-12:
        assert heavy_ball_velocity_run(lr, momentum, g) == (got, n)


def test_heavy_ball_velocity_run_refusals():
    """momentum and tol must lie strictly inside (0, 1); the message names them."""
    from dynopt.analysis import heavy_ball_velocity_run
    for bad in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(ValueError, match=rf"`momentum` must lie in \(0, 1\); got {bad}"):
            heavy_ball_velocity_run(0.1, bad, 1.0)
    for bad in (0.0, 1.0, 1.5, -1e-3):
        with pytest.raises(ValueError, match=rf"`tol` must lie in \(0, 1\); got {bad}"):
            heavy_ball_velocity_run(0.1, 0.5, 1.0, tol=bad)


def test_velocity_limit_check_fields_and_evidence():
    """The check carries γ exactly, 1/(1 − γ), the measured factor of the hand recursion and the run's size."""
    import sympy as sp
    from dynopt.analysis import velocity_limit_check
    r = velocity_limit_check("0.8", lr=0.05, g=3.0)
    N = 0
    while 0.8 ** N > 1e-12:
        N += 1
    v = 0.0
    for _ in range(N):
        v = 0.8 * v + 0.05 * 3.0
    assert r.momentum == sp.Rational(4, 5) and r.derived_amplification == 5
    assert r.measured_amplification == pytest.approx(v / 0.15, rel=1e-12)
    assert (r.n_steps, r.lr, r.g, r.tolerance) == (N, 0.05, 3.0, 1e-9)
    from dynopt.symbolic.velocity import eta, gg, gm
    assert sp.simplify(r.derived_limit - eta * gg / (1 - gm)) == 0
    assert r.evidence == {"derived_limit": str(r.derived_limit), "derived_amplification": "5",
                          "n_steps": N, "lr": 0.05, "g": 3.0, "momentum": 0.8}
    d = velocity_limit_check("0.9")
    assert (d.lr, d.g, d.tolerance, d.derived_amplification) == (0.01, 2.0, 1e-9, 10)
    # the run stops at γ^N ≤ 1e-12, so it is off by γ^N relative: a tighter tolerance is an error
    with pytest.raises(RuntimeError, match=r"dynopt heavy-ball run \(.*\) disagrees with the derived limit 5"):
        velocity_limit_check("0.8", lr=0.05, g=3.0, tolerance=1e-15)


def _hand_ode_theta_T(name, P, x0, T, c=None, a=None, b=None, eps=1e-8, eps_inside=True, s0=None):
    """θ(T) of the RMSProp or Adam ODE, written out here and solved with scipy."""
    from scipy.integrate import solve_ivp
    d = x0.size
    g = lambda q: P.grad(q[None])[0]  # noqa: E731
    if name == "rmsprop":
        def f(t, y):
            q, s = y[:d], np.maximum(y[d:], 0.0)
            gq = g(q)
            den = np.sqrt(s + eps) if eps_inside else np.sqrt(s) + eps
            return np.concatenate([-gq / den, c * (gq * gq - s)])
        y0 = np.concatenate([x0, s0])
    else:
        def f(t, y):
            q, m, v = y[:d], y[d:2 * d], np.maximum(y[2 * d:], 0.0)
            gq = g(q)
            mh, vh = (m / -np.expm1(-a * t), v / -np.expm1(-b * t)) if t > 0 else (gq, gq * gq)
            return np.concatenate([-mh / (np.sqrt(vh) + eps), a * (gq - m), b * (gq * gq - v)])
        y0 = np.concatenate([x0, np.zeros(2 * d)])
    return solve_ivp(f, (0.0, T), y0, method="DOP853", rtol=1e-12, atol=1e-14).y[:d, -1]


def _hand_rmsprop(P, x0, lr, rho, eps, n, inside, s0):
    x, s = x0.copy(), s0.copy()
    for _ in range(n):
        gq = P.grad(x[None])[0]
        s = rho * s + (1 - rho) * gq * gq
        x = x - lr * gq / (np.sqrt(s + eps) if inside else np.sqrt(s) + eps)
    return x


def _hand_adam(P, x0, lr, b1, b2, eps, n):
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    for k in range(1, n + 1):
        gq = P.grad(x[None])[0]
        m, v = b1 * m + (1 - b1) * gq, b2 * v + (1 - b2) * gq * gq
        x = x - lr * (m / (1 - b1 ** k)) / (np.sqrt(v / (1 - b2 ** k)) + eps)
    return x


@pytest.mark.parametrize("warm,inside", [(True, True), (False, True), (True, False)])
def test_ode_tracking_study_rmsprop_against_hand_loops(warm, inside):
    """RMSProp: θ(T) of the ODE solved here, iterates of a hand loop (ρ = 1 − cη), max-norm errors, their fit."""
    from dynopt.analysis import fit_order
    P = ellipse()
    x0, T, c, eps = np.array([-1.0, 0.5]), 0.4, 5.0, 1e-4
    lrs = [0.1, 0.05, 0.025]
    s0 = P.grad(x0[None])[0] ** 2 if warm else np.zeros(2)
    r = ode_tracking_study("rmsprop", P, x0, T, lrs, warm_start=warm, c=c, eps=eps, eps_inside=inside)
    th = _hand_ode_theta_T("rmsprop", P, x0, T, c=c, eps=eps, eps_inside=inside, s0=s0)
    np.testing.assert_allclose(r.theta_T, th, atol=1e-8)
    errs = [np.abs(_hand_rmsprop(P, x0, lr, 1 - c * lr, eps, round(T / lr), inside, s0) - r.theta_T).max()
            for lr in lrs]
    np.testing.assert_allclose(r.errors, errs, rtol=1e-9)
    assert r.fit.order == pytest.approx(fit_order(lrs, errs).order, rel=1e-12)
    np.testing.assert_array_equal(r.lrs, lrs)


def test_ode_tracking_study_adam_and_defaults():
    """Adam: θ(T) of Barakat–Bianchi's ODE solved here and a hand Adam loop (β1 = 1 − aη, β2 = 1 − bη);
    eps defaults to 1e-8 and RMSProp's eps_inside to True."""
    P = ellipse()
    x0, T, a, b = np.array([-1.0, 0.5]), 0.4, 5.0, 0.5
    lrs = [0.1, 0.05, 0.025]
    r = ode_tracking_study("adam", P, x0, T, lrs, a=a, b=b)
    np.testing.assert_allclose(r.theta_T, _hand_ode_theta_T("adam", P, x0, T, a=a, b=b), atol=1e-8)
    errs = [np.abs(_hand_adam(P, x0, lr, 1 - a * lr, 1 - b * lr, 1e-8, round(T / lr)) - r.theta_T).max() for lr in lrs]
    np.testing.assert_allclose(r.errors, errs, rtol=1e-9)
    e = ode_tracking_study("adam", P, x0, T, lrs, a=a, b=b, eps=1e-8)
    np.testing.assert_array_equal(e.errors, r.errors)
    d = ode_tracking_study("rmsprop", P, x0, T, lrs, c=5.0)
    f = ode_tracking_study("rmsprop", P, x0, T, lrs, warm_start=False, c=5.0, eps=1e-8, eps_inside=True)
    np.testing.assert_array_equal(d.errors, f.errors)
    np.testing.assert_array_equal(d.theta_T, f.theta_T)


def test_ode_tracking_study_adam_reads_eps():
    """Adam's eps reaches both the ODE (θ(T) solved here) and the optimizer (a hand loop)."""
    P = ellipse()
    x0, T, a, b, eps = np.array([-1.0, 0.5]), 0.4, 5.0, 0.5, 0.3
    lrs = [0.1, 0.05, 0.025]
    r = ode_tracking_study("adam", P, x0, T, lrs, a=a, b=b, eps=eps)
    th = _hand_ode_theta_T("adam", P, x0, T, a=a, b=b, eps=eps)
    np.testing.assert_allclose(r.theta_T, th, atol=1e-8)
    assert np.abs(th - _hand_ode_theta_T("adam", P, x0, T, a=a, b=b)).max() > 1e-3
    errs = [np.abs(_hand_adam(P, x0, lr, 1 - a * lr, 1 - b * lr, eps, round(T / lr)) - r.theta_T).max() for lr in lrs]
    np.testing.assert_allclose(r.errors, errs, rtol=1e-9)


def test_paths_with_flows_adam_flow_keeps_eps_outside():
    """paths_with_flows asks eps inside the root of RMSProp's ODE only: Adam's flow is its ODE with
    eps outside (θ(T) solved here), distinct from the eps-inside flow at a large eps."""
    from dynopt.analysis import paths_with_flows
    P = ellipse()
    x0, n, lr, eps = np.array([-1.0, 0.5]), 8, 0.05, 0.3
    out = paths_with_flows(P, x0, n, {"adam": dict(lr=lr, eps=eps)}, n_flow_points=5, rtol=1e-10)
    path, flow, div = out["adam"]
    a, b = (1 - 0.9) / lr, (1 - 0.999) / lr
    want = _hand_ode_theta_T("adam", P, x0, n * lr, a=a, b=b, eps=eps)
    np.testing.assert_allclose(flow[-1], want, atol=1e-6)
    np.testing.assert_allclose(path[-1], _hand_adam(P, x0, lr, 0.9, 0.999, eps, n), rtol=1e-12)


def test_ode_tracking_study_refusals():
    """An unknown optimizer and a step that does not divide T are refused by name."""
    P = ellipse()
    with pytest.raises(ValueError, match=r"`name` must be one of \['adam', 'rmsprop'\]; got 'sgd'"):
        ode_tracking_study("sgd", P, X0, 1.0, [0.1, 0.05, 0.025])
    with pytest.raises(ValueError, match=r"`lrs` must divide `T`; 0.3 does not divide 1.0"):
        ode_tracking_study("rmsprop", P, X0, 1.0, [0.1, 0.3, 0.025], c=5.0)


def test_continuous_limit_every_optimizer_by_formula():
    """Model, its parameters and the time per step for each optimizer, from the maps written out here
    (eq 15: x = (1 − μ)/(1 + μ), γ = √(η(1 + x)), λ = 2x/γ; eq 18: γ = √η, λ = (1 − μ)/√η)."""
    from dynopt.dynamics import AdagradODE, AdamODE
    P = ellipse()
    m, dt = continuous_limit("sgd", P, lr=0.3)
    assert type(m) is GradientFlow and m.problem is P and dt == 0.3
    m, dt = continuous_limit("momentum", P, lr=0.05, momentum=0.8)
    x = 0.2 / 1.8
    g = np.sqrt(0.05 * (1 + x))
    assert type(m) is HeavyBall and dt == pytest.approx(g, rel=1e-15) and m.friction == pytest.approx(2 * x / g, rel=1e-14)
    m, dt = continuous_limit("nesterov", P, lr=0.04, momentum=0.9)
    assert type(m) is HeavyBall and dt == pytest.approx(0.2, rel=1e-15) and m.friction == pytest.approx(0.5, rel=1e-14)
    m, dt = continuous_limit("adagrad", P, lr=0.1)
    assert type(m) is AdagradODE and dt == pytest.approx(0.01, rel=1e-15) and m.eps == pytest.approx(1e-10, rel=1e-14)
    m, _ = continuous_limit("adagrad", P, lr=0.1, eps=1e-6)
    assert m.eps == pytest.approx(1e-8, rel=1e-14)
    m, dt = continuous_limit("rmsprop", P, lr=0.1, decay=0.9)
    assert type(m) is RMSPropODE and dt == 0.1
    assert (m.c, m.eps, m.eps_inside) == (pytest.approx(1.0, rel=1e-14), 1e-8, True)
    m, _ = continuous_limit("rmsprop", P, lr=0.1, decay=0.5, eps=1e-3, eps_inside=False)
    assert (m.c, m.eps, m.eps_inside) == (pytest.approx(5.0, rel=1e-14), 1e-3, False)
    m, dt = continuous_limit("adam", P, lr=0.01)
    assert type(m) is AdamODE and dt == 0.01
    assert (m.a, m.b, m.eps, m.bias_correction, m.eps_inside) == (
        pytest.approx(10.0, rel=1e-12), pytest.approx(0.1, rel=1e-9), 1e-8, True, False)
    m, _ = continuous_limit("adam", P, lr=0.01, b1=0.8, b2=0.99, eps=1e-4, bias_correction=False, eps_inside=True)
    assert (m.a, m.b, m.eps, m.bias_correction, m.eps_inside) == (
        pytest.approx(20.0, rel=1e-12), pytest.approx(1.0, rel=1e-12), 1e-4, False, True)
    with pytest.raises(ValueError, match=r"`name` must be one of \['adagrad', 'adam', 'momentum', 'nesterov', "
                                         r"'rmsprop', 'sgd'\]; got 'lion'"):
        continuous_limit("lion", P, lr=0.1)
    with pytest.raises(ValueError, match=r"`lr` must be in \(0.0, inf\); got 0.0"):
        continuous_limit("sgd", P, lr=0.0)


def test_sgd_ensemble_skips_empty_phases_and_reports_its_schedule():
    """A phase of 0 epochs is skipped; epochs, per-epoch lr and batch, step count and n_paths are the run's;
    full-batch without replacement is GD, so the spread is 0."""
    rng = np.random.default_rng(9)
    A = rng.normal(size=(12, 2))
    b = rng.normal(size=12)
    P = least_squares(A, b)
    res = sgd_least_squares_ensemble(A, b, P.center + [1.0, -2.0], [(0, 0.5, 12), (2, 0.1, 12), (1, 0.3, 12)],
                                     n_paths=2, rng=0, sampling="without-replacement")
    z = np.array([1.0, -2.0])
    want = [0.5 * z @ P.hessian_matrix @ z]
    for lr in (0.1, 0.1, 0.3):
        z = z - lr * P.hessian_matrix @ z
        want.append(0.5 * z @ P.hessian_matrix @ z)
    np.testing.assert_allclose(res.excess_mean, want, rtol=1e-12)
    np.testing.assert_array_equal(res.epochs, [0, 1, 2, 3])
    np.testing.assert_array_equal(res.lr, [0.1, 0.1, 0.3])
    np.testing.assert_array_equal(res.batch, [12, 12, 12])
    assert res.steps == 3 and res.n_paths == 2 and np.all(res.excess_se <= 1e-12 * np.max(want))
    # B = 4 of N = 12: an epoch is 3 steps
    r4 = sgd_least_squares_ensemble(A, b, P.center, [(2, 0.1, 4)], n_paths=3, rng=1)
    assert r4.steps == 6 and r4.excess_mean[0] == 0.0 and np.all(r4.excess_mean[1:] > 0)
    assert np.all(r4.excess_se[1:] > 0)
    # the default sampling is with replacement
    d = sgd_least_squares_ensemble(A, b, P.center, [(2, 0.1, 4)], n_paths=3, rng=1, sampling="replacement")
    np.testing.assert_array_equal(d.excess_mean, r4.excess_mean)


def test_sgd_ensemble_refusals():
    """Bad sampling, path count, lr and batch sizes are refused by name with the allowed values."""
    rng = np.random.default_rng(9)
    A = rng.normal(size=(12, 2))
    b = rng.normal(size=12)
    c = least_squares(A, b).center
    with pytest.raises(ValueError, match=r"`sampling` must be one of \['replacement', 'without-replacement'\]; got 'x'"):
        sgd_least_squares_ensemble(A, b, c, [(1, 0.1, 4)], 2, 0, sampling="x")
    with pytest.raises(ValueError, match=r"`n_paths` must be a positive integer; got 0"):
        sgd_least_squares_ensemble(A, b, c, [(1, 0.1, 4)], 0, 0)
    with pytest.raises(ValueError, match=r"`lr` must be in \(0.0, inf\); got 0.0"):
        sgd_least_squares_ensemble(A, b, c, [(1, 0.0, 4)], 2, 0)
    for B in (5, 0, 4.0, 24):
        with pytest.raises(ValueError, match=rf"`batch_size` must be a positive divisor of N=12; got {B!r}"):
            sgd_least_squares_ensemble(A, b, c, [(1, 0.1, B)], 2, 0)
    assert sgd_least_squares_ensemble(A, b, c, [(1, 0.1, 1)], 2, 0).steps == 12


def test_sgd_ensemble_standard_error_of_two_paths():
    """Two paths of one SGD step (N = B = 2, with replacement): the mean and SE are those of the two
    outcomes among the four enumerated minibatches, SE = |x₁ − x₂|/2 (ddof = 1)."""
    import itertools
    A = np.array([[1.0, 0.5], [-0.3, 2.0]])
    b = np.array([1.0, -1.0])
    P = least_squares(A, b)
    th0, lr = P.center + np.array([0.8, -0.6]), 0.2
    G = P.example_grads(th0)
    outcomes = []
    for idx in itertools.product(range(2), repeat=2):
        z = th0 - lr * G[list(idx)].mean(0) - P.center
        outcomes.append(0.5 * z @ P.hessian_matrix @ z)
    for seed in range(20):
        res = sgd_least_squares_ensemble(A, b, th0, [(1, lr, 2)], n_paths=2, rng=seed)
        pairs = [(x, y) for x, y in itertools.combinations_with_replacement(outcomes, 2)
                 if abs((x + y) / 2 - res.excess_mean[1]) < 1e-12 and abs(x - y) > 1e-6]
        if pairs:
            break
    assert pairs, "no seed gave two different outcomes"
    x, y = pairs[0]
    assert res.excess_se[1] == pytest.approx(abs(x - y) / 2, rel=1e-10)
    assert res.excess_se[0] == 0.0


def test_ou_excess_loss_closed_form_in_the_eigenbasis():
    """Mean decays as e^{−ht}, covariance relaxes to T·Σ̃/(2h): the excess loss at every recorded point,
    points_per_epoch sub-steps, and a schedule of two phases, all from the formula written here."""
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    Sigma = np.array([[0.3, 0.1], [0.1, 0.2]])
    m0 = np.array([1.0, -2.0])
    N = 10
    sched = [(2, 0.1, 2), (1, 0.05, 5)]
    got = ou_excess_loss(H, Sigma, m0, sched, N, points_per_epoch=2)
    h, U = np.linalg.eigh(H)
    S = U.T @ Sigma @ U
    want, P, m = [0.5 * (U.T @ m0) @ (h * (U.T @ m0))], np.zeros((2, 2)), U.T @ m0
    for n_epochs, lr, B in sched:
        dt = lr * N / B / 2
        for _ in range(2 * n_epochs):
            m = np.exp(-h * dt) * m
            hs = h[:, None] + h[None, :]
            P = np.exp(-hs * dt) * P + (lr / B) * S * (1 - np.exp(-hs * dt)) / hs
            want.append(0.5 * m @ (h * m) + 0.5 * np.sum(h * np.diag(P)))
    assert got.shape == (7,)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    one = ou_excess_loss(H, Sigma, m0, sched, N)
    np.testing.assert_allclose(one, np.array(want)[[0, 2, 4, 6]], rtol=1e-12)
    # long run: ½ tr(H P∞) = (η/B) tr(Σ)/4
    far = ou_excess_loss(H, Sigma, m0, [(400, 0.1, 2)], N)[-1]
    assert far == pytest.approx(0.05 * np.trace(Sigma) / 4, rel=1e-10)


def test_discrete_stationary_excess_loss_solves_the_discrete_lyapunov_equation():
    """½ tr(HP) with P = (I − ηH)P(I − ηH) + η²Σ/B, checked against a fixed-point iteration done here."""
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    Sigma = np.array([[0.3, 0.1], [0.1, 0.2]])
    lr, B = 0.2, 3
    M = np.eye(2) - lr * H
    P = np.zeros((2, 2))
    for _ in range(2000):
        P = M @ P @ M + lr * lr * Sigma / B
    assert discrete_stationary_excess_loss(H, Sigma, lr, B) == pytest.approx(0.5 * np.trace(H @ P), rel=1e-12)


def test_sgd_ensemble_runs_without_a_progress_bar(monkeypatch):
    """Every phase of sgd_least_squares_ensemble is simulated with progress=False and one saved
    state per epoch (save_every = N // B steps)."""
    import dynopt.analysis.sgd as sgd_mod

    calls = []
    real = sgd_mod.simulate

    def spy(*args, **kw):
        calls.append(kw["options"])
        return real(*args, **kw)

    monkeypatch.setattr(sgd_mod, "simulate", spy)
    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(12, 2)), rng.normal(size=12)
    sgd_least_squares_ensemble(A, b, np.zeros(2), [(2, 0.05, 4), (1, 0.02, 3)], n_paths=3, rng=0)
    assert [(o.progress, o.save_every) for o in calls] == [(False, 3), (False, 4)]


def test_discrete_stationary_excess_loss_accepts_integer_and_fraction_matrices():
    """H and Σ given as integers or Fractions are read as floats: for diagonal H, Σ the value is
    ½ Σ_i h_i η²Σ_ii/B / (1 − (1 − ηh_i)²) (one scalar Lyapunov equation per axis)."""
    from fractions import Fraction

    h, s, lr, B = np.array([2.0, 1.0]), np.array([3.0, 1.0]), 0.1, 2
    exact = 0.5 * np.sum(h * lr * lr * s / B / (1 - (1 - lr * h) ** 2))
    H_int, S_int = [[2, 0], [0, 1]], [[3, 0], [0, 1]]
    H_frac = [[Fraction(2), Fraction(0)], [Fraction(0), Fraction(1)]]
    S_frac = [[Fraction(3), Fraction(0)], [Fraction(0), Fraction(1)]]
    for H, S in [(H_int, S_int), (H_frac, S_frac)]:
        assert discrete_stationary_excess_loss(H, S, lr, B) == pytest.approx(exact, rel=1e-12)


def test_sgd_ensemble_accepts_numpy_integers_and_integral_epoch_counts():
    """A numpy-integer batch size, a float epoch count 2.0 and an integer start give the same run
    as the plain ints and floats (batch and step counts reported as ints)."""
    rng = np.random.default_rng(9)
    A = rng.normal(size=(12, 2))
    b = rng.normal(size=12)
    ref = sgd_least_squares_ensemble(A, b, [1.0, 0.0], [(2, 0.1, 4)], n_paths=3, rng=1)
    alt = sgd_least_squares_ensemble(A, b, [1, 0], [(2.0, 0.1, np.int64(4))], n_paths=np.int64(3), rng=1)
    np.testing.assert_array_equal(alt.excess_mean, ref.excess_mean)
    np.testing.assert_array_equal(alt.excess_se, ref.excess_se)
    assert alt.batch.tolist() == [4, 4] and alt.steps == 6 and type(alt.n_paths) is int and alt.n_paths == 3


def test_ou_excess_loss_reads_integers_fractions_and_integral_epoch_counts():
    """H, Σ and θ₀ − θ* given as ints or Fractions, and an epoch count 2.0, give the float run."""
    from fractions import Fraction

    ref = ou_excess_loss([[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 3.0]], [1.0, -2.0], [(2, 0.1, 2)], 10)
    ints = ou_excess_loss([[2, 0], [0, 1]], [[1, 0], [0, 3]], [1, -2], [(2.0, 0.1, 2)], 10)
    F = Fraction
    fracs = ou_excess_loss([[F(2), F(0)], [F(0), F(1)]], [[F(1), F(0)], [F(0), F(3)]], [F(1), F(-2)],
                           [(2, 0.1, 2)], 10)
    np.testing.assert_allclose(ints, ref, rtol=1e-14)
    np.testing.assert_allclose(fracs, ref, rtol=1e-14)
    assert fracs.dtype == np.float64 and ints.dtype == np.float64
    assert ref.shape == (3,) and ref[0] == pytest.approx(0.5 * (2 * 1 + 1 * 4), rel=1e-14)


def test_continuous_limit_refusal_messages_in_full():
    """An unknown optimizer name and a non-positive lr are refused with the allowed values spelt out."""
    from dynopt.schemes import continuous_limit
    P = ellipse()
    with pytest.raises(ValueError, match=r"^`name` must be one of \['adagrad', 'adam', 'momentum', 'nesterov', "
                                         r"'rmsprop', 'sgd'\]; got 'lion'$"):
        continuous_limit("lion", P, lr=0.1)
    with pytest.raises(ValueError, match=r"^`lr` must be in \(0\.0, inf\); got -1\.0$"):
        continuous_limit("adam", P, lr=-1.0)
