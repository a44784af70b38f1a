"""Momentum coefficients (α, β) derived from the difference equations of kexue-5655.

* eqs (13)–(14), leapfrog on θ' = η, η' = −λη − ∇L with staggered η_{n±1/2}, solved
  for v_{n+1} = γ η_{n+1/2}, give eq (15): β = (1 − λγ/2)/(1 + λγ/2), α = γ²/(1 + λγ/2).
* eq (17) with v_{n+1} = (γ/2)(η_{n+1} + η_n) gives (18): β = 1 − λγ, α = γ² — but
  only because (17) evaluates the friction at (η_n + η_{n−1})/2 = v_n/γ.  The source's
  author answered a reader (Oct 31st 2018) that he "modified (17) for simplicity": the
  reader's β = 1/(1 + λγ), α = γ²/(1 + λγ) are what the same scheme gives with the
  friction at (η_{n+1} + η_n)/2 = v_{n+1}/γ; the centred average
  (η_{n+1} + 2η_n + η_{n−1})/4 = (v_{n+1} + v_n)/(2γ) gives back eq (15).

Nothing is typed in: each set is what ``sympy.solve`` returns for its difference
equations.
"""
from __future__ import annotations

import functools

import sympy as sp

from dynopt.symbolic.core import Derivation, NotProved, derivation, gamma, is_zero, lam, require_zero

__all__ = ["leapfrog_update", "eq17_update", "FRICTION_VARIANTS", "coefficient_functions",
           "series_vs_exponential"]

# symbols of the difference equations; g is one component of ∇L at the scheme's point
th0, th1 = sp.symbols("θ_n θ_n+1", real=True)
eta_m, eta_0, eta_p = sp.symbols("η_n-1 η_n η_n+1", real=True)     # eq 17: integer steps
eta_mh, eta_ph = sp.symbols("η_n-1/2 η_n+1/2", real=True)           # eq 13-14: half steps
v0, v1 = sp.symbols("v_n v_n+1", real=True)
g = sp.Symbol("g", real=True)


def _split_momentum(v_new, what):
    """Read β and α off v_{n+1} = β v_n − α g and prove there is no remainder."""
    e = sp.expand(v_new)
    b = sp.factor(sp.simplify(e.coeff(v0)))
    a = sp.factor(sp.simplify(-e.coeff(g)))
    require_zero(e - (b * v0 - a * g), f"{what} is linear in (v_n, ∇L) with no remainder")
    return b, a


@functools.lru_cache(maxsize=None)
def leapfrog_update():
    """Solve kexue-5655 (13)–(14) for the update; returns (beta, alpha, theta_update).

    (13): (θ_{n+1} − θ_n)/γ = η_{n+1/2};
    (14): (η_{n+1/2} − η_{n−1/2})/γ = −λ (η_{n+1/2} + η_{n−1/2})/2 − ∇L(θ_n).
    """
    e13 = sp.Eq((th1 - th0) / gamma, eta_ph)
    e14 = sp.Eq((eta_ph - eta_mh) / gamma, -lam * (eta_ph + eta_mh) / 2 - g)
    sol = sp.solve([e13, e14], [th1, eta_ph], dict=True)
    if len(sol) != 1:
        raise NotProved(f"(13)-(14) do not have a unique solution: {sol}")
    sol = sol[0]
    # v_{n+1} = γ η_{n+1/2}, v_n = γ η_{n−1/2}
    v_new = (gamma * sol[eta_ph]).subs(eta_mh, v0 / gamma)
    b, a = _split_momentum(v_new, "γ·η_{n+1/2} from (13)-(14)")
    theta_update = sp.simplify(sol[th1].subs(eta_mh, v0 / gamma) - th0)
    require_zero(theta_update - v_new, "θ_{n+1} = θ_n + v_{n+1}")
    return b, a, theta_update


#: friction term of the second equation of (17), name -> (expression, description)
FRICTION_VARIANTS = {
    "printed": ((eta_0 + eta_m) / 2, "(η_n + η_{n−1})/2, as printed in (17)"),
    "forward": ((eta_p + eta_0) / 2, "(η_{n+1} + η_n)/2, the average that defines v_{n+1}"),
    "centred": ((eta_p + 2 * eta_0 + eta_m) / 4, "(η_{n+1} + 2η_n + η_{n−1})/4, centred at n"),
    "centre": (eta_0, "η_n"),
    "outer": ((eta_p + eta_m) / 2, "(η_{n+1} + η_{n−1})/2"),
}


