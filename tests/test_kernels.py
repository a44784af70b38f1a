"""The compiled (numba) backend: same normals, same paths as numpy, chunk invariance,
fallbacks.  Kernels are cached on disk by numba (cache=True), so only a first run compiles."""
import dataclasses
import sys

import numpy as np
import pytest
import sympy

pytest.importorskip("numba")

from python_kernels import python_kernels  # noqa: E402
from dynopt.dynamics import Kramers, OverdampedLangevin  # noqa: E402
from dynopt.engine import codegen  # noqa: E402
from dynopt.engine import EnsembleOptions, Histogram, Moments, SerialExecutor, brownian_increments, kernels, simulate  # noqa: E402
from dynopt.problems import double_well, from_expr, get_problem  # noqa: E402

WELL2 = from_expr("(x**2 - 1)**2 + 2*y**2", name="well2")


@pytest.fixture(autouse=True)
def _every_run_pays_to_compile(monkeypatch):
    # these tests are about what "auto" can compile, not about when compiling pays
    # (tests/test_kernels_auto.py): every run here is worth compiling
    from dynopt.engine import kernels as _k

    monkeypatch.setattr(_k, "COMPILE_SECONDS", 0.0)


FLAT = from_expr(sympy.Integer(0), symbols=[sympy.Symbol("x")], name="flat")
SIGMA = np.array([[0.5, 0.1], [0.0, 0.3]])

CASES = {
    "em-scalar-1d": (OverdampedLangevin(double_well(), 0.7), "euler-maruyama", [0.3]),
    "em-scalar-2d": (OverdampedLangevin(WELL2, 0.7), "euler-maruyama", [0.3, -0.2]),
    "em-matrix-2d": (OverdampedLangevin(WELL2, SIGMA), "euler-maruyama", [0.3, -0.2]),
    "milstein": (OverdampedLangevin(WELL2, 0.7), "milstein", [0.3, -0.2]),
    "milstein-matrix": (OverdampedLangevin(WELL2, SIGMA), "milstein", [0.3, -0.2]),
    "heun": (OverdampedLangevin(WELL2, 0.7), "stochastic-heun", [0.3, -0.2]),
    "heun-matrix": (OverdampedLangevin(WELL2, SIGMA), "stochastic-heun", [0.3, -0.2]),
    "leimkuhler-matthews": (OverdampedLangevin(WELL2, 0.7), "leimkuhler-matthews", [0.3, -0.2]),
    "lm-matrix": (OverdampedLangevin(WELL2, SIGMA), "leimkuhler-matthews", [0.3, -0.2]),
    "baoab": (Kramers(WELL2, 1.0, 0.7), "baoab", [0.3, -0.2]),
    "obabo": (Kramers(WELL2, 1.0, 0.7), "obabo", [0.3, -0.2]),
    "aboba": (Kramers(double_well(), 0.5, 0.7), "aboba", [0.3]),
    "momentum-sgd": (Kramers(WELL2, 1.0, 0.7), "momentum-sgd", [0.3, -0.2]),
}
RUN = dict(n_paths=300, seed=11, options=EnsembleOptions(block_size=64))


def run_with(**changes):
    """RUN with ``changes`` to its options."""
    return dict(RUN, options=dataclasses.replace(RUN["options"], **changes))


def _rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("case", list(CASES))
def test_numba_and_numpy_backends_agree(case):
    """Same normals (the same per-block SFC64 streams, same order) → same states up to
    rounding; the gradient count is the numpy backend's."""
    model, scheme, y0 = CASES[case]
    a = simulate(model, scheme, (0, 2), y0, 0.01, backend="numba", **RUN)
    b = simulate(model, scheme, (0, 2), y0, 0.01, backend="numpy", **RUN)
    assert (a.backend, b.backend) == ("numba", "numpy")
    assert np.all(np.isfinite(a.y_final))
    assert _rel(a.y_final, b.y_final) <= 1e-12
    assert a.grad_evals == b.grad_evals


def test_kernel_draws_the_numpy_normals():
    """On a flat potential EM is y0 + σ Σ ΔW: the kernel's sums equal numpy's increments."""
    model = OverdampedLangevin(FLAT, 0.5)
    r = simulate(model, "euler-maruyama", (0, 1), [0.0], 0.05, backend="numba", **RUN)
    dW = brownian_increments(RUN["n_paths"], 20, 0.05, seed=RUN["seed"], block_size=RUN["options"].block_size)
    np.testing.assert_allclose(r.y_final, 0.5 * dW.sum(axis=0), rtol=0, atol=1e-13)


