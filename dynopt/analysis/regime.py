"""Is a fitted order in the asymptotic regime?  Step ladders for any problem that start inside
the linear stability region, and the regime check every fitted order carries.

The stability limit of a scheme comes from its own definition (:func:`dynopt.symbolic.scheme_stability`):
ργ ≤ b for a Runge–Kutta scheme, ργ² ≤ b(λγ) for a momentum scheme, with ρ the largest Hessian
eigenvalue along the reference trajectory.
"""
from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import sympy as sp

from dynopt.analysis.orders import MIN_FIT_POINTS, ConvergenceResult, OrderFit, fit_order
from dynopt.analysis.reference import REFERENCE_RTOL, reference_solution
from dynopt.symbolic import scheme_stability
from dynopt.symbolic.sde_steps import stationary_variance
from dynopt.symbolic.standins import friction, noise_sigma, step_symbol, stiffness
from dynopt.symbolic.stability import X_ODE

__all__ = ["StationaryBias", "stationary_bias", "RegimeCheck", "regime_check", "stability_limit", "max_curvature", "stable_ladder",
           "ComparisonResult", "SLOPE_TOLERANCE", "ASYMPTOTIC_TOLERANCE", "REFERENCE_FLOOR", "FIT_FLOOR",
           "fastest_rate", "default_horizon", "HORIZON_FACTOR", "MIN_TAIL_SLOPES", "trend_interval",
           "step_scales", "stationary_step_hint"]

#: a fitted order may differ from the declared one by this much
SLOPE_TOLERANCE = 0.2
#: the last local slopes of an asymptotic ladder agree with each other and with the fit this well
ASYMPTOTIC_TOLERANCE = 0.05
#: trailing local slopes that must agree for a ladder to count as asymptotic
MIN_TAIL_SLOPES = 3
#: errors below this are at the reference's accuracy (10 × the DOP853 rtol) and cannot be fitted
REFERENCE_FLOOR = 10 * REFERENCE_RTOL
#: errors below this are left out of the asymptotic fit (and drawn as a band in figures): the
#: reference's own error would bend the local slopes
FIT_FLOOR = REFERENCE_FLOOR
#: the default horizon is this many of the fastest time scales 1/ρ at the start
HORIZON_FACTOR = 2.0


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
    except (TypeError, ValueError, ArithmeticError, NotImplementedError):
        return None  # e.g. a scheme of a model the symbolic stand-ins do not read
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


def fastest_rate(model, y0) -> float:
    """Spectral radius ρ of the Jacobian of the model's vector field at ``y0`` (1/ρ is its
    fastest time scale): the largest |Hessian eigenvalue| for gradient flow, about √ρ_L or λ
    for the damped system."""
    y = np.asarray(model.as_state(y0), float)[:1]
    jac = getattr(model, "jac", None)
    if jac is not None and getattr(model.problem, "hess_fn", None) is not None:
        J = np.asarray(jac(0.0, y.ravel()), float)
    else:  # central differences of the drift, one column per state component
        n = y.size
        eps = 1e-6 * max(1.0, float(np.max(np.abs(y))))
        J = np.empty((n, n))
        for k in range(n):
            e = np.zeros(n)
            e[k] = eps
            J[:, k] = (model.rhs(0.0, y.ravel() + e) - model.rhs(0.0, y.ravel() - e)) / (2 * eps)
    J = J.toarray() if hasattr(J, "toarray") else J
    if not np.all(np.isfinite(J)):
        raise ValueError(f"`x0`: the Jacobian of {model.name} is not finite at the start {y.ravel().tolist()}")
    return float(np.max(np.abs(np.linalg.eigvals(J))))


