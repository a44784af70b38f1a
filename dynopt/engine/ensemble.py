"""SDE ensembles: :func:`simulate` prepares a run once — checks every argument, fixes the
layout of paths in logical blocks (each with its own random stream) and cache-sized chunks,
the saved and observed steps, and compiles the kernel — into one frozen :class:`Run`; then
chunks of its blocks run in place, with observers, saving and divergence detection, in this
process or as tasks on an executor, cut into block groups
(:mod:`dynopt.engine.chunks`) and merged back in block order.
Nothing inside a run checks an argument again.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import numpy as np

from dynopt.checks import check_int
from dynopt.engine import kernels
from dynopt.engine.brownian import as_seed_sequence, make_layout
from dynopt.engine.chunks import Outputs, run_blocks, run_on_executor
from dynopt.engine.loop import check_save_every, eval_steps
from dynopt.engine.normals import check_normals
from dynopt.engine.results import final_positions
from dynopt.engine.observers import _results
from dynopt.engine.region import infer_region
from dynopt.engine.validate import (MAX_STEPS, check_executor, check_memory, check_observers,
                                    check_run)

__all__ = ["CACHE_BYTES", "EnsembleOptions", "EnsembleResult", "Run", "simulate"]


#: bytes of chunk state the engine aims to keep resident in a core's L2 cache (512 KiB
#: here; state, noise buffer and one work array of a 1-D problem at 2^14 paths)
CACHE_BYTES = 3 * 2 ** 17


@dataclass(frozen=True)
class EnsembleOptions:
    """How an ensemble is run — sizes, saving, precision, checks — as one frozen value,
    checked on construction: ``simulate(..., options=EnsembleOptions(block_size=1024,
    save_every=10))``; ``dataclasses.replace(options, keep_final=False)`` changes one field.

    What is run (``n_paths``, ``seed``, ``observers``) and where (``executor``, ``backend``)
    are :func:`simulate`'s own keywords; nothing is both.

    Attributes
    ----------
    chunk_size : int, optional
        Paths per chunk (rounded to whole blocks); default ≈ 384 KiB of state (numba: 16 MiB,
        shared by its threads).  Results do not depend on it.
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
        Keep the final states (memory ∝ n_paths).
    dtype : float64 or float32
    progress : bool, optional
        tqdm bar; by default shown once the estimated run time exceeds PROGRESS_AFTER_S.
    check_every : int
        Steps between blow-up checks (also done at every observed step).
    threads : int
        Threads running a chunk's blocks side by side on the numba backend (same result).
    max_steps : int
        Refuse runs of more steps than this (default 10^8; raisable).
    normals : {"sfc64", "philox"}
        The normal source: numpy's SFC64 ziggurat per block (default), or the counter-based
        Philox4x32-10 with Box–Muller of :mod:`dynopt.engine.normals` (``options=
        EnsembleOptions(normals="philox")``): the same numbers on both backends, several times
        faster in float32 on the compiled one; other numbers than "sfc64" (another sample).
    """

    chunk_size: Optional[int] = None
    block_size: Optional[int] = None
    brownian_substeps: int = 1
    save_every: Optional[int] = None
    t_eval: Optional[tuple] = None
    keep_final: bool = True
    dtype: Any = np.float64
    progress: Optional[bool] = None
    check_every: int = 16
    threads: int = 1
    max_steps: int = MAX_STEPS
    normals: str = "sfc64"

    def __post_init__(self):
        check_int(self.max_steps, "max_steps")
        check_int(self.brownian_substeps, "brownian_substeps")
        check_save_every(self.save_every)
        if self.t_eval is not None:
            if self.save_every is not None:
                raise ValueError("give `save_every` or `t_eval`, not both")
            try:
                times = np.atleast_1d(np.asarray(self.t_eval, dtype=float))
            except (TypeError, ValueError):
                raise TypeError(f"`t_eval` must be an array of times; got {self.t_eval!r}"[:300]) from None
            # frozen as a tuple; which times are allowed depends on the run (eval_steps)
            object.__setattr__(self, "t_eval", tuple(times.tolist()))
        check_int(self.check_every, "check_every")
        check_int(self.threads, "threads")
        dtype = np.dtype(self.dtype)
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"`dtype` must be float64 or float32; got {dtype}")
        object.__setattr__(self, "dtype", dtype)
        check_normals(self.normals)


@dataclass
class EnsembleResult:
    """Result of :func:`simulate`, in the vocabulary of :mod:`dynopt.engine.results` (``t``,
    ``y``, ``y_final``, ``final_positions``), shared with ODE solutions.

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
    t, y : ndarray or None
        Saved (thinned) trajectory, only with ``save_every`` or ``t_eval``: times, shape (k,), and
        states, shape (k, n_paths, state_dim).
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
    t: Optional[np.ndarray]
    y: Optional[np.ndarray]
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
    def final_positions(self):
        """θ of the non-diverged paths at the final time, shape (n_alive, d), through the run's
        model (for another model: ``model.position(result.y_final[result.alive])``)."""
        if self.model is None:
            raise ValueError("this EnsembleResult carries no model: use model.position(result.y_final)")
        return final_positions(self.y_final, self.model, self.alive)


