"""State-dependent noise amplitudes σ_i(θ) given as sympy expressions in a problem's symbols.

Why expressions: an amplitude written as an expression is evaluated by numpy (lambdified),
differentiated exactly for Milstein's correction (∂σ_i/∂θ_i, no finite differences) and
printed into compiled kernels (:mod:`dynopt.engine.codegen_sde`), the way a problem's
gradient is.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import sympy as sp

from dynopt.expr import parse

from dynopt.problems.base import lambdify_batched

__all__ = ["SigmaExpression", "sigma_expression"]


class SigmaExpression(NamedTuple):
    """Diagonal noise amplitudes: ``exprs[i]`` = σ_i(θ) in ``symbols``; ``fn`` and ``dx``
    evaluate σ and ∂σ_i/∂θ_i on points (n, d) → (n, d)."""

    exprs: tuple
    symbols: tuple
    fn: Callable
    dx: Callable


def _is_expr(s):
    return isinstance(s, (str, sp.Basic))


def sigma_expression(sigma, problem) -> Optional[SigmaExpression]:
    """The :class:`SigmaExpression` of ``sigma`` when it is a sympy expression or string (the
    same σ(θ) for every component) or a sequence of d of them (numbers allowed among them);
    None for anything else (numbers, arrays, callables).

    Raises
    ------
    ValueError
        The problem has no sympy symbols, the sequence has the wrong length, or an
        expression has symbols other than the problem's or does not parse.
    """
    items = list(sigma) if isinstance(sigma, (list, tuple)) else [sigma]
    if not items or not any(_is_expr(s) for s in items):
        return None
    syms = tuple(getattr(problem, "symbols", ()) or ())
    d = problem.dim
    if len(syms) != d:
        raise ValueError("`sigma` given as an expression needs a problem with sympy symbols "
                         "(from_expr or a built-in problem)")
    by_name = {s.name: s for s in syms}
    exprs = [parse(s, syms, argument="sigma") if isinstance(s, str) else sp.Float(s) if isinstance(s, float)
             else sp.Integer(s) if isinstance(s, int) else s for s in items]
    # a user's symbols may carry other assumptions than the problem's: match them by name
    exprs = [e.xreplace({f: by_name[f.name] for f in e.free_symbols if f.name in by_name}) for e in exprs]
    if len(exprs) == 1:
        exprs = exprs * d
    if len(exprs) != d:
        raise ValueError(f"`sigma` must be one expression or {d} (one per component); got {len(exprs)}")
    extra = set().union(*(e.free_symbols for e in exprs)) - set(syms)
    if extra:
        raise ValueError(f"`sigma` has symbols {sorted(map(str, extra))} that are not the problem's "
                         f"{[s.name for s in syms]}")
    exprs = tuple(exprs)
    dx = tuple(sp.diff(e, s) for e, s in zip(exprs, syms))
    return SigmaExpression(exprs, syms, lambdify_batched(exprs, syms), lambdify_batched(dx, syms))
