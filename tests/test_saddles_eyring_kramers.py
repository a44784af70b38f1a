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


# ----------------------------------------------------------------------------------------
# A two-well quartic with every stationary point known: U = (x² − 1)² + y² − x·0 ...
# minima (±1, 0) with ∇²U = diag(8, 2), saddle (0, 0) with diag(−4, 2), barrier 1
# ----------------------------------------------------------------------------------------
XS, YS = sp.symbols("x y", real=True)
QUARTIC = (XS ** 2 - 1) ** 2 + YS ** 2


def test_transition_prefactor_spectra_and_determinant_ratio():
    """Eigenvalues ascending (of the symmetrised Hessians), |det H_s|/det H_m from them, the
    barrier as given; scalars are 1×1 Hessians."""
    from dynopt.analysis.eyring_kramers import TransitionPrefactor, transition_prefactor

    Hm = np.array([[8.0, 1.0], [-1.0, 2.0]])  # antisymmetric part dropped
    Hs = np.diag([2.0, -4.0])
    p = transition_prefactor(Hm, Hs, 1.5)
    assert isinstance(p, TransitionPrefactor) and p.barrier == 1.5
    np.testing.assert_allclose(p.min_eigenvalues, [2.0, 8.0], rtol=1e-14)
    np.testing.assert_allclose(p.saddle_eigenvalues, [-4.0, 2.0], rtol=1e-14)
    assert p.det_ratio == pytest.approx(8.0 / 16.0, rel=1e-14)
    one = transition_prefactor(3.0, -2.0, 0.5)
    assert one.det_ratio == pytest.approx(2.0 / 3.0, rel=1e-14)
    assert one.min_eigenvalues.tolist() == [3.0] and one.saddle_eigenvalues.tolist() == [-2.0]


@pytest.mark.parametrize("hm, hs, barrier, match", [
    (np.eye(2), np.eye(3), 1.0, r"^`min_hessian` and `saddle_hessian` must be square of one shape; got \(2, 2\), \(3, 3\)$"),
    (np.ones((2, 3)), np.ones((2, 3)), 1.0, r"^`min_hessian` and `saddle_hessian` must be square of one shape; "
                                            r"got \(2, 3\), \(2, 3\)$"),
    (np.diag([1.0, 0.0]), np.diag([-1.0, 1.0]), 1.0, r"^`min_hessian` must be positive definite; eigenvalues \[0\.0, 1\.0\]$"),
    (np.eye(2), np.diag([-1.0, 0.0]), 1.0, r"^`saddle_hessian` must have exactly one negative eigenvalue \(index-1 "
                                          r"saddle\); eigenvalues \[-1\.0, 0\.0\]$"),
    (np.eye(2), np.diag([0.0, 1.0]), 1.0, r"^`saddle_hessian` must have exactly one negative eigenvalue"),
    (np.eye(2), np.diag([-1.0, -2.0]), 1.0, r"^`saddle_hessian` must have exactly one negative eigenvalue"),
    (np.eye(2), np.diag([-1.0, 1.0]), 0.0, r"^`barrier` must be in \(0\.0, inf\); got 0\.0$"),
])
def test_transition_prefactor_messages(hm, hs, barrier, match):
    """Mismatched shapes, a non-positive-definite minimum, a saddle not of index 1 (a zero
    eigenvalue included) and a non-positive barrier are refused by name."""
    from dynopt.analysis.eyring_kramers import transition_prefactor

    with pytest.raises(ValueError, match=match):
        transition_prefactor(hm, hs, barrier)


