"""backend="auto" compiles a run only when its estimated numpy time exceeds the wait for its
kernel: a first compile, a load from numba's disk cache, or nothing when this process compiled
it already; inside ``default_backend(..., use_cache=False)`` (the tests' default, the ledger)
it decides on the run's size alone."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("numba")

from dynopt.dynamics import OverdampedLangevin  # noqa: E402
from dynopt.engine import EnsembleOptions, kernels, simulate  # noqa: E402
from dynopt.engine.ensemble import _prepare  # noqa: E402
from dynopt.engine.brownian import as_seed_sequence  # noqa: E402
from dynopt.problems import double_well  # noqa: E402

MODEL = OverdampedLangevin(double_well(), 0.7)


def prepared(n_paths, n_steps, backend="auto"):
    """The prepared run (backend chosen, kernel compiled if chosen) without running it."""
    dt = 0.01
    return _prepare(MODEL, "euler-maruyama", (0.0, n_steps * dt), [0.3], dt, n_paths,
                    as_seed_sequence(3), [], EnsembleOptions(), backend)


def test_a_tiny_run_goes_numpy_and_says_why():
    r = simulate(MODEL, "euler-maruyama", (0, 0.1), [0.3], 0.01, n_paths=50, seed=1)
    assert r.backend == "numpy"
    assert r.note.startswith("ran on numpy: about ") and "less than compiling a kernel" in r.note
    assert "\n" not in r.note
    # an explicit choice is kept, with the same numbers
    c = simulate(MODEL, "euler-maruyama", (0, 0.1), [0.3], 0.01, n_paths=50, seed=1, backend="numba")
    assert c.backend == "numba" and c.note == ""
    np.testing.assert_allclose(c.y_final, r.y_final, rtol=1e-12, atol=0)


def test_a_big_run_compiles_and_says_why():
    run = prepared(200_000, 1000)
    assert kernels.numpy_seconds(run) > kernels.COMPILE_SECONDS
    assert run.backend == "numba" and run.kernel is not None
    assert run.note.startswith("compiled: about ") and "for compiling a kernel" in run.note


def test_the_decision_depends_on_the_run_only():
    """The threshold sits between these two sizes whatever was compiled before."""
    small, big = prepared(1000, 100), prepared(200_000, 1000)
    assert kernels.numpy_seconds(small) < kernels.COMPILE_SECONDS < kernels.numpy_seconds(big)
    assert prepared(1000, 100).backend == "numpy"   # the kernel is now in memory: still numpy
    assert prepared(1000, 100, backend="numba").backend == "numba"


def test_the_estimate_grows_with_the_work():
    a, b, c = prepared(1000, 100), prepared(2000, 100), prepared(1000, 200)
    assert kernels.numpy_seconds(b) > kernels.numpy_seconds(a) and kernels.numpy_seconds(c) > kernels.numpy_seconds(a)


def test_a_kernel_compiled_in_this_process_makes_auto_compile_a_small_run():
    small = prepared(2000, 200)
    assert small.backend == "numpy"  # by size alone (this file's default)
    with kernels.default_backend("auto", use_cache=True):
        # not compiled yet in this process for another problem: the estimate is a compile
        from dynopt.problems import from_expr
        fresh = _prepare(OverdampedLangevin(from_expr("x**4/4 - x**2/2 + x/11"), 0.7), "euler-maruyama",
                         (0.0, 2.0), [0.3], 0.01, 2000, as_seed_sequence(3), [], EnsembleOptions(), "auto")
        assert kernels.compile_seconds(fresh)[0] > 0
        prepared(2000, 200, backend="numba")  # compiles this run's kernel
        assert kernels.compile_seconds(small)[0] == 0.0
        again = prepared(2000, 200)
    assert again.backend == "numba" and "compiled earlier in this process" in again.note
    assert again.note.startswith("compiled: about ") and "\n" not in again.note
    a = simulate(MODEL, "euler-maruyama", (0, 0.5), [0.3], 0.01, n_paths=300, seed=4)
    with kernels.default_backend("auto", use_cache=True):
        b = simulate(MODEL, "euler-maruyama", (0, 0.5), [0.3], 0.01, n_paths=300, seed=4)
    assert (a.backend, b.backend) == ("numpy", "numba")
    np.testing.assert_allclose(b.y_final, a.y_final, rtol=1e-12, atol=0)


def test_use_cache_is_checked_and_restored():
    with pytest.raises(TypeError, match="use_cache"):
        with kernels.default_backend("auto", use_cache="yes"):
            pass
    with kernels.default_backend("auto", use_cache=True):
        with kernels.default_backend("numpy"):  # None keeps the enclosing setting
            assert kernels._AUTO_USES_CACHE.get() is True
        assert kernels.auto_backend() == "auto"
    assert kernels._AUTO_USES_CACHE.get() is False  # this file's (conftest's) default


def test_a_run_that_cannot_compile_is_estimated_as_a_compile():
    from dynopt.problems import Problem
    p = double_well()
    plain = Problem("plain", p.dim, p.value_fn, p.grad_fn)  # no expression: numpy only
    run = _prepare(OverdampedLangevin(plain, 0.7), "euler-maruyama", (0.0, 1.0), [0.3], 0.01, 100,
                   as_seed_sequence(3), [], EnsembleOptions(), "auto")
    assert kernels.compile_seconds(run) == (kernels.COMPILE_SECONDS, "compiling a kernel")


_CACHED = textwrap.dedent("""
    import json, sys
    import numpy as np
    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine import EnsembleOptions, simulate
    from dynopt.engine.ensemble import _prepare
    from dynopt.engine.brownian import as_seed_sequence
    from dynopt.problems import from_expr
    model = OverdampedLangevin(from_expr(sys.argv[1]), 0.7)
    if sys.argv[2] == "fill":
        simulate(model, "euler-maruyama", (0, 0.1), [0.3], 0.01, n_paths=10, seed=0, backend="numba")
    # about 1 s of numpy work: more than a load from the disk cache, less than a compile
    run = _prepare(model, "euler-maruyama", (0.0, 10.0), [0.3], 0.01, 20000, as_seed_sequence(3), [],
                   EnsembleOptions(), "auto")
    print(json.dumps([run.backend, run.note]))
