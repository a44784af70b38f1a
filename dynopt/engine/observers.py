"""Streaming statistics of an ensemble, updated chunk by chunk with memory independent of the
number of steps: moments, 1-D and 2-D histograms, values at given times and time averages
(first passage is in :mod:`dynopt.engine.passage`).  Reductions are done per logical block and combined in block order, so the
results do not depend on the chunk size or on the executor.
"""
from __future__ import annotations

__all__ = ["Observer", "MIN_SURVIVING", "Moments", "MomentsResult", "Histogram", "HistogramResult", "Histogram2D", "Histogram2DResult", "ValuesAt", "TimeAverage", "TimeAverageResult"]

import math
from dataclasses import dataclass

from dynopt.checks import check_int
import numpy as np


def _steps_for_times(times, t0, dt, n_steps, name="times"):
    out = []
    for tt in np.atleast_1d(np.asarray(times, dtype=float)):
        # round() of NaN or inf raises its own error: test finiteness first
        k = round((tt - t0) / dt) if np.isfinite(tt) else -1
        if k < 0 or k > n_steps or abs(t0 + k * dt - tt) > 1e-9 * max(1.0, abs(tt)):
            raise ValueError(f"`{name}` must be on the step grid t0 + k·dt within t_span; got {tt!r}")
        out.append(int(k))
    return out


class Observer:
    """A streaming statistic updated chunk by chunk; memory independent of the steps.

    Subclasses implement ``steps(n_steps, t0, dt)`` (the step indices k at which they look,
    0 = initial state), ``start(layout, state_dim)``, ``observe(k, t, y, b0, b1, layout,
    alive)`` on one chunk's states ``y`` (rows = paths of blocks b0..b1-1, ``alive`` a bool
    mask of non-diverged paths) and ``result()``.  Reductions are done per logical block
    and combined in block order, so results do not depend on the chunk size.
    """

    name = "observer"

    def steps(self, n_steps, t0, dt):
        return [n_steps]

    def merge(self, other, layout, first_block, last_block):
        """Take over ``other``'s statistics of the blocks ``[first_block, last_block)``
        (``other`` observed only those).  Needed for runs split over an executor."""
        raise TypeError(f"observer {type(self).__name__} cannot be merged: it needs a merge() "
                        "method to be used with `executor`")


def _coords(y, coords):
    return y if coords is None else y[:, coords]


def _check_every(every, name="every", optional=True):
    """``every`` is a positive integer (or ``None`` when ``optional``); ValueError otherwise."""
    if every is None and optional:
        return None
    check_int(every, name)
    return int(every)


