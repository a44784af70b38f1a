"""Python source of fused kernels for overdamped Langevin with state-dependent diagonal
noise σ_i(θ) given as sympy expressions (:mod:`dynopt.dynamics.sigma_expr`).

The amplitudes and their derivatives ∂σ_i/∂θ_i (Milstein's correction, the Itô–Stratonovich
drift of stochastic Heun) are printed with sympy's Python printer, like the gradient
(:func:`dynopt.engine.codegen.gradient_source`), into ``sig(x, s, ds)`` on one point.  The
schemes' updates are written in the numpy backend's order of operations
(:mod:`dynopt.schemes.sde`), so the two backends round alike wherever the printed and the
lambdified expressions do.
"""
from __future__ import annotations

import functools
from typing import Optional

import sympy as sp

from dynopt.engine import codegen

__all__ = ["DIAGONAL_METHODS", "sigma_source", "diagonal_source", "sgd_source"]

#: schemes compiled for diagonal noise, and their drift evaluations per step
DIAGONAL_METHODS = {"euler-maruyama": 1, "milstein": 1, "stochastic-heun": 2}


@functools.lru_cache(maxsize=128)
def sigma_source(exprs, syms) -> Optional[str]:
    """Source of ``sig(x, s, ds)``: ``s[i] = σ_i(x)``, ``ds[i] = ∂σ_i/∂x_i``; None when the
    printer cannot render an expression as plain Python/``math`` code."""
    d = len(syms)
    outs = list(exprs) + [sp.diff(e, s) for e, s in zip(exprs, syms)]
    return codegen.point_function_source("def sig(x, s, ds):", outs, syms,
                                         [f"s[{i}]" for i in range(d)] + [f"ds[{i}]" for i in range(d)])


def _update(method):
    """The per-path update of ``y[i]`` from ``x`` (its state), ``g`` (∇L(x)), ``s``/``ds``
    (σ and σ' at x) and the normals ``z[0]``: the numpy backend's expressions."""
    if method == "euler-maruyama":
        return ["            for c in range(d):", "                y[i, c] = (x[c] - g[c] * h) + s[c] * (z[0, c] * sq)"]
    if method == "milstein":
        return ["            for c in range(d):",
                "                dw = z[0, c] * sq",
                "                corr = ((0.5 * s[c]) * ds[c]) * (dw * dw - h)",
                "                y[i, c] = (x[c] - g[c] * h) + (s[c] * dw + corr)"]
    # stochastic Heun on the Stratonovich drift f = −∇L − ½ σ σ'
    return ["            for c in range(d):",
            "                dwb[c] = z[0, c] * sq",
            "                f0[c] = (-g[c]) + (-0.5) * (s[c] * ds[c])",
            "                g0[c] = s[c] * dwb[c]",
            "                pred[c] = (x[c] + f0[c] * h) + g0[c]",
            "            grad(pred, g)",
            "            sig(pred, s, ds)",
            "            for c in range(d):",
            "                f1 = (-g[c]) + (-0.5) * (s[c] * ds[c])",
            "                y[i, c] = x[c] + ((0.5 * h) * (f0[c] + f1) + 0.5 * (g0[c] + s[c] * dwb[c]))"]


def diagonal_source(grad_src, sig_src, dtype, method, dims, normals="sfc64"):
    """A kernel ``run`` for ``method`` (a key of :data:`DIAGONAL_METHODS`) on overdamped
    Langevin with diagonal noise σ_i(θ): one normal per component and step, drawn as the
    numpy backend draws them."""
    args = "y, gen, k0, k1, check_every, alive, dsteps, h, sq, m, blowup"
    body = codegen._loop_head(args, 1, dtype, dims, normals=normals)
    at = body.index("    g = np.empty(d)") + 1
    body[at:at] = ["    s = np.empty(d)", "    ds = np.empty(d)", "    dwb = np.empty(d)", "    f0 = np.empty(d)",
                   "    g0 = np.empty(d)", "    pred = np.empty(d)"]
    body += ["            for c in range(d):", "                x[c] = y[i, c]", "            grad(x, g)", "            sig(x, s, ds)"]
    body += _update(method)
    body += codegen._checker(["y[i, c]"]) + ["                    for c in range(d):",
                                             "                        y[i, c] = np.nan"]
    return (codegen._header(dtype, normals) + "@njit(cache=True)\n" + grad_src + "\n\n@njit(cache=True)\n" + sig_src + "\n\n"
            + "\n".join(body) + "\n")


def sgd_source(dtype, dims, batch, n_examples, replace):
    """Constant-step SGD θ ← θ − η ∇L_B(θ) on a least-squares sum (data ``A``, ``bv``): each
    path draws its minibatch from the block's stream as :class:`dynopt.schemes.SGDIterates`
    does (B integers with replacement; else the first B of an argsort of N uniforms) and
    takes the mean of its examples' gradients (a_iᵀθ − b_i) a_i, in that order of sums."""
    d = int(dims[0])
    body = ["@njit(cache=True, nogil=True)",
            "def run(y, gen, k0, k1, check_every, alive, dsteps, h, A, bv, m_given, blowup):",
            "    nb = y.shape[0]", f"    d = {d}", f"    B = {int(batch)}", f"    N = {int(n_examples)}",
            "    idx = np.empty(B, dtype=np.int64)", "    u = np.empty(B)", "    gr = np.empty(d)",
            "    for k in range(k0 + 1, k1 + 1):",
            "        check = k % check_every == 0 or k == k1",
            "        for i in range(nb):"]
    if replace:
        body += ["            for j in range(B):", "                idx[j] = gen.integers(0, N)"]
    else:
        # the first B of argsort(N uniforms), kept sorted as they are drawn: O(N) per path
        # instead of a sort (uniforms in [0, 1) do not tie in practice)
        body += ["            cnt = 0",
                 "            for j in range(N):",
                 "                v = gen.random()",
                 "                if cnt < B:",
                 "                    p = cnt",
                 "                    cnt += 1",
                 "                elif v < u[B - 1]:",
                 "                    p = B - 1",
                 "                else:",
                 "                    continue",
                 "                while p > 0 and u[p - 1] > v:",
                 "                    u[p] = u[p - 1]",
                 "                    idx[p] = idx[p - 1]",
                 "                    p -= 1",
                 "                u[p] = v",
                 "                idx[p] = j"]
    body += ["            if not alive[i]:", "                continue",
             "            for c in range(d):", "                gr[c] = 0.0",
             "            for j in range(B):",
             "                r = 0.0",
             "                for c in range(d):", "                    r += y[i, c] * A[idx[j], c]",
             "                r = r - bv[idx[j]]",
             "                for c in range(d):", "                    gr[c] += r * A[idx[j], c]",
             "            for c in range(d):", "                y[i, c] = y[i, c] - h * (gr[c] / B)"]
    body += codegen._checker(["y[i, c]"]) + ["                    for c in range(d):",
                                             "                        y[i, c] = np.nan"]
    return codegen._HEADER + "\n".join(body) + "\n"
