"""The ``dynopt`` command line: one module per command."""
from dynopt.cli.main import main

__all__ = ["main"]
