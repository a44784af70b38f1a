"""``dynopt sharpness``: full-batch training of your own model with a built-in or your own
optimizer, tracking the sharpness against the optimizer's derived stability threshold."""
from __future__ import annotations

import argparse
import json
import math
import sys

from dynopt.analysis.sharpness import TRAINING_METHODS, edge_statistics, optimizer_threshold_of, train_tracking_sharpness
from dynopt.cli.args import UsageError, check_out_dir, check_positive
from dynopt.cli.user_input import is_file_reference, load_object
from dynopt.io import atomic_write_text
from dynopt.optim import GradientTransformation

__all__ = ["register", "cmd_sharpness", "JSON_KEYS"]

#: the keys of the JSON summary, as ``--help`` documents them
JSON_KEYS = {
    "model": "the --model reference",
    "optimizer": "gd, heavy-ball, nesterov, adam or the FILE.py:NAME reference",
    "lr": "η", "momentum": "β (β₁ for adam; null for a rule of your own without --momentum)",
    "tracked": "what the threshold applies to: lambda_max(H), or lambda_max(P^-1 H) for a "
               "preconditioned optimizer (P from its state, frozen)",
    "threshold": "the derived stability threshold on the tracked quantity (null if your rule's update "
                 "cannot be read on symbols)",
    "threshold_derivation": "how it was derived (characteristic polynomial of the update on hθ²/2)",
    "hvp": "how Hessian-vector products were computed (exact, or central differences with "
           "step and error order)",
    "band": "[lo, hi] as multiples of the threshold", "band_values": "[lo, hi]·threshold",
    "from_step": "measurements before this step are not searched for the first arrival (--from-step)",
    "first_step_in_band": "first measured step ≥ from_step with tracked ≥ lo·threshold (null if never)",
    "fraction_in_band": "share of measurements from that step on inside the band (null if never reached)",
    "median_ratio": "median tracked/threshold from that step on (null if never reached)",
    "undefined": "for each null statistic, the reason",
    "steps": "measured steps", "tracked_values": "tracked quantity at those steps",
    "sharpness": "raw λ_max(H) at those steps", "losses": "full-batch loss at every step",
    "final_loss": "loss at the last finite step", "diverged_step": "first blown-up step or null",
    "n_products": "Hessian-vector products used", "figure": "path of sharpness.png (null with --no-figure)",
}


def _epilog():
    return "JSON summary keys (--json prints it; --out DIR/sharpness.json always):\n" + "\n".join(
        f"  {k}: {v}" for k, v in JSON_KEYS.items())


