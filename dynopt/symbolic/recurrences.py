"""The schemes of :mod:`dynopt.schemes` read symbolically: each scheme's own definition,
called on sympy symbols, is the only description of it here.

* A momentum scheme (:class:`dynopt.schemes.momentum.MomentumScheme`) is θ_{n+1} = θ_n + v_{n+1},
  v_{n+1} = βv_n − α∇L(x_n) with x_n = ``scheme.gradient_point(θ_n, v_n, β, θ_{n+1})``.
  With v_n = θ_n − θ_{n−1} it is the two-step recurrence

      θ_{n+1} − θ_n = β(θ_n − θ_{n−1}) − α∇L(x_n),

  and ``scheme.alpha_beta_of(γ, λ)`` gives its (α, β) in the ODE step γ and friction λ.
* Symplectic Euler's ``update(q, η, force, λ, γ)`` called on symbols is the same kind of
  recurrence: (α, β) and the gradient point are read off the θ-step it returns.
* Runge–Kutta schemes are their Butcher tableaux (class attributes A, B, C).

No list of schemes is kept: tables are built from the registry
:data:`dynopt.schemes.METHODS` (:func:`registered_schemes`), and every public function takes
a registry name, a scheme class or an instance, so a user's unregistered subclass is
analysed exactly like the built-in schemes.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from dynopt.expr import sympy_value
from sympy.core.function import AppliedUndef

from dynopt.schemes import METHODS, ExplicitRK, Scheme, SymplecticEuler
from dynopt.schemes.momentum import MomentumScheme
from dynopt.symbolic.core import NotProved, alpha, beta, gamma, is_zero, lam, require_zero

__all__ = ["TH_NEXT", "TH", "TH_PREV", "GRAD_L", "GD_NAME", "GD_SCHEME", "SchemeCoefficients",
           "resolve_scheme", "scheme_kind", "scheme_coefficients", "recurrence_defect", "rk_tableau",
           "registered_schemes", "exact"]

#: θ_{n+1}, θ_n, θ_{n−1} (names ``sympy.sympify`` parses back)
TH_NEXT = sp.Symbol("θ_next", real=True)
TH = sp.Symbol("θ_n", real=True)
TH_PREV = sp.Symbol("θ_prev", real=True)
#: ∇L as an undefined function in printed recurrences
GRAD_L = sp.Function("gradL")
_V = sp.Symbol("v_n", real=True)

#: GD is Euler on gradient flow: the stability table calls Euler's row "gd"
GD_NAME = "gd"
GD_SCHEME = "euler"

_KINDS = ((MomentumScheme, "momentum"), (SymplecticEuler, "symplectic-euler"), (ExplicitRK, "runge-kutta"))


def _label(cls) -> str:
    for key, registered in METHODS.items():
        if registered is cls:
            return key
    return cls.__dict__.get("name") or cls.__name__


def resolve_scheme(scheme):
    """A scheme instance and the label its results carry, from a name, class or instance.

    Parameters
    ----------
    scheme : str, type or Scheme
        A registry name (or ``"gd"``, Euler on gradient flow), a :class:`~dynopt.schemes.Scheme`
        subclass (instantiated with its defaults) or an instance.  Classes and instances need
        not be registered: their label is the registry key if there is one, else the class's
        own ``name`` attribute, else the class name.

    Returns
    -------
    (Scheme, str)
    """
    if isinstance(scheme, str):
        key = GD_SCHEME if scheme == GD_NAME else scheme
        if key not in METHODS:
            raise ValueError(f"`scheme` must be a Scheme class or instance or one of "
                             f"{sorted(METHODS) + [GD_NAME]}; got {scheme!r}")
        return METHODS[key](), scheme
    if isinstance(scheme, type) and issubclass(scheme, Scheme):
        return scheme(), _label(scheme)
    if isinstance(scheme, Scheme):
        return scheme, _label(type(scheme))
    raise TypeError(f"`scheme` must be a registry name, a Scheme subclass or a Scheme instance; "
                    f"got {type(scheme).__name__}")


def _class_kind(cls):
    for base, kind in _KINDS:
        if isinstance(cls, type) and issubclass(cls, base):
            return kind
    return None


def scheme_kind(scheme) -> str:
    """"momentum", "symplectic-euler" or "runge-kutta": which symbolic definition applies.

    Raises
    ------
    TypeError
        For a scheme with none of these definitions (SDE schemes, accelerated methods, ...).
    """
    inst, label = resolve_scheme(scheme)
    kind = _class_kind(type(inst))
    if kind is None:
        raise TypeError(f"`scheme` must be a MomentumScheme, SymplecticEuler or explicit Runge–Kutta "
                        f"scheme (one with a symbolic definition); got {label!r} ({type(inst).__name__})")
    return kind


def registered_schemes(kinds=("runge-kutta", "symplectic-euler", "momentum")) -> tuple:
    """Names of the registered schemes (registration order) whose symbolic definition is
    one of ``kinds``; read from :data:`dynopt.schemes.METHODS` on every call."""
    bad = set(kinds) - {k for _, k in _KINDS}
    if bad:
        raise ValueError(f"`kinds` must be drawn from {[k for _, k in _KINDS]}; got {sorted(bad)}")
    return tuple(name for name, cls in METHODS.items() if _class_kind(cls) in kinds)


def exact(expr):
    """``expr`` with every float replaced by the simple rational it stands for (0.5 → 1/2,
    1/6 as a float → 1/6): numeric definitions written with floats give exact algebra."""
    expr = sympy_value(expr)

    def rational(f):
        q = sp.nsimplify(f)
        return q if q.is_Rational and abs(float(q) - float(f)) <= 1e-15 * max(1.0, abs(float(f))) \
            else sp.Rational(float(f))

    return expr.xreplace({f: rational(f) for f in expr.atoms(sp.Float)})


def rk_tableau(scheme):
    """The Butcher tableau (A, B, C) of a Runge–Kutta scheme, as exact rationals."""
    inst, label = resolve_scheme(scheme)
    if scheme_kind(inst) != "runge-kutta":
        raise TypeError(f"`scheme` must be an explicit Runge–Kutta scheme; got {label!r}")
    A = tuple(tuple(exact(x) for x in row) for row in inst.A)
    return A, tuple(exact(x) for x in inst.B), tuple(exact(x) for x in inst.C)


@dataclass(frozen=True)
class SchemeCoefficients:
    """A scheme as the momentum recurrence θ_{n+1} − θ_n = β(θ_n − θ_{n−1}) − α∇L(x_n).

    Attributes
    ----------
    scheme : str
        Label (registry name, or the class's name for an unregistered class).
    map : str
        Where (α, β) come from: the scheme's coefficient map ("eq15", "eq18") or its update.
    alpha, beta : sympy.Expr
        α and β in the ODE step γ and friction λ.
    gradient_point : sympy.Expr
        x_n in θ_{n+1} = :data:`TH_NEXT`, θ_n = :data:`TH`, θ_{n−1} = :data:`TH_PREV` and β.
    weights : tuple of sympy.Expr
        (w₊, w₀, w₋) in β with x_n = w₊θ_{n+1} + w₀θ_n + w₋θ_{n−1}.
    recurrence : sympy.Eq
        The recurrence in the symbols α, β, with ∇L printed as ``gradL``.
    """

    scheme: str
    map: str
    alpha: sp.Expr
    beta: sp.Expr
    gradient_point: sp.Expr
    weights: tuple
    recurrence: sp.Eq


def _symplectic_form(inst, label):
    """(α, β, x_n) of symplectic Euler's update: one step from (θ_n, η_n = v_n/γ) gives
    θ_{n+1} − θ_n = βv_n − α∇L(x_n), read off (and checked to have no remainder)."""
    q1, _ = inst.update(TH, _V / gamma, lambda x: -GRAD_L(x), lam, gamma)
    v_new = sp.expand(q1 - TH)
    calls = [f for f in v_new.atoms(AppliedUndef) if f.func == GRAD_L]
    if len(calls) != 1:
        raise NotProved(f"{label}: the θ-step {v_new} does not take one gradient")
    g = calls[0]
    b, al = v_new.coeff(_V), -v_new.coeff(g)
    require_zero(v_new - (b * _V - al * g), f"{label}: θ_{{n+1}} − θ_n = βv_n − α∇L(x_n)")
    return al, b, g.args[0].subs(_V, TH - TH_PREV)


def _weights(point, label):
    syms = (TH_NEXT, TH, TH_PREV)
    w = tuple(sp.factor(sp.diff(point, s)) for s in syms)
    if any(wi.free_symbols & set(syms) for wi in w) or not is_zero(point - sum(wi * s for wi, s in zip(w, syms))):
        raise ValueError(f"{label}: the gradient point {point} is not a linear combination of "
                         f"θ_(n+1), θ_n, θ_(n−1)")
    return w


def scheme_coefficients(scheme) -> SchemeCoefficients:
    """(α, β) in (γ, λ), the gradient point and the recurrence of a scheme, derived by
    calling its own definition on sympy symbols.

    Parameters
    ----------
    scheme : str, type or Scheme
        A :class:`~dynopt.schemes.momentum.MomentumScheme` (``gradient_point`` and ``alpha_beta_of``
        are called) or :class:`~dynopt.schemes.SymplecticEuler` (``update`` is called); a
        registry name, a class (registered or not) or an instance.

    Returns
    -------
    SchemeCoefficients

    Raises
    ------
    TypeError
        For schemes that are not of the momentum form (Runge–Kutta, SDE schemes, ...).
    """
    inst, label = resolve_scheme(scheme)
    kind = scheme_kind(inst)
    if kind == "momentum":
        al, b = inst.alpha_beta_of(gamma, lam)
        point = inst.gradient_point(TH, TH - TH_PREV, beta, TH_NEXT if inst.implicit else None)
        which = inst.coefficients
    elif kind == "symplectic-euler":
        al, b, point = _symplectic_form(inst, label)
        which = f"{type(inst).__name__}.update"
    else:
        raise TypeError(f"`scheme` must be a MomentumScheme or SymplecticEuler (a scheme of the "
                        f"momentum form); got {label!r} ({kind})")
    al, b = (sp.factor(sp.simplify(exact(x))) for x in (al, b))
    point = sp.expand(exact(point))
    rec = sp.Eq(TH_NEXT - TH, beta * (TH - TH_PREV) - alpha * GRAD_L(point))
    return SchemeCoefficients(label, which, al, b, point, _weights(point, label), rec)


def recurrence_defect(weights, th_next, th, th_prev, alpha_, beta_, grad):
    """θ_{n+1} − θ_n − β(θ_n − θ_{n−1}) + α∇L(x_n) for any arithmetic (sympy, series, vectors).

    ``weights`` are (w₊, w₀, w₋) already evaluated at ``beta_`` (see
    :attr:`SchemeCoefficients.weights`); ``grad`` is ∇L on the same arithmetic.
    """
    w1, w0, wm = weights
    point = w1 * th_next + w0 * th + wm * th_prev
    return th_next - th - beta_ * (th - th_prev) + alpha_ * grad(point)
