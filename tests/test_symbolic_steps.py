"""The symbolic reading of a scheme's step (dynopt.symbolic.steps).

The schemes below are written only in this file, each as one class and its step, the way a
researcher writes theirs; the expected values are derived by hand in each test's docstring
and compared with ``sympy.simplify(a − b) == 0``.
"""
from __future__ import annotations

import json
import textwrap
from typing import NamedTuple

import numpy as np
import pytest
import sympy as sp

from dynopt import dynamics
from dynopt.cli.main import main
from dynopt.schemes import METHODS, Scheme, SDEScheme, ops
from dynopt.symbolic import NotProved
from dynopt.symbolic.standins import friction_step
from dynopt.symbolic.steps import (L_fun, ms_stability, normal_expectation, stationary_variance, step_consistency,
                                   step_matrix, step_modified_equation, step_stability, theta)
from user_rules import AB2, QHM, Platen

beta, nu, a = sp.symbols("β ν a", positive=True)
lam, mu = sp.symbols("λ μ", real=True)
k, sigma, fr, h = sp.symbols("k σ λ h", positive=True)
L1 = sp.Derivative(L_fun(theta), theta)
L2 = sp.Derivative(L_fun(theta), (theta, 2))


def same(x, y):
    d = sp.sympify(x) - sp.sympify(y)
    if isinstance(d, sp.MatrixBase):
        return all(sp.simplify(e) == 0 for e in d)
    return sp.simplify(d) == 0


class Extragradient(Scheme):
    """θ ← θ − h∇L(θ − h∇L(θ)): two gradients per step."""

    approximates = (dynamics.GradientFlow,)
    order = 1
    grad_evals = 2

    def step(self, model, t, s, h):
        return self.State(s.y - h * model.grad(s.y - h * model.grad(s.y)), s.grad_evals + 2)


class MyEM(SDEScheme):
    """Euler–Maruyama as a user writes it: Y ← Y + f h + g√h ξ."""

    def step(self, model, t, state, dt, z):
        y = state.y
        return self.State(y + model.drift_in("ito")(t, y) * dt + model.noise_term(t, y, z[0] * ops.sqrt(dt)),
                          state.grad_evals + 1)


# -- deterministic rules --------------------------------------------------------------------
def test_qhm_matrix_is_read_from_its_step():
    """G = κθ in the step by hand: θ' = θ − ahκ(1 − νβ)θ − ahνβ g, g' = (1−β)κθ + βg."""
    sm = step_matrix(QHM(a, beta, nu))
    x = sp.Symbol("h", positive=True)
    kap = sp.Symbol("κ", positive=True)
    want = sp.Matrix([[1 - a * x * kap * (1 - nu * beta), -a * x * nu * beta], [(1 - beta) * kap, beta]])
    assert same(sm.matrix, want)
    assert sm.gradient_evaluations == 1


def test_qhm_stability_bound():
    """Characteristic polynomial z² − (1 + β − y(1−νβ))z + β(1 − y(1−ν)), y = ahκ; Jury:
    p(1) = y(1−β) > 0, p(−1) = 2(1+β) − y(1+β−2νβ) > 0, 1 ± β(1 − y(1−ν)) > 0, so
    y < 2(1+β)/(1+β−2νβ); at ν = 1 the heavy-ball bound 2(1+β)/(1−β)."""
    st = step_stability(QHM(a, beta, nu), {beta: (0, 1), nu: (0, 1)})
    assert same(a * st.max_product, 2 * (1 + beta) / (1 + beta - 2 * nu * beta))
    hb = step_stability(QHM(a, beta, 1), {beta: (0, 1)})
    assert same(a * hb.max_product, 2 * (1 + beta) / (1 - beta))


def test_qhm_consistency_and_modified_equation():
    """Order 1 against θ' = −L'.  Modified equation: the eigenvalue near 1 of
    z² − (1 + β − x(1−νβ))z + β(1 − x(1−ν)) (a = 1, x = hκ) is μ = 1 − x + cx² + O(x³)
    with c(1−β) + νβ = 0 (order x² of the polynomial at μ), so
    log μ = −x + (c − ½)x² and θ' = −L' − h(½ + νβ/(1−β)) L''L'."""
    c = step_consistency(QHM(1, beta, nu))
    assert c.order == 1
    m = step_modified_equation(QHM(1, beta, nu))
    assert same(m.f0, -L1)
    assert same(m.f1, -(sp.Rational(1, 2) + nu * beta / (1 - beta)) * L2 * L1)
    # the buffer's start makes one step plain GD: the nonlinear check must not claim it
    assert m.checked_on_general_L is False


