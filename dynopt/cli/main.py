"""The ``dynopt`` command line: the parser is built from one module per command.

Each module in :data:`COMMANDS` provides ``register(subparsers)``, which adds its parser
and sets ``func`` (called with the parsed arguments; returns the exit code).
"""
from __future__ import annotations

import argparse
import sys
import warnings

from dynopt.cli import bench, compare, derive, reproduce, sharpness, simulate, sweep

__all__ = ["main", "build_parser", "COMMANDS"]


#: the command modules, in the order ``dynopt --help`` lists them
COMMANDS = (reproduce, compare, sweep, bench, simulate, derive, sharpness)


def build_parser() -> argparse.ArgumentParser:
    """The ``dynopt`` argument parser with every command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="dynopt",
        description="Optimization algorithms as dynamical systems: reproduce the claims of the "
                    "source texts and papers, compare discretizations with scipy, derive results "
                    "symbolically and run SDE Monte Carlo experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``dynopt`` console script.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The command's exit code; 2 for a bad argument, reported on one line.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    show = warnings.showwarning
    warnings.showwarning = lambda message, category, *a, **k: print(
        f"dynopt {args.command}: warning: {message}", file=sys.stderr)  # one line, no source excerpt
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # Ctrl-C: the atomic writers left every file whole; 128 + SIGINT as a shell reports it
        print(f"dynopt {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:
        # bad input the user can cause (dynopt raises ValueError/TypeError naming the argument;
        # OSError for paths): one line and status 2 wherever it is raised; any other exception
        # is a bug and keeps its traceback
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"dynopt {args.command}: error: {msg}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
