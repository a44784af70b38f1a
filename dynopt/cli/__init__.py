"""The ``dynopt`` command line: :mod:`~dynopt.cli.main` builds the parser from one module
per command (reproduce, compare, sweep, bench, simulate, derive)."""
import os
import signal
import sys


def _interrupted_while_importing(signum, frame):
    # Ctrl-C while the command is still importing: one line, as later.  Exiting here rather
    # than raising KeyboardInterrupt, which a library's import code may catch or which may
    # surface as a traceback from importlib; nothing has been written yet.
    sys.stderr.write("dynopt: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


# a background job of a shell inherits SIGINT ignored: leave that as it is
_previous = signal.getsignal(signal.SIGINT)
if _previous is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_importing)
try:
    from dynopt.cli.main import main
finally:
    signal.signal(signal.SIGINT, _previous)

__all__ = ["main"]
