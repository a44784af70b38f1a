"""``dynopt compare``: fitted orders of fixed-step schemes against scipy references."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from dynopt.analysis import FRICTION, STANDARD_PROBLEMS, STANDARD_SCHEMES, compare, work_precision_study
from dynopt.plotting import orders_figure, save_figure, work_precision_figure
from dynopt.schemes import METHODS

__all__ = ["register", "cmd_compare"]


def _write_figures(results, out: Path, friction: float, work_precision: bool) -> None:
    """orders-<problem>.png (gradient flow | damped system) and work-precision-<problem>.png."""
    for pname in dict.fromkeys(r.problem for r in results):
        rows = [r for r in results if r.problem == pname]
        fig = orders_figure([
            ([r for r in rows if r.ode.startswith("gradient")], f"{pname}: vs gradient flow"),
            ([r for r in rows if not r.ode.startswith("gradient")],
             f"{pname}: vs θ''+λθ'=−∇L, λ={friction:g}"),
        ])
        save_figure(fig, out / f"orders-{pname}.png")
        if work_precision:
            save_figure(work_precision_figure(work_precision_study(pname)),
                        out / f"work-precision-{pname}.png")


def _print_table(results) -> None:
    print(f"{'problem':<12} {'scheme':<17} {'ode':<34} {'declared':>8} {'measured':>9}  95% CI")
    for r in results:
        if r.fit:
            meas = f"{r.fit.order:9.3f}  [{r.fit.ci[0]:.3f}, {r.fit.ci[1]:.3f}]"
        else:
            meas = f"{'—':>9}  {r.note}"
        print(f"{r.problem:<12} {r.scheme:<17} {r.ode[:34]:<34} {r.declared_order!s:>8} {meas}")
        if r.diverged and r.fit:
            print(f"{'':<12} note: {r.note}")


def cmd_compare(args) -> int:
    """Run ``dynopt compare``: convergence studies, then figures and a table or JSON.

    Returns
    -------
    int
        0, or 2 for an unknown problem or scheme name (before any run).
    """
    try:
        results = compare(args.problems, args.schemes, T=args.T, ladder=args.steps,
                          friction=args.friction)
    except ValueError as exc:
        print(f"dynopt compare: error: {exc}", file=sys.stderr)
        return 2
    if not args.no_figures:
        out = Path(args.out)
        _write_figures(results, out, args.friction, not args.no_work_precision)
        if not args.json:
            print(f"figures written to {out}/")
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1))
    else:
        _print_table(results)
    return 0


def register(subparsers):
    """Add the ``compare`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "compare", help="global error and fitted order of fixed-step schemes vs scipy references (writes PNGs to ./dynopt-compare)",
        description="For each problem and scheme: the global error at ODE time T against a "
                    "reference (expm for quadratics, solve_ivp DOP853 rtol=1e-13 otherwise) for a "
                    "ladder of step sizes, the fitted order with a 95% confidence interval "
                    "(scipy.stats.linregress), and log-log figures orders-<problem>.png and "
                    "work-precision-<problem>.png (error vs gradient evaluations, fixed-step "
                    "schemes and solve_ivp's RK45, DOP853, Radau, LSODA at tolerances 1e-3..1e-11) "
                    "written to --out. "
                    "Euler/Heun/RK4 are compared with gradient flow, the momentum schemes with "
                    "the damped system θ''+λθ'=−∇L through the exact parameter maps.")
    p.add_argument("--problems", nargs="+", metavar="NAME",
                   help=f"problems (default all: {', '.join(STANDARD_PROBLEMS)})")
    p.add_argument("--schemes", nargs="+", metavar="NAME",
                   help=f"schemes (default: {', '.join(STANDARD_SCHEMES)}); known: {', '.join(sorted(METHODS))}")
    p.add_argument("--T", type=float, help="final ODE time (default per problem)")
    p.add_argument("--steps", nargs="+", type=int, metavar="N",
                   help="numbers of steps on [0, T] (default: a ladder of 6 per scheme)")
    p.add_argument("--friction", type=float, default=FRICTION, help="λ of the damped system (default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per (problem, scheme)")
    p.add_argument("--out", default="dynopt-compare", metavar="DIR", help="figure directory (default ./dynopt-compare)")
    p.add_argument("--no-figures", action="store_true", help="write no figures")
    p.add_argument("--no-work-precision", action="store_true",
                   help="skip the work-precision figures (they add ~30 s of solve_ivp runs)")
    p.set_defaults(func=cmd_compare)
    return p
