"""The claims ledger: every checkable statement of a source is a :class:`Claim` whose
check runs dynopt and returns a :class:`Verdict` computed from what it measured.

A paper folder ``papers/<source>/claims.py`` registers its claims with :func:`claim`::

    from dynopt.claims import claim, judge

    @claim("kexue-5655.gd-is-euler", statement="GD (2) is Euler's method for (4)",
           method="numeric")
    def gd_is_euler(ctx):
        measured = ...                     # run the method
        return judge(abs(measured - 1) <= 0.15, expected=1, measured=measured,
                     tolerance=0.15, correction=f"order {measured:.2f}")

The verdict is never typed in: :func:`judge` derives it from a boolean computed from
the measurement (confirmed), or, when it fails, from whether the check can state a
corrected form (corrected) or not (refuted).  An exception is an error of the run.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

__all__ = ["Claim", "Verdict", "Context", "ClaimResult", "claim", "judge", "REGISTRY",
           "discover", "run_claims", "VERDICTS", "METHODS", "to_jsonable"]

VERDICTS = ("confirmed", "corrected", "refuted")
METHODS = ("symbolic", "numeric", "monte-carlo", "experiment")
#: keys of every object in claims.json, in order
RESULT_KEYS = ("id", "source", "statement", "method", "verdict", "expected", "measured",
               "tolerance", "correction", "evidence", "figures", "seconds")


@dataclass(frozen=True)
class Claim:
    """A checkable statement.  ``check(ctx) -> Verdict``."""

    id: str
    source: str
    statement: str
    method: str
    check: Callable

    @property
    def slug(self) -> str:
        return self.id.split(".", 1)[1]


@dataclass
class Verdict:
    """What a check returns.  Build it with :func:`judge`, not by hand."""

    verdict: str
    expected: object
    measured: object
    tolerance: object
    correction: Optional[str] = None
    evidence: dict = field(default_factory=dict)


@dataclass
class ClaimResult:
    """A claim with its verdict (or the error that stopped its check)."""

    claim: Claim
    verdict: Optional[Verdict]
    figures: list
    seconds: float
    error: Optional[str] = None

    def as_dict(self) -> dict:
        v = self.verdict
        d = {
            "id": self.claim.id, "source": self.claim.source, "statement": self.claim.statement,
            "method": self.claim.method,
            "verdict": v.verdict if v else "error",
            "expected": to_jsonable(v.expected) if v else None,
            "measured": to_jsonable(v.measured) if v else None,
            "tolerance": to_jsonable(v.tolerance) if v else None,
            "correction": v.correction if v else None,
            "evidence": to_jsonable(v.evidence) if v else {"error": self.error},
            "figures": list(self.figures),
            "seconds": round(self.seconds, 3),
        }
        return {k: d[k] for k in RESULT_KEYS}


def to_jsonable(x):
    """Convert numpy scalars/arrays, tuples and non-finite floats to plain JSON values.

    Non-finite floats become the strings "nan"/"inf"/"-inf" so that no report shows a
    bare NaN; checks should have reported divergence explicitly before that.
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if not math.isfinite(x):
            return str(x)
        return float(f"{x:.10g}")  # stable text across platforms; 10 digits is plenty
    return x


def judge(holds, *, expected, measured, tolerance=None, correction: Optional[str] = None,
          evidence: Optional[dict] = None) -> Verdict:
    """Turn a computed comparison into a verdict.

    Parameters
    ----------
    holds : bool
        Whether the statement holds, computed from ``measured`` (and ``expected``).
    expected, measured :
        What the source (or a derivation) says, and what running the method gave.  They
        must not be the same object.
    tolerance :
        The tolerance ``holds`` used.
    correction : str, optional
        The corrected statement, when the check can state one.  Used only if the claim
        does not hold: the verdict is then "corrected"; without it, "refuted".
    evidence : dict, optional
        Numbers behind the verdict (p-values, fitted orders with CIs, sizes, seeds).

    Returns
    -------
    Verdict
    """
    # identity only means something for containers (small ints and strings are interned)
    if expected is measured and isinstance(expected, (list, dict, np.ndarray)):
        raise ValueError("`expected` and `measured` are the same object: a check must measure")
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"`holds` must be a bool computed from the measurement; got {type(holds).__name__}")
    if holds:
        verdict = "confirmed"
    else:
        verdict = "corrected" if correction else "refuted"
    return Verdict(verdict, expected, measured, tolerance,
                   correction if not holds else None, dict(evidence or {}))


