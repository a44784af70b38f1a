"""Consistency (local truncation error) orders of the schemes of dynopt.schemes, by sympy
series in the step, for a general smooth L in one dimension and a quadratic in d dims.

Definitions
-----------
* Runge–Kutta schemes (Euler, Heun, RK4) and symplectic Euler are one-step maps Φ_γ of
  the state; the local error Φ_γ(y) − φ_γ(y) against the exact flow φ of the ODE the
  scheme approximates is O(γ^{p+1}); p + 1 is the local order, the global order is p.
* The momentum family lives in (θ_n, v_n) with v_n = θ_n − θ_{n−1} (≈ γη_{n−1/2}).  Its
  one-step map on (θ, d = v/γ) is compared with the exact solution sampled as
  P(t) = (θ(t), (θ(t) − θ(t−γ))/γ): the θ-error of one step is the defect
  τ = θ(t+γ) − θ(t) − β(θ(t) − θ(t−γ)) + α∇L(point) of the two-step recurrence, the
  d-error is τ/γ.  If τ = O(γ^q) the local order is q − 1 and the global order q − 2.
  The start v_0 adds an error of order s in d (s = 1 for v_0 = γη_0, the optimizer's
  "rest" start; s = 2 for the half-step start), which reaches θ as O(γ^s) since the
  d-errors are damped by β^n: the predicted global order is min(q − 2, s).

Each scheme enters through its own definition (:mod:`dynopt.symbolic.recurrences`): a
Runge–Kutta tableau run through ``rk_step``, symplectic Euler's ``update``, a momentum
scheme's gradient point and (α, β) map, all evaluated on truncated power series.  The table
lists the registered schemes that have one of these definitions.

"A general smooth L" is its Taylor polynomial at θ_0 with symbolic coefficients
c_k = L^{(k)}(θ_0) up to the degree that can reach the orders tested, so each
coefficient of the error is a polynomial in the c_k and its vanishing is decided exactly.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from dynopt.expr import sympy_value

from dynopt.schemes import rk_step
from dynopt.symbolic.core import Derivation, beta, derivation, gamma, lam, order_of
from dynopt.symbolic.recurrences import (recurrence_defect, registered_schemes, resolve_scheme, rk_tableau,
                                         scheme_coefficients, scheme_kind)

__all__ = ["ConsistencyResult", "scheme_consistency", "rk_local_order", "momentum_orders",
           "symplectic_euler_local_order", "consistency_schemes", "consistency_table"]

P = 6          # series order kept in γ
_DMAX = 3      # largest dimension of the symbolic quadratic
_c = sp.symbols("c0:9", real=True)     # c_k = L^{(k)}(θ_0)
_eta0 = sp.Symbol("η_0", real=True)
_u = sp.Symbol("u", real=True)         # θ − θ_0


def __getattr__(name):
    # the table's scheme names are read from the registry when asked for, never stored
    if name == "ALL_SCHEMES":
        return consistency_schemes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class ConsistencyResult:
    """Orders of one scheme for one kind of problem.

    Attributes
    ----------
    scheme, ode, problem : str
    local_order : int
        Order of the one-step local error (p + 1 for a method of global order p).
    start_order : int or None
        Order (in the velocity) of the error of the scheme's start, momentum schemes only.
    global_order : int
        Predicted global order: local − 1, or min(local − 1, start) with a start error.
    leading_error : str
        The leading coefficient of the local error (1-D, general L).
    """

    scheme: str
    ode: str
    problem: str
    local_order: int
    start_order: int | None
    global_order: int
    leading_error: str


def _trunc(expr, var=gamma, order=P):
    """Drop the powers of ``var`` above ``order`` (elementwise for matrices)."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda x: _trunc(x, var, order))
    poly = sp.Poly(sp.expand(expr), var)
    return sp.Add(*[c * var ** m[0] for m, c in zip(poly.monoms(), poly.coeffs()) if m[0] <= order])


