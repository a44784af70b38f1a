"""Safe input and trusted output: a sweep spec calls only declared tasks, nothing is written
through a link, a forged cache entry is recomputed, the kernel cache must be private, and
local workers end with their parent.  Every payload leaves no side effect (no marker file)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dynopt.cli.main import main
from dynopt.engine.cache_dir import kernel_cache_dir
from dynopt.io import LinkedFolderError, UnsafeFolderError, private_dir
from dynopt.ledger import Cache
from dynopt.ledger.cache import user_key
from dynopt.sweep import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def own_cache_home(tmp_path, monkeypatch):
    """Each test gets its own user cache folder (the per-user key lives there)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# --- sweep tasks from a declared set --------------------------------------------------------
@pytest.mark.parametrize("task, params", [
    ("subprocess:getoutput", 'cmd = "touch {m}"'),
    ("subprocess:getoutput", 'cmd = ["touch {m}"]'),
    ("shutil:rmtree", 'path = "{victim}"'),
    ("os:system", 'command = "touch {m}"'),
    ("builtins:exec", 'source = "open(\'{m}\', \'w\')"'),
    ("dynopt.sweep:run_sweep", ""),
    ("../elsewhere.py:f", ""),
    ("sub/tasks.py:f", ""),
    ("tasks.py:_private", ""),
])
def test_a_spec_cannot_call_outside_the_declared_tasks(capsys, tmp_path, task, params):
    marker, victim = tmp_path / "F", tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("x")
    (tmp_path / "tasks.py").write_text("def _private(x):\n    return {'y': x}\n")
    spec = tmp_path / "s.toml"
    spec.write_text(f'task = "{task}"\n[params]\n{params.format(m=marker, victim=victim)}\n[grid]\nx = [1]\n')
    code, out, err = _cli(capsys, "sweep", spec, "--out", tmp_path / "o")
    assert code == 2 and "`task`" in err and len(err.strip().splitlines()) == 1, err
    assert not marker.exists() and (victim / "keep").exists()
    assert not (tmp_path / "o" / "results.csv").exists()


