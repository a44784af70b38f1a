"""Absorbing observers: paths that have passed stop being stepped.

A chunk keeps the indices of the rows it still steps.  When a path has passed every
absorbing observer its state at that step is kept as its final (and saved) state, it is
masked out of every other observer and of blow-up detection, and once enough rows are
finished the scheme state is compacted to the survivors.  The noise is still drawn for the
whole block (the numbers a path sees must not depend on which other paths survive) and
then restricted to the stepped rows, so a surviving path's values are the same as in a
run without absorption, bit for bit, whatever the chunk size.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Absorption"]

#: compact the scheme state when at most this fraction of the stepped rows is still running
COMPACT_BELOW = 0.75


class Absorption:
    """Bookkeeping of absorbed paths in one chunk (rows ``[lo, hi)`` of the run's outputs).

    Use :meth:`for_chunk`, which returns None when no observer absorbs.
    """

    def __init__(self, observers, out, lo, hi, first_row, save_k):
        self.observers = observers
        self.out, self.lo, self.first_row = out, lo, first_row
        nc = hi - lo
        self.rows = np.arange(nc)  # chunk-local rows still stepped
        self.survivors = False
        self._plan = None
        self.done = np.zeros(nc, dtype=bool)  # absorbed rows (state frozen)
        self.mask = np.ones(nc, dtype=bool)  # over self.rows: alive and not absorbed
        self.n_run = nc
        self._pending = np.arange(nc)
        self.save_k = save_k

    @classmethod
    def for_chunk(cls, run, out, lo, hi, first_row):
        """The bookkeeping of the chunk whose first row is the global path ``first_row``."""
        obs = [o for o in run.observers if getattr(o, "absorb", False)]
        if not obs:
            return None
        me = cls(obs, out, lo, hi, first_row, run.save_k)
        # observers that record per path must censor the rows dropped from the stepped
        # set when they are dropped, not when a compaction happens to remove them
        me.passages = [o for o in run.observers if hasattr(o, "censor_diverged")]
        me.survivors = any(o.absorb == "survivors" for o in obs)
        return me

    def noise(self, draw, custom):
        """This step's noise for the stepped rows (``draw`` the chunk's full draw)."""
        if self.survivors:
            return self._draw_survivors(draw.__self__)
        z = draw()
        if self.rows.size == self.done.size:
            return z
        return z[self.rows] if custom else z[:, self.rows]

    def _draw_survivors(self, src):
        """Each block draws normals only for its paths not yet absorbed (chunk-invariant:
        absorption is per path), handed out in row order."""
        if self._plan is None:  # changes only when paths are absorbed or rows compacted
            P = self._pending  # sorted rows not yet absorbed; blocks are contiguous
            edges = np.searchsorted(P, [a for a, _ in src.local] + [src.local[-1][1]])
            live = ~self.done[self.rows]
            self._plan = ([int(n) for n in np.diff(edges)], np.searchsorted(P, self.rows[live]),
                          None if live.all() else live)
        counts, take, live = self._plan
        buf = np.empty((src.n_terms, sum(counts), src.m), dtype=src.dtype)
        off = 0
        for g, n in zip(src.gens, counts):
            if n:
                if src.n_terms == 1:
                    g.standard_normal(out=buf[0, off:off + n], dtype=src.dtype)
                else:
                    buf[:, off:off + n] = g.standard_normal((src.n_terms, n, src.m), dtype=src.dtype)
                off += n
        if live is None:
            return buf[:, take]
        z = np.zeros((src.n_terms, self.rows.size, src.m), dtype=src.dtype)
        z[:, live] = buf[:, take]
        return z

    def running(self, alive):
        """Mask over the stepped rows of the paths that are alive and not absorbed."""
        return self.mask

    def kill(self, bad, k):
        """Mark the stepped rows ``bad`` (mask over them) as diverged at step ``k``; returns
        their rows."""
        self.mask &= ~bad
        self.n_run = int(np.count_nonzero(self.mask))
        rows = self.rows[bad]
        for o in self.passages:
            o.censor_diverged(self.first_row + rows, np.full(rows.size, k, dtype=np.int64))
        return rows

    def visit(self, k, t, y, observers, alive, where, save_pos):
        """Observe (and save) step ``k`` of the stepped rows ``y``, then absorb."""
        b0, b1, layout = where
        run_mask = self.mask
        full = None
        for o in observers:
            if hasattr(o, "observe_rows"):
                o.observe_rows(k, t, y, self.first_row + self.rows, run_mask)
                continue
            if full is None:
                full = y if self.rows.size == self.done.size else np.full((self.done.size, y.shape[1]), np.nan, y.dtype)
                if full is not y:
                    full[self.rows] = y
            o.observe(k, t, full, b0, b1, layout, alive & ~self.done)
        if k in save_pos:
            keep = ~self.done[self.rows]
            self.out.paths[save_pos[k], self.lo + self.rows[keep]] = y[keep]
        self.absorb(k, y)

    def absorb(self, k, y):
        """After the observations of step ``k``: freeze the newly absorbed paths (their
        final and later saved states are ``y`` now)."""
        # a path is absorbed at the look at which it passes the last absorbing observer
        cand = [o.hits for o in self.observers if getattr(o, "hits_step", None) == k]
        if not cand or not any(c.size for c in cand):
            return
        g = np.unique(np.concatenate(cand))
        for o in self.observers:
            g = g[o.passed_rows(g)]
        r = g - self.first_row
        r = r[~self.done[r]]
        if not r.size:
            return
        pos = np.searchsorted(self.rows, r)
        new = np.zeros(self.rows.size, dtype=bool)
        new[pos] = True
        self.done[r] = True
        for o in self.passages:
            if not getattr(o, "absorb", False):
                o.censor_absorbed(self.first_row + r, k)
        self._pending = self._pending[~self.done[self._pending]]
        self.mask &= ~new
        self.n_run = int(np.count_nonzero(self.mask))
        self._plan = None
        if self.out.y_final is not None:
            self.out.y_final[self.lo + r] = y[new]
        if self.out.paths is not None:
            later = [i for i, kk in enumerate(self.save_k) if kk > k]
            if later:
                self.out.paths[later[0]:, self.lo + r] = y[new]

    def compact(self, k, state, alive):
        """Drop finished (absorbed or diverged) rows from ``state`` when few enough are
        still running; diverged ones get NaN final and later saved states."""
        n = self.rows.size
        if self.n_run == n or self.n_run > COMPACT_BELOW * n:
            return state
        keep = self.mask
        dead = self.rows[~keep & ~self.done[self.rows]]
        if dead.size:
            if self.out.y_final is not None:
                self.out.y_final[self.lo + dead] = np.nan
            later = [i for i, kk in enumerate(self.save_k) if kk > k]
            if self.out.paths is not None and later:
                self.out.paths[later[0]:, self.lo + dead] = np.nan
        self.rows = self.rows[keep]
        self.mask = np.ones(self.rows.size, dtype=bool)
        self._plan = None
        return type(state)(*(a[keep] if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == n else a
                             for a in state))

    def finish(self, y):
        """Final states of the rows still stepped."""
        if self.out.y_final is not None:
            live = ~self.done[self.rows]
            self.out.y_final[self.lo + self.rows[live]] = y[live]

