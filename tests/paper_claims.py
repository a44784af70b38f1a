"""Helpers for the unit tests of the computations that live in papers/<source>/claims.py.

Not a test module: ``load`` imports a claims file under the module name that
``dynopt.ledger.discover`` gives it (so the claims register once), ``FakeContext`` stands in
for the runner's context when a cheap claim is run whole, and ``committed_verdict`` reads the
verdict a claim has in the committed report (so that no test types a verdict in).
"""
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

PAPERS = Path(__file__).resolve().parents[1] / "papers"


def load(name):
    """The papers/<name>/claims.py module."""
    modname = "dynopt_papers_" + name.replace("-", "_")
    if modname not in sys.modules:
        spec = importlib.util.spec_from_file_location(modname, PAPERS / name / "claims.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
    return sys.modules[modname]


class FakeContext:
    """What a check gets from the runner, with quick sizes, the runner's seed and no figures."""

    def __init__(self, claim_id, quick=True):
        self.quick = quick
        self.seed = int.from_bytes(hashlib.sha256(claim_id.encode()).digest()[:4], "little")
        self.figures = []

    def size(self, quick, full):
        return quick if self.quick else full

    def savefig(self, fig, name=None):
        import matplotlib.pyplot as plt

        plt.close(fig)
        return f"figures/{name}.png"


def committed_verdict(claim_id):
    """The verdict of ``claim_id`` in the committed papers/<source>/claims.json."""
    source = claim_id.split(".", 1)[0]
    rows = json.loads((PAPERS / source / "claims.json").read_text())
    return next(r["verdict"] for r in rows if r["id"] == claim_id)
