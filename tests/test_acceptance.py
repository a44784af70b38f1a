"""Acceptance checks that take a minute or more (run: pytest -m slow)."""
import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dynopt.analysis import compare
from dynopt.schemes import get_scheme

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_standard_comparison_orders_within_tolerance():
    expected = {"euler": 1, "heun": 2, "rk4": 4, "leapfrog": 2}
    for r in compare():
        if r.scheme in expected:
            assert abs(r.fit.order - expected[r.scheme]) <= 0.15, (r.problem, r.scheme, r.fit.order)
        assert abs(r.fit.order - get_scheme(r.scheme).order) <= 0.15


@pytest.mark.slow
def test_reproduce_quick_twice_is_byte_identical(tmp_path):
    """Reports and figures of two quick runs are identical (only `seconds` may differ)."""
    runs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        subprocess.run([sys.executable, "-m", "dynopt.cli", "reproduce", "kexue-5655", "--quick",
                        "--no-progress", "--out", str(out)], check=True, cwd=ROOT, capture_output=True)
        runs.append(out)
    a, b = (r / "kexue-5655" for r in runs)
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for name in names:
        if name.name == "claims.json":
            ja, jb = (json.loads((x / name).read_text()) for x in (a, b))
            for da, db in zip(ja, jb):
                da.pop("seconds", None), db.pop("seconds", None)  # reports no longer carry timings
            assert ja == jb
        else:
            assert filecmp.cmp(a / name, b / name, shallow=False), name
