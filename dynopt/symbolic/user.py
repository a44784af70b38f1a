"""Derivations for a researcher's own input: the stationary density of the overdamped or Kramers
SDE with the user's potential (Fokker–Planck residual proved zero, θ-marginal), and the linear
stability and consistency of the user's own scheme class.

Symbols are taken by role: the coordinates θ are the problem's own ``symbols`` (or the free symbols
of the expression in the order given), velocities η are new symbols, σ and λ are the package's
noise and friction symbols; nothing is looked up by name.
"""
from __future__ import annotations

import sympy as sp

from dynopt.expr import as_sympy, parse

from dynopt.symbolic.core import Derivation, lam, require_zero, sigma
from dynopt.symbolic.fokker_planck import check_normalisable, kramers_fp_operator, langevin_fp_operator
from dynopt.symbolic.stability import scheme_stability
from dynopt.symbolic.consistency import scheme_consistency

__all__ = ["user_stationary_density", "user_scheme_analysis", "momentum_map", "user_modified_equation", "MODELS"]

MODELS = ("langevin", "kramers")


def _exact(expr):
    """``expr`` with every decimal number as the rational it spells (0.3 → 3/10): a proof must not
    hinge on rounding (exp(−0.5·x²) differentiated in floats leaves residuals of 1e-15)."""
    return expr.xreplace({f: sp.Rational(str(f)) for f in expr.atoms(sp.Float)})


def _coordinates(potential, symbols):
    if hasattr(potential, "expr") and hasattr(potential, "symbols"):  # a dynopt Problem
        if potential.expr is None:
            raise ValueError(f"`potential`: problem {potential.name!r} has no sympy expression "
                             "(build it with dynopt.problems.from_expr)")
        return _exact(potential.expr), tuple(symbols or potential.symbols)
    expr = parse(potential, symbols or None, argument="potential", exact=True) if isinstance(potential, str) \
        else _exact(potential) if isinstance(potential, sp.Basic) else potential
    if not isinstance(expr, sp.Expr) or not expr.free_symbols:
        raise ValueError(f"`potential` must be an expression in at least one variable; got {potential!r}")
    syms = tuple(symbols) if symbols else tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    if set(syms) != expr.free_symbols:
        raise ValueError(f"`symbols` {list(map(str, syms))} must be exactly the free symbols of the potential")
    return expr, syms


def user_stationary_density(potential, symbols=None, model: str = "langevin") -> Derivation:
    """Stationary density of dθ = −∇L dt + σ dW (``"langevin"``) or of dθ = η dt,
    dη = (−λη − ∇L) dt + σ dW (``"kramers"``) for the user's potential L.

    Parameters
    ----------
    potential : sympy.Expr, str or Problem
    symbols : sequence of sympy.Symbol, optional
        The coordinates θ in order (default: the problem's, or the sorted free symbols).
    model : {"langevin", "kramers"}

    Returns
    -------
    Derivation
        ``density`` (unnormalised), ``temperature`` kT, ``fokker_planck_residual`` (proved 0, else
        :class:`~dynopt.symbolic.NotProved` is raised) and ``theta_marginal``.
    """
    if model not in MODELS:
        raise ValueError(f"`model` must be one of {list(MODELS)}; got {model!r}")
    L, th = _coordinates(potential, symbols)
    check_normalisable(L, th, argument="potential")
    if model == "langevin":
        kT = sigma ** 2 / 2
        p = sp.exp(-L / kT)
        residual = sp.simplify(langevin_fp_operator(p, L, th) / p)
        marginal = p
    else:
        et = sp.symbols(f"η1:{len(th) + 1}", real=True)
        kT = sigma ** 2 / (2 * lam)
        p = sp.exp(-(sum(v ** 2 for v in et) / 2 + L) / kT)
        residual = sp.simplify(kramers_fp_operator(p, L, th, et) / p)
        marginal = sp.simplify(sp.integrate(p, *[(v, -sp.oo, sp.oo) for v in et],
                                            conds="none"))
        marginal = sp.simplify(marginal / marginal.subs({x: 0 for x in th}) * sp.exp(-L.subs({x: 0 for x in th}) / kT))
    require_zero(residual, "the stationary Fokker–Planck equation L*p = 0")
    steps = [f"coordinates θ = {list(map(str, th))}" + ("" if model == "langevin" else
                                                           f", velocities η = {list(map(str, et))}"),
             f"p ∝ exp(−{'' if model == 'langevin' else '(|η|²/2 + '}L{'' if model == 'langevin' else ')'}/kT), "
             f"kT = {kT}",
             "L*p / p simplifies to 0: p is stationary"]
    return Derivation(f"density-{model}", f"stationary density of the {model} SDE with L = {L}",
                      {"potential": L, "temperature": kT, "density": p, "fokker_planck_residual": residual,
                       "theta_marginal": marginal}, steps)


