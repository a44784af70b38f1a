"""Stationary points, minimum-energy paths and the N-D Eyring–Kramers / Kramers–Langer formulas:
Müller–Brown's tabulated minima and saddles from its expression alone, reduction to the 1-D
references on a separable potential, and agreement with the exact 1-D quadrature up to the
finite-barrier correction derived by Laplace's method."""
import math

import numpy as np
import pytest
import sympy as sp

from dynopt.analysis import (Landscape, eyring_kramers_rate, eyring_kramers_time, kramers_rate, kramers_rate_nd,
                             mean_first_passage_time, minimum_energy_path, stationary_point, stationary_points,
                             transition_time)
from dynopt.expr import parse
from dynopt.problems import from_expr

# Müller & Brown, Theor. Chim. Acta 53, 75 (1979): the parameters of the surface ...
A, a, b, c = (-200, -100, -170, 15), (-1, -1, -6.5, 0.7), (0, 0, 11, 0.6), (-10, -10, -6.5, 0.7)
X0, Y0 = (1, 0, -0.5, -1), (0, 0.5, 1.5, 1)
MB_TEXT = " + ".join(f"({A[k]})*exp(({a[k]})*(x-({X0[k]}))**2 + ({b[k]})*(x-({X0[k]}))*(y-({Y0[k]})) "
                     f"+ ({c[k]})*(y-({Y0[k]}))**2)" for k in range(4))
# ... and its tabulated stationary points (position to 3 decimals, energy to 2)
MB_MINIMA = [((-0.558, 1.442), -146.70), ((0.623, 0.028), -108.17), ((-0.050, 0.467), -80.77)]
MB_SADDLES = [((-0.822, 0.624), -40.66), ((0.212, 0.293), -72.25)]


@pytest.fixture(scope="module")
def mb():
    return Landscape(from_expr(parse(MB_TEXT, ["x", "y"]), symbols=sp.symbols("x y", real=True)))


def _match(points, table):
    for pos, energy in table:
        best = min(points, key=lambda p: np.linalg.norm(p.x - pos))
        assert np.abs(best.x - pos).max() <= 1e-3 + 5e-4, (best.x, pos)  # table rounded to 3 decimals
        assert abs(best.value - energy) <= 1e-2, (best.value, energy)


def test_muller_brown_stationary_points_from_the_expression(mb):
    pts = stationary_points(mb, [(-1.5, 1.2), (-0.5, 2.0)], n_grid=12)
    minima, saddles = [p for p in pts if p.index == 0], [p for p in pts if p.index == 1]
    assert len(minima) == 3 and len(saddles) == 2
    _match(minima, MB_MINIMA)
    _match(saddles, MB_SADDLES)
    for s in saddles:
        assert s.eigenvalues[0] < 0 < s.eigenvalues[1] and s.grad_norm < 1e-8


@pytest.mark.parametrize("ends, saddle", [((0, 2), 0), ((2, 1), 1)])
def test_string_method_finds_the_saddle_between_two_minima(mb, ends, saddle):
    path = minimum_energy_path(mb, MB_MINIMA[ends[0]][0], MB_MINIMA[ends[1]][0])
    assert path.converged and path.saddle is not None and path.saddle.index == 1
    _match([path.saddle], [MB_SADDLES[saddle]])
    assert path.energies.max() <= path.saddle.value + 1e-6 * abs(path.saddle.value) + 0.5
    assert math.isclose(path.barrier, path.saddle.value - path.start.value)
    js = path.as_json()
    assert js["iterations"] == path.iterations and js["converged"] is True
    assert js["barrier"] == path.barrier and len(js["images"]) == len(path.images)


def test_newton_from_a_far_guess_returns_none_or_a_stationary_point(mb):
    p = stationary_point(mb, [5.0, 5.0])
    assert p is None or p.grad_norm < 1e-6
    with pytest.raises(ValueError, match="guess"):
        stationary_point(mb, [0.0])


U1 = "x**4/4 - x**2/2"


def test_nd_formula_reduces_to_the_1d_references_on_a_separable_potential():
    x, y = sp.symbols("x y", real=True)
    L = Landscape(parse(f"{U1} + 3*y**2 + 0.2*x", ["x", "y"]), (x, y))
    one = Landscape(parse(f"{U1} + 0.2*x", ["x"]), (x,))
    m1, s1 = stationary_point(one, [-1.0]), stationary_point(one, [0.0])
    for sigma in (0.5, 0.3):
        t = transition_time(L, [-1.0, 0.0], [0.0, 0.0], sigma)
        k1 = eyring_kramers_rate(m1.hessian[0, 0], s1.hessian[0, 0], s1.value - m1.value, sigma)
        assert t.time == pytest.approx(1 / k1, rel=1e-12)
        for lam in (0.3, 3.0):
            sk = math.sqrt(2 * lam * sigma ** 2 / 2)
            kn = kramers_rate_nd(t.minimum.hessian, t.saddle.hessian, t.prefactor.barrier, sk, lam)
            k1d = kramers_rate(m1.hessian[0, 0], s1.hessian[0, 0], s1.value - m1.value, sk, lam, regime="intermediate")
            assert kn == pytest.approx(k1d, rel=1e-12)
    # large friction: λ·k → the overdamped rate of dX = −∇U/λ dt + (σ/λ) dW (time rescaled by λ)
    lam, s = 1e4, 0.5
    kn = kramers_rate_nd(t.minimum.hessian, t.saddle.hessian, t.prefactor.barrier, math.sqrt(2 * lam) * s / math.sqrt(2), lam)
    assert lam * kn == pytest.approx(1 / eyring_kramers_time(t.minimum.hessian, t.saddle.hessian, t.prefactor.barrier, s),
                                     rel=1e-3)


