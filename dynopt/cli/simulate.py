"""``dynopt simulate``: run an SDE ensemble on a built-in or the user's own potential, print its
statistics, test the final positions against the Gibbs density and draw the density figure."""
from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from dynopt.checks import check_int
from dynopt import dynamics
from dynopt.analysis.densities import GibbsDensity
from dynopt.analysis.regime import stationary_step_hint, step_scales
from dynopt.cli.args import check_out_dir
from dynopt.engine.cache_dir import kernel_cache_dir
from dynopt.cli.user_input import resolve_problem, resolve_scheme
from dynopt.engine import EnsembleOptions, FirstPassage, Moments, simulate
from dynopt.engine.region import StabilityWarning, stability_warning
from dynopt.analysis.first_passage import PassageSample, kaplan_meier
from dynopt.analysis.passage_report import passage_summary
from dynopt.engine.targets import Ball, Level, Region
from dynopt.problems import PROBLEMS
from dynopt.schemes import METHODS

__all__ = ["register", "run", "cmd_simulate", "MODELS", "simulate_schemes", "state_labels"]

MODELS = ("langevin", "kramers")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")



class UndefinedStatistic(RuntimeError):
    """The statistic the command reports cannot be computed (e.g. every path diverged)."""

def simulate_schemes(models=(dynamics.OverdampedLangevin, dynamics.Kramers)) -> list:
    """Registered schemes that discretize one of ``models`` (default: the overdamped Langevin or
    the Kramers equation)."""
    return [k for k, cls in METHODS.items()
            if any(issubclass(a, dynamics.SDEModel) and issubclass(m, a) for a in cls.approximates for m in models)]


def state_labels(d: int, model: str) -> list:
    """θ₁…θ_d, then η₁…η_d for the Kramers equation."""
    th = [f"θ{str(i + 1).translate(_SUB)}" for i in range(d)]
    return th + [f"η{str(i + 1).translate(_SUB)}" for i in range(d)] if model == "kramers" else th


def _model(prob, model, sigma, friction):
    if model == "langevin":
        return dynamics.OverdampedLangevin(prob, sigma)
    if model == "kramers":
        return dynamics.Kramers(prob, friction, sigma)
    raise ValueError(f"`model` must be one of {list(MODELS)}; got {model!r}")


def _start(prob, m, x0, y0):
    if x0 is not None and y0 is not None:
        raise ValueError("give either `x0` (positions) or `y0` (the whole state), not both")
    if y0 is not None:
        start = np.asarray(y0, float).ravel()
        want, what = m.state_dim, "y0"
    else:
        start = np.zeros(prob.dim) if x0 is None else np.asarray(x0, float).ravel()
        want, what = prob.dim, "x0"
    if start.shape != (want,) or not np.all(np.isfinite(start)):
        raise ValueError(f"`{what}` must be {want} finite numbers; got {start.tolist()}")
    return np.concatenate([start, np.zeros(m.state_dim - want)])


def _density(m, prob, sigma, friction, hist_range, temperature):
    """The Gibbs density to test against (None without noise or friction); built before the run
    so that a range holding no minimum is reported before any work."""
    kT = temperature
    if kT is None:
        if sigma == 0 or (isinstance(m, dynamics.Kramers) and friction == 0):
            return None
        kT = m.temperature if isinstance(m, dynamics.Kramers) else sigma ** 2 / 2
    if prob.expr is None and prob.value_fn is None:
        return None
    try:
        return GibbsDensity(prob, kT, hist_range)
    except ValueError as exc:
        raise ValueError(f"`hist_range` (--range {hist_range[0]:g} {hist_range[1]:g}): {exc}") from None


def _check_sizes(T, first_passage, hist_range, bins):
    """``T``, the passage level, the histogram range and bins, before any work; returns (lo, hi)."""
    if not (isinstance(T, (int, float)) and np.isfinite(T) and T > 0):
        raise ValueError(f"`T` (--T) must be a finite time > 0; got {T!r}")
    if first_passage is not None and not np.isfinite(first_passage):
        raise ValueError(f"`first_passage` (--first-passage) must be a finite level; got {first_passage!r}")
    lo, hi = (float(v) for v in hist_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"`hist_range` must be finite (lo, hi) with hi > lo; got {hist_range!r}")
    check_int(bins, "bins")
    return lo, hi


