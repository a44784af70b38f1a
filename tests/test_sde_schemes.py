"""Schemes: declarations, harmonic stationary statistics against exact discrete covariances."""
import dataclasses
import math

import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from dynopt import dynamics, problems
from dynopt.analysis import scheme_linear_map, sgd_stationary_covariances
from dynopt.engine import EnsembleOptions, TimeAverage, simulate
from dynopt.schemes import METHODS, SDEScheme, get_scheme


@pytest.mark.parametrize("name", ["euler-maruyama", "milstein", "stochastic-heun", "baoab", "obabo",
                                  "aboba", "momentum-sgd", "leimkuhler-matthews", "sgd"])
def test_declarations(name):
    s = get_scheme(name)
    assert name in METHODS
    assert s.calculus in ("ito", "stratonovich") and s.noise_types and s.weak_order >= 1


def test_baoab_harmonic_configurations_exact():
    m = dynamics.Kramers(problems.quadratic([[1.0]]), 1.0, math.sqrt(2.0))
    for h in (0.1, 0.5, 1.0):
        M, N = scheme_linear_map(m, "baoab", h)
        S = solve_discrete_lyapunov(M, N @ N.T)
        assert abs(S[0, 0] - 1.0) < 1e-12
        assert abs(S[1, 1] - (1 - h * h / 4)) < 1e-12  # BAOAB's known kinetic bias


@pytest.mark.parametrize("scheme", ["obabo", "momentum-sgd"])
def test_kramers_stationary_matches_lyapunov(scheme):
    m = dynamics.Kramers(problems.quadratic([[1.0]]), 1.0, math.sqrt(2.0))
    h = 0.4
    M, N = scheme_linear_map(m, scheme, h)
    S = solve_discrete_lyapunov(M, N @ N.T)
    r = simulate(m, scheme, (0, 30.0), [0.0, 0.0], h, n_paths=4096, seed=11,
                 observers=[TimeAverage(lambda y: y[:, 0] ** 2, t_min=8.0)],
                 options=EnsembleOptions(block_size=256))
    ta = r.observations["time_average"]
    assert abs(ta.mean - S[0, 0]) < 5 * ta.se


def test_sgd_iterates_match_exact_discrete_covariance():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(10, 2))
    b = A @ np.ones(2) + 2 * rng.normal(size=10)
    p = problems.least_squares(A, b)
    lr = 0.2 / np.linalg.eigvalsh(p.hessian_matrix).max()
    pred = sgd_stationary_covariances(p, lr, 2)
    model = dynamics.SGDModifiedEquation(p, lr, 2)
    steps = int(8 / (lr * np.linalg.eigvalsh(p.hessian_matrix).min())) + 1
    r = simulate(model, "sgd", (0, steps * lr), p.center, lr, n_paths=4000, seed=2)
    X = r.y_final - p.center
    v = X.var(axis=0, ddof=1)
    se = np.diag(pred["exact"]) * np.sqrt(2 / 4000)
    assert np.all(np.abs(v - np.diag(pred["exact"])) < 5 * se)


def test_sme_bad_input():
    p = problems.least_squares(np.eye(3), np.ones(3))
    with pytest.raises(ValueError, match="`batch_size`"):
        dynamics.SGDModifiedEquation(p, 0.1, 5)
    with pytest.raises(ValueError, match="`lr`"):
        dynamics.SGDModifiedEquation(p, -0.1, 1)
    with pytest.raises(TypeError, match="`problem`"):
        dynamics.SGDModifiedEquation(problems.ellipse(), 0.1, 1)


def test_fused_double_well_euler_maruyama_matches_the_generic_path():
    """The benchmark's 5-pass kernel (state kept as u = y/(σ√dt)) is the same scheme:
    with the same Brownian path it agrees with the generic additive-noise step."""
    import numpy as np

    from dynopt import dynamics, problems
    from dynopt.engine import simulate

    p = problems.double_well()
    fused = dynamics.OverdampedLangevin(p, 0.7)
    generic = dynamics.OverdampedLangevin(p, [[0.7]])  # a matrix σ takes the general path
    a = simulate(fused, "euler-maruyama", (0, 2), [0.3], 0.01, n_paths=5000, seed=3)
    b = simulate(generic, "euler-maruyama", (0, 2), [0.3], 0.01, n_paths=5000, seed=3)
    np.testing.assert_allclose(a.y_final, b.y_final, rtol=1e-10, atol=1e-12)


