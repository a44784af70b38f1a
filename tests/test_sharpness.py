"""Hessian-vector products, Lanczos sharpness, the stability thresholds and full-batch runs."""
import re

import numpy as np
import pytest

from dynopt.analysis.sharpness import (SHARPNESS_METHODS, EdgeStats, SharpnessRun, edge_statistics,
                                       make_optimizer, sharpness_threshold, train_tracking_sharpness)
from dynopt.learning import networks as nets
from dynopt.learning.hessian import (TanhMLP, dense_hessian, hvp, hvp_central, ravel_params, sharpness,
                                     top_eigenvalues)
from dynopt.symbolic.core import beta as BETA
from dynopt.symbolic.stability import companion_spectral_radius, stability_bounds

RNG = np.random.default_rng(20210301)
X_SMALL = RNG.standard_normal((24, 4))
Y_REG = RNG.standard_normal((24, 3))
Y_CLS = RNG.integers(0, 3, 24)

EXACT_MODELS = [
    (TanhMLP(4, (5, 3), 3), Y_REG),
    (TanhMLP(4, 6, 3), Y_REG),
    (nets.MLP(4, 6, 3), Y_CLS),
    (nets.MLP(4, 6, 3, relu_on_output=True), Y_CLS),
    (nets.SoftmaxRegression(4, 3), Y_CLS),
    (nets.LinearRegression(4), Y_REG[:, 0]),
]


def _flat_grad(model, unravel, theta, X, y):
    return ravel_params(model.loss_and_grad(unravel(theta), X, y)[1])[0]


