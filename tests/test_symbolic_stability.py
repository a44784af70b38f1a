"""Stability bounds (Jury, sympy) vs spectral radii of the dynopt schemes' iteration
matrices, measured from numeric runs, on a grid of (αh, β); the table read from the registry;
Polyak's parameters vs numeric spectral radii."""
import json

import numpy as np
import pytest
import sympy as sp

from dynopt.dynamics import GradientFlow, HeavyBall
from dynopt.engine import integrate
from dynopt.problems import quadratic
from dynopt.schemes import COEFFICIENT_MAPS, METHODS, ExplicitRK, get_scheme
from dynopt.schemes.momentum import MomentumScheme
from dynopt.symbolic.core import a, beta
from dynopt.symbolic.recurrences import scheme_coefficients
from dynopt.symbolic.stability import (STABILITY_SCHEMES, X_ODE, companion_spectral_radius, other_stability_table,
                                       polyak_heavy_ball, scheme_stability, stability_bounds, stability_schemes)

PROBLEM = quadratic([[1.0]])  # h = 1, so a = αh = α


def ode_parameters(name, a_val, b_val):
    """(γ, λ) giving (αh, β) = (a, b) on h = 1: the scheme's map inverse (symplectic Euler:
    α = γ², β = 1 − λγ, inverted by hand)."""
    sch = get_scheme(name)
    if hasattr(sch, "coefficients"):
        return COEFFICIENT_MAPS[sch.coefficients][1](a_val, b_val)
    g = np.sqrt(a_val)
    return g, (1 - b_val) / g


def scheme_matrix(name, a_val, b_val):
    """Iteration matrix of the dynopt scheme on L = θ²/2, measured from numeric runs: θ_1/θ_0
    for a one-step scheme, the map (θ_{n−1}, θ_n) → (θ_n, θ_{n+1}) from two runs otherwise."""
    if name == "gd" or isinstance(get_scheme(name), ExplicitRK):
        sol = integrate(GradientFlow(PROBLEM), "euler" if name == "gd" else name, (0.0, a_val),
                        np.array([[1.0]]), a_val)
        return sol.y_final[:, :1]
    step, fr = ode_parameters(name, a_val, b_val)
    sol = integrate(HeavyBall(PROBLEM, fr), name, (0.0, 2 * step), np.array([[1.0, 0.0], [0.0, 1.0]]), step,
                    save_every=1)
    th = sol.y[:, :, 0]                                   # (θ_0, θ_1, θ_2) × two runs
    return th[1:3] @ np.linalg.inv(th[0:2])


@pytest.mark.parametrize("name", STABILITY_SCHEMES + ("symplectic-euler",))
def test_jury_bound_matches_spectral_radius_on_grid(name):
    max_a = stability_bounds(name)[0]
    bound = (lambda b: np.inf) if max_a is sp.oo else sp.lambdify(beta, max_a)
    checked = 0
    for b_val in np.linspace(0.05, 0.95, 10):
        edge = float(bound(b_val))
        for a_val in np.linspace(0.05, 6.0, 40):
            if abs(a_val - edge) <= 0.02 * min(edge, 10):
                continue  # too close to the boundary for a strict decision
            rho = np.max(np.abs(np.linalg.eigvals(scheme_matrix(name, a_val, b_val))))
            assert (rho < 1) == (a_val < edge), (name, a_val, b_val, rho, edge)
            checked += 1
    assert checked > 300


def test_ode_variable_bounds_are_the_mapped_alpha_bounds():
    # heavy ball: αh < 2(1+β) ⟺ hγ² < 4 for every λγ (eq 15); nesterov: check one point
    assert stability_bounds("heavy-ball")[1] == 4
    max_a, max_ode, _ = stability_bounds("nesterov")
    x = 0.3  # λγ; eq 18: β = 1 − λγ, αh = hγ²
    assert float(max_ode.subs(max_ode.free_symbols.pop(), x)) == pytest.approx(float(max_a.subs(beta, 1 - x)))


@pytest.mark.parametrize("name", ["heun", "rk4"])
def test_runge_kutta_interval_matches_numeric_step(name):
    edge = float(scheme_stability(name).max_alpha_h)
    for a_val in np.linspace(0.05, 4.0, 80):
        if abs(a_val - edge) > 0.02:
            rho = abs(scheme_matrix(name, a_val, 0.0)[0, 0])
            assert (rho < 1) == (a_val < edge), (name, a_val, rho, edge)
    assert companion_spectral_radius(name, edge, 0.0) == pytest.approx(1.0, abs=1e-9)


def test_table_rows_are_read_from_the_registry():
    rows = stability_schemes()
    assert rows[0] == "gd" and STABILITY_SCHEMES == rows
    momentum = [n for n, cls in METHODS.items() if issubclass(cls, MomentumScheme)]
    assert len(momentum) >= 5
    # every registered momentum scheme has a row, or shares its iteration with one
    for n in momentum:
        c = scheme_coefficients(n)
        assert any((c.weights, c.alpha, c.beta) == (r.weights, r.alpha, r.beta)
                   for r in map(scheme_coefficients, rows[1:])), n
    assert "leapfrog" not in rows and "heavy-ball" in rows     # same iteration, optimizer's name
    assert [r["scheme"] for r in other_stability_table()] == ["heun", "rk4", "symplectic-euler"]


def test_symplectic_euler_is_heavy_ball_with_eq18_coefficients():
    se = scheme_stability("symplectic-euler")
    assert se.characteristic_polynomial == scheme_stability("heavy-ball").characteristic_polynomial
    assert sp.simplify(se.max_ode_variable - (4 - 2 * X_ODE)) == 0
    assert sp.simplify(se.max_alpha_h - 2 * (1 + beta)) == 0
    assert se.characteristic_polynomial.free_symbols >= {a, beta}


def test_polyak_rate_is_spectral_radius():
    a_hb, b_hb, s_hb, _ = polyak_heavy_ball()
    mu, L = 2.0, 50.0
    syms = {s.name: s for s in a_hb.free_symbols}
    vals = {syms["μ"]: mu, syms["L"]: L}
    al, be, rate = float(a_hb.subs(vals)), float(b_hb.subs(vals)), float(s_hb.subs(vals))
    hs = np.linspace(mu, L, 41)
    rho = [np.max(np.abs(np.roots([1, -(1 + be - al * x), be]))) for x in hs]
    np.testing.assert_allclose(rho, rate, rtol=1e-6)
    # slightly different parameters are worse (optimality, one-sided)
    for da, db in [(1.03, 1.0), (0.97, 1.0), (1.0, 0.95), (1.0, 1.02)]:
        rho2 = max(np.max(np.abs(np.roots([1, -(1 + be * db - al * da * x), be * db]))) for x in hs)
        assert rho2 > rate


def test_cli_stability_json(capsys):
    from dynopt.cli.main import main

    assert main(["derive", "stability", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["scheme"] for r in rows] == list(STABILITY_SCHEMES)
    for r in rows:
        e = sp.sympify(r["max_alpha_h"])
        assert e.free_symbols <= {sp.Symbol("β")} or e == sp.oo
        sp.sympify(r["max_ode_variable"])
    hb = next(r for r in rows if r["scheme"] == "heavy-ball")
    assert float(sp.sympify(hb["max_alpha_h"]).subs(sp.Symbol("β"), 0.5)) == pytest.approx(3.0)
