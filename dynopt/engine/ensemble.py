"""SDE ensembles: :func:`simulate` runs paths in logical blocks (each with its own random
stream) and cache-sized chunks, in place, with observers, saving and divergence detection.
How a run is done travels as one frozen :class:`EnsembleOptions`; a run split over an
executor is cut into block groups (:mod:`dynopt.engine.split`) and merged back here
(:func:`run_on_executor`).
"""
from __future__ import annotations

import copy
import dataclasses
import sys
import time
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import numpy as np

from dynopt.engine import kernels
from dynopt.engine.absorb import Absorption
from dynopt.engine.brownian import NoiseSource, as_seed_sequence, block_generator, make_layout
from dynopt.engine.loop import BLOWUP, check_save_every, eval_steps, step_count
from dynopt.engine.normals import PhiloxSource, check_normals
from dynopt.engine.results import FinalPositions, final_positions
from dynopt.engine.observers import Observer, _results
from dynopt.engine.split import block_groups
from dynopt.engine.validate import (MAX_STEPS, as_scheme, blowup_limit, check_executor, check_max_steps,
                                    check_memory, check_model, check_observers, check_t_span, check_y0)

__all__ = ["CACHE_BYTES", "EnsembleOptions", "EnsembleResult", "simulate"]


#: bytes of chunk state the engine aims to keep resident in a core's L2 cache (512 KiB
#: here; state, noise buffer and one work array of a 1-D problem at 2^14 paths)
CACHE_BYTES = 3 * 2 ** 17


def _positive_int(value, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}")


@dataclass(frozen=True)
class EnsembleOptions:
    """How an ensemble is run — sizes, saving, precision, checks — as one frozen value.

    :func:`simulate` builds it from its keyword arguments of the same names (or takes one
    as ``options=``); see :func:`simulate` for their meaning.  Validated on construction.

    Attributes
    ----------
    n_paths, chunk_size, block_size : int or None
    brownian_substeps : int
    save_every : int or None
    t_eval : tuple of float or None
    keep_final : bool
    dtype : numpy dtype, float64 or float32
    progress : bool or None
    check_every : int
    blocks : (int, int) or None
    backend : {"auto", "numpy", "numba"}
    threads : int
        Threads running a chunk's blocks side by side on the numba backend (same result).
    max_steps : int
    normals : {"sfc64", "philox"}
        The normal source: numpy's SFC64 ziggurat per block (default), or the counter-based
        Philox4x32-10 with Box–Muller of :mod:`dynopt.engine.normals` (``options=
        EnsembleOptions(normals="philox")``): the same numbers on both backends, several times
        faster in float32 on the compiled one; other numbers than "sfc64" (another sample).
    """

    n_paths: Optional[int] = None
    chunk_size: Optional[int] = None
    block_size: Optional[int] = None
    brownian_substeps: int = 1
    save_every: Optional[int] = None
    t_eval: Optional[tuple] = None
    keep_final: bool = True
    dtype: Any = np.float64
    progress: Optional[bool] = None
    check_every: int = 16
    blocks: Optional[tuple] = None
    backend: str = "auto"
    threads: int = 1
    max_steps: int = MAX_STEPS
    normals: str = "sfc64"

    def __post_init__(self):
        if self.n_paths is not None:
            _positive_int(self.n_paths, "n_paths")
        _positive_int(self.max_steps, "max_steps")
        _positive_int(self.brownian_substeps, "brownian_substeps")
        check_save_every(self.save_every)
        if self.t_eval is not None:
            if self.save_every is not None:
                raise ValueError("give `save_every` or `t_eval`, not both")
            object.__setattr__(self, "t_eval", tuple(np.atleast_1d(np.asarray(self.t_eval, dtype=float)).tolist()))
        _positive_int(self.check_every, "check_every")
        _positive_int(self.threads, "threads")
        dtype = np.dtype(self.dtype)
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"`dtype` must be float64 or float32; got {dtype}")
        object.__setattr__(self, "dtype", dtype)
        check_normals(self.normals)


