"""Edge of stability at full size
==============================

Edge of stability at full size: GD, heavy ball and Nesterov on a tanh network fitted
full-batch to the bundled digits with the squared loss, the sharpness tracked by Lanczos
on exact Hessian-vector products against each method's derived stability threshold.

Runs the claims cohen-2021.edge-of-stability, cohen-2021.momentum-threshold and
kexue-5655.step-below-pit-width at publication sizes (1000 examples, 6000 steps, two
initializations; 100 examples, 12000 steps, three initializations for kexue) and writes
their figures and reports to experiments/out/edge_of_stability/ (a few minutes on two
cores; --quick gives the ledger's reduced sizes).

Run::

    python experiments/edge_of_stability.py [--quick]
"""
import argparse
import sys
from pathlib import Path

from _common import out_path
from dynopt.ledger import discover, run_claims, select, write_reports

IDS = ["cohen-2021.edge-of-stability", "cohen-2021.momentum-threshold", "kexue-5655.step-below-pit-width"]

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--quick", action="store_true", help="the ledger's reduced sizes")
args = ap.parse_args()

registry = discover(Path(__file__).resolve().parent.parent / "papers")
out = out_path("edge_of_stability")
results = run_claims(select(IDS), out, quick=args.quick)
write_reports(results, out, set(registry))
for r in results:
    if r.error:
        print(f"{r.claim.id}: ERROR\n{r.error}", file=sys.stderr)
        continue
    print(f"{r.claim.id}: {r.verdict.verdict} ({r.seconds:.0f} s)")
    stats = r.verdict.evidence.get("edge_statistics", {})
    for label, per_init in stats.items():
        for i, st in enumerate(per_init):
            print(f"  {label} init {i}: S/threshold from step {st['reach_step']} on: median "
                  f"{st['median_ratio']:.3f}, {100 * st['fraction_in_band']:.0f}% in {st['band']}, "
                  f"loss rose at {100 * st['loss_increase_fraction']:.0f}% of the steps")
    if "max_S_eta_over_2_end" in (r.verdict.measured or {}):
        print(f"  max S·η/2 at the end of training: {r.verdict.measured['max_S_eta_over_2_end']:.4f}")
    for f in r.figures:
        print(f"  wrote {out / r.claim.source / f}")
sys.exit(1 if any(r.error for r in results) else 0)
