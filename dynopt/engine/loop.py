"""The one fixed-step loop: ``integrate(model, scheme, t_span, y0, dt)`` → :class:`Solution`.

The blow-up rule (:func:`blown_up` with the run's limit
:func:`dynopt.engine.validate.blowup_limit`, 10^12 × the run's scale) and the step grid
(:func:`dynopt.engine.validate.step_count`) are shared by every loop in dynopt: ensembles, optimizer runs and sweeps.
"""
from __future__ import annotations


from dataclasses import dataclass, field
from typing import Any, Optional
import numpy as np
from dynopt.checks import check_int
from dynopt.dynamics import Model
from dynopt.engine.results import final_positions
from dynopt.engine.validate import BLOWUP, MAX_STEPS, check_run

__all__ = ["blown_up", "BLOWUP", "Solution", "eval_steps", "check_save_every", "integrate"]


def blown_up(x, limit=BLOWUP) -> bool:
    """The one divergence rule of dynopt: some entry of ``x`` is non-finite or above
    ``limit`` in magnitude.  :func:`integrate` and ensembles pass
    :func:`dynopt.engine.validate.blowup_limit` (10^12 × the run's scale, which catches a
    runaway path within a few steps of leaving the problem's region); optimizer runs
    (:func:`dynopt.optim.run`) pass 10^12 × the initial parameters' scale.
    Every loop calls this instead of its own test."""
    x = np.asarray(x)
    # one pass: a NaN or inf fails ``<= limit`` too (max propagates NaN, without a warning)
    return x.size > 0 and not bool(np.abs(x).max() <= limit)


