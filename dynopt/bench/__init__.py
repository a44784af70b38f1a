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
    float32, on the 1-D double well and a 2-D ``from_expr`` potential (EM, BAOAB, and on
    the 1-D well a user's scheme imported from a file, :data:`USER_SCHEME_SOURCE`, with its
    rate over the built-in EM's in ``user_scheme``), the compiled one on 1 and 2 threads, each with its ratio to SFC64's normals/s measured
    around it; kernel compile times (fresh cache, then cached, each in a new process) and
    diffrax's Euler on the 1-D double well when it is installed;
(f) ``normals``: the normal sources (SFC64, and Philox of :mod:`dynopt.engine.normals`)
    raw and in EM on the 1-D double well, float32 and float64, beside diffrax's Euler on
    the same problem in the same run when diffrax is installed (:func:`bench_normals`).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from dynopt import dynamics, problems
from dynopt.bench.peers import sdeint_rate, torchsde_rate
from dynopt.io import load_file_module
from dynopt.analysis import fit_order
from dynopt.engine import CACHE_BYTES, DaskExecutor, EnsembleOptions, FirstPassage, LocalExecutor, simulate
from dynopt.engine.kernels import numba_available
from dynopt.engine.normals import normals_rate
from dynopt.schemes import METHODS

__all__ = ["USER_SCHEME_SOURCE", "USER_SCHEME", "user_scheme", "rng_rate", "engine_rate", "peak_rss", "bench_sde", "bench_scale",
           "bench_speedups", "steps_for_seconds",
           "bench_peers", "bench_all", "PEERS", "bench_backends", "compile_times", "BACKEND_CASES", "WELL_2D",
           "diffrax_rates", "bench_normals"]


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


#: the 2-D potential of the backend comparison, built as a user would (no declared polynomial)
WELL_2D = "(x**2 - 1)**2 + 2*y**2"

#: a scheme as a researcher writes it in a file of their own (nothing registered): the
#: stochastic θ-method (θ = ½) with an explicit Euler predictor for additive noise; the
#: benchmark imports it from a file, as ``--scheme FILE.py:NAME`` would
USER_SCHEME_SOURCE = '''
from dynopt.schemes import SDEScheme, ops


class ThetaPredictor(SDEScheme):
    """Y ← Y + (h/2)[f(Y) + f(Y + f(Y)h + GΔW)] + GΔW: two drift evaluations per step."""

    name = "user-theta-predictor"
    noise_types = ("additive",)
    strong_order = 1.0
    strong_order_additive = 1.0
    grad_evals = 2

    def step(self, model, t, state, dt, z):
        y = state.y
        dW = model.noise_term(t, y, z[0] * ops.sqrt(dt))
        f0 = model.drift(t, y)
        f1 = model.drift(t + dt, y + f0 * dt + dW)
        return self.State(y + (0.5 * dt) * (f0 + f1) + dW, state.grad_evals + 2)
'''

#: the name under which :func:`engine_rate` runs :data:`USER_SCHEME_SOURCE`'s scheme
USER_SCHEME = "user-file:ThetaPredictor"


def user_scheme():
    """An instance of the scheme in :data:`USER_SCHEME_SOURCE`, imported from a file."""
    # the kernel is traced from the loaded step, not read from the file, so the folder can go
    with tempfile.TemporaryDirectory(prefix="dynopt-user-scheme-") as folder:
        path = os.path.join(folder, "theta_predictor.py")
        with open(path, "w") as fh:
            fh.write(USER_SCHEME_SOURCE)
        return load_file_module(path, "theta_predictor").ThetaPredictor()


def engine_rate(problem="double_well", dim=1, scheme="euler-maruyama", n_paths=2 ** 20, n_steps=1000,
                dtype=np.float64, sigma=0.7, dt=0.01, seed=0, backend="auto", threads=1):
    """Path-steps per second of :func:`dynopt.engine.simulate` (final state only);
    ``problem="from_expr"`` is :data:`WELL_2D` built with :func:`dynopt.problems.from_expr`."""
    if problem == "from_expr":
        p, dim = problems.from_expr(WELL_2D, name="well_2d"), 2
    else:
        p = problems.double_well(dim)
    if scheme in METHODS and dynamics.Kramers in METHODS[scheme].approximates:
        model = dynamics.Kramers(p, friction=1.0, sigma=sigma)
        y0 = np.zeros(2 * dim)
    else:
        model = dynamics.OverdampedLangevin(p, sigma)
        y0 = np.zeros(dim)
    sch = user_scheme() if scheme == USER_SCHEME else scheme
    tic, wall = time.process_time(), time.perf_counter()
    r = simulate(model, sch, (0, n_steps * dt), y0, dt, n_paths=n_paths, seed=seed, backend=backend,
                 options=EnsembleOptions(threads=threads, dtype=dtype, keep_final=True, progress=False))
    sec = time.process_time() - tic
    wall = time.perf_counter() - wall
    return {"path_steps_per_s": n_paths * n_steps / sec, "cpu_seconds": sec, "wall_seconds": wall, "chunk_size": r.chunk_size,
            "n_paths": n_paths, "n_steps": n_steps, "dtype": np.dtype(dtype).name, "scheme": scheme,
            "dim": dim, "n_diverged": r.n_diverged, "backend": r.backend,
            "wall_path_steps_per_s": n_paths * n_steps / wall, "threads": threads}


#: (label, problem, scheme, normals per path-step) of the backend comparison
BACKEND_CASES = (("double_well_1d_em", "double_well", "euler-maruyama", 1),
                 ("double_well_1d_user_theta", "double_well", USER_SCHEME, 1),
                 ("double_well_1d_baoab", "double_well", "baoab", 1),
                 ("from_expr_2d_em", "from_expr", "euler-maruyama", 2),
                 ("from_expr_2d_baoab", "from_expr", "baoab", 2))


def _backend_run(case, dtype, backend, threads, n_paths, n_steps, rng_seconds):
    """One row of the backend comparison: rates of one (case, dtype, backend, threads) run
    and SFC64's normals/s into a buffer of one block (4096) measured right before and after."""
    label, prob, scheme, per_step = case
    engine_rate(prob, scheme=scheme, n_paths=4096, n_steps=10, dtype=dtype, backend=backend)  # warm
    before = rng_rate(4096, dtype, seconds=rng_seconds)
    r = engine_rate(prob, scheme=scheme, n_paths=n_paths, n_steps=n_steps, dtype=dtype, backend=backend,
                    threads=threads)
    bound = 0.5 * (before + rng_rate(4096, dtype, seconds=rng_seconds))
    return {"case": label, "backend": r["backend"], "dtype": np.dtype(dtype).name, "threads": threads,
            "path_steps_per_s": r["path_steps_per_s"], "wall_path_steps_per_s": r["wall_path_steps_per_s"],
            "cpu_seconds": r["cpu_seconds"], "wall_seconds": r["wall_seconds"], "rng_normals_per_s": bound,
            "ratio_to_rng": per_step * r["path_steps_per_s"] / bound}


def _thread_speedups(runs):
    """Per (case, dtype) of the numba rows: wall-clock speedup of 2 threads over 1, and the
    CPU the 2-thread run got per wall second (2.0 when both cores were free for it: a
    lower figure means the machine was busy, not that the code is serial)."""
    one = {(r["case"], r["dtype"]): r for r in runs if r["backend"] == "numba" and r["threads"] == 1}
    out = []
    for r in runs:
        base = one.get((r["case"], r["dtype"]))
        if r["backend"] == "numba" and r["threads"] == 2 and base is not None:
            out.append({"case": r["case"], "dtype": r["dtype"],
                        "speedup_2_threads_wall": base["wall_seconds"] / r["wall_seconds"],
                        "cpu_per_wall_2_threads": r["cpu_seconds"] / r["wall_seconds"]})
    return out


def _user_vs_builtin(runs):
    """Per backend and dtype (1 thread): the user's file scheme's path-steps/s over the
    built-in Euler–Maruyama's in the same run, on the 1-D double well."""
    key = {(r["case"], r["backend"], r["dtype"]): r for r in runs if r["threads"] == 1}
    out = []
    for (case, be, dt), r in key.items():
        em = key.get(("double_well_1d_em", be, dt))
        if case == "double_well_1d_user_theta" and em is not None:
            out.append({"backend": be, "dtype": dt, "ran_on": r["backend"],
                        "rate_vs_builtin_em": r["path_steps_per_s"] / em["path_steps_per_s"]})
    return out


def bench_backends(n_paths=2 ** 16, n_steps=1000, dtypes=(np.float64, np.float32), rng_seconds=0.5,
                   compile=True, peers=True):
    """Per backend, case (:data:`BACKEND_CASES`), dtype and thread count (1, and 2 for the
    compiled backend; numpy's is single-threaded): path-steps/s per CPU second and per wall
    second, and the ratio of the normals consumed per CPU second to SFC64's normals/s at the
    block size; the 2-thread wall speedups with the load average around them; kernel
    compile times (:func:`compile_times`) and diffrax on the same problem
    (:func:`diffrax_rates`) when installed."""
    backends = ["numpy"] + (["numba"] if numba_available() else [])
    out = {"n_paths": n_paths, "n_steps": n_steps, "backends": backends, "runs": [],
           "load_average_before": os.getloadavg()[0]}
    for dtype in dtypes:
        for case in BACKEND_CASES:
            for be in backends:
                for threads in ((1, 2) if be == "numba" else (1,)):
                    out["runs"].append(_backend_run(case, dtype, be, threads, n_paths, n_steps, rng_seconds))
    out["load_average_after"] = os.getloadavg()[0]
    out["threads"] = _thread_speedups(out["runs"])
    out["user_scheme"] = _user_vs_builtin(out["runs"])
    if "numba" in backends and compile:
        out["compile_seconds"] = compile_times()
    if peers:
        out["diffrax"] = diffrax_rates(n_paths, n_steps, dtypes)
    return out


def _em_normals_rate(n_paths, n_steps, dtype, normals, backend):
    """Process-time path-steps/s of EM on the 1-D double well with a normal source."""
    model = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    opts = EnsembleOptions(normals=normals, dtype=dtype, progress=False)
    simulate(model, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=4096, seed=1, backend=backend,
             options=opts)  # compile or load the kernel outside the timing
    tic = time.process_time()
    r = simulate(model, "euler-maruyama", (0, n_steps * 0.01), [0.0], 0.01, n_paths=n_paths, seed=0, backend=backend,
                 options=opts)
    return {"path_steps_per_s": n_paths * n_steps / (time.process_time() - tic), "backend": r.backend}


def bench_normals(n_paths=2 ** 16, n_steps=1000, dt=0.01):
    """Normal sources raw (normals/s into a 2^14 buffer) and in EM on the 1-D double well
    (path-steps/s), float32 and float64, with diffrax's Euler on the same problem in the
    same run when it is installed.  Per second of process time (pin the process to one
    core, e.g. ``taskset -c 0``, and set XLA_FLAGS for one XLA thread to compare cores)."""

    out = {"n_paths": n_paths, "n_steps": n_steps, "note": "process-time rates; EM on the double well, sigma=0.7"}
    peer = diffrax_rates(n_paths, n_steps, (np.float32, np.float64), dt)
    for dtype in (np.float32, np.float64):
        row = {"sfc64_numpy_normals_per_s": rng_rate(2 ** 14, dtype, seconds=0.5),
               "philox_numpy_normals_per_s": normals_rate(dtype, seconds=0.5, backend="numpy")}
        row["em_sfc64_numpy"] = _em_normals_rate(n_paths, n_steps, dtype, "sfc64", "numpy")["path_steps_per_s"]
        if numba_available():
            row["philox_numba_normals_per_s"] = normals_rate(dtype, seconds=0.5)
            row["em_sfc64_numba"] = _em_normals_rate(n_paths, n_steps, dtype, "sfc64", "numba")["path_steps_per_s"]
            row["em_philox_numba"] = _em_normals_rate(n_paths, n_steps, dtype, "philox", "numba")["path_steps_per_s"]
        if peer["installed"]:
            row["diffrax_euler"] = peer[np.dtype(dtype).name]["path_steps_per_s"]
        else:
            row["diffrax_euler"], row["diffrax_note"] = None, peer["note"]
        best = row.get("em_philox_numba")
        if best and row["diffrax_euler"]:
            row["ratio_philox_to_diffrax"] = best / row["diffrax_euler"]
        out[np.dtype(dtype).name] = row
    return out


_COMPILE_CHILD = r"""
import json, sys, time
import numpy as np
import numba
from dynopt import dynamics, problems
from dynopt.engine import EnsembleOptions, simulate
well2, well1 = problems.from_expr(sys.argv[1]), problems.double_well()
runs = [("from_expr_2d_baoab", dynamics.Kramers(well2, 1.0, 0.7), "baoab", 4),
        ("from_expr_2d_em", dynamics.OverdampedLangevin(well2, 0.7), "euler-maruyama", 2),
        ("double_well_1d_em", dynamics.OverdampedLangevin(well1, 0.7), "euler-maruyama", 1)]
out = {}
for dtype in (np.float64, np.float32):
    for label, m, scheme, D in runs:
        tic = time.perf_counter()
        simulate(m, scheme, (0, 0.01), [0.0] * D, 0.01, n_paths=16, seed=0, backend="numba",
                 options=EnsembleOptions(dtype=dtype))
        out[label + "_" + np.dtype(dtype).name] = time.perf_counter() - tic
print(json.dumps(out))
"""


def compile_times(expr=WELL_2D):
    """Seconds of each kernel's first run in a fresh process (code generation, numba
    compilation or loading; imports excluded) with an empty kernel cache, then in a second
    fresh process with the cache it left.

    ``first_call``/``cached`` are the first kernel of a process (BAOAB on a ``from_expr``
    potential, float64: it also pays numba's one-time set-up); ``per_kernel`` has every
    kernel of the backend comparison, timed one after the other in the same two processes.
    """
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as cache:
        env["DYNOPT_KERNEL_CACHE"] = cache
        runs = [json.loads(subprocess.run([sys.executable, "-c", _COMPILE_CHILD, expr], capture_output=True, text=True,
                                          env=env, check=True).stdout.splitlines()[-1]) for _ in range(2)]
    first = next(iter(runs[0]))
    return {"first_call": runs[0][first], "cached": runs[1][first], "first_kernel": first,
            "per_kernel": {k: {"first_call": runs[0][k], "cached": runs[1][k]} for k in runs[0]},
            "first_process_total": sum(runs[0].values()), "cached_process_total": sum(runs[1].values()),
            "includes": "code generation and a 16-path run; not the imports"}


#: diffrax's Euler on the 1-D double well: one thread (XLA's own thread pools off), jit-compiled
#: and run once before the timed run; UnsafeBrownianPath draws a fresh normal per step (what a
#: fixed-step EM needs: as fast as a hand-written lax.scan over jax.random.normal here, and
#: ~30x faster than a VirtualBrownianTree, which a fixed step does not need)
_DIFFRAX_CHILD = r"""
import json, sys, time
import jax
n, steps, dt, name = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
jax.config.update("jax_enable_x64", name == "float64")
import diffrax, lineax
import jax.numpy as jnp
dtype = jnp.dtype(name)
bm = diffrax.UnsafeBrownianPath(shape=jax.ShapeDtypeStruct((n,), dtype), key=jax.random.PRNGKey(0))
sig = jnp.full(n, 0.7, dtype=dtype)
terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: y - y ** 3),
                          diffrax.ControlTerm(lambda t, y, a: lineax.DiagonalLinearOperator(sig), bm))
run = jax.jit(lambda y0: diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, steps * dt, dt, y0, max_steps=steps + 1,
                                             adjoint=diffrax.ForwardMode()).ys)
y0 = jnp.zeros(n, dtype=dtype)
tic = time.perf_counter()
run(y0).block_until_ready()
compile_s = time.perf_counter() - tic
cpu, wall = time.process_time(), time.perf_counter()
ys = run(y0).block_until_ready()
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"path_steps_per_s": n * steps / cpu, "wall_path_steps_per_s": n * steps / wall,
                  "cpu_seconds": cpu, "wall_seconds": wall, "compile_and_first_run_seconds": compile_s,
                  "dtype": str(ys.dtype), "variance": float(jnp.var(ys)), "jax": jax.__version__,
                  "diffrax": diffrax.__version__}))
"""


def diffrax_rates(n_paths=2 ** 16, n_steps=1000, dtypes=(np.float64, np.float32), dt=0.01):
    """diffrax's Euler–Maruyama on the 1-D double well (σ = 0.7) per dtype, in a fresh
    process on one thread, timed after a warm-up run (compile excluded); with each dtype's
    ratio to SFC64's normals/s measured here at the block size (one normal per path-step).

    Returns ``{"installed": False, "note": ...}`` without diffrax (extra ``peers``).
    """
    env = dict(os.environ, XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    out = {"installed": True, "n_paths": n_paths, "n_steps": n_steps, "dt": dt, "threads": 1,
           "brownian": "diffrax.UnsafeBrownianPath (a fresh normal per step), ForwardMode adjoint"}
    for dtype in dtypes:
        name = np.dtype(dtype).name
        p = subprocess.run([sys.executable, "-c", _DIFFRAX_CHILD, str(n_paths), str(n_steps), str(dt), name],
                           capture_output=True, text=True, env=env)
        if p.returncode != 0:
            missing = "ModuleNotFoundError" in p.stderr
            return {"installed": False, "note": 'not installed: pip install -e ".[peers]"' if missing else
                    f"diffrax failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}"}
        r = json.loads(p.stdout.splitlines()[-1])
        r["ratio_to_rng"] = r["path_steps_per_s"] / rng_rate(4096, dtype, seconds=0.5)
        out[name] = r
    return out


_RSS_CHILD = r"""
import resource, sys, time
import numpy as np
from dynopt import dynamics, problems
from dynopt.engine import EnsembleOptions, Histogram, simulate
n, steps = int(sys.argv[1]), int(sys.argv[2])
m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
tic = time.perf_counter()
r = simulate(m, "euler-maruyama", (0, steps * 0.01), [0.0], 0.01, n_paths=n, seed=0,
             observers=[Histogram(200, (-3, 3))], options=EnsembleOptions(keep_final=False, progress=False))
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
        # kernels compiled or loaded outside the timings ("auto" would leave a run this small on numpy)
        compiled = numba_available() and warm.get("dtype") is not np.float32
        engine_rate(n_paths=4096, n_steps=10, backend="numba" if compiled else "auto", **warm)
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
    simulate(m, "euler-maruyama", (0, n_steps * dt), [0.0], dt, n_paths=n_paths, seed=seed, executor=executor,
             options=EnsembleOptions(keep_final=False, progress=False))
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


def steps_for_seconds(n_paths, seconds, probe_seconds=1.0):
    """Steps of the EM double-well job of :func:`bench_speedups` that take about ``seconds`` of serial
    wall time for ``n_paths`` paths, and the measured seconds per step.

    The kernel is compiled (or loaded from its cache) first; the probe then doubles its steps until
    one run takes ``probe_seconds``, so start-up and compilation are not counted in the rate.
    """
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"`seconds` must be finite and > 0; got {seconds!r}")
    _em_wall(n_paths, 2)  # compile / load the kernel and touch the memory
    k = 8
    while True:
        sec = _em_wall(n_paths, k)
        if sec >= probe_seconds or k >= 2 ** 20:
            break
        k *= 2
    per_step = sec / k
    return max(k, int(math.ceil(seconds / per_step))), per_step


def bench_speedups(n_paths=10 ** 6, n_steps=None, workers=2, repeats=2, serial_seconds=20.0):
    """Wall-time speedups of a ``n_paths`` ensemble on ``workers`` local processes and on a
    ``workers``-worker dask LocalCluster over one process (same seed, identical result).

    The job is sized by time: unless ``n_steps`` is given, it gets the steps that take about
    ``serial_seconds`` serially (:func:`steps_for_seconds`), so that the speedups measure scaling,
    not process start-up and scheduling.  Each time is the best of ``repeats`` runs (the usual
    guard against a shared machine's load); the executors are started before timing.  The 1-minute
    load average before and after is recorded: speedups taken on a busy machine understate scaling.
    """
    def best(executor=None):
        return min(_em_wall(n_paths, n_steps, executor=executor) for _ in range(repeats))

    out = {"n_paths": n_paths, "workers": workers, "repeats": repeats, "load_average_before": _load()}
    if n_steps is None:
        n_steps, per_step = steps_for_seconds(n_paths, serial_seconds)
        out["sized_for_serial_seconds"] = serial_seconds
        out["probe_seconds_per_step"] = per_step
    out["n_steps"] = n_steps
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
    out["load_average_after"] = _load()
    return out


def _load():
    """The 1-minute load average (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _peer_diffrax(n_paths, n_steps, dt):
    r = diffrax_rates(n_paths, n_steps, (np.float64,), dt)
    if not r["installed"]:
        raise ImportError(r["note"], name="diffrax")
    return r["float64"]["wall_path_steps_per_s"]


PEERS = {"sdeint": (sdeint_rate, 200, 1000), "torchsde": (torchsde_rate, 2 ** 16, 200),
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
              speedup_paths=10 ** 6, speedup_steps=None, speedup_seconds=20.0):
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
    res["speedups"] = bench_speedups(n_paths=speedup_paths, n_steps=speedup_steps, serial_seconds=speedup_seconds)
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

    model = dynamics.OverdampedLangevin(problems.double_well(), sigma)
    out = {"n_paths": n_paths, "T": T, "dt": dt, "sigma": sigma}
    for key, absorb in (("plain", False), ("absorb", True), ("survivors", "survivors")):
        tic = time.perf_counter()
        r = simulate(model, "euler-maruyama", (0.0, T), (-1.0,), dt, n_paths=n_paths, seed=seed,
                     observers=[FirstPassage((0, 0.0, "above"), absorb=absorb)],
                     options=EnsembleOptions(keep_final=False, progress=False))
        out[f"{key}_seconds"] = time.perf_counter() - tic
        fp = r.observations["first_passage"]
    out["passed_fraction"] = float(fp.passed.mean())
    out["time_90pct_passed_over_T"] = float(np.quantile(fp.times, 0.9) / T) if fp.passed.mean() >= 0.9 else None
    out["absorb_ratio"] = out["absorb_seconds"] / out["plain_seconds"]
    out["survivors_ratio"] = out["survivors_seconds"] / out["plain_seconds"]
    return out
