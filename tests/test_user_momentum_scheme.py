"""A momentum scheme written by a user, defined only here and never registered, is analysed by
the public functions of dynopt.symbolic from its own definition; the results match a hand
derivation and numeric runs of the same class.  The registry-driven tables pick a scheme up
once it is registered (inside a fixture that removes it again).

The scheme: gradient at x_n = θ_n + cβv_n with c = 1/3, (α, β) from eq 15.

Hand derivation (a = αh on L = hθ²/2, θ_n = zⁿ, v_n = θ_n − θ_{n−1}):

    z² − z − β(z − 1) + a(z + cβ(z − 1)) = z² − (1 + β − a − acβ) z + (β − acβ).

Jury: p(1) = a > 0; p(−1) = 2 + 2β − a(1 + 2cβ) > 0 ⇔ a < 2(1 + β)/(1 + 2cβ);
1 − c₀ = 1 − β + acβ > 0 always; 1 + c₀ = 1 + β − acβ > 0 ⇔ a < (1 + β)/(cβ), which is
larger since 2cβ < 1 + 2cβ.  So αh < 2(1 + β)/(1 + 2β/3) = 6(1 + β)/(3 + 2β).

ODE variables through eq 15 with x = λγ/2: β = (1 − x)/(1 + x), αh = hγ²/(1 + x), so
1 + β = 2/(1 + x), 1 + 2β/3 = (5 + x)/(3(1 + x)), αh < 12/(5 + x) and
hγ² < 12(1 + x)/(5 + x) = 12(2 + λγ)/(10 + λγ).

Modified equation (fixed β, learning rate h): θ' = f₀ + hf₁ in the recurrence; order h gives
(1−β)f₀ + L' = 0, order h² gives (1−β)f₁ + (1+β)/2·f₀'f₀ + cβL''f₀ = 0 (the last term from
∇L at θ + cβ·hf₀ + O(h²)), so f₁ = [−(1+β)/(2(1−β)³) + cβ/(1−β)²]L'L''.

Consistency: the leapfrog (c = 0) defect τ = θ(t+γ) − θ(t) − β(θ(t) − θ(t−γ)) + α∇L(θ(t))
is O(γ⁴).  Moving the gradient point by cβ(θ(t) − θ(t−γ)) = cγη_0 + O(γ²) adds
α L''(θ_0) cγη_0 + O(γ⁴) = c L''(θ_0) η_0 γ³ + O(γ⁴): τ = O(γ³), local order 2, leading
coefficient c₂η_0/3 (c₂ = L''(θ_0)); with the half-step start (error O(γ²)) the global
order is min(2 − 1, 2) = 1.
"""
import numpy as np
import pytest
import sympy as sp
from scipy.linalg import expm

from dynopt.dynamics import HeavyBall
from dynopt.engine import integrate
from dynopt.problems import quadratic
from dynopt.schemes import METHODS, leapfrog_ode_parameters, register
from dynopt.schemes.momentum import MomentumScheme
from dynopt.symbolic import scheme_coefficients, scheme_consistency, scheme_stability
from dynopt.symbolic.consistency import consistency_schemes, consistency_table
from dynopt.symbolic.core import a, beta, gamma, lam, z
from dynopt.symbolic.recurrences import TH, TH_PREV
from dynopt.symbolic.stability import X_ODE, companion_spectral_radius, stability_schemes, stability_table

C = sp.Rational(1, 3)


class ThirdNesterov(MomentumScheme):
    """Nesterov-like momentum with the gradient at θ_n + (β/3)v_n and the eq-15 map."""

    name = "third-nesterov"
    order = 1
    coefficients = "eq15"

    def gradient_point(self, q, v, beta, q_next=None):
        return q + beta / 3 * v


HAND_POLY = z ** 2 - (1 + beta - a - a * C * beta) * z + (beta - a * C * beta)
HAND_MAX_AH = 2 * (1 + beta) / (1 + 2 * C * beta)
HAND_MAX_ODE = 12 * (2 + X_ODE) / (10 + X_ODE)


def test_is_not_registered():
    assert ThirdNesterov not in METHODS.values() and "third-nesterov" not in METHODS
    assert "third-nesterov" not in stability_schemes() and "third-nesterov" not in consistency_schemes()


def test_coefficients_from_its_definition():
    c = scheme_coefficients(ThirdNesterov)
    assert c.scheme == "third-nesterov" and c.map == "eq15"
    x = lam * gamma / 2
    assert sp.simplify(c.beta - (1 - x) / (1 + x)) == 0
    assert sp.simplify(c.alpha - gamma ** 2 / (1 + x)) == 0
    assert sp.expand(c.gradient_point - (TH + beta / 3 * (TH - TH_PREV))) == 0
    assert scheme_coefficients(ThirdNesterov()) == c


@pytest.mark.parametrize("spec", [ThirdNesterov, ThirdNesterov(), ThirdNesterov(start="rest")])
def test_stability_matches_hand_derivation(spec):
    s = scheme_stability(spec)
    assert s.scheme == "third-nesterov" and s.ode_variable == "h*γ**2"
    assert sp.expand(s.characteristic_polynomial.as_expr() - HAND_POLY) == 0
    assert sp.simplify(s.max_alpha_h - HAND_MAX_AH) == 0
    assert sp.simplify(s.max_ode_variable - HAND_MAX_ODE) == 0


