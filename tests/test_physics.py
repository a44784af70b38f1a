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
        with pytest.raises(ValueError, match=r"^`velocities` must have shape \(n_paths, d\) with n_paths >= 2"):
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


# ----------------------------------------------------------------------------------------
# Gibbs densities, their marginals and tests, against closed forms
# ----------------------------------------------------------------------------------------
def _truncated_normal_mass(kT, lo, hi):
    s = np.sqrt(kT)
    return np.sqrt(2 * np.pi * kT) * (stats.norm.cdf(hi / s) - stats.norm.cdf(lo / s))


def test_gibbs_density_1d_of_a_quadratic_is_the_truncated_normal():
    """L = x²/2 at kT = 0.4 on [−2, 3]: Z, logpdf, pdf (0 outside), the cdf and the attributes
    against the truncated normal; normaliser_se is 0 for quadrature."""
    from dynopt.analysis.densities import GibbsDensity

    g = GibbsDensity(quadratic([[1.0]]), 0.4, (-2.0, 3.0))
    Z = _truncated_normal_mass(0.4, -2.0, 3.0)
    assert g.normaliser == pytest.approx(Z, rel=1e-10) and 0 <= g.quad_error < 1e-8
    assert g.normaliser_se == 0.0 and isinstance(g.normaliser_se, float)
    assert (g.dim, g.temperature, g.bounds, g.u_min) == (1, 0.4, (-2.0, 3.0), 0.0)
    x = np.array([-2.0, -0.5, 0.0, 1.3, 3.0])
    np.testing.assert_allclose(g.logpdf(x), -x ** 2 / 0.8 - np.log(Z), rtol=1e-10)
    np.testing.assert_allclose(g.pdf(x[:, None]), np.exp(-x ** 2 / 0.8) / Z, rtol=1e-10)
    assert g.logpdf(np.array([[-2.001], [3.001]])).tolist() == [-np.inf, -np.inf]
    assert g.pdf(5.0) == 0.0
    trunc = stats.truncnorm(-2.0 / np.sqrt(0.4), 3.0 / np.sqrt(0.4), scale=np.sqrt(0.4))
    np.testing.assert_allclose(g.cdf(x), trunc.cdf(x), atol=2e-6)
    assert g.cdf(-5.0) == 0.0 and g.cdf(5.0) == 1.0
    assert g.marginal(0) is g and g.marginal() is g
    np.testing.assert_allclose(g.bin_probabilities([-1.0, 0.0, 1.0]), np.diff(trunc.cdf([-1.0, 0.0, 1.0])), atol=2e-6)
    assert repr(g) == "GibbsDensity('quadratic', d=1, kT=0.4, bounds=(-2.0, 3.0))"
    with pytest.raises(ValueError, match=r"^`i` must be an integer in \[0, 0\]; got 1$"):
        g.marginal(1)


def test_gibbs_density_defaults_and_model_temperatures():
    """Default bounds (−3, 3), seed 0 and grid 2001; kT = σ²/2 from an overdamped Langevin model
    and σ²/(2λ) from a Kramers model."""
    from dynopt.analysis.densities import GibbsDensity, gibbs

    p = quadratic([[1.0]])
    g = GibbsDensity(p, 0.5)
    assert g.bounds == (-3.0, 3.0) and g.grid.size == 2001
    assert g.normaliser == GibbsDensity(p, 0.5, (-3.0, 3.0), grid_points=2001).normaliser
    assert gibbs(p, 0.5).normaliser == g.normaliser and gibbs(p, 100.0, grid_points=11).grid.size == 11
    assert GibbsDensity(dynamics.OverdampedLangevin(p, 0.6)).temperature == pytest.approx(0.18, rel=1e-15)
    assert GibbsDensity(dynamics.Kramers(p, friction=2.0, sigma=0.6)).temperature == pytest.approx(0.09, rel=1e-15)
    assert GibbsDensity(dynamics.Kramers(p, friction=2.0, sigma=0.6), temperature=0.3).temperature == 0.3
    three = quadratic(np.eye(3))
    a = GibbsDensity(three, 1.0, n_mc=2000)
    b = GibbsDensity(three, 1.0, n_mc=2000, seed=0)
    c = GibbsDensity(three, 1.0, n_mc=2000, seed=1)
    assert a.normaliser == b.normaliser != c.normaliser


def test_gibbs_density_default_monte_carlo_size_is_200000():
    """Beyond 2-D the normaliser is a mean over n_mc uniform points, 200 000 by default: the
    default density is the n_mc = 200 000 one bit for bit, and one more point changes it."""
    from dynopt.analysis.densities import GibbsDensity

    three = quadratic(np.diag([1.0, 2.0, 3.0]))
    default = GibbsDensity(three, 1.0, seed=4)
    assert default.normaliser == GibbsDensity(three, 1.0, n_mc=200_000, seed=4).normaliser
    assert default.normaliser_se == GibbsDensity(three, 1.0, n_mc=200_000, seed=4).normaliser_se
    assert default.normaliser != GibbsDensity(three, 1.0, n_mc=200_001, seed=4).normaliser


