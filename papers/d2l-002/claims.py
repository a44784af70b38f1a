"""Claims of d2l-002: RMSProp算法, Dive into Deep Learning (Chinese edition, PyTorch)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "RMSProp算法, Dive into Deep Learning (Chinese edition, PyTorch)",
    "reference": "Source text: ../shared/sources/002_19ffff0586cd2081.txt",
}


# --- symbolic (issue 3) ---
@claim("d2l-002.rmsprop-window", method="symbolic",
       statement="RMSProp's state s_t = γs_{t−1} + (1−γ)g_t⊙g_t is an exponentially weighted moving "
                 "average, so it can be seen as a weighted average of the squared minibatch gradients "
                 "of the last 1/(1−γ) steps (γ = 0.9: about 10 steps)")
def rmsprop_window(ctx):
    import numpy as np
    import sympy as sp

    from dynopt.symbolic.small import ema_weights, gm, k

    f = ema_weights()
    window = 1 / (1 - gm)
    total_is_one = bool(sp.simplify(f["total"] - 1) == 0)
    mean_age_is_window = bool(sp.simplify(f["mean_age"] - window) == 0)
    g0 = 0.9
    # numeric: d2l's update run on unit impulses (s_0 = 0), weight of the input k steps back
    K = ctx.size(400, 2000)
    s, resp = 0.0, []
    for step in range(K):
        x = 1.0 if step == 0 else 0.0
        s = g0 * s + (1 - g0) * x
        resp.append(s)
    resp = np.array(resp)
    w_derived = sp.lambdify(k, f["weight"].subs(gm, g0), "numpy")(np.arange(K, dtype=float))
    gap = float(np.max(np.abs(resp - w_derived)))
    if gap > 1e-14:
        raise RuntimeError(f"EMA impulse response disagrees with the derived weights (gap {gap:.3g})")
    mean_age = float(np.sum((np.arange(K) + 1) * resp))
    expected_window = float(window.subs(gm, g0))
    holds = total_is_one and mean_age_is_window
    return judge(holds, expected=expected_window, measured=mean_age, tolerance="symbolic identity",
                 correction=None if holds else f"mean age of the EMA weights is {f['mean_age']}",
                 evidence={"weights": str(f["weight"]), "sum_of_weights": str(f["total"]),
                           "sum_after_t_steps_from_s0=0": str(f["partial_sum"]),
                           "mean_age": str(f["mean_age"]),
                           "effective_sample_size_(Σw)²/Σw²": str(f["effective_sample_size"]),
                           "weight_in_last_1/(1-γ)_steps": str(f["mass_in_window"]),
                           "weight_in_last_10_steps_at_0.9": float(f["mass_in_window"].subs(gm, g0)),
                           "limit_γ→1": str(f["mass_in_window_limit"]), "impulse_steps": K})