class _Series:
    """Truncated power series Σ_{k≤P} a_k γ^k with coefficients in a sympy polynomial ring
    (fast exact arithmetic; ``+``, ``-``, ``*`` with numbers, sympy constants and series)."""

    __slots__ = ("a",)

    def __init__(self, coeffs):
        self.a = list(coeffs)[: P + 1] + [_ring().zero] * (P + 1 - len(coeffs))

    @staticmethod
    def const(x):
        return _Series([_ring()(x)])

    @classmethod
    def of(cls, x):
        if isinstance(x, _Series):
            return x
        x = sympy_value(x)
        _ring()
        if x.has(gamma):
            poly = sp.Poly(sp.expand(x), gamma)
            out = [_R.zero] * (P + 1)
            for (m,), c in zip(poly.monoms(), poly.coeffs()):
                if m <= P:
                    out[m] += _R(c)
            return cls(out)
        return cls([_R(x)])

    def __add__(self, o):
        if isinstance(o, _Vec):
            return NotImplemented
        o = _Series.of(o)
        return _Series([x + y for x, y in zip(self.a, o.a)])

    __radd__ = __add__

    def __neg__(self):
        return _Series([-x for x in self.a])

    def __sub__(self, o):
        return self + (-_Series.of(o))

    def __rsub__(self, o):
        return _Series.of(o) - self

    def __mul__(self, o):
        if isinstance(o, _Vec):
            return NotImplemented
        o = _Series.of(o)
        out = [_R.zero] * (P + 1)
        for i, x in enumerate(self.a):
            if x:
                for j in range(P + 1 - i):
                    if o.a[j]:
                        out[i + j] += x * o.a[j]
        return _Series(out)

    __rmul__ = __mul__

    def __truediv__(self, k):
        return self * (sp.Integer(1) / sympy_value(k))

    def reflect(self):
        """The series of γ ↦ −γ."""
        return _Series([x if k % 2 == 0 else -x for k, x in enumerate(self.a)])

    def div_gamma(self):
        """Divide by γ (the constant term must vanish; the top order is lost)."""
        if self.a[0]:
            raise ArithmeticError("series has a constant term: cannot divide by γ")
        return _Series(self.a[1:])

    def deriv(self):
        """d/dγ (the top order is lost)."""
        return _Series([k * x for k, x in enumerate(self.a)][1:])

    def expr(self):
        return sp.Add(*[x.as_expr() * gamma ** k for k, x in enumerate(self.a)])


_R = None  # the coefficient ring, built lazily (sympy.polys.rings.ring over QQ)


def _ring():
    global _R
    if _R is None:
        from sympy.polys.rings import ring

        Hm, y0, e0 = _sym_quadratic(_DMAX)
        extra = sorted(Hm.free_symbols | y0.free_symbols | e0.free_symbols, key=str)
        _R = ring(list(_c) + [lam, _eta0] + extra, sp.QQ)[0]
    return _R


class _Vec:
    """A vector of :class:`_Series` with the arithmetic the scheme formulas use."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = list(v)

    def _lift(self, o):
        return o.v if isinstance(o, _Vec) else [o] * len(self.v)

    def __add__(self, o):
        return _Vec([x + y for x, y in zip(self.v, self._lift(o))])

    __radd__ = __add__

    def __neg__(self):
        return _Vec([-x for x in self.v])

    def __sub__(self, o):
        return _Vec([x - y for x, y in zip(self.v, self._lift(o))])

    def __rsub__(self, o):
        return _Vec([y - x for x, y in zip(self.v, self._lift(o))])

    def __mul__(self, o):  # by a scalar (series or number) only
        return _Vec([x * o for x in self.v])

    __rmul__ = __mul__

    def __truediv__(self, k):
        return _Vec([x / k for x in self.v])

    def reflect(self):
        return _Vec([x.reflect() for x in self.v])

    def div_gamma(self):
        return _Vec([x.div_gamma() for x in self.v])

    def deriv(self):
        return _Vec([x.deriv() for x in self.v])

    def expr(self):
        return sp.Matrix([x.expr() for x in self.v])


def _matvec(Hm, vec):
    """H·vec for a sympy matrix H of ring symbols and a _Vec."""
    d = Hm.shape[0]
    return _Vec([sum((vec.v[j] * Hm[i, j] for j in range(d)), _Series.const(0)) for i in range(d)])


def _quadratic_taylor(d, second_order):
    """Exact θ(γ) for θ' = −Hθ or θ'' + λθ' = −Hθ from θ(0) = y, θ'(0) = e (vector series)."""
    Hm, y0, e0 = _sym_quadratic(d)
    R = _ring()
    coefs = [[R(x) for x in y0]] + ([[R(x) for x in e0]] if second_order else [])
    Hr = [[R(Hm[i, j]) for j in range(d)] for i in range(d)]
    while len(coefs) < P + 1:
        j = len(coefs) - (2 if second_order else 1)
        Ha = [sum((Hr[i][k] * coefs[j][k] for k in range(d)), R.zero) for i in range(d)]
        if second_order:
            nxt = [(-R(lam) * (j + 1) * coefs[j + 1][i] - Ha[i]) * sp.Rational(1, (j + 2) * (j + 1))
                   for i in range(d)]
        else:
            nxt = [-Ha[i] * sp.Rational(1, j + 1) for i in range(d)]
        coefs.append(nxt)
    return _Vec([_Series([c[i] for c in coefs]) for i in range(d)]), Hm, y0, e0


