"""Every registered SDE scheme's declared orders, measured: one parametrized test.

The cases are SDEs with known solutions: Ornstein–Uhlenbeck (as a user SDE and as
overdamped Langevin on a quadratic), geometric Brownian motion and a harmonic Kramers
model.  Which cases a scheme meets is read from its declarations (``approximates``,
``noise_types``), the expected slopes too (``declared_strong_order(model)``,
``weak_order``), so a scheme added to the registry is measured with no edit here.

Strong order: :func:`dynopt.analysis.sde_order_study`, the library's study, over a ladder
h = T/8 … T/64 with every rung replaying the same Brownian paths, against the exact solution
from W_T for GBM and, for the linear models, against the scheme itself with the step
T/1024 on the same paths (``reference_factor`` 16: the reference's own error is ~1/16 of the
finest rung's for order 1, which moves the slope by a few hundredths).  |slope − declared| ≤
0.2: with 2000 paths the errors carry ~2 % standard error and the measured 95 % intervals
are about ±0.05 wide; 0.2 still separates order ½ from 1 and 1 from 2.

A strong order against the scheme's own fine run says how fast it converges, not to what; the
weak check says to what.  For the linear models the scheme's mean and covariance at T are
computed exactly from its impulse responses (the scheme is affine in the start and the
normals on a linear model, which the helper checks on a random path), against the exact mean
e^{AT}y0 and covariance ∫e^{As}BBᵀe^{Aᵀs}ds; for GBM the study's pathwise E[|Y_h|²] − E[|Y|²]
against the exact solution (standard errors ≈ 5 % of the errors), on the steps whose error
exceeds 3 standard errors.  The check is one-sided, slope ≥ declared − 0.2: a declaration is
what a scheme guarantees for smooth test functions, and on linear SDEs some do better
(stochastic Heun's moments are second order there).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np
import pytest
from scipy.linalg import expm

from dynopt import dynamics, problems
from dynopt.analysis import OrderFit, fit_order, sde_order_study
from dynopt.schemes import METHODS, SDEScheme, get_scheme

LADDER = (8, 16, 32, 64)
FINE = 16        # reference step: the finest rung's / FINE, i.e. T/1024
TOLERANCE = 0.2  # on |slope − declared| (strong) and declared − slope (weak); see the docstring
SEED = 20240601
BLOCK_SIZE = 500


class Case(NamedTuple):
    """An SDE with a known solution: ``exact(W_T, y0)`` when it is a function of W_T (the
    study's reference, else the scheme's own run at step T/1024 on the same paths);
    ``linear = (A, B)`` for dY = AY dt + B dW."""

    model: object
    y0: tuple
    T: float
    exact: Optional[Callable] = None
    linear: Optional[tuple] = None
    n_paths: int = 2000


def linear_case(model, y0, A, B, T=1.0):
    A, B = np.atleast_2d(np.asarray(A, float)), np.atleast_2d(np.asarray(B, float))
    return Case(model, tuple(y0), T, linear=(A, B))


def gbm_case(mu=0.5, sigma=0.5, T=1.0):
    def exact(WT, y0):
        return y0[0] * np.exp((mu - sigma * sigma / 2) * T + sigma * WT)
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


def _squared_norm(y):
    return (y ** 2).sum(axis=1)


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


def measure_orders(scheme, case, seed=SEED) -> Orders:
    """Measure a scheme's strong and weak orders on ``case`` (the helper shared with
    tests/test_user_sde_scheme.py); ``scheme`` is a registered name or an instance."""
    sch = get_scheme(scheme)
    sch.check_model(case.model)
    study = sde_order_study(case.model, sch, case.y0, case.T, LADDER, case.n_paths, seed, exact=case.exact,
                            f=_squared_norm, reference_factor=FINE, block_size=BLOCK_SIZE)
    assert "h=" not in study.note, study.note  # the study notes a rung with diverged paths as "h=..."
    sfit = study.strong_fit if sch.declared_strong_order(case.model) is not None else None
    note = study.note
    if case.linear is not None:
        weak = weak_errors_exact(sch, case)
        ok = [(h, e) for h, e in zip(study.steps, weak) if e > 1e-12]
        wfit = fit_order(*zip(*ok)) if len(ok) >= 3 else None
        if wfit is None:
            note = f"weak errors resolved at {len(ok)} of {len(study.steps)} steps: {weak}"
    else:
        weak, wfit = study.weak, study.weak_fit
    if sch.weak_order is None:
        wfit = None
    return Orders(sfit, wfit, study.steps, study.strong, weak, note)


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


def _sig(x, digits):
    """``x`` rounded to ``digits`` significant digits by decimal arithmetic (not by a format string)."""
    from decimal import ROUND_HALF_EVEN, Decimal

    d = Decimal(repr(float(x)))
    if d == 0:
        return 0.0
    q = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return float(d.quantize(q, rounding=ROUND_HALF_EVEN))


def test_sde_order_result_as_dict_keys_and_rounding():
    """``SDEOrderResult.as_dict`` (what the ledger and ``--json`` print): exactly these keys, errors
    to 5 significant digits, standard errors to 3, fitted orders and their intervals to 4 decimals,
    a missing fit as None and the declared orders, sizes, seed, reference and note verbatim; the
    note defaults to ""."""
    from dynopt.analysis.orders import SDEOrderResult

    sfit = OrderFit(1.234567, (0.98765432, 1.48765432), 0.1, -0.5, 0.99, 4)
    res = SDEOrderResult("milstein", "gbm", 1.5, [0.25, 0.125], [0.0123456789, 2.3456789e-5],
                         [0.000123456, 7.891011], [-0.00987654321, 1.0000049], [0.0456789, 12345.678],
                         sfit, None, 1.0, None, 2000, 7, "exact solution from W_T")
    assert res.note == ""
    assert res.as_dict() == {
        "scheme": "milstein", "model": "gbm", "T": 1.5, "steps": [0.25, 0.125],
        "strong": [0.012346, 2.3457e-5], "strong_se": [0.000123, 7.89],
        "weak": [-0.0098765, 1.0], "weak_se": [0.0457, 12300.0],
        "strong_order": {"order": 1.2346, "ci": [0.9877, 1.4877]}, "weak_order": None,
        "declared_strong": 1.0, "declared_weak": None, "n_paths": 2000, "seed": 7,
        "reference": "exact solution from W_T", "note": ""}


def test_sde_order_result_as_dict_of_a_study():
    """``as_dict`` of a real (small) study: every field is the result's own, rounded as stated,
    built here from the attributes with decimal rounding."""
    c = gbm_case()
    r = sde_order_study(c.model, "milstein", c.y0, c.T, (4, 8, 16), 200, 11, exact=c.exact)
    def dec4(x):
        from decimal import Decimal
        return float(Decimal(repr(float(x))).quantize(Decimal("0.0001")))

    def fit(f):
        return None if f is None else {"order": dec4(f.order), "ci": [dec4(f.ci[0]), dec4(f.ci[1])]}

    assert r.strong_fit is not None
    want = {"scheme": "milstein", "model": c.model.name, "T": 1.0, "steps": [0.25, 0.125, 0.0625],
            "strong": [_sig(e, 5) for e in r.strong], "strong_se": [_sig(e, 3) for e in r.strong_se],
            "weak": [_sig(e, 5) for e in r.weak], "weak_se": [_sig(e, 3) for e in r.weak_se],
            "strong_order": fit(r.strong_fit), "weak_order": fit(r.weak_fit),
            "declared_strong": 1.0, "declared_weak": 1.0, "n_paths": 200, "seed": 11,
            "reference": "exact solution from W_T", "note": r.note}
    assert r.as_dict() == want


def _fine_brownian_path(T, nmax, n_paths, seed):
    """W on the grid T/nmax from the engine's stream (a pure Brownian motion run, saved at every step)."""
    from dynopt.engine import EnsembleOptions, simulate
    bm = dynamics.SDE(lambda t, x: np.zeros_like(x), 1.0, 1, noise="additive")
    r = simulate(bm, "euler-maruyama", (0, T), np.zeros(1), T / nmax, n_paths=n_paths, seed=seed,
                 options=EnsembleOptions(save_every=1, progress=False))
    return r.y[:, :, 0]  # (nmax + 1, n_paths)