def _check_t_min(t_min):
    """``t_min`` is None or a finite real number; ValueError/TypeError naming it otherwise."""
    if t_min is None:
        return None
    try:
        v = float(t_min)
    except (TypeError, ValueError):
        raise TypeError(f"`t_min` must be a real number or None; got {t_min!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"`t_min` must be finite; got {t_min!r}")
    return v


def _check_coords(coords, state_dim, name="coords"):
    """Every coordinate in ``coords`` is an integer in [0, state_dim); checked at the start
    of a run, when the state dimension is known."""
    for c in np.atleast_1d(np.asarray(coords, dtype=object)):
        check_int(c, name, low=0, high=state_dim - 1)


#: statistics over fewer surviving paths than this share of the observed ones are undefined
MIN_SURVIVING = 0.5


_NO_SAMPLE = "density undefined: no surviving path was observed (all diverged)"


def _undefined_reason(count, observed, min_count, what):
    """Why a statistic over ``count`` surviving of ``observed`` paths is undefined ("" if it is
    defined): too few paths survived the blow-up check."""
    if count >= min_count:
        return ""
    frac = 1.0 - count / observed if observed else 1.0
    return (f"{what} undefined: {count} of {observed} paths survived ({frac:.1%} diverged), "
            f"at least {min_count} needed")


class Moments(Observer):
    """Ensemble mean and variance (over alive paths) of the state at chosen steps.

    Parameters
    ----------
    every : int, optional
        Observe every ``every`` steps (and at the start); default only the final state.
    times : array_like, optional
        Observe at these times (on the step grid) instead.
    coords : sequence of int, optional
        State components (default all).
    name : str
    """

    def __init__(self, every=None, times=None, coords=None, name="moments"):
        self.every, self.times, self.coords, self.name = _check_every(every), times, coords, name

    def steps(self, n_steps, t0, dt):
        if self.times is not None:
            ks = _steps_for_times(self.times, t0, dt, n_steps)
        elif self.every:
            ks = list(range(0, n_steps + 1, int(self.every)))
        else:
            ks = [n_steps]
        self._k = sorted(set(ks))
        self._t = np.array([t0 + k * dt for k in self._k])
        return self._k

    def start(self, layout, state_dim):
        if self.coords is not None:
            _check_coords(self.coords, state_dim)
        D = state_dim if self.coords is None else len(np.atleast_1d(self.coords))
        shape = (len(self._k), layout.n_blocks)
        self._n = np.zeros(shape, dtype=np.int64)
        self._rows = np.zeros(shape, dtype=np.int64)
        self._mean = np.zeros(shape + (D,))
        self._m2 = np.zeros(shape + (D,))
        self._pos = {k: i for i, k in enumerate(self._k)}

    def observe(self, k, t, y, b0, b1, layout, alive):
        i = self._pos[k]
        off = layout.block_rows(b0)[0]
        x_all = _coords(y, self.coords)
        for b in range(b0, b1):
            a, e = (r - off for r in layout.block_rows(b))
            x = x_all[a:e][alive[a:e]].astype(np.float64)
            n = x.shape[0]
            self._n[i, b] = n
            self._rows[i, b] = e - a
            if n:
                m = x.sum(axis=0) / n
                self._mean[i, b] = m
                self._m2[i, b] = ((x - m) ** 2).sum(axis=0)

    def merge(self, other, layout, first_block, last_block):
        sl = slice(first_block, last_block)
        self._n[:, sl], self._mean[:, sl], self._m2[:, sl] = other._n[:, sl], other._mean[:, sl], other._m2[:, sl]
        self._rows[:, sl] = other._rows[:, sl]

    def result(self):
        T, nb, D = self._mean.shape
        n = np.zeros(T, dtype=np.int64)
        mean = np.zeros((T, D))
        m2 = np.zeros((T, D))
        for b in range(nb):  # Chan et al.'s pairwise update, in block order
            nb_ = self._n[:, b]
            tot = n + nb_
            w = np.divide(nb_, tot, out=np.zeros(T), where=tot > 0)[:, None]
            delta = self._mean[:, b] - mean
            mean = mean + delta * w
            m2 = m2 + self._m2[:, b] + delta ** 2 * (n * w[:, 0])[:, None]
            n = tot
        var = m2 / np.maximum(n - 1, 1)[:, None]
        se = np.sqrt(var / np.maximum(n, 1)[:, None])
        # a mean needs one surviving path, a variance two, and the survivors of an ensemble
        # that mostly diverged are a biased sample: NaN then, never a zero or a runaway value
        rows = self._rows.sum(axis=1)
        few = n < np.maximum(2, MIN_SURVIVING * rows)
        mean[few] = np.nan
        var[few] = np.nan
        se[few] = np.nan
        return MomentsResult(t=self._t, mean=mean, var=var, count=n, se=se, observed=self._rows.sum(axis=1))


@dataclass
class MomentsResult:
    """Ensemble mean/variance at times ``t`` (rows); ``se`` = standard error of the mean.

    ``count`` of the ``observed`` paths per row survived.  ``defined`` is False when some
    row had fewer than two surviving paths; such rows hold NaN (the mean too when no path
    survived), never zeros, and ``reason`` says why, with the diverged fraction.
    """

    t: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    count: np.ndarray
    se: np.ndarray
    observed: np.ndarray = None

    @property
    def diverged_fraction(self) -> np.ndarray:
        """Share of the observed paths that had diverged, per row."""
        obs = self.count if self.observed is None else self.observed
        return 1.0 - self.count / np.maximum(obs, 1)

    @property
    def defined(self) -> bool:
        return not self.reason

    @property
    def reason(self) -> str:
        """Why the statistics are undefined ("" when every row had enough surviving paths)."""
        obs = self.count if self.observed is None else self.observed
        need = np.maximum(2, np.ceil(MIN_SURVIVING * obs)).astype(np.int64)
        if not self.count.size or (self.count >= need).all():
            return ""
        i = int(np.argmin(self.count - need))
        return _undefined_reason(int(self.count[i]), int(obs[i]), int(need[i]), "mean and variance") + f" at t={self.t[i]:g}"


class Histogram(Observer):
    """Fixed-bin 1-D histogram of one state component, accumulated over observed steps.

    Parameters
    ----------
    bins : int
    range : (float, float)
    coord : int
        State component (default 0).
    t_min : float
        Accumulate only from this time on (burn-in); with ``every`` steps between looks.
    every : int, optional
        Default: only the final state.
    """

    def __init__(self, bins, range, coord=0, t_min=None, every=None, name="histogram"):
        check_int(bins, "bins")
        lo, hi = (float(v) for v in range)
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"`range` must be finite (lo, hi) with hi > lo; got {range!r}")
        check_int(coord, "coord", low=0)
        self.bins, self.lo, self.hi, self.coord = int(bins), lo, hi, int(coord)
        self.t_min, self.every, self.name = _check_t_min(t_min), _check_every(every), name
        self.edges = np.linspace(lo, hi, self.bins + 1)

    def steps(self, n_steps, t0, dt):
        if self.every:
            k0 = 0 if self.t_min is None else max(0, math.ceil((self.t_min - t0) / dt - 1e-9))
            return list(range(k0, n_steps + 1, int(self.every)))
        return [n_steps]

    def start(self, layout, state_dim):
        _check_coords(self.coord, state_dim, "coord")
        self.counts = np.zeros(self.bins, dtype=np.int64)
        self.below = self.above = self.looks = 0
        self._scale = self.bins / (self.hi - self.lo)

    def _index(self, x):
        i = np.floor((x - self.lo) * self._scale)
        ok = (i >= 0) & (i < self.bins)
        self.below += int(np.count_nonzero(x < self.lo))
        self.above += int(np.count_nonzero(x >= self.hi))
        return i[ok].astype(np.intp)

    def observe(self, k, t, y, b0, b1, layout, alive):
        x = y[:, self.coord][alive]
        self.counts += np.bincount(self._index(x), minlength=self.bins)
        self.looks += 1

    def merge(self, other, layout, first_block, last_block):
        # integer counts: the sum does not depend on the order of the parts
        self.counts += other.counts
        self.below += other.below
        self.above += other.above
        self.looks += other.looks

    def result(self):
        total = self.counts.sum() + self.below + self.above
        width = (self.hi - self.lo) / self.bins
        with np.errstate(invalid="ignore", divide="ignore"):
            dens = self.counts / total / width if total else np.full(self.bins, np.nan)
        return HistogramResult(self.edges, self.counts.copy(), dens, int(self.below), int(self.above), int(total))


