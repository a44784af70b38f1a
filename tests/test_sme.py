"""Exact moments of SGD and of its stochastic modified equations (dynopt.sme)."""
import itertools

import numpy as np
import pytest

from dynopt import problems
from dynopt.dynamics import SGDModifiedEquation
from dynopt.engine import simulate
from dynopt.analysis import affine_example_gradients, moment_generator, sgd_moment_map, sgd_moment_path, sgd_moments, sme_moment_path, sme_moments, sme_weak_errors


def _problem(N=6, d=2, seed=3):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(N, d)) @ np.diag([1.2, 0.8][:d])
    b = A @ np.ones(d) + rng.normal(size=N)
    return problems.least_squares(A, b)


def _point_z(x):
    return np.concatenate([[1.0], x, np.outer(x, x).ravel()])


def test_affine_example_gradients_recovers_least_squares():
    prob = _problem()
    A, c = affine_example_gradients(prob)
    x = np.array([0.3, -1.1])
    np.testing.assert_allclose(A @ x - c, prob.example_grads(x), atol=1e-12)
    np.testing.assert_allclose(A.mean(0), prob.hessian_matrix, atol=1e-12)


def test_affine_example_gradients_rejects_nonlinear():
    dw = problems.finite_sum(lambda p, idx: (p ** 3)[:, None, :] * np.ones((1, idx.size, 1)), 3, 1)
    with pytest.raises(ValueError, match="`problem`"):
        affine_example_gradients(dw)


