"""Tests that fail when the physics is wrong: Milstein's strong order, the Leimkuhler–
Matthews noise amplitude (exact stationary variance on a harmonic potential) and the
Gibbs density of overdamped Langevin."""
import numpy as np
import pytest
from scipy import stats

from dynopt import dynamics
from dynopt.engine import EnsembleOptions, TimeAverage, simulate
from dynopt.problems.catalogue import double_well, quadratic


def _strong_errors(scheme, model, dts, dt_ref, n_paths=2000, seed=7):
    """Mean |X_T(dt) − X_T(dt_ref)| over paths driven by the same Brownian path."""
    fine = simulate(model, scheme, (0.0, 1.0), [1.0], dt_ref, n_paths=n_paths, seed=seed).y_final[:, 0]
    errs = []
    for dt in dts:
        r = int(round(dt / dt_ref))
        coarse = simulate(model, scheme, (0.0, 1.0), [1.0], dt, n_paths=n_paths, seed=seed,
                          options=EnsembleOptions(brownian_substeps=r)).y_final[:, 0]
        errs.append(np.mean(np.abs(coarse - fine)))
    return np.array(errs)


def test_milstein_has_strong_order_one_and_euler_maruyama_one_half():
    # geometric Brownian motion: multiplicative noise, where Milstein's correction matters
    gbm = dynamics.geometric_brownian_motion(0.5, 0.8)
    dts = np.array([1 / 8, 1 / 16, 1 / 32, 1 / 64])
    slope_mil = stats.linregress(np.log(dts), np.log(_strong_errors("milstein", gbm, dts, 1 / 1024))).slope
    slope_em = stats.linregress(np.log(dts), np.log(_strong_errors("euler-maruyama", gbm, dts, 1 / 1024))).slope
    assert 0.85 < slope_mil < 1.2, slope_mil
    assert 0.35 < slope_em < 0.7, slope_em


def test_leimkuhler_matthews_stationary_variance_is_exact_on_a_harmonic_potential():
    # x' = (1 − h)x + (σ√h/2)(ξ_n + ξ_{n+1}) has stationary variance exactly σ²/2 for every
    # h < 2 (Euler–Maruyama gives σ²/(2 − h)); a wrong noise amplitude scales it
    sigma, h = 0.8, 0.5
    model = dynamics.OverdampedLangevin(quadratic([[1.0]]), sigma)
    ta = TimeAverage(lambda y: y[:, 0] ** 2, t_min=20.0)
    r = simulate(model, "leimkuhler-matthews", (0.0, 400.0), [0.0], h, n_paths=4096, seed=3, observers=[ta],
                 options=EnsembleOptions(block_size=256))
    a = r.observations["time_average"]
    exact = sigma ** 2 / 2
    assert abs(a.mean - exact) < 5 * a.se, (a.mean, a.se, exact)
    assert abs(sigma ** 2 / (2 - h) - exact) > 20 * a.se  # the test tells LM from EM


def test_stationary_log_density_is_the_gibbs_density_of_the_sde():
    # zero probability flux: −∇L p − (σ²/2) ∇p = 0, i.e. ∇ log p = −2∇L/σ²
    sigma = 0.7
    model = dynamics.OverdampedLangevin(double_well(), sigma)
    x = np.linspace(-2.0, 2.0, 41)[:, None]
    eps = 1e-5
    dlogp = (model.stationary_log_density(x + eps) - model.stationary_log_density(x - eps)) / (2 * eps)
    grad = double_well().grad(x)[:, 0]
    np.testing.assert_allclose(dlogp, -2 * grad / sigma ** 2, rtol=1e-6, atol=1e-6)
    # and on the harmonic potential it is the normal law of variance σ²/2
    harm = dynamics.OverdampedLangevin(quadratic([[1.0]]), sigma)
    y = np.array([[-1.0], [0.3], [1.5]])
    ld = harm.stationary_log_density(y)
    ref = stats.norm(scale=sigma / np.sqrt(2)).logpdf(y[:, 0])
    np.testing.assert_allclose(ld - ld[0], ref - ref[0], rtol=1e-12)


