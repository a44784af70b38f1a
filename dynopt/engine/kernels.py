"""The compiled (numba) backend of :func:`dynopt.engine.simulate`.

A kernel is the scheme's own ``step`` compiled per path: :mod:`dynopt.engine.tracer` calls
``init``/``step``/``output`` once on object arrays of tracer nodes, which records the
step's arithmetic in numpy's order of evaluation, with the model's gradient (and σ_i(θ),
∂σ_i/∂θ_i) as calls of the problem's generated per-point functions
(:mod:`dynopt.engine.codegen`), and :func:`dynopt.engine.codegen.step_source` puts that
straight-line update into the one loop every scheme shares.  The loop advances one logical
block of paths through a range of steps, drawing its normals from the block's own
``Generator(SFC64)`` (numba calls the numpy generator's ziggurat, which gives the same
numbers bit for bit) in the order the numpy backend draws them: per step, term, path,
component.  Both backends so see the same random numbers and do the same operations in the
same order; states differ only where the printed gradient rounds differently from the
problem's lambdified one.  Nothing here knows a scheme: a user's scheme compiles as a
built-in one does.

What is compiled, in float64 or float32, without Brownian substeps: any scheme drawing
normals whose step is straight-line arithmetic per path (no branch on a value, no
iteration to a tolerance), on a model whose oracles the kernel can call — a problem with a
sympy expression or a ``numba.njit`` ``grad_fn`` (called per path inside the kernel,
compiled without numba's cache), constant σ (scalar, vector or matrix) or σ_i(θ) given as
sympy expressions, or a user SDE with additive noise whose drift callable is itself plain
arithmetic on its arguments (read with the step); and one :class:`~dynopt.engine.passage.FirstPassage` observer with a
``(coord, level, side)`` condition per run, tested inside the kernel at its steps —
absorption (``True`` and ``"survivors"``) and the Brownian-bridge records included
(:mod:`dynopt.engine.kernel_passage`).

When it pays: "auto" compiles a run only when its estimated numpy time
(:func:`numpy_seconds`) exceeds the wait for its kernel (:func:`compile_seconds`): nothing
when this process compiled it already, a load when numba's disk cache holds it, a first
compile otherwise; the note says which backend ran and why.  Inside
``default_backend(..., use_cache=False)`` (the claims ledger, the tests) "auto" decides on
the run's size alone, so that no number depends on what was compiled before.

Not compiled (numpy runs them under "auto", and the result's note says why in one line;
``backend="numba"`` raises with the reason): problems given only as plain Python callables,
σ or a user SDE's g given as Python callables (and f when it is not plain arithmetic),
steps that branch on values or iterate
(an implicit solve), schemes drawing their own noise (SGD iterates' minibatches), Brownian
substeps, absorption by a callable condition or by several absorbing observers.  "Auto"
also keeps float32 on numpy, whose float32 normals numba draws (identically) but slower —
unless ``normals="philox"`` (:mod:`dynopt.engine.normals`), whose key per block replaces
the Generator and whose per-step buffers the kernel fills in one vectorised call per term.
Other observers and saved steps are served between kernel calls: the kernel runs from one
observed step to the next and returns to Python only there (or after ~2^26 path-steps, at
a step where the divergence check runs anyway, for the progress bar); divergence checks
(every ``check_every`` steps and at observed steps) run inside the kernel on the scheme's
output, as the numpy backend does them.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import NamedTuple

import numpy as np

from dynopt.engine import codegen, codegen_passage, codegen_sde, kernel_passage, tracer
from dynopt.engine.normals import block_streams
from dynopt.engine.split import block_threads
from dynopt.engine.loop import BLOWUP

__all__ = ["BACKENDS", "numba_available", "Kernel", "compile_kernel", "select_backend", "run_chunk",
           "default_backend", "auto_backend", "kernel_layout", "numpy_seconds", "compile_seconds",
           "COMPILE_SECONDS", "CACHED_SECONDS"]

#: the values of ``simulate(..., backend=)``
BACKENDS = ("auto", "numpy", "numba")


def numba_available() -> bool:
    """True when numba can be imported (tests simulate its absence by patching this)."""
    try:
        import numba  # noqa: F401  (optional dependency, probed at run time)
    except ImportError:
        return False
    return True


class Kernel(NamedTuple):
    """A compiled kernel for one run: the function, the traced step it was made from, its
    scalar arguments after the bookkeeping arrays (the last, the blow-up limit, is replaced
    by the run's), the gradient evaluations of init, the first and the later steps, and the
    first-passage test compiled into it (a :class:`dynopt.engine.kernel_passage.Plan`, or
    None), found once for the run."""

    fn: object
    program: object
    params: tuple
    evals: tuple
    passage: object = None

    def total_evals(self, n_steps):
        """Gradient evaluations per path of a run of ``n_steps`` steps, init included."""
        e0, e1, e2 = self.evals
        return e0 + (e1 + (n_steps - 1) * e2 if n_steps > 0 else 0)


def _gradient_ok(problem, grad):
    """Check the compiled gradient against ``grad_fn`` at a few fixed points: a problem
    copied with another ``grad_fn`` but the old expression must not compile the old one."""
    pts = np.random.default_rng(12345).uniform(-1.5, 1.5, size=(4, problem.dim))
    ref = np.asarray(problem.grad_fn(pts.copy()), dtype=float)
    got = np.empty_like(pts)
    for i in range(pts.shape[0]):
        grad(pts[i].copy(), got[i])
    return bool(np.allclose(got, ref, rtol=1e-9, atol=1e-12, equal_nan=True))


def _oracles(model):
    """The per-point functions a kernel can call for ``model``: ``{name: (source, dim)}``,
    the user's numba gradient (or None), and ``{name: why not}`` for those it cannot."""
    funcs, why, user = {}, {}, None
    problem = getattr(model, "problem", None)
    if problem is None:
        why["grad"] = "the model has no problem (a user SDE's f and g are Python callables)"
    elif getattr(problem, "expr", None) is not None:
        src = codegen.gradient_source(problem)
        if src is None:
            why["grad"] = "sympy cannot print the problem's gradient as Python code"
        else:
            funcs["grad"] = (src, problem.dim)
    elif codegen.is_numba_function(problem.grad_fn):
        user = problem.grad_fn
        funcs["grad"] = (codegen.callable_gradient_source(user), problem.dim)
    else:
        why["grad"] = ("the problem is a Python callable without a sympy expression "
                       "(give an expression, or a numba.njit grad_fn, to compile it)")
    if getattr(model, "noise", None) in ("diagonal", "general"):
        sx = getattr(model, "sigma_expr", None)
        if problem is None:
            why["sig"] = "the SDE's diffusion g(t, x) is a Python callable"
        elif model.noise == "general" or sx is None:
            why["sig"] = "σ(θ) is a Python callable (give it as sympy expressions to compile it)"
        else:
            src = codegen_sde.sigma_source(sx.exprs, sx.symbols)
            if src is None:
                why["sig"] = "sympy cannot print σ(θ) as Python code"
            else:
                funcs["sig"] = (src, model.d)
    return funcs, user, why


def _uses(program, name):
    traces = [program.first] + ([program.later] if program.later is not None else [])
    return any(line.startswith(f"{name}(") for t in traces for line in t.lines)


#: kernel modules bound to a user's numba gradient, by (source, function): numba compiles
#: each once per process (modules from plain source are cached by codegen.load_module)
_USER_MODULES: dict = {}

#: the outcome of the zero-step call that makes numba compile a kernel, per kernel and
#: argument types: None when it compiled, else the reason
_PROBED: dict = {}


def compile_kernel(model, scheme, dt, opts, passage=None, t0=0.0):
    """The :class:`Kernel` for a run, or a string saying why there is none; ``passage`` (a
    :class:`dynopt.engine.kernel_passage.Plan`) compiles a first-passage test into it.

    The step is read afresh at every call (well under a millisecond), so a kernel always
    holds the model's and scheme's current constants; the generated module depends only
    on the step's shape and is compiled by numba once per process (once ever with its
    on-disk cache), however many chunks, runs and step sizes use it.
    """
    if opts.brownian_substeps != 1:
        return "Brownian substeps are not compiled"
    if getattr(scheme, "noise_kind", "normal") != "normal":
        return f"{scheme.name} draws its own noise ({scheme.noise_kind}), which kernels do not"
    return _compile(model, scheme, dt, opts, passage, t0)


def _module(src, user):
    """The imported kernel module of ``src`` (bound to ``user``'s gradient when given)."""
    if user is None:
        return codegen.load_module(src)
    key = (src, id(user))
    hit = _USER_MODULES.get(key)
    if hit is None or hit[0] is not user:
        hit = _USER_MODULES[key] = (user, codegen.bind_user_gradient(src, user))
    return hit[1]


def _source(model, scheme, dt, opts, passage):
    """``(program, source, user gradient or None, calls grad)`` of the run's kernel, or why
    there is none."""
    funcs, user, why = _oracles(model)
    try:
        program = tracer.trace_step(model, scheme, dt, set(funcs) | set(why), opts.dtype)
    except tracer.TraceError as exc:
        return f"the step of {scheme.name} is not straight-line arithmetic: {exc}"
    except Exception as exc:  # a step or oracle that does not run on traced arrays
        return (f"the step of {scheme.name} does not run on traced arrays "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})")
    used = {name: funcs.get(name) for name in ("grad", "sig") if _uses(program, name)}
    for name in used:
        if name in why:
            return why[name]
    src = codegen.step_source(program, used, opts.dtype.name, scheme.n_terms, model.noise_dim, opts.normals)
    if passage is not None:
        src = codegen_passage.passage_source(src, passage.spec)
        if src is None:
            return "the scheme's kernel has no place for the first-passage test"
    return program, src, (user if "grad" in used else None), "grad" in used


