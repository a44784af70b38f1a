"""Argument checks shared by every layer: finite parameters with ranges named in the message,
and random generators from an explicit seed (never numpy's global state).
"""
from __future__ import annotations

import numpy as np


def check_finite_param(value, name: str, *, low=None, low_inclusive=True, high=None,
                       high_inclusive=True) -> float:
    """Validate a scalar parameter and return it as float.

    Raises
    ------
    ValueError
        Naming ``name`` and the allowed range when ``value`` is not finite or out of range.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a real number; got {value!r}") from None
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high}"
    rng = f"{'[' if low_inclusive and low is not None else '('}{lo}, {hi}{']' if high_inclusive and high is not None else ')'}"
    bad = not np.isfinite(v)
    if low is not None:
        bad |= v < low if low_inclusive else v <= low
    if high is not None:
        bad |= v > high if high_inclusive else v >= high
    if bad:
        raise ValueError(f"`{name}` must be in {rng}; got {value!r}")
    return v


def as_generator(rng, name: str = "rng") -> np.random.Generator:
    """A numpy Generator from an int, a SeedSequence or a Generator (never global state).

    ``None`` gives fresh OS entropy.  ``name`` is the argument named in the error.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"`{name}` must be an int, SeedSequence or Generator; got {type(rng).__name__}")