@dataclass
class Solution:
    """Result of :func:`integrate`, in the vocabulary of :mod:`dynopt.engine.results` (``t``,
    ``y``, ``y_final``, ``final_positions``), shared with ensembles.

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
        Index of the first step after which some iterate (position) was non-finite or
        above ``blowup_limit``; the run stops there.  ``None`` if it finished.
    stopped_step : int or None
        The step at which ``stop`` ended the run, if it did.
    grad_evals : int
        Gradient evaluations per path actually made, as counted by the scheme in its
        state: those of its start (e.g. the half-step velocity) and of every step
        (for implicit schemes, every nonlinear iteration).
    model : Model or None
        The model integrated (gives ``final_positions``).
    blowup_limit : float
        The |θ| above which the run counted as diverged:
        :func:`dynopt.engine.validate.blowup_limit` of the model and ``y0`` (10^12 × the
        largest of 1, |y0| and the problem's minima and centre; the ensembles' rule too),
        so a runaway iteration stops with its step within a few steps of leaving the
        problem's region instead of feeding huge finite numbers to what follows (an
        error, an order fit).
    diverged_paths : ndarray of bool, shape (n_paths,), or None
        The paths whose iterate was non-finite or above ``blowup_limit`` at
        ``diverged_step`` (``None`` if the run did not diverge).
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
    model: Any = field(default=None, repr=False, compare=False)
    blowup_limit: float = BLOWUP
    diverged_paths: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    @property
    def final_positions(self):
        """Final positions θ, shape (n_paths, d) (needs the model: ``integrate`` records it)."""
        if self.model is None:
            raise ValueError("this Solution carries no model: use position(model)")
        return final_positions(self.y_final, self.model)

    def position(self, model):
        """Final positions θ, shape ``(n_paths, d)``."""
        return model.position(self.y_final)


def eval_steps(t_eval, t_span, dt, n_steps) -> list:
    """Step indices of the requested save times ``t_eval`` on the grid ``t0 + k·dt``.

    Parameters
    ----------
    t_eval : array_like of float
        Increasing times within ``t_span``, each on the step grid (to 1e-9 relative); like
        ``solve_ivp``'s ``t_eval``, but a fixed-step scheme has states only at grid times.
    t_span : (float, float)
    dt : float
    n_steps : int

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        Empty, non-increasing, outside ``t_span`` or off the grid (naming the nearest
        grid times).
    """
    t = np.atleast_1d(np.asarray(t_eval, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all():
        raise ValueError(f"`t_eval` must be a non-empty 1-D array of finite times; got {t_eval!r}")
    if np.any(np.diff(t) <= 0):
        raise ValueError("`t_eval` must be strictly increasing")
    t0, t1 = (float(v) for v in t_span)
    tol = 1e-9 * max(1.0, abs(t1 - t0))
    if t[0] < t0 - tol or t[-1] > t1 + tol:
        raise ValueError(f"`t_eval` must lie within t_span={t_span!r}; got {t[0]:g}..{t[-1]:g}")
    k = np.rint((t - t0) / dt).astype(np.int64)
    off = np.abs(t0 + k * dt - t) > tol
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(f"`t_eval` holds t = {t[i]:g}, which is not on the step grid t0 + k·dt "
                         f"(dt = {dt:g}); the nearest grid times are {t0 + np.floor((t[i] - t0) / dt) * dt:.6g} "
                         f"and {t0 + np.ceil((t[i] - t0) / dt) * dt:.6g}")
    return [int(v) for v in np.clip(k, 0, n_steps)]


def check_save_every(save_every):
    """``save_every`` is None or a positive integer; ValueError otherwise."""
    if save_every is not None:
        check_int(save_every, "save_every")


def integrate(model: Model, scheme, t_span, y0, dt, *, save_every: int | None = None, t_eval=None,
              stop=None, max_steps: int = MAX_STEPS, **sde_options):
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
    t_eval : array_like, optional
        Save exactly at these times (as ``solve_ivp``'s ``t_eval``); they must lie on the
        step grid ``t0 + k·dt``.  Not together with ``save_every``.
    stop : callable, optional
        ``stop(t, y) -> bool`` on the model state ``y`` (shape ``(n_paths, state_dim)``)
        after each step; the run ends at the first step where it is true
        (``Solution.stopped_step``), like a terminal event of ``solve_ivp``.
    max_steps : int
        Refuse runs of more steps than this (default 10^8, like diffrax's ``max_steps``).

    Returns
    -------
    Solution
        Diverged (``diverged_step``) once a position exceeds ``blowup_limit`` (see there).

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
    check_int(max_steps, "max_steps")
    scheme, t0, dt, n_steps, y_init, limit = check_run(model, scheme, t_span, y0, dt, max_steps, sde=False)
    if sde_options:
        raise TypeError(f"integrate() got ensemble options {sorted(sde_options)} for the ODE model {model!r}; "
                        "they belong to dynopt.engine.simulate (SDE models)")
    check_save_every(save_every)
    if stop is not None and not callable(stop):
        raise TypeError(f"`stop` must be a callable stop(t, y) -> bool; got {type(stop).__name__}")
    state = scheme.init(model, y_init, dt)
    if not hasattr(state, "grad_evals"):
        raise TypeError(f"scheme {scheme.name!r}: init must return a NamedTuple state with a `grad_evals` "
                        f"field; got {type(state).__name__}")
    want, save = _save_rule(save_every, t_eval, t_span, dt, n_steps)
    ts, ys = [], []
    if want is None or 0 in want:
        ts.append(t0)
        ys.append(scheme.output(model, state))
    state, done, diverged, stopped = _advance(model, scheme, state, t0, dt, n_steps, save, stop, ts, ys, limit)
    final = scheme.output(model, state)
    # the final state is saved by default; with t_eval only when its time was asked for
    if diverged is None and (want is None or (done == n_steps > 0 and n_steps in want)):
        ts.append(t0 + done * dt)
        ys.append(final)
    y = np.stack(ys) if ys else np.empty((0,) + final.shape)  # empty: stopped before any t_eval
    return Solution(t=np.array(ts, dtype=float), y=y, y_final=final, method=scheme.name, dt=dt,
                    n_steps=done, diverged_step=diverged, grad_evals=int(state.grad_evals), stopped_step=stopped,
                    model=model, blowup_limit=limit, diverged_paths=_rows_beyond(state[0], final, limit, diverged))


def _rows_beyond(x, final, limit, diverged):
    """Per path (row of ``final``): some entry of its row of ``x`` is non-finite or above
    ``limit``; None when the run did not diverge."""
    if diverged is None:
        return None
    rows = np.asarray(x).reshape(final.shape[0], -1)
    with np.errstate(invalid="ignore"):
        return ~(np.abs(rows) <= limit).all(axis=1)


def _save_rule(save_every, t_eval, t_span, dt, n_steps):
    """``(steps asked for by t_eval or None, save(k) -> bool)`` of :func:`integrate`."""
    if t_eval is None:
        return None, (lambda k: k % save_every == 0) if save_every else (lambda k: False)
    if save_every is not None:
        raise ValueError("give `save_every` or `t_eval`, not both")
    want = set(eval_steps(t_eval, t_span, dt, n_steps))
    return want, want.__contains__


def _advance(model, scheme, state, t0, dt, n_steps, save, stop, ts, ys, limit=BLOWUP):
    """The step loop of :func:`integrate`: appends the states of steps ``k`` with ``save(k)``
    (before the last) to ``ts``/``ys`` and returns ``(state, steps done, diverged step or
    None, stopped step or None)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            t = t0 + k * dt
            state = scheme.step(model, t, state, dt)
            if blown_up(state[0], limit):
                return state, k + 1, k + 1, None
            if stop is not None and stop(t + dt, scheme.output(model, state)):
                return state, k + 1, None, k + 1
            if k + 1 != n_steps and save(k + 1):
                ts.append(t0 + (k + 1) * dt)
                ys.append(scheme.output(model, state))
    return state, n_steps, None, None