""")


def test_a_kernel_in_the_disk_cache_counts_as_a_load(tmp_path):
    cache = tmp_path / "kernels"
    cache.mkdir(mode=0o700)
    env = {**os.environ, "DYNOPT_KERNEL_CACHE": str(cache)}

    def run(expr, what):
        out = subprocess.run([sys.executable, "-c", _CACHED, expr, what], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    backend, note = run("x**4/4 - x**2/2 + x/5", "fill")  # compiled in that process
    assert backend == "numba" and "compiled earlier in this process" in note
    backend, note = run("x**4/4 - x**2/2 + x/5", "read")  # a new process finds it on disk
    assert backend == "numba" and "disk cache" in note, note
    backend, note = run("x**4/4 - x**2/2 + x/7", "read")  # another kernel: a compile, not worth it
    assert backend == "numpy" and "less than compiling a kernel" in note, note


def test_numpy_seconds_is_path_steps_times_width_plus_chunk_overhead():
    """numpy_seconds: n_steps·(n_paths·D·terms·5e-8 + chunks·2e-5), from the run's layout."""
    from dynopt.dynamics import Kramers
    from dynopt.engine.brownian import BlockLayout

    run = prepared(1000, 100)._replace(layout=BlockLayout(1000, 100, 3))  # 10 blocks in 4 chunks
    assert kernels.NUMPY_PATH_STEP_SECONDS == 5e-8 and kernels.NUMPY_STEP_SECONDS == 2e-5
    assert kernels.numpy_seconds(run) == pytest.approx(100 * (1000 * 1 * 5e-8 + 4 * 2e-5), rel=1e-12)
    k = _prepare(Kramers(double_well(), 1.0, 0.5), "obabo", (0.0, 1.0), [0.3], 0.01, 500, as_seed_sequence(3), [],
                 EnsembleOptions(block_size=500), "numpy")
    assert kernels.numpy_seconds(k) == pytest.approx(100 * (500 * 2 * 2 * 5e-8 + 1 * 2e-5), rel=1e-12)


def test_auto_note_names_the_estimate_and_the_wait():
    """select_backend("auto"): the note says the estimate and the compile it was weighed against."""
    run = prepared(1000, 100)
    est = kernels.numpy_seconds(run)
    assert kernels.COMPILE_SECONDS == 3.0 and kernels.CACHED_SECONDS == 0.6
    assert run.note == (f"ran on numpy: about {est:.2g} s of numpy work, less than compiling a kernel (~3 s); "
                        f"backend='numba' compiles it")
    big = prepared(200_000, 1000)
    assert big.note == f"compiled: about {kernels.numpy_seconds(big):.2g} s of numpy work against ~3 s for compiling a kernel"
    with pytest.raises(ValueError, match=r"^`backend` must be one of auto, numpy, numba; got 'gpu'$"):
        prepared(10, 10, backend="gpu")
    np_run = prepared(200_000, 1000, backend="numpy")
    assert (np_run.backend, np_run.kernel, np_run.note) == ("numpy", None, "")


