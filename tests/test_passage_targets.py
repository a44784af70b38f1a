"""Regions as first-passage targets: a level, a ball and an inequality, tested the same way by
the numpy observer and the compiled kernels (bit for bit on a from_expr potential), invariant
to chunks, threads and executors, with the user's text parsed safely."""
import numpy as np
import pytest

pytest.importorskip("numba")

from dynopt.dynamics import Kramers, OverdampedLangevin  # noqa: E402
from dynopt.engine import EnsembleOptions, FirstPassage, LocalExecutor, SerialExecutor, simulate  # noqa: E402
from dynopt.engine.targets import Ball, Level, Region, as_target  # noqa: E402
from dynopt.expr import ExprError  # noqa: E402
from dynopt.problems import from_expr  # noqa: E402


@pytest.fixture(autouse=True)
def _every_run_pays_to_compile(monkeypatch):
    # these tests are about what "auto" can compile, not about when compiling pays
    # (tests/test_kernels_auto.py): every run here is worth compiling
    from dynopt.engine import kernels as _k

    monkeypatch.setattr(_k, "COMPILE_SECONDS", 0.0)


WELL = from_expr("(x**2 - 1)**2 + 2*y**2 + 0.3*x", name="tilted2")
X, Y = WELL.symbols
RUN = dict(n_paths=400, seed=11)
FIELDS = ("step", "weight", "censor_time", "event_time", "bridge_path", "bridge_time", "bridge_weight")


def _run(target, backend="numba", bridge=None, model=None, scheme="euler-maruyama", chunk_size=None, threads=1,
         executor=None):
    model = model or OverdampedLangevin(WELL, 0.8)
    start = [-1.0, 0.0] + [0.0] * (model.state_dim - 2)
    opts = EnsembleOptions(block_size=64, progress=False, chunk_size=chunk_size, threads=threads)
    return simulate(model, scheme, (0, 3.0), start, 0.01, backend=backend, executor=executor,
                    observers=[FirstPassage(target, absorb="survivors", bridge=bridge)], options=opts, **RUN)


def _same(a, b):
    fa, fb = a.observations["first_passage"], b.observations["first_passage"]
    for f in FIELDS:
        assert np.array_equal(getattr(fa, f), getattr(fb, f), equal_nan=True), f


TARGETS = {
    "ball": (lambda: Ball([0.9, 0.0], 0.3), 0.8),
    "region": (lambda: Region("(x - 0.9)**2 + y**2 < 0.09 and x > 0.8", (X, Y)), None),
    "region-or": (lambda: Region("x > 1.2 or y < -0.9", (X, Y)), None),
}


@pytest.mark.parametrize("name", list(TARGETS))
def test_region_targets_run_compiled_and_equal_numpy(name):
    make, bridge = TARGETS[name]
    a, b = _run(make(), "numba", bridge), _run(make(), "numpy", bridge)
    assert (a.backend, b.backend) == ("numba", "numpy") and a.note == ""
    fp = a.observations["first_passage"]
    assert 0 < fp.passed.sum() < RUN["n_paths"]
    _same(a, b)
    # every path that passed is inside the target at its final (absorbed) state
    assert np.all(make().inside(a.y_final[fp.passed]))


def test_ball_passage_is_chunk_thread_and_executor_invariant():
    ref = _run(Ball([0.9, 0.0], 0.3), bridge=0.8, chunk_size=64)
    assert ref.backend == "numba"
    for chunk, threads in ((128, 1), (400, 2)):
        _same(ref, _run(Ball([0.9, 0.0], 0.3), bridge=0.8, chunk_size=chunk, threads=threads))
    _same(ref, _run(Ball([0.9, 0.0], 0.3), bridge=0.8, executor=SerialExecutor()))
    with LocalExecutor(2) as ex:
        _same(ref, _run(Ball([0.9, 0.0], 0.3), bridge=0.8, executor=ex))


