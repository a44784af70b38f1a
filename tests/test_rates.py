"""Mean first-passage quadrature against closed forms; Eyring–Kramers and Kramers rates."""
import math

import numpy as np
import pytest
from scipy import integrate

from dynopt.analysis.rates import (barrier_of, eyring_kramers_rate, eyring_kramers_rate_1d,
                                   kramers_rate, kramers_rate_1d, kramers_temperature,
                                   mean_first_passage_time, overdamped_temperature,
                                   separatrix_action)
from dynopt.problems import double_well, quadratic


def double_well_u(x):
    return x ** 4 / 4 - x ** 2 / 2


# --- closed forms for dX = μ dt + σ dW (U = −μx) -----------------------------------------
def drift_absorbing_both(mu, s, a, b, x):
    """(1/μ)[(b − a)·P(exit at b) − (x − a)], P(exit at b) = (1 − e^{−2μ(x−a)/σ²})/(1 − e^{−2μ(b−a)/σ²})."""
    p_b = math.expm1(-2 * mu * (x - a) / s ** 2) / math.expm1(-2 * mu * (b - a) / s ** 2)
    return ((b - a) * p_b - (x - a)) / mu


def drift_reflecting_absorbing(mu, s, a, b, x):
    """(b − x)/μ + σ²/(2μ²)(e^{−2μ(b−a)/σ²} − e^{−2μ(x−a)/σ²}): T(b) = 0, T'(a) = 0."""
    return (b - x) / mu + s ** 2 / (2 * mu ** 2) * (math.exp(-2 * mu * (b - a) / s ** 2)
                                                     - math.exp(-2 * mu * (x - a) / s ** 2))


@pytest.mark.parametrize("mu", [0.7, -0.4])
@pytest.mark.parametrize("x", [-0.99, 0.3, 1.9])
def test_drifted_brownian_motion_between_absorbing_ends(mu, x):
    s, a, b = 0.9, -1.0, 2.0
    r = mean_first_passage_time(lambda y: -mu * y, s, x, a, b, left="absorbing")
    assert r.time == pytest.approx(drift_absorbing_both(mu, s, a, b, x), rel=1e-8)


def test_brownian_motion_between_absorbing_ends_is_a_parabola():
    for x in (-0.5, 0.0, 0.7):
        r = mean_first_passage_time(lambda y: 0.0, 1.3, x, -1.0, 1.0, left="absorbing")
        assert r.time == pytest.approx((x + 1) * (1 - x) / 1.3 ** 2, rel=1e-8)


@pytest.mark.parametrize("mu", [0.7, -0.4])
@pytest.mark.parametrize("x", [-1.0, 0.3, 1.9])
def test_drifted_brownian_motion_reflecting_absorbing_and_its_mirror(mu, x):
    s, a, b = 0.9, -1.0, 2.0
    exact = drift_reflecting_absorbing(mu, s, a, b, x)
    r = mean_first_passage_time(lambda y: -mu * y, s, x, a, b)
    assert r.time == pytest.approx(exact, rel=1e-8)
    # reflected picture: absorbing at −b, reflecting at −a, drift −μ
    m = mean_first_passage_time(lambda y: mu * y, s, -x, -b, -a, left="absorbing",
                                right="reflecting")
    assert m.time == pytest.approx(exact, rel=1e-8)


def ou_mfpt_from_zero(theta, s, x):
    """MFPT of dX = −θX dt + σ dW from 0 to x (reflecting at −∞), by a series derived here.

    T = (2/σ²)∫_0^x e^{θy²/σ²} ∫_{−∞}^y e^{−θz²/σ²} dz dy = (√π/θ) ∫_0^u e^{v²} erfc(−v) dv with
    u = x√θ/σ, and e^{v²} erfc(−v) = Σ_{n≥0} vⁿ/Γ(1 + n/2); integrating term by term and using
    Γ(m/2)Γ((m+1)/2) = 2^{1−m}√π Γ(m) gives T = (1/2θ) Σ_{m≥1} (2u)^m Γ(m/2)/m!.
    """
    u = x * math.sqrt(theta) / s
    if u == 0:
        return 0.0
    terms = [math.copysign(1.0, u) ** m * math.exp(m * math.log(2 * abs(u)) + math.lgamma(m / 2)
                                                  - math.lgamma(m + 1)) for m in range(1, 400)]
    return math.fsum(terms) / (2 * theta)


@pytest.mark.parametrize("theta, s, x0, b", [(1.3, 0.8, 0.0, 1.5), (1.0, 1.0, -0.5, 0.5),
                                             (2.0, 0.5, 0.3, 1.2)])