def user_scheme_analysis(scheme) -> Derivation:
    """Characteristic polynomial, stability bound and consistency order of a scheme class
    (registered or the user's own), from its one definition."""
    st = scheme_stability(scheme)
    results = {"characteristic_polynomial": st.characteristic_polynomial.as_expr(),
               "max_alpha_h": st.max_alpha_h, "ode_variable": st.ode_variable,
               "max_ode_variable": st.max_ode_variable}
    steps = [f"(α, β) map: {st.map}", "linear test problem L = hθ²/2, a = αh",
             "Jury conditions on the characteristic polynomial give the largest stable a"]
    try:
        c = scheme_consistency(scheme)
        results.update(local_order=c.local_order, global_order=c.global_order, leading_error=c.leading_error)
        steps.append(f"Taylor series against the ODE solution: local order {c.local_order}, "
                     f"global order {c.global_order}")
    except (TypeError, ValueError, NotImplementedError) as exc:
        steps.append(f"consistency not derived: {exc}")
    return Derivation(f"stability {st.scheme}", f"linear stability and consistency of {st.scheme}", results, steps)


def momentum_map(equations, unknowns, v_next, old, gradient, v_n=None) -> Derivation:
    """The (α, β) of v_{n+1} = β v_n − α ∇L from the user's own difference equations.

    Parameters
    ----------
    equations : sequence of sympy.Eq
        The scheme's difference equations in the user's symbols.
    unknowns : sequence of sympy.Symbol
        What the equations are solved for (e.g. θ_{n+1} and η_{n+1/2}).
    v_next : sympy.Expr
        v_{n+1} in terms of the unknowns (e.g. γ·η_{n+1/2}).
    old : dict
        Old variables in terms of v_n (e.g. ``{η_{n−1/2}: v_n/γ}``); ``v_n`` is the symbol used.
    gradient : sympy.Symbol
        The symbol standing for ∇L at the scheme's gradient point.
    v_n : sympy.Symbol, optional
        The symbol of v_n in ``old`` (default: the one symbol of ``old``'s values that is not in
        the equations).

    Returns
    -------
    Derivation
        ``beta``, ``alpha`` and the ``update`` v_{n+1}; raises
        :class:`~dynopt.symbolic.NotProved` if the solution is not unique or v_{n+1} is not
        linear in (v_n, ∇L).
    """
    from dynopt.symbolic.core import NotProved

    sol = sp.solve(list(equations), list(unknowns), dict=True)
    if len(sol) != 1:
        raise NotProved(f"the difference equations do not have a unique solution for {list(unknowns)}: {sol}")
    if v_n is None:
        cands = set().union(*(as_sympy(e).free_symbols for e in old.values())) - \
            set().union(*(as_sympy(e).free_symbols for e in equations))
        if len(cands) != 1:
            raise ValueError(f"`v_n`: cannot tell v_n among {sorted(map(str, cands))}; pass it")
        v_n = cands.pop()
    upd = sp.expand(sp.simplify(as_sympy(v_next, argument='v_next').subs(sol[0]).subs(old)))
    b = sp.factor(sp.simplify(upd.coeff(v_n)))
    a = sp.factor(sp.simplify(-upd.coeff(gradient)))
    require_zero(upd - (b * v_n - a * gradient), "v_{n+1} is linear in (v_n, ∇L) with no remainder")
    return Derivation("momentum-map", "(α, β) from the user's difference equations",
                      {"beta": b, "alpha": a, "update": upd},
                      [f"solved for {list(map(str, unknowns))}", "v_{n+1} = β v_n − α ∇L read off"])


def user_modified_equation(scheme) -> Derivation:
    """Modified equation θ' = f₀ + h f₁ + O(h²) of an update rule (the user's class or a
    registered one), for a general 1-D L: a momentum-form rule at fixed β and learning rate h
    through its recurrence; any other gradient-flow scheme through its step
    (:func:`dynopt.symbolic.steps.modified_derivation`)."""
    from dynopt.symbolic.modified import momentum_modified_field
    from dynopt.symbolic.recurrences import resolve_scheme, scheme_kind

    if not _has_kind(scheme) or scheme_kind(scheme) != "momentum":
        from dynopt.symbolic.steps import modified_derivation

        return modified_derivation(resolve_scheme(scheme)[0])
    f0, f1, L, th = momentum_modified_field(scheme)
    h = sp.Symbol("h", positive=True)
    return Derivation("modified-equation", "modified equation to O(h²) of the update rule",
                      {"f0": f0, "f1": f1, "field": f0 + h * f1},
                      ["recurrence expanded in h along θ(t); orders h and h² solved for f₀, f₁",
                       "the field satisfies the recurrence to O(h³)"])


def _has_kind(scheme):
    from dynopt.symbolic.recurrences import scheme_kind

    try:
        scheme_kind(scheme)
    except TypeError:
        return False
    return True