def test_a_buffered_two_step_scheme_reads_as_a_lower_bound():
    """Two-step Adams–Bashforth: its past gradient starts at ∇L(θ₀), so one step from init is
    Euler's (local error −(h²/2)L'L'', order 1 read), while on L = κθ²/2 its characteristic
    polynomial z² − (1 − 3x/2)z − x/2 (x = hκ) gives order 2; the reading says the 1 is a lower
    bound (a start-up error enters the global error once).  A one-step scheme and QHM, whose
    buffer does not hide a higher order, are not flagged."""
    c = step_consistency(AB2())
    assert (c.local_order, c.linear_order, c.order, c.lower_bound) == (2, 2, 1, True)
    assert same(c.local_error, -h ** 2 * L1 * L2 / 2)
    assert step_consistency(QHM(1, beta, nu)).lower_bound is False
    assert step_consistency("heun").lower_bound is False


def test_extragradient_bound_order_and_modified_equation():
    """On L = κθ²/2: θ' = (1 − x + x²)θ, x = hκ; |1 − x + x²| < 1 ⟺ 0 < x < 1.  One step on
    a general L: θ − hL' + h²L''L' + O(h³) against θ − hL' + (h²/2)L''L': local error
    (h²/2)L''L', order 1; f₁ = F₂ − ½f₀'f₀ = L''L' − ½L''L' = ½L''L'."""
    st = step_stability(Extragradient())
    assert same(st.max_product, 1)
    assert st.matrix.gradient_evaluations == 2
    c = step_consistency(Extragradient())
    assert (c.local_order, c.order) == (2, 1)
    assert same(c.local_error, h ** 2 * L1 * L2 / 2)
    m = step_modified_equation(Extragradient())
    assert same(m.f1, L1 * L2 / 2) and m.checked_on_general_L


def test_builtin_heun_reads_like_its_tableau():
    """Heun on θ' = −κθ: R(x) = 1 − x + x²/2, stable for x < 2; order 2."""
    assert same(step_stability("heun").max_product, 2)
    assert step_consistency("heun").order == 2


def _recurrence_read(name):
    from dynopt.symbolic.recurrences import scheme_kind

    try:
        scheme_kind(name)
    except TypeError:
        return False
    return True


# every registered deterministic scheme with a recurrence or tableau; implicit19's step solves
# its equation by Newton iteration (no plain arithmetic to read), so only its recurrence is read
BUILT_IN = [n for n, cls in METHODS.items()
            if not issubclass(cls, SDEScheme) and not getattr(cls, "implicit", False) and _recurrence_read(n)]


def test_every_deterministic_built_in_is_read_from_its_step():
    assert {"euler", "heun", "rk4", "symplectic-euler", "leapfrog", "heavy-ball", "nesterov",
            "nesterov-half"} <= set(BUILT_IN)


@pytest.mark.parametrize("name", BUILT_IN)
def test_step_bound_equals_the_table(name):
    """The step reader's bound on h·κ (or h²·κ at fixed λh) is the recurrence's bound in the
    ODE variable (hγ or hγ² at λγ), on the same λ range."""
    from dynopt.symbolic.stability import X_ODE, scheme_stability

    got = step_stability(name).max_product.subs(friction_step, X_ODE)
    want = scheme_stability(name).max_ode_variable
    assert got == want or sp.simplify(got - want) == 0, (name, got, want)


@pytest.mark.parametrize("name", ["symplectic-euler", "leapfrog", "heavy-ball", "nesterov", "nesterov-half"])
def test_step_order_equals_the_recurrence(name):
    from dynopt.symbolic.consistency import scheme_consistency

    assert step_consistency(name).order == scheme_consistency(name).global_order


def test_nesterov_bound_by_hand():
    """eq 18, α = h², β = 1 − λh; with x = κh²: v' = β(1 − x)v − xq, q' = q + v', so
    p(z) = z² − (1 + β)(1 − x)z + β(1 − x); p(−1) = 1 + (1 + 2β)(1 − x) > 0 gives
    x < 2(1 + β)/(1 + 2β) = 2(2 − λh)/(3 − 2λh) on λh ∈ (0, 1) (β ∈ (0, 1))."""
    c = friction_step
    assert same(step_stability("nesterov").max_product, 2 * (2 - c) / (3 - 2 * c))


def test_cli_stability_of_a_momentum_scheme_reads_its_step(capsys):
    out = _json(capsys, ["derive", "stability", "--scheme", "nesterov", "--json"])
    assert out["title"].endswith("read from its step")
    b, lh = sp.symbols("β λh", positive=True)
    assert same(sp.sympify(out["max_product"], locals={"λh": lh}), 2 * (2 - lh) / (3 - 2 * lh))
    assert same(sp.sympify(out["max_alpha_h"], locals={"β": b}), 2 * (1 + b) / (1 + 2 * b))
    assert out["map"] == "eq18" and out["global_order"] == 1


