"""Empirical convergence orders and convergence studies against scipy references."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy import stats

from .dynamics import Model
from .integrate import integrate
from .reference import reference_solution
from .schemes import get_scheme

__all__ = ["OrderFit", "fit_order", "ConvergenceResult", "convergence_study", "global_error"]


@dataclass(frozen=True)
class OrderFit:
    """Slope of log(error) against log(step) by least squares (``scipy.stats.linregress``).

    Attributes
    ----------
    order : float
        The fitted slope.
    ci : (float, float)
        Confidence interval of the slope (Student t, n − 2 degrees of freedom).
    stderr, intercept, rvalue : float
    n : int
        Points used.
    """

    order: float
    ci: tuple
    stderr: float
    intercept: float
    rvalue: float
    n: int
    confidence: float = 0.95


def fit_order(steps, errors, confidence: float = 0.95) -> OrderFit:
    """Fit error ≈ C·step^p on a log–log scale.

    Parameters
    ----------
    steps, errors : array_like, same length ≥ 3, all > 0 and finite.
    confidence : float in (0, 1)

    Raises
    ------
    ValueError
        Fewer than 3 points, or a non-positive / non-finite value.
    """
    h = np.asarray(steps, dtype=float)
    e = np.asarray(errors, dtype=float)
    if h.shape != e.shape or h.ndim != 1:
        raise ValueError(f"`steps` and `errors` must be 1-D of equal length; got {h.shape} and {e.shape}")
    if h.size < 3:
        raise ValueError(f"need at least 3 (step, error) points to fit an order; got {h.size}")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(e)) and np.all(h > 0) and np.all(e > 0)):
        raise ValueError("`steps` and `errors` must be finite and > 0")
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence}")
    res = stats.linregress(np.log(h), np.log(e))
    tq = stats.t.ppf(0.5 + confidence / 2, h.size - 2)
    half = tq * res.stderr
    return OrderFit(float(res.slope), (float(res.slope - half), float(res.slope + half)),
                    float(res.stderr), float(res.intercept), float(res.rvalue), int(h.size), confidence)


def global_error(model: Model, y_num, y_ref) -> float:
    """Largest Euclidean error of the positions θ over the paths."""
    return float(np.max(np.linalg.norm(model.position(y_num) - model.position(y_ref), axis=-1)))


@dataclass
class ConvergenceResult:
    """Global error at time T for a ladder of steps and the fitted order.

    ``errors[i]`` is None when the run with ``steps[i]`` diverged; ``diverged`` maps
    such steps to the step index at which they did.  Diverged runs are never fitted.
    """

    problem: str
    scheme: str
    ode: str
    T: float
    steps: list
    errors: list
    grad_evals: list
    fit: Optional[OrderFit]
    reference: str
    declared_order: Optional[int] = None
    start: Optional[str] = None
    diverged: dict = field(default_factory=dict)
    note: str = ""

    def as_dict(self):
        d = {
            "problem": self.problem, "scheme": self.scheme, "ode": self.ode, "T": self.T,
            "order": None if self.fit is None else round(self.fit.order, 4),
            "order_ci": None if self.fit is None else [round(self.fit.ci[0], 4), round(self.fit.ci[1], 4)],
            "declared_order": self.declared_order,
            "start": self.start,
            "steps": [float(s) for s in self.steps],
            "errors": [None if e is None else float(f"{e:.6e}") for e in self.errors],
            "grad_evals": self.grad_evals,
            "reference": self.reference,
            "diverged": {f"{k:g}": v for k, v in self.diverged.items()},
        }
        if self.note:
            d["note"] = self.note
        return d


def convergence_study(model: Model, scheme, y0, T: float, n_steps_ladder, reference=None,
                      problem_name: str | None = None) -> ConvergenceResult:
    """Global error at time T against a scipy reference for a ladder of step counts.

    Parameters
    ----------
    model : Model
    scheme : str or Scheme
    y0 : array_like
        Initial state(s) of the model.
    T : float
        Final ODE time.
    n_steps_ladder : sequence of int
        Numbers of steps N; the steps are T/N.
    reference : ndarray, optional
        Reference state at T (computed with :func:`reference_solution` when omitted).

    Returns
    -------
    ConvergenceResult
    """
    sch = get_scheme(scheme)
    sch.check_model(model)
    ref_kind = "given"
    if reference is None:
        reference, ref_kind = reference_solution(model, y0, [T])
        reference = reference[0]
    steps, errors, evals, diverged = [], [], [], {}
    for n in n_steps_ladder:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n_steps_ladder` entries must be positive integers; got {n!r}")
        dt = T / n
        sol = integrate(model, get_scheme(scheme) if isinstance(scheme, str) else sch, (0.0, T), y0, dt)
        steps.append(dt)
        evals.append(sol.grad_evals)
        if sol.diverged:
            errors.append(None)
            diverged[dt] = sol.diverged_step
        else:
            errors.append(global_error(model, sol.y_final, reference))
    ok = [(h, e) for h, e in zip(steps, errors) if e is not None and e > 0]
    note = ""
    fit = None
    if len(ok) >= 3:
        fit = fit_order(*zip(*ok))
    else:
        note = f"only {len(ok)} of {len(steps)} runs finished: no order fitted"
    if diverged:
        note = (note + "; " if note else "") + "diverged runs (step → step index): " + \
            ", ".join(f"{h:g} → {k}" for h, k in diverged.items())
    return ConvergenceResult(
        problem=problem_name or model.problem.name, scheme=sch.name, ode=model.name, T=float(T),
        steps=steps, errors=errors, grad_evals=evals, fit=fit, reference=ref_kind,
        declared_order=sch.order, start=getattr(sch, "start", None), diverged=diverged, note=note)