class Run(NamedTuple):
    """A prepared ensemble run: everything its chunks need, checked and fixed before the
    first step, never changed after (observers accumulate into their own state).

    Built once by :func:`simulate`; :func:`dynopt.engine.chunks.run_blocks` runs any range
    of its blocks, here or in an executor task, and nothing downstream checks an argument
    again.  ``backend``, ``kernel`` and ``note`` are filled by
    :func:`dynopt.engine.kernels.select_backend`: the compiled kernel (None on the numpy
    backend), compiled once for the run.
    """

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
    save_k: tuple
    opts: EnsembleOptions
    blowup: float
    region: Any = None  # dynopt.engine.region.Region of a potential unbounded below, or None
    backend: str = "numpy"
    kernel: Any = None
    note: str = ""


def simulate(model, scheme, t_span, y0, dt, *, n_paths=None, seed=None, rng=None, observers=(),
             executor=None, backend="auto", options=None) -> EnsembleResult:
    """Run an ensemble of SDE paths with a fixed-step scheme, chunk by chunk, in place.

    Paths are cut into logical blocks, each with its own SFC64 stream spawned from the root
    SeedSequence (:mod:`dynopt.engine.brownian`); chunks of whole blocks (≈ L2-cache sized)
    go through all steps one after the other, so memory does not grow with the steps.
    Results are bit-for-bit identical for any chunk size, number of threads and executor.
    How the run is done — sizes, saving, precision, checks — is one :class:`EnsembleOptions`::

        simulate(model, "baoab", (0, 10), y0, 0.01, n_paths=10_000, seed=1,
                 observers=[Moments(every=10)], options=EnsembleOptions(block_size=1024))

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
        Number of paths (default: rows of ``y0``).
    seed, rng : int, SeedSequence or Generator
        The root of all randomness (one of them).  ``None``: fresh entropy, recorded.
    observers : sequence of Observer
        Streaming statistics (:class:`Moments`, :class:`Histogram`, :class:`Histogram2D`,
        :class:`FirstPassage`, :class:`ValuesAt`); results in ``observations[name]``.
    executor : optional
        An executor from :mod:`dynopt.engine.executors` (``local``, ``dask``): block groups
        of the prepared run go out as tasks and merge in block order — bit for bit the
        serial result.
    backend : {"auto", "numpy", "numba"}
        Compiled kernels with the same normals (:mod:`dynopt.engine.kernels`).
    options : EnsembleOptions, optional
        Chunk and block sizes, Brownian substeps, saving (``save_every``/``t_eval``),
        ``keep_final``, ``dtype``, ``progress``, ``check_every``, ``threads``, ``max_steps``
        and the normal source (default ``EnsembleOptions()``).

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ValueError, TypeError
        Bad ``dt``/``t_span``/sizes/``y0``, more steps than ``max_steps`` or memory than the
        machine has, a wrong kind of model/scheme/observer/executor/options — before
        anything runs.
    """
    tic = time.perf_counter()
    if options is None:
        options = EnsembleOptions()
    elif not isinstance(options, EnsembleOptions):
        raise TypeError(f"`options` must be an EnsembleOptions; got {type(options).__name__}")
    check_executor(executor)
    run = _prepare(model, scheme, t_span, y0, dt, n_paths, as_seed_sequence(seed, rng), observers, options,
                   backend)
    if executor is None:
        out = run_blocks(run, 0, run.layout.n_blocks, options.progress)
    else:
        out = run_on_executor(executor, run)
    return _result(run, out, time.perf_counter() - tic)


