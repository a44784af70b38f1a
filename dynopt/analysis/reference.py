"""Reference solutions from scipy: exact (``expm``) for linear models, ``solve_ivp`` otherwise.

Also the work–precision data of scipy's adaptive integrators.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from dynopt.dynamics import Model

__all__ = ["reference_solution", "exact_linear", "solve_ivp_reference", "work_precision",
           "count_gradient_calls", "REFERENCE_RTOL"]

#: tolerance of the DOP853 reference: far below the schemes' errors at the finest step, so
#: the reference never limits a fitted order
REFERENCE_RTOL = 1e-13


def exact_linear(model: Model, y0, t_eval, t0=0.0):
    """Exact solution y(t) = y* + expm(A (t − t0)) (y0 − y*) of a linear model.

    Returns
    -------
    ndarray, shape (len(t_eval), n, state_dim)
    """
    lin = model.linear_part()
    if lin is None:
        raise ValueError(f"{model!r} is not linear: no exact reference")
    A, ystar = lin
    y = model.as_state(y0) - ystar
    return np.stack([ystar + y @ expm(A * (t - t0)).T for t in np.atleast_1d(t_eval)])


def solve_ivp_reference(model: Model, y0, t_eval, t0=0.0, rtol=REFERENCE_RTOL, atol=None,
                        method="DOP853"):
    """Tight ``solve_ivp`` solution of ``model`` at ``t_eval`` (all paths as one system).

    Returns
    -------
    ndarray, shape (len(t_eval), n, state_dim)

    Raises
    ------
    RuntimeError
        If the solver reports failure.
    """
    y = model.as_state(y0)
    t_eval = np.atleast_1d(np.asarray(t_eval, dtype=float))
    atol = rtol * 1e-1 if atol is None else atol
    sol = solve_ivp(model.rhs, (t0, float(t_eval.max())), y.ravel(), method=method,
                    rtol=rtol, atol=atol, dense_output=True)
    if not sol.success:
        raise RuntimeError(f"reference solve_ivp({method}) failed: {sol.message}")
    return np.stack([sol.sol(t).reshape(y.shape) for t in t_eval])


def reference_solution(model: Model, y0, t_eval, t0=0.0):
    """The best available reference at ``t_eval``: exact for linear models, else DOP853
    with rtol = 1e-13.  Returns ``(values, kind)`` with kind ``"expm"`` or ``"DOP853"``."""
    if model.linear_part() is not None:
        return exact_linear(model, y0, t_eval, t0), "expm"
    return solve_ivp_reference(model, y0, t_eval, t0), f"DOP853(rtol={REFERENCE_RTOL:g})"


def count_gradient_calls(model: Model):
    """A shallow copy of ``model`` whose problem counts gradient and Hessian calls.

    Returns
    -------
    model_copy, counts : Model, dict with keys "grad" and "hess"
    """
    counts = {"grad": 0, "hess": 0}
    p = model.problem
    g, h = p.grad_fn, p.hess_fn

    def grad_fn(x):
        counts["grad"] += 1
        return g(x)

    def hess_fn(x):
        counts["hess"] += 1
        return h(x)

    m = object.__new__(type(model))
    m.__dict__.update(model.__dict__)
    m.problem = replace(p, grad_fn=grad_fn, hess_fn=None if h is None else hess_fn)
    return m, counts


@dataclass
class WorkPoint:
    """One point of a work–precision diagram."""

    method: str
    rtol: float
    grad_evals: int
    hess_evals: int
    error: float
    seconds: float


def work_precision(model: Model, y0, T, reference, methods=("RK45", "DOP853", "Radau", "LSODA"),
                   rtols=tuple(10.0 ** -k for k in range(3, 12))):
    """Error at T vs gradient evaluations for scipy's adaptive integrators.

    Parameters
    ----------
    model : Model
    y0 : array_like, one initial state
    T : float
    reference : ndarray
        The reference state at T, shape ``(1, state_dim)``.
    methods : sequence of str
        ``solve_ivp`` methods.  Radau and LSODA get the analytic Jacobian (Hessian-based)
        where the model has one; its evaluations are counted separately.
    rtols : sequence of float

    Returns
    -------
    list of WorkPoint
    """
    out = []
    for method in methods:
        for rtol in rtols:
            m, counts = count_gradient_calls(model)
            jac = getattr(m, "jac", None) if method in ("Radau", "BDF", "LSODA") and m.problem.hess_fn else None
            y = m.as_state(y0)
            tic = time.perf_counter()
            kw = {"jac": jac} if jac is not None else {}
            sol = solve_ivp(m.rhs, (0.0, T), y.ravel(), method=method, rtol=rtol, atol=rtol * 1e-3, **kw)
            sec = time.perf_counter() - tic
            if not sol.success:
                continue
            err = float(np.max(np.linalg.norm(
                model.position(sol.y[:, -1].reshape(y.shape)) - model.position(reference), axis=1)))
            out.append(WorkPoint(method, rtol, counts["grad"], counts["hess"], err, sec))
    return out
