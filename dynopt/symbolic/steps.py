"""The symbolic reading of a scheme's step: the one function a scheme writes, called on sympy.

A scheme's ``init``/``step``/``output`` are plain arithmetic on a NamedTuple state (arrays
with one row per path) and the model's oracles.  Called on numpy object arrays of sympy
expressions of shape ``(1, dim)`` and on the stand-in models of this module, whose oracles
return sympy, the same functions give

* on L = κθ²/2 (:func:`step_matrix`, :func:`step_stability`): the one-step map's matrix
  (the Jacobian of the new state's array entries with respect to fresh symbols for the old
  ones), its characteristic polynomial and the stable interval of the product step ×
  curvature by the Schur–Cohn/Jury conditions;
* with L' a general smooth function (:func:`step_consistency`, :func:`step_modified_equation`):
  the local error series of one step from the scheme's start against the Taylor series of
  the exact flow of the continuous model the scheme declares, the order on the linear test
  problem, and the modified equation to O(h²);
* for SDE schemes (:func:`ms_stability`, :func:`stationary_variance`): the mean-square
  amplification E[X₁²]/X₀² on dX = λX dt + μX dW (expectation over the normals by their
  moments) and the exact stationary covariance of the discrete chain on
  dX = −kX dt + σ dW or on harmonic Kramers (the augmented linear chain s' = A s + B ξ,
  a discrete Lyapunov equation solved exactly).

Nothing here knows a scheme: buffers, several gradient evaluations per step and schemes a
user writes in a file are read the same way.  The state's structure is taken from ``init``
followed by one step; every array entry of that state is then replaced by a fresh symbol.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynopt.expr import sympy_value

from dynopt.symbolic.core import NotProved, is_zero, order_of
from dynopt.symbolic.standins import (P, STATIONARY_MODELS, GeneralModel, HarmonicKramers, L_fun,  # noqa: F401
                                      LinearTestSDE, OUModel, QuadraticModel, curvature, friction,
                                      friction_step, noise_sigma, product, sde_lambda, sde_mu,
                                      step_symbol, stiffness, theta, _eta0)

__all__ = ["StepMatrix", "StepStability", "StepConsistency", "ModifiedEquation", "step_matrix", "step_stability",
           "step_consistency", "step_modified_equation", "jury_conditions", "model_flavour",
           "MSStability", "StationaryVariance", "ms_stability", "stationary_variance", "normal_expectation",
           "QuadraticModel", "GeneralModel", "LinearTestSDE", "OUModel", "HarmonicKramers", "STATIONARY_MODELS"]


# -- reading a state ----------------------------------------------------------------------
def _instance(scheme):
    from dynopt.schemes import Scheme, get_scheme

    if isinstance(scheme, Scheme):
        return scheme
    if isinstance(scheme, type) and issubclass(scheme, Scheme):
        return scheme()
    if isinstance(scheme, str):
        return get_scheme(scheme)
    raise TypeError(f"`scheme` must be a registry name, a Scheme class or instance; got {type(scheme).__name__}")


def _label(inst):
    """The registry name of the scheme's class, else its own ``name``, else the class name."""
    from dynopt.schemes import METHODS

    for key, cls in METHODS.items():
        if type(inst) is cls:
            return key
    return type(inst).__dict__.get("name") or type(inst).__name__


def _is_sde(inst):
    from dynopt.schemes.sde import SDEScheme

    return isinstance(inst, SDEScheme)


def model_flavour(inst) -> str:
    """``"first"`` (gradient flow θ' = −∇L) or ``"second"`` (θ'' + λθ' = −∇L on (θ, η)): the
    continuous model an ODE scheme's ``approximates`` declares.

    Raises
    ------
    TypeError
        For an SDE scheme.
    NotImplementedError
        For models with no stand-in here (time-dependent or high-resolution ODEs, adaptive
        methods' ODEs).
    """
    from dynopt.dynamics import GradientFlow, HeavyBall, Model

    if _is_sde(inst):
        raise TypeError(f"`scheme` must be a deterministic (ODE) scheme for this reading; {_label(inst)!r} is an "
                        "SDE scheme (read it with ms_stability or stationary_variance)")
    classes = tuple(getattr(inst, "approximates", (Model,)))
    if any(issubclass(HeavyBall, c) and c is not Model for c in classes) or any(issubclass(c, HeavyBall) for c in classes):
        return "second"
    if any(issubclass(c, GradientFlow) or c is Model for c in classes):
        return "first"
    names = ", ".join(c.__name__ for c in classes)
    raise NotImplementedError(f"no symbolic stand-in for the models {names} (gradient flow and the heavy "
                              f"ball θ'' + λθ' = −∇L are read)")