def _prepare(model, scheme, t_span, y0, dt, n_paths, root, observers, opts, backend) -> Run:
    """Check everything once and fix the run: layout, saved and observed steps, kernel."""
    scheme, t0, dt, n_steps, y_init, blowup = check_run(model, scheme, t_span, y0, dt, opts.max_steps, sde=True)
    observers = check_observers(observers)
    D = y_init.shape[1]
    per_path = opts.dtype.itemsize * (D + scheme.n_terms * model.noise_dim + D)
    layout = make_layout(y_init.shape[0] if n_paths is None else n_paths, opts.block_size, opts.chunk_size,
                         max(1, CACHE_BYTES // per_path))
    if y_init.shape[0] not in (1, layout.n_paths):
        raise ValueError(f"`y0` has {y_init.shape[0]} rows but `n_paths` is {layout.n_paths}")
    survivors = any(getattr(o, "absorb", False) == "survivors" for o in observers)
    if opts.normals != "sfc64" and (scheme.noise_kind == "custom" or survivors):
        raise ValueError(f"`normals={opts.normals!r}` needs a scheme drawing standard normals for every path; "
                         f"use normals='sfc64' with {scheme.name!r} or absorb='survivors'")
    if opts.brownian_substeps > 1 and scheme.noise_kind != "normal":
        raise ValueError(f"`brownian_substeps` needs a scheme drawing normals; {scheme.name!r} draws its own noise")
    if survivors and (scheme.noise_kind != "normal" or opts.brownian_substeps > 1):
        raise ValueError("absorb='survivors' needs a scheme drawing normals and brownian_substeps=1")
    save_k = (save_steps(n_steps, opts.save_every) if opts.t_eval is None else
              eval_steps(opts.t_eval, t_span, dt, n_steps))
    _check_run_memory(opts, layout.n_paths, len(save_k), D, observers)
    look = {}
    for o in observers:
        for k in o.steps(n_steps, t0, dt):
            look.setdefault(k, []).append(o)
        o.start(layout, D)
    blowup, region = _limits(model, y_init, blowup)
    run = Run(model, scheme, t0, dt, n_steps, y_init, layout, root, observers, look, tuple(save_k), opts, blowup,
              region)
    return kernels.select_backend(run, backend)


def _limits(model, y_init, blowup):
    """The run's blow-up limit and escape region: a potential unbounded below gets a region
    (:func:`dynopt.engine.region.infer_region`) whose radius caps the limit, so both backends
    (the compiled kernels compare |y| with that one number) stop an escaped path at the same
    check."""
    region = infer_region(model, y_init)
    return (blowup, None) if region is None else (min(blowup, region.radius), region)


def _check_run_memory(opts, n_paths, n_saved, D, observers):
    """Refuse, with the figure, a run whose per-path arrays exceed the machine's memory."""
    item = opts.dtype.itemsize
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


def _result(run, out: Outputs, seconds) -> EnsembleResult:
    """The :class:`EnsembleResult` of a finished run."""
    ds = out.diverged_step
    n_paths, n_div = run.layout.n_paths, int(np.count_nonzero(ds >= 0))
    first = int(ds[ds >= 0].min()) if n_div else None
    notes = [run.note] if run.note else []
    if n_div:
        why = (f"{run.region.describe()}, or non-finite" if run.region is not None else
               f"|y| > {run.blowup:.3g} = 1e12 × the run's scale, or non-finite")
        notes.insert(0, f"{n_div} of {n_paths} paths ({n_div / n_paths:.3%}) diverged ({why}; first detected at "
                        f"step {first}, checks every {run.opts.check_every} steps); they are excluded from "
                        f"final-state statistics and from every observation after their detection (time averages "
                        f"taken before it include them)")
    entropy = run.root.entropy
    return EnsembleResult(
        t_final=run.t0 + run.n_steps * run.dt, n_paths=int(n_paths), n_steps=run.n_steps, dt=run.dt,
        method=run.scheme.name, seed=int(entropy) if isinstance(entropy, (int, np.integer)) else entropy,
        y_final=out.y_final, t=run.t0 + run.dt * np.array(run.save_k) if run.save_k else None,
        y=out.paths, observations=_results(run.observers), n_diverged=n_div, first_divergence_step=first,
        diverged_step=ds, chunk_size=run.layout.chunk_size, block_size=run.layout.block_size,
        dtype=run.opts.dtype.name, seconds=seconds, note="; ".join(notes), grad_evals=out.grad_evals,
        backend=run.backend, model=run.model)
