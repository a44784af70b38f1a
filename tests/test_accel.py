"""Tests of dynopt.analysis, dynopt.schemes.accelerated and the acceleration problems."""
import math

import numpy as np
import pytest
import sympy as sp

from dynopt.analysis import TUNINGS, asymptotic_rate, classify_orbits, iterations_to_tolerance, kramers_parameters, momentum_sgd_ensemble, momentum_sgd_stationary_covariance, nesterov_ode_bessel, nesterov_ode_reference, polyak_tuning, refine_cycle, sgd_stationary_variance, tuned_method
from dynopt.dynamics import GradientFlow, HighResolutionODE
from dynopt.problems import power_function
from dynopt.analysis import fit_order
from dynopt.dynamics import NesterovODE
from dynopt.engine import integrate
from dynopt.problems import double_well, from_expr, from_grad, lessard_function, log_sum_exp, quadratic
from dynopt.analysis import exact_linear
from dynopt.schemes import (METHODS, Euler, HeavyBallSC, NesterovConvex, NesterovSC, get_scheme,
                            leapfrog_coefficients)


# -- problems ------------------------------------------------------------------------------
def test_lessard_function_matches_its_expression_and_paper_pieces():
    p = lessard_function()
    x = np.linspace(-3, 5, 33)[:, None]
    f = sp.lambdify(p.symbols, p.expr)(x[:, 0])
    g = sp.lambdify(p.symbols, sp.diff(p.expr, p.symbols[0]))(x[:, 0])
    assert np.allclose(p.value(x), f, atol=1e-12)
    assert np.allclose(p.grad(x)[:, 0], g, atol=1e-12)
    # the paper's pieces: 25x (x<1), x+24 (1≤x<2), 25x−24 (x≥2)
    assert p.grad(np.array([0.5])) == pytest.approx([12.5])
    assert p.grad(np.array([1.5])) == pytest.approx([25.5])
    assert p.grad(np.array([3.0])) == pytest.approx([51.0])
    assert p.value(np.array([3.0])) == pytest.approx(25 * 9 / 2 - 72 + 36)


def test_lessard_function_rejects_bad_constants():
    with pytest.raises(ValueError, match="`L` and `mu`"):
        lessard_function(L=1.0, mu=2.0)


def test_log_sum_exp_matches_sympy():
    p = log_sum_exp([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], b=[0.1, 0.0, -0.2])
    q = from_expr(p.expr, p.symbols)
    x = np.random.default_rng(3).normal(size=(6, 2)) * 3
    assert np.allclose(p.value(x), q.value(x), atol=1e-12)
    assert np.allclose(p.grad(x), q.grad(x), atol=1e-12)
    assert np.allclose(p.hess(x), q.hess(x), atol=1e-12)


def test_power_function_validates_p():
    with pytest.raises(ValueError, match="`p`"):
        power_function(1.0)


# -- tunings and rates ---------------------------------------------------------------------
@pytest.mark.parametrize("key", list(TUNINGS))
def test_tuned_methods_reach_tolerance_at_the_predicted_rate(key):
    kappa = 100.0
    prob = quadratic(np.diag(np.logspace(0, 2, 6)))
    tu = TUNINGS[key](1.0, kappa)
    model, scheme, dt = tuned_method(prob, tu)
    run = iterations_to_tolerance(model, scheme, np.ones(6), dt, np.zeros(6), 1e-8, max_iter=5000)
    assert run.reached
    assert 0.8 <= run.iterations / tu.predicted_iterations(1e-8) <= 1.6
    assert math.log(asymptotic_rate(run.errors)) / math.log(tu.rate) == pytest.approx(1.0, abs=0.02)


def test_tuned_heavy_ball_is_polyaks_recurrence():
    prob = quadratic(np.diag([1.0, 10.0]))
    tu = polyak_tuning(1.0, 10.0)
    model, scheme, dt = tuned_method(prob, tu)
    sol = integrate(model, scheme, (0.0, 20 * dt), [1.0, 1.0], dt, save_every=1)
    x_prev = x = np.array([1.0, 1.0])
    for k in range(20):
        x, x_prev = x - tu.alpha * prob.grad(x) + tu.beta * (x - x_prev), x
        assert np.allclose(sol.y[k + 1, 0, :2], x, atol=1e-12)


def test_iterations_to_tolerance_validates_and_reports_divergence():
    prob = quadratic(np.diag([1.0, 10.0]))
    tu = TUNINGS["gd"](1.0, 10.0)
    model, scheme, dt = tuned_method(prob, tu)
    with pytest.raises(ValueError, match="`tol`"):
        iterations_to_tolerance(model, scheme, [1.0, 1.0], dt, [0, 0], tol=2.0)
    run = iterations_to_tolerance(model, scheme, [1.0, 1.0], 0.5, [0, 0], max_iter=2000)  # 0.5·10 > 2
    assert not run.reached and run.diverged_step is not None


def test_iterations_to_tolerance_stops_at_the_first_iterate_below_tol():
    # GD on diag(1, 10) from (1, 1): x_k = (1 − αh)^k x_0 componentwise, so the error history
    # is known in closed form and the run must end exactly where it first drops below tol
    prob = quadratic(np.diag([1.0, 10.0]))
    tu = TUNINGS["gd"](1.0, 10.0)
    model, scheme, dt = tuned_method(prob, tu)
    run = iterations_to_tolerance(model, scheme, [1.0, 1.0], dt, [0, 0], tol=1e-6, max_iter=500)
    k = np.arange(len(run.errors))
    exact = np.linalg.norm((1 - tu.alpha * np.array([1.0, 10.0]))[None, :] ** k[:, None], axis=1) / math.sqrt(2)
    assert np.allclose(run.errors, exact, rtol=1e-10, atol=0)
    assert run.iterations == int(np.argmax(exact <= 1e-6)) == len(run.errors) - 1
    assert run.diverged_step is None
    short = iterations_to_tolerance(model, scheme, [1.0, 1.0], dt, [0, 0], tol=1e-6, max_iter=10)
    assert not short.reached and len(short.errors) == 11


def test_tuning_validates_mu_L():
    with pytest.raises(ValueError, match="`L`"):
        polyak_tuning(2.0, 1.0)


# -- Nesterov's ODE --------------------------------------------------------------------------
@pytest.mark.parametrize("r", [1.0, 2.0, 3.0, 5.0])
def test_reference_from_t0_matches_bessel_closed_form(r):
    H = np.array([[1.0, 0.3], [0.3, 0.2]])
    t = np.linspace(0, 15, 301)
    ref = nesterov_ode_reference(quadratic(H), [1.5, -0.5], t, r=r)
    assert np.max(np.abs(ref[:, :2] - nesterov_ode_bessel(H, [1.5, -0.5], t, r=r))) < 1e-9


