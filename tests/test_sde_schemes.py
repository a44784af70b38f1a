"""Schemes: declarations, harmonic stationary statistics against exact discrete covariances."""
import math

import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from dynopt import dynamics, problems
from dynopt.analysis import scheme_linear_map, sgd_stationary_covariances
from dynopt.engine import TimeAverage, simulate
from dynopt.schemes import METHODS, get_scheme


@pytest.mark.parametrize("name", ["euler-maruyama", "milstein", "stochastic-heun", "baoab", "obabo",
                                  "aboba", "momentum-sgd", "leimkuhler-matthews", "sgd"])
def test_declarations(name):
    s = get_scheme(name)
    assert name in METHODS
    assert s.calculus in ("ito", "stratonovich") and s.noise_types and s.weak_order >= 1


def test_baoab_harmonic_configurations_exact():
    m = dynamics.Kramers(problems.quadratic([[1.0]]), 1.0, math.sqrt(2.0))
    for h in (0.1, 0.5, 1.0):
        M, N = scheme_linear_map(m, "baoab", h)
        S = solve_discrete_lyapunov(M, N @ N.T)
        assert abs(S[0, 0] - 1.0) < 1e-12
        assert abs(S[1, 1] - (1 - h * h / 4)) < 1e-12  # BAOAB's known kinetic bias


@pytest.mark.parametrize("scheme", ["obabo", "momentum-sgd"])
def test_kramers_stationary_matches_lyapunov(scheme):
    m = dynamics.Kramers(problems.quadratic([[1.0]]), 1.0, math.sqrt(2.0))
    h = 0.4
    M, N = scheme_linear_map(m, scheme, h)
    S = solve_discrete_lyapunov(M, N @ N.T)
    r = simulate(m, scheme, (0, 30.0), [0.0, 0.0], h, n_paths=4096, seed=11, block_size=256,
                 observers=[TimeAverage(lambda y: y[:, 0] ** 2, t_min=8.0)])
    ta = r.observations["time_average"]
    assert abs(ta.mean - S[0, 0]) < 5 * ta.se


def test_sgd_iterates_match_exact_discrete_covariance():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(10, 2))
    b = A @ np.ones(2) + 2 * rng.normal(size=10)
    p = problems.least_squares(A, b)
    lr = 0.2 / np.linalg.eigvalsh(p.hessian_matrix).max()
    pred = sgd_stationary_covariances(p, lr, 2)
    model = dynamics.SGDModifiedEquation(p, lr, 2)
    steps = int(8 / (lr * np.linalg.eigvalsh(p.hessian_matrix).min())) + 1
    r = simulate(model, "sgd", (0, steps * lr), p.center, lr, n_paths=4000, seed=2)
    X = r.y_final - p.center
    v = X.var(axis=0, ddof=1)
    se = np.diag(pred["exact"]) * np.sqrt(2 / 4000)
    assert np.all(np.abs(v - np.diag(pred["exact"])) < 5 * se)


def test_sme_bad_input():
    p = problems.least_squares(np.eye(3), np.ones(3))
    with pytest.raises(ValueError, match="`batch_size`"):
        dynamics.SGDModifiedEquation(p, 0.1, 5)
    with pytest.raises(ValueError, match="`lr`"):
        dynamics.SGDModifiedEquation(p, -0.1, 1)
    with pytest.raises(TypeError, match="`problem`"):
        dynamics.SGDModifiedEquation(problems.ellipse(), 0.1, 1)


def test_fused_double_well_euler_maruyama_matches_the_generic_path():
    """The benchmark's 5-pass kernel (state kept as u = y/(σ√dt)) is the same scheme:
    with the same Brownian path it agrees with the generic additive-noise step."""
    import numpy as np

    from dynopt import dynamics, problems
    from dynopt.engine import simulate

    p = problems.double_well()
    fused = dynamics.OverdampedLangevin(p, 0.7)
    generic = dynamics.OverdampedLangevin(p, [[0.7]])  # a matrix σ takes the general path
    a = simulate(fused, "euler-maruyama", (0, 2), [0.3], 0.01, n_paths=5000, seed=3)
    b = simulate(generic, "euler-maruyama", (0, 2), [0.3], 0.01, n_paths=5000, seed=3)
    np.testing.assert_allclose(a.y_final, b.y_final, rtol=1e-10, atol=1e-12)
