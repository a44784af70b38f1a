"""The claims ledger: every checkable statement of a source is a :class:`Claim` whose
check runs dynopt and returns a :class:`Verdict` computed from what it measured.

A paper folder ``papers/<source>/claims.py`` registers its claims with :func:`claim`::

    from dynopt.ledger import claim, judge

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

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

__all__ = ["Claim", "Verdict", "ClaimResult", "claim", "judge", "REGISTRY", "SOURCES",
           "VERDICTS", "CLAIM_METHODS", "RESULT_KEYS", "REPORT_KEYS", "OPTIONAL_KEY", "to_jsonable",
           "below"]

VERDICTS = ("confirmed", "corrected", "refuted")
CLAIM_METHODS = ("symbolic", "numeric", "monte-carlo", "experiment")
#: keys of every object in claims.json, in order
RESULT_KEYS = ("id", "source", "statement", "method", "verdict", "expected", "measured",
               "tolerance", "correction", "evidence", "figures", "seconds")
#: keys written to the committed claims.json: no timings, so that a rerun is byte-identical
REPORT_KEYS = RESULT_KEYS[:-1]
#: evidence key for results of checks that need optional packages (e.g. torch); the
#: reports write it to an uncommitted file so that the committed ones do not depend on it
OPTIONAL_KEY = "optional"


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
    #: served from the cache (``seconds`` is then the time of the run that computed it)
    cached: bool = False

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


class below(str):
    """A measurement written as ``"< floor"`` when it is under ``floor``, else the number.

    For quantities whose size below ``floor`` is rounding noise (differences of identical
    computations, finite-difference errors): their last digits vary between machines and
    would flip the committed reports.  The verdict must be computed from the full-precision
    value before wrapping it.

    Parameters
    ----------
    x : float
    floor : float
        A stated resolution (positive), usually far below the claim's tolerance.
    """

    def __new__(cls, x, floor):
        floor = float(floor)
        if not floor > 0:
            raise ValueError(f"`floor` must be positive; got {floor!r}")
        x = float(x)
        if abs(x) < floor:
            return str.__new__(cls, f"< {floor:g}")
        return str.__new__(cls, f"{x:.4g}")


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

    ``id`` is ``<source>.<slug>``; ``method`` one of CLAIM_METHODS.
    """
    if "." not in id:
        raise ValueError(f"claim `id` must look like '<source>.<slug>'; got {id!r}")
    if method not in CLAIM_METHODS:
        raise ValueError(f"`method` must be one of {list(CLAIM_METHODS)}; got {method!r}")

    def deco(fn):
        if id in REGISTRY and REGISTRY[id].check.__qualname__ != fn.__qualname__:
            raise ValueError(f"claim {id!r} is registered twice")
        REGISTRY[id] = Claim(id=id, source=id.split(".", 1)[0], statement=statement.strip(),
                             method=method, check=fn)
        return fn

    return deco
