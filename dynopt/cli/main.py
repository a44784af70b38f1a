"""The ``dynopt`` command line.

Subcommands live next to what they run; each module in ``SUBCOMMANDS`` provides
``register(subparsers)`` which adds its parser and sets ``func`` (returns an exit code).
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

__all__ = ["main", "build_parser", "find_papers_dir"]

#: modules that add subcommands besides the two defined here
SUBCOMMANDS: list[str] = ["dynopt.sweep", "dynopt.bench", "dynopt.cli.simulate", "dynopt.cli.derive"]


def find_papers_dir(explicit=None) -> Path:
    """``--papers`` if given, else ./papers, else the papers/ folder beside the package."""
    if explicit:
        return Path(explicit)
    here = Path.cwd() / "papers"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "papers"


# -- reproduce ---------------------------------------------------------------------------
def cmd_reproduce(args) -> int:
    """``dynopt reproduce``: run the selected claims and write the reports; exit code 1 if a check raised."""
    from dynopt.ledger import REGISTRY, discover, run_claims, select
    from dynopt.ledger import write_reports

    papers = find_papers_dir(args.papers)
    discover(papers)
    if args.list:
        for cid in sorted(REGISTRY):
            c = REGISTRY[cid]
            print(f"{cid}\t{c.method}")
        return 0
    try:
        claims = select(args.ids)
    except ValueError as exc:
        print(f"dynopt reproduce: error: {exc}", file=sys.stderr)
        return 2
    from dynopt.ledger import Cache

    out = Path(args.out) if args.out else papers
    cache = Cache(out / ".cache", enabled=not args.no_cache)
    results = run_claims(claims, out, quick=args.quick, progress=not args.no_progress, cache=cache)
    write_reports(results, out, set(REGISTRY))
    errors = [r for r in results if r.error]
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1, ensure_ascii=False))
    else:
        width = max((len(r.claim.id) for r in results), default=10)
        for r in results:
            v = r.verdict.verdict if r.verdict else "ERROR"
            print(f"{r.claim.id:<{width}}  {v:<10} {r.seconds:7.2f}s")
        print(f"wrote {out}/README.md and {len({r.claim.source for r in results})} source report(s)")
    for r in errors:
        print(f"\nerror in {r.claim.id}:\n{r.error}", file=sys.stderr)
    return 1 if errors else 0


# -- compare -----------------------------------------------------------------------------
def cmd_compare(args) -> int:
    """``dynopt compare``: convergence studies, figures and a table or JSON; exit code 2 on bad names."""
    from dynopt.analysis import comparison as cmp

    try:
        results = cmp.compare(args.problems, args.schemes, T=args.T, ladder=args.steps,
                              friction=args.friction)
    except ValueError as exc:
        print(f"dynopt compare: error: {exc}", file=sys.stderr)
        return 2
    if not args.no_figures:
        from dynopt.plotting import plot_orders, plot_work_precision, plt
        from dynopt.ledger import atomic_savefig

        out = Path(args.out)
        for pname in dict.fromkeys(r.problem for r in results):
            rows = [r for r in results if r.problem == pname]
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
            plot_orders([r for r in rows if r.ode.startswith("gradient")], ax=axes[0],
                        title=f"{pname}: vs gradient flow")
            plot_orders([r for r in rows if not r.ode.startswith("gradient")], ax=axes[1],
                        title=f"{pname}: vs θ''+λθ'=−∇L, λ={args.friction:g}")
            atomic_savefig(fig, out / f"orders-{pname}.png")
            if not args.no_work_precision:
                fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
                plot_work_precision(cmp.work_precision_study(pname), ax=ax)
                atomic_savefig(fig, out / f"work-precision-{pname}.png")
        if not args.json:
            print(f"figures written to {out}/")
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1))
        return 0
    print(f"{'problem':<12} {'scheme':<17} {'ode':<34} {'declared':>8} {'measured':>9}  95% CI")
    for r in results:
        if r.fit:
            meas = f"{r.fit.order:9.3f}  [{r.fit.ci[0]:.3f}, {r.fit.ci[1]:.3f}]"
        else:
            meas = f"{'—':>9}  {r.note}"
        print(f"{r.problem:<12} {r.scheme:<17} {r.ode[:34]:<34} {r.declared_order!s:>8} {meas}")
        if r.diverged and r.fit:
            print(f"{'':<12} note: {r.note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``dynopt`` argument parser with every registered subcommand."""
    from dynopt.analysis import FRICTION, STANDARD_PROBLEMS, STANDARD_SCHEMES
    from dynopt.schemes import METHODS

    parser = argparse.ArgumentParser(
        prog="dynopt",
        description="Optimization algorithms as dynamical systems: reproduce the claims of the "
                    "source texts and papers, compare discretizations with scipy, derive results "
                    "symbolically and run SDE Monte Carlo experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "reproduce", help="run the claims ledger and write the reports into papers/",
        description="Find papers/*/claims.py, run the claims (all, or the given claim or source "
                    "ids) and write papers/<source>/README.md, papers/<source>/claims.json, "
                    "papers/<source>/figures/*.png and the index papers/README.md. Results are cached "
                    "in papers/.cache by a hash of the code, the claim and the run size, so only "
                    "what changed is recomputed. Exits 1 if a claim's check raised.")
    p.add_argument("ids", nargs="*", help="claim ids (e.g. kexue-5655.gd-is-euler) or source ids")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="reduced sizes (tolerances still decide)")
    size.add_argument("--full", action="store_true", help="publication sizes (the default)")
    p.add_argument("--out", metavar="DIR", help="write reports under DIR instead of papers/")
    p.add_argument("--papers", metavar="DIR", help="where the papers/*/claims.py live")
    p.add_argument("--json", action="store_true", help="print the results as a JSON list")
    p.add_argument("--list", action="store_true", help="list the claim ids and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-cache", action="store_true",
                   help="recompute every claim (by default a claim whose code, id and run size are "
                        "unchanged is taken from <out>/.cache, so an interrupted run resumes)")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser(
        "compare", help="global error and fitted order of fixed-step schemes vs scipy references (writes PNGs to ./dynopt-compare)",
        description="For each problem and scheme: the global error at ODE time T against a "
                    "reference (expm for quadratics, solve_ivp DOP853 rtol=1e-13 otherwise) for a "
                    "ladder of step sizes, the fitted order with a 95%% confidence interval "
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

    for modname in SUBCOMMANDS:
        importlib.import_module(modname).register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``dynopt`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
