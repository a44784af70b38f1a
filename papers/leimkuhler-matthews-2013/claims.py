"""Claims of leimkuhler-matthews-2013: Rational Construction of Stochastic Numerical Methods for Molecular Sampling

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.ledger import claim, judge

SOURCE = {
    "title": "Rational Construction of Stochastic Numerical Methods for Molecular Sampling",
    "reference": "B. Leimkuhler and C. Matthews, Applied Mathematics Research eXpress 2013(1):34–56 "
                 "(arXiv:1203.5428)",
}

# --- SDE ---
import math  # noqa: E402

import numpy as np  # noqa: E402
from scipy import integrate as sint  # noqa: E402
from scipy.linalg import solve_discrete_lyapunov  # noqa: E402

from dynopt import dynamics, problems  # noqa: E402
from dynopt.analysis import fit_order, scheme_linear_map
from dynopt.engine import EnsembleOptions, TimeAverage, simulate
from dynopt.plotting import plot_bias, plt  # noqa: E402

SCHEMES = ("baoab", "aboba", "obabo", "momentum-sgd", "euler-maruyama")


def _harmonic(frictions, steps):
    """Exact stationary covariance of each scheme's linear map on U = q²/2 at kT = 1."""
    quad = problems.quadratic([[1.0]])
    out = {}
    for lam in frictions:
        m = dynamics.Kramers(quad, lam, math.sqrt(2 * lam))
        for s in SCHEMES:
            errs = []
            for h in steps:
                try:
                    M, N = scheme_linear_map(m, s, h)
                except ValueError as exc:  # momentum-sgd needs λh ≤ 2 (β ≥ 0)
                    errs.append({"h": h, "note": str(exc)})
                    continue
                if np.max(np.abs(np.linalg.eigvals(M))) >= 1:
                    errs.append({"h": h, "note": "unstable: spectral radius ≥ 1"})
                    continue
                S = solve_discrete_lyapunov(M, N @ N.T)
                errs.append({"h": h, "q2_error": float(S[0, 0] - 1.0), "p2_error": float(S[1, 1] - 1.0)})
            out[f"{s}, λ={lam:g}"] = errs
    return out


def _gibbs_start(n, dim_state, seed):
    """Exact samples of exp(−q²/2 − q⁴/4) (rejection from N(0,1), acceptance exp(−q⁴/4)) and
    p ~ N(0, 1): runs start in equilibrium, so no burn-in bias hides the step bias."""
    rng = np.random.default_rng(seed)
    q = np.empty(0)
    while q.size < n:
        x = rng.standard_normal(4 * n)
        q = np.concatenate([q, x[rng.random(x.size) < np.exp(-x ** 4 / 4)]])
    y = q[:n, None]
    return np.hstack([y, rng.standard_normal((n, 1))]) if dim_state == 2 else y


def _bias(model, scheme, h, T, n, seed, exact, burn=2.0):
    T = h * math.ceil(T / h)
    y0 = _gibbs_start(n, model.state_dim, seed + 7)
    every = max(1, round(0.1 / h))
    t_burn, t_half = h * math.ceil(burn / h), h * math.ceil((burn + T) / (2 * h))
    r = simulate(model, scheme, (0, T), y0, h, n_paths=n, seed=seed,
                 observers=[TimeAverage(lambda y: y[:, 0] ** 2, t_min=t_burn, every=every),
                            TimeAverage(lambda y: y[:, 0] ** 2, t_min=t_half, every=every, name="late")],
                 options=EnsembleOptions(block_size=256))
    a, late = r.observations["time_average"], r.observations["late"]
    if r.n_diverged:
        return {"h": h, "diverged": r.n_diverged, "first_divergence_step": r.first_divergence_step}
    # equilibration: the average over the second half of the window agrees with the whole
    # window's (the quadrature SE is conservative for nested windows)
    eq_z = (late.mean - a.mean) / math.hypot(late.se, a.se)
    if abs(eq_z) > 5:
        raise RuntimeError(f"{scheme} at h = {h:g}: <θ²> drifts over the averaging window (z = {eq_z:.1f}): "
                           "not equilibrated, no verdict on its bias")
    return {"h": h, "bias": a.mean - exact, "se": a.se, "equilibration_z": round(eq_z, 2)}


def _anharmonic_q2():
    """⟨q²⟩ under exp(−q²/2 − q⁴/4) (kT = 1), by scipy quad."""
    w = lambda q: np.exp(-(q ** 2 / 2 + q ** 4 / 4))  # noqa: E731
    return sint.quad(lambda q: q * q * w(q), -np.inf, np.inf)[0] / sint.quad(w, -np.inf, np.inf)[0]


