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

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynopt.symbolic.core import NotProved, is_zero, order_of

__all__ = ["QuadraticModel", "GeneralModel", "LinearTestSDE", "OUModel", "HarmonicKramers",
           "StepMatrix", "StepStability", "StepConsistency", "ModifiedEquation", "MSStability",
           "StationaryVariance", "step_matrix", "step_stability", "step_consistency",
           "step_modified_equation", "ms_stability", "stationary_variance", "normal_expectation",
           "jury_conditions", "model_flavour", "STATIONARY_MODELS"]

#: the step γ (the scheme's dt), the curvature κ of L = κθ²/2 and the product x = γκ
step_symbol = sp.Symbol("h", positive=True)
curvature = sp.Symbol("κ", positive=True)
product = sp.Symbol("x", positive=True)
#: friction λ of second-order models, and λγ
friction = sp.Symbol("λ", positive=True)
friction_step = sp.Symbol("λh", positive=True)
#: dX = λX dt + μX dW (λ real, μ real)
sde_lambda = sp.Symbol("λ", real=True)
sde_mu = sp.Symbol("μ", real=True)
#: OU dX = −kX dt + σ dW and harmonic Kramers L = kθ²/2
stiffness = sp.Symbol("k", positive=True)
noise_sigma = sp.Symbol("σ", positive=True)
theta = sp.Symbol("θ", real=True)
L_fun = sp.Function("L")
_eta0 = sp.Symbol("η_0", real=True)

#: models of :func:`stationary_variance`
STATIONARY_MODELS = ("ou", "kramers")

P = 5  # powers of the step kept in the consistency series


# -- stand-in models ----------------------------------------------------------------------
class _Problem:
    """The part of a Problem a step may reach through ``model.problem``."""

    dim = 1
    hess_fn = None
    name = "stand-in"

    def __init__(self, grad):
        self.grad_fn = grad


class _StandIn:
    """Common oracles of the stand-in models; counts gradient evaluations."""

    d = 1
    is_sde = False
    friction = None
    calculus = "ito"

    def __init__(self, grad, second_order=False, friction_=None):
        self._grad = grad
        self.second_order = second_order
        self.friction = friction_
        self.grad_calls = 0
        self.problem = _Problem(self.grad)

    @property
    def state_dim(self):
        return 2 if self.second_order else 1

    def grad(self, q):
        self.grad_calls += 1
        return self._grad(q)

    def force(self, q):
        return -self.grad(q)

    def drift(self, t, y):
        if not self.second_order:
            return -self.grad(y)
        q, v = y[:, :1], y[:, 1:]
        return np.concatenate([v, -self.friction * v + self.force(q)], axis=1)

    rhs = drift

    def position(self, y):
        return y[..., :1]


class QuadraticModel(_StandIn):
    """L = κθ²/2 in one dimension: gradient flow θ' = −κθ, or with ``second_order`` the
    heavy ball θ'' + λθ' = −κθ on (θ, η)."""

    def __init__(self, second_order=False):
        super().__init__(lambda q: curvature * q, second_order, friction if second_order else None)


class GeneralModel(_StandIn):
    """A general smooth L in one dimension, expanded at θ₀ = 0: L'(θ) = Σ c_{k+1} θᵏ/k! with
    c_k = L⁽ᵏ⁾(θ₀) symbols; ``truncate`` cuts every gradient to the powers of the step kept."""

    coefficients = sp.symbols("c1:9", real=True)

    def __init__(self, second_order=False, truncate=None):
        cs = self.coefficients
        trunc = truncate or (lambda e: e)

        def grad(q):
            out = sum((cs[k] * q ** k / math.factorial(k) for k in range(1, P + 2)), cs[0] * np.ones_like(q))
            return np.frompyfunc(trunc, 1, 1)(out) if isinstance(out, np.ndarray) else trunc(out)

        super().__init__(grad, second_order, friction if second_order else None)

    @classmethod
    def as_derivatives(cls, expr):
        """``expr`` with c_k written as L⁽ᵏ⁾(θ)."""
        return sp.sympify(expr).subs({c: sp.Derivative(L_fun(theta), (theta, k + 1))
                                      for k, c in enumerate(cls.coefficients)})


