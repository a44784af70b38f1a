"""The one fixed-step loop: ``integrate(model, scheme, t_span, y0, dt)`` → :class:`Solution`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .dynamics import Model, check_finite_param
from .schemes import METHODS, get_scheme

__all__ = ["integrate", "Solution", "METHODS", "step_count", "simulate", "EnsembleResult",
           "Observer", "Moments", "Histogram", "Histogram2D", "FirstPassage", "ValuesAt"]

#: |y| above this counts as a blow-up (before it overflows to inf).
BLOWUP = 1e100


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
    grad_evals : int
        Gradient evaluations per path, from the scheme's declaration (for implicit
        schemes, the nonlinear iterations actually done).
    """

    t: np.ndarray
    y: np.ndarray
    y_final: np.ndarray
    method: str
    dt: float
    n_steps: int
    diverged_step: Optional[int]
    grad_evals: int

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


def integrate(model: Model, scheme, t_span, y0, dt, *, save_every: int | None = None, **sde_options):
    """Integrate ``model`` with a fixed-step ``scheme`` from ``t_span[0]`` to ``t_span[1]``.

    For an SDE model (``model.is_sde``) this runs the ensemble engine and returns an
    :class:`EnsembleResult`: see :func:`simulate` for ``sde_options`` (``n_paths``,
    ``seed``/``rng``, ``observers``, ``chunk_size``, ...).

    Parameters
    ----------
    model : dynopt.dynamics.Model
        The continuous-time model (e.g. ``HeavyBall(problem, friction=1.0)``).
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

    Returns
    -------
    Solution

    Raises
    ------
    ValueError
        Bad ``dt``, ``t_span``, ``y0`` shape, unknown ``method``, or a scheme that does not
        discretize this model.
    """
    if getattr(model, "is_sde", False):
        return simulate(model, scheme, t_span, y0, dt, save_every=save_every, **sde_options)
    if sde_options:
        raise TypeError(f"integrate() got SDE options {sorted(sde_options)} for the ODE model {model!r}")
    scheme = get_scheme(scheme)
    scheme.check_model(model)
    n_steps = step_count(t_span, dt)
    t0 = float(t_span[0])
    dt = float(dt)
    y = model.as_state(y0)
    if save_every is not None and (not isinstance(save_every, (int, np.integer)) or save_every < 1):
        raise ValueError(f"`save_every` must be a positive integer; got {save_every!r}")
    state = scheme.init(model, y, dt)
    ts, ys = [t0], [scheme.output(model, state)]
    diverged = None
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            t = t0 + k * dt
            state = scheme.step(model, t, state, dt)
            lead = state[0]
            if not np.isfinite(lead).all() or np.abs(lead).max() > BLOWUP:
                diverged = k + 1
                break
            if save_every and (k + 1) % save_every == 0 and k + 1 != n_steps:
                ts.append(t0 + (k + 1) * dt)
                ys.append(scheme.output(model, state))
    done = diverged if diverged is not None else n_steps
    final = scheme.output(model, state)
    if diverged is None:
        ts.append(t0 + n_steps * dt)
        ys.append(final)
    if hasattr(scheme, "iterations"):  # implicit: one predictor per step + the iterations
        evals = scheme.iterations + done
    else:
        evals = scheme.grad_evals * done
    return Solution(t=np.array(ts), y=np.stack(ys), y_final=final, method=scheme.name, dt=dt,
                    n_steps=done, diverged_step=diverged, grad_evals=int(evals))


# ---------------------------------------------------------------------------------------
# The SDE ensemble engine (issue 4)
# ---------------------------------------------------------------------------------------
import sys  # noqa: E402
import time  # noqa: E402

from .brownian import NoiseSource, as_seed_sequence, block_generator, make_layout  # noqa: E402

#: bytes of chunk state the engine aims to keep resident in a core's L2 cache (512 KiB
#: here; state, noise buffer and one work array of a 1-D problem at 2^14 paths)
CACHE_BYTES = 3 * 2 ** 17


