"""Stability bounds (Jury, sympy) vs spectral radii of the dynopt schemes' iteration
matrices on a grid of (αh, β); Polyak's parameters vs numeric spectral radii."""
import json

import numpy as np
import pytest
import sympy as sp

from dynopt.dynamics import GradientFlow, HeavyBall
from dynopt.problems import quadratic
from dynopt.schemes import get_scheme
from dynopt.schemes import leapfrog_ode_parameters, nesterov_ode_parameters
from dynopt.symbolic.core import beta
from dynopt.symbolic.stability import STABILITY_SCHEMES, polyak_heavy_ball, stability_bounds

PROBLEM = quadratic([[1.0]])  # h = 1, so a = αh = α


def scheme_matrix(name, a_val, b_val):
    """Iteration matrix of the dynopt scheme on L = θ²/2, from one step on basis states."""
    if name == "gd":
        sch = get_scheme("euler")
        model = GradientFlow(PROBLEM)
        return np.array([[sch.step(model, 0.0, sch.init(model, np.array([[1.0]]), a_val), a_val).y[0, 0]]])
    inverse = leapfrog_ode_parameters if name == "heavy-ball" else nesterov_ode_parameters
    step, fr = inverse(a_val, b_val)
    model = HeavyBall(PROBLEM, fr)
    sch = get_scheme(name)
    basis = sch.init(model, np.zeros((2, 2)), step)._replace(q=np.array([[1.0], [0.0]]), v=np.array([[0.0], [1.0]]))
    q, v = sch.step(model, 0.0, basis, step)[:2]
    return np.array([[q[0, 0], q[1, 0]], [v[0, 0], v[1, 0]]])


@pytest.mark.parametrize("name", STABILITY_SCHEMES)
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
