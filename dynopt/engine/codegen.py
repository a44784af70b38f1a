"""Python source of fused SDE kernels, generated from a model's own definition.

Why generated source: a kernel that fuses the gradient of a user's potential into the
time loop must know that gradient at compile time.  Problems that carry a sympy
expression (every built-in, :func:`dynopt.problems.from_expr`) give it exactly:
:func:`gradient_source` differentiates the expression and prints it with sympy's Python
code printer (common subexpressions shared) as a function ``grad(x, g)`` on one point.
The scheme's loop is a template filled with that function; the module is written to a
cache directory named by a hash of its text and imported from there, so numba's own
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
from sympy.printing.pycode import pycode

from dynopt.engine import normals as normals_module

__all__ = ["cache_dir", "gradient_source", "is_numba_function", "callable_gradient_source", "bind_user_gradient", "overdamped_source", "splitting_source", "momentum_source",
           "load_module", "splitting_plan", "point_function_source"]

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
    outs = [sp.sympify(e).xreplace(dict(zip(syms, safe))) for e in exprs]
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


def _checker(arrays, i_out="i"):
    """Lines that mark path ``i`` dead at step k when an output entry is non-finite or too big."""
    conds = " or ".join(f"not abs({a}) <= blowup" for a in arrays)
    return [
        "            if check:",
        "                bad = False",
        "                for c in range(d):",
        f"                    if {conds}:",
        "                        bad = True",
        "                if bad:",
        f"                    dsteps[{i_out}] = k",
        f"                    alive[{i_out}] = False",
    ]


def _draws(n_terms, m, dtype, normals="sfc64"):
    """Per-step normals in the numpy backend's order: (term, path, component) per block.
    With ``normals="philox"`` ``gen`` is the block's key and each term's buffer is filled
    in one vectorised call (interval (k − 1)·nt + t, :mod:`dynopt.engine.normals`)."""
    if normals == "philox":
        return None, ["        for t in range(nt):", "            fill(gen, (k - 1) * nt + t, zb[t])"], [
            "            for t in range(nt):", "                for c in range(m):",
            "                    z[t, c] = zb[t, i * m + c]"]
    draw = "gen.standard_normal()" if dtype == "float64" else "gen.standard_normal(dtype=np.float32)"
    if n_terms == 1:
        return draw, [], ["            for c in range(m):", f"                z[0, c] = {draw}"]
    pre = ["        for t in range(nt):", "            for j in range(nb):", "                for c in range(m):",
           f"                    zb[t, j, c] = {draw}"]
    return draw, pre, ["            for t in range(nt):", "                for c in range(m):",
                       "                    z[t, c] = zb[t, i, c]"]


def _loop_head(args, n_terms, dtype, dims, d_of="y", normals="sfc64"):
    """The kernel's signature, buffers and loops down to one alive path ``i``; the sizes
    d, m are constants so that the compiler unrolls the per-component loops."""
    _, pre, per_path = _draws(n_terms, None, dtype, normals)
    zb = f"np.empty((nt, nb * m), dtype=np.{dtype})" if normals == "philox" else "np.empty((nt, nb, m))"
    return (["@njit(cache=True, nogil=True)", f"def run({args.replace(', m,', ', m_given,')}):",
             f"    nb = {d_of}.shape[0]",
             f"    d = {int(dims[0])}",
             f"    m = {int(dims[1])}",
             f"    nt = {n_terms}",
             "    x = np.empty(d)", "    g = np.empty(d)",
             "    z = np.empty((nt, m))", f"    zb = {zb}",
             "    for k in range(k0 + 1, k1 + 1):",
             "        check = k % check_every == 0 or k == k1"] + pre +
            ["        for i in range(nb):"] + per_path +
            ["            if not alive[i]:", "                continue"])


def _noise_lines(scalar, w, out="nz"):
    """``out[c] = (g w)_c`` for additive noise: σ·w_c, or the row c of G times w."""
    if scalar:
        return ["            for c in range(d):", f"                {out}[c] = {w.format(c='c')} * sig"]
    return ["            for c in range(d):", "                acc = 0.0", "                for j in range(m):",
            f"                    acc += {w.format(c='j')} * G[c, j]", f"                {out}[c] = acc"]


def overdamped_source(grad_src, dtype, scalar, method, dims, normals="sfc64"):
    """One-noise-term schemes on overdamped Langevin with additive noise (σ scalar or a
    matrix G), rounded as the numpy backend's generic paths round them.

    method : "euler-maruyama", "milstein" (additive: Euler with √h z), "stochastic-heun"
        or "leimkuhler-matthews" (the previous step's normals in ``prev``).
    """
    lm = method == "leimkuhler-matthews"
    arrays = "y, prev" if lm else "y"
    args = f"{arrays}, gen, k0, k1, check_every, alive, dsteps, h, s, sq, sig, G, m, blowup"
    body = _loop_head(args, 1, dtype, dims, normals=normals)
    body.insert(6, "    nz = np.empty(d)")
    body.insert(7, "    f1 = np.empty(d)")
    body += ["            for c in range(d):", "                x[c] = y[i, c]", "            grad(x, g)"]
    if method == "euler-maruyama" and scalar:
        body += ["            for c in range(d):", "                nz[c] = z[0, c] * s"]
    elif lm:
        body += ["            if k == 1:", "                for c in range(m):", "                    prev[i, c] = z[0, c]",
                 "            for c in range(m):", "                w = (prev[i, c] + z[0, c]) * (0.5 * sq)",
                 "                prev[i, c] = z[0, c]", "                z[0, c] = w"]
        body += _noise_lines(scalar, "z[0, {c}]")
    else:
        body += _noise_lines(scalar, "(z[0, {c}] * sq)")
    if method == "stochastic-heun":
        body += ["            for c in range(d):", "                f1[c] = (x[c] + (-g[c]) * h) + nz[c]",
                 "            for c in range(d):", "                g[c] = -g[c]",
                 "            grad(f1, f1)",
                 "            for c in range(d):",
                 "                y[i, c] = x[c] + ((0.5 * h) * (g[c] + (-f1[c])) + 0.5 * (nz[c] + nz[c]))"]
    else:
        body += ["            for c in range(d):", "                y[i, c] = (x[c] - g[c] * h) + nz[c]"]
    body += _checker(["y[i, c]"]) + ["                    for c in range(d):", "                        y[i, c] = np.nan"]
    return _header(dtype, normals) + "@njit(cache=True)\n" + grad_src + "\n\n" + "\n".join(body) + "\n"


def splitting_plan(sequence):
    """Per letter of a Langevin splitting, whether its B needs a fresh gradient, or None
    when that depends on the step (the first step starts with the initial force)."""
    def walk(fresh):
        evals = []
        for ch in sequence:
            if ch == "A":
                fresh = False
            elif ch == "B":
                evals.append(not fresh)
                fresh = True
        return evals, fresh
    first, end = walk(True)
    later, _ = walk(end)
    return first if first == later else None


def splitting_source(grad_src, sequence, dtype, dims, normals="sfc64"):
    """A Langevin splitting (letters A, B, O) on Kramers, fused per path; the O terms use
    the step's normals in time order, as the numpy backend does."""
    n_terms = max(1, sequence.count("O"))
    evals = iter(splitting_plan(sequence))
    args = "q, p, f, gen, k0, k1, check_every, alive, dsteps, hA, hB, cO, amp, m, blowup"
    body = _loop_head(args, n_terms, dtype, dims, d_of="q", normals=normals)
    t = 0
    for ch in sequence:
        if ch == "A":
            body += ["            for c in range(d):", "                q[i, c] = q[i, c] + p[i, c] * hA"]
        elif ch == "B":
            if next(evals):
                body += ["            for c in range(d):", "                x[c] = q[i, c]", "            grad(x, g)",
                         "            for c in range(d):", "                f[i, c] = -g[c]"]
            body += ["            for c in range(d):", "                p[i, c] = p[i, c] + f[i, c] * hB"]
        else:
            body += ["            for c in range(d):", f"                p[i, c] = p[i, c] * cO + z[{t}, c] * amp"]
            t += 1
    body += _checker(["q[i, c]", "p[i, c]"]) + [
        "                    for c in range(d):",
        "                        q[i, c] = np.nan", "                        p[i, c] = np.nan",
        "                        f[i, c] = np.nan"]
    return _header(dtype, normals) + "@njit(cache=True)\n" + grad_src + "\n\n" + "\n".join(body) + "\n"


def momentum_source(grad_src, dtype, dims, normals="sfc64"):
    """Momentum SGD (leapfrog with a noisy gradient): v ← βv − α∇L(q) + a z, q ← q + v."""
    args = "q, v, gen, k0, k1, check_every, alive, dsteps, alpha, beta, a, gamma, m, blowup"
    body = _loop_head(args, 1, dtype, dims, d_of="q", normals=normals) + [
        "            for c in range(d):", "                x[c] = q[i, c]", "            grad(x, g)",
        "            for c in range(d):",
        "                v[i, c] = ((v[i, c] * beta) - g[c] * alpha) + z[0, c] * a",
        "                q[i, c] = q[i, c] + v[i, c]",
    ]
    body += _checker(["q[i, c]", "(v[i, c] / gamma)"]) + [
        "                    for c in range(d):", "                        q[i, c] = np.nan",
        "                        v[i, c] = np.nan"]
    return _header(dtype, normals) + "@njit(cache=True)\n" + grad_src + "\n\n" + "\n".join(body) + "\n"


_LOADED: dict = {}


def load_module(source):
    """Import generated ``source`` from the cache directory (written once, named by its hash)."""
    key = hashlib.sha256(source.encode()).hexdigest()[:20]
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