def _arrays(state):
    """Indices of the state's array fields."""
    return [i for i, v in enumerate(state) if isinstance(v, np.ndarray)]


def _entries(state):
    """The state's array entries in field order, as a flat list of sympy expressions."""
    return [sympy_value(x) for i in _arrays(state) for x in np.asarray(state[i]).ravel()]


def _fresh(state):
    """The state with every array entry a fresh symbol, and those symbols."""
    fields, syms = list(state), []
    names = getattr(state, "_fields", [f"s{i}" for i in range(len(state))])
    for i in _arrays(state):
        a = np.asarray(state[i])
        s = np.empty(a.shape, dtype=object)
        for j, _ in enumerate(a.ravel()):
            sym = sp.Symbol(f"{names[i]}{j}" if a.size > 1 else f"{names[i]}", real=True)
            s.flat[j] = sym
            syms.append(sym)
        fields[i] = s
    return type(state)(*fields) if hasattr(state, "_fields") else tuple(fields), syms


def _obj(entries, shape=(1, 1)):
    a = np.empty(shape, dtype=object)
    for j, e in enumerate(entries):
        a.flat[j] = e
    return a


def _exact(expr):
    """Floats in ``expr`` (a scheme's 0.5) as rationals, so identities are decided exactly."""
    expr = sympy_value(expr)
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: _fraction(float(f)) for f in floats}) if floats else expr


def _fraction(f):
    # a float of a tableau or of 0.5·dt is a simple fraction up to rounding (1/6 → 0.1666…);
    # any other float is kept as the exact rational it is
    near = sp.Rational(f).limit_denominator(10 ** 6)
    return near if abs(float(near) - f) <= 1e-14 * max(1.0, abs(f)) else sp.Rational(f)


def _normals(inst, model):
    n_terms = int(getattr(inst, "n_terms", 1))
    zs = sp.symbols(f"ξ1:{n_terms + 1}", real=True)
    z = np.empty((n_terms, 1, model.noise_dim), dtype=object)
    for j in range(n_terms):
        z[j, 0, 0] = zs[j]
    return z, zs


def _call_step(inst, model, state, dt, z=None):
    t0 = sp.Integer(0)
    return inst.step(model, t0, state, dt) if z is None else inst.step(model, t0, state, dt, z.copy())


def _template(inst, model, dt, y0, z=None):
    """``init`` then one step: the state whose structure every later step keeps."""
    state = inst.init(model, y0, dt)
    return _call_step(inst, model, state, dt, z)


# -- linear algebra helpers ------------------------------------------------------------------
def jury_conditions(poly):
    """Schur–Cohn/Jury conditions (each ``expr > 0``) for every root of ``poly`` in |z| < 1.

    Parameters
    ----------
    poly : sympy.Poly
        Degree 1, 2 or 3 in z with a positive leading coefficient.

    Returns
    -------
    list of sympy.Expr
    """
    cs = poly.all_coeffs()
    n = poly.degree()
    if n == 1:
        c1, c0 = cs
        return [c1 - c0, c1 + c0]
    if n == 2:
        c2, c1, c0 = cs
        return [c2 + c1 + c0, c2 - c1 + c0, c2 - c0, c2 + c0]
    if n == 3:
        a3, a2, a1, a0 = cs
        p1, pm1 = a3 + a2 + a1 + a0, -(-a3 + a2 - a1 + a0)
        d = a3 ** 2 - a0 ** 2
        return [p1, pm1, a3 - a0, a3 + a0, d - (a3 * a1 - a0 * a2), d + (a3 * a1 - a0 * a2)]
    raise NotImplementedError(f"Jury conditions are implemented for degree ≤ 3; got degree {n}")


def _strip_zero_roots(poly):
    cs = poly.all_coeffs()
    while len(cs) > 1 and is_zero(cs[-1]):
        cs = cs[:-1]
    return sp.Poly(cs, poly.gen)


