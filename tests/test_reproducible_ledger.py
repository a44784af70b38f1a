"""The committed ledger reproduces: a fresh clone of HEAD runs ``dynopt reproduce --quick``
and its reports come out byte for byte as committed; every figure that run writes is
rendered without overlapping tick labels or text outside the figure.

One quick ledger run (about a minute) serves both tests.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                                reason="needs git and a git checkout")


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    """A clone of the committed HEAD after ``dynopt reproduce --quick`` ran in it."""
    clone = tmp_path_factory.mktemp("ledger") / "repo"
    _git("clone", "-q", "--no-hardlinks", str(ROOT), str(clone), cwd=ROOT)
    # the committed HEAD of this checkout (a clone of a worktree may check out another branch)
    _git("checkout", "-q", "--detach", _git("rev-parse", "HEAD", cwd=ROOT).strip(), cwd=clone)
    report = clone.parent / "figure-problems.json"
    env = dict(os.environ, PYTHONPATH=str(clone), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(clone / "tests" / "figure_layout.py"), str(report),
                           "reproduce", "--quick", "--no-progress"],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return clone, json.loads(report.read_text(encoding="utf-8"))


def _png_size(path):
    head = Path(path).read_bytes()[:24]
    return struct.unpack(">II", head[16:24])


def test_quick_ledger_in_a_fresh_clone_leaves_the_reports_unchanged(fresh_run):
    clone, _ = fresh_run
    status = _git("status", "--porcelain", "--untracked-files=all", cwd=clone).splitlines()
    # reports (README.md, claims.json) must match byte for byte; nothing may appear or vanish
    not_png = [s for s in status if not s.endswith(".png")]
    assert not_png == [], "\n".join(not_png) + "\n" + _git("diff", "--stat", cwd=clone)
    # PNG bytes also depend on the matplotlib/freetype build: same images, same pixel size
    for line in status:
        assert line.startswith(" M "), line
        name = line[3:]
        committed = clone.parent / "committed.png"
        committed.write_bytes(subprocess.run(["git", "show", f"HEAD:{name}"], cwd=clone, check=True,
                                             capture_output=True).stdout)
        assert _png_size(clone / name) == _png_size(committed), name


def test_every_figure_of_the_quick_ledger_is_laid_out_cleanly(fresh_run):
    clone, problems = fresh_run
    figures = sorted(Path(p).relative_to(clone).as_posix() for p in problems)
    committed = sorted(p.relative_to(clone).as_posix() for p in (clone / "papers").glob("*/figures/*.png"))
    assert figures == committed  # every figure of the ledger was rendered and checked
    bad = {p: v for p, v in problems.items() if v}
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)
