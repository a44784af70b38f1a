"""Is a fitted order in the asymptotic regime?  Step ladders for any problem that start inside
the linear stability region, and the regime check every fitted order carries.

The stability limit of a scheme comes from its own definition (:func:`dynopt.symbolic.scheme_stability`):
ργ ≤ b for a Runge–Kutta scheme, ργ² ≤ b(λγ) for a momentum scheme, with ρ the largest Hessian
eigenvalue along the reference trajectory.
"""
from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import sympy as sp

from dynopt.analysis.orders import ConvergenceResult
from dynopt.analysis.reference import REFERENCE_RTOL, reference_solution
from dynopt.symbolic import scheme_stability
from dynopt.symbolic.stability import X_ODE

__all__ = ["RegimeCheck", "regime_check", "stability_limit", "max_curvature", "stable_ladder",
           "ComparisonResult", "SLOPE_TOLERANCE", "REFERENCE_FLOOR"]

#: local slopes between successive rungs may differ from the fit by this much
SLOPE_TOLERANCE = 0.2
#: errors below this are at the reference's accuracy (10 × the DOP853 rtol) and cannot be fitted
REFERENCE_FLOOR = 10 * REFERENCE_RTOL


@functools.lru_cache(maxsize=64)
def _bound(scheme):
    st = scheme_stability(scheme)
    return st.ode_variable, st.max_ode_variable


def stability_limit(scheme, rho: float, friction: float = 1.0):
    """Largest stable step γ for curvature ``rho`` > 0, from the scheme's stability analysis.

    Returns ``None`` when the scheme has no symbolic definition (no limit can be derived) or
    every step is stable.
    """
    if not rho > 0:
        return None
    try:
        var, bound = _bound(scheme)
    except (TypeError, ValueError, ArithmeticError):
        return None
    if bound == sp.oo:
        return None
    if var == "h*γ":
        return float(bound) / rho
    f = sp.lambdify(X_ODE, bound, "numpy")
    # ργ² ≤ b(λγ): the first failing step on a fine grid (b may have poles and sign changes,
    # which is why this is a scan and not a bisection)
    gam = np.geomspace(1e-4, 10.0, 4001) / math.sqrt(rho)
    with np.errstate(all="ignore"):
        b = np.broadcast_to(np.asarray(f(friction * gam), dtype=float), gam.shape)
        bad = ~(rho * gam ** 2 <= b)
    if not bad.any():
        return None
    k = int(np.argmax(bad))
    return float(gam[k - 1]) if k else float(gam[0])


def max_curvature(model, y0, T: float, n_times: int = 41) -> float:
    """Largest Hessian eigenvalue of the problem along the reference trajectory on [0, T]."""
    ts = np.linspace(0.0, T, n_times)
    ys, _ = reference_solution(model, y0, ts)
    pos = model.position(np.asarray(ys).reshape(n_times, -1))
    return float(np.max(np.linalg.eigvalsh(model.problem.hess(pos))))


def stable_ladder(scheme, rho: float, T: float, n_points: int = 6, safety: float = 0.25, n_min: int = 16,
                  friction: float = 1.0):
    """Step counts N_k = N_0·√2^k whose coarsest step is ``safety`` × the stability limit
    at curvature ``rho`` (see :func:`max_curvature`).

    Returns
    -------
    (list of int, float or None)
        The ladder and the stability limit of the step (``None``: no limit known).
    """
    limit = stability_limit(scheme, rho, friction)
    n0 = n_min if limit is None else max(n_min, int(math.ceil(T / (safety * limit))))
    return [int(round(n0 * 2 ** (k / 2))) for k in range(n_points)], limit


@dataclass(frozen=True)
class RegimeCheck:
    """Whether a fitted order is in the asymptotic regime.

    Attributes
    ----------
    ok : bool
        Local slopes agree with the fit within ``tolerance``, the fit agrees with the scheme's
        declared order within ``tolerance``, no rung beyond the stability limit, no error at the
        reference's accuracy and no diverged rung.
    local_slopes : list of float
        log(e_{k+1}/e_k)/log(h_{k+1}/h_k) between successive finished rungs.
    beyond_stability : list of float
        Steps larger than ``stability_limit``.
    stability_limit : float or None
    reasons : list of str
        Why the check failed (empty when ``ok``).
    """

    ok: bool
    local_slopes: list
    tolerance: float
    beyond_stability: list = field(default_factory=list)
    stability_limit: float | None = None
    reasons: list = field(default_factory=list)

    def as_dict(self):
        return {k: (round(v, 4) if isinstance(v, float) else
                    [round(x, 4) for x in v] if isinstance(v, list) and v and isinstance(v[0], float) else v)
                for k, v in asdict(self).items()}


def regime_check(result: ConvergenceResult, limit=None, tolerance: float = SLOPE_TOLERANCE) -> RegimeCheck:
    """The regime check of one convergence study (``limit``: largest stable step, if known)."""
    pts = [(h, e) for h, e in zip(result.steps, result.errors) if e is not None and e > 0]
    slopes = [math.log(e2 / e1) / math.log(h2 / h1) for (h1, e1), (h2, e2) in zip(pts, pts[1:])]
    reasons = []
    beyond = [float(h) for h in result.steps if limit is not None and h > limit]
    if beyond:
        reasons.append(f"{len(beyond)} rung(s) beyond the stability limit γ ≤ {limit:.3g}")
    if result.fit is None:
        reasons.append("no order fitted")
    elif slopes and max(abs(s - result.fit.order) for s in slopes) > tolerance:
        reasons.append(f"local slopes {[round(s, 2) for s in slopes]} differ from the fit "
                       f"{result.fit.order:.2f} by more than {tolerance:g}")
    declared = result.declared_order
    if result.fit is not None and declared is not None and abs(result.fit.order - declared) > tolerance:
        reasons.append(f"fit {result.fit.order:.2f} differs from the declared order {declared} by more than "
                       f"{tolerance:g} (pre-asymptotic ladder, or a wrong declaration)")
    if any(e < REFERENCE_FLOOR for _, e in pts):
        reasons.append(f"errors below {REFERENCE_FLOOR:g} (reference accuracy)")
    if result.diverged:
        reasons.append("diverged rungs")
    return RegimeCheck(not reasons, slopes, tolerance, beyond, limit, reasons)


@dataclass
class ComparisonResult(ConvergenceResult):
    """A :class:`~dynopt.analysis.orders.ConvergenceResult` with its :class:`RegimeCheck`;
    ``order`` is ``None`` in ``as_dict`` unless the check passed (the fit stays under
    ``order_outside_regime``)."""

    regime: RegimeCheck | None = None

    @classmethod
    def from_result(cls, res: ConvergenceResult, regime: RegimeCheck):
        return cls(**{k: getattr(res, k) for k in ConvergenceResult.__dataclass_fields__}, regime=regime)

    @property
    def in_regime(self) -> bool:
        return self.regime is not None and self.regime.ok

    def as_dict(self):
        d = super().as_dict()
        if self.regime is not None:
            d["regime"] = self.regime.as_dict()
            if not self.regime.ok:
                d["order_outside_regime"], d["order"] = d["order"], None
        return d
