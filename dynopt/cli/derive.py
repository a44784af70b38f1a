"""``dynopt derive``: list the symbolic derivations or run one and print its result."""
from __future__ import annotations

import json
import re
import sys

from dynopt.expr import CONSTANTS, FUNCTIONS, parse, parse_equation
from dynopt.cli import saddles as _saddles
from dynopt.cli.user_input import resolve_problem, resolve_scheme
from dynopt.symbolic import DERIVATIONS, NotProved, get_derivation
from dynopt.symbolic.user import MODELS, momentum_map, user_modified_equation, user_scheme_analysis, user_stationary_density

__all__ = ["register", "cmd_derive"]


def _scheme_names():
    from dynopt.schemes import METHODS

    return sorted(METHODS)


def _titles():
    return {k: DERIVATIONS[k][0] for k in sorted(DERIVATIONS)}


def _parse(text, option, names):
    """A sympy expression from the command line, in the symbols ``names`` only."""
    return parse(text, list(names.values()), argument=option)


def _map_from_equations(args):
    """``derive map --eq LHS=RHS ... --unknowns ... --v-next E --old S=E ... --gradient G``."""
    import sympy as sp

    if not (args.eq and args.unknowns and args.v_next and args.old and args.gradient):
        raise ValueError("`derive map` needs --eq (one per equation), --unknowns, --v-next, --old and --gradient")
    words = set()
    for text in [*args.eq, *args.old, args.v_next, *args.unknowns, args.gradient]:
        words |= set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text))
    positive = set(args.positive or [])
    # identifiers become symbols; the parser still refuses anything that is not arithmetic
    names = {w: sp.Symbol(w, positive=True) if w in positive else sp.Symbol(w, real=True)
             for w in words - set(FUNCTIONS) - set(CONSTANTS) if not w.startswith("_")}

    def equation(text, option):
        return parse_equation(text, list(names.values()), argument=option)

    eqs = [equation(t, "--eq") for t in args.eq]
    old = {}
    for t in args.old:
        e = equation(t, "--old")
        if not isinstance(e.lhs, sp.Symbol):
            raise ValueError(f"`--old` must name one old variable on the left, e.g. e_old=v/gam; got {t!r}")
        old[e.lhs] = e.rhs
    missing = [u for u in [*args.unknowns, args.gradient] if u not in names]
    if missing:
        raise ValueError(f"`--unknowns`/`--gradient` must be plain names; got {missing}")
    unknowns = [names[u] for u in args.unknowns]
    return momentum_map(eqs, unknowns, _parse(args.v_next, "--v-next", names), old, names[args.gradient])


#: derivations that read a scheme's step: name -> (deterministic?, function of the scheme)
STEP_READINGS = ("stability", "consistency", "modified", "ms-stability", "stationary")


def _step_reading(args):
    """``derive stability|consistency|modified|ms-stability|stationary --scheme X``: the symbolic
    reading of the scheme's step (dynopt.symbolic.steps); a momentum-form scheme is read
    through its recurrence and (α, β) map (dynopt.symbolic.user, dynopt.symbolic.consistency)."""
    from dynopt.schemes import METHODS
    from dynopt.symbolic import steps

    if args.expr or args.problem:
        raise ValueError(f"`derive {args.name}` takes --scheme, not --expr/--problem")
    if not args.scheme:
        raise ValueError(f"`derive {args.name}` with options needs --scheme NAME or FILE.py:NAME")
    scheme = resolve_scheme(args.scheme, allowed=sorted(METHODS))
    if args.name == "ms-stability":
        return steps.ms_stability_derivation(scheme)
    if args.name == "stationary":
        model = args.model or "ou"
        if model not in steps.STATIONARY_MODELS:
            raise ValueError(f"`--model` must be one of {list(steps.STATIONARY_MODELS)} for `derive stationary`; "
                             f"got {model!r}")
        return steps.stationary_derivation(scheme, model)
    if args.model:
        raise ValueError(f"`--model` goes with `derive stationary` or `derive density`, not `derive {args.name}`")
    if _momentum_form(scheme) and (args.name != "stability" or _implicit(scheme)):
        # an implicit step is solved by iteration, not plain arithmetic: it is read through
        # its recurrence, as are the consistency order and modified equation of the momentum
        # form (the stability reading adds the (α, β) map's bound to the step's)
        if args.name == "consistency":
            return _recurrence_consistency(scheme)
        return user_scheme_analysis(scheme) if args.name == "stability" else user_modified_equation(scheme)
    if args.name == "consistency" and _has_recurrence(scheme):
        # a tableau or symplectic Euler: the same order on truncated power series, in seconds
        # where sympy's expansion of nested stages on a general L takes minutes (RK4)
        return _recurrence_consistency(scheme)
    reading = {"stability": steps.stability_derivation, "consistency": steps.consistency_derivation,
               "modified": steps.modified_derivation}[args.name]
    try:
        return reading(scheme)
    except (TypeError, NotImplementedError) as exc:
        raise ValueError(f"`--scheme` {args.scheme}: {exc}") from None


