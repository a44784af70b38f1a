"""A scheme is its step, read as numbers and as a compiled kernel.

The schemes here are written only in this file, the way a researcher would write theirs:
one class, its ``step`` as plain arithmetic on the state and the model's oracles.  Nothing
in dynopt knows them, yet ``integrate``/``simulate`` run them, the order helpers measure
them, and the compiled backend reads their step into a kernel.
"""
from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import numpy as np
import pytest

from dynopt import dynamics, problems
from dynopt.analysis.orders import convergence_study, sde_order_study
from dynopt.engine import EnsembleOptions, integrate, simulate
from dynopt.schemes import METHODS, SDEScheme, get_scheme, ops
from user_rules import QHM, Platen

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _every_run_pays_to_compile(monkeypatch):
    # these tests are about what "auto" can compile, not about when compiling pays
    # (tests/test_kernels_auto.py): every run here is worth compiling
    from dynopt.engine import kernels as _k

    monkeypatch.setattr(_k, "COMPILE_SECONDS", 0.0)


class SignSwitch(SDEScheme):
    """A step that branches on the state's values: numpy runs it, a kernel cannot."""

    name = "sign-switch"

    def step(self, model, t, state, dt, z):
        y = state.y
        drift = np.where(y > 0, -y, y)
        return self.State(y + drift * dt + model.noise_term(t, y, z[0] * math.sqrt(dt)), state.grad_evals)


WELL = problems.from_expr("x**4/4 - x**2/2", name="well")
DIAG = dynamics.OverdampedLangevin(WELL, "0.5 + 0.1*x**2")
RUN = dict(n_paths=300, seed=5, options=EnsembleOptions(block_size=64))


def test_qhm_written_here_integrates_as_its_hand_derived_linear_map():
    """On L = kθ²/2 one QHM step maps (θ, g) by M = [[1 − ahk(1 − νβ), −ahνβ], [(1−β)k, β]]
    (substitute G = kθ into the step by hand); integrate must give M^n (θ_0, kθ_0)."""
    k, a, b, nu, h, n = 3.0, 0.8, 0.9, 0.7, 0.05, 40
    model = dynamics.GradientFlow(problems.quadratic([[k]]))
    sol = integrate(model, QHM(a, b, nu), (0, n * h), [1.5], h)
    M = np.array([[1 - a * h * k * (1 - nu * b), -a * h * nu * b], [(1 - b) * k, b]])
    want = np.linalg.matrix_power(M, n) @ np.array([1.5, 1.5 * k])
    np.testing.assert_allclose(sol.y[-1, 0, 0], want[0], rtol=1e-12)
    assert sol.grad_evals == n + 1


def test_qhm_is_first_order_for_gradient_flow():
    model = dynamics.GradientFlow(problems.quadratic([[2.0, 0.3], [0.3, 1.0]]))
    res = convergence_study(model, QHM(1.0, 0.5, 0.7), [1.0, -0.5], 1.0, [20, 40, 80, 160, 320])
    assert abs(res.fit.order - 1.0) < 0.1, res.fit


def test_platen_written_here_is_strong_order_one():
    """Measured on geometric Brownian motion against its exact solution from W_T."""
    mu, sigma = 0.5, 0.5
    gbm = dynamics.geometric_brownian_motion(mu, sigma)
    res = sde_order_study(gbm, Platen(), [1.0], 1.0, [8, 16, 32, 64, 128], n_paths=4000, seed=3,
                          exact=lambda W, x0: x0 * np.exp((mu - sigma ** 2 / 2) + sigma * W))
    lo, hi = res.strong_fit.ci
    assert abs(res.strong_fit.order - 1.0) < 0.15 and lo < 1.0 + 0.15 and hi > 1.0 - 0.15, res.strong_fit
    em = sde_order_study(gbm, "euler-maruyama", [1.0], 1.0, [8, 16, 32, 64, 128], n_paths=4000, seed=3,
                         exact=lambda W, x0: x0 * np.exp((mu - sigma ** 2 / 2) + sigma * W))
    assert em.strong_fit.order < 0.75  # the same study tells order ½ from order 1


