"""``dynopt bench sde``: throughput of the SDE engine against the random-number bound.

Measures, in one process on one core (numpy's ufuncs and generators are single-threaded):

(a) ``rng_normals_per_s``: standard normals per second from SFC64 (numpy's fastest bit
    generator) written into a preallocated buffer of the engine's chunk size with
    ``Generator.standard_normal(out=...)`` — the bound an SDE engine cannot beat;
(b) ``em_path_steps_per_s``: :func:`dynopt.engine.simulate` with Euler–Maruyama on the 1-D
    double well U = x⁴/4 − x²/2, σ = 0.7, dt = 0.01, 2^20 paths × 1000 steps, final state
    only, and ``ratio`` = (b)/(a);
(c) the same in float32, for the 2-D double well and for BAOAB on the Kramers equation;
(d) ``peak_rss_mb``: peak resident memory of a fresh process running 10^7 paths with a
    streaming histogram, for two step counts (it must not grow with the steps);
(e) ``backends``: the numpy and compiled (numba) backends side by side, float64 and
    float32, on the 1-D double well (EM) and a 2-D ``from_expr`` potential (EM, BAOAB),
    each with its ratio to SFC64's normals/s measured around it, and kernel compile times;
(f) ``normals``: the normal sources (SFC64, and Philox of :mod:`dynopt.engine.normals`)
    raw and in EM on the 1-D double well, float32 and float64, beside diffrax's Euler on
    the same problem in the same run when diffrax is installed (:func:`bench_normals`).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from dynopt import dynamics, problems
from dynopt.analysis import fit_order
from dynopt.engine import CACHE_BYTES, DaskExecutor, EnsembleOptions, LocalExecutor, simulate
from dynopt.engine.kernels import numba_available

__all__ = ["rng_rate", "engine_rate", "peak_rss", "bench_sde", "bench_scale", "bench_speedups",
           "bench_peers", "bench_all", "PEERS", "bench_backends", "compile_times", "BACKEND_CASES", "WELL_2D",
           "bench_normals"]


def rng_rate(n=2 ** 14, dtype=np.float64, seconds=1.0, seed=0):
    """Standard normals per second from SFC64 into a preallocated buffer of ``n``."""
    g = np.random.Generator(np.random.SFC64(seed))
    buf = np.empty(n, dtype=dtype)
    reps, total, tic = 0, 0.0, time.process_time()
    while True:
        for _ in range(50):
            g.standard_normal(out=buf, dtype=dtype)
        reps += 50
        total = time.process_time() - tic
        if total >= seconds:
            return reps * n / total


#: the 2-D potential of the backend comparison, built as a user would (no fused numpy path)
WELL_2D = "(x**2 - 1)**2 + 2*y**2"


def engine_rate(problem="double_well", dim=1, scheme="euler-maruyama", n_paths=2 ** 20, n_steps=1000,
                dtype=np.float64, sigma=0.7, dt=0.01, seed=0, backend="auto", threads=1):
    """Path-steps per second of :func:`dynopt.engine.simulate` (final state only);
    ``problem="from_expr"`` is :data:`WELL_2D` built with :func:`dynopt.problems.from_expr`."""
    if problem == "from_expr":
        p, dim = problems.from_expr(WELL_2D, name="well_2d"), 2
    else:
        p = problems.double_well(dim)
    if scheme in ("baoab", "obabo", "aboba", "momentum-sgd"):
        model = dynamics.Kramers(p, friction=1.0, sigma=sigma)
        y0 = np.zeros(2 * dim)
    else:
        model = dynamics.OverdampedLangevin(p, sigma)
        y0 = np.zeros(dim)
    tic, wall = time.process_time(), time.perf_counter()
    r = simulate(model, scheme, (0, n_steps * dt), y0, dt, n_paths=n_paths, seed=seed, dtype=dtype,
                 keep_final=True, progress=False, backend=backend, options=EnsembleOptions(threads=threads))
    sec = time.process_time() - tic
    wall = time.perf_counter() - wall
    return {"path_steps_per_s": n_paths * n_steps / sec, "cpu_seconds": sec, "wall_seconds": wall, "chunk_size": r.chunk_size,
            "n_paths": n_paths, "n_steps": n_steps, "dtype": np.dtype(dtype).name, "scheme": scheme,
            "dim": dim, "n_diverged": r.n_diverged, "backend": r.backend,
            "wall_path_steps_per_s": n_paths * n_steps / wall, "threads": threads}


#: (label, problem, scheme, normals per path-step) of the backend comparison
BACKEND_CASES = (("double_well_1d_em", "double_well", "euler-maruyama", 1),
                 ("from_expr_2d_em", "from_expr", "euler-maruyama", 2),
                 ("from_expr_2d_baoab", "from_expr", "baoab", 2))


def bench_backends(n_paths=2 ** 16, n_steps=1000, dtypes=(np.float64, np.float32)):
    """Per backend, case and dtype: path-steps/s and the ratio of the normals it consumes
    per second to SFC64's normals/s into a buffer of one block (4096), measured right
    before and after the run (one core, process time); plus kernel compile times."""
    backends = ["numpy"] + (["numba"] if numba_available() else [])
    out = {"n_paths": n_paths, "n_steps": n_steps, "backends": backends, "runs": []}
    for dtype in dtypes:
        for label, prob, scheme, per_step in BACKEND_CASES:
            for be in backends:
                engine_rate(prob, scheme=scheme, n_paths=4096, n_steps=10, dtype=dtype, backend=be)  # warm
                before = rng_rate(4096, dtype, seconds=0.5)
                r = engine_rate(prob, scheme=scheme, n_paths=n_paths, n_steps=n_steps, dtype=dtype, backend=be)
                bound = 0.5 * (before + rng_rate(4096, dtype, seconds=0.5))
                out["runs"].append({"case": label, "backend": r["backend"], "dtype": np.dtype(dtype).name,
                                    "path_steps_per_s": r["path_steps_per_s"], "rng_normals_per_s": bound,
                                    "ratio_to_rng": per_step * r["path_steps_per_s"] / bound})
    if "numba" in backends:
        # threads: wall-clock rates (process time adds the threads' CPU time up)
        wall = {t: engine_rate("from_expr", n_paths=n_paths, n_steps=n_steps, backend="numba", threads=t)
                ["wall_path_steps_per_s"] for t in (1, 2)}
        out["threads_from_expr_2d_em_wall"] = {"1": wall[1], "2": wall[2], "speedup_2": wall[2] / wall[1]}
        out["compile_seconds"] = compile_times()
    return out


def _em_normals_rate(n_paths, n_steps, dtype, normals, backend):
    """Process-time path-steps/s of EM on the 1-D double well with a normal source."""
    model = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    opts = EnsembleOptions(normals=normals)
    simulate(model, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=4096, seed=1, dtype=dtype, backend=backend,
             options=opts, progress=False)  # compile or load the kernel outside the timing
    tic = time.process_time()
    r = simulate(model, "euler-maruyama", (0, n_steps * 0.01), [0.0], 0.01, n_paths=n_paths, seed=0, dtype=dtype,
                 backend=backend, options=opts, progress=False)
    return {"path_steps_per_s": n_paths * n_steps / (time.process_time() - tic), "backend": r.backend}


def _diffrax_em_rate(n_paths, n_steps, dt, dtype):
    """Process-time path-steps/s of diffrax's Euler on the 1-D double well (σ = 0.7) with
    ``UnsafeBrownianPath`` (one normal per path and step, its fastest fixed-step set-up)."""
    import diffrax
    import jax
    import jax.numpy as jnp
    import lineax

    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", np.dtype(dtype) == np.float64)
    try:
        jd = jnp.float64 if np.dtype(dtype) == np.float64 else jnp.float32
        bm = diffrax.UnsafeBrownianPath(shape=jax.ShapeDtypeStruct((n_paths,), jd), key=jax.random.PRNGKey(0))
        diag = lambda t, y, a: lineax.DiagonalLinearOperator(jnp.full_like(y, 0.7))  # noqa: E731
        terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: y - y ** 3), diffrax.ControlTerm(diag, bm))

        @jax.jit
        def run(y0):
            sol = diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, n_steps * dt, dt, y0, max_steps=n_steps + 2,
                                      saveat=diffrax.SaveAt(t1=True), adjoint=diffrax.ForwardMode())
            return sol.ys, sol.stats["num_steps"]

        y0 = jnp.zeros(n_paths, dtype=jd)
        jax.block_until_ready(run(y0))
        tic = time.process_time()
        _, steps = jax.block_until_ready(run(y0))
        return n_paths * int(steps) / (time.process_time() - tic)
    finally:
        jax.config.update("jax_enable_x64", x64)


def bench_normals(n_paths=2 ** 16, n_steps=1000, dt=0.01):
    """Normal sources raw (normals/s into a 2^14 buffer) and in EM on the 1-D double well
    (path-steps/s), float32 and float64, with diffrax's Euler on the same problem in the
    same run when it is installed.  Per second of process time (pin the process to one
    core, e.g. ``taskset -c 0``, and set XLA_FLAGS for one XLA thread to compare cores)."""
    from dynopt.engine.normals import normals_rate

    out = {"n_paths": n_paths, "n_steps": n_steps, "note": "process-time rates; EM on the double well, sigma=0.7"}
    for dtype in (np.float32, np.float64):
        row = {"sfc64_numpy_normals_per_s": rng_rate(2 ** 14, dtype, seconds=0.5),
               "philox_numpy_normals_per_s": normals_rate(dtype, seconds=0.5, backend="numpy")}
        row["em_sfc64_numpy"] = _em_normals_rate(n_paths, n_steps, dtype, "sfc64", "numpy")["path_steps_per_s"]
        if numba_available():
            row["philox_numba_normals_per_s"] = normals_rate(dtype, seconds=0.5)
            row["em_sfc64_numba"] = _em_normals_rate(n_paths, n_steps, dtype, "sfc64", "numba")["path_steps_per_s"]
            row["em_philox_numba"] = _em_normals_rate(n_paths, n_steps, dtype, "philox", "numba")["path_steps_per_s"]
        try:
            row["diffrax_euler"] = _diffrax_em_rate(n_paths, n_steps, dt, dtype)
        except ImportError as exc:
            row["diffrax_euler"] = None
            row["diffrax_note"] = f"not installed ({exc.name}): pip install -e \".[peers]\""
        best = row.get("em_philox_numba")
        if best and row["diffrax_euler"]:
            row["ratio_philox_to_diffrax"] = best / row["diffrax_euler"]
        out[np.dtype(dtype).name] = row
    return out


_COMPILE_CHILD = r"""
import sys, time
import numba
from dynopt import dynamics, problems
from dynopt.engine import simulate
m = dynamics.Kramers(problems.from_expr(sys.argv[1]), 1.0, 0.7)
tic = time.perf_counter()
simulate(m, "baoab", (0, 0.01), [0.0, 0.0], 0.01, n_paths=16, seed=0, backend="numba")
print(time.perf_counter() - tic)
"""


def compile_times(expr=WELL_2D):
    """Seconds of a fresh process's first BAOAB run on a ``from_expr`` potential (code
    generation, numba compilation or loading; imports excluded) with an empty kernel
    cache, then in a second fresh process with the cache it left."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as cache:
        env["DYNOPT_KERNEL_CACHE"] = cache
        runs = [float(subprocess.run([sys.executable, "-c", _COMPILE_CHILD, expr], capture_output=True, text=True,
                                     env=env, check=True).stdout.split()[-1]) for _ in range(2)]
    return {"first_call": runs[0], "cached": runs[1], "includes": "code generation and a 16-path run; not the imports"}


