"""Running the blocks of a prepared ensemble run (:class:`dynopt.engine.ensemble.Run`):
chunk after chunk in this process (:func:`run_blocks`), or as tasks on an executor, one
group of blocks each (:func:`dynopt.engine.split.block_groups`), merged back in block order
(:func:`run_on_executor`) — bit for bit the serial result.  Nothing here checks an argument:
the run was checked when it was prepared.
"""
from __future__ import annotations

import copy
import sys
import time
from typing import NamedTuple, Optional

import numpy as np

from dynopt.engine import kernels
from dynopt.engine.absorb import Absorption
from dynopt.engine.brownian import NoiseSource
from dynopt.engine.normals import PhiloxSource
from dynopt.engine.split import block_groups

__all__ = ["Outputs", "run_blocks", "run_on_executor", "PROGRESS_AFTER_S"]


class Outputs(NamedTuple):
    """Per-path results of the rows a run covers (all paths, or one task's blocks), from
    the run's row ``first_row`` on."""

    y_final: Optional[np.ndarray]
    paths: Optional[np.ndarray]
    diverged_step: np.ndarray
    grad_evals: int
    first_row: int = 0

    @classmethod
    def empty(cls, run, n_rows, first_row=0):
        D, o = run.y_init.shape[1], run.opts
        return cls(np.empty((n_rows, D), dtype=o.dtype) if o.keep_final else None,
                   np.empty((len(run.save_k), n_rows, D), dtype=o.dtype) if run.save_k else None,
                   np.full(n_rows, -1, dtype=np.int64), 0, first_row)


def run_blocks(run, b_lo, b_hi, progress=False) -> Outputs:
    """Run the logical blocks ``[b_lo, b_hi)`` of the prepared ``run`` chunk after chunk in
    this process (all of a serial run, or one executor task); ``progress`` as
    :attr:`EnsembleOptions.progress`.  Returns the rows of those blocks."""
    chunks = list(run.layout.chunks(b_lo, b_hi))  # (first block, end block, first row, end row)
    row_lo = chunks[0][2]
    n_rows = chunks[-1][3] - row_lo
    out = Outputs.empty(run, n_rows, row_lo)
    bar = _Progress(n_rows * run.n_steps, run.scheme.name, progress)
    evals = 0
    with np.errstate(all="ignore"):
        for b0, b1, r0, r1 in chunks:
            if run.kernel is None:
                evals = _run_chunk(run, out, (b0, b1, r0), r0 - row_lo, r1 - row_lo, bar)
            else:
                evals = kernels.run_chunk(run, out, b0, b1, r0 - row_lo, r1 - row_lo, bar)
    bar.close()
    return out._replace(grad_evals=evals)


def run_on_executor(executor, run) -> Outputs:
    """Run the prepared ``run`` as one task per group of blocks on ``executor`` and merge
    the parts, in block order, into the run's :class:`Outputs` (and its observers).

    Each task gets the run with its own copies of the observers and runs its blocks with
    :func:`run_blocks`: it neither checks nor compiles anything again.
    """
    out = Outputs.empty(run, run.layout.n_paths)
    tasks = [(_own_observers(run), lo, hi)
             for lo, hi in block_groups(run.layout.n_blocks, getattr(executor, "n_workers", 1))]
    parts = executor.map(_run_task, tasks)
    evals = 0
    for lo, hi, (a, e), obs, yf, pth, (div_rows, div_steps), evals in sorted(parts, key=lambda p: p[0]):
        # every path takes the same steps, so every part reports the same count
        for mine, theirs in zip(run.observers, obs):
            mine.merge(theirs, run.layout, lo, hi)
        if out.y_final is not None:
            out.y_final[a:e] = yf
        if out.paths is not None:
            out.paths[:, a:e] = pth
        out.diverged_step[a + div_rows] = div_steps
    return out._replace(grad_evals=evals)


def _own_observers(run):
    """``run`` with fresh copies of its observers (one copy of each, shared by ``look``)."""
    observers, look = copy.deepcopy((run.observers, run.look))
    return run._replace(observers=observers, look=look)


def _run_task(task):
    """One executor task: run the blocks ``[lo, hi)`` of a prepared run and return what the
    merge needs."""
    run, lo, hi = task
    out = run_blocks(run, lo, hi)
    # divergences are rare: send (row, step) pairs instead of one int64 per path
    rows = np.flatnonzero(out.diverged_step >= 0)
    span = (out.first_row, out.first_row + out.diverged_step.size)
    return lo, hi, span, run.observers, out.y_final, out.paths, (rows, out.diverged_step[rows]), out.grad_evals


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
        src = NoiseSource(run.root, run.layout, b0, b1, 0)  # the blocks' generators and rows, no buffer
        return lambda: scheme.draw_noise(model, src.gens, src.local, n_rows)
    source = PhiloxSource if run.opts.normals == "philox" else NoiseSource
    src = source(run.root, run.layout, b0, b1, scheme.n_terms, model.noise_dim,
                 run.opts.brownian_substeps, run.opts.dtype)
    return src.draw


def _run_chunk(run, out, where, lo, hi, bar):
    """Advance the paths of the chunk ``where = (b0, b1, r0)`` (blocks ``[b0, b1)`` from the
    run's row ``r0``, rows ``[lo, hi)`` of ``out``) through all steps on the numpy backend;
    returns the gradient evaluations per path from the scheme's final state."""
    model, scheme, t0, dt, opts = run.model, run.scheme, run.t0, run.dt, run.opts
    b0, b1, r0 = where
    nc, D = hi - lo, run.y_init.shape[1]
    draw = _noise(run, b0, b1, nc)
    absorber = Absorption.for_chunk(run, out, lo, hi, r0)
    custom = scheme.noise_kind == "custom"
    alive = np.ones(nc, dtype=bool)
    dsteps = out.diverged_step[lo:hi]
    save_pos = {k: i for i, k in enumerate(run.save_k)}
    look, check_every, n_steps = run.look, opts.check_every, run.n_steps
    y_init = run.y_init if run.y_init.shape[0] == 1 else run.y_init[r0:r0 + nc]
    state = scheme.init(model, np.array(np.broadcast_to(y_init, (nc, D)), dtype=opts.dtype), dt)

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
