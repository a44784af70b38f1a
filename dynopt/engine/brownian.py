"""Seeded Brownian increments organised in logical path blocks.

Why blocks: an ensemble of ``n_paths`` paths is cut into fixed *logical blocks* of
``block_size`` consecutive paths.  Block ``b`` owns its own random stream, a child of the
root :class:`numpy.random.SeedSequence` with spawn key ``root.spawn_key + (b,)`` (exactly
what ``root.spawn`` would give as its ``b``-th child), feeding an SFC64 bit generator (the
fastest one numpy ships).  Every step, a block draws its normals in one call, in the
order (step, noise term, path, component).  The numbers a path sees therefore depend only
on the root seed, the block size and its own index — not on how many blocks are
processed together (the chunk size) nor on which worker runs them, which is what makes
results bit-for-bit reproducible across chunk sizes and machines.

Coarsening: with ``substeps = r`` a block draws ``r`` fine increments per coarse step and
noise term — the same numbers, in the same order, that a run with an r-times smaller step
draws over r steps — and sums them.  A scheme with k noise terms per step (OBABO's two
half-step O substeps) sees term j as the increment over the j-th of k equal parts of the
step: the numbers a step draws are in time order, term after term.  One fine Brownian path
can so be replayed at coarser steps, which strong-error measurements need.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from dynopt.checks import check_finite_param, check_int
# a block's streams (its SFC64 Generator, its Philox key) are defined beside each other
from dynopt.engine.normals import block_generator

__all__ = ["as_seed_sequence", "block_generator", "BlockLayout", "NoiseSource",
           "DEFAULT_BLOCK_SIZE", "brownian_increments", "coarsen_increments"]

#: Paths per logical block.  Big enough that the per-call overhead of the generator
#: (about 1 µs) is a few percent of drawing a block's normals, small enough to give
#: chunks (whole numbers of blocks) that fit a core's L2 cache.
DEFAULT_BLOCK_SIZE = 4096


def as_seed_sequence(seed=None, rng=None, name="seed") -> np.random.SeedSequence:
    """The root SeedSequence of a run from ``seed``/``rng`` (int, SeedSequence or Generator).

    A Generator contributes one 128-bit draw as entropy (so passing the same generator
    twice gives two different, reproducible runs).  ``None`` takes fresh OS entropy;
    the result's ``entropy`` is recorded by the engine so the run can be repeated.

    Raises
    ------
    ValueError
        If both ``seed`` and ``rng`` are given.
    TypeError
        For any other type.
    """
    if seed is not None and rng is not None:
        raise ValueError("give `seed` or `rng`, not both")
    s = rng if seed is None else seed
    if s is None:
        return np.random.SeedSequence()
    if isinstance(s, np.random.SeedSequence):
        return s
    if isinstance(s, np.random.Generator):
        hi, lo = (int(v) for v in s.integers(0, 2 ** 64, size=2, dtype=np.uint64))
        return np.random.SeedSequence((hi << 64) | lo)
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        return np.random.SeedSequence(check_int(s, name, low=0))
    raise TypeError(f"`{name}` must be an int, a numpy SeedSequence or a Generator; got {type(s).__name__}")


class BlockLayout(NamedTuple):
    """How ``n_paths`` paths are cut into logical blocks and processed in chunks."""

    n_paths: int
    block_size: int
    chunk_blocks: int

    @property
    def n_blocks(self) -> int:
        return -(-self.n_paths // self.block_size)

    @property
    def chunk_size(self) -> int:
        return self.block_size * self.chunk_blocks

    def block_rows(self, b):
        """Global path indices ``[start, stop)`` of block ``b``."""
        start = b * self.block_size
        return start, min(start + self.block_size, self.n_paths)

    def chunks(self, first_block=0, last_block=None):
        """Yield ``(first_block, last_block_exclusive, start_row, stop_row)`` per chunk,
        for the blocks ``[first_block, last_block)`` (default all)."""
        stop = self.n_blocks if last_block is None else last_block
        for b0 in range(first_block, stop, self.chunk_blocks):
            b1 = min(b0 + self.chunk_blocks, stop)
            yield b0, b1, self.block_rows(b0)[0], self.block_rows(b1 - 1)[1]


def make_layout(n_paths, block_size=None, chunk_size=None, default_chunk=None) -> BlockLayout:
    """Validate sizes and build a :class:`BlockLayout`; the chunk is rounded to whole blocks."""
    check_int(n_paths, "n_paths")
    bs = check_int(DEFAULT_BLOCK_SIZE if block_size is None else block_size, "block_size")
    cs = default_chunk if chunk_size is None else chunk_size
    if cs is None:
        cs = bs
    check_int(cs, "chunk_size")
    k = max(1, round(cs / bs))
    k = min(k, -(-int(n_paths) // int(bs)))
    return BlockLayout(int(n_paths), int(bs), int(k))


class NoiseSource:
    """Standard normals for one chunk of blocks, drawn block by block into a buffer.

    Parameters
    ----------
    root : SeedSequence
    layout : BlockLayout
    first_block, last_block : int
        The blocks of this chunk (``last_block`` exclusive).
    n_terms : int
        Independent normal vectors a scheme uses per step (BAOAB 1, OBABO 2).
    noise_dim : int
        Components m of each vector.
    substeps : int
        Fine increments summed per step and noise term (Brownian-path coarsening).
    dtype : float32 or float64

    Notes
    -----
    ``draw()`` returns a buffer of shape ``(n_terms, n_rows, noise_dim)`` whose entries are
    N(0, 1) (for ``substeps > 1``: the fine normals summed and divided by √r, i.e. the
    increment over the term's part of the step divided by its √(dt/n_terms)).  The buffer is reused: consume it before the next
    call.
    """

    def __init__(self, root, layout: BlockLayout, first_block, last_block, n_terms=1,
                 noise_dim=1, substeps=1, dtype=np.float64):
        self.rows = [layout.block_rows(b) for b in range(first_block, last_block)]
        self.gens = [block_generator(root, b) for b in range(first_block, last_block)]
        off = self.rows[0][0]
        self.local = [(a - off, b - off) for a, b in self.rows]
        n = self.rows[-1][1] - off
        self.dtype = np.dtype(dtype)
        self.n_terms, self.m, self.r = int(n_terms), int(noise_dim), int(substeps)
        # (terms, rows, m) with each block's slab contiguous in the order the generator fills
        self.buf = np.empty((self.n_terms, n, self.m), dtype=self.dtype)
        self._blk = ([np.empty((self.n_terms, b - a, self.m), dtype=self.dtype) for a, b in self.local]
                     if self.n_terms > 1 else [])
        if self.r > 1:
            # (term, substep) in time order: term j sums the j-th run of r fine normals
            self._fine = [np.empty((self.n_terms, self.r, b - a, self.m), dtype=self.dtype) for a, b in self.local]
            self._scale = 1.0 / math.sqrt(self.r)
        self._single = len(self.gens) == 1

    def draw(self):
        """Fill and return the buffer with this step's normals."""
        dt = self.dtype
        if self.r == 1:
            if self._single:
                self.gens[0].standard_normal(out=self.buf, dtype=dt)
                return self.buf
            if self.n_terms == 1:  # a block's slab is contiguous: draw straight into it
                for g, (a, b) in zip(self.gens, self.local):
                    g.standard_normal(out=self.buf[0, a:b], dtype=dt)
                return self.buf
            for g, (a, b), blk in zip(self.gens, self.local, self._blk):
                g.standard_normal(out=blk, dtype=dt)
                self.buf[:, a:b] = blk
            return self.buf
        for g, (a, b), fine in zip(self.gens, self.local, self._fine):
            g.standard_normal(out=fine, dtype=dt)
            np.sum(fine, axis=1, out=self.buf[:, a:b])
        self.buf *= self._scale
        return self.buf


def brownian_increments(n_paths, n_steps, dt, dim=1, seed=None, rng=None,
                        block_size=None, dtype=np.float64):
    """Increments ΔW of ``n_paths`` Brownian paths, shape ``(n_steps, n_paths, dim)``.

    The numbers are those the ensemble engine uses for the same seed and block size
    (one noise term per step), so they can serve as exact references.  Memory is
    O(n_steps · n_paths): use it for small tests.
    """
    dt = check_finite_param(dt, "dt", low=0.0, low_inclusive=False)
    check_int(n_steps, "n_steps", low=0)
    root = as_seed_sequence(seed, rng)
    layout = make_layout(n_paths, block_size, n_paths)
    src = NoiseSource(root, layout, 0, layout.n_blocks, 1, dim, 1, dtype)
    out = np.empty((n_steps, n_paths, dim), dtype=dtype)
    for k in range(n_steps):
        out[k] = src.draw()[0]
    out *= math.sqrt(dt)
    return out


def coarsen_increments(dW, factor):
    """Sum consecutive groups of ``factor`` increments: ``(n, ...)`` → ``(n // factor, ...)``.

    Raises
    ------
    ValueError
        If ``factor`` is not a positive integer dividing the number of steps.
    """
    dW = np.asarray(dW)
    check_int(factor, "factor")
    if dW.shape[0] % factor:
        raise ValueError(f"`factor` must be a positive integer dividing {dW.shape[0]}; got {factor!r}")
    return dW.reshape(dW.shape[0] // factor, factor, *dW.shape[1:]).sum(axis=1)