# -- stability ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StepMatrix:
    """The one-step map of a scheme on L = κθ²/2, read from its step.

    Attributes
    ----------
    matrix : sympy.Matrix
        ∂(new array entries)/∂(old array entries); rows and columns follow ``variables``.
    variables : tuple of sympy.Symbol
        The state's array entries (one symbol per entry, named after its field).
    gradient_evaluations : int
        Gradients the reader counted in one step.
    flavour : str
        ``"first"`` (gradient flow) or ``"second"`` (heavy ball) stand-in.
    """

    matrix: sp.Matrix
    variables: tuple
    gradient_evaluations: int
    flavour: str


def step_matrix(scheme) -> StepMatrix:
    """The one-step map's matrix of a deterministic scheme on L = κθ²/2 (step :data:`step_symbol`).

    Parameters
    ----------
    scheme : str, type or Scheme
        Registry name, class (registered or not, e.g. defined in a user's file) or instance;
        its numeric attributes may be sympy symbols.

    Raises
    ------
    NotProved
        When the new state is not a linear function of the old one (a step that is not
        plain arithmetic in the state, or an affine offset).
    """
    inst = _instance(scheme)
    flavour = model_flavour(inst)
    model = QuadraticModel(second_order=flavour == "second")
    y0 = _obj(sp.symbols("y0:2", real=True)[: model.state_dim], (1, model.state_dim))
    fresh, syms = _fresh(_template(inst, model, step_symbol, y0))
    model.grad_calls = 0
    new = [_exact(sp.expand(e)) for e in _entries(_call_step(inst, model, fresh, step_symbol))]
    M = sp.Matrix(new).jacobian(syms)
    offset = [e.subs({s: 0 for s in syms}) for e in new]
    if any(not is_zero(sp.expand(e - (M.row(i) * sp.Matrix(syms))[0])) for i, e in enumerate(new)) or \
            any(not is_zero(o) for o in offset):
        raise NotProved("the step is not linear in the state on L = κθ²/2")
    return StepMatrix(M.applyfunc(sp.simplify), tuple(syms), model.grad_calls, flavour)


@dataclass(frozen=True)
class StepStability:
    """Linear stability of a scheme on L = κθ²/2, read from its step.

    Attributes
    ----------
    matrix : StepMatrix
    characteristic_polynomial : sympy.Poly
        det(z − M) with its roots at 0 removed, coefficients in the product ``variable``.
    variable : sympy.Expr
        The product the bound is on: h·κ (gradient flow) or h²·κ with λh (heavy ball).
    conditions : list of sympy.Expr
        The Jury conditions (each > 0).
    max_product : sympy.Expr
        The largest stable product (``sympy.oo``: every product > 0 is stable).
    """

    matrix: StepMatrix
    characteristic_polynomial: sp.Poly
    variable: sp.Expr
    conditions: list
    max_product: sp.Expr


def _range_substitution(symbols, ranges):
    """Substitutions putting each parameter in its range with a positive u: (0, ∞) → u,
    (lo, hi) → lo + (hi − lo)/(1 + u)."""
    sub = {}
    for k, s in enumerate(sorted(symbols, key=str)):
        u = sp.Symbol(f"u{k}", positive=True)
        lo, hi = (ranges or {}).get(s, (0, sp.oo))
        sub[s] = lo + u if hi is sp.oo else lo + (hi - lo) / (1 + u)
    return sub


def _damping_range(matrix):
    """The λh range (0, X₀) on which the step without a gradient (κ = 0) damps the velocity
    monotonically: X₀ is the positive root of its velocity factor (the eigenvalue other than
    the position's 1), e.g. β = 1 − λh vanishing at λh = 1; (0, ∞) when it never vanishes."""
    m0 = matrix.subs(curvature, 0).subs(friction, friction_step / step_symbol)
    z = sp.Symbol("z")
    factors = sp.factor_list(sp.simplify(m0.charpoly(z).as_expr()), z)[1]
    roots = set()
    for f, _ in factors:
        p = sp.Poly(f, z)
        if p.degree() != 1:
            raise NotProved(f"the step without a gradient has the factor {f} of degree {p.degree()}")
        e = sp.simplify(-p.all_coeffs()[1] / p.all_coeffs()[0])
        if is_zero(e - 1) or not e.has(friction_step):
            continue
        roots |= {r for r in sp.solve(sp.Eq(e, 0), friction_step) if r.is_positive}
    if len(roots) > 1:
        raise NotProved(f"the velocity factor vanishes at several λh > 0: {sorted(roots, key=float)}")
    return (0, roots.pop()) if roots else (0, sp.oo)