def test_gibbs_density_2d_normaliser_meets_its_relative_tolerance():
    """The 2-D normaliser is Z = ∫∫ exp(−(L − u_min)/kT) over the box by nested quad at relative
    tolerance 1e-8; for an anisotropic quadratic off the box centre Z is small (~0.04), so an
    absolute tolerance near scipy's default 1.5e-8 would let errors of ~1e-6 of Z through.
    Closed form: the product over axes of √(2πkT/h)·[Φ((hi − c)/s) − Φ((lo − c)/s)], s = √(kT/h),
    times e^{u_min/kT} (u_min is L's smallest value on the grid, not exactly 0)."""
    from dynopt.analysis.densities import GibbsDensity

    h, c, kT, (lo, hi) = np.array([1.0, 100.0]), np.array([0.3, -0.7]), 0.05, (-3.0, 3.0)
    g = GibbsDensity(quadratic(np.diag(h), center=c), kT, (lo, hi))
    s = np.sqrt(kT / h)
    exact = np.exp(g.u_min / kT) * np.prod(np.sqrt(2 * np.pi) * s * (stats.norm.cdf((hi - c) / s)
                                                                     - stats.norm.cdf((lo - c) / s)))
    assert g.normaliser == pytest.approx(exact, rel=1e-8)


@pytest.mark.parametrize("temperature, exc, match", [
    ("1.0", TypeError, r"^`temperature` must be a real number; got str$"),
    (True, TypeError, r"^`temperature` must be a real number; got bool$"),
    ([1.0], TypeError, r"^`temperature` must be a real number; got list$"),
    (0.0, ValueError, r"^`temperature` must be finite and > 0; got 0\.0 \(a Kramers model with λ = 0 or σ = 0 has "
                      r"no Gibbs density\)$"),
    (np.inf, ValueError, r"^`temperature` must be finite and > 0; got inf"),
])
def test_gibbs_density_temperature_messages(temperature, exc, match):
    """A temperature that is not a positive finite real number is refused by name."""
    from dynopt.analysis.densities import GibbsDensity

    with pytest.raises(exc, match=match):
        GibbsDensity(quadratic([[1.0]]), temperature)


def test_gibbs_density_source_and_box_messages():
    """The source must be a problem or a Langevin/Kramers model (a model without scalar σ or with
    σ = 0 has no temperature); the box must be ordered, finite and of the right shape, with
    the potential's minimum inside; grid_points ≥ 5."""
    from dynopt.analysis.densities import GibbsDensity

    p = quadratic([[1.0]])
    with pytest.raises(TypeError, match=r"^`source` must be a Problem or an OverdampedLangevin/Kramers model; got str$"):
        GibbsDensity("x**2", 1.0)
    with pytest.raises(ValueError, match=r"^`temperature` is required unless a Langevin or Kramers model is given$"):
        GibbsDensity(p)
    with pytest.raises(ValueError, match=r"^`temperature` must be finite and > 0; got 0\.0"):
        GibbsDensity(dynamics.OverdampedLangevin(p, 0.0))
    for bounds in ((1.0, 1.0), (2.0, -2.0), (-np.inf, 1.0), ((-1.0, 1.0), (-1.0, 1.0))):
        with pytest.raises(ValueError, match=r"^`bounds` must be \(lo, hi\) or 1 pairs with hi > lo; got "):
            GibbsDensity(p, 1.0, bounds)
    with pytest.raises(ValueError, match=r"^`bounds`: the potential of 'quadratic' has no minimum inside \(0\.5, 2\.0\) "
                                         r"\(its smallest value on the box is at the boundary point \[0\.5\]\); widen the "
                                         r"range or check the expression$"):
        GibbsDensity(p, 1.0, (0.5, 2.0))
    with pytest.raises(ValueError, match=r"^`grid_points` must be an integer ≥ 5; got 4$"):
        GibbsDensity(p, 1.0, grid_points=4)
    # 5 points pass the count check (a 1-D density then fails the resolution check: 5 cells are needed)
    with pytest.raises(ValueError, match=r"^`temperature` = 100 is too small for the box \(-3\.0, 3\.0\): the density "
                                         r"exp\(−L/kT\) is narrower than the 5-point grid can resolve"):
        GibbsDensity(p, 100.0, grid_points=5)
    assert GibbsDensity(p, 100.0, grid_points=7).grid.size == 7
    two = quadratic(np.eye(2))
    with pytest.raises(ValueError, match=r"^`bounds` must be \(lo, hi\) or 2 pairs with hi > lo; got "):
        GibbsDensity(two, 1.0, [(-1.0, 1.0), (1.0, -1.0)])
    with pytest.raises(ValueError, match=r"^`bounds`: the potential of 'quadratic' has no minimum inside"):
        GibbsDensity(two, 1.0, [(-1.0, 1.0), (0.5, 1.0)])


