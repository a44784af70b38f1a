"""Decimals in a user's potential: the stationarity proof reads them as exact rationals, and the
2-D Gibbs marginals are computed by quadrature (no interpolation error in the tails)."""
import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from dynopt.analysis.densities import GibbsDensity
from dynopt.cli.main import main
from dynopt.cli.user_input import parse_expr
from dynopt.symbolic.user import user_stationary_density

MULLER_BROWN = ("-200*exp(-(x-1)**2 - 10*y**2) - 100*exp(-x**2 - 10*(y-0.5)**2)"
                " - 170*exp(-6.5*(x+0.5)**2 + 11*(x+0.5)*(y-1.5) - 6.5*(y-1.5)**2)"
                " + 15*exp(0.7*(x+1)**2 + 0.6*(x+1)*(y-1) + 0.7*(y-1)**2)")


@pytest.mark.parametrize("expr", ["exp(-0.5*(x-0.3)**2) + x**4", MULLER_BROWN])
def test_density_with_decimals_is_proved_stationary(expr, capsys):
    assert main(["derive", "density", "--expr", expr]) == 0
    out = capsys.readouterr().out
    assert "fokker_planck_residual = 0" in out
    (potential,) = [line for line in out.splitlines() if line.strip().startswith("potential")]
    assert "." not in potential and "/10" in potential  # 0.3, 0.7 … read as 3/10, 7/10


def test_decimals_become_the_rationals_they_spell():
    d = user_stationary_density(parse_expr("exp(-0.5*(x-0.3)**2) + x**4"))
    L = d.results["potential"]
    assert not L.atoms(sp.Float) and -sp.Rational(3, 10) in L.atoms(sp.Rational)
    assert d.results["fokker_planck_residual"] == 0
    # a sympy expression with floats is proved the same way
    x = sp.Symbol("x", real=True)
    assert user_stationary_density(sp.exp(-0.5 * (x - 0.3) ** 2) + x ** 4, (x,)).results[
        "fokker_planck_residual"] == 0


def test_two_d_marginal_by_quadrature_matches_the_exact_one():
    """(x²−1)² + 0.3x + 2y² factorises: the x-marginal is exp(−((x²−1)² + 0.3x)/kT)/Z₁ exactly."""
    kT = 0.5
    g = GibbsDensity(parse_expr("(x**2-1)**2 + 2*y**2 + 0.3*x"), kT, (-3, 3))
    m = g.marginal(0)
    f = lambda x: np.exp(-((x ** 2 - 1) ** 2 + 0.3 * x) / kT)  # noqa: E731
    Z = integrate.quad(f, -3, 3, epsabs=0, epsrel=1e-13)[0]
    xs = np.array([-2.9, -2.5, -2.0, -1.0, 0.3, 1.7, 2.4, 2.95])  # tails included
    np.testing.assert_allclose(m.pdf(xs), f(xs) / Z, rtol=1e-9)
    F = [integrate.quad(f, -3, x, epsabs=0, epsrel=1e-13)[0] / Z for x in xs]
    np.testing.assert_allclose(m.cdf(xs), F, atol=1e-6)
    assert m.pdf(3.5) == 0 and m.cdf(-3.5) == 0 and m.cdf(3.5) == 1
    # the y-marginal is the normal N(0, kT/4) cut to the box
    y = np.array([-1.0, -0.2, 0.6])
    sd = np.sqrt(kT / 4)
    np.testing.assert_allclose(g.marginal(1).pdf(y), np.exp(-y ** 2 / (2 * sd ** 2)) / (sd * np.sqrt(2 * np.pi)),
                               rtol=1e-9)