def test_kinetic_temperature_is_the_mean_square_velocity_per_coordinate():
    """``kinetic_temperature``: the mean over paths of |η|²/d and its standard error (sample
    standard deviation with ddof = 1 over √n), by a hand loop; the smallest accepted shape is
    (2, 1); and on normal velocities of variance kT it is kT within 5 standard errors."""
    from dynopt.analysis import kinetic_temperature

    v = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0], [2.0, 2.0, 2.0], [-0.5, 0.25, 1.5]])
    e = [sum(x * x for x in row) / 3 for row in v]
    m = sum(e) / 4
    se = (sum((x - m) ** 2 for x in e) / 3) ** 0.5 / 2
    got = kinetic_temperature(v)
    assert got == (pytest.approx(m, rel=1e-14), pytest.approx(se, rel=1e-14))
    assert all(isinstance(x, float) for x in got)
    assert kinetic_temperature([[1.0], [3.0]]) == (pytest.approx(5.0, rel=1e-14), pytest.approx(4.0, rel=1e-14))
    kT = 0.32
    w = np.sqrt(kT) * np.random.default_rng(8).standard_normal((4000, 2))
    mean, err = kinetic_temperature(w)
    assert abs(mean - kT) < 5 * err and err < 0.02 * kT


def test_kinetic_temperature_refuses_bad_shapes_and_non_finite_values():
    """Every refusal of ``kinetic_temperature`` names the argument and the allowed shape."""
    from dynopt.analysis import kinetic_temperature

    for bad in ([1.0, 2.0, 3.0], [[1.0, 2.0]], np.zeros((3, 0)), np.zeros((2, 2, 2))):
        with pytest.raises(ValueError, match=r"`velocities` must have shape \(n_paths, d\) with n_paths >= 2"):
            kinetic_temperature(bad)
    with pytest.raises(ValueError, match="`velocities` must be finite"):
        kinetic_temperature([[1.0], [np.nan]])


def test_tabulated_marginal_pdf_and_logpdf():
    """``Marginal.pdf``: the tabulated density normalised by its trapezoid integral, interpolated
    linearly, with both ends of the grid inside and 0 beyond them; ``logpdf`` its log, −inf beyond;
    shapes are kept."""
    from dynopt.analysis.densities import Marginal

    m = Marginal([0.0, 1.0, 2.0], [1.0, 2.0, 1.0])     # trapezoid integral 3
    x = np.array([[-1e-9, 0.0, 0.5], [1.0, 2.0, 2.0 + 1e-9]])
    want = np.array([[0.0, 1 / 3, 0.5], [2 / 3, 1 / 3, 0.0]])
    np.testing.assert_allclose(m.pdf(x), want, rtol=1e-14, atol=0)
    assert m.pdf(x).shape == (2, 3)
    log = m.logpdf(x)
    assert log[0, 0] == -np.inf and log[1, 2] == -np.inf
    np.testing.assert_allclose(log[[0, 0, 1, 1], [1, 2, 0, 1]], np.log([1 / 3, 0.5, 2 / 3, 1 / 3]), rtol=1e-14)
    assert float(m.pdf(1.5)) == pytest.approx(0.5, rel=1e-14)
    assert m.bounds == (0.0, 2.0)


def test_monte_carlo_marginal_of_a_3d_gibbs_density_is_the_truncated_normal():
    """Beyond 2-D the marginal is a tabulated :class:`Marginal` (weighted Monte Carlo histogram): on
    L = |θ|²/2 at kT = 1 its ``pdf`` gives the truncated normal's mass of [−1, 1] (0.6827/0.9973)
    within 1.2 % (5 × the 0.24 % spread of this estimate over 20 seeds), its ``logpdf`` the log of its pdf."""
    from scipy import integrate as sint
    from dynopt.analysis.densities import GibbsDensity

    g = GibbsDensity(quadratic(np.eye(3)), 1.0, (-3.0, 3.0), seed=2)
    m = g.marginal(0)
    x = np.linspace(-1.0, 1.0, 401)
    mass = sint.trapezoid(m.pdf(x), x)
    want = (stats.norm.cdf(1) - stats.norm.cdf(-1)) / (stats.norm.cdf(3) - stats.norm.cdf(-3))
    assert mass == pytest.approx(want, rel=0.012)
    assert m.pdf(3.5) == 0.0 and m.logpdf(-3.5) == -np.inf
    np.testing.assert_allclose(np.exp(m.logpdf(x)), m.pdf(x), rtol=1e-14)