def _has_recurrence(scheme):
    from dynopt.symbolic.recurrences import scheme_kind

    try:
        scheme_kind(scheme)
    except TypeError:
        return False
    return True


def _recurrence_consistency(scheme):
    from dynopt.symbolic import Derivation, scheme_consistency

    c = scheme_consistency(scheme)
    how = ("defect of the two-step recurrence on the Taylor series of the exact solution; start error of v_0; "
           "order = min(local − 1, start)") if c.start_order is not None else \
        "one step on truncated power series against the Taylor series of the exact solution; order = local − 1"
    return Derivation(f"consistency {c.scheme}", f"consistency order of {c.scheme}",
                      {"order": c.global_order, "local_order": c.local_order, "start_order": c.start_order,
                       "leading_local_error": c.leading_error, "model": c.ode}, [how])


def _implicit(scheme):
    from dynopt.schemes import METHODS

    cls = METHODS.get(scheme) if isinstance(scheme, str) else scheme if isinstance(scheme, type) else type(scheme)
    return bool(getattr(cls, "implicit", False))


def _momentum_form(scheme):
    from dynopt.schemes import METHODS
    from dynopt.schemes.momentum import MomentumScheme

    cls = METHODS.get(scheme) if isinstance(scheme, str) else scheme if isinstance(scheme, type) else type(scheme)
    return isinstance(cls, type) and issubclass(cls, MomentumScheme)


def _user_derivation(args):
    """``derive NAME --scheme X`` (NAME in STEP_READINGS), ``derive density --expr E | --problem
    FILE.py:NAME`` or ``derive map --eq ...``."""
    if args.name == "map":
        return _map_from_equations(args)
    if args.name in STEP_READINGS:
        return _step_reading(args)
    if args.name == "density":
        if args.scheme:
            raise ValueError("`derive density` takes --expr or --problem, not --scheme")
        model = args.model or "langevin"
        if model not in MODELS:
            raise ValueError(f"`--model` must be one of {list(MODELS)} for `derive density`; got {model!r}")
        prob = resolve_problem(args.problem, args.expr, args.vars)
        return user_stationary_density(prob, model=model)
    raise ValueError(f"--scheme/--expr/--problem go with NAME {', '.join(map(repr, STEP_READINGS))} or 'density'; "
                     f"--eq with 'map'; got {args.name!r}")