def default_horizon(model, y0, cap: float = 1.0, factor: float = HORIZON_FACTOR) -> float:
    """A horizon T = ``factor``/ρ (ρ from :func:`fastest_rate` at the start), at most ``cap``.

    A few of the fastest time scales: long enough that the stiff modes are resolved and the
    global error is dominated by the scheme's leading term, short enough that the flow has not
    yet settled into a minimum, where every error would sink to the reference's floor.
    """
    rho = fastest_rate(model, y0)
    return float(cap) if not rho > factor / cap else float(factor / rho)


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
        The last local slopes agree with each other and with the asymptotic fit within
        ``settle_tolerance``; that fit agrees with the declared order within ``tolerance`` and
        its interval (:func:`trend_interval`) contains it; no rung beyond
        the stability limit, no diverged rung.
    local_slopes : list of float
        log(e_{k+1}/e_k)/log(h_{k+1}/h_k) between successive finished rungs above the floor.
    tolerance : float
    beyond_stability : list of float
        Steps larger than ``stability_limit``.
    stability_limit : float or None
    reasons : list of str
        Why the check failed (empty when ``ok``).
    asymptotic_fit : OrderFit or None
        The order fitted through the asymptotic rungs only (the longest tail of the ladder whose
        local slopes agree within ``settle_tolerance``; at least 3 rungs).
    asymptotic_steps : list of float
        The steps of those rungs.
    settled_elsewhere : float or None
        The order the last three local slopes settled on (within ``settle_tolerance``) when it
        differs from the declared order by more than ``tolerance``: more rungs will not help.
    at_floor : list of float
        Steps whose error lies below the reference's floor :data:`FIT_FLOOR` (left out of the fit).
    """

    ok: bool
    local_slopes: list
    tolerance: float
    beyond_stability: list = field(default_factory=list)
    stability_limit: float | None = None
    reasons: list = field(default_factory=list)
    asymptotic_fit: OrderFit | None = None
    asymptotic_steps: list = field(default_factory=list)
    settled_elsewhere: float | None = None
    at_floor: list = field(default_factory=list)
    settle_tolerance: float = ASYMPTOTIC_TOLERANCE

    def as_dict(self):
        d = {k: (round(v, 4) if isinstance(v, float) else
                 [round(x, 4) for x in v] if isinstance(v, list) and v and isinstance(v[0], float) else v)
             for k, v in asdict(self).items() if k != "asymptotic_fit"}
        f = self.asymptotic_fit
        d["asymptotic_fit"] = None if f is None else {"order": round(f.order, 4), "ci": [round(c, 4) for c in f.ci],
                                                      "n": f.n}
        d["asymptotic_steps"] = [float(f"{h:.6g}") for h in self.asymptotic_steps]
        return d


def _slopes(pts):
    return [math.log(e2 / e1) / math.log(h2 / h1) for (h1, e1), (h2, e2) in zip(pts, pts[1:])]


def _asymptotic_tail(pts, slopes, settle):
    """Number of trailing local slopes that agree with each other within ``settle`` (0: none):
    successive slopes differ by at most ``settle`` and every one lies within ``settle`` of the
    order fitted through the same rungs.

    At least :data:`MIN_TAIL_SLOPES` of them (two on a ladder with only three rungs): two
    slopes that happen to agree on a slowly bending curve are not yet a regime.
    """
    k = 0
    for j in range(len(slopes) - 2, -1, -1):
        tail = slopes[j:]
        if abs(tail[1] - tail[0]) > settle:
            break
        p = fit_order(*zip(*pts[j:])).order
        if max(abs(s - p) for s in tail) > settle:
            break
        k = len(tail)
    return k if k >= min(MIN_TAIL_SLOPES, max(len(slopes), MIN_FIT_POINTS - 1)) else 0


def regime_check(result: ConvergenceResult, limit=None, tolerance: float = SLOPE_TOLERANCE,
                 settle_tolerance: float = ASYMPTOTIC_TOLERANCE) -> RegimeCheck:
    """The regime check of one convergence study (``limit``: largest stable step, if known).

    The ladder is read from the fine end: rungs below the reference's floor are
    left out; the asymptotic rungs are the longest tail whose local slopes agree within
    ``settle_tolerance`` with each other and with the fit through them (at least
    :data:`MIN_TAIL_SLOPES` slopes), and the order is fitted through them only, so that a
    pre-asymptotic trend in the coarse rungs cannot bias it; its interval is the regression's
    confidence interval widened to the limit the slopes trend to (:func:`trend_interval`), and
    must hold the declared order.  When at least three slopes have settled more than
    ``tolerance`` away from the declared order, ``settled_elsewhere`` says so: a finer ladder
    will not change the verdict.
    """
    finished = sorted(((h, e) for h, e in zip(result.steps, result.errors) if e is not None and e > 0),
                      reverse=True)  # coarse to fine
    at_floor = [float(h) for h, e in finished if e < FIT_FLOOR]
    pts = [(h, e) for h, e in finished if e >= FIT_FLOOR]
    slopes = _slopes(pts)
    reasons = []
    beyond = [float(h) for h in result.steps if limit is not None and h > limit]
    if beyond:
        reasons.append(f"{len(beyond)} rung(s) beyond the stability limit γ ≤ {limit:.3g}")
    k = _asymptotic_tail(pts, slopes, settle_tolerance)
    fit, steps, elsewhere = None, [], None
    declared = result.declared_order
    if k:
        tail = pts[-(k + 1):]
        fit = fit_order(*zip(*tail))
        fit = replace(fit, ci=trend_interval(slopes[-k:], fit.ci))
        steps = [float(h) for h, _ in tail]
        off = max(abs(s - fit.order) for s in slopes[-k:])
        if off > settle_tolerance:
            reasons.append(f"asymptotic local slopes {[round(s, 3) for s in slopes[-k:]]} differ from their fit "
                           f"{fit.order:.3f} by more than {settle_tolerance:g}")
        if declared is not None and k >= 3 and abs(fit.order - declared) > tolerance:
            elsewhere = fit.order
    elif len(pts) >= MIN_FIT_POINTS:
        reasons.append(f"local slopes {[round(s, 2) for s in slopes[-3:]]} at the fine end still differ by more "
                       f"than {settle_tolerance:g}: not yet asymptotic")
    else:
        reasons.append(f"no order fitted: {len(pts)} rung(s) with an error above {FIT_FLOOR:g}"
                       + (f" ({len(at_floor)} at the reference's floor)" if at_floor else ""))
    if fit is not None and declared is not None:
        lo, hi = fit.ci
        if abs(fit.order - declared) > tolerance:
            reasons.append(f"asymptotic order {fit.order:.2f} differs from the declared order {declared} by more "
                           f"than {tolerance:g}" + (" (consistent with order "
                                                    f"{_nearest(fit.order)} of another equation than "
                                                    f"{result.ode}?)" if elsewhere is not None else
                                                    " (pre-asymptotic ladder, or a wrong declaration)"))
        elif not lo <= declared <= hi:
            reasons.append(f"the interval [{lo:.3f}, {hi:.3f}] of the asymptotic order (its {fit.confidence:.0%} "
                           f"confidence interval and the limit its local slopes trend to) excludes the declared "
                           f"order {declared}: the ladder is not yet asymptotic, or the declaration is wrong")
    if result.diverged:
        reasons.append("diverged rungs")
    return RegimeCheck(not reasons, slopes, tolerance, beyond, limit, reasons, fit, steps, elsewhere, at_floor,
                       settle_tolerance)


def trend_interval(slopes, ci) -> tuple:
    """An interval for the order that also covers where the local slopes are heading.

    A regression through a ladder whose local slopes still drift has a confidence interval
    that ignores the drift.  When the last three slopes move monotonically with shrinking
    differences (ratio r in (0, 1), as for a correction term of a higher power of the step),
    their limit is extrapolated geometrically, s_last + d_last·r/(1 − r), with the last
    difference |d_last| as its own uncertainty; the interval returned holds ``ci``, every slope
    of the tail and that extrapolated range.  Without such a trend it holds ``ci`` and the slopes.
    """
    lo, hi = min(ci[0], *slopes), max(ci[1], *slopes)
    if len(slopes) >= 3:
        d1, d2 = slopes[-2] - slopes[-3], slopes[-1] - slopes[-2]
        if d1 * d2 > 0 and abs(d2) < abs(d1):
            r = d2 / d1
            limit = slopes[-1] + d2 * r / (1 - r)
            lo, hi = min(lo, limit - abs(d2)), max(hi, limit + abs(d2))
    return float(lo), float(hi)


def _nearest(p: float) -> str:
    """An order as a person would name it: the nearest half-integer, ≥ 0."""
    q = max(0.0, round(2 * p) / 2)
    return f"{q:g}"


@dataclass
class ComparisonResult(ConvergenceResult):
    """A :class:`~dynopt.analysis.orders.ConvergenceResult` with its :class:`RegimeCheck`;
    ``fit`` is the fit through the asymptotic rungs (``regime.asymptotic_steps``) when there are
    any, and ``order`` is ``None`` in ``as_dict`` unless the check passed (the fit stays under
    ``order_outside_regime``)."""

    regime: RegimeCheck | None = None

    @classmethod
    def from_result(cls, res: ConvergenceResult, regime: RegimeCheck):
        """``res`` with its check; the reported fit is the one through the asymptotic rungs when
        there are any (the fit through all finished rungs otherwise)."""
        fields = {k: getattr(res, k) for k in ConvergenceResult.__dataclass_fields__}
        if regime.asymptotic_fit is not None:
            fields["fit"] = regime.asymptotic_fit
        return cls(**fields, regime=regime)

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


@dataclass(frozen=True)
class StationaryBias:
    """A scheme's stationary position-variance bias on the OU test equation (``"langevin"``) or on
    harmonic Kramers, read from its step (:func:`dynopt.symbolic.sde_steps.stationary_variance`).

    Attributes
    ----------
    order : int or None
        The lowest power of h in variance/exact − 1 (None: the chain is exact on quadratics).
    variance, exact : sympy.Expr
        The chain's stationary position variance and the model's.
    """

    order: object
    variance: object
    exact: object

    def ratio(self, dt: float, curvature: float) -> float:
        """variance/exact at the step ``dt`` on L = curvature·θ²/2 (σ = 1, friction 1)."""
        vals = {step_symbol: dt, stiffness: curvature, noise_sigma: 1.0, friction: 1.0}
        value = sp.N((self.variance / self.exact).subs(vals))
        # at the stability limit the chain has no stationary law: sympy gives ∞ or zoo there
        return float(value) if value.is_real and value.is_finite else math.inf


@functools.lru_cache(maxsize=64)
def stationary_bias(scheme, model: str = "langevin"):
    """The :class:`StationaryBias` of ``scheme`` (a registered name or a scheme class), or None
    when its step cannot be read on the test model (then nothing is claimed about its bias)."""
    try:
        r = stationary_variance(scheme, "ou" if model == "langevin" else "kramers")
    except Exception:  # noqa: BLE001 - a step the reader cannot take: no claim, not an error
        return None
    var, exact = (r.variance, r.exact) if r.model == "ou" else (r.variance[0], r.exact[0])
    rel = sp.series(sp.simplify(var / exact - 1), step_symbol, 0, 4).removeO()
    order = next((p for p in (1, 2, 3) if sp.simplify(rel.coeff(step_symbol, p)) != 0), None)
    if order is None and sp.simplify(var - exact) != 0:
        order = 4
    return StationaryBias(order, var, exact)


def _normal_cdf(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x, float) / math.sqrt(2.0)))


def step_scales(problem, x0, dt: float, model: str = "langevin") -> dict:
    """The step against the problem's fastest scale at the start: ``dt_lambda_max`` = dt·λ_max of
    the Hessian at ``x0`` (overdamped Langevin; Euler–Maruyama is stable for dt·λ < 2 and its
    stationary variance along an eigendirection is inflated by 1/(1 − dtλ/2)), or dt·√λ_max for
    the Kramers equation (``dt_omega_max``)."""
    lam = float(np.max(np.linalg.eigvalsh(problem.hess(np.asarray(x0, float).reshape(1, -1)))))
    out = {"lambda_max": lam}
    if model == "kramers":
        out["dt_omega_max"] = float(dt * math.sqrt(max(lam, 0.0)))
    else:
        out["dt_lambda_max"] = float(dt * lam)
    return out


def stationary_step_hint(scheme: str, model: str, dt: float, T: float, scales: dict, ks: list, n: int,
                         level: float = 0.01):
    """Why a stationary test may have rejected, and what would remove it (``None`` when every
    coordinate passes at ``level``).

    The step's share is estimated from a harmonic picture at the start: Euler–Maruyama inflates
    the stationary variance along the stiffest direction by ε = (dtλ_max/2)/(1 − dtλ_max/2) (the
    exact factor of its Ornstein–Uhlenbeck chain), which moves a normal distribution function by
    max_x Φ(x) − Φ(x/√(1+ε)) (≈ 0.121·ε) in Kolmogorov–Smirnov distance.  When that is at
    least half the observed KS distance the step bias is named as the likely cause (with a
    scheme without O(h) stationary bias, or dt/4); otherwise the run most likely has not reached
    stationarity (a longer T), which no step change will remove.

    Parameters
    ----------
    ks : list of (statistic, pvalue)
        Per position coordinate.
    n : int
        Paths tested.
    """
    rejected = [(s, p) for s, p in ks if p < level]
    if not rejected:
        return None
    worst = max(s for s, _ in rejected)
    better = "leimkuhler-matthews" if model == "langevin" else "baoab"
    bias = stationary_bias(scheme, model)
    if bias is not None and bias.order is not None and model == "langevin":
        ratio = bias.ratio(dt, scales["dt_lambda_max"] / dt)
        if not (math.isfinite(ratio) and ratio > 0):
            return (f"step bias is the likely cause: dt·λ_max = {scales['dt_lambda_max']:.3g} at the start is beyond "
                    f"{scheme}'s stability limit; use --dt {dt / 4:g} or smaller")
        eps = ratio - 1.0  # the scheme's own OU chain: its variance over σ²/(2λ)
        x = np.linspace(0.0, 8.0, 4001)
        predicted = float(np.max(np.abs(_normal_cdf(x) - _normal_cdf(x / math.sqrt(ratio)))))
        if predicted >= 0.5 * worst:
            cure = (f"use --scheme {better} (O(dt²) stationary bias, none on quadratics) or --dt {dt / 4:g}"
                    if bias.order == 1 else f"use --dt {dt / 4:g}")
            return (f"step bias is the likely cause: dt·λ_max = {scales['dt_lambda_max']:.3g} at the start, so "
                    f"{scheme} {'inflates' if eps > 0 else 'shrinks'} the stationary variance by ≈ {abs(eps):.1%} "
                    f"(an O(dt^{bias.order}) bias read from its step; KS ≈ {predicted:.3f} of the observed "
                    f"{worst:.3f}); {cure}")
        return (f"step bias is unlikely to explain it: dt·λ_max = {scales['dt_lambda_max']:.3g} at the start "
                f"accounts for KS ≈ {predicted:.4f} of the observed {worst:.3f} (n = {n}); the ensemble has "
                f"most likely not reached the stationary law by T = {T:g} (slow barrier crossings): try "
                f"--T {4 * T:g}")
    if bias is not None and bias.order == 1:
        return (f"dt·√λ_max = {scales.get('dt_omega_max', float('nan')):.3g} at the start; {scheme} has an O(dt) "
                f"stationary bias on the Kramers equation: use --scheme {better} or --dt {dt / 4:g}, and if the "
                f"rejection stays, a longer run (--T {4 * T:g}): the ensemble may not be stationary yet")
    if bias is None:
        return (f"the stationary bias of {scheme} could not be read from its step; if a smaller --dt does not "
                f"remove the rejection, the ensemble has most likely not reached the stationary law by T = {T:g}: "
                f"try --T {4 * T:g}")
    return (f"{scheme} has no O(dt) stationary bias on quadratics, so the step is an unlikely cause "
            f"(dt·λ_max = {scales.get('dt_lambda_max', scales.get('dt_omega_max', float('nan'))):.3g}); the "
            f"ensemble has most likely not reached the stationary law by T = {T:g}: try --T {4 * T:g}")
