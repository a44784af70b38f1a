"""Content-addressed cache of results, so that reruns recompute only what changed.

A key is a SHA-256 of (the code version of what is called, the parameters, the seed).
The code version is a hash of the source files involved: a change to any of them makes
a new key.  Entries are JSON files written atomically; an interrupted run leaves either
the old entry or none, never a half-written one, and the next run resumes.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from dynopt.io import atomic_write_text

__all__ = ["Cache", "make_key", "code_version", "package_version_hash"]


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=repr, ensure_ascii=True)


def make_key(*parts) -> str:
    """SHA-256 hex digest of the canonical JSON of ``parts``."""
    return hashlib.sha256(_canonical(parts).encode()).hexdigest()


def code_version(*paths) -> str:
    """Hash of the contents of the given source files (order-independent)."""
    h = hashlib.sha256()
    for p in sorted(str(Path(x).resolve()) for x in paths):
        h.update(p.rsplit("/", 1)[-1].encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def package_version_hash() -> str:
    """Hash of every ``dynopt/**/*.py`` file: the code version of the library."""
    root = Path(__file__).resolve().parent.parent  # dynopt/, not just the ledger
    return code_version(*sorted(root.rglob("*.py")))


class Cache:
    """A directory of JSON entries keyed by :func:`make_key`.

    Parameters
    ----------
    root : path-like
    enabled : bool
        With ``False`` nothing is read or written.
    """

    def __init__(self, root, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str):
        """The stored value, or ``None`` (also for an unreadable entry)."""
        if not self.enabled:
            return None
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, value) -> None:
        """Store the JSON-able ``value`` under ``key`` (atomically; nothing when disabled)."""
        if self.enabled:
            # keys keep their order: a cached result must read back exactly as computed
            atomic_write_text(self._path(key), json.dumps(value, default=repr, ensure_ascii=True))