def _compile(model, scheme, dt, opts, passage, t0):
    got = _source(model, scheme, dt, opts, passage)
    if isinstance(got, str):
        return got
    program, src, user, calls_grad = got
    cast = np.dtype(opts.dtype).type
    params = (*(cast(v) for _, v in program.consts), float(t0), float(dt), model.noise_dim, BLOWUP)
    first = program.first.evals
    later = first if program.later is None else program.later.evals
    probe = None
    try:
        mod = _module(src, user)
        if calls_grad and not _gradient_ok(model.problem, mod.grad):
            return "the problem's grad_fn does not match its sympy expression"
        kern = Kernel(mod.run, program, params, (program.init_evals, first, later), passage)
        probe = (id(mod), opts.dtype.name, tuple(type(v).__name__ for v in params))
        if probe not in _PROBED:
            # compile the loop now (a zero-step call) so that a typing error means numpy, not a crash
            _PROBED[probe] = None
            arrays, _, _ = _state(kern, model, scheme, dt, np.zeros((1, model.state_dim), dtype=opts.dtype))
            kern.fn(*arrays, block_streams(opts.normals, np.random.SeedSequence(0), [0])[0], 0, 0, 1,
                    np.ones(1, dtype=bool), np.full(1, -1, dtype=np.int64), *params,
                    *(kernel_passage.probe_args(passage, opts.dtype) if passage is not None else ()))
    except Exception as exc:  # numba's typing errors, an unwritable cache directory
        why_not = f"the kernel could not be compiled ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        if probe is not None:
            _PROBED[probe] = why_not
        return why_not
    return _PROBED[probe] or kern


