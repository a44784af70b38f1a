"""The ``dynopt`` command line: :mod:`~dynopt.cli.main` builds the parser from one module
per command (reproduce, compare, sweep, bench, simulate, derive)."""
from dynopt.cli.main import main

__all__ = ["main"]
