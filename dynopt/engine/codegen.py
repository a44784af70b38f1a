"""Python source of fused SDE kernels, generated from a model's own definition.

Why generated source: a kernel that fuses the gradient of a user's potential into the
time loop must know that gradient at compile time.  Problems that carry a sympy
expression (every built-in, :func:`dynopt.problems.from_expr`) give it exactly:
:func:`gradient_source` differentiates the expression and prints it with sympy's Python
code printer (common subexpressions shared) as a function ``grad(x, g)`` on one point.
The scheme's update is its own ``step`` read by :mod:`dynopt.engine.tracer`; the loop
around it (normals, divergence checks) is the same for every scheme.  The module is written
to a cache directory named by a hash of its text and imported from there, so numba's own
on-disk cache (``cache=True``) makes every later process skip compilation.

Nothing here imports numba: the text is plain Python until :func:`load_module` imports it.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import types
from pathlib import Path

import sympy as sp

from dynopt.expr import sympy_value
from sympy.printing.pycode import pycode

from dynopt.engine import normals as normals_module

__all__ = ["cache_dir", "gradient_source", "is_numba_function", "callable_gradient_source", "bind_user_gradient",
           "step_source", "load_module", "point_function_source"]

_HEADER = "import math\nimport numpy as np\nfrom numba import njit\n\n"


def _header(dtype, normals):
    """The module header; with Philox normals it binds ``fill`` and names the normals
    module's text hash, since numba's cache would not notice that module change."""
    if normals != "philox":
        return _HEADER
    digest = hashlib.sha256(Path(normals_module.__file__).read_bytes()).hexdigest()[:16]
    return (_HEADER + f"from dynopt.engine.normals import jit_fill\n\n"
            f"fill = jit_fill({dtype!r})  # normals.py {digest}\n\n")


def cache_dir() -> Path:
    """Where generated kernels live: :func:`dynopt.engine.cache_dir.kernel_cache_dir` (created
    0700; refused when owned by another user or writable by others)."""
    from dynopt.engine.cache_dir import kernel_cache_dir
    return kernel_cache_dir()


def gradient_source(problem):
    """Source of ``grad(x, g)``: ``g[:] = ∇L(x)`` at one point, from ``problem.expr``.

    Returns None when the problem has no expression (a Python callable) or the printer
    cannot render it as plain Python/``math`` code.
    """
    expr, syms = getattr(problem, "expr", None), tuple(getattr(problem, "symbols", ()) or ())
    if expr is None or len(syms) != problem.dim:
        return None
    return _gradient_source(expr, syms)


def is_numba_function(fn) -> bool:
    """True for a numba-compiled function (a ``numba.njit`` dispatcher)."""
    return type(fn).__module__.startswith("numba") and hasattr(fn, "py_func")


def callable_gradient_source(grad_fn):
    """Source of ``grad(x, g)`` calling a user's numba-compiled, row-vectorised ``grad_fn``
    (bound as the module global ``user_grad`` by :func:`bind_user_gradient`); the text names
    the function's code so that another function gets another module."""
    code = grad_fn.py_func.__code__
    digest = hashlib.sha256(code.co_code + repr(code.co_consts).encode() + code.co_name.encode()).hexdigest()[:16]
    return "\n".join([f"def grad(x, g):  # user grad_fn {code.co_name} {digest}",
                      "    r = user_grad(x.reshape((1, x.shape[0])))",
                      "    for c in range(x.shape[0]):",
                      "        g[c] = r[0, c]", ""])


def bind_user_gradient(source, grad_fn):
    """Execute ``source`` (built on :func:`callable_gradient_source`) in a namespace of its
    own with ``user_grad = grad_fn``, compiled without numba's on-disk cache: numba freezes
    the function a kernel calls when it compiles, and closures with other constants share
    their code, so neither a shared module nor the cache may serve another function."""
    ns = {"user_grad": grad_fn, "__name__": "dynopt_user_kernel"}
    exec(compile(source.replace("@njit(cache=True", "@njit(cache=False"), "<dynopt user kernel>", "exec"), ns)
    return types.SimpleNamespace(**ns)


