"""``dynopt bench sde``: throughput of the SDE engine against the random-number bound.

Measures, in one process on one core (numpy's ufuncs and generators are single-threaded):

(a) ``rng_normals_per_s``: standard normals per second from SFC64 (numpy's fastest bit
    generator) written into a preallocated buffer of the engine's chunk size with
    ``Generator.standard_normal(out=...)`` — the bound an SDE engine cannot beat;
(b) ``em_path_steps_per_s``: :func:`dynopt.integrate.simulate` with Euler–Maruyama on the 1-D
    double well U = x⁴/4 − x²/2, σ = 0.7, dt = 0.01, 2^20 paths × 1000 steps, final state
    only, and ``ratio`` = (b)/(a);
(c) the same in float32, for the 2-D double well and for BAOAB on the Kramers equation;
(d) ``peak_rss_mb``: peak resident memory of a fresh process running 10^7 paths with a
    streaming histogram, for two step counts (it must not grow with the steps).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np

__all__ = ["rng_rate", "engine_rate", "peak_rss", "bench_sde", "register"]


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


def engine_rate(problem="double_well", dim=1, scheme="euler-maruyama", n_paths=2 ** 20, n_steps=1000,
                dtype=np.float64, sigma=0.7, dt=0.01, seed=0):
    """Path-steps per second of :func:`dynopt.integrate.simulate` (final state only)."""
    from . import dynamics, problems
    from .integrate import simulate

    p = problems.double_well(dim)
    if scheme in ("baoab", "obabo", "aboba", "momentum-sgd"):
        model = dynamics.Kramers(p, friction=1.0, sigma=sigma)
        y0 = np.zeros(2 * dim)
    else:
        model = dynamics.OverdampedLangevin(p, sigma)
        y0 = np.zeros(dim)
    tic, wall = time.process_time(), time.perf_counter()
    r = simulate(model, scheme, (0, n_steps * dt), y0, dt, n_paths=n_paths, seed=seed, dtype=dtype,
                 keep_final=True, progress=False)
    sec = time.process_time() - tic
    wall = time.perf_counter() - wall
    return {"path_steps_per_s": n_paths * n_steps / sec, "cpu_seconds": sec, "wall_seconds": wall, "chunk_size": r.chunk_size,
            "n_paths": n_paths, "n_steps": n_steps, "dtype": np.dtype(dtype).name, "scheme": scheme,
            "dim": dim, "n_diverged": r.n_diverged}


_RSS_CHILD = r"""
import resource, sys, time
import numpy as np
from dynopt import dynamics, problems
from dynopt.integrate import Histogram, simulate
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
    import os

    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(n_paths), str(n_steps)], capture_output=True,
                         text=True, env=env, check=True).stdout.split()
    return {"peak_rss_mb": float(out[0]), "seconds": float(out[1]), "samples": int(out[2]),
            "n_paths": n_paths, "n_steps": n_steps}


def bench_sde(n_paths=2 ** 20, n_steps=1000, rss_paths=10 ** 7, rss_steps=(10, 40), extras=True):
    """Run the benchmark; returns a JSON-able dict (see the module docstring)."""
    from .integrate import CACHE_BYTES

    chunk = CACHE_BYTES // (3 * 8)
    res = {"machine_note": "rates per second of this process's CPU time (time.process_time), one core: "
                           "the machine may be shared, and wall-clock rates would count time spent waiting",
           "chunk_size_float64_1d": chunk}
    # the bound is measured right before and right after the engine run and averaged, so
    # that a shared machine's changing load affects both sides of the ratio alike
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
    rss = [peak_rss(rss_paths, s) for s in rss_steps]
    res["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rss)
    res["peak_rss_by_steps"] = {str(r["n_steps"]): r["peak_rss_mb"] for r in rss}
    res["rss_runs"] = rss
    return res


def _cmd(args) -> int:
    if args.target != "sde":
        print(f"dynopt bench: error: `target` must be one of ['sde']; got {args.target!r}", file=sys.stderr)
        return 2
    res = bench_sde(n_paths=args.paths, n_steps=args.steps, rss_paths=args.rss_paths,
                    rss_steps=tuple(args.rss_steps), extras=not args.minimal)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(f"SFC64 normals/s (float64, chunk {res['chunk_size_float64_1d']}): {res['rng_normals_per_s'] / 1e6:.1f} M")
        print(f"EM path-steps/s (float64, 1-D double well):     {res['em_path_steps_per_s'] / 1e6:.1f} M"
              f"  ratio {res['ratio']:.2f}")
        if "ratio_float32" in res:
            print(f"float32: normals/s {res['rng_normals_per_s_float32'] / 1e6:.1f} M, EM "
                  f"{res['em_path_steps_per_s_float32'] / 1e6:.1f} M, ratio {res['ratio_float32']:.2f}")
            print(f"2-D EM path-steps/s {res['em_2d_path_steps_per_s'] / 1e6:.1f} M; BAOAB "
                  f"{res['baoab_path_steps_per_s'] / 1e6:.1f} M")
        print(f"peak RSS {res['peak_rss_mb']:.0f} MiB by steps {res['peak_rss_by_steps']}")
    return 0


def register(subparsers):
    """Add ``dynopt bench``."""
    p = subparsers.add_parser(
        "bench", help="benchmark the SDE engine against the random-number bound (prints, writes nothing)",
        description="dynopt bench sde: SFC64 normals/s at the engine's chunk size; Euler-Maruyama "
                    "path-steps/s on the 1-D double well (sigma=0.7, dt=0.01, final state only) and "
                    "their ratio; float32, 2-D and BAOAB rates; peak RSS of a fresh process running "
                    "10^7 paths with a streaming histogram at two step counts. Prints a summary or "
                    "JSON (--json); writes no files. Takes about a minute or two.")
    p.add_argument("target", choices=["sde"], help="what to benchmark")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--paths", type=int, default=2 ** 20, help="paths for the throughput runs (default 2^20)")
    p.add_argument("--steps", type=int, default=1000, help="steps for the throughput runs (default 1000)")
    p.add_argument("--rss-paths", type=int, default=10 ** 7, help="paths of the memory run (default 10^7)")
    p.add_argument("--rss-steps", type=int, nargs="+", default=[10, 40],
                   help="step counts of the memory runs (default 10 40)")
    p.add_argument("--minimal", action="store_true", help="only (a), (b) and (d)")
    p.set_defaults(func=_cmd)