def _steps_for_times(times, t0, dt, n_steps, name="times"):
    out = []
    for tt in np.atleast_1d(np.asarray(times, dtype=float)):
        k = round((tt - t0) / dt)
        if not np.isfinite(tt) or k < 0 or k > n_steps or abs(t0 + k * dt - tt) > 1e-9 * max(1.0, abs(tt)):
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
        self.every, self.times, self.coords, self.name = every, times, coords, name

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
        D = state_dim if self.coords is None else len(np.atleast_1d(self.coords))
        shape = (len(self._k), layout.n_blocks)
        self._n = np.zeros(shape, dtype=np.int64)
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
            if n:
                m = x.sum(axis=0) / n
                self._mean[i, b] = m
                self._m2[i, b] = ((x - m) ** 2).sum(axis=0)

    def merge(self, other, layout, first_block, last_block):
        sl = slice(first_block, last_block)
        self._n[:, sl], self._mean[:, sl], self._m2[:, sl] = other._n[:, sl], other._mean[:, sl], other._m2[:, sl]

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
        return MomentsResult(t=self._t, mean=mean, var=var, count=n,
                             se=np.sqrt(var / np.maximum(n, 1)[:, None]))


@dataclass
class MomentsResult:
    """Ensemble mean/variance at times ``t`` (rows); ``se`` = standard error of the mean."""

    t: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    count: np.ndarray
    se: np.ndarray


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
        if not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f"`bins` must be a positive integer; got {bins!r}")
        lo, hi = (float(v) for v in range)
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"`range` must be finite (lo, hi) with hi > lo; got {range!r}")
        self.bins, self.lo, self.hi, self.coord = int(bins), lo, hi, int(coord)
        self.t_min, self.every, self.name = t_min, every, name
        self.edges = np.linspace(lo, hi, self.bins + 1)

    def steps(self, n_steps, t0, dt):
        if self.every:
            k0 = 0 if self.t_min is None else max(0, math.ceil((self.t_min - t0) / dt - 1e-9))
            return list(range(k0, n_steps + 1, int(self.every)))
        return [n_steps]

    def start(self, layout, state_dim):
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
        dens = self.counts / max(total, 1) / width
        return HistogramResult(self.edges, self.counts.copy(), dens, int(self.below), int(self.above), int(total))


@dataclass
class HistogramResult:
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
        self.h = [Histogram(b, r, c) for b, r, c in zip(bins, range, coords)]
        self.coords, self.t_min, self.every, self.name = tuple(coords), t_min, every, name

    def start(self, layout, state_dim):
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
        return Histogram2DResult(self.h[0].edges, self.h[1].edges, self.counts.copy(),
                                 self.counts / max(total, 1) / area, self.outside, total)


@dataclass
class Histogram2DResult:
    """Bin edges in x and y, integer ``counts``, ``density`` (normalised by all samples,
    including the ``outside`` ones) and the ``total`` number of samples."""

    xedges: np.ndarray
    yedges: np.ndarray
    counts: np.ndarray
    density: np.ndarray
    outside: int
    total: int


class FirstPassage(Observer):
    """First step at which each path satisfies a condition (checked every ``every`` steps).

    Parameters
    ----------
    condition : callable or (coord, level, side)
        ``condition(y) -> bool (n,)`` on states, or a tuple meaning component ``coord``
        ``>= level`` (side "above") or ``<= level`` (side "below").
    every : int
        Resolution of the recorded time, in steps.

    The result holds ``times`` (NaN-free: paths that never passed are listed in
    ``passed`` = False) — memory one int per path.
    """

    def __init__(self, condition, every=1, name="first_passage"):
        if isinstance(condition, tuple):
            coord, level, side = condition
            if side not in ("above", "below"):
                raise ValueError(f"`condition` side must be 'above' or 'below'; got {side!r}")
            if side == "above":
                self.cond = lambda y: y[:, coord] >= level
            else:
                self.cond = lambda y: y[:, coord] <= level
        elif callable(condition):
            self.cond = condition
        else:
            raise TypeError("`condition` must be callable or a (coord, level, side) tuple")
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"`every` must be a positive integer; got {every!r}")
        self.every, self.name = int(every), name

    def steps(self, n_steps, t0, dt):
        self._t0, self._dt = t0, dt
        return list(range(self.every, n_steps + 1, self.every))

    def start(self, layout, state_dim):
        self.step = np.full(layout.n_paths, -1, dtype=np.int64)

    def observe(self, k, t, y, b0, b1, layout, alive):
        a = layout.block_rows(b0)[0]
        view = self.step[a:a + y.shape[0]]
        hit = self.cond(y) & alive & (view < 0)
        view[hit] = k

    def merge(self, other, layout, first_block, last_block):
        a, e = layout.block_rows(first_block)[0], layout.block_rows(last_block - 1)[1]
        self.step[a:e] = other.step[a:e]

    def result(self):
        passed = self.step >= 0
        return FirstPassageResult(np.where(passed, self._t0 + self.step * self._dt, np.inf)[passed],
                                  passed, self.step.copy(), self._dt * self.every)


