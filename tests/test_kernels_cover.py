"""The compiled backend's first passage: the crossing test, absorption (True and "survivors")
and the Brownian-bridge records run inside the kernel and give the numpy backend's numbers.

On a ``from_expr`` potential both backends evaluate the same gradient expression in the same
order, so states, passage steps, censoring and bridge weights are compared bit for bit."""
import dataclasses

import numpy as np
import pytest
import sympy

pytest.importorskip("numba")

from dynopt.dynamics import Kramers, OverdampedLangevin  # noqa: E402
from dynopt.engine import (EnsembleOptions, FirstPassage, Moments, SerialExecutor, ValuesAt,  # noqa: E402
                           brownian_increments, kernels, simulate)
from dynopt.engine.codegen_passage import PassageSpec, passage_source  # noqa: E402
from dynopt.problems import from_expr  # noqa: E402


@pytest.fixture(autouse=True)
def _every_run_pays_to_compile(monkeypatch):
    # these tests are about what "auto" can compile, not about when compiling pays
    # (tests/test_kernels_auto.py): every run here is worth compiling
    from dynopt.engine import kernels as _k

    monkeypatch.setattr(_k, "COMPILE_SECONDS", 0.0)


WELL = from_expr("(x**2 - 1)**2/4 + y**2", name="well2")
FLAT = from_expr(sympy.Integer(0), symbols=[sympy.Symbol("x")], name="flat")
SIGMA = np.array([[0.7, 0.1], [0.0, 0.5]])

# model, scheme, passage condition (position or velocity component)
CASES = {
    "em": (OverdampedLangevin(WELL, 0.7), "euler-maruyama", (0, -0.2, "above")),
    "milstein-matrix": (OverdampedLangevin(WELL, SIGMA), "milstein", (1, -0.3, "below")),
    "heun-matrix": (OverdampedLangevin(WELL, SIGMA), "stochastic-heun", (0, -0.2, "above")),
    "leimkuhler-matthews": (OverdampedLangevin(WELL, 0.7), "leimkuhler-matthews", (0, -0.2, "above")),
    "baoab": (Kramers(WELL, 1.0, 0.7), "baoab", (0, -0.5, "above")),
    "obabo-velocity": (Kramers(WELL, 1.0, 0.7), "obabo", (2, 0.6, "above")),
    "momentum-velocity": (Kramers(WELL, 1.0, 0.7), "momentum-sgd", (2, 0.6, "above")),
}
RUN = dict(n_paths=300, seed=7, options=EnsembleOptions(block_size=64, progress=False))


def run_with(**changes):
    """RUN with ``changes`` to its options."""
    return dict(RUN, options=dataclasses.replace(RUN["options"], **changes))
FIELDS = ("step", "weight", "censor_time", "event_time", "bridge_path", "bridge_time", "bridge_weight")


def _observers(cond, absorb, bridge, every=1):
    # the callable observer runs in Python at its steps; every path the absorbing one
    # stops has passed it before (no component moves 0.5 in a step here)
    coord, level, side = cond
    early = (lambda y: y[:, coord] >= level - 0.5) if side == "above" else (lambda y: y[:, coord] <= level + 0.5)
    return [FirstPassage(cond, absorb=absorb, bridge=bridge, every=every),
            FirstPassage(early, name="early", every=5),
            Moments(every=20), ValuesAt([1.0])]


def _run(case, backend, absorb=True, bridge=0.7, every=1, executor=None, **changes):
    model, scheme, cond = CASES[case]
    return simulate(model, scheme, (0, 2.0), [-1.0, 0.0], 0.01, observers=_observers(cond, absorb, bridge, every),
                    backend=backend, executor=executor, **run_with(save_every=40, **changes))


