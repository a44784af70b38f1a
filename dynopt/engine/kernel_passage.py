"""Runs with a first-passage observer on the compiled backend: which observer the kernel
tests, and the chunk loop that serves it (absorption, bridge records, censoring).

The compiled kernel tests one :class:`~dynopt.engine.passage.FirstPassage` observer with a
target (a level, a ball or a region, :mod:`dynopt.engine.targets`) at its steps, inside the time loop
(:mod:`dynopt.engine.codegen_passage`): an absorbing one (the run's only absorbing
observer), else the first non-absorbing one.  The check at t₀ runs in Python (the
observer's own code, before the first step); every other observer runs in Python at its
steps, as on the plain compiled path.  The result equals the numpy backend's:

* an absorbed path is no longer stepped, so its state stays the state at which it passed
  — the final and later saved state the numpy backend records — and other observers leave
  it out from the step after its passage on (the numpy backend absorbs after the
  observations of the step);
* with ``absorb=True`` the normals of absorbed paths are still drawn (and dropped), with
  ``"survivors"`` they are not, as in :mod:`dynopt.engine.absorb`;
* bridge hazards are exponentiated with numpy, in step order, by the observer.
"""
from __future__ import annotations

from typing import NamedTuple, Union

import numpy as np

from dynopt.engine.normals import block_streams
from dynopt.engine.codegen_passage import PassageSpec
from dynopt.engine.passage import FirstPassage
from dynopt.engine.split import block_threads

__all__ = ["Plan", "plan", "probe_args", "run_chunk"]


class Plan(NamedTuple):
    """The observer a kernel tests, its place among the run's observers (an executor task
    tests its own copy, found there) and the spec the kernel's source is generated from."""

    observer: FirstPassage
    spec: PassageSpec
    index: int = 0

    def for_observers(self, observers):
        """The plan for the same run with its own copies of the observers."""
        o = observers[self.index]
        return self if o is self.observer else self._replace(observer=o)


def _compilable(o):
    return type(o) is FirstPassage and o.kernel_target is not None


def _spec(o, D):
    """The :class:`PassageSpec` of observer ``o`` on a state of ``D`` components, or a
    string saying why its target cannot be compiled."""
    if o.level_condition is not None:
        coord, _, above = o.level_condition
        if not -D <= coord < D:
            return f"the passage condition's component {coord} is not one of the {D} state components"
        return PassageSpec(coord % D, above, o.absorb, o.bridge is not None)
    t = o.kernel_target
    if max(t.coords, default=0) >= D:
        return f"the passage target reads components {list(t.coords)}, not all among the {D} state components"
    src = t.kernel_source()
    if src is None:
        return "sympy cannot print the passage target as Python code"
    return PassageSpec(0, False, o.absorb, o.bridge is not None, (src, tuple(t.coords)))


def plan(observers, state_dim, noise_kind="normal") -> Union[None, str, Plan]:
    """The first-passage observer to compile into a run's kernel: a :class:`Plan`, None
    when no observer needs one, or a string saying why the run cannot be compiled.

    Parameters
    ----------
    observers : sequence of Observer
        The run's observers.
    state_dim : int
        Components of the model's state.
    noise_kind : str
        The scheme's ``noise_kind`` ("normal" for a scheme drawing normals).
    """
    absorbing = [o for o in observers if getattr(o, "absorb", False)]
    if len(absorbing) > 1:
        return "several absorbing observers are not compiled"
    if absorbing:
        if not _compilable(absorbing[0]):
            return "absorption is compiled for a FirstPassage with a target (level, ball or region)"
        chosen = absorbing[0]
    else:
        chosen = next((o for o in observers if _compilable(o)), None)
        if chosen is None:
            return None
    if chosen.absorb == "survivors" and noise_kind != "normal":
        return "absorb='survivors' needs a scheme drawing normals"
    spec = _spec(chosen, state_dim)
    index = next(i for i, o in enumerate(observers) if o is chosen)
    return spec if isinstance(spec, str) else Plan(chosen, spec, index)


def probe_args(p: Plan, dtype, n=1):
    """The passage arguments of a kernel call on ``n`` paths with a record buffer of 4n + 64
    (also the zero-step call that compiles the kernel)."""
    o, cap = p.observer, 4 * n + 64
    # a region target is compiled as "signed distance <= 0"
    _, level, above = o.level_condition or (0, 0.0, False)
    bcoef, bcut = o.bridge_constants() if o.bridge is not None else (0.0, 0.0)
    return [np.full(n, -1, dtype=np.int64), np.zeros(n), np.zeros(n, dtype=bool),
            np.zeros(cap, dtype=np.int64), np.zeros(cap, dtype=np.int64), np.zeros(cap), np.zeros(1, dtype=np.int64),
            int(o.every), np.dtype(dtype).type(level), 1.0 if above else -1.0, float(bcoef), float(bcut)]


