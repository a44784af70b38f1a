"""Claims of csdn-000: 动量法 (Momentum), a CSDN blog post with PyTorch code

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "动量法 (Momentum), a CSDN blog post with PyTorch code",
    "reference": "Source text: ../shared/sources/000_28c47154f45a17be.txt",
}


# --- symbolic (issue 3) ---
def _momentum_velocity_with_constant_gradient(lr, momentum, g, tol=1e-12):
    """Run dynopt's heavy-ball scheme (v_0 = 0) on L = g·θ until γ^N ≤ tol; returns |v_N|."""
    import math

    import numpy as np

    from dynopt.dynamics import HeavyBall
    from dynopt.integrate import integrate
    from dynopt.problems import from_grad
    from dynopt.schemes.maps import leapfrog_ode_parameters

    n_steps = math.ceil(math.log(tol) / math.log(momentum))
    step, friction = leapfrog_ode_parameters(lr, momentum)   # the exact eq-15 map
    problem = from_grad(lambda x: np.full_like(x, g), dim=1, name="constant-gradient")
    sol = integrate(HeavyBall(problem, friction), "heavy-ball", (0.0, n_steps * step), [0.0, 0.0], step)
    # the scheme's output is [θ, v/γ]; its v = βv − α∇L is minus the source's velocity
    return float(abs(sol.y_final[0, 1]) * step), n_steps


@claim("csdn-000.velocity-limit", method="symbolic",
       statement="with a constant gradient g and v_0 = 0, v_i = γv_{i−1} + ηg tends to ηg/(1−γ): at γ = 0.9 the peak update is 10× the gradient times the learning rate")
def velocity_limit(ctx):
    import sympy as sp

    from dynopt.symbolic.small import eta, gg, gm, velocity_limit as derived_limit

    lim = derived_limit()
    amp = sp.simplify(lim / (eta * gg))
    source_amp = 10
    at = sp.Rational(str(0.9))
    amp_at = amp.subs(gm, at)
    lr, g = 0.01, 2.0
    v_n, n_steps = _momentum_velocity_with_constant_gradient(lr, float(at), g)
    measured = v_n / (lr * g)
    tol = 1e-9
    if abs(measured - float(amp_at)) > tol * float(amp_at):
        raise RuntimeError(f"dynopt heavy-ball run ({measured}) disagrees with the derived limit {amp_at}")
    holds = bool(sp.simplify(amp_at - source_amp) == 0)
    return judge(holds, expected=source_amp, measured=measured, tolerance=tol,
                 correction=None if holds else f"the limit is ηg/(1−γ) = {amp_at}·ηg at γ = {at}",
                 evidence={"derived_limit": str(lim), "derived_amplification": str(amp_at),
                           "n_steps": n_steps, "lr": lr, "g": g, "momentum": float(at)})