def _density_tests(g, pos, lo, hi, bins):
    out = []
    edges = np.linspace(lo, hi, bins + 1)
    for i in range(pos.shape[1]):
        marg = g.marginal(i)
        counts, _ = np.histogram(pos[:, i], edges)
        out.append({**marg.ks_test(pos[:, i]),
                    **{f"chi2_{k}": v for k, v in marg.chi2_test(counts, edges, pos.shape[0] - counts.sum()).items()}})
    return out


def run(problem="double_well", model="langevin", scheme="euler-maruyama", sigma=0.7, friction=1.0, T=10.0,
        dt=0.01, n_paths=10000, seed=0, y0=None, bins=40, dtype="float64", progress=None, *, x0=None,
        hist_range=(-3.0, 3.0), first_passage=None, temperature=None, figure=None, backend="auto", options=None,
        coord=0, target=None, target_ball=None, passage_figure=None):
    """Run an SDE ensemble and return a JSON-able summary.

    Parameters
    ----------
    problem : str or Problem
        A name from :data:`dynopt.problems.PROBLEMS` or a user's :class:`~dynopt.problems.Problem`.
    model : {"langevin", "kramers"}
        dθ = −∇L dt + σ dW, or dθ = η dt, dη = (−λη − ∇L) dt + σ dW.
    scheme : str or Scheme class
        A fixed-step SDE scheme (see :func:`simulate_schemes`).
    sigma, friction, T, dt : float
        Noise amplitude σ ≥ 0, friction λ (Kramers), final time and step.
    n_paths, seed, bins, dtype, progress :
        Ensemble size, root seed, histogram bins, float dtype name and progress bar (None: automatic).
    x0, y0 : array_like, optional
        Start positions (velocities 0), or the whole start state; default 0.
    hist_range : (float, float)
        Histogram range of every position coordinate; the Gibbs density is normalised on it and
        must have its minimum inside it.
    first_passage : float, optional
        Record when component ``coord`` (default θ₁) first crosses this level (from the side
        of the start).
    coord : int
        State component of ``first_passage`` (0-based).
    target : str, optional
        Record when the path first enters the region of this inequality in the problem's
        variables, e.g. ``"(x-0.62)**2 + (y-0.03)**2 < 0.01"`` (parsed safely).
    target_ball : sequence of float, optional
        ``(x₁, …, x_d, r)``: record when the position first enters the ball of radius r.
    passage_figure : path-like, optional
        Write the survival curve with its band and the exponential tail fit there (PNG).
    temperature : float, optional
        kT of the density the ensemble is tested against (default the model's: σ²/2, σ²/(2λ)).
    figure : path-like, optional
        Write the empirical marginal densities with the Gibbs density overlaid there (PNG).
    backend, options :
        :func:`dynopt.engine.simulate`'s backend and :class:`~dynopt.engine.EnsembleOptions`
        (threads, normal source, …); the summary's ``backend`` says which ran.

    Returns
    -------
    dict
        Final mean, variance and standard error per component (``labels`` names them), histograms
        per position coordinate, KS / Wasserstein / χ² against the Gibbs density, the divergence
        count, first passages, seed and timings.
    """
    prob = resolve_problem(problem) if isinstance(problem, str) else problem
    m = _model(prob, model, sigma, friction)
    start = _start(prob, m, x0, y0)
    lo, hi = _check_sizes(T, first_passage, hist_range, bins)
    g = _density(m, prob, sigma, friction, (lo, hi), temperature)
    unstable = stability_warning(m, scheme, start, dt)
    if unstable:
        warnings.warn(unstable, StabilityWarning, stacklevel=2)
    tgt = _target(prob, m, start, first_passage, coord, target, target_ball)
    obs = [Moments()] + ([] if tgt is None else [_passage_observer(prob, m, start, tgt)])
    r = simulate(m, scheme, (0.0, T), start, dt, n_paths=n_paths, seed=seed, observers=obs, backend=backend,
                 options=dataclasses.replace(options or EnsembleOptions(), dtype=np.dtype(dtype), keep_final=True,
                                             progress=progress))
    pos = np.asarray(r.y_final[r.alive][:, : prob.dim], float)
    out = _summary(r, prob, m, model, pos, (lo, hi), bins, unstable)
    if g is not None and pos.shape[0] > 1:
        out["gibbs"] = {"temperature": g.temperature, "range": [lo, hi], "tests": _density_tests(g, pos, lo, hi, bins)}
    _regime_hint(out, prob, model, start, dt, T)
    if tgt is not None:
        out["first_passage"] = _passage_output(r.observations["first_passage"], tgt, passage_figure, out["n_paths"])
    if figure is not None:
        _figure(out, g, pos, Path(figure), prob)
    return out