@dataclass
class FirstPassageResult:
    """``times`` of the paths that passed, ``passed`` mask over all paths, ``step`` per path
    (−1 = never), ``resolution`` (time between checks)."""

    times: np.ndarray
    passed: np.ndarray
    step: np.ndarray
    resolution: float


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


@dataclass
class EnsembleResult:
    """Result of :func:`simulate`.

    Attributes
    ----------
    t_final : float
    n_paths, n_steps : int
    dt : float
    method : str
    seed : int
        Entropy of the root SeedSequence (rerun with ``seed=SeedSequence(seed)``).
    y_final : ndarray (n_paths, state_dim) or None
        Final states (``keep_final=True``); rows of diverged paths are NaN.
    times, paths : ndarray or None
        Saved (thinned) trajectory, only with ``save_every``.
    observations : dict
        Observer name → its result.
    n_diverged : int
        Paths that blew up (non-finite or |y| > BLOWUP); they are excluded from every
        statistic and ``note`` says so.
    first_divergence_step : int or None
        Earliest step at which a blow-up was detected (resolution ``check_every``).
    diverged_step : ndarray (n_paths,)
        Detection step per path, −1 if it did not diverge.
    """

    t_final: float
    n_paths: int
    n_steps: int
    dt: float
    method: str
    seed: int
    y_final: Optional[np.ndarray]
    times: Optional[np.ndarray]
    paths: Optional[np.ndarray]
    observations: dict
    n_diverged: int
    first_divergence_step: Optional[int]
    diverged_step: np.ndarray
    chunk_size: int
    block_size: int
    dtype: str
    seconds: float
    note: str = ""

    @property
    def diverged_fraction(self) -> float:
        return self.n_diverged / self.n_paths

    @property
    def alive(self):
        return self.diverged_step < 0

    @property
    def diverged(self) -> bool:
        return self.n_diverged > 0

    def final_positions(self, model):
        """θ of the non-diverged paths at the final time, shape (n_alive, d)."""
        if self.y_final is None:
            raise ValueError("run with keep_final=True to get the final states")
        return model.position(self.y_final[self.alive])


def _results(observers):
    with np.errstate(all="ignore"):  # paths blown up before detection may overflow a reduction
        return {o.name: o.result() for o in observers}


