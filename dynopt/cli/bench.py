"""``dynopt bench``: throughput of the SDE engine, scaling, parallel speedups and peers."""
from __future__ import annotations

import json
import math

from dynopt.bench import bench_absorption, bench_all, bench_normals, bench_sde
from dynopt.cli.args import UsageError, check_positive

__all__ = ["register", "cmd_bench"]


def _print_all(res) -> None:
    s = res["scale"]
    print(f"EM/RNG ratio {res['ratio']:.2f}; peak RSS {res['peak_rss_mb']:.0f} MiB")
    print(f"cost ∝ paths^{s['cost_exponent_in_paths_2^14_up']:.2f} (2^14..2^22), ∝ steps^{s['cost_exponent_in_steps']:.2f}")
    sp = res["speedups"]
    print(f"speedups on 2 workers: local {res['local_speedup_2']:.2f}×, dask "
          f"{res['dask_speedup_2'] if res['dask_speedup_2'] is None else round(res['dask_speedup_2'], 2)}× "
          f"({sp['n_paths']} paths × {sp['n_steps']} steps, {sp['serial_seconds']:.1f} s serial; load average "
          f"{sp['load_average_before']} → {sp['load_average_after']})")
    for name, p in res["peers"].items():
        print(f"{name}: " + (f"{p['ratio_to_dynopt']:.2f}× dynopt" if p["installed"] else p["note"]))


def _print_backends(b) -> None:
    for r in b.get("runs", []):
        print(f"{r['case']:<21} {r['backend']:<6} {r['dtype']:<8} {r.get('threads', 1)} thr "
              f"{r['path_steps_per_s'] / 1e6:7.1f} M path-steps/s  ratio to normals/s {r['ratio_to_rng']:.2f}")
    for t in b.get("threads", []):
        print(f"{t['case']:<21} {t['dtype']:<8} 2 threads: {t['speedup_2_threads_wall']:.2f}x wall "
              f"({t['cpu_per_wall_2_threads']:.2f} CPU s per wall s)")
    if "compile_seconds" in b:
        c = b["compile_seconds"]
        print(f"kernel compile: first call {c['first_call']:.1f} s, cached {c['cached']:.1f} s")
    d = b.get("diffrax")
    if d:
        print("diffrax: " + ("; ".join(f"{k} {d[k]['path_steps_per_s'] / 1e6:.1f} M path-steps/s (ratio "
                                       f"{d[k]['ratio_to_rng']:.2f})" for k in ("float64", "float32") if k in d)
                             if d["installed"] else d["note"]))


def _print_sde(res) -> None:
    print(f"SFC64 normals/s (float64, chunk {res['chunk_size_float64_1d']}): {res['rng_normals_per_s'] / 1e6:.1f} M")
    print(f"EM path-steps/s (float64, 1-D double well):     {res['em_path_steps_per_s'] / 1e6:.1f} M"
          f"  ratio {res['ratio']:.2f}")
    if "ratio_float32" in res:
        print(f"float32: normals/s {res['rng_normals_per_s_float32'] / 1e6:.1f} M, EM "
              f"{res['em_path_steps_per_s_float32'] / 1e6:.1f} M, ratio {res['ratio_float32']:.2f}")
        print(f"2-D EM path-steps/s {res['em_2d_path_steps_per_s'] / 1e6:.1f} M; BAOAB "
              f"{res['baoab_path_steps_per_s'] / 1e6:.1f} M")
    _print_backends(res.get("backends", {}))
    print(f"peak RSS {res['peak_rss_mb']:.0f} MiB by steps {res['peak_rss_by_steps']}")