def test_ornstein_uhlenbeck_mfpt_matches_its_series(theta, s, x0, b):
    exact = ou_mfpt_from_zero(theta, s, b) - ou_mfpt_from_zero(theta, s, x0)
    r = mean_first_passage_time(lambda y: theta * y * y / 2, s, x0, -np.inf, b)
    assert r.time == pytest.approx(exact, rel=1e-8)
    assert r.lower_limit < -3 * s / math.sqrt(theta)  # the cut is far out in the tail
    # the same potential as a dynopt Problem
    p = mean_first_passage_time(quadratic([[theta]]), s, x0, -np.inf, b)
    assert p.time == pytest.approx(r.time, rel=1e-10)


def test_double_well_mfpt_between_minima_is_about_41():
    r = mean_first_passage_time(double_well(), 0.5, -1.0, -np.inf, 1.0)
    # an independent route: composite Simpson on a fine grid (error ~h⁴)
    y = np.linspace(-3.0, 1.0, 40001)
    phi = 2 * double_well_u(y) / 0.5 ** 2
    inner = integrate.cumulative_simpson(np.exp(-phi), x=y, initial=0.0)
    outer = np.exp(phi) * inner
    keep = y >= -1.0
    simpson = 2 / 0.5 ** 2 * integrate.simpson(outer[keep], x=y[keep])
    assert r.time == pytest.approx(simpson, rel=1e-8)
    assert r.time == pytest.approx(41.0343, abs=1e-4)
    assert r.time == pytest.approx(mean_first_passage_time(double_well_u, 0.5, -1.0, -np.inf, 1.0).time,
                                   rel=1e-12)


def test_eyring_kramers_rate_approaches_the_exact_rate_as_sigma_shrinks():
    sigmas = [0.5, 0.35, 0.25, 0.18, 0.12]
    ratios, saddle_ratios = [], []
    for s in sigmas:
        k = eyring_kramers_rate_1d(double_well(), -1.0, 0.0, s)
        t_well = mean_first_passage_time(double_well(), s, -1.0, -np.inf, 1.0).time
        t_saddle = mean_first_passage_time(double_well(), s, -1.0, -np.inf, 0.0).time
        ratios.append(k * t_well)
        saddle_ratios.append(2 * k * t_saddle)  # a path at the saddle crosses with probability ½
    ratios, kT = np.array(ratios), np.array([overdamped_temperature(s) for s in sigmas])
    # measured: 1.250, 1.139, 1.057, 1.027, 1.011 — the relative correction is O(kT),
    # (ratio − 1)/kT = 2.0, 2.26, 1.83, 1.64, 1.56
    assert np.all(np.diff(ratios) < 0) and ratios[-1] < 1.012
    assert np.all((ratios - 1) / kT > 1.0) and np.all((ratios - 1) / kT < 2.5)
    np.testing.assert_allclose(saddle_ratios[-1], 1.0, atol=0.012)


def test_eyring_kramers_formula_and_barrier_of_the_double_well():
    bar = barrier_of(double_well(), -1.0, 0.0)
    assert bar == (-1.0, 0.0, 0.25, 2.0, -1.0)
    fd = barrier_of(double_well_u, -1.0, 0.0)  # U'' by central differences
    np.testing.assert_allclose(fd[3:], (2.0, -1.0), rtol=1e-7)
    k = eyring_kramers_rate(2.0, -1.0, 0.25, 0.5)
    assert k == pytest.approx(math.sqrt(2.0) / (2 * math.pi) * math.exp(-2.0), rel=1e-14)
    assert eyring_kramers_rate_1d(double_well_u, -1.0, 0.0, 0.5) == pytest.approx(k, rel=1e-7)


def test_separatrix_action_of_the_double_well_is_four_thirds():
    assert separatrix_action(double_well(), -1.0, 0.0) == pytest.approx(4 / 3, rel=1e-10)
    assert separatrix_action(double_well_u, 1.0, 0.0) == pytest.approx(4 / 3, rel=1e-10)