def _summary(r, prob, m, model, pos, edges_range, bins, unstable):
    """The summary's moments, histograms and run facts (what every run reports)."""
    lo, hi = edges_range
    mo = r.observations["moments"]
    if not (np.isfinite(mo.mean[-1]).all() and np.isfinite(mo.var[-1]).all()):
        raise UndefinedStatistic(f"the final mean and variance are undefined: {r.note or 'too few surviving paths'}")
    hists = [np.histogram(pos[:, i], np.linspace(lo, hi, bins + 1))[0] for i in range(prob.dim)]
    out = {"problem": prob.name, "model": m.name, "scheme": r.method, "T": r.t_final, "dt": r.dt,
           "n_paths": r.n_paths, "seed": r.seed, "dtype": r.dtype, "labels": state_labels(prob.dim, model),
           "mean": mo.mean[-1].tolist(), "var": mo.var[-1].tolist(), "se_mean": mo.se[-1].tolist(),
           "n_diverged": r.n_diverged, "first_divergence_step": r.first_divergence_step, "note": r.note,
           "histograms": [{"edges": np.linspace(lo, hi, bins + 1).tolist(), "counts": h.tolist(),
                           "below": int((pos[:, i] < lo).sum()), "above": int((pos[:, i] >= hi).sum())}
                          for i, h in enumerate(hists)],
           "seconds": round(r.seconds, 3), "chunk_size": r.chunk_size, "block_size": r.block_size,
           "backend": r.backend, "warnings": [unstable] if unstable else []}
    out["histogram_theta1"] = out["histograms"][0]
    return out


def _passage_observer(prob, m, start, tgt):
    """The first-passage observer of a target the start is outside of."""
    if bool(np.all(tgt.inside(start[None, :]))):
        raise ValueError(f"the start {start.tolist()} is already inside the target ({tgt.describe()})")
    # additive isotropic noise on positions: the Brownian-bridge correction applies to a
    # level or a ball on the positions (exact for a level, tangent-plane for a ball)
    amp = getattr(m, "scalar_sigma", None) if isinstance(m, dynamics.OverdampedLangevin) else None
    bridge = amp if amp and tgt.bridge_exact is not None and max(tgt.coords) < prob.dim else None
    return FirstPassage(tgt, bridge=bridge)


def _passage_output(fp, tgt, passage_figure, n_paths):
    """The summary's ``first_passage`` entry (:func:`passage_summary`), and its figure."""
    sample = PassageSample.from_observer(fp)
    summ = passage_summary(sample)
    res = {"target": tgt.describe(), "bridge": fp.bridge, "paths_passed": int(fp.passed.sum()), **summ}
    if isinstance(tgt, Level):
        res["level"] = tgt.level
    if passage_figure is not None:
        from dynopt.plotting import plot_passage, save_figure

        ax = plot_passage(kaplan_meier(sample, band="log"), summ["rate"],
                          title=f"first passage to {tgt.describe()}, {n_paths} paths")
        save_figure(ax.figure, Path(passage_figure))
    return res


def _regime_hint(out, prob, model, start, dt, T):
    """``step_scales`` (dt against the fastest scale at the start) and, when the Gibbs test
    rejects, ``gibbs["hint"]``: whether step bias is the likely cause and what removes it."""
    if prob.hess_fn is None:
        return
    scales = out["step_scales"] = step_scales(prob, start[: prob.dim], dt, model)
    if "gibbs" in out:
        hint = stationary_step_hint(out["scheme"], model, dt, T, scales,
                                    [(t["ks_statistic"], t["ks_pvalue"]) for t in out["gibbs"]["tests"]],
                                    out["gibbs"]["tests"][0]["n"])
        if hint:
            out["gibbs"]["hint"] = hint


