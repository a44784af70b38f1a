"""``dynopt derive saddles``: the stationary points of your potential, the minimum-energy path
between two minima with its index-1 saddle, Hessian spectra, and the Eyring–Kramers time.

    dynopt derive saddles --expr "EXPR" --from X0 --to X1 [--sigma S] [--json]
    dynopt derive saddles --expr "EXPR" --box LO HI LO HI [--json]

With ``--from``/``--to`` (points in the basins of two minima) it runs the string method and
refines the highest image into the saddle by Newton; with ``--box`` it collects every
stationary point Newton reaches from a grid of guesses in the box.  ``--sigma`` adds the
overdamped Eyring–Kramers mean transition time from the ``--from`` minimum (kT = σ²/2);
``--model kramers --friction λ`` adds the Kramers–Langer rate of the underdamped equation
(kT = σ²/(2λ)).
"""
from __future__ import annotations

import json
import sys

import numpy as np

from dynopt.analysis.eyring_kramers import eyring_kramers_time, kramers_rate_nd
from dynopt.analysis.saddles import Landscape, minimum_energy_path, stationary_points
from dynopt.cli.user_input import resolve_problem

__all__ = ["add_arguments", "cmd_saddles", "saddles"]


def add_arguments(p) -> None:
    """The options of ``derive saddles`` (added to the ``derive`` parser)."""
    p.add_argument("--from", dest="saddle_from", type=float, nargs="+", metavar="X",
                   help="saddles: a point in the basin of the first minimum")
    p.add_argument("--to", dest="saddle_to", type=float, nargs="+", metavar="X",
                   help="saddles: a point in the basin of the second minimum")
    p.add_argument("--box", type=float, nargs="+", metavar="LO_HI",
                   help="saddles: search box, a pair LO HI per variable (every stationary point Newton "
                        "reaches from a grid of guesses)")
    p.add_argument("--grid", type=int, default=12, help="saddles: guesses per axis in --box (default 12)")
    p.add_argument("--images", type=int, default=41, help="saddles: images of the string (default 41)")
    p.add_argument("--sigma", type=float,
                   help="saddles: noise amplitude σ for the Eyring–Kramers time from the --from minimum")
    p.add_argument("--friction", type=float,
                   help="saddles: with --model kramers, the friction λ of dθ = η dt, dη = (−λη − ∇U) dt + σ dW "
                        "(Kramers–Langer rate, kT = σ²/(2λ))")


def saddles(problem, start=None, end=None, box=None, *, sigma=None, friction=None, n_grid=12,
            n_images=41) -> dict:
    """The JSON-able result of ``derive saddles`` (see the module docstring)."""
    L = Landscape(problem)
    out = {"potential": str(L.expr), "variables": [str(s) for s in L.symbols]}
    if (start is None) != (end is None):
        raise ValueError("give both `--from` and `--to` (points in the basins of two minima)")
    if start is None and box is None:
        raise ValueError("give `--from X0 --to X1` (a path between two minima) or `--box LO HI ...`")
    if box is not None:
        b = np.asarray(box, float)
        if b.size != 2 * L.dim:
            raise ValueError(f"`--box` must be {2 * L.dim} numbers (LO HI per variable); got {b.tolist()}")
        pts = stationary_points(L, b.reshape(L.dim, 2), n_grid=n_grid)
        out["stationary_points"] = [p.as_json() for p in pts]
    if start is not None:
        path = minimum_energy_path(L, start, end, n_images=n_images)
        out["path"] = path.as_json()
        if sigma is not None and path.saddle is not None:
            out["eyring_kramers"] = {
                "sigma": float(sigma), "kT": float(sigma) ** 2 / 2, "barrier": path.barrier,
                "mean_time": eyring_kramers_time(path.start.hessian, path.saddle.hessian, path.barrier, sigma),
                "formula": "(2π/|λ₁(s)|)·√(|det ∇²U(s)| / det ∇²U(m))·exp(ΔU/kT), overdamped, kT = σ²/2"}
            if friction is not None:
                k = kramers_rate_nd(path.start.hessian, path.saddle.hessian, path.barrier, sigma, friction)
                out["kramers_langer"] = {
                    "sigma": float(sigma), "friction": float(friction), "kT": float(sigma) ** 2 / (2 * float(friction)),
                    "rate": k, "mean_time": 1.0 / k,
                    "formula": "(μ₊/2π)·√(det ∇²U(m) / |det ∇²U(s)|)·exp(−ΔU/kT), μ₊ = √(λ²/4 + |λ₁(s)|) − λ/2, "
                               "kT = σ²/(2λ)"}
    return out


def _point(p, names):
    xs = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, p["x"]))
    ev = ", ".join(f"{v:.5g}" for v in p["hessian_eigenvalues"])
    return f"{p['kind']:<8} ({xs})  U = {p['value']:.6g}  Hessian eigenvalues [{ev}]"


def _print(out) -> None:
    names = out["variables"]
    print(f"U({', '.join(names)}) = {out['potential']}")
    if "stationary_points" in out:
        print(f"stationary points in the box ({len(out['stationary_points'])}):")
        for p in out["stationary_points"]:
            print("  " + _point(p, names))
    if "path" in out:
        path = out["path"]
        print(f"minimum-energy path (string method, {len(path['images'])} images, {path['iterations']} iterations, "
              f"{'converged' if path['converged'] else 'NOT converged'}):")
        print("  from " + _point(path["start"], names))
        print("  to   " + _point(path["end"], names))
        if path["saddle"] is None:
            print("  saddle: none found (Newton from the highest image reached no index-1 point)")
        else:
            print("  over " + _point(path["saddle"], names))
            print(f"  barrier U(saddle) − U(from) = {path['barrier']:.6g}")
    if "eyring_kramers" in out:
        ek = out["eyring_kramers"]
        print(f"Eyring–Kramers mean transition time (overdamped) at σ = {ek['sigma']:g} (kT = {ek['kT']:.4g}, "
              f"ΔU/kT = {ek['barrier'] / ek['kT']:.3g}): {ek['mean_time']:.6g}")
    if "kramers_langer" in out:
        kl = out["kramers_langer"]
        print(f"Kramers–Langer rate at σ = {kl['sigma']:g}, λ = {kl['friction']:g} (kT = {kl['kT']:.4g}): "
              f"{kl['rate']:.6g} (1/k = {kl['mean_time']:.6g})")


def cmd_saddles(args) -> int:
    """Run ``dynopt derive saddles``; returns 0, or 2 for bad arguments."""
    try:
        problem = resolve_problem(args.problem, args.expr, args.vars)
        if args.model == "kramers" and (args.friction is None or args.sigma is None):
            raise ValueError("`--model kramers` needs `--sigma` and `--friction` (the Kramers–Langer rate)")
        friction = args.friction if args.model == "kramers" else None
        out = saddles(problem, args.saddle_from, args.saddle_to, args.box, sigma=args.sigma, friction=friction,
                      n_grid=args.grid, n_images=args.images)
    except (ValueError, TypeError) as exc:
        print(f"dynopt derive saddles: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        _print(out)
    return 0