def iteration_matrix(a_val, b_val):
    """The numeric scheme's map (θ_{n−1}, θ_n) → (θ_n, θ_{n+1}) on L = θ²/2, from two runs."""
    step, fr = leapfrog_ode_parameters(a_val, b_val)   # eq 15 inverse: αh = a on h = 1
    sol = integrate(HeavyBall(quadratic([[1.0]]), fr), ThirdNesterov(), (0.0, 2 * step),
                    np.array([[1.0, 0.0], [0.0, 1.0]]), step, save_every=1)
    th = sol.y[:, :, 0]
    return th[1:3] @ np.linalg.inv(th[0:2])


def test_bound_matches_numeric_spectral_radii_on_grid():
    bs, as_ = np.linspace(0.05, 0.95, 10), np.linspace(0.05, 5.0, 40)
    rho = np.array([[np.max(np.abs(np.linalg.eigvals(iteration_matrix(a_val, b_val)))) for a_val in as_]
                    for b_val in bs])
    # the companion polynomial's roots are the numeric map's eigenvalues
    np.testing.assert_allclose(companion_spectral_radius(ThirdNesterov, as_[None, :], bs[:, None]), rho, rtol=1e-8)
    edge = np.asarray(sp.lambdify(beta, HAND_MAX_AH)(bs))[:, None]
    decided = np.abs(as_[None, :] - edge) > 0.02 * edge       # too close to the boundary to decide
    assert decided.sum() > 350
    np.testing.assert_array_equal((rho < 1)[decided], np.broadcast_to(as_[None, :] < edge, rho.shape)[decided])


def test_consistency_matches_hand_derivation():
    res = scheme_consistency(ThirdNesterov)
    assert (res.scheme, res.local_order, res.start_order, res.global_order) == ("third-nesterov", 2, 2, 1)
    assert sp.simplify(sp.sympify(res.leading_error) - sp.sympify("c2*η_0/3")) == 0
    assert scheme_consistency(ThirdNesterov, "quadratic", 2).local_order == 2
    assert scheme_consistency(ThirdNesterov(start="rest")).global_order == 1


def test_leading_defect_matches_exact_solution():
    """τ(γ)/γ³ → c₂η_0/3 on L = kθ²/2, from the closed-form solution and the numeric
    definitions (floats) of the same class."""
    k, fr, th0, eta0 = 2.0, 0.7, 0.4, 1.3
    sch = ThirdNesterov()

    def ratio(g):
        back = expm(-np.array([[0.0, 1.0], [-k, -fr]]) * g) @ [th0, eta0]
        fwd = expm(np.array([[0.0, 1.0], [-k, -fr]]) * g) @ [th0, eta0]
        al, be = sch.alpha_beta_of(g, fr)
        x = sch.gradient_point(th0, th0 - back[0], be)
        return (fwd[0] - th0 - be * (th0 - back[0]) + al * k * x) / g ** 3

    richardson = 2 * ratio(0.005) - ratio(0.01)       # removes the O(γ) term
    assert richardson == pytest.approx(k * eta0 / 3, rel=1e-3)


def test_measured_global_order_is_one():
    k, fr = 2.0, 0.7
    y0 = np.array([[0.4, 1.3]])
    exact = expm(np.array([[0.0, 1.0], [-k, -fr]]) * 1.0) @ y0[0]
    errs = [abs(integrate(HeavyBall(quadratic([[k]]), fr), ThirdNesterov(), (0.0, 1.0), y0, 1.0 / n)
                .y_final[0, 0] - exact[0]) for n in (40, 80, 160, 320)]
    slopes = -np.diff(np.log(errs)) / np.log(2)
    assert np.all(np.abs(slopes - 1) < 0.1), slopes


def test_modified_equation_matches_hand_derivation():
    """Fixed β, learning rate h: the gradient point θ + cβ(θ − θ_prev) adds cβL''f₀ at order h²
    to heavy ball's (1−β)f₁ + (1+β)/2·f₀'f₀ = 0, f₀ = −L'/(1−β)."""
    from dynopt.symbolic.core import is_zero
    from dynopt.symbolic.modified import momentum_modified_field

    f0, f1, L, th = momentum_modified_field(ThirdNesterov)
    Lp, Lpp = sp.diff(L, th), sp.diff(L, th, 2)
    assert is_zero(f0 + Lp / (1 - beta))
    assert is_zero(f1 - (-(1 + beta) / (2 * (1 - beta) ** 3) + C * beta / (1 - beta) ** 2) * Lp * Lpp)


@pytest.fixture
def registered():
    """ThirdNesterov in the registry for one test only."""
    register()(ThirdNesterov)
    try:
        yield "third-nesterov"
    finally:
        METHODS.pop("third-nesterov")


def test_tables_pick_up_a_registered_scheme(registered):
    assert registered in stability_schemes()
    row = next(r for r in stability_table() if r["scheme"] == registered)
    assert sp.simplify(sp.sympify(row["max_alpha_h"]).subs(sp.Symbol("β"), beta) - HAND_MAX_AH) == 0
    assert registered in consistency_schemes()
    assert next(r for r in consistency_table() if r.scheme == registered).local_order == 2