def test_gibbs_density_2d_normaliser_and_quadrature_marginals():
    """L = x²/2 + y² at kT = 0.5 on [−2, 2] × [−1, 1.5]: Z is the product of two truncated
    normal masses; marginal(1) is the truncated normal of variance 1/4 (pdf by Gauss–Legendre,
    cdf by the Hermite spline); a point density is exp(−L/kT)/Z."""
    from dynopt.analysis.densities import GibbsDensity, QuadratureMarginal

    g = GibbsDensity(quadratic(np.diag([1.0, 2.0])), 0.5, [(-2.0, 2.0), (-1.0, 1.5)])
    zx, zy = _truncated_normal_mass(0.5, -2.0, 2.0), _truncated_normal_mass(0.25, -1.0, 1.5)
    # the weight is exp(−(L − u_min)/kT), u_min the smallest L on a 45 × 45 grid (45² ≈ 2001)
    ax, ay = np.linspace(-2.0, 2.0, 45), np.linspace(-1.0, 1.5, 45)
    assert g.u_min == pytest.approx(np.min(ax[:, None] ** 2 / 2 + ay[None, :] ** 2), rel=1e-14) and g.u_min > 0
    assert g.normaliser == pytest.approx(zx * zy * np.exp(g.u_min / 0.5), rel=1e-8) and g.normaliser_se == 0.0
    assert g.bounds == ((-2.0, 2.0), (-1.0, 1.5))
    pts = np.array([[0.3, -0.2], [1.9, 1.4], [2.1, 0.0]])
    np.testing.assert_allclose(g.pdf(pts[:2]), np.exp(-(pts[:2, 0] ** 2 / 2 + pts[:2, 1] ** 2) / 0.5) / (zx * zy),
                               rtol=1e-8)
    assert g.pdf(pts[2:]).tolist() == [0.0]
    m = g.marginal(1)
    assert isinstance(m, QuadratureMarginal) and g.marginal(1) is m and m.bounds == (-1.0, 1.5)
    y = np.array([-1.0, -0.4, 0.0, 0.8, 1.5])
    trunc = stats.truncnorm(-1.0 / 0.5, 1.5 / 0.5, scale=0.5)
    np.testing.assert_allclose(m.pdf(y), trunc.pdf(y), rtol=1e-10)
    np.testing.assert_allclose(m.cdf(y), trunc.cdf(y), atol=1e-10)
    assert m.pdf(1.6) == 0.0 and m.cdf(-1.1) == 0.0 and m.cdf(1.6) == 1.0
    mx = g.marginal(0)
    np.testing.assert_allclose(mx.pdf([0.0, 1.0]), stats.truncnorm(-2 / np.sqrt(0.5), 2 / np.sqrt(0.5),
                                                                  scale=np.sqrt(0.5)).pdf([0.0, 1.0]), rtol=1e-10)
    np.testing.assert_allclose(g.bin_probabilities([-0.5, 0.0, 0.5], i=1), np.diff(trunc.cdf([-0.5, 0.0, 0.5])),
                               atol=1e-10)
    tx = stats.truncnorm(-2 / np.sqrt(0.5), 2 / np.sqrt(0.5), scale=np.sqrt(0.5))
    np.testing.assert_allclose(g.bin_probabilities([-0.5, 0.0, 0.5]), np.diff(tx.cdf([-0.5, 0.0, 0.5])), atol=1e-10)
    with pytest.raises(ValueError, match=r"^`cdf` is defined for 1-D densities; this one has d = 2: use marginal\(i\)$"):
        g.cdf(0.0)
    with pytest.raises(ValueError, match=r"^`i` must be an integer in \[0, 1\]; got 2$"):
        g.marginal(2)


def test_monte_carlo_gibbs_density_beyond_2d():
    """3-D: Z by Monte Carlo within 5 standard errors of the product of truncated normal masses,
    a standard error that is the sample spread over √n_mc, and marginals tabulated at the centres
    of 100 bins; a density too narrow for n_mc samples is refused by name."""
    from dynopt.analysis.densities import GibbsDensity

    g = GibbsDensity(quadratic(np.eye(3)), 1.0, (-3.0, 3.0), n_mc=4000, seed=5)
    exact = _truncated_normal_mass(1.0, -3.0, 3.0) ** 3
    assert 0 < g.normaliser_se < 0.1 * g.normaliser
    assert abs(g.normaliser - exact) < 5 * g.normaliser_se
    pts, w = g._mc
    assert g.normaliser == pytest.approx(216.0 * w.mean(), rel=1e-14)
    assert g.normaliser_se == pytest.approx(216.0 * w.std(ddof=1) / np.sqrt(4000), rel=1e-14)
    m = g.marginal(2)
    np.testing.assert_allclose(m.grid, -3.0 + 0.06 * (np.arange(100) + 0.5), rtol=1e-12)
    assert g.marginal(2) is m
    with pytest.raises(ValueError, match=r"^`temperature` = 0\.01: the Monte Carlo normaliser of the density on the box "
                                         r"is .* too uncertain to use \(the density is too narrow for n_mc samples\): "
                                         r"raise `n_mc` or kT$"):
        GibbsDensity(quadratic(np.eye(3)), 0.01, (-3.0, 3.0), n_mc=500, seed=0)


