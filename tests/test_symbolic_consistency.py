"""Derived local orders vs the global orders measured by dynopt.analysis.comparison (global = local − 1,
or the start-error order when the start is less accurate), and the symbolic recurrences vs
one step of the numeric schemes."""
import numpy as np
import pytest
import sympy as sp

from dynopt.analysis import compare
from dynopt.dynamics import HeavyBall
from dynopt.problems import double_well
from dynopt.schemes import get_scheme
from dynopt.symbolic.consistency import ALL_SCHEMES, consistency_table
from dynopt.symbolic.core import gamma, lam
from dynopt.symbolic.recurrences import MOMENTUM_SCHEMES, coefficients_of, gradient_point


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


@pytest.mark.parametrize("name", sorted(MOMENTUM_SCHEMES))
def test_recurrence_matches_one_numeric_step(name):
    """θ_{n+1} from the symbolic recurrence equals one step of the dynopt scheme."""
    problem = double_well(1)
    step, fr = 0.07, 0.8
    b, al = (float(e.subs({gamma: step, lam: fr})) for e in coefficients_of(name))
    th_m, th_0 = 0.9, 1.1
    sch = get_scheme(name)
    model = HeavyBall(problem, fr)
    state = sch.init(model, np.array([[th_0, 0.0]]), step)._replace(q=np.array([[th_0]]), v=np.array([[th_0 - th_m]]))
    q, v = sch.step(model, 0.0, state, step)[:2]
    z = sp.Symbol("z")
    grad = lambda x: x ** 3 - x  # noqa: E731 - the double well's gradient
    rec = (z - th_0) - b * (th_0 - th_m) + al * grad(gradient_point(name)(z, th_0, th_m, b))
    roots = [complex(r) for r in sp.Poly(sp.expand(rec), z).nroots()]
    real = [r.real for r in roots if abs(r.imag) < 1e-12]
    assert min(abs(r - q[0, 0]) for r in real) < 1e-12