def test_sde_order_study_statistics_from_hand_euler_maruyama_paths():
    """GBM with the exact reference: per-path errors of Euler–Maruyama written out on the replayed Brownian
    path, their mean, ddof-1 standard errors, the signed weak error of f, and the fitted orders."""
    mu, sigma, T, x0, n_paths, seed = 0.5, 0.5, 1.0, 1.3, 300, 4
    ladder = [4, 8, 16]
    model = dynamics.geometric_brownian_motion(mu, sigma)
    exact = lambda WT, y0: y0[0] * np.exp((mu - sigma ** 2 / 2) * T + sigma * WT)  # noqa: E731
    f = lambda x: x ** 2  # noqa: E731
    r = sde_order_study(model, "euler-maruyama", (x0,), T, ladder, n_paths, seed, exact=exact, f=f)
    W = _fine_brownian_path(T, 16, n_paths, seed)
    ref = x0 * np.exp((mu - sigma ** 2 / 2) * T + sigma * W[-1])
    strong, sse, weak, wse = [], [], [], []
    for n in ladder:
        h, X = T / n, np.full(n_paths, x0)
        for k in range(n):
            dW = W[(k + 1) * 16 // n] - W[k * 16 // n]
            X = X + mu * X * h + sigma * X * dW
        e = np.abs(X - ref)
        strong.append(e.mean())
        sse.append(e.std(ddof=1) / np.sqrt(n_paths))
        dw = X ** 2 - ref ** 2
        weak.append(dw.mean())
        wse.append(dw.std(ddof=1) / np.sqrt(n_paths))
    assert r.steps == [0.25, 0.125, 0.0625] and r.T == 1.0 and r.n_paths == 300 and r.seed == 4
    np.testing.assert_allclose(r.strong, strong, rtol=1e-9)
    np.testing.assert_allclose(r.strong_se, sse, rtol=1e-9)
    np.testing.assert_allclose(r.weak, weak, rtol=1e-9)
    np.testing.assert_allclose(r.weak_se, wse, rtol=1e-9)
    assert r.strong_fit.order == pytest.approx(fit_order(r.steps, strong).order, rel=1e-9)
    usable = [(hh, abs(w)) for hh, w, s in zip(r.steps, weak, wse) if abs(w) > 3 * s]
    if len(usable) >= 3:
        assert r.weak_fit.order == pytest.approx(fit_order(*zip(*usable)).order, rel=1e-9)
    else:
        assert r.weak_fit is None and "no weak order fitted" in r.note
    assert (r.scheme, r.reference) == ("euler-maruyama", "exact solution from W_T")
    assert (r.declared_strong, r.declared_weak) == (0.5, 1.0)


def test_sde_order_study_refusals():
    """T must be finite and > 0; every step count must divide the largest."""
    m = dynamics.geometric_brownian_motion(0.5, 0.5)
    for T in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"^`T` must be finite and > 0; got "):
            sde_order_study(m, "euler-maruyama", (1.0,), T, [4, 8], 10, 0)
    with pytest.raises(ValueError, match=r"^`n_steps_ladder` entries must divide the largest one; got \[3, 4, 8\]$"):
        sde_order_study(m, "euler-maruyama", (1.0,), 1.0, [8, 3, 4], 10, 0)