def test_eyring_kramers_time_and_kramers_rate_nd_against_hand_formulas():
    """E[τ] = (2π/|λ₁|)√(|det H_s|/det H_m)e^{ΔU/kT} at kT = σ²/2 and
    k = (μ₊/2π)√(det H_m/|det H_s|)e^{−ΔU/kT}, μ₊ = √(λ²/4 + |λ₁|) − λ/2, at kT = σ²/(2λ)."""
    Hm, Hs, dU, s, lam = np.diag([8.0, 2.0]), np.diag([-4.0, 2.0]), 1.0, 0.9, 1.7
    t = 2 * math.pi / 4.0 * math.sqrt(8.0 / 16.0) * math.exp(dU / (s * s / 2))
    assert eyring_kramers_time(Hm, Hs, dU, s) == pytest.approx(t, rel=1e-13)
    mu = math.sqrt(lam ** 2 / 4 + 4.0) - lam / 2
    k = mu / (2 * math.pi) * math.sqrt(16.0 / 8.0) * math.exp(-dU / (s * s / (2 * lam)))
    assert kramers_rate_nd(Hm, Hs, dU, s, lam) == pytest.approx(k, rel=1e-13)
    with pytest.raises(ValueError, match=r"^`friction` must be in \(0\.0, inf\); got 0\.0$"):
        kramers_rate_nd(Hm, Hs, dU, s, 0.0)
    with pytest.raises(ValueError, match=r"^`sigma` must be in \(0\.0, inf\); got 0\.0$"):
        kramers_rate_nd(Hm, Hs, dU, 0.0, lam)
    with pytest.raises(ValueError, match=r"^`sigma` must be in \(0\.0, inf\); got -1\.0$"):
        eyring_kramers_time(Hm, Hs, dU, -1.0)