class _CountedResult:
    """``defined`` and ``reason`` of a result counting samples in ``total``."""

    @property
    def defined(self) -> bool:
        return self.total > 0

    @property
    def reason(self) -> str:
        return "" if self.total else _NO_SAMPLE


@dataclass
class HistogramResult(_CountedResult):
    """Bin ``edges``, integer ``counts``, ``density`` (normalised by all samples, including
    the ``below``/``above`` range), ``total`` samples."""

    edges: np.ndarray
    counts: np.ndarray
    density: np.ndarray
    below: int
    above: int
    total: int

    @property
    def centers(self):
        return 0.5 * (self.edges[1:] + self.edges[:-1])


class Histogram2D(Histogram):
    """Fixed-bin 2-D histogram of two state components (e.g. (θ, η)).

    Parameters
    ----------
    bins : (int, int)
    range : ((lo, hi), (lo, hi))
    coords : (int, int)
    """

    def __init__(self, bins, range, coords=(0, 1), t_min=None, every=None, name="histogram2d"):
        for arg, val in (("bins", bins), ("range", range), ("coords", coords)):
            if not hasattr(val, "__len__") or len(val) != 2:
                raise ValueError(f"`{arg}` must have two entries (x and y); got {val!r}")
        self.h = [Histogram(b, r, c) for b, r, c in zip(bins, range, coords)]
        self.coords, self.name = tuple(coords), name
        self.t_min, self.every = _check_t_min(t_min), _check_every(every)

    def start(self, layout, state_dim):
        _check_coords(self.coords, state_dim)
        for h in self.h:
            h.start(layout, state_dim)
        self.counts = np.zeros((self.h[0].bins, self.h[1].bins), dtype=np.int64)
        self.outside = 0
        self.looks = 0

    def observe(self, k, t, y, b0, b1, layout, alive):
        ys = y[alive]
        hx, hy = self.h
        ix = np.floor((ys[:, self.coords[0]] - hx.lo) * hx._scale)
        iy = np.floor((ys[:, self.coords[1]] - hy.lo) * hy._scale)
        ok = (ix >= 0) & (ix < hx.bins) & (iy >= 0) & (iy < hy.bins)
        self.outside += int(ys.shape[0] - np.count_nonzero(ok))
        flat = ix[ok].astype(np.intp) * hy.bins + iy[ok].astype(np.intp)
        self.counts += np.bincount(flat, minlength=hx.bins * hy.bins).reshape(self.counts.shape)
        self.looks += 1

    def merge(self, other, layout, first_block, last_block):
        self.counts += other.counts
        self.outside += other.outside
        self.looks += other.looks

    def result(self):
        total = int(self.counts.sum()) + self.outside
        area = (self.h[0].hi - self.h[0].lo) / self.h[0].bins * (self.h[1].hi - self.h[1].lo) / self.h[1].bins
        dens = self.counts / total / area if total else np.full(self.counts.shape, np.nan)
        return Histogram2DResult(self.h[0].edges, self.h[1].edges, self.counts.copy(), dens, self.outside, total)


