"""The step readings as :class:`~dynopt.symbolic.core.Derivation` objects: what
``dynopt derive stability|consistency|modified|ms-stability|stationary --scheme X`` prints."""
from __future__ import annotations

import sympy as sp

from dynopt.symbolic.core import Derivation, NotProved
from dynopt.symbolic.sde_steps import ms_stability, stationary_variance
from dynopt.symbolic.standins import friction_step
from dynopt.symbolic.steps import (_instance, _label, step_consistency, step_modified_equation,
                                   step_stability)

__all__ = ["stability_derivation", "consistency_derivation", "modified_derivation", "ms_stability_derivation",
           "stationary_derivation"]


def _name_of(scheme):
    inst = _instance(scheme)
    return inst, str(_label(inst))


def stability_derivation(scheme) -> Derivation:
    """:func:`step_stability` and :func:`step_consistency` as a :class:`Derivation`."""
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
    _add_momentum_map(inst, st, results, steps)
    return Derivation(f"stability {label}", f"linear stability of {label} read from its step", results, steps)


def _add_momentum_map(inst, st, results, steps):
    """A momentum-form scheme's bound also in its optimizer variables (αh as a function of β,
    through its (α, β) map), with the check that the map's bound in ODE variables is the
    step's bound: the step's characteristic polynomial moves to ``step_characteristic_polynomial``."""
    from dynopt.symbolic.recurrences import scheme_kind
    from dynopt.symbolic.stability import X_ODE, scheme_stability

    try:
        kind = scheme_kind(inst)
    except TypeError:
        return
    if kind != "momentum":
        return
    m = scheme_stability(inst)
    step_bound = st.max_product.subs(friction_step, X_ODE)
    same = step_bound == m.max_ode_variable or (sp.oo not in (step_bound, m.max_ode_variable)
                                                 and sp.simplify(step_bound - m.max_ode_variable) == 0)
    if not same:
        raise NotProved(f"the step's bound {st.max_product} and the (α, β) map's {m.max_ode_variable} differ")
    results["step_characteristic_polynomial"] = results.pop("characteristic_polynomial")
    results.update(characteristic_polynomial=m.characteristic_polynomial.as_expr(), max_alpha_h=m.max_alpha_h,
                   ode_variable=m.ode_variable, max_ode_variable=m.max_ode_variable, map=m.map)
    if "order" in results:
        results["global_order"] = results["order"]
    steps.append(f"through the (α, β) map {m.map}: largest stable αh = {m.max_alpha_h} in β; the same bound "
                 f"in (hγ², λγ) as the step's in (h²κ, λh)")


def consistency_derivation(scheme) -> Derivation:
    """:func:`step_consistency` as a :class:`Derivation`."""
    inst, label = _name_of(scheme)
    c = step_consistency(inst)
    return Derivation(f"consistency {label}", f"consistency order of {label} read from its step",
                      {"order": c.order, "local_order": c.local_order, "linear_order": c.linear_order,
                       "leading_local_error": c.local_error, "model": c.model},
                      [f"one step from the scheme's start on a general L (L' undefined) against the Taylor "
                       f"series of {c.model}: local error {c.local_error} + O(h^{c.local_order + 1})",
                       f"on L = κθ²/2: ord det(e^(hω) − M) minus the eigenvalues tending to 1 = {c.linear_order}",
                       "order = min(local order − 1, linear order)"]
                      + (["a lower bound: the state carries a buffer started by init, so the step read is a start-up "
                          "step, whose error enters the global error once, not at every step (measure the order, "
                          "e.g. with dynopt compare, to decide between the two)"] if c.lower_bound else []),
                      {"order_is_lower_bound": c.lower_bound})


def modified_derivation(scheme) -> Derivation:
    """:func:`step_modified_equation` as a :class:`Derivation`."""
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


def ms_stability_derivation(scheme) -> Derivation:
    """:func:`ms_stability` as a :class:`Derivation`."""
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


def stationary_derivation(scheme, model="ou") -> Derivation:
    """:func:`stationary_variance` as a :class:`Derivation`."""
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
                       "series in h to O(h³)"],
                      {"A": r.A, "B": r.B})