def step_stability(scheme, ranges=None) -> StepStability:
    """Stable interval of the product step × curvature of a deterministic scheme on L = κθ²/2.

    The characteristic polynomial det(z − M) of the step's matrix is written in x = hκ
    (gradient-flow schemes) or x = h²κ with λh fixed (heavy-ball schemes); the Jury
    conditions are solved for the largest x with every root in |z| < 1, deciding each sign
    on the parameters' ranges.

    Parameters
    ----------
    scheme : str, type or Scheme
    ranges : dict, optional
        sympy symbol → (lo, hi) for the scheme's symbolic parameters (default (0, ∞)),
        e.g. ``{β: (0, 1)}``.  For a heavy-ball scheme λh defaults to the range on which
        its step without a gradient damps the velocity monotonically (β(λh) ∈ (0, 1)).

    Raises
    ------
    NotProved
        When a sign cannot be decided on the ranges, or the polynomial does not depend on h
        and κ through the product alone.
    """
    from dynopt.symbolic.stability import stable_upper_bound

    sm = step_matrix(scheme)
    z = sp.Symbol("z")
    poly = _strip_zero_roots(sp.Poly(sm.matrix.charpoly(z).as_expr(), z))
    if sm.flavour == "first":
        sub, var = {curvature: product / step_symbol}, product
    else:
        sub, var = {curvature: product / step_symbol ** 2, friction: friction_step / step_symbol}, product
    coeffs = [sp.simplify(_exact(c.subs(sub))) for c in poly.all_coeffs()]
    if any(step_symbol in c.free_symbols for c in coeffs):
        raise NotProved(f"the characteristic polynomial {poly.as_expr()} depends on h and κ otherwise than "
                        f"through {var}")
    poly = sp.Poly(sum(c * z ** k for k, c in enumerate(reversed(coeffs))), z)
    conds = jury_conditions(poly)
    params = set().union(*(c.free_symbols for c in coeffs)) - {var}
    ranges = dict(ranges or {})
    if friction_step in params and friction_step not in ranges:
        ranges[friction_step] = _damping_range(sm.matrix)
    psub = _range_substitution(params, ranges)
    bound = stable_upper_bound(conds, var, None, psub)
    return StepStability(sm, poly, var, conds, bound)


# -- consistency and modified equation -------------------------------------------------------
def _truncate(expr, order=P + 1):
    """Powers of the step above ``order`` dropped (series for non-polynomial dependence)."""
    e = sp.expand(sympy_value(expr))
    if e.is_polynomial(step_symbol):
        return sp.Add(*[t for t in sp.Add.make_args(e) if sp.degree(t, step_symbol) <= order])
    return sp.expand(sp.series(e, step_symbol, 0, order + 1).removeO())


def _exact_position(second_order):
    """Taylor polynomial in the step of θ(h) − θ₀ for θ' = −L'(θ) or θ'' + λθ' = −L'(θ),
    θ'(0) = η₀, with the same coefficients c_k = L⁽ᵏ⁾(θ₀) as :class:`GeneralModel`."""
    from dynopt.symbolic.consistency import _exact_gradient_flow_1d, _heavy_ball_taylor_1d
    from dynopt.symbolic.core import gamma

    ser = _heavy_ball_taylor_1d() if second_order else _exact_gradient_flow_1d()
    return _truncate(ser.expr().subs(gamma, step_symbol))