def _close(x, y, rtol):
    """Equal bit for bit (rtol 0), or to ``rtol`` relative to the largest entry."""
    if rtol == 0:
        return np.array_equal(x, y, equal_nan=True)
    x, y = np.asarray(x, float), np.asarray(y, float)
    same_nan = np.array_equal(np.isnan(x), np.isnan(y))
    return same_nan and np.nanmax(np.abs(x - y), initial=0.0) <= rtol * np.nanmax(np.abs(y), initial=1.0)


def _assert_same(a, b, rtol=0.0, weights_rtol=0.0):
    """Passage steps, censoring and record positions equal; states to ``rtol``, bridge
    weights to ``weights_rtol`` (a hazard exp(−c d₀ d₁) amplifies the states' rounding)."""
    for name in ("first_passage", "early"):
        for f in FIELDS:
            x, y = getattr(a.observations[name], f), getattr(b.observations[name], f)
            assert _close(x, y, weights_rtol if "weight" in f else 0.0), (name, f)
    for f in ("y_final", "y"):
        assert _close(getattr(a, f), getattr(b, f), rtol), f
    assert np.array_equal(a.diverged_step, b.diverged_step)
    assert _close(a.moments.mean, b.moments.mean, rtol)
    assert np.array_equal(a.moments.count, b.moments.count)
    assert _close(a.observations["values"][1], b.observations["values"][1], rtol)
    assert a.grad_evals == b.grad_evals


@pytest.mark.parametrize("absorb", [False, True, "survivors"])
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_passage_equals_numpy(case, absorb):
    """Same passage steps, censoring, bridge weights, absorbed states, saved paths and
    observations as the numpy backend, bit for bit."""
    a = _run(case, "numba", absorb)
    b = _run(case, "numpy", absorb)
    assert (a.backend, b.backend) == ("numba", "numpy")
    fp = a.observations["first_passage"]
    assert 0.1 < fp.passed.mean() < 0.95 and fp.bridge_path.size > 0
    # matrix σ: numpy multiplies by G with BLAS, the kernel in a loop (other rounding)
    matrix = CASES[case][0].scalar_sigma is None and isinstance(CASES[case][0], OverdampedLangevin)
    _assert_same(a, b, *((1e-12, 1e-9) if matrix else (0.0, 0.0)))
    if absorb:  # an absorbed path stays where it passed
        coord, level, side = CASES[case][2]
        y = a.y_final[fp.passed, coord]
        assert np.all(y >= level) if side == "above" else np.all(y <= level)


@pytest.mark.parametrize("absorb,bridge,every", [(True, None, 3), ("survivors", 0.7, 2), (False, 0.7, 4)])
def test_compiled_passage_with_coarser_checks(absorb, bridge, every):
    a = _run("baoab", "numba", absorb, bridge, every)
    b = _run("baoab", "numpy", absorb, bridge, every)
    assert a.backend == "numba"
    _assert_same(a, b)


@pytest.mark.parametrize("absorb", [True, "survivors"])
def test_compiled_passage_is_chunk_and_thread_invariant(absorb):
    ref = _run("obabo-velocity", "numba", absorb, chunk_size=64)
    for chunk, threads in ((128, 1), (300, 1), (300, 2), (128, 2)):
        other = _run("obabo-velocity", "numba", absorb, chunk_size=chunk, threads=threads)
        _assert_same(ref, other)


def test_compiled_passage_on_an_executor_equals_a_serial_run():
    a = _run("em", "numba", "survivors")
    b = _run("em", "numba", "survivors", executor=SerialExecutor())
    assert b.backend == "numba"
    _assert_same(a, b)


def test_bridge_records_overflowing_the_kernel_buffer_are_all_kept():
    """A large bridge amplitude makes paths far below the level record at nearly every step:
    the kernel's buffer (4 × block + 64) fills many times and is emptied between calls."""
    model = OverdampedLangevin(WELL, 0.7)
    obs = lambda: [FirstPassage((1, 1.0, "above"), bridge=5.0)]  # noqa: E731
    a = simulate(model, "euler-maruyama", (0, 1.0), [-1.0, 0.0], 0.01, observers=obs(), backend="numba", **RUN)
    b = simulate(model, "euler-maruyama", (0, 1.0), [-1.0, 0.0], 0.01, observers=obs(), backend="numpy", **RUN)
    assert a.first_passage.bridge_path.size > 20 * (4 * RUN["options"].block_size + 64)
    for f in FIELDS:
        assert np.array_equal(getattr(a.first_passage, f), getattr(b.first_passage, f), equal_nan=True), f