# -- the SDE scheme contract: run data in the state, counts that match the calls made ------------
def _counting_runs():
    """One small run per SDE model class, on problems whose gradient (or drift) counts its
    calls: {class: (model, y0, dt, calls)}.  No problem declares a polynomial gradient
    here, so no fused kernel bypasses the counted function."""
    runs = {}
    for cls, make, y0 in [(dynamics.OverdampedLangevin, lambda p: dynamics.OverdampedLangevin(p, 0.7), [0.3]),
                          (dynamics.Kramers, lambda p: dynamics.Kramers(p, 1.0, 0.7), [0.3, 0.0])]:
        p = problems.double_well()
        calls = [0]

        def grad(x, calls=calls, g=p.grad_fn):
            calls[0] += 1
            return g(x)
        runs[cls] = (make(dataclasses.replace(p, grad_fn=grad, grad_polynomial=None)), y0, 0.05, calls)
    calls = [0]

    def drift(t, x, calls=calls):
        calls[0] += 1
        return 0.5 * x
    runs[dynamics.SDE] = (dynamics.SDE(drift, lambda t, x: 0.3 * x, 1), [1.0], 0.05, calls)
    calls[0] = 0  # SDE() probes the drift's shape once
    rng = np.random.default_rng(0)
    ls = problems.least_squares(rng.normal(size=(8, 2)), rng.normal(size=8))
    calls = [0]

    def example_grads(pts, idx, calls=calls, g=ls.example_grad_fn):
        calls[0] += 1
        return g(pts, idx)

    def batch_grads(pts, idx, calls=calls, g=ls.batch_grad_fn):
        calls[0] += 1
        return g(pts, idx)
    ls = dataclasses.replace(ls, example_grad_fn=example_grads, batch_grad_fn=batch_grads)
    runs[dynamics.SGDModifiedEquation] = (dynamics.SGDModifiedEquation(ls, 0.05, 2), [0.0, 0.0], 0.05, calls)
    return runs


SDE_NAMES = sorted(n for n, c in METHODS.items() if issubclass(c, SDEScheme))


@pytest.mark.parametrize("name", SDE_NAMES)
def test_grad_evals_count_and_instances_are_reusable(name):
    """EnsembleResult.grad_evals equals the drift calls made (one chunk: one call per
    evaluation), and one scheme instance run twice gives identical paths and counts."""
    sch = get_scheme(name)
    # the SME's drift and diffusion both call the problem's oracles: its counter (of
    # minibatch gradients) is for a scheme written for the SME itself
    runs = [(m, y0, dt, calls) for cls, (m, y0, dt, calls) in _counting_runs().items()
            if issubclass(cls, sch.approximates) and m.noise in sch.noise_types
            and (cls is not dynamics.SGDModifiedEquation or cls in sch.approximates)]
    assert runs, f"{name}: no counting run for approximates={sch.approximates}"
    config = dict(vars(sch))
    for model, y0, dt, calls in runs:
        # numpy: compiled kernels evaluate the gradient without calling grad_fn
        a = simulate(model, sch, (0, 1), y0, dt, n_paths=64, seed=4, backend="numpy")
        assert a.grad_evals == calls[0] > 0, (name, model, a.grad_evals, calls[0])
        b = simulate(model, sch, (0, 1), y0, dt, n_paths=64, seed=4, backend="numpy")
        np.testing.assert_array_equal(a.y_final, b.y_final)
        assert b.grad_evals == a.grad_evals
        assert simulate(model, sch, (0, 1), y0, dt, n_paths=64, seed=4).grad_evals == a.grad_evals
    assert vars(sch) == config  # runs leave nothing on the scheme object


