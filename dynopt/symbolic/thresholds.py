"""Stability thresholds of optimizers read from their own update functions.

An optimizer of :mod:`dynopt.optim` (built-in or a researcher's own ``(init, update)`` pair)
is called once on sympy symbols: the parameter θ and every float buffer of its state are
symbols, the gradient is that of L = hθ²/2 (taken at the optimizer's look-ahead point if
it declares one).  The Jacobian of (θ, state) ↦ (θ', state') at the minimum θ = 0 is the
linear one-step map; its characteristic polynomial in z gives the stability interval in
the curvature.

Adaptive methods are read with their preconditioner frozen (Cohen et al. 2022, §3): the
buffers the declared ``preconditioner`` depends on (Adam's v) stay symbolic and positive,
the others (momenta) are at their fixed point 0, and the curvature is expressed in
units of P: h = s·P.  At θ = 0 the gradient vanishes, so the preconditioner's own
response to θ drops out of the Jacobian (∂g²/∂θ = 2g·h = 0): the linearization is the
frozen-preconditioner scheme.  For methods without a preconditioner P = 1 and s is the
sharpness itself.  Either way the threshold is in the units of the tracked sharpness
(λ_max(H) or λ_max(P⁻¹H)), learning rate included: 2/η for GD.

The stability interval (:func:`stability_interval`) is found without assuming the
polynomial's shape: factors free of s are fixed roots (checked to lie in the closed unit
disc); for the others the curvatures at which a root can meet the unit circle are the
real roots of the resultant of the polynomial and its reciprocal (a root on the circle is
a common root of p(z) and zⁿp(1/z)), of p(±1) and of the extreme coefficients; between
consecutive candidates the spectral radius stays on one side of 1, so one evaluation per
gap decides it.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynopt.expr import sympy_value

from dynopt.optim.transforms import GradientTransformation, tree_leaves, tree_map

__all__ = ["SymbolicLeaf", "OptimizerThreshold", "one_step_map", "optimizer_threshold",
           "stability_interval"]

#: curvature (an eigenvalue of P⁻¹∇²L) and the root variable of the characteristic polynomial
S = sp.Symbol("s", positive=True)
Z = sp.Symbol("z")
_H = sp.Symbol("h", positive=True)
#: step count given to the counters of the state: the steady state (bias corrections and
#: first-step special cases are over); any count ≥ 1 gives the same polynomial for the
#: built-in methods
STEADY_COUNT = 10 ** 6


class SymbolicLeaf:
    """A sympy expression that numpy's object-array loops can compute with.

    Numpy applies ``np.sqrt``, ``np.exp``, ``np.abs``… to object arrays by calling the
    element's method of that name; sympy expressions have none, so an optimizer written
    with numpy ufuncs could not be called on symbols.  This wrapper forwards arithmetic
    and those methods to sympy.
    """

    __slots__ = ("expr",)
    __array_priority__ = 100

    def __init__(self, expr):
        self.expr = sympy_value(expr) if not isinstance(expr, sp.Basic) else expr

    @staticmethod
    def _e(x):
        return x.expr if isinstance(x, SymbolicLeaf) else x

    def _wrap(self, e):
        return SymbolicLeaf(e)

    def __add__(self, o):
        return self._wrap(self.expr + self._e(o))

    def __radd__(self, o):
        return self._wrap(self._e(o) + self.expr)

    def __sub__(self, o):
        return self._wrap(self.expr - self._e(o))

    def __rsub__(self, o):
        return self._wrap(self._e(o) - self.expr)

    def __mul__(self, o):
        return self._wrap(self.expr * self._e(o))

    def __rmul__(self, o):
        return self._wrap(self._e(o) * self.expr)

    def __truediv__(self, o):
        return self._wrap(self.expr / self._e(o))

    def __rtruediv__(self, o):
        return self._wrap(self._e(o) / self.expr)

    def __pow__(self, o):
        return self._wrap(self.expr ** self._e(o))

    def __rpow__(self, o):
        return self._wrap(self._e(o) ** self.expr)

    def __neg__(self):
        return self._wrap(-self.expr)

    def __pos__(self):
        return self

    def __abs__(self):
        return self._wrap(sp.Abs(self.expr))

    def sqrt(self):
        return self._wrap(sp.sqrt(self.expr))

    def exp(self):
        return self._wrap(sp.exp(self.expr))

    def log(self):
        return self._wrap(sp.log(self.expr))

    def absolute(self):
        return abs(self)

    def conjugate(self):
        return self._wrap(sp.conjugate(self.expr))

    def __repr__(self):
        return f"SymbolicLeaf({self.expr})"


def _unwrap(x):
    return x.expr if isinstance(x, SymbolicLeaf) else sympy_value(x)


def _obj(exprs):
    out = np.empty(len(exprs), dtype=object)
    for i, e in enumerate(exprs):
        out[i] = SymbolicLeaf(e)
    return out


def _symbolize_state(state, symbols, prefix="s"):
    """The state with every float array replaced by an object array of fresh symbols (one
    per entry, appended to ``symbols``) and every integer counter by STEADY_COUNT."""
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(_symbolize_state(x, symbols, f"{prefix}{i}") for i, x in enumerate(state)))
    if isinstance(state, (list, tuple)):
        return type(state)(_symbolize_state(x, symbols, f"{prefix}{i}") for i, x in enumerate(state))
    if isinstance(state, dict):
        return {k: _symbolize_state(v, symbols, f"{prefix}{k}") for k, v in state.items()}
    if isinstance(state, (bool, np.bool_)):
        return state
    if isinstance(state, (numbers.Integral,)):
        return STEADY_COUNT
    arr = np.asarray(state)
    if arr.dtype.kind == "f":
        syms = [sp.Symbol(f"{prefix}_{j}", positive=True) for j in range(arr.size)]
        symbols.extend(syms)
        return _obj(syms).reshape(arr.shape)
    return state


def _float_leaves(tree):
    """Float (or symbolic) array leaves of a state, in the order :func:`_symbolize_state` visits."""
    if isinstance(tree, (list, tuple)):
        out = []
        for x in tree:
            out += _float_leaves(x)
        return out
    if isinstance(tree, dict):
        out = []
        for v in tree.values():
            out += _float_leaves(v)
        return out
    if isinstance(tree, np.ndarray) and (tree.dtype == object or tree.dtype.kind == "f"):
        return [_unwrap(x) for x in tree.ravel()]
    return []


@dataclass(frozen=True)
class OneStepMap:
    """The linearized one-step map of an optimizer on L = hθ²/2 (:func:`one_step_map`).

    Attributes
    ----------
    matrix : sympy.Matrix
        Jacobian of (θ, state buffers) ↦ (θ', buffers') at θ = 0, momenta 0, in s = h/P.
    variables : tuple of sympy.Symbol
        θ and the state buffers, in the matrix's order.
    preconditioner : sympy.Expr
        P at the linearization point (1 without a preconditioner).
    characteristic_polynomial : sympy.Poly
        det(z·I − matrix), in z with coefficients in s.
    """

    matrix: sp.Matrix
    variables: tuple
    preconditioner: sp.Expr
    characteristic_polynomial: sp.Poly


def one_step_map(opt: GradientTransformation) -> OneStepMap:
    """Call ``opt`` on symbols and linearize its step on L = hθ²/2 at θ = 0.

    Parameters
    ----------
    opt : GradientTransformation
        Any optimizer of :mod:`dynopt.optim` or a user's ``(init, update)`` pair written
        with plain arithmetic and numpy ufuncs (no branches on array values).  A declared
        ``preconditioner`` is frozen (see the module docstring).

    Returns
    -------
    OneStepMap

    Raises
    ------
    TypeError
        If ``opt`` is not a GradientTransformation.
    ValueError
        If the linearized map still depends on anything but s (the rule is not linear
        on the quadratic model, or its preconditioner is not declared).
    """
    if not isinstance(opt, GradientTransformation):
        raise TypeError(f"`opt` must be a dynopt.optim.GradientTransformation; got {type(opt).__name__}")
    theta = sp.Symbol("θ", real=True)
    state_syms: list = []
    state = _symbolize_state(opt.init(np.zeros(1)), state_syms)
    params = _obj([theta])
    point = params if opt.lookahead is None else opt.lookahead(params, state)
    grad = tree_map(lambda p: _H * p, point)
    updates, new_state = opt.update(grad, state, params)
    new_theta = [_unwrap(x) for x in (params + updates).ravel()]
    new_buffers = _float_leaves(new_state)
    if len(new_buffers) != len(state_syms):
        raise ValueError("`opt`: its update changed the number of state buffers "
                         f"({len(state_syms)} → {len(new_buffers)})")
    variables = (theta, *state_syms)
    if opt.preconditioner is not None:
        pre = [_unwrap(x) for _, leaf in tree_leaves(opt.preconditioner(new_state)) for x in np.ravel(leaf)]
        if len(pre) != 1:
            raise ValueError("`opt.preconditioner` must return one entry per parameter")
        pre = pre[0]
    else:
        pre = sp.Integer(1)
    # the buffers the preconditioner depends on stay symbolic; momenta sit at their fixed point 0
    frozen = pre.free_symbols & set(state_syms)
    point_subs = {v: 0 for v in variables if v not in frozen}
    J = sp.Matrix([*new_theta, *new_buffers]).jacobian(sp.Matrix(variables)).subs(point_subs)
    P0 = sp.nsimplify(pre.subs(point_subs), rational=True)
    M = J.subs(_H, S * P0).applyfunc(lambda e: sp.simplify(sp.nsimplify(e, rational=True)))
    if any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in M):
        raise ValueError("`opt`: the linearized step on hθ²/2 is not finite at the minimum with its "
                         "buffers at 0 (a division by a state buffer: declare it as the optimizer's "
                         "`preconditioner` so that it is frozen at a positive value)")
    char = sp.Poly(sp.expand(sp.cancel(M.charpoly(Z).as_expr())), Z)
    extra = set().union(*(sympy_value(c).free_symbols for c in char.all_coeffs())) - {S}
    if extra:
        raise ValueError(f"`opt`: the linearized step on hθ²/2 depends on {sorted(map(str, extra))} "
                         "besides the curvature; the rule is not linear on the quadratic model "
                         "(a state-dependent scaling must be declared as its `preconditioner`)")
    return OneStepMap(M, variables, P0, char)


def stability_interval(poly, z=Z, s=S):
    """The largest s* such that every root of ``poly`` lies in the closed unit disc for
    all s in (0, s*].

    Parameters
    ----------
    poly : sympy.Poly or sympy.Expr
        Polynomial in ``z`` whose coefficients are polynomials (or rational functions)
        in ``s`` with rational coefficients.
    z, s : sympy.Symbol

    Returns
    -------
    threshold : sympy.Expr
        Exact (a rational, radical or ``CRootOf``); ``sympy.oo`` if stable for every
        s > 0, 0 if unstable for small s > 0.
    candidates : list of sympy.Expr
        The curvatures at which a root can meet the unit circle (evidence).
    """
    expr = sp.together(poly.as_expr() if isinstance(poly, sp.Poly) else sympy_value(poly))
    num = sp.numer(expr)
    # factors independent of s are roots that never move: inside the disc or nothing is stable
    cands = set()
    moving = []
    for f, _ in sp.factor_list(sp.expand(num), z, s)[1]:
        if s not in f.free_symbols:
            if f.has(z) and max(abs(complex(r)) for r in sp.Poly(f, z).nroots()) > 1 + 1e-12:
                return sp.Integer(0), []
            continue
        if not f.has(z):      # a factor of the coefficients only: its zeros are candidates
            cands |= _positive_roots(f, s)
            continue
        pf = sp.Poly(f, z)
        n = pf.degree()
        recip = sp.Poly(sp.expand(z ** n * f.subs(z, 1 / z)), z)
        res = sp.resultant(pf.as_expr(), recip.as_expr(), z)
        if sp.expand(res) == 0:
            raise ValueError("`poly`: a factor is self-reciprocal for every s (roots on the unit "
                             "circle over an interval); the boundary is not isolated")
        for g in (res, f.subs(z, 1), f.subs(z, -1), pf.LC(), pf.TC()):
            cands |= _positive_roots(g, s)
        moving.append(f)
    if not moving:
        return sp.oo, []
    cands = sorted(cands, key=lambda r: float(r))
    polys = [sp.lambdify(s, sp.Poly(f, z).all_coeffs(), "numpy") for f in moving]

    def radius(x):
        return max(max((abs(r) for r in np.roots(np.array(c(x), dtype=float))), default=0.0)
                   for c in polys)

    edges = [0.0] + [float(c) for c in cands]
    for i, lo in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else (2 * lo if lo > 0 else 1.0)
        if radius(0.5 * (lo + hi)) > 1 + 1e-12:
            return (sp.Integer(0) if i == 0 else cands[i - 1]), cands
    return sp.oo, cands


def _positive_roots(expr, s):
    expr = sp.numer(sp.together(sympy_value(expr)))
    if s not in expr.free_symbols:
        return set()
    return {r for r in sp.real_roots(sp.Poly(expr, s)) if r > 0}


@dataclass(frozen=True)
class OptimizerThreshold:
    """Result of :func:`optimizer_threshold`.

    Attributes
    ----------
    value : float
        The largest stable curvature s* (λ_max(H), or λ_max(P⁻¹H) for a preconditioned
        method), learning rate included (GD: 2/η).  ``inf`` if stable for all curvatures.
    exact : sympy.Expr
        The same, exactly.
    preconditioned : bool
        True if the optimizer declares a preconditioner (the threshold is on P⁻¹H, P frozen).
    step_map : OneStepMap
    candidates : list
        Curvatures where a root can meet the unit circle.
    derivation : str
        One line: how the number was obtained.
    """

    value: float
    exact: sp.Expr
    preconditioned: bool
    step_map: OneStepMap
    candidates: list
    derivation: str


def optimizer_threshold(opt: GradientTransformation) -> OptimizerThreshold:
    """The stability threshold of ``opt`` on the quadratic model, read from its update.

    The one-step map of :func:`one_step_map`, its characteristic polynomial, and the
    largest curvature with all roots in the closed unit disc (:func:`stability_interval`).

    Examples
    --------
    >>> from dynopt import optim
    >>> optimizer_threshold(optim.sgd(0.5)).exact
    4
    >>> optimizer_threshold(optim.adam(0.01, b1=0.9)).exact      # (2 + 2β₁)/((1 − β₁)η)
    3800
    """
    m = one_step_map(opt)
    thr, cands = stability_interval(m.characteristic_polynomial)
    pre = opt.preconditioner is not None
    kind = "λ_max(P⁻¹H) with P frozen" if pre else "λ_max(H)"
    char = sp.factor(m.characteristic_polynomial.as_expr())
    return OptimizerThreshold(float(thr), thr, pre, m, cands,
                              f"{kind} < {sp.nsimplify(thr) if thr.is_Rational else thr}: largest s with every "
                              f"root of {char} in the closed unit disc (update on L = hθ²/2, h = s·P)")