@pytest.mark.parametrize("absorb,every", [(False, 3), (True, 1)])
def test_blown_up_paths_are_censored_as_on_numpy(absorb, every):
    """An unbounded-below potential: paths that blow up before passing are censored at the
    observer's first check at or after the detection (states to rounding: numpy's x**3 is
    a pow, the kernel's a product)."""
    model = OverdampedLangevin(from_expr("-x**4/4 + x", name="cliff"), 1.0)
    obs = lambda: [FirstPassage((0, -1.5, "below"), absorb=absorb, every=every)]  # noqa: E731
    kw = run_with(check_every=4)
    a = simulate(model, "euler-maruyama", (0, 3), [0.5], 0.05, observers=obs(), backend="numba", **kw)
    b = simulate(model, "euler-maruyama", (0, 3), [0.5], 0.05, observers=obs(), backend="numpy", **kw)
    assert 0 < a.n_diverged < RUN["n_paths"] and a.first_passage.passed.any()
    assert np.array_equal(a.diverged_step, b.diverged_step)
    for f in FIELDS:
        assert np.array_equal(getattr(a.first_passage, f), getattr(b.first_passage, f), equal_nan=True), f
    assert _close(a.y_final, b.y_final, 1e-12)


def test_absorbing_runs_draw_the_normals_of_a_full_run():
    """On a flat potential EM is y0 + σ ΣΔW: the paths that never pass end at the full sums
    of the numpy increments (absorbed paths' normals were drawn and dropped)."""
    model = OverdampedLangevin(FLAT, 0.5)
    obs = [FirstPassage((0, 0.4, "above"), absorb=True)]
    r = simulate(model, "euler-maruyama", (0, 1), [0.0], 0.05, observers=obs, backend="numba", **RUN)
    dW = brownian_increments(RUN["n_paths"], 20, 0.05, seed=RUN["seed"], block_size=RUN["options"].block_size)
    stay = ~r.first_passage.passed
    assert 0 < stay.sum() < RUN["n_paths"]
    np.testing.assert_allclose(r.y_final[stay], 0.5 * dW.sum(axis=0)[stay], rtol=0, atol=1e-13)


def test_auto_compiles_absorption_and_falls_back_with_a_reason():
    model, scheme, cond = CASES["em"]
    run = lambda obs, **kw: simulate(model, scheme, (0, 0.2), [-1.0, 0.0], 0.01, observers=obs, **RUN, **kw)  # noqa: E731
    assert run([FirstPassage(cond, absorb=True)]).backend == "numba"
    assert run([FirstPassage(cond, absorb="survivors", bridge=0.7)]).backend == "numba"
    callable_cond = [FirstPassage(lambda y: y[:, 0] >= 0.0, absorb=True)]
    assert run(callable_cond).backend == "numpy"
    with pytest.raises(ValueError, match="absorption is compiled for a FirstPassage"):
        run(callable_cond, backend="numba")
    two = [FirstPassage(cond, absorb=True), FirstPassage((1, 0.5, "above"), absorb=True, name="other")]
    assert run(two).backend == "numpy"
    with pytest.raises(ValueError, match="several absorbing observers"):
        run(two, backend="numba")


