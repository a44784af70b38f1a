"""The one fixed-step loop: ``integrate(model, scheme, t_span, y0, dt)`` → :class:`Solution`.

The blow-up rule (:data:`BLOWUP`) and the step grid (:func:`step_count`) are shared by every
loop in dynopt: ensembles, optimizer runs and sweeps.
"""
from __future__ import annotations


from dataclasses import dataclass
from typing import Optional
import numpy as np
from dynopt.dynamics import Model
from dynopt.checks import check_finite_param
from dynopt.engine.validate import MAX_STEPS, as_scheme, check_max_steps, check_model, check_t_span, check_y0

__all__ = ["blown_up", "BLOWUP", "Solution", "step_count", "check_save_every", "integrate"]


#: |y| above this counts as a blow-up (before it overflows to inf).
BLOWUP = 1e100


def blown_up(x, limit=BLOWUP) -> bool:
    """The one divergence rule of dynopt: some entry of ``x`` is non-finite or above
    ``limit`` in magnitude (default :data:`BLOWUP`; ensembles pass
    :func:`dynopt.engine.validate.blowup_limit`, 10^12 × the run's scale, which catches a
    runaway path within a few steps).  Every loop (ODE runs, ensembles, optimizer
    runs, sweeps, training) calls this instead of its own test."""
    x = np.asarray(x)
    if x.size == 0:
        return False
    with np.errstate(invalid="ignore"):
        return not bool(np.isfinite(x).all()) or bool(np.abs(x).max() > limit)


@dataclass
class Solution:
    """Result of :func:`integrate`.

    Attributes
    ----------
    t : ndarray, shape (k,)
        Times at which states were saved (always includes the final time if the run
        finished).
    y : ndarray, shape (k, n_paths, state_dim)
        Saved model states (``scheme.output``).
    y_final : ndarray, shape (n_paths, state_dim)
        The last state reached (at ``t[-1]``).
    method : str
    dt : float
    n_steps : int
        Steps taken.
    diverged_step : int or None
        Index of the first step after which some iterate was non-finite or above
        ``BLOWUP``; the run stops there.  ``None`` if it finished.
    stopped_step : int or None
        The step at which ``stop`` ended the run, if it did.
    grad_evals : int
        Gradient evaluations per path actually made, as counted by the scheme in its
        state: those of its start (e.g. the half-step velocity) and of every step
        (for implicit schemes, every nonlinear iteration).
    """

    t: np.ndarray
    y: np.ndarray
    y_final: np.ndarray
    method: str
    dt: float
    n_steps: int
    diverged_step: Optional[int]
    grad_evals: int
    stopped_step: Optional[int] = None

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    def position(self, model):
        """Final positions θ, shape ``(n_paths, d)``."""
        return model.position(self.y_final)


def step_count(t_span, dt, name="dt"):
    """Number of steps of size ``dt`` covering ``t_span``; ValueError if it does not divide."""
    t0, t1 = (float(v) for v in t_span)
    if not (np.isfinite(t0) and np.isfinite(t1)) or t1 < t0:
        raise ValueError(f"`t_span` must be finite with t_span[1] >= t_span[0]; got {t_span!r}")
    dt = check_finite_param(dt, name, low=0.0, low_inclusive=False)
    n = round((t1 - t0) / dt)
    if abs(n * dt - (t1 - t0)) > 1e-9 * max(1.0, abs(t1 - t0)):
        raise ValueError(f"`{name}` must divide the interval t_span={t_span!r} into whole steps; got {dt!r}")
    return n


def check_save_every(save_every):
    """``save_every`` is None or a positive integer; ValueError otherwise."""
    if save_every is not None and (not isinstance(save_every, (int, np.integer)) or isinstance(save_every, bool)
                                   or save_every < 1):
        raise ValueError(f"`save_every` must be a positive integer; got {save_every!r}")