def select_backend(run, want):
    """The prepared ``run`` with its backend resolved from ``want`` and its kernel compiled.

    Returns ``run`` with ``backend`` ("numpy" or "numba"), ``kernel`` (the compiled
    :class:`Kernel`, None on numpy: compiled here, once per run), ``note`` and, on numba,
    the chunks of :func:`kernel_layout`.  "auto" compiles only a run whose estimated numpy
    time (:func:`numpy_seconds`) exceeds the wait for its kernel (:func:`compile_seconds`:
    none if compiled in this process, a load if cached on disk, else
    :data:`COMPILE_SECONDS`), and only when it can; ``note`` then says in one line which
    backend ran and why.

    Raises
    ------
    ValueError
        ``want`` not one of :data:`BACKENDS`; ``"numba"`` when numba is missing or the run
        has no compiled kernel.
    """
    if want not in BACKENDS:
        raise ValueError(f"`backend` must be one of {', '.join(BACKENDS)}; got {want!r}")
    if want == "auto":
        want = _AUTO_MEANS.get()
    if want == "auto":
        est = numpy_seconds(run)
        cost, how = (compile_seconds(run) if est < COMPILE_SECONDS and _AUTO_USES_CACHE.get()
                     else (COMPILE_SECONDS, _FRESH))
        if est < cost:
            return run._replace(backend="numpy", kernel=None,
                                note=f"ran on numpy: about {est:.2g} s of numpy work, less than {how} "
                                     f"(~{cost:g} s); backend='numba' compiles it")
    # the compiled backend's chunks, sized before compiling (from the layout and the state's
    # width alone) so that the prepared run leaves this module once
    layout = _kernel_chunks(run.layout, run.opts, run.y_init.shape[1])
    kern, note = _resolve(run, want)
    if kern is None:
        return run._replace(backend="numpy", kernel=None, note=note)
    if want == "auto":
        note = f"compiled: about {est:.2g} s of numpy work against ~{cost:.2g} s for {how}"
    return run._replace(backend="numba", kernel=kern, note=note, layout=layout)


