"""How an ensemble run is split over an executor: the logical blocks are cut into
contiguous groups, one per worker.  Each group is an independent task (the blocks of the
prepared run, :func:`dynopt.engine.chunks.run_blocks`, with its own copies of the
observers) and :func:`dynopt.engine.chunks.run_on_executor` merges the parts in block
order, so the result is bit-for-bit that of a serial run whatever the executor, the number
of workers or the order in which tasks finish.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["block_groups", "block_threads"]


def block_groups(n_blocks, n_workers):
    """``[(first, last), ...]``: ``n_blocks`` cut into at most ``n_workers`` contiguous,
    nearly equal, non-empty groups (one task per worker: equal work, fewest results to ship)."""
    n_tasks = max(1, min(n_blocks, n_workers))
    edges = np.linspace(0, n_blocks, n_tasks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


@contextlib.contextmanager
def block_threads(threads, n_blocks):
    """A ``map`` over a chunk's block calls: on a pool of ``min(threads, n_blocks)`` threads
    (shut down on exit), or the built-in ``map`` in this thread when one would do."""
    if threads <= 1 or n_blocks <= 1:
        yield map
        return
    with ThreadPoolExecutor(min(threads, n_blocks)) as pool:
        yield pool.map