def _fit(rows):
    pts = [(r["h"], abs(r["bias"])) for r in rows if "bias" in r and abs(r["bias"]) > 3 * r["se"]]
    return fit_order(*zip(*pts)) if len(pts) >= 3 else None


def _superconvergence_status(low, high, fraction=0.25, n_se=3.0):
    """Whether BAOAB's high-friction bias (row ``high``) is resolved to be at most ``fraction`` of
    its low-friction bias (row ``low``) at the same step; rows are ``_bias`` results.

    "resolved: holds" needs |low| > n_se·SE and |high| + n_se·SE ≤ fraction·|low|; "resolved: fails"
    needs |high| − n_se·SE > fraction·|low|; anything else is "unresolved: <why>" (not judged).
    """
    if "bias" not in low or "bias" not in high:
        return "unresolved: a comparison run diverged"
    if abs(low["bias"]) <= n_se * low["se"]:
        return "unresolved: the λ=1 bias is within 3 SE"
    bound = fraction * abs(low["bias"])
    if abs(high["bias"]) + n_se * high["se"] <= bound:
        return "resolved: holds"
    if abs(high["bias"]) - n_se * high["se"] > bound:
        return "resolved: fails"
    return "unresolved: λ=10's |bias| + 3 SE exceeds ¼ of the λ=1 bias"


@claim("leimkuhler-matthews-2013.baoab-superconvergence", method="monte-carlo", statement=(
    "BAOAB samples configurations with second-order accuracy (one force per step) and, in the "
    "high-friction limit, with fourth-order accuracy in h ('superconvergence'); that limit is the "
    "Brownian-dynamics scheme θ' = θ − h∇U + σ√h(R_n+R_{n+1})/2, second order for the invariant "
    "density where Euler–Maruyama is first order. For a harmonic potential BAOAB's configurational "
    "distribution is exact. Judged here (U = q²/2 + q⁴/4, kT = 1, observable ⟨q²⟩): BAOAB's exact harmonic "
    "covariance; in the Brownian limit, Euler–Maruyama's first order and a Leimkuhler–Matthews bias far below "
    "it (LM's order 2 only where its biases are resolved); superconvergence as BAOAB's bias at λ = 10 being "
    "at most ¼ of its λ = 1 bias at h = 0.4 — only when the run resolves both (else reported unresolved, not "
    "judged). BAOAB's second order at λ = 1 and its fourth order at high friction are not judged (fitted orders "
    "are reported where ≥ 3 biases are resolved)."))
