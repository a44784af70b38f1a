"""Tests of dynopt.symbolic: derived coefficients vs the numeric maps, the tuning rule,
the CLI (`dynopt derive`) and the NotProved guard."""
import json

import numpy as np
import pytest
import sympy as sp

from dynopt.schemes import leapfrog_coefficients, nesterov_coefficients
from dynopt.symbolic import NotProved, get_derivation, require_zero
from dynopt.symbolic.coefficients import coefficient_functions, eq17_update, leapfrog_update
from dynopt.symbolic.core import beta, gamma, is_zero, lam, r


@pytest.mark.parametrize("which, numeric", [("eq15", leapfrog_coefficients),
                                            ("eq18", nesterov_coefficients)])
def test_derived_coefficients_match_numeric_maps(which, numeric, rng):
    derived = coefficient_functions(which)
    for _ in range(20):
        gm = rng.uniform(1e-3, 0.9)
        fr = rng.uniform(0, 1 / gm)
        np.testing.assert_allclose(derived(gm, fr), numeric(gm, fr), rtol=1e-13)


def test_leapfrog_update_closes_with_theta_step():
    b, a, theta_step = leapfrog_update()
    # β → 1 and α/γ² → 1 as γ → 0 (consistency with θ'' + λθ' = −∇L)
    assert sp.limit(b, gamma, 0) == 1
    assert sp.limit(a / gamma ** 2, gamma, 0) == 1


def test_eq17_variants_reader_and_eq15():
    b_r, a_r = eq17_update("forward")
    assert is_zero(b_r - 1 / (1 + lam * gamma)) and is_zero(a_r - gamma ** 2 / (1 + lam * gamma))
    b15, a15, _ = leapfrog_update()
    b_c, a_c = eq17_update("centred")
    assert is_zero(b_c - b15) and is_zero(a_c - a15)
    assert eq17_update("centre") is None
    with pytest.raises(ValueError, match="`variant`"):
        eq17_update("nope")


def test_tuning_rule_exact_matches_numeric_inversion():
    from dynopt.schemes import leapfrog_ode_parameters
    from dynopt.symbolic.tuning import exact_rule
    from scipy.optimize import brentq

    exact, _ = exact_rule()
    f = sp.lambdify((beta, r), exact)
    for b0, rr in [(0.9, 0.1), (0.99, 0.5), (0.5, 0.01)]:
        alpha0 = 0.01
        g0, fr = leapfrog_ode_parameters(alpha0, b0)
        # numeric: find γ' with α(γ', λ) = rα, keeping λ
        g1 = brentq(lambda g: leapfrog_coefficients(g, fr)[0] - rr * alpha0, 1e-12, g0)
        assert f(b0, rr) == pytest.approx(leapfrog_coefficients(g1, fr)[1], rel=1e-12)


def test_require_zero_raises_and_is_zero_decides():
    x = sp.Symbol("x")
    require_zero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1, "pythagoras")
    with pytest.raises(NotProved, match="not proved"):
        require_zero(x + 1, "x + 1 = 0")
    assert is_zero(x - x) and not is_zero(x)


def test_get_derivation_bad_name():
    with pytest.raises(ValueError, match="`name` must be one of"):
        get_derivation("no-such-derivation")


