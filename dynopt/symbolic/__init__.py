"""Symbolic derivations with sympy: scheme coefficients, the momentum tuning rule,
consistency orders, modified equations, stability regions, Fokker–Planck stationary
densities and the small derivations of the source texts.

Each derivation starts from the difference or differential equations and lets sympy
solve them; identities sympy cannot prove raise :class:`NotProved`.  Run them with
:func:`get_derivation` or ``dynopt derive NAME``.

A scheme is analysed from its own definition in :mod:`dynopt.schemes`, called on sympy
symbols: :func:`scheme_coefficients` ((α, β) in (γ, λ) and the recurrence),
:func:`scheme_stability` (characteristic polynomial and Jury bounds on L = hθ²/2) and
:func:`scheme_consistency` (local order from Taylor series) take a registry name, a scheme
class or an instance — a user's subclass of :class:`~dynopt.schemes.momentum.MomentumScheme`
need not be registered.  Any scheme, built-in or a user's class with buffers or several
gradients per step, ODE or SDE, is read through its step by :mod:`dynopt.symbolic.steps`
(:func:`step_stability`, :func:`step_consistency`, :func:`step_modified_equation`,
:func:`ms_stability`, :func:`stationary_variance`).  Results are facts (expressions, orders); the claims in ``papers/``
judge them.
"""
from dynopt.symbolic.core import DERIVATIONS, Derivation, NotProved, get_derivation, require_zero, to_latex, to_str
from dynopt.symbolic.recurrences import SchemeCoefficients, scheme_coefficients
from dynopt.symbolic.stability import SchemeStability, scheme_stability
from dynopt.symbolic.consistency import ConsistencyResult, scheme_consistency
from dynopt.symbolic.steps import (ms_stability, stationary_variance, step_consistency, step_matrix,
                                   step_modified_equation, step_stability)

__all__ = ["DERIVATIONS", "Derivation", "NotProved", "get_derivation", "require_zero", "to_latex",
           "to_str", "MODULES", "SchemeCoefficients", "scheme_coefficients", "SchemeStability",
           "scheme_stability", "ConsistencyResult", "scheme_consistency", "step_matrix", "step_stability",
           "step_consistency", "step_modified_equation", "ms_stability", "stationary_variance"]

#: modules that register derivations; importing the package imports them all, so
#: DERIVATIONS is complete whenever any part of dynopt.symbolic is in use
MODULES = ("coefficients", "tuning", "fokker_planck", "velocity", "stability", "consistency", "modified")

from dynopt.symbolic import coefficients, fokker_planck, modified, tuning, velocity  # noqa: E402,F401  (registration)