def test_declared_polynomial_gradients_match_grad_fn(rng):
    """A declared ``grad_polynomial`` is what ``grad_fn`` computes (it selects fused kernels)."""
    declared = [problems.get_problem(n) for n in problems.PROBLEMS]
    declared = [p for p in declared if p.grad_polynomial is not None] + [problems.double_well(3)]
    assert declared
    for p in declared:
        x = rng.uniform(-2, 2, size=(9, p.dim))
        poly = sum(c * x ** k for k, c in enumerate(p.grad_polynomial))
        np.testing.assert_allclose(p.grad_fn(x), poly, rtol=1e-13, atol=1e-13)


def test_steps_do_not_depend_on_a_declared_polynomial():
    """A scheme's step is one expression for every model: a problem with the double well's
    gradient but no polynomial declaration gives the same bits (no fused special path)."""
    p = problems.double_well()
    undeclared = dataclasses.replace(p, grad_polynomial=None)
    sch = get_scheme("euler-maruyama")
    fused = dynamics.OverdampedLangevin(p, 0.7)
    plain = dynamics.OverdampedLangevin(undeclared, 0.7)
    assert fused.drift_polynomial == (-0.0, 1.0, -0.0, -1.0) and plain.drift_polynomial is None
    a = simulate(fused, sch, (0, 1), [0.3], 0.01, n_paths=500, seed=3, backend="numpy")
    b = simulate(plain, sch, (0, 1), [0.3], 0.01, n_paths=500, seed=3, backend="numpy")
    np.testing.assert_array_equal(a.y_final, b.y_final)
    k = dynamics.Kramers(p, 1.0, 0.7)
    for name in ("baoab", "momentum-sgd"):
        c = simulate(k, name, (0, 1), [0.3, 0.0], 0.01, n_paths=500, seed=3, backend="numpy")
        d = simulate(dynamics.Kramers(undeclared, 1.0, 0.7), name, (0, 1), [0.3, 0.0], 0.01, n_paths=500,
                     seed=3, backend="numpy")
        np.testing.assert_array_equal(c.y_final, d.y_final)


def test_wrong_model_class_named_in_the_error():
    lang = dynamics.OverdampedLangevin(problems.double_well(), 0.5)
    with pytest.raises(ValueError, match="'momentum-sgd' discretizes Kramers models; got a OverdampedLangevin"):
        simulate(lang, "momentum-sgd", (0, 1), [0.0], 0.1, n_paths=2, seed=1)
    ou = dynamics.ornstein_uhlenbeck()
    with pytest.raises(ValueError, match="'leimkuhler-matthews' discretizes OverdampedLangevin models; got a SDE"):
        simulate(ou, "leimkuhler-matthews", (0, 1), [0.0], 0.1, n_paths=2, seed=1)
    with pytest.raises(ValueError, match="'euler-maruyama' integrates SDE models"):
        simulate(dynamics.GradientFlow(problems.double_well()), "euler-maruyama", (0, 1), [0.0], 0.1, n_paths=2)


def test_sgd_iterates_refuse_a_step_other_than_the_learning_rate():
    from dynopt import dynamics, problems
    from dynopt.engine import simulate

    p = problems.least_squares(np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="^`dt` must equal the SME's learning rate 0.1 for SGD iterates; got 0.2"):
        simulate(dynamics.SGDModifiedEquation(p, 0.1, 1), "sgd", (0, 1), [0.0, 0.0], 0.2, n_paths=2, seed=1)


@pytest.mark.parametrize("scheme", ["euler-maruyama", "milstein", "stochastic-heun"])
def test_time_dependent_user_sde_sees_the_step_time(scheme):
    """dx = t dt + t dW: drift and noise must be evaluated at the step's start time t_k, so
    Euler's sum gives x_N = h² Σ k = h² N(N−1)/2 on the mean, and noise amplitude t_k."""
    from dynopt.dynamics import SDE
    from dynopt.engine import EnsembleOptions, simulate
    model = SDE(lambda t, x: np.full_like(x, t), lambda t, x: np.full_like(x, t), 1, noise="diagonal",
                diffusion_dx=lambda t, x: np.zeros_like(x))
    h, N, n = 0.1, 10, 4000
    r = simulate(model, scheme, (0.0, h * N), [0.0], h, n_paths=n, seed=3, options=EnsembleOptions(progress=False))
    x = r.y_final[:, 0]
    if scheme == "stochastic-heun":   # trapezoidal drift: h Σ (t_k + t_{k+1})/2 = T²/2
        mean, var = (h * N) ** 2 / 2, h * sum((h * k + h * (k + 1)) ** 2 / 4 for k in range(N))
    else:
        mean, var = h * h * N * (N - 1) / 2, h * sum((h * k) ** 2 for k in range(N))
    assert abs(x.mean() - mean) <= 5 * math.sqrt(var / n)
    assert abs(x.var() - var) <= 5 * var * math.sqrt(2 / (n - 1))


