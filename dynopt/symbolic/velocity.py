"""Small derivations of the source texts.

* csdn-000 / d2l-004: with a constant gradient g, v_i = γ v_{i−1} + η g from v_0 = 0 has
  the closed form v_n = ηg(1 − γⁿ)/(1 − γ) (``sympy.rsolve``) → ηg/(1 − γ).
* d2l-002: RMSProp's s_t = γ s_{t−1} + (1 − γ) g_t² puts weight (1 − γ)γ^k on g_{t−k}²:
  the weights sum to 1 (to 1 − γ^t after t steps from s_0 = 0) and their mean age,
  counting the current step as 1, is exactly 1/(1 − γ).
* npnet-001 / kexue-5655: Nesterov's change of variables θ = w + μv (Θ = θ + βv)
  conjugates the look-ahead iteration into one that evaluates the gradient at the
  stored iterate: the step Ψ = T∘Φ∘T⁻¹ is derived by substitution (w = Θ − μv into the
  look-ahead step Φ, then Θ' = w' + μv') and only then compared with printed rules.
"""
from __future__ import annotations

import functools

import sympy as sp

from dynopt.symbolic.core import Derivation, NotProved, derivation, is_zero, require_zero

__all__ = ["velocity_closed_form", "velocity_limit", "velocity_amplification", "ema_weights",
           "nesterov_conjugation", "compare_nesterov_rules", "NESTEROV_FORMS", "THETA"]

n, k = sp.symbols("n k", integer=True, nonnegative=True)
gm = sp.Symbol("γ", positive=True)       # momentum / EMA parameter of the sources
eta = sp.Symbol("η", positive=True)      # learning rate
gg = sp.Symbol("g", real=True)           # the constant gradient
_u = sp.Symbol("u", positive=True)       # γ = 1/(1 + u) ∈ (0, 1)


@functools.lru_cache(maxsize=None)
def velocity_closed_form():
    """Solve v_i = γ v_{i−1} + ηg, v_0 = 0 (csdn-000, d2l-004) for v_n."""
    v = sp.Function("v")
    sol = sp.rsolve(v(n) - gm * v(n - 1) - eta * gg, v(n), {v(0): 0})
    if sol is None:
        raise NotProved("rsolve found no closed form for v_n")
    sol = sp.simplify(sol)
    # check the recurrence and the start
    require_zero(sol - gm * sol.subs(n, n - 1) - eta * gg, "v_n solves v_n = γ v_{n−1} + ηg")
    require_zero(sol.subs(n, 0), "v_0 = 0")
    return sol


@functools.lru_cache(maxsize=None)
def velocity_limit():
    """lim_{n→∞} v_n for 0 < γ < 1 (γ = 1/(1+u), u > 0)."""
    sol = velocity_closed_form()
    lim = sp.limit(sol.subs(gm, 1 / (1 + _u)), n, sp.oo)
    lim = sp.simplify(lim.subs(_u, 1 / gm - 1))
    if lim.has(sp.Limit):
        raise NotProved(f"limit of v_n not evaluated: {lim}")
    return lim


@functools.lru_cache(maxsize=None)
def velocity_amplification(momentum=None):
    """The limit of v_n in units of ηg: 1/(1 − γ), or its value at ``momentum``.

    Parameters
    ----------
    momentum : str or number, optional
        γ ∈ (0, 1), kept exact as a sympy Rational (pass decimals as strings, "0.9").

    Returns
    -------
    sympy expression in γ, or a sympy Rational when ``momentum`` is given
    """
    amp = sp.simplify(velocity_limit() / (eta * gg))
    if momentum is None:
        return amp
    at = sp.Rational(momentum)
    if not 0 < at < 1:
        raise ValueError(f"`momentum` must lie in (0, 1); got {momentum!r}")
    return amp.subs(gm, at)