def test_ball_on_kramers_positions_compiles():
    m = Kramers(WELL, 1.0, 0.8)
    a = _run(Ball([0.9, 0.0], 0.3), model=m, scheme="baoab")
    b = _run(Ball([0.9, 0.0], 0.3), "numpy", model=m, scheme="baoab")
    assert a.backend == "numba"
    _same(a, b)


def test_level_target_is_the_tuple_condition():
    a = _run((0, 0.5, "above"), bridge=0.8)
    b = _run(Level(0, 0.5, True), bridge=0.8)
    _same(a, b)
    assert a.observations["first_passage"].passed.any()


def test_large_ball_tends_to_the_half_space_with_its_bridge():
    """A ball of radius R tangent to x = 0.5 is the half-space x ≥ 0.5 as R → ∞: the tangent-plane
    bridge hazard then becomes the half-space's exact one."""
    R = 1e4
    half = _run(Level(0, 0.5, True), bridge=0.8).observations["first_passage"]
    ball = _run(Ball([0.5 + R, 0.0], R), bridge=0.8).observations["first_passage"]
    assert abs(half.passed.sum() - ball.passed.sum()) <= 3
    assert abs(half.bridge_weight.sum() - ball.bridge_weight.sum()) <= 0.01 * half.bridge_weight.sum() + 0.5


def test_region_text_is_parsed_safely_and_checked():
    with pytest.raises(ExprError):
        Region("__import__('os').system('true') < 1", (X, Y))
    with pytest.raises(ExprError):
        Region("z**2 < 1", (X, Y))
    with pytest.raises(ValueError, match="condition"):
        Region("x**2", (X, Y))
    with pytest.raises(ValueError, match="bridge"):
        FirstPassage(Region("x > 1", (X, Y)), bridge=0.5)
    with pytest.raises(ValueError, match="radius"):
        Ball([0.0, 0.0], -1.0)
    assert isinstance(as_target((1, 0.2, "below")), Level)
    r = Region("x**2 + y**2 <= 1 and y > 0", (X, Y))
    pts = np.array([[0.0, 0.5], [0.0, -0.5], [2.0, 0.5]])
    assert r.inside(pts).tolist() == [True, False, False]
    assert r.coords == (0, 1)


def test_an_uncompilable_absorbing_condition_says_why_it_ran_on_numpy():
    r = _run(lambda y: y[:, 0] > 0.5, "auto")
    assert r.backend == "numpy" and "FirstPassage with a target" in r.note


def _kernel_fn(target, name="target_distance"):
    """The target's kernel source run as plain Python (numba's decorator replaced by the identity)."""
    import math

    src = target.kernel_source() if name == "target_distance" else target.kernel_source(name)
    ns = {"njit": lambda **kw: (lambda f: f), "math": math}
    exec(src, ns)  # noqa: S102 - source printed by sympy from a parsed expression, in a test
    return src, ns[name]


def test_ball_checks_its_arguments_and_measures_the_distance():
    """Ball.__init__: center/radius/coords checks name the argument and range; f = |x - c| - r."""
    for bad in ([], [0.0, float("nan")], [float("inf")]):
        with pytest.raises(ValueError, match=r"`center` must be one or more finite numbers; got "):
            Ball(bad, 1.0)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"`radius` must be finite and > 0; got "):
            Ball([0.0], bad)
    for bad in ([0], [1, 1], [0, -1], [0, 1, 2]):
        with pytest.raises(ValueError, match=r"`coords` must be 2 distinct component indices ≥ 0; got "):
            Ball([0.0, 1.0], 0.5, coords=bad)
    b = Ball([[1.0, -2.0]], 0.5, coords=[3, 1])
    assert b.coords == (3, 1) and b.radius == 0.5 and b.center.tolist() == [1.0, -2.0]
    assert [str(s) for s in b.symbols] == ["y3", "y1"] and b.bridge_exact is False
    assert Ball([1.0, -2.0], 0.5).coords == (0, 1) and Ball([0.0], 1e-300).radius == 1e-300
    y = np.random.default_rng(3).normal(size=(7, 4))
    want = np.hypot(y[:, 3] - 1.0, y[:, 1] + 2.0) - 0.5
    np.testing.assert_allclose(b.distance(y), want, rtol=1e-12)
    np.testing.assert_allclose(Region.distance(b, y), want, rtol=1e-12)  # the sympy expression
    _, fn = _kernel_fn(b)
    np.testing.assert_allclose([fn(r[3], r[1]) for r in y], want, rtol=1e-12)
    assert b.inside(np.array([[0, -2.0, 0, 1.5], [0, -2.0, 0, 1.6]])).tolist() == [True, False]
    assert b.describe() == "ball of radius 0.5 around (1, -2)"