def test_sde_order_study_scheme_reference_on_the_same_path():
    """Without an exact solution the reference is the scheme at step T/(N_max·reference_factor) on the same
    Brownian path: both written out here for Euler–Maruyama on an Ornstein–Uhlenbeck process."""
    theta, sig, T, x0, n_paths, seed, rf = 1.5, 0.7, 1.0, 0.8, 200, 9, 2
    model = dynamics.ornstein_uhlenbeck(theta, sig)
    ladder = [2, 4, 8]
    r = sde_order_study(model, "euler-maruyama", (x0,), T, ladder, n_paths, seed, reference_factor=rf)
    W = _fine_brownian_path(T, 8 * rf, n_paths, seed)

    def em(n):
        h, X = T / n, np.full(n_paths, x0)
        for k in range(n):
            X = X - theta * X * h + sig * (W[(k + 1) * 8 * rf // n] - W[k * 8 * rf // n])
        return X
    ref = em(8 * rf)
    np.testing.assert_allclose(r.strong, [np.abs(em(n) - ref).mean() for n in ladder], rtol=1e-9)
    np.testing.assert_allclose(r.weak, [(em(n) - ref).mean() for n in ladder], rtol=1e-9, atol=1e-15)
    assert r.reference == "euler-maruyama with step T/16 on the same Brownian path"
    d = sde_order_study(model, "euler-maruyama", (x0,), T, ladder, n_paths, seed)
    assert d.reference == "euler-maruyama with step T/128 on the same Brownian path"  # reference_factor 16


def test_sde_order_study_exact_gets_every_brownian_coordinate():
    """With two Wiener processes the exact solution is handed W_T with both coordinates (n_paths, 2):
    for X = x0 + W, Euler–Maruyama is exact and every strong error vanishes."""
    seen = []

    def exact(WT, y0):
        seen.append(WT.shape)
        return y0 + WT
    model = dynamics.SDE(lambda t, x: np.zeros_like(x), np.eye(2), 2, noise="additive", noise_dim=2)
    r = sde_order_study(model, "euler-maruyama", (0.5, -1.0), 1.0, [2, 4, 8], 50, 5, exact=exact)
    assert seen == [(50, 2)]
    np.testing.assert_allclose(r.strong, 0.0, atol=1e-12)


def test_sde_order_study_exact_with_more_wiener_processes_than_states():
    """One state driven by two Wiener processes, X = x0 + 0.3·W¹ − 0.7·W²: the exact reference from both
    coordinates of W_T matches Euler–Maruyama (exact here) to rounding."""
    g = np.array([[0.3, -0.7]])
    model = dynamics.SDE(lambda t, x: np.zeros_like(x), g, 1, noise="additive")
    r = sde_order_study(model, "euler-maruyama", (0.5,), 1.0, [2, 4, 8], 50, 6,
                        exact=lambda WT, y0: y0 + WT @ g.T)
    np.testing.assert_allclose(r.strong, 0.0, atol=1e-12)