# -- SDE schemes -----------------------------------------------------------------------------
def test_euler_maruyama_on_ou():
    """X' = (1 − kh)X + σ√h ξ: V = (1 − kh)²V + σ²h ⇒ V = σ²/(k(2 − kh))
    = (σ²/2k)(1 + kh/2 + k²h²/4 + …)."""
    r = stationary_variance("euler-maruyama", "ou")
    assert same(r.variance, sigma ** 2 / (k * (2 - k * h)))
    assert same(r.series, sigma ** 2 / (2 * k) + h * sigma ** 2 / 4 + h ** 2 * k * sigma ** 2 / 8)
    assert same(stationary_variance(MyEM(), "ou").variance, r.variance)


def test_leimkuhler_matthews_on_ou_is_exact():
    """X' = (1 − kh)X + σ√h(ξ_prev + ξ)/2 with Cov(X, ξ_prev) = σ√h/2:
    V(1 − (1−kh)²) = σ²h/2 + (1−kh)σ²h/2 ⇒ V = σ²/(2k) for every h."""
    assert same(stationary_variance("leimkuhler-matthews", "ou").variance, sigma ** 2 / (2 * k))


def test_baoab_on_harmonic_kramers_position_is_exact():
    """Leimkuhler & Matthews (2013): BAOAB's configurational variance on a harmonic
    potential is kT/k for every h, kT = σ²/(2λ)."""
    r = stationary_variance("baoab", "kramers")
    assert same(r.variance[0], sigma ** 2 / (2 * fr) / k)


def test_euler_maruyama_mean_square_region():
    """R = 1 + λh + μ√hξ, E[R²] = (1 + λh)² + μ²h < 1 ⟺ 2λ + μ² + λ²h < 0."""
    r = ms_stability("euler-maruyama")
    assert same(r.region, 2 * lam + mu ** 2 + lam ** 2 * h)
    assert same(ms_stability(MyEM()).region, r.region)


def test_platen_mean_square_region():
    """On dX = λX dt + μX dW: g(Ῡ) − g(Y) = μX(λh + μ√h), (ΔW² − h)/(2√h) = √h(ξ² − 1)/2, so
    R = 1 + λh + μ√hξ + μ(λh + μ√h)√h(ξ² − 1)/2; E[(ξ² − 1)²] = 2 and the cross moments
    vanish: E[R²] = (1 + λh)² + μ²h + μ²h²(λ√h + μ)²/2."""
    r = ms_stability(Platen())
    want = (1 + lam * h) ** 2 + mu ** 2 * h + mu ** 2 * h ** 2 * (lam * sp.sqrt(h) + mu) ** 2 / 2
    assert same(r.ms_factor, want)
    assert same(r.region, (want - 1) / h)


def test_normal_moments():
    x, y = sp.symbols("x y", real=True)
    assert normal_expectation(x ** 4 * y ** 2 + x ** 3 + 2, [x, y]) == 5


def test_nonlinear_step_is_refused():
    class Clipped(Scheme):
        approximates = (dynamics.GradientFlow,)

        def step(self, model, t, s, h):
            return self.State(s.y - h * model.grad(s.y) ** 3, s.grad_evals + 1)

    with pytest.raises(NotProved, match="not linear"):
        step_matrix(Clipped())


# -- the CLI ---------------------------------------------------------------------------------
USER_FILE = '''
from typing import NamedTuple
import numpy as np
from dynopt import dynamics
from dynopt.schemes import Scheme, SDEScheme, ops

class QHM(Scheme):
    approximates = (dynamics.GradientFlow,)
    class State(NamedTuple):
        q: np.ndarray
        g: np.ndarray
        grad_evals: int
    def __init__(self, beta=0.5, nu=0.5):
        self.beta, self.nu = beta, nu
    def init(self, model, y0, dt):
        return self.State(y0, model.grad(y0), 1)
    def step(self, model, t, s, h):
        G = model.grad(s.q)
        g = self.beta * s.g + (1 - self.beta) * G
        return self.State(s.q - h * ((1 - self.nu) * G + self.nu * g), g, s.grad_evals + 1)

class MyEM(SDEScheme):
    def step(self, model, t, state, dt, z):
        y = state.y
        return self.State(y + model.drift_in("ito")(t, y) * dt + model.noise_term(t, y, z[0] * ops.sqrt(dt)),
                          state.grad_evals + 1)
'''