def register(subparsers):
    """Add the ``sharpness`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "sharpness", help="train your own model full-batch and track its sharpness against the "
                          "optimizer's derived threshold (writes ./dynopt-sharpness/sharpness.png)",
        description="Full-batch training of a model from your file (--model FILE.py:NAME: an object "
                    "with loss_and_grad(theta) -> (loss, grad) over a flat parameter vector, a starting "
                    "point theta0 or init(seed), and optionally an exact hvp(theta, v); without hvp the "
                    "Hessian-vector products are central differences and the summary says so). The "
                    "optimizer's stability threshold on L = hθ²/2 is derived from its own update "
                    "(preconditioned methods: on λ_max(P⁻¹H) with P frozen). Writes sharpness.png "
                    "(tracked sharpness with the threshold, loss) and sharpness.json to --out.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, metavar="FILE.py:NAME",
                   help="your model object (or a callable with no arguments returning it)")
    p.add_argument("--optimizer", default="gd", metavar="{gd,heavy-ball,nesterov,adam,FILE.py:NAME}",
                   help="a built-in optimizer, or a dynopt.optim.GradientTransformation from your file "
                        "(or a factory called as NAME(lr=η[, momentum=β])); default gd")
    p.add_argument("--lr", type=float, required=True, help="learning rate η > 0")
    p.add_argument("--momentum", type=float, default=None,
                   help="β (heavy ball, Nesterov; β₁ of adam, default 0.9)")
    p.add_argument("--b2", type=float, default=0.999, help="β₂ of adam (default 0.999)")
    p.add_argument("--eps", type=float, default=1e-8, help="ε of adam (default 1e-8)")
    p.add_argument("--steps", type=int, required=True, help="training steps N")
    p.add_argument("--every", type=int, default=10, help="measure the sharpness every k steps (default 10)")
    p.add_argument("--band", type=float, nargs=2, default=(0.9, 1.1), metavar=("LO", "HI"),
                   help="band around the threshold, as multiples of it (default 0.9 1.1)")
    p.add_argument("--from-step", type=int, default=None, metavar="K",
                   help="look for the first arrival in the band from step K on (default 0; adam: "
                        "⌈5/(1 − β₁)⌉, when its bias-corrected P has settled)")
    p.add_argument("--tol", type=float, default=1e-4, help="Lanczos relative tolerance (default 1e-4)")
    p.add_argument("--seed", type=int, default=0, help="seed of init(seed) and Lanczos' start (default 0)")
    p.add_argument("--out", default="dynopt-sharpness", metavar="DIR",
                   help="output directory (default ./dynopt-sharpness)")
    p.add_argument("--no-figure", action="store_true", help="write no figure")
    p.add_argument("--json", action="store_true", help="print the JSON summary")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sharpness)
    return p


def _model(ref):
    obj = load_object(ref, "--model")
    if not callable(getattr(obj, "loss_and_grad", None)) and callable(obj):
        obj = obj()
    if not callable(getattr(obj, "loss_and_grad", None)):
        raise UsageError(f"`--model` {ref!r} must have loss_and_grad(theta) -> (loss, grad)")
    if getattr(obj, "theta0", None) is None and not callable(getattr(obj, "init", None)):
        raise UsageError(f"`--model` {ref!r} must have theta0 (an array) or init(seed) -> array")
    return obj


def _optimizer(args):
    if args.optimizer in TRAINING_METHODS:
        beta = args.momentum
        if beta is None:
            beta = 0.9 if args.optimizer == "adam" else 0.0
        return args.optimizer, float(beta)
    if not is_file_reference(args.optimizer):
        raise UsageError(f"`--optimizer` must be one of {list(TRAINING_METHODS)} or FILE.py:NAME; got {args.optimizer!r}")
    obj = load_object(args.optimizer, "--optimizer")
    if not isinstance(obj, GradientTransformation):
        if not callable(obj):
            raise UsageError(f"`--optimizer` {args.optimizer!r} must be a GradientTransformation or a factory")
        kw = {"lr": args.lr} if args.momentum is None else {"lr": args.lr, "momentum": args.momentum}
        obj = obj(**kw)
        if not isinstance(obj, GradientTransformation):
            raise UsageError(f"`--optimizer` {args.optimizer!r} did not return a dynopt.optim.GradientTransformation")
    return obj, args.momentum


def _num(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def summarize(run, args, band, figure, from_step=0):
    """The JSON summary of a run (keys in :data:`JSON_KEYS`)."""
    st = edge_statistics(run, band, from_step=from_step)
    undefined = {}
    if not math.isfinite(run.threshold):
        undefined["threshold"] = run.threshold_derivation
    if st.reach_step is None:
        for k in ("first_step_in_band", "fraction_in_band", "median_ratio"):
            undefined[k] = (f"the tracked quantity never reached {band[0]:g}·threshold in {len(run.losses) - 1} steps"
                            if math.isfinite(run.threshold) else "no threshold")
    return {
        "model": args.model, "optimizer": args.optimizer, "lr": float(args.lr),
        "momentum": None if (args.momentum is None and args.optimizer not in TRAINING_METHODS) else float(run.momentum),
        "tracked": "lambda_max(H)" if run.preconditioned is None else "lambda_max(P^-1 H)",
        "threshold": _num(run.threshold), "threshold_derivation": run.threshold_derivation,
        "hvp": run.hvp, "band": [float(b) for b in band],
        "band_values": [_num(b * run.threshold) for b in band], "from_step": int(from_step),
        "first_step_in_band": st.reach_step,
        "fraction_in_band": None if st.reach_step is None else float(st.fraction_in_band),
        "median_ratio": None if st.reach_step is None else float(st.median_ratio),
        "undefined": undefined,
        "steps": [int(s) for s in run.steps], "tracked_values": [_num(x) for x in run.tracked],
        "sharpness": [_num(x) for x in run.sharpness[:, 0]], "losses": [_num(x) for x in run.losses],
        "final_loss": _num(run.losses[-1]) if len(run.losses) else None,
        "diverged_step": run.diverged_step, "n_products": int(run.n_products), "figure": figure,
    }


def cmd_sharpness(args) -> int:
    """Run ``dynopt sharpness``; returns the exit code."""
    check_positive(args.steps, "--steps", allow_none=False)
    check_positive(args.every, "--every", allow_none=False)
    check_positive(args.from_step, "--from-step", low=0)
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"`--lr` must be a positive number; got {args.lr!r}")
    lo, hi = args.band
    if not 0 < lo < hi:
        raise UsageError(f"`--band` must be LO HI with 0 < LO < HI; got {lo!r} {hi!r}")
    out = check_out_dir(args.out)
    model = _model(args.model)
    method, momentum = _optimizer(args)
    if isinstance(method, str):
        optimizer_threshold_of(method, args.lr, momentum, args.b2, args.eps)   # validates before running
    label = args.optimizer.rsplit(":", 1)[-1] if not isinstance(method, str) else None
    run = train_tracking_sharpness(model, None, None, None, method, args.lr,
                                   0.0 if momentum is None else momentum, n_steps=args.steps,
                                   every=args.every, tol=args.tol, rng=args.seed, b2=args.b2, eps=args.eps,
                                   label=label, progress=not args.no_progress)
    figure = None
    if not args.no_figure:
        from dynopt.plotting import save_figure
        from dynopt.plotting.training import sharpness_figure

        fig = sharpness_figure(run, band=(lo, hi), title=f"{args.model}: {args.optimizer}, η={args.lr:g}\n"
                                                         f"threshold from the optimizer's update; Hessian-vector "
                                                         f"products {'exact' if run.hvp.startswith('exact') else 'by central differences'}")
        save_figure(fig, out / "sharpness.png")
        figure = str(out / "sharpness.png")
    from_step = args.from_step
    if from_step is None:
        # Adam's first steps divide by (1 − β₁ᵗ)(√v̂ + ε), far from the frozen P of the analysis
        from_step = math.ceil(round(5 / (1 - momentum), 9)) if method == "adam" else 0
    summary = summarize(run, args, (lo, hi), figure, from_step)
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    atomic_write_text(out / "sharpness.json", text + "\n")
    if args.json:
        print(text)
    else:
        name = summary["tracked"]
        print(f"{args.optimizer}, η={args.lr:g}: threshold on {name} = {run.threshold:.6g} "
              f"({run.threshold_derivation})")
        print(f"Hessian-vector products: {run.hvp}")
        if summary["first_step_in_band"] is None:
            print(f"never reached {lo:g}·threshold; last {name} = {run.tracked[-1]:.6g} "
                  f"({run.tracked[-1] / run.threshold:.3f}·threshold)")
        else:
            print(f"first in band at step {summary['first_step_in_band']}; {summary['fraction_in_band']:.1%} "
                  f"of later measurements in [{lo:g}, {hi:g}]·threshold; median ratio {summary['median_ratio']:.4f}")
        print(f"loss {run.losses[0]:.6g} -> {run.losses[-1]:.6g}"
              + (f"; diverged at step {run.diverged_step}" if run.diverged_step is not None else ""))
        print(f"wrote {out / 'sharpness.json'}" + (f" and {figure}" if figure else ""), file=sys.stderr)
    return 0