class _SDEStandIn(_StandIn):
    is_sde = True
    noise_dim = 1

    def drift_in(self, calculus):
        if calculus == "ito" or self.noise == "additive":
            return self.drift
        return lambda t, y: self.drift(t, y) - 0.5 * self.diffusion(t, y) * self.diffusion_dx(t, y)

    def noise_term(self, t, y, dW):
        return self.diffusion(t, y) * dW if self.state_dim == 1 else self._noise2(dW)

    noise = None  # replaced per instance by the noise type string

    def add_noise(self, t, y, dW, target):
        return target + self.noise_term(t, y, dW)


class LinearTestSDE(_SDEStandIn):
    """dX = λX dt + μX dW (Itô, diagonal noise), the mean-square stability test equation."""

    noise = "diagonal"
    scalar_sigma = None
    drift_polynomial = None

    def __init__(self):
        super().__init__(lambda q: -sde_lambda * q)

    def drift(self, t, y):
        return sde_lambda * y

    def diffusion(self, t, y):
        return sde_mu * y

    def diffusion_dx(self, t, y):
        return sde_mu * np.ones_like(y)


class OUModel(_SDEStandIn):
    """dX = −kX dt + σ dW: overdamped Langevin on L = kθ²/2 (additive noise)."""

    noise = "additive"
    drift_polynomial = None

    def __init__(self):
        super().__init__(lambda q: stiffness * q)
        self.sigma = noise_sigma
        self.scalar_sigma = noise_sigma

    def drift(self, t, y):
        return -self.grad(y)

    def diffusion(self, t, y):
        return noise_sigma * np.ones_like(y)

    def diffusion_dx(self, t, y):
        return 0 * y

    @property
    def temperature(self):
        return noise_sigma ** 2 / 2


class HarmonicKramers(_SDEStandIn):
    """dθ = η dt, dη = (−λη − kθ) dt + σ dW: Kramers on L = kθ²/2, kT = σ²/(2λ)."""

    noise = "additive"
    drift_polynomial = None
    scalar_sigma = None

    def __init__(self):
        super().__init__(lambda q: stiffness * q, True, friction)
        self.sigma = noise_sigma

    def diffusion(self, t, y):
        return np.concatenate([0 * y[:, :1], noise_sigma * np.ones_like(y[:, 1:])], axis=1)

    def diffusion_dx(self, t, y):
        return 0 * y

    def _noise2(self, dW):
        return np.concatenate([0 * dW, noise_sigma * dW], axis=1)

    @property
    def temperature(self):
        return noise_sigma ** 2 / (2 * friction)


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
    return [sp.sympify(x) for i in _arrays(state) for x in np.asarray(state[i]).ravel()]


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
    expr = sp.sympify(expr)
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
        e.g. ``{β: (0, 1)}``.

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
    psub = _range_substitution(params, ranges)
    bound = stable_upper_bound(conds, var, None, psub)
    return StepStability(sm, poly, var, conds, bound)