@pytest.fixture()
def user_file(tmp_path):
    p = tmp_path / "mine.py"
    p.write_text(textwrap.dedent(USER_FILE))
    return p


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name,keys", [("stability", {"matrix", "characteristic_polynomial", "max_product", "order"}),
                                       ("consistency", {"order", "local_order", "leading_local_error"}),
                                       ("modified", {"f0", "f1", "field"})])
def test_cli_deterministic_readings(capsys, user_file, name, keys):
    out = _json(capsys, ["derive", name, "--scheme", "euler", "--json"])
    assert keys <= set(out)
    mine = _json(capsys, ["derive", name, "--scheme", f"{user_file}:QHM", "--json"])
    assert keys <= set(mine)
    if name == "stability":
        # β = ν = 1/2: 2(1 + β)/(1 + β − 2νβ) = 3
        assert same(mine["max_product"], 3)


def test_cli_sde_readings(capsys, user_file):
    ms = _json(capsys, ["derive", "ms-stability", "--scheme", "euler-maruyama", "--json"])
    assert {"amplification", "ms_factor", "region"} <= set(ms)
    mine = _json(capsys, ["derive", "ms-stability", "--scheme", f"{user_file}:MyEM", "--json"])
    assert same(sp.sympify(mine["region"]) - sp.sympify(ms["region"]), 0)
    ou = _json(capsys, ["derive", "stationary", "--scheme", f"{user_file}:MyEM", "--json"])
    assert {"variance", "series", "exact", "bias"} <= set(ou)
    kr = _json(capsys, ["derive", "stationary", "--scheme", "baoab", "--model", "kramers", "--json"])
    assert {"position_variance", "velocity_variance", "position_series"} <= set(kr)
    assert kr["position_bias"] == 0


def test_cli_refuses_bad_model_and_missing_scheme(capsys):
    assert main(["derive", "stationary", "--scheme", "euler-maruyama", "--model", "langevin"]) == 2
    assert "`--model` must be one of ['ou', 'kramers']" in capsys.readouterr().err
    assert main(["derive", "ms-stability"]) == 2
    assert main(["derive", "ms-stability", "--scheme", "euler"]) == 2


def test_scheme_functions_read_other_schemes_through_their_step():
    """scheme_stability / scheme_consistency / user_modified_equation take any deterministic
    scheme: QHM at β = ν = 1/2 has the bound 2(1 + β)/(1 + β − 2νβ) = 3 (a = 1)."""
    from dynopt.symbolic import scheme_consistency, scheme_stability
    from dynopt.symbolic.user import user_modified_equation

    st = scheme_stability(QHM(1, sp.Rational(1, 2), sp.Rational(1, 2)))
    assert same(st.max_alpha_h, 3) and st.map == "the scheme's step"
    c = scheme_consistency(Extragradient())
    assert (c.local_order, c.global_order) == (2, 1)
    assert same(user_modified_equation(Extragradient()).results["f1"], L1 * L2 / 2)
    with pytest.raises(TypeError, match="SDE scheme"):
        scheme_stability("euler-maruyama")


def test_cli_consistency_of_a_momentum_scheme_from_its_recurrence(capsys):
    out = _json(capsys, ["derive", "consistency", "--scheme", "leapfrog", "--json"])
    assert out["order"] == 2 and out["start_order"] == 2


class Lagged(SDEScheme):
    """Y ← Y + f(P) h + g(Y)√h ξ, P ← Y: the drift at the previous point, a buffer."""

    class State(NamedTuple):
        y: np.ndarray
        p: np.ndarray
        grad_evals: int

    def init(self, model, y0, dt):
        return self.State(y0, y0, 0)

    def step(self, model, t, s, dt, z):
        y = s.y
        new = y + model.drift(t, s.p) * dt + model.noise_term(t, y, z[0] * ops.sqrt(dt))
        return self.State(new, y, s.grad_evals + 1)


def test_mean_square_stability_with_a_buffer():
    """(Y, P)' = R(ξ)(Y, P) with R = [[1 + μ√hξ, λh], [1, 0]]; on (S_yy, S_yp, S_pp):
    S_yy' = (1 + μ²h)S_yy + 2λh S_yp + λ²h² S_pp, S_yp' = S_yy + λh S_yp, S_pp' = S_yy."""
    r = ms_stability(Lagged())
    want = sp.Matrix([[1 + mu ** 2 * h, 2 * lam * h, lam ** 2 * h ** 2], [1, lam * h, 0], [1, 0, 0]])
    assert same(r.ms_factor, want)
    assert [str(m) for m in r.moments] == ["S_yy", "S_yp", "S_pp"]
    # p(1) > 0 of Q's polynomial: to first order in h it is EM's condition 2λ + μ² < 0
    p1 = r.region[0]
    assert same(sp.limit(p1 / h, h, 0), -(2 * lam + mu ** 2))
