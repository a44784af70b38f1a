"""Running the claims ledger: find the papers' claims, select some, run their checks.

:func:`discover` imports every ``papers/*/claims.py`` (their ``@claim`` decorators fill
:data:`~dynopt.ledger.claims.REGISTRY`); :func:`run_claims` gives each check a
:class:`Context` and collects :class:`~dynopt.ledger.claims.ClaimResult` objects, reusing
cached results while the code, the claim and the run size are unchanged.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
import time
import traceback
from pathlib import Path

from tqdm.auto import tqdm

from dynopt.engine.kernels import auto_backend, default_backend
from dynopt.ledger.cache import code_version, make_key, package_version_hash, remove_stale_temp_files, report_lock
from dynopt.ledger.claims import REGISTRY, SOURCES, VERDICTS, Claim, ClaimResult, Verdict
from dynopt.plotting import save_figure

__all__ = ["Context", "discover", "select", "run_claim", "claim_key", "run_claims"]


class Context:
    """What a check gets: run size, a seed, and a place for figures.

    Attributes
    ----------
    quick : bool
        Reduced sizes (``--quick``); tolerances must still decide the verdict.
    seed : int
        A stable seed derived from the claim id (record it in the evidence).
    """

    def __init__(self, claim: Claim, out_dir: Path, quick: bool):
        self.claim = claim
        self.quick = quick
        self.out_dir = Path(out_dir)
        self.seed = int.from_bytes(hashlib.sha256(claim.id.encode()).digest()[:4], "little")
        self.figures: list[str] = []

    def size(self, quick, full):
        """``quick`` under ``--quick``, else ``full``."""
        return quick if self.quick else full

    def savefig(self, fig, name: str | None = None) -> str:
        """Write ``fig`` atomically as ``figures/<slug>[-name].png`` and close it.

        Returns
        -------
        str
            The path relative to the source's report directory.
        """
        stem = self.claim.slug + (f"-{name}" if name else "")
        rel = f"figures/{stem}.png"
        with report_lock(self.out_dir):
            save_figure(fig, self.out_dir / rel)
        if rel not in self.figures:
            self.figures.append(rel)
        return rel


def discover(papers_dir) -> dict:
    """Import every ``papers/*/claims.py`` so that its claims register.

    Parameters
    ----------
    papers_dir : path-like
        The folder holding one sub-folder per source.

    Returns
    -------
    dict
        :data:`~dynopt.ledger.claims.REGISTRY` (claim id -> Claim).
    """
    papers_dir = Path(papers_dir)
    if not papers_dir.is_dir():
        raise ValueError(f"`papers_dir` {str(papers_dir)!r} is not a directory")
    for path in sorted(papers_dir.glob("*/claims.py")):
        modname = "dynopt_papers_" + path.parent.name.replace("-", "_")
        if modname in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(modname, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
        meta = getattr(module, "SOURCE", None)
        if meta:
            SOURCES[path.parent.name] = dict(meta)
    return REGISTRY


def select(ids=None) -> list:
    """Claims matching ``ids`` (exact claim ids or source ids); all when ``ids`` is empty.

    Returns
    -------
    list of Claim
        In the order asked for, without duplicates.

    Raises
    ------
    ValueError
        For an id that is neither a registered claim nor a source with claims.
    """
    if not ids:
        return [REGISTRY[k] for k in sorted(REGISTRY)]
    out = []
    for i in ids:
        if i in REGISTRY:
            out.append(REGISTRY[i])
            continue
        hits = [REGISTRY[k] for k in sorted(REGISTRY) if REGISTRY[k].source == i]
        if not hits:
            raise ValueError(f"unknown claim or source id {i!r}; known: {sorted(REGISTRY)}")
        out.extend(hits)
    seen, uniq = set(), []
    for c in out:
        if c.id not in seen:
            seen.add(c.id)
            uniq.append(c)
    return uniq


def run_claim(c: Claim, out_dir: Path, quick: bool) -> ClaimResult:
    """Run one claim's check; an exception becomes ``error`` (not a verdict)."""
    ctx = Context(c, out_dir, quick)
    tic = time.perf_counter()
    try:
        # "auto" by run size alone: a verdict's numbers must not depend on which kernels
        # an earlier claim (or run) happened to compile
        with default_backend(auto_backend(), use_cache=False):
            v = c.check(ctx)
        if not isinstance(v, Verdict):
            raise TypeError(f"check of {c.id} returned {type(v).__name__}, not a Verdict (use judge())")
        if v.verdict not in VERDICTS:
            raise ValueError(f"check of {c.id} returned verdict {v.verdict!r}")
        v.evidence.setdefault("seed", ctx.seed)
        v.evidence.setdefault("quick", quick)
        return ClaimResult(c, v, ctx.figures, time.perf_counter() - tic)
    except Exception as exc:  # noqa: BLE001 - reported, and the CLI exits non-zero
        tb = traceback.format_exc(limit=6)
        return ClaimResult(c, None, ctx.figures, time.perf_counter() - tic,
                           error=f"{type(exc).__name__}: {exc}\n{tb}")


def claim_key(c: Claim, quick: bool) -> str:
    """Cache key of a claim's result: its id, run size and the code it runs (the
    library's sources and the paper's claims.py)."""
    parts = ("claim", c.id, bool(quick), package_version_hash(), code_version(c.check.__code__.co_filename))
    # a backend chosen for the whole ledger keeps its results apart (default keys unchanged)
    return make_key(*parts) if auto_backend() == "auto" else make_key(*parts, "backend", auto_backend())


def _from_cache(c: Claim, d: dict, out_dir: Path):
    """Rebuild a ClaimResult from a cached row if its figures are still on disk."""
    if not isinstance(d, dict) or not set(("expected", "measured", "tolerance", "correction", "evidence",
                                           "figures", "seconds")) <= set(d):
        return None
    if d.get("id") != c.id or d.get("verdict") not in VERDICTS:
        return None
    if not all((out_dir / f).is_file() for f in d.get("figures", [])):
        return None
    v = Verdict(d["verdict"], d["expected"], d["measured"], d["tolerance"], d["correction"],
                dict(d["evidence"]))
    return ClaimResult(c, v, list(d["figures"]), float(d.get("seconds", 0.0)), cached=True)


def run_claims(claims, out_root, quick: bool, progress: bool = True, cache=None, on_source=None) -> list:
    """Run ``claims`` writing figures under ``out_root/<source>/figures``.

    Parameters
    ----------
    claims : iterable of Claim
    out_root : path-like
    quick : bool
        Reduced run sizes (``--quick``).
    progress : bool
        Show a progress bar on stderr.
    cache : dynopt.ledger.cache.Cache, optional
        Results are stored as each claim finishes and reused while the code, the claim
        and the run size are unchanged (and the figures exist), so an interrupted run
        resumes where it stopped.  Errors are never cached; a bad entry is recomputed and
        noted on stderr.
    on_source : callable, optional
        ``on_source(results)`` with the results of one source as soon as its last claim
        (in the given order) finishes, e.g. to write its report, so that an interrupted
        run leaves the finished sources reported.

    Returns
    -------
    list of ClaimResult
    """
    out_root = Path(out_root)
    claims = list(claims)
    for source in sorted({c.source for c in claims}):
        with report_lock(out_root / source):  # no writer of this folder is live now
            remove_stale_temp_files(out_root / source)
            remove_stale_temp_files(out_root / source / "figures")
    if cache is not None:
        cache.clean_temp_files()
    results = []
    bar = tqdm(claims, desc="claims", unit="claim", disable=not progress, file=sys.stderr)
    for i, c in enumerate(bar):
        bar.set_postfix_str(c.id)
        results.append(_run_or_reuse(c, out_root, quick, cache, bar))
        last_of_source = i + 1 == len(claims) or claims[i + 1].source != c.source
        if on_source is not None and last_of_source:
            on_source([r for r in results if r.claim.source == c.source])
    bar.close()
    return results


def _run_or_reuse(c, out_root, quick, cache, bar):
    """One claim's result: from the cache when a good entry is there, else run (and stored)."""
    key = claim_key(c, quick) if cache is not None else None
    hit = cache.get(key) if cache is not None else None
    if cache is not None:
        while cache.notes:
            bar.write(f"note: {c.id}: {cache.notes.pop(0)}", file=sys.stderr)
    res = _from_cache(c, hit, out_root / c.source) if hit else None
    if res is None:
        res = run_claim(c, out_root / c.source, quick)
        if cache is not None and res.error is None:
            cache.put(key, res.as_dict())
    return res