def test_transition_time_of_the_quartic_from_rough_guesses():
    """Newton refines the guesses to (−1, 0) and (0, 0); the time is eyring_kramers_time of their
    Hessians and barrier 1; a guess that reaches the wrong kind of point is refused by name."""
    from dynopt.analysis.eyring_kramers import transition_prefactor

    r = transition_time(QUARTIC, [-0.9, 0.1], [0.05, -0.02], 0.8)
    np.testing.assert_allclose(r.minimum.x, [-1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(r.saddle.x, [0.0, 0.0], atol=1e-12)
    want = 2 * math.pi / 4.0 * math.sqrt(0.5) * math.exp(1.0 / 0.32)
    assert r.time == pytest.approx(want, rel=1e-10)
    assert r.prefactor.barrier == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(r.prefactor.saddle_eigenvalues, transition_prefactor(
        np.diag([8.0, 2.0]), np.diag([-4.0, 2.0]), 1.0).saddle_eigenvalues, rtol=1e-10)
    assert transition_time(Landscape(QUARTIC), [-0.9, 0.1], [0.05, -0.02], 0.8).time == pytest.approx(r.time, rel=1e-12)
    with pytest.raises(ValueError, match=r"^`minimum` \[0\.05, 0\.0\] does not lead Newton to a minimum$"):
        transition_time(QUARTIC, [0.05, 0.0], [0.0, 0.0], 0.8)
    with pytest.raises(ValueError, match=r"^`saddle` \[1\.1, 0\.0\] does not lead Newton to an index-1 saddle$"):
        transition_time(QUARTIC, [-1.0, 0.0], [1.1, 0.0], 0.8)


def test_landscape_of_an_expression_and_of_a_problem():
    """Variables default to the expression's free symbols sorted by name (or the problem's);
    U, ∇U, ∇²U and their row-wise versions are the expression's derivatives."""
    L = Landscape(QUARTIC)
    assert L.symbols == (XS, YS) and L.dim == 2 and L.expr == QUARTIC
    assert L.value([2.0, 3.0]) == 18.0
    np.testing.assert_allclose(L.grad([2.0, 3.0]), [4 * 2.0 * 3.0, 6.0], rtol=1e-15)
    np.testing.assert_allclose(L.hessian([2.0, 3.0]), [[12 * 4.0 - 4.0, 0.0], [0.0, 2.0]], rtol=1e-15)
    X = np.array([[2.0, 3.0], [0.0, 1.0], [1.0, -1.0]])
    np.testing.assert_allclose(L.values(X), [18.0, 2.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(L.grads(X), [[24.0, 6.0], [0.0, 2.0], [0.0, -2.0]], rtol=1e-15)
    swapped = Landscape(QUARTIC, [YS, XS])
    assert swapped.value([3.0, 2.0]) == 18.0
    # a constant component of the gradient broadcasts over the rows
    lin = Landscape(XS + YS ** 2)
    np.testing.assert_allclose(lin.grads(X), [[1.0, 6.0], [1.0, 2.0], [1.0, -2.0]])
    np.testing.assert_allclose(Landscape(sp.Integer(0) * XS + 3, [XS]).values([[1.0], [2.0]]), [3.0, 3.0])
    p = from_expr(QUARTIC, symbols=(XS, YS))
    assert Landscape(p).symbols == (XS, YS) and Landscape(p, [YS, XS]).symbols == (YS, XS)


def test_landscape_messages():
    """A problem without an expression, an object that is neither, and an expression with symbols
    outside its variables are refused, naming what is missing."""
    from dynopt.problems.base import Problem

    bare = Problem("bare", 1, lambda p: p[:, 0], lambda p: p)
    with pytest.raises(ValueError, match=r"^`problem` must have a sympy expression \(e\.g\. from_expr or --expr\)$"):
        Landscape(bare)
    with pytest.raises(TypeError, match=r"^`problem` must be a Problem or a sympy expression; got str$"):
        Landscape("x**2")
    with pytest.raises(ValueError, match=r"^the potential's free symbols \['x', 'y'\] must all be among its "
                                         r"variables \['x'\]$"):
        Landscape(QUARTIC, [XS])
    with pytest.raises(ValueError, match=r"^the potential's free symbols \[\] must all be among its variables \[\]$"):
        Landscape(sp.Integer(3))


def test_stationary_point_records_and_classification():
    """Newton from a guess lands on the point; its record holds U, the Hessian, its ascending
    spectrum, the index and |∇U|; kind names minimum, saddle, index-k saddle and maximum."""
    p = stationary_point(QUARTIC, [0.9, 0.2])
    np.testing.assert_allclose(p.x, [1.0, 0.0], atol=1e-12)
    assert p.value == pytest.approx(0.0, abs=1e-20) and p.index == 0 and p.kind == "minimum"
    np.testing.assert_allclose(p.eigenvalues, [2.0, 8.0], rtol=1e-10)
    np.testing.assert_allclose(p.hessian, np.diag([8.0, 2.0]), rtol=1e-10, atol=1e-12)
    assert p.grad_norm < 1e-12
    s = stationary_point(QUARTIC, [0.1, 0.1])
    assert s.kind == "saddle" and s.index == 1 and s.value == pytest.approx(1.0, rel=1e-14)
    assert s.as_json() == {"kind": "saddle", "x": s.x.tolist(), "value": s.value, "index": 1,
                           "hessian_eigenvalues": s.eigenvalues.tolist(), "grad_norm": s.grad_norm}
    top = Landscape(-(XS ** 2) - YS ** 2 - sp.Symbol("z", real=True) ** 2).classify([0.0, 0.0, 0.0])
    assert top.kind == "maximum" and top.index == 3
    two = Landscape(-(XS ** 2) - YS ** 2 + sp.Symbol("z", real=True) ** 2).classify([0.0, 0.0, 0.0])
    assert two.kind == "index-2 saddle"
    assert stationary_point(QUARTIC, [0.9, 0.2], tol=1e-12).x.tolist() == p.x.tolist()
    with pytest.raises(ValueError, match=r"^`guess` must be 2 finite numbers; got \[1\.0\]$"):
        stationary_point(QUARTIC, [1.0])
    with pytest.raises(ValueError, match=r"^`guess` must be 2 finite numbers; got \[1\.0, nan\]$"):
        stationary_point(QUARTIC, [1.0, np.nan])
    # no stationary point: Newton does not converge
    assert stationary_point(XS + YS ** 2, [0.0, 0.0]) is None


def test_stationary_points_in_a_box_sorted_and_deduplicated():
    """Every stationary point of the quartic in the box, once each, minima first by value then
    the saddle; a box that excludes a minimum drops it; bad boxes and grid sizes are refused."""
    pts = stationary_points(QUARTIC, [(-2, 2), (-1, 1)], n_grid=6)
    assert [p.index for p in pts] == [0, 0, 1]
    xs = sorted(tuple(np.round(p.x, 9) + 0.0) for p in pts)
    assert xs == [(-1.0, 0.0), (0.0, 0.0), (1.0, 0.0)]
    half = stationary_points(QUARTIC, [(-0.5, 2), (-1, 1)], n_grid=6)
    assert sorted(tuple(np.round(p.x, 9) + 0.0) for p in half) == [(0.0, 0.0), (1.0, 0.0)]
    # Newton from guesses inside the box also reaches (±1, 0) outside it: those are dropped
    inner = stationary_points(QUARTIC, [(-0.9, 0.5), (-1, 1)], n_grid=6)
    assert [np.round(p.x, 9).tolist() for p in inner] == [[0.0, 0.0]]
    right = stationary_points(QUARTIC, [(-1.1, 0.95), (-1, 1)], n_grid=6)
    assert [np.round(p.x, 9).tolist() for p in right] == [[-1.0, 0.0], [0.0, 0.0]]
    tilted = stationary_points(QUARTIC + XS / 4, [(-2, 2), (-1, 1)], n_grid=6)
    assert [p.index for p in tilted] == [0, 0, 1] and tilted[0].value < tilted[1].value
    default = stationary_points(QUARTIC, [(-2, 2), (-1, 1)])
    explicit = stationary_points(QUARTIC, [(-2, 2), (-1, 1)], n_grid=12, tol=1e-12, merge=1e-6)
    assert [p.x.tolist() for p in default] == [p.x.tolist() for p in explicit] and len(default) == 3
    for box in ([(-2, 2)], [(-2, 2), (1, 1)], [(-2, 2), (1, -1)], [(-2, 2, 0), (1, 2, 0)]):
        with pytest.raises(ValueError, match=r"^`box` must be 2 pairs \(lo, hi\) with hi > lo; got "):
            stationary_points(QUARTIC, box)
    with pytest.raises(ValueError, match=r"^`n_grid` must be a positive integer; got 0$"):
        stationary_points(QUARTIC, [(-2, 2), (-1, 1)], n_grid=0)
    # a merge radius wider than the wells makes one point of all
    assert len(stationary_points(QUARTIC, [(-2, 2), (-1, 1)], n_grid=4, merge=5.0)) == 1


def test_minimum_energy_path_of_the_quartic():
    """The string between (±1, 0) runs along y = 0 with images at equal spacing, energies
    (x² − 1)², the saddle (0, 0) refined by Newton and barrier 1; its JSON is the whole record."""
    r = minimum_energy_path(QUARTIC, [-1.2, 0.3], [0.8, -0.2], n_images=11)
    assert r.converged and 1 <= r.iterations < 20000
    np.testing.assert_allclose(r.start.x, [-1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(r.end.x, [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(r.images[:, 1], 0.0, atol=1e-9)
    np.testing.assert_allclose(r.images[:, 0], np.linspace(-1.0, 1.0, 11), atol=1e-6)
    np.testing.assert_allclose(r.energies, (r.images[:, 0] ** 2 - 1) ** 2 + r.images[:, 1] ** 2, rtol=1e-12)
    np.testing.assert_allclose(r.saddle.x, [0.0, 0.0], atol=1e-12)
    assert r.barrier == pytest.approx(1.0, rel=1e-12)
    assert r.images.shape == (11, 2)
    assert r.as_json() == {"start": r.start.as_json(), "end": r.end.as_json(), "saddle": r.saddle.as_json(),
                           "barrier": r.barrier, "images": r.images.tolist(), "energies": r.energies.tolist(),
                           "iterations": r.iterations, "converged": True}
    # the straight initial string is already the path: one iteration moves nothing
    assert r.iterations == 1
    short = minimum_energy_path(QUARTIC, [-1.2, 0.3], [0.8, -0.2], n_images=11, max_iter=2, tol=0.0)
    assert short.iterations == 2 and not short.converged
    bent = minimum_energy_path(QUARTIC + XS ** 2 * YS, [-1.2, 0.3], [0.8, -0.2], n_images=11, max_iter=3)
    assert bent.iterations == 3 and not bent.converged


def _path_over_a_maximum():
    """Between the minima (−1, −1) and (1, 1) of (x² − 1)² + (y² − 1)² + 3 the string stays on
    the diagonal by symmetry, so its highest image is the maximum (0, 0) (index 2): no saddle."""
    u = (XS ** 2 - 1) ** 2 + (YS ** 2 - 1) ** 2 + 3
    return minimum_energy_path(u, [-1.1, -0.9], [0.9, 1.1], n_images=11)


def test_minimum_energy_path_without_a_saddle_takes_the_barrier_from_the_top_image():
    """No index-1 point is reached: the barrier is the top image's energy minus U(start),
    here U(0, 0) − U(−1, −1) = 5 − 3 = 2 (the start minimum's value is not 0)."""
    r = _path_over_a_maximum()
    assert r.saddle is None
    assert r.start.value == pytest.approx(3.0, abs=1e-12)
    assert r.barrier == pytest.approx(2.0, rel=1e-12)
    assert r.barrier == pytest.approx(max(r.energies[1:-1]) - r.start.value, rel=1e-12)


def test_minimum_energy_path_without_a_saddle_as_json():
    """A path whose saddle is None serialises it as None (null in JSON)."""
    r = _path_over_a_maximum()
    j = r.as_json()
    assert j["saddle"] is None
    assert j["barrier"] == r.barrier and j["start"] == r.start.as_json()


def test_minimum_energy_path_messages():
    """n_images ≥ 3, ends of the right dimension and finite, and two different minima."""
    with pytest.raises(ValueError, match=r"^`n_images` must be an integer ≥ 3; got 2$"):
        minimum_energy_path(QUARTIC, [-1, 0], [1, 0], n_images=2)
    with pytest.raises(ValueError, match=r"^`start` must be 2 finite numbers; got \[1\.0\]$"):
        minimum_energy_path(QUARTIC, [1.0], [1, 0])
    with pytest.raises(ValueError, match=r"^`end` must be 2 finite numbers; got \[1\.0, inf\]$"):
        minimum_energy_path(QUARTIC, [-1, 0], [1.0, np.inf])
    with pytest.raises(ValueError, match=r"^`start` and `end` descend to the same minimum \[1\.0"):
        minimum_energy_path(QUARTIC, [0.9, 0.1], [1.1, -0.1])
    three = minimum_energy_path(QUARTIC, [-1, 0], [1, 0], n_images=3)
    assert three.images.shape == (3, 2) and three.barrier == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(three.saddle.x, [0.0, 0.0], atol=1e-12)


def test_reparametrize_spaces_images_at_equal_arc_length():
    """Images are moved to equal arc length along the polyline; a string of one point is kept."""
    from dynopt.analysis.saddles import _reparametrize

    phi = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 3.0]])  # length 4
    np.testing.assert_allclose(_reparametrize(phi), [[0.0, 0.0], [1.0, 1.0], [1.0, 3.0]], rtol=1e-14)
    same = np.ones((4, 2))
    assert _reparametrize(same) is same
    # coincident images (only the last segment has length) are spread along the string, not NaN
    tail = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 0.0]])
    np.testing.assert_allclose(_reparametrize(tail), [[0.0, 0.0], [1.5, 0.0], [3.0, 0.0]], rtol=1e-14)
    mid = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [4.0, 0.0]])
    np.testing.assert_allclose(_reparametrize(mid), [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]],
                               rtol=1e-14)