def cmd_derive(args) -> int:
    """Run ``dynopt derive [NAME] [--latex|--json]``; returns the exit code."""
    if args.name == "saddles":
        return _saddles.cmd_saddles(args)
    titles = _titles()
    if not args.name:
        if args.json:
            print(json.dumps([{"name": k, "title": v} for k, v in titles.items()], indent=1,
                             ensure_ascii=False))
        else:
            width = max(len(k) for k in titles)
            for k, v in titles.items():
                print(f"{k:<{width}}  {v}")
        return 0
    try:
        own = (args.scheme or args.expr or args.problem or args.eq or args.name in ("map", "ms-stability", "stationary")
               or args.name not in DERIVATIONS and args.name in STEP_READINGS)
        d = _user_derivation(args) if own else get_derivation(args.name)
    except (ValueError, TypeError) as exc:
        print(f"dynopt derive: error: {exc}", file=sys.stderr)
        return 2
    except (NotProved, NotImplementedError) as exc:
        print(f"dynopt derive: {args.name}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        payload = d.data["json"] if "json" in d.data else d.as_json()
        print(json.dumps(payload, indent=1, ensure_ascii=False))
    else:
        print(d.text(latex=args.latex))
    return 0


def register(subparsers):
    """Add the ``derive`` subcommand to the ``dynopt`` parser; returns its parser."""
    try:
        names = ", ".join(_titles())
    except Exception:  # noqa: BLE001 - the listing must not break the whole CLI
        names = "(run `dynopt derive` to list them)"
    p = subparsers.add_parser(
        "derive", help="symbolic derivations with sympy: coefficients, orders, stability, ... (prints, writes nothing)",
        description="Derive results of the sources symbolically with sympy, starting from the "
                    "difference or differential equations: scheme coefficients (eqs 15/18), the "
                    "momentum tuning rule, consistency orders, modified equations, linear "
                    "stability regions, Polyak's optimal parameters, Fokker–Planck stationary "
                    "densities and the small derivations of the source texts; and for your own input: "
                    "'stability|consistency|modified --scheme X' (read from the step of a deterministic "
                    "scheme, a registry name or your class as FILE.py:NAME: the one-step matrix on L = κθ²/2, "
                    "its characteristic polynomial and Jury bound on step × curvature, the consistency order "
                    "against the declared ODE, the modified equation to O(h²)), 'ms-stability|stationary "
                    "--scheme X [--model ou|kramers]' (an SDE scheme's mean-square stability region on "
                    "dX = λX dt + μX dW and the exact stationary variance of its chain as a function of h), "
                    "'density --expr EXPR' (stationary "
                    "density of your potential, Fokker–Planck residual proved 0) and 'map --eq ...' (the "
                    "(α, β) of v_{n+1} = βv_n − α∇L from your own difference equations), 'saddles --expr EXPR --from X0 --to X1 "
                    "[--sigma S]' (minima, index-1 saddle and Hessian spectra of your potential, the minimum-energy "
                    "path, the Eyring–Kramers time) or 'saddles --expr EXPR --box LO HI ...'. Without NAME, lists "
                    "the derivations. Prints to stdout; writes no files. Exit code 1 if sympy "
                    f"cannot prove an identity a derivation needs. Derivations: {names}.")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="derivation to run (omit to list them); with your own input: 'stability --scheme "
                        "FILE.py:NAME', 'modified --scheme FILE.py:NAME' or 'density --expr EXPR [--model kramers]'")
    p.add_argument("--scheme", help="stability, consistency, modified (deterministic schemes), ms-stability, "
                                    "stationary (SDE schemes): a registry name or your Scheme class as FILE.py:NAME; "
                                    f"built-in: {', '.join(_scheme_names())}")
    p.add_argument("--expr", help='density: your potential as a sympy expression, e.g. "(x**2-1)**2 + 2*y**2"')
    p.add_argument("--vars", nargs="+", metavar="NAME", help="variables of --expr in order (default: order of appearance)")
    p.add_argument("--problem", help="density: a Problem with a sympy expression, as FILE.py:NAME")
    p.add_argument("--model", default=None, choices=(*MODELS, "ou"),
                   help="density: overdamped Langevin (kT = σ²/2, the default) or Kramers (kT = σ²/(2λ)); "
                        "stationary: ou (dX = −kX dt + σ dW, the default) or kramers (harmonic, L = kθ²/2)")
    p.add_argument("--eq", action="append", metavar="LHS=RHS",
                   help="map: one of your difference equations (repeat), e.g. '(q1-q0)/gam = e1' "
                        "'(e1-e0)/gam = -lam*(e1+e0)/2 - G'")
    p.add_argument("--unknowns", nargs="+", metavar="SYMBOL", help="map: what the equations are solved for, e.g. q1 e1")
    p.add_argument("--v-next", metavar="EXPR", help="map: v_{n+1} in the unknowns, e.g. gam*e1")
    p.add_argument("--old", action="append", metavar="SYM=EXPR",
                   help="map: an old variable in terms of v_n (repeat), e.g. e0=v/gam")
    p.add_argument("--gradient", metavar="SYMBOL", help="map: the symbol standing for ∇L at the gradient point, e.g. G")
    p.add_argument("--positive", nargs="+", metavar="SYMBOL", help="map: symbols that are positive (e.g. gam lam)")
    _saddles.add_arguments(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print the results as LaTeX")
    fmt.add_argument("--json", action="store_true",
                     help="print JSON; expressions are strings sympy.sympify parses")
    p.set_defaults(func=cmd_derive)
    return p