_FRESH = "compiling a kernel"


def compile_seconds(run):
    """``(seconds, how)``: the estimated wait before the prepared ``run``'s kernel can start.

    0 when this process has already compiled that kernel (for the run's dtype),
    :data:`CACHED_SECONDS` when numba's disk cache holds it, else :data:`COMPILE_SECONDS`
    (also when the run cannot be compiled at all, which is found out later); ``how`` names
    the case for the run's note.  Reading it costs one trace of the step (well under a
    millisecond for the built-in schemes); nothing is compiled.
    """
    fresh = COMPILE_SECONDS, _FRESH
    kind = getattr(run.scheme, "noise_kind", "normal")
    if run.opts.brownian_substeps != 1 or kind != "normal" or not numba_available():
        return fresh
    passage = kernel_passage.plan(run.observers, run.y_init.shape[1], kind)
    got = None if isinstance(passage, str) else _source(run.model, run.scheme, run.dt, run.opts, passage)
    if got is None or isinstance(got, str):
        return fresh
    _, src, user, _ = got
    if user is None:
        mod = codegen.loaded_module(src)
    else:
        hit = _USER_MODULES.get((src, id(user)))
        mod = hit[1] if hit is not None and hit[0] is user else None
    if mod is not None and any(key[:2] == (id(mod), run.opts.dtype.name) and why is None
                               for key, why in _PROBED.items()):
        return 0.0, "its kernel, compiled earlier in this process"
    if user is None and codegen.cached_on_disk(src):
        return CACHED_SECONDS, "loading its kernel from numba's disk cache"
    return fresh


#: seconds to compile a kernel the first time, numba's own start-up included (measured
#: here: 1–5 s, the more the busier the machine)
COMPILE_SECONDS = 3.0

#: seconds to load a kernel from numba's disk cache, numba's import included (measured
#: here: 0.4–0.6 s on a quiet machine)
CACHED_SECONDS = 0.6

#: the numpy backend's seconds per path-step and state component (whole-array arithmetic,
#: a few passes over the chunk) and per step and chunk (Python's share of a step),
#: measured here on Euler–Maruyama in float64: "auto"'s estimate of a run's numpy time
NUMPY_PATH_STEP_SECONDS = 5e-8
NUMPY_STEP_SECONDS = 2e-5


