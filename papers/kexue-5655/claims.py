"""Claims of kexue-5655: 从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)",
    "reference": "Source text: ../shared/sources/003_5dfc4414a9398f20.txt; https://kexue.fm/archives/5655",
}

# --- SDE (issue 4) ---
import numpy as np  # noqa: E402


def eq9_numeric_side(ctx):
    """Numeric side of eq 9: Langevin (8) sampled long enough to be stationary, compared
    with the derived Gibbs density exp(−2L/σ²)/Z and with the source's exp(−L/σ²)/Z.

    Runs the overdamped Langevin equation dθ = −∇L dt + σ dW (eq 8 with ξ dt = dW) with the
    Leimkuhler–Matthews scheme (second-order accurate invariant measure, so the step's
    bias stays below what the sample size can see) from the barrier top, keeps each
    path's final state (independent samples), and tests:
    1-D double well L = θ⁴/4 − θ²/2: KS test and Wasserstein-1 distance to both densities
    (normalisers by scipy.integrate.quad); 2-D non-separable L = x1⁴/4 − x1²/2 + (x2 − x1/2)²:
    χ² of the 2-D histogram against both densities' bin probabilities, and KS of the
    x1-marginal.

    Returns
    -------
    dict with "evidence", "figures", "matches_derived", "matches_source" (booleans
    computed from p-values at level 0.01 on every test).
    """
    from scipy import integrate as sint

    from dynopt import dynamics, problems
    from dynopt.analysis import density_distances, gibbs_density, histogram_chi2
    from dynopt.integrate import Histogram, Histogram2D, simulate
    from dynopt.plotting import plot_density_fit, plt

    alpha = 0.01
    n = ctx.size(20_000, 200_000)
    T, dt = 10.0, 0.01
    ev = {"n_paths": n, "T": T, "dt": dt, "scheme": "leimkuhler-matthews", "level": alpha}
    figs = []
    # -- 1-D double well -------------------------------------------------------------
    sigma = 0.7
    dw = problems.double_well()
    U = lambda x: np.asarray(x, float) ** 4 / 4 - np.asarray(x, float) ** 2 / 2  # noqa: E731
    model = dynamics.OverdampedLangevin(dw, sigma)
    r = simulate(model, "leimkuhler-matthews", (0, T), [0.0], dt, n_paths=n, seed=ctx.seed,
                 observers=[Histogram(80, (-2.2, 2.2))])
    x = r.final_positions(model)[:, 0]
    lo, hi = -3.0, 3.0
    pdf_derived, Z_d = gibbs_density(U, sigma ** 2 / 2, lo, hi)
    pdf_source, Z_s = gibbs_density(U, sigma ** 2, lo, hi)
    d1 = density_distances(x, pdf_derived, lo, hi)
    s1 = density_distances(x, pdf_source, lo, hi)
    ev["double_well"] = {"sigma": sigma, "derived_exp(-2L/s^2)": d1, "source_exp(-L/s^2)": s1,
                         "Z_derived_quad": Z_d, "Z_source_quad": Z_s, "n_diverged": r.n_diverged}
    h = r.observations["histogram"]
    grid = np.linspace(-2.2, 2.2, 400)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plot_density_fit(h.centers, h.density, {"exp(−2L/σ²)/Z (derived)": (grid, pdf_derived(grid)),
                                            "exp(−L/σ²)/Z (source eq 9)": (grid, pdf_source(grid))},
                     ax=axes[0], title=f"double well, σ={sigma}, {n} paths at T={T:g}: "
                     f"KS p={d1['ks_pvalue']:.2g} vs {s1['ks_pvalue']:.2g}")
    # -- 2-D non-separable problem -----------------------------------------------------
    sigma2 = 0.8
    x1, x2 = problems._xsyms(2)
    p2 = problems.from_expr(x1 ** 4 / 4 - x1 ** 2 / 2 + (x2 - x1 / 2) ** 2, (x1, x2), name="coupled_well")
    m2 = dynamics.OverdampedLangevin(p2, sigma2)
    rng2 = ((-2.4, 2.4), (-2.4, 2.4))
    bins = (24, 24)
    r2 = simulate(m2, "leimkuhler-matthews", (0, T), [0.0, 0.0], dt, n_paths=n, seed=ctx.seed + 1,
                  observers=[Histogram2D(bins, rng2)])
    X = r2.final_positions(m2)
    hist = r2.observations["histogram2d"]
    U2 = lambda a, b: a ** 4 / 4 - a ** 2 / 2 + (b - a / 2) ** 2  # noqa: E731

    def bin_probs(kT):
        Z = sint.quad(lambda a: sint.quad(lambda b: np.exp(-U2(a, b) / kT), -8, 8)[0], -4, 4)[0]
        sub = 8  # midpoint rule inside each bin (smooth integrand)
        ex, ey = hist.xedges, hist.yedges
        ax_ = (ex[:-1, None] + (np.arange(sub) + 0.5)[None, :] * np.diff(ex)[:, None] / sub).ravel()
        ay_ = (ey[:-1, None] + (np.arange(sub) + 0.5)[None, :] * np.diff(ey)[:, None] / sub).ravel()
        A, B = np.meshgrid(ax_, ay_, indexing="ij")
        w = np.exp(-U2(A, B) / kT) * (np.diff(ex)[0] / sub) * (np.diff(ey)[0] / sub)
        P = w.reshape(bins[0], sub, bins[1], sub).sum(axis=(1, 3)) / Z
        outside = 1.0 - P.sum()
        return np.append(P.ravel(), outside), Z

    counts = np.append(hist.counts.ravel(), hist.outside)
    Pd, Zd2 = bin_probs(sigma2 ** 2 / 2)
    Ps, Zs2 = bin_probs(sigma2 ** 2)
    c_d, c_s = histogram_chi2(counts, Pd), histogram_chi2(counts, Ps)
    # x1-marginal: the x2 integral is a Gaussian constant, so the marginal is 1-D Gibbs
    md, _ = gibbs_density(U, sigma2 ** 2 / 2, lo, hi)
    ms, _ = gibbs_density(U, sigma2 ** 2, lo, hi)
    k_d, k_s = density_distances(X[:, 0], md, lo, hi), density_distances(X[:, 0], ms, lo, hi)
    ev["coupled_well_2d"] = {"sigma": sigma2, "expr": str(p2.expr), "bins": list(bins),
                             "derived_chi2": c_d, "source_chi2": c_s,
                             "derived_x1_marginal": k_d, "source_x1_marginal": k_s,
                             "Z_derived_quad": Zd2, "Z_source_quad": Zs2, "n_diverged": r2.n_diverged}
    g2 = np.linspace(-2.4, 2.4, 400)
    cx = 0.5 * (hist.xedges[1:] + hist.xedges[:-1])
    dens_x1 = hist.counts.sum(axis=1) / hist.total / np.diff(hist.xedges)
    plot_density_fit(cx, dens_x1, {"derived marginal": (g2, md(g2)), "source marginal": (g2, ms(g2))},
                     ax=axes[1], xlabel="x1", title=f"2-D coupled well, σ={sigma2}: χ² p={c_d['pvalue']:.2g} "
                     f"(derived) vs {c_s['pvalue']:.2g} (source)")
    figs.append(ctx.savefig(fig, "numeric"))
    plt.close(fig)
    matches_derived = bool(min(d1["ks_pvalue"], c_d["pvalue"], k_d["ks_pvalue"]) > alpha)
    matches_source = bool(min(s1["ks_pvalue"], c_s["pvalue"], k_s["ks_pvalue"]) > alpha)
    return {"evidence": ev, "figures": figs, "matches_derived": matches_derived,
            "matches_source": matches_source}


@claim("kexue-5655.eq9-langevin-stationary", method="monte-carlo", statement=(
    "eq 9: the Langevin equation (8) θ' = −∇L(θ) + σξ has the equilibrium distribution "
    "P(θ) ∝ exp(−L(θ)/σ²)"))
def eq9_langevin_stationary(ctx):
    """Numeric side only on this branch (the symbolic side lives on another branch)."""
    side = eq9_numeric_side(ctx)
    ev = side["evidence"]
    measured = {"double_well_KS_p_derived": ev["double_well"]["derived_exp(-2L/s^2)"]["ks_pvalue"],
                "double_well_KS_p_source": ev["double_well"]["source_exp(-L/s^2)"]["ks_pvalue"],
                "double_well_W1_derived": ev["double_well"]["derived_exp(-2L/s^2)"]["wasserstein"],
                "double_well_W1_source": ev["double_well"]["source_exp(-L/s^2)"]["wasserstein"],
                "2d_chi2_p_derived": ev["coupled_well_2d"]["derived_chi2"]["pvalue"],
                "2d_chi2_p_source": ev["coupled_well_2d"]["source_chi2"]["pvalue"]}
    ok = side["matches_source"]
    correction = None
    if side["matches_derived"] and not side["matches_source"]:
        correction = ("for dθ = −∇L dt + σ dW (ξ dt = dW) the stationary density is "
                      "P(θ) ∝ exp(−2L(θ)/σ²); the source's exp(−L/σ²) holds only for noise √2σ dW")
    return judge(bool(ok), expected="P ∝ exp(−L/σ²) (source eq 9)", measured=measured,
                 tolerance=f"KS / χ² p-value > {ev['level']} on every test",
                 correction=correction,
                 evidence={**ev, "matches_derived": side["matches_derived"],
                           "matches_source": side["matches_source"]})
