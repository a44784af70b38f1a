"""Derived local orders vs the global orders measured by dynopt.analysis.comparison (global = local − 1,
or the start-error order when the start is less accurate), the symbolic recurrences vs the numeric
schemes' iterates, and the table read from the registry."""
import numpy as np
import pytest

from dynopt.analysis import compare
from dynopt.dynamics import HeavyBall
from dynopt.engine import integrate
from dynopt.problems import double_well
from dynopt.schemes import METHODS, ExplicitRK, SymplecticEuler
from dynopt.schemes.momentum import MomentumScheme
from dynopt.symbolic.consistency import consistency_schemes, consistency_table, scheme_consistency
from dynopt.symbolic.core import beta, gamma, lam
from dynopt.symbolic.recurrences import TH, TH_NEXT, TH_PREV, registered_schemes, scheme_coefficients

ALL_SCHEMES = consistency_schemes()


@pytest.fixture(scope="module")
def measured():
    return {(r.problem, r.scheme): r for r in compare(["double_well", "quadratic"], list(ALL_SCHEMES))}


@pytest.mark.parametrize("problem, kind", [("double_well", "general-1d"), ("quadratic", "quadratic")])
def test_global_order_is_local_minus_one(measured, problem, kind):
    for row in consistency_table(kind, 2):
        res = measured[(problem, row.scheme)]
        assert res.fit is not None, row.scheme
        if row.start_order is None or row.start_order >= row.local_order - 1:
            assert row.global_order == row.local_order - 1
        assert abs(res.fit.order - row.global_order) <= 0.25, (problem, row, res.fit)


def test_general_and_quadratic_local_orders_agree():
    gen, quad = consistency_table("general-1d"), consistency_table("quadratic", 2)
    assert [(r.scheme, r.local_order) for r in gen] == [(r.scheme, r.local_order) for r in quad]
    assert {r.scheme: r.local_order for r in gen}["rk4"] == 5


def test_table_is_read_from_the_registry():
    kinds = (ExplicitRK, SymplecticEuler, MomentumScheme)
    expected = tuple(name for name, cls in METHODS.items() if issubclass(cls, kinds))
    assert consistency_schemes() == expected
    assert [r.scheme for r in consistency_table()] == list(expected)
    # the old module attribute is the same registry read
    from dynopt.symbolic import consistency

    assert consistency.ALL_SCHEMES == expected


def test_scheme_consistency_accepts_name_class_and_instance():
    by_name = scheme_consistency("nesterov")
    assert scheme_consistency(METHODS["nesterov"]) == by_name
    assert scheme_consistency(METHODS["nesterov"]()) == by_name
    assert scheme_consistency(METHODS["heavy-ball"]).start_order == 1    # started from rest
    assert scheme_consistency(METHODS["leapfrog"]).start_order == 2      # half-step start
    with pytest.raises(TypeError, match="`scheme`"):
        scheme_consistency("euler-maruyama")
    with pytest.raises(ValueError, match="`problem`"):
        scheme_consistency("euler", problem="cubic")


@pytest.mark.parametrize("name", registered_schemes(("momentum", "symplectic-euler")))
def test_recurrence_matches_numeric_iterates(name):
    """θ_2 of a numeric run solves the symbolic recurrence with θ_1, θ_0 (any start)."""
    problem = double_well(1)
    step, fr = 0.07, 0.8
    sol = integrate(HeavyBall(problem, fr), name, (0.0, 2 * step), np.array([[1.1, -0.4]]), step, save_every=1)
    th_0, th_1, th_2 = sol.y[:, 0, 0]
    c = scheme_coefficients(name)
    b, al = (float(e.subs({gamma: step, lam: fr})) for e in (c.beta, c.alpha))
    point = float(c.gradient_point.subs({TH_NEXT: th_2, TH: th_1, TH_PREV: th_0, beta: b}))
    resid = th_2 - th_1 - b * (th_1 - th_0) + al * problem.grad_fn(np.array([[point]]))[0, 0]
    assert abs(resid) < 1e-12


def test_bad_scheme_arguments():
    with pytest.raises(TypeError, match="`scheme`"):
        scheme_coefficients(42)
    with pytest.raises(ValueError, match="`scheme` must be"):
        scheme_coefficients("no-such-scheme")
    with pytest.raises(TypeError, match="momentum form"):
        scheme_coefficients("rk4")              # a one-step map: no (α, β) form

    class Nonlinear(MomentumScheme):
        def gradient_point(self, q, v, beta, q_next=None):
            return q + v * v

    with pytest.raises(ValueError, match="not a linear combination"):
        scheme_coefficients(Nonlinear)