@pytest.mark.parametrize("case", ["em-scalar-2d", "obabo", "leimkuhler-matthews"])
def test_numba_is_bit_identical_for_three_chunk_sizes(case):
    model, scheme, y0 = CASES[case]
    runs = [simulate(model, scheme, (0, 1), y0, 0.01, backend="numba", **run_with(chunk_size=cs))
            for cs in (64, 128, 300)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.y_final, runs[0].y_final)


@pytest.mark.parametrize("case", ["em-scalar-2d", "baoab"])
def test_numba_threads_give_identical_bits(case):
    model, scheme, y0 = CASES[case]
    obs = lambda: [Moments(every=20)]  # noqa: E731
    runs = [simulate(model, scheme, (0, 1), y0, 0.01, observers=obs(), backend="numba",
                     **run_with(threads=t, chunk_size=300)) for t in (1, 2, 3)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.y_final, runs[0].y_final)
        np.testing.assert_array_equal(r.observations["moments"].mean, runs[0].observations["moments"].mean)


def test_numba_on_a_serial_executor_equals_a_serial_run():
    model, scheme, y0 = CASES["baoab"]
    a = simulate(model, scheme, (0, 1), y0, 0.01, backend="numba", **RUN)
    b = simulate(model, scheme, (0, 1), y0, 0.01, backend="numba", executor=SerialExecutor(), **RUN)
    assert b.backend == "numba"
    np.testing.assert_array_equal(a.y_final, b.y_final)