def _target(prob, m, start, first_passage, coord, target, target_ball):
    """The passage target of the options (at most one of them), or None."""
    given = [n for n, v in (("first_passage", first_passage), ("target", target), ("target_ball", target_ball))
             if v is not None]
    if len(given) > 1:
        raise ValueError(f"give one of `first_passage`, `target`, `target_ball`; got {given}")
    if first_passage is not None:
        D = m.state_dim
        check_int(coord, "coord", low=0, high=D - 1)
        return Level(int(coord), float(first_passage), float(first_passage) > start[coord])
    if target_ball is not None:
        v = [float(x) for x in target_ball]
        if len(v) != prob.dim + 1:
            raise ValueError(f"`target_ball` must be {prob.dim} centre coordinates and a radius; got {v}")
        return Ball(v[:-1], v[-1])
    if target is not None:
        syms = tuple(getattr(prob, "symbols", ()) or ())
        if len(syms) != prob.dim:
            raise ValueError("`target` needs a problem given as an expression (--expr): its variables name the region")
        return Region(target, syms, argument="target")
    return None


def _figure(out, g, pos, path, prob):
    """One panel per position coordinate: histogram density, Gibbs marginal, KS / W1 in the legend;
    axes named by the problem's variables, the title naming its expression (shortened)."""
    from dynopt.plotting import density_panels, problem_label, save_figure, variable_labels

    names = variable_labels(prob)

    panels = []
    for i, h in enumerate(out["histograms"]):
        edges = np.asarray(h["edges"])
        dens = np.asarray(h["counts"]) / (max(pos.shape[0], 1) * np.diff(edges))
        curves = {}
        if g is not None:
            t = out["gibbs"]["tests"][i]
            x = np.linspace(edges[0], edges[-1], 400)
            curves[f"Gibbs kT={g.temperature:.3g} (KS {t['ks_statistic']:.3f}, W₁ {t['wasserstein']:.3f})"] = \
                (x, g.marginal(i).pdf(x))
        panels.append((0.5 * (edges[1:] + edges[:-1]), dens, curves, names[i]))
    heat = None
    if pos.shape[1] == 2:
        edges = np.asarray(out["histograms"][0]["edges"])
        H, xe, ye = np.histogram2d(pos[:, 0], pos[:, 1], [edges, edges], density=True)
        grid = np.linspace(edges[0], edges[-1], 121)
        X, Y = np.meshgrid(grid, grid)
        P = g.pdf(np.stack([X, Y], axis=-1)) if g is not None else np.zeros_like(X)
        heat = (xe, ye, H, X, Y, P, tuple(names[:2]))
    save_figure(density_panels(panels, title=f"{out['model']} on {problem_label(prob, 60)}, {out['scheme']}",
                               heatmap=heat), path)


def _print(out) -> None:
    print(f"{out['model']} on {out['problem']} with {out['scheme']}, {out['n_paths']} paths, T={out['T']:g}, "
          f"dt={out['dt']:g}, seed={out['seed']}" + "".join(
              f", {k.replace('dt_lambda_max', 'dt·λ_max').replace('dt_omega_max', 'dt·√λ_max')} = {v:.3g} at the start"
              for k, v in out.get("step_scales", {}).items() if k.startswith("dt_")))
    for lab, m, v, s in zip(out["labels"], out["mean"], out["var"], out["se_mean"]):
        print(f"  {lab}: mean {m:+.5f} ± {s:.1e}   var {v:.5f}")
    if "gibbs" in out:
        print(f"  against the Gibbs density, kT = {out['gibbs']['temperature']:.4g} on {out['gibbs']['range']}:")
        for lab, t in zip(out["labels"], out["gibbs"]["tests"]):
            print(f"  {lab}: KS {t['ks_statistic']:.4f} (p = {t['ks_pvalue']:.3g})   W₁ {t['wasserstein']:.4f}   "
                  f"χ² {t['chi2_chi2']:.1f}/{t['chi2_dof']} (p = {t['chi2_pvalue']:.3g})")
    if out.get("gibbs", {}).get("hint"):
        print(f"  hint: {out['gibbs']['hint']}")
    if "first_passage" in out:
        _print_passage(out["first_passage"])
    if out["note"]:  # divergence, and why this backend ran
        print(f"  {out['note']}")
    print(f"  {out['seconds']:.2f} s on the {out['backend']} backend")


