"""The counter-based normal source (Philox4x32-10 + Box–Muller, ``normals="philox"``):
known answers, numpy/numba bit identity, accuracy of the polynomial transform, statistics
at 5 standard errors with fixed seeds, chunk/thread invariance and the EM stationary
variance of a quadratic."""
import dataclasses
import math
import sys

import numpy as np
import pytest
import sympy
from scipy import stats

from dynopt.dynamics import Kramers, OverdampedLangevin, SGDModifiedEquation
from dynopt.engine import EnsembleOptions, FirstPassage, SerialExecutor, simulate
from dynopt.engine.brownian import make_layout
from dynopt.engine.normals import NORMALS, PhiloxSource, block_key, normals, philox4x32
from dynopt.problems import double_well, from_expr, least_squares


@pytest.fixture(autouse=True)
def _every_run_pays_to_compile(monkeypatch):
    # these tests are about what "auto" can compile, not about when compiling pays
    # (tests/test_kernels_auto.py): every run here is worth compiling
    from dynopt.engine import kernels as _k

    monkeypatch.setattr(_k, "COMPILE_SECONDS", 0.0)


PHILOX = EnsembleOptions(normals="philox")
WELL2 = from_expr("(x**2 - 1)**2 + 2*y**2", name="well2")
FLAT = from_expr(sympy.Integer(0), symbols=[sympy.Symbol("x")], name="flat")


def _numba():
    return pytest.importorskip("numba")


# Random123's kat_vectors: counter, key, Philox4x32-10 output
KAT = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
       ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
       ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]


@pytest.mark.parametrize("ctr, key, want", KAT)
def test_philox_known_answers(ctr, key, want):
    assert philox4x32(np.array([ctr]), key)[0].tolist() == list(want)


def test_bad_normals_argument_is_named():
    with pytest.raises(ValueError, match=r"`normals` must be one of 'sfc64', 'philox'; got 'mt'"):
        EnsembleOptions(normals="mt")
    assert NORMALS == ("sfc64", "philox") and EnsembleOptions().normals == "sfc64"
    A = np.random.default_rng(0).normal(size=(6, 2))
    sgd = SGDModifiedEquation(least_squares(A, A @ np.ones(2)), 0.1, 2)
    with pytest.raises(ValueError, match="normals"):
        simulate(sgd, "sgd", (0, 0.2), np.zeros(2), 0.1, n_paths=4, seed=0, options=PHILOX)
    m = OverdampedLangevin(double_well(), 0.7)
    with pytest.raises(ValueError, match="normals"):
        simulate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=4, seed=0, options=PHILOX,
                 observers=[FirstPassage((0, 0.5, "above"), absorb="survivors")])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_and_numba_fill_are_bit_identical(dtype):
    """One definition, two executions: every size (ragged tails), keys, large intervals."""
    _numba()
    from dynopt.engine.normals import jit_fill
    fill = jit_fill(dtype)
    for seed, block, tau in ((0, 0, 0), (7, 3, 12345), (2 ** 40, 9, 2 ** 33 + 5)):
        key = block_key(np.random.SeedSequence(seed), block)
        for n in (0, 1, 2, 3, 5, 7, 64, 4097):
            want = normals(key, tau, n, dtype)
            got = np.full(n, np.nan, dtype=dtype)
            fill(key, tau, got)
            assert want.dtype == dtype and want.shape == (n,)
            assert np.array_equal(want.view(np.uint8), got.view(np.uint8))