@dataclass(frozen=True)
class StepConsistency:
    """Consistency of a scheme read from its step.

    Attributes
    ----------
    local_error : sympy.Expr or sympy.Matrix
        Position error of one step from the scheme's start against the exact flow, as a
        series in h with L⁽ᵏ⁾(θ) for the derivatives of a general L.
    local_order : int
        Lowest power of h in ``local_error`` (order + 1 for a one-step method).
    linear_order : int
        Order on L = κθ²/2: ord_h det(e^{hω} − M) minus the number of eigenvalues of M that
        tend to 1 (ω an eigenvalue of the continuous model).
    order : int
        min(local_order − 1, linear_order): the predicted global order.
    model : str
    lower_bound : bool
        True when the state carries a buffer that ``init`` starts (a past gradient, say):
        the one step read is then a start-up step, whose error enters the global error
        once rather than at every step, so ``order`` is a lower bound (two-step
        Adams–Bashforth reads 1 here; its order on the linear problem, 2, is the true one).
    """

    local_error: object
    local_order: int
    linear_order: int
    order: int
    model: str
    lower_bound: bool = False


def _linear_order(sm):
    z, w = sp.Symbol("z"), sp.Symbol("ω")
    chi = sm.matrix.charpoly(z).as_expr()
    chi = _strip_zero_roots(sp.Poly(chi, z)).as_expr()
    at0 = sp.Poly(sp.limit(chi, step_symbol, 0) if chi.has(step_symbol) else chi, z)
    m = 0
    while at0.degree() > 0 and is_zero(at0.eval(1)):
        at0 = sp.Poly(sp.quo(at0.as_expr(), z - 1, z), z)
        m += 1
    if sm.flavour == "first":
        kappa_of_w = -w
    else:
        kappa_of_w = -w ** 2 - friction * w
    e = sp.expand(chi.subs(curvature, kappa_of_w).subs(z, sp.exp(step_symbol * w)))
    ser = sp.expand(sp.series(e, step_symbol, 0, P + 3).removeO())
    k = order_of(ser, step_symbol, P + 2)
    if k is None:
        raise ArithmeticError(f"det(e^(hω) − M) vanishes to O(h^{P + 2})")
    return k - m


def step_consistency(scheme) -> StepConsistency:
    """Consistency order of a deterministic scheme, read from its step.

    One step from the scheme's ``init`` on a general smooth L (its Taylor coefficients
    L⁽ᵏ⁾(θ₀) as symbols) is expanded in the step h and compared with the Taylor series of
    the exact flow of the model the scheme declares (gradient flow, or the heavy ball from
    (θ₀, η₀)); for a second-order model the positions are compared (a scheme's velocity may
    be staggered).  Buffers with a transient are not seen by one step, so the order on the
    linear problem (all steps, through the characteristic polynomial) is taken as well.

    Parameters
    ----------
    scheme : str, type or Scheme

    Returns
    -------
    StepConsistency
    """
    inst = _instance(scheme)
    flavour = model_flavour(inst)
    model = GeneralModel(second_order=flavour == "second", truncate=_truncate)
    y0 = _obj([sp.Integer(0), _eta0][: model.state_dim], (1, model.state_dim))
    state = inst.init(model, y0, step_symbol)
    out = inst.output(model, _call_step(inst, model, state, step_symbol))
    err = [_exact(_truncate(out.flat[0] - _exact_position(flavour == "second")))]
    k = order_of(err[0], step_symbol, P + 1)
    if k is None:
        raise ArithmeticError(f"the local error vanishes to O(h^{P + 1})")
    lead = GeneralModel.as_derivatives(sp.factor(err[0].coeff(step_symbol, k)))
    lin = _linear_order(step_matrix(inst))
    buffered = len(_entries(state)) > model.state_dim
    return StepConsistency(lead * step_symbol ** k, k, lin, min(k - 1, lin),
                           "θ' = −L'(θ)" if flavour == "first" else "θ'' + λθ' = −L'(θ)",
                           buffered and k - 1 < lin)


@dataclass(frozen=True)
class ModifiedEquation:
    """θ' = f₀ + h f₁ + O(h²) of a gradient-flow scheme, read from its step.

    Attributes
    ----------
    f0, f1 : sympy.Expr
        In L⁽ᵏ⁾(θ) (``L`` an undefined function of θ).
    field : sympy.Expr
        f₀ + h f₁.
    principal_eigenvalue : sympy.Expr
        μ(x) to O(x³) on L = κθ²/2, x = hκ.
    checked_on_general_L : bool
        True when one step on a general L gives the same f₁ (schemes without a buffer
        transient); False when the buffer's start hides it from one step.
    """

    f0: sp.Expr
    f1: sp.Expr
    field: sp.Expr
    principal_eigenvalue: sp.Expr
    checked_on_general_L: bool


