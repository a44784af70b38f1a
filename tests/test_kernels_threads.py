"""The compiled backend on several threads, its chunking and rounds, the kernel cache across
processes, the backend benchmark's JSON and ``dynopt reproduce --backend``."""
import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba")

from dynopt import bench  # noqa: E402
from dynopt.dynamics import Kramers, OverdampedLangevin  # noqa: E402
from dynopt.engine import EnsembleOptions, Histogram, Moments, ValuesAt, kernels, simulate  # noqa: E402
from dynopt.ledger import runner  # noqa: E402
from dynopt.problems import double_well, from_expr  # noqa: E402

WELL2 = from_expr("(x**2 - 1)**2 + 2*y**2", name="well2")


@pytest.fixture(autouse=True)
def _every_run_pays_to_compile(monkeypatch):
    # these tests are about what "auto" can compile, not about when compiling pays
    # (tests/test_kernels_auto.py): every run here is worth compiling
    from dynopt.engine import kernels as _k

    monkeypatch.setattr(_k, "COMPILE_SECONDS", 0.0)


CASES = {
    "em-2d": (OverdampedLangevin(WELL2, 0.7), "euler-maruyama", [0.3, -0.2]),
    "baoab-2d": (Kramers(WELL2, 1.0, 0.7), "baoab", [0.3, -0.2]),
    "momentum-1d": (Kramers(double_well(), 1.0, 0.7), "momentum-sgd", [0.3]),
}
RUN = dict(n_paths=700, seed=5, options=EnsembleOptions(block_size=64))


def run_with(**changes):
    """RUN with ``changes`` to its options."""
    return dict(RUN, options=dataclasses.replace(RUN["options"], **changes))
REPO = Path(__file__).resolve().parents[1]


def _observers():
    return [Moments(every=10), Histogram(20, (-3, 3), every=25), ValuesAt([0.37, 0.8])]


def _assert_same(a, b):
    np.testing.assert_array_equal(a.y_final, b.y_final)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.diverged_step, b.diverged_step)
    np.testing.assert_array_equal(a.observations["moments"].mean, b.observations["moments"].mean)
    np.testing.assert_array_equal(a.observations["moments"].var, b.observations["moments"].var)
    np.testing.assert_array_equal(a.observations["histogram"].counts, b.observations["histogram"].counts)
    np.testing.assert_array_equal(a.observations["values"][1], b.observations["values"][1])


@pytest.mark.parametrize("case", list(CASES))
def test_one_two_three_threads_give_the_same_bits(case):
    """Default (compiled-backend) chunks, observers, saved steps: same bits on 1, 2, 3 threads."""
    model, scheme, y0 = CASES[case]
    runs = [simulate(model, scheme, (0, 1), y0, 0.01, observers=_observers(), backend="numba",
                     **run_with(threads=t, save_every=30)) for t in (1, 2, 3)]
    assert all(r.backend == "numba" for r in runs)
    for r in runs[1:]:
        _assert_same(r, runs[0])


def test_threads_share_the_blocks_of_a_one_block_l2_chunk(monkeypatch):
    """BAOAB's numpy-sized chunk is one block; on the compiled backend the chunk holds all
    blocks, so two threads both run kernels."""
    seen = set()
    call = kernels._call

    def spy(fn, args):
        seen.add(threading.get_ident())
        return call(fn, args)

    monkeypatch.setattr(kernels, "_call", spy)
    model, scheme, y0 = CASES["baoab-2d"]
    r = simulate(model, scheme, (0, 0.5), y0, 0.01, n_paths=8 * 4096, seed=1, backend="numba",
                 options=EnsembleOptions(threads=2))
    assert r.chunk_size == 8 * 4096
    assert len(seen) == 2