def test_level_checks_its_arguments_and_measures_the_distance():
    """Level.__init__: coord is an integer, level finite; f = level - y_c above, y_c - level below."""
    for bad in (1.0, True, "0", None):
        with pytest.raises(TypeError, match=r"`coord` must be an integer component index; got "):
            Level(bad, 0.5)
    for bad in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"`level` must be finite; got "):
            Level(0, bad)
    y = np.array([[0.0, 0.2], [0.0, 0.7], [0.0, 0.5]])
    up, down = Level(np.int64(1), 0.5), Level(1, 0.5, above=False)
    assert up.above is True and up.coords == (1,) and up.bridge_exact is True and down.above is False
    np.testing.assert_allclose(up.distance(y), [0.3, -0.2, 0.0], rtol=1e-12)
    np.testing.assert_allclose(down.distance(y), [-0.3, 0.2, 0.0], rtol=1e-12)
    np.testing.assert_allclose(Region.distance(up, y), [0.3, -0.2, 0.0], rtol=1e-12)
    np.testing.assert_allclose(Region.distance(down, y), [-0.3, 0.2, 0.0], rtol=1e-12)
    assert up.inside(y).tolist() == [False, True, True] and down.inside(y).tolist() == [True, False, True]
    assert up.describe() == "component 1 ≥ 0.5" and down.describe() == "component 1 ≤ 0.5"
    src, fn = _kernel_fn(down, "dist_below")
    assert src.startswith("@njit(cache=True)\ndef dist_below(_a0):\n") and src.endswith("\n")
    assert fn(0.75) == pytest.approx(0.25, rel=1e-12)


def test_region_level_set_and_its_argument_in_every_message():
    """Region/_level_set: f = A - B for <, B - A for >, max for and, min for or; errors name `argument`."""
    import sympy as sp

    r = Region("x < y**2 or (x >= 1 and y <= -1)", (X, Y))
    pts = np.array([[0.5, 1.0], [0.5, 0.5], [2.0, -3.0], [2.0, 0.0]])
    want = np.minimum(pts[:, 0] - pts[:, 1] ** 2, np.maximum(1 - pts[:, 0], pts[:, 1] + 1))
    np.testing.assert_allclose(r.distance(pts), want, rtol=1e-12)
    _, fn = _kernel_fn(r)
    np.testing.assert_allclose([fn(a, b) for a, b in pts], want, rtol=1e-12)
    assert r.text == "x < y**2 or (x >= 1 and y <= -1)" and r.describe() == f"region {r.text}"
    only_y = Region(sp.StrictGreaterThan(Y, 0.25), (X, Y), argument="--target")
    assert only_y.coords == (1,) and only_y.symbols == (Y,) and only_y.text == str(sp.StrictGreaterThan(Y, 0.25))
    np.testing.assert_allclose(only_y.distance(pts), 0.25 - pts[:, 1], rtol=1e-12)
    for cond in (sp.And(X < 1, sp.Eq(Y, 0)), sp.Or(sp.Eq(Y, 0), X > 1), sp.Eq(X, 0)):
        with pytest.raises(ValueError, match=r"`--target` must be inequalities \(<, <=, >, >=\) joined by and/or; got "):
            Region(cond, (X, Y), argument="--target")
    with pytest.raises(ValueError, match=r"`target` must be inequalities"):
        Region(sp.Eq(X, 0), (X, Y))
    with pytest.raises(ValueError, match=r"`--target` needs the problem's variables"):
        Region("x < 1", (), argument="--target")
    with pytest.raises(TypeError, match=r"`--target` must be a string or a sympy relational; got int"):
        Region(3, (X, Y), argument="--target")
    with pytest.raises(ValueError, match=r"`--target` uses \['z'\], not variables of the problem \['x', 'y'\]"):
        Region(sp.Symbol("z") < X, (X, Y), argument="--target")
    with pytest.raises(ExprError, match="--target"):
        Region("x**2 + w < 1", (X, Y), argument="--target")