def test_nd_formula_is_invariant_under_rotation():
    x, y = sp.symbols("x y", real=True)
    th = 0.6
    u, v = math.cos(th) * x + math.sin(th) * y, -math.sin(th) * x + math.cos(th) * y
    rot = Landscape(u ** 4 / 4 - u ** 2 / 2 + 2 * v ** 2, (x, y))
    flat = Landscape(x ** 4 / 4 - x ** 2 / 2 + 2 * y ** 2, (x, y))
    R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    t1 = transition_time(rot, R @ [-1.0, 0.0], [0.0, 0.0], 0.4).time
    t2 = transition_time(flat, [-1.0, 0.0], [0.0, 0.0], 0.4).time
    assert t1 == pytest.approx(t2, rel=1e-10)


def _laplace_correction(d2m, d3m, d4m, d2s, d3s, d4s):
    """c₁ in T_exact = T_EK (1 + c₁ kT + O(kT²)): Laplace's method on the two integrals of the
    MFPT, ∫e^{−g/ε} ≈ √(2πε/g₂)e^{−g₀/ε}(1 + ε(5g₃²/(24g₂³) − g₄/(8g₂²))), with g = U at the
    minimum and g = −U at the saddle."""
    def term(g2, g3, g4):
        return 5 * g3 ** 2 / (24 * g2 ** 3) - g4 / (8 * g2 ** 2)
    return term(d2m, d3m, d4m) + term(-d2s, -d3s, -d4s)


def test_quadrature_and_nd_formula_agree_up_to_the_finite_barrier_correction():
    x = sp.Symbol("x", real=True)
    U = parse(f"{U1} + 0.1*x", ["x"])
    L = Landscape(U, (x,))
    m, s = stationary_point(L, [-1.0]), stationary_point(L, [0.0])
    other = stationary_point(L, [1.0])
    d = [float(sp.diff(U, x, k).subs(x, p)) for p in (m.x[0], s.x[0]) for k in (2, 3, 4)]
    c1 = _laplace_correction(*d)
    f = sp.lambdify(x, U)
    resid = []
    for kT in (0.04, 0.02, 0.01):
        sigma = math.sqrt(2 * kT)
        exact = mean_first_passage_time(f, sigma, m.x[0], -np.inf, other.x[0]).time
        ek = eyring_kramers_time(m.hessian, s.hessian, s.value - m.value, sigma)
        ratio = exact / ek
        assert abs(ratio - 1) <= 1.5 * abs(c1) * kT  # the known first correction bounds the gap
        resid.append(abs(ratio - 1 - c1 * kT) / kT ** 2)  # what remains is O(kT²)
    assert max(resid) < 10 * abs(c1) ** 2 + 10 and resid[-1] <= resid[0] * 1.5


def test_bad_hessians_are_refused():
    with pytest.raises(ValueError, match="index-1"):
        eyring_kramers_time(np.eye(2), np.eye(2), 1.0, 0.5)
    with pytest.raises(ValueError, match="positive definite"):
        eyring_kramers_time(-np.eye(2), np.diag([-1.0, 1.0]), 1.0, 0.5)


def test_derive_saddles_cli(capsys):
    import json

    from dynopt.cli.main import main

    assert main(["derive", "saddles", "--expr", MB_TEXT, "--vars", "x", "y", "--from", "-0.55", "1.4",
                 "--to", "-0.05", "0.45", "--sigma", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sad = out["path"]["saddle"]
    assert sad["index"] == 1 and np.abs(np.array(sad["x"]) - MB_SADDLES[0][0]).max() < 1.5e-3
    assert out["eyring_kramers"]["mean_time"] > 0
    assert main(["derive", "saddles", "--expr", "(x**2-1)**2 + 2*y**2", "--box", "-2", "2", "-1", "1"]) == 0
    text = capsys.readouterr().out
    assert text.count("minimum") == 2 and "saddle" in text
    assert main(["derive", "saddles", "--expr", "(x**2-1)**2 + 2*y**2", "--from", "-1", "0"]) == 2
    assert main(["derive", "saddles", "--expr", "(x**2-1)**2 + 2*y**2", "--from", "-1", "0", "--to", "1", "0",
                 "--sigma", "1", "--model", "kramers", "--friction", "2", "--json"]) == 0
    kl = json.loads(capsys.readouterr().out)["kramers_langer"]
    # separable: ω₀ = √8, ω_b = 2, transverse curvatures cancel in the determinants
    mu = math.sqrt(1 + 4) - 1
    assert kl["rate"] == pytest.approx(mu / (2 * math.pi) * math.sqrt(8 / 4) * math.exp(-1 / 0.25), rel=1e-9)
    assert main(["derive", "saddles", "--expr", "__import__('os')", "--box", "-1", "1"]) == 2