def numpy_seconds(run) -> float:
    """Rough numpy-backend time of the prepared ``run``: its path-steps times the state's
    components and noise terms, plus the Python overhead of each step of each chunk.

    ``backend="auto"`` compiles the run only when this exceeds :data:`COMPILE_SECONDS`;
    it is an order of magnitude, not a prediction."""
    lay = run.layout
    width = run.y_init.shape[1] * max(1, int(getattr(run.scheme, "n_terms", 1)))
    n_chunks = -(-lay.n_blocks // max(1, lay.chunk_blocks))
    return run.n_steps * (lay.n_paths * width * NUMPY_PATH_STEP_SECONDS + n_chunks * NUMPY_STEP_SECONDS)


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
    return run._replace(layout=_kernel_chunks(run.layout, run.opts, run.model.state_dim))


def _kernel_chunks(lay, opts, state_dim):
    """:func:`kernel_layout`'s layout from the numpy backend's ``lay``."""
    if opts.chunk_size is None:
        per_path = opts.dtype.itemsize * 2 * state_dim
        blocks = max(lay.chunk_blocks, KERNEL_CHUNK_BYTES // (per_path * lay.block_size))
    else:
        blocks = max(lay.chunk_blocks, opts.threads)
    return lay._replace(chunk_blocks=max(1, min(blocks, lay.n_blocks)))


def _resolve(run, want):
    """``(kernel or None, note)`` for the run on the backend ``want``."""
    # numba's float32 ziggurat draws ~50M normals/s here against numpy's ~110M (its float64
    # one ~370M): same numbers, but "auto" keeps float32 on numpy (Philox's run compiled)
    if want == "numpy" or (want == "auto" and run.opts.dtype == np.float32 and run.opts.normals == "sfc64"):
        return None, ""
    if not numba_available():
        if want == "numba":
            raise ValueError("`backend='numba'` needs numba, which cannot be imported (pip install numba)")
        return None, "ran on the numpy backend: numba cannot be imported"
    passage = kernel_passage.plan(run.observers, run.y_init.shape[1], getattr(run.scheme, "noise_kind", "normal"))
    kern = passage if isinstance(passage, str) else compile_kernel(run.model, run.scheme, run.dt, run.opts, passage,
                                                                   run.t0)
    if isinstance(kern, str):
        if want == "numba":
            raise ValueError(f"`backend='numba'` cannot run {run.scheme.name} on {run.model!r}: {kern}")
        return None, f"not compiled: {kern}"
    return kern, ""


#: what ``backend="auto"`` resolves as in this context (see :func:`default_backend`)
_AUTO_MEANS = contextvars.ContextVar("dynopt_auto_backend", default="auto")

#: whether "auto" counts a kernel already compiled or cached as cheaper to start
_AUTO_USES_CACHE = contextvars.ContextVar("dynopt_auto_uses_cache", default=True)


@contextlib.contextmanager
def default_backend(name, *, use_cache=None):
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
    use_cache : bool, optional
        Whether "auto" may count a kernel compiled earlier in the process, or held by numba's
        disk cache, as cheap to start (:func:`compile_seconds`).  With ``False`` it decides
        on the run's size alone, so a run's numbers never depend on what was compiled
        before (the backends can differ in the last bits where a printed gradient rounds
        differently): the claims ledger and the test suite run so.  None (the default)
        keeps the enclosing block's setting (True outside any block).

    Raises
    ------
    ValueError
        ``name`` is not one of :data:`BACKENDS`.
    TypeError
        ``use_cache`` is not a bool or None.
    """
    if name not in BACKENDS:
        raise ValueError(f"`name` must be one of {', '.join(BACKENDS)}; got {name!r}")
    if use_cache is None:
        use_cache = _AUTO_USES_CACHE.get()
    elif not isinstance(use_cache, bool):
        raise TypeError(f"`use_cache` must be True, False or None; got {use_cache!r}")
    token, cache_token = _AUTO_MEANS.set(name), _AUTO_USES_CACHE.set(use_cache)
    try:
        yield name
    finally:
        _AUTO_USES_CACHE.reset(cache_token)
        _AUTO_MEANS.reset(token)


def auto_backend() -> str:
    """What ``backend="auto"`` means here: "auto" unless :func:`default_backend` says otherwise."""
    return _AUTO_MEANS.get()


def _state(kern, model, scheme, dt, y0):
    """The kernel's per-path arrays from the chunk's initial states (the scheme's own init),
    the gradient evaluations init made, and the initial state itself."""
    st = scheme.init(model, y0, dt)
    arrays = []
    for f, w in zip(kern.program.fields, kern.program.widths):
        v = getattr(st, f)
        arrays.append(np.ascontiguousarray(v, dtype=y0.dtype) if isinstance(v, np.ndarray)
                      else np.zeros((y0.shape[0], w), dtype=y0.dtype))
    return tuple(arrays), int(st.grad_evals), st


def _state_of(prog, arrays):
    """The scheme's state the kernel's per-path ``arrays`` stand for."""
    values = dict(prog.statics[0], **dict(zip(prog.fields, arrays)))
    return prog.state_type(**{f: values.get(f, 0) for f in prog.state_type._fields})


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
    model, opts, layout, kern = run.model, run.opts, run.layout, run.kernel
    # the observer the kernel tests: this run's own (an executor task's copy)
    passage = None if kern.passage is None else kern.passage.for_observers(run.observers)
    nc, D = hi - lo, run.y_init.shape[1]
    r0 = layout.block_rows(b0)[0]
    y_init = run.y_init if run.y_init.shape[0] == 1 else run.y_init[r0:r0 + nc]
    arrays, _, st0 = _state(kern, model, run.scheme, run.dt,
                            np.array(np.broadcast_to(y_init, (nc, D)), dtype=opts.dtype))
    evals = kern.total_evals(run.n_steps)
    scheme_output, prog = run.scheme.output, kern.program

    def output(k):
        # the scheme's own output of the state the kernel's arrays stand for
        return scheme_output(model, st0 if k == 0 else _state_of(prog, arrays))

    if passage is not None:
        kernel_passage.run_chunk(run, out, (b0, b1, lo, hi), bar, kern, passage, arrays, output)
        return evals
    alive = np.ones(nc, dtype=bool)
    dsteps = out.diverged_step[lo:hi]
    gens = block_streams(opts.normals, run.root, range(b0, b1))
    rows = [(a - r0, e - r0) for a, e in (layout.block_rows(b) for b in range(b0, b1))]
    save_pos = {k: i for i, k in enumerate(run.save_k)}

    def visit(k):
        y = output(k)
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
        out.y_final[lo:hi] = output(run.n_steps)
    return evals