def _gam():
    _ring()
    return _Series([_R.zero, _R.one])


def _powers(x, n):
    """1, x, x², …, xⁿ as truncated series (x must be O(γ))."""
    out = [_Series.const(1)]
    for _ in range(n):
        out.append(out[-1] * x)
    return out


def _grad_L_1d(x):
    """L'(θ_0 + x) for x = O(γ) as its Taylor polynomial with c_k = L^{(k)}(θ_0), to γ^P."""
    _ring()
    x = _Series.of(x)
    pw = _powers(x, P)
    out = _Series.const(0)
    for k in range(P + 1):
        out = out + pw[k] * (_c[k + 1] / sp.factorial(k))
    return out


def _taylor_solution(second_order: bool):
    """θ(γ) − θ_0 as a series in γ (to γ^P) for θ' = −L'(θ) (first order) or
    θ'' + λθ' = −L'(θ), θ'(0) = η_0 (second order), by matching Taylor coefficients:
    the coefficient of γ^j of L'(θ(γ)) only needs the coefficients of θ up to γ^j."""
    R = _ring()
    coef = [R.zero] + ([R(_eta0)] if second_order else [])
    lam_r = R(lam)
    while len(coef) < P + 1:
        j = len(coef) - (2 if second_order else 1)
        force = _grad_L_1d(_Series(coef)).a[j]
        if second_order:
            coef.append((-lam_r * (j + 1) * coef[j + 1] - force) * sp.Rational(1, (j + 2) * (j + 1)))
        else:
            coef.append(-force * sp.Rational(1, j + 1))
    return _Series(coef)


@functools.lru_cache(maxsize=None)
def _exact_gradient_flow_1d():
    return _taylor_solution(False)


def rk_local_order(scheme, problem="general-1d", d=2):
    """(local order, leading local-error coefficient) of a Runge–Kutta scheme on gradient
    flow: its tableau run through the same ``rk_step`` loop as the numeric scheme, on series.

    ``scheme`` is a registry name, class or instance; ``problem`` is ``"general-1d"`` (a general
    smooth L) or ``"quadratic"`` (L = ½θᵀHθ in ``d`` dimensions).
    """
    return _rk_local_order(rk_tableau(scheme), problem, d)


@functools.lru_cache(maxsize=None)
def _rk_local_order(tableau, problem, d):
    if problem == "general-1d":
        fun = lambda t, y: -_grad_L_1d(y)  # noqa: E731
        step = rk_step(fun, 0, _Series.const(0), _gam(), *tableau)
        err = sp.expand((step - _exact_gradient_flow_1d()).expr())
    elif problem == "quadratic":
        exact, Hm, y0, _ = _quadratic_taylor(d, False)
        fun = lambda t, y: -_matvec(Hm, y)  # noqa: E731
        y_start = _Vec([_Series.of(x) for x in y0])
        err = (rk_step(fun, 0, y_start, _gam(), *tableau) - exact).expr()
    else:
        raise ValueError(f"`problem` must be 'general-1d' or 'quadratic'; got {problem!r}")
    k = order_of(err, gamma, P)
    if k is None:
        raise ArithmeticError(f"local error vanishes to O(γ^{P}); raise P")
    lead = err.coeff(gamma, k) if not isinstance(err, sp.MatrixBase) else err.applyfunc(lambda x: x.coeff(gamma, k))
    return k, sp.factor(lead) if not isinstance(lead, sp.MatrixBase) else lead


def _sym_quadratic(d):
    hs = {}
    for i in range(d):
        for j in range(i, d):
            hs[i, j] = hs[j, i] = sp.Symbol(f"h{i + 1}{j + 1}", real=True)
    Hm = sp.Matrix(d, d, lambda i, j: hs[i, j])
    y0 = sp.Matrix(sp.symbols(f"y1:{d + 1}", real=True))
    e0 = sp.Matrix(sp.symbols(f"e1:{d + 1}", real=True))
    return Hm, y0, e0