def test_platen_written_here_is_compiled_and_equals_numpy():
    a = simulate(DIAG, Platen(), (0, 2), [0.3], 0.01, backend="numba", **RUN)
    b = simulate(DIAG, Platen(), (0, 2), [0.3], 0.01, backend="numpy", **RUN)
    assert (a.backend, b.backend) == ("numba", "numpy") and a.note == ""
    assert np.all(np.isfinite(a.y_final))
    assert np.max(np.abs(a.y_final - b.y_final)) <= 1e-12 * np.max(np.abs(b.y_final))
    assert a.grad_evals == b.grad_evals == 200
    auto = simulate(DIAG, Platen(), (0, 2), [0.3], 0.01, **RUN)
    assert auto.backend == "numba"


def test_a_step_branching_on_values_runs_on_numpy_and_says_why():
    model = dynamics.OverdampedLangevin(WELL, 0.5)
    r = simulate(model, SignSwitch(), (0, 0.1), [0.3], 0.01, **RUN)
    assert r.backend == "numpy"
    assert r.note.startswith("not compiled: the step of sign-switch is not straight-line arithmetic: ")
    assert "\n" not in r.note
    with pytest.raises(ValueError, match="straight-line"):
        simulate(model, SignSwitch(), (0, 0.1), [0.3], 0.01, backend="numba", **RUN)


def _counting(model):
    """A copy of ``model`` whose one gradient oracle counts its calls (every drift and
    force goes through it): the reader's count of gradient evaluations."""
    m = copy.copy(model)
    m.calls = 0
    grad = model.grad

    def counted(q):
        m.calls += 1
        return grad(q)
    m.grad = counted
    return m


def _sde_cases():
    lang = dynamics.OverdampedLangevin(problems.quadratic([[1.0]]), 0.8)
    kramers = dynamics.Kramers(problems.quadratic([[1.0]]), 1.0, 0.8)
    out = []
    for name in sorted(n for n, c in METHODS.items() if issubclass(c, SDEScheme)):
        sch = get_scheme(name)
        if sch.noise_kind == "normal":
            out.append((name, lang if isinstance(lang, sch.approximates) else kramers))
    return out


@pytest.mark.parametrize("name, model", _sde_cases(), ids=[n for n, _ in _sde_cases()])
def test_declared_gradient_evaluations_equal_the_oracle_calls_a_step_makes(name, model):
    """Counted by wrapping the model's oracles (drift = −∇L is one evaluation): after the
    first step (whose count may include a cached start) every step makes exactly the
    declared number of calls — and the traced kernel counts the same."""
    from dynopt.engine import tracer

    sch = get_scheme(name)
    counted = _counting(model)
    y0 = np.full((4, model.state_dim), 0.3)
    z = np.random.default_rng(0).standard_normal((sch.n_terms, 4, model.noise_dim))
    st = sch.init(counted, y0, 0.01)
    st = sch.step(counted, 0.0, st, 0.01, z)
    for k in range(3):
        before = counted.calls
        st = sch.step(counted, 0.01 * (k + 1), st, 0.01, z)
        assert counted.calls - before == sch.grad_evals, (name, counted.calls - before)
    prog = tracer.trace_step(model, sch, 0.01, {"grad"})
    assert (prog.later or prog.first).evals == sch.grad_evals


def test_kernel_modules_restate_no_scheme():
    """The compiled backend reads steps; it names no scheme class and has no scheme template."""
    for path in ["dynopt/engine/kernels.py", *map(str, (ROOT / "dynopt/engine").glob("codegen*.py")),
                 "dynopt/engine/kernel_passage.py", "dynopt/engine/tracer.py"]:
        text = (ROOT / path).read_text()
        assert not re.search(r"^\s*(from|import)\s+dynopt\.schemes", text, re.M), path
        for cls in ("EulerMaruyama", "Milstein", "StochasticHeun", "LeimkuhlerMatthews", "Splitting",
                    "MomentumSGD", "SGDIterates", "BAOAB"):
            assert cls not in text, (path, cls)
        assert not re.search(r"def \w+_source\(grad_src", text), path


def test_ops_dispatch_on_the_reader():
    """One call, every reader: math for numbers, numpy for arrays, sympy for symbols
    (elementwise in object arrays), a recorded call for tracer nodes."""
    import sympy as sp

    from dynopt.engine import tracer

    assert ops.exp(0.5) == math.exp(0.5) and ops.expm1(1e-20) == 1e-20
    np.testing.assert_array_equal(ops.sqrt(np.array([4.0, 9.0])), [2.0, 3.0])
    h = sp.Symbol("h", positive=True)
    assert ops.sqrt(h) == sp.sqrt(h) and sp.simplify(ops.expm1(h) - (sp.exp(h) - 1)) == 0
    arr = ops.exp(np.array([[h, 2 * h]], dtype=object))
    assert arr.dtype == object and arr[0, 1] == sp.exp(2 * h)
    tr = tracer.Tracer({})
    node = ops.sqrt(tracer.Node(tr, "a"))
    assert isinstance(node, tracer.Node) and tr.lines == ["t0 = math.sqrt(a)"]


