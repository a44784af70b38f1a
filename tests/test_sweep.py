"""Sweeps: spec errors name line and key; same bytes on every executor; resume after a kill."""
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dynopt.ledger import Cache
from dynopt.engine import LocalExecutor
from dynopt.sweep import SpecError, heavy_ball_quadratic, load_spec, run_sweep

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
task = "sgd_stationary_variance"
seed = 3

[params]
n_paths = 200
n_burn = 100
n_avg = 200

[grid]
batch = [1, 4]
eta = {start = 0.05, stop = 0.2, num = 3, log = true}

[[plots]]
kind = "curve"
x = "eta_over_b"
y = "variance"
y2 = "sde_variance"
group = "batch"
"""


def _write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


@pytest.mark.parametrize("text, where", [
    ('task = "nope"\n[grid]\nx = [1]\n', ":1: `task`"),
    ('task = "heavy_ball_quadratic"\n[grid]\nalpha_h = [1.0]\nbogus = [2]\n', ":4: `bogus`"),
    ('task = "heavy_ball_quadratic"\n[grid]\nalpha_h = {start = 0, stop = 1}\n', ":3: `alpha_h`"),
    ('task = "heavy_ball_quadratic"\nseed = -1\n[grid]\nbeta = [0.5]\n', ":2: `seed`"),
    ('task = "heavy_ball_quadratic"\ncolour = 1\n[grid]\nbeta = [0.5]\n', ":2: `colour`"),
    ('task = "heavy_ball_quadratic"\n[grid]\nbeta = [0.5]\n[[plots]]\nkind = "pie"\nx = "beta"\ny = "rate"\n', ":5: `kind`"),
    ('task = "heavy_ball_quadratic"\n[grid\nbeta = [0.5]\n', "not valid TOML"),
])
def test_malformed_spec_names_line_and_key(tmp_path, text, where):
    with pytest.raises(SpecError, match=where.replace("[", r"\[")):
        load_spec(_write(tmp_path, text))


def test_heavy_ball_task_agrees_with_the_spectral_radius():
    # well inside and well outside the stability region (αh < 2(1+β))
    for ah, beta in ((0.5, 0.5), (1.0, 0.2), (3.5, 0.9)):
        r = heavy_ball_quadratic(ah, beta, n_steps=4000)
        assert r["converged"] and r["spectral_radius"] < 1
    for ah, beta in ((3.2, 0.5), (4.5, 0.9)):
        r = heavy_ball_quadratic(ah, beta, n_steps=4000)
        assert not r["converged"] and r["diverged_step"] > 0 and r["spectral_radius"] > 1


def test_sweep_is_identical_serially_on_processes_and_on_dask(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    from dynopt.engine import DaskExecutor

    spec = load_spec(_write(tmp_path, SPEC))
    run_sweep(spec, tmp_path / "serial")
    with LocalExecutor(2) as ex:
        run_sweep(spec, tmp_path / "local", executor=ex)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        run_sweep(spec, tmp_path / "dask", executor=DaskExecutor(client=client))
    ref = (tmp_path / "serial" / "results.csv").read_bytes()
    assert (tmp_path / "local" / "results.csv").read_bytes() == ref
    assert (tmp_path / "dask" / "results.csv").read_bytes() == ref
    assert (tmp_path / "serial" / "curve-variance.png").stat().st_size > 1000


def test_sweep_recomputes_only_changed_points(tmp_path):
    spec = load_spec(_write(tmp_path, SPEC))
    cache = Cache(tmp_path / "out" / ".cache")
    rows = run_sweep(spec, tmp_path / "out", cache=cache)
    n_entries = len(list((tmp_path / "out" / ".cache").rglob("*.json")))
    assert n_entries == len(rows) == 6
    # a grown grid (eta 0.05..0.2 in 4 points instead of 3) shares its end points: only
    # the 4 new points (2 batches × 2 new eta values) are computed and cached
    spec2 = load_spec(_write(tmp_path, SPEC.replace("num = 3", "num = 4"), "spec2.toml"))
    rows2 = run_sweep(spec2, tmp_path / "out", cache=cache)
    assert len(list((tmp_path / "out" / ".cache").rglob("*.json"))) == 6 + 4
    shared = [r for r in rows2 if r["eta"] in (0.05, 0.2)]
    assert shared == [r for r in rows if r["eta"] in (0.05, 0.2)]


def test_kill_and_resume(tmp_path):
    """SIGKILL a sweep mid-run: no partial entry; the next run removes the temporary files
    the killed one left and finishes the sweep with the bytes of an uninterrupted one."""
    spec = _write(tmp_path, SPEC.replace("batch = [1, 4]", "batch = [1, 2, 4, 8]")
                  .replace("n_avg = 200", "n_avg = 3000"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dynopt.cli", "sweep", str(spec), "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache_dir = out / ".cache"
    deadline = time.monotonic() + 600  # generous: the machine may be loaded; the kill waits for 2 entries
    while proc.poll() is None and time.monotonic() < deadline and len(list(cache_dir.rglob("*.json"))) < 2:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = list(cache_dir.rglob("*.json"))
    assert proc.returncode == -signal.SIGKILL and 2 <= len(done) < 12, "the kill should land mid-run"
    # the kill may or may not land inside a cache write (entries are written in bursts after
    # each batch): at most the one hidden temporary file being written, never a partial entry
    leftover = list(out.rglob("*.tmp"))
    assert len(leftover) <= 1 and all(p.name.startswith(".") for p in leftover), leftover
    for p in done:
        json.loads(p.read_text())
    # whichever way the kill landed, the next start meets half-written temporary files: one
    # of a cache entry and one of the table, as a kill inside those writes leaves them
    planted = [cache_dir / done[0].parent.name / f".{'0' * 64}.json.k1ll3d.tmp", out / ".results.csv.k1ll3d.tmp"]
    for p in planted:
        p.write_text('{"schema": 2, "sha2')
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    assert not list(out.rglob("*.tmp")), "the next start removes a killed run's temporary files"
    resumed = (out / "results.csv").read_text()
    fresh = tmp_path / "fresh"
    subprocess.run(cmd[:-1] + [str(fresh), "--no-cache"], cwd=ROOT, check=True, capture_output=True)
    assert resumed == (fresh / "results.csv").read_text()
    assert len(resumed.splitlines()) == 1 + 12
