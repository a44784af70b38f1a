"""Claims of lessard-2016: Analysis and design of optimization algorithms via integral
quadratic constraints (Lessard, Recht & Packard, SIAM J. Optim. 26(1), 2016)

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
Heavy ball, GD and Nesterov are dynopt schemes on dynopt models (dynopt.analysis.tuned_method);
the function is dynopt.problems.lessard_function.
"""
from dynopt.ledger import claim, judge

SOURCE = {
    "title": "Analysis and Design of Optimization Algorithms via Integral Quadratic Constraints",
    "reference": "L. Lessard, B. Recht, A. Packard, SIAM J. Optim. 26(1):57–95, 2016; arXiv:1408.3595 (§4.6)",
}


#: §4.6: the starts x0 = x_{−1} from which heavy ball (Polyak's tuning) falls into the cycle
_PAPER_BASIN = (3.07, 3.46)


def _intervals(starts, mask):
    """[first, last] of each run of consecutive grid points ``starts`` where ``mask`` holds."""
    import numpy as np

    idx = np.nonzero(mask)[0]
    segs = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1) if idx.size else []
    return [[float(starts[s[0]]), float(starts[s[-1]])] for s in segs]


@claim("lessard-2016.heavy-ball-cycle",
       statement="On the 1-D strongly convex f with ∇f = 25x (x<1), x+24 (1≤x<2), 25x−24 (x≥2) "
                 "(μ = 1, L = 25), heavy ball with Polyak's tuning α = 4/(√L+√μ)² = 1/9, "
                 "β = ((√κ−1)/(√κ+1))² = 4/9 does not converge: started at x0 ∈ [3.07, 3.46] with "
                 "x_{−1} = x0 it falls into a limit cycle (§4.6, Figure 7), while gradient descent and "
                 "Nesterov's method converge on every such function.",
       method="numeric")
def heavy_ball_cycle(ctx):
    import numpy as np

    from dynopt.analysis import TUNINGS, classify_orbits, refine_cycle, tuned_method
    from dynopt.engine import integrate
    from dynopt.plotting import plot_basin, plot_time_series, plt
    from dynopt.problems import lessard_function

    prob = lessard_function(25.0, 1.0)
    lo, hi = -10.0, 10.0
    starts = np.linspace(lo, hi, ctx.size(4001, 20001))
    n_steps = ctx.size(1500, 4000)
    labels, cycles, basins, counts = {}, {}, {}, {}
    for key in ("polyak", "gd", "nesterov", "nesterov-quadratic"):
        tu = TUNINGS[key](1.0, 25.0)
        model, scheme, dt = tuned_method(prob, tu)
        lab, tails = classify_orbits(model, scheme, dt, starts, n_steps=n_steps)
        labels[tu.name] = lab
        u, c = np.unique(lab, return_counts=True)
        counts[tu.name] = {int(a): int(b) for a, b in zip(u, c)}
        cyc = []
        for per in sorted(set(lab[lab > 0].tolist())):
            i = int(np.nonzero(lab == per)[0][0])
            cy = refine_cycle(prob, tu.alpha, tu.beta, tails[i, -2:], per)
            cyc.append({"period": cy.period, "points": cy.points, "multipliers": np.abs(cy.multipliers),
                        "stable": cy.stable, "residual": cy.residual})
        cycles[tu.name] = cyc
        basins[tu.name] = _intervals(starts, lab > 0)
    hb = TUNINGS["polyak"](1.0, 25.0).name
    paper = _PAPER_BASIN
    inside = (starts >= paper[0]) & (starts <= paper[1])
    ok_basin = bool(np.all(labels[hb][inside] > 0))
    ok_cycle = len(cycles[hb]) >= 1 and all(c["stable"] for c in cycles[hb])
    others = [TUNINGS[k](1.0, 25.0).name for k in ("gd", "nesterov")]
    ok_others = all(np.all(labels[n] == 0) for n in others)
    frac = float(np.mean(labels[hb] > 0))

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    x0 = 3.3
    curves = {}
    for key in ("polyak", "gd", "nesterov"):
        tu = TUNINGS[key](1.0, 25.0)
        model, scheme, dt = tuned_method(prob, tu)
        sol = integrate(model, scheme, (0.0, 60 * dt), [x0], dt, save_every=1)
        curves[tu.name] = (np.arange(len(sol.t)), sol.y[:, 0, 0])
    plot_time_series(None, curves, ax=axes[0], xlabel="iteration k", ylabel="x_k",
                     styles={k: "o-" for k in curves}, title=f"from x0 = x_-1 = {x0:g}")
    xs = np.linspace(-3, 4, 400)
    axes[1].plot(xs, prob.value(xs[:, None]), "k-", linewidth=1)
    for c in cycles[hb]:
        axes[1].plot(c["points"], prob.value(np.asarray(c["points"])[:, None]), "o", color="C3", markersize=7,
                     label=f"heavy-ball cycle, period {c['period']}: " + ", ".join(f"{p:.4f}" for p in c["points"]))
    axes[1].set_xlabel("x")
    axes[1].set_ylabel("f(x)")
    axes[1].legend(fontsize=7)
    axes[1].set_title("Lessard et al.'s function (μ = 1, L = 25)", fontsize=9)
    plot_basin(starts, labels[hb], ax=axes[2])
    axes[2].axvspan(*paper, color="C3", alpha=0.15, label="paper: [3.07, 3.46]")
    axes[2].legend(fontsize=7, markerscale=3)
    axes[2].set_title(f"heavy ball (Polyak tuning): {100 * frac:.1f}% of starts in [{lo:g}, {hi:g}] cycle",
                      fontsize=9)
    ctx.savefig(fig)
    ok = ok_basin and ok_cycle and ok_others
    return judge(
        ok,
        expected={"heavy_ball": f"limit cycle from every x0 in {list(paper)}", "gd_nesterov": "converge"},
        measured={"cycles": cycles[hb], "basin_intervals": basins[hb], "basin_fraction": frac,
                  "orbit_counts": counts},
        tolerance={"grid_step": float(starts[1] - starts[0]), "cycle_residual": 1e-13},
        correction=None if ok else "see evidence: orbit classification",
        evidence={"all_cycles": cycles, "all_basins": basins, "n_steps": n_steps, "grid": [lo, hi, len(starts)],
                  "labels": "0 converged, p>0 cycle of period p, -1 diverged, -2 undetermined",
                  "tunings": {TUNINGS[k](1.0, 25.0).name: [TUNINGS[k](1.0, 25.0).alpha, TUNINGS[k](1.0, 25.0).beta]
                              for k in TUNINGS}},
    )
