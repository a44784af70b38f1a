"""Tests written against the survivors of a mutation run (mutmut 3 over dynopt/schemes,
dynopt/engine and dynopt/optim; the command is in setup.cfg's [mutmut] section).

Each test pins a piece of arithmetic or an argument check that the rest of the suite
exercised without looking at: exact values where the arithmetic is finite, otherwise a
fixed seed and a tolerance of a few standard errors.
"""
import numpy as np
import pytest

from dynopt import optim


def _quadratic_grad(p):
    # ∇ of ½ pᵀ diag(1, 4) p: exact in binary, so iterates compare with ==
    return np.array([1.0, 4.0]) * p


def _path(opt, n=3, p0=(1.0, -0.5)):
    return optim.run(opt, _quadratic_grad, np.array(p0), n).path


# -- optim: the momentum aliases pass their arguments on ------------------------------
def test_momentum_alias_is_heavy_ball_with_its_own_coefficient():
    lr, mu = 0.125, 0.5
    p = np.array([1.0, -0.5])
    g1 = _quadratic_grad(p)
    p1 = p - lr * g1                      # v1 = g1
    v2 = mu * g1 + _quadratic_grad(p1)    # v2 = μ v1 + g2 (torch's buffer)
    p2 = p1 - lr * v2
    path = _path(optim.momentum(lr, momentum=mu), n=2)
    np.testing.assert_array_equal(path[1], p1)
    np.testing.assert_array_equal(path[2], p2)
    # keyword arguments reach sgd: coupled weight decay changes the path
    np.testing.assert_array_equal(_path(optim.momentum(lr, mu, weight_decay=0.25)),
                                  _path(optim.sgd(lr, mu, weight_decay=0.25)))
    assert not np.array_equal(_path(optim.momentum(lr, mu, weight_decay=0.25)), _path(optim.momentum(lr, mu)))


def test_nesterov_alias_is_nesterov_not_heavy_ball():
    lr, mu = 0.125, 0.5
    nag = _path(optim.nesterov(lr, momentum=mu))
    np.testing.assert_array_equal(nag, _path(optim.sgd(lr, mu, nesterov=True)))
    assert not np.array_equal(nag, _path(optim.sgd(lr, mu)))
    # torch's Nesterov step: p -= lr (g + μ v), v = μ v + g
    p = np.array([1.0, -0.5])
    g1 = _quadratic_grad(p)
    np.testing.assert_array_equal(nag[1], p - lr * (g1 + mu * g1))
    np.testing.assert_array_equal(_path(optim.nesterov(lr, mu, weight_decay=0.25)),
                                  _path(optim.sgd(lr, mu, nesterov=True, weight_decay=0.25)))


# -- optim: regularizers --------------------------------------------------------------
def test_l1_subgradient_is_zero_at_a_zero_coordinate():
    g = np.array([0.5, 0.5, 0.5])
    p = np.array([2.0, 0.0, -3.0])
    out, _ = optim.add_l1(0.25).update(g, optim.EmptyState(), p)
    np.testing.assert_array_equal(out, [0.75, 0.5, 0.25])


@pytest.mark.parametrize("make,name", [(optim.add_l1, "l1"), (optim.add_decayed_weights, "weight_decay"),
                                       (lambda wd: optim.add_decoupled_weight_decay(wd, 0.1),
                                        "decoupled_weight_decay")])
def test_regularizers_name_their_argument(make, name):
    with pytest.raises(ValueError, match=f"^`{name}` must be in"):
        make(-1.0)
    piece = make(0.5)
    with pytest.raises(ValueError, match="^`params` must be passed to update()"):
        piece.update(np.ones(2), piece.init(np.ones(2)))


def _states(state, kind):
    """The pieces of type ``kind`` in a (nested) chain state."""
    if isinstance(state, kind):
        return [state]
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return [x for part in state for x in _states(part, kind)]
    return []


