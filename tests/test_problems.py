import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dynopt.problems import PROBLEMS, double_well, ellipse, from_expr, from_grad, get_problem, least_squares, quadratic, rosenbrock, tilted_double_well


def _sympy_reference(problem):
    """The same objective rebuilt from its attached sympy expression."""
    return from_expr(problem.expr, problem.symbols)


@pytest.mark.parametrize("make", [lambda: quadratic([[2.0, 0.5], [0.5, 1.0]], center=[0.3, -1.0]),
                                  ellipse, double_well, lambda: double_well(3)])
def test_closed_form_matches_sympy_expression(make, rng):
    p = make()
    q = _sympy_reference(p)
    x = rng.normal(size=(7, p.dim)) * 2
    np.testing.assert_allclose(p.value(x), q.value(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.grad(x), q.grad(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.hess(x), q.hess(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_gradient_and_hessian_match_finite_differences(name, rng):
    p = get_problem(name)
    x = rng.normal(size=p.dim) * 0.7
    h = 1e-6
    eye = np.eye(p.dim)
    fd_grad = np.array([(p.value(x + h * e) - p.value(x - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(p.grad(x), fd_grad, rtol=1e-6, atol=1e-6)
    fd_hess = np.array([(p.grad(x + h * e) - p.grad(x - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(p.hess(x), fd_hess, rtol=1e-5, atol=1e-5)


def test_batched_shapes():
    p = rosenbrock()
    x = np.zeros((5, 2))
    assert p.value(x).shape == (5,)
    assert p.grad(x).shape == (5, 2)
    assert p.hess(x).shape == (5, 2, 2)
    assert isinstance(p.value([1.0, 1.0]), float)
    assert p.grad([1.0, 1.0]).shape == (2,)
    np.testing.assert_allclose(p.grad(p.minima[0]), 0.0, atol=1e-12)


def test_ellipse_is_the_sources_example():
    p = ellipse()
    x1, x2 = p.symbols
    assert sp.simplify(p.expr - (sp.Rational(1, 10) * x1 ** 2 + 2 * x2 ** 2)) == 0


def test_tilted_double_well_has_deep_and_shallow_minimum():
    p = tilted_double_well(0.3)
    deep, shallow = p.minima[:, 0]
    assert deep < p.params["barrier"] < shallow
    assert p.value([deep]) < p.value([shallow]) < p.value([p.params["barrier"]])
    np.testing.assert_allclose(p.grad(p.minima), 0.0, atol=1e-12)


def test_user_expression_and_callable():
    p = from_expr("x**4/4 - x**2/2")
    np.testing.assert_allclose(p.grad([2.0]), [6.0])
    q = from_grad(lambda x: 2 * x, dim=3)
    np.testing.assert_allclose(q.grad(np.ones((2, 3))), 2 * np.ones((2, 3)))
    with pytest.raises(ValueError, match="without value"):
        q.value(np.ones(3))


@pytest.mark.parametrize("H, match", [([[1.0, 0.0], [0.0, -1.0]], "positive definite"),
                                      ([[1.0, 2.0], [0.0, 1.0]], "symmetric"),
                                      ([[1.0, 0.0, 0.0]], "square")])
def test_quadratic_rejects_bad_H(H, match):
    with pytest.raises(ValueError, match=match):
        quadratic(H)


def test_bad_shapes_and_names():
    with pytest.raises(ValueError, match=r"`x` must have shape \(2,\) or \(n, 2\)"):
        ellipse().grad(np.ones(3))
    with pytest.raises(ValueError, match="`problem` must be one of"):
        get_problem("nope")
    with pytest.raises(ValueError, match="`tilt`"):
        tilted_double_well(1.0)
    with pytest.raises(ValueError, match="`dim`"):
        double_well(0)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=10 ** 6))
def test_least_squares_per_example_gradients(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(20, d))
    b = rng.normal(size=20)
    p = least_squares(A, b)
    x = rng.normal(size=(3, d))
    g = p.example_grads(x)
    np.testing.assert_allclose(g.mean(axis=1), p.grad(x), atol=1e-10)
    np.testing.assert_allclose(p.value(x), 0.5 * np.mean((x @ A.T - b) ** 2, axis=1), rtol=1e-10)
    cov = p.gradient_noise_covariance(x[0])
    z = g[0] - g[0].mean(axis=0)
    np.testing.assert_allclose(cov, z.T @ z / 20, atol=1e-10)
    np.testing.assert_allclose(p.grad(p.minima), 0.0, atol=1e-9)
