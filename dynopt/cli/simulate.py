"""``dynopt simulate``: run an SDE ensemble from the command line and print its statistics."""
from __future__ import annotations

import json
import sys

import numpy as np

from dynopt import dynamics
from dynopt.engine import Histogram, Moments, simulate
from dynopt.problems import PROBLEMS, get_problem
from dynopt.schemes import METHODS

__all__ = ["register", "run", "cmd_simulate", "MODELS"]

MODELS = ("langevin", "kramers")


def run(problem="double_well", model="langevin", scheme="euler-maruyama", sigma=0.7, friction=1.0, T=10.0,
        dt=0.01, n_paths=10000, seed=0, y0=None, bins=40, dtype="float64", progress=None):
    """Run an SDE ensemble and return a JSON-able summary.

    Parameters
    ----------
    problem : str
        A name from :data:`dynopt.problems.PROBLEMS`.
    model : {"langevin", "kramers"}
        dθ = −∇L dt + σ dW, or dθ = η dt, dη = (−λη − ∇L) dt + σ dW.
    scheme : str
        A fixed-step SDE scheme from :data:`dynopt.schemes.METHODS`.
    sigma, friction, T, dt : float
        Noise amplitude σ ≥ 0, friction λ (Kramers), final time and step.
    n_paths, seed, y0, bins, dtype, progress :
        Ensemble size, root seed, initial state (default 0), histogram bins on [−3, 3],
        float dtype name and progress bar (None: automatic).

    Returns
    -------
    dict
        Final mean, variance and standard error per component, a histogram of θ_1, the
        divergence count, seed and timings.
    """
    prob = get_problem(problem)
    if model == "langevin":
        m = dynamics.OverdampedLangevin(prob, sigma)
    elif model == "kramers":
        m = dynamics.Kramers(prob, friction, sigma)
    else:
        raise ValueError(f"`model` must be one of {list(MODELS)}; got {model!r}")
    start = np.zeros(prob.dim) if y0 is None else np.asarray(y0, float)
    r = simulate(m, scheme, (0.0, T), start, dt, n_paths=n_paths, seed=seed, dtype=np.dtype(dtype),
                 observers=[Moments(), Histogram(bins, (-3.0, 3.0))], keep_final=False, progress=progress)
    mo, h = r.observations["moments"], r.observations["histogram"]
    return {"problem": prob.name, "model": m.name, "scheme": r.method, "T": r.t_final, "dt": r.dt,
            "n_paths": r.n_paths, "seed": r.seed, "dtype": r.dtype,
            "mean": mo.mean[-1].tolist(), "var": mo.var[-1].tolist(), "se_mean": mo.se[-1].tolist(),
            "n_diverged": r.n_diverged, "first_divergence_step": r.first_divergence_step, "note": r.note,
            "histogram_theta1": {"edges": h.edges.tolist(), "counts": h.counts.tolist(),
                                 "below": h.below, "above": h.above},
            "seconds": round(r.seconds, 3), "chunk_size": r.chunk_size, "block_size": r.block_size}


def cmd_simulate(args) -> int:
    """Run ``dynopt simulate`` and print the summary; returns 0, or 2 for bad arguments."""
    try:
        out = run(args.problem, args.model, args.scheme, args.sigma, args.friction, args.T, args.dt, args.paths,
                  args.seed, args.y0, args.bins, args.dtype, progress=None if not args.no_progress else False)
    except ValueError as exc:
        print(f"dynopt simulate: error: {exc}", file=sys.stderr)
        return 2
    if not np.isfinite(out["mean"] + out["var"] + out["se_mean"]).all():
        print(f"dynopt simulate: error: the final mean and variance are undefined: {out['note']}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{out['model']} on {out['problem']} with {out['scheme']}, {out['n_paths']} paths, T={out['T']:g}, "
          f"dt={out['dt']:g}, seed={out['seed']}")
    for i, (m, v, s) in enumerate(zip(out["mean"], out["var"], out["se_mean"])):
        print(f"  y[{i}]: mean {m:+.5f} ± {s:.1e}   var {v:.5f}")
    if out["n_diverged"]:
        print(f"  {out['note']}")
    print(f"  {out['seconds']:.2f} s")
    return 0


def register(subparsers):
    """Add the ``simulate`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "simulate", help="run an SDE ensemble (Langevin or Kramers) and print its statistics (writes nothing)",
        description="Run n paths of the overdamped Langevin equation dθ = −∇L dt + σ dW or the Kramers "
                    "equation dθ = η dt, dη = (−λη − ∇L) dt + σ dW on a built-in problem with a fixed-step "
                    "SDE scheme, streaming (memory independent of the steps), and print the final mean and "
                    "variance per state component, the number of diverged paths and (with --json) a "
                    "histogram of θ_1 on [−3, 3]. Writes no files.")
    p.add_argument("--problem", default="double_well", help=f"one of {', '.join(sorted(PROBLEMS))}")
    p.add_argument("--model", default="langevin", choices=MODELS)
    p.add_argument("--scheme", default="euler-maruyama",
                   help="SDE scheme: " + ", ".join(k for k in sorted(METHODS) if "-" in k or k in
                                                   ("milstein", "baoab", "obabo", "aboba")))
    p.add_argument("--sigma", type=float, default=0.7, help="noise amplitude σ ≥ 0 (default 0.7)")
    p.add_argument("--friction", type=float, default=1.0, help="λ for --model kramers (default 1)")
    p.add_argument("--T", type=float, default=10.0, help="final time (default 10)")
    p.add_argument("--dt", type=float, default=0.01, help="step (default 0.01)")
    p.add_argument("--paths", type=int, default=10000, help="number of paths (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--y0", type=float, nargs="+", help="initial state (default 0)")
    p.add_argument("--bins", type=int, default=40, help="histogram bins (default 40)")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)
    return p
