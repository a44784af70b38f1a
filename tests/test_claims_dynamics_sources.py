"""The computations inside the claims files of the dynamics sources (chen-fox-guestrin-2014,
cohen-2021, kloeden-platen-1992, kramers-1940, leimkuhler-matthews-2013, lessard-2016,
li-tai-e-2017, polyak-1964, shi-2018, su-boyd-candes-2016), against independent numbers:
closed forms, recursions written out by hand, scipy quadrature and ODE solvers, and the
numbers the sources state.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate, special, stats
from scipy.integrate import solve_ivp

from dynopt.analysis import TUNINGS, kramers_parameters
from dynopt.dynamics import HeavyBall
from dynopt.problems import double_well, quadratic
from paper_claims import FakeContext, committed_verdict, load

CHEN, COHEN, KP = load("chen-fox-guestrin-2014"), load("cohen-2021"), load("kloeden-platen-1992")
KRAMERS, LM, LESSARD = load("kramers-1940"), load("leimkuhler-matthews-2013"), load("lessard-2016")
LTE, POLYAK, SHI, SBC = load("li-tai-e-2017"), load("polyak-1964"), load("shi-2018"), load("su-boyd-candes-2016")


# --- chen-fox-guestrin-2014 -----------------------------------------------------------------

@pytest.mark.parametrize("alpha, beta", [(0.01, 1.0), (0.009, 0.9), (0.04, 0.5)])
def test_chen_exact_energy_by_the_recursion_written_out(alpha, beta):
    # momentum SGD on hθ²/2 with noise ξ of variance c: v' = βv − α(hθ + ξ), θ' = θ + v', from 0;
    # H = hθ²/2 + v²/(2γ²) with γ from eq 15 inverted: x = (1−β)/(1+β), γ² = α(1 + x)
    h, c, n, every = 1.3, 0.7, 60, 5
    gamma2 = alpha * (1 + (1 - beta) / (1 + beta))
    A = np.array([[1 - alpha * h, beta], [-alpha * h, beta]])
    b = np.array([-alpha, -alpha])
    S, want = np.zeros((2, 2)), [0.0]
    for k in range(1, n + 1):
        S = A @ S @ A.T + c * np.outer(b, b)
        if k % every == 0:
            want.append(h / 2 * S[0, 0] + S[1, 1] / (2 * gamma2))
    np.testing.assert_allclose(CHEN._exact_energy(alpha, beta, h, c, n, every), want, rtol=1e-12)
    # first step by hand: θ_1 = v_1 = −αξ
    e1 = CHEN._exact_energy(alpha, beta, h, c, 1, 1)[1]
    assert e1 == pytest.approx(h / 2 * alpha ** 2 * c + alpha ** 2 * c / (2 * gamma2), rel=1e-12)


# --- cohen-2021 -----------------------------------------------------------------------------

@pytest.mark.parametrize("lr, beta", [(0.5, 0.8), (0.25, 0.9), (1.0, 0.3)])
def test_cohen_candidate_bounds_are_the_statements(lr, beta):
    # S·η at the edge: GD 2, heavy ball 2(1 + β), Nesterov 2(1 + β)/(1 + 2β) (the claims' statements)
    b = COHEN._candidate_bounds(lr, beta)
    assert b == pytest.approx({"gd": 2.0, "heavy-ball": 2 * (1 + beta), "nesterov": 2 * (1 + beta) / (1 + 2 * beta)})


def test_cohen_band_constants_are_the_statements():
    from dynopt.ledger import REGISTRY

    text = REGISTRY["cohen-2021.edge-of-stability"].statement
    assert f"[{COHEN.BAND[0]}, {COHEN.BAND[1]}]" in text
    assert f"≥ {COHEN.MIN_FRACTION:.0%}".replace("%", " %") in text
    assert f"within {COHEN.MEDIAN_TOL:.0%}".replace("%", " %") in text


def test_cohen_hovers_decision():
    st = {"reach_step": 100, "fraction_in_band": 0.85, "median_ratio": 1.02}
    assert COHEN._hovers(st)
    assert not COHEN._hovers({**st, "reach_step": None})
    assert not COHEN._hovers({**st, "fraction_in_band": 0.79})
    assert not COHEN._hovers({**st, "median_ratio": 1.06})
    assert not COHEN._hovers({**st, "median_ratio": 0.94})


# --- kloeden-platen-1992 --------------------------------------------------------------------

@pytest.mark.parametrize("calculus", ["ito", "stratonovich"])
def test_kp_gbm_solution_moments_by_gauss_hermite(calculus):
    # E[X_T] of dX = μX dt + sX dW is x0 e^{μT} (Itô), E[X_T²] = x0² e^{(2μ + s²)T}; the
    # Stratonovich equation is the Itô one with drift μ + s²/2
    mu, s, T, x0 = 1.0, 0.8, 1.0, 1.5
    z, w = np.polynomial.hermite_e.hermegauss(60)
    X = KP._gbm_solution(mu, s, T, calculus)(np.sqrt(T) * z, x0)
    m = mu if calculus == "ito" else mu + s * s / 2
    assert np.sum(w * X) / np.sqrt(2 * np.pi) == pytest.approx(x0 * np.exp(m * T), rel=1e-10)
    assert np.sum(w * X ** 2) / np.sqrt(2 * np.pi) == pytest.approx(x0 ** 2 * np.exp((2 * m + s * s) * T), rel=1e-10)


def test_kp_order_tolerance_is_point_one_plus_half_the_ci():
    fit = SimpleNamespace(order=0.62, ci=(0.55, 0.69))            # half-width 0.07: tolerance 0.17
    assert KP._order_agrees(fit, 0.5)
    assert not KP._order_agrees(SimpleNamespace(order=0.68, ci=(0.61, 0.75)), 0.5)
    assert not KP._order_agrees(fit, 1.0)


# --- kramers-1940 ---------------------------------------------------------------------------

def test_kramers_potential_is_the_double_well():
    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(KRAMERS._U(x), double_well().value(x[:, None]), rtol=1e-14, atol=1e-15)


def test_kramers_ratio_z_by_hand():
    q, z = KRAMERS._ratio_z((20.0, 0.6), (10.0, 0.4), 1.8)   # relative SEs 0.03, 0.04 → 0.05
    assert q == pytest.approx(2.0)
    assert z == pytest.approx((2.0 - 1.8) / (2.0 * 0.05))


@pytest.mark.parametrize("alpha, beta, kT", [(0.01, 0.9, 0.25 / 3), (0.02, 0.8, 0.1)])
def test_kramers_noise_gives_the_temperature(alpha, beta, kT):
    c = KRAMERS._noise_for_temperature(alpha, beta, kT)
    assert kramers_parameters(alpha, beta, c).temperature == pytest.approx(kT, rel=1e-12)


def test_kramers_slope_of_a_power_law():
    assert KRAMERS._slope([2.0, 8.0], [3.0, 3.0 * 4 ** -1.5]) == pytest.approx(-1.5)


def test_kramers_thermal_left_well_samples(rng):
    kT, n = 0.2, 20000
    y = KRAMERS._thermal_left_well(n, kT, np.random.default_rng(1940))
    assert y.shape == (n, 2) and np.all(y[:, 0] < 0)
    w = lambda x: np.exp(-KRAMERS._U(x) / kT)  # noqa: E731
    Z = integrate.quad(w, -2.2, 0.0)[0]
    mean_x = integrate.quad(lambda x: x * w(x), -2.2, 0.0)[0] / Z
    assert abs(y[:, 0].mean() - mean_x) <= 5 * y[:, 0].std() / np.sqrt(n)
    # momenta N(0, kT): the variance within 5 SE (SE of a normal variance: kT·√(2/n))
    assert abs(y[:, 1].var() - kT) <= 5 * kT * np.sqrt(2 / n)


def test_kramers_grid_sample_times_from_t0():
    fp = SimpleNamespace(passed=np.array([True, False, True]), times=np.array([1.5, 3.0]), t0=0.5,
                         censor_time=np.array([9.5, 9.5, 9.5]))
    s = KRAMERS._grid_sample(fp)
    ev = s.time[s.event]
    assert sorted(ev.tolist()) == [1.0, 2.5]
    assert s.time[~s.event].tolist() == [9.0]


# --- leimkuhler-matthews-2013 ---------------------------------------------------------------

def test_lm_harmonic_covariances():
    out = LM._harmonic((1.0,), (0.1, 0.4))
    # BAOAB samples q exactly on a harmonic potential (its claim); Euler–Maruyama does not
    assert all(abs(e["q2_error"]) < 1e-12 for e in out["baoab, λ=1"])
    # Euler–Maruyama's map written out: q' = q + hp, p' = p − h(q + λp) + σ√h ξ, σ² = 2λ
    lam, h = 1.0, 0.1
    M = np.array([[1.0, h], [-h, 1 - lam * h]])
    N = np.array([[0.0], [np.sqrt(2 * lam * h)]])
    S = np.zeros((2, 2))
    for _ in range(20000):
        S = M @ S @ M.T + N @ N.T
    em = out["euler-maruyama, λ=1"][0]
    assert em["q2_error"] == pytest.approx(S[0, 0] - 1, rel=1e-9)
    assert em["p2_error"] == pytest.approx(S[1, 1] - 1, rel=1e-9)


def test_lm_anharmonic_reference_by_trapezoid():
    q = np.linspace(-8, 8, 200001)
    w = np.exp(-(q ** 2 / 2 + q ** 4 / 4))
    assert LM._anharmonic_q2() == pytest.approx(integrate.trapezoid(q * q * w, q) / integrate.trapezoid(w, q), rel=1e-9)


def test_lm_gibbs_start_samples_the_anharmonic_law():
    n = 40000
    y = LM._gibbs_start(n, 2, 13)
    q2 = y[:, 0] ** 2
    assert abs(q2.mean() - LM._anharmonic_q2()) <= 5 * q2.std() / np.sqrt(n)
    assert abs(y[:, 1].var() - 1.0) <= 5 * np.sqrt(2 / n)
    assert LM._gibbs_start(10, 1, 13).shape == (10, 1)


def test_lm_fit_uses_only_resolved_biases():
    rows = [{"h": h, "bias": 0.3 * h * h, "se": 1e-6} for h in (0.1, 0.2, 0.3, 0.4)]
    assert LM._fit(rows).order == pytest.approx(2.0, abs=1e-9)
    blurred = [dict(r, se=1.0) if r["h"] > 0.2 else r for r in rows] + [{"h": 0.5, "diverged": 3}]
    assert LM._fit(blurred) is None                  # two resolved biases: no order


# --- lessard-2016 ---------------------------------------------------------------------------

def test_lessard_basin_and_tuning_are_the_papers():
    from dynopt.ledger import REGISTRY

    text = REGISTRY["lessard-2016.heavy-ball-cycle"].statement
    assert f"x0 ∈ [{LESSARD._PAPER_BASIN[0]}, {LESSARD._PAPER_BASIN[1]}]" in text
    tu = TUNINGS["polyak"](1.0, 25.0)
    assert (tu.alpha, tu.beta) == pytest.approx((1 / 9, 4 / 9))    # "α = … = 1/9, β = … = 4/9"


def test_lessard_intervals():
    starts = np.arange(10.0)
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    assert LESSARD._intervals(starts, mask) == [[1.0, 2.0], [5.0, 5.0], [7.0, 9.0]]
    assert LESSARD._intervals(starts, np.zeros(10, bool)) == []


# --- li-tai-e-2017 --------------------------------------------------------------------------

def test_li_tai_e_problem_keeps_gradient_noise_at_the_minimum():
    from dynopt.analysis import OBSERVABLES

    p = LTE._problem(3)
    assert p.n_examples == 10 and p.dim == 2
    assert np.trace(p.gradient_noise_covariance(p.center)) > 1e-3
    assert set(LTE.JUDGED) <= set(OBSERVABLES)


# --- polyak-1964 ----------------------------------------------------------------------------

def test_polyak_source_formulas_at_mu1_L100():
    from dynopt.symbolic.stability import L_s, kappa, mu_s

    f = POLYAK._source_formulas()
    at = {mu_s: 1, L_s: 100, kappa: 100}
    got = {k: float(v.subs(at)) for k, v in f.items()}
    assert got == pytest.approx({"hb_alpha": 4 / 121, "hb_beta": 81 / 121, "hb_rate": 9 / 11,
                                 "gd_alpha": 2 / 101, "gd_rate": 99 / 101})


def test_polyak_heavy_ball_matrix_has_radius_sqrt_beta_on_the_spectrum():
    alpha, beta = 4 / 121, 81 / 121
    for h in (1.0, 7.0, 30.0, 100.0):
        rho = np.abs(np.linalg.eigvals(POLYAK._heavy_ball_matrix(alpha, beta, h))).max()
        assert rho == pytest.approx(9 / 11, rel=1e-6)       # √β inside [μ, L] (double root at the ends)
    x = np.array([0.3, -0.2])
    M = POLYAK._heavy_ball_matrix(alpha, beta, 2.0)
    v_new = beta * x[1] - alpha * 2.0 * x[0]
    np.testing.assert_allclose(M @ x, [x[0] + v_new, v_new])


def test_polyak_optimal_rates_verdict_turns_on_a_wrong_source_formula(monkeypatch):
    cid = "polyak-1964.optimal-rates"
    v = POLYAK.optimal_rates(FakeContext(cid))
    assert v.verdict == committed_verdict(cid)
    right = POLYAK._source_formulas
    monkeypatch.setattr(POLYAK, "_source_formulas", lambda: {**right(), "gd_rate": right()["hb_rate"]})
    assert POLYAK.optimal_rates(FakeContext(cid)).verdict != v.verdict


# --- shi-2018 -------------------------------------------------------------------------------

def test_shi_expected_orders():
    e = SHI._expected_order
    assert e("quadratic: heavy-ball vs heavy-ball ODE") == 2.0
    assert e("quadratic: nag-sc vs nag-sc ODE") == 2.0
    assert e("quadratic: nag-sc vs heavy-ball ODE") == 1.0
    assert e("log-sum-exp + ‖x‖²/4: heavy-ball vs low-resolution ODE") == 1.0


def test_shi_linear_reference_against_solve_ivp():
    m = HeavyBall(quadratic(np.array([[1.0, 0.3], [0.3, 0.6]])), 1.2)
    y0 = np.array([1.0, -1.0, 0.2, 0.0])
    t = np.linspace(0.0, 5.0, 51)
    out, dev, _ = SHI._reference(m, y0, t)
    assert dev <= 1e-12
    ref = solve_ivp(m.rhs, (0, 5.0), y0, method="DOP853", rtol=1e-13, atol=1e-15, t_eval=t).y.T
    np.testing.assert_allclose(out, ref, atol=1e-10)


# --- su-boyd-candes-2016 --------------------------------------------------------------------

@pytest.mark.parametrize("r", [1.0, 2.0, 3.0, 5.0])
def test_sbc_quadratic_energy_exponent_from_the_bessel_solution(r):
    # X = Γ(ν+1)(2/t)^ν J_ν(t), ν = (r−1)/2, solves X'' + (r/t)X' + X = 0; X' = −Γ(ν+1)(2/t)^ν J_{ν+1}(t):
    # the energy X'²/2 + X²/2 decays like t^{−r}, i.e. the law at p = 2
    nu = (r - 1) / 2
    t = np.linspace(200.0, 2000.0, 200001)
    c = special.gamma(nu + 1) * (2 / t) ** nu
    E = 0.5 * (c * special.jv(nu + 1, t)) ** 2 + 0.5 * (c * special.jv(nu, t)) ** 2
    slope = stats.linregress(np.log(t), np.log(E)).slope
    assert slope == pytest.approx(-SBC._energy_decay_exponent(r, 2.0), abs=0.01)


def test_sbc_power_law_exponent_is_below_2_iff_p_r_minus_1_below_2():
    # the claim's note: |x|^p has exponent 2pr/(p+2) < 2 iff p(r − 1) < 2
    for p in (1.2, 1.5, 2.0, 3.0):
        for r in (1.0, 2.0, 2.5, 3.0, 4.0):
            assert (SBC._energy_decay_exponent(r, p) < 2 - 1e-12) == (p * (r - 1) < 2 - 1e-12)


def test_sbc_bound_ratio():
    assert SBC._bound_ratio(4.0, 0.5, 1.0) == pytest.approx(1.0)        # t² (f − f*) / (2R²)
    assert SBC._bound_ratio(0.5 * 3 ** 2, 0.2, 2.0) == pytest.approx(0.225)


def test_sbc_rate_bound_problems_minima_and_smoothness():
    from scipy.optimize import minimize

    for prob, x0, xs, fs, L in SBC._rate_bound_problems():
        res = minimize(lambda x: float(prob.value(x[None])[0]), x0, method="BFGS", options={"gtol": 1e-10})
        assert res.fun == pytest.approx(fs, abs=1e-9)
        np.testing.assert_allclose(res.x, xs, atol=1e-3)
        # L bounds the Hessian on the ball of radius 1.5‖x0 − x*‖ around x* (where the iterates stay)
        R = 1.5 * np.linalg.norm(x0 - xs)
        pts = xs + R * np.random.default_rng(0).uniform(-1, 1, (200, len(x0))) / np.sqrt(len(x0))
        e, d = 1e-5, np.eye(len(x0))
        hess = [np.stack([(prob.grad(p + e * u) - prob.grad(p - e * u)) / (2 * e) for u in d]) for p in pts]
        top = max(np.linalg.eigvalsh((H + H.T) / 2).max() for H in hess)
        assert top <= L * (1 + 1e-6)


@pytest.mark.parametrize("i", [0, 1])
def test_sbc_checked_reference_agrees_with_its_check(i):
    prob = SBC._test_problems()[i]
    _, dev, _ = SBC._checked_reference(prob, np.array([1.5, -0.5]), np.linspace(0.0, 10.0, 201))
    assert dev <= SBC.REF_TOL
