"""Argument checks of the engine's entry points, done before anything runs.

``integrate`` and ``simulate`` pass their arguments through here once, at the door, so that
a bad input fails at once with a ValueError/TypeError naming the argument, never after the
first step; what is inside a run trusts what was checked here.  :func:`check_run` is the
door both loops share (model, scheme, ``t_span``, ``dt``, ``y0``, the step count against
``max_steps``, the blow-up limit); the other checks are of what only an ensemble has
(observers, executor, the memory its per-path arrays would hold).
"""
from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np

from dynopt.checks import check_finite_param
from dynopt.dynamics import Model
from dynopt.engine.observers import Observer
from dynopt.schemes import Scheme, get_scheme

__all__ = ["MAX_STEPS", "BLOWUP", "BLOWUP_FACTOR", "scale_limit", "check_model", "as_scheme", "check_t_span", "check_y0",
           "step_count", "check_max_steps", "check_observers", "check_executor",
           "check_memory", "machine_memory", "blowup_limit", "CheckedRun", "check_run"]

#: default bound on the steps of one run (like diffrax's ``max_steps``): 10^8 steps of a
#: 1-D path take minutes; a larger count is almost always a step size typed wrong
MAX_STEPS = 10 ** 8

#: |y| above this counts as a blow-up whatever the run's scale (before it overflows to inf);
#: the bound of loops that know no scale (optimizer runs, training) and the cap of
#: :func:`blowup_limit`
BLOWUP = 1e100

#: a path counts as diverged once |y| exceeds BLOWUP_FACTOR × the run's scale (see
#: :func:`blowup_limit`)
BLOWUP_FACTOR = 1e12


def check_model(model):
    """``model`` is a :class:`dynopt.dynamics.Model` (whether the scheme discretizes it is
    the scheme's ``check_model``)."""
    if not isinstance(model, Model):
        raise TypeError(f"`model` must be a dynopt.dynamics model (e.g. GradientFlow(problem) or "
                        f"OverdampedLangevin(problem, sigma)); got {type(model).__name__}")


def as_scheme(scheme):
    """The scheme instance for ``scheme`` (a registered name, a Scheme class or instance)."""
    if not isinstance(scheme, (str, Scheme)) and not (isinstance(scheme, type) and issubclass(scheme, Scheme)):
        raise TypeError(f"`scheme` must be a scheme name, class or instance; got {type(scheme).__name__}")
    try:
        return get_scheme(scheme)
    except ValueError as exc:
        raise ValueError(str(exc).replace("`method`", "`scheme`", 1)) from None


def check_t_span(t_span):
    """``(t0, t1)``: two finite real numbers with t1 ≥ t0; returns them as floats."""
    if isinstance(t_span, (str, bytes)) or not hasattr(t_span, "__len__") or len(t_span) != 2:
        raise TypeError(f"`t_span` must be a pair (t0, t1) of real numbers; got {t_span!r}")
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise TypeError(f"`t_span` must be a pair (t0, t1) of real numbers; got {t_span!r}") from None
    if not (np.isfinite(t0) and np.isfinite(t1)) or t1 < t0:
        raise ValueError(f"`t_span` must be finite with t_span[1] >= t_span[0]; got {t_span!r}")
    return t0, t1


def check_y0(y0, name="y0"):
    """``y0`` as a finite float array (ragged, non-numeric or non-finite input refused)."""
    try:
        arr = np.asarray(y0, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a real array of shape (state_dim,) or (n_paths, state_dim) "
                        f"(not ragged, no strings); got {y0!r}"[:300]) from None
    if arr.ndim > 2:
        raise ValueError(f"`{name}` must have shape (state_dim,) or (n_paths, state_dim); got shape {arr.shape}")
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite; got non-finite entries in {y0!r}"[:300])
    return arr