def _advance(job):
    """Run one block from step k0 to k1, emptying the bridge records whenever the kernel
    stops early; returns the block's records (rows, steps, exponents) in step order."""
    fn, args, k0, k1, k_at, n_rec = job
    pos, parts = k0, []
    while True:
        args[k_at] = pos
        pos = fn(*args)
        n = int(args[n_rec][0])
        if n:
            parts.append((args[n_rec - 3][:n].copy(), args[n_rec - 2][:n].copy(), args[n_rec - 1][:n].copy()))
            args[n_rec][0] = 0
        if pos >= k1:
            return parts


class _Chunk:
    """The arrays a chunk's blocks share with the kernel and the observers."""

    def __init__(self, run, out, b0, b1, lo, hi, p):
        layout, o = run.layout, p.observer
        self.r0, nc = layout.block_rows(b0)[0], hi - lo
        self.alive = np.ones(nc, dtype=bool)     # stepped by the kernel: not diverged, not absorbed
        self.done = np.zeros(nc, dtype=bool)     # absorbed
        self.dsteps = out.diverged_step[lo:hi]
        self.pstep = o.step[self.r0:self.r0 + nc]
        self.pprev = o._prev[self.r0:self.r0 + nc] if p.spec.bridge else np.zeros(nc)
        self.gens = block_streams(run.opts.normals, run.root, range(b0, b1))
        self.rows = [(a - self.r0, e - self.r0) for a, e in (layout.block_rows(b) for b in range(b0, b1))]

    def mask(self, k):
        """Paths other observers see at step k: not diverged, not absorbed before k."""
        return (self.dsteps < 0) & ~(self.done & (self.pstep < k))


def run_chunk(run, out, where, bar, kern, p: Plan, arrays, output):
    """Advance the blocks ``[b0, b1)`` (rows ``[lo, hi)`` of ``out``; ``where`` is
    ``(b0, b1, lo, hi)``) with a kernel that tests ``p.observer`` itself; ``arrays`` is the
    kernel's per-path state and ``output(k)`` the chunk's states (n, state_dim) after step k."""
    b0, b1, lo, hi = where
    o, opts, layout = p.observer, run.opts, run.layout
    c = _Chunk(run, out, b0, b1, lo, hi, p)
    save_pos = {k: i for i, k in enumerate(run.save_k)}
    look = {k: [x for x in obs if x is not o] for k, obs in run.look.items()}

    def visit(k):
        y = output(k)
        for x in (run.look.get(0, ()) if k == 0 else look.get(k, ())):
            x.observe(k, run.t0 + k * run.dt, y, b0, b1, layout, c.mask(k))
        if k in save_pos:
            out.paths[save_pos[k], lo:hi] = y
        if k == 0 and p.spec.absorb:
            c.done |= c.pstep == 0
            c.alive &= ~c.done

    visit(0)  # the observer's own check at t0, and absorption there
    need = {k for k, obs in look.items() if obs} | set(save_pos)
    stops = sorted({k for k in need if 0 < k <= run.n_steps} | {run.n_steps})
    width = max(e - a for a, e in c.rows)
    bufs = [probe_args(p, opts.dtype, width)[3:7] for _ in c.rows]
    tail = probe_args(p, opts.dtype)[7:]
    jobs = []
    for g, (a, e), buf in zip(c.gens, c.rows, bufs):
        args = [*(x[a:e] for x in arrays), g, 0, 0, opts.check_every, c.alive[a:e], c.dsteps[a:e],
                *kern.params[:-1], run.blowup, c.pstep[a:e], c.pprev[a:e], c.done[a:e], *buf, *tail]
        jobs.append(args)
    k_at = len(arrays) + 1  # index of k0 in the argument list
    n_rec = k_at + 5 + len(kern.params) + 6
    k0 = 0
    with block_threads(opts.threads, len(jobs)) as run_map:
        for k1 in stops:
            for args in jobs:
                args[k_at + 1] = k1
            parts = list(run_map(_advance, [(kern.fn, args, k0, k1, k_at, n_rec) for args in jobs]))
            for (a, _), recs in zip(c.rows, parts):
                for i, ks, xs in recs:
                    o.add_bridge_records(c.r0 + a + i, ks, xs)
            if bar is not None:
                bar.update((k1 - k0) * (hi - lo))
            k0 = k1
            if k1 in need:
                visit(k1)
    gone = np.flatnonzero(c.dsteps >= 0)
    o.censor_diverged(c.r0 + gone, c.dsteps[gone])
    if opts.keep_final:
        out.y_final[lo:hi] = output(run.n_steps)
