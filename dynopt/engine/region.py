"""Divergence by region: where a path of a potential that is unbounded below has escaped.

The blow-up limit of :func:`dynopt.engine.validate.blowup_limit` (10^12 × the run's scale)
catches a discretization that explodes, but not a path that falls down a potential without
a floor: on L = −x⁴ + x² a path over the barrier at |x| = 1/√2 accelerates towards −∞ and
stays below 10^12 for a while, so it would be counted as a survivor and poison the
ensemble's mean.  For such a potential the run gets a region:

- ``floor``: a path whose potential has dropped below the lowest value of L at the start
  and at the problem's known minima by a large margin (:data:`MARGIN` × max(1, |L_ref|, kT))
  has left every basin it could have started in;
- ``radius``: the sup-norm radius (about the origin) at which, along the coordinate axes
  and the diagonals, L first reaches the floor; every state component beyond it counts as
  escaped.  Both backends get it through the scalar they already compare |y| with
  (``min(blowup, radius)``), so they flag the same paths at the same steps;
  :meth:`Region.escaped` (floor and radius) is the full rule, for a loop that evaluates L.

A potential bounded below (as far as the rays out to 10^8 × the run's scale tell: L must be
below the floor at the far end of some ray) gets no region and keeps the plain blow-up
rule, so a healthy run is never cut short, also on its way to a minimum far below the start.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["Region", "infer_region", "stability_warning", "StabilityWarning", "MARGIN", "REACH", "OVERDAMPED_LIMIT"]

#: a drop of L below its reference by MARGIN × max(1, |L_ref|, kT) counts as an escape
MARGIN = 1e3

#: rays are followed out to REACH × the run's scale to decide that L is unbounded below
REACH = 1e8


@dataclass(frozen=True)
class Region:
    """Where a run's paths may be: ``L(θ) ≥ floor`` and every state component within ``radius``.

    Parameters
    ----------
    floor : float
        The potential below which a path has escaped.
    radius : float
        The bound on |y| (every state component) implied by the floor.
    dim : int
        The number of position coordinates (the first ``dim`` state components).
    value : callable
        The problem's batched potential, ``(n, dim) → (n,)``.
    """

    floor: float
    radius: float
    dim: int
    value: object

    def escaped(self, y) -> np.ndarray:
        """Boolean mask of the rows of ``y`` (shape (n, state_dim)) outside the region
        (non-finite rows count as outside)."""
        y = np.asarray(y)
        out = ~(np.abs(y) <= self.radius).all(axis=1)
        inside = np.flatnonzero(~out)
        if inside.size:
            with np.errstate(all="ignore"):
                u = np.asarray(self.value(np.asarray(y[inside, : self.dim], float)), float).reshape(-1)
            out[inside] = ~(u >= self.floor)
        return out

    def describe(self) -> str:
        """One phrase for a run's note."""
        return f"left the region L ≥ {self.floor:.4g}, |y| ≤ {self.radius:.4g} (L is unbounded below)"


def _directions(d: int) -> np.ndarray:
    eye = np.eye(d)
    dirs = [eye, -eye]
    if d > 1:
        ones = np.ones(d) / np.sqrt(d)
        dirs.append(np.vstack([ones, -ones]))
    return np.vstack(dirs)


def _crossing(value, direction, radii, below, floor) -> float:
    """The radius along ``direction`` where L first drops below ``floor`` (bisection between the
    grid radii around the first one below)."""
    k = int(np.argmax(below))
    if k == 0:
        return float(radii[0])
    lo, hi = float(radii[k - 1]), float(radii[k])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        with np.errstate(all="ignore"):
            u = float(np.asarray(value((mid * direction)[None, :]), float).reshape(-1)[0])
        lo, hi = (mid, hi) if not u < floor else (lo, mid)
    return hi


def infer_region(model, y_init, temperature: Optional[float] = None) -> Optional[Region]:
    """The escape region of a run of ``model`` from ``y_init``, or None when none applies.

    Parameters
    ----------
    model : Model
        Its ``problem`` gives the potential (``value``) and known ``minima``; models without a
        problem, or a problem without a value, get None.
    y_init : array_like, shape (state_dim,) or (n_paths, state_dim)
    temperature : float, optional
        kT of the run (default: the model's ``temperature`` or σ²/2 when it has them).

    Returns
    -------
    Region or None
        None when L is bounded below along every probed ray out to :data:`REACH` × the run's
        scale (then the plain blow-up rule is the only one).
    """
    prob = getattr(model, "problem", None)
    if prob is None or not callable(getattr(prob, "value", None)):
        return None
    d = int(prob.dim)
    y = np.atleast_2d(np.asarray(y_init, float))
    starts = y[:, :d]
    if starts.shape[1] != d:
        return None
    pts = [starts]
    minima = getattr(prob, "minima", None)
    if minima is not None and np.size(minima):
        pts.append(np.atleast_2d(np.asarray(minima, float)).reshape(-1, d))
    ref_pts = np.vstack(pts)
    ref_pts = ref_pts[np.isfinite(ref_pts).all(axis=1)]
    try:
        with np.errstate(all="ignore"):
            u_ref = np.asarray(prob.value(ref_pts), float).reshape(-1)
    except Exception:  # noqa: BLE001 - a potential that cannot be evaluated in bulk gets no region
        return None
    u_ref = u_ref[np.isfinite(u_ref)]
    if not u_ref.size:
        return None
    l_ref = float(u_ref.min())
    if temperature is None:
        temperature = getattr(model, "temperature", None)
        if temperature is None and isinstance(getattr(model, "sigma", None), (int, float)):
            temperature = model.sigma ** 2 / 2
    kT = float(temperature) if temperature is not None and np.isfinite(temperature) else 0.0
    floor = l_ref - MARGIN * max(1.0, abs(l_ref), kT)
    scale = max(1.0, float(np.max(np.abs(ref_pts))) if ref_pts.size else 0.0)
    radii = scale * np.geomspace(1.0, REACH, 113)
    dirs = _directions(d)
    ray = (dirs[:, None, :] * radii[None, :, None]).reshape(-1, d)
    try:
        with np.errstate(all="ignore"):
            u = np.asarray(prob.value(ray), float).reshape(len(dirs), len(radii))
    except Exception:  # noqa: BLE001
        return None
    below = u < floor
    # a ray that dips below the floor and comes back (L = x² − 10⁶x) leads to a deep minimum,
    # not to −∞: only rays still below it at the far end count
    falling = below[:, -1]
    if not falling.any():
        return None
    first = min(_crossing(prob.value, d_, radii, row, floor)
                for d_, row in zip(dirs[falling], below[falling]))
    # every start and known minimum lies well inside
    radius = max(float(first), 2.0 * scale)
    return Region(floor=floor, radius=radius, dim=d, value=prob.value)