def test_as_target_from_each_kind_of_input():
    """as_target: a Target passes through, a tuple is a Level, text/sympy is a Region, the rest refused."""
    import sympy as sp

    lv = Level(0, 1.0)
    assert as_target(lv) is lv
    t = as_target((1, 0.2, "above"))
    assert (t.coord, t.level, t.above) == (1, 0.2, True)
    t = as_target((0, -0.5, "below"))
    assert (t.coord, t.level, t.above) == (0, -0.5, False)
    with pytest.raises(ValueError, match=r"`condition` side must be 'above' or 'below'; got 'up'"):
        as_target((0, 1.0, "up"))
    r = as_target("y > 0.5", symbols=(X, Y))
    assert isinstance(r, Region) and r.coords == (1,)
    assert isinstance(as_target(X < 0, symbols=[X]), Region)
    with pytest.raises(ValueError, match=r"`target` needs the problem's variables"):
        as_target("x > 0")
    with pytest.raises(ValueError, match=r"`target` must be inequalities"):
        as_target(sp.Eq(X, 0), symbols=(X, Y))
    for bad in (3, (0, 1.0), [0, 1.0, "above"], None):
        with pytest.raises(TypeError, match=r"`target` must be a Target, a \(coord, level, side\) tuple or a condition string"):
            as_target(bad)


def test_kernel_source_declines_what_sympy_cannot_print(monkeypatch):
    """Target.kernel_source: None for a free symbol, a printer error, or a printer's 'Not supported' output."""
    import sympy as sp
    from sympy.printing.pycode import pycode

    from dynopt.engine import targets

    r = Region("x < 1", (X, Y))
    r.expr = X - sp.Symbol("q")
    assert r.kernel_source() is None
    r.expr = sp.zeta(X)
    assert r.kernel_source() is None  # sympy's strict printer raises
    monkeypatch.setattr(targets, "pycode", lambda e: pycode(e, strict=False))
    assert "# Not supported" in pycode(sp.zeta(X), strict=False)
    assert r.kernel_source() is None  # a lenient printer writes "Not supported" instead
    r.expr = X - 1
    assert "return float(_a0 - 1)" in r.kernel_source()


def test_target_distance_caches_the_lambdified_function(monkeypatch):
    """A Target lambdifies its expression once and reuses it on later calls."""
    import sympy as sp
    from dynopt.engine import targets as tmod
    s0, s1 = sp.symbols("y0 y1", real=True)
    t = tmod.Target.__new__(tmod.Target)
    t.symbols, t.expr, t.coords = (s0, s1), s0 ** 2 + s1 - 1, (0, 1)
    y = np.array([[1.0, 2.0], [0.5, 0.0]])
    np.testing.assert_allclose(t.distance(y), [2.0, -0.75], rtol=1e-15)

    def boom(*a, **k):
        raise AssertionError("lambdify called again")
    monkeypatch.setattr(tmod.sp, "lambdify", boom)
    np.testing.assert_allclose(t.distance(y), [2.0, -0.75], rtol=1e-15)