def test_a_planted_module_beside_the_spec_is_never_imported(tmp_path):
    """A file task is loaded privately: a cloudpickle.py (or numpy.py) beside the spec does not
    shadow the installed package, neither here nor in the local executor's workers."""
    marker = tmp_path / "F"
    for name in ("cloudpickle", "numpy", "dynopt"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').write('{name}')\n")
    (tmp_path / "tasks.py").write_text("def f(x, seed=None):\n    return {'y': 2 * x}\n")
    (tmp_path / "s.toml").write_text('task = "tasks.py:f"\n[grid]\nx = [1.0, 2.0, 3.0]\n')
    run_in = tmp_path / "cwd"  # not the spec's folder: `python -m` puts the working directory first
    run_in.mkdir()
    proc = subprocess.run([sys.executable, "-m", "dynopt.cli", "sweep", tmp_path / "s.toml", "--executor", "local",
                           "--workers", "2", "--out", tmp_path / "o", "--no-cache"], cwd=run_in, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert (tmp_path / "o" / "results.csv").read_text().splitlines()[1:] == ["1,2,ok,", "2,4,ok,", "3,6,ok,"]
    assert str(tmp_path) not in sys.path


def test_string_values_of_a_sweep_go_through_the_safe_parser(tmp_path):
    marker = tmp_path / "F"
    spec = tmp_path / "s.toml"
    spec.write_text('task = "heavy_ball_quadratic"\n[params]\nn_steps = 5\n[grid]\n'
                    'alpha_h = ["1/3", "2*pi/7"]\nbeta = [0.5]\n')
    assert load_spec(spec).grid["alpha_h"] == pytest.approx([1 / 3, 2 * 3.141592653589793 / 7])
    spec.write_text('task = "heavy_ball_quadratic"\n[grid]\n'
                    f'alpha_h = ["__import__(\'os\').system(\'touch {marker}\')"]\nbeta = [0.5]\n')
    with pytest.raises(SpecError, match="`alpha_h`.*not a function you may call"):
        load_spec(spec)
    assert not marker.exists()


# --- output folders ---------------------------------------------------------------------------
def test_reproduce_refuses_a_linked_report_folder(capsys, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "README.md").write_text("precious")
    (out / "kexue-5655").symlink_to(elsewhere)
    code, _, err = _cli(capsys, "reproduce", "kexue-5655.gd-is-euler", "--quick", "--no-progress", "--out", out)
    assert code == 2 and "symbolic link" in err and "kexue-5655" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in elsewhere.iterdir()) == ["README.md"]
    assert (elsewhere / "README.md").read_text() == "precious"


@pytest.mark.parametrize("command", ["reproduce", "sweep"])
def test_a_linked_cache_folder_is_refused_and_left_alone(capsys, tmp_path, command):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    old = elsewhere / ".x.json.abc.tmp"
    old.write_text("not ours")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    (out / ".cache").symlink_to(elsewhere)
    if command == "reproduce":
        argv = ["reproduce", "kexue-5655.gd-is-euler", "--quick", "--no-progress", "--out", out]
    else:
        spec = tmp_path / "s.toml"
        spec.write_text('task = "heavy_ball_quadratic"\n[params]\nn_steps = 5\n[grid]\nalpha_h = [1.0]\nbeta = [0.5]\n')
        argv = ["sweep", spec, "--out", out]
    code, _, err = _cli(capsys, *argv)
    assert code == 2 and "symbolic link" in err and ".cache" in err
    assert [p.name for p in elsewhere.iterdir()] == [old.name]


def test_the_atomic_writer_refuses_a_linked_folder(tmp_path):
    from dynopt.io import atomic_write_text

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(LinkedFolderError, match="symbolic link"):
        atomic_write_text(tmp_path / "link" / "a.txt", "x")
    assert not (tmp_path / "real" / "a.txt").exists()


def test_out_itself_may_be_a_link_it_is_resolved_once(capsys, tmp_path):
    from dynopt.cli.args import check_out_dir

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert check_out_dir(tmp_path / "link") == (tmp_path / "real").resolve()


@pytest.mark.parametrize("argv", [
    ["simulate", "--paths", "50", "--T", "0.1", "--no-progress"],
    ["compare", "--problems", "quadratic", "--schemes", "euler", "--steps", "10", "20", "40", "--T", "0.5"],
    ["sweep", "{spec}"],
    ["reproduce", "kexue-5655.gd-is-euler", "--quick", "--no-progress"],
])
def test_every_command_checks_out_before_any_work(capsys, tmp_path, argv):
    spec = tmp_path / "s.toml"
    spec.write_text('task = "heavy_ball_quadratic"\n[params]\nn_steps = 5\n[grid]\nalpha_h = [1.0]\nbeta = [0.5]\n')
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = [a.replace("{spec}", str(spec)) for a in argv] + ["--out", str(blocker / "sub")]
    tic = time.perf_counter()
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and "`--out`" in err and len(err.strip().splitlines()) == 1, err
    assert out == "" and time.perf_counter() - tic < 20


# --- caches you can trust ---------------------------------------------------------------------
def test_a_forged_cache_entry_with_a_recomputed_hash_is_recomputed(tmp_path):
    import hashlib

    cache = Cache(tmp_path / "c")
    key = "ab" * 32
    cache.put(key, {"verdict": "confirmed"})
    path = next((tmp_path / "c").rglob("*.json"))
    entry = json.loads(path.read_text())
    entry["value"]["verdict"] = "refuted"
    canonical = json.dumps(entry["value"], sort_keys=True, separators=(",", ":")).encode()
    entry["sha256"] = entry["mac"] = hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(entry))
    assert cache.get(key) is None and "signature mismatch" in cache.notes[0]
    # an entry copied to another key does not verify either
    cache.put(key, {"verdict": "confirmed"})
    other = "cd" * 32
    (tmp_path / "c" / "cd").mkdir()
    (tmp_path / "c" / "cd" / f"{other}.json").write_text(path.read_text())
    assert cache.get(key) == {"verdict": "confirmed"} and cache.get(other) is None


def test_a_forged_verdict_never_reaches_the_report(capsys, tmp_path):
    out = tmp_path / "out"
    argv = ["reproduce", "kexue-5655.gd-is-euler", "--quick", "--no-progress", "--out", out]
    assert _cli(capsys, *argv)[0] == 0
    path = next((out / ".cache").rglob("*.json"))
    entry = json.loads(path.read_text())
    entry["value"]["verdict"] = "refuted"
    path.write_text(json.dumps(entry))
    code, stdout, err = _cli(capsys, *argv)
    assert code == 0 and "refuted" not in stdout and "cached" not in stdout and "signature mismatch" in err
    assert "refuted" not in (out / "kexue-5655" / "claims.json").read_text()