#: schemes whose step on dθ = −λθ dt (noise aside) is stable exactly for hλ < 2: Euler–Maruyama
#: and Milstein (1 − hλ), stochastic Heun (1 − hλ + (hλ)²/2), Leimkuhler–Matthews (1 − hλ)
OVERDAMPED_LIMIT = {"euler-maruyama": 2.0, "milstein": 2.0, "stochastic-heun": 2.0, "leimkuhler-matthews": 2.0}

#: steps of the linearised run that measures the growth of a scheme without a known limit
GROWTH_STEPS = 2000


def _curvature(prob, starts) -> float:
    """The largest Hessian eigenvalue of the potential over (up to 16 of) the start points."""
    hess = getattr(prob, "hess", None)
    if not callable(hess):
        return float("nan")
    pts = np.unique(np.atleast_2d(starts), axis=0)[:16]
    try:
        with np.errstate(all="ignore"):
            H = np.asarray(hess(pts), float).reshape(len(pts), prob.dim, prob.dim)
    except Exception:  # noqa: BLE001 - a problem without a usable Hessian gets no warning
        return float("nan")
    if not np.isfinite(H).all():
        return float("nan")
    return float(max(np.linalg.eigvalsh(0.5 * (h + h.T)).max() for h in H))


def stability_warning(model, scheme, y0, dt) -> Optional[str]:
    """A one-line warning when ``dt`` is beyond the linear stability limit of ``scheme`` at the
    start, else None.

    λ = the largest eigenvalue of ∇²L at the start point(s).  For the overdamped Langevin
    equation the schemes of :data:`OVERDAMPED_LIMIT` are unstable on the linearisation for
    h·λ ≥ 2; for any other scheme (Kramers schemes, a user's scheme) the scheme's own step
    is run without noise on L = λθ²/2 for :data:`GROWTH_STEPS` steps and a 10-fold growth
    of the state is reported.  Beyond the limit the deterministic part of every path grows
    geometrically near the start, so statistics are those of the instability, not the SDE.
    """
    from dynopt import dynamics
    from dynopt.problems import quadratic

    prob = getattr(model, "problem", None)
    if prob is None or not (isinstance(dt, (int, float)) and dt > 0):
        return None
    y = np.atleast_2d(np.asarray(y0, float))
    lam = _curvature(prob, y[:, : prob.dim])
    if not (np.isfinite(lam) and lam > 0):
        return None
    name = getattr(scheme, "name", scheme if isinstance(scheme, str) else type(scheme).__name__)
    if isinstance(model, dynamics.OverdampedLangevin) and name in OVERDAMPED_LIMIT:
        limit = OVERDAMPED_LIMIT[name]
        if dt * lam >= limit:
            return (f"`dt` = {dt:g} is beyond the linear stability limit of {name} at the start: "
                    f"h·λ_max(∇²L(x₀)) = {dt * lam:.4g} ≥ {limit:g} (λ_max = {lam:.4g}); the run measures the "
                    f"instability, not the SDE: take dt < {limit / lam:.4g}")
        return None
    if isinstance(model, dynamics.OverdampedLangevin):
        lin, start = dynamics.OverdampedLangevin(quadratic([[lam]]), 0.0), [1.0]
    elif isinstance(model, dynamics.Kramers):
        lin, start = dynamics.Kramers(quadratic([[lam]]), model.friction, 0.0), [1.0, 0.0]
    else:
        return None
    from dynopt.engine.ensemble import EnsembleOptions, simulate

    try:
        r = simulate(lin, scheme, (0.0, GROWTH_STEPS * dt), start, dt, n_paths=1, seed=0, backend="numpy",
                     options=EnsembleOptions(progress=False))
    except (ValueError, TypeError):
        return None
    grown = r.n_diverged > 0 or not (np.abs(r.y_final) <= 10.0).all()
    if grown:
        return (f"`dt` = {dt:g} is beyond the linear stability limit of {name} at the start: without noise its "
                f"step grows the state on L = λθ²/2 with λ = λ_max(∇²L(x₀)) = {lam:.4g} (h·λ = {dt * lam:.4g}); "
                f"the run measures the instability, not the SDE: take a smaller dt")
    return None


class StabilityWarning(UserWarning):
    """A step beyond the scheme's linear stability limit at the start of a run."""