def test_survivors_needs_draw_loops_over_paths():
    """A kernel whose draws are not nested in a loop over the block's paths cannot skip the
    absorbed paths' draws: no source (the run stays on numpy)."""
    src = ("def run(y, gen, k0, k1, check_every, alive, dsteps, h, blowup):\n"
           "    for k in range(k0 + 1, k1 + 1):\n"
           "        check = k % check_every == 0 or k == k1\n"
           "        w = gen.standard_normal()\n"
           "        for i in range(nb):\n"
           "            y[i, 0] += w\n")
    spec = PassageSpec(0, True, "survivors", False)
    assert passage_source(src, spec) is None
    assert passage_source(src, spec._replace(absorb=True)) is not None
    assert kernels.BACKENDS == ("auto", "numpy", "numba")


# -- state-dependent diagonal noise from sympy expressions, and a vector σ -------------------
SIGMAS = {
    "one-expression": "0.5 + 0.1*x**2",
    "per-component": ["0.4 + 0.2*sin(x)", "0.3*sqrt(1 + y**2)"],
    "mixed": [0.5, "0.3 + 0.1*x*y"],
}


@pytest.mark.parametrize("scheme", ["euler-maruyama", "milstein", "stochastic-heun"])
@pytest.mark.parametrize("sigma", list(SIGMAS))
def test_diagonal_sigma_expressions_compile_and_equal_numpy(sigma, scheme):
    model = OverdampedLangevin(WELL, SIGMAS[sigma])
    assert model.noise == "diagonal"
    obs = lambda: [FirstPassage((0, -0.2, "above"), absorb=True, bridge=0.5), Moments(every=50)]  # noqa: E731
    a = simulate(model, scheme, (0, 2), [-1.0, 0.0], 0.01, observers=obs(), **RUN)
    b = simulate(model, scheme, (0, 2), [-1.0, 0.0], 0.01, observers=obs(), backend="numpy", **RUN)
    assert (a.backend, b.backend) == ("numba", "numpy")
    assert np.all(np.isfinite(a.y_final)) and a.grad_evals == b.grad_evals
    assert _close(a.y_final, b.y_final, 1e-12)
    assert np.array_equal(a.first_passage.step, b.first_passage.step)
    assert _close(a.first_passage.weight, b.first_passage.weight, 1e-9)


@pytest.mark.parametrize("scheme", ["milstein", "stochastic-heun"])
def test_diagonal_sigma_kernels_are_chunk_and_thread_invariant(scheme):
    model = OverdampedLangevin(WELL, SIGMAS["per-component"])
    runs = [simulate(model, scheme, (0, 1), [-1.0, 0.0], 0.01, backend="numba",
                     **run_with(threads=t, chunk_size=cs)) for cs, t in ((64, 1), (128, 1), (300, 1), (300, 2))]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.y_final, runs[0].y_final)


def test_sigma_expression_derivative_is_exact():
    """Milstein's ∂σ_i/∂θ_i comes from sympy, not from finite differences."""
    model = OverdampedLangevin(WELL, ["0.5 + 0.1*x**2", "0.2*exp(y)"])
    pts = np.array([[0.3, -0.4], [1.2, 0.7]])
    np.testing.assert_array_equal(model.diffusion_dx(0.0, pts), np.column_stack([0.2 * pts[:, 0], 0.2 * np.exp(pts[:, 1])]))
    np.testing.assert_allclose(model.diffusion(0.0, pts)[:, 0], 0.5 + 0.1 * pts[:, 0] ** 2, rtol=1e-15)


@pytest.mark.parametrize("sigma,kw,match", [
    ("0.5 + z", {}, "unknown name .z."),
    (["0.5", "0.5", "0.5"], {}, "one expression or 2"),
    ("0.5 +* x", {}, "not a valid expression"),
    ("0.5 + x", {"noise": "general"}, "leave `noise`"),
])
def test_bad_sigma_expressions_are_refused(sigma, kw, match):
    with pytest.raises(ValueError, match=match):
        OverdampedLangevin(WELL, sigma, **kw)


