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