def test_float32_auto_stays_on_numpy_unless_philox():
    """_resolve: "auto" keeps a float32 run with numpy's normals on numpy (silently), compiles Philox's."""
    def big(**kw):
        return _prepare(MODEL, "euler-maruyama", (0.0, 10.0), [0.3], 0.01, 200_000, as_seed_sequence(3), [],
                        EnsembleOptions(dtype=np.float32, **kw), "auto")

    r = big()
    assert (r.backend, r.kernel, r.note) == ("numpy", None, "")
    assert big(normals="philox").backend == "numba"


def test_backend_refusals_and_fallbacks_say_why(monkeypatch):
    """_resolve: numba missing or a run it cannot compile: an error for backend='numba', a note for 'auto'."""
    sub = EnsembleOptions(brownian_substeps=2)

    def run(backend, opts=EnsembleOptions(), n_paths=200_000):
        return _prepare(MODEL, "euler-maruyama", (0.0, 10.0), [0.3], 0.01, n_paths, as_seed_sequence(3), [], opts,
                        backend)

    assert run("auto", sub).note == "not compiled: Brownian substeps are not compiled"
    with pytest.raises(ValueError, match=r"^`backend='numba'` cannot run euler-maruyama on .*: "
                                         r"Brownian substeps are not compiled$"):
        run("numba", sub, 10)
    monkeypatch.setattr(kernels, "numba_available", lambda: False)
    r = run("auto")
    assert (r.backend, r.kernel, r.note) == ("numpy", None, "ran on the numpy backend: numba cannot be imported")
    with pytest.raises(ValueError, match=r"^`backend='numba'` needs numba, which cannot be imported \(pip install numba\)$"):
        run("numba", n_paths=10)


