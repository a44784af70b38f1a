"""A scheme written by a user, outside dynopt: declared, passed to ``simulate`` as an
instance (nothing registered), and measured by the same order helper as the registry's
schemes (tests/test_sde_orders.py)."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest
from test_sde_orders import CASES, cases_for, check_declared_orders

from dynopt import dynamics
from dynopt.engine import simulate
from dynopt.schemes import METHODS, ConvergenceError, SDEScheme


class StochasticTheta(SDEScheme):
    """The drift-implicit θ-method for additive noise,

    Y_{n+1} = Y_n + h[(1 − θ) f(t_n, Y_n) + θ f(t_{n+1}, Y_{n+1})] + G ΔW_n,

    θ = ½ the stochastic trapezoid, θ = 1 drift-implicit Euler.  Strong order 1 and weak
    order 1 for additive noise (Kloeden & Platen 1992, §12.2).  The implicit equation is
    solved by fixed-point iteration from the Euler–Maruyama predictor to ``rtol``: one
    drift evaluation for the explicit part plus one per iteration, counted in the state.
    """

    class State(NamedTuple):
        y: np.ndarray
        grad_evals: int

    name = "stochastic-theta"
    approximates = (dynamics.SDEModel,)
    noise_types = ("additive",)
    strong_order = 1.0
    strong_order_additive = 1.0
    weak_order = 1.0
    reference = "Kloeden & Platen (1992) §12.2"

    def __init__(self, theta=0.5, rtol=1e-13, max_iter=200):
        if not 0 < theta <= 1:
            raise ValueError(f"`theta` must be in (0, 1]; got {theta!r}")
        self.theta, self.rtol, self.max_iter = theta, rtol, max_iter

    def step(self, model, t, state, dt, z):
        y, th = state.y, self.theta
        f0 = model.drift(t, y)
        base = y + (1 - th) * dt * f0 + model.noise_term(t, y, z[0] * math.sqrt(dt))
        guess = base + th * dt * f0
        for i in range(1, self.max_iter + 1):
            new = base + th * dt * model.drift(t + dt, guess)
            if np.max(np.abs(new - guess)) <= self.rtol * (1.0 + np.max(np.abs(new))):
                return self.State(new, state.grad_evals + 1 + i)
            guess = new
        raise ConvergenceError(f"{self.name}: fixed-point iteration did not converge in {self.max_iter} iterations")


SCHEMES = [StochasticTheta(0.5), StochasticTheta(1.0)]


def test_user_scheme_runs_in_simulate_without_registration():
    sch = StochasticTheta()
    ou = dynamics.ornstein_uhlenbeck(1.0, 0.8)
    a = simulate(ou, sch, (0, 1), [1.0], 1 / 16, n_paths=1000, seed=3)
    b = simulate(ou, sch, (0, 1), [1.0], 1 / 16, n_paths=1000, seed=3)
    assert sch.name not in METHODS and a.method == "stochastic-theta"
    np.testing.assert_array_equal(a.y_final, b.y_final)  # configuration only: reusable
    assert a.grad_evals == b.grad_evals > 2 * 16  # explicit part + iterations, every step
    # on dX = −aX dt + σ dW the trapezoid is X ← rX + σΔW/(1 + ha/2), r = (1 − ha/2)/(1 + ha/2):
    # its exact mean and variance after 16 steps
    h, a_, s = 1 / 16, 1.0, 0.8
    r = (1 - h * a_ / 2) / (1 + h * a_ / 2)
    var = s * s * h / (1 + h * a_ / 2) ** 2 * (1 - r ** 32) / (1 - r * r)
    x = a.y_final[:, 0]
    assert abs(x.mean() - r ** 16) < 5 * math.sqrt(var / x.size)
    assert abs(x.var(ddof=1) - var) < 5 * var * math.sqrt(2 / x.size)


def test_user_scheme_declarations_are_checked():
    gbm = dynamics.geometric_brownian_motion()
    with pytest.raises(ValueError, match="'stochastic-theta' supports additive noise; got diagonal"):
        simulate(gbm, StochasticTheta(), (0, 1), [1.0], 0.1, n_paths=2, seed=1)


@pytest.mark.parametrize("sch", SCHEMES, ids=lambda s: f"theta={s.theta}")
@pytest.mark.parametrize("case", sorted(CASES))
def test_user_scheme_orders_match_declaration(sch, case):
    if case not in cases_for(sch):
        pytest.skip(f"{sch.name} does not declare {case} (noise {CASES[case].model.noise})")
    check_declared_orders(sch, case)