def _print_passage(fp) -> None:
    """Passage statistics, each with what it estimates; never the mean of the passed paths."""
    h = fp["horizon"]
    print(f"  first passage to {fp['target']}{' (Brownian-bridge corrected)' if fp['bridge'] else ''}: "
          f"{fp['passed']:.6g} of {fp['n_paths']} paths passed by t = {h:.6g} "
          f"(censored fraction {fp['censored_fraction']:.3f})")
    sv = fp["survival"]
    lo, hi = sv["at_horizon_band"]
    med = f"{sv['median']:.4g}" if sv["median"] is not None else f"undefined ({sv['median_reason']})"
    print(f"    survival P(τ > {h:.6g}) = {sv['at_horizon']:.4f} [{lo:.4f}, {hi:.4f}] (Kaplan–Meier); median τ {med}")
    rt = fp["rate"]
    print(f"    rate k = {rt['rate']:.4g} [{rt['lower']:.4g}, {rt['upper']:.4g}] per unit time "
          f"({rt['events']:.6g} events / {rt['exposure']:.6g} time at risk; {rt['assumption']})")
    rm = fp["restricted_mean"]
    print(f"    {rm['label']} = {rm['value']:.4g} ± {rm['std_err']:.2g} (restricted to the horizon {rm['horizon']:.6g})")
    mn = fp["mean"]
    if mn["value"] is not None:
        print(f"    mean first-passage time {mn['value']:.4g} ± {mn['std_err']:.2g} (no path censored)")
    else:
        print(f"    mean first-passage time: undefined ({100 * fp['censored_fraction']:.3g} % of the paths censored)")
        tm = fp["tail_mean"]
        if tm["value"] is not None:
            print(f"    tail mean (assumes {tm['assumption']}) = {tm['value']:.4g} ± {tm['std_err']:.2g}")
        else:
            print(f"    tail mean: undefined ({tm['reason']})")


def cmd_simulate(args) -> int:
    """Run ``dynopt simulate`` and print the summary; returns 0, or 2 for bad arguments (before any
    file is written)."""
    made, code = not Path(args.out).exists(), 1
    try:
        code = _simulate(args)
        return code
    finally:
        if code and made and Path(args.out).is_dir() and not any(Path(args.out).iterdir()):
            Path(args.out).rmdir()  # a failed command leaves no empty folder behind