def simulate(model, scheme, t_span, y0, dt, *, n_paths=None, seed=None, rng=None, observers=(),
             chunk_size=None, block_size=None, brownian_substeps=1, save_every=None,
             keep_final=True, dtype=np.float64, progress=None, check_every=16, executor=None,
             blocks=None) -> EnsembleResult:
    """Run an ensemble of SDE paths with a fixed-step scheme, chunk by chunk, in place.

    Paths are cut into logical blocks of ``block_size`` paths, each with its own SFC64
    stream spawned from the root SeedSequence (see :mod:`dynopt.brownian`); chunks of
    whole blocks (≈ L2-cache sized) are advanced through all steps one after the other,
    so memory does not grow with the number of steps unless ``save_every`` asks for a
    trajectory.  Results are bit-for-bit identical for any ``chunk_size``.

    Parameters
    ----------
    model : SDEModel
    scheme : str or SDEScheme
        A name from ``METHODS`` (e.g. "euler-maruyama", "milstein", "stochastic-heun",
        "baoab", "obabo", "momentum-sgd").
    t_span : (float, float)
    y0 : array_like, shape (state_dim,) or (n_paths, state_dim)
        A Kramers model also accepts a position (d,) and starts at rest.
    dt : float > 0
        The step; it must divide the interval.
    n_paths : int, optional
        Number of paths (default: rows of ``y0``, else 1).
    seed, rng : int, SeedSequence or Generator
        The root of all randomness (one of them).  ``None``: fresh entropy, recorded.
    observers : sequence of Observer
        Streaming statistics (:class:`Moments`, :class:`Histogram`, :class:`Histogram2D`,
        :class:`FirstPassage`, :class:`ValuesAt`); results in ``observations[name]``.
    chunk_size : int, optional
        Paths per chunk (rounded to whole blocks); default ≈ 384 KiB of state.
    block_size : int, optional
        Paths per logical block (default :data:`dynopt.brownian.DEFAULT_BLOCK_SIZE`).
        Changing it changes the random numbers; changing ``chunk_size`` does not.
    brownian_substeps : int
        Draw the Brownian path at step dt/r and sum: runs with (dt, r) and (dt/r, 1)
        see the same Brownian path (strong-error studies).
    save_every : int, optional
        Keep every ``save_every``-th state of every path (memory ∝ steps/save_every).
    keep_final : bool
        Keep the final states (memory ∝ n_paths).
    dtype : float64 or float32
    progress : bool, optional
        tqdm bar; default on when the run has more than 2·10⁸ path-steps.
    check_every : int
        Steps between blow-up checks (also done at every observed step).
    executor : optional
        An executor from :mod:`dynopt.parallel` (``local`` processes, ``dask``): the
        logical blocks are split into contiguous groups, run as independent tasks and
        merged in block order — bit-for-bit the same result as a serial run.
    blocks : (int, int), optional
        Run only the logical blocks ``[first, last)`` (what one executor task does);
        ``y_final``/``paths``/``diverged_step`` then hold only those blocks' rows.

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ValueError
        Bad ``dt``/``t_span``/sizes/``y0`` shape, or a scheme that does not support the
        model (kind, noise type) — checked before anything runs.
    """
    tic = time.perf_counter()
    scheme = get_scheme(scheme)
    scheme.check_model(model)
    n_steps = step_count(t_span, dt)
    t0, dt = float(t_span[0]), float(dt)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"`dtype` must be float64 or float32; got {dtype}")
    y_init = model.as_state(y0)
    if n_paths is None:
        n_paths = y_init.shape[0]
    if y_init.shape[0] not in (1, n_paths):
        raise ValueError(f"`y0` has {y_init.shape[0]} rows but `n_paths` is {n_paths}")
    if not isinstance(brownian_substeps, (int, np.integer)) or brownian_substeps < 1:
        raise ValueError(f"`brownian_substeps` must be a positive integer; got {brownian_substeps!r}")
    if save_every is not None and (not isinstance(save_every, (int, np.integer)) or save_every < 1):
        raise ValueError(f"`save_every` must be a positive integer; got {save_every!r}")
    if not isinstance(check_every, (int, np.integer)) or check_every < 1:
        raise ValueError(f"`check_every` must be a positive integer; got {check_every!r}")
    D = model.state_dim
    per_path = dtype.itemsize * (D + scheme.n_terms * model.noise_dim + D)
    default_chunk = max(1, CACHE_BYTES // per_path)
    layout = make_layout(n_paths, block_size, chunk_size, default_chunk)
    root = as_seed_sequence(seed, rng)
    names = [o.name for o in observers]
    if len(set(names)) != len(names):
        raise ValueError(f"`observers` need distinct names; got {names}")
    look = {}
    for o in observers:
        if not isinstance(o, Observer):
            raise TypeError(f"`observers` must be Observer instances; got {type(o).__name__}")
        for k in o.steps(n_steps, t0, dt):
            look.setdefault(k, []).append(o)
        o.start(layout, D)
    if executor is not None:
        return _simulate_on(executor, layout, root, observers, tic, model, scheme, t_span, y0, dt,
                            dict(n_paths=n_paths, chunk_size=chunk_size, block_size=block_size,
                                 brownian_substeps=brownian_substeps, save_every=save_every,
                                 keep_final=keep_final, dtype=dtype, check_every=check_every))
    b_lo, b_hi = (0, layout.n_blocks) if blocks is None else (int(blocks[0]), int(blocks[1]))
    if not 0 <= b_lo < b_hi <= layout.n_blocks:
        raise ValueError(f"`blocks` must satisfy 0 <= first < last <= {layout.n_blocks}; got {blocks!r}")
    row_lo, row_hi = layout.block_rows(b_lo)[0], layout.block_rows(b_hi - 1)[1]
    n_rows = row_hi - row_lo
    save_k = _save_steps(n_steps, save_every)
    save_pos = {k: i for i, k in enumerate(save_k)}
    paths = np.empty((len(save_k), n_rows, D), dtype=dtype) if save_every else None
    y_final = np.empty((n_rows, D), dtype=dtype) if keep_final else None
    diverged_step = np.full(n_rows, -1, dtype=np.int64)
    work = n_rows * n_steps
    show = progress if progress is not None else work > 2e8
    bar = None
    if show:
        from tqdm.auto import tqdm
        bar = tqdm(total=work, unit="path-step", unit_scale=True, desc=scheme.name, file=sys.stderr)
    custom = getattr(scheme, "noise_kind", "normal") == "custom"

    with np.errstate(all="ignore"):
        for b0, b1, r0, r1 in layout.chunks(b_lo, b_hi):
            nc = r1 - r0
            y = np.array(np.broadcast_to(y_init if y_init.shape[0] == 1 else y_init[r0:r1], (nc, D)), dtype=dtype)
            state = scheme.init(model, y, dt)
            if custom:
                gens = [block_generator(root, b) for b in range(b0, b1)]
                rows = [(a - r0, e - r0) for a, e in (layout.block_rows(b) for b in range(b0, b1))]
            else:
                src = NoiseSource(root, layout, b0, b1, scheme.n_terms, model.noise_dim,
                                  brownian_substeps, dtype)
            alive = np.ones(nc, dtype=bool)
            dsteps = diverged_step[r0 - row_lo:r1 - row_lo]

            def visit(k, out):
                if k in look:
                    for o in look[k]:
                        o.observe(k, t0 + k * dt, out, b0, b1, layout, alive)
                if k in save_pos:
                    paths[save_pos[k], r0 - row_lo:r1 - row_lo] = out

            if 0 in look or 0 in save_pos:
                visit(0, scheme.output(model, state))
            since = 0
            for k in range(1, n_steps + 1):
                z = scheme.draw_noise(model, gens, rows, nc) if custom else src.draw()
                scheme.step(model, t0 + (k - 1) * dt, state, dt, z)
                need = k in look or k in save_pos
                if need or k % check_every == 0 or k == n_steps:
                    out = scheme.output(model, state)
                    bad = ~(np.abs(out) <= BLOWUP).all(axis=1) & alive
                    if bad.any():
                        dsteps[bad] = k
                        alive &= ~bad
                        scheme.kill(state, bad)
                        out = scheme.output(model, state)
                    if need:
                        visit(k, out)
                if bar is not None and k - since >= 512:
                    bar.update((k - since) * nc)
                    since = k
            if bar is not None:
                bar.update((n_steps - since) * nc)
            if keep_final:
                y_final[r0 - row_lo:r1 - row_lo] = scheme.output(model, state)
    if bar is not None:
        bar.close()
    return _finish(model, scheme, t0, n_steps, dt, n_paths, root, y_final, save_every, save_k, paths,
                   observers, diverged_step, layout, dtype, tic, check_every)


def _finish(model, scheme, t0, n_steps, dt, n_paths, root, y_final, save_every, save_k, paths,
            observers, diverged_step, layout, dtype, tic, check_every):
    n_div = int(np.count_nonzero(diverged_step >= 0))
    first = int(diverged_step[diverged_step >= 0].min()) if n_div else None
    note = ""
    if n_div:
        note = (f"{n_div} of {n_paths} paths ({n_div / n_paths:.3%}) diverged (first detected at step "
                f"{first}, checks every {check_every} steps); they are excluded from final-state statistics and from "
                f"every observation after their detection (time averages taken before it include them)")
    return EnsembleResult(
        t_final=t0 + n_steps * dt, n_paths=int(n_paths), n_steps=n_steps, dt=dt, method=scheme.name,
        seed=int(root.entropy) if isinstance(root.entropy, (int, np.integer)) else root.entropy,
        y_final=y_final, times=None if not save_every else t0 + dt * np.array(save_k), paths=paths,
        observations=_results(observers), n_diverged=n_div,
        first_divergence_step=first, diverged_step=diverged_step, chunk_size=layout.chunk_size,
        block_size=layout.block_size, dtype=dtype.name, seconds=time.perf_counter() - tic, note=note)


def _save_steps(n_steps, save_every):
    """Steps kept for a thinned trajectory: every ``save_every``-th and the last."""
    if not save_every:
        return []
    ks = list(range(0, n_steps + 1, save_every))
    if ks[-1] != n_steps:
        ks.append(n_steps)
    return ks


def _run_blocks(task):
    """One executor task: run the blocks ``[lo, hi)`` and return what the merge needs."""
    model, scheme, t_span, y0, dt, opts, root, observers, lo, hi = task
    r = simulate(model, scheme, t_span, y0, dt, seed=root, observers=observers, progress=False,
                 blocks=(lo, hi), **opts)
    # divergences are rare: send (row, step) pairs instead of one int64 per path
    rows = np.flatnonzero(r.diverged_step >= 0)
    return lo, hi, observers, r.y_final, r.paths, (rows, r.diverged_step[rows])


def _simulate_on(executor, layout, root, observers, tic, model, scheme, t_span, y0, dt, opts):
    """Split the logical blocks over ``executor`` and merge the parts in block order."""
    import copy

    # one contiguous run of blocks per worker: equal work, and the fewest results to ship
    n_tasks = max(1, min(layout.n_blocks, getattr(executor, "n_workers", 1)))
    edges = np.linspace(0, layout.n_blocks, n_tasks + 1).round().astype(int)
    tasks = [(model, scheme, t_span, y0, dt, opts, root, [copy.deepcopy(o) for o in observers], int(a), int(b))
             for a, b in zip(edges[:-1], edges[1:]) if b > a]
    parts = executor.map(_run_blocks, tasks)
    n_paths, dtype = layout.n_paths, np.dtype(opts["dtype"])
    D = model.state_dim
    n_steps = step_count(t_span, dt)
    save_every = opts["save_every"]
    save_k = _save_steps(n_steps, save_every)
    y_final = np.empty((n_paths, D), dtype=dtype) if opts["keep_final"] else None
    paths = np.empty((len(save_k), n_paths, D), dtype=dtype) if save_every else None
    diverged_step = np.full(n_paths, -1, dtype=np.int64)
    for lo, hi, obs, yf, pth, (div_rows, div_steps) in sorted(parts, key=lambda p: p[0]):
        a, e = layout.block_rows(lo)[0], layout.block_rows(hi - 1)[1]
        for mine, theirs in zip(observers, obs):
            mine.merge(theirs, layout, lo, hi)
        if y_final is not None:
            y_final[a:e] = yf
        if paths is not None:
            paths[:, a:e] = pth
        diverged_step[a + div_rows] = div_steps
    return _finish(model, scheme, float(t_span[0]), n_steps, float(dt), n_paths, root, y_final, save_every,
                   save_k, paths, observers, diverged_step, layout, dtype, tic, opts["check_every"])


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
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"`every` must be a positive integer; got {every!r}")
        self.fn, self.t_min, self.every, self.name = fn, float(t_min), int(every), name

    def steps(self, n_steps, t0, dt):
        k0 = max(0, math.ceil((self.t_min - t0) / dt - 1e-9))
        if k0 > n_steps:
            raise ValueError(f"`t_min` {self.t_min} is after the end of the run")
        return list(range(k0, n_steps + 1, self.every))

    def start(self, layout, state_dim):
        self._sum = np.zeros(layout.n_blocks)
        self._cnt = np.zeros(layout.n_blocks, dtype=np.int64)

    def observe(self, k, t, y, b0, b1, layout, alive):
        v = np.asarray(self.fn(y), dtype=np.float64)
        off = layout.block_rows(b0)[0]
        for b in range(b0, b1):
            a, e = (r - off for r in layout.block_rows(b))
            ok = alive[a:e]
            self._sum[b] += v[a:e][ok].sum()
            self._cnt[b] += int(ok.sum())

    def merge(self, other, layout, first_block, last_block):
        sl = slice(first_block, last_block)
        self._sum[sl], self._cnt[sl] = other._sum[sl], other._cnt[sl]

    def result(self):
        good = self._cnt > 0
        means = self._sum[good] / self._cnt[good]
        mean = float(self._sum.sum() / max(self._cnt.sum(), 1))
        se = float(means.std(ddof=1) / np.sqrt(means.size)) if means.size > 1 else float("inf")
        return TimeAverageResult(mean, se, int(self._cnt.sum()), int(means.size))


@dataclass
class TimeAverageResult:
    """``mean`` and its batch-means standard error ``se`` over ``n_blocks`` blocks."""

    mean: float
    se: float
    samples: int
    n_blocks: int


__all__ += ["TimeAverage", "TimeAverageResult"]