def test_a_forged_sweep_point_is_recomputed(tmp_path):
    from dynopt.sweep import run_sweep

    spec = tmp_path / "s.toml"
    spec.write_text('task = "heavy_ball_quadratic"\n[params]\nn_steps = 50\n[grid]\nalpha_h = [1.0]\nbeta = [0.5]\n')
    cache = Cache(tmp_path / "c")
    first = run_sweep(load_spec(spec), tmp_path / "o", cache=cache)
    path = next((tmp_path / "c").rglob("*.json"))
    entry = json.loads(path.read_text())
    entry["value"]["converged"] = not entry["value"]["converged"]
    path.write_text(json.dumps(entry))
    again = run_sweep(load_spec(spec), tmp_path / "o", cache=cache)
    assert again == first and any("signature mismatch" in n for n in cache.notes)


def test_the_user_key_is_private(tmp_path):
    key = user_key()
    path = tmp_path / "xdg" / "dynopt" / "cache.key"
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "xdg" / "dynopt").stat().st_mode & 0o777 == 0o700
    assert user_key() == key
    path.chmod(0o644)
    with pytest.raises(UnsafeFolderError, match="mode 600"):
        user_key()


def test_the_kernel_cache_is_private(tmp_path, monkeypatch):
    monkeypatch.delenv("DYNOPT_KERNEL_CACHE", raising=False)
    d = kernel_cache_dir()
    assert d == tmp_path / "xdg" / "dynopt" / "kernels" and d.stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("DYNOPT_KERNEL_CACHE", str(shared))
    with pytest.raises(UnsafeFolderError, match="writable by others"):
        kernel_cache_dir()
    link = tmp_path / "link"
    link.symlink_to(d)
    monkeypatch.setenv("DYNOPT_KERNEL_CACHE", str(link))
    with pytest.raises(UnsafeFolderError, match="symbolic link"):
        kernel_cache_dir()


def test_a_kernel_cache_owned_by_someone_else_is_refused(tmp_path, monkeypatch):
    if os.getuid() == 0:  # root can hand a folder to another user
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 12345, 12345)
        owner = 12345
    else:
        foreign, owner = Path("/"), 0  # owned by root, who is someone else here
    with pytest.raises(UnsafeFolderError, match=f"owned by user id {owner}"):
        private_dir(foreign, "the kernel cache")
    monkeypatch.setenv("DYNOPT_KERNEL_CACHE", str(foreign))
    with pytest.raises(UnsafeFolderError, match=f"kernel cache.*owned by user id {owner}"):
        kernel_cache_dir()


def test_a_world_writable_kernel_cache_stops_the_command_before_loading(capsys, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    marker = tmp_path / "F"
    (shared / "planted.py").write_text(f"open({str(marker)!r}, 'w')\n")
    monkeypatch.setenv("DYNOPT_KERNEL_CACHE", str(shared))
    code, out, err = _cli(capsys, "simulate", "--paths", "20", "--T", "0.1", "--backend", "numba",
                          "--no-figure", "--no-progress")
    assert code == 2 and "kernel cache" in err and "writab" in err and not marker.exists()


# --- workers end with their parent ------------------------------------------------------------
def _children(pid):
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_no_orphaned_worker_after_kill_9_of_a_sweep(tmp_path):
    (tmp_path / "tasks.py").write_text("import time\n\ndef f(x, seed=None):\n    time.sleep(120)\n    return {'y': x}\n")
    (tmp_path / "s.toml").write_text('task = "tasks.py:f"\n[grid]\nx = [1.0, 2.0, 3.0, 4.0]\n')
    proc = subprocess.Popen([sys.executable, "-m", "dynopt.cli", "sweep", "s.toml", "--executor", "local",
                             "--workers", "2", "--out", "o", "--no-cache"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline, workers = time.monotonic() + 120, []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = _children(proc.pid)
    assert len(workers) >= 2, "the sweep never started its workers"
    time.sleep(1.0)  # the workers are inside the task now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leave them behind if the test fails
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers {left} outlived their parent by 10 s"