def _sum_for_gamma_below_1(expr):
    """Σ_{k≥0} expr by ``sympy.summation``, keeping the branch valid for 0 < γ < 1.

    The branch condition is checked under γ = 1/(1+u), u > 0 (never assumed).
    """
    s = sp.summation(expr, (k, 0, sp.oo))

    def holds(cond):
        if cond is sp.true:
            return True
        c = cond.subs(gm, 1 / (1 + _u))
        if isinstance(c, (sp.StrictLessThan, sp.LessThan)):
            return bool(sp.factor(sp.together(c.rhs - c.lhs)).is_positive)
        if isinstance(c, (sp.StrictGreaterThan, sp.GreaterThan)):
            return bool(sp.factor(sp.together(c.lhs - c.rhs)).is_positive)
        return sp.simplify(c) is sp.true

    def pick(*pairs):
        for val, cond in pairs:
            if not val.has(sp.Sum) and holds(cond):
                return val
        raise NotProved(f"no branch of {pairs} is valid for 0 < γ < 1")

    s = s.replace(sp.Piecewise, pick)
    # telescoped sums come back with γ**oo: evaluate it as lim γ^n for 0 < γ < 1
    s = s.replace(lambda e: e.is_Pow and e.exp is sp.oo,
                  lambda e: sp.limit(e.base.subs(gm, 1 / (1 + _u)) ** n, n, sp.oo))
    if s.has(sp.Sum) or s.has(sp.oo):
        raise NotProved(f"series not summed: {s}")
    return sp.simplify(s)


@functools.lru_cache(maxsize=None)
def ema_weights():
    """Weights of s_t = γ s_{t−1} + (1−γ) x_t on x_{t−k}: returns a dict of derived facts."""
    s = sp.Function("s")
    # impulse response: x_j = 1 at one step, s before it 0 -> s after k more steps
    imp = sp.rsolve(s(k) - gm * s(k - 1), s(k), {s(0): 1 - gm})
    w = sp.simplify(imp)                                  # weight of x_{t−k}
    total = _sum_for_gamma_below_1(w)
    t = sp.Symbol("t", integer=True, positive=True)
    partial = sp.simplify(sp.summation(w, (k, 0, t - 1)))  # after t steps from s_0 = 0
    mean_age = _sum_for_gamma_below_1((k + 1) * w)
    kish = sp.simplify(total ** 2 / _sum_for_gamma_below_1(w ** 2))
    window = 1 / (1 - gm)
    mass_window = sp.simplify(partial.subs(t, window))     # 1 − γ^{1/(1−γ)}
    mass_limit = sp.limit(mass_window, gm, 1, "-")
    return {"weight": w, "total": total, "partial_sum": partial, "mean_age": mean_age,
            "effective_sample_size": kish, "mass_in_window": mass_window, "mass_in_window_limit": mass_limit}


# -- Nesterov's change of variables ---------------------------------------------------------
_w, _v, _mu, _lr = sp.symbols("w v μ λ_lr", real=True)
_G = sp.Function("G")  # the gradient ∇L (componentwise; any function)


def _nesterov_lookahead(w, v, mu, lr, c=1):
    """Look-ahead Nesterov (npnet-001, kexue eq 20 with c = 1; c = 1/2 for the β/2 variant)."""
    v1 = mu * v - lr * _G(w + c * mu * v)
    return w + v1, v1


#: name -> (lookahead shift c, description)
NESTEROV_FORMS = {"standard": (1, "gradient at θ_n + βv_n (standard Nesterov)"),
                  "half": (sp.Rational(1, 2), "gradient at θ_n + (β/2)v_n (kexue-5655 eq 20)")}

#: the stored iterate Θ = w + cμv of the reparametrized iteration
THETA = sp.Symbol("Θ", real=True)


@functools.lru_cache(maxsize=None)
def nesterov_conjugation(form: str = "standard"):
    """Derive the look-ahead Nesterov step in the stored variable Θ = w + cμv.

    The map is Ψ = T∘Φ∘T⁻¹ with T(w, v) = (w + cμv, v) and Φ the look-ahead step
    v' = μv − λ G(w + cμv), w' = w + v' (G = ∇L, an arbitrary function): substitute
    w = Θ − cμv into Φ, then Θ' = w' + cμv'.  Nothing of the sources' printed rules
    enters, so comparing the result with a printed rule (:func:`compare_nesterov_rules`)
    is a check.  T is invertible, so Ψ's iterates are T of Φ's for every t.

    Parameters
    ----------
    form : {"standard", "half"}
        c = 1 (standard Nesterov, npnet-001) or c = 1/2 (kexue-5655 eq 20).

    Returns
    -------
    (theta_new, v_new) : sympy expressions in (Θ, v, μ, λ_lr, G(Θ))

    Raises
    ------
    NotProved
        If the gradient's argument does not reduce to Θ (the step would need w).
    """
    if form not in NESTEROV_FORMS:
        raise ValueError(f"`form` must be one of {sorted(NESTEROV_FORMS)}; got {form!r}")
    c = NESTEROV_FORMS[form][0]
    w_of_theta = THETA - c * _mu * _v                   # T⁻¹
    w1, v1 = _nesterov_lookahead(w_of_theta, _v, _mu, _lr, c)
    theta_new = w1 + c * _mu * v1                       # T applied after Φ
    for e in (theta_new, v1):
        if _w in e.free_symbols:
            raise NotProved(f"the {form} Nesterov step in Θ still depends on w: {e}")
        for call in e.atoms(_G):
            require_zero(call.args[0] - THETA, f"gradient of the {form} Θ-step taken at Θ")
    return sp.collect(sp.expand(theta_new), [_v, _G(THETA)]), sp.expand(v1)


