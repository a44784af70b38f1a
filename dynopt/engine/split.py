"""An ensemble run split over an executor and merged back.

The logical blocks of a run are cut into contiguous groups, one per worker; each group is
an independent task (a :func:`dynopt.engine.simulate` call restricted to its blocks, with
its own copies of the observers) and the parts are merged in block order, so the result
is bit-for-bit that of a serial run whatever the executor, the number of workers or the
order in which tasks finish.
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np

__all__ = ["block_groups", "run_on_executor"]


def block_groups(n_blocks, n_workers):
    """``[(first, last), ...]``: ``n_blocks`` cut into at most ``n_workers`` contiguous,
    nearly equal, non-empty groups (one task per worker: equal work, fewest results to ship)."""
    n_tasks = max(1, min(n_blocks, n_workers))
    edges = np.linspace(0, n_blocks, n_tasks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _run_part(task):
    """One executor task: run the blocks ``[lo, hi)`` and return what the merge needs."""
    from dynopt.engine.ensemble import simulate

    model, scheme, t_span, y0, dt, opts, root, observers = task
    r = simulate(model, scheme, t_span, y0, dt, seed=root, observers=observers, options=opts)
    # divergences are rare: send (row, step) pairs instead of one int64 per path
    rows = np.flatnonzero(r.diverged_step >= 0)
    return opts.blocks, observers, r.y_final, r.paths, (rows, r.diverged_step[rows]), r.grad_evals


def run_on_executor(executor, run, t_span, y0, dt):
    """Run ``run`` (a prepared :class:`dynopt.engine.ensemble.Run`) as one task per group of
    blocks on ``executor`` and merge the parts into the run's :class:`Outputs`."""
    from dynopt.engine.ensemble import Outputs

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
