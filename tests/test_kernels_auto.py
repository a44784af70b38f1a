"""backend="auto" compiles a run only when its estimated numpy time exceeds a kernel's
compile time, deciding on the run alone (never on what is cached)."""
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
    assert run.note.startswith("compiled: about ") and "to compile a kernel" in run.note


def test_the_decision_depends_on_the_run_only():
    """The threshold sits between these two sizes whatever was compiled before."""
    small, big = prepared(1000, 100), prepared(200_000, 1000)
    assert kernels.numpy_seconds(small) < kernels.COMPILE_SECONDS < kernels.numpy_seconds(big)
    assert prepared(1000, 100).backend == "numpy"   # the kernel is now in memory: still numpy
    assert prepared(1000, 100, backend="numba").backend == "numba"


def test_the_estimate_grows_with_the_work():
    a, b, c = prepared(1000, 100), prepared(2000, 100), prepared(1000, 200)
    assert kernels.numpy_seconds(b) > kernels.numpy_seconds(a) and kernels.numpy_seconds(c) > kernels.numpy_seconds(a)
