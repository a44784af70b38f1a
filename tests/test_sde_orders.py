"""Every registered SDE scheme's declared orders, measured: one parametrized test.

The cases are SDEs with exact solutions: Ornstein–Uhlenbeck (as a user SDE and as
overdamped Langevin on a quadratic), geometric Brownian motion and a harmonic Kramers
model.  Which cases a scheme meets is read from its declarations (``approximates``,
``noise_types``), the expected slopes too (``declared_strong_order(model)``,
``weak_order``), so a scheme added to the registry is measured with no edit here.

Strong order: E|Y_h(T) − Y(T)| over a ladder h = T/8 … T/64, every rung replaying the same
Brownian paths (``brownian_substeps``), against the exact solution on those paths: for
GBM a function of W_T, for the linear models e^{AT}y0 + ∫e^{A(T−s)}B dW_s by the
midpoint rule on the fine path (step T/1024 per noise term, error ≈ 1e-4, under 1 % of the
smallest error fitted).  |slope − declared| ≤ 0.2: with 2000 paths the errors carry ~2 %
standard error and the measured 95 % intervals are about ±0.05 wide; 0.2 still separates
order ½ from 1 and 1 from 2.

Weak order: for the linear models the scheme's mean and covariance at T are computed
exactly from its impulse responses (the scheme is affine in the start and the normals on
a linear model, which the helper checks on a random path), against the exact mean
e^{AT}y0 and covariance ∫e^{As}BBᵀe^{Aᵀs}ds; for GBM by Monte Carlo, E[Y_h²] − E[Y²]
from pathwise differences on the same paths (standard errors ≈ 5 % of the errors), on
the steps whose error exceeds 3 standard errors.  The check is one-sided, slope ≥
declared − 0.2: a declaration is what a scheme guarantees for smooth test functions,
and on linear SDEs some do better (stochastic Heun's moments are second order there).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np
import pytest
from scipy.linalg import expm

from dynopt import dynamics, problems
from dynopt.analysis import OrderFit, fit_order
from dynopt.engine import EnsembleOptions, brownian_increments, simulate
from dynopt.schemes import METHODS, SDEScheme, get_scheme

LADDER = (8, 16, 32, 64)
FINE = 16        # fine Brownian increments per coarsest-ladder substep: T/1024 per noise term
TOLERANCE = 0.2  # on |slope − declared| (strong) and declared − slope (weak); see the docstring


class Case(NamedTuple):
    """An SDE with an exact solution: ``exact(y0, T, dW)`` from the fine Brownian
    increments ``dW`` (n_fine, n_paths, m); ``linear = (A, B)`` for dY = AY dt + B dW."""

    model: object
    y0: tuple
    T: float
    exact: Callable
    linear: Optional[tuple] = None
    n_paths: int = 2000


def linear_case(model, y0, A, B, T=1.0):
    A, B = np.atleast_2d(np.asarray(A, float)), np.atleast_2d(np.asarray(B, float))

    def exact(y0, T, dW):
        nf = dW.shape[0]
        mids = (np.arange(nf) + 0.5) * (T / nf)
        kernels = np.stack([expm(A * (T - s)) @ B for s in mids])  # (n_fine, D, m)
        return (expm(A * T) @ np.asarray(y0, float))[None, :] + np.einsum("idm,inm->nd", kernels, dW)
    return Case(model, tuple(y0), T, exact, (A, B))


def gbm_case(mu=0.5, sigma=0.5, T=1.0):
    def exact(y0, T, dW):
        return y0[0] * np.exp((mu - sigma * sigma / 2) * T + sigma * dW.sum(axis=0))
    return Case(dynamics.geometric_brownian_motion(mu, sigma), (1.0,), T, exact, n_paths=4000)


CASES = {
    "ornstein-uhlenbeck": linear_case(dynamics.ornstein_uhlenbeck(1.0, 0.8), [1.0], [[-1.0]], [[0.8]]),
    "gbm": gbm_case(),
    "langevin-quadratic": linear_case(dynamics.OverdampedLangevin(problems.quadratic([[1.0]]), 0.8), [1.0],
                                      [[-1.0]], [[0.8]]),
    "kramers-harmonic": linear_case(dynamics.Kramers(problems.quadratic([[4.0]]), 1.0, 0.8), [1.0, 0.0],
                                    [[0.0, 1.0], [-4.0, -1.0]], [[0.0], [0.8]]),
}


def cases_for(scheme):
    """Names of the cases a scheme declares it can integrate."""
    return [name for name, c in CASES.items()
            if isinstance(c.model, scheme.approximates) and c.model.noise in scheme.noise_types]


class Orders(NamedTuple):
    """Fitted orders (None where nothing is declared or measurable) and the errors."""

    strong: Optional[OrderFit]
    weak: Optional[OrderFit]
    steps: list
    strong_errors: list
    weak_errors: list
    note: str = ""


def strong_errors(sch, case, seed):
    """E|Y_h(T) − Y(T)| and pathwise f(Y_h) − f(Y) (f = |y|²) on shared Brownian paths."""
    model, T, n = case.model, case.T, case.n_paths
    n_fine = max(LADDER) * FINE
    k, bs = sch.n_terms, 500
    # the replayed path: k·n_fine increments of T/(k·n_fine), in time order
    dW = brownian_increments(n, k * n_fine, T / (k * n_fine), dim=model.noise_dim, seed=seed, block_size=bs)
    ref = case.exact(np.asarray(case.y0, float), T, dW)
    strong, weak = [], []
    for n_steps in LADDER:
        r = simulate(model, sch, (0, T), case.y0, T / n_steps, n_paths=n, seed=seed,
                     options=EnsembleOptions(block_size=bs, brownian_substeps=n_fine // n_steps))
        assert r.n_diverged == 0, r.note
        strong.append(float(np.linalg.norm(r.y_final - ref, axis=1).mean()))
        d = (r.y_final ** 2).sum(axis=1) - (ref ** 2).sum(axis=1)
        weak.append((float(d.mean()), float(d.std(ddof=1) / np.sqrt(n))))
    return strong, weak


def scheme_moments(sch, model, y0, T, n_steps, seed=0):
    """Exact mean and covariance at T of ``sch`` with step T/n_steps on a linear model.

    Row 0 starts at y0 with no noise (the mean); every other row starts at 0 and gets
    one unit normal at one (step, term, component) (its impulse response; their outer
    products sum to the covariance); the last row is a random path, which must equal the
    superposition — the check that the scheme is affine in the start and the normals."""
    k, m, D, dt = sch.n_terms, model.noise_dim, model.state_dim, T / n_steps
    n_imp = n_steps * k * m
    y = np.zeros((n_imp + 2, D))
    y[0] = y[-1] = y0
    xi = np.random.default_rng(seed).standard_normal((n_steps, k, m))
    state = sch.init(model, y, dt)
    for j in range(n_steps):
        z = np.zeros((k, n_imp + 2, m))
        for t in range(k):
            for c in range(m):
                z[t, 1 + (j * k + t) * m + c, c] = 1.0
        z[:, -1, :] = xi[j]
        state = sch.step(model, j * dt, state, dt, z)
    out = sch.output(model, state)
    mean, resp = out[0], out[1:-1]
    np.testing.assert_allclose(out[-1], mean + xi.reshape(-1) @ resp, rtol=1e-9, atol=1e-9,
                               err_msg=f"{sch.name} is not affine in the noise on a linear model")
    return mean, resp.T @ resp


def exact_moments(A, B, y0, T):
    """e^{AT}y0 and ∫_0^T e^{As}BBᵀe^{Aᵀs} ds (Van Loan's block exponential)."""
    D = A.shape[0]
    F = expm(np.block([[-A, B @ B.T], [np.zeros((D, D)), A.T]]) * T)
    return expm(A * T) @ np.asarray(y0, float), F[D:, D:].T @ F[:D, D:]


def weak_errors_exact(sch, case):
    A, B = case.linear
    m, C = exact_moments(A, B, case.y0, case.T)
    errs = []
    for n_steps in LADDER:
        mh, Ch = scheme_moments(sch, case.model, case.y0, case.T, n_steps)
        errs.append(float(np.linalg.norm(mh - m) + np.linalg.norm(Ch - C)))
    return errs


def measure_orders(scheme, case, seed=20240601) -> Orders:
    """Measure a scheme's strong and weak orders on ``case`` (the helper shared with
    tests/test_user_sde_scheme.py); ``scheme`` is a registered name or an instance."""
    sch = get_scheme(scheme)
    sch.check_model(case.model)
    steps = [case.T / n for n in LADDER]
    strong, weak_mc = strong_errors(sch, case, seed)
    sfit = fit_order(steps, strong) if sch.declared_strong_order(case.model) is not None else None
    note = ""
    if case.linear is not None:
        weak = weak_errors_exact(sch, case)
        ok = [(h, e) for h, e in zip(steps, weak) if e > 1e-12]
    else:
        weak = [w for w, _ in weak_mc]
        ok = [(h, abs(w)) for h, (w, se) in zip(steps, weak_mc) if abs(w) > 3 * se]
    if sch.weak_order is None:
        wfit = None
    elif len(ok) >= 3:
        wfit = fit_order(*zip(*ok))
    else:
        wfit, note = None, f"weak errors resolved at {len(ok)} of {len(steps)} steps: {weak}"
    return Orders(sfit, wfit, steps, strong, weak, note)


def check_declared_orders(scheme, case_name):
    """Assert the measured orders of ``scheme`` on ``CASES[case_name]`` match its declaration."""
    sch, case = get_scheme(scheme), CASES[case_name]
    res = measure_orders(sch, case)
    declared = sch.declared_strong_order(case.model)
    if declared is not None:
        fit = res.strong
        assert abs(fit.order - declared) <= TOLERANCE, (
            f"{sch.name} on {case_name}: strong slope {fit.order:.3f} (95% CI {fit.ci[0]:.3f}..{fit.ci[1]:.3f}) "
            f"vs declared {declared}; errors {res.strong_errors}")
    if sch.weak_order is not None:
        assert res.weak is not None, f"{sch.name} on {case_name}: {res.note}"
        assert res.weak.order >= sch.weak_order - TOLERANCE, (
            f"{sch.name} on {case_name}: weak slope {res.weak.order:.3f} (95% CI {res.weak.ci[0]:.3f}.."
            f"{res.weak.ci[1]:.3f}) below declared {sch.weak_order}; errors {res.weak_errors}")
    return res


def _order_cases():
    """(scheme name, case name or None) for every registered SDE scheme."""
    out = []
    for name in sorted(n for n, cls in METHODS.items() if issubclass(cls, SDEScheme)):
        names = cases_for(get_scheme(name))
        out += [(name, c) for c in names] or [(name, None)]
    return out


@pytest.mark.parametrize("name, case", _order_cases())
def test_declared_sde_orders(name, case):
    sch = get_scheme(name)
    if not sch.orders_in_dt:
        pytest.skip(f"{name} declares orders_in_dt=False: its step is fixed by the model, so its orders are "
                    "in a model parameter (tests/test_sme.py measures SGD's in the learning rate)")
    assert case is not None, (f"{name} meets none of the order-test cases (approximates="
                              f"{sch.approximates}, noise_types={sch.noise_types}): add a case with an exact solution")
    check_declared_orders(sch, case)
