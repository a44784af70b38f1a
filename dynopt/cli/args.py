"""Checks of command-line arguments that the commands share, done before any work starts."""
from __future__ import annotations

import os
from pathlib import Path

from dynopt.checks import check_int

__all__ = ["UsageError", "check_out_dir", "check_positive"]


class UsageError(ValueError):
    """A bad command-line argument found by a command before it starts work: reported
    as one line naming the option, exit status 2."""


def check_out_dir(path, option="--out"):
    """Check before any work that ``path`` can be (or is) a writable directory; returns it
    resolved (a link the user names as ``--out`` is followed once, here; the folders dynopt
    writes below it must then be real folders, see :func:`dynopt.io.refuse_links`).

    Raises
    ------
    UsageError
        Naming ``option`` when ``path`` is empty, a file, lies under a file, or is not writable.
    """
    if path is None or not str(path).strip():
        raise UsageError(f"`{option}` must name a folder; got {path!r}")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"`{option}` {str(p)!r} is a file, not a directory")
    probe = p
    while not probe.exists():  # the nearest existing ancestor decides whether mkdir can work
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"`{option}` {str(p)!r} lies under the file {str(probe)!r}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"`{option}` {str(p)!r}: {str(probe)!r} is not writable")
    try:  # create it now: some file systems refuse only when asked (/proc, read-only mounts)
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"`{option}` {str(p)!r} cannot be created: {exc.strerror}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(f"`{option}` {str(p)!r} is not writable")
    return p.resolve()


def check_positive(value, option, allow_none=True, low=1):
    """``value`` is an integer ≥ ``low`` (by default positive; or None);
    UsageError naming ``option`` otherwise (:func:`dynopt.checks.check_int`)."""
    if value is None and allow_none:
        return value
    try:
        return check_int(value, option, low=low)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