def _principal_eigenvalue(sm, order=3):
    """Series μ(x) = 1 + m₁x + … of the eigenvalue of M that tends to 1, x = hκ."""
    z = sp.Symbol("z")
    chi = sm.matrix.charpoly(z).as_expr().subs(curvature, product / step_symbol)
    chi = sp.simplify(_exact(chi))
    if step_symbol in chi.free_symbols:
        raise NotProved("the characteristic polynomial depends on h and κ otherwise than through hκ")
    ms = sp.symbols(f"m1:{order + 1}")
    mu = 1 + sum(m * product ** (k + 1) for k, m in enumerate(ms))
    ser = sp.expand(sp.series(chi.subs(z, mu), product, 0, order + 1).removeO())
    sol = {}
    for k in range(1, order + 1):
        eq = sp.expand(ser.coeff(product, k).subs(sol))
        s = sp.solve(eq, ms[k - 1])
        if len(s) != 1:
            raise NotProved(f"the eigenvalue near 1 is not simple (order {k}: {s})")
        sol[ms[k - 1]] = sp.simplify(s[0])
    return sp.expand(mu.subs(sol))


def step_modified_equation(scheme) -> ModifiedEquation:
    """Modified equation θ' = f₀ + h f₁ + O(h²) of a gradient-flow scheme, from its step.

    On L = κθ²/2 the step's eigenvalue near 1, μ(x) with x = hκ, gives
    log μ(x) = ℓ₁x + ℓ₂x² + O(x³), i.e. θ' = (ℓ₁κ + hℓ₂κ²)θ.  In one dimension f₀ and f₁
    are built from derivatives of L with dimensionless coefficients; the only such terms
    are L' (for f₀) and L''L' (for f₁, the one product of derivatives whose orders sum to 3),
    so f₀ = ℓ₁L' and f₁ = ℓ₂L''L'.  For a step with no buffer transient, one step on a
    general L is expanded as well and f₁ = F₂ − ½f₀'f₀ is required to agree.

    Raises
    ------
    NotImplementedError
        For schemes of second-order models (their modified equations are in
        :mod:`dynopt.symbolic.modified`).
    """
    inst = _instance(scheme)
    if model_flavour(inst) != "first":
        raise NotImplementedError("the step's modified equation is read for gradient-flow schemes; "
                                  "for momentum schemes use dynopt.symbolic.modified.momentum_modified_field")
    sm = step_matrix(inst)
    mu = _principal_eigenvalue(sm)
    logmu = sp.expand(sp.series(sp.log(mu), product, 0, 3).removeO())
    l1, l2 = sp.simplify(logmu.coeff(product, 1)), sp.simplify(logmu.coeff(product, 2))
    d1 = sp.Derivative(L_fun(theta), theta)
    f0, f1 = l1 * d1, l2 * sp.Derivative(L_fun(theta), (theta, 2)) * d1
    # one step on a general L: Φ(θ₀) = θ₀ + hF₁ + h²F₂ + …
    model = GeneralModel(truncate=lambda e: _truncate(e, 3))
    y0 = _obj([sp.Integer(0)])
    out = inst.output(model, _call_step(inst, model, inst.init(model, y0, step_symbol), step_symbol)).flat[0]
    out = _exact(_truncate(out, 3))
    c1, c2 = GeneralModel.coefficients[:2]
    F2 = out.coeff(step_symbol, 2)
    checked = False
    try:
        checked = is_zero(F2 - sp.Rational(1, 2) * (l1 * c2) * (l1 * c1) - l2 * c2 * c1) and \
            is_zero(out.coeff(step_symbol, 1) - l1 * c1)
    except NotProved:
        checked = False
    return ModifiedEquation(f0, f1, f0 + step_symbol * f1, mu, checked)


# -- SDE readings ---------------------------------------------------------------------------


# the SDE readings and the derivations live beside this module; importing them here keeps
# one entry point (they import the helpers above, so this comes last)
from dynopt.symbolic.sde_steps import (MSStability, StationaryVariance, ms_stability, normal_expectation,  # noqa: E402,F401
                                       stationary_variance)
from dynopt.symbolic.step_derivations import (consistency_derivation, modified_derivation,  # noqa: E402,F401
                                              ms_stability_derivation, stability_derivation,
                                              stationary_derivation)