def test_series_start_agrees_with_limit_start():
    p = log_sum_exp([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    t = np.linspace(0.01, 8, 200)
    a = nesterov_ode_reference(p, [1.5, -0.5], t)
    b = nesterov_ode_reference(p, [1.5, -0.5], t, start="series", t_start=1e-3)
    assert np.max(np.abs(a - b)) < 1e-9


def test_nesterov_ode_reference_validates_start():
    with pytest.raises(ValueError, match="`start`"):
        nesterov_ode_reference(quadratic(np.eye(1)), [1.0], [1.0], start="bogus")


def test_bessel_closed_form_validates_input():
    with pytest.raises(ValueError, match="`H`"):
        nesterov_ode_bessel(np.eye(2), [1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="`r`"):
        nesterov_ode_bessel(1.0, [1.0], [1.0], r=-1)


def test_nesterov_convex_is_the_paper_recurrence():
    p = quadratic(np.diag([1.0, 0.1]))
    s = 0.01
    sol = integrate(NesterovODE(p, 3.0), "nesterov-convex", (0.0, 30 * math.sqrt(s)), [1.0, 1.0],
                    math.sqrt(s), save_every=1)
    x = y = np.array([1.0, 1.0])
    for k in range(1, 31):
        x_new = y - s * p.grad(y)
        y = x_new + (k - 1) / (k + 2) * (x_new - x)
        x = x_new
        assert np.allclose(sol.y[k, 0, :2], x, atol=1e-13)


def test_nesterov_convex_converges_to_the_ode_at_order_one():
    H = np.diag([1.0, 0.2])
    T, x0 = 6.0, np.array([1.0, 1.0])
    Ns = [40, 80, 160, 320]
    t = np.linspace(0, T, Ns[-1] + 1)
    exact = nesterov_ode_bessel(H, x0, t)
    errs = []
    for N in Ns:
        sol = integrate(NesterovODE(quadratic(H)), NesterovConvex(), (0.0, T), x0, T / N, save_every=1)
        errs.append(np.max(np.abs(sol.y[:, 0, :2] - exact[:: Ns[-1] // N])))
    assert fit_order(T / np.array(Ns), errs).order == pytest.approx(1.0, abs=0.1)


def test_nesterov_convex_requires_rest_start():
    with pytest.raises(ValueError, match="`y0`"):
        integrate(NesterovODE(quadratic(np.eye(1))), "nesterov-convex", (0.0, 1.0), [1.0, 0.5], 0.1)


# -- high-resolution ODEs ---------------------------------------------------------------------
def _hr_errors(cls, variant, start="taylor"):
    H = np.array([[1.0, 0.3], [0.3, 0.6]])
    prob, mu = quadratic(H), float(np.linalg.eigvalsh(H).min())
    x0, T, Ns = np.array([1.0, -1.0]), 4.0, [40, 80, 160]
    errs = []
    own = "heavy-ball" if cls is HeavyBallSC else "nag-sc"
    for N in Ns:
        h = T / N
        m = HighResolutionODE(prob, mu, h * h, own)
        y0 = np.concatenate([x0, m.shi_initial_velocity(x0)])
        sol = integrate(m, cls(start=start), (0.0, T), y0, h, save_every=1)
        ref = exact_linear(HighResolutionODE(prob, mu, h * h, variant), y0, sol.t)[:, 0, :2]
        errs.append(np.max(np.linalg.norm(sol.y[:, 0, :2] - ref, axis=1)))
    return fit_order(T / np.array(Ns), errs).order


@pytest.mark.parametrize("cls,own,other", [(HeavyBallSC, "heavy-ball", "nag-sc"),
                                           (NesterovSC, "nag-sc", "heavy-ball")])
def test_each_method_tracks_its_own_high_resolution_ode_to_order_s(cls, own, other):
    assert _hr_errors(cls, own) == pytest.approx(2.0, abs=0.2)
    assert _hr_errors(cls, other) == pytest.approx(1.0, abs=0.2)
    assert _hr_errors(cls, "low-resolution") == pytest.approx(1.0, abs=0.2)


def test_high_resolution_model_validates():
    p = quadratic(np.eye(2))
    with pytest.raises(ValueError, match="`variant`"):
        HighResolutionODE(p, 1.0, 0.01, "bogus")
    with pytest.raises(ValueError, match="`s`"):
        HighResolutionODE(p, 1.0, 2.0)
    with pytest.raises(ValueError, match="`dt`"):
        integrate(HighResolutionODE(p, 1.0, 0.01), HeavyBallSC(), (0.0, 1.0), [1.0, 1.0], 0.2)
    with pytest.raises(ValueError, match="`start`"):
        NesterovSC(start="bogus")


def test_accel_schemes_are_registered():
    for name in ("nesterov-convex", "heavy-ball-sc", "nag-sc"):
        assert name in METHODS
        assert get_scheme(name).name == name


# -- momentum SGD and the Kramers equation ----------------------------------------------------
def test_stationary_covariance_matches_closed_form():
    a, b, h, c = 0.01, 0.9, 2.0, 0.5
    S = momentum_sgd_stationary_covariance(a, b, h, c)
    assert S[0, 0] == pytest.approx(a * c * (1 + b) / (h * (1 - b) * (2 * (1 + b) - a * h)), rel=1e-10)


def test_kramers_temperature_is_sgd_temperature():
    a, b = leapfrog_coefficients(0.05, 2.0)
    kp = kramers_parameters(a, b, 3.0)
    assert kp.temperature == pytest.approx(a * 3.0 / (2 * (1 - b)), rel=1e-12)
    assert kp.sigma2 == pytest.approx(kp.gamma * 3.0)
    assert h_var_limit(a, b) == pytest.approx(kp.temperature, rel=0.01)


def h_var_limit(a, b, h=1.0, c=3.0):
    return h * momentum_sgd_stationary_covariance(a, b, h, c)[0, 0]


def test_momentum_sgd_stationary_variance_monte_carlo(rng):
    a, b = leapfrog_coefficients(0.3, 1.0)
    n = 20000
    run = momentum_sgd_ensemble(quadratic(np.eye(1)), a, b, 1.0, 300, n, rng)
    var = run.theta[:, 0].var(ddof=1)
    exact = momentum_sgd_stationary_covariance(a, b, 1.0, 1.0)[0, 0]
    assert abs(var - exact) <= 5 * exact * math.sqrt(2 / (n - 1))


def test_naive_sghmc_energy_grows_at_ito_rate():
    gamma, n, steps = 0.1, 4000, 1000
    run = momentum_sgd_ensemble(quadratic(np.eye(1)), gamma ** 2, 1.0, 1.0, steps, n,
                                rng=np.random.default_rng(5), theta0=[0.0], record_every=steps)
    predicted = 0.5 * gamma * 1.0 * steps * gamma  # (σ²/2) t with σ² = γc, t = nγ
    assert abs(run.energy_mean[-1] - predicted) <= 5 * run.energy_se[-1] + 0.02 * predicted


def test_momentum_sgd_validation():
    p = quadratic(np.eye(1))
    with pytest.raises(ValueError, match="`beta`"):
        momentum_sgd_ensemble(p, 0.1, 1.5, 1.0, 10, 10, 0)
    with pytest.raises(ValueError, match="`n_paths`"):
        momentum_sgd_ensemble(p, 0.1, 0.5, 1.0, 10, 0, 0)
    with pytest.raises(TypeError, match="`rng`"):
        momentum_sgd_ensemble(p, 0.1, 0.5, 1.0, 10, 10, "seed")
    with pytest.raises(ValueError, match="unstable"):
        momentum_sgd_stationary_covariance(1.0, 0.9, 10.0, 1.0)
    with pytest.raises(ValueError, match="`lr`"):
        sgd_stationary_variance(1.0, 3.0, 1.0)


def test_momentum_sgd_is_reproducible_with_a_seed():
    p = quadratic(np.eye(2))
    a = momentum_sgd_ensemble(p, 0.01, 0.9, 1.0, 50, 7, 11)
    b = momentum_sgd_ensemble(p, 0.01, 0.9, 1.0, 50, 7, np.random.SeedSequence(11))
    c, e = (momentum_sgd_ensemble(p, 0.01, 0.9, 1.0, 50, 7, np.random.default_rng(11)) for _ in range(2))
    assert np.array_equal(a.theta, b.theta) and np.array_equal(c.theta, e.theta)
    assert not np.array_equal(a.theta, momentum_sgd_ensemble(p, 0.01, 0.9, 1.0, 50, 7, 12).theta)


@pytest.mark.parametrize("beta", [0.8, 1.0])
def test_momentum_sgd_ensemble_without_noise_is_the_heavy_ball_iteration(beta):
    # c = 0: the Kramers run through the engine must be the optimizer's recurrence itself
    p = quadratic(np.diag([1.0, 4.0]))
    a = 0.05
    run = momentum_sgd_ensemble(p, a, beta, 0.0, 40, 3, 0, theta0=[1.0, -1.0], record_every=10)
    theta, v = np.array([1.0, -1.0]), np.zeros(2)
    energy = [p.value(theta)]
    for n in range(1, 41):
        v = beta * v - a * p.grad(theta)
        theta = theta + v
        if n % 10 == 0:
            energy.append(0.5 * np.sum(v ** 2) / run.gamma ** 2 + p.value(theta))
    assert np.allclose(run.theta, theta, rtol=1e-12, atol=1e-14)
    assert np.allclose(run.v, v, rtol=1e-12, atol=1e-14)
    assert np.array_equal(run.steps, [0, 10, 20, 30, 40])
    assert np.allclose(run.energy_mean, energy, rtol=1e-12) and np.all(run.energy_se <= 1e-12)


# -- Lessard's cycle ---------------------------------------------------------------------------
def test_heavy_ball_has_a_stable_period_three_cycle_on_lessards_function():
    prob = lessard_function()
    tu = polyak_tuning(1.0, 25.0)
    model, scheme, dt = tuned_method(prob, tu)
    starts = np.linspace(3.07, 3.46, 40)
    labels, tails = classify_orbits(model, scheme, dt, starts, n_steps=1000)
    assert np.all(labels == 3)
    cyc = refine_cycle(prob, tu.alpha, tu.beta, tails[0, -2:], 3)
    assert cyc.stable and cyc.residual < 1e-12
    # the cycle is a fixed point of three heavy-ball steps
    x_prev, x = cyc.points[-1], cyc.points[0]
    for expect in (cyc.points[1], cyc.points[2], cyc.points[0]):
        x, x_prev = x + tu.beta * (x - x_prev) - tu.alpha * prob.grad(np.array([x]))[0], x
        assert x == pytest.approx(expect, abs=1e-12)


@pytest.mark.parametrize("key", ["gd", "nesterov"])
def test_gd_and_nesterov_converge_on_lessards_function(key):
    prob = lessard_function()
    model, scheme, dt = tuned_method(prob, TUNINGS[key](1.0, 25.0))
    labels, _ = classify_orbits(model, scheme, dt, np.linspace(-10, 10, 201), n_steps=1500)
    assert np.all(labels == 0)


def test_classify_orbits_labels_blown_up_starts_and_runs_the_rest_unchanged():
    # GD with step 0.3 on the double well x⁴/4 − x²/2 blows up from large |x0| only
    model = GradientFlow(double_well(1))
    starts = np.linspace(-4, 4, 81)
    labels, tails = classify_orbits(model, Euler(), 0.3, starts, n_steps=300)
    div = labels == -1
    assert div.any() and (~div).any()
    assert np.isnan(tails[div]).all() and np.isfinite(tails[~div]).all()
    assert np.abs(starts[div]).min() > np.abs(starts[~div]).max()
    kept, kept_tails = classify_orbits(model, Euler(), 0.3, starts[~div], n_steps=300)
    assert np.array_equal(kept, labels[~div]) and np.array_equal(kept_tails, tails[~div])
    with pytest.raises(ValueError, match="`n_steps`"):
        classify_orbits(model, Euler(), 0.3, starts, n_steps=10)


def test_refine_cycle_validates():
    with pytest.raises(ValueError, match="`period`"):
        refine_cycle(lessard_function(), 1 / 9, 4 / 9, [0.0, 1.0], 0)


def test_nesterov_convex_reports_the_velocity_of_its_iterates():
    from dynopt.dynamics import NesterovODE
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    s = 0.125
    sol = integrate(NesterovODE(quadratic(np.eye(1))), "nesterov-convex", (0.0, 4 * s), [1.0, 0.0], s, save_every=1)
    x, v = sol.y[:, 0, 0], sol.y[:, 0, 1]
    assert v[0] == 0.0                              # from rest
    np.testing.assert_allclose(v[1:], np.diff(x) / s, rtol=1e-14)
    assert np.all(v[1:] < 0)                         # it moved towards the minimum


def test_strongly_convex_two_step_euler_start_and_velocity():
    from dynopt.dynamics import HighResolutionODE
    from dynopt.problems import quadratic
    from dynopt.schemes import HeavyBallSC

    s = 0.01
    model = HighResolutionODE(quadratic(np.eye(2)), 1.0, s)
    y0 = np.array([[1.0, -1.0, 0.5, 0.25]])
    sch = HeavyBallSC(start="euler")
    st = sch.init(model, y0, 0.1)
    np.testing.assert_array_equal(st.x_next, y0[:, :2] + 0.1 * y0[:, 2:])
    assert st.grad_evals == 0
    np.testing.assert_allclose(sch.output(model, st), y0, rtol=1e-14)      # velocity (x₁ − x₀)/√s
    with pytest.raises(ValueError, match="^`start` must be one of"):
        HeavyBallSC(start="midpoint")
    # dt must be √s to 1e-9 relative, whatever the size of s
    with pytest.raises(ValueError, match="^`dt` must be √s"):
        sch.init(model, y0, 0.1 * (1 + 1e-6))


def test_heavy_ball_sc_repr_names_its_start():
    from dynopt.schemes import HeavyBallSC

    assert repr(HeavyBallSC(start="euler")) == "HeavyBallSC(start='euler')"


def _slope_and_se(x, y):
    """Least-squares slope of y on x and its standard error, by the textbook sums."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xm, ym = x.mean(), y.mean()
    sxx = ((x - xm) ** 2).sum()
    b = ((x - xm) * (y - ym)).sum() / sxx
    resid = y - ym - b * (x - xm)
    return b, math.sqrt((resid ** 2).sum() / (x.size - 2) / sxx)


def test_decay_exponent_fits_the_default_window_including_its_edges():
    """``decay_exponent``: p = −slope of log v on log t over t ∈ [0.1 T, T] (both ends included,
    the default window), positive values only, with the slope's standard error; checked against the
    least-squares sums on the hand-picked points of noisy power-law data."""
    from dynopt.analysis import decay_exponent

    t = np.arange(1, 201) * 0.05                      # T = 10; 0.1·T = 1.0 and T are grid points
    rng = np.random.default_rng(5)
    v = 2.0 * t ** -1.5 * np.exp(0.1 * rng.standard_normal(t.size))
    v[t < 1.0] *= 50.0                                # a different law before the window
    v[[40, 90]] = 0.0                                 # zeros inside it are skipped, not logged
    p, se = decay_exponent(t, v)
    keep = [k for k in range(t.size) if 1.0 - 1e-12 <= t[k] <= 10.0 and v[k] > 0]
    assert keep[0] == 19 and keep[-1] == 199 and len(keep) == 179
    b, b_se = _slope_and_se(np.log(t[keep]), np.log(v[keep]))
    assert p == pytest.approx(-b, rel=1e-12) and se == pytest.approx(b_se, rel=1e-10)
    assert 1.4 < p < 1.6
    assert isinstance(p, float) and isinstance(se, float)


def test_decay_exponent_explicit_window_and_too_few_points():
    """An explicit ``window`` (fractions of T) selects [lo·T, hi·T]; exactly 3 positive values
    are enough (an exact power law gives its exponent and a zero standard error), 2 are refused."""
    from dynopt.analysis import decay_exponent

    t = np.array([1.0, 2.0, 4.0, 5.0, 8.0, 10.0])
    v = 3.0 * t ** -2.0
    v[0] = 1.0                                        # outside the window below
    v[-1] = 7.0                                       # outside the window above
    p, se = decay_exponent(t, v, window=(0.2, 0.8))   # t ∈ {2, 4, 5, 8}
    assert p == pytest.approx(2.0, rel=1e-12) and se == pytest.approx(0.0, abs=1e-12)
    p3, _ = decay_exponent(t, v, window=(0.4, 0.8))   # t ∈ {4, 5, 8}: exactly three
    assert p3 == pytest.approx(2.0, rel=1e-12)
    with pytest.raises(ValueError, match="fewer than 3 positive values in the fitting window"):
        decay_exponent(t, v, window=(0.5, 0.8))       # t ∈ {5, 8}
    v0 = v.copy()
    v0[2] = 0.0
    with pytest.raises(ValueError, match="fewer than 3 positive values"):
        decay_exponent(t, v0, window=(0.4, 0.8))      # t = 4 has no positive value


@pytest.mark.parametrize("lookahead", [False, True])
def test_momentum_sgd_matrices_are_one_hand_step(lookahead):
    """A z + b ξ is one step of heavy ball (gradient at θ) or Nesterov (gradient at θ + βv) on hθ²/2."""
    from dynopt.analysis import momentum_sgd_matrices
    alpha, beta, h = 0.3, 0.7, 1.9
    A, bv = momentum_sgd_matrices(alpha, beta, h, lookahead=lookahead)
    for theta, v, xi in ((0.4, -1.3, 0.0), (-2.0, 0.5, 0.8), (1.0, 1.0, -0.3)):
        at = theta + beta * v if lookahead else theta
        v1 = beta * v - alpha * (h * at + xi)
        np.testing.assert_allclose(A @ [theta, v] + bv * xi, [theta + v1, v1], rtol=1e-13, atol=1e-15)
    if not lookahead:
        assert np.array_equal(momentum_sgd_matrices(alpha, beta, h)[0], A)


@pytest.mark.parametrize("lookahead", [False, True])
def test_momentum_sgd_stationary_covariance_solves_the_lyapunov_equation(lookahead):
    """Σ = AΣAᵀ + c bbᵀ with A, b written out by hand; symmetric positive definite."""
    alpha, beta, h, c = 0.2, 0.6, 1.5, 2.5
    S = momentum_sgd_stationary_covariance(alpha, beta, h, c, lookahead=lookahead)
    ah = alpha * h
    A = np.array([[1 - ah, beta * (1 - ah)], [-ah, beta * (1 - ah)]]) if lookahead else \
        np.array([[1 - ah, beta], [-ah, beta]])
    bv = np.array([-alpha, -alpha])
    np.testing.assert_allclose(S, A @ S @ A.T + c * np.outer(bv, bv), rtol=1e-12, atol=1e-15)
    assert np.all(np.linalg.eigvalsh(S) > 0)
    # β = 0 is plain SGD: Var θ = αc/(h(2 − αh))
    assert momentum_sgd_stationary_covariance(alpha, 0.0, h, c)[0, 0] == pytest.approx(
        alpha * c / (h * (2 - ah)), rel=1e-12)


def test_momentum_sgd_stationary_covariance_messages():
    """Each refusal names its argument and the allowed range."""
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0.0, inf\); got 0.0"):
        momentum_sgd_stationary_covariance(0.0, 0.5, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"`beta` must be in \[0.0, 1.0\); got 1.0"):
        momentum_sgd_stationary_covariance(0.1, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"`beta` must be in \[0.0, 1.0\); got -0.1"):
        momentum_sgd_stationary_covariance(0.1, -0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"`h` must be in \(0.0, inf\); got 0.0"):
        momentum_sgd_stationary_covariance(0.1, 0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"`noise_var` must be in \[0.0, inf\); got -1.0"):
        momentum_sgd_stationary_covariance(0.1, 0.5, 1.0, -1.0)
    with pytest.raises(ValueError, match=r"momentum SGD with alpha=1, beta=0.9 is unstable at curvature h=10"):
        momentum_sgd_stationary_covariance(1.0, 0.9, 10.0, 1.0)
    # zero noise is allowed and gives the zero covariance
    assert np.array_equal(momentum_sgd_stationary_covariance(0.1, 0.5, 1.0, 0.0), np.zeros((2, 2)))


def test_sgd_stationary_variance_closed_form_and_edges():
    """lr·c/(h(2 − lr·h)) at a few points; lr·h = 2 refused, just below accepted; each argument named."""
    assert sgd_stationary_variance(0.1, 3.0, 2.0) == pytest.approx(0.1 * 2.0 / (3.0 * 1.7), rel=1e-14)
    assert sgd_stationary_variance(0.5, 1.0, 0.0) == 0.0
    assert sgd_stationary_variance(1.0, 1.999, 1.0) == pytest.approx(1.0 / (1.999 * 0.001), rel=1e-9)
    with pytest.raises(ValueError, match=r"`lr`·h must be < 2 for a stationary law; got 2"):
        sgd_stationary_variance(1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match=r"`lr` must be in \(0.0, inf\); got 0.0"):
        sgd_stationary_variance(0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"`h` must be in \(0.0, inf\); got -1.0"):
        sgd_stationary_variance(0.1, -1.0, 1.0)
    with pytest.raises(ValueError, match=r"`noise_var` must be in \[0.0, inf\); got -0.5"):
        sgd_stationary_variance(0.1, 1.0, -0.5)


def test_momentum_sgd_ensemble_defaults_and_single_path():
    """theta0 defaults to the problem's minimum (else 0); one path has an undefined (NaN) standard error."""
    p = quadratic(np.diag([1.0, 2.0]), center=[1.5, -0.5])
    run = momentum_sgd_ensemble(p, 0.05, 0.8, 0.0, 20, 2, 0)
    np.testing.assert_allclose(run.theta, [[1.5, -0.5]] * 2, atol=1e-14)
    assert np.array_equal(run.steps, [0, 20])
    assert np.allclose(run.energy_mean, 0.0, atol=1e-14)
    no_min = from_grad(lambda x: x - 1.0, dim=1, value=lambda x: 0.5 * np.sum((x - 1.0) ** 2, axis=-1))
    assert no_min.minima is None
    r0 = momentum_sgd_ensemble(no_min, 0.1, 0.5, 0.0, 3, 1, 0, record_every=1)
    theta, v = 0.0, 0.0  # started from 0, pulled towards 1
    for _ in range(3):
        v = 0.5 * v - 0.1 * (theta - 1.0)
        theta += v
    assert r0.theta[0, 0] == pytest.approx(theta, rel=1e-13)
    assert np.array_equal(r0.steps, [0, 1, 2, 3])
    assert r0.energy_se.dtype == float and r0.energy_se.shape == (4,) and np.isnan(r0.energy_se).all()


def test_momentum_sgd_ensemble_messages():
    """Each refusal names its argument and the allowed range."""
    p = quadratic(np.eye(1))
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0.0, inf\); got 0.0"):
        momentum_sgd_ensemble(p, 0.0, 0.5, 1.0, 10, 10, 0)
    with pytest.raises(ValueError, match=r"`beta` must be in \[0.0, 1.0\]; got -0.1"):
        momentum_sgd_ensemble(p, 0.1, -0.1, 1.0, 10, 10, 0)
    with pytest.raises(ValueError, match=r"`noise_var` must be in \[0.0, inf\); got -1.0"):
        momentum_sgd_ensemble(p, 0.1, 0.5, -1.0, 10, 10, 0)
    with pytest.raises(ValueError, match=r"`n_steps` must be a positive integer; got 0"):
        momentum_sgd_ensemble(p, 0.1, 0.5, 1.0, 0, 10, 0)
    with pytest.raises(ValueError, match=r"`n_paths` must be a positive integer; got 0"):
        momentum_sgd_ensemble(p, 0.1, 0.5, 1.0, 10, 0, 0)
    with pytest.raises(ValueError, match=r"`record_every` must be a positive integer; got 0"):
        momentum_sgd_ensemble(p, 0.1, 0.5, 1.0, 10, 10, 0, record_every=0)
    # β = 1 (naive SGHMC) and β = 0 are inside the closed range
    assert momentum_sgd_ensemble(p, 0.1, 1.0, 0.0, 2, 1, 0).gamma > 0
    assert momentum_sgd_ensemble(p, 0.1, 0.0, 0.0, 2, 1, 0).gamma > 0


def test_refine_cycle_newton_lands_on_a_linear_map_fixed_point_in_one_step():
    """On a quadratic the period map is linear: one Newton step (J − I)⁻¹ lands on x* exactly."""
    from dynopt.problems import quadratic
    p = quadratic([[2.0]], center=[0.7])
    alpha, beta = 0.3, 0.5
    cyc = refine_cycle(p, alpha, beta, [1.9, -2.4], 1, max_iter=2)
    assert cyc.period == 1 and cyc.points == pytest.approx([0.7], abs=1e-12) and cyc.residual <= 1e-13 * 1.7
    M = np.array([[0.0, 1.0], [-beta, 1 + beta - alpha * 2.0]])
    np.testing.assert_allclose(np.sort_complex(cyc.multipliers), np.sort_complex(np.linalg.eigvals(M)), rtol=1e-12)
    assert cyc.stable
    # period 2 of the same linear map: the period map's Jacobian is M², still one step
    cyc2 = refine_cycle(p, alpha, beta, [1.9, -2.4], 2, max_iter=2)
    assert cyc2.points == pytest.approx([0.7, 0.7], abs=1e-12)
    np.testing.assert_allclose(np.sort_complex(cyc2.multipliers), np.sort_complex(np.linalg.eigvals(M @ M)), rtol=1e-12)


def test_refine_cycle_lessard_cycle_points_and_multipliers_by_hand():
    """The period-3 cycle on Lessard's function: points are three heavy-ball steps, multipliers the
    eigenvalues of the product of the step Jacobians, written out here."""
    prob = lessard_function()
    tu = polyak_tuning(1.0, 25.0)
    a, b = tu.alpha, tu.beta
    model, scheme, dt = tuned_method(prob, tu)
    _, tails = classify_orbits(model, scheme, dt, [3.2], n_steps=1000)
    cyc = refine_cycle(prob, a, b, tails[0, -2:], 3)
    # started from the other points of the cycle the same (rolled) points come back
    for k in (1, 2):
        other = refine_cycle(prob, a, b, tails[0, -2 - k:tails.shape[1] - k], 3)
        np.testing.assert_allclose(other.points, cyc.points, atol=1e-12)
    xp, x = cyc.points[-1], cyc.points[0]
    J, pts = np.eye(2), [x]
    for _ in range(3):
        h = prob.hess(np.array([x]))[0, 0]
        J = np.array([[0.0, 1.0], [-b, 1 + b - a * h]]) @ J
        x, xp = x + b * (x - xp) - a * prob.grad(np.array([x]))[0], x
        pts.append(x)
    assert pts[-1] == pytest.approx(pts[0], abs=1e-12)
    first = int(np.argmin(pts[:3]))
    assert cyc.points == pytest.approx(pts[first:3] + pts[:first], abs=1e-12)
    np.testing.assert_allclose(np.sort_complex(cyc.multipliers), np.sort_complex(np.linalg.eigvals(J)), rtol=1e-9)
    assert cyc.stable == bool(np.all(np.abs(np.linalg.eigvals(J)) < 1))


def test_refine_cycle_refusals_and_non_convergence():
    """A problem that is not 1-D or has no Hessian is refused by name; Newton that runs out of steps raises."""
    from dynopt.problems import quadratic
    for bad in (quadratic(np.eye(2)), from_grad(lambda x: x, dim=1, value=lambda x: 0.5 * np.sum(x ** 2, axis=-1))):
        with pytest.raises(ValueError, match=r"^`problem` must be 1-D with a Hessian$"):
            refine_cycle(bad, 0.1, 0.5, [0.0, 1.0], 2)
    with pytest.raises(ValueError, match=r"`period` must be a positive integer; got 0"):
        refine_cycle(lessard_function(), 1 / 9, 4 / 9, [0.0, 1.0], 0)
    with pytest.raises(ValueError, match=r"`max_iter` must be a positive integer; got 0"):
        refine_cycle(lessard_function(), 1 / 9, 4 / 9, [0.0, 1.0], 2, max_iter=0)
    tu = polyak_tuning(1.0, 25.0)
    with pytest.raises(RuntimeError, match=r"Newton on the period-3 map did not converge \(\|F\| = "):
        refine_cycle(lessard_function(), tu.alpha, tu.beta, [0.0, 40.0], 3, max_iter=1)
    # a looser tol accepts the start of a nearly converged quadratic run that the default refuses
    p = quadratic([[1.0]])
    with pytest.raises(RuntimeError):
        refine_cycle(p, 0.5, 0.0, [1e-9, 1e-9], 1, max_iter=1)
    assert refine_cycle(p, 0.5, 0.0, [1e-9, 1e-9], 1, tol=1e-8, max_iter=1).residual == pytest.approx(0.5e-9, rel=1e-6)
    # the test is |F| ≤ tol·(1 + max|z|): |F| = 0.5e-9 passes tol = 0.5e-9 and fails just below
    assert refine_cycle(p, 0.5, 0.0, [1e-9, 1e-9], 1, tol=0.5e-9, max_iter=1).period == 1
    with pytest.raises(RuntimeError):
        refine_cycle(p, 0.5, 0.0, [1e-9, 1e-9], 1, tol=0.49e-9, max_iter=1)


@pytest.mark.parametrize("method,uses_hessian", [("Radau", True), ("BDF", True), ("LSODA", True),
                                                 ("RK45", False), ("DOP853", False)])
def test_nesterov_ode_reference_jacobian_for_implicit_methods(method, uses_hessian, monkeypatch):
    """Radau, BDF and LSODA are handed the Hessian-based Jacobian, explicit methods are not; every
    method lands on the Bessel closed form about the problem's center."""
    import dynopt.analysis.nesterov_ode as mod
    from scipy.integrate import solve_ivp
    seen = {}

    def spy(*args, **kw):
        seen.update(kw)
        return solve_ivp(*args, **kw)
    monkeypatch.setattr(mod, "solve_ivp", spy)
    H = np.array([[1.0, 0.3], [0.3, 0.5]])
    c = np.array([0.4, -0.2])
    calls = []

    def hess(x):
        calls.append(1)
        return np.broadcast_to(H, (x.shape[0], 2, 2))
    p = from_grad(lambda x: (x - c) @ H, dim=2, value=lambda x: 0.5 * np.einsum("ni,ij,nj->n", x - c, H, x - c),
                  hess=hess)
    t = np.linspace(0.0, 6.0, 13)
    ref = nesterov_ode_reference(p, [1.5, -0.5], t, r=2.5, method=method, rtol=1e-10)
    assert ("jac" in seen) == uses_hessian
    assert (seen["method"], seen["rtol"], seen["atol"]) == (method, 1e-10, 1e-10 / 10)
    if uses_hessian:
        J = seen["jac"](2.0, np.array([0.1, 0.2, 0.3, 0.4]))
        want = np.block([[np.zeros((2, 2)), np.eye(2)], [-H, -(2.5 / 2.0) * np.eye(2)]])
        np.testing.assert_allclose(J, want, rtol=1e-15)
        np.testing.assert_allclose(seen["jac"](0.0, np.zeros(4))[2:, 2:], 0.0)
        if method != "LSODA":  # LSODA calls it only once it finds the problem stiff
            assert calls
    np.testing.assert_allclose(ref[:, :2], nesterov_ode_bessel(H, [1.5, -0.5], t, r=2.5, center=c), atol=1e-6)


def test_nesterov_ode_reference_series_start_refusals_and_velocity():
    """The series start refuses t_eval before t_start and a non-positive t_start; X' is the velocity."""
    from scipy.special import j1
    p = quadratic(np.eye(1))
    with pytest.raises(ValueError, match=r"`t_eval` must be ≥ `t_start` = 0.01 for the series start"):
        nesterov_ode_reference(p, [1.0], [0.005, 1.0], start="series", t_start=0.01)
    with pytest.raises(ValueError, match=r"`t_start` must be in \(0.0, inf\); got 0.0"):
        nesterov_ode_reference(p, [1.0], [1.0], start="series", t_start=0.0)
    with pytest.raises(ValueError, match=r"`start` must be one of \['limit', 'series'\]; got 'bogus'"):
        nesterov_ode_reference(p, [1.0], [1.0], start="bogus")
    # t_eval = t_start is allowed; r = 3, h = 1: X = 2 J₁(t)/t, X' = −2 J₂(t)/t
    from scipy.special import jv
    t = np.array([0.01, 1.0, 3.0])
    ref = nesterov_ode_reference(p, [1.0], t, start="series", t_start=0.01)
    np.testing.assert_allclose(ref[:, 0], 2 * j1(t) / t, atol=1e-9)
    # the series start is off by O(t_start³) in X' (t_start³/48 here) and carries it along
    np.testing.assert_allclose(ref[:, 1], -2 * jv(2, t) / t, atol=5e-8)
    lim = nesterov_ode_reference(p, [1.0], np.array([0.0, 1.0, 3.0]))
    np.testing.assert_allclose(lim[:, 0], [1.0, 2 * j1(1.0), 2 * j1(3.0) / 3], atol=1e-10)


def test_nesterov_ode_bessel_closed_forms_and_refusals():
    """r = 3: 2J₁(√h t)/(√h t); r = 1: J₀(√h t); about a center; each refusal by name and range."""
    from scipy.special import j0, j1
    t = np.array([0.0, 0.5, 2.0, 7.0])
    s = np.sqrt(2.0) * t
    with np.errstate(invalid="ignore", divide="ignore"):
        want3 = np.where(t > 0, 2 * j1(s) / np.where(s > 0, s, 1.0), 1.0)
    np.testing.assert_allclose(nesterov_ode_bessel(2.0, [1.0], t)[:, 0], want3, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(nesterov_ode_bessel(2.0, [1.0], t, r=1.0)[:, 0], j0(s), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(nesterov_ode_bessel(2.0, [3.0], t, r=1.0, center=[1.0])[:, 0], 1.0 + 2.0 * j0(s),
                               rtol=1e-12)
    H = np.diag([2.0, 0.5])
    got = nesterov_ode_bessel(H, [1.0, -1.0], t, r=1.0)
    np.testing.assert_allclose(got, np.column_stack([j0(s), -j0(np.sqrt(0.5) * t)]), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=r"`H` must have shape \(1, 1\) to match `x0`; got \(2, 2\)"):
        nesterov_ode_bessel(np.eye(2), [1.0], t)
    with pytest.raises(ValueError, match=r"`r` must be in \[0.0, inf\); got -1"):
        nesterov_ode_bessel(1.0, [1.0], t, r=-1)
    with pytest.raises(ValueError, match=r"^`t` must be ≥ 0$"):
        nesterov_ode_bessel(1.0, [1.0], [-0.1, 1.0])
    with pytest.raises(ValueError, match=r"`H` must be positive definite; smallest eigenvalue -1"):
        nesterov_ode_bessel(np.diag([1.0, -1.0]), [1.0, 1.0], t)
    with pytest.raises(ValueError, match=r"`H` must be positive definite; smallest eigenvalue 0"):
        nesterov_ode_bessel(0.0, [1.0], t)
    # r = 0 is allowed: cos(√h t)
    np.testing.assert_allclose(nesterov_ode_bessel(2.0, [1.0], t, r=0.0)[:, 0], np.cos(s), rtol=1e-12, atol=1e-15)


def _gd_tail(grad, x0, s, n_steps, K):
    xs = [x0]
    for _ in range(n_steps):
        xs.append(xs[-1] - s * grad(xs[-1]))
    return np.array(xs[-K:])


def test_classify_orbits_labels_by_hand_on_gradient_descent():
    """GD x ← (1 − sh)(x − c) + c on hx²/2 about c: sh < 2 converges (0), sh = 2 is a 2-cycle, a slow
    decay is undetermined (−2); tails are the last 2·max_period iterates of a hand loop."""
    from dynopt.problems import quadratic
    c, h = 0.5, 2.0
    model = GradientFlow(quadratic([[h]], center=[c]))
    grad = lambda x: h * (x - c)  # noqa: E731
    starts = [0.5, 1.7, -3.0]
    for s, want in ((0.3, [0, 0, 0]), (1.0, [0, 2, 2]), (0.9995, [0, -2, -2])):
        labels, tails = classify_orbits(model, Euler(), s, starts, n_steps=60, max_period=4)
        assert labels.tolist() == want, s
        assert tails.shape == (3, 8)
        for i, x0 in enumerate(starts):
            np.testing.assert_allclose(tails[i], _gd_tail(grad, x0, s, 60, 8), rtol=1e-13, atol=1e-15)
    labels, tails = classify_orbits(model, Euler(), 0.3, starts, n_steps=60)
    assert tails.shape == (3, 24)
    # an exact 2-cycle ±1.5 (x ← x − 2x) is found at max_period = 2 and with cycle_tol = 0
    flip = GradientFlow(quadratic([[2.0]]))
    assert classify_orbits(flip, Euler(), 1.0, [1.5], n_steps=10, max_period=2, cycle_tol=0.0)[0].tolist() == [2]
    assert classify_orbits(flip, Euler(), 1.0, [1.5], n_steps=10, max_period=1)[0].tolist() == [-2]


def test_classify_orbits_fixed_point_away_from_the_first_minimum_is_period_one():
    """On the double well (x* = minima[0] = 1) GD from −1.5 settles at −1: a period-1 orbit, not convergence;
    the tolerances are read with ≤ (a start at x* with conv_tol = 0 converges)."""
    model = GradientFlow(double_well(1))
    labels, _ = classify_orbits(model, Euler(), 0.1, [-1.5, 1.5, 1.0], n_steps=400)
    assert labels.tolist() == [1, 0, 0]
    labels, _ = classify_orbits(model, Euler(), 0.1, [1.0], n_steps=30, conv_tol=0.0)
    assert labels.tolist() == [0]
    # |x_N − x*| ≤ conv_tol·max(1, |x0 − x*|), at its boundary, for a start near x* (scale 1) and a far one
    grad = lambda x: model.problem.grad(np.array([[x]]))[0, 0]  # noqa: E731
    for x0, scale in ((1.2, 1.0), (4.0, 3.0)):
        dist = abs(_gd_tail(grad, x0, 1e-3, 24, 1)[-1] - 1.0)
        assert classify_orbits(model, Euler(), 1e-3, [x0], n_steps=24, conv_tol=dist / scale)[0].tolist() == [0]
        assert classify_orbits(model, Euler(), 1e-3, [x0], n_steps=24,
                               conv_tol=dist / scale * (1 - 1e-9))[0].tolist() == [-2]
    # cycle_tol decides a slowly moving orbit's period-1 label
    labels, _ = classify_orbits(model, Euler(), 1e-3, [-1.5], n_steps=24, cycle_tol=1.0)
    assert labels.tolist() == [1]


def test_classify_orbits_refusals():
    """A model that is not 1-D and too few steps for two longest periods are refused by name."""
    from dynopt.problems import quadratic
    with pytest.raises(ValueError, match=r"^`model` must be 1-D$"):
        classify_orbits(GradientFlow(quadratic(np.eye(2))), Euler(), 0.1, [0.0], n_steps=100)
    with pytest.raises(ValueError, match=r"`n_steps` must be an integer ≥ 24; got 23"):
        classify_orbits(GradientFlow(double_well(1)), Euler(), 0.1, [0.0], n_steps=23)
    with pytest.raises(ValueError, match=r"`n_steps` must be an integer ≥ 8; got 7"):
        classify_orbits(GradientFlow(double_well(1)), Euler(), 0.1, [0.0], n_steps=7, max_period=4)
    assert classify_orbits(GradientFlow(double_well(1)), Euler(), 0.1, [2.0], n_steps=24)[0].shape == (1,)


@pytest.mark.parametrize("mu,L", [(1.0, 16.0), (0.5, 8.0), (2.0, 2.0)])
def test_tunings_closed_forms(mu, L):
    """Every tuning's α, β, rate, method and name from its formula written out here."""
    from dynopt.analysis import gd_tuning, nesterov_quadratic_tuning, nesterov_tuning
    k, q = L / mu, math.sqrt(L / mu)
    g = gd_tuning(mu, L)
    assert (g.name, g.method, g.beta) == ("GD", "gd", 0.0)
    assert g.reference == "Cauchy (1847); Polyak (1987) §1.4"
    assert (g.alpha, g.rate) == (pytest.approx(2 / (L + mu), rel=1e-14), pytest.approx((k - 1) / (k + 1), abs=1e-15))
    p = polyak_tuning(mu, L)
    assert (p.name, p.method) == ("heavy ball (Polyak)", "heavy-ball")
    assert p.alpha == pytest.approx(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, rel=1e-14)
    assert p.beta == pytest.approx(((q - 1) / (q + 1)) ** 2, abs=1e-15)
    assert p.rate == pytest.approx((q - 1) / (q + 1), abs=1e-15)
    n = nesterov_tuning(mu, L)
    assert (n.name, n.method) == ("Nesterov (standard)", "nesterov")
    assert (n.alpha, n.beta, n.rate) == (pytest.approx(1 / L, rel=1e-14), pytest.approx((q - 1) / (q + 1), abs=1e-15),
                                         pytest.approx(1 - 1 / q, abs=1e-15))
    nq = nesterov_quadratic_tuning(mu, L)
    r = math.sqrt(3 * k + 1)
    assert (nq.name, nq.method) == ("Nesterov (quadratic-optimal)", "nesterov")
    assert (nq.alpha, nq.beta, nq.rate) == (pytest.approx(4 / (3 * L + mu), rel=1e-14),
                                            pytest.approx((r - 2) / (r + 2), rel=1e-14), pytest.approx(1 - 2 / r, rel=1e-14))
    assert TUNINGS == {"gd": gd_tuning, "polyak": polyak_tuning, "nesterov": nesterov_tuning,
                       "nesterov-quadratic": nesterov_quadratic_tuning}
    if mu < L:
        assert p.predicted_iterations(1e-6) == pytest.approx(math.log(1e-6) / math.log((q - 1) / (q + 1)), rel=1e-14)


def test_tunings_refuse_bad_mu_and_L():
    """μ > 0 and L ≥ μ, named with the allowed range; L = μ is allowed."""
    from dynopt.analysis import gd_tuning, nesterov_quadratic_tuning, nesterov_tuning
    for f in (gd_tuning, polyak_tuning, nesterov_tuning, nesterov_quadratic_tuning):
        with pytest.raises(ValueError, match=r"`mu` must be in \(0.0, inf\); got 0.0"):
            f(0.0, 1.0)
        with pytest.raises(ValueError, match=r"`L` must be in \[2.0, inf\); got 1.0"):
            f(2.0, 1.0)
        assert f(3.0, 3.0).alpha > 0


def test_tuned_method_gd_and_nesterov_are_their_recurrences():
    """GD is Euler with dt = α; Nesterov is x⁺ = y − α∇L(y), y = x⁺ + β(x⁺ − x), by hand; an unknown method is refused."""
    from dynopt.analysis import Tuning, nesterov_tuning
    prob = quadratic(np.diag([1.0, 10.0]))
    for tu in (TUNINGS["gd"](1.0, 10.0), nesterov_tuning(1.0, 10.0)):
        model, scheme, dt = tuned_method(prob, tu)
        sol = integrate(model, scheme, (0.0, 15 * dt), [1.0, -1.0], dt, save_every=1)
        x = y = np.array([1.0, -1.0])
        for k in range(15):
            x_new = y - tu.alpha * prob.grad(y)
            y = x_new + tu.beta * (x_new - x)
            x = x_new
            np.testing.assert_allclose(sol.y[k + 1, 0, :2], x, rtol=1e-11, atol=1e-13)
    with pytest.raises(ValueError, match=r"`tuning.method` must be one of \['gd', 'heavy-ball', 'nesterov'\]; got 'adam'"):
        tuned_method(prob, Tuning("x", 0.1, 0.5, 0.9, "adam"))


def test_iterations_to_tolerance_boundaries_and_refusals():
    """tol is open at both ends, max_iter a positive integer, a start at x* is refused; the tolerance is
    reached when the error equals it (≤)."""
    prob = quadratic(np.diag([1.0]))
    model, scheme = GradientFlow(prob), Euler()
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=rf"`tol` must be in \(0.0, 1.0\); got {bad}"):
            iterations_to_tolerance(model, scheme, [1.0], 0.5, [0.0], tol=bad)
    with pytest.raises(ValueError, match=r"`max_iter` must be a positive integer; got 0"):
        iterations_to_tolerance(model, scheme, [1.0], 0.5, [0.0], max_iter=0)
    with pytest.raises(ValueError, match=r"^`y0` starts at `x_star`: the relative error is undefined$"):
        iterations_to_tolerance(model, scheme, [[1.0], [0.0]], 0.5, [0.0])
    # x_k = 0.5^k exactly: tol = 0.25 is reached at k = 2 (equality), not 3
    run = iterations_to_tolerance(model, scheme, [1.0], 0.5, [0.0], tol=0.25)
    assert run.iterations == 2 and run.errors.tolist() == [1.0, 0.5, 0.25] and run.reached
    d = iterations_to_tolerance(model, scheme, [1.0], 0.5, [0.0])
    assert d.iterations == 27 and d.errors[-1] == 0.5 ** 27  # default tol 1e-8: 2^-27 ≈ 7.5e-9
    # the worst path decides
    two = iterations_to_tolerance(model, scheme, [[1.0], [-3.0]], 0.5, [0.0], tol=0.25)
    assert two.iterations == 2
    # paths along two axes contract by 0.5 and 0.25 per step: the slower one sets the error
    duo = GradientFlow(quadratic(np.diag([1.0, 1.5])))
    run2 = iterations_to_tolerance(duo, Euler(), [[1.0, 0.0], [0.0, 1.0]], 0.5, [0.0, 0.0], tol=0.25)
    assert run2.iterations == 2 and run2.errors.tolist() == [1.0, 0.5, 0.25]


def test_asymptotic_rate_fits_and_refusals():
    """Exact ρ^k (plain fit) and k·ρ^k (polynomial fit) give ρ back; the tail's share and its checks."""
    k = np.arange(40, dtype=float)
    assert asymptotic_rate(0.8 ** k, polynomial=False) == pytest.approx(0.8, rel=1e-12)
    assert asymptotic_rate((k + 1) * 0.7 ** k) != pytest.approx(0.7, rel=1e-6)  # k+1 is not k: a fit, not exact
    kk = np.arange(1, 41, dtype=float)
    e = np.concatenate([[1.0], kk * 0.7 ** kk])
    assert asymptotic_rate(e) == pytest.approx(0.7, rel=1e-10)
    assert asymptotic_rate(e, tail=0.9) == pytest.approx(0.7, rel=1e-10)
    # a transient in the first half is ignored by the default tail = 0.5 but not by tail = 1
    mixed = np.concatenate([0.5 ** np.arange(20), 0.5 ** 19 * 0.9 ** np.arange(1, 21)])
    assert asymptotic_rate(mixed, polynomial=False) == pytest.approx(0.9, rel=1e-10)
    assert asymptotic_rate(mixed, tail=1.0, polynomial=False) < 0.85
    # tail = 1 fits from k = 1 (log k needs k ≥ 1): e_0 is left out, e_1 is in
    e1 = 0.5 ** np.arange(12.0)
    e1[0] = 1e6
    assert asymptotic_rate(e1, tail=1.0, polynomial=False) == pytest.approx(0.5, rel=1e-12)
    e1[1] = 3.0
    assert asymptotic_rate(e1, tail=1.0, polynomial=False) < 0.47
    with pytest.raises(ValueError, match=r"^need at least 4 errors in the tail; got 3$"):
        asymptotic_rate(0.5 ** np.arange(6.0))
    assert asymptotic_rate(0.5 ** np.arange(8.0), polynomial=False) == pytest.approx(0.5, rel=1e-12)
    with pytest.raises(ValueError, match=r"^`errors` must be > 0 in the tail$"):
        asymptotic_rate([1.0, 0.5, 0.25, 0.1, 0.05, 0.0, 0.01, 0.005])


def test_kramers_parameters_closed_forms_and_refusals():
    """γ, λ from the inverse of eq 15, σ² = γc, T = σ²/(2λ) (∞ at β = 1); each argument named."""
    from dynopt.schemes import leapfrog_ode_parameters
    a, b, c = 0.04, 0.8, 2.5
    kp = kramers_parameters(a, b, c)
    x = (1 - b) / (1 + b)
    g = math.sqrt(a * (1 + x))
    assert kp.gamma == pytest.approx(g, rel=1e-14) and kp.friction == pytest.approx(2 * x / g, rel=1e-14)
    assert kp.sigma2 == pytest.approx(g * c, rel=1e-14)
    assert kp.temperature == pytest.approx(g * c / (2 * 2 * x / g), rel=1e-13)
    assert leapfrog_ode_parameters(a, b) == (kp.gamma, kp.friction)
    # a friction below 1 is still a finite temperature: γ² = α(1 + x), λ = 2x/γ, T = γ²c/(4x)
    slow = kramers_parameters(1.0, 0.5, 0.2)
    assert slow.friction == pytest.approx(2 * (1 / 3) / math.sqrt(4 / 3), rel=1e-14) and slow.friction < 1
    assert slow.temperature == pytest.approx((4 / 3) * 0.2 / (4 / 3), rel=1e-13)
    free = kramers_parameters(a, 1.0, c)
    assert free.friction == 0.0 and free.temperature == math.inf and free.gamma == pytest.approx(math.sqrt(a))
    assert kramers_parameters(a, b, 0.0).temperature == 0.0
    with pytest.raises(ValueError, match=r"`noise_var` must be in \[0.0, inf\); got -1.0"):
        kramers_parameters(a, b, -1.0)
    with pytest.raises(ValueError, match=r"`beta` must be in \[0.0, 1.0\]; got 1.5"):
        kramers_parameters(a, 1.5, c)
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0.0, inf\); got 0.0"):
        kramers_parameters(0.0, b, c)


@pytest.mark.parametrize("r", [3.0, 4.5])
def test_nesterov_convex_iterates_by_hand(r):
    """x_k = y_{k−1} − s∇f(y_{k−1}), y_k = x_k + (k−1)/(k+r−1)(x_k − x_{k−1}) from rest, on a 2-D nonlinear f;
    the model's r is read; one gradient per step; a start that is not at rest is refused."""
    from dynopt.schemes import NesterovConvex
    p = log_sum_exp([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    model = NesterovODE(p, r)
    gam = 0.3
    s = gam * gam
    sol = integrate(model, "nesterov-convex", (0.0, 6 * gam), [1.5, -0.5, 0.0, 0.0], gam, save_every=1)
    x = y = np.array([1.5, -0.5])
    xs = [x]
    for k in range(1, 7):
        x_new = y - s * p.grad(y)
        y = x_new + (k - 1) / (k + r - 1) * (x_new - x)
        x = x_new
        xs.append(x)
    np.testing.assert_allclose(sol.y[:, 0, :2], xs, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sol.y[-1, 0, 2:], (xs[-1] - xs[-2]) / gam, rtol=1e-12)
    assert sol.grad_evals == 6
    sch = NesterovConvex()
    with pytest.raises(ValueError, match=r"^`y0` must start at rest \(X'\(0\) = 0\) for Nesterov's method$"):
        sch.init(model, np.array([[1.0, 0.0, 0.0, 0.1]]), gam)


@pytest.mark.parametrize("name,taylor", [("heavy-ball-sc", True), ("nag-sc", True), ("heavy-ball-sc", False)])
def test_strongly_convex_two_steps_by_hand(name, taylor):
    """HeavyBall-SC and NAG-SC: the Taylor (or Euler) start x₁ and three steps x_{k+1} = y − s∇f(point) with
    y = x_k + α(x_k − x_{k−1}), α = (1 − √(μs))/(1 + √(μs)), point x_k (heavy ball) or y (NAG-SC)."""
    from dynopt.schemes import HeavyBallSC, NesterovSC
    H = np.array([[3.0, 0.5], [0.5, 1.0]])
    p = quadratic(H)
    mu, s = 0.5, 0.04
    g = math.sqrt(s)
    model = HighResolutionODE(p, mu, s, variant="nag-sc" if name == "nag-sc" else "heavy-ball")
    sch = (HeavyBallSC if name == "heavy-ball-sc" else NesterovSC)(start="taylor" if taylor else "euler")
    y0 = np.array([[1.0, -1.0, 0.5, 0.25]])
    st = sch.init(model, y0.copy(), g)
    x0, v0 = y0[0, :2], y0[0, 2:]
    x1 = x0 + g * v0
    if taylor:
        x1 = x1 + s / 2 * model.drift(0.0, y0)[0, 2:]
    np.testing.assert_allclose(st.x_next[0], x1, rtol=1e-14)
    assert st.grad_evals == (1 if taylor else 0)
    a = (1 - math.sqrt(mu * s)) / (1 + math.sqrt(mu * s))
    assert sch.momentum(model, g) == pytest.approx(a, rel=1e-15)
    xp, x = x0, x1
    for k in range(3):
        y = x + a * (x - xp)
        point = x if name == "heavy-ball-sc" else y
        xp, x = x, y - s * (H @ point)
        st = sch.step(model, k * g, st, g)
        np.testing.assert_allclose(st.x[0], xp, rtol=1e-13)
        np.testing.assert_allclose(st.x_next[0], x, rtol=1e-13)
        np.testing.assert_allclose(sch.output(model, st)[0], np.concatenate([xp, (x - xp) / g]), rtol=1e-12)
    assert st.grad_evals == (1 if taylor else 0) + 3 and st.gamma == g
    with pytest.raises(ValueError, match=r"^`dt` must be √s = 0.2 for a model built with s = 0.04; got 0.21$"):
        sch.init(model, y0, 0.21)
    with pytest.raises(ValueError, match=r"^`dt` must be √s"):
        sch.init(model, y0, g * (1 + 1e-6))
    assert sch.init(model, y0, g * (1 + 1e-12)).gamma == g * (1 + 1e-12)


@pytest.mark.parametrize("alpha", [0.0, -0.1])
def test_momentum_sgd_ensemble_rejects_non_positive_alpha(alpha):
    """`alpha` must lie in (0.0, inf): 0 itself is rejected, and the message names the open range;
    it is checked first, before a bad `beta` or `n_paths` after it."""
    for beta, n_paths in [(0.5, 10), (1.5, 10), (0.5, 0)]:
        with pytest.raises(ValueError, match=r"^`alpha` must be in \(0\.0, inf\); got "):
            momentum_sgd_ensemble(quadratic(np.eye(1)), alpha, beta, 1.0, 10, n_paths, 0)


def test_momentum_sgd_ensemble_one_noisy_step_and_energy_statistics():
    """From rest at the minimum one step gives v₁ = θ₁ − θ* = −αξ, Var = α²c per coordinate (5 SE);
    the recorded energy mean/SE and ⟨‖v/γ‖²⟩ at the end are those of the returned θ, v (ddof 1),
    and two paths already have a finite SE."""
    p = quadratic(np.diag([1.0, 3.0]), center=[0.5, -1.0])
    a, c, n = 0.2, 2.0, 4000
    run = momentum_sgd_ensemble(p, a, 0.7, c, 1, n, 3)
    np.testing.assert_allclose(run.theta - [0.5, -1.0], run.v, rtol=1e-12, atol=1e-15)
    var = run.v.var(axis=0, ddof=1)
    assert np.all(np.abs(var - a * a * c) <= 5 * a * a * c * np.sqrt(2 / (n - 1)))
    eta2 = np.sum((run.v / run.gamma) ** 2, axis=1)
    H = 0.5 * eta2 + p.value(run.theta)
    assert run.energy_mean[-1] == pytest.approx(H.mean(), rel=1e-10)
    assert run.energy_se[-1] == pytest.approx(H.std(ddof=1) / np.sqrt(n), rel=1e-8)
    assert run.eta2_mean[-1] == pytest.approx(eta2.mean(), rel=1e-10)
    assert run.energy_mean[0] == 0.0 and run.energy_se[0] == 0.0
    two = momentum_sgd_ensemble(p, a, 0.7, c, 1, 2, 3)
    assert np.isfinite(two.energy_se).all() and two.energy_se[-1] > 0


def test_polyak_tuning_reference_string():
    """Polyak's tuning cites "Polyak (1964)" exactly (capitalised)."""
    assert polyak_tuning(1.0, 4.0).reference == "Polyak (1964)"


def test_nesterov_ode_times_as_decimals_match_floats():
    """Times given as Decimal are converted to float before the Bessel profile and the reference solve."""
    from decimal import Decimal
    H = np.diag([1.0, 4.0])
    dec = nesterov_ode_bessel(H, [1.5, -0.5], [Decimal("0.5"), Decimal("1.25")])
    np.testing.assert_allclose(dec, nesterov_ode_bessel(H, [1.5, -0.5], [0.5, 1.25]), rtol=1e-14)
    ref = nesterov_ode_reference(quadratic(H), [1.5, -0.5], [Decimal("0.5"), Decimal("1.25")], rtol=1e-10)
    np.testing.assert_allclose(ref, nesterov_ode_reference(quadratic(H), [1.5, -0.5], [0.5, 1.25], rtol=1e-10),
                               rtol=1e-14)


def test_classify_orbits_in_small_chunks_matches_one_chunk(monkeypatch):
    """Cutting the starts into chunks of one or two (a tiny saved-state budget) changes no label and no tail,
    also with blown-up starts in a chunk."""
    from dynopt.analysis import orbits
    model = GradientFlow(double_well(1))
    starts = np.array([-4.0, -1.5, 0.3, 1.5, 4.0])
    labels, tails = classify_orbits(model, Euler(), 0.3, starts, n_steps=300)
    assert labels[0] == -1 and labels[-1] == -1 and (labels[1:4] >= 0).all()
    for n in (1, 2):
        monkeypatch.setattr(orbits, "_SAVED_BYTES", n * 8 * model.state_dim * 301)
        lab, tl = classify_orbits(model, Euler(), 0.3, starts, n_steps=300)
        np.testing.assert_array_equal(lab, labels)
        np.testing.assert_array_equal(tl, tails)
    monkeypatch.setattr(orbits, "_SAVED_BYTES", 1)
    np.testing.assert_array_equal(classify_orbits(model, Euler(), 0.3, starts, n_steps=300)[0], labels)


def test_classify_orbits_without_declared_minima_measures_from_zero():
    """A problem that declares no minima is judged converged about x* = 0."""
    model = GradientFlow(from_grad(lambda x: 2.0 * (x - 0.5), 1))
    assert model.problem.minima is None
    # GD on (x − ½)²: converges to ½, which is not 0 — a period-1 orbit by this rule
    assert classify_orbits(model, Euler(), 0.25, [2.0], n_steps=200)[0].tolist() == [1]
    zero = GradientFlow(from_grad(lambda x: 2.0 * x, 1))
    assert classify_orbits(zero, Euler(), 0.25, [2.0], n_steps=200)[0].tolist() == [0]
