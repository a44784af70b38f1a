"""Tests of dynopt.symbolic: derived coefficients vs the numeric maps, the tuning rule,
the CLI (`dynopt derive`) and the NotProved guard."""
import json

import numpy as np
import pytest
import sympy as sp

from dynopt.schemes.maps import leapfrog_coefficients, nesterov_coefficients
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
    from dynopt.schemes.maps import leapfrog_ode_parameters
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
    from dynopt.cli import main

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