@pytest.mark.parametrize("module", ['saddles', 'eyring_kramers'])
def test_public_names_are_defined(module):
    """Every name in the module's ``__all__`` is defined by it."""
    import importlib

    mod = importlib.import_module(f"dynopt.analysis.{module}")
    assert len(mod.__all__) == len(set(mod.__all__))
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_stationary_point_tolerance_scales_with_curvature_and_position():
    """U = (x² − 2·10⁶)²: at x = √(2·10⁶) rounding leaves |∇U| ~ 1e-6, accepted because the
    gradient's scale there is |U''|·|x| ≈ 2e10 (the test is |∇U| ≤ 1e-8 × that scale)."""
    p = stationary_point((XS ** 2 - 2_000_000) ** 2, [1400.0])
    assert p is not None and p.index == 0
    assert p.x[0] == pytest.approx(np.sqrt(2e6), rel=1e-15)
    assert 0 < p.grad_norm <= 1e-8 * 8 * 2e6 * np.sqrt(2e6)


def test_minimum_energy_path_of_a_bent_valley_with_defaults():
    """U = (x² − 1)² + y² + x²y: minima (±2/√3, −2/3) of value −1/3, saddle (0, 0) of value 1,
    barrier 4/3; with the defaults (41 images, tol 1e-7, max_iter 20000) the string converges to a
    curve symmetric under x → −x with images at near-equal spacing, and the defaults given
    explicitly give the same record."""
    u = QUARTIC + XS ** 2 * YS
    r = minimum_energy_path(u, [-1.2, 0.3], [0.8, -0.2])
    assert r.converged and 1 < r.iterations < 20000 and r.images.shape == (41, 2)
    m = np.array([2 / np.sqrt(3), -2 / 3])
    np.testing.assert_allclose(r.start.x, m * [-1, 1], atol=1e-9)
    np.testing.assert_allclose(r.end.x, m, atol=1e-9)
    assert r.start.value == pytest.approx(-1 / 3, abs=1e-12) and r.saddle.index == 1
    np.testing.assert_allclose(r.saddle.x, [0.0, 0.0], atol=1e-12)
    assert r.barrier == pytest.approx(4 / 3, rel=1e-12)
    X, Y = r.images.T
    np.testing.assert_allclose(r.energies, (X ** 2 - 1) ** 2 + Y ** 2 + X ** 2 * Y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.images[::-1] * [-1, 1], r.images, atol=1e-6)
    seg = np.linalg.norm(np.diff(r.images, axis=0), axis=1)
    assert seg.max() < 1.01 * seg.min()
    # the valley bends up through the saddle: interior images lie above the chord y = −2/3
    assert r.images[20, 1] == pytest.approx(0.0, abs=1e-4) and np.all(r.images[1:-1, 1] > -2 / 3)
    explicit = minimum_energy_path(u, [-1.2, 0.3], [0.8, -0.2], n_images=41, max_iter=20000, tol=1e-7)
    assert explicit.as_json() == r.as_json()
    looser = minimum_energy_path(u, [-1.2, 0.3], [0.8, -0.2], tol=1e-5)
    assert looser.converged and looser.iterations < r.iterations