# -- consistency and modified equation -------------------------------------------------------
def _truncate(expr, order=P + 1):
    """Powers of the step above ``order`` dropped (series for non-polynomial dependence)."""
    e = sp.expand(sp.sympify(expr))
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
    """

    local_error: object
    local_order: int
    linear_order: int
    order: int
    model: str


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
    return StepConsistency(lead * step_symbol ** k, k, lin, min(k - 1, lin),
                           "θ' = −L'(θ)" if flavour == "first" else "θ'' + λθ' = −L'(θ)")


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
def normal_expectation(expr, normals):
    """E[expr] for independent standard normals ``normals`` (expr polynomial in them):
    E[ξᵏ] = 0 for odd k, (k − 1)!! for even k."""
    e = sp.expand(expr)
    if not normals:
        return e
    poly = sp.Poly(e, *normals)
    out = 0
    for monom, c in poly.terms():
        m = 1
        for k in monom:
            m *= 0 if k % 2 else sp.factorial2(k - 1)
        out += c * m
    return sp.expand(out)


@dataclass(frozen=True)
class MSStability:
    """Mean-square stability of an SDE scheme on dX = λX dt + μX dW.

    Attributes
    ----------
    amplification : sympy.Expr or sympy.Matrix
        R(ξ) with s₁ = R(ξ) s₀, a polynomial in the step's normals (a scalar when the state
        is the path alone).
    ms_factor : sympy.Expr or sympy.Matrix
        E[R²] (E[X_{n+1}²] = E[R²]·E[X_n²]); with buffers, the matrix Q of the second
        moments: vec S_{n+1} = Q vec S_n on the entries S_ij, i ≤ j, of S = E[s sᵀ].
    region : sympy.Expr or tuple
        Scalar case: (E[R²] − 1)/h, factored — mean-square stable where it is < 0.  With
        buffers: the Schur–Cohn/Jury conditions (each > 0) for every eigenvalue of Q in
        |z| < 1 (None when Q's polynomial has degree > 3).
    moments : tuple of sympy.Symbol
        The S_ij that ``ms_factor`` acts on (empty in the scalar case).
    """

    amplification: object
    ms_factor: object
    region: object
    moments: tuple = ()


def _second_moment_matrix(R, syms, zs):
    """Q with vec S' = Q vec S for s' = R(ξ) s, S = E[s sᵀ] (entries i ≤ j)."""
    n = R.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    S = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"S_{syms[min(i, j)]}{syms[max(i, j)]}"))
    moments = [S[i, j] for i, j in pairs]
    new = (R * S * R.T)
    rows = [[None] * len(moments) for _ in pairs]
    for r, (i, j) in enumerate(pairs):
        e = normal_expectation(sp.expand(new[i, j]), zs)
        for c, m in enumerate(moments):
            rows[r][c] = sp.simplify(sp.expand(e).coeff(m))
    return sp.Matrix(rows), tuple(moments)


def ms_stability(scheme) -> MSStability:
    """Mean-square stability of an SDE scheme from its step on dX = λX dt + μX dW.

    The step is called on fresh symbols for the state's array entries and on symbols for the
    normals; the new state must be R(ξ) s.  A state that is the path alone gives the scalar
    E[R²]; buffers give the second-moment matrix Q over the entries the step reads.

    Raises
    ------
    TypeError
        For a deterministic scheme, or one without diagonal noise.
    NotProved
        When the new state is not R(ξ) s (a buffer of normals, say: the chain is then not
        homogeneous in the state).
    """
    inst = _instance(scheme)
    if not _is_sde(inst):
        raise TypeError(f"`scheme` must be an SDE scheme for mean-square stability; got {_label(inst)!r}")
    if "diagonal" not in getattr(inst, "noise_types", ()):
        raise TypeError(f"`scheme` {_label(inst)!r} supports {', '.join(inst.noise_types)} noise only; mean-square "
                        "stability is read on dX = λX dt + μX dW (diagonal, multiplicative noise)")
    model = LinearTestSDE()
    z, zs = _normals(inst, model)
    y0 = _obj([sp.Symbol("X0", real=True)])
    fresh, syms = _fresh(_template(inst, model, step_symbol, y0, z))
    new = [_exact(sp.expand(e)) for e in _entries(_call_step(inst, model, fresh, step_symbol, z))]
    R = sp.Matrix(new).jacobian(syms)
    if any(not is_zero(sp.expand(a - b)) for a, b in zip(new, R * sp.Matrix(syms))) or \
            any(x in e.free_symbols for e in R for x in syms):
        raise NotProved(f"the step is not R(ξ)·state on dX = λX dt + μX dW: {new}")
    read = [j for j in range(len(syms)) if any(R[i, j] != 0 for i in range(len(syms)))]
    R = R.extract(read, read)
    if R.shape == (1, 1):
        r = sp.expand(R[0, 0])
        E = sp.simplify(normal_expectation(r ** 2, zs))
        return MSStability(r, E, sp.factor(sp.expand(sp.simplify((E - 1) / step_symbol))))
    Q, moments = _second_moment_matrix(R, [syms[j] for j in read], zs)
    w = sp.Symbol("z")
    poly = _strip_zero_roots(sp.Poly(Q.charpoly(w).as_expr(), w))
    try:
        region = tuple(sp.factor(sp.simplify(c)) for c in jury_conditions(poly))
    except NotImplementedError:
        region = None
    return MSStability(R, Q, region, moments)


@dataclass(frozen=True)
class StationaryVariance:
    """Exact stationary covariance of the discrete chain of an SDE scheme.

    Attributes
    ----------
    model : str
        ``"ou"`` (dX = −kX dt + σ dW) or ``"kramers"`` (harmonic, L = kθ²/2).
    variance : sympy.Expr or tuple
        Stationary variance of the output's position (and, on Kramers, of its velocity).
    series : sympy.Expr or tuple
        Its series in h to O(h²).
    exact : sympy.Expr or tuple
        The continuous model's variance (σ²/(2k); on Kramers kT/k and kT).
    A, B : sympy.Matrix
        The chain s' = A s + B ξ on the state entries the step reads.
    """

    model: str
    variance: object
    series: object
    exact: object
    A: sp.Matrix
    B: sp.Matrix


def _lyapunov(A, BB):
    """S = A S Aᵀ + BBᵀ for a symmetric S, solved exactly."""
    n = A.shape[0]
    unk = {}
    for i in range(n):
        for j in range(i, n):
            unk[i, j] = unk[j, i] = sp.Symbol(f"S{i}{j}")
    S = sp.Matrix(n, n, lambda i, j: unk[i, j])
    eqs = list({(i, j): sp.expand(x) for (i, j), x in np.ndenumerate(np.array((A * S * A.T + BB - S).tolist(),
                                                                                  dtype=object)) if i <= j}.values())
    vars_ = sorted(set(unk.values()), key=str)
    sol = sp.solve(eqs, vars_, dict=True)
    if len(sol) != 1:
        raise NotProved(f"the discrete Lyapunov equation has {len(sol)} solutions")
    return S.subs(sol[0]).applyfunc(sp.simplify)


def stationary_variance(scheme, model="ou") -> StationaryVariance:
    """Stationary variance of the discrete chain of an SDE scheme, exact in h.

    The step is called on fresh symbols for the state's array entries and on symbols for the
    normals; the new state must be s' = A s + B ξ (checked).  The stationary covariance of
    the entries the step reads solves S = A S Aᵀ + BBᵀ; the output's position (and velocity)
    are linear in the state, so their variances follow.

    Parameters
    ----------
    scheme : str, type or Scheme
        An SDE scheme (registry name, class or instance).
    model : {"ou", "kramers"}

    Raises
    ------
    NotProved
        When the chain is not linear in (state, normals) or the Lyapunov equation has no
        unique solution.
    """
    if model not in STATIONARY_MODELS:
        raise ValueError(f"`model` must be one of {list(STATIONARY_MODELS)}; got {model!r}")
    inst = _instance(scheme)
    if not _is_sde(inst):
        raise TypeError(f"`scheme` must be an SDE scheme for the stationary variance; got {_label(inst)!r}")
    from dynopt.dynamics import Kramers, OverdampedLangevin

    target = OverdampedLangevin if model == "ou" else Kramers
    if not any(issubclass(target, c) for c in inst.approximates):
        raise TypeError(f"`scheme` {_label(inst)!r} discretizes {', '.join(c.__name__ for c in inst.approximates)} "
                        f"models, not {target.__name__} (`model` {model!r})")
    m = OUModel() if model == "ou" else HarmonicKramers()
    z, zs = _normals(inst, m)
    y0 = _obj(sp.symbols("y0:2", real=True)[: m.state_dim], (1, m.state_dim))
    fresh, syms = _fresh(_template(inst, m, step_symbol, y0, z))
    new = [_exact(sp.expand(e)) for e in _entries(_call_step(inst, m, fresh, step_symbol, z))]
    Ns = sp.Matrix(new)
    A, B = Ns.jacobian(syms), Ns.jacobian(zs)
    lin = A * sp.Matrix(syms) + B * sp.Matrix(zs)
    if not all(is_zero(sp.expand(a - b)) for a, b in zip(new, lin)):
        raise NotProved("the step is not linear in (state, normals) on the linear model")
    read = [j for j in range(len(syms)) if any(A[i, j] != 0 for i in range(len(syms)))]
    Ar = A.extract(read, read)
    Br = B.extract(read, list(range(len(zs))))
    Sr = _lyapunov(Ar, Br * Br.T)
    Acol = A.extract(list(range(len(syms))), read)
    Sigma = Acol * Sr * Acol.T + B * B.T           # covariance of the state after a step
    out = inst.output(m, fresh)
    C = sp.Matrix([[_exact(sp.sympify(o)) for o in np.asarray(out).ravel()]]).reshape(m.state_dim, 1).jacobian(syms)
    V = (C * Sigma * C.T).applyfunc(lambda e: sp.factor(sp.simplify(e)))
    variances = tuple(V[i, i] for i in range(m.state_dim))
    series = tuple(sp.series(v, step_symbol, 0, 2).removeO() for v in variances)
    if model == "ou":
        exact = noise_sigma ** 2 / (2 * stiffness)
        return StationaryVariance(model, variances[0], sp.expand(series[0]), exact, Ar, Br)
    kT = noise_sigma ** 2 / (2 * friction)
    return StationaryVariance(model, variances, tuple(sp.expand(s) for s in series), (kT / stiffness, kT), Ar, Br)


# -- derivations (what ``dynopt derive NAME --scheme X`` prints) -----------------------------
def _name_of(scheme):
    inst = _instance(scheme)
    return inst, str(_label(inst))


def stability_derivation(scheme) -> "Derivation":
    """:func:`step_stability` and :func:`step_consistency` as a :class:`Derivation`."""
    from dynopt.symbolic.core import Derivation

    inst, label = _name_of(scheme)
    st = step_stability(inst)
    v = "h*κ" if st.matrix.flavour == "first" else "h**2*κ (at fixed λh)"
    results = {"matrix": st.matrix.matrix, "characteristic_polynomial": st.characteristic_polynomial.as_expr(),
               "product": v, "max_product": st.max_product}
    steps = [f"init and one step give the state ({', '.join(map(str, st.matrix.variables))}); one more step "
             f"on fresh symbols with L = κθ²/2 gives its matrix ({st.matrix.gradient_evaluations} gradient(s) "
             "per step counted)",
             f"characteristic polynomial in x = {v}; Jury conditions solved for the largest stable x"]
    try:
        c = step_consistency(inst)
        results.update(order=c.order, local_order=c.local_order, linear_order=c.linear_order,
                       leading_local_error=c.local_error)
        steps.append(f"one step on a general L against {c.model}: local order {c.local_order}; order on the "
                     f"linear problem {c.linear_order}; order {c.order}")
    except (NotImplementedError, NotProved, ArithmeticError) as exc:
        steps.append(f"consistency not derived: {exc}")
    return Derivation(f"stability {label}", f"linear stability of {label} read from its step", results, steps)


def consistency_derivation(scheme) -> "Derivation":
    """:func:`step_consistency` as a :class:`Derivation`."""
    from dynopt.symbolic.core import Derivation

    inst, label = _name_of(scheme)
    c = step_consistency(inst)
    return Derivation(f"consistency {label}", f"consistency order of {label} read from its step",
                      {"order": c.order, "local_order": c.local_order, "linear_order": c.linear_order,
                       "leading_local_error": c.local_error, "model": c.model},
                      [f"one step from the scheme's start on a general L (L' undefined) against the Taylor "
                       f"series of {c.model}: local error {c.local_error} + O(h^{c.local_order + 1})",
                       f"on L = κθ²/2: ord det(e^(hω) − M) minus the eigenvalues tending to 1 = {c.linear_order}",
                       "order = min(local order − 1, linear order)"])


def modified_derivation(scheme) -> "Derivation":
    """:func:`step_modified_equation` as a :class:`Derivation`."""
    from dynopt.symbolic.core import Derivation

    inst, label = _name_of(scheme)
    m = step_modified_equation(inst)
    return Derivation("modified-equation", f"modified equation to O(h²) of {label} read from its step",
                      {"f0": m.f0, "f1": m.f1, "field": m.field, "principal_eigenvalue": m.principal_eigenvalue},
                      ["the eigenvalue μ(x) of the step's matrix near 1 on L = κθ²/2, x = hκ; "
                       "log μ = ℓ₁x + ℓ₂x² gives f₀ = ℓ₁L', f₁ = ℓ₂L''L' (in 1-D the only terms of those orders)",
                       "checked against one step on a general L" if m.checked_on_general_L else
                       "one step on a general L does not see the buffer's lag (its start), so f₁ is read from "
                       "all steps on the linear problem"],
                      {"checked_on_general_L": m.checked_on_general_L})


def ms_stability_derivation(scheme) -> "Derivation":
    """:func:`ms_stability` as a :class:`Derivation`."""
    from dynopt.symbolic.core import Derivation

    inst, label = _name_of(scheme)
    r = ms_stability(inst)
    results = {"amplification": r.amplification, "ms_factor": r.ms_factor, "region": r.region}
    if r.moments:
        results["moments"] = list(r.moments)
        last = ("mean-square stable where every eigenvalue of the second-moment matrix Q is in |z| < 1: "
                "region lists the Jury conditions (each > 0)" if r.region is not None else
                "Q's characteristic polynomial has degree > 3: no Jury conditions written")
    else:
        last = "mean-square stable where region = (E[R²] − 1)/h < 0"
    return Derivation(f"ms-stability {label}", f"mean-square stability of {label} on dX = λX dt + μX dW",
                      results,
                      ["one step from the state s₀ with the step's normals ξ as symbols: s₁ = R(ξ) s₀",
                       "second moments by the normals' moments (E ξ² = 1, E ξ⁴ = 3, odd moments 0)", last])


def stationary_derivation(scheme, model="ou") -> "Derivation":
    """:func:`stationary_variance` as a :class:`Derivation`."""
    from dynopt.symbolic.core import Derivation

    inst, label = _name_of(scheme)
    r = stationary_variance(inst, model)
    if model == "ou":
        results = {"variance": r.variance, "series": r.series, "exact": r.exact,
                   "bias": sp.factor(sp.simplify(r.variance - r.exact))}
        what = "dX = −kX dt + σ dW"
    else:
        results = {"position_variance": r.variance[0], "velocity_variance": r.variance[1],
                   "position_series": r.series[0], "velocity_series": r.series[1],
                   "position_exact": r.exact[0], "velocity_exact": r.exact[1],
                   "position_bias": sp.factor(sp.simplify(r.variance[0] - r.exact[0])),
                   "velocity_bias": sp.factor(sp.simplify(r.variance[1] - r.exact[1]))}
        what = "harmonic Kramers dθ = η dt, dη = (−λη − kθ) dt + σ dW"
    return Derivation(f"stationary {label}", f"exact stationary variance of the chain of {label} on {what}",
                      results,
                      ["the step on fresh symbols for the state and the normals: s' = A s + B ξ "
                       f"(A {r.A.shape[0]}×{r.A.shape[1]} on the entries the step reads)",
                       "stationary covariance S = A S Aᵀ + BBᵀ solved exactly; the output is linear in the state",
                       "series in h to O(h²)"],
                      {"A": r.A, "B": r.B})
