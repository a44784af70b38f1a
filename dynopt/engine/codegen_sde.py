"""The per-point σ function of compiled kernels for overdamped Langevin with state-dependent
diagonal noise σ_i(θ) given as sympy expressions (:mod:`dynopt.dynamics.sigma_expr`).

The amplitudes and their derivatives ∂σ_i/∂θ_i (for derivative corrections and the
Itô–Stratonovich drift) are printed with sympy's Python printer, like the gradient
(:func:`dynopt.engine.codegen.gradient_source`), into ``sig(x, s, ds)`` on one point: the
traced step (:mod:`dynopt.engine.tracer`) calls it where the scheme asks the model for
``diffusion`` or ``diffusion_dx``.
"""
from __future__ import annotations

import functools
from typing import Optional

import sympy as sp

from dynopt.engine import codegen

__all__ = ["sigma_source"]


@functools.lru_cache(maxsize=128)
def sigma_source(exprs, syms) -> Optional[str]:
    """Source of ``sig(x, s, ds)``: ``s[i] = σ_i(x)``, ``ds[i] = ∂σ_i/∂x_i``; None when the
    printer cannot render an expression as plain Python/``math`` code."""
    d = len(syms)
    outs = list(exprs) + [sp.diff(e, s) for e, s in zip(exprs, syms)]
    return codegen.point_function_source("def sig(x, s, ds):", outs, syms,
                                         [f"s[{i}]" for i in range(d)] + [f"ds[{i}]" for i in range(d)])
