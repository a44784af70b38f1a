"""The computations inside papers/kexue-5655/claims.py, against independent numbers.

Each test checks an expected-value formula, a helper or a decision of a claim against a
hand-derived closed form, a value printed in the source (苏剑林, kexue.fm/archives/5655), a
scipy computation done another way, or brute force — so that a change to the claim's own
computation fails here, not only in the ledger run.
"""
import itertools

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats
from scipy.linalg import solve_continuous_lyapunov

from dynopt.dynamics import GradientFlow
from dynopt.problems import ellipse, quadratic
from dynopt.schemes import leapfrog_coefficients, nesterov_coefficients
from paper_claims import FakeContext, committed_verdict, load

K = load("kexue-5655")


# --- eqs (2)–(4), (13)–(16): the optimizer loops written out in the claims -----------------

def test_gd_path_is_eq2_in_closed_form():
    # L = 0.1 x1² + 2 x2²: GD multiplies each coordinate by (1 − lr·h_i) per step
    x0, lr, n = np.array([-5.0, -2.0]), 0.4, 20
    k = np.arange(n + 1)[:, None]
    closed = x0 * (1 - lr * np.array([0.2, 4.0])) ** k
    np.testing.assert_allclose(K._gd_path(ellipse(), x0, lr, n), closed, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("gamma, lam", [(0.3, 0.8), (0.1, 2.0), (0.05, 0.0)])
def test_staggered_scheme_is_heavy_ball_with_the_printed_eq15(gamma, lam):
    # eq 15 as printed: β = (1 − λγ/2)/(1 + λγ/2), α = γ²/(1 + λγ/2); heavy ball (16) from v_0 = 0
    h, x0, n = 1.7, [1.3], 40
    beta, alpha = (1 - lam * gamma / 2) / (1 + lam * gamma / 2), gamma ** 2 / (1 + lam * gamma / 2)
    theta, v, hb = 1.3, 0.0, [1.3]
    for _ in range(n):
        v = beta * v - alpha * h * theta
        theta = theta + v
        hb.append(theta)
    got = K._staggered_path(quadratic(np.array([[h]])), x0, gamma, lam, n)[:, 0]
    np.testing.assert_allclose(got, hb, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("alpha, lam", [(0.04, 1.0), (1e-3, 1.0), (0.01, 3.0), (0.2, 0.5)])
def test_momentum_step_solves_eq15_for_gamma(alpha, lam):
    gamma = K._momentum_step(alpha, lam)
    assert gamma > 0
    assert gamma ** 2 / (1 + lam * gamma / 2) == pytest.approx(alpha, rel=1e-12)
    # the positive root in closed form
    assert gamma == pytest.approx(alpha * lam / 4 + np.sqrt((alpha * lam / 4) ** 2 + alpha), rel=1e-12)


def test_momentum_step_is_sqrt_alpha_without_friction():
    assert K._momentum_step(0.0025, 0.0) == pytest.approx(0.05, rel=1e-12)


def test_matched_time_finds_the_time_of_a_point_on_the_flow():
    H = np.diag([1.0, 0.1])
    x0 = np.array([1.0, -1.0])
    t0 = 0.37
    point = np.exp(-np.diag(H) * t0) * x0  # θ(t) = e^{−Ht}x0
    assert K._matched_time(GradientFlow(quadratic(H)), x0, point, 0.3) == pytest.approx(t0, rel=1e-7)


def test_heavy_ball_distances_follow_the_recursion_by_hand():
    p = quadratic(np.diag([1.0, 0.1]))
    cases = [(0.1, 0.5), (0.03, 1.0), (0.01, -0.5)]
    d = K._heavy_ball_distances(p, [a for a, _ in cases], [b for _, b in cases], 25, [1.0, 1.0])
    assert d.shape == (25, 3)
    for j, (a, b) in enumerate(cases):
        th, v = np.array([1.0, 1.0]), np.zeros(2)
        for k in range(25):
            v = b * v - a * np.array([1.0, 0.1]) * th
            th = th + v
            assert d[k, j] == pytest.approx(np.linalg.norm(th), rel=1e-12)


def test_runs_where_groups_consecutive_flags():
    lams = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert K._runs_where(lams, [False, True, True, False, True, False, True]) == \
        [[0.2, 0.3], [0.5, 0.5], [0.7, 0.7]]
    assert K._runs_where(lams, [True] * 7) == [[0.1, 0.7]]
    assert K._runs_where(lams, [False] * 7) == []


# --- eq 9 and eqs 21–22: the temperatures each claim compares -------------------------------

@pytest.mark.parametrize("sigma, h", [(0.7, 1.0), (0.8, 2.5)])
def test_eq9_temperatures(sigma, h):
    # dθ = −hθ dt + σ dW has Var θ = σ²/(2h) (continuous Lyapunov equation, scipy); a Gibbs law
    # exp(−hθ²/(2kT)) has Var θ = kT/h, so the derived temperature is h·Var θ
    var = solve_continuous_lyapunov(np.array([[-h]]), np.array([[-sigma ** 2]]))[0, 0]
    kT = K._eq9_temperatures(sigma)
    assert kT["derived"] == pytest.approx(h * var, rel=1e-12)
    assert kT["source"] == pytest.approx(sigma ** 2, rel=1e-15)  # eq 9: exp(−L/σ²)


def test_gibbs_bin_probs_of_a_gaussian_are_products_of_normal_cdfs():
    kT = 0.32
    U2 = lambda a, b: a ** 2 / 2 + (b - 0.3) ** 2  # noqa: E731
    xe, ye = np.linspace(-2.4, 2.4, 25), np.linspace(-2.4, 2.4, 25)
    P, Z = K._gibbs_bin_probs(U2, kT, xe, ye)
    assert Z == pytest.approx(2 * np.pi * kT / np.sqrt(2), rel=1e-8)   # ∫∫ e^{−a²/2kT − (b−.3)²/kT}
    px = np.diff(stats.norm.cdf(xe, scale=np.sqrt(kT)))
    py = np.diff(stats.norm.cdf(ye, loc=0.3, scale=np.sqrt(kT / 2)))
    np.testing.assert_allclose(P[:-1].reshape(24, 24), np.outer(px, py), atol=2e-5)
    assert P[-1] == pytest.approx(1 - px.sum() * py.sum(), abs=1e-4)
    assert P.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("lam", [0.5, 1.0, 2.0])
def test_eq21_temperatures_against_the_kramers_lyapunov_covariance(lam):
    # θ'' + λθ' = −hθ + σξ as dθ = η dt, dη = (−hθ − λη) dt + σ dW: Var θ = kT/h
    sigma, h = 0.5, 1.3
    A = np.array([[0.0, 1.0], [-h, -lam]])
    S = solve_continuous_lyapunov(A, -np.diag([0.0, sigma ** 2]))
    t = K._eq21_temperatures(sigma, lam)
    assert t["exp(−2λL/σ²)"] == pytest.approx(h * S[0, 0], rel=1e-10)
    assert t["exp(−L/σ²) (source eq 9/22)"] == pytest.approx(sigma ** 2)
    # the overdamped candidate is the Langevin temperature of eq 9's derivation
    assert t["exp(−2L/σ²) (overdamped)"] == pytest.approx(K._eq9_temperatures(sigma)["derived"])


def test_eq22_stationary_energy_by_quadrature():
    # E[H] under exp(−2λH/σ²), H = η²/2 + hθ²/2, integrated numerically (any h)
    sigma, lam, h = 0.5, 1.0, 2.0
    H = lambda th, et: et ** 2 / 2 + h * th ** 2 / 2  # noqa: E731
    w = lambda th, et: np.exp(-2 * lam * H(th, et) / sigma ** 2)  # noqa: E731
    Z = integrate.dblquad(w, -5, 5, -5, 5)[0]
    EH = integrate.dblquad(lambda th, et: H(th, et) * w(th, et), -5, 5, -5, 5)[0] / Z
    assert K._kramers_quadratic_energy(sigma, lam) == pytest.approx(EH, rel=1e-8)


def test_require_equilibrated_refuses_any_failed_check():
    good = {"equilibrated": True}
    K._require_equilibrated({"a": good, "b": good}, "x")
    with pytest.raises(RuntimeError, match="not equilibrated"):
        K._require_equilibrated({"a": good, "b": {"equilibrated": False}}, "x")


# --- batch noise (eq 7) and the batch-size schedule ------------------------------------------

@pytest.mark.parametrize("B", [1, 2, 3, 5])
def test_minibatch_variance_by_enumeration(B):
    x = np.array([0.3, -1.2, 2.0, 0.7, -0.4])
    N = len(x)
    pop = x.var()
    with_r = [np.mean(c) for c in itertools.product(x, repeat=B)]
    without = [np.mean(c) for c in itertools.combinations(x, B)]
    assert K._minibatch_mean_variance(pop, B, N, replace=True) == pytest.approx(np.var(with_r), rel=1e-12)
    assert K._minibatch_mean_variance(pop, B, N, replace=False) == pytest.approx(np.var(without), abs=1e-15)


def test_phase_gaps_by_hand():
    E = 2
    dec = np.array([9.0, 1.0, 1.0, 0.5, 0.5, 0.2, 0.2])
    grow = np.array([9.0, 1.1, 1.1, 0.5, 0.5, 0.1, 0.1])
    se = np.full(7, 0.03)
    rel, z, se_rel = K._phase_gaps(dec, se, grow, se, E)
    s = np.sqrt(2) * 0.03
    assert rel == pytest.approx([0.1, 0.0, -0.5])
    assert z == pytest.approx([0.1 / s, 0.0, -0.1 / s])
    assert se_rel == pytest.approx([s / 1.0, s / 0.5, s / 0.2])


# --- the printed formulas and the symbolic claims' decisions ---------------------------------

def _at(expr, **vals):
    names = {"gamma": K._sc.gamma, "lam": K._sc.lam, "beta": K._sc.beta, "r": K._sc.r}
    return float(expr.subs({names[k]: v for k, v in vals.items()}))


def test_printed_formulas_are_the_sources():
    g, lam = 0.2, 1.5
    b15, a15 = (K._source_expr(e) for e in K._PRINTED_EQ15)
    assert _at(b15, gamma=g, lam=lam) == pytest.approx(0.85 / 1.15)     # (1 − λγ/2)/(1 + λγ/2)
    assert _at(a15, gamma=g, lam=lam) == pytest.approx(0.04 / 1.15)     # γ²/(1 + λγ/2)
    b18, a18 = (K._source_expr(e) for e in K._PRINTED_EQ18)
    assert _at(b18, gamma=g, lam=lam) == pytest.approx(0.7)             # 1 − λγ
    assert _at(a18, gamma=g, lam=lam) == pytest.approx(0.04)            # γ²
    br, ar = (K._source_expr(e) for e in K._PRINTED_READER)             # ε is γ here
    assert _at(br, gamma=g, lam=lam) == pytest.approx(1 / 1.3)          # 1/(1 + λε)
    assert _at(ar, gamma=g, lam=lam) == pytest.approx(0.04 / 1.3)       # ε²/(1 + λε)
    assert _at(K._source_expr(K._PRINTED_TUNING), beta=0.9, r=0.25) == pytest.approx(0.95)


def test_printed_eq15_and_eq18_agree_with_dynopts_maps():
    # the maps are dynopt's (library); the printed strings are the claim's
    for which, fn, printed in (("eq15", leapfrog_coefficients, K._PRINTED_EQ15),
                               ("eq18", nesterov_coefficients, K._PRINTED_EQ18)):
        b, a = (K._source_expr(e) for e in printed)
        for g, lam in ((0.1, 0.5), (0.3, 2.0)):
            assert (_at(a, gamma=g, lam=lam), _at(b, gamma=g, lam=lam)) == pytest.approx(fn(g, lam), rel=1e-12)
        assert K._map_agreement(which, fn) <= 1e-12
        assert K._map_agreement(which, lambda g, lam: tuple(1.001 * x for x in fn(g, lam))) > 1e-4


def test_coefficient_verdict_turns_on_a_wrong_printed_formula():
    b, a = (K._source_expr(e) for e in K._PRINTED_EQ15)
    right = K._coefficient_verdict((b, a), (b, a), "x", 0.0)
    wrong = K._coefficient_verdict((b, a), (b, a * (1 + K._sc.lam * K._sc.gamma)), "x", 0.0)
    off_map = K._coefficient_verdict((b, a), (b, a), "x", 1e-6)
    assert right.verdict != wrong.verdict and right.verdict != off_map.verdict
    assert wrong.correction and "β =" in wrong.correction


@pytest.mark.parametrize("name, attr, wrong", [
    ("eq15_coefficients", "_PRINTED_EQ15", ("(1 - lam*gamma/2)/(1 + lam*gamma/2)", "gamma**2")),
    ("eq18_coefficients", "_PRINTED_EQ18", ("1 - lam*gamma/2", "gamma**2")),
    ("eq18_reader_coefficients", "_PRINTED_READER", ("1/(1 + lam*eps)", "eps**2")),
    ("tuning_rule", "_PRINTED_TUNING", "1 - (1 - beta)*r"),
])
def test_symbolic_claims_verdict_follows_the_printed_formula(monkeypatch, name, attr, wrong):
    check = getattr(K, name)
    claim_id = "kexue-5655." + name.replace("_", "-")
    v = check(FakeContext(claim_id))
    assert v.verdict == committed_verdict(claim_id)
    monkeypatch.setattr(K, attr, wrong)
    assert check(FakeContext(claim_id)).verdict != v.verdict


def test_keras_form_positions_are_standard_nesterov_by_hand():
    h, lr, mom, n = np.array([1.0, 0.3]), 0.05, 0.9, 30
    p = quadratic(np.diag(h))
    got = K._keras_form_positions(p, lr, mom, [1.0, -2.0], n)
    th, v = np.array([1.0, -2.0]), np.zeros(2)
    for k in range(n):
        v = mom * v - lr * h * (th + mom * v)   # look-ahead gradient
        th = th + v
        np.testing.assert_allclose(got[k], th, rtol=1e-12, atol=1e-15)


def test_region_contains():
    b = K._sc.beta
    betas = [sp.Rational(k, 20) for k in range(1, 20)]
    hb = 2 + 2 * b
    assert K._region_contains(sp.oo, hb, betas)
    assert K._region_contains(hb, hb, betas)
    assert K._region_contains(4 + 0 * b, hb, betas)                 # 4 ≥ 2 + 2β on (0, 1)
    assert not K._region_contains((2 + 2 * b) / (1 + 2 * b), hb, betas)
    assert not K._region_contains(3 + 0 * b, hb, betas)             # fails for β > 1/2


def test_momentum_iterate_by_hand_and_gd_at_beta_zero():
    p = quadratic(np.diag([1.0, 0.1]))
    alpha, beta, n = 0.04, 0.8, 25
    th, v = np.array([1.0, -1.0]), np.zeros(2)
    for _ in range(n):
        v = beta * v - alpha * np.array([1.0, 0.1]) * th
        th = th + v
    np.testing.assert_allclose(K._momentum_iterate(p, [1.0, -1.0], alpha, beta, n), th, rtol=1e-12)
    np.testing.assert_allclose(K._momentum_iterate(p, [1.0, -1.0], alpha, 0.0, n),
                               K._gd_path(p, [1.0, -1.0], alpha, n)[-1], rtol=1e-14)


def test_gaussian_cov_from_density_is_kT_times_inverse_hessian():
    # exp(−L/kT) with L = ½θᵀHθ is N(0, kT·H⁻¹), whatever name the density gives L
    th = sp.symbols("t1 t2", real=True)
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    Lq = sp.Rational(1, 2) * (sp.Matrix(th).T * sp.Matrix(H.tolist()) * sp.Matrix(th))[0, 0]
    kT = 0.3
    density = sp.exp(-sp.Function("L")(*th) / kT)
    np.testing.assert_allclose(K._gaussian_cov_from_density(density, th, Lq), kT * np.linalg.inv(H), rtol=1e-10)


@pytest.mark.parametrize("name", ["eq22_kramers_stationary", "keras_nesterov_form"])
def test_cheap_symbolic_claims_reproduce_their_verdicts(name):
    cid = "kexue-5655." + name.replace("_", "-")
    assert getattr(K, name)(FakeContext(cid)).verdict == committed_verdict(cid)
