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


def finite_samples(values, name: str, *, min_size: int = 1) -> np.ndarray:
    """``values`` as a flat float array of at least ``min_size`` finite numbers.

    A NaN or infinity in the input of a test or an estimator would otherwise give a
    statistic that is NaN in one place and a plausible number in another (scipy's KS test is
    NaN, a Wasserstein distance on the sorted values is not): refused, naming ``name``.

    Raises
    ------
    TypeError
        Non-numeric values.
    ValueError
        Fewer than ``min_size`` values, or any that is NaN or infinite.
    """
    try:
        x = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers; got {type(values).__name__}") from None
    if x.size < min_size:
        raise ValueError(f"`{name}` must hold at least {min_size} value(s); got {x.size}")
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"`{name}` must be finite; got {int(bad.sum())} NaN or infinite value(s) of {x.size} "
                         "(drop diverged paths first)")
    return x