def test_sde_scheme_describe_text():
    """``SDEScheme.describe``: name, strong and weak order, calculus and the noise types joined by
    '/', as printed in reports."""
    assert get_scheme("euler-maruyama").describe() == \
        "euler-maruyama (strong 0.5, weak 1.0, ito, noise: additive/diagonal/general)"
    assert get_scheme("stochastic-heun").describe() == \
        "stochastic-heun (strong 1.0, weak 1.0, stratonovich, noise: additive/diagonal/general)"
    assert get_scheme("baoab").describe() == "baoab (strong 1.0, weak 2.0, ito, noise: additive)"
    assert get_scheme("sgd").describe() == "sgd (strong None, weak 1.0, ito, noise: general)"
    assert repr(get_scheme("milstein")) == "Milstein()"


def _nonlinear_sde(calculus="ito"):
    """A diagonal-noise SDE with state- and time-dependent drift and diffusion (and ∂g)."""
    f = lambda t, x: -x ** 3 + t * np.array([1.0, -2.0])  # noqa: E731
    g = lambda t, x: 0.5 + 0.3 * np.sin(x) + 0.1 * t  # noqa: E731
    gx = lambda t, x: 0.3 * np.cos(x)  # noqa: E731
    return dynamics.SDE(f, g, 2, calculus=calculus, diffusion_dx=gx), f, g, gx


def test_euler_maruyama_milstein_heun_one_step_by_hand():
    """One step of Euler–Maruyama, Milstein and stochastic Heun from the formulas written out here."""
    model, f, g, gx = _nonlinear_sde()
    y = np.array([[0.4, -1.1], [1.3, 0.2]])
    z = np.array([[[0.7, -1.4], [-0.3, 2.1]]])
    t, h = 0.6, 0.05
    dW = z[0] * np.sqrt(h)
    want = {"euler-maruyama": y + f(t, y) * h + g(t, y) * dW,
            "milstein": y + f(t, y) * h + g(t, y) * dW + 0.5 * g(t, y) * gx(t, y) * (dW * dW - h)}
    fs = lambda s, x: f(s, x) - 0.5 * g(s, x) * gx(s, x)  # noqa: E731  (the Stratonovich drift)
    pred = y + fs(t, y) * h + g(t, y) * dW
    want["stochastic-heun"] = y + h / 2 * (fs(t, y) + fs(t + h, pred)) + (g(t, y) + g(t + h, pred)) * dW / 2
    evals = {"euler-maruyama": 1, "milstein": 1, "stochastic-heun": 2}
    for name, w in want.items():
        sch = get_scheme(name)
        st = sch.step(model, t, sch.init(model, y.copy(), h), h, z)
        np.testing.assert_allclose(st.y, w, rtol=1e-13, atol=1e-15, err_msg=name)
        assert st.grad_evals == evals[name]


def test_milstein_additive_noise_has_no_correction():
    """With additive noise Milstein is Euler–Maruyama (∂g = 0), one drift per step."""
    model = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    y = np.array([[0.4], [-1.3]])
    z = np.array([[[0.9], [-0.4]]])
    h = 0.1
    st = get_scheme("milstein").step(model, 0.0, get_scheme("milstein").init(model, y.copy(), h), h, z)
    np.testing.assert_allclose(st.y, y - h * model.problem.grad(y) + 0.7 * np.sqrt(h) * z[0], rtol=1e-13)
    assert st.grad_evals == 1