@dataclass
class Histogram2DResult(_CountedResult):
    """Bin edges in x and y, integer ``counts``, ``density`` (normalised by all samples,
    including the ``outside`` ones) and the ``total`` number of samples."""

    xedges: np.ndarray
    yedges: np.ndarray
    counts: np.ndarray
    density: np.ndarray
    outside: int
    total: int


class ValuesAt(Observer):
    """The states of all paths at chosen times: array (n_times, n_paths, state_dim)."""

    def __init__(self, times, name="values"):
        self.times, self.name = times, name

    def steps(self, n_steps, t0, dt):
        self._k = _steps_for_times(self.times, t0, dt, n_steps)
        self._t = np.array([t0 + k * dt for k in self._k])
        return self._k

    def start(self, layout, state_dim):
        self.values = np.full((len(self._k), layout.n_paths, state_dim), np.nan)

    def observe(self, k, t, y, b0, b1, layout, alive):
        a = layout.block_rows(b0)[0]
        for i, kk in enumerate(self._k):
            if kk == k:
                self.values[i, a:a + y.shape[0]] = np.where(alive[:, None], y, np.nan)

    def merge(self, other, layout, first_block, last_block):
        a, e = layout.block_rows(first_block)[0], layout.block_rows(last_block - 1)[1]
        self.values[:, a:e] = other.values[:, a:e]

    def result(self):
        return (self._t, self.values)


def _results(observers):
    with np.errstate(all="ignore"):  # paths blown up before detection may overflow a reduction
        return {o.name: o.result() for o in observers}


class TimeAverage(Observer):
    """Time-and-ensemble average of ``fn(y)`` (a scalar per path) from ``t_min`` on.

    Each logical block keeps its own sum; the standard error is computed from the spread
    of the block averages (batch means: blocks are independent, so time correlation
    inside a path is accounted for).

    Parameters
    ----------
    fn : callable
        ``fn(y) -> (n,)`` on states.
    t_min : float
        Burn-in time.
    every : int
        Steps between looks.
    """

    def __init__(self, fn, t_min=0.0, every=1, name="time_average"):
        if not callable(fn):
            raise TypeError("`fn` must be callable fn(y) -> (n,)")
        self.fn, self.t_min, self.every, self.name = fn, _check_t_min(t_min), _check_every(every, optional=False), name

    def steps(self, n_steps, t0, dt):
        k0 = 0 if self.t_min is None else max(0, math.ceil((self.t_min - t0) / dt - 1e-9))
        if k0 > n_steps:
            raise ValueError(f"`t_min` {self.t_min} is after the end of the run")
        return list(range(k0, n_steps + 1, self.every))

    def start(self, layout, state_dim):
        self._sum = np.zeros(layout.n_blocks)
        self._cnt = np.zeros(layout.n_blocks, dtype=np.int64)
        self._rows = np.zeros(layout.n_blocks, dtype=np.int64)

    def observe(self, k, t, y, b0, b1, layout, alive):
        v = np.asarray(self.fn(y), dtype=np.float64)
        off = layout.block_rows(b0)[0]
        for b in range(b0, b1):
            a, e = (r - off for r in layout.block_rows(b))
            ok = alive[a:e]
            self._sum[b] += v[a:e][ok].sum()
            self._cnt[b] += int(ok.sum())
            self._rows[b] += e - a

    def merge(self, other, layout, first_block, last_block):
        sl = slice(first_block, last_block)
        self._sum[sl], self._cnt[sl], self._rows[sl] = other._sum[sl], other._cnt[sl], other._rows[sl]

    def result(self):
        good = self._cnt > 0
        means = self._sum[good] / self._cnt[good]
        n, rows = int(self._cnt.sum()), int(self._rows.sum())
        mean = float(self._sum.sum() / n) if n else float("nan")
        se = float(means.std(ddof=1) / np.sqrt(means.size)) if means.size > 1 else float("inf")
        return TimeAverageResult(mean, se, n, int(means.size), rows)


@dataclass
class TimeAverageResult:
    """``mean`` and its batch-means standard error ``se`` over ``n_blocks`` blocks.

    ``samples`` of ``observed`` path-looks survived.  ``defined`` is False (``mean`` NaN,
    ``reason`` saying why) when no surviving sample was seen or ``fn`` gave non-finite
    values; ``diverged_fraction`` is the share of path-looks lost to divergence."""

    mean: float
    se: float
    samples: int
    n_blocks: int
    observed: int = 0

    @property
    def diverged_fraction(self) -> float:
        return 1.0 - self.samples / self.observed if self.observed else 0.0

    @property
    def defined(self) -> bool:
        return not self.reason

    @property
    def reason(self) -> str:
        if self.samples < 1:
            return _undefined_reason(self.samples, self.observed, 1, "time average")
        if not np.isfinite(self.mean):
            return "time average undefined: `fn` gave non-finite values on surviving paths"
        return ""
