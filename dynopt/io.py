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
import hashlib
import importlib.util
import os
import sys
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_replace", "atomic_write_text", "default_file_mode", "LinkedFolderError", "refuse_links",
           "private_dir", "user_cache_dir", "UnsafeFolderError", "load_file_module"]


class LinkedFolderError(OSError):
    """A folder dynopt would write into is a symbolic link: refused, since writing (or
    cleaning) through it would change files somewhere the user did not name."""


class UnsafeFolderError(OSError):
    """A private folder (a cache whose files are loaded or trusted) is owned by another
    user or writable by others."""


def refuse_links(folder, root=None) -> Path:
    """Raise :class:`LinkedFolderError` if ``folder``, or any folder between ``root`` and it, is a
    symbolic link; returns ``folder`` as a Path.

    ``root`` itself (the ``--out`` the user named) may be a link; what dynopt creates or
    reuses below it may not.  Without ``root`` only ``folder`` itself is checked.
    """
    folder = Path(folder)
    parts = [folder]
    if root is not None:
        root = Path(root)
        try:
            rel = folder.relative_to(root)
        except ValueError:
            rel = None
        if rel is not None:
            parts = [root.joinpath(*rel.parts[: i + 1]) for i in range(len(rel.parts))]
    for p in parts:
        if p.is_symlink():
            raise LinkedFolderError(f"{str(p)!r} is a symbolic link (to {os.readlink(p)!r}); dynopt does not "
                                    "write through links: remove the link, or pass the real folder as --out")
    return folder


def user_cache_dir() -> Path:
    """The user's cache folder for dynopt: ``$XDG_CACHE_HOME/dynopt``, else ``~/.cache/dynopt``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dynopt"


def private_dir(path, what: str = "cache folder") -> Path:
    """``path`` as a folder only this user can write: created with mode 0700 (with its
    missing parents), refused when it is a link, not a folder, owned by someone else, or
    writable by the group or others.

    Raises
    ------
    UnsafeFolderError
        Naming the folder, its owner or mode, and what to do.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise UnsafeFolderError(f"{what} {str(path)!r} cannot be created ({exc.strerror}); set XDG_CACHE_HOME "
                                    "to a folder of yours") from None
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise UnsafeFolderError(f"{what} {str(path)!r} cannot be used: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFolderError(f"{what} {str(path)!r} is a symbolic link; give the real folder")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolderError(f"{what} {str(path)!r} is not a folder")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise UnsafeFolderError(f"{what} {str(path)!r} is owned by user id {st.st_uid}, not by you "
                                f"({os.getuid()}): refused, since its files are loaded as trusted; "
                                "use a folder of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeFolderError(f"{what} {str(path)!r} is writable by others (mode {stat.S_IMODE(st.st_mode):o}): "
                                f"refused, since its files are loaded as trusted; run chmod 700 on it "
                                "or use another folder")
    return path


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
    refuse_links(path.parent)  # the folder a report or cache entry lands in is where it looks
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


def load_file_module(file, prefix: str):
    """Import the Python file ``file`` as a private module ``<prefix>_<hash of its path>``.

    ``sys.path`` is left alone, so a file named like an installed package (``numpy.py``,
    ``cloudpickle.py``) beside it shadows nothing; the module is registered with cloudpickle
    to travel to worker processes by value, since they cannot import it by name.
    """
    file = Path(file)
    name = f"{prefix}_{hashlib.sha256(str(file).encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    try:
        import cloudpickle
        cloudpickle.register_pickle_by_value(module)
    except ImportError:  # pragma: no cover - cloudpickle comes with the test extras
        pass
    return module
