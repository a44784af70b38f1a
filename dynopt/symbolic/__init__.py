"""Symbolic derivations with sympy: scheme coefficients, the momentum tuning rule,
consistency orders, modified equations, stability regions, Fokker–Planck stationary
densities and the small derivations of the source texts.

Each derivation starts from the difference or differential equations and lets sympy
solve them; identities sympy cannot prove raise :class:`NotProved`.  Run them with
:func:`get_derivation` or ``dynopt derive NAME``.
"""
from dynopt.symbolic.core import DERIVATIONS, Derivation, NotProved, get_derivation, require_zero, to_latex, to_str

__all__ = ["DERIVATIONS", "Derivation", "NotProved", "get_derivation", "require_zero", "to_latex",
           "to_str", "MODULES"]

#: modules that register derivations (imported lazily: sympy work happens on demand)
MODULES = ("coefficients", "tuning", "fokker_planck", "velocity", "stability", "consistency", "modified")


def _load_all():
    import importlib

    for m in MODULES:
        try:
            importlib.import_module(f"{__name__}.{m}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{m}":
                raise
