"""Argument checks shared by every layer: finite parameters and integer counts with ranges named
in the message, and random generators from an explicit seed (never numpy's global state).
"""
from __future__ import annotations

import numpy as np


__all__ = ["check_finite_param", "integer_range", "is_int", "check_int", "as_generator", "finite_samples"]


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


def integer_range(low: int = 1, high=None) -> str:
    """How a message names the integers in [low, high]: "a positive integer", "a non-negative
    integer", "an integer ≥ 3", "an integer in [1, 10]"."""
    if high is not None:
        return f"an integer in [{low}, {high}]"
    if low == 1:
        return "a positive integer"
    if low == 0:
        return "a non-negative integer"
    return f"an integer ≥ {low}"


def is_int(value, low: int = 1, high=None) -> bool:
    """Whether ``value`` is a Python or numpy integer (not a bool) in [low, high]
    (``high=None``: no upper bound); :func:`check_int` raises when it is not."""
    return (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            and value >= low and (high is None or value <= high))


def check_int(value, name: str, *, low: int = 1, high=None) -> int:
    """Validate an integer argument (a count, an index) and return it as int.

    Python and numpy integers are accepted; bools, floats (even integral ones) and strings are
    not.  The default range is the positive integers.

    Parameters
    ----------
    value : object
    name : str
        The argument's name, quoted in the message.
    low, high : int or None
        Inclusive bounds (``high=None``: no upper bound).

    Raises
    ------
    ValueError
        Naming ``name`` and the allowed range (see :func:`integer_range`).
    """
    if not is_int(value, low, high):
        raise ValueError(f"`{name}` must be {integer_range(low, high)}; got {value!r}")
    return int(value)


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