def test_cli_derive_json_and_list(capsys):
    from dynopt.cli.main import main

    assert main(["derive"]) == 0
    listing = capsys.readouterr().out
    assert "leapfrog" in listing and "nesterov" in listing
    for name, expected in [("leapfrog", leapfrog_coefficients), ("nesterov", nesterov_coefficients)]:
        assert main(["derive", name, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        b, a = sp.sympify(out["beta"]), sp.sympify(out["alpha"])
        syms = {s.name: s for s in (a.free_symbols | b.free_symbols)}
        assert set(syms) <= {"γ", "λ"}
        vals = {syms[k]: v for k, v in (("γ", 0.1), ("λ", 2.0)) if k in syms}
        np.testing.assert_allclose([float(a.subs(vals)), float(b.subs(vals))], expected(0.1, 2.0), rtol=1e-14)
    assert main(["derive", "leapfrog", "--latex"]) == 0
    assert r"\gamma" in capsys.readouterr().out
    assert main(["derive", "bogus"]) == 2


def test_velocity_limit_and_ema_window():
    from dynopt.symbolic.velocity import ema_weights, eta, gg, gm, velocity_limit

    assert is_zero(velocity_limit() - eta * gg / (1 - gm))
    f = ema_weights()
    assert f["total"] == 1 and is_zero(f["mean_age"] - 1 / (1 - gm))
    assert is_zero(f["mass_in_window_limit"] - (1 - sp.exp(-1)))


@pytest.mark.parametrize("form", ["standard", "half"])
def test_nesterov_conjugation_matches_dynopt_scheme(form):
    from dynopt.dynamics import HeavyBall
    from dynopt.engine import integrate
    from dynopt.problems import double_well
    from dynopt.schemes import get_scheme
    from dynopt.schemes import nesterov_ode_parameters
    from dynopt.symbolic.velocity import NESTEROV_FORMS, _lr, _mu, _v, nesterov_conjugation

    c = float(NESTEROV_FORMS[form][0])
    th_new, v_new = nesterov_conjugation(form)
    TH = sp.Symbol("Θ", real=True)
    problem, lr, mom = double_well(2), 0.05, 0.8
    g = lambda x: problem.grad_fn(np.atleast_2d(x))[0]  # noqa: E731
    f_th = sp.lambdify((TH, _v), th_new.subs({_mu: mom, _lr: lr}), modules=[{"G": g}, "numpy"])
    f_v = sp.lambdify((TH, _v), v_new.subs({_mu: mom, _lr: lr}), modules=[{"G": g}, "numpy"])
    step, fr = nesterov_ode_parameters(lr, mom)
    sch = get_scheme("nesterov" if form == "standard" else "nesterov-half", start="rest")
    x0 = np.array([1.7, -0.4])
    sol = integrate(HeavyBall(problem, fr), sch, (0.0, 30 * step), x0, step, save_every=1)
    Th, v = x0.copy(), np.zeros(2)
    for t in range(1, 31):
        Th, v = f_th(Th, v), f_v(Th, v)
        np.testing.assert_allclose(Th - c * mom * v, sol.y[t, 0, :2], rtol=1e-12, atol=1e-14)


def test_nesterov_conjugation_is_derived_and_detects_a_wrong_printed_rule():
    from dynopt.symbolic.velocity import THETA, _G, _lr, _mu, _v, compare_nesterov_rules

    v1 = _mu * _v - _lr * _G(THETA)
    # the derived step is Θ' = Θ + μ²v − λ(1+μ)G(Θ), whatever form it is printed in
    assert compare_nesterov_rules(THETA + (1 + _mu) * v1 - _mu * _v, v1)[:2] == (True, True)
    assert compare_nesterov_rules(THETA + _mu * v1 - _lr * _G(THETA), v1)[:2] == (True, True)
    # wrong printed rules are reported as different (a "corrected" verdict), not raised
    assert compare_nesterov_rules(THETA + (1 + _mu) * v1 - _v, v1)[:2] == (False, True)
    assert compare_nesterov_rules(THETA + v1, _mu * _v - _lr * _G(THETA + _mu * _v))[:2] == (False, False)
    th_half = compare_nesterov_rules(THETA, v1, "half")[2]
    assert is_zero(th_half - (THETA + (1 + _mu / 2) * v1 - _mu / 2 * _v))
    with pytest.raises(ValueError, match="`form`"):
        compare_nesterov_rules(THETA, v1, "bogus")


def test_modified_equations():
    from dynopt.symbolic.modified import gd_modified_field, heavy_ball_modified_field

    f1, grad = gd_modified_field(1)
    assert is_zero(f1[0] + grad[0] * sp.diff(grad[0], list(grad[0].free_symbols)[0]) / 2)
    f0, f1h, L, th = heavy_ball_modified_field()
    # β = 0 reduces heavy ball to GD: same f₀ = −L', f₁ = −L'L''/2
    assert is_zero(f0.subs(beta, 0) + sp.diff(L, th))
    assert is_zero(f1h.subs(beta, 0) + sp.diff(L, th) * sp.diff(L, th, 2) / 2)


def test_modified_equations_of_other_schemes():
    from dynopt.symbolic.modified import momentum_modified_field, rk_modified_field

    # a second-order Runge–Kutta method has no O(h) correction
    assert rk_modified_field("heun", 2)[0] == sp.zeros(2, 1)
    # Nesterov: the gradient at θ + β(θ − θ_prev) adds βL''·f₀ at order h², so
    # (1−β)f₁ + (1+β)/2·f₀'f₀ + βL''f₀ = 0 with f₀ = −L'/(1−β)
    f0, f1, L, th = momentum_modified_field("nesterov")
    Lp, Lpp = sp.diff(L, th), sp.diff(L, th, 2)
    assert is_zero(f0 + Lp / (1 - beta))
    assert is_zero(f1 - (-(1 + beta) / (2 * (1 - beta) ** 3) + beta / (1 - beta) ** 2) * Lp * Lpp)


def test_every_derivation_runs_and_serializes():
    from dynopt.symbolic import DERIVATIONS

    for name in DERIVATIONS:
        d = get_derivation(name)
        json.dumps(d.as_json(), ensure_ascii=False)
        assert d.text()
