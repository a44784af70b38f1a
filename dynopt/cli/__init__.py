"""The ``dynopt`` command line: :mod:`~dynopt.cli.main` builds the parser from one module
per command (reproduce, compare, sweep, bench, simulate, derive)."""
import sys

try:
    from dynopt.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the command is still importing: one line, as later
    print("dynopt: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

__all__ = ["main"]
