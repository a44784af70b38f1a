"""``dynopt compare``: fitted orders of fixed-step schemes against scipy references."""
from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

from dynopt.analysis import DEFAULT_BUDGET, FRICTION, compare, standard_problems, standard_schemes, work_precision_study
from dynopt.analysis.orders import MIN_FIT_POINTS
from dynopt.analysis.regime import FIT_FLOOR
from dynopt.cli.args import UsageError, check_out_dir, check_positive
from dynopt.cli.user_input import is_file_reference, resolve_problem, resolve_scheme
from dynopt.plotting import orders_figure, problem_label, save_figure, work_precision_figure

__all__ = ["register", "cmd_compare", "figure_slug"]


def figure_slug(text: str, width: int = 40) -> str:
    """A file-name part for a problem: lower-case letters, digits and dashes from ``text``, cut to
    ``width``, then six hex digits of its SHA-1 so that two expressions never share a name."""
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:width].rstrip("-")
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]
    return f"{base}-{digest}" if base else digest


def _figure_names(problems, expr_text, name):
    """problem name -> (file-name part, figure title) of every problem of the run."""
    out = {}
    for p in problems:
        if isinstance(p, str):
            out[p] = (p, p)
            continue
        if expr_text is not None:
            stem = figure_slug(name) if name else figure_slug(expr_text)
        else:
            stem = figure_slug(p.name) if p.name != "custom" else figure_slug(str(p.expr or p.name))
        label = problem_label(p)
        if p.name != "custom" and p.expr is not None:
            label = f"{p.name}: {problem_label(replace(p, name='custom'))}"
        out[p.name] = (stem, label)
    return out


def _write_figures(results, out: Path, friction: float, work_precision: bool, names) -> list:
    """orders-<name>.png (one panel per family of schemes run: gradient flow, damped system) and
    work-precision-<problem>.png; returns the paths written."""
    written = []
    for pname in dict.fromkeys(r.problem for r in results):
        stem, label = names.get(pname, (pname, pname))
        rows = [r for r in results if r.problem == pname]
        families = [([r for r in rows if r.ode.startswith("gradient")], "vs gradient flow θ'=−∇L"),
                    ([r for r in rows if not r.ode.startswith("gradient")], f"vs θ''+λθ'=−∇L, λ={friction:g}")]
        fig = orders_figure([(rs, f"{t}, T={'/'.join(sorted({f'{r.T:.3g}' for r in rs}))}")
                             for rs, t in families if rs], floor=FIT_FLOOR, title=label)
        path = out / f"orders-{stem}.png"
        save_figure(fig, path)
        written.append(path)
        if work_precision and pname in standard_problems():
            path = out / f"work-precision-{pname}.png"
            save_figure(work_precision_figure(work_precision_study(pname)), path)
            written.append(path)
    return written


def _print_table(results) -> None:
    print(f"{'problem':<12} {'scheme':<17} {'ode':<34} {'declared':>8} {'measured':>9}  95% CI ∪ trend")
    for r in results:
        if r.fit:
            meas = f"{r.fit.order:9.3f}  [{r.fit.ci[0]:.3f}, {r.fit.ci[1]:.3f}]"
            if not r.in_regime:
                meas += "  OUTSIDE REGIME"
        else:
            meas = f"{'—':>9}  order undefined"
        print(f"{r.problem:<12} {r.scheme:<17} {r.ode[:34]:<34} {r.declared_order!s:>8} {meas}")
        if r.note:
            print(f"{'':<12} note: {r.note}")
        if r.fit and not r.in_regime:
            print(f"{'':<12} regime check failed: {'; '.join(r.regime.reasons)}")


def _undefined_orders(results) -> str:
    """One line naming the (problem, scheme) pairs without a fitted order and why ("" if none)."""
    parts = []
    for r in results:
        if r.fit is None:
            n_ok = sum(e is not None for e in r.errors)
            why = [f"{len(r.diverged)} diverged"] if r.diverged else []
            why += [f"{len(r.failed)} without a finite error"] if getattr(r, "failed", None) else []
            parts.append(f"{r.problem}/{r.scheme} ({n_ok} of {len(r.steps)} rungs finished"
                         + (", " + ", ".join(why) if why else "") + ")")
    if not parts:
        return ""
    hint = ("use smaller steps (larger --steps) or a shorter --T" if any(r.fit is None and r.diverged for r in results)
            else f"give at least {MIN_FIT_POINTS} --steps")
    return (f"no order fitted (it needs {MIN_FIT_POINTS} finished rungs; diverged or non-finite rungs are never "
            "fitted) for " + "; ".join(parts) + ": " + hint)


def _check_steps(steps) -> None:
    """``--steps``: positive step counts, at least as many as an order fit needs."""
    if steps is None:
        return
    for n in steps:
        check_positive(n, "--steps")
    if len(steps) < MIN_FIT_POINTS:
        raise UsageError(f"`--steps` needs at least {MIN_FIT_POINTS} step counts to fit an order; got {len(steps)}")