def _simulate(args) -> int:
    try:
        problem = resolve_problem(args.problem if args.problem or args.expr is not None else "double_well",
                                  args.expr, args.vars)
        scheme = resolve_scheme(args.scheme, allowed=simulate_schemes())
        out_dir = None if args.no_figure else check_out_dir(args.out)
        figure = None if out_dir is None else out_dir / "density.png"
        pfig = None if out_dir is None else out_dir / "passage.png"
        if args.backend != "numpy":
            # a compiled run loads code from the kernel cache: refuse an unsafe one up front,
            # also when this process already holds the kernel in memory
            kernel_cache_dir()
        out = run(problem, args.model, scheme, args.sigma, args.friction, args.T, args.dt, args.paths,
                  args.seed, args.y0, args.bins, args.dtype, progress=None if not args.no_progress else False,
                  x0=args.x0, hist_range=tuple(args.range), first_passage=args.first_passage,
                  temperature=args.temperature, figure=figure, backend=args.backend, coord=args.coord,
                  target=args.target, target_ball=args.target_ball, passage_figure=pfig,
                  options=EnsembleOptions(threads=args.threads, normals=args.normals))
    except UndefinedStatistic as exc:
        print(f"dynopt simulate: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as exc:
        print(f"dynopt simulate: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    _print(out)
    if figure is not None:
        print(f"  figure written to {figure}")
        if "first_passage" in out:
            print(f"  figure written to {pfig}")
    return 0


def register(subparsers):
    """Add the ``simulate`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "simulate", help="run an SDE ensemble (Langevin or Kramers) on a built-in or your own potential; "
                         "tests it against the Gibbs density (writes ./dynopt-simulate/density.png)",
        description="Run n paths of the overdamped Langevin equation dθ = −∇L dt + σ dW or the Kramers "
                    "equation dθ = η dt, dη = (−λη − ∇L) dt + σ dW with a fixed-step SDE scheme, "
                    "streaming, on a built-in problem, a sympy expression (--expr) or a Problem from "
                    "your file (--problem FILE.py:NAME). Prints the final mean and variance per state "
                    "component (θ₁…, η₁…), the number of diverged paths, and the KS, Wasserstein and χ² "
                    "distances of each position coordinate to the Gibbs density exp(−L/kT)/Z "
                    "(kT = σ²/2 overdamped, σ²/(2λ) Kramers) on the histogram range; writes a density "
                    "figure to --out unless --no-figure.")
    p.add_argument("--problem",
                   help=f"(default double_well) a built-in problem ({', '.join(sorted(PROBLEMS))}) or FILE.py:NAME (a Problem, "
                        "or a function returning one; path relative to the working directory)")
    p.add_argument("--expr", help='the potential as a sympy expression, e.g. "(x**2-1)**2 + 2*y**2 + 0.3*x"')
    p.add_argument("--vars", nargs="+", metavar="NAME",
                   help="variables of --expr in order (default: in order of appearance)")
    p.add_argument("--model", default="langevin", choices=MODELS)
    p.add_argument("--scheme", default="euler-maruyama",
                   help=f"SDE scheme for --model langevin: {', '.join(simulate_schemes((dynamics.OverdampedLangevin,)))}; "
                        f"for --model kramers: {', '.join(simulate_schemes((dynamics.Kramers,)))}; or FILE.py:NAME")
    p.add_argument("--sigma", type=float, default=0.7, help="noise amplitude σ ≥ 0 (default 0.7)")
    p.add_argument("--friction", type=float, default=1.0, help="λ for --model kramers (default 1)")
    p.add_argument("--T", type=float, default=10.0, help="final time (default 10)")
    p.add_argument("--dt", type=float, default=0.01, help="step (default 0.01)")
    p.add_argument("--paths", type=int, default=10000, help="number of paths (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--x0", type=float, nargs="+", help="start position θ (velocities 0; default 0)")
    p.add_argument("--y0", type=float, nargs="+", help="whole start state (θ, then η for Kramers)")
    p.add_argument("--range", type=float, nargs=2, default=(-3.0, 3.0), metavar=("LO", "HI"),
                   help="histogram range of every θ coordinate, also the box of the Gibbs density (default −3 3)")
    p.add_argument("--bins", type=int, default=40, help="histogram bins (default 40)")
    p.add_argument("--temperature", type=float,
                   help="kT of the density to test against (default σ²/2, or σ²/(2λ) for Kramers)")
    tg = p.add_mutually_exclusive_group()
    tg.add_argument("--first-passage", type=float, metavar="LEVEL",
                    help="report when component --coord (default θ₁) first crosses LEVEL: Kaplan–Meier survival, "
                         "rate with its interval, restricted mean with its horizon, and a mean only when no path "
                         "is censored (else the tail mean with its assumption); writes passage.png")
    tg.add_argument("--target", metavar="EXPR",
                    help='report when a path first enters the region of an inequality in the --expr variables, '
                         'e.g. "(x-0.62)**2 + (y-0.03)**2 < 0.01" (and/or allowed)')
    tg.add_argument("--target-ball", type=float, nargs="+", metavar="X",
                    help="report when the position first enters a ball: centre coordinates then radius, e.g. 0.62 0.03 0.1")
    p.add_argument("--coord", type=int, default=0,
                   help="state component of --first-passage, 0-based (default 0: θ₁)")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--backend", default="auto", choices=["auto", "numpy", "numba"],
                   help="auto (default): the compiled kernel when numba and the model allow, else numpy")
    p.add_argument("--threads", type=int, default=1, help="threads running blocks of paths (numba; same result)")
    p.add_argument("--normals", default="sfc64", choices=["sfc64", "philox"],
                   help="normal source: numpy's SFC64 (default) or Philox4x32 (fast in float32)")
    p.add_argument("--out", default="dynopt-simulate", metavar="DIR", help="figure directory (default ./dynopt-simulate)")
    p.add_argument("--no-figure", action="store_true", help="write no figure")
    p.add_argument("--json", action="store_true", help="print JSON (unicode kept)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)
    return p