def test_leimkuhler_matthews_two_steps_by_hand():
    """θ₁ = θ₀ − h∇L + σ√h ξ₁ (ξ₀ := ξ₁), θ₂ = θ₁ − h∇L(θ₁) + σ√h (ξ₁ + ξ₂)/2; the normals are kept."""
    sigma, h = 0.7, 0.1
    model = dynamics.OverdampedLangevin(problems.double_well(), sigma)
    sch = get_scheme("leimkuhler-matthews")
    y0 = np.array([[0.4], [-1.3]])
    xi1, xi2 = np.array([[0.9], [-0.4]]), np.array([[-1.2], [0.3]])
    gr = model.problem.grad
    st0 = sch.init(model, y0.copy(), h)
    assert st0.prev is None and st0.grad_evals == 0
    z1 = xi1[None].copy()
    st1 = sch.step(model, 0.0, st0, h, z1)
    y1 = y0 - h * gr(y0) + sigma * np.sqrt(h) * xi1
    np.testing.assert_allclose(st1.y, y1, rtol=1e-13)
    z1[:] = 99.0  # the engine refills its buffer: the state must hold its own copy
    np.testing.assert_array_equal(st1.prev, xi1)
    st2 = sch.step(model, h, st1, h, xi2[None])
    y2 = y1 - h * gr(y1) + sigma * np.sqrt(h) * (xi1 + xi2) / 2
    np.testing.assert_allclose(st2.y, y2, rtol=1e-13)
    assert st2.grad_evals == 2 and np.array_equal(st2.prev, xi2)


def test_sgd_stationary_covariances_solve_their_equations():
    """Each prediction solves its own equation written out here (OU Lyapunov, discrete Lyapunov, the
    exact recursion with J_i = a_i a_iᵀ); the exact one is the limit of the exact moment recursion."""
    from dynopt.analysis import sgd_moments
    rng = np.random.default_rng(1)
    N, d, B = 8, 2, 2
    A = rng.normal(size=(N, d))
    b = A @ np.ones(d) + rng.normal(size=N)
    p = problems.least_squares(A, b)
    H = A.T @ A / N
    lr = 0.3 / np.linalg.eigvalsh(H).max()
    out = sgd_stationary_covariances(p, lr, B)
    assert set(out) == {"continuous", "discrete", "exact", "noise_cov", "lr_lambda_max"}
    r = A @ p.center - b
    G = A * r[:, None]  # per-example gradients at θ*
    Sig = G.T @ G / N - np.outer(G.mean(0), G.mean(0))
    np.testing.assert_allclose(out["noise_cov"], Sig, rtol=1e-10, atol=1e-14)
    C, D, E = out["continuous"], out["discrete"], out["exact"]
    np.testing.assert_allclose(H @ C + C @ H, lr / B * Sig, rtol=1e-10, atol=1e-14)
    M = np.eye(d) - lr * H
    np.testing.assert_allclose(D, M @ D @ M.T + lr ** 2 / B * Sig, rtol=1e-10, atol=1e-14)
    JSJ = sum(np.outer(a, a) @ E @ np.outer(a, a) for a in A) / N
    np.testing.assert_allclose(E, M @ E @ M.T + lr ** 2 / B * (Sig + JSJ - H @ E @ H), rtol=1e-10, atol=1e-14)
    assert out["lr_lambda_max"] == pytest.approx(0.3, rel=1e-12)
    model = dynamics.SGDModifiedEquation(p, lr, B)
    np.testing.assert_allclose(sgd_moments(model, p.center, 3000).cov, E, rtol=1e-8, atol=1e-14)


def test_sgd_stationary_covariances_without_a_fixed_point_and_refusal():
    """Past the exact recursion's stability (before the mean's) the exact prediction is None; a non-quadratic problem is refused."""
    A = np.array([[3.0, 0.0], [0.0, 0.1], [0.1, 0.2]])
    p = problems.least_squares(A, np.array([1.0, 0.0, 2.0]))
    lam = np.linalg.eigvalsh(p.hessian_matrix).max()
    # one dominant example: its multiplicative noise destabilizes the second moments at ηλ = 0.8,
    # well inside the mean's stability range ηλ < 2 (the recursion's spectral radius is ≈ 1.3)
    out = sgd_stationary_covariances(p, 0.8 / lam, 1)
    assert out["exact"] is None and out["lr_lambda_max"] == pytest.approx(0.8, rel=1e-12)
    assert out["discrete"] is not None
    assert sgd_stationary_covariances(p, 0.1 / lam, 1)["exact"] is not None
    with pytest.raises(ValueError, match=r"^`problem` must be a quadratic finite sum \(constant Hessian\)$"):
        sgd_stationary_covariances(problems.double_well(), 0.1, 1)