def compare_nesterov_rules(theta_printed, v_printed, form: str = "standard"):
    """Compare printed Θ/v update rules with the derived ones (:func:`nesterov_conjugation`).

    ``theta_printed``, ``v_printed`` are sympy expressions in ``THETA``, ``_v``, ``_mu``,
    ``_lr`` and ``_G(THETA)``.  Returns ``(theta_same, v_same, theta_derived, v_derived)``;
    each ``*_same`` is decided by :func:`~dynopt.symbolic.core.is_zero`, so a wrong printed
    rule gives False and an undecidable difference raises ``NotProved``.
    """
    theta_new, v_new = nesterov_conjugation(form)
    return (bool(is_zero(theta_new - theta_printed)), bool(is_zero(v_new - v_printed)),
            theta_new, v_new)


@derivation("velocity-limit", "csdn-000 / d2l-004: v_i = γv_{i−1} + ηg from v_0 = 0 tends to ηg/(1−γ)")
def _velocity():
    sol = velocity_closed_form()
    lim = velocity_limit()
    ratio = velocity_amplification()
    return Derivation(
        "velocity-limit", "csdn-000 / d2l-004: v_i = γv_{i−1} + ηg from v_0 = 0 tends to ηg/(1−γ)",
        results={"v_n": sol, "v_limit": lim, "amplification": ratio,
                 "amplification_at_0.9": ratio.subs(gm, sp.Rational(9, 10)),
                 "amplification_at_0.99": ratio.subs(gm, sp.Rational(99, 100))},
        steps=["rsolve v_n − γv_{n−1} − ηg = 0 with v_0 = 0", "limit n → ∞ for 0 < γ < 1"])


@derivation("rmsprop-window", "d2l-002: RMSProp's EMA weights (1−γ)γ^k, their sum and mean age 1/(1−γ)")
def _rmsprop():
    f = ema_weights()
    return Derivation(
        "rmsprop-window", "d2l-002: RMSProp's EMA weights (1−γ)γ^k, their sum and mean age 1/(1−γ)",
        results=dict(f),
        steps=["impulse response of s_t = γs_{t−1} + (1−γ)x_t by rsolve: weight (1−γ)γ^k on x_{t−k}",
               "Σ_k weights = 1 (only 1 − γ^t after t steps from s_0 = 0: no bias correction)",
               "mean age Σ(k+1)w_k = 1/(1−γ); the last 1/(1−γ) steps carry 1 − γ^{1/(1−γ)} → 1 − 1/e"])


@derivation("nesterov-reparametrization", "npnet-001 / kexue-5655: Nesterov with the gradient at the stored iterate")
def _reparam():
    std = nesterov_conjugation("standard")
    half = nesterov_conjugation("half")
    return Derivation(
        "nesterov-reparametrization", "npnet-001 / kexue-5655: Nesterov with the gradient at the stored iterate",
        results={"Theta_new": std[0], "v_new": std[1], "Theta_new_half_variant": half[0],
                 "v_new_half_variant": half[1]},
        steps=["Φ: v' = μv − λ_lr G(w + μv), w' = w + v' (G = ∇L, any function)",
               "T(w, v) = (w + μv, v) = (Θ, v): substitute w = Θ − μv into Φ (the gradient "
               "argument becomes Θ), then Θ' = w' + μv' = Θ + (1+μ)v' − μv",
               "β/2 variant (eq 20): the same with Θ = w + (μ/2)v"])