def test_kernel_layout_keeps_an_explicit_chunk_but_gives_each_thread_a_block():
    model, scheme, y0 = CASES["em-2d"]
    auto = simulate(model, scheme, (0, 0.1), y0, 0.01, backend="numba", **RUN)
    assert auto.chunk_size == 64 * 11  # every block of the run
    given = simulate(model, scheme, (0, 0.1), y0, 0.01, backend="numba",
                     **run_with(threads=3, chunk_size=128))
    assert given.chunk_size == 3 * 64
    numpy_run = simulate(model, scheme, (0, 0.1), y0, 0.01, backend="numpy", **run_with(chunk_size=128))
    assert numpy_run.chunk_size == 128
    np.testing.assert_array_equal(auto.y_final, given.y_final)


def test_rounds_end_only_at_stops_or_multiples_of_check_every(monkeypatch):
    monkeypatch.setattr(kernels, "ROUND_PATH_STEPS", 1000)
    ks = kernels._rounds([7, 50, 100], n_paths=10, check_every=16)  # span 96
    assert ks == [7, 50, 96, 100]
    ks = kernels._rounds([200], n_paths=10, check_every=5)  # span 100
    assert ks == [100, 200]
    assert kernels._rounds([10], n_paths=10 ** 6, check_every=4) == [4, 8, 10]  # at least check_every


def test_short_rounds_change_nothing_not_even_divergence_steps(monkeypatch):
    """Rounds cut a run only where the kernels check for divergence anyway: a diverging
    run gives the same bits, and the numpy backend's divergence steps."""
    model = OverdampedLangevin(from_expr("-x**4/4 + x**6/1000", name="steep"), 0.7)
    opts = EnsembleOptions(block_size=64, check_every=5)
    kw = dict(n_paths=300, seed=3)
    ref = simulate(model, "euler-maruyama", (0, 4), [1.2], 0.05, backend="numba", options=opts, **kw)
    npy = simulate(model, "euler-maruyama", (0, 4), [1.2], 0.05, backend="numpy", options=opts, **kw)
    monkeypatch.setattr(kernels, "ROUND_PATH_STEPS", 300 * 7)
    cut = simulate(model, "euler-maruyama", (0, 4), [1.2], 0.05, backend="numba",
                   options=dataclasses.replace(opts, threads=2), **kw)
    assert 0 < ref.n_diverged < 300
    np.testing.assert_array_equal(cut.diverged_step, ref.diverged_step)
    np.testing.assert_array_equal(ref.diverged_step, npy.diverged_step)
    np.testing.assert_array_equal(cut.y_final, ref.y_final)


_CACHE_CHILD = """
from dynopt import dynamics, problems
from dynopt.engine import simulate
m = dynamics.OverdampedLangevin(problems.from_expr("(x**2 - 1)**2 + x*y + y**2"), 0.5)
print(simulate(m, "euler-maruyama", (0, 0.05), [0.1, 0.2], 0.01, n_paths=8, seed=0, backend="numba").y_final.sum())
"""