def baoab_superconvergence(ctx):
    # 1. harmonic: exact discrete stationary covariances of the schemes' own linear maps
    harm = _harmonic((1.0, 10.0), (0.1, 0.2, 0.4, 0.8))
    baoab_q = [e["q2_error"] for k, v in harm.items() if k.startswith("baoab") for e in v if "q2_error" in e]
    harmonic_exact = bool(max(abs(x) for x in baoab_q) < 1e-10)
    # MC cross-check of the Lyapunov prediction (validates engine and map): BAOAB p² at h=0.4
    n = ctx.size(4096, 32768)
    quad = dynamics.Kramers(problems.quadratic([[1.0]]), 1.0, math.sqrt(2.0))
    r = simulate(quad, "baoab", (0, 40.0), [0.0, 0.0], 0.4, n_paths=n, seed=ctx.seed,
                 observers=[TimeAverage(lambda y: y[:, 1] ** 2, t_min=8.0, every=1),
                            TimeAverage(lambda y: y[:, 1] ** 2, t_min=24.0, every=1, name="late")],
                 options=EnsembleOptions(block_size=256))
    ta, late = r.observations["time_average"], r.observations["late"]
    mc_eq_z = (late.mean - ta.mean) / math.hypot(late.se, ta.se)
    if abs(mc_eq_z) > 5:
        raise RuntimeError(f"harmonic BAOAB: <p²> drifts over the averaging window (z = {mc_eq_z:.1f}): "
                           "not equilibrated, no verdict")
    p2_pred = 1 + [e for e in harm["baoab, λ=1"] if e["h"] == 0.4][0]["p2_error"]
    mc_ok = abs(ta.mean - p2_pred) <= 5 * ta.se
    # 2. anharmonic U = q²/2 + q⁴/4 at kT = 1
    p = problems.from_expr("x1**2/2 + x1**4/4", name="anharmonic")
    exact = _anharmonic_q2()
    T = ctx.size(40.0, 200.0)
    hs = (0.1, 0.2, 0.3, 0.4)
    kram = {}
    for lam in (1.0, 10.0):
        m = dynamics.Kramers(p, lam, math.sqrt(2 * lam))
        for i, s in enumerate(("baoab", "obabo", "momentum-sgd", "euler-maruyama") if lam == 1.0 else ("baoab",)):
            kram[f"{s}, λ={lam:g}"] = [_bias(m, s, h, T, n, ctx.seed + 10 * i + j, exact)
                                       for j, h in enumerate(hs) if not (s == "momentum-sgd" and lam * h > 2)]
    # 3. Brownian limit: LM vs EM on the overdamped equation
    ov = dynamics.OverdampedLangevin(p, math.sqrt(2.0))
    hb = (0.025, 0.05, 0.1, 0.15)
    nb = ctx.size(8192, 65536)
    Tb = ctx.size(20.0, 200.0)  # overdamped relaxation time ≈ 1/U'' ≤ 1: T = 20 suffices in --quick
    brown = {s: [_bias(ov, s, h, Tb, nb, ctx.seed + 100 + j, exact) for j, h in enumerate(hb)]
             for s in ("euler-maruyama", "leimkuhler-matthews")}
    f_em, f_lm = _fit(brown["euler-maruyama"]), _fit(brown["leimkuhler-matthews"])
    em_ok = f_em is not None and abs(f_em.order - 1) <= 0.3 + (f_em.ci[1] - f_em.ci[0]) / 2
    lm_below_noise = f_lm is None and all("bias" in r and abs(r["bias"]) <= 3 * r["se"] for r in brown["leimkuhler-matthews"])
    # LM's order 2 is judged where ≥ 3 of its biases are resolved; otherwise (LM's bias is too
    # small for this run to fit an order) LM must at least be far below EM: at the largest step
    # where both ran without divergence, EM's |bias| ≥ 10 × LM's upper bound |bias| + 3 SE
    pairs = [(e, l) for e, l in zip(brown["euler-maruyama"], brown["leimkuhler-matthews"])
             if "bias" in e and "bias" in l]
    em_last, lm_last = pairs[-1] if pairs else ({}, {})
    lm_far_below = bool(pairs) and abs(em_last["bias"]) >= 10 * (abs(lm_last["bias"]) + 3 * lm_last["se"])
    if f_lm is not None:
        lm_ok = bool(abs(f_lm.order - 2) <= 0.4 + (f_lm.ci[1] - f_lm.ci[0]) / 2)
    else:
        lm_ok = bool(lm_far_below)
    fits = {k: _fit(v) for k, v in kram.items()}
    hf = kram["baoab, λ=10"]
    hf_within = [r for r in hf if "bias" in r and abs(r["bias"]) <= 3 * r["se"]]
    # superconvergence at one step h_cmp, with a larger ensemble than the sweep: it is judged only
    # when resolved, i.e. the λ=1 bias exceeds 3 SE and λ=10's upper bound |bias| + 3 SE is at most a
    # quarter of it (holds), or λ=10's lower bound |bias| − 3 SE exceeds that quarter (fails).  At
    # h = 0.4 the measured ratio is about 0.2 (λ=1: ≈ −0.002, λ=10: ≈ −0.0004), so resolving ≤ ¼
    # needs an SE near 5e-5 — far beyond the run budget; the part is then reported, not judged.
    h_cmp, n_cmp, T_cmp = 0.4, ctx.size(32768, 131072), ctx.size(100.0, 200.0)
    cmp = {f"λ={lam:g}": _bias(dynamics.Kramers(p, lam, math.sqrt(2 * lam)), "baoab", h_cmp, T_cmp, n_cmp,
                               ctx.seed + 200 + i, exact) for i, lam in enumerate((1.0, 10.0))}
    c1, c10 = cmp["λ=1"], cmp["λ=10"]
    sc_status = _superconvergence_status(c1, c10)
    sc_ratio = c10["bias"] / c1["bias"] if "bias" in c1 and "bias" in c10 else None
    ok = bool(harmonic_exact and mc_ok and em_ok and lm_ok and sc_status != "resolved: fails")
    # figure
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    for s in SCHEMES:
        e = [x for x in harm[f"{s}, λ=1"] if "q2_error" in x]
        axes[0].plot([x["h"] for x in e], [max(abs(x["q2_error"]), 1e-17) for x in e], "o-", ms=3, label=s)
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step h")
    axes[0].set_ylabel("|⟨q²⟩_h − kT|, exact discrete covariance")
    axes[0].set_title("harmonic U=q²/2, λ=1 (solve_discrete_lyapunov); BAOAB at 1e-17 = exact", fontsize=8)
    axes[0].legend(fontsize=6)
    def _named(k, v):
        # a scheme that diverged at some steps has no bias there: say so instead of a lone point
        lost = [f"{r['h']:g}" for r in v if "bias" not in r]
        return k + (f" (diverged at h = {', '.join(lost)})" if lost else "")

    plot_bias(hs, {_named(k, v): ([r.get("bias", np.nan) for r in v], [r.get("se", np.nan) for r in v])
                   for k, v in kram.items() if len(v) == len(hs)}, ax=axes[1],
              title=f"anharmonic U=q²/2+q⁴/4, kT=1: bias of ⟨q²⟩ (hollow: within 2 SE), {n} paths",
              ylabel="|⟨q²⟩_h − ⟨q²⟩|")
    plot_bias(hb, {k: ([r.get("bias", np.nan) for r in v], [r.get("se", np.nan) for r in v])
                   for k, v in brown.items()}, ax=axes[2],
              title="overdamped limit: Euler–Maruyama vs Leimkuhler–Matthews", ylabel="|⟨q²⟩_h − ⟨q²⟩|")
    ctx.savefig(fig, "bias")
    plt.close(fig)
    fd = lambda f: None if f is None else {"order": round(f.order, 3), "ci": [round(f.ci[0], 3), round(f.ci[1], 3)]}  # noqa: E731
    measured = {"baoab_harmonic_max_q2_error": max(abs(x) for x in baoab_q),
                "brownian_em_order": fd(f_em), "brownian_lm_order": fd(f_lm),
                "brownian_lm_bias_below_noise": lm_below_noise,
                "brownian_em_over_lm_bound_at_largest_common_step": (
                    None if not pairs else round(abs(em_last["bias"]) / (abs(lm_last["bias"]) + 3 * lm_last["se"]), 2)),
                "kramers_orders_lambda1": {k: fd(v) for k, v in fits.items()},
                "baoab_lambda10_bias_over_se": [None if "bias" not in r else round(r["bias"] / r["se"], 2) for r in hf],
                "superconvergence": sc_status,
                "baoab_h0.4_bias": {k: None if "bias" not in v else [round(v["bias"], 5), round(v["se"], 5)]
                                    for k, v in cmp.items()},
                "baoab_h0.4_bias_ratio_lambda10_over_lambda1": None if sc_ratio is None else round(sc_ratio, 3)}
    return judge(ok, expected={"baoab_harmonic_q2_error": 0.0, "brownian_em_order": 1, "brownian_lm_order": 2,
                               "baoab_high_friction": "bias at λ=10 ≤ ¼ of the λ=1 bias at h=0.4 (judged only if resolved)"},
                 measured=measured,
                 tolerance="harmonic |error| < 1e-10; orders ±0.3 (EM) / ±0.4 (LM) + CI half-width, or (LM, when no "
                           "LM order can be fitted) EM's bias at the largest common δt ≥ 10 × LM's |bias| + 3 SE; "
                           "superconvergence: λ=1 |bias| > 3 SE and λ=10 |bias| + 3 SE ≤ ¼ |λ=1 bias|",
                 correction=None if ok else f"not all parts hold: harmonic exact {harmonic_exact}, MC check {mc_ok}, "
                                            f"EM order ok {em_ok}, LM check ok {lm_ok}, superconvergence {sc_status}",
                 evidence={"harmonic": harm, "mc_check_baoab_p2": {"measured": ta.mean, "se": ta.se, "predicted": p2_pred,
                                                                  "equilibration_z": round(mc_eq_z, 2)},
                           "anharmonic_exact_q2": exact, "kramers": kram, "brownian": brown, "n_paths": n,
                           "n_paths_brownian": nb, "T": T, "T_brownian": Tb, "kT": 1.0,
                           "high_friction_within_3se": len(hf_within),
                           "superconvergence_comparison": {"h": h_cmp, "n_paths": n_cmp, "T": T_cmp, "runs": cmp,
                                                           "status": sc_status,
                                                           "judged": sc_status.startswith("resolved")},
                           "orders_note": (
                               "orders are fitted only through ≥ 3 biases above 3 SE: "
                               + ", ".join(f"{k}: " + ("fitted" if fits[k] is not None else
                                                       f"not fitted ({sum('bias' in r and abs(r['bias']) > 3 * r['se'] for r in v)}"
                                                       f" of {len(v)} biases above 3 SE, "
                                                       f"{sum('diverged' in r for r in v)} diverged)")
                                           for k, v in kram.items())
                               + "; Brownian limit: EM " + ("fitted" if f_em is not None else "not fitted")
                               + ", LM " + ("fitted" if f_lm is not None else
                                            "not fitted — every LM bias is within 3 SE, so LM's second order is "
                                            "NOT measured; the LM part judges only that EM's bias at the largest "
                                            "δt is ≥ 10 × LM's |bias| + 3 SE there")
                               + ". Neither BAOAB's second order at λ=1 nor its fourth order at high friction "
                                 "is judged"),
                           "statement_note": "superconvergence = the O(h²) configurational error term of BAOAB "
                                             "vanishes as λ → ∞, leaving O(h⁴); equivalently the limit scheme is "
                                             "second order in its Brownian step δt = h²/2"})
