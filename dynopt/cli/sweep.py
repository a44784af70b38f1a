"""``dynopt sweep``: run a parameter sweep from a TOML spec."""
from __future__ import annotations

import sys
from pathlib import Path

from dynopt.cli.args import check_out_dir, check_positive
from dynopt.engine import SchedulerUnavailable, get_executor
from dynopt.ledger import Cache
from dynopt.sweep import SpecError, load_spec, run_sweep

__all__ = ["register", "cmd_sweep"]


def cmd_sweep(args) -> int:
    """Run ``dynopt sweep SPEC``: every grid point, then results.csv and the figures.

    Returns
    -------
    int
        0, or 2 for a malformed spec or an executor that cannot be started.
    """
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(f"dynopt sweep: error: {exc}", file=sys.stderr)
        return 2
    check_positive(args.workers, "--workers")
    out = check_out_dir(Path(args.out) if args.out else spec.path.with_name(spec.path.stem + "-out"))
    try:
        executor = get_executor(args.executor, n_workers=args.workers, scheduler=args.scheduler)
    except (ValueError, SchedulerUnavailable, ImportError) as exc:
        print(f"dynopt sweep: error: {exc}", file=sys.stderr)
        return 2
    with executor:
        rows = run_sweep(spec, out, executor=executor, cache=Cache(out / ".cache", not args.no_cache),
                         progress=True)
    print(f"{len(rows)} points → {out / 'results.csv'}" +
          "".join(f", {out / (pl['kind'] + '-' + pl.get('value', pl['y']) + '.png')}" for pl in spec.plots))
    return 0


def register(subparsers):
    """Add the ``sweep`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "sweep", help="run a parameter sweep from a TOML spec (writes <out>/results.csv and PNG figures)",
        description="Run the task of SPEC.toml at every grid point (in parallel with --executor), "
                    "caching each point by a hash of code, parameters and seed, and write "
                    "<out>/results.csv (one row per point) and one PNG per [[plots]] entry "
                    "(heatmaps, curves). The task is a built-in name or "
                    "'file.py:function' for a file beside the spec. Plots are labelled with symbols "
                    "(alpha_h → αh), yes/no values get a categorical map, 'contour' draws level lines, "
                    "curves get ±2 SE bars when the task returns '<y>_se' or 'se', and 'loglog', "
                    "'logx', 'logy' set log axes. Reruns recompute only changed points; an "
                    "interrupted sweep resumes. Examples: experiments/sweeps/*.toml")
    p.add_argument("spec", help="the sweep spec (TOML)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: <spec>-out beside the spec)")
    p.add_argument("--executor", default="serial", help="serial (default), local or dask")
    p.add_argument("--workers", type=int, help="worker processes (local) or LocalCluster workers (dask)")
    p.add_argument("--scheduler", metavar="ADDR", help="dask scheduler address tcp://HOST:PORT")
    p.add_argument("--no-cache", action="store_true", help="recompute every point")
    p.set_defaults(func=cmd_sweep)
    return p
