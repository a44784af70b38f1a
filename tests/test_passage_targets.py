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
