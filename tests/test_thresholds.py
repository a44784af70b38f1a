"""Stability thresholds read from optimizers' own update functions (dynopt.symbolic.thresholds),
against bounds derived by hand here and by the recurrence analysis of dynopt.symbolic.stability."""
from typing import NamedTuple

import numpy as np
import pytest
import sympy as sp

from dynopt import optim
from dynopt.analysis.sharpness import SHARPNESS_METHODS, make_optimizer, sharpness_threshold
from dynopt.symbolic.core import beta as BETA
from dynopt.symbolic.stability import stability_bounds
from dynopt.symbolic.thresholds import (S, Z, SymbolicLeaf, one_step_map, optimizer_threshold,
                                        stability_interval)
from user_rules import qhm


@pytest.mark.parametrize("method", sorted(SHARPNESS_METHODS))
@pytest.mark.parametrize("lr,momentum", [(0.37, 0.3), (0.2, 0.8), (1.3, 0.9)])
def test_named_methods_agree_with_the_recurrence_analysis(method, lr, momentum):
    b = 0.0 if method == "gd" else momentum
    got = optimizer_threshold(make_optimizer(method, lr, b))
    want = float(stability_bounds(method)[0].subs(BETA, b)) / lr
    assert got.value == pytest.approx(want, rel=1e-12)
    assert not got.preconditioned
    assert sharpness_threshold(method, lr, b) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("convention", ["pytorch", "d2l", "sutskever", "npnet"])
def test_every_momentum_convention_has_the_heavy_ball_and_nesterov_bounds(convention):
    # the conventions give the same iterates up to a change of variables: same polynomial roots
    lr, b = 0.3, 0.7
    assert optimizer_threshold(optim.sgd(lr, momentum=b, convention=convention)).value == \
        pytest.approx(2 * (1 + b) / lr, rel=1e-12)
    assert optimizer_threshold(optim.sgd(lr, momentum=b, nesterov=True, convention=convention)).value == \
        pytest.approx(2 * (1 + b) / ((1 + 2 * b) * lr), rel=1e-12)


@pytest.mark.parametrize("b1", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("lr", [1e-3, 0.02])
def test_adam_frozen_preconditioner_threshold_is_cohen_2022s(b1, lr):
    # hand derivation: with P frozen, m' = β₁m + (1−β₁)sPθ, θ' = θ − ηm'/P; the polynomial
    # z² − (1 + β₁ − (1−β₁)ηs)z + β₁ has a root at −1 when ηs = (2 + 2β₁)/(1 − β₁)
    t = optimizer_threshold(optim.adam(lr, b1, 0.999, 1e-8))
    assert t.preconditioned
    assert t.value == pytest.approx((2 + 2 * b1) / ((1 - b1) * lr), rel=1e-12)


@pytest.mark.parametrize("opt", [optim.rmsprop(0.01), optim.adagrad(0.01), optim.rmsprop(0.01, convention="d2l")],
                         ids=["rmsprop", "adagrad", "rmsprop-eps-inside"])
def test_momentum_free_adaptive_methods_are_gd_on_the_preconditioned_curvature(opt):
    t = optimizer_threshold(opt)
    assert t.preconditioned and t.value == pytest.approx(2 / 0.01, rel=1e-12)


@pytest.mark.parametrize("beta,nu", [(0.9, 0.7), (0.999, 0.7), (0.5, 0.3), (0.9, 1.0), (0.9, 0.0)])
def test_a_users_qhm_gets_its_own_bound(beta, nu):
    # hand derivation on hθ²/2 (x = a·h): p(z) = z² − (1 + β − x(1 − νβ))z + β(1 − x(1 − ν));
    # p(−1) = 0 at x = 2(1 + β)/(1 + β − 2νβ); ν = 1 is the EMA heavy ball 2(1+β)/(1−β), ν = 0 GD
    a = 0.3
    t = optimizer_threshold(qhm(a, beta, nu))
    assert t.value == pytest.approx(2 * (1 + beta) / (1 + beta - 2 * nu * beta) / a, rel=1e-12)
    # and at the threshold a root of the characteristic polynomial sits on the unit circle
    roots = np.roots([float(c) for c in sp.Poly(t.step_map.characteristic_polynomial.as_expr().subs(S, t.exact), Z)
                      .all_coeffs()])
    assert np.max(np.abs(roots)) == pytest.approx(1.0, abs=1e-12)


def test_threshold_separates_convergence_from_divergence_of_the_optimizer_itself():
    # numbers, not symbols: the same QHM on hθ²/2 just below and just above its threshold
    a, beta, nu = 0.3, 0.9, 0.7
    opt = qhm(a, beta, nu)
    thr = optimizer_threshold(opt).value
    for factor, converges in ((0.98, True), (1.02, False)):
        h = factor * thr
        res = optim.run(opt, lambda p: h * p, np.array([1.0]), 4000)
        final = abs(res.params[0]) if res.diverged_step is None else np.inf
        assert (final < 1e-3) == converges


def test_stability_interval_of_hand_polynomials():
    s, z = S, Z
    assert stability_interval(z - 1 + s / 2)[0] == 4
    thr, cands = stability_interval(sp.expand((z - sp.Rational(1, 2)) * (z ** 2 - (1 + sp.Rational(4, 5) - s) * z
                                                                          + sp.Rational(4, 5))))
    assert thr == sp.Rational(18, 5) and thr in cands
    # a fixed root outside the disc: nothing is stable
    assert stability_interval((z - 2) * (z - 1 + s))[0] == 0
    # a factor of s alone is stable for all s: infinite interval
    assert stability_interval(z * (z + s / (1 + s)))[0] == sp.oo or stability_interval(z * (z + s / (1 + s)))[0] > 0


def test_symbolic_leaf_lets_numpy_ufuncs_run_on_symbols():
    x = sp.Symbol("x", positive=True)
    arr = np.empty(1, dtype=object)
    arr[0] = SymbolicLeaf(x)
    out = np.sqrt(arr * 4.0 + 0) / 2
    assert sp.simplify(out[0].expr - sp.sqrt(x)) == 0


def test_bad_optimizers_are_rejected_with_the_argument_named():
    with pytest.raises(TypeError, match="`opt`"):
        optimizer_threshold(lambda g: g)

    class RmsState(NamedTuple):
        nu: object

    def init(p):
        return RmsState(np.zeros_like(np.asarray(p, dtype=float)))

    def update(g, s, p=None):      # RMSProp without declaring its preconditioner
        nu = 0.9 * s.nu + 0.1 * g * g
        return -0.01 * g / np.sqrt(nu), RmsState(nu)

    with pytest.raises(ValueError, match="preconditioner"):
        one_step_map(optim.GradientTransformation(init, update))
    # declared, it is read with P frozen: GD on P⁻¹H
    declared = optim.GradientTransformation(init, update, preconditioner=lambda s: np.sqrt(s.nu))
    assert optimizer_threshold(declared).value == pytest.approx(2 / 0.01, rel=1e-12)
