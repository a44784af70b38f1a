"""``dynopt derive``: list the symbolic derivations or run one and print its result."""
from __future__ import annotations

import json
import sys

from dynopt.symbolic import DERIVATIONS, NotProved, get_derivation

__all__ = ["register", "cmd_derive"]


def _titles():
    return {k: DERIVATIONS[k][0] for k in sorted(DERIVATIONS)}


def cmd_derive(args) -> int:
    """Run ``dynopt derive [NAME] [--latex|--json]``; returns the exit code."""
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
        d = get_derivation(args.name)
    except ValueError as exc:
        print(f"dynopt derive: error: {exc}", file=sys.stderr)
        return 2
    except NotProved as exc:
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
                    "densities and the small derivations of the source texts. Without NAME, lists "
                    "the derivations. Prints to stdout; writes no files. Exit code 1 if sympy "
                    f"cannot prove an identity a derivation needs. Derivations: {names}.")
    p.add_argument("name", nargs="?", metavar="NAME", help="derivation to run (omit to list them)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print the results as LaTeX")
    fmt.add_argument("--json", action="store_true",
                     help="print JSON; expressions are strings sympy.sympify parses")
    p.set_defaults(func=cmd_derive)
    return p