@dataclass
class EnsembleResult:
    """Result of :func:`simulate`, in the vocabulary of :mod:`dynopt.engine.results` (``times``,
    ``states``, ``final_state``, ``final_positions``), shared with ODE solutions.

    Attributes
    ----------
    t_final : float
    n_paths, n_steps : int
    dt : float
    method : str
    seed : int
        Entropy of the root SeedSequence (rerun with ``seed=SeedSequence(seed)``).
    y_final : ndarray (n_paths, state_dim) or None
        Final states (``keep_final=True``); rows of diverged paths are NaN.  Also ``final_state``.
    times, paths : ndarray or None
        Saved (thinned) trajectory, only with ``save_every``; ``paths`` is also ``states``.
    observations : dict
        Observer name → its result; each is also an attribute (``result.moments``).
    n_diverged : int
        Paths that blew up (non-finite or |y| > BLOWUP); they are excluded from every
        statistic and ``note`` says so.
    first_divergence_step : int or None
        Earliest step at which a blow-up was detected (resolution ``check_every``).
    diverged_step : ndarray (n_paths,)
        Detection step per path, −1 if it did not diverge.
    grad_evals : int
        Drift (gradient) evaluations per path, as counted by the scheme in its state.
    model : Model or None
        The model simulated (gives ``final_positions``).
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
    grad_evals: int = 0
    backend: str = "numpy"
    model: Any = dataclasses.field(default=None, repr=False, compare=False)

    def __getattr__(self, name):
        # only reached when normal lookup fails: observers by name as attributes
        obs = self.__dict__.get("observations") or {}
        if name in obs:
            return obs[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute or observer {name!r} "
                             f"(observers: {sorted(obs)})")

    @property
    def diverged_fraction(self) -> float:
        return self.n_diverged / self.n_paths

    @property
    def alive(self):
        return self.diverged_step < 0

    @property
    def diverged(self) -> bool:
        return self.n_diverged > 0

    @property
    def states(self):
        """Saved states (``paths``), shape (k, n_paths, state_dim), or None without ``save_every``."""
        return self.paths

    @property
    def final_state(self):
        """Final states (``y_final``), shape (n_paths, state_dim), or None without ``keep_final``."""
        return self.y_final

    @property
    def final_positions(self):
        """θ of the non-diverged paths at the final time, shape (n_alive, d); also callable as
        ``final_positions(model)``."""
        recompute = lambda m: final_positions(self.y_final, m, self.alive)  # noqa: E731
        if self.model is None:
            return FinalPositions(np.empty((0, 0)), recompute)
        return FinalPositions(recompute(self.model), recompute)


class Run(NamedTuple):
    """Everything a chunk of an ensemble run needs, fixed before the first step."""

    model: Any
    scheme: Any
    t0: float
    dt: float
    n_steps: int
    y_init: np.ndarray
    layout: Any
    root: np.random.SeedSequence
    observers: tuple
    look: dict
    save_k: list
    opts: EnsembleOptions
    blowup: float = BLOWUP


class Outputs(NamedTuple):
    """Per-path results of the rows a run covers (all paths, or one task's blocks)."""

    y_final: Optional[np.ndarray]
    paths: Optional[np.ndarray]
    diverged_step: np.ndarray
    grad_evals: int

    @classmethod
    def empty(cls, run, n_rows):
        D, o = run.model.state_dim, run.opts
        return cls(np.empty((n_rows, D), dtype=o.dtype) if o.keep_final else None,
                   np.empty((len(run.save_k), n_rows, D), dtype=o.dtype) if run.save_k else None,
                   np.full(n_rows, -1, dtype=np.int64), 0)


def simulate(model, scheme, t_span, y0, dt, *, n_paths=None, seed=None, rng=None, observers=(),
             chunk_size=None, block_size=None, brownian_substeps=1, save_every=None, t_eval=None,
             keep_final=True, dtype=np.float64, progress=None, check_every=16, executor=None,
             blocks=None, options=None, backend="auto", max_steps=MAX_STEPS) -> EnsembleResult:
    """Run an ensemble of SDE paths with a fixed-step scheme, chunk by chunk, in place.

    Paths are cut into logical blocks, each with its own SFC64 stream spawned from the root
    SeedSequence (:mod:`dynopt.engine.brownian`); chunks of whole blocks (≈ L2-cache sized)
    go through all steps one after the other, so memory does not grow with the steps.
    Results are bit-for-bit identical for any ``chunk_size``.

    Parameters
    ----------
    model : SDEModel
    scheme : str or SDEScheme
        A name from ``METHODS`` (e.g. "euler-maruyama", "baoab") or a scheme instance.
    t_span : (float, float)
    y0 : array_like, shape (state_dim,) or (n_paths, state_dim)
        A Kramers model also accepts a position (d,) and starts at rest.
    dt : float > 0, dividing the interval
    n_paths : int, optional
        Number of paths (default: rows of ``y0``, else 1).
    seed, rng : int, SeedSequence or Generator
        The root of all randomness (one of them).  ``None``: fresh entropy, recorded.
    observers : sequence of Observer
        Streaming statistics (:class:`Moments`, :class:`Histogram`, :class:`Histogram2D`,
        :class:`FirstPassage`, :class:`ValuesAt`); results in ``observations[name]``.
    chunk_size : int, optional
        Paths per chunk (rounded to whole blocks); default ≈ 384 KiB of state (numba: 16 MiB, shared by its threads).
    block_size : int, optional
        Paths per logical block (default :data:`dynopt.engine.brownian.DEFAULT_BLOCK_SIZE`).
        Changing it changes the random numbers; changing ``chunk_size`` does not.
    brownian_substeps : int
        Draw the Brownian path at step dt/r and sum: runs with (dt, r) and (dt/r, 1)
        see the same Brownian path (strong-error studies).
    save_every : int, optional
        Keep every ``save_every``-th state of every path (memory ∝ steps/save_every).
    t_eval : array_like, optional
        Keep every path's state at these times (on the step grid; not with ``save_every``).
    keep_final : bool
        Keep the final states (memory ∝ n_paths).  ``dtype``: float64 or float32.
    progress : bool, optional
        tqdm bar; by default shown once the estimated run time exceeds PROGRESS_AFTER_S.
    check_every : int
        Steps between blow-up checks (also done at every observed step).
    executor : optional
        An executor from :mod:`dynopt.engine.executors` (``local``, ``dask``): block groups
        run as tasks and merge in block order — bit for bit the serial result.
    blocks : (int, int), optional
        Run only the logical blocks ``[first, last)`` (what one executor task does);
        ``y_final``/``paths``/``diverged_step`` then hold only those blocks' rows.
    options : EnsembleOptions, optional
        All of the above from ``n_paths`` to ``blocks`` (except ``executor``) as one
        value; keyword arguments that differ from their defaults override its fields.
    backend : {"auto", "numpy", "numba"}
        Compiled kernels with the same normals (:mod:`dynopt.engine.kernels`).
    max_steps : int
        Refuse runs of more steps than this (default 10^8; raisable).

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ValueError, TypeError
        Bad ``dt``/``t_span``/sizes/``y0``, more steps than ``max_steps`` or memory than the
        machine has, a wrong kind of model/scheme/observer/executor — before anything runs.
    """
    tic = time.perf_counter()
    t_eval = None if t_eval is None else tuple(np.atleast_1d(np.asarray(t_eval, dtype=float)).tolist())
    opts = _options(options, n_paths=n_paths, chunk_size=chunk_size, block_size=block_size,
                    brownian_substeps=brownian_substeps, save_every=save_every, t_eval=t_eval,
                    keep_final=keep_final, dtype=dtype, progress=progress, check_every=check_every,
                    blocks=blocks, backend=backend, max_steps=max_steps)
    check_executor(executor)
    run = _prepare(model, as_scheme(scheme), t_span, y0, dt, as_seed_sequence(seed, rng), observers, opts)
    run, why = kernels.select_backend(run)
    out = _run_serial(run) if executor is None else run_on_executor(executor, run, t_span, y0, dt)
    return kernels.mark_backend(_result(run, out, time.perf_counter() - tic), run, why)


def _options(options, **given) -> EnsembleOptions:
    """``options`` (default all defaults) with the explicitly given keywords on top."""
    defaults = EnsembleOptions()
    changed = {k: v for k, v in given.items() if v is not getattr(defaults, k) and v != getattr(defaults, k)}
    if options is None:
        return EnsembleOptions(**changed)
    if not isinstance(options, EnsembleOptions):
        raise TypeError(f"`options` must be an EnsembleOptions; got {type(options).__name__}")
    return dataclasses.replace(options, **changed)


def _prepare(model, scheme, t_span, y0, dt, root, observers, opts) -> Run:
    """Check everything and fix the run's layout, saving and observation steps."""
    check_model(model)
    check_observers(observers)
    if not hasattr(scheme, "noise_kind"):
        raise ValueError(f"`scheme` {scheme.name!r} is an ODE scheme; simulate() needs an SDE scheme "
                         "(e.g. 'euler-maruyama', 'milstein', 'baoab')")
    scheme.check_model(model)
    n_steps = step_count(check_t_span(t_span), dt)
    check_max_steps(n_steps, opts.max_steps, dt)
    t0, dt = float(t_span[0]), float(dt)
    y_init = model.as_state(check_y0(y0))
    n_paths = y_init.shape[0] if opts.n_paths is None else opts.n_paths
    if y_init.shape[0] not in (1, n_paths):
        raise ValueError(f"`y0` has {y_init.shape[0]} rows but `n_paths` is {n_paths}")
    D = model.state_dim
    _check_run_memory(opts, n_paths, n_steps, D, observers)
    per_path = opts.dtype.itemsize * (D + scheme.n_terms * model.noise_dim + D)
    layout = make_layout(n_paths, opts.block_size, opts.chunk_size, max(1, CACHE_BYTES // per_path))
    if opts.normals != "sfc64" and (scheme.noise_kind == "custom" or
                                    any(getattr(o, "absorb", False) == "survivors" for o in observers)):
        raise ValueError(f"`normals={opts.normals!r}` needs a scheme drawing standard normals for every path; "
                         f"use normals='sfc64' with {scheme.name!r} or absorb='survivors'")
    if opts.brownian_substeps > 1 and scheme.noise_kind != "normal":
        raise ValueError(f"`brownian_substeps` needs a scheme drawing normals; {scheme.name!r} draws its own noise")
    for o in observers:
        if not isinstance(o, Observer):
            raise TypeError(f"`observers` must be Observer instances; got {type(o).__name__} {o!r}")
    names = [o.name for o in observers]
    if len(set(names)) != len(names):
        raise ValueError(f"`observers` need distinct names; got {names}")
    look = {}
    for o in observers:
        for k in o.steps(n_steps, t0, dt):
            look.setdefault(k, []).append(o)
        o.start(layout, D)
    if opts.blocks is None:
        opts = dataclasses.replace(opts, blocks=(0, layout.n_blocks))
    b_lo, b_hi = (int(b) for b in opts.blocks)
    if not 0 <= b_lo < b_hi <= layout.n_blocks:
        raise ValueError(f"`blocks` must satisfy 0 <= first < last <= {layout.n_blocks}; got {opts.blocks!r}")
    return Run(model, scheme, t0, dt, n_steps, y_init, layout, root, tuple(observers), look,
               save_steps(n_steps, opts.save_every) if opts.t_eval is None else
               eval_steps(opts.t_eval, t_span, dt, n_steps), dataclasses.replace(opts, n_paths=n_paths, blocks=(b_lo, b_hi)),
               blowup_limit(model, y_init, BLOWUP))


def _check_run_memory(opts, n_paths, n_steps, D, observers):
    """Refuse, with the figure, a run whose per-path arrays exceed the machine's memory."""
    item = opts.dtype.itemsize
    n_saved = (len(opts.t_eval) if opts.t_eval is not None else
               len(save_steps(n_steps, opts.save_every)) if opts.save_every else 0)
    per_path = 8 + item * D * (int(opts.keep_final) + n_saved)  # diverged step, final state, saved path
    for o in observers:
        # the observers that keep something per path: ValuesAt (states), FirstPassage (a step)
        if type(o).__name__ == "ValuesAt":
            per_path += 8 * D * np.atleast_1d(o.times).size
        elif type(o).__name__ == "FirstPassage":
            per_path += 8
    check_memory(per_path * n_paths, f"a run of {n_paths} paths (`n_paths`) keeping {per_path} bytes per path")


def save_steps(n_steps, save_every):
    """Steps kept for a thinned trajectory: every ``save_every``-th and the last."""
    if not save_every:
        return []
    ks = list(range(0, n_steps + 1, save_every))
    if ks[-1] != n_steps:
        ks.append(n_steps)
    return ks


def _run_serial(run) -> Outputs:
    """Run the blocks ``run.opts.blocks`` chunk after chunk in this process."""
    b_lo, b_hi = run.opts.blocks
    row_lo = run.layout.block_rows(b_lo)[0]
    n_rows = run.layout.block_rows(b_hi - 1)[1] - row_lo
    out = Outputs.empty(run, n_rows)
    bar = _Progress(n_rows * run.n_steps, run.scheme.name, run.opts.progress)
    evals = 0
    with np.errstate(all="ignore"):
        for b0, b1, r0, r1 in run.layout.chunks(b_lo, b_hi):
            evals = _run_chunk(run, out, b0, b1, r0 - row_lo, r1 - row_lo, bar)
    bar.close()
    return out._replace(grad_evals=evals)


#: seconds of estimated run time from which :func:`simulate` shows a progress bar by default
PROGRESS_AFTER_S = 2.0


class _Progress:
    """A tqdm bar over path-steps that, in automatic mode (``show=None``), appears only when
    the run's estimated time exceeds PROGRESS_AFTER_S — estimated from the time its first
    steps took, so that the rule follows the real cost (model, scheme, machine) rather than
    a fixed work size."""

    def __init__(self, total, desc, show):
        self.total, self.desc, self.show = total, desc, show
        self.done, self.bar, self.tic = 0, None, time.perf_counter()
        if show:
            self._open()

    def _open(self):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=self.total, initial=self.done, unit="path-step", unit_scale=True,
                        desc=self.desc, file=sys.stderr)

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.show is None and self.done < self.total:
            spent = time.perf_counter() - self.tic
            if spent * self.total / self.done > PROGRESS_AFTER_S:
                self._open()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _noise(run, b0, b1, n_rows):
    """The chunk's per-step noise: a function of no arguments returning this step's draw."""
    scheme, model = run.scheme, run.model
    if scheme.noise_kind == "custom":
        gens = [block_generator(run.root, b) for b in range(b0, b1)]
        off = run.layout.block_rows(b0)[0]
        rows = [(a - off, e - off) for a, e in (run.layout.block_rows(b) for b in range(b0, b1))]
        return lambda: scheme.draw_noise(model, gens, rows, n_rows)
    source = PhiloxSource if run.opts.normals == "philox" else NoiseSource
    src = source(run.root, run.layout, b0, b1, scheme.n_terms, model.noise_dim,
                 run.opts.brownian_substeps, run.opts.dtype)
    return src.draw


def _run_chunk(run, out, b0, b1, lo, hi, bar):
    """Advance the paths of blocks ``[b0, b1)`` (rows ``[lo, hi)`` of ``out``) through all
    steps; returns the gradient evaluations per path from the scheme's final state."""
    model, scheme, t0, dt, opts = run.model, run.scheme, run.t0, run.dt, run.opts
    if opts.backend == "numba":
        return kernels.run_chunk(run, out, b0, b1, lo, hi, bar)
    nc, D = hi - lo, model.state_dim
    r0 = run.layout.block_rows(b0)[0]
    y_init = run.y_init if run.y_init.shape[0] == 1 else run.y_init[r0:r0 + nc]
    state = scheme.init(model, np.array(np.broadcast_to(y_init, (nc, D)), dtype=opts.dtype), dt)
    draw = _noise(run, b0, b1, nc)
    alive = np.ones(nc, dtype=bool)
    dsteps = out.diverged_step[lo:hi]
    save_pos = {k: i for i, k in enumerate(run.save_k)}
    look, check_every, n_steps = run.look, opts.check_every, run.n_steps

    absorber = Absorption.for_chunk(run, out, lo, hi, r0)
    custom = scheme.noise_kind == "custom"

    def visit(k, y):
        if absorber is not None:
            return absorber.visit(k, t0 + k * dt, y, look.get(k, ()), alive, (b0, b1, run.layout), save_pos)
        for o in look.get(k, ()):
            o.observe(k, t0 + k * dt, y, b0, b1, run.layout, alive)
        if k in save_pos:
            out.paths[save_pos[k], lo:hi] = y

    if 0 in look or 0 in save_pos:
        visit(0, scheme.output(model, state))
    since = 0
    for k in range(1, n_steps + 1):
        z = draw() if absorber is None else absorber.noise(draw, custom)
        state = scheme.step(model, t0 + (k - 1) * dt, state, dt, z)
        need = k in look or k in save_pos
        if need or k % check_every == 0 or k == n_steps:
            y = scheme.output(model, state)
            live = alive if absorber is None else absorber.running(alive)
            bad = ~(np.abs(y) <= run.blowup).all(axis=1) & live
            if bad.any():
                where = bad if absorber is None else absorber.kill(bad, k)
                dsteps[where] = k
                alive[where] = False
                state = scheme.kill(state, bad)
                y = scheme.output(model, state)
            if need:
                visit(k, y)
            if absorber is not None:
                state = absorber.compact(k, state, alive)
        if bar is not None and k - since >= 512:
            bar.update((k - since) * nc)
            since = k
    if bar is not None:
        bar.update((n_steps - since) * nc)
    if absorber is not None:
        absorber.finish(scheme.output(model, state))
    elif opts.keep_final:
        out.y_final[lo:hi] = scheme.output(model, state)
    return int(state.grad_evals)


def _result(run, out: Outputs, seconds) -> EnsembleResult:
    """The :class:`EnsembleResult` of a finished run."""
    ds = out.diverged_step
    n_paths, n_div = run.layout.n_paths, int(np.count_nonzero(ds >= 0))
    first = int(ds[ds >= 0].min()) if n_div else None
    note = ""
    if n_div:
        note = (f"{n_div} of {n_paths} paths ({n_div / n_paths:.3%}) diverged (|y| > {run.blowup:.3g} = "
                f"1e12 × the run's scale, or non-finite; first detected at step "
                f"{first}, checks every {run.opts.check_every} steps); they are excluded from final-state "
                f"statistics and from every observation after their detection (time averages taken before "
                f"it include them)")
    entropy = run.root.entropy
    return EnsembleResult(
        t_final=run.t0 + run.n_steps * run.dt, n_paths=int(n_paths), n_steps=run.n_steps, dt=run.dt,
        method=run.scheme.name, seed=int(entropy) if isinstance(entropy, (int, np.integer)) else entropy,
        y_final=out.y_final, times=run.t0 + run.dt * np.array(run.save_k) if run.save_k else None,
        paths=out.paths, observations=_results(run.observers), n_diverged=n_div, first_divergence_step=first,
        diverged_step=ds, chunk_size=run.layout.chunk_size, block_size=run.layout.block_size,
        dtype=run.opts.dtype.name, seconds=seconds, note=note, grad_evals=out.grad_evals,
        model=run.model)


def _run_part(task):
    """One executor task: run the blocks ``[lo, hi)`` and return what the merge needs."""
    model, scheme, t_span, y0, dt, opts, root, observers = task
    r = simulate(model, scheme, t_span, y0, dt, seed=root, observers=observers, options=opts)
    # divergences are rare: send (row, step) pairs instead of one int64 per path
    rows = np.flatnonzero(r.diverged_step >= 0)
    return opts.blocks, observers, r.y_final, r.paths, (rows, r.diverged_step[rows]), r.grad_evals


def run_on_executor(executor, run, t_span, y0, dt):
    """Run ``run`` (a prepared ``dynopt.engine.ensemble.Run``) as one task per group of
    blocks on ``executor`` and merge the parts into the run's :class:`Outputs`."""
    b_lo, b_hi = run.opts.blocks
    groups = [(b_lo + a, b_lo + b) for a, b in block_groups(b_hi - b_lo, getattr(executor, "n_workers", 1))]
    tasks = [(run.model, run.scheme, t_span, y0, dt,
              dataclasses.replace(run.opts, blocks=grp, progress=False), run.root,
              [copy.deepcopy(o) for o in run.observers]) for grp in groups]
    parts = executor.map(_run_part, tasks)
    row_lo = run.layout.block_rows(b_lo)[0]
    out = Outputs.empty(run, run.layout.block_rows(b_hi - 1)[1] - row_lo)
    evals = 0
    for (lo, hi), obs, yf, pth, (div_rows, div_steps), evals in sorted(parts, key=lambda p: p[0]):
        # every path takes the same steps, so every part reports the same count
        a, e = (r - row_lo for r in (run.layout.block_rows(lo)[0], run.layout.block_rows(hi - 1)[1]))
        for mine, theirs in zip(run.observers, obs):
            mine.merge(theirs, run.layout, lo, hi)
        if out.y_final is not None:
            out.y_final[a:e] = yf
        if out.paths is not None:
            out.paths[:, a:e] = pth
        out.diverged_step[a + div_rows] = div_steps
    return out._replace(grad_evals=evals)