def test_a_vector_sigma_is_diagonal_additive_noise_and_compiled():
    model = OverdampedLangevin(WELL, [0.5, 0.3])
    assert model.noise == "additive" and model.noise_dim == 2
    np.testing.assert_array_equal(model.diffusion_matrix, np.diag([0.5, 0.3]))
    for scheme in ("euler-maruyama", "milstein", "stochastic-heun", "leimkuhler-matthews"):
        a = simulate(model, scheme, (0, 1), [-1.0, 0.0], 0.01, **RUN)
        b = simulate(model, scheme, (0, 1), [-1.0, 0.0], 0.01, backend="numpy", **RUN)
        assert a.backend == "numba"
        assert _close(a.y_final, b.y_final, 1e-12)


def test_a_callable_sigma_falls_back_and_says_why():
    model = OverdampedLangevin(WELL, lambda x: 0.5 + 0.1 * x ** 2, noise="diagonal")
    assert simulate(model, "milstein", (0, 0.1), [-1.0, 0.0], 0.01, **RUN).backend == "numpy"
    with pytest.raises(ValueError, match="sympy expressions"):
        simulate(model, "milstein", (0, 0.1), [-1.0, 0.0], 0.01, backend="numba", **RUN)


# -- SGD iterates on a least-squares sum ------------------------------------------------------
def _sgd_model(replace, batch=4):
    from dynopt.dynamics import SGDModifiedEquation
    from dynopt.problems import least_squares
    rng = np.random.default_rng(0)
    return SGDModifiedEquation(least_squares(rng.normal(size=(40, 3)), rng.normal(size=40)), 0.05, batch,
                               replace=replace)


def _sgd(model, backend, observers=None, **changes):
    return simulate(model, "sgd", (0, 0.05 * 300), np.zeros(3), 0.05, backend=backend,
                    observers=[Moments(every=25)] if observers is None else observers,
                    **run_with(save_every=50, **changes))


def test_sgd_iterates_run_on_numpy_and_say_why():
    """SGD iterates draw their own noise (minibatches), which kernels do not: "auto" runs
    numpy with the reason in the note, ``backend="numba"`` raises it; the scheme's own
    checks still run."""
    model = _sgd_model(True)
    a = _sgd(model, "auto")
    assert a.backend == "numpy" and a.note == "not compiled: sgd draws its own noise (custom), which kernels do not"
    with pytest.raises(ValueError, match="own noise"):
        _sgd(model, "numba")
    with pytest.raises(ValueError, match="learning rate"):
        simulate(model, "sgd", (0, 1.0), np.zeros(3), 0.1, **RUN)


def _numba_problem(scale):
    import numba

    @numba.njit
    def value(Y):
        return 0.25 * (Y[:, 0] ** 2 - 1) ** 2 + scale * Y[:, 1] ** 2

    @numba.njit
    def grad(Y):
        out = np.empty_like(Y)
        out[:, 0] = Y[:, 0] * (Y[:, 0] ** 2 - 1)
        out[:, 1] = 2 * scale * Y[:, 1]
        return out
    from dynopt.problems import Problem
    return Problem("numba-callable", 2, value, grad)


@pytest.mark.parametrize("scheme", ["euler-maruyama", "baoab"])
def test_a_numba_compiled_gradient_runs_in_the_kernel(scheme):
    """A problem given as a numba.njit callable (no expression) compiles under "auto" and
    gives the numpy backend's paths bit for bit; a plain Python callable stays on numpy."""
    p = _numba_problem(1.0)
    model = OverdampedLangevin(p, 0.7) if scheme == "euler-maruyama" else Kramers(p, 1.0, 0.7)
    a = simulate(model, scheme, (0, 1), [-1.0, 0.0], 0.01, backend="numpy", **RUN)
    b = simulate(model, scheme, (0, 1), [-1.0, 0.0], 0.01, **RUN)
    assert b.backend == "numba" and np.array_equal(a.y_final, b.y_final)
    plain = dataclasses.replace(p, grad_fn=lambda Y: p.grad_fn(Y))
    c = simulate(OverdampedLangevin(plain, 0.7), "euler-maruyama", (0, 1), [-1.0, 0.0], 0.01, **RUN)
    assert c.backend == "numpy"
    with pytest.raises(ValueError, match="numba.njit grad_fn"):
        simulate(OverdampedLangevin(plain, 0.7), "euler-maruyama", (0, 1), [-1.0, 0.0], 0.01, backend="numba", **RUN)