@pytest.mark.parametrize("B,replace", [(1, True), (2, True), (3, False), (2, False)])
def test_sgd_map_is_exact_minibatch_average_at_a_point(B, replace):
    """P applied to a point mass at x = the average over every possible minibatch (enumerated)."""
    prob = _problem()
    N, lr = prob.n_examples, 0.2
    model = SGDModifiedEquation(prob, lr, B, replace=replace)
    P = sgd_moment_map(model)
    x = np.array([0.7, -0.4])
    G = prob.example_grads(x)
    batches = (itertools.product(range(N), repeat=B) if replace else itertools.combinations(range(N), B))
    zs = [_point_z(x - lr * G[list(idx)].mean(0)) for idx in batches]
    np.testing.assert_allclose(P @ _point_z(x), np.mean(zs, axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_generator_is_ito_formula_at_a_point(order):
    """G z(x) = (0, f(x), f xᵀ + x fᵀ + g gᵀ(x)): the generator on 1, θ, θθᵀ (Itô)."""
    prob = _problem()
    model = SGDModifiedEquation(prob, 0.1, 2, order=order, replace=False)
    G = moment_generator(model)
    x = np.array([[1.3, 0.2]])
    f = model.drift(0.0, x)[0]
    g = model.diffusion(0.0, x)[0]
    want = np.concatenate([[0.0], f, (np.outer(f, x[0]) + np.outer(x[0], f) + g @ g.T).ravel()])
    np.testing.assert_allclose(G @ _point_z(x[0]), want, rtol=1e-9, atol=1e-11)


def test_order2_drift_is_gradient_of_modified_loss():
    """−∇(L + (η/4)|∇L|²) = −(I + (η/2)H)∇L for a quadratic (Li, Tai & E 2017, order 2)."""
    prob = _problem()
    lr = 0.3
    model = SGDModifiedEquation(prob, lr, order=2)
    x = np.array([[0.5, 2.0]])
    H = prob.hessian_matrix
    gL = prob.grad(x)[0]
    np.testing.assert_allclose(model.drift(0.0, x)[0], -(gL + lr / 2 * H @ gL), atol=1e-12)


def test_sme_mean_closed_form_1d():
    """1-D: E θ(T) = θ* + (θ0 − θ*) exp(−(h + [order 2] η h²/2) T); SGD: (1 − ηh)^K."""
    prob = _problem(N=5, d=1)
    h, c = prob.hessian_matrix[0, 0], prob.center[0]
    lr, K, th0 = 0.05, 40, np.array([c + 2.0])
    T = lr * K
    for order, k in ((1, h), (2, h + lr * h * h / 2)):
        m = sme_moments(SGDModifiedEquation(prob, lr, order=order), th0, T).mean[0]
        assert m == pytest.approx(c + 2.0 * np.exp(-k * T), rel=1e-12)
    msgd = sgd_moments(SGDModifiedEquation(prob, lr), th0, K).mean[0]
    assert msgd == pytest.approx(c + 2.0 * (1 - lr * h) ** K, rel=1e-12)


def test_sgd_moments_match_monte_carlo():
    """Exact recursion vs dynopt's own SGD iterates (simulate 'sgd'), 5 standard errors."""
    prob = _problem()
    lr, K, n = 0.125, 12, 20000
    model = SGDModifiedEquation(prob, lr, 2, replace=False)
    th0 = prob.center + np.array([1.5, -1.0])
    ex = sgd_moments(model, th0, K)
    X = simulate(model, "sgd", (0, K * lr), th0, lr, n_paths=n, seed=11).y_final
    z_mean = (X.mean(0) - ex.mean) / (X.std(0, ddof=1) / np.sqrt(n))
    XX = np.einsum("ni,nj->nij", X, X)
    z_second = (XX.mean(0) - ex.second) / (XX.std(0, ddof=1) / np.sqrt(n))
    assert np.abs(z_mean).max() < 5 and np.abs(z_second).max() < 5
    assert np.all(np.diag(ex.cov) > 0)  # the noise is really there


def test_sme_moments_match_euler_maruyama():
    """Moment ODE vs Euler–Maruyama paths of the SME itself, 5 standard errors."""
    prob = _problem()
    lr, T, n = 0.25, 1.0, 5000
    model = SGDModifiedEquation(prob, lr, 1, order=2)
    th0 = prob.center + np.array([1.0, -1.0])
    ex = sme_moments(model, th0, T)
    # EM's weak bias ≈ dt·λ_max relative (1.3%) stays well under the covariance's SE (≈ 5%)
    X = simulate(model, "euler-maruyama", (0, T), th0, T / 256, n_paths=n, seed=12).y_final
    z = (X.mean(0) - ex.mean) / (X.std(0, ddof=1) / np.sqrt(n))
    # the SE of a sample covariance from the spread of the products: the multiplicative noise
    # makes the law heavy-tailed, so the Gaussian formula √((S_ii S_jj + S_ij²)/n) is too small
    Z = X - X.mean(0)
    prods = np.einsum("ni,nj->nij", Z, Z)
    zc = (np.cov(X.T) - ex.cov) / (prods.std(0, ddof=1) / np.sqrt(n))
    assert np.abs(z).max() < 5 and np.abs(zc).max() < 5


def test_weak_orders_one_and_two():
    prob = _problem()
    T = 1.0
    # ηλ_max ≤ 0.03: past the pre-asymptotic range where the η² terms rival the η terms
    r = sme_weak_errors(prob, [T / n for n in (128, 256, 512, 1024)], T, prob.center + np.array([2.0, -1.0]))
    for name in ("mean", "dist2", "excess_loss"):
        assert abs(r.fits[1][name].order - 1) < 0.15
        assert abs(r.fits[2][name].order - 2) < 0.15
        assert all(e2 < e1 for e1, e2 in zip(r.errors[1][name], r.errors[2][name]))
    # the noise-free control loses the noise-made O(η) part of E|θ − θ*|²
    assert abs(r.fits["ode2"]["trace_cov"].order - 1) < 0.15
    assert r.as_dict()["fitted_orders"]["order2"]["mean"]["order"] > 1.8


def test_bad_input():
    prob = _problem()
    with pytest.raises(ValueError, match="`lrs`"):
        sme_weak_errors(prob, [0.1, 0.05], 1.0, prob.center)
    with pytest.raises(ValueError, match="`lrs`"):
        sme_weak_errors(prob, [0.3, 0.2, 0.1], 1.0, prob.center)
    with pytest.raises(ValueError, match="`T`"):
        sme_weak_errors(prob, [0.1, 0.05, 0.025], -1.0, prob.center)
    with pytest.raises(ValueError, match="`observables`"):
        sme_weak_errors(prob, [0.1, 0.05, 0.025], 1.0, prob.center, observables=("nope",))
    with pytest.raises(ValueError, match="`theta0`"):
        sme_weak_errors(prob, [0.1, 0.05, 0.025], 1.0, [0.0])
    with pytest.raises(ValueError, match="`n_steps`"):
        sgd_moments(SGDModifiedEquation(prob, 0.1), prob.center, -1)
    with pytest.raises(TypeError, match="`model`"):
        sgd_moment_map(prob)


def test_paths_agree_with_single_time_moments():
    prob = _problem()
    model = SGDModifiedEquation(prob, 0.1, order=2)
    th0 = prob.center + 1.0
    path = sgd_moment_path(model, th0, 5)
    assert len(path) == 6
    np.testing.assert_allclose(path[5].second, sgd_moments(model, th0, 5).second, rtol=1e-12)
    np.testing.assert_allclose(path[0].cov, 0.0, atol=1e-12)
    sp = sme_moment_path(model, th0, [0.0, 0.3])
    np.testing.assert_allclose(sp[1].mean, sme_moments(model, th0, 0.3).mean, rtol=1e-12)
    with pytest.raises(ValueError, match="`times`"):
        sme_moment_path(model, th0, [-1.0])


def _observables_by_hand(mom, H, center):
    """E g for each observable, from mean and covariance (not from the raw second moment)."""
    m, C = mom.mean, mom.second - np.outer(mom.mean, mom.mean)
    dev = m - center
    return {"mean": m, "dist2": np.trace(C) + dev @ dev,
            "excess_loss": 0.5 * (np.trace(H @ C) + dev @ H @ dev), "trace_cov": np.trace(C)}


def test_sme_weak_errors_values_errors_and_dict():
    """Every stored E g, error, fit and the whole as_dict against moments and formulas done here."""
    from dynopt.analysis import fit_order
    prob = _problem()
    T, lrs, B = 1.0, [0.25, 0.125, 0.5], 2
    th0 = prob.center + np.array([2.0, -1.0])
    r = sme_weak_errors(prob, lrs, T, th0, batch_size=B, replace=False)
    H = prob.hessian_matrix
    center = prob.center
    steps = [0.5, 0.25, 0.125]
    assert r.lrs == steps and r.T == 1.0 and r.theta0 == th0.tolist()
    assert r.batch_size == 2 and r.replace is False
    assert r.observables == ["mean", "dist2", "excess_loss", "trace_cov"]
    want_err = {o: {k: [] for k in r.observables} for o in (1, 2, "ode2")}
    for i, lr in enumerate(steps):
        K = int(round(T / lr))
        sgd = _observables_by_hand(sgd_moments(SGDModifiedEquation(prob, lr, B, replace=False), th0, K), H, center)
        ode = SGDModifiedEquation(prob, lr, B, order=2, replace=False)
        ode.noise_scale = 0.0
        models = {1: SGDModifiedEquation(prob, lr, B, order=1, replace=False),
                  2: SGDModifiedEquation(prob, lr, B, order=2, replace=False), "ode2": ode}
        stores = {1: r.sme1, 2: r.sme2, "ode2": r.ode2}
        for k in r.observables:
            np.testing.assert_allclose(r.sgd[k][i], sgd[k], rtol=1e-10)
        for o, model in models.items():
            sme = _observables_by_hand(sme_moments(model, th0, T), H, center)
            for k in r.observables:
                np.testing.assert_allclose(stores[o][k][i], sme[k], rtol=1e-10)
                want_err[o][k].append(float(np.linalg.norm(np.atleast_1d(sgd[k]) - np.atleast_1d(sme[k]))))
    for o in (1, 2, "ode2"):
        for k in r.observables:
            np.testing.assert_allclose(r.errors[o][k], want_err[o][k], rtol=1e-8, atol=1e-14)
            assert r.fits[o][k].order == pytest.approx(fit_order(steps, want_err[o][k]).order, rel=1e-6)
    assert set(r.fits) == {1, 2, "ode2"}

    def fit(f):
        return {"order": round(f.order, 4), "ci": [round(f.ci[0], 4), round(f.ci[1], 4)]}
    names = {1: "order1", 2: "order2", "ode2": "ode2"}
    want = {"T": 1.0, "lrs": steps, "theta0": th0.tolist(), "batch_size": 2, "replace": False,
            "errors": {names[o]: {k: [float(f"{e:.6g}") for e in r.errors[o][k]] for k in r.observables}
                       for o in (1, 2, "ode2")},
            "fitted_orders": {names[o]: {k: fit(r.fits[o][k]) for k in r.observables} for o in (1, 2, "ode2")}}
    assert r.as_dict() == want


def test_sme_weak_errors_without_control_and_defaults():
    """control=False drops the noise-free control; the defaults are batch 1, with replacement, all observables."""
    prob = _problem()
    th0 = prob.center + 1.0
    lrs = [0.5, 0.25, 0.125]
    r = sme_weak_errors(prob, lrs, 1.0, th0, control=False, observables=("dist2",))
    assert r.ode2 is None and set(r.errors) == {1, 2} and set(r.fits) == {1, 2}
    assert r.observables == ["dist2"] and set(r.sgd) == {"dist2"}
    assert set(r.as_dict()["errors"]) == {"order1", "order2"}
    d = sme_weak_errors(prob, lrs, 1.0, th0)
    e = sme_weak_errors(prob, lrs, 1.0, th0, batch_size=1, replace=True,
                        observables=("mean", "dist2", "excess_loss", "trace_cov"), control=True)
    assert d.as_dict() == e.as_dict() and d.batch_size == 1 and d.replace is True
    assert d.errors["ode2"] == e.errors["ode2"]


def test_sme_weak_errors_messages():
    """The refusals name the argument and what is allowed."""
    prob = _problem()
    with pytest.raises(ValueError, match=r"`lrs` needs at least 3 learning rates to fit an order; got 2"):
        sme_weak_errors(prob, [0.1, 0.05], 1.0, prob.center)
    with pytest.raises(ValueError, match=r"`lrs` must divide `T`: T/η = 3.33333 is not an integer for η = 0.3"):
        sme_weak_errors(prob, [0.3, 0.2, 0.1], 1.0, prob.center)
    with pytest.raises(ValueError, match=r"`observables` entries must be in \['mean', 'dist2', 'excess_loss', 'trace_cov'\]; got 'nope'"):
        sme_weak_errors(prob, [0.1, 0.05, 0.025], 1.0, prob.center, observables=("nope",))
    with pytest.raises(ValueError, match=r"`theta0` must have shape \(2,\); got \(1,\)"):
        sme_weak_errors(prob, [0.1, 0.05, 0.025], 1.0, [0.0])


def _problem3(N=5, seed=8):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(N, 3)) @ np.diag([1.1, 0.9, 0.6])
    return problems.least_squares(A, A @ np.array([1.0, -0.5, 0.3]) + rng.normal(size=N))


@pytest.mark.parametrize("order,B,replace", [(1, 1, True), (2, 2, False), (2, 3, True)])
def test_generator_on_a_mixture_of_point_masses_in_3d(order, B, replace):
    """G is linear: on Σ w_p z(x_p) (any weights, z0 ≠ 1) it is Σ w_p × Itô's formula at x_p; in 3-D so
    every off-diagonal coefficient of g gᵀ is exercised."""
    prob = _problem3()
    model = SGDModifiedEquation(prob, 0.15, B, order=order, replace=replace)
    G = moment_generator(model)
    rng = np.random.default_rng(4)
    xs, ws = rng.normal(size=(4, 3)) * 1.5, np.array([0.7, -0.4, 1.3, 0.25])
    want = np.zeros(13)
    for x, w in zip(xs, ws):
        f = model.drift(0.0, x[None])[0]
        g = model.diffusion(0.0, x[None])[0]
        want += w * np.concatenate([[0.0], f, (np.outer(f, x) + np.outer(x, f) + g @ g.T).ravel()])
    z = sum(w * _point_z(x) for x, w in zip(xs, ws))
    np.testing.assert_allclose(G @ z, want, rtol=1e-9, atol=1e-10)
    assert G.shape == (13, 13) and np.all(G[0] == 0)


@pytest.mark.parametrize("B,replace", [(1, True), (2, False), (2, True)])
def test_sgd_map_on_a_mixture_of_point_masses_in_3d(B, replace):
    """P on Σ w_p z(x_p) is Σ w_p × the average over every minibatch of the SGD step from x_p (3-D)."""
    prob = _problem3()
    N, lr = prob.n_examples, 0.2
    P = sgd_moment_map(SGDModifiedEquation(prob, lr, B, replace=replace))
    rng = np.random.default_rng(6)
    xs, ws = rng.normal(size=(3, 3)), np.array([0.5, -1.2, 2.0])
    want = np.zeros(13)
    for x, w in zip(xs, ws):
        G = prob.example_grads(x)
        batches = (itertools.product(range(N), repeat=B) if replace else itertools.combinations(range(N), B))
        want += w * np.mean([_point_z(x - lr * G[list(idx)].mean(0)) for idx in batches], axis=0)
    z = sum(w * _point_z(x) for x, w in zip(xs, ws))
    np.testing.assert_allclose(P @ z, want, rtol=1e-11, atol=1e-12)


def test_moment_maps_refuse_non_affine_models():
    """A finite sum with non-affine gradients is refused by name, for the SME generator and the SGD map."""
    cubic = problems.finite_sum(lambda p, idx: (p ** 3)[:, None, :] * np.ones((1, idx.size, 1)), 3, 1)
    model = SGDModifiedEquation(cubic, 0.1)
    with pytest.raises(ValueError, match=r"^`model` must have an affine drift and a diffusion with g gᵀ quadratic "
                                         r"in θ \(least squares\) for closed moment equations$"):
        moment_generator(model)
    with pytest.raises(ValueError, match=r"^`problem` must have per-example gradients affine in θ \(e.g. least_squares\) "
                                         r"for exact moments; use Monte Carlo \(dynopt.engine.simulate\) otherwise$"):
        sgd_moment_map(model)
    with pytest.raises(TypeError, match=r"^`model` must be an SGDModifiedEquation; got Problem$|"
                                        r"^`model` must be an SGDModifiedEquation; got \w+$"):
        moment_generator(cubic)


def test_generator_refuses_a_model_whose_noise_alone_does_not_close():
    """An affine drift with g gᵀ quartic in θ (noise scaled by √(1 + |θ|²)) is refused: both checks must pass."""
    model = SGDModifiedEquation(_problem(), 0.1)
    plain = model.diffusion
    model.diffusion = lambda t, x: plain(t, x) * np.sqrt(1.0 + np.sum(x * x, axis=1))[:, None, None]
    with pytest.raises(ValueError, match="`model` must have an affine drift"):
        moment_generator(model)
    model.diffusion = plain
    drift = model.drift
    model.drift = lambda t, x: drift(t, x) + 0.01 * x ** 2
    with pytest.raises(ValueError, match="`model` must have an affine drift"):
        moment_generator(model)


def test_affine_example_gradients_exact_for_least_squares_in_3d():
    """A_i = a_i a_iᵀ and c_i = b_i a_i for ℓ_i = ½(a_iᵀθ − b_i)², written out per example."""
    rng = np.random.default_rng(12)
    Aa = rng.normal(size=(4, 3))
    b = rng.normal(size=4) + 5.0
    prob = problems.least_squares(Aa, b)
    A, c = affine_example_gradients(prob)
    assert A.shape == (4, 3, 3) and c.shape == (4, 3)
    x = rng.normal(size=3)
    G = prob.example_grads(x)
    np.testing.assert_allclose(np.einsum("nij,j->ni", A, x) - c, G, rtol=1e-10, atol=1e-12)
    scale = G[0] / (Aa[0] * (Aa[0] @ x - b[0]))  # the per-example normalization of this problem
    k = float(np.mean(scale))
    for i in range(4):
        np.testing.assert_allclose(A[i], k * np.outer(Aa[i], Aa[i]), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c[i], k * b[i] * Aa[i], rtol=1e-10, atol=1e-12)


def test_affine_example_gradients_tolerance():
    """A nonlinearity of relative size ≈ 1e-11 at the probe points passes the default rtol 1e-9 and fails rtol 1e-13; the message
    names the problem argument and the alternative."""
    base = _problem(N=4, d=2)
    lin = base.example_grads
    bent = problems.finite_sum(lambda p, idx: lin(p)[:, idx, :] * (1 + 1e-13 * np.sum(p ** 2, axis=-1))[:, None, None],
                               4, 2)
    A, _ = affine_example_gradients(bent)
    np.testing.assert_allclose(A, affine_example_gradients(base)[0], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match=r"^`problem` must have per-example gradients affine in θ \(e.g. least_squares\) "
                                         r"for exact moments; use Monte Carlo \(dynopt.engine.simulate\) otherwise$"):
        affine_example_gradients(bent, rtol=1e-13)


def test_affine_example_gradients_orientation():
    """A[i, :, j] = ∂_j g_i: with a non-symmetric affine map g_i(θ) = M_i θ − c_i, A_i is M_i, not its transpose."""
    M = np.array([[[1.0, 2.0], [0.0, 3.0]], [[0.5, -1.0], [4.0, 1.0]]])
    cc = np.array([[1.0, 0.0], [0.0, -2.0]])
    prob = problems.finite_sum(lambda p, idx: np.einsum("kij,nj->nki", M[idx], p) - cc[idx][None], 2, 2)
    A, c = affine_example_gradients(prob)
    np.testing.assert_allclose(A, M, rtol=1e-12)
    np.testing.assert_allclose(c, cc, rtol=1e-12)


def test_moment_functions_at_zero_and_their_refusals():
    """Zero steps / zero time give the point mass at θ0 (cov 0); the path has n + 1 entries, each the
    k-step moments; negative counts and times are refused with their ranges."""
    prob = _problem()
    model = SGDModifiedEquation(prob, 0.1, order=2)
    th0 = np.array([0.4, -1.2])
    for mom in (sgd_moments(model, th0, 0), sme_moments(model, th0, 0.0)):
        np.testing.assert_allclose(mom.mean, th0, rtol=1e-15)
        np.testing.assert_allclose(mom.second, np.outer(th0, th0), rtol=1e-15)
        np.testing.assert_allclose(mom.cov, 0.0, atol=1e-15)
    path = sgd_moment_path(model, th0, 3)
    assert len(path) == 4
    for k, mom in enumerate(path):
        np.testing.assert_allclose(mom.second, sgd_moments(model, th0, k).second, rtol=1e-12)
    assert len(sgd_moment_path(model, th0, 0)) == 1
    sp = sme_moment_path(model, th0, 0.5)
    assert len(sp) == 1
    with pytest.raises(ValueError, match=r"`n_steps` must be a non-negative integer; got -1"):
        sgd_moments(model, th0, -1)
    with pytest.raises(ValueError, match=r"`n_steps` must be a non-negative integer; got -1"):
        sgd_moment_path(model, th0, -1)
    with pytest.raises(ValueError, match=r"`T` must be in \[0.0, inf\); got -0.5"):
        sme_moments(model, th0, -0.5)
    with pytest.raises(ValueError, match=r"`times` must be in \[0.0, inf\); got -1.0"):
        sme_moment_path(model, th0, [0.0, -1.0])


def test_sme_moment_path_names_a_non_numeric_time():
    """A time that is not a number is a TypeError naming `times`."""
    model = SGDModifiedEquation(_problem(), 0.1)
    with pytest.raises(TypeError, match=r"^`times` must be a real number; got 'soon'$"):
        sme_moment_path(model, [0.0, 0.0], ["soon"])


def test_generator_reads_the_model_at_time_zero():
    """moment_generator evaluates the model's drift and diffusion at t = 0.0 (a float), never at
    another time or None: the generator of a time-inhomogeneous subclass is its t = 0 one."""
    seen = []

    class Recording(SGDModifiedEquation):
        def drift(self, t, x):
            seen.append(t)
            return super().drift(t, x) + float(t)

        def diffusion(self, t, x):
            seen.append(t)
            return super().diffusion(t, x)

    prob = _problem()
    model = Recording(prob, 0.1, 2, replace=False)
    G = moment_generator(model)
    assert seen and all(type(t) is float and t == 0.0 for t in seen)
    np.testing.assert_array_equal(G, moment_generator(SGDModifiedEquation(prob, 0.1, 2, replace=False)))


def test_probe_points_default_scale_is_one():
    """The fixed probe points are 1.7·sin(1 + 2.3k), k = 0 … 3d − 1, as 3 rows of d, times `scale` (default 1)."""
    from dynopt.analysis.sme import _probe_points

    k = np.arange(6, dtype=float)
    np.testing.assert_allclose(_probe_points(2), (1.7 * np.sin(1.0 + 2.3 * k)).reshape(3, 2), rtol=1e-15)
    np.testing.assert_allclose(_probe_points(2, 3.0), 3.0 * _probe_points(2), rtol=1e-15)


def test_sme_weak_errors_ranges_shapes_and_divisor_tolerance():
    """`T` and every entry of `lrs` must be in (0.0, inf); θ₀ of shape (1, d) is flattened; a step
    that divides T up to a relative 4e-10 is accepted (K = round(T/η)), one off by 2e-9 is refused."""
    prob = _problem()
    th0 = prob.center + np.array([1.0, -0.5])
    with pytest.raises(ValueError, match=r"^`T` must be in \(0\.0, inf\); got 0\.0$"):
        sme_weak_errors(prob, [0.5, 0.25, 0.125], 0.0, th0)
    with pytest.raises(ValueError, match=r"^`lrs` must be in \(0\.0, inf\); got 0\.0$"):
        sme_weak_errors(prob, [0.5, 0.0, 0.125], 1.0, th0)
    ref = sme_weak_errors(prob, [0.5, 0.25, 0.125], 1.0, th0, observables=("dist2",), control=False)
    flat = sme_weak_errors(prob, [0.5, 0.25, 0.125], 1.0, th0.reshape(1, 2), observables=("dist2",), control=False)
    assert flat.theta0 == th0.tolist() and flat.as_dict() == ref.as_dict()
    near = sme_weak_errors(prob, [0.5 * (1 + 4e-10), 0.25, 0.125], 1.0, th0, observables=("dist2",), control=False)
    assert near.lrs == [0.5 * (1 + 4e-10), 0.25, 0.125]
    with pytest.raises(ValueError, match=r"^`lrs` must divide `T`: T/η = 2 is not an integer for η = 0\.5$"):
        sme_weak_errors(prob, [0.5 * (1 + 2e-9), 0.25, 0.125], 1.0, th0)