@functools.lru_cache(maxsize=None)
def _heavy_ball_taylor_1d():
    """θ(γ) − θ_0 for θ'' + λθ' = −L'(θ), θ(0) = θ_0, θ'(0) = η_0 (polynomial in γ)."""
    return _taylor_solution(True)


def _series(expr):
    return _Series.of(sp.series(expr, gamma, 0, P + 1).removeO())


def momentum_orders(scheme, problem="general-1d", d=2):
    """(local order, start-error order, leading local-error coefficient) of a momentum-form
    scheme against θ'' + λθ' = −∇L (see the module docstring for the definitions), from its
    gradient point and (α, β) map (:func:`~dynopt.symbolic.recurrences.scheme_coefficients`)
    and its ``start``."""
    inst, _ = resolve_scheme(scheme)
    c = scheme_coefficients(inst)
    return _momentum_orders(c.weights, c.alpha, c.beta, inst.start, problem, d)


@functools.lru_cache(maxsize=None)
def _momentum_orders(weights, al, b, start, problem, d):
    b_s, al_s = _series(b), _series(al)
    w = [_series(x.subs(beta, b)) for x in weights]
    if problem == "general-1d":
        th_p = _heavy_ball_taylor_1d()                # θ(γ) − θ_0 with θ_0 = 0
        th_0, th_m = _Series.const(0), th_p.reflect()  # θ(−γ) − θ_0
        grad0, eta0, grad = _c[1], _eta0, _grad_L_1d
    elif problem == "quadratic":
        th_p, Hm, y0, eta0 = _quadratic_taylor(d, True)
        th_0, th_m = _Vec([_Series.of(x) for x in y0]), th_p.reflect()
        grad0, grad = Hm * y0, lambda x: _matvec(Hm, x)
    else:
        raise ValueError(f"`problem` must be 'general-1d' or 'quadratic'; got {problem!r}")
    tau = recurrence_defect(w, th_p, th_0, th_m, al_s, b_s, grad).expr()
    q = order_of(tau, gamma, P)
    if q is None:
        raise ArithmeticError(f"defect vanishes to O(γ^{P}); raise P")
    # start: d_0 = v_0/γ vs the exact (θ(0) − θ(−γ))/γ
    d0 = eta0 if start == "rest" else eta0 + gamma / 2 * (lam * eta0 + grad0)
    start_err = d0 - (th_0 - th_m).div_gamma().expr()
    start_err = start_err.applyfunc(_trunc) if isinstance(start_err, sp.MatrixBase) else _trunc(start_err)
    s = order_of(start_err, gamma, P)
    lead = tau.coeff(gamma, q) if not isinstance(tau, sp.MatrixBase) else tau.applyfunc(lambda x: x.coeff(gamma, q))
    return q - 1, s, lead


def symplectic_euler_local_order(problem="general-1d", d=2, scheme="symplectic-euler"):
    """(local order, leading error) of symplectic Euler on (θ, η): its ``update`` run on the
    Taylor series of the exact solution of θ'' + λθ' = −∇L."""
    inst, label = resolve_scheme(scheme)
    if scheme_kind(inst) != "symplectic-euler":
        raise TypeError(f"`scheme` must be a SymplecticEuler scheme; got {label!r}")
    return _one_step_local_order(type(inst).update, problem, d)


@functools.lru_cache(maxsize=None)
def _one_step_local_order(update, problem, d):
    if problem == "general-1d":
        th = _heavy_ball_taylor_1d()
        th1, eta1 = update(_Series.const(0), _Series.of(_eta0), lambda q: -_grad_L_1d(q), lam, _gam())
        err = sp.Matrix([(th1 - th).expr(), _trunc((eta1 - th.deriv()).expr(), gamma, P - 1)])
    elif problem == "quadratic":
        thq, Hm, y0, e0 = _quadratic_taylor(d, True)
        y_s, e_s = _Vec([_Series.of(x) for x in y0]), _Vec([_Series.of(x) for x in e0])
        th1, eta1 = update(y_s, e_s, lambda q: -_matvec(Hm, q), lam, _gam())
        err = sp.Matrix.vstack((th1 - thq).expr(), _trunc((eta1 - thq.deriv()).expr(), gamma, P - 1))
    else:
        raise ValueError(f"`problem` must be 'general-1d' or 'quadratic'; got {problem!r}")
    k = order_of(err, gamma, P)
    return k, err.applyfunc(lambda x: x.coeff(gamma, k))