def test_marginal_chi2_test_pools_small_cells():
    """Pearson χ² against a uniform law on [0, 1]: four cells of 25 give χ² = 20 on 3 degrees
    of freedom; cells expecting < 5 are pooled and a small pooled remainder joins the last kept
    cell; ``outside`` counts form one more cell."""
    from dynopt.analysis.densities import Marginal

    m = Marginal([0.0, 1.0], [1.0, 1.0])
    got = m.chi2_test([10, 20, 30, 40], [0.0, 0.25, 0.5, 0.75, 1.0])
    assert got == {"chi2": pytest.approx(20.0, rel=1e-13), "dof": 3,
                   "pvalue": pytest.approx(stats.chi2.sf(20.0, 3), rel=1e-12), "n": 100}
    pooled = m.chi2_test([1, 49, 50], [0.0, 0.02, 0.5, 1.0])
    chi2 = (49 - 48) ** 2 / 48 + (51 - 52) ** 2 / 52
    assert pooled == {"chi2": pytest.approx(chi2, rel=1e-12), "dof": 1,
                      "pvalue": pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12), "n": 100}
    # edges cover half the box: the other half is the `outside` cell (expected 50 of 100)
    half = m.chi2_test([30, 30], [0.0, 0.25, 0.5], outside=40)
    chi2 = (30 - 25) ** 2 / 25 * 2 + (40 - 50) ** 2 / 50
    assert half == {"chi2": pytest.approx(chi2, rel=1e-12), "dof": 2,
                    "pvalue": pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-12), "n": 100}
    assert m.chi2_test([10, 20, 30, 40], [0.0, 0.25, 0.5, 0.75, 1.0], outside=0) == got
    with pytest.raises(ValueError, match=r"^`counts` must be non-negative$"):
        m.chi2_test([-1, 2], [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match=r"^`edges` must have len\(counts\) \+ 1 = 3 entries; got 2$"):
        m.chi2_test([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"^`outside` must be a non-negative integer; got -1$"):
        m.chi2_test([1, 2], [0.0, 0.5, 1.0], outside=-1)


def test_marginal_ks_test_and_wasserstein_by_hand():
    """KS against scipy's kstest with the marginal's cdf, and W1 = ∫|F_n − F| on the grid: for
    samples {0.25, 0.75} of a uniform law on [0, 1] it is 1/8."""
    from dynopt.analysis.densities import Marginal

    m = Marginal(np.linspace(0.0, 1.0, 4001), np.ones(4001))
    got = m.ks_test([0.25, 0.75])
    ref = stats.kstest([0.25, 0.75], stats.uniform.cdf)
    assert got["ks_statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert got["ks_pvalue"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert got["wasserstein"] == pytest.approx(1 / 8, rel=1e-6) and got["n"] == 2
    assert set(got) == {"ks_statistic", "ks_pvalue", "wasserstein", "n"}


def test_marginal_table_messages_and_clipping():
    """A table with non-finite entries or no mass is refused; negative entries count as 0."""
    from dynopt.analysis.densities import Marginal

    with pytest.raises(ValueError, match=r"^`density` must be finite on the grid; it overflows \(the potential is "
                                         r"unbounded below on the box, or kT is too small\)$"):
        Marginal([0.0, 1.0], [1.0, np.inf])
    with pytest.raises(ValueError, match=r"^`density` has no positive integral on the grid: it underflows to 0 "
                                         r"everywhere \(kT too small for the grid, or the mass lies outside the box\); "
                                         r"it is undefined here$"):
        Marginal([0.0, 1.0], [0.0, -1.0])
    m = Marginal([0.0, 1.0, 2.0], [-5.0, 2.0, 2.0])
    np.testing.assert_allclose(m.pdf([0.0, 1.0, 2.0]), [0.0, 2 / 3, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(m.cdf([0.0, 1.0, 2.0]), [0.0, 1 / 3, 1.0], rtol=1e-15)


def test_quadrature_marginal_pdf_cdf_and_inputs():
    """A density given as a function: pdf evaluates it (any real-number input, 0 outside), cdf
    is exact for a polynomial of degree ≤ 3 between panel edges; no mass is refused."""
    from fractions import Fraction

    from dynopt.analysis.densities import QuadratureMarginal

    q = QuadratureMarginal(lambda x: 3 * x ** 2, 0.0, 2.0, n_panels=4)  # pdf 3x²/8, cdf x³/8
    assert q.total == pytest.approx(8.0, rel=1e-14)
    np.testing.assert_allclose(q.pdf([0.0, 0.3, 2.0]), [0.0, 0.27 / 8, 1.5], rtol=1e-14)
    np.testing.assert_allclose(q.pdf([Fraction(1, 2), 1]), [3 / 32, 3 / 8], rtol=1e-14)
    assert q.pdf([[2.5, -0.1]]).tolist() == [[0.0, 0.0]]
    x = np.array([0.0, 0.3, 0.77, 1.5, 2.0])
    np.testing.assert_allclose(q.cdf(x), x ** 3 / 8, rtol=1e-12, atol=1e-15)
    assert q.cdf(-1.0) == 0.0 and q.cdf(3.0) == 1.0
    np.testing.assert_allclose(q.cdf([Fraction(1, 2)]), [1 / 64], rtol=1e-12)
    assert q.bounds == (0.0, 2.0) and q.grid.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert QuadratureMarginal(lambda x: 3 * x ** 2, 0.0, 2.0).grid.size == 201  # 200 panels by default
    with pytest.raises(ValueError, match=r"^the marginal density on \[0, 1\] integrates to 0\.0: not normalisable$"):
        QuadratureMarginal(lambda x: 0.0 * x, 0.0, 1.0)


def test_marginal_chi2_test_pooling_boundaries():
    """A cell expecting exactly 5 is kept on its own, a pooled remainder expecting exactly 5 is
    tested on its own (uniform law, n = 320, cells of 1/64 expect 5)."""
    from dynopt.analysis.densities import Marginal

    m = Marginal([0.0, 1.0], [1.0, 1.0])
    # expected 5, 2.5, 152.5, 160: the 2.5 cell is the pooled remainder, too small, merged
    # into the last kept cell
    a = m.chi2_test([7, 1, 150, 162], [0.0, 1 / 64, 3 / 128, 0.5, 1.0])
    chi2 = (7 - 5) ** 2 / 5 + (150 - 152.5) ** 2 / 152.5 + (163 - 162.5) ** 2 / 162.5
    assert a["dof"] == 2 and a["chi2"] == pytest.approx(chi2, rel=1e-12)
    # expected 2.5, 2.5, 155, 160: the two small cells pool to exactly 5, a cell of their own
    b = m.chi2_test([3, 4, 150, 163], [0.0, 1 / 128, 1 / 64, 0.5, 1.0])
    chi2 = (150 - 155) ** 2 / 155 + (163 - 160) ** 2 / 160 + (7 - 5) ** 2 / 5
    assert b["dof"] == 2 and b["chi2"] == pytest.approx(chi2, rel=1e-12)


def test_gibbs_density_2d_minimum_grid_is_capped_at_401_points_per_axis():
    """In 2-D the search grid for the minimum has at most 401 points per axis: on [−2, 2]² that
    grid holds the minimum 0 exactly."""
    from dynopt.analysis.densities import GibbsDensity

    g = GibbsDensity(quadratic(np.eye(2)), 1.0, (-2.0, 2.0), grid_points=10 ** 6)
    assert g.u_min == 0.0
    # √1600 = 40 points per axis: 0 is not on that grid
    assert GibbsDensity(quadratic(np.eye(2)), 1.0, (-2.0, 2.0), grid_points=1600).u_min == pytest.approx(
        2 * (2.0 / 39) ** 2 / 2, rel=1e-12)


# ----------------------------------------------------------------------------------------
# dynopt.analysis.stationary: 1-D Gibbs density, distances, χ², escape times
# ----------------------------------------------------------------------------------------
def test_gibbs_density_function_of_a_quadratic():
    """pdf = exp(−(U − U₀)/kT)/Z with Z the truncated normal mass (U₀ = 0 is on the 201-point
    grid); a 1-D Problem gives the same; a peak of width 0.03 in [−20, 30] is found by splitting
    the quadrature at 0."""
    from dynopt.analysis.stationary import gibbs_density

    pdf, Z = gibbs_density(lambda x: np.asarray(x) ** 2 / 2, 0.4, -2.0, 3.0)
    assert Z == pytest.approx(_truncated_normal_mass(0.4, -2.0, 3.0), rel=1e-10)
    x = np.array([-2.0, 0.0, 1.1, 3.0])
    np.testing.assert_allclose(pdf(x), np.exp(-x ** 2 / 0.8) / Z, rtol=1e-13)
    pdf_p, Z_p = gibbs_density(quadratic([[1.0]]), 0.4, -2.0, 3.0)
    assert Z_p == pytest.approx(Z, rel=1e-13)
    np.testing.assert_allclose(pdf_p(x), pdf(x), rtol=1e-13)
    assert pdf_p(0.5).shape == ()
    _, Zn = gibbs_density(lambda x: np.asarray(x) ** 2 / 2, 1e-3, -20.0, 30.0)
    assert Zn == pytest.approx(np.sqrt(2 * np.pi * 1e-3), rel=1e-10)
    # U₀ is the smallest U on the grid: shifting U leaves pdf and Z alone
    pdf_s, Z_s = gibbs_density(lambda x: np.asarray(x) ** 2 / 2 + 7.0, 0.4, -2.0, 3.0)
    assert Z_s == pytest.approx(Z, rel=1e-13)
    # a minimum off the grid: Z is relative to the grid minimum
    _, Z_off = gibbs_density(lambda x: (np.asarray(x) - 0.01) ** 2 / 2, 0.4, -2.0, 3.0)
    assert Z_off == pytest.approx(_truncated_normal_mass(0.4, -2.01, 2.99) * np.exp(0.01 ** 2 / 2 / 0.4), rel=1e-10)


@pytest.mark.parametrize("args, match", [
    ((0.0, -1.0, 1.0), r"^`temperature` must be in \(0\.0, inf\); got 0\.0$"),
    ((1.0, 1.0, 1.0), r"^`lo`, `hi` must be finite with hi > lo; got 1\.0, 1\.0$"),
    ((1.0, 1.0, -1.0), r"^`lo`, `hi` must be finite with hi > lo; got 1\.0, -1\.0$"),
    ((1.0, -np.inf, 1.0), r"^`lo`, `hi` must be finite with hi > lo; got -inf, 1\.0$"),
    ((1.0, -1.0, np.nan), r"^`lo`, `hi` must be finite with hi > lo; got -1\.0, nan$"),
])
def test_gibbs_density_function_messages(args, match):
    """Temperature and interval are refused by name with their allowed ranges."""
    from dynopt.analysis.stationary import gibbs_density

    with pytest.raises(ValueError, match=match):
        gibbs_density(lambda x: np.asarray(x) ** 2, *args)


def test_gibbs_density_function_refuses_an_infinite_potential():
    """A potential that is not finite on the interval is refused, naming the interval."""
    from dynopt.analysis.stationary import gibbs_density

    with pytest.raises(ValueError, match=r"^`potential` must be finite on \[-1, 2\]$"):
        gibbs_density(lambda x: np.where(np.asarray(x) < 0, np.nan, 1.0), 1.0, -1.0, 2.0)


def test_density_distances_against_scipy_and_a_hand_wasserstein():
    """KS of the samples against the cdf of ``pdf`` on [lo, hi] (scipy's kstest on the uniform
    law for a flat pdf) and W1 = ∫|F_n − F|: 1/8 for {0.25, 0.75} on [0, 1]; the pdf need not
    be normalised; samples outside count against the fit."""
    from dynopt.analysis.stationary import density_distances

    got = density_distances([0.25, 0.75], lambda g: 3.0 * np.ones_like(g), 0.0, 1.0)
    ref = stats.kstest([0.25, 0.75], stats.uniform.cdf)
    assert set(got) == {"ks_statistic", "ks_pvalue", "wasserstein", "n"} and got["n"] == 2
    assert got["ks_statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert got["ks_pvalue"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert got["wasserstein"] == pytest.approx(1 / 8, rel=1e-6)
    lin = density_distances([0.5], lambda g: 2 * g, 0.0, 1.0)   # F = x²
    assert lin["ks_statistic"] == pytest.approx(0.75, rel=1e-6)
    # ∫₀^½ x² + ∫_½^1 (1 − x²) = 1/4, up to the half grid cell (h/4 = 6e-5) where F_n jumps
    assert lin["wasserstein"] == pytest.approx(0.25, abs=1e-4)
    out = density_distances([2.0], lambda g: np.ones_like(g), 0.0, 1.0)
    assert out["ks_statistic"] == pytest.approx(1.0) and out["wasserstein"] == pytest.approx(0.5, rel=1e-6)


def test_density_distances_refuses_non_finite_samples():
    """Samples must be finite; the message names them."""
    from dynopt.analysis.stationary import density_distances

    with pytest.raises(ValueError, match=r"^`samples` must be finite; got 1 NaN or infinite value"):
        density_distances([0.5, np.nan], lambda g: np.ones_like(g), 0.0, 1.0)


@pytest.mark.parametrize("pdf, lo, hi, match", [
    (lambda g: np.ones_like(g), 1.0, 1.0, r"^`hi` must be in \(1\.0, inf\); got 1\.0$"),
    (lambda g: np.ones_like(g), np.nan, 1.0, r"^`lo` must be in \(-inf, inf\); got nan$"),
    (lambda g: g - 0.5, 0.0, 1.0, r"^`pdf` must be finite and non-negative on \[0, 1\]$"),
    (lambda g: np.where(g > 0.5, np.inf, 1.0), 0.0, 1.0, r"^`pdf` must be finite and non-negative on \[0, 1\]$"),
    (lambda g: np.zeros_like(g), 0.0, 1.0, r"^`pdf` has no mass on \[0, 1\]: the distances are undefined$"),
])
def test_density_distances_messages(pdf, lo, hi, match):
    """The interval and the pdf are refused by name, a massless pdf as undefined."""
    from dynopt.analysis.stationary import density_distances

    with pytest.raises(ValueError, match=match):
        density_distances([0.5], pdf, lo, hi)


def test_histogram_chi2_by_hand_and_its_boundaries():
    """Pearson χ² over bins expecting ≥ 5 counts (exactly 5 included), dof = kept bins − 1; fewer
    than two such bins is undefined, said with the count."""
    from dynopt.analysis.stationary import histogram_chi2

    got = histogram_chi2([12, 18, 4, 6], [0.3, 0.5, 0.05, 0.15])  # n = 40: expected 12, 20, 2, 6
    chi2 = 0.0 + (18 - 20) ** 2 / 20 + 0 + (6 - 6) ** 2 / 6
    assert got == {"chi2": pytest.approx(chi2, rel=1e-14), "dof": 2,
                   "pvalue": pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-12)}
    five = histogram_chi2([3, 7, 10], [0.25, 0.25, 0.5])  # n = 20: expected 5, 5, 10
    assert five["dof"] == 2 and five["chi2"] == pytest.approx(4 / 5 + 4 / 5, rel=1e-14)
    assert histogram_chi2([5, 5], [0.5, 0.5]) == {"chi2": 0.0, "dof": 1, "pvalue": 1.0}
    # empty bins and bins of probability 0 are allowed
    assert histogram_chi2([0, 10, 10], [0.0, 0.5, 0.5]) == {"chi2": 0.0, "dof": 1, "pvalue": 1.0}
    with pytest.raises(ValueError, match=r"^χ² is undefined here: only 1 bin\(s\) expect 5 or more counts \(n = 10\); "
                                         r"use more samples or wider bins$"):
        histogram_chi2([9, 1], [0.9, 0.1])
    with pytest.raises(ValueError, match=r"^`counts` and `probs` must have the same length; got 2 and 3$"):
        histogram_chi2([1, 2], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"^`counts` and `probs` must be non-negative$"):
        histogram_chi2([1, -2], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^`counts` and `probs` must be non-negative$"):
        histogram_chi2([1, 2], [1.5, -0.5])
    with pytest.raises(ValueError, match=r"^`probs` must be finite; got 1 NaN or infinite value"):
        histogram_chi2([1, 2], [0.5, np.nan])
    with pytest.raises(ValueError, match=r"^`counts` must be finite; got 1 NaN or infinite value"):
        histogram_chi2([1, np.inf], [0.5, 0.5])


def test_escape_times_from_a_first_passage_observation():
    """The mean over all paths with its standard error when every path passed; with censoring
    the reason, the censored fraction and None (or the CensoredDataError)."""
    from types import SimpleNamespace

    from dynopt.analysis import CensoredDataError
    from dynopt.analysis.stationary import escape_times

    fp = SimpleNamespace(passed=np.array([True, True, True]), times=np.array([2.0, 4.0, 9.0]), t0=1.0, resolution=0.01)
    res = SimpleNamespace(observations={"hit": fp}, t_final=10.0)
    got = escape_times(res, "hit")
    t = np.array([1.0, 3.0, 8.0])
    assert got == {"mean": pytest.approx(4.0, rel=1e-15), "se": pytest.approx(t.std(ddof=1) / np.sqrt(3), rel=1e-14),
                   "passed": 3, "n": 3, "resolution": 0.01, "censored_fraction": 0.0, "reason": ""}
    fp2 = SimpleNamespace(passed=np.array([True, False]), times=np.array([2.0]), t0=0.0, resolution=0.5)
    res2 = SimpleNamespace(observations={"first_passage": fp2}, t_final=10.0)
    with pytest.raises(CensoredDataError, match=r"^the mean passage time is undefined: a censored fraction 0\.5"):
        escape_times(res2)
    out = escape_times(res2, on_censored="undefined")
    assert out["mean"] is None and out["se"] is None and out["passed"] == 1 and out["n"] == 2
    assert out["censored_fraction"] == 0.5 and out["reason"].startswith("the mean passage time is undefined")
    assert out["resolution"] == 0.5


def test_gibbs_density_point_shapes_and_box_edges():
    """1-D densities take any shape (or (..., 1)); d-D ones take (..., d); box edges are inside,
    points just beyond are −inf."""
    from dynopt.analysis.densities import GibbsDensity

    g = GibbsDensity(quadratic([[1.0]]), 1.0, (-1.0, 1.0))
    Z = _truncated_normal_mass(1.0, -1.0, 1.0)
    assert g.logpdf(0.5).shape == () and g.logpdf([[0.5, 0.2]]).shape == (1, 2)
    assert g.logpdf(np.zeros((4, 1))).shape == (4,)
    assert g.logpdf(np.array([-1.0, 1.0])) == pytest.approx([-0.5 - np.log(Z)] * 2, rel=1e-10)
    assert g.logpdf(np.nextafter(1.0, 2.0)) == -np.inf
    h = GibbsDensity(quadratic(np.eye(2)), 1.0, (-1.0, 1.0))
    assert h.logpdf(np.zeros((3, 4, 2))).shape == (3, 4) and h.logpdf([0.0, 0.0]).shape == ()
    edge = h.logpdf([[1.0, -1.0], [1.0, np.nextafter(-1.0, -2.0)]])
    assert np.isfinite(edge[0]) and edge[1] == -np.inf
    assert edge[0] == pytest.approx(-1.0 - np.log(h.normaliser) + h.u_min, rel=1e-12)


def test_gibbs_density_resolution_and_normaliser_messages():
    """A density narrower than 5 grid cells, and a 2-D normaliser that underflows, are refused
    with the temperature and the remedy."""
    from dynopt.analysis.densities import GibbsDensity

    with pytest.raises(ValueError, match=r"^`temperature` = 1e-06 is too small for the box \(-3\.0, 3\.0\): the density "
                                         r"exp\(−L/kT\) is narrower than the 2001-point grid can resolve \(it underflows "
                                         r"to 0 between grid points\); raise kT, narrow the box, or raise `grid_points`$"):
        GibbsDensity(quadratic([[1.0]]), 1e-6)
    # five cells wide is enough: kT with mass = 5 cells exactly is at the edge; a bit wider passes
    g = GibbsDensity(quadratic([[1.0]]), 1e-4, (-1.0, 1.0), grid_points=2001)  # width 0.01 = 10 cells
    assert g.normaliser == pytest.approx(np.sqrt(2 * np.pi * 1e-4), rel=1e-8)
    with pytest.raises(ValueError, match=r"^`temperature` = 1e-300: the normaliser of exp\(−L/kT\) on the box "
                                         r"\(\(-3\.0, 3\.0\), \(-3\.0, 3\.0\)\) is 0\.0, so the density is undefined "
                                         r"\(it underflows to 0 or is not normalisable\)$"):
        GibbsDensity(quadratic(np.eye(2)), 1e-300)


def test_gibbs_density_1d_normaliser_splits_at_the_mode():
    """A mode of width 0.03 in a box of width 50 is integrated (quad is split at the grid's
    largest weight): Z = √(2π kT)."""
    from dynopt.analysis.densities import GibbsDensity

    g = GibbsDensity(quadratic([[1.0]]), 1e-3, (-20.0, 30.0), grid_points=5001)
    assert g.u_min == pytest.approx(0.0, abs=1e-25)
    assert g.normaliser == pytest.approx(np.sqrt(2 * np.pi * 1e-3), rel=1e-8)


@pytest.mark.parametrize("module", ['densities', 'stationary'])
def test_public_names_are_defined(module):
    """Every name in the module's ``__all__`` is defined by it."""
    import importlib

    mod = importlib.import_module(f"dynopt.analysis.{module}")
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_gibbs_density_minimum_next_to_the_boundary_is_inside():
    """A minimum one grid cell inside the box is accepted; on the boundary it is refused."""
    from dynopt.analysis.densities import GibbsDensity

    g = GibbsDensity(quadratic([[1.0]], center=[0.999]), 1.0, (-1.0, 1.0))
    assert g.u_min == pytest.approx(0.0, abs=1e-20)
    with pytest.raises(ValueError, match=r"^`bounds`: the potential of 'quadratic' has no minimum inside \(-1\.0, 1\.0\) "
                                         r"\(its smallest value on the box is at the boundary point \[1\.0\]\)"):
        GibbsDensity(quadratic([[1.0]], center=[1.0]), 1.0, (-1.0, 1.0))


def test_quadrature_marginal_cdf_is_exactly_one_above_the_box():
    """Above the box the cdf is exactly 1 even where the spline's value at the upper end rounds
    to just below 1 (here 1 − 2.2e-16), and exactly 0 below the box."""
    from dynopt.analysis.densities import QuadratureMarginal

    q = QuadratureMarginal(lambda x: np.exp(-0.1 * x ** 2) + 0.3 * np.sin(x) ** 2, -1.0, 1.7, n_panels=13)
    assert q.cdf([1.7 + 1e-9, 2.0, 10.0]).tolist() == [1.0, 1.0, 1.0]
    assert q.cdf([-1.0 - 1e-9, -5.0]).tolist() == [0.0, 0.0]


def test_gibbs_density_1d_weight_overflow_message(monkeypatch):
    """A weight exp(−(L − u_min)/kT) that overflows on the grid (u_min far above L) is refused
    with a message naming `temperature`, the box and that the density is undefined there."""
    from dynopt.analysis.densities import GibbsDensity

    monkeypatch.setattr(GibbsDensity, "_check_minimum", lambda self, grid_points: 1e6)
    with pytest.raises(ValueError, match=r"^`temperature` = 0\.5: exp\(−L/kT\) overflows on the box \(-2\.0, 2\.0\); "
                                         r"the density is undefined there$"):
        GibbsDensity(quadratic(np.eye(1)), 0.5, (-2.0, 2.0))


def test_gibbs_density_2d_normaliser_of_a_narrow_wide_box_gaussian():
    """Z of L = |x|²/2 at kT = 0.09 on [−6, 6]² (width 0.3 in a box 40 widths wide, Z ≈ 0.57 so
    the absolute tolerance 1e-10 does not bind) is the closed form to 1e-9: the relative tolerance
    of the nested quad is what resolves the narrow peak."""
    from dynopt.analysis.densities import GibbsDensity

    kT = 0.09
    g = GibbsDensity(quadratic(np.eye(2)), kT, (-6.0, 6.0))
    exact = np.exp(g.u_min / kT) * _truncated_normal_mass(kT, -6.0, 6.0) ** 2
    assert g.normaliser == pytest.approx(exact, rel=1e-9)
    assert 0 <= g.quad_error < 1e-8 * g.normaliser


def test_gibbs_density_function_reads_fractions_and_integers_as_floats():
    """The returned pdf (of a callable or of a 1-D Problem) takes Fractions and integers like floats."""
    from fractions import Fraction

    from dynopt.analysis.stationary import gibbs_density

    for source in (lambda x: np.asarray(x) ** 2 / 2, quadratic([[1.0]])):
        pdf, Z = gibbs_density(source, 0.4, -2.0, 3.0)
        want = np.exp(-np.array([0.5, 1.0]) ** 2 / 0.8) / Z
        np.testing.assert_allclose(pdf([Fraction(1, 2), 1]), want, rtol=1e-13)
        np.testing.assert_allclose(pdf(np.array([Fraction(1, 2), Fraction(1)], dtype=object)), want, rtol=1e-13)