_RSS_CHILD = r"""
import resource, sys, time
import numpy as np
from dynopt import dynamics, problems
from dynopt.engine import Histogram, simulate
n, steps = int(sys.argv[1]), int(sys.argv[2])
m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
tic = time.perf_counter()
r = simulate(m, "euler-maruyama", (0, steps * 0.01), [0.0], 0.01, n_paths=n, seed=0, keep_final=False,
             observers=[Histogram(200, (-3, 3))], progress=False)
sec = time.perf_counter() - tic
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, sec, r.observations["histogram"].total)
"""


def peak_rss(n_paths=10 ** 7, n_steps=10):
    """Peak RSS (MiB) of a fresh process running ``n_paths`` × ``n_steps`` with a streaming histogram."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(n_paths), str(n_steps)], capture_output=True,
                         text=True, env=env, check=True).stdout.split()
    return {"peak_rss_mb": float(out[0]), "seconds": float(out[1]), "samples": int(out[2]),
            "n_paths": n_paths, "n_steps": n_steps}


def bench_sde(n_paths=2 ** 20, n_steps=1000, rss_paths=10 ** 7, rss_steps=(10, 40), extras=True):
    """Run the benchmark; returns a JSON-able dict (see the module docstring)."""
    chunk = CACHE_BYTES // (3 * 8)
    res = {"machine_note": "rates per second of this process's CPU time (time.process_time), one core: "
                           "the machine may be shared, and wall-clock rates would count time spent waiting",
           "chunk_size_float64_1d": chunk}
    # the bound is measured right before and right after the engine run and averaged, so
    # that a shared machine's changing load affects both sides of the ratio alike
    for warm in ({}, {"dtype": np.float32}, {"dim": 2}, {"scheme": "baoab"}):
        engine_rate(n_paths=4096, n_steps=10, **warm)  # kernels compiled or loaded outside the timings
    before = rng_rate(chunk)
    em = engine_rate(n_paths=n_paths, n_steps=n_steps)
    after = rng_rate(chunk)
    res["rng_normals_per_s"] = 0.5 * (before + after)
    res["rng_normals_per_s_before_after"] = [before, after]
    res["em_path_steps_per_s"] = em["path_steps_per_s"]
    res["ratio"] = res["em_path_steps_per_s"] / res["rng_normals_per_s"]
    res["em"] = em
    if extras:
        b32 = rng_rate(CACHE_BYTES // (3 * 4), np.float32)
        f32 = engine_rate(n_paths=n_paths, n_steps=n_steps, dtype=np.float32)
        res["rng_normals_per_s_float32"] = 0.5 * (b32 + rng_rate(CACHE_BYTES // (3 * 4), np.float32))
        res["em_path_steps_per_s_float32"] = f32["path_steps_per_s"]
        res["ratio_float32"] = f32["path_steps_per_s"] / res["rng_normals_per_s_float32"]
        d2 = engine_rate(dim=2, n_paths=n_paths // 2, n_steps=n_steps)
        res["em_2d_path_steps_per_s"] = d2["path_steps_per_s"]
        res["em_2d_normals_per_s"] = 2 * d2["path_steps_per_s"]
        ba = engine_rate(scheme="baoab", n_paths=n_paths, n_steps=n_steps)
        res["baoab_path_steps_per_s"] = ba["path_steps_per_s"]
        res["backends"] = bench_backends(min(n_paths, 2 ** 16), n_steps)
        res["normals"] = bench_normals(min(n_paths, 2 ** 16), n_steps)
    rss = [peak_rss(rss_paths, s) for s in rss_steps]
    res["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rss)
    res["peak_rss_by_steps"] = {str(r["n_steps"]): r["peak_rss_mb"] for r in rss}
    res["rss_runs"] = rss
    return res


def _em_wall(n_paths, n_steps, executor=None, seed=0, dt=0.01):
    """Wall seconds of an EM double-well run (final state not kept) on ``executor``."""
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    tic = time.perf_counter()
    simulate(m, "euler-maruyama", (0, n_steps * dt), [0.0], dt, n_paths=n_paths, seed=seed,
             keep_final=False, progress=False, executor=executor)
    return time.perf_counter() - tic


def bench_scale(paths_exponents=range(10, 23, 2), n_steps=100, steps_ladder=(100, 200, 400, 800, 1600),
                steps_paths=2 ** 16):
    """Throughput against the number of paths (2^10 … 2^22 at fixed steps) and the number of
    steps (at fixed paths), with the fitted exponent of cost in each (1 = linear)."""
    by_paths = []
    for e in paths_exponents:
        n = 2 ** e
        sec = _em_wall(n, n_steps)
        by_paths.append({"n_paths": n, "n_steps": n_steps, "seconds": sec, "path_steps_per_s": n * n_steps / sec})
    by_steps = []
    for k in steps_ladder:
        sec = _em_wall(steps_paths, k)
        by_steps.append({"n_paths": steps_paths, "n_steps": k, "seconds": sec,
                         "path_steps_per_s": steps_paths * k / sec})
    big = [r for r in by_paths if r["n_paths"] >= 2 ** 14]  # below that, fixed per-step overhead dominates
    return {"by_paths": by_paths, "by_steps": by_steps,
            "cost_exponent_in_paths_2^14_up": fit_order([r["n_paths"] for r in big], [r["seconds"] for r in big]).order,
            "cost_exponent_in_steps": fit_order([r["n_steps"] for r in by_steps], [r["seconds"] for r in by_steps]).order}


def bench_speedups(n_paths=10 ** 7, n_steps=50, workers=2, repeats=3):
    """Wall-time speedups of a ``n_paths`` ensemble on ``workers`` local processes and on a
    ``workers``-worker dask LocalCluster over one process (same seed, identical result).

    Each time is the best of ``repeats`` runs (the usual guard against a shared machine's
    load); the executors are started before timing.
    """
    def best(executor=None):
        return min(_em_wall(n_paths, n_steps, executor=executor) for _ in range(repeats))

    out = {"n_paths": n_paths, "n_steps": n_steps, "workers": workers, "repeats": repeats}
    one = best()
    out["serial_seconds"] = one
    with LocalExecutor(workers) as ex:
        _em_wall(2 ** 16, 2, executor=ex)  # start the pool before timing
        out["local_seconds"] = best(ex)
    out[f"local_speedup_{workers}"] = one / out["local_seconds"]
    try:
        with DaskExecutor(n_workers=workers) as ex:
            _em_wall(2 ** 16, 2, executor=ex)
            out["dask_seconds"] = best(ex)
        out[f"dask_speedup_{workers}"] = one / out["dask_seconds"]
    except ImportError as exc:
        out[f"dask_speedup_{workers}"] = None
        out["dask_note"] = str(exc)
    return out


def _peer_sdeint(n_paths, n_steps, dt):
    import sdeint

    ts = np.linspace(0, n_steps * dt, n_steps + 1)
    f = lambda x, t: x - x ** 3  # noqa: E731
    g = lambda x, t: 0.7  # noqa: E731
    tic = time.perf_counter()
    for _ in range(n_paths):  # sdeint integrates one path at a time
        sdeint.itoEuler(f, g, 0.0, ts)
    return n_paths * n_steps / (time.perf_counter() - tic)


def _peer_torchsde(n_paths, n_steps, dt):
    import torch
    import torchsde

    class SDE(torch.nn.Module):
        noise_type, sde_type = "diagonal", "ito"

        def f(self, t, y):
            return y - y ** 3

        def g(self, t, y):
            return torch.full_like(y, 0.7)

    torch.set_num_threads(1)
    y0 = torch.zeros(n_paths, 1, dtype=torch.float64)
    ts = torch.linspace(0, n_steps * dt, n_steps + 1, dtype=torch.float64)
    bm = torchsde.BrownianInterval(t0=0.0, t1=n_steps * dt, size=(n_paths, 1), dtype=torch.float64)
    tic = time.perf_counter()
    torchsde.sdeint(SDE(), y0, ts[[0, -1]], method="euler", dt=dt, bm=bm)
    return n_paths * n_steps / (time.perf_counter() - tic)


def _peer_diffrax(n_paths, n_steps, dt):
    import diffrax
    import jax
    import jax.numpy as jnp
    import lineax

    jax.config.update("jax_enable_x64", True)
    T = n_steps * dt
    key = jax.random.PRNGKey(0)
    bm = diffrax.VirtualBrownianTree(0.0, T, tol=dt / 2, shape=(n_paths,), key=key)
    # diagonal noise: diffrax ≥ 0.7 contracts the vector field with the control, so a
    # scalar 0.7 no longer broadcasts over the paths
    terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: y - y ** 3),
                              diffrax.ControlTerm(lambda t, y, a: lineax.DiagonalLinearOperator(jnp.full_like(y, 0.7)), bm))

    @jax.jit
    def run(y0):
        return diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, T, dt, y0, max_steps=n_steps + 1).ys

    run(jnp.zeros(n_paths)).block_until_ready()
    tic = time.perf_counter()
    run(jnp.zeros(n_paths)).block_until_ready()
    return n_paths * n_steps / (time.perf_counter() - tic)


PEERS = {"sdeint": (_peer_sdeint, 200, 1000), "torchsde": (_peer_torchsde, 2 ** 16, 200),
         "diffrax": (_peer_diffrax, 2 ** 16, 200)}


def bench_peers(dt=0.01):
    """Path-steps/s of installed peer libraries on the same problem, as a ratio to dynopt
    measured in the same run with the same sizes (optional extra ``peers``)."""
    out = {}
    for name, (fn, n_paths, n_steps) in PEERS.items():
        try:
            rate = fn(n_paths, n_steps, dt)
        except ImportError as exc:
            out[name] = {"installed": False, "note": f"not installed ({exc.name}): pip install -e \".[peers]\""}
            continue
        ours = n_paths * n_steps / _em_wall(n_paths, n_steps, dt=dt)
        out[name] = {"installed": True, "path_steps_per_s": rate, "dynopt_path_steps_per_s": ours,
                     "ratio_to_dynopt": rate / ours, "n_paths": n_paths, "n_steps": n_steps}
    return out


def bench_all(n_paths=2 ** 20, n_steps=1000, rss_paths=10 ** 7, rss_steps=(10, 40), extras=True,
              speedup_paths=10 ** 7, speedup_steps=50):
    """Every benchmark: :func:`bench_sde`, :func:`bench_scale`, :func:`bench_speedups` and
    :func:`bench_peers`, with their headline numbers repeated at the top level.

    Returns
    -------
    dict
        Keys ``sde``, ``scale``, ``speedups``, ``peers`` (each benchmark's result) and
        ``local_speedup_2``, ``dask_speedup_2``, ``rng_normals_per_s``,
        ``em_path_steps_per_s``, ``ratio``, ``peak_rss_mb``.
    """
    res = {"sde": bench_sde(n_paths=n_paths, n_steps=n_steps, rss_paths=rss_paths,
                            rss_steps=tuple(rss_steps), extras=extras)}
    res["scale"] = bench_scale()
    res["speedups"] = bench_speedups(n_paths=speedup_paths, n_steps=speedup_steps)
    res["peers"] = bench_peers()
    for key in ("local_speedup_2", "dask_speedup_2"):
        res[key] = res["speedups"].get(key)
    for key in ("rng_normals_per_s", "em_path_steps_per_s", "ratio", "peak_rss_mb"):
        res[key] = res["sde"][key]
    return res


def bench_absorption(n_paths=2 ** 15, T=60.0, dt=0.01, sigma=1.0, seed=0):
    """Cost of an escape run with absorbing first passage against the same run without.

    Overdamped double well from −1 at ``sigma``, passage to the barrier top x ≥ 0 (about
    90 % of the paths pass in the first tenth of ``T``).  Three runs: no absorption,
    ``absorb=True`` (same random numbers as without: the scheme's work follows the
    survivors, the normals are still drawn for whole blocks) and ``absorb="survivors"``
    (blocks draw only for their survivors).  Returns a JSON-able dict with wall seconds,
    the ratios to the non-absorbing run and the passage quantiles.
    """
    from dynopt.engine import FirstPassage

    model = dynamics.OverdampedLangevin(problems.double_well(), sigma)
    out = {"n_paths": n_paths, "T": T, "dt": dt, "sigma": sigma}
    for key, absorb in (("plain", False), ("absorb", True), ("survivors", "survivors")):
        tic = time.perf_counter()
        r = simulate(model, "euler-maruyama", (0.0, T), (-1.0,), dt, n_paths=n_paths, seed=seed,
                     keep_final=False, progress=False, observers=[FirstPassage((0, 0.0, "above"), absorb=absorb)])
        out[f"{key}_seconds"] = time.perf_counter() - tic
        fp = r.observations["first_passage"]
    out["passed_fraction"] = float(fp.passed.mean())
    out["time_90pct_passed_over_T"] = float(np.quantile(fp.times, 0.9) / T) if fp.passed.mean() >= 0.9 else None
    out["absorb_ratio"] = out["absorb_seconds"] / out["plain_seconds"]
    out["survivors_ratio"] = out["survivors_seconds"] / out["plain_seconds"]
    return out