def test_two_numba_gradients_with_the_same_code_are_not_confused():
    """Closures over different constants share their code: the kernel is built uncached and
    bound to the run's own function, so the second problem is not run with the first's."""
    m1, m2 = (OverdampedLangevin(_numba_problem(s), 0.7) for s in (1.0, 3.0))
    r1, r2 = (simulate(m, "euler-maruyama", (0, 1), [-1.0, 1.0], 0.01, **RUN) for m in (m1, m2))
    ref = simulate(m2, "euler-maruyama", (0, 1), [-1.0, 1.0], 0.01, backend="numpy", **RUN)
    assert r2.backend == "numba" and np.array_equal(r2.y_final, ref.y_final)
    assert not np.array_equal(r1.y_final[:, 1], r2.y_final[:, 1])


# ---- which observer a kernel tests (kernel_passage.plan) and its call arguments ----

def test_plan_chooses_the_absorbing_or_first_compilable_observer():
    """plan: None without a compilable FirstPassage; the absorbing one if any, else the first with a
    target, with its index and spec; a reason string for what cannot be compiled."""
    from dynopt.engine import Moments
    from dynopt.engine.codegen_passage import PassageSpec
    from dynopt.engine.kernel_passage import Plan, plan
    from dynopt.engine.targets import Level

    assert plan([], 2) is None and plan([Moments()], 2) is None
    assert plan([FirstPassage(lambda y: y[:, 0] > 1)], 2) is None
    lv = FirstPassage((1, 0.5, "below"), name="lv", bridge=0.3)
    ab = FirstPassage(Level(-2, 0.25), name="ab", absorb=True)
    got = plan([Moments(), FirstPassage(lambda y: y[:, 0] > 1, name="cb"), lv], 2)
    assert got == Plan(lv, PassageSpec(1, False, False, True), 2)
    got = plan([lv, Moments(name="m2"), ab], 2)
    assert got == Plan(ab, PassageSpec(0, True, True, False), 2)  # component -2 of 2 is component 0
    assert plan([ab, FirstPassage((0, 1.0, "above"), absorb="survivors", name="sv")], 2) == \
        "several absorbing observers are not compiled"
    assert plan([FirstPassage(lambda y: y[:, 0] > 1, absorb=True)], 2) == \
        "absorption is compiled for a FirstPassage with a target (level, ball or region)"
    sv = FirstPassage((0, 1.0, "above"), absorb="survivors")
    assert plan([sv], 2, "custom") == "absorb='survivors' needs a scheme drawing normals"
    assert plan([sv], 2, "normal").spec == PassageSpec(0, True, "survivors", False)
    assert plan([sv], 2).spec.absorb == "survivors"
    assert plan([ab], 2, "custom").observer is ab  # only survivors need the scheme's normals


