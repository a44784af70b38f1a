"""Quasi-hyperbolic momentum written only here, as a researcher writes it: one class, its
step.  As noisy QHM on overdamped Langevin (the gradient buffer is part of the state), the
same step runs compiled and on numpy and gives the same paths; its symbolic reading is
tested in test_symbolic_steps.py."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest

from dynopt import dynamics, problems
from dynopt.engine import EnsembleOptions, simulate
from dynopt.schemes import SDEScheme, ops

numba = pytest.importorskip("numba")


class NoisyQHM(SDEScheme):
    """g ← βg + (1−β)∇L(θ), θ ← θ − a h[(1−ν)∇L(θ) + νg] + σ ΔW (Ma & Yarats 2019, with
    Gaussian gradient noise added as overdamped Langevin's)."""

    class State(NamedTuple):
        y: np.ndarray
        g: np.ndarray
        grad_evals: int

    name = "noisy-qhm"
    approximates = (dynamics.OverdampedLangevin,)
    noise_types = ("additive",)
    strong_order = None
    weak_order = 1.0
    grad_evals = 1

    def __init__(self, a=1.0, beta=0.9, nu=0.7):
        self.a, self.beta, self.nu = a, beta, nu

    def init(self, model, y0, dt):
        return self.State(y0, model.grad(y0), 1)

    def step(self, model, t, s, dt, z):
        G = model.grad(s.y)
        g = self.beta * s.g + (1 - self.beta) * G
        y = s.y - self.a * dt * ((1 - self.nu) * G + self.nu * g) + model.noise_term(t, s.y, z[0] * ops.sqrt(dt))
        return self.State(y, g, s.grad_evals + 1)


WELL = problems.from_expr("(x**2 - 1)**2 + 2*y**2 + 0.3*x*y", name="coupled-well")


def test_qhm_written_here_runs_compiled_and_equals_numpy():
    model = dynamics.OverdampedLangevin(WELL, 0.6)
    run = dict(n_paths=500, seed=13, options=EnsembleOptions(block_size=64, save_every=50))
    a = simulate(model, NoisyQHM(), (0, 3.0), [-1.0, 0.2], 0.01, backend="numba", **run)
    b = simulate(model, NoisyQHM(), (0, 3.0), [-1.0, 0.2], 0.01, backend="numpy", **run)
    assert (a.backend, b.backend) == ("numba", "numpy") and a.note == ""
    scale = np.max(np.abs(b.y_final))
    assert np.all(np.isfinite(a.y_final)) and scale > 0.5
    assert np.max(np.abs(a.y_final - b.y_final)) <= 1e-12 * scale
    assert np.max(np.abs(a.y - b.y)) <= 1e-12 * np.max(np.abs(b.y))
    assert a.grad_evals == b.grad_evals == 301
    # a changed parameter is a different kernel
    c = simulate(model, NoisyQHM(nu=0.2), (0, 3.0), [-1.0, 0.2], 0.01, backend="numba", **run)
    assert c.backend == "numba" and not np.array_equal(c.y_final, a.y_final)


def test_qhm_without_noise_is_the_hand_written_recursion():
    """σ = 0: the compiled QHM is QHM, checked against a plain loop of the recursion."""
    model = dynamics.OverdampedLangevin(WELL, 0.0)
    a, beta, nu, h = 1.0, 0.9, 0.7, 0.01
    r = simulate(model, NoisyQHM(a, beta, nu), (0, 1.0), [-1.0, 0.2], h, n_paths=4, seed=0, backend="numba")
    q = np.array([-1.0, 0.2])
    g = WELL.grad_fn(q[None])[0]
    for _ in range(100):
        G = WELL.grad_fn(q[None])[0]
        g = beta * g + (1 - beta) * G
        q = q - a * h * ((1 - nu) * G + nu * g)
    assert r.backend == "numba"
    np.testing.assert_allclose(r.y_final, np.broadcast_to(q, (4, 2)), rtol=1e-13, atol=1e-15)
    assert math.isfinite(float(r.y_final.sum()))