def cmd_compare(args) -> int:
    """Run ``dynopt compare``: convergence studies, then figures and a table or JSON.

    Returns
    -------
    int
        0; 1 when some (problem, scheme) has no fitted order (too few rungs finished:
        the table or JSON is printed, then one line saying which and why); 2 for bad input
        (unknown name, unparsable expression, missing file or attribute, wrong kind of
        object) before any run or file.
    """
    try:
        problems = args.problems
        if args.name is not None and not args.name.strip():
            raise UsageError("`--name` must be a non-empty name for the problem")
        if args.expr is not None:
            problems = [resolve_problem(None, args.expr, args.vars, argument="--expr")]
            if args.name:
                problems = [replace(problems[0], name=args.name.strip())]
        elif problems:
            problems = [resolve_problem(p, argument="--problems") if is_file_reference(p) else p for p in problems]
        schemes = args.schemes and [resolve_scheme(s, "--schemes", standard_schemes()) for s in args.schemes]
        out = None
        if not args.no_figures:  # after the inputs resolve, before any run: nothing half-written
            out = check_out_dir(args.out)
        _check_steps(args.steps)
        if not (args.budget > 0 and math.isfinite(args.budget)):
            raise UsageError(f"`--budget` must be a finite number of seconds > 0; got {args.budget}")
        tic = time.perf_counter()
        results = compare(problems, schemes, T=args.T, ladder=args.steps, friction=args.friction, x0=args.x0,
                          budget=args.budget)
        seconds = time.perf_counter() - tic
    except (ValueError, TypeError) as exc:
        print(f"dynopt compare: error: {exc}", file=sys.stderr)
        return 2
    if out is not None:
        written = _write_figures(results, out, args.friction, not args.no_work_precision,
                                 _figure_names(problems or list(standard_problems()), args.expr, args.name))
        if not args.json:
            print("figures written: " + ", ".join(str(p) for p in written))
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1, ensure_ascii=False))
    else:
        _print_table(results)
        print(f"{seconds:.1f} s of the {args.budget:g} s budget (--budget)")
    undefined = _undefined_orders(results)
    if undefined:
        print(f"dynopt compare: error: {undefined}", file=sys.stderr)
        return 1
    return 0


def register(subparsers):
    """Add the ``compare`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "compare", help="global error and fitted order of fixed-step schemes vs scipy references (writes PNGs to ./dynopt-compare)",
        description="For each problem and scheme: the global error at ODE time T against a "
                    "reference (expm for quadratics, solve_ivp DOP853 rtol=1e-13 otherwise) for a "
                    "ladder of step sizes, the order fitted through the asymptotic rungs (the last three "
                    "local slopes agree within 0.05) with an interval holding its 95% confidence interval "
                    "(scipy.stats.linregress) and the limit the slopes trend to, and its regime check (that "
                    "interval holds the declared order, no step beyond the stability limit; a fit outside the "
                    "regime is flagged; your own problem's ladder grows while the check fails, within --budget, "
                    "and stops early when the slopes settle on another order), and log-log figures "
                    "orders-<problem>.png (for --expr: a slug of the expression, or --name) and "
                    "work-precision-<problem>.png (error vs gradient evaluations, fixed-step "
                    "schemes and solve_ivp's RK45, DOP853, Radau, LSODA at tolerances 1e-3..1e-11) "
                    "written to --out. "
                    "Euler/Heun/RK4 are compared with gradient flow, the momentum schemes with "
                    "the damped system θ''+λθ'=−∇L through the exact parameter maps. Your own "
                    "problem: --expr EXPR --x0 ... or --problems FILE.py:NAME --x0 ...; your own scheme "
                    "class: --schemes FILE.py:NAME. Work-precision figures are drawn for the built-in "
                    "problems only.")
    p.add_argument("--problems", "--problem", nargs="+", metavar="NAME",
                   help="problems (default: the registered problems that declare a comparison setup; any other "
                        "registered name or FILE.py:NAME needs --x0)")
    p.add_argument("--expr", help='your potential as a sympy expression, e.g. "(x**2-1)**2 + 2*y**2" (needs --x0)')
    p.add_argument("--vars", nargs="+", metavar="NAME", help="variables of --expr in order (default: order of appearance)")
    p.add_argument("--x0", type=float, nargs="+", help="start position (required for your own problem)")
    p.add_argument("--schemes", "--scheme", nargs="+", metavar="NAME",
                   help=f"schemes (default: {', '.join(standard_schemes())}, the registered schemes that "
                        "discretize gradient flow or the damped system); or FILE.py:NAME (a Scheme class)")
    p.add_argument("--T", type=float, help="final ODE time (default per built-in problem; for your own: two of the "
                                           "fastest time scales 1/ρ of the model at --x0, at most 1)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET, metavar="SECONDS",
                   help=f"wall-time budget (default {DEFAULT_BUDGET:g} s): ladders of your own problem grow while "
                        "their regime check fails only as long as the next rungs fit in it")
    p.add_argument("--steps", nargs="+", type=int, metavar="N",
                   help="numbers of steps on [0, T] (default: a ladder of 6 per scheme, for your own "
                        "problem starting at a quarter of the stability limit)")
    p.add_argument("--friction", type=float, default=FRICTION, help="λ of the damped system (default 1)")
    p.add_argument("--name", help="name of your --expr problem in the table and the figure file "
                                  "(default: the figure is named from a slug of the expression)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per (problem, scheme)")
    p.add_argument("--out", default="dynopt-compare", metavar="DIR", help="figure directory (default ./dynopt-compare)")
    p.add_argument("--no-figures", action="store_true", help="write no figures")
    p.add_argument("--no-work-precision", action="store_true",
                   help="skip the work-precision figures (solve_ivp runs at 9 tolerances per problem)")
    p.set_defaults(func=cmd_compare)
    return p
