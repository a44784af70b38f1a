"""First passage of an ensemble across a level: passage steps and times, absorption (a path stops
when it passes, and the work follows the survivors), the check at t₀, censoring of blown-up paths and
the Brownian-bridge crossing probability between grid points for additive noise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from dynopt.checks import check_int
from dynopt.engine.observers import Observer
from dynopt.engine.targets import Level, Target, as_target

__all__ = ["FirstPassage", "FirstPassageResult"]


class FirstPassage(Observer):
    """First step at which each path satisfies a condition (checked every ``every`` steps,
    from the initial state on).

    Parameters
    ----------
    condition : callable, Target or (coord, level, side)
        ``condition(y) -> bool (n,)`` on states; a :class:`~dynopt.engine.targets.Target`
        (:class:`~dynopt.engine.targets.Level`, :class:`~dynopt.engine.targets.Ball`,
        :class:`~dynopt.engine.targets.Region`: compiled into the kernels); or a tuple
        meaning component ``coord`` ``>= level`` (side "above") or ``<= level`` (side
        "below"), the same as ``Level(coord, level, side == "above")``.
    every : int
        Resolution of the recorded time, in steps.
    absorb : bool or "survivors"
        Stop a path once it has passed (every absorbing observer of a run must have seen
        it pass): the engine stops stepping it.  Its final state is the state at which it
        passed; other observers leave it out from then on.  With ``True`` every path sees
        the random numbers of a run without absorption (same passage times, bit for bit),
        so the normals are still drawn for whole blocks; with ``"survivors"`` a block draws
        only for its paths not yet absorbed, so the cost follows the survivors — the
        survivors then see other (equally distributed) numbers than without absorption.
        Both are invariant to the chunk size and the executor.
    bridge : float, optional
        The noise amplitude g of the observed component (additive noise, dX = f dt + g dW;
        level and ball targets only).  Between two checks at which the path is outside the
        target, it may have crossed and come back: the Brownian-bridge crossing
        probability h = exp(−2 d₀ d₁ / (g² Δt)) (d = signed distances to the target, Δt the time
        between checks) is recorded as a fractional passage of the path's remaining
        weight, at the midpoint of the interval; the path's weight then shrinks by
        (1 − h).  This removes the O(√Δt) delay of detection on a grid and needs no extra
        random numbers.  Definite passages are then also timed at the interval midpoint.
        Exact for a level (a half-space); for a ball the tangent-plane approximation
        (isotropic noise g on the ball's coordinates, relative error O(√(g²Δt)/radius)).

    The result holds ``times`` of the paths that passed (grid detection times) and
    ``passed``; :meth:`dynopt.analysis.PassageSample.from_observer` turns it into weighted,
    censoring-aware records (paths that blow up are censored at their detection time).
    Memory: a few numbers per path, plus one record per bridge probability above 1e-12.
    """

    #: bridge probabilities below this are not recorded (their weight is negligible)
    MIN_HAZARD = 1e-12

    def __init__(self, condition, every=1, name="first_passage", *, absorb=False, bridge=None):
        self._level, self.target = None, None
        if isinstance(condition, (tuple, Target)):
            self.target = as_target(condition)
            if isinstance(self.target, Level):
                self._coord, self._level = self.target.coord, self.target.level
                self._sign = 1.0 if self.target.above else -1.0
            self.cond = self.target.inside
        elif callable(condition):
            self.cond = condition
        else:
            raise TypeError("`condition` must be callable, a Target (Level, Ball, Region) or a "
                            "(coord, level, side) tuple")
        check_int(every, "every")
        if bridge is not None:
            if self.target is None or self.target.bridge_exact is None:
                raise ValueError("`bridge` needs a level or ball target (a (coord, level, side) tuple, "
                                 "Level or Ball): a region's level-set function is not a distance")
            g = float(bridge)
            if not (np.isfinite(g) and g > 0):
                raise ValueError(f"`bridge` must be the noise amplitude g > 0 of the observed component; got {bridge!r}")
            bridge = g
        if absorb not in (True, False, "survivors"):
            raise ValueError(f"`absorb` must be True, False or 'survivors'; got {absorb!r}")
        self.every, self.name, self.absorb, self.bridge = int(every), name, absorb, bridge

    def steps(self, n_steps, t0, dt):
        self._t0, self._dt = t0, dt
        ks = list(range(0, n_steps + 1, self.every))
        self._last = ks[-1]
        return ks

    def start(self, layout, state_dim):
        n = layout.n_paths
        self.step = np.full(n, -1, dtype=np.int64)
        self.stop = np.full(n, -1, dtype=np.int64)  # blow-up step of a path that had not passed
        self.weight = np.ones(n)  # probability of not having crossed before the recorded step
        self._prev = np.full(n, np.nan) if self.bridge else None
        self._rec = []

    def observe(self, k, t, y, b0, b1, layout, alive):
        a = layout.block_rows(b0)[0]
        self.observe_rows(k, t, y, slice(a, a + y.shape[0]), alive)

    def observe_rows(self, k, t, y, rows, alive):
        """:meth:`observe` for the paths ``rows`` (global indices, or a slice) only; ``y``
        and ``alive`` have one row per path of ``rows`` (the engine calls it on compacted
        chunks)."""
        if not isinstance(rows, slice) and rows.size and rows[-1] - rows[0] + 1 == rows.size:
            rows = slice(int(rows[0]), int(rows[-1]) + 1)  # views instead of gathers
        step = self.step[rows]
        open_ = step < 0
        if not alive.all():
            stop = self.stop[rows]
            open_ &= stop < 0
            stop[open_ & ~alive] = k
            self.stop[rows] = stop
            open_ &= alive
        hit = np.asarray(self.cond(y), dtype=bool) & open_
        self.hits_step = k  # the paths that passed at this look, for absorption
        if hit.any():
            step[hit] = k
            self.step[rows] = step
            self.hits = np.flatnonzero(hit) + rows.start if isinstance(rows, slice) else rows[hit]
        else:
            self.hits = np.zeros(0, dtype=np.int64)
        if self.bridge is None:
            return
        d = self.target.distance(y)
        if k > 0:
            # only paths near the level on both sides of the interval can have crossed
            prev = self._prev[rows]
            arg = 2.0 / (self.bridge ** 2 * self._dt * self.every) * prev * d
            m = open_ & ~hit & (prev > 0) & (arg < -np.log(self.MIN_HAZARD))
            if m.any():
                idx = np.flatnonzero(m) + rows.start if isinstance(rows, slice) else rows[m]
                h = np.exp(-arg[m])
                self._rec.append((idx, np.full(idx.size, k, dtype=np.int64), self.weight[idx] * h))
                self.weight[idx] *= 1.0 - h
        self._prev[rows] = d

    @property
    def kernel_target(self):
        """The :class:`~dynopt.engine.targets.Target` a compiled kernel tests (any target,
        levels included), or None for a callable condition."""
        return self.target

    @property
    def level_condition(self):
        """``(coord, level, above)`` of a tuple condition (what a compiled kernel tests), or
        None for a callable condition."""
        return None if self._level is None else (self._coord, self._level, self._sign > 0)

    def bridge_constants(self):
        """``(c, cut)``: a path records the bridge hazard exp(−arg) for arg = c·d_prev·d < cut."""
        return 2.0 / (self.bridge ** 2 * self._dt * self.every), -np.log(self.MIN_HAZARD)

    def add_bridge_records(self, rows, steps, args):
        """Bridge records found elsewhere (a compiled kernel): paths ``rows`` (global), at
        ``steps`` (non-decreasing), with exponents ``args``; weights as :meth:`observe_rows`."""
        h = np.exp(-args)
        cuts = np.flatnonzero(np.diff(steps)) + 1
        for a, e in zip([0, *cuts], [*cuts, steps.size]):
            idx = rows[a:e]
            self._rec.append((idx, steps[a:e].copy(), self.weight[idx] * h[a:e]))
            self.weight[idx] *= 1.0 - h[a:e]

    def censor_diverged(self, rows, detected):
        """Censor the paths ``rows`` (global) that blew up at steps ``detected`` without having
        passed, at the first check at or after the detection (what :meth:`observe_rows` does)."""
        open_ = self.step[rows] < 0
        rows, at = rows[open_], -(-detected[open_] // self.every) * self.every
        self.stop[rows] = np.where(at <= self._last, at, -1)

    def censor_absorbed(self, rows, k):
        """Censor the paths ``rows`` (global) that another observer absorbed at step ``k``
        before they passed this one, at this observer's first check after ``k`` (where
        :meth:`observe_rows` would first see them stopped), or never if none is left."""
        at = (k // self.every + 1) * self.every
        if at > self._last:
            return
        rows = rows[(self.step[rows] < 0) & (self.stop[rows] < 0)]
        self.stop[rows] = at

    def passed_rows(self, rows):
        """Which of the paths ``rows`` (global indices) have passed."""
        return self.step[rows] >= 0

    def merge(self, other, layout, first_block, last_block):
        a, e = layout.block_rows(first_block)[0], layout.block_rows(last_block - 1)[1]
        self.step[a:e], self.stop[a:e], self.weight[a:e] = other.step[a:e], other.stop[a:e], other.weight[a:e]
        for r, k, w in other._rec:
            mine = (r >= a) & (r < e)
            self._rec.append((r[mine], k[mine], w[mine]))

    def result(self):
        passed = self.step >= 0
        h = self._dt * self.every
        if self._rec:
            r, k, w = (np.concatenate(v) for v in zip(*self._rec))
            order = np.lexsort((k, r))  # records in (path, step) order whatever the chunking
            r, k, w = r[order], k[order], w[order]
        else:
            r, k, w = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        shift = 0.5 * h if self.bridge else 0.0
        event = np.where(passed, self._t0 + self.step * self._dt - np.where(self.step > 0, shift, 0.0), np.nan)
        stop = np.where(self.stop >= 0, self.stop, self._last)
        return FirstPassageResult(np.where(passed, self._t0 + self.step * self._dt, np.inf)[passed],
                                  passed, self.step.copy(), h, t0=self._t0, event_time=event,
                                  weight=self.weight.copy(),
                                  censor_time=np.where(passed, np.nan, self._t0 + stop * self._dt),
                                  bridge_path=r, bridge_time=self._t0 + k * self._dt - shift,
                                  bridge_weight=w, bridge=self.bridge or 0.0)


@dataclass
class FirstPassageResult:
    """``times`` of the paths that passed, ``passed`` mask over all paths, ``step`` per path
    (−1 = never), ``resolution`` (time between checks).

    For censoring-aware estimates (:meth:`dynopt.analysis.PassageSample.from_observer`):
    ``t0`` (start), ``event_time`` per path (the time attributed to its passage, NaN if it
    did not pass), ``weight`` per path (the probability that the passage — or, for a path
    that did not pass, the censoring — is not preceded by a bridge crossing; 1 without
    ``bridge``), ``censor_time`` per path (end of observation or blow-up detection; NaN
    if it passed) and the fractional bridge records ``bridge_path``, ``bridge_time``,
    ``bridge_weight``; ``bridge`` the amplitude g used (0: no bridge correction).
    """

    times: np.ndarray
    passed: np.ndarray
    step: np.ndarray
    resolution: float
    t0: float = 0.0
    event_time: Optional[np.ndarray] = None
    weight: Optional[np.ndarray] = None
    censor_time: Optional[np.ndarray] = None
    bridge_path: Optional[np.ndarray] = None
    bridge_time: Optional[np.ndarray] = None
    bridge_weight: Optional[np.ndarray] = None
    bridge: float = 0.0

    @property
    def censored_fraction(self) -> float:
        """Fraction of the paths (by weight) that had not passed when observation stopped."""
        w = np.where(self.passed, 0.0, self.weight if self.weight is not None else 1.0)
        return float(w.sum() / self.passed.size)