def scheme_consistency(scheme, problem="general-1d", d=2) -> ConsistencyResult:
    """Consistency (local) order of a scheme, from a Taylor expansion of the exact solution
    against the scheme's own definition.

    Parameters
    ----------
    scheme : str, type or Scheme
        A momentum scheme (against θ'' + λθ' = −∇L, through its recurrence and start),
        symplectic Euler (against the same ODE, on (θ, η)) or an explicit Runge–Kutta scheme
        (against gradient flow θ' = −∇L); registry name, class (registered or not) or instance.
        Any other scheme is read through its step (:func:`dynopt.symbolic.steps.step_consistency`,
        ``problem="general-1d"`` only).
    problem : {"general-1d", "quadratic"}
        A general smooth L in one dimension, or L = ½θᵀHθ in ``d`` dimensions.
    d : int
        Dimension of the quadratic (1 to 3).

    Returns
    -------
    ConsistencyResult
    """
    if problem not in ("general-1d", "quadratic"):
        raise ValueError(f"`problem` must be 'general-1d' or 'quadratic'; got {problem!r}")
    if not 1 <= d <= _DMAX:
        raise ValueError(f"`d` must be in [1, {_DMAX}]; got {d!r}")
    inst, label = resolve_scheme(scheme)
    try:
        kind = scheme_kind(inst)
    except TypeError:
        if problem != "general-1d":
            raise
        from dynopt.symbolic.steps import step_consistency

        c = step_consistency(inst)   # any other scheme: its step read on a general L
        return ConsistencyResult(label, c.model, problem, c.local_order, None, c.order, str(c.local_error))
    if kind == "runge-kutta":
        k, lead = rk_local_order(inst, problem, d)
        return ConsistencyResult(label, "gradient flow", problem, k, None, k - 1, str(lead))
    if kind == "symplectic-euler":
        k, lead = symplectic_euler_local_order(problem, d, inst)
        return ConsistencyResult(label, "θ''+λθ'=−∇L", problem, k, None, k - 1, str(list(lead)))
    k, s, lead = momentum_orders(inst, problem, d)
    g = k - 1 if s is None else min(k - 1, s)
    return ConsistencyResult(label, "θ''+λθ'=−∇L", problem, k, s, g, str(lead))


def consistency_schemes() -> tuple:
    """The registered schemes with a symbolic definition (Runge–Kutta, symplectic Euler,
    momentum family), in registration order, read from :data:`dynopt.schemes.METHODS`."""
    return registered_schemes()


def consistency_table(problem="general-1d", d=2):
    """:func:`scheme_consistency` for every scheme of :func:`consistency_schemes`."""
    return tuple(scheme_consistency(name, problem, d) for name in consistency_schemes())


@derivation("consistency", "local truncation orders of every scheme (sympy series in the step), predicted global orders")
def _consistency():
    gen = consistency_table("general-1d")
    quad = consistency_table("quadratic", 2)
    res, rows = {}, []
    for rg, rq in zip(gen, quad):
        res[f"{rg.scheme}: local order"] = sp.Integer(rg.local_order)
        res[f"{rg.scheme}: global order"] = sp.Integer(rg.global_order)
        rows.append({"scheme": rg.scheme, "ode": rg.ode, "local_order_general_1d": rg.local_order,
                     "local_order_quadratic_2d": rq.local_order, "start_order": rg.start_order,
                     "global_order": rg.global_order, "leading_local_error_1d": rg.leading_error})
    return Derivation(
        "consistency", "local truncation orders of every scheme (sympy series in the step), predicted global orders",
        results=res,
        steps=["RK: the schemes' tableaux run through rk_step symbolically vs the Lie series of θ' = −L'(θ)",
               "momentum family: defect τ of θ_{n+1}−θ_n = β(θ_n−θ_{n−1}) − α∇L(point) on the exact "
               "solution of θ''+λθ'=−∇L; local order = ord τ − 1 in the (θ, v/γ) variables",
               "start error of v_0/γ (rest: O(γ), half-step: O(γ²)); global = min(local − 1, start)",
               "L general smooth in 1-D (Taylor coefficients c_k = L^(k)(θ0)) and L = ½θᵀHθ in 2-D"],
        data={"json": rows})