def point_function_source(signature, exprs, syms, targets):
    """Source of a function of one point ``x`` (``signature``, e.g. ``"def grad(x, g):"``)
    storing each of ``exprs`` (in ``syms``) into its ``targets`` entry (e.g. ``"g[0]"``),
    with common subexpressions shared; None when an expression has other free symbols or
    the printer cannot render it as plain Python/``math`` code."""
    # private names: a user's symbols may be called ``g``, ``math`` or ``np``
    safe = [sp.Symbol(f"_x{i}", real=True) for i in range(len(syms))]
    outs = [sympy_value(e).xreplace(dict(zip(syms, safe))) for e in exprs]
    if any(e.free_symbols - set(safe) for e in outs):
        return None
    repl, reduced = sp.cse(outs, symbols=sp.numbered_symbols("_c"))
    lines = [signature] + [f"    _x{i} = x[{i}]" for i in range(len(syms))]
    try:
        lines += [f"    {s} = {pycode(e)}" for s, e in repl]
        lines += [f"    {t} = {pycode(e)}" for t, e in zip(targets, reduced)]
    except Exception:  # sympy raises various printer errors for unsupported objects
        return None
    text = "\n".join(lines) + "\n"
    return None if "Not supported" in text or "sympy" in text else text


@functools.lru_cache(maxsize=256)
def _gradient_source(expr, syms, name="grad"):
    grads = [sp.diff(expr, s) for s in syms]
    return point_function_source(f"def {name}(x, g):", grads, syms, [f"g[{i}]" for i in range(len(syms))])


def _draws(n_terms, dtype, normals="sfc64"):
    """Per-step normals in the numpy backend's order: (term, path, component) per block.
    Returns the lines before the path loop and those at the top of its body (filling
    ``z[t, c]`` for path ``i``).  With ``normals="philox"`` ``gen`` is the block's key and
    each term's buffer is filled in one vectorised call (interval (k − 1)·nt + t,
    :mod:`dynopt.engine.normals`)."""
    if normals == "philox":
        return ["        for t in range(nt):", "            fill(gen, (k - 1) * nt + t, zb[t])"], [
            "            for t in range(nt):", "                for c in range(m):",
            "                    z[t, c] = zb[t, i * m + c]"]
    draw = "gen.standard_normal()" if dtype == "float64" else "gen.standard_normal(dtype=np.float32)"
    if n_terms == 1:
        return [], ["            for c in range(m):", f"                z[0, c] = {draw}"]
    pre = ["        for t in range(nt):", "            for j in range(nb):", "                for c in range(m):",
           f"                    zb[t, j, c] = {draw}"]
    return pre, ["            for t in range(nt):", "                for c in range(m):",
                 "                    z[t, c] = zb[t, i, c]"]


def _trace_lines(trace, arrays, indent):
    """A traced step for path ``i``: load its leaves, run its lines, store the new state
    and name the output components ``o0, o1, ...``."""
    pad = " " * indent
    out = []
    for f, names in trace.reads.items():
        out += [f"{pad}{n} = {arrays[f]}[i, {c}]" for c, n in enumerate(names)]
    out += [pad + line for line in trace.lines]
    for f, names in trace.writes.items():
        out += [f"{pad}{arrays[f]}[i, {c}] = {n}" for c, n in enumerate(names)
                if trace.reads.get(f, [None] * (c + 1))[c] != n]
    out += [f"{pad}o{j} = {n}" for j, n in enumerate(trace.outputs)]
    return out


