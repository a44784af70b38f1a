"""Content-addressed cache of results, so that reruns recompute only what changed.

A key is a SHA-256 of (the code version of what is called, the parameters, the seed).
The code version is a hash of the source files involved: a change to any of them makes
a new key.  Entries are JSON files written atomically; an interrupted run leaves either
the old entry or none, never a half-written one, and the next run resumes.  Each entry
carries a schema number and an HMAC-SHA-256 of (its key, its value) under a per-user secret
(:func:`user_key`, a 0600 file in the user's cache folder): an entry edited by hand or by
another user (even with a recomputed plain hash), moved to another key, truncated or of
another layout is not served but reported in :attr:`Cache.notes` and recomputed.  Cache
folders that are symbolic links are refused.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import time
from functools import lru_cache
from pathlib import Path

from filelock import FileLock

from dynopt.io import UnsafeFolderError, atomic_write_text, private_dir, refuse_links, user_cache_dir

__all__ = ["Cache", "make_key", "code_version", "package_version_hash", "SCHEMA", "remove_stale_temp_files",
           "report_lock", "user_key"]

#: layout of a cache entry: {"schema": SCHEMA, "mac": HMAC of (key, value), "value": ...}
SCHEMA = 3

#: bytes of the per-user secret
KEY_BYTES = 32


def user_key() -> bytes:
    """The per-user secret that signs cache entries: ``<user cache dir>/cache.key``.

    Created on first use with 32 random bytes, mode 0600, in a folder of mode 0700; refused
    (:class:`~dynopt.io.UnsafeFolderError`) when the file is a link, is owned by someone
    else or is readable or writable by others, since whoever knows it can forge entries.
    """
    folder = private_dir(user_cache_dir(), "dynopt's cache folder")
    path = folder / "cache.key"
    if not path.exists() and not path.is_symlink():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:  # another process created it first: read theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(KEY_BYTES))
    st = os.lstat(path)
    if (not stat.S_ISREG(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid())
            or st.st_mode & 0o077):
        raise UnsafeFolderError(f"the cache key {str(path)!r} must be a regular file of yours with mode 600 "
                                f"(it is mode {stat.S_IMODE(st.st_mode):o}, owner {st.st_uid}); delete it "
                                "and a new one is made")
    key = path.read_bytes()
    if len(key) < KEY_BYTES:  # a writer was interrupted between create and write
        raise UnsafeFolderError(f"the cache key {str(path)!r} is truncated; delete it and a new one is made")
    return key


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
        #: one line per entry found bad and ignored (so recomputed) in this session
        self.notes: list[str] = []
        self._secret = None
        if enabled:
            refuse_links(self.root)

    def _mac(self, key: str, value) -> str:
        if self._secret is None:
            self._secret = user_key()
        return hmac.new(self._secret, _canonical([key, value]).encode(), hashlib.sha256).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str):
        """The stored value, or ``None``: missing, or bad (unreadable, another schema, or a
        checksum that does not match; then a line is added to :attr:`notes`)."""
        if not self.enabled:
            return None
        path = self._path(key)
        refuse_links(path.parent, self.root)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        try:
            entry = json.loads(text)
        except ValueError:
            return self._bad(path, "not valid JSON")
        if not isinstance(entry, dict) or entry.get("schema") != SCHEMA or "value" not in entry:
            return self._bad(path, f"not a schema-{SCHEMA} entry")
        mac = entry.get("mac")
        if not isinstance(mac, str) or not hmac.compare_digest(mac, self._mac(key, entry["value"])):
            return self._bad(path, "signature mismatch (edited, forged or corrupted)")
        return entry["value"]

    def _bad(self, path, why):
        self.notes.append(f"cache entry {path.name} ignored and recomputed: {why}")
        return None

    def put(self, key: str, value) -> None:
        """Store the JSON-able ``value`` under ``key`` (atomically; nothing when disabled)."""
        if self.enabled:
            # keys keep their order: a cached result must read back exactly as computed
            value = json.loads(json.dumps(value, default=repr))  # what a reader will see
            entry = {"schema": SCHEMA, "mac": self._mac(key, value), "value": value}
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            refuse_links(path.parent, self.root)
            atomic_write_text(path, json.dumps(entry, default=repr, ensure_ascii=True))

    def clean_temp_files(self, min_age: float = 60.0) -> int:
        """Remove temporary files (``.*.tmp``) a killed run left in the cache, older than
        ``min_age`` seconds (a live writer's file is younger); returns how many."""
        return remove_stale_temp_files(self.root, min_age, recursive=True)


def remove_stale_temp_files(folder, min_age: float = 0.0, recursive: bool = False) -> int:
    """Remove the hidden temporary files of :func:`dynopt.io.atomic_replace`
    (``.<name>.<random><suffix>``) under ``folder`` older than ``min_age`` seconds."""
    folder = refuse_links(folder)  # never clean a folder somewhere else
    if not folder.is_dir():
        return 0
    now, n = time.time(), 0
    for p in (folder.rglob(".*") if recursive else folder.glob(".*")):
        if p.is_file() and p.name.count(".") >= 3 and p.suffix in (".tmp", ".png"):
            try:
                if now - p.stat().st_mtime >= min_age:
                    p.unlink()
                    n += 1
            except OSError:
                pass
    return n


def report_lock(folder) -> FileLock:
    """The inter-process lock of one report folder (``<folder>/.lock``): whoever reads,
    merges and rewrites a source's claims.json, README or figures, or the index, holds it,
    so concurrent ``dynopt reproduce`` runs into one ``--out`` lose nothing."""
    folder = refuse_links(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / ".lock"))