def integrate(model: Model, scheme, t_span, y0, dt, *, save_every: int | None = None, stop=None,
              max_steps: int = MAX_STEPS, **sde_options):
    """Integrate the ODE ``model`` with a fixed-step ``scheme`` from ``t_span[0]`` to ``t_span[1]``.

    Parameters
    ----------
    model : dynopt.dynamics.Model
        The continuous-time model (e.g. ``HeavyBall(problem, friction=1.0)``); SDE models
        are run by :func:`dynopt.engine.simulate`.
    scheme : str or Scheme
        A name from ``METHODS`` or a scheme instance.
    t_span : (float, float)
    y0 : array_like, shape (state_dim,) or (n_paths, state_dim)
        Initial state(s).  For second-order models a position of length d is accepted
        and started at rest (η = 0).
    dt : float
        The ODE step γ > 0; it must divide the interval.
    save_every : int, optional
        Save every ``save_every``-th state (default: only the initial and final).
    stop : callable, optional
        ``stop(t, y) -> bool`` on the model state ``y`` (shape ``(n_paths, state_dim)``)
        after each step; the run ends at the first step where it is true
        (``Solution.stopped_step``), like a terminal event of ``solve_ivp``.
    max_steps : int
        Refuse runs of more steps than this (default 10^8, like diffrax's ``max_steps``).

    Returns
    -------
    Solution

    Raises
    ------
    TypeError
        Not a model, an SDE model (use :func:`dynopt.engine.simulate`), ensemble options,
        a ``scheme`` that is not a name/class/instance, a non-numeric ``t_span``/``y0``,
        or a ``stop`` that is not callable.
    ValueError
        Bad ``dt``, ``t_span``, ``y0`` shape or non-finite values, unknown ``scheme``, more
        steps than ``max_steps``, or a scheme that does not discretize this model.
    """
    check_model(model)
    if getattr(model, "is_sde", False):
        raise TypeError(f"integrate() runs ODE models; {model!r} is an SDE model: use "
                        "dynopt.engine.simulate(model, scheme, t_span, y0, dt, n_paths=..., seed=...)")
    if sde_options:
        raise TypeError(f"integrate() got ensemble options {sorted(sde_options)} for the ODE model {model!r}; "
                        "they belong to dynopt.engine.simulate (SDE models)")
    scheme = as_scheme(scheme)
    scheme.check_model(model)
    n_steps = step_count(check_t_span(t_span), dt)
    check_max_steps(n_steps, max_steps, dt)
    check_save_every(save_every)
    if stop is not None and not callable(stop):
        raise TypeError(f"`stop` must be a callable stop(t, y) -> bool; got {type(stop).__name__}")
    t0, dt = float(t_span[0]), float(dt)
    y_init = model.as_state(check_y0(y0))
    state = scheme.init(model, y_init, dt)
    if not hasattr(state, "grad_evals"):
        raise TypeError(f"scheme {scheme.name!r}: init must return a NamedTuple state with a `grad_evals` "
                        f"field; got {type(state).__name__}")
    ts, ys = [t0], [scheme.output(model, state)]
    state, done, diverged, stopped = _advance(model, scheme, state, t0, dt, n_steps, save_every, stop, ts, ys)
    final = scheme.output(model, state)
    if diverged is None:
        ts.append(t0 + done * dt)
        ys.append(final)
    return Solution(t=np.array(ts), y=np.stack(ys), y_final=final, method=scheme.name, dt=dt,
                    n_steps=done, diverged_step=diverged, grad_evals=int(state.grad_evals), stopped_step=stopped)


def _advance(model, scheme, state, t0, dt, n_steps, save_every, stop, ts, ys, limit=BLOWUP):
    """The step loop of :func:`integrate`: appends saved states to ``ts``/``ys`` and returns
    ``(state, steps done, diverged step or None, stopped step or None)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            t = t0 + k * dt
            state = scheme.step(model, t, state, dt)
            if blown_up(state[0], limit):
                return state, k + 1, k + 1, None
            if stop is not None and stop(t + dt, scheme.output(model, state)):
                return state, k + 1, None, k + 1
            if save_every and (k + 1) % save_every == 0 and k + 1 != n_steps:
                ts.append(t0 + (k + 1) * dt)
                ys.append(scheme.output(model, state))
    return state, n_steps, None, None