def test_plan_spec_reasons_for_targets_outside_the_state():
    """_spec: components outside the state and unprintable targets are named; a region carries its source."""
    import sympy

    from dynopt.engine.kernel_passage import plan
    from dynopt.engine.targets import Ball, Region

    assert plan([FirstPassage((2, 1.0, "above"))], 2) == \
        "the passage condition's component 2 is not one of the 2 state components"
    assert plan([FirstPassage((-3, 1.0, "above"))], 2) == \
        "the passage condition's component -3 is not one of the 2 state components"
    assert plan([FirstPassage((-2, 1.0, "above"))], 2).spec.coord == 0
    assert plan([FirstPassage(Ball([0.0, 0.0], 1.0, coords=[0, 2]))], 2) == \
        "the passage target reads components [0, 2], not all among the 2 state components"
    ball = FirstPassage(Ball([0.0, 0.0], 1.0, coords=[1, 0]), absorb=True, bridge=0.2)
    spec = plan([ball], 2).spec
    assert (spec.coord, spec.above, spec.absorb, spec.bridge) == (0, False, True, True)
    assert spec.target == (ball.target.kernel_source(), (1, 0))
    X, Y = sympy.symbols("x y", real=True)
    reg = Region("x < 1", (X, Y))
    reg.expr = sympy.zeta(X)
    assert plan([FirstPassage(reg)], 2) == "sympy cannot print the passage target as Python code"


def test_probe_args_of_a_level_and_a_region():
    """probe_args: per-path step/prev/done arrays, record buffers of 4n + 64, every, level (in the run's
    dtype), the side's sign and the bridge constants."""
    from dynopt.engine.kernel_passage import plan, probe_args
    from dynopt.engine.targets import Ball

    o = FirstPassage((1, 0.5, "below"), every=3, bridge=0.4)
    o.steps(30, 0.0, 0.01)
    p = plan([o], 2)
    args = probe_args(p, np.float32, n=5)
    assert len(args) == 12
    step, prev, done, r, k, x, n = args[:7]
    assert step.tolist() == [-1] * 5 and step.dtype == np.int64 and prev.tolist() == [0.0] * 5 and prev.dtype == float
    assert done.tolist() == [False] * 5 and done.dtype == bool
    assert r.shape == k.shape == x.shape == (84,) and r.dtype == k.dtype == np.int64 and x.dtype == float
    assert n.tolist() == [0] and n.dtype == np.int64
    every, level, sign, bcoef, bcut = args[7:]
    assert every == 3 and type(every) is int and level == np.float32(0.5) and type(level) is np.float32
    assert sign == -1.0 and bcoef == pytest.approx(2 / (0.4 ** 2 * 0.01 * 3), rel=1e-12)
    assert bcut == pytest.approx(-np.log(1e-12), rel=1e-12)
    args = probe_args(plan([FirstPassage(Ball([0.0], 1.0))], 2), np.float64)
    assert args[0].shape == (1,) and args[3].shape == (68,)
    assert args[7:] == [1, 0.0, -1.0, 0.0, 0.0] and type(args[8]) is np.float64
    up = probe_args(plan([FirstPassage((0, 2.0, "above"))], 2), np.float64)
    assert up[8] == 2.0 and up[9] == 1.0


def test_plan_follows_an_executor_tasks_copies():
    """Plan.for_observers: the same plan for the same observers, the copy at the plan's index otherwise."""
    import copy

    from dynopt.engine import Moments
    from dynopt.engine.kernel_passage import plan

    obs = [Moments(), FirstPassage((0, 1.0, "above"))]
    p = plan(obs, 1)
    assert p.for_observers(obs) is p
    mine = copy.deepcopy(obs)
    q = p.for_observers(mine)
    assert q.observer is mine[1] and q.index == 1 and q.spec == p.spec


_FAKE_KERNEL = ["def run(y, gen, blowup):",
                "    for k in range(k0 + 1, k1 + 1):",
                "        for i in range(nb):",
                "            z = gen.standard_normal()",
                "        check = k % check_every == 0 or k == k1",
                "        for i in range(nb):",
                "            o0 = y[i, 0]"]


def _lines(text):
    return text.rstrip("\n").split("\n")