def _fd_hessian_of_gradients(model, params, X, y, h=1e-5):
    """Central differences of the exact (backprop) gradient, column by column."""
    theta, unravel = ravel_params(params)
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        cols.append((_flat_grad(model, unravel, theta + e, X, y) - _flat_grad(model, unravel, theta - e, X, y)) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("model,y", EXACT_MODELS, ids=lambda m: type(m).__name__)
def test_exact_hvp_matches_finite_differences_of_gradients(model, y):
    params = model.init_params(3)
    H = dense_hessian(model, params, X_SMALL, y)
    H_fd = _fd_hessian_of_gradients(model, params, X_SMALL, y)
    scale = np.abs(H).max()
    # central differences with h = 1e-5: truncation ~h²·|∇⁴L| plus rounding ~1e-16/h
    assert np.abs(H - H_fd).max() <= 1e-7 * scale
    assert np.abs(H - H.T).max() <= 1e-12 * scale


def test_tanh_hessian_against_second_differences_of_the_loss():
    # independent of backprop: H_ij from four loss values (error O(h²) + O(u·L/h²))
    model = TanhMLP(3, 3, 2)
    X, y = X_SMALL[:, :3], Y_REG[:, :2]
    params = model.init_params(5)
    theta, unravel = ravel_params(params)
    d, h = theta.size, 1e-4
    E = np.eye(d) * h

    def L(t):
        return model.loss(unravel(t), X, y)

    H2 = np.array([[(L(theta + E[i] + E[j]) - L(theta + E[i] - E[j]) - L(theta - E[i] + E[j])
                     + L(theta - E[i] - E[j])) / (4 * h * h) for j in range(d)] for i in range(d)])
    H = dense_hessian(model, params, X, y)
    assert np.abs(H - H2).max() <= 1e-5 * np.abs(H).max()


def test_hvp_of_a_quadratic_is_its_matrix_and_lanczos_finds_its_spectrum():
    model = nets.LinearRegression(4)
    X, y = X_SMALL, Y_REG[:, 0]
    params = model.init_params(1)
    A = np.hstack([X, np.ones((len(X), 1))])
    H_exact = A.T @ A / len(X)               # L = ½‖Aθ − y‖²/n
    H = dense_hessian(model, params, X, y)
    np.testing.assert_allclose(H, H_exact, rtol=0, atol=1e-13 * np.abs(H_exact).max())
    top = top_eigenvalues(model, params, X, y, k=2, tol=1e-12, rng=0)
    np.testing.assert_allclose(top.values, np.linalg.eigvalsh(H_exact)[::-1][:2], rtol=1e-10)
    v = ravel_params(params)[0] * 0 + 1.0
    np.testing.assert_allclose(hvp(model, params, X, y, v), H_exact @ v, rtol=1e-12)


def test_lanczos_top_eigenpairs_of_a_network_match_the_dense_spectrum():
    model, y = TanhMLP(4, (6, 5), 3), Y_REG
    params = model.init_params(7)
    H = dense_hessian(model, params, X_SMALL, y)
    w = np.linalg.eigvalsh((H + H.T) / 2)[::-1]
    top = top_eigenvalues(model, params, X_SMALL, y, k=3, tol=1e-12, rng=0)
    np.testing.assert_allclose(top.values, w[:3], rtol=1e-9)
    for lam, vec in zip(top.values, top.vectors.T):
        assert np.linalg.norm(H @ vec - lam * vec) <= 1e-8 * abs(w).max()
    assert sharpness(model, params, X_SMALL, y, tol=1e-12, rng=1) == pytest.approx(w[0], rel=1e-9)


def test_central_difference_hvp_is_within_its_stated_error():
    model, y = TanhMLP(4, (5, 3), 3), Y_REG
    params = model.init_params(2)
    v = RNG.standard_normal(ravel_params(params)[0].size)
    exact = hvp(model, params, X_SMALL, y, v)
    approx, err = hvp_central(model, params, X_SMALL, y, v)
    assert np.linalg.norm(approx - exact) <= err
    assert err <= 1e-7 * np.linalg.norm(exact)


def test_dict_and_flat_forms_agree_and_bad_input_is_rejected():
    model, y = TanhMLP(4, 5, 3), Y_REG
    params = model.init_params(0)
    flat, unravel = ravel_params(params)
    v = RNG.standard_normal(flat.size)
    np.testing.assert_allclose(ravel_params(hvp(model, params, X_SMALL, y, unravel(v)))[0],
                               hvp(model, params, X_SMALL, y, v))
    with pytest.raises(ValueError, match="`vec`"):
        unravel(v[:-1])
    with pytest.raises(ValueError, match="`k`"):
        top_eigenvalues(model, params, X_SMALL, y, k=flat.size)
    with pytest.raises(ValueError, match="`hidden`"):
        TanhMLP(4, (), 3)
    with pytest.raises(TypeError, match="`model`"):
        hvp(object(), params, X_SMALL, y, v)


# -- thresholds -------------------------------------------------------------------------
@pytest.mark.parametrize("method", sorted(SHARPNESS_METHODS))
def test_threshold_is_the_symbolic_bound_and_no_other_methods(method):
    lr = 0.37
    betas = [0.0] if method == "gd" else [0.3, 0.8, 0.9]
    for b in betas:
        thr = sharpness_threshold(method, lr, b)
        sym = float(stability_bounds(method)[0].subs(BETA, b)) / lr
        assert thr == pytest.approx(sym, rel=1e-12)
        # a typed constant of another method (e.g. GD's 2/η for heavy ball) would differ
        # (at β = 0 all three coincide, so GD is compared with the others at β = 0.8)
        for other in SHARPNESS_METHODS:
            if other != method:
                b_other = b if b > 0 else 0.8
                wrong = float(stability_bounds(other)[0].subs(BETA, b_other)) / lr
                assert abs(thr - wrong) > 0.05 * thr
        # independently of the Jury algebra: roots of the characteristic polynomial cross
        # the unit circle exactly at αh = threshold·η
        assert companion_spectral_radius(method, thr * lr * (1 - 1e-6), b) < 1
        assert companion_spectral_radius(method, thr * lr * (1 + 1e-6), b) > 1


def test_threshold_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`method`"):
        sharpness_threshold("lbfgs", 0.1)
    with pytest.raises(ValueError, match="`lr`"):
        sharpness_threshold("gd", 0.0)
    with pytest.raises(ValueError, match="`momentum`"):
        sharpness_threshold("gd", 0.1, 0.5)
    with pytest.raises(ValueError, match="`momentum`"):
        sharpness_threshold("heavy-ball", 0.1, 0.0)


@pytest.mark.parametrize("method", ["heavy-ball", "nesterov"])
def test_optimizer_iterates_are_the_analysed_recurrence(method):
    # θ_{n+1} = θ_n + β(θ_n − θ_{n−1}) − η∇L(point), point θ_n (heavy ball) or
    # θ_n + β(θ_n − θ_{n−1}) (Nesterov), the recurrence of dynopt.symbolic.recurrences
    H = np.diag([3.0, 1.0, 0.2])
    lr, b = 0.2, 0.7
    opt = make_optimizer(method, lr, b)
    from dynopt.optim import step

    theta = np.array([1.0, -2.0, 0.5])
    state = opt.init(theta)
    prev, cur = theta.copy(), theta.copy()
    for _ in range(30):
        theta, state = step(opt, lambda p: H @ p, theta, state)
        mom = b * (cur - prev)
        point = cur if method == "heavy-ball" else cur + mom
        prev, cur = cur, cur + mom - lr * (H @ point)
        np.testing.assert_allclose(theta, cur, rtol=1e-13, atol=1e-15)


# -- training runs on a quadratic ----------------------------------------------------------
def _quadratic_task():
    model = nets.LinearRegression(3)
    X = RNG.standard_normal((40, 3)) * np.array([2.0, 1.0, 0.5])
    y = X @ np.array([1.0, -1.0, 0.5]) + 0.3
    A = np.hstack([X, np.ones((40, 1))])
    S = np.linalg.eigvalsh(A.T @ A / 40).max()
    best = np.linalg.lstsq(A, y, rcond=None)[0]
    return model, X, y, S, 0.5 * np.mean((A @ best - y) ** 2)


@pytest.mark.parametrize("method,momentum", [("gd", 0.0), ("heavy-ball", 0.8), ("nesterov", 0.8)])
def test_quadratic_diverges_above_the_threshold_and_converges_below(method, momentum):
    model, X, y, S, loss_min = _quadratic_task()
    p0 = model.init_params(0)
    # the step at which S is the threshold: η* = (max αh)(β)/S
    lr_star = sharpness_threshold(method, 1.0, momentum) / S
    above = train_tracking_sharpness(model, p0, X, y, method, 1.3 * lr_star, momentum,
                                     n_steps=3000, every=3000, rng=0)
    below = train_tracking_sharpness(model, p0, X, y, method, 0.9 * lr_star, momentum,
                                     n_steps=3000, every=3000, rng=0)
    assert above.sharpness[0, 0] == pytest.approx(S, rel=1e-6)
    assert above.sharpness[0, 0] > above.threshold and below.sharpness[0, 0] < below.threshold
    assert above.diverged_step is not None
    assert below.diverged_step is None
    assert below.losses[-1] == pytest.approx(loss_min, rel=1e-9)


def test_run_records_losses_and_sharpness_on_a_network():
    model, y = TanhMLP(4, 6, 3), Y_REG
    p0 = model.init_params(1)
    run = train_tracking_sharpness(model, p0, X_SMALL, y, "gd", 0.1, n_steps=25, every=10, n_eigs=2,
                                   tol=1e-10, rng=0)
    assert run.losses.shape == (26,) and list(run.steps) == [0, 10, 20, 25]
    assert run.sharpness.shape == (4, 2) and np.all(run.sharpness[:, 0] >= run.sharpness[:, 1])
    assert run.sharpness[0, 0] == pytest.approx(sharpness(model, p0, X_SMALL, y, tol=1e-12, rng=3), rel=1e-8)
    assert run.losses[-1] < run.losses[0]
    np.testing.assert_allclose(run.ratio, run.sharpness[:, 0] / (2 / 0.1))


def test_edge_statistics_of_a_constructed_run():
    steps = np.arange(0, 100, 10)
    s = np.array([0.2, 0.5, 0.8, 0.95, 1.2, 1.0, 1.05, 0.98, 1.01, 1.0]) * 4.0
    losses = np.concatenate([np.linspace(1, 0.5, 30), 0.5 - 0.004 * np.arange(61) + 0.01 * (np.arange(61) % 2)])
    run = SharpnessRun("gd", 0.5, 0.0, 4.0, losses, steps, s[:, None], {}, None, 0, 0.0)
    st = edge_statistics(run, (0.9, 1.1), n_windows=3)
    assert isinstance(st, EdgeStats)
    assert st.reach_step == 30 and st.initial_ratio == pytest.approx(0.2)
    assert st.fraction_in_band == pytest.approx(6 / 7)
    assert st.median_ratio == pytest.approx(1.0)
    assert st.loss_increase_fraction > 0.3 and np.all(np.diff(st.loss_window_means) < 0)
    never = SharpnessRun("gd", 0.5, 0.0, 40.0, losses, steps, s[:, None], {}, None, 0, 0.0)
    assert edge_statistics(never).reach_step is None
    with pytest.raises(ValueError, match="`band`"):
        edge_statistics(run, (1.1, 0.9))


def test_run_starts_lanczos_from_the_seeded_vector():
    """The first sharpness is Lanczos from the rng's first normal vector: bit-equal to sharpness(v0=...)
    at the same tol; the same seed (int, Generator) reproduces the run bit for bit."""
    model, y = TanhMLP(4, 6, 3), Y_REG
    p0 = model.init_params(1)
    theta0, _ = ravel_params(p0)
    run = train_tracking_sharpness(model, p0, X_SMALL, y, "gd", 0.1, n_steps=3, every=10, tol=1e-3, rng=5)
    v0 = np.random.default_rng(5).standard_normal(theta0.size)
    assert run.sharpness[0, 0] == sharpness(model, p0, X_SMALL, y, v0=v0, tol=1e-3)
    again = train_tracking_sharpness(model, p0, X_SMALL, y, "gd", 0.1, n_steps=3, every=10, tol=1e-3,
                                     rng=np.random.default_rng(5))
    np.testing.assert_array_equal(again.sharpness, run.sharpness)
    assert again.n_products == run.n_products and list(run.steps) == [0, 3]


def test_run_names_defaults_and_refusals():
    """Method name, lr and momentum are the run's; the default every is 10 and n_eigs 1; each count and a
    missing lr are refused by name."""
    model, y = TanhMLP(4, 6, 3), Y_REG
    p0 = model.init_params(1)
    run = train_tracking_sharpness(model, p0, X_SMALL, y, "heavy-ball", 0.05, 0.5, n_steps=21, rng=0)
    assert (run.method, run.lr, run.momentum) == ("heavy-ball", 0.05, 0.5)
    assert list(run.steps) == [0, 10, 20, 21] and run.sharpness.shape == (4, 1)
    assert run.threshold == pytest.approx(sharpness_threshold("heavy-ball", 0.05, 0.5), rel=1e-12)
    assert run.diverged_step is None and run.preconditioned is None and run.hvp.startswith("exact")
    for kw, name in (({"n_steps": 0}, "n_steps"), ({"n_steps": 5, "every": 0}, "every"),
                     ({"n_steps": 5, "n_eigs": 0}, "n_eigs")):
        with pytest.raises(ValueError, match=rf"`{name}` must be a positive integer; got 0"):
            train_tracking_sharpness(model, p0, X_SMALL, y, "gd", 0.1, **kw)
    with pytest.raises(ValueError, match=r"^`lr` must be given \(a positive float\) for a named method$"):
        train_tracking_sharpness(model, p0, X_SMALL, y, "gd", n_steps=5)


def _edge_run(ratios, losses, steps, threshold=4.0):
    s = np.asarray(ratios, float) * threshold  # ×4 and ÷4 are exact: the ratios come back bit for bit
    return SharpnessRun("gd", 0.5, 0.0, threshold, np.asarray(losses, float), np.asarray(steps), s[:, None],
                        {}, None, 0, 0.0)


def test_edge_statistics_every_field_by_hand():
    """Arrival at exactly lo, membership at both band edges, median, linear quantiles, loss windows and
    the share of rising steps, all computed here."""
    steps = [0, 10, 20, 30, 40, 50]
    rng = np.random.default_rng(2)
    losses = 1.0 + rng.normal(size=51) * 0.1
    run = _edge_run([0.5, 0.85, 0.9, 1.2, 1.1, 0.95], losses, steps)
    st = edge_statistics(run, (0.9, 1.1), n_windows=3)
    tail = losses[20:]
    rises = sum(tail[j + 1] > tail[j] for j in range(30)) / 30
    want = EdgeStats((0.9, 1.1), 0.5, 20, 3 / 4, (0.95 + 1.1) / 2, (0.9 + 0.15 * 0.05, 1.1 + 0.85 * 0.1),
                     losses[20], losses[-1], rises, (tail[:11].mean(), tail[11:21].mean(), tail[21:].mean()))
    for got, exp in zip(st, want):
        np.testing.assert_allclose(got, exp, rtol=1e-12)
    assert st.reach_step == 20 and isinstance(st.reach_step, int)
    # from_step: the first measurement at or after it, and arrival only from there
    late = edge_statistics(run, (0.9, 1.1), n_windows=2, from_step=25)
    assert late.initial_ratio == 1.2 and late.reach_step == 30 and late.fraction_in_band == pytest.approx(2 / 3)
    assert late.loss_window_means == pytest.approx((losses[30:41].mean(), losses[41:].mean()), rel=1e-12)
    at = edge_statistics(run, (0.9, 1.1), from_step=30)
    assert at.initial_ratio == 1.2 and at.reach_step == 30
    # the defaults: band (0.9, 1.1), 4 windows, from step 0
    d = edge_statistics(run)
    e = edge_statistics(run, band=(0.9, 1.1), n_windows=4, from_step=0)
    assert d.band == e.band == (0.9, 1.1) and len(d.loss_window_means) == 4
    assert repr(d) == repr(e)


def test_edge_statistics_short_tails_and_no_arrival():
    """Fewer losses than windows gives one window per loss; arrival at the last step leaves no rises (nan);
    no arrival (or from_step past every measurement) reports every statistic as undefined."""
    run = _edge_run([0.2, 1.0], [3.0, 2.0, 1.0], [0, 1])
    st = edge_statistics(run, n_windows=4)
    assert st.reach_step == 1 and st.loss_window_means == (2.0, 1.0) and st.loss_increase_fraction == 0.0
    flat = edge_statistics(_edge_run([0.2, 1.0], [3.0, 2.0, 2.0, 1.0], [0, 1]))
    assert flat.loss_increase_fraction == 0.0  # a flat step is not a rise
    end = _edge_run([0.2, 1.0], [3.0, 2.0, 1.0], [0, 2])
    se = edge_statistics(end)
    assert se.reach_step == 2 and np.isnan(se.loss_increase_fraction) and se.loss_window_means == (1.0,)
    never = edge_statistics(_edge_run([0.2, 0.3], [3.0, 2.0, 1.0], [0, 2]), (0.5, 2.0))
    assert never.band == (0.5, 2.0) and never.initial_ratio == 0.2 and never.reach_step is None
    assert never.final_loss == 1.0 and never.loss_window_means == ()
    for v in (never.fraction_in_band, never.median_ratio, *never.ratio_quantiles, never.loss_at_reach,
              never.loss_increase_fraction):
        assert np.isnan(v)
    past = edge_statistics(_edge_run([0.2, 1.0], [3.0, 2.0, 1.0], [0, 2]), from_step=3)
    assert np.isnan(past.initial_ratio) and past.reach_step is None


def test_edge_statistics_refusals():
    """band must satisfy 0 < lo < hi; n_windows ≥ 1; from_step ≥ 0 — each named with its range."""
    run = _edge_run([0.2, 1.0], [3.0, 2.0, 1.0], [0, 2])
    for band in ((0.0, 1.0), (1.0, 1.0), (1.2, 1.1), (-1.0, 1.0)):
        with pytest.raises(ValueError, match=r"`band` must be \(lo, hi\) with 0 < lo < hi; got " + re.escape(repr(band))):
            edge_statistics(run, band)
    with pytest.raises(ValueError, match=r"`n_windows` must be a positive integer; got 0"):
        edge_statistics(run, n_windows=0)
    with pytest.raises(ValueError, match=r"`from_step` must be a non-negative integer; got -1"):
        edge_statistics(run, from_step=-1)


def _ls_hand(X, y, theta, lr, momentum, n, lookahead):
    """Full-batch losses of Sutskever heavy ball / Nesterov on ½ mean (Aθ − y)², A = [X, 1]."""
    A = np.hstack([X, np.ones((len(y), 1))])
    loss = lambda t: 0.5 * np.mean((A @ t - y) ** 2)  # noqa: E731
    grad = lambda t: A.T @ (A @ t - y) / len(y)  # noqa: E731
    v = np.zeros_like(theta)
    out = [loss(theta)]
    for _ in range(n):
        point = theta + momentum * v if lookahead else theta
        v = momentum * v - lr * grad(point)
        theta = theta + v
        out.append(loss(theta))
    return np.array(out), theta, A


@pytest.mark.parametrize("method,momentum", [("gd", 0.0), ("heavy-ball", 0.7), ("nesterov", 0.7)])
def test_run_losses_sharpness_and_params_by_hand_on_least_squares(method, momentum):
    """On a linear regression the loss path is the hand recursion (the iterate's loss for Nesterov, not the
    look-ahead's), the sharpness is λ_max(AᵀA/N) at every measurement, params are the last iterate."""
    model, X, y, S, _ = _quadratic_task()
    p0 = model.init_params(0)
    theta0 = np.concatenate([p0["w"], p0["b"]])
    run = train_tracking_sharpness(model, p0, X, y, method, 0.05, momentum, n_steps=12, every=5, n_eigs=2,
                                   tol=1e-10, rng=0)
    losses, theta, A = _ls_hand(X, y, theta0, 0.05, momentum, 12, method == "nesterov")
    np.testing.assert_allclose(run.losses, losses, rtol=1e-12)
    assert list(run.steps) == [0, 5, 10, 12]
    w = np.linalg.eigvalsh(A.T @ A / len(y))[::-1][:2]
    np.testing.assert_allclose(run.sharpness, np.tile(w, (4, 1)), rtol=1e-8)
    np.testing.assert_allclose(np.concatenate([run.params["w"], run.params["b"]]), theta, rtol=1e-12)
    assert run.diverged_step is None and run.n_products > 0
    assert p0["w"].tolist() == theta0[:3].tolist()  # the start is not modified


def test_run_stops_at_the_first_blown_up_loss():
    """GD far above its threshold: the run stops at the first step whose loss exceeds 10¹² × the initial loss
    (or whose parameters exceed 10¹² × their initial scale), found here by the hand recursion."""
    model, X, y, S, _ = _quadratic_task()
    p0 = model.init_params(0)
    theta0 = np.concatenate([p0["w"], p0["b"]])
    lr = 3.0 / S
    run = train_tracking_sharpness(model, p0, X, y, "gd", lr, n_steps=200, every=1000, rng=0)
    losses, _, A = _ls_hand(X, y, theta0, lr, 0.0, 200, False)
    l_lim = 1e12 * max(1.0, losses[0])
    p_lim = 1e12 * max(1.0, np.abs(theta0).max())
    thetas = [theta0]
    for _ in range(200):
        thetas.append(thetas[-1] - lr * A.T @ (A @ thetas[-1] - y) / len(y))
    first = next(k for k in range(201) if losses[k] > l_lim or np.abs(thetas[k]).max() > p_lim)
    assert run.diverged_step == first and len(run.losses) == first
    np.testing.assert_allclose(run.losses, losses[:first], rtol=1e-9)
    assert list(run.steps) == [0]


def test_run_warm_starts_lanczos_and_counts_its_products():
    """Each measurement is Lanczos at the current iterate warm-started from the previous top eigenvector (the
    first from the seeded normal vector), at the run's tol; n_products is their sum — replayed here."""
    model, y = TanhMLP(4, 6, 3), Y_REG
    p0 = model.init_params(1)
    theta, unravel = ravel_params(p0)
    run = train_tracking_sharpness(model, p0, X_SMALL, y, "gd", 0.1, n_steps=10, every=5, tol=1e-7, rng=7)
    v0 = np.random.default_rng(7).standard_normal(theta.size)
    products, sharp = 0, []
    for k in range(11):
        if k % 5 == 0:
            top = top_eigenvalues(model, unravel(theta), X_SMALL, y, k=1, v0=v0, tol=1e-7)
            v0, products = top.vectors[:, 0], products + top.n_products
            sharp.append(top.values[0])
        theta = theta - 0.1 * _flat_grad(model, unravel, theta, X_SMALL, y)
    assert run.n_products == products
    np.testing.assert_allclose(run.sharpness[:, 0], sharp, rtol=1e-12)


@pytest.mark.parametrize("method,lr,beta,want", [("gd", 0.1, 0.0, 20.0), ("heavy-ball", 0.1, 0.5, 30.0),
                                                  ("nesterov", 0.1, 0.5, 15.0), ("adam", 0.1, 0.5, 60.0)])
def test_sharpness_threshold_closed_forms(method, lr, beta, want):
    """GD 2/η, heavy ball 2(1+β)/η, Nesterov 2(1+β)/((1+2β)η), Adam (2+2β₁)/((1−β₁)η)."""
    assert sharpness_threshold(method, lr, beta) == pytest.approx(want, rel=1e-12)


def test_make_optimizer_hyper_parameter_refusals():
    """lr > 0, momentum in [0, 1), 0 for gd and > 0 for heavy ball and Nesterov; unknown methods listed."""
    with pytest.raises(ValueError, match=r"`lr` must be in \(0.0, inf\); got 0.0"):
        make_optimizer("gd", 0.0)
    with pytest.raises(ValueError, match=r"`momentum` must be in \[0.0, 1.0\); got 1.0"):
        make_optimizer("heavy-ball", 0.1, 1.0)
    with pytest.raises(ValueError, match=r"^`momentum` must be 0 for 'gd' and in \(0, 1\) for 'gd'; got 0.5$"):
        make_optimizer("gd", 0.1, 0.5)
    for m in ("heavy-ball", "nesterov"):
        with pytest.raises(ValueError, match=rf"^`momentum` must be 0 for 'gd' and in \(0, 1\) for '{m}'; got 0.0$"):
            make_optimizer(m, 0.1, 0.0)
    assert make_optimizer("adam", 0.1, 0.0) is not None  # Adam's β₁ may be 0
    with pytest.raises(ValueError, match=r"^`method` must be one of \[.*'gd'.*\] or a dynopt.optim.GradientTransformation; "
                                         r"got 'sgdm'$"):
        make_optimizer("sgdm", 0.1)


@pytest.mark.parametrize("method,beta", [("heavy-ball", 0.6), ("nesterov", 0.6)])
def test_make_optimizer_is_sutskever_momentum(method, beta):
    """Three updates of v ← βv − η∇L(point), θ ← θ + v on L = ½θᵀDθ, point θ or θ + βv."""
    from dynopt import optim
    D = np.array([2.0, 0.5])
    opt = make_optimizer(method, 0.1, beta)
    theta = np.array([1.0, -1.0])
    state = opt.init(theta)
    t, v = theta.copy(), np.zeros(2)
    for _ in range(3):
        point = theta if opt.lookahead is None else opt.lookahead(theta, state)
        upd, state = opt.update(D * point, state, theta)
        theta = optim.apply_updates(theta, upd)
        pt = t + beta * v if method == "nesterov" else t
        v = beta * v - 0.1 * D * pt
        t = t + v
        np.testing.assert_allclose(theta, t, rtol=1e-14)


def test_make_optimizer_momentum_defaults_to_zero():
    """Without ``momentum`` a method runs with β = 0: GD needs nothing more and steps
    θ ← θ − η∇L (checked against the hand loop); the momentum methods must be given one."""
    from dynopt.optim import step
    H = np.diag([2.0, 0.5])
    lr = 0.1
    opt = make_optimizer("gd", lr)
    theta = np.array([1.0, -1.0])
    state = opt.init(theta)
    want = theta.copy()
    for _ in range(5):
        theta, state = step(opt, lambda p: H @ p, theta, state)
        want = want - lr * (H @ want)
    np.testing.assert_allclose(theta, want, rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match=r"^`momentum` must be 0 for 'gd' and in \(0, 1\) for 'heavy-ball'; got 0.0$"):
        make_optimizer("heavy-ball", lr)


def test_momentum_below_zero_is_rejected_naming_the_range():
    """A negative momentum is rejected by the [0, 1) range check, naming `momentum`."""
    with pytest.raises(ValueError, match=r"`momentum` must be in \[0\.0, 1\.0\)"):
        make_optimizer("heavy-ball", 0.1, -0.5)
    with pytest.raises(ValueError, match=r"`momentum` must be in \[0\.0, 1\.0\)"):
        sharpness_threshold("heavy-ball", 0.1, -0.5)