def step_count(t_span, dt, name="dt"):
    """Number of steps of size ``dt`` covering ``t_span`` (checked by :func:`check_t_span`).

    A fixed-step scheme keeps one step size: its state and coefficients are built for it
    (half-step velocities, momentum and learning rate are functions of dt), so a shortened
    last step would run a different method for that step.  An interval that ``dt`` does
    not divide is therefore an error, which names both numbers and the nearest valid steps.

    Raises
    ------
    ValueError
        Bad ``t_span`` or ``dt``, or a ``dt`` that does not divide the interval.
    """
    t0, t1 = check_t_span(t_span)
    dt = check_finite_param(dt, name, low=0.0, low_inclusive=False)
    length = t1 - t0
    n = round(length / dt)
    if abs(n * dt - length) > 1e-9 * max(1.0, abs(length)):
        lo, hi = max(1, int(length // dt)), int(length // dt) + 1
        raise ValueError(
            f"`{name}` must divide the interval t_span={t_span!r} of length {length:g} into whole steps; "
            f"got {dt!r} ({length:g}/{dt:g} = {length / dt:.4g} steps). The nearest valid `{name}` are "
            f"{length / hi:.6g} ({hi} steps) and {length / lo:.6g} ({lo} steps), or end at "
            f"t = {t0 + n * dt:.6g} ({n} steps). Fixed-step schemes do not shorten the last step: "
            f"their state and coefficients are built for one step size")
    return n


def check_max_steps(n_steps, max_steps, dt):
    """Refuse a run of more than ``max_steps`` steps (a step size typed wrong); ``max_steps``
    was checked by :func:`dynopt.checks.check_int` where it was given."""
    if n_steps > max_steps:
        raise ValueError(f"`dt`={dt!r} makes {n_steps:.3g} steps, above `max_steps`={max_steps:.3g}; "
                         "use a larger dt or raise max_steps")


def check_observers(observers):
    """``observers`` is a list or tuple of :class:`~dynopt.engine.observers.Observer`
    instances with distinct names (a run's results are keyed by them); returns it as a tuple."""
    if not isinstance(observers, (list, tuple)):
        raise TypeError(f"`observers` must be a list or tuple of Observer instances; got {type(observers).__name__}")
    for o in observers:
        if not isinstance(o, Observer):
            raise TypeError(f"`observers` must be Observer instances; got {type(o).__name__} {o!r}")
    names = [o.name for o in observers]
    if len(set(names)) != len(names):
        raise ValueError(f"`observers` need distinct names; got {names}")
    return tuple(observers)


def check_executor(executor):
    """``executor`` is None or an object with ``map`` (from dynopt.engine.get_executor)."""
    if executor is not None and not callable(getattr(executor, "map", None)):
        raise TypeError(f"`executor` must be an executor from dynopt.engine.get_executor(...) (with a "
                        f"map method) or None; got {type(executor).__name__} {executor!r}"[:300])


def machine_memory() -> int:
    """Physical memory of this machine in bytes (0 when the system does not tell)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 0


def check_memory(n_bytes, what):
    """Refuse a run whose arrays need more than the machine's physical memory."""
    have = machine_memory()
    if have and n_bytes > have:
        raise ValueError(f"{what} needs about {n_bytes / 2 ** 30:.3g} GiB, more than this machine's "
                         f"{have / 2 ** 30:.3g} GiB of memory")


def blowup_limit(model, y_init, ceiling=BLOWUP):
    """The |y| above which a path of a run (``integrate`` or an ensemble) counts as diverged.

    ``BLOWUP_FACTOR`` (10^12) times the run's scale: the largest of 1, |y0| (over all
    paths and state components) and the problem's known minima and centre.  A runaway
    path of a stiff or unstable discretization grows geometrically (or like a cubic map:
    10^4 → 10^12 → 10^36 in two steps), so it passes this bound within a few steps of
    leaving the problem's region, long before the float range.  A path that stays near
    the problem's scale is never flagged: a bounded orbit would have to grow 10^12-fold
    beyond its start and the problem's minima, which the transient growth of a stable
    linear(ized) iteration never does.

    Parameters
    ----------
    model : Model
        Its ``problem`` (if any) gives ``minima`` and ``center``.
    y_init : array_like
        The initial state(s) of the run.
    ceiling : float
        Cap of the limit (default the global :data:`BLOWUP`, 10^100).

    Returns
    -------
    float
    """
    scale = [1.0, float(np.max(np.abs(y_init))) if np.size(y_init) else 0.0]
    prob = getattr(model, "problem", None)
    for attr in ("minima", "center"):
        v = getattr(prob, attr, None)
        if v is not None and np.size(v):
            with np.errstate(invalid="ignore"):
                m = float(np.nanmax(np.abs(np.asarray(v, dtype=float))))
            if np.isfinite(m):
                scale.append(m)
    return scale_limit(*scale, ceiling=ceiling)


def scale_limit(*scales, ceiling=BLOWUP):
    """``BLOWUP_FACTOR`` × the largest of 1 and the finite ``scales`` (magnitudes), capped at
    ``ceiling``: the blow-up limit of a run whose scale is known by these numbers (its start,
    its first loss); :func:`blowup_limit` gives the scales of a model's run."""
    finite = [abs(float(v)) for v in scales if np.isfinite(v)]
    return min(float(ceiling), BLOWUP_FACTOR * max([1.0, *finite]))


class CheckedRun(NamedTuple):
    """What :func:`check_run` found at the door of a run: all of it checked."""

    scheme: Any
    t0: float
    dt: float
    n_steps: int
    y_init: np.ndarray
    blowup: float


def check_run(model, scheme, t_span, y0, dt, max_steps, sde):
    """The door of both loops (:func:`~dynopt.engine.integrate`, :func:`~dynopt.engine.simulate`):
    check what every run has, once, and return it ready to use.

    Parameters
    ----------
    model : Model
    scheme : str, Scheme class or instance
    t_span : (float, float)
    y0 : array_like, shape (state_dim,) or (n_paths, state_dim), or a position (d,)
    dt : float > 0, dividing the interval
    max_steps : int
        Already checked by :func:`dynopt.checks.check_int` where it was given.
    sde : bool
        Whether the caller runs SDE ensembles (``simulate``) or ODEs (``integrate``): the
        model and the scheme must be of that kind.

    Returns
    -------
    CheckedRun
        The scheme instance, ``t0``, ``dt`` as floats, the step count, the initial states
        ``model.as_state(y0)`` and the blow-up limit :func:`blowup_limit` of the run.

    Raises
    ------
    TypeError, ValueError
        Naming the argument, as the checks above.
    """
    check_model(model)
    if not sde and getattr(model, "is_sde", False):
        raise TypeError(f"integrate() runs ODE models; {model!r} is an SDE model: use "
                        "dynopt.engine.simulate(model, scheme, t_span, y0, dt, n_paths=..., seed=...)")
    scheme = as_scheme(scheme)
    if sde and not hasattr(scheme, "noise_kind"):
        raise ValueError(f"`scheme` {scheme.name!r} is an ODE scheme; simulate() needs an SDE scheme "
                         "(e.g. 'euler-maruyama', 'milstein', 'baoab')")
    n_steps = step_count(t_span, dt)
    check_max_steps(n_steps, max_steps, dt)
    y = check_y0(y0)
    # the scale of y0 is that of its state: as_state only reshapes it or appends zeros
    blowup = blowup_limit(model, y)
    scheme.check_model(model)
    return CheckedRun(scheme, float(t_span[0]), float(dt), n_steps, model.as_state(y), blowup)