@pytest.mark.parametrize("dtype, ulps", [(np.float32, 4), (np.float64, 4)])
def test_transform_matches_libm_box_muller(dtype, ulps):
    """The polynomial ln/sin/cos against numpy's libm on the same uniforms: the normals
    differ by a few units in the last place of the result's scale (max(|z|, 1))."""
    key = block_key(np.random.SeedSequence(3), 1)
    n = 2 ** 16
    per = 4 if dtype == np.float32 else 2
    c = np.zeros((n // per, 4), dtype=np.uint64)
    c[:, 0] = np.arange(n // per)
    c[:, 3] = key[2]
    w = philox4x32(c, key[:2]).astype(np.uint64)
    if dtype == np.float32:
        pairs = [(w[:, 0], w[:, 1]), (w[:, 2], w[:, 3])]
        u = [(wu.astype(np.float32) + np.float32(0.5)) * np.float32(2.0 ** -32) for wu, _ in pairs]
        frac = [((wa >> 6) & 0xFFFFFF).astype(np.float64) * 2.0 ** -24 for _, wa in pairs]
        quad = [wa >> 30 for _, wa in pairs]
    else:
        v = (w[:, 0] << 20) | (w[:, 1] >> 12)
        u = [(2 * v + 1).astype(np.float64) * 2.0 ** -53]
        frac = [(((w[:, 2] & 0x3FFFFFFF) << 22) | (w[:, 3] >> 10)).astype(np.float64) * 2.0 ** -52]
        quad = [w[:, 2] >> 30]
    ref = []
    for uu, f, q in zip(u, frac, quad):
        r = np.sqrt(-2.0 * np.log(uu.astype(np.float64)))
        a = (f - 0.5) * (np.pi / 2)  # θ = qπ/2 + a: quarter turns are exact swaps and signs
        cos_t = np.choose(q.astype(int), [np.cos(a), -np.sin(a), -np.cos(a), np.sin(a)])
        sin_t = np.choose(q.astype(int), [np.sin(a), np.cos(a), -np.sin(a), -np.cos(a)])
        ref += [r * cos_t, r * sin_t]
    ref = np.stack(ref, axis=-1).reshape(-1)
    got = normals(key, 0, n, dtype).astype(np.float64)
    eps = np.finfo(dtype).eps
    assert np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1.0)) <= ulps * eps


def _sample(dtype, n_blocks=16, n_steps=64, n=4096, seed=2026):
    """(blocks, steps, lanes) normals of a stream, the numpy execution."""
    root = np.random.SeedSequence(seed)
    return np.stack([np.stack([normals(block_key(root, b), t, n, dtype) for t in range(n_steps)])
                     for b in range(n_blocks)]).astype(np.float64)


def _tail(p):
    return 2 * stats.norm.sf(p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moments_ks_and_tails_at_5_standard_errors(dtype):
    z = _sample(dtype).ravel()
    N = z.size
    assert abs(z.mean()) <= 5 / math.sqrt(N)
    assert abs(z.var() - 1) <= 5 * math.sqrt(2 / N)
    assert abs(stats.skew(z)) <= 5 * math.sqrt(6 / N)
    assert abs(stats.kurtosis(z)) <= 5 * math.sqrt(24 / N)
    assert stats.kstest(z[: 2 ** 20], "norm").pvalue > 1e-4
    for k in (3.0, 4.0):
        p = _tail(k)
        hits = np.count_nonzero(np.abs(z) > k)
        assert abs(hits - N * p) <= 5 * math.sqrt(N * p * (1 - p)), (k, hits, N * p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_independence_across_steps_lanes_and_blocks(dtype):
    """Lag-1 correlations (values and squares: Box–Muller pairs share a radius) across
    steps, neighbouring lanes (paths) and neighbouring blocks, each within 5 SE of 0."""
    z = _sample(dtype, n_blocks=8, n_steps=32)

    def corr(a, b):
        a, b = a.ravel(), b.ravel()
        return np.corrcoef(a, b)[0, 1], 5 / math.sqrt(a.size)

    for a, b in ((z[:, 1:], z[:, :-1]), (z[..., 1:], z[..., :-1]), (z[1:], z[:-1])):
        for f in (lambda x: x, np.square):
            c, tol = corr(f(a), f(b))
            assert abs(c) <= tol


def test_philox_source_is_the_stream_in_draw_order():
    """PhiloxSource's buffer (term, path, component) is interval (k−1)·nt + t of each block,
    numbers in (path, component) order; blocks own their rows."""
    root = np.random.SeedSequence(5)
    layout = make_layout(150, 64, 150)
    src = PhiloxSource(root, layout, 0, layout.n_blocks, n_terms=2, noise_dim=3, dtype=np.float32)
    for k in (1, 2):
        buf = src.draw().copy()
        for b in range(layout.n_blocks):
            a, e = layout.block_rows(b)
            for t in range(2):
                want = normals(block_key(root, b), (k - 1) * 2 + t, (e - a) * 3, np.float32)
                assert np.array_equal(buf[t, a:e].ravel(), want)


def test_substeps_replay_the_fine_path():
    """With r substeps a coarse run sees the fine run's numbers (interval index in time
    order): on a flat potential both end at σ·W(T)."""
    m = OverdampedLangevin(FLAT, 0.5)
    run = dict(n_paths=100, seed=3, backend="numpy")
    opts = dataclasses.replace(PHILOX, block_size=32)
    fine = simulate(m, "euler-maruyama", (0, 1), [0.0], 0.05, options=opts, **run)
    coarse = simulate(m, "euler-maruyama", (0, 1), [0.0], 0.1, options=dataclasses.replace(opts, brownian_substeps=2),
                      **run)
    np.testing.assert_allclose(coarse.y_final, fine.y_final, rtol=1e-12, atol=1e-12)


CASES = {
    "em-1d": (OverdampedLangevin(double_well(), 0.7), "euler-maruyama", [0.3]),
    "em-matrix-2d": (OverdampedLangevin(WELL2, np.array([[0.5, 0.1], [0.0, 0.3]])), "euler-maruyama", [0.3, -0.2]),
    "heun": (OverdampedLangevin(WELL2, 0.7), "stochastic-heun", [0.3, -0.2]),
    "leimkuhler-matthews": (OverdampedLangevin(WELL2, 0.7), "leimkuhler-matthews", [0.3, -0.2]),
    "baoab": (Kramers(WELL2, 1.0, 0.7), "baoab", [0.3, -0.2]),
    "obabo": (Kramers(WELL2, 1.0, 0.7), "obabo", [0.3, -0.2]),
    "momentum-sgd": (Kramers(WELL2, 1.0, 0.7), "momentum-sgd", [0.3, -0.2]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_numba_and_numpy_backends_draw_the_same_normals(case):
    _numba()
    model, scheme, y0 = CASES[case]
    run = dict(n_paths=300, seed=11, options=dataclasses.replace(PHILOX, block_size=64))
    a = simulate(model, scheme, (0, 1), y0, 0.01, backend="numba", **run)
    b = simulate(model, scheme, (0, 1), y0, 0.01, backend="numpy", **run)
    assert (a.backend, b.backend) == ("numba", "numpy")
    assert np.all(np.isfinite(a.y_final))
    assert np.max(np.abs(a.y_final - b.y_final)) <= 1e-12 * np.max(np.abs(b.y_final))


def test_auto_compiles_float32_with_philox():
    _numba()
    m = OverdampedLangevin(double_well(), 0.7)
    r = simulate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=8, seed=0,
                 options=dataclasses.replace(PHILOX, dtype=np.float32))
    assert r.backend == "numba" and r.y_final.dtype == np.float32


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_chunk_and_thread_invariance(backend):
    if backend == "numba":
        _numba()
    model = Kramers(WELL2, 1.0, 0.7)
    ref = None
    for chunk, threads in ((64, 1), (192, 1), (320, 1), (64, 2), (192, 2)):
        opts = EnsembleOptions(normals="philox", threads=threads, chunk_size=chunk, block_size=64, dtype=np.float32)
        r = simulate(model, "obabo", (0, 0.5), [0.3, -0.2], 0.01, n_paths=300, seed=4, backend=backend, options=opts)
        # the compiled backend raises an explicit chunk to one block per thread at least
        assert r.chunk_size == (chunk if backend == "numpy" else max(chunk, 64 * threads))
        if ref is None:
            ref = r.y_final
        assert np.array_equal(r.y_final, ref)


class _ThreeWorkers(SerialExecutor):
    """Runs an executor's block groups (three tasks) one after the other."""

    n_workers = 3


def test_executor_split_gives_the_serial_result():
    model = OverdampedLangevin(WELL2, 0.7)
    run = dict(n_paths=300, seed=6, options=dataclasses.replace(PHILOX, block_size=32), backend="numpy")
    a = simulate(model, "euler-maruyama", (0, 0.3), [0.3, -0.2], 0.01, **run)
    b = simulate(model, "euler-maruyama", (0, 0.3), [0.3, -0.2], 0.01, executor=_ThreeWorkers(), **run)
    assert np.array_equal(a.y_final, b.y_final)


def test_numpy_fallback_without_numba(monkeypatch):
    """Philox needs no numba: with ``import numba`` failing, "auto" runs numpy and draws the
    numbers the compiled kernel draws."""
    from dynopt.engine import kernels

    model = OverdampedLangevin(double_well(), 0.7)
    run = dict(n_paths=100, seed=2, options=dataclasses.replace(PHILOX, block_size=32, dtype=np.float64))
    with_numba = simulate(model, "euler-maruyama", (0, 0.2), [0.1], 0.01, **run) if kernels.numba_available() else None
    monkeypatch.setitem(sys.modules, "numba", None)
    r = simulate(model, "euler-maruyama", (0, 0.2), [0.1], 0.01, **run)
    assert r.backend == "numpy" and "numba cannot be imported" in r.note
    if with_numba is not None:
        assert with_numba.backend == "numba"
        np.testing.assert_allclose(r.y_final, with_numba.y_final, rtol=1e-12, atol=1e-14)


def test_default_stays_sfc64():
    """Without the option the run draws SFC64 (the same paths as before the source existed)."""
    m = OverdampedLangevin(FLAT, 1.0)
    a = simulate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=50, seed=1, backend="numpy")
    b = simulate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=50, seed=1, backend="numpy",
                 options=EnsembleOptions(normals="sfc64"))
    c = simulate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=50, seed=1, backend="numpy", options=PHILOX)
    assert np.array_equal(a.y_final, b.y_final) and not np.array_equal(a.y_final, c.y_final)


@pytest.mark.parametrize("dtype, backend", [(np.float64, "numpy"), (np.float64, "auto"), (np.float32, "auto")])
def test_em_stationary_variance_of_a_quadratic(dtype, backend):
    """EM on U = a x²/2 is the AR(1) recursion x ← (1 − ah) x + σ√h z: from x = 0 the
    variance after n steps is σ²(1 − (1 − ah)^{2n}) / (a(2 − ah)), matched at 5 SE."""
    a_, sigma, h, n_steps = 1.0, 1.0, 0.1, 200
    n_paths = 2 ** 16 if backend == "numpy" else 2 ** 18
    m = OverdampedLangevin(from_expr("x**2/2", name="quadratic"), sigma)
    r = simulate(m, "euler-maruyama", (0, n_steps * h), [0.0], h, n_paths=n_paths, seed=8, backend=backend,
                 options=dataclasses.replace(PHILOX, dtype=dtype))
    exact = sigma ** 2 * (1 - (1 - a_ * h) ** (2 * n_steps)) / (a_ * (2 - a_ * h))
    x = r.y_final[:, 0].astype(np.float64)
    assert abs(x.mean()) <= 5 * math.sqrt(exact / n_paths)
    assert abs(x.var() - exact) <= 5 * exact * math.sqrt(2 / (n_paths - 1))


def test_bench_normals_reports_both_sources(monkeypatch):
    """The benchmark's structure (no timing asserted); diffrax simulated as missing."""
    from dynopt import bench

    monkeypatch.setattr(bench, "diffrax_rates",
                        lambda *a, **k: {"installed": False, "note": 'not installed: pip install -e ".[peers]"'})
    monkeypatch.setattr(bench, "rng_rate", lambda n, dtype, seconds: 1.0)
    monkeypatch.setattr("dynopt.bench.normals_rate", lambda dtype, seconds, backend="numba": 1.0)
    out = bench.bench_normals(n_paths=4096, n_steps=5)
    for name in ("float32", "float64"):
        row = out[name]
        assert row["diffrax_euler"] is None and "pip install" in row["diffrax_note"]
        assert row["em_sfc64_numpy"] > 0
        if bench.numba_available():
            assert row["em_philox_numba"] > 0 and row["philox_numba_normals_per_s"] == 1.0


@pytest.mark.parametrize("case", ["passage", "diagonal-expression"])
def test_philox_runs_compiled_with_absorption_and_state_dependent_sigma(case):
    """The kernels added beside the additive ones (first passage, diagonal σ(θ)) take the
    Philox buffers too, and agree with the numpy backend bit for bit in float64."""
    pytest.importorskip("numba")
    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine import EnsembleOptions, FirstPassage, simulate
    from dynopt.problems import from_expr
    well = from_expr("(x**2 - 1)**2/4 + y**2", name="w2")
    if case == "passage":
        model, scheme, obs = OverdampedLangevin(well, 0.7), "euler-maruyama", True
    else:
        model, scheme, obs = OverdampedLangevin(well, ["0.5 + 0.1*x**2", "0.3"]), "milstein", False
    runs = [simulate(model, scheme, (0, 1.0), [-1.0, 0.0], 0.01, n_paths=200, seed=1, backend=be,
                     observers=[FirstPassage((0, -0.4, "above"), absorb=True)] if obs else (),
                     options=EnsembleOptions(normals="philox", block_size=64, progress=False))
            for be in ("numpy", "numba")]
    assert runs[1].backend == "numba"
    assert np.array_equal(runs[0].y_final, runs[1].y_final, equal_nan=True)
    if obs:
        assert np.array_equal(runs[0].first_passage.step, runs[1].first_passage.step)
        assert runs[0].first_passage.passed.sum() >= 10