def test_kernels_compile_once_and_load_from_numba_cache_in_a_new_process(tmp_path):
    env = dict(os.environ, DYNOPT_KERNEL_CACHE=str(tmp_path), NUMBA_DEBUG_CACHE="1",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    runs = [subprocess.run([sys.executable, "-c", _CACHE_CHILD], capture_output=True, text=True, env=env,
                           check=True) for _ in range(2)]
    first, second = (r.stdout for r in runs)
    assert first.count("data saved") == 2 and "data loaded" not in first  # grad and run
    assert second.count("data loaded") == 2 and "data saved" not in second
    assert first.splitlines()[-1] == second.splitlines()[-1]
    assert len(list(tmp_path.glob("k_*.py"))) == 1


def test_bench_backends_reports_every_case_dtype_and_thread_count():
    out = bench.bench_backends(n_paths=512, n_steps=5, dtypes=(np.float64, np.float32), rng_seconds=0.01,
                               compile=False, peers=False)
    json.dumps(out)
    assert out["backends"] == ["numpy", "numba"]
    assert len(out["runs"]) == len(bench.BACKEND_CASES) * 2 * 3
    keys = {(r["case"], r["backend"], r["dtype"], r["threads"]) for r in out["runs"]}
    assert ("from_expr_2d_baoab", "numba", "float32", 2) in keys and ("double_well_1d_em", "numpy", "float64", 1) in keys
    for r in out["runs"]:
        assert r["path_steps_per_s"] > 0 and r["rng_normals_per_s"] > 0
        per_step = 2 if r["case"].startswith("from_expr") else 1
        assert r["ratio_to_rng"] == pytest.approx(per_step * r["path_steps_per_s"] / r["rng_normals_per_s"])
    assert len(out["threads"]) == len(bench.BACKEND_CASES) * 2
    assert all(t["speedup_2_threads_wall"] > 0 and t["cpu_per_wall_2_threads"] > 0 for t in out["threads"])
    assert "load_average_before" in out and "load_average_after" in out


def test_diffrax_reports_not_installed_with_the_extra_to_install(monkeypatch):
    monkeypatch.setattr(bench, "_DIFFRAX_CHILD", "raise ModuleNotFoundError(\"No module named 'diffrax'\")")
    out = bench.diffrax_rates(n_paths=8, n_steps=2)
    assert out == {"installed": False, "note": 'not installed: pip install -e ".[peers]"'}


@pytest.mark.slow
def test_diffrax_and_compile_times_report_their_keys():
    pytest.importorskip("diffrax")
    d = bench.diffrax_rates(n_paths=64, n_steps=5)
    assert d["installed"] and d["float64"]["dtype"] == "float64" and d["float32"]["dtype"] == "float32"
    assert d["float32"]["path_steps_per_s"] > 0 and d["float64"]["ratio_to_rng"] > 0
    c = bench.compile_times()
    assert c["first_call"] > 0 and c["cached"] > 0 and len(c["per_kernel"]) == 6


def test_default_backend_decides_what_auto_means_inside_the_block():
    model, scheme, y0 = CASES["em-2d"]
    run = lambda **kw: simulate(model, scheme, (0, 0.05), y0, 0.01, n_paths=8, seed=0, **kw)  # noqa: E731
    assert run().backend == "numba"
    with kernels.default_backend("numpy"):
        assert kernels.auto_backend() == "numpy"
        assert run().backend == "numpy"
        assert run(backend="numba").backend == "numba"  # an explicit choice stays
    assert kernels.auto_backend() == "auto" and run().backend == "numba"
    with kernels.default_backend("numba"), pytest.raises(ValueError, match="substeps"):
        run(options=EnsembleOptions(brownian_substeps=2))
    with pytest.raises(ValueError, match="`name` must be one of auto, numpy, numba"):
        with kernels.default_backend("gpu"):
            pass


def test_claim_cache_keys_keep_a_chosen_backend_apart():
    claim = type("C", (), {"id": "x.y", "check": staticmethod(lambda ctx: None)})()
    plain = runner.claim_key(claim, True)
    with kernels.default_backend("auto"):
        assert runner.claim_key(claim, True) == plain
    with kernels.default_backend("numpy"):
        assert runner.claim_key(claim, True) != plain


def test_reproduce_passes_its_backend_to_the_ledger(monkeypatch, tmp_path):
    from dynopt.cli import reproduce
    from dynopt.cli.main import build_parser, main

    seen = []
    monkeypatch.setattr(reproduce, "discover", lambda papers: {})
    monkeypatch.setattr(reproduce, "select", lambda ids: [])
    monkeypatch.setattr(reproduce, "run_claims", lambda *a, **k: seen.append(kernels.auto_backend()) or [])
    for choice in ("numpy", "numba", "auto"):
        assert main(["reproduce", "--quick", "--no-progress", "--out", str(tmp_path), "--backend", choice]) == 0
    assert main(["reproduce", "--quick", "--no-progress", "--out", str(tmp_path)]) == 0
    assert seen == ["numpy", "numba", "auto", "auto"]
    assert kernels.auto_backend() == "auto"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--backend", "gpu"])