def step_source(program, functions, dtype, n_terms, noise_dim, normals="sfc64"):
    """A kernel module whose ``run`` advances one block of paths with a traced step.

    Parameters
    ----------
    program : dynopt.engine.tracer.Program
        The scheme's step read by the tracer (its lines name the run constants ``c0, c1,
        ...``, the normals ``z[t, c]``, the time ``tt`` and the oracles' buffers).
    functions : dict
        Oracle name (``"grad"``, ``"sig"``) → (its per-point source, its dimension).
    dtype : {"float64", "float32"}
    n_terms, noise_dim : int
        Normals per step and path: ``n_terms`` vectors of ``noise_dim``.

    ``run(<arrays>, gen, k0, k1, check_every, alive, dsteps, <constants>, t0, h, m, blowup)``
    steps the alive paths from step k0 to k1, draws the normals as the numpy backend does,
    and at check steps marks a path whose output has an entry that is not finite or
    exceeds ``blowup`` as diverged at step k, setting its state to NaN.
    """
    arrays = {f: f"s_{f}" for f in program.fields}
    consts = [name for name, _ in program.consts]
    args = ", ".join([*arrays.values(), "gen, k0, k1, check_every, alive, dsteps", *consts,
                      "t0, h, m_given, blowup"])
    pre, per_path = _draws(n_terms, dtype, normals)
    zb = f"np.empty((nt, nb * m), dtype=np.{dtype})" if normals == "philox" else f"np.empty((nt, nb, m), dtype=np.{dtype})"
    body = ["@njit(cache=True, nogil=True)", f"def run({args}):",
            f"    nb = {arrays[program.fields[0]]}.shape[0]",
            f"    m = {int(noise_dim)}", f"    nt = {int(n_terms)}",
            f"    z = np.empty((nt, m), dtype=np.{dtype})", f"    zb = {zb}"]
    for name, (_, dim) in functions.items():
        outs = ("g",) if name == "grad" else ("s", "ds")
        body += [f"    {name}_{o} = np.empty({int(dim)})" for o in ("x",) + outs]
    body += ["    for k in range(k0 + 1, k1 + 1):",
             "        check = k % check_every == 0 or k == k1"] + pre
    body += ["        for i in range(nb):"] + per_path + ["            if not alive[i]:", "                continue",
                                                          "            tt = t0 + (k - 1) * h"]
    if program.later is None:
        body += _trace_lines(program.first, arrays, 12)
    else:
        body += ["            if k == 1:"] + _trace_lines(program.first, arrays, 16)
        body += ["            else:"] + _trace_lines(program.later, arrays, 16)
    n_out = len(program.first.outputs)
    ok = " and ".join(f"abs(o{j}) <= blowup" for j in range(n_out))
    body += ["            if check:", f"                if not ({ok}):",
             "                    dsteps[i] = k", "                    alive[i] = False"]
    for f, w in zip(program.fields, program.widths):
        body += [f"                    {arrays[f]}[i, {c}] = np.nan" for c in range(w)]
    funcs = "".join(f"@njit(cache=True)\n{src}\n\n" for src, _ in functions.values())
    return _header(dtype, normals) + funcs + "\n".join(body) + "\n"


_LOADED: dict = {}


def _key(source):
    return hashlib.sha256(source.encode()).hexdigest()[:20]


def loaded_module(source):
    """The module of generated ``source`` if this process has imported it, else None."""
    return _LOADED.get(_key(source))


def cached_on_disk(source) -> bool:
    """True when the kernel cache holds ``source``'s module and numba's index of its loop.

    Which argument types the index holds is not read (numba's index is a pickle, loaded
    only by numba itself), so this is what a cost estimate needs, not a guarantee.
    """
    from dynopt.engine.cache_dir import kernel_cache_dir
    key, folder = _key(source), kernel_cache_dir(create=False)
    try:
        if (folder / f"k_{key}.py").read_text() != source:
            return False
    except OSError:
        return False
    return any((folder / "__pycache__").glob(f"k_{key}.run-*.nbi"))


def load_module(source):
    """Import generated ``source`` from the cache directory (written once, named by its hash)."""
    key = _key(source)
    if key in _LOADED:
        return _LOADED[key]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"k_{key}.py"
    if not path.exists() or path.read_text() != source:
        tmp = folder / f".k_{key}.{os.getpid()}.tmp"
        tmp.write_text(source)
        os.replace(tmp, path)
    name = f"dynopt_kernel_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    _LOADED[key] = mod
    return mod