def test_passage_source_adds_the_test_to_a_kernel_text():
    """passage_source: the extra arguments, the check at every p_every, the per-path test (absorbing,
    bridge, survivors, region) and the return, on a kernel text built here."""
    from dynopt.engine.codegen_passage import EXTRA_ARGS

    src = "\n".join(_FAKE_KERNEL) + "\n"
    head = [f"def run(y, gen, {EXTRA_ARGS}):".replace("gen, pstep", "gen, blowup, pstep"),
            *_FAKE_KERNEL[1:4], _FAKE_KERNEL[4] + " or k % p_every == 0", *_FAKE_KERNEL[5:]]
    assert head[0] == ("def run(y, gen, blowup, pstep, pprev, done, rec_i, rec_k, rec_a, nrec, p_every, level, sign, "
                       "bcoef, bcut):")
    test = ["            if alive[i] and k % p_every == 0 and pstep[i] < 0:",
            "                yv = o0"]
    plain = passage_source(src, PassageSpec(0, True, False, False))
    assert _lines(plain) == head + test + ["                if yv >= level:", "                    pstep[i] = k",
                                           "    return k1"]
    below = passage_source(src, PassageSpec(2, False, True, False))
    assert _lines(below) == head + ["            if alive[i] and k % p_every == 0 and pstep[i] < 0:",
                                    "                yv = o2", "                if yv <= level:",
                                    "                    pstep[i] = k", "                    alive[i] = False",
                                    "                    done[i] = True", "    return k1"]
    bridge = passage_source(src, PassageSpec(0, True, False, True))
    assert _lines(bridge) == [head[0], head[1], "        if nrec[0] + nb > rec_i.shape[0]:", "            return k - 1",
                              *head[2:], *test, "                if yv >= level:", "                    pstep[i] = k",
                              "                else:", "                    dd = sign * (level - yv)",
                              "                    pv = pprev[i]", "                    arg = bcoef * pv * dd",
                              "                    if pv > 0 and arg < bcut:", "                        n = nrec[0]",
                              "                        rec_i[n] = i", "                        rec_k[n] = k",
                              "                        rec_a[n] = arg", "                        nrec[0] = n + 1",
                              "                    pprev[i] = dd", "    return k1"]
    skip = ["            if done[i]:", "                continue"]
    surv = passage_source(src, PassageSpec(0, True, "survivors", False))
    assert _lines(surv) == [*head[:3], *skip, head[3], head[4], head[5], *skip, head[6], *test,
                            "                if yv >= level:", "                    pstep[i] = k",
                            "                    alive[i] = False", "                    done[i] = True", "    return k1"]
    region = passage_source(src, PassageSpec(0, False, False, False, ("def target_distance(_a0, _a1):\n", (1, 0))))
    assert region.endswith("    return k1\n\n\ndef target_distance(_a0, _a1):\n")
    assert "                yv = target_distance(o1, o0)\n" in region


def test_passage_source_declines_kernels_of_another_shape():
    """passage_source: None without exactly one run(…, blowup) signature, check line and step loop, or
    for survivors when a draw is not inside a path loop."""
    spec = PassageSpec(0, True, False, False)
    k = list(_FAKE_KERNEL)
    assert passage_source("\n".join(["def run(y, gen):"] + k[1:]), spec) is None
    assert passage_source("\n".join(k[:5] + [k[4]] + k[5:]), spec) is None
    assert passage_source("\n".join(k[:1] + k[2:]), spec) is None
    assert passage_source("\n".join(k[:1] + [k[1], k[1]] + k[2:]), spec) is None
    assert passage_source("\n".join(k[:1] + k + k[1:]), spec) is None  # two signatures
    outside = k[:2] + ["        z0 = gen.standard_normal()"] + k[2:]
    assert passage_source("\n".join(outside), spec) is not None
    assert passage_source("\n".join(outside), PassageSpec(0, True, "survivors", False)) is None
    blocks = k[:2] + ["        for t in range(nt):", "            for j in range(nb):", "                for c in range(m):",
                      "                    zb[t, j, c] = gen.standard_normal()"] + k[2:]
    got = _lines(passage_source("\n".join(blocks), PassageSpec(0, True, "survivors", False)))
    assert got[3:6] == [blocks[3], "                if done[j]:", "                    continue"]
