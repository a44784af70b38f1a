"""Periodic orbits of heavy-ball iterations (Lessard, Recht & Packard 2016): refine a cycle by
Newton's method and classify where starting points end up.
"""
from __future__ import annotations


from dataclasses import dataclass
import numpy as np
from dynopt.checks import check_int
from dynopt.dynamics import Model
from dynopt.engine import integrate
from dynopt.problems import Problem

__all__ = ["Cycle", "refine_cycle", "classify_orbits"]

#: bytes of saved trajectory per integrate call of :func:`classify_orbits`
_SAVED_BYTES = 2 ** 26


# ---------------------------------------------------------------------------------------
# Lessard–Recht–Packard: cycles of a two-step method on a 1-D function
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cycle:
    """A periodic orbit of heavy ball z = (x_{k−1}, x_k) ↦ (x_k, x_{k+1}).

    Attributes
    ----------
    period : int
    points : ndarray, shape (period,)
        The iterates x_k around the cycle, starting from the smallest.
    multipliers : ndarray, shape (2,)
        Eigenvalues of the Jacobian of the period map (stable if all |·| < 1).
    residual : float
        max |F^p(z) − z| after refinement.
    """

    period: int
    points: np.ndarray
    multipliers: np.ndarray
    residual: float

    @property
    def stable(self) -> bool:
        return bool(np.all(np.abs(self.multipliers) < 1))


def _hb_map(problem, alpha, beta, z):
    xp, x = z
    return np.array([x, x + beta * (x - xp) - alpha * problem.grad(np.array([x]))[0]])


def refine_cycle(problem: Problem, alpha, beta, z0, period: int, tol=1e-13, max_iter=50) -> Cycle:
    """Newton's method on F^p(z) = z for heavy ball x_{k+1} = x_k + β(x_k − x_{k−1}) −
    α f'(x_k) on a 1-D ``problem`` (with Hessian), from a point ``z0`` = (x_{k−1}, x_k)
    near the cycle.  For a piecewise-linear f' it lands on the exact cycle in one step
    once the itinerary is right.

    Raises
    ------
    RuntimeError
        If Newton does not converge to ``tol``.
    """
    if problem.dim != 1 or problem.hess_fn is None:
        raise ValueError("`problem` must be 1-D with a Hessian")
    check_int(period, "period")
    check_int(max_iter, "max_iter")
    z = np.asarray(z0, float).reshape(2)
    for _ in range(max_iter):
        J = np.eye(2)
        w = z.copy()
        for _k in range(period):
            hx = problem.hess(np.array([w[1]]))[0, 0]
            Jk = np.array([[0.0, 1.0], [-beta, 1 + beta - alpha * hx]])
            J = Jk @ J
            w = _hb_map(problem, alpha, beta, w)
        F = w - z
        if np.max(np.abs(F)) <= tol * (1 + np.max(np.abs(z))):
            pts = [z[1]]
            w = z.copy()
            for _k in range(period - 1):
                w = _hb_map(problem, alpha, beta, w)
                pts.append(w[1])
            pts = np.array(pts)
            pts = np.roll(pts, -int(np.argmin(pts)))
            return Cycle(int(period), pts, np.linalg.eigvals(J), float(np.max(np.abs(F))))
        z = z - np.linalg.solve(J - np.eye(2), F)
    raise RuntimeError(f"Newton on the period-{period} map did not converge (|F| = {np.max(np.abs(F)):.3g})")


def classify_orbits(model: Model, scheme, dt, starts, n_steps=3000, max_period=12, conv_tol=1e-10,
                    cycle_tol=1e-9):
    """Run ``scheme`` on a 1-D ``model`` from rest at each start and classify the orbit.

    The iterates come from :func:`dynopt.engine.integrate`; a run stops at the first
    blow-up of any path, so the starts that blew up (``Solution.diverged_paths``, by the
    engine's rule: non-finite or above ``Solution.blowup_limit``, 10^12 × the largest of 1,
    |x_0| and |x*|) are labelled diverged and the others run again (the paths are
    independent, so their iterates are the same).  The rows are singled out with the limit
    the run itself used: a second test with another bound would disagree with it.  A
    start labelled diverged is a runaway orbit, not a large cycle: a converging or cycling
    orbit of these iterations stays within a modest factor of its start and x*, while one
    that has left that region by 10^12 grows geometrically from then on.

    Returns
    -------
    labels : ndarray of int, shape (n,)
        0 converged to x* (|x_N − x*| ≤ conv_tol·max(1, |x_0 − x*|)), p ≥ 1 a cycle of
        period p (|x_{N−j} − x_{N−j−p}| ≤ cycle_tol for j < p), −1 diverged, −2
        undetermined.
    tails : ndarray, shape (n, 2·max_period)
        The last iterates (for refining a cycle); NaN for diverged starts.
    """
    starts = np.asarray(starts, float).reshape(-1, 1)
    if model.d != 1:
        raise ValueError("`model` must be 1-D")
    K = 2 * max_period
    check_int(n_steps, "n_steps", low=K)  # two of the longest periods to compare
    tails = np.full((starts.shape[0], K), np.nan)
    diverged = np.zeros(starts.shape[0], bool)
    # integrate keeps every saved state: cut the starts so a chunk's trajectory stays small
    chunk = max(1, _SAVED_BYTES // (8 * model.state_dim * (n_steps + 1)))
    for lo in range(0, starts.shape[0], chunk):
        todo = np.arange(lo, min(lo + chunk, starts.shape[0]))
        while todo.size:
            sol = integrate(model, scheme, (0.0, n_steps * dt), starts[todo], dt, save_every=1)
            if sol.diverged_step is None:
                tails[todo] = model.position(sol.y[-K:])[:, :, 0].T
                break
            bad = sol.diverged_paths
            diverged[todo[bad]] = True
            todo = todo[~bad]
    xstar = model.problem.minima[0, 0] if model.problem.minima is not None else 0.0
    labels = np.full(starts.shape[0], -2)
    last = tails[:, -1]
    conv = np.abs(last - xstar) <= conv_tol * np.maximum(1.0, np.abs(starts[:, 0] - xstar))
    labels[conv] = 0
    for p in range(1, max_period + 1):
        undecided = labels == -2
        if not undecided.any():
            break
        ok = np.all(np.abs(tails[:, K - p:] - tails[:, K - 2 * p:K - p]) <= cycle_tol, axis=1)
        labels[undecided & ok] = p
    labels[diverged] = -1
    return labels, tails