def test_buffers_are_float_arrays_shaped_like_integer_params():
    # integer parameters must not truncate a buffer's start value (Adagrad's s₀ = 0.1 → 0)
    p = np.array([1, 2, 3])
    (s,) = _states(optim.adagrad(0.1, initial_accumulator_value=0.1).init(p), optim.ScaleByAdagradState)
    assert s.sum_of_squares.dtype == float
    np.testing.assert_array_equal(s.sum_of_squares, [0.1, 0.1, 0.1])
    (r,) = _states(optim.rmsprop(0.1).init(p), optim.ScaleByRmsState)
    assert r.nu.dtype == float and r.nu.shape == p.shape and not r.nu.any()


# -- schemes: every branch of continuous_limit builds the model its docstring names ----
def test_continuous_limit_of_each_optimizer():
    from dynopt.dynamics import AdagradODE, AdamODE, GradientFlow, HeavyBall, RMSPropODE
    from dynopt.problems import ellipse
    from dynopt.schemes import continuous_limit, momentum_from_ode

    P, lr = ellipse(), 0.04
    m, dt = continuous_limit("sgd", P, lr=lr)
    assert isinstance(m, GradientFlow) and m.problem is P and dt == lr
    m, dt = continuous_limit("momentum", P, lr=lr, momentum=0.8)
    assert isinstance(m, HeavyBall) and m.problem is P
    # the heavy-ball limit is the exact inverse of the leapfrog map (α, β) = (lr, μ)
    np.testing.assert_allclose(momentum_from_ode(dt, m.friction, "heavy-ball"), (lr, 0.8), rtol=1e-12)
    m, dt = continuous_limit("nesterov", P, lr=lr, momentum=0.8)
    assert isinstance(m, HeavyBall) and m.problem is P
    assert dt == pytest.approx(0.2, rel=1e-15) and m.friction == pytest.approx(0.2 / 0.2, rel=1e-15)
    np.testing.assert_allclose(momentum_from_ode(dt, m.friction, "nesterov"), (lr, 0.8), rtol=1e-12)
    m, dt = continuous_limit("adagrad", P, lr=lr, eps=1e-4)
    assert isinstance(m, AdagradODE) and dt == pytest.approx(lr ** 2) and m.eps == pytest.approx(1e-4 * lr ** 2)
    assert continuous_limit("adagrad", P, lr=lr)[0].eps == pytest.approx(1e-8 * lr ** 2)
    m, dt = continuous_limit("rmsprop", P, lr=lr, decay=0.9)
    assert isinstance(m, RMSPropODE) and dt == lr
    assert (m.c, m.eps, m.eps_inside) == (pytest.approx(0.1 / lr), 1e-8, True)
    m, _ = continuous_limit("rmsprop", P, lr=lr, decay=0.9, eps=1e-3, eps_inside=False)
    assert (m.eps, m.eps_inside) == (1e-3, False)
    m, dt = continuous_limit("adam", P, lr=lr)
    assert isinstance(m, AdamODE) and dt == lr
    assert (m.a, m.b) == (pytest.approx(0.1 / lr), pytest.approx(0.001 / lr))
    assert (m.eps, m.bias_correction, m.eps_inside) == (1e-8, True, False)
    m, _ = continuous_limit("adam", P, lr=lr, b1=0.5, b2=0.75, eps=1e-3, bias_correction=False, eps_inside=True)
    assert (m.a, m.b) == (pytest.approx(0.5 / lr), pytest.approx(0.25 / lr))
    assert (m.eps, m.bias_correction, m.eps_inside) == (1e-3, False, True)
    with pytest.raises(ValueError, match="^`lr` must be in"):
        continuous_limit("sgd", P, lr=0.0)


def test_nesterov_convex_reports_the_velocity_of_its_iterates():
    from dynopt.dynamics import NesterovODE
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    s = 0.125
    sol = integrate(NesterovODE(quadratic(np.eye(1))), "nesterov-convex", (0.0, 4 * s), [1.0, 0.0], s, save_every=1)
    x, v = sol.y[:, 0, 0], sol.y[:, 0, 1]
    assert v[0] == 0.0                              # from rest
    np.testing.assert_allclose(v[1:], np.diff(x) / s, rtol=1e-14)
    assert np.all(v[1:] < 0)                         # it moved towards the minimum