def test_kernel_evaluation_count_and_chunk_sizes():
    """Kernel.total_evals: init + first + (n - 1)·later; _kernel_chunks: 16 MiB of state or the threads."""
    from dynopt.engine.brownian import BlockLayout

    k = kernels.Kernel(None, None, (), (1, 2, 3))
    assert k.total_evals(0) == 1 and k.total_evals(1) == 3 and k.total_evals(5) == 1 + 2 + 4 * 3
    assert kernels.KERNEL_CHUNK_BYTES == 2 ** 24
    lay = BlockLayout(10 ** 6, 1024, 1)
    # float64, D = 2: 32 bytes per path, 2^24 / (32·1024) = 512 blocks
    assert kernels._kernel_chunks(lay, EnsembleOptions(), 2).chunk_blocks == 512
    assert kernels._kernel_chunks(BlockLayout(10 ** 7, 1024, 1), EnsembleOptions(dtype=np.float32), 2).chunk_blocks == 1024
    assert kernels._kernel_chunks(BlockLayout(4096, 1024, 1), EnsembleOptions(), 2).chunk_blocks == 4
    assert kernels._kernel_chunks(lay, EnsembleOptions(chunk_size=2048, threads=3), 2).chunk_blocks == 3
    assert kernels._kernel_chunks(BlockLayout(10 ** 6, 1024, 5), EnsembleOptions(chunk_size=5120, threads=3),
                                  2).chunk_blocks == 5
    assert kernels._kernel_chunks(BlockLayout(100, 1024, 1), EnsembleOptions(chunk_size=1, threads=4),
                                  2).chunk_blocks == 1
    run = prepared(10 ** 6, 10, backend="numpy")
    assert kernels.kernel_layout(run).layout.chunk_blocks == min(run.layout.n_blocks, 2 ** 24 // (8 * 2 * 4096))


def test_gradient_check_compares_at_fixed_points_with_tight_tolerances():
    """_gradient_ok: the compiled gradient must equal grad_fn to rtol 1e-9 (atol 1e-12) at 4 fixed points."""
    prob = double_well()

    def exact(x, g):
        g[:] = prob.grad_fn(x[None, :])[0]

    def off(rel, abs_=0.0):
        def grad(x, g):
            g[:] = prob.grad_fn(x[None, :])[0] * (1 + rel) + abs_
        return grad

    assert kernels._gradient_ok(prob, exact)
    assert kernels._gradient_ok(prob, off(1e-11))
    assert not kernels._gradient_ok(prob, off(5e-9))  # beyond rtol 1e-9
    assert kernels._gradient_ok(prob, off(0.0, 1e-13)) and not kernels._gradient_ok(prob, off(0.0, 1e-6))
    seen = []

    def spy(x, g):
        seen.append(x.copy())
        exact(x, g)

    kernels._gradient_ok(prob, spy)
    pts = np.random.default_rng(12345).uniform(-1.5, 1.5, size=(4, 1))
    np.testing.assert_array_equal(np.array(seen), pts)


def test_oracles_say_why_a_model_cannot_call_compiled_functions():
    """_oracles: a gradient source from the expression, and the reasons for models without one."""
    from types import SimpleNamespace

    from dynopt.problems import from_grad

    funcs, user, why = kernels._oracles(MODEL)
    assert set(funcs) == {"grad"} and funcs["grad"][1] == 1 and funcs["grad"][0].startswith("def grad(")
    assert user is None and why == {}
    plain = from_grad(lambda x: 2 * x, 1, value=lambda x: x[:, 0] ** 2, name="plain")
    funcs, user, why = kernels._oracles(OverdampedLangevin(plain, 0.5))
    assert funcs == {} and user is None
    assert why == {"grad": "the problem is a Python callable without a sympy expression "
                           "(give an expression, or a numba.njit grad_fn, to compile it)"}
    funcs, user, why = kernels._oracles(SimpleNamespace(problem=None))
    assert funcs == {} and user is None and why["grad"] == "the model has no problem (a user SDE's f and g are Python callables)"


def test_oracles_for_state_dependent_noise():
    """_oracles: σ(θ) from sympy expressions is a compiled 'sig' function; a callable σ, general
    noise or an unprintable σ say why not."""
    from dynopt.problems import from_expr

    well = from_expr("(x**2 - 1)**2/4 + y**2", name="well2")
    funcs, user, why = kernels._oracles(OverdampedLangevin(well, ["0.4 + 0.2*sin(x)", "0.3"]))
    assert set(funcs) == {"grad", "sig"} and funcs["sig"][1] == 2 and why == {}
    funcs, user, why = kernels._oracles(OverdampedLangevin(well, lambda x: 0.5 + 0.1 * x ** 2, noise="diagonal"))
    assert set(funcs) == {"grad"}
    assert why == {"sig": "σ(θ) is a Python callable (give it as sympy expressions to compile it)"}
    general = OverdampedLangevin(well, lambda x: np.broadcast_to(0.3 * np.eye(2), (x.shape[0], 2, 2)), noise="general")
    assert kernels._oracles(general)[2] == {"sig": "σ(θ) is a Python callable (give it as sympy expressions to compile it)"}
    funcs, user, why = kernels._oracles(OverdampedLangevin(well, 0.5))  # additive: no σ oracle at all
    assert set(funcs) == {"grad"} and why == {}


def test_the_wait_is_read_for_the_kernel_with_its_first_passage_test():
    """A run with an absorbing first-passage observer compiles another kernel than the same run
    without it: once that kernel is compiled, the run's wait is 0, while the same model without
    the observer (never compiled here) still waits for a compile or a load."""
    from dynopt.engine import FirstPassage
    from dynopt.problems import from_expr
    model = OverdampedLangevin(from_expr("x**4/4 - x**2/2 + x/13"), 0.7)

    def run(observers, backend="auto"):
        return _prepare(model, "euler-maruyama", (0.0, 1.0), [0.3], 0.01, 200, as_seed_sequence(5),
                        observers, EnsembleOptions(), backend)

    compiled = run([FirstPassage((0, 1.0, "above"), absorb=True)], backend="numba")
    assert compiled.backend == "numba" and compiled.kernel.passage is not None
    assert kernels.compile_seconds(run([FirstPassage((0, 1.0, "above"), absorb=True)]))[0] == 0.0
    assert kernels.compile_seconds(run([]))[0] > 0.0


def test_the_compiled_passage_run_reports_every_path_step_to_the_progress_bar(monkeypatch):
    """The first-passage kernel's chunks advance the bar by (steps) × (paths) of each round, so a
    run's bar ends at n_paths · n_steps, as the numpy backend's does."""
    from dynopt.engine import FirstPassage, chunks
    seen = {"numba": 0, "numpy": 0}
    which = []
    monkeypatch.setattr(chunks._Progress, "update", lambda self, n: seen.__setitem__(which[-1], seen[which[-1]] + n))
    for backend in ("numba", "numpy"):
        which.append(backend)
        r = simulate(MODEL, "euler-maruyama", (0, 2.0), [0.3], 0.01, n_paths=300, seed=2, backend=backend,
                     observers=[FirstPassage((0, 0.9, "above"), absorb=True)], options=EnsembleOptions(progress=True))
        assert r.backend == backend
    assert seen == {"numba": 300 * 200, "numpy": 300 * 200}
