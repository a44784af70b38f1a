"""Claims of npnet-001: npnet part 3: optimizers from scratch in numpy (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "npnet part 3: optimizers from scratch in numpy (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)",
    "reference": "Source text: ../shared/sources/001_e44ab3cf123ccdfc.txt",
}


# --- symbolic (issue 3) ---
def _run_nesterov_and_stored_form(problem, lr, momentum, x0, n_steps, c=1.0):
    """dynopt's Nesterov scheme (look-ahead gradient, v_0 = 0) and the stored-gradient form
    Θ_t = Θ_{t−1} + (1+cμ)v_t − cμv_{t−1}, v_t = μv_{t−1} − λ∇L(Θ_{t−1}); returns the largest
    gap |Θ_t − cμv_t − w_t| relative to the scale of the iterates."""
    import numpy as np

    from dynopt.dynamics import HeavyBall
    from dynopt.integrate import integrate
    from dynopt.schemes import get_scheme
    from dynopt.schemes.maps import nesterov_ode_parameters

    step, friction = nesterov_ode_parameters(lr, momentum)   # eq-18 map: α = γ², β = 1 − λγ
    scheme = get_scheme("nesterov" if c == 1.0 else "nesterov-half", start="rest")
    sol = integrate(HeavyBall(problem, friction), scheme, (0.0, n_steps * step), x0, step, save_every=1)
    d = problem.dim
    w = sol.y[:, 0, :d]
    th = np.array(x0, float)[None, :].copy()
    vv = np.zeros_like(th)
    gap = 0.0
    for t in range(1, n_steps + 1):
        v_new = momentum * vv - lr * problem.grad_fn(th)
        th = th + (1 + c * momentum) * v_new - c * momentum * vv
        vv = v_new
        gap = max(gap, float(np.max(np.abs(th - c * momentum * vv - w[t]))))
    return gap / float(np.max(np.abs(w)))


@claim("npnet-001.nesterov-reparametrization", method="symbolic",
       statement="with θ_t = w_t + μv_t, Nesterov's v_t = μv_{t−1} − λ∇L(w_{t−1} + μv_{t−1}), "
                 "w_t = w_{t−1} + v_t is equivalent to v_t = μv_{t−1} − λ∇L(θ_{t−1}), "
                 "θ_t = θ_{t−1} + (1+μ)v_t − μv_{t−1}")
def nesterov_reparametrization(ctx):
    import sympy as sp

    from dynopt.problems import rosenbrock
    from dynopt.symbolic.small import _G, _lr, _mu, _v, nesterov_conjugation

    th = sp.Symbol("Θ", real=True)
    theta_new, v_new = nesterov_conjugation("standard")   # raises NotProved if not proved
    # the source's printed rules, as functions of (Θ_{t−1}, v_{t−1})
    src_v = _mu * _v - _lr * _G(th)
    src_theta = th + (1 + _mu) * src_v - _mu * _v
    same = bool(sp.simplify(theta_new - src_theta) == 0 and sp.simplify(v_new - src_v) == 0)
    n = ctx.size(200, 1000)
    gap = _run_nesterov_and_stored_form(rosenbrock(), 1e-3, 0.9, [-1.2, 1.0], n)
    tol = 1e-12
    holds = same and gap <= tol
    return judge(holds, expected={"v_t": str(src_v), "theta_t": str(src_theta)},
                 measured={"v_t": str(v_new), "theta_t": str(theta_new), "max_rel_gap_iterates": gap},
                 tolerance=f"symbolic conjugation T∘Φ = Ψ∘T; iterates rel. {tol:g}",
                 correction=None if holds else f"the reparametrized rules are {theta_new}, {v_new}",
                 evidence={"proof": "T(w, v) = (w + μv, v) conjugates the look-ahead step into the "
                                    "stored-gradient step (proved for any gradient G), T invertible",
                           "problem": "rosenbrock", "lr": 1e-3, "momentum": 0.9, "steps": n})