def test_kernels_read_the_current_constants_and_user_arithmetic_drifts():
    """A kernel is read from the step at every run: a model parameter changed between two
    runs is used (no stale constant); a user SDE whose drift is plain arithmetic compiles
    with it, one whose diffusion is a callable runs on numpy and says so."""
    k = dynamics.Kramers(WELL, 1.0, 0.7)
    first = simulate(k, "baoab", (0, 0.5), [0.3, 0.0], 0.01, backend="numba", **RUN)
    k.friction = 2.0
    a = simulate(k, "baoab", (0, 0.5), [0.3, 0.0], 0.01, backend="numba", **RUN)
    b = simulate(k, "baoab", (0, 0.5), [0.3, 0.0], 0.01, backend="numpy", **RUN)
    # the printed x**3 (x·x·x) and numpy's power may differ in the last bit
    np.testing.assert_allclose(a.y_final, b.y_final, rtol=0, atol=1e-12 * np.max(np.abs(b.y_final)))
    assert np.max(np.abs(a.y_final - first.y_final)) > 1e-3
    ou = dynamics.ornstein_uhlenbeck(1.0, 0.8, mean=0.25)
    a = simulate(ou, "stochastic-heun", (0, 1), [1.0], 0.01, **RUN)
    b = simulate(ou, "stochastic-heun", (0, 1), [1.0], 0.01, backend="numpy", **RUN)
    assert a.backend == "numba"
    np.testing.assert_array_equal(a.y_final, b.y_final)
    gbm = simulate(dynamics.geometric_brownian_motion(), "milstein", (0, 1), [1.0], 0.01, **RUN)
    assert gbm.backend == "numpy" and gbm.note == "not compiled: the SDE's diffusion g(t, x) is a Python callable"


def test_tracer_nodes_record_reflected_operators_powers_and_abs():
    """The tracer records a constant on the left (``c + x``, ``c − x``, ``c / x``, ``c ** x``) with
    its operands in that order, an integer power as a literal exponent and any other power through
    a constant argument, ``abs`` as a call; a boolean exponent is refused."""
    from dynopt.engine import tracer

    consts = {}
    tr = tracer.Tracer(consts)
    a = tracer.Node(tr, "a")
    out = [2.5 + a, 3.0 - a, 3.0 / a, 2.0 ** a, a ** 3, a ** np.int64(2), a ** 2.5, a ** a, abs(a), 2.5 - a]
    assert [n.name for n in out] == [f"t{k}" for k in range(10)]
    assert all(isinstance(n, tracer.Node) and n.tr is tr for n in out)
    assert tr.lines == ["t0 = c0 + a", "t1 = c1 - a", "t2 = c1 / a", "t3 = c2 ** a", "t4 = a ** 3",
                        "t5 = a ** 2", "t6 = a ** c0", "t7 = a ** a", "t8 = abs(a)", "t9 = c0 - a"]
    assert sorted(consts.values()) == [("c0", 2.5), ("c1", 3.0), ("c2", 2.0)]
    with pytest.raises(tracer.TraceError, match="mixes a boolean"):
        a ** True
    with pytest.raises(tracer.TraceError, match="mixes a boolean"):
        True ** a


def test_tracer_nodes_compare_only_with_none():
    """``x == None`` is False and ``x != None`` True (numpy and NamedTuple code asks that); any
    other comparison of a traced value is a branch on the state and is refused."""
    from dynopt.engine import tracer

    tr = tracer.Tracer({})
    a, b = tracer.Node(tr, "a"), tracer.Node(tr, "b")
    assert (a == None) is False  # noqa: E711
    assert (a != None) is True  # noqa: E711
    for cmp in (lambda: a == b, lambda: a != b, lambda: a == 0.0, lambda: a != 1):
        with pytest.raises(tracer.TraceError, match="branches on or converts a value of the state"):
            cmp()
    assert tr.lines == []