def test_scheme_linear_map_euler_maruyama_on_2d_kramers_closed_form():
    """EM on Kramers with L = ½θᵀHθ (4 states, 2 noises): M = I + A h with A = [[0, I], [−H, −λI]], N = √h [0; σI]."""
    H = np.array([[2.0, 0.3], [0.3, 1.0]])
    lam, sigma, h = 0.7, 0.9, 0.05
    m = dynamics.Kramers(problems.quadratic(H, center=[0.4, -0.2]), lam, sigma)
    M, N = scheme_linear_map(m, "euler-maruyama", h)
    A = np.block([[np.zeros((2, 2)), np.eye(2)], [-H, -lam * np.eye(2)]])
    np.testing.assert_allclose(M, np.eye(4) + h * A, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(N, np.sqrt(h) * np.vstack([np.zeros((2, 2)), sigma * np.eye(2)]), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("scheme", ["baoab", "obabo", "momentum-sgd", "stochastic-heun"])
def test_scheme_linear_map_reproduces_a_step_from_any_state(scheme):
    """The scheme's step from random states and normals is M y + N ξ + (its step from 0 with no noise)."""
    H = np.array([[2.0, 0.3], [0.3, 1.0]])
    m = dynamics.Kramers(problems.quadratic(H, center=[0.4, -0.2]), 0.7, 0.9)
    h = 0.1
    M, N = scheme_linear_map(m, scheme, h)
    sch = get_scheme(scheme)
    rng = np.random.default_rng(3)
    y = rng.normal(size=(5, 4))
    k = sch.n_terms  # OBABO draws two sets of normals per step
    z = rng.normal(size=(k, 5, 2))
    ys = np.vstack([y, np.zeros((1, 4))])
    zs = np.concatenate([z, np.zeros((k, 1, 2))], axis=1)
    out = sch.output(m, sch.step(m, 0.0, sch.init(m, ys.copy(), h), h, zs))
    xi = z.transpose(1, 0, 2).reshape(5, 2 * k)  # column i is term i // 2, component i % 2
    np.testing.assert_allclose(out[:5], y @ M.T + xi @ N.T + out[5], rtol=1e-12, atol=1e-13)
    assert M.shape == (4, 4) and N.shape == (4, 2 * k)


def _ou(p, h, lam, sigma, xi):
    c = np.exp(-lam * h)
    return c * p + sigma * np.sqrt((1 - c * c) / (2 * lam)) * xi


def test_baoab_obabo_aboba_two_steps_by_hand():
    """Two steps of each splitting written out letter by letter (B: η += h·force, A: θ += hη, O: exact OU),
    with each letter's h divided by its count, and one gradient per step after the start's one."""
    prob = problems.double_well(2)
    lam, sigma, h = 0.8, 0.6, 0.1
    m = dynamics.Kramers(prob, lam, sigma)
    F = lambda q: -prob.grad(q)  # noqa: E731
    rng = np.random.default_rng(5)
    y0 = rng.normal(size=(3, 4))
    for name in ("baoab", "obabo", "aboba"):
        sch = get_scheme(name)
        st = sch.init(m, y0.copy(), h)
        assert st.grad_evals == 1 and st.fresh
        q, p = y0[:, :2].copy(), y0[:, 2:].copy()
        for step in range(2):
            z = rng.normal(size=(sch.n_terms, 3, 2))
            if name == "baoab":
                p = p + F(q) * h / 2
                q = q + p * h / 2
                p = _ou(p, h, lam, sigma, z[0])
                q = q + p * h / 2
                p = p + F(q) * h / 2
            elif name == "obabo":
                p = _ou(p, h / 2, lam, sigma, z[0])
                p = p + F(q) * h / 2
                q = q + p * h
                p = p + F(q) * h / 2
                p = _ou(p, h / 2, lam, sigma, z[1])
            else:
                q = q + p * h / 2
                p = p + F(q) * h / 2
                p = _ou(p, h, lam, sigma, z[0])
                p = p + F(q) * h / 2
                q = q + p * h / 2
            st = sch.step(m, step * h, st, h, z)
            np.testing.assert_allclose(sch.output(m, st), np.hstack([q, p]), rtol=1e-13, atol=1e-14, err_msg=name)
            assert st.grad_evals == 2 + step, name


def test_splitting_sequences_and_the_frictionless_o_step():
    """A custom sequence is upper-cased, named in lower case, counts its O's; λ = 0 makes O the plain kick σ√h ξ."""
    from dynopt.schemes import Splitting
    s = Splitting("oBaBo")
    assert (s.sequence, s.name, s.n_terms) == ("OBABO", "obabo", 2)
    assert Splitting("BAB").n_terms == 1
    assert Splitting().sequence == "BAOAB"
    for bad in ("", "BAX", "AO", "BO"):
        with pytest.raises(ValueError, match="^`sequence` must be letters from A, B, O containing A and B; got "
                                             + repr(bad) + "$"):
            Splitting(bad)
    m = dynamics.Kramers(problems.quadratic(np.eye(1)), 0.0, 0.5)
    sch = Splitting("AOB")
    y0 = np.array([[1.0, -0.5]])
    st = sch.step(m, 0.0, sch.init(m, y0.copy(), 0.04), 0.04, np.array([[[2.0]]]))
    q = 1.0 + (-0.5) * 0.04
    pnew = -0.5 + 0.5 * np.sqrt(0.04) * 2.0 - q * 0.04
    np.testing.assert_allclose(sch.output(m, st), [[q, pnew]], rtol=1e-14)


def test_momentum_sgd_and_sgd_iterates_steps_by_hand():
    """Momentum SGD: v = βv − α∇L(θ) + ασξ/√γ with eq 15's (α, β), θ += v, velocity v/γ; its λγ ≤ 2 check at
    init.  SGD iterates: θ − η·mean of the batch's gradients, dt = η to 1e-12 relative."""
    from dynopt.schemes import leapfrog_coefficients
    prob = problems.double_well(2)
    lam, sigma, g = 0.8, 0.6, 0.3
    m = dynamics.Kramers(prob, lam, sigma)
    sch = get_scheme("momentum-sgd")
    y0 = np.array([[1.2, -0.3, 0.4, 0.1]])
    st = sch.init(m, y0.copy(), g)
    np.testing.assert_allclose(st.v, y0[:, 2:] * g, rtol=1e-15)
    assert st.grad_evals == 0
    z = np.array([[[0.7, -1.1]]])
    a, b = leapfrog_coefficients(g, lam)
    v = b * g * y0[0, 2:] - a * prob.grad(y0[0, :2]) + a * sigma / np.sqrt(g) * z[0, 0]
    s1 = sch.step(m, 0.0, st, g, z)
    np.testing.assert_allclose(s1.q[0], y0[0, :2] + v, rtol=1e-14)
    np.testing.assert_allclose(sch.output(m, s1)[0, 2:], v / g, rtol=1e-14)
    assert s1.grad_evals == 1
    with pytest.raises(ValueError, match=r"`friction`·`gamma` must be in \[0, 2\]"):
        sch.init(dynamics.Kramers(prob, 10.0, sigma), y0.copy(), 0.3)
    # SGD iterates with explicit minibatch indices
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 2))
    bb = rng.normal(size=6)
    ls = problems.least_squares(A, bb)
    model = dynamics.SGDModifiedEquation(ls, 0.1, 2)
    sgd = get_scheme("sgd")
    th = np.array([[0.5, -0.5], [1.0, 2.0]])
    idx = np.array([[0, 3], [5, 5]])
    out = sgd.step(model, 0.0, sgd.init(model, th.copy(), 0.1), 0.1, idx)
    G = [ls.example_grads(th[i])[idx[i]].mean(0) for i in range(2)]
    np.testing.assert_allclose(out.y, th - 0.1 * np.array(G), rtol=1e-13)
    assert out.grad_evals == 1
    sgd.init(model, th.copy(), 0.1 * (1 + 1e-13))
    with pytest.raises(ValueError, match=r"^`dt` must equal the SME's learning rate 0.1 for SGD iterates; got 0.1$"):
        sgd.init(model, th.copy(), 0.1 * (1 + 1e-10))