def test_minimum_energy_path_first_iteration_by_hand():
    """One iteration (max_iter=1, tol=0) from the straight string between the minima of
    U = (x² − 1)² + y² + x²y: interior images step by −h∇U with h = 0.2/max|eig ∇²U| over the
    straight string, then are redistributed at equal arc length (linear interpolation), all done here."""
    u = QUARTIC + XS ** 2 * YS
    r = minimum_energy_path(u, [-1.2, 0.3], [0.8, -0.2], n_images=5, max_iter=1, tol=0.0)
    assert r.iterations == 1 and not r.converged
    phi = r.start.x + np.linspace(0.0, 1.0, 5)[:, None] * (r.end.x - r.start.x)
    X, Y = phi.T
    hess = [np.array([[12 * x * x - 4 + 2 * y, 2 * x], [2 * x, 2.0]]) for x, y in phi]
    h = 0.2 / max(np.abs(np.linalg.eigvalsh(m)).max() for m in hess)
    grad = np.stack([4 * X * (X * X - 1) + 2 * X * Y, 2 * Y + X * X], axis=1)
    new = phi.copy()
    new[1:-1] -= h * grad[1:-1]
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(new, axis=0), axis=1))])
    want = np.stack([np.interp(np.linspace(0.0, 1.0, 5), s / s[-1], new[:, k]) for k in range(2)], axis=1)
    np.testing.assert_allclose(r.images, want, rtol=1e-12, atol=1e-14)


def test_missing_coordinates_are_refused_as_not_finite():
    """A None coordinate reads as NaN: the guess, the box and the string's ends are refused by
    name with the values given, not by a TypeError from inside numpy."""
    with pytest.raises(ValueError, match=r"^`guess` must be 2 finite numbers; got \[0\.5, None\]$"):
        stationary_point(QUARTIC, [0.5, None])
    with pytest.raises(ValueError, match=r"^`box` must be 2 pairs \(lo, hi\) with hi > lo; got \[\[-2, 2\], \[-1, None\]\]$"):
        stationary_points(QUARTIC, [(-2, 2), (-1, None)])
    with pytest.raises(ValueError, match=r"^`start` must be 2 finite numbers; got \[-1\.0, nan\]$"):
        minimum_energy_path(QUARTIC, [-1, None], [1, 0])