REGISTRY: dict[str, Claim] = {}
#: source id -> metadata dict declared by the paper module as SOURCE
SOURCES: dict[str, dict] = {}


def claim(id: str, *, statement: str, method: str):
    """Decorator registering ``check(ctx) -> Verdict`` as the claim ``id``.

    ``id`` is ``<source>.<slug>``; ``method`` one of METHODS.
    """
    if "." not in id:
        raise ValueError(f"claim `id` must look like '<source>.<slug>'; got {id!r}")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {list(METHODS)}; got {method!r}")

    def deco(fn):
        if id in REGISTRY and REGISTRY[id].check.__qualname__ != fn.__qualname__:
            raise ValueError(f"claim {id!r} is registered twice")
        REGISTRY[id] = Claim(id=id, source=id.split(".", 1)[0], statement=statement.strip(),
                             method=method, check=fn)
        return fn

    return deco


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
        """Write ``fig`` atomically as ``figures/<slug>[-name].png``; returns the relative path."""
        from dynopt.ledger.report import atomic_savefig

        stem = self.claim.slug + (f"-{name}" if name else "")
        rel = f"figures/{stem}.png"
        atomic_savefig(fig, self.out_dir / rel)
        if rel not in self.figures:
            self.figures.append(rel)
        return rel


def discover(papers_dir) -> dict:
    """Import every ``papers/*/claims.py`` so that its claims register; returns REGISTRY."""
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
    """Claims matching ``ids`` (exact ids or source ids); all when ``ids`` is empty."""
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
    from dynopt.ledger.cache import code_version, make_key, package_version_hash

    return make_key("claim", c.id, bool(quick), package_version_hash(),
                    code_version(c.check.__code__.co_filename))


def _from_cache(c: Claim, d: dict, out_dir: Path):
    """Rebuild a ClaimResult from a cached row if its figures are still on disk."""
    if d.get("id") != c.id or d.get("verdict") not in VERDICTS:
        return None
    if not all((out_dir / f).is_file() for f in d.get("figures", [])):
        return None
    v = Verdict(d["verdict"], d["expected"], d["measured"], d["tolerance"], d["correction"],
                dict(d["evidence"]))
    return ClaimResult(c, v, list(d["figures"]), float(d["seconds"]))


def run_claims(claims, out_root, quick: bool, progress: bool = True, cache=None) -> list:
    """Run ``claims`` writing figures under ``out_root/<source>/figures``.

    Parameters
    ----------
    cache : dynopt.cache.Cache, optional
        Results are stored as each claim finishes and reused while the code, the claim
        and the run size are unchanged (and the figures exist), so an interrupted run
        resumes where it stopped.  Errors are never cached.

    Returns
    -------
    list of ClaimResult
    """
    from tqdm.auto import tqdm

    out_root = Path(out_root)
    results = []
    bar = tqdm(claims, desc="claims", unit="claim", disable=not progress, file=sys.stderr)
    for c in bar:
        bar.set_postfix_str(c.id)
        key = claim_key(c, quick) if cache is not None else None
        hit = cache.get(key) if cache is not None else None
        res = _from_cache(c, hit, out_root / c.source) if hit else None
        if res is None:
            res = run_claim(c, out_root / c.source, quick)
            if cache is not None and res.error is None:
                cache.put(key, res.as_dict())
        results.append(res)
    bar.close()
    return results