@functools.lru_cache(maxsize=None)
def eq17_update(variant: str = "printed"):
    """Solve (17) with the given friction term for v_{n+1} = (γ/2)(η_{n+1} + η_n).

    Returns
    -------
    (beta, alpha) or None
        None when the recurrence does not close in v (depends on η_n separately).
    """
    if variant not in FRICTION_VARIANTS:
        raise ValueError(f"`variant` must be one of {sorted(FRICTION_VARIANTS)}; got {variant!r}")
    fr = FRICTION_VARIANTS[variant][0]
    # (17a) (θ_{n+1} − θ_n)/γ = (η_{n+1} + η_n)/2  ⇒ θ_{n+1} = θ_n + v_{n+1}
    e17a = sp.Eq((th1 - th0) / gamma, (eta_p + eta_0) / 2)
    # (17b) (η_{n+1} − η_{n−1})/(2γ) = −λ·friction − ∇L((θ_{n+1} + θ_n)/2)
    e17b = sp.Eq((eta_p - eta_m) / (2 * gamma), -lam * fr - g)
    defs = [sp.Eq(v1, gamma * (eta_p + eta_0) / 2), sp.Eq(v0, gamma * (eta_0 + eta_m) / 2)]
    sol = sp.solve([e17a, e17b] + defs, [th1, eta_p, eta_m, v1], dict=True)
    if len(sol) != 1:
        raise NotProved(f"(17) with friction {variant} does not have a unique solution: {sol}")
    sol = sol[0]
    require_zero(sol[th1] - th0 - sol[v1], "θ_{n+1} = θ_n + v_{n+1} from (17a)")
    v_new = sp.simplify(sol[v1])
    if not is_zero(sp.diff(v_new, eta_0)):
        return None  # the update needs η_n itself: not a momentum method in (θ, v)
    return _split_momentum(v_new, f"v_{{n+1}} from (17) with friction {variant}")


def coefficient_functions(which: str):
    """Numeric (γ, λ) -> (α, β) from the derived coefficients ("eq15", "eq18", "reader")."""
    if which == "eq15":
        b, a, _ = leapfrog_update()
    elif which == "eq18":
        b, a = eq17_update("printed")
    elif which == "reader":
        b, a = eq17_update("forward")
    else:
        raise ValueError(f"`which` must be one of ['eq15', 'eq18', 'reader']; got {which!r}")
    fa = sp.lambdify((gamma, lam), a, "math")
    fb = sp.lambdify((gamma, lam), b, "math")
    return lambda gm, fr: (fa(gm, fr), fb(gm, fr))


def series_vs_exponential(b, order: int = 4):
    """Order in γ to which β agrees with e^{−λγ}, the exact one-step damping of η' = −λη."""
    diff = sp.series(b - sp.exp(-lam * gamma), gamma, 0, order).removeO()
    diff = sp.expand(diff)
    for k in range(order):
        if not is_zero(diff.coeff(gamma, k)):
            return k - 1, sp.simplify(diff.coeff(gamma, k))
    return order - 1, sp.Integer(0)


@derivation("leapfrog", "kexue-5655 eq 15: (α, β) of heavy ball from the leapfrog (13)-(14)")
def _leapfrog():
    b, a, _ = leapfrog_update()
    agree, lead = series_vs_exponential(b)
    return Derivation(
        "leapfrog", "kexue-5655 eq 15: (α, β) of heavy ball from the leapfrog (13)-(14)",
        results={"beta": b, "alpha": a},
        steps=["solve (13) (θ_{n+1}−θ_n)/γ = η_{n+1/2} and (14) for θ_{n+1}, η_{n+1/2}",
               "substitute v_{n+1} = γη_{n+1/2}, v_n = γη_{n−1/2}: v_{n+1} = βv_n − α∇L(θ_n), θ_{n+1} = θ_n + v_{n+1}",
               f"β − e^(−λγ) = O(γ^{agree + 1}), leading term {lead}·γ^{agree + 1}"])


@derivation("nesterov", "kexue-5655 eq 18: (α, β) of the Nesterov form from (17) as printed")
def _nesterov():
    b, a = eq17_update("printed")
    agree, lead = series_vs_exponential(b)
    variants = {}
    for k, (_, desc) in FRICTION_VARIANTS.items():
        res = eq17_update(k)
        variants[k] = {"friction": desc,
                       "beta": "does not close in v" if res is None else res[0],
                       "alpha": "does not close in v" if res is None else res[1]}
    return Derivation(
        "nesterov", "kexue-5655 eq 18: (α, β) of the Nesterov form from (17) as printed",
        results={"beta": b, "alpha": a},
        steps=["solve (17) with v_{n+1} = (γ/2)(η_{n+1}+η_n), v_n = (γ/2)(η_n+η_{n−1}) for v_{n+1}",
               f"β − e^(−λγ) = O(γ^{agree + 1}), leading term {lead}·γ^{agree + 1}: first order only",
               "other friction terms in (17): see data.variants (reader's coefficients = 'forward')"],
        data={"variants": variants})


@derivation("nesterov-reader", "the reader's (α, β) (kexue-5655 comment of 2018-10-31): which (17) gives them")
def _reader():
    b, a = eq17_update("forward")
    return Derivation(
        "nesterov-reader", "the reader's (α, β) (kexue-5655 comment of 2018-10-31): which (17) gives them",
        results={"beta": b, "alpha": a},
        steps=["(17) with the friction at (η_{n+1}+η_n)/2 = v_{n+1}/γ (implicit in the friction)",
               "solve for v_{n+1}: v_{n+1}(1 + λγ) = v_n − γ²∇L"])
