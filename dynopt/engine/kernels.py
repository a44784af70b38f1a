"""The compiled (numba) backend of :func:`dynopt.engine.simulate`.

Each (scheme, model) pair the backend covers compiles to one fused kernel
(:mod:`dynopt.engine.codegen`) that advances one logical block of paths through a range of
steps, drawing its normals from the block's own ``Generator(SFC64)`` (numba calls the
numpy generator's ziggurat, which gives the same numbers bit for bit) in the order the
numpy backend draws them: per step, term, path, component.  Both backends so see the same
random numbers; states differ only by floating-point rounding where the numpy backend
evaluates the drift differently (its fused polynomial kernels, matrix products).

What is compiled, in float64 or float32, without Brownian substeps:

* Euler–Maruyama, Milstein, stochastic Heun and Leimkuhler–Matthews on overdamped Langevin
  with additive noise — scalar σ, a vector of per-component σ_i, or a matrix σ — on
  problems that carry a sympy expression or whose ``grad_fn`` is a ``numba.njit`` function
  of an (n, d) array (called per path inside the kernel, compiled without numba's cache);
* Euler–Maruyama, Milstein and stochastic Heun on overdamped Langevin with diagonal noise
  σ_i(θ) given as sympy expressions (:mod:`dynopt.engine.codegen_sde`; ∂σ_i/∂θ_i from sympy);
* the Langevin splittings (BAOAB, OBABO, ABOBA, any sequence whose gradient evaluations do
  not depend on the step) and momentum SGD on Kramers, on problems with an expression;
* SGD iterates on a least-squares finite sum (minibatches drawn inside the kernel);
* one :class:`~dynopt.engine.passage.FirstPassage` observer with a ``(coord, level, side)``
  condition per run, tested inside the kernel at its steps — absorption (``True`` and
  ``"survivors"``) and the Brownian-bridge records included
  (:mod:`dynopt.engine.kernel_passage`).

Not compiled (numpy runs them under "auto"; ``backend="numba"`` raises with the reason):
problems given only as plain Python callables; σ given as a Python callable (diagonal or general
noise) and user :class:`~dynopt.dynamics.SDE` models (their f and g are callables); the
one-noise-term schemes on Kramers models; schemes outside the registry (a user's
SDEScheme, a subclass overriding a substep); SGD iterates on finite sums other than least
squares; Brownian substeps; absorption by a callable condition or by several absorbing
observers.  "Auto" also keeps float32 on numpy, whose float32 normals
numba draws (identically) but slower — unless ``normals="philox"``
(:mod:`dynopt.engine.normals`), whose key per block replaces the Generator and whose
per-step buffers the kernel fills in one vectorised call per term.  Other observers and saved steps are served between
kernel calls: the kernel runs from one observed step to the next and returns to Python
only there (or after ~2^26 path-steps, at a step where the divergence check runs anyway,
for the progress bar); divergence checks (every ``check_every`` steps and at observed steps) run
inside the kernel, as the numpy backend does them.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from typing import NamedTuple, Optional

import numpy as np

from dynopt.dynamics import Kramers, OverdampedLangevin
from dynopt.engine import codegen, codegen_passage, codegen_sde, kernel_passage
from dynopt.engine.normals import block_streams
from dynopt.engine.split import block_threads
from dynopt.engine.loop import BLOWUP
from dynopt.schemes.langevin import MomentumSGD, Splitting
from dynopt.schemes.maps import leapfrog_coefficients
from dynopt.schemes.sde import EulerMaruyama, LeimkuhlerMatthews, Milstein, SGDIterates, StochasticHeun

__all__ = ["BACKENDS", "numba_available", "Kernel", "compile_kernel", "select_backend", "run_chunk",
           "mark_backend", "default_backend", "auto_backend", "kernel_layout"]

#: the values of ``simulate(..., backend=)``
BACKENDS = ("auto", "numpy", "numba")

#: one-noise-term schemes compiled on overdamped Langevin with constant σ
_OVERDAMPED = (EulerMaruyama, Milstein, StochasticHeun, LeimkuhlerMatthews)


def numba_available() -> bool:
    """True when numba can be imported (tests simulate its absence by patching this)."""
    try:
        import numba  # noqa: F401  (optional dependency, probed at run time)
    except ImportError:
        return False
    return True


class Kernel(NamedTuple):
    """A compiled kernel for one run: the function, how to build and read its state."""

    fn: object
    kind: str           # "overdamped", "lm", "splitting", "momentum"
    params: tuple       # scalar arguments after the step range and the bookkeeping arrays
    evals_per_step: int


def _gradient_ok(problem, grad):
    """Check the compiled gradient against ``grad_fn`` at a few fixed points: a problem
    copied with another ``grad_fn`` but the old expression must not compile the old one."""
    pts = np.random.default_rng(12345).uniform(-1.5, 1.5, size=(4, problem.dim))
    ref = np.asarray(problem.grad_fn(pts.copy()), dtype=float)
    got = np.empty_like(pts)
    for i in range(pts.shape[0]):
        grad(pts[i].copy(), got[i])
    return bool(np.allclose(got, ref, rtol=1e-9, atol=1e-12, equal_nan=True))


def _diagonal(model, scheme):
    """Whether ``(model, scheme)`` is a compiled scheme on σ_i(θ) given as expressions."""
    return (isinstance(model, OverdampedLangevin) and model.noise == "diagonal"
            and getattr(model, "sigma_expr", None) is not None and scheme.name in codegen_sde.DIAGONAL_METHODS)


def _why_not(model, scheme, opts) -> Optional[str]:
    """Why ``(model, scheme)`` has no kernel, or None if it has one."""
    if opts.brownian_substeps != 1:
        return "Brownian substeps are not compiled"
    if type(scheme) in _OVERDAMPED:
        if _diagonal(model, scheme):
            pass
        elif not isinstance(model, OverdampedLangevin) or model.noise != "additive":
            return (f"{scheme.name} is compiled for overdamped Langevin with constant σ"
                    + (" or σ(θ) given as sympy expressions" if scheme.name in codegen_sde.DIAGONAL_METHODS else ""))
    elif isinstance(scheme, Splitting):
        if any(getattr(type(scheme), f) is not getattr(Splitting, f) for f in ("init", "step", "_o")):
            return f"{type(scheme).__name__} overrides the splitting's substeps"
        if not isinstance(model, Kramers):
            return "splittings are compiled for Kramers models"
        if codegen.splitting_plan(scheme.sequence) is None:
            return f"the splitting {scheme.sequence} needs a gradient that depends on the step"
    elif type(scheme) is MomentumSGD:
        if not isinstance(model, Kramers):
            return "momentum SGD is compiled for Kramers models"
    elif type(scheme) is SGDIterates:
        if getattr(model.problem, "least_squares_data", None) is None:
            return "SGD iterates are compiled for least-squares finite sums (least_squares)"
        return None  # the minibatch gradient comes from the data, not from an expression
    else:
        return f"the scheme {scheme.name!r} has no compiled kernel"
    if getattr(model.problem, "expr", None) is None and not codegen.is_numba_function(model.problem.grad_fn):
        return ("the problem is a Python callable without a sympy expression "
                "(give an expression, or a numba.njit grad_fn, to compile it)")
    return None


def compile_kernel(model, scheme, dt, opts, passage=None):
    """The :class:`Kernel` for a run, or a string saying why there is none; ``passage`` (a
    :class:`dynopt.engine.kernel_passage.Plan`) compiles a first-passage test into it."""
    why = _why_not(model, scheme, opts)
    if why:
        return why
    if type(scheme) is SGDIterates:
        return _compile_sgd(model, scheme, dt, opts, passage)
    user = None if getattr(model.problem, "expr", None) is not None else model.problem.grad_fn
    gsrc = codegen.gradient_source(model.problem) if user is None else codegen.callable_gradient_source(user)
    if gsrc is None:
        return "sympy cannot print the problem's gradient as Python code"
    dtype, dims = opts.dtype.name, (model.d, model.noise_dim)
    if _diagonal(model, scheme):
        sig = codegen_sde.sigma_source(model.sigma_expr.exprs, model.sigma_expr.symbols)
        if sig is None:
            return "sympy cannot print σ(θ) as Python code"
        src = codegen_sde.diagonal_source(gsrc, sig, dtype, scheme.name, dims, opts.normals)
        params = (dt, math.sqrt(dt), model.noise_dim, BLOWUP)
        kind, per_step = "overdamped", codegen_sde.DIAGONAL_METHODS[scheme.name]
    elif type(scheme) in _OVERDAMPED:
        scalar = model.scalar_sigma is not None
        src = codegen.overdamped_source(gsrc, dtype, scalar, scheme.name, dims, opts.normals)
        sq, sig = math.sqrt(dt), model.scalar_sigma or 0.0
        G = np.ascontiguousarray(model.diffusion_matrix, dtype=float)
        params = (dt, sig * sq, sq, sig, G, model.noise_dim, BLOWUP)  # the last is replaced by the run's limit
        kind = "lm" if type(scheme) is LeimkuhlerMatthews else "overdamped"
        per_step = 2 if type(scheme) is StochasticHeun else 1
    elif isinstance(scheme, Splitting):
        src = codegen.splitting_source(gsrc, scheme.sequence, dtype, dims, opts.normals)
        frac = {c: 1.0 / scheme.sequence.count(c) for c in set(scheme.sequence)}
        hO = dt * frac.get("O", 1.0)
        lam, s = model.friction, model.sigma
        if lam > 0:
            cO, amp = math.exp(-lam * hO), s * math.sqrt(-math.expm1(-2 * lam * hO) / (2 * lam))
        else:
            cO, amp = 1.0, s * math.sqrt(hO)
        params = (dt * frac["A"], dt * frac["B"], cO, amp, model.noise_dim, BLOWUP)
        kind, per_step = "splitting", sum(codegen.splitting_plan(scheme.sequence))
    else:
        src = codegen.momentum_source(gsrc, dtype, dims, opts.normals)
        alpha, beta = leapfrog_coefficients(dt, model.friction)
        params = (alpha, beta, alpha * model.sigma / math.sqrt(dt), dt, model.noise_dim, BLOWUP)
        kind, per_step = "momentum", 1
    if passage is not None:
        src = codegen_passage.passage_source(src, kind, model.d, passage.spec)
        if src is None:
            return "the scheme's kernel has no place for the first-passage test"
    try:
        mod = codegen.load_module(src) if user is None else codegen.bind_user_gradient(src, user)
        if not _gradient_ok(model.problem, mod.grad):
            return "the problem's grad_fn does not match its sympy expression"
        kern = Kernel(mod.run, kind, params, per_step)
        # compile the loop now (a zero-step call) so that a typing error means numpy, not a crash
        arrays, _ = _state(kern, model, scheme, dt, np.zeros((1, model.state_dim), dtype=opts.dtype))
        kern.fn(*arrays, block_streams(opts.normals, np.random.SeedSequence(0), [0])[0], 0, 0, 1, np.ones(1, dtype=bool),
                np.full(1, -1, dtype=np.int64), *params,
                *(kernel_passage.probe_args(passage, opts.dtype) if passage is not None else ()))
    except Exception as exc:  # numba's typing errors, an unwritable cache directory
        return f"the kernel could not be compiled ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    return kern


def _compile_sgd(model, scheme, dt, opts, passage):
    """:func:`compile_kernel` for SGD iterates on a least-squares sum: checked by one step
    from fixed points against the numpy scheme (same minibatches, same update)."""
    scheme.init(model, np.zeros((1, model.d)), dt)  # its checks (dt = η), as the numpy backend makes them
    A, b = (np.ascontiguousarray(v, dtype=float) for v in model.problem.least_squares_data)
    src = codegen_sde.sgd_source(opts.dtype.name, (model.d, model.noise_dim), model.batch_size,
                                 model.problem.n_examples, model.replace)
    if passage is not None:
        src = codegen_passage.passage_source(src, "overdamped", model.d, passage.spec)
        if src is None:
            return "the scheme's kernel has no place for the first-passage test"
    params = (dt, A, b, model.noise_dim, BLOWUP)
    try:
        kern = Kernel(codegen.load_module(src).run, "overdamped", params, 1)
        y0 = np.sin(1.0 + np.arange(4 * model.d)).reshape(4, model.d)
        got = np.array(y0, dtype=opts.dtype)
        kern.fn(got, np.random.Generator(np.random.SFC64(7)), 0, 1, 1, np.ones(4, dtype=bool),
                np.full(4, -1, dtype=np.int64), *params[:-1], np.inf,
                *(kernel_passage.probe_args(passage, opts.dtype, 4) if passage is not None else ()))
    except Exception as exc:  # numba's typing errors, an unwritable cache directory
        return f"the kernel could not be compiled ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    idx = scheme.draw_noise(model, [np.random.Generator(np.random.SFC64(7))], [(0, 4)], 4)
    want = scheme.step(model, 0.0, scheme.init(model, np.array(y0, dtype=opts.dtype), dt), dt, idx).y
    if not np.allclose(got, want, rtol=1e-9, atol=0):
        return "the problem's minibatch gradients do not match its least-squares data"
    return kern


def select_backend(run):
    """Resolve ``run.opts.backend`` to "numpy" or "numba" and attach the kernel.

    Returns ``(run, note)``: the run with ``opts.backend`` resolved, and a note that is
    empty unless "auto" fell back to numpy because numba could not be imported.

    Raises
    ------
    ValueError
        ``backend="numba"`` when numba is missing or the run has no compiled kernel.
    """
    want = run.opts.backend
    if want not in BACKENDS:
        raise ValueError(f"`backend` must be one of {', '.join(BACKENDS)}; got {want!r}")
    if want == "auto":
        want = _AUTO_MEANS.get()
    ran_on, note = _resolve(run, want)
    run = run._replace(opts=dataclasses.replace(run.opts, backend=ran_on))
    return (kernel_layout(run) if ran_on == "numba" else run), note


#: state bytes per chunk on the compiled backend (default chunk size): a kernel keeps one
#: block in cache at a time, so the chunk only sets how many blocks the threads share
#: between two returns to Python (more blocks: fewer rounds, better balance)
KERNEL_CHUNK_BYTES = 2 ** 24

#: path-steps of one round of block calls between two returns to Python when nothing is
#: observed in between (about a few tenths of a second: the progress bar's granularity)
ROUND_PATH_STEPS = 2 ** 26


def kernel_layout(run):
    """The run with chunks sized for the compiled backend.

    The numpy backend's chunk fits a core's L2 cache because each step is several passes
    over it; a kernel makes one pass per block, so its chunk can hold many blocks: the
    threads then share them (one block at a time, dynamically), instead of idling when a
    chunk has fewer blocks than threads.  An explicit ``chunk_size`` is kept, raised to at
    least one block per thread.  Results do not depend on the chunk size.
    """
    lay, opts = run.layout, run.opts
    if opts.chunk_size is None:
        per_path = opts.dtype.itemsize * 2 * run.model.state_dim
        blocks = max(lay.chunk_blocks, KERNEL_CHUNK_BYTES // (per_path * lay.block_size))
    else:
        blocks = max(lay.chunk_blocks, opts.threads)
    return run._replace(layout=lay._replace(chunk_blocks=max(1, min(blocks, lay.n_blocks))))


def _resolve(run, want):
    # numba's float32 ziggurat draws ~50M normals/s here against numpy's ~110M (its float64
    # one ~370M): same numbers, but "auto" keeps float32 on numpy (Philox's run compiled)
    if want == "numpy" or (want == "auto" and run.opts.dtype == np.float32 and run.opts.normals == "sfc64"):
        return "numpy", ""
    if not numba_available():
        if want == "numba":
            raise ValueError("`backend='numba'` needs numba, which cannot be imported (pip install numba)")
        return "numpy", "ran on the numpy backend: numba cannot be imported"
    passage = kernel_passage.plan(run)
    kern = passage if isinstance(passage, str) else compile_kernel(run.model, run.scheme, run.dt, run.opts, passage)
    if isinstance(kern, str):
        if want == "numba":
            raise ValueError(f"`backend='numba'` cannot run {run.scheme.name} on {run.model!r}: {kern}")
        # a first-passage observer that cannot be compiled costs the whole run its kernel: say so
        return "numpy", f"ran on the numpy backend: {passage}" if isinstance(passage, str) else ""
    return "numba", ""


def mark_backend(result, run, why):
    """Record on an ensemble result which backend ran, and append ``why`` to its note."""
    result.backend = run.opts.backend
    if why:
        result.note = f"{result.note}; {why}" if result.note else why
    return result


#: what ``backend="auto"`` resolves as in this context (see :func:`default_backend`)
_AUTO_MEANS = contextvars.ContextVar("dynopt_auto_backend", default="auto")


@contextlib.contextmanager
def default_backend(name):
    """Within the ``with`` block, runs that leave the backend to dynopt (``backend="auto"``,
    :func:`~dynopt.engine.simulate`'s default) use ``name`` instead.

    For code that calls ``simulate`` deep down without a backend argument, such as the
    claims ledger (``dynopt reproduce --backend``).  A run that asks for a backend
    explicitly keeps it.  ``"numba"`` here is strict: a run it cannot compile raises,
    naming the reason.  The setting is a :class:`contextvars.ContextVar`, so it does not
    leak out of the block (nor into threads or processes started inside it; executors receive the
    backend already resolved).

    Parameters
    ----------
    name : {"auto", "numpy", "numba"}

    Raises
    ------
    ValueError
        ``name`` is not one of :data:`BACKENDS`.
    """
    if name not in BACKENDS:
        raise ValueError(f"`name` must be one of {', '.join(BACKENDS)}; got {name!r}")
    token = _AUTO_MEANS.set(name)
    try:
        yield name
    finally:
        _AUTO_MEANS.reset(token)


def auto_backend() -> str:
    """What ``backend="auto"`` means here: "auto" unless :func:`default_backend` says otherwise."""
    return _AUTO_MEANS.get()


def _state(kern, model, scheme, dt, y0):
    """The kernel's per-path arrays from the chunk's initial states (via the scheme's init)."""
    if kern.kind == "overdamped":
        return (np.ascontiguousarray(y0),), 0
    if kern.kind == "lm":
        return (np.ascontiguousarray(y0), np.zeros((y0.shape[0], model.noise_dim), dtype=y0.dtype)), 0
    st = scheme.init(model, y0, dt)
    if kern.kind == "splitting":
        if not st.fresh:
            raise AssertionError("a splitting's initial force must be fresh")
        return (st.q, st.p, st.force), int(st.grad_evals)
    return (st.q, st.v), int(st.grad_evals)


def _output(kern, run, arrays):
    if kern.kind in ("overdamped", "lm"):
        return arrays[0]
    if kern.kind == "splitting":
        return np.concatenate([arrays[0], arrays[1]], axis=1)
    return np.concatenate([arrays[0], arrays[1] / run.dt], axis=1)




def _call(fn, args):
    return fn(*args)


def _rounds(stops, n_paths, check_every):
    """The steps at which the kernels return to Python: the observed/saved steps and the
    last, plus multiples of ``check_every`` that cut long stretches into rounds of about
    :data:`ROUND_PATH_STEPS` (a kernel checks divergence at the end of a call, so a round
    may only end where the numpy backend checks too)."""
    span = check_every * max(1, ROUND_PATH_STEPS // max(1, n_paths) // check_every)
    out, k0 = [], 0
    for k1 in stops:
        out += range(k0 - k0 % span + span, k1, span)
        out.append(k1)
        k0 = k1
    return out


def run_chunk(run, out, b0, b1, lo, hi, bar):
    """Advance the blocks ``[b0, b1)`` (rows ``[lo, hi)`` of ``out``) with the compiled
    kernel, returning to Python only at observed or saved steps (and between rounds of
    :data:`ROUND_PATH_STEPS`); returns the gradient evaluations per path (what the numpy
    backend's ``_run_chunk`` does, fused).  With ``threads > 1`` the blocks of each round
    go to the threads one at a time, in any order: a block owns its rows and generator,
    so the result is the same bits for any number of threads."""
    model, opts, layout = run.model, run.opts, run.layout
    passage = kernel_passage.plan(run)
    kern = passage if isinstance(passage, str) else compile_kernel(model, run.scheme, run.dt, opts, passage)
    if isinstance(kern, str):
        raise ValueError(f"no compiled kernel for {run.scheme.name} on {model!r}: {kern}")
    nc, D = hi - lo, model.state_dim
    r0 = layout.block_rows(b0)[0]
    y_init = run.y_init if run.y_init.shape[0] == 1 else run.y_init[r0:r0 + nc]
    arrays, evals = _state(kern, model, run.scheme, run.dt, np.array(np.broadcast_to(y_init, (nc, D)), dtype=opts.dtype))
    if passage is not None:
        return evals + kernel_passage.run_chunk(run, out, (b0, b1, lo, hi), bar, kern, passage, arrays,
                                                lambda: _output(kern, run, arrays))
    alive = np.ones(nc, dtype=bool)
    dsteps = out.diverged_step[lo:hi]
    gens = block_streams(opts.normals, run.root, range(b0, b1))
    rows = [(a - r0, e - r0) for a, e in (layout.block_rows(b) for b in range(b0, b1))]
    save_pos = {k: i for i, k in enumerate(run.save_k)}

    def visit(k):
        y = _output(kern, run, arrays)
        for o in run.look.get(k, ()):
            o.observe(k, run.t0 + k * run.dt, y, b0, b1, layout, alive)
        if k in save_pos:
            out.paths[save_pos[k], lo:hi] = y

    need = set(run.look) | set(save_pos)
    stops = sorted({k for k in need if 0 < k <= run.n_steps} | {run.n_steps})
    if 0 in need:
        visit(0)
    k0 = 0
    with block_threads(opts.threads, len(gens)) as run_map:
        for k1 in _rounds(stops, nc, opts.check_every):
            calls = [(*(x[a:e] for x in arrays), g, k0, k1, opts.check_every, alive[a:e], dsteps[a:e],
                      *kern.params[:-1], run.blowup) for g, (a, e) in zip(gens, rows)]
            list(run_map(_call, [kern.fn] * len(calls), calls))
            if bar is not None:
                bar.update((k1 - k0) * nc)
            k0 = k1
            if k1 in need:
                visit(k1)
    if opts.keep_final:
        out.y_final[lo:hi] = _output(kern, run, arrays)
    return evals + kern.evals_per_step * run.n_steps
