"""SDE ensembles: :func:`simulate` runs paths in logical blocks (each with its own random
stream) and cache-sized chunks, in place, with observers, saving and divergence detection;
the executor split/merge runs contiguous block ranges as tasks and merges them in block order.
"""
from __future__ import annotations
from dynopt.engine.loop import BLOWUP, step_count
from dynopt.engine.observers import Observer, _results


from dataclasses import dataclass
from typing import Optional
import numpy as np
from dynopt.schemes import get_scheme
import sys
import time
from dynopt.engine.brownian import NoiseSource, as_seed_sequence, block_generator, make_layout

__all__ = ["CACHE_BYTES", "EnsembleResult", "simulate"]


#: bytes of chunk state the engine aims to keep resident in a core's L2 cache (512 KiB
#: here; state, noise buffer and one work array of a 1-D problem at 2^14 paths)
CACHE_BYTES = 3 * 2 ** 17


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


def simulate(model, scheme, t_span, y0, dt, *, n_paths=None, seed=None, rng=None, observers=(),
             chunk_size=None, block_size=None, brownian_substeps=1, save_every=None,
             keep_final=True, dtype=np.float64, progress=None, check_every=16, executor=None,
             blocks=None) -> EnsembleResult:
    """Run an ensemble of SDE paths with a fixed-step scheme, chunk by chunk, in place.

    Paths are cut into logical blocks of ``block_size`` paths, each with its own SFC64
    stream spawned from the root SeedSequence (see :mod:`dynopt.engine.brownian`); chunks of
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
        Paths per logical block (default :data:`dynopt.engine.brownian.DEFAULT_BLOCK_SIZE`).
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
