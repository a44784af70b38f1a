"""Atomic file writes: a file is either its previous version or the new one, never half.

Every writer goes through a temporary file in the target's directory and ``os.replace``
(atomic on POSIX and Windows within one file system), so an interrupted run leaves the
previous file intact and the next run resumes.  The finished file gets the mode a plain
``open()`` would have given it (0666 minus the umask), not mkstemp's 0600, so that reports
and figures stay readable by others.

This module imports nothing from dynopt: any layer may use it.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_replace", "atomic_write_text", "default_file_mode"]


def default_file_mode() -> int:
    """Mode 0666 minus the process umask: what a plain ``open()`` would have created."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_replace(path, suffix: str = ".tmp"):
    """Context manager yielding a temporary path that replaces ``path`` on success.

    Write the new content to the yielded path inside the ``with`` block.  When the
    block finishes, the temporary file gets :func:`default_file_mode` and is moved onto
    ``path`` with ``os.replace``; when it raises (also ``KeyboardInterrupt``), the
    temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The file to create or replace; missing parent directories are created.
    suffix : str
        Suffix of the temporary file (some writers choose the format by it).

    Yields
    ------
    pathlib.Path
        The temporary file, a hidden sibling of ``path`` (``.<name>.<random><suffix>``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically.

    The data are flushed to disk before the rename, so that after a crash ``path``
    holds either the previous or the new text.

    Parameters
    ----------
    path : path-like
    text : str
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}")
    with atomic_replace(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