def test_kramers_rate_forms_and_their_limits():
    w0sq, wbsq, dU, s = 2.0, -1.0, 0.25, 0.5
    args = (w0sq, wbsq, dU)

    def k(lam, regime, **kw):
        return kramers_rate(*args, s, lam, regime=regime, **kw)

    # high friction = Eyring–Kramers of the position equation dX = −U'/λ dt + (σ/λ) dW
    lam = 3.0
    ek = eyring_kramers_rate(w0sq / lam, wbsq / lam, dU / lam, s / lam)
    assert k(lam, "high") == pytest.approx(ek, rel=1e-13)
    arr = math.exp(-dU / kramers_temperature(s, lam))
    assert k(lam, "high") == pytest.approx(math.sqrt(2) / (2 * math.pi * lam) * arr, rel=1e-13)
    # at fixed kT (σ² = 2λ kT) the intermediate form tends to the high-friction one, with
    # relative error ~ω_b²/λ², ...
    kT = overdamped_temperature(s)

    def k_at(lam, regime):
        return kramers_rate(*args, math.sqrt(2 * lam * kT), lam, regime=regime)

    for lam in (10.0, 100.0, 1e4, 1e8):
        assert k_at(lam, "intermediate") / k_at(lam, "high") == pytest.approx(1.0, abs=1.5 / lam ** 2)
    # ... and to the transition-state rate (ω₀/2π)e^{−ΔU/kT} as λ → 0
    tst = math.sqrt(w0sq) / (2 * math.pi) * math.exp(-dU / kT)
    assert k_at(1e-6, "intermediate") == pytest.approx(tst, rel=1e-6)
    assert k_at(0.5, "intermediate") < tst
    # low friction: λ (I/kT) ω₀/2π e^{−ΔU/kT} with I = 4/3 for this well
    lam = 0.01
    kT = kramers_temperature(s, lam)
    low = kramers_rate_1d(double_well(), -1.0, 0.0, s, lam, regime="low")
    assert low == pytest.approx(lam * (4 / 3) / kT * math.sqrt(2) / (2 * math.pi)
                                * math.exp(-dU / kT), rel=1e-9)
    # the turnover heuristic lies below both and follows the smaller one at the extremes
    for lam in (1e-3, 0.3, 30.0):
        t = kramers_rate_1d(double_well(), -1.0, 0.0, s, lam, regime="turnover")
        lo = kramers_rate_1d(double_well(), -1.0, 0.0, s, lam, regime="low")
        it = kramers_rate_1d(double_well(), -1.0, 0.0, s, lam)
        assert t < min(lo, it)
        if lam in (1e-3, 30.0):
            assert t == pytest.approx(min(lo, it), rel=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: mean_first_passage_time(double_well_u, 0.5, 0.0, -2, 2, left="reflecting",
                                     right="reflecting"), "both be 'reflecting'"),
    (lambda: mean_first_passage_time(double_well_u, 0.5, 3.0, -2, 2), "x0"),
    (lambda: mean_first_passage_time(double_well_u, 0.5, 0.0, -np.inf, 2, left="absorbing"), "-inf"),
    (lambda: mean_first_passage_time(double_well_u, 0.0, 0.0, -2, 2), "sigma"),
    (lambda: mean_first_passage_time(lambda y: y, 0.5, 0.0, -np.inf, 2), "confine"),
    (lambda: mean_first_passage_time(double_well_u, 0.02, -1.0, -np.inf, 1.0), "overflow"),
    (lambda: mean_first_passage_time(double_well(2), 0.5, 0.0, -1, 1), "dimension 1"),
    (lambda: barrier_of(double_well_u, 0.0, -1.0), "minimum"),
    (lambda: kramers_rate(2.0, -1.0, 0.25, 0.5, 1.0, regime="low"), "action"),
    (lambda: kramers_rate(2.0, -1.0, 0.25, 0.5, 1.0, regime="medium"), "regime"),
    (lambda: eyring_kramers_rate(2.0, -1.0, -0.25, 0.5), "barrier"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_non_callable_potential_is_a_type_error():
    with pytest.raises(TypeError, match="potential"):
        mean_first_passage_time("x**2", 0.5, 0.0, -1.0, 1.0)


# ----------------------------------------------------------------------------------------
# Exact values, cuts, messages and boundaries
# ----------------------------------------------------------------------------------------
def test_inner_cumulative_integral_splits_at_the_breakpoints():
    """The inner integral F(y) = ∫_anchor^y f is split at the given breakpoints: a peak of width
    1e-3 far from both ends is found (a single quad over [0, 10] misses it)."""
    from dynopt.analysis.rates import _Cumulative

    w = 1e-3

    def f(y):
        return math.exp(-0.5 * ((y - 3.7) / w) ** 2)

    exact = math.sqrt(2 * math.pi) * w
    c = _Cumulative(f, 0.0, 1e-10, [3.7])
    assert c(10.0) == pytest.approx(exact, rel=1e-8)
    assert c(5.0) == pytest.approx(exact, rel=1e-8)        # from the nearest known point below, 0
    assert c(-1.0) == pytest.approx(0.0, abs=1e-300)       # below the anchor: −∫_{−1}^0 f = 0
    assert c(3.7) == pytest.approx(exact / 2, rel=1e-8)
    assert c.ys == sorted(c.ys) and c.ys[0] == -1.0


def _bump(height, width, centre, tilt):
    """U = height·exp(−(x − centre)²/(2·width²)) + tilt·x: a narrow barrier on a slope."""
    return lambda x: height * math.exp(-0.5 * ((x - centre) / width) ** 2) + tilt * x


def _bump_mfpt_reference(u, width, centre, x0, b, sigma=1.0):
    """T(x0) = (2/σ²) ∫_{x0}^{b} e^{Φ(y)} ∫_0^y e^{−Φ(z)} dz dy (reflecting at 0, absorbing at b),
    Φ = 2U/σ², by nested quad summed over pieces cut at the known peak and 40 widths either side
    of it, so that every piece sees the barrier at an end where quad's nodes cluster."""
    phi = lambda x: 2 * u(x) / sigma ** 2  # noqa: E731
    shift = max(phi(centre), phi(x0), phi(b))

    def pieces(lo, hi):
        cuts = [lo] + [c for c in (centre - 40 * width, centre, centre + 40 * width) if lo < c < hi] + [hi]
        return zip(cuts[:-1], cuts[1:])

    def inner(y):
        return sum(integrate.quad(lambda z: math.exp(-phi(z) + shift), p, q, epsabs=0.0, epsrel=1e-12,
                                  limit=400)[0] for p, q in pieces(0.0, y))

    return 2 / sigma ** 2 * sum(integrate.quad(lambda y: math.exp(phi(y) - shift) * inner(y), p, q, epsabs=0.0,
                                               epsrel=1e-12, limit=400)[0] for p, q in pieces(x0, b))


def test_mfpt_over_a_narrow_barrier_splits_the_outer_integral_at_it():
    """A barrier of width 1e-4 at the centre of [0, 1] (Φ peaks at 8): one quad over [0, 1]
    never samples it (T would come out ≈ 1, the flat-interval value); split at the grid's
    extrema it is found, and T agrees with the nested reference."""
    u = _bump(4.0, 1e-4, 0.5, 0.0)
    r = mean_first_passage_time(u, 1.0, 0.0, 0.0, 1.0)
    assert r.time == pytest.approx(_bump_mfpt_reference(u, 1e-4, 0.5, 0.0, 1.0), rel=1e-10)
    assert r.time > 1.2


def test_mfpt_over_a_narrow_barrier_on_a_slope_splits_at_the_peak():
    """Barrier of width 2e-4 at x = 0.5 on the slope U = −0.3x: the breakpoints are the grid's
    extrema of Φ (the well just before the peak, and the peak); T agrees with the nested
    reference to 1e-8 (a breakpoint one grid cell past the peak leaves an error of ~4e-5)."""
    u = _bump(4.0, 2e-4, 0.5, -0.3)
    r = mean_first_passage_time(u, 1.0, 0.0, 0.0, 1.0)
    assert r.time == pytest.approx(_bump_mfpt_reference(u, 2e-4, 0.5, 0.0, 1.0), rel=1e-8)


def test_mfpt_over_a_narrow_barrier_on_a_rising_slope():
    """Barrier of width 2e-4 at x = 0.5 on U = 0.3x (Φ peaks at 16): the grid extrema are the
    peak and the well just after it, so [0, 0.5] holds the barrier's left half at its end."""
    u = _bump(8.0, 2e-4, 0.5, 0.3)
    r = mean_first_passage_time(u, 1.0, 0.0, 0.0, 1.0)
    assert r.time == pytest.approx(_bump_mfpt_reference(u, 2e-4, 0.5, 0.0, 1.0), rel=1e-8)


def test_mfpt_reports_the_phi_range_that_overflows():
    """The overflow message prints max Φ − min Φ over the interval (here Φ = 200x on [1, 5]:
    800) and the 650 limit."""
    with pytest.raises(ValueError, match=r"^Φ = 2U/σ² varies by 800 > 650\.0 over the interval: the MFPT "
                                         r"overflows; increase `sigma` or use eyring_kramers_rate$"):
        mean_first_passage_time(lambda y: y, 0.1, 2.0, 1.0, 5.0, left="absorbing")
    # just inside the limit: Φ range 640 is integrated
    r = mean_first_passage_time(lambda y: y, 0.1, 2.0, 1.0, 4.2, left="absorbing")
    assert r.time == pytest.approx(1.0, rel=1e-10)


def test_infinite_reflecting_ends_are_cut_where_phi_rises_by_50():
    """An infinite reflecting end is replaced by the point where Φ exceeds its minimum along the
    sweep from x0 by 50: for U = x²/2, σ = 1 (Φ = x²) at ±√50, also when x0 is off the minimum."""
    u = lambda y: y * y / 2  # noqa: E731
    r = mean_first_passage_time(u, 1.0, 0.5, -np.inf, 2.0)
    assert r.lower_limit == pytest.approx(-math.sqrt(50.0), rel=1e-10)
    assert r.upper_limit == 2.0
    m = mean_first_passage_time(u, 1.0, -0.5, -2.0, np.inf, left="absorbing", right="reflecting")
    assert m.upper_limit == pytest.approx(math.sqrt(50.0), rel=1e-10)
    assert m.lower_limit == -2.0
    assert m.time == pytest.approx(r.time, rel=1e-8)   # mirror images
    assert 0 < r.error < 1e-6 * r.time
    # σ = 2: Φ = x²/4, cut at √200 (from x0 = 0.4 the sweep's grid of step 0.04 hits the minimum)
    assert mean_first_passage_time(u, 2.0, 0.4, -np.inf, 2.0).lower_limit == pytest.approx(-math.sqrt(200.0),
                                                                                            rel=1e-10)


def test_mfpt_defaults_and_finite_interval_fields():
    """Defaults are left reflecting, right absorbing, rtol 1e-10; a finite interval is reported
    as given; the error estimate scales with the 2/σ² factor like the time."""
    u = lambda y: -0.7 * y  # noqa: E731
    r = mean_first_passage_time(u, 0.9, 0.3, -1.0, 2.0)
    assert r == mean_first_passage_time(u, 0.9, 0.3, -1.0, 2.0, left="reflecting", right="absorbing",
                                        rtol=1e-10)
    assert (r.lower_limit, r.upper_limit) == (-1.0, 2.0)
    assert r.time == pytest.approx(drift_reflecting_absorbing(0.7, 0.9, -1.0, 2.0, 0.3), rel=1e-10)
    assert 0 <= r.error < 1e-9 * r.time
    loose = mean_first_passage_time(u, 0.9, 0.3, -1.0, 2.0, rtol=1e-2)
    assert loose.time == pytest.approx(r.time, rel=1e-2)
    # at the absorbing end the time is 0; at the reflecting end it is the largest
    at_end = mean_first_passage_time(u, 0.9, 2.0, -1.0, 2.0)
    assert at_end.time == 0.0 and at_end.error == 0.0
    both = mean_first_passage_time(u, 0.9, 2.0, -1.0, 2.0, left="absorbing")
    assert both.time == pytest.approx(0.0, abs=1e-12)
    edge = mean_first_passage_time(u, 0.9, -1.0, -1.0, 2.0)
    assert edge.time == pytest.approx(drift_reflecting_absorbing(0.7, 0.9, -1.0, 2.0, -1.0), rel=1e-10)


@pytest.mark.parametrize("kwargs, match", [
    ({"left": "Reflecting"}, r"^`left` and `right` must be one of \('reflecting', 'absorbing'\); "
                             r"got 'Reflecting', 'absorbing'$"),
    ({"right": "open"}, r"^`left` and `right` must be one of \('reflecting', 'absorbing'\); "
                        r"got 'reflecting', 'open'$"),
    ({"left": "reflecting", "right": "reflecting"},
     r"^`left` and `right` cannot both be 'reflecting': nothing would be absorbed$"),
    ({"a": 1.0, "b": 1.0, "x0": 1.0}, r"^need a < b; got a=1\.0, b=1\.0$"),
    ({"a": np.nan}, r"^need a < b; got a=nan, b=2\.0$"),
    ({"x0": 2.5}, r"^`x0` must be in \[-1\.0, 2\.0\]; got 2\.5$"),
    ({"a": -np.inf, "left": "absorbing"},
     r"^`a` = -inf needs `left`='reflecting' \(an absorbing end must be finite\)$"),
    ({"b": np.inf, "right": "absorbing", "left": "absorbing"},
     r"^`b` = \+inf needs `right`='reflecting' \(an absorbing end must be finite\)$"),
    ({"sigma": 0.0}, r"^`sigma` must be in \(0\.0, inf\); got 0\.0$"),
    ({"rtol": 9e-14}, r"^`rtol` must be in \[1e-13, 0\.01\]; got 9e-14$"),
    ({"rtol": 0.02}, r"^`rtol` must be in \[1e-13, 0\.01\]; got 0\.02$"),
])
def test_mfpt_argument_messages(kwargs, match):
    """Every refused argument of mean_first_passage_time is named with its allowed range."""
    args = {"sigma": 0.9, "x0": 0.3, "a": -1.0, "b": 2.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        mean_first_passage_time(lambda y: -0.7 * y, args.pop("sigma"), args.pop("x0"), args.pop("a"),
                                args.pop("b"), **args)


@pytest.mark.parametrize("left", ["reflecting", "absorbing"])
@pytest.mark.parametrize("rtol", [1e-13, 1e-2])
def test_mfpt_rtol_limits_are_accepted(left, rtol):
    """Both ends of the rtol range run (quad refuses tolerances below 50 ε, inner ones included)
    and give the closed form to within rtol."""
    r = mean_first_passage_time(lambda y: -0.7 * y, 0.9, 0.3, -1.0, 2.0, left=left, rtol=rtol)
    exact = (drift_reflecting_absorbing if left == "reflecting" else drift_absorbing_both)(0.7, 0.9, -1.0, 2.0, 0.3)
    assert r.time == pytest.approx(exact, rel=max(rtol, 1e-12))


@pytest.mark.parametrize("x", [1.2, 1.5, 2.0, 2.4])
def test_absorbing_ends_with_a_steep_potential_keep_their_accuracy(x):
    """Absorbing at both ends with Φ = 200y rising by 640 over [1, 4.2]: the MFPT (≈ x − 1) agrees
    with the closed form to 1e-10 from every start; inner integrals stepped back from a larger
    cumulative value used to cancel and return 0.13 for 0.5, or −1e15."""
    r = mean_first_passage_time(lambda y: y, 0.1, x, 1.0, 4.2, left="absorbing")
    assert r.time == pytest.approx(drift_absorbing_both(-1.0, 0.1, 1.0, 4.2, x), rel=1e-10)


def test_mfpt_refuses_a_potential_that_does_not_confine_or_is_not_finite():
    """A linear U towards an infinite end, and a U with a NaN on the interval, are refused."""
    with pytest.raises(ValueError, match=r"^U does not confine to the left of x0 = 0\.0 \(Φ = 2U/σ² does not grow by "
                                         r"50\.0 within 2\^60\): give a finite a$"):
        mean_first_passage_time(lambda y: y, 0.5, 0.0, -np.inf, 2.0)
    with pytest.raises(ValueError, match=r"^U does not confine to the right of x0 = 0\.0 .*: give a finite b$"):
        mean_first_passage_time(lambda y: -y, 0.5, 0.0, -2.0, np.inf, left="absorbing", right="reflecting")
    with pytest.raises(ValueError, match=r"^U is not finite on \[a, b\]$"):
        mean_first_passage_time(lambda y: math.log(y + 0.5) if y > -0.5 else math.nan, 0.5, 0.0, -1.0, 1.0)


def test_a_problem_potential_and_its_messages():
    """A 1-D Problem is evaluated through value_fn (and U'' through its Hessian); other dimensions
    and non-callables are refused by name."""
    from dynopt.analysis.rates import _scalar_potential

    u, hess = _scalar_potential(double_well())
    assert u(2.0) == 2.0 and hess(2.0) == pytest.approx(11.0, rel=1e-14)
    v, none = _scalar_potential(double_well_u)
    assert v(2.0) == 2.0 and none is None
    with pytest.raises(ValueError, match=r"^`potential` must be a Problem of dimension 1; got dim=2$"):
        _scalar_potential(double_well(2))
    with pytest.raises(TypeError, match=r"^`potential` must be a callable U\(x\) or a dynopt Problem of dimension 1; "
                                        r"got str$"):
        _scalar_potential("x**2")


def test_temperatures_and_their_messages():
    """kT = σ²/2 (overdamped) and σ²/(2λ) (Kramers); σ and λ must be > 0."""
    assert overdamped_temperature(0.6) == pytest.approx(0.18, rel=1e-15)
    assert kramers_temperature(0.6, 3.0) == pytest.approx(0.06, rel=1e-15)
    with pytest.raises(ValueError, match=r"^`sigma` must be in \(0\.0, inf\); got 0$"):
        overdamped_temperature(0)
    with pytest.raises(ValueError, match=r"^`sigma` must be in \(0\.0, inf\); got -1$"):
        kramers_temperature(-1, 1.0)
    with pytest.raises(ValueError, match=r"^`friction` must be in \(0\.0, inf\); got 0\.0$"):
        kramers_temperature(1.0, 0.0)


def test_barrier_of_an_asymmetric_well_and_its_messages():
    """U = x⁴/4 − x²/2 + 0.1x: minimum, saddle, height and curvatures against numpy's roots;
    the same point twice, a non-minimum, a non-saddle and a non-positive barrier are refused."""
    u = lambda x: x ** 4 / 4 - x ** 2 / 2 + 0.1 * x  # noqa: E731
    roots = np.sort(np.roots([1.0, 0.0, -1.0, 0.1]).real)
    xm, xs = roots[0], roots[1]
    bar = barrier_of(u, xm, xs)
    assert bar.minimum == xm and bar.saddle == xs
    assert bar.height == pytest.approx(u(xs) - u(xm), rel=1e-14)
    assert bar.min_curvature == pytest.approx(3 * xm ** 2 - 1, rel=1e-7)
    assert bar.saddle_curvature == pytest.approx(3 * xs ** 2 - 1, rel=1e-7)
    with pytest.raises(ValueError, match=r"^`minimum` and `saddle` must differ$"):
        barrier_of(u, 0.5, 0.5)
    with pytest.raises(ValueError, match=r"^`minimum` = 0\.0 is not a minimum: U'' = -1 must be > 0$"):
        barrier_of(double_well(), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^`saddle` = 1\.0 is not a barrier top: U'' = 2 must be < 0$"):
        barrier_of(double_well(), -1.0, 1.0)
    # a flat top (U'' = 0 exactly) is not a barrier top either
    with pytest.raises(ValueError, match=r"^`saddle` = 0\.5 is not a barrier top: U'' = 0 must be < 0$"):
        barrier_of(lambda x: (x + 1.0) ** 2 if x < 0 else 1.0, -1.0, 0.5)
    with pytest.raises(ValueError, match=r"^`minimum` = 0\.5 is not a minimum: U'' = 0 must be > 0$"):
        barrier_of(lambda x: (x + 1.0) ** 2 if x < 0 else 1.0, 0.5, -1.0)
    with pytest.raises(ValueError, match=r"^barrier height U\(saddle\) − U\(minimum\) = -0\.05 must be > 0$"):
        barrier_of(lambda x: (x - 1.0) ** 2 - 1.0 if x > 0.5 else -x * x - 1.05, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"^`saddle` must be in \(-inf, inf\); got nan$"):
        barrier_of(u, xm, np.nan)
    with pytest.raises(ValueError, match=r"^`minimum` must be in \(-inf, inf\); got inf$"):
        barrier_of(u, np.inf, xs)


def test_kramers_rate_regimes_against_hand_formulas():
    """Each regime against its formula written out here, with ω₀² = 3, U''(saddle) = −2 (its sign
    ignored), ΔU = 0.4, σ = 0.7, λ = 1.5, I = 0.9; the default regime is "intermediate"."""
    k0, kb, dU, s, lam, act = 3.0, -2.0, 0.4, 0.7, 1.5, 0.9
    kT = s * s / (2 * lam)
    w0, wb = math.sqrt(k0), math.sqrt(2.0)
    e = math.exp(-dU / kT)
    high = w0 * wb / (2 * math.pi * lam) * e
    inter = w0 / (2 * math.pi) * (math.sqrt(lam ** 2 / 4 + wb ** 2) - lam / 2) / wb * e
    low = lam * act / kT * w0 / (2 * math.pi) * e
    turn = low * inter / (low + inter)
    want = {"high": high, "intermediate": inter, "low": low, "turnover": turn}
    for regime, v in want.items():
        assert kramers_rate(k0, kb, dU, s, lam, regime=regime, action=act) == pytest.approx(v, rel=1e-13), regime
        assert kramers_rate(k0, -kb, dU, s, lam, regime=regime, action=act) == pytest.approx(v, rel=1e-13)
    assert kramers_rate(k0, kb, dU, s, lam) == kramers_rate(k0, kb, dU, s, lam, regime="intermediate", action=None)
    assert kramers_rate(k0, kb, dU, s, lam, regime="high", action=None) == pytest.approx(high, rel=1e-13)


def test_kramers_rate_1d_uses_the_barrier_and_the_action_of_the_potential():
    """kramers_rate_1d = kramers_rate with barrier_of's numbers (and separatrix_action for low and
    turnover); its default regime is "intermediate"."""
    bar = barrier_of(double_well(), -1.0, 0.0)
    act = separatrix_action(double_well(), -1.0, 0.0)
    for regime in ("high", "intermediate", "low", "turnover"):
        want = kramers_rate(bar.min_curvature, bar.saddle_curvature, bar.height, 0.6, 0.8, regime=regime, action=act)
        assert kramers_rate_1d(double_well(), -1.0, 0.0, 0.6, 0.8, regime=regime) == pytest.approx(want, rel=1e-13)
    assert kramers_rate_1d(double_well(), -1.0, 0.0, 0.6, 0.8) == \
        kramers_rate_1d(double_well(), -1.0, 0.0, 0.6, 0.8, regime="intermediate")


@pytest.mark.parametrize("call, match", [
    (lambda: kramers_rate(2.0, -1.0, 0.25, 0.5, 1.0, regime="Low"),
     r"^`regime` must be one of \('high', 'intermediate', 'low', 'turnover'\); got 'Low'$"),
    (lambda: kramers_rate(0.0, -1.0, 0.25, 0.5, 1.0), r"^`min_curvature` must be in \(0\.0, inf\); got 0\.0$"),
    (lambda: kramers_rate(2.0, np.inf, 0.25, 0.5, 1.0), r"^`saddle_curvature` must be in \(-inf, inf\); got inf$"),
    (lambda: kramers_rate(2.0, 0.0, 0.25, 0.5, 1.0), r"^`saddle_curvature` must be nonzero$"),
    (lambda: kramers_rate(2.0, -1.0, 0.0, 0.5, 1.0), r"^`barrier` must be in \(0\.0, inf\); got 0\.0$"),
    (lambda: kramers_rate(2.0, -1.0, 0.25, 0.5, 0.0), r"^`friction` must be in \(0\.0, inf\); got 0\.0$"),
    (lambda: kramers_rate(2.0, -1.0, 0.25, 0.0, 1.0), r"^`sigma` must be in \(0\.0, inf\); got 0\.0$"),
    (lambda: kramers_rate(2.0, -1.0, 0.25, 0.5, 1.0, regime="turnover"),
     r"^regime 'turnover' needs `action` = I\(E_b\) \(see separatrix_action\)$"),
    (lambda: kramers_rate(2.0, -1.0, 0.25, 0.5, 1.0, regime="low", action=0.0),
     r"^`action` must be in \(0\.0, inf\); got 0\.0$"),
    (lambda: eyring_kramers_rate(0.0, -1.0, 0.25, 0.5), r"^`min_curvature` must be in \(0\.0, inf\); got 0\.0$"),
    (lambda: eyring_kramers_rate(2.0, np.nan, 0.25, 0.5), r"^`saddle_curvature` must be in \(-inf, inf\); got nan$"),
    (lambda: eyring_kramers_rate(2.0, 0.0, 0.25, 0.5),
     r"^`saddle_curvature` must be nonzero \(a degenerate saddle has no EK rate\)$"),
    (lambda: eyring_kramers_rate(2.0, -1.0, 0.0, 0.5), r"^`barrier` must be in \(0\.0, inf\); got 0\.0$"),
    (lambda: eyring_kramers_rate(2.0, -1.0, 0.25, -0.5), r"^`sigma` must be in \(0\.0, inf\); got -0\.5$"),
    (lambda: separatrix_action(double_well_u, 0.0, -1.0), r"^U\(minimum\) must be below U\(saddle\)$"),
    (lambda: separatrix_action(lambda x: (x * x - 1.0) ** 2, -1.0, 1.0), r"^U\(minimum\) must be below U\(saddle\)$"),
    (lambda: separatrix_action(lambda x: -abs(x), -1.0, 0.0),
     r"^U does not rise above the barrier energy beyond `minimum`$"),
    (lambda: separatrix_action(double_well_u, np.nan, 0.0), r"^`minimum` must be in \(-inf, inf\); got nan$"),
    (lambda: separatrix_action(double_well_u, -1.0, np.inf), r"^`saddle` must be in \(-inf, inf\); got inf$"),
])
def test_rate_argument_messages(call, match):
    """Every refused argument of the asymptotic rates is named with its allowed range."""
    with pytest.raises(ValueError, match=match):
        call()


def test_eyring_kramers_rate_takes_the_saddle_curvature_by_modulus():
    """k = √(U''(min)|U''(saddle)|)/(2π)·e^{−2ΔU/σ²} for either sign of U''(saddle)."""
    want = math.sqrt(3.0 * 0.5) / (2 * math.pi) * math.exp(-2 * 0.3 / 0.8 ** 2)
    assert eyring_kramers_rate(3.0, -0.5, 0.3, 0.8) == pytest.approx(want, rel=1e-14)
    assert eyring_kramers_rate(3.0, 0.5, 0.3, 0.8) == pytest.approx(want, rel=1e-14)


def test_separatrix_action_of_a_harmonic_cusp_against_its_closed_form():
    """U = x²/2 for x < 1 and 1 − (x−2)²/2 beyond (saddle at 2, E_b = 1): the orbit from the saddle
    to the turning point −√2 has action I = 2[∫_{−√2}^{1} √(2 − q²) dq + ∫_1^2 (2 − q) dq]
    = 2(3π/4 + 1); the mirror image (saddle on the left) has the same."""
    u = lambda x: x * x / 2 if x < 1 else 1 - (x - 2) ** 2 / 2  # noqa: E731
    half = integrate.quad(lambda q: math.sqrt(max(2 * (1 - u(q)), 0.0)), -math.sqrt(2), 2.0, points=[0.0, 1.0],
                          epsabs=0, epsrel=1e-12)[0]
    by_hand = 3 * math.pi / 4 + 1
    assert half == pytest.approx(by_hand, rel=1e-10)
    assert separatrix_action(u, 0.0, 2.0) == pytest.approx(2 * by_hand, rel=1e-9)
    # the mirrored potential, saddle on the left
    assert separatrix_action(lambda x: u(-x), 0.0, -2.0) == pytest.approx(2 * by_hand, rel=1e-9)


def test_public_names_of_the_rates_module():
    """Every name in ``__all__`` is defined by the module."""
    import dynopt.analysis.rates as rates

    assert sorted(rates.__all__) == sorted(set(rates.__all__))
    for name in rates.__all__:
        assert hasattr(rates, name), name


@pytest.mark.parametrize("friction", [0.0, -1.0])
def test_kramers_rate_rejects_non_positive_friction(friction):
    """`friction` must lie in (0.0, inf): zero friction is rejected with the open range named,
    and it is checked before `sigma` (a bad sigma does not hide it)."""
    from dynopt.analysis.rates import kramers_rate

    for sigma in (0.5, -0.5):
        with pytest.raises(ValueError, match=r"^`friction` must be in \(0\.0, inf\); got "):
            kramers_rate(2.0, -1.0, 0.25, sigma, friction)
