"""Shared pieces of the symbolic engine: the symbols, the :class:`Derivation` result,
the registry behind ``dynopt derive`` and the one way identities are proved.

Symbols carry their Greek names (``Symbol("γ")``) so that ``str(expr)`` is a string
``sympy.sympify`` parses back (``"lambda"`` or ``"gamma"`` would not round-trip: one is
a Python keyword, the other sympy's Γ function).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from dynopt.expr import sympy_value

__all__ = ["gamma", "lam", "alpha", "beta", "sigma", "h", "r", "t", "z", "a",
           "NotProved", "require_zero", "is_zero", "Derivation", "DERIVATIONS", "derivation",
           "get_derivation", "to_latex", "to_str", "order_of"]

#: ODE step γ, friction λ, learning rate α, momentum β, noise σ, curvature h, ratio r
gamma = sp.Symbol("γ", positive=True)
lam = sp.Symbol("λ", positive=True)
alpha = sp.Symbol("α", positive=True)
beta = sp.Symbol("β", positive=True)
sigma = sp.Symbol("σ", positive=True)
h = sp.Symbol("h", positive=True)
r = sp.Symbol("r", positive=True)
t = sp.Symbol("t", real=True)
z = sp.Symbol("z")
#: αh, the learning rate times the curvature of L = hθ²/2
a = sp.Symbol("a", positive=True)

_LATEX_NAMES = {"γ": r"\gamma", "λ": r"\lambda", "α": r"\alpha", "β": r"\beta", "σ": r"\sigma",
                "η": r"\eta", "θ": r"\theta", "ε": r"\varepsilon", "μ": r"\mu", "κ": r"\kappa",
                "ρ": r"\rho", "τ": r"\tau", "Θ": r"\Theta"}


class NotProved(ArithmeticError):
    """sympy could not reduce an identity to 0: the derivation stops (never a default verdict)."""


def is_zero(expr) -> bool:
    """True when ``expr`` simplifies to 0; False when it provably does not.

    Raises
    ------
    NotProved
        When sympy can neither reduce ``expr`` to 0 nor show it is non-zero.
    """
    e = sympy_value(expr)
    if isinstance(e, sp.MatrixBase):
        return all(is_zero(x) for x in e)
    e = sp.expand(e)
    if e == 0:
        return True
    # an expanded non-zero polynomial in independent symbols is not identically zero
    if (not e.atoms(sp.Function) and e.is_polynomial(*e.free_symbols)
            and all(p.exp.is_Integer for p in e.atoms(sp.Pow) if p.free_symbols)):
        return False
    for f in (sp.cancel, sp.simplify):
        e = f(e)
        if e == 0:
            return True
    if e.is_zero is False:
        return False
    # an identity "for every L" fails if it fails for one concrete L: undefined functions
    # are replaced by a fixed polynomial (a counterexample, never a proof of zero)
    from sympy.core.function import AppliedUndef

    undef = {f.func for f in e.atoms(AppliedUndef)}
    for k, F in enumerate(sorted(undef, key=str)):
        n = len(next(iter(x for x in e.atoms(AppliedUndef) if x.func == F)).args)
        us = sp.symbols(f"u0:{n}")
        poly = 1 + sum((i + 2) * u ** 2 / 2 + u ** 3 / (3 + i + k) for i, u in enumerate(us))
        e = e.replace(F, sp.Lambda(us, poly)).doit()
    # a non-zero value at a random-ish rational point proves the expression is not 0
    syms = sorted(e.free_symbols, key=str)
    vals = {s: sp.Rational(3 + 2 * i, 7 + i) for i, s in enumerate(syms)}
    try:
        v = sp.nsimplify(e.subs(vals))
        if v.is_number and v.is_zero is False:
            return False
    except (TypeError, ValueError):  # pragma: no cover - undefined functions
        pass
    raise NotProved(f"sympy could not decide whether {e} is zero")


def require_zero(expr, what: str):
    """Raise :class:`NotProved` unless ``expr`` simplifies to 0 (``what`` names the identity)."""
    try:
        ok = is_zero(expr)
    except NotProved as exc:
        raise NotProved(f"not proved: {what}: {exc}") from None
    if not ok:
        raise NotProved(f"not proved: {what}: the difference is {sp.simplify(expr)}, not 0")


def order_of(expr, var, max_order: int = 12):
    """Lowest power of ``var`` with a non-zero coefficient in a polynomial/series ``expr``.

    Returns ``None`` when every coefficient up to ``max_order`` vanishes.  Each coefficient
    is decided with :func:`is_zero` (so an undecidable one raises :class:`NotProved`).
    """
    e = sp.expand(sympy_value(expr))
    if isinstance(e, sp.MatrixBase):
        orders = [order_of(x, var, max_order) for x in e]
        orders = [o for o in orders if o is not None]
        return min(orders) if orders else None
    for k in range(max_order + 1):
        if not is_zero(e.coeff(var, k)):
            return k
    return None


def to_latex(expr) -> str:
    """LaTeX with the Greek symbol names rendered as \\gamma, \\lambda, ..."""
    e = sympy_value(expr)
    names = {s: _LATEX_NAMES.get(s.name, s.name) for s in e.free_symbols if isinstance(s, sp.Symbol)}
    for s in list(names):
        base, _, sub = s.name.partition("_")
        if sub and base in _LATEX_NAMES:
            names[s] = f"{_LATEX_NAMES[base]}_{{{sub}}}"
    return sp.latex(e, symbol_names=names)


def to_str(expr) -> str:
    """A string that ``sympy.sympify`` parses back to ``expr``."""
    return str(sympy_value(expr))


@dataclass
class Derivation:
    """The result of one derivation.

    Attributes
    ----------
    name : str
        Its name in ``dynopt derive NAME``.
    title : str
        One line: what is derived from what.
    results : dict
        name -> sympy expression (or a plain number/string); the derived quantities.
    steps : list of str
        Human-readable steps (what was solved, what was proved).
    data : dict
        Extra plain-JSON data (tables, verdict-relevant flags).
    """

    name: str
    title: str
    results: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        """Plain-JSON view: every sympy expression as a string sympy can parse."""
        out = {"name": self.name, "title": self.title}
        for k, v in self.results.items():
            out[k] = _jsonify(v)
        if self.data:
            out["data"] = _jsonify(self.data)
        out["steps"] = list(self.steps)
        return out

    def text(self, latex: bool = False) -> str:
        """Readable (or LaTeX) rendering for the command line."""
        lines = [f"{self.name}: {self.title}", ""]
        for s in self.steps:
            lines.append(f"  · {s}")
        if self.steps:
            lines.append("")
        width = max((len(k) for k in self.results), default=0)
        for k, v in self.results.items():
            if isinstance(v, sp.Basic):
                shown = to_latex(v) if latex else str(v)
            else:
                shown = str(v)
            lines.append(f"  {k:<{width}} = {shown}")
        for k, v in self.data.items():
            if k != "json":  # the machine-readable copy of the results, for --json only
                lines.append(f"  {k}: {_jsonify(v)}")
        return "\n".join(lines)


def _jsonify(v):
    if isinstance(v, sp.MatrixBase):
        return [[to_str(x) for x in row] for row in v.tolist()]
    if isinstance(v, sp.Basic):
        if v.is_number and v.is_finite:
            if v.is_Integer:
                return int(v)
            return to_str(v)
        return to_str(v)
    if isinstance(v, dict):
        return {str(k): _jsonify(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonify(x) for x in v]
    return v


#: name -> (title, function returning a Derivation); filled by @derivation
DERIVATIONS: dict[str, tuple[str, Callable[[], Derivation]]] = {}


def derivation(name: str, title: str):
    """Register a zero-argument function returning a :class:`Derivation` (cached per process)."""
    def deco(fn):
        cached = functools.lru_cache(maxsize=None)(fn)
        DERIVATIONS[name] = (title, cached)
        cached.derivation_name = name
        return cached
    return deco


def get_derivation(name: str) -> Derivation:
    """Run (or fetch from the cache) the derivation registered as ``name``.

    Raises
    ------
    ValueError
        "`name` must be one of [...]" for an unknown name.
    """
    if name not in DERIVATIONS:
        raise ValueError(f"`name` must be one of {sorted(DERIVATIONS)}; got {name!r}")
    return DERIVATIONS[name][1]()
