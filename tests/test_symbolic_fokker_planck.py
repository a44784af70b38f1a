"""Fokker–Planck derivations vs exact numerics for linear SDEs."""
import numpy as np
import sympy as sp

from dynopt.symbolic.core import is_zero, lam, sigma
from dynopt.symbolic.fokker_planck import (_coords, energy_drift, kramers_fp_operator, kramers_moment_energy,
                                           kramers_stationary, langevin_fp_operator, langevin_stationary,
                                           ou_stationary_covariance)


def test_langevin_density_is_exp_minus_2L_over_sigma2():
    for d in (1, 2):
        p = langevin_stationary(d)
        th, _ = _coords(d)
        L = sp.Function("L")(*th)
        assert is_zero(p - sp.exp(-2 * L / sigma ** 2))
        assert is_zero(langevin_fp_operator(p, L, th))
        assert not is_zero(langevin_fp_operator(sp.exp(-L / sigma ** 2), L, th))


def test_ou_lyapunov_matches_temperature_sigma2_over_2(rng):
    M = rng.normal(size=(3, 3))
    H = M @ M.T + 3 * np.eye(3)
    S = ou_stationary_covariance(H, 0.8)
    np.testing.assert_allclose(S, 0.8 ** 2 / 2 * np.linalg.inv(H), rtol=1e-10)


def test_kramers_density_and_energy_balance():
    p = kramers_stationary(2)
    th, et = _coords(2)
    L = sp.Function("L")(*th)
    H = sum(v ** 2 for v in et) / 2 + L
    assert is_zero(p - sp.exp(-2 * lam * H / sigma ** 2))
    assert not is_zero(kramers_fp_operator(sp.exp(-H / sigma ** 2), L, th, et, friction=0))
    assert is_zero(energy_drift(2) - (-lam * sum(v ** 2 for v in et) + sigma ** 2))


def test_moment_energy_grows_linearly_without_friction():
    ts = np.array([1.0, 2.0, 4.0, 8.0])
    e = kramers_moment_energy(3.0, 0.0, 0.4, ts)
    # E[H](t) = E[H](0) + σ²t/2 exactly (Itô), E[H](0) = h/2
    np.testing.assert_allclose(e, 1.5 + 0.4 ** 2 * ts / 2, rtol=1e-10)