def cmd_bench(args) -> int:
    """Run ``dynopt bench [all|sde]`` and print a summary or JSON; returns 0 (2 for a bad size)."""
    for opt in ("paths", "steps", "rss_paths", "speedup_paths", "speedup_steps"):
        check_positive(getattr(args, opt), "--" + opt.replace("_", "-"), allow_none=opt == "speedup_steps")
    if not (args.speedup_seconds > 0 and math.isfinite(args.speedup_seconds)):
        raise UsageError(f"`--speedup-seconds` must be a finite number > 0; got {args.speedup_seconds}")
    for n in args.rss_steps:
        check_positive(n, "--rss-steps", allow_none=False)
    sizes = dict(n_paths=args.paths, n_steps=args.steps, rss_paths=args.rss_paths,
                 rss_steps=tuple(args.rss_steps), extras=not args.minimal)
    if args.target == "absorption":
        res = bench_absorption()
        print(json.dumps(res, indent=1) if args.json else
              f"escape run, {res['n_paths']} paths, {res['passed_fraction']:.1%} passed (90 % by "
              f"{res['time_90pct_passed_over_T']:.0%} of T): plain {res['plain_seconds']:.2f} s, absorb "
              f"{res['absorb_seconds']:.2f} s ({res['absorb_ratio']:.2f}×), absorb='survivors' "
              f"{res['survivors_seconds']:.2f} s ({res['survivors_ratio']:.2f}×)")
        return 0
    if args.target == "normals":
        print(json.dumps(bench_normals(min(args.paths, 2 ** 16), args.steps), indent=1))
        return 0
    if args.target == "all":
        res = bench_all(**sizes, speedup_paths=args.speedup_paths, speedup_steps=args.speedup_steps,
                        speedup_seconds=args.speedup_seconds)
    else:
        res = bench_sde(**sizes)
    if args.json:
        print(json.dumps(res, indent=1))
    elif args.target == "all":
        _print_all(res)
    else:
        _print_sde(res)
    return 0


def register(subparsers):
    """Add the ``bench`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "bench", help="benchmarks: SDE engine vs the RNG bound, scaling, parallel speedups, peers (prints a summary or JSON, writes nothing)",
        description="Targets. sde (a minute or two): SFC64 normals/s at the engine's chunk size (the "
                    "RNG bound); Euler-Maruyama path-steps/s on the 1-D double well (sigma=0.7, "
                    "dt=0.01, final state only) and their ratio; float32, 2-D and BAOAB rates "
                    "(skipped with --minimal); peak RSS of a fresh process running --rss-paths paths "
                    "with a streaming histogram at each of --rss-steps. all (the default, a few "
                    "minutes): the sde target, then throughput vs number of paths (2^10..2^22) and "
                    "steps with fitted cost exponents, wall-time speedups of a --speedup-paths "
                    "ensemble on 2 local processes and on a 2-worker dask LocalCluster (keys "
                    "local_speedup_2, dask_speedup_2), and the installed peer libraries (sdeint, "
                    "torchsde, diffrax; extra 'peers') as ratios to dynopt. The sde rates are per "
                    "second of CPU time. Prints a summary, or everything with --json; writes no files. absorption: "
                    "an escape run with absorbing first passage vs the same run without (seconds, ratios). normals: "
                    "the SFC64 and Philox normal sources raw and in EM, float32/float64, beside diffrax (JSON).")
    p.add_argument("target", nargs="?", default="all", choices=["all", "sde", "absorption", "normals"],
                   help="what to benchmark (default all)")
    p.add_argument("--speedup-paths", type=int, default=10 ** 6, help="paths of the speedup runs (default 10^6)")
    p.add_argument("--speedup-steps", type=int,
                   help="steps of the speedup runs (default: as many as take --speedup-seconds serially)")
    p.add_argument("--speedup-seconds", type=float, default=20.0,
                   help="serial wall time the speedup job is sized to (default 20 s: long enough that process "
                        "start-up does not decide the speedup)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--paths", type=int, default=2 ** 20, help="paths for the throughput runs (default 2^20)")
    p.add_argument("--steps", type=int, default=1000, help="steps for the throughput runs (default 1000)")
    p.add_argument("--rss-paths", type=int, default=10 ** 7, help="paths of the memory run (default 10^7)")
    p.add_argument("--rss-steps", type=int, nargs="+", default=[10, 40],
                   help="step counts of the memory runs (default 10 40)")
    p.add_argument("--minimal", action="store_true", help="skip the float32, 2-D and BAOAB rates of the sde target (keeps the float64 RNG "
                        "bound, the Euler-Maruyama rate, their ratio and the memory runs)")
    p.set_defaults(func=cmd_bench)
    return p