def test_sgd_iterates_draw_minibatches_of_the_models_size():
    """With replacement indices are i.i.d. in [0, N); without, B distinct indices per path."""
    A = np.arange(10.0).reshape(5, 2)
    ls = problems.least_squares(A, np.ones(5))
    sgd = get_scheme("sgd")
    for replace in (True, False):
        model = dynamics.SGDModifiedEquation(ls, 0.1, 3, replace=replace)
        gens = [np.random.default_rng(1), np.random.default_rng(2)]
        idx = sgd.draw_noise(model, gens, [(0, 40), (40, 100)], 100)
        assert idx.shape == (100, 3) and idx.min() >= 0 and idx.max() < 5
        if not replace:
            assert all(len(set(r)) == 3 for r in idx.tolist())
        else:
            assert any(len(set(r)) < 3 for r in idx.tolist())
        again = sgd.draw_noise(model, [np.random.default_rng(1)], [(0, 40)], 40)
        np.testing.assert_array_equal(again, idx[:40])


def test_sde_scheme_noise_types_declared_orders_and_kill():
    """Milstein refuses general noise by name; the declared strong order is the additive one for additive
    noise; kill sets the chosen rows of every per-path array to NaN and leaves scalars alone."""
    gen = dynamics.SDE(lambda t, x: -x, lambda t, x: np.ones((x.shape[0], 2, 2)), 2, noise="general")
    with pytest.raises(ValueError, match=r"^`scheme` 'milstein' supports additive, diagonal noise; got general noise \("):
        get_scheme("milstein").check_model(gen)
    em = get_scheme("euler-maruyama")
    assert em.declared_strong_order(dynamics.ornstein_uhlenbeck()) == 1.0
    assert em.declared_strong_order(dynamics.geometric_brownian_motion()) == 0.5
    assert em.order == 0.5 and get_scheme("milstein").order == 1.0
    assert get_scheme("sgd").declared_strong_order(dynamics.SGDModifiedEquation(
        problems.least_squares(np.eye(2), np.ones(2)), 0.1)) is None
    st = em.State(np.ones((4, 2)), 3)
    out = em.kill(st, np.array([False, True, False, True]))
    assert np.isnan(out.y[[1, 3]]).all() and np.isfinite(out.y[[0, 2]]).all() and out.grad_evals == 3
    other = (np.ones((4, 2)), np.ones(3), np.ones((2, 4)))  # arrays of another length are not per-path
    em.kill(other, np.array([True, False, False, False]))
    assert np.isnan(other[0][0]).all() and np.isfinite(other[1]).all() and np.isfinite(other[2]).all()


def test_milstein_correction_reads_the_time_of_the_step():
    """Milstein's correction g·∂g evaluates ∂g at the step's time t (a time-dependent ∂g)."""
    f = lambda t, x: -x  # noqa: E731
    g = lambda t, x: (1.0 + t) * (0.5 + 0.3 * np.sin(x))  # noqa: E731
    gx = lambda t, x: (1.0 + t) * 0.3 * np.cos(x)  # noqa: E731
    model = dynamics.SDE(f, g, 2, diffusion_dx=gx)
    y = np.array([[0.4, -1.1]])
    z = np.array([[[0.7, -1.4]]])
    t, h = 0.6, 0.05
    dW = z[0] * np.sqrt(h)
    want = y + f(t, y) * h + g(t, y) * dW + 0.5 * g(t, y) * gx(t, y) * (dW * dW - h)
    sch = get_scheme("milstein")
    st = sch.step(model, t, sch.init(model, y.copy(), h), h, z)
    np.testing.assert_allclose(st.y, want, rtol=1e-13, atol=1e-15)
