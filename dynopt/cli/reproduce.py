"""``dynopt reproduce``: run the claims ledger and write the reports."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from dynopt.cli.args import check_out_dir
from dynopt.engine.kernels import BACKENDS, default_backend
from dynopt.ledger import REGISTRY, Cache, discover, run_claims, select, write_reports

__all__ = ["register", "cmd_reproduce", "find_papers_dir"]


def find_papers_dir(explicit=None) -> Path:
    """``--papers`` if given, else ./papers, else the papers/ folder of the source tree.

    Parameters
    ----------
    explicit : path-like, optional

    Returns
    -------
    pathlib.Path
    """
    if explicit:
        return Path(explicit)
    here = Path.cwd() / "papers"
    if here.is_dir():
        return here
    # dynopt/cli/reproduce.py -> the repository root holding dynopt/ and papers/
    return Path(__file__).resolve().parents[2] / "papers"


def _print_results(results, out: Path, as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=1, ensure_ascii=False))
        return
    width = max((len(r.claim.id) for r in results), default=10)
    for r in results:
        v = r.verdict.verdict if r.verdict else "ERROR"
        # a cached claim's seconds are those of the run that computed it, not of this one
        took = f"cached (computed in {r.seconds:.2f}s)" if r.cached else f"{r.seconds:7.2f}s"
        print(f"{r.claim.id:<{width}}  {v:<10} {took}")
    print(f"wrote {out}/README.md and {len({r.claim.source for r in results})} source report(s)")


def cmd_reproduce(args) -> int:
    """Run ``dynopt reproduce``: the selected claims, then the reports.

    Returns
    -------
    int
        0, 1 if a check raised, 2 for an unknown claim or source id.
    """
    papers = find_papers_dir(args.papers)
    discover(papers)
    if args.list:
        for cid in sorted(REGISTRY):
            print(f"{cid}\t{REGISTRY[cid].method}")
        return 0
    try:
        claims = select(args.ids)
    except ValueError as exc:
        print(f"dynopt reproduce: error: {exc}", file=sys.stderr)
        return 2
    out = check_out_dir(args.out if args.out else papers)
    cache = Cache(out / ".cache", enabled=not args.no_cache)
    registered = set(REGISTRY)
    with default_backend(args.backend):
        results = run_claims(claims, out, quick=args.quick, progress=not args.no_progress, cache=cache,
                             on_source=lambda rs: write_reports(rs, out, registered))
    _print_results(results, out, args.json)
    errors = [r for r in results if r.error]
    for r in errors:
        print(f"\nerror in {r.claim.id}:\n{r.error}", file=sys.stderr)
    return 1 if errors else 0


def register(subparsers):
    """Add the ``reproduce`` subcommand to the ``dynopt`` parser; returns its parser."""
    p = subparsers.add_parser(
        "reproduce", help="run the claims ledger and write the reports into papers/",
        description="Find papers/*/claims.py, run the claims (all, or the given claim or source "
                    "ids) and write papers/<source>/README.md, papers/<source>/claims.json, "
                    "papers/<source>/figures/*.png and the index papers/README.md. The reports are "
                    "deterministic (no timings, floats at 4 significant digits), so a rerun leaves "
                    "them byte-identical; the seconds each claim took are printed here, not written. "
                    "Cross-checks that need optional packages (torch) go to "
                    "papers/<source>/optional.json, which is not committed. Results are cached in "
                    "<out>/.cache by a hash of the code, the claim and the run size, so only what "
                    "changed is recomputed; a claim taken from the cache is marked 'cached'. "
                    "Exits 1 if a claim's check raised.")
    p.add_argument("ids", nargs="*", help="claim ids (e.g. kexue-5655.gd-is-euler) or source ids")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="reduced sizes (tolerances still decide)")
    size.add_argument("--full", action="store_true", help="publication sizes (the default)")
    p.add_argument("--out", metavar="DIR", help="write reports under DIR instead of papers/")
    p.add_argument("--papers", metavar="DIR", help="where the papers/*/claims.py live")
    p.add_argument("--json", action="store_true", help="print the results as a JSON list")
    p.add_argument("--list", action="store_true", help="list the claim ids and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-cache", action="store_true",
                   help="recompute every claim (by default a claim whose code, id and run size are "
                        "unchanged is taken from <out>/.cache, so an interrupted run resumes)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="backend of the ensemble runs whose code leaves it to dynopt: auto (the default: "
                        "compiled kernels where numba can compile the run, numpy otherwise), numpy, or numba "
                        "(a claim whose run cannot be compiled then fails, naming the reason); cached results "
                        "are kept apart per backend")
    p.set_defaults(func=cmd_reproduce)
    return p