def test_observers_and_saved_paths_match_numpy():
    """Moments and Histogram see the same states at their steps on both backends."""
    model, scheme, y0 = CASES["baoab"]

    def run(backend):
        obs = [Moments(every=25), Histogram(20, (-2.0, 2.0), every=10)]
        return simulate(model, scheme, (0, 1), y0, 0.01, observers=obs, backend=backend,
                        **run_with(save_every=30))
    a, b = run("numba"), run("numpy")
    np.testing.assert_allclose(a.observations["moments"].mean, b.observations["moments"].mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(a.observations["histogram"].counts, b.observations["histogram"].counts)
    assert _rel(a.y, b.y) <= 1e-12


def test_divergence_detection_matches_numpy():
    """An unbounded-below potential: the same paths blow up at the same detection steps."""
    model = OverdampedLangevin(from_expr("-x**4/4", name="cliff"), 1.0)
    a = simulate(model, "euler-maruyama", (0, 3), [1.0], 0.05, backend="numba",
                 **run_with(check_every=4))
    b = simulate(model, "euler-maruyama", (0, 3), [1.0], 0.05, backend="numpy",
                 **run_with(check_every=4))
    assert 0 < a.n_diverged < RUN["n_paths"]
    np.testing.assert_array_equal(a.diverged_step, b.diverged_step)
    assert np.isnan(a.y_final[~a.alive]).all()
    assert _rel(a.y_final[a.alive], b.y_final[b.alive]) <= 1e-12


def test_float32_runs_compiled_close_to_numpy():
    model, scheme, y0 = CASES["em-scalar-2d"]
    a = simulate(model, scheme, (0, 1), y0, 0.01, backend="numba", **run_with(dtype=np.float32))
    b = simulate(model, scheme, (0, 1), y0, 0.01, backend="numpy", **run_with(dtype=np.float32))
    assert a.y_final.dtype == np.float32 and a.backend == "numba"
    assert _rel(a.y_final.astype(float), b.y_final.astype(float)) <= 1e-5
    assert simulate(model, scheme, (0, 0.1), y0, 0.01, **run_with(dtype=np.float32)).backend == "numpy"


def test_auto_picks_numba_and_falls_back_for_uncompiled_schemes():
    model, _, y0 = CASES["em-scalar-2d"]
    assert simulate(model, "euler-maruyama", (0, 0.1), y0, 0.01, **RUN).backend == "numba"
    diag = OverdampedLangevin(WELL2, lambda x: 0.5 + 0.1 * x ** 2, noise="diagonal")
    r = simulate(diag, "milstein", (0, 0.1), y0, 0.01, **RUN)
    assert r.backend == "numpy" and r.note == "not compiled: σ(θ) is a Python callable (give it as sympy expressions to compile it)"
    with pytest.raises(ValueError, match="milstein"):
        simulate(diag, "milstein", (0, 0.1), y0, 0.01, backend="numba", **RUN)
    with pytest.raises(ValueError, match="backend"):
        simulate(model, "euler-maruyama", (0, 0.1), y0, 0.01, backend="gpu", **RUN)


def test_a_subclass_changing_a_substep_compiles_its_own_step():
    """The kernel is read from the scheme's step: a subclass with another O substep gets its
    own kernel (no copy of the built-in splitting's arithmetic to go stale)."""
    from dynopt.schemes.langevin import Splitting

    class Damped(Splitting):
        def _o(self, model, p, h, xi):
            return p * 0.5 + xi * (0.1 * h)

    model, _, y0 = CASES["baoab"]
    base = simulate(model, Splitting("BAOAB"), (0, 0.1), y0, 0.01, **RUN)
    a = simulate(model, Damped("BAOAB"), (0, 0.1), y0, 0.01, backend="numba", **RUN)
    b = simulate(model, Damped("BAOAB"), (0, 0.1), y0, 0.01, backend="numpy", **RUN)
    assert base.backend == a.backend == "numba"
    assert _rel(a.y_final, b.y_final) <= 1e-12 and _rel(a.y_final, base.y_final) > 1e-3


def test_a_replaced_grad_fn_is_not_compiled_from_the_old_expression():
    """A copy with another gradient keeps the old expression: the kernel must not use it."""
    p = dataclasses.replace(WELL2, grad_fn=lambda x: 2 * x)
    r = simulate(OverdampedLangevin(p, 0.7), "euler-maruyama", (0, 0.1), [0.3, 0.1], 0.01, **RUN)
    assert r.backend == "numpy"


def test_gradients_sympy_cannot_print_run_on_numpy(monkeypatch):
    x = sympy.Symbol("x")
    p = from_expr(x ** 2 + sympy.erf(x), name="erf")
    assert simulate(OverdampedLangevin(p, 0.7), "euler-maruyama", (0, 0.1), [0.3], 0.01, **RUN).backend == "numba"
    with monkeypatch.context() as m:
        m.setattr(codegen, "gradient_source", lambda problem: None)
        r = simulate(OverdampedLangevin(p, 0.7), "euler-maruyama", (0, 0.1), [0.3], 0.01, **RUN)
    assert r.backend == "numpy"
    lessard = OverdampedLangevin(get_problem("lessard"), 0.3)  # a Piecewise expression compiles
    assert simulate(lessard, "euler-maruyama", (0, 0.1), [0.5], 0.01, **RUN).backend == "numba"


def test_numpy_fallback_when_numba_cannot_be_imported(monkeypatch):
    """``import numba`` fails (a None entry in sys.modules makes it raise ImportError)."""
    monkeypatch.setitem(sys.modules, "numba", None)
    assert not kernels.numba_available()
    model, scheme, y0 = CASES["baoab"]
    r = simulate(model, scheme, (0, 0.1), y0, 0.01, **RUN)
    assert r.backend == "numpy"
    assert r.note == "ran on the numpy backend: numba cannot be imported"
    with pytest.raises(ValueError, match="needs numba"):
        simulate(model, scheme, (0, 0.1), y0, 0.01, backend="numba", **RUN)


def test_gradient_source_is_generated_from_the_expression():
    from dynopt.engine.codegen import gradient_source
    src = gradient_source(WELL2)
    assert src.startswith("def grad(x, g):") and "g[1]" in src
    assert gradient_source(dataclasses.replace(WELL2, expr=None)) is None


def test_momentum_sgd_numpy_path_on_a_cubic_force_matches_the_kernel():
    pytest.importorskip("numba")
    from dynopt.dynamics import Kramers
    from dynopt.engine import EnsembleOptions, simulate
    from dynopt.problems import double_well

    # double_well's force takes the in-place odd-cubic path (the work array) on numpy
    model = Kramers(double_well(), 0.5, 0.7)
    run = dict(n_paths=64, seed=11, options=EnsembleOptions(block_size=32))
    a = simulate(model, "momentum-sgd", (0, 1), [0.3, 0.0], 0.01, backend="numba", **run)
    b = simulate(model, "momentum-sgd", (0, 1), [0.3, 0.0], 0.01, backend="numpy", **run)
    assert (a.backend, b.backend) == ("numba", "numpy")
    np.testing.assert_allclose(b.y_final, a.y_final, rtol=1e-12, atol=1e-12)


def test_kernel_cache_dir_defaults(monkeypatch, tmp_path):
    from pathlib import Path

    from dynopt.engine import codegen

    monkeypatch.delenv("DYNOPT_KERNEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert codegen.cache_dir() == tmp_path / "dynopt" / "kernels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert codegen.cache_dir() == Path(tmp_path / "home" / ".cache" / "dynopt" / "kernels")


def test_a_kernel_that_fails_to_compile_with_a_one_line_error_falls_back(monkeypatch):
    pytest.importorskip("numba")
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, codegen, kernels
    from dynopt.schemes import get_scheme

    def boom(src):
        raise RuntimeError("boom")

    monkeypatch.setattr(codegen, "load_module", boom)
    why = kernels.compile_kernel(dynamics.OverdampedLangevin(problems.double_well(), 0.7),
                                 get_scheme("euler-maruyama"), 0.01, EnsembleOptions())
    assert why == "the kernel could not be compiled (RuntimeError: boom)"


def test_point_function_source_runs_as_python_and_declines_what_it_cannot_print(monkeypatch):
    """point_function_source: private names, shared subexpressions, the stored values by hand;
    None for a foreign symbol, a printer error, or a lenient printer's 'Not supported' text."""
    import math

    from sympy.printing.pycode import pycode

    x, g = sympy.symbols("x g", real=True)  # a user's symbols may shadow the function's own names
    exprs = [sympy.exp(x) * g + sympy.sin(x), sympy.exp(x) * g - 1]
    src = codegen.point_function_source("def f(x, g):", exprs, (x, g), ["g[0]", "g[1]"])
    assert src.startswith("def f(x, g):\n    _x0 = x[0]\n    _x1 = x[1]\n") and src.endswith("\n")
    assert "_c0 = " in src  # exp(x)·g computed once
    ns = {"math": math}
    exec(src, ns)  # noqa: S102 - source printed by sympy, in a test
    out = [0.0, 0.0]
    ns["f"]([0.3, 2.0], out)
    assert out == pytest.approx([math.exp(0.3) * 2 + math.sin(0.3), math.exp(0.3) * 2 - 1], rel=1e-14)
    assert codegen.point_function_source("def f(x, g):", [x + 1, x + sympy.Symbol("q")], (x,), ["g[0]", "g[1]"]) is None
    assert codegen.point_function_source("def f(x, g):", [sympy.zeta(x)], (x,), ["g[0]"]) is None
    monkeypatch.setattr(codegen, "pycode", lambda e: pycode(e, strict=False))
    assert "Not supported" in pycode(sympy.zeta(x), strict=False)
    assert codegen.point_function_source("def f(x, g):", [sympy.zeta(x)], (x,), ["g[0]"]) is None
    assert codegen.point_function_source("def f(x, g):", [x + 1], (x,), ["g[0]"]).endswith("    g[0] = _x0 + 1\n")


def test_generated_kernel_run_as_python_is_euler_maruyama_by_hand(monkeypatch):
    """step_source's loop (draws per path, the traced step, checks at check_every and k1, NaN for a
    diverged path) executed as Python: Euler–Maruyama by hand on L = 2x² with the block streams."""
    python_kernels(monkeypatch)
    model = OverdampedLangevin(from_expr("2*x**2", name="q2"), 0.5)
    y0 = np.array([[1.0], [-0.5], [0.25], [2.0], [1e9], [0.0]])
    n, steps, h = 6, 7, 0.05
    r = simulate(model, "euler-maruyama", (0, steps * h), y0, h, n_paths=n, seed=8, backend="numba",
                 options=EnsembleOptions(block_size=4, check_every=3, save_every=2, progress=False))
    assert r.backend == "numba"
    dW = brownian_increments(n, steps, h, seed=8, block_size=4)[:, :, 0]
    x = y0[:, 0].copy()
    xs = [x.copy()]
    for k in range(steps):
        x = x - h * 4 * x + 0.5 * dW[k]
        xs.append(x.copy())
    xs = np.array(xs)
    ok = [0, 1, 2, 3, 5]
    np.testing.assert_allclose(r.y_final[ok, 0], xs[-1, ok], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.y[:, ok, 0], xs[[0, 2, 4, 6, 7]][:, ok], rtol=1e-12, atol=1e-15)
    assert r.diverged_step.tolist() == [-1] * 6 and r.grad_evals == steps


def test_generated_kernel_run_as_python_marks_divergence_at_its_checks(monkeypatch):
    """step_source's divergence check run as Python: x ← -3x passes 1e12 at step 26 (checked at 28, a
    multiple of check_every) or 30 (the last step); the diverged path's state is NaN."""
    python_kernels(monkeypatch)
    model = OverdampedLangevin(from_expr("2*x**2", name="q2"), 1e-30)
    y0 = np.array([[1.0], [0.01], [1e-6]])
    r = simulate(model, "euler-maruyama", (0, 30.0), y0, 1.0, n_paths=3, seed=2, backend="numba",
                 options=EnsembleOptions(check_every=4, progress=False))
    assert r.backend == "numba" and r.diverged_step.tolist() == [28, 30, -1]
    assert np.isnan(r.y_final[:2]).all()
    np.testing.assert_allclose(r.y_final[2, 0], 1e-6 * (-3.0) ** 30, rtol=1e-9)


def test_compile_kernel_reasons(monkeypatch):
    """compile_kernel: why a run gets no kernel — substeps, own noise, a grad_fn that is not the
    expression's gradient, a module that cannot be loaded — each in words."""
    from dynopt.schemes import get_scheme

    python_kernels(monkeypatch)
    opts = EnsembleOptions()
    model = OverdampedLangevin(from_expr("2*x**2", name="q2"), 0.5)
    em = get_scheme("euler-maruyama")
    assert isinstance(kernels.compile_kernel(model, em, 0.1, opts), kernels.Kernel)
    assert kernels.compile_kernel(model, em, 0.1, EnsembleOptions(brownian_substeps=2)) == \
        "Brownian substeps are not compiled"
    sgd = get_scheme("sgd")
    assert kernels.compile_kernel(model, sgd, 0.1, opts) == \
        f"sgd draws its own noise ({sgd.noise_kind}), which kernels do not"
    wrong = dataclasses.replace(model.problem, grad_fn=lambda x: 3.0 * x)
    assert kernels.compile_kernel(OverdampedLangevin(wrong, 0.5), em, 0.1, opts) == \
        "the problem's grad_fn does not match its sympy expression"

    def broken(source):
        raise OSError("disk full\nsecond line")

    monkeypatch.setattr(codegen, "load_module", broken)
    assert kernels.compile_kernel(model, em, 0.1, opts) == "the kernel could not be compiled (OSError: disk full)"


def test_kernel_params_and_evaluation_counts_of_a_compiled_step(monkeypatch):
    """compile_kernel: params = the step's constants in the run's dtype, t0, dt, noise dim and the
    global limit; evals = (init, first, later) gradient evaluations."""
    from dynopt.engine.loop import BLOWUP
    from dynopt.schemes import get_scheme

    python_kernels(monkeypatch)
    model = OverdampedLangevin(from_expr("2*x**2", name="q2"), 0.5)
    for dtype in (np.float64, np.float32):
        k = kernels.compile_kernel(model, get_scheme("euler-maruyama"), 0.1, EnsembleOptions(dtype=dtype), t0=0.5)
        consts = k.params[:-4]
        assert all(type(c) is np.dtype(dtype).type for c in consts)
        assert k.params[-4:] == (0.5, 0.1, 1, BLOWUP) and type(k.params[-4]) is float
        assert k.evals == (0, 1, 1) and k.passage is None and k.program.fields
    heun = kernels.compile_kernel(model, get_scheme("stochastic-heun"), 0.1, EnsembleOptions())
    assert heun.evals[1:] == (2, 2)
    baoab = kernels.compile_kernel(Kramers(model.problem, 1.0, 0.5), get_scheme("baoab"), 0.1, EnsembleOptions())
    assert baoab.evals == (1, 1, 1)  # the force of init, then one per step


class _ToyState(__import__("typing").NamedTuple):
    x: np.ndarray
    grad_evals: int = 0
    tag: object = None


class _ToyScheme:
    """A scheme built in the test: x ← x - h·∇L(x) + z, with hooks that break the tracer's rules."""

    name, n_terms, noise_kind, State = "toy", 1, "normal", _ToyState

    def __init__(self, **breaks):
        self.breaks = breaks

    def init(self, model, y0, dt):
        return _ToyState(np.array(y0, dtype=float), 0, self.breaks.get("tag0"))

    def step(self, model, t, state, dt, z):
        g = model.grad(state.x if not self.breaks.get("flat_grad") else state.x[0])
        x = state.x - dt * g + z[0]
        if self.breaks.get("wrong_type"):
            return (x,)
        return _ToyState(x, state.grad_evals + 1, self.breaks.get("tag1", state.tag))

    def output(self, model, state):
        return state[0][0] if self.breaks.get("flat_output") else state[0]


def test_trace_step_refuses_what_a_straight_line_kernel_cannot_hold():
    """trace_step: each rule of the tracer, broken by a toy scheme, is refused with its reason."""
    from dynopt.engine import tracer

    model = OverdampedLangevin(from_expr("2*x**2", name="q2"), 0.5)
    prog = tracer.trace_step(model, _ToyScheme(), 0.1, {"grad"})
    assert prog.fields == ("x",) and prog.widths == (1,) and prog.later is None and prog.init_evals == 0
    assert prog.first.evals == 1 and prog.first.reads == {"x": ["a_x_0"]} and len(prog.first.outputs) == 1
    assert prog.statics == ({"tag": None},) and prog.state_type is _ToyState

    class NoState(_ToyScheme):
        State = None

    cases = [
        (NoState(), "the scheme's state is not a NamedTuple with a `grad_evals` field"),
        (_ToyScheme(wrong_type=True), "the step does not return the scheme's State"),
        (_ToyScheme(flat_output=True), r"the scheme's output has shape \(1,\), not one row per path"),
        (_ToyScheme(flat_grad=True), r"an oracle was called on an array of shape \(1,\), not one row per path"),
        (_ToyScheme(tag0="a", tag1="b"), None),
    ]
    for scheme, why in cases:
        if why is None:
            p = tracer.trace_step(model, scheme, 0.1, {"grad"})
            assert p.later is not None and p.statics == ({"tag": "b"},)  # the first step changed a static
            continue
        with pytest.raises(tracer.TraceError, match=f"^{why}$"):
            tracer.trace_step(model, scheme, 0.1, {"grad"})


def test_trace_step_refuses_a_state_that_keeps_changing():
    """trace_step: a state whose structure changes after its second step is refused."""
    from dynopt.engine import tracer

    class Drifting(_ToyScheme):
        def step(self, model, t, state, dt, z):
            out = super().step(model, t, state, dt, z)
            return out._replace(tag=(state.tag or 0) + 1)

    model = OverdampedLangevin(from_expr("2*x**2", name="q2"), 0.5)
    with pytest.raises(tracer.TraceError, match=r"^the step changes the state's structure after its second step$"):
        tracer.trace_step(model, Drifting(), 0.1, {"grad"})
    assert tracer._same_statics({"a": 1}, {"a": 1}) and not tracer._same_statics({"a": 1}, {"a": 1.0})
    assert not tracer._same_statics({"a": 1}, {"b": 1}) and not tracer._same_statics({"a": 1}, {"a": 2})
    obj = object()
    assert tracer._same_statics({"a": obj}, {"a": obj})


@pytest.mark.parametrize("case", ["em-matrix-2d", "milstein", "heun", "leimkuhler-matthews", "baoab", "obabo"])
@pytest.mark.parametrize("normals", ["sfc64", "philox"])
def test_generated_kernels_run_as_python_equal_numpy(case, normals, monkeypatch):
    """step_source/_draws for one and several noise terms, SFC64 and Philox: the generated loop run
    as Python gives the numpy backend's paths and saved states."""
    if case not in CASES:
        pytest.skip(f"no case {case}")
    model, scheme, y0 = CASES[case]
    opts = EnsembleOptions(block_size=4, save_every=2, check_every=3, normals=normals, progress=False)
    def obs():
        return [Moments(every=2), Histogram(8, (-2.0, 2.0), every=1)]

    ref = simulate(model, scheme, (0, 0.05), y0, 0.01, n_paths=6, seed=4, backend="numpy", options=opts,
                   observers=obs())
    python_kernels(monkeypatch)
    got = simulate(model, scheme, (0, 0.05), y0, 0.01, n_paths=6, seed=4, backend="numba", options=opts,
                   observers=obs())
    assert got.backend == "numba" and got.grad_evals == ref.grad_evals
    np.testing.assert_allclose(got.moments.mean, ref.moments.mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(got.moments.t, ref.moments.t)
    np.testing.assert_array_equal(got.histogram.counts, ref.histogram.counts)
    assert got.histogram.total == ref.histogram.total == 6 * 6
    np.testing.assert_allclose(got.y_final, ref.y_final, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got.y, ref.y, rtol=1e-12, atol=1e-14)


def test_kernel_rounds_end_at_stops_and_check_multiples():
    """_rounds: the observed steps and the last, plus check_every multiples cutting rounds of about
    ROUND_PATH_STEPS path-steps."""
    assert kernels.ROUND_PATH_STEPS == 2 ** 26
    # more paths than a round holds: a round is one check interval
    assert kernels._rounds([10, 25], 2 ** 30, 4) == [4, 8, 10, 12, 16, 20, 24, 25]
    assert kernels._rounds([10], 2 ** 20, 4) == [10]  # 64 steps per round: no cut
    n = 2 ** 26 // 8  # 8 steps per round
    assert kernels._rounds([20], n, 4) == [8, 16, 20]
    assert kernels._rounds([5, 20], n, 4) == [5, 8, 16, 20]
    assert kernels._rounds([16], n, 4) == [8, 16]
    assert kernels._rounds([20], n, 3) == [6, 12, 18, 20]


def test_load_module_writes_once_by_hash_and_cached_on_disk_reads_the_index(monkeypatch, tmp_path):
    """load_module: the source is written to k_<hash>.py in the cache folder and imported once per
    process; cached_on_disk: that file with this text and a numba index of its run."""
    import hashlib

    folder = tmp_path / "kc"
    monkeypatch.setenv("DYNOPT_KERNEL_CACHE", str(folder))
    src = f"VALUE = {id(tmp_path)}\n"
    key = hashlib.sha256(src.encode()).hexdigest()[:20]
    assert codegen.loaded_module(src) is None and not codegen.cached_on_disk(src)
    mod = codegen.load_module(src)
    assert mod.VALUE == id(tmp_path) and (folder / f"k_{key}.py").read_text() == src
    assert codegen.load_module(src) is mod and codegen.loaded_module(src) is mod
    assert mod.__name__ == f"dynopt_kernel_{key}" and sys.modules[mod.__name__] is mod
    assert not codegen.cached_on_disk(src)  # no numba index yet
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / f"k_{key}.run-3.py311.nbi").write_bytes(b"")
    assert codegen.cached_on_disk(src)
    (folder / f"k_{key}.py").write_text(src + "# edited\n")
    assert not codegen.cached_on_disk(src)
    assert not list(folder.glob(".k_*.tmp"))  # written through a temporary file, then renamed


def test_sigma_source_stores_amplitudes_and_their_own_derivatives():
    """sigma_source: sig(x, s, ds) with s[i] = σ_i(x) and ds[i] = ∂σ_i/∂x_i, checked by hand as Python."""
    import math

    from dynopt.engine.codegen_sde import sigma_source

    x, y = sympy.symbols("x y", real=True)
    src = sigma_source((0.5 + 0.1 * x ** 2 * y, sympy.sin(x) * y ** 2), (x, y))
    assert src.startswith("def sig(x, s, ds):\n")
    ns = {"math": math}
    exec(src, ns)  # noqa: S102 - printed by sympy, in a test
    s, ds = [0.0, 0.0], [0.0, 0.0]
    ns["sig"]([0.3, -2.0], s, ds)
    assert s == pytest.approx([0.5 + 0.1 * 0.09 * -2.0, math.sin(0.3) * 4.0], rel=1e-14)
    assert ds == pytest.approx([0.2 * 0.3 * -2.0, math.sin(0.3) * 2 * -2.0], rel=1e-14)  # ∂σ₀/∂x, ∂σ₁/∂y
    assert sigma_source((sympy.zeta(x),), (x,)) is None
