import json
import os
import signal
import time
import subprocess
import sys
from pathlib import Path

import pytest

from dynopt.ledger import claims as C
from dynopt.cli.main import main
from dynopt.io import atomic_write_text


def test_judge_computes_the_verdict():
    assert C.judge(True, expected=1, measured=1.01, tolerance=0.1).verdict == "confirmed"
    v = C.judge(False, expected=2, measured=1.0, tolerance=0.1, correction="order 1")
    assert v.verdict == "corrected" and v.correction == "order 1"
    assert C.judge(False, expected=2, measured=1.0, tolerance=0.1).verdict == "refuted"
    # a passed check drops a stray correction
    assert C.judge(True, expected=2, measured=2.0, correction="x").correction is None


def test_judge_rejects_typed_in_results():
    x = [1.0]
    with pytest.raises(ValueError, match="same object"):
        C.judge(True, expected=x, measured=x)
    with pytest.raises(TypeError, match="bool computed"):
        C.judge("confirmed", expected=1, measured=1.0)


def test_to_jsonable_never_writes_bare_nan():
    import numpy as np

    out = C.to_jsonable({"a": np.float64("nan"), "b": np.arange(2), "c": (np.inf,)})
    assert out == {"a": "nan", "b": [0, 1], "c": ["inf"]}
    json.dumps(out, allow_nan=False)


def test_atomic_write_keeps_previous_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "README.md"
    atomic_write_text(target, "old\n")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # readable like any report

    def boom(*a, **k):
        raise KeyboardInterrupt  # an interrupted run

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temp left behind


def test_save_figure_is_atomic_and_closes_the_figure(tmp_path, monkeypatch):
    from dynopt.plotting import new_axes, plt, save_figure

    target = tmp_path / "figures" / "f.png"
    fig = new_axes().figure
    save_figure(fig, target)
    mask = os.umask(0)
    os.umask(mask)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert not plt.fignum_exists(fig.number)
    old = target.read_bytes()
    fig = new_axes().figure

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig, target)
    assert target.read_bytes() == old and not plt.fignum_exists(fig.number)
    assert [p.name for p in target.parent.iterdir()] == ["f.png"]


def test_library_version_hashes_every_module_of_the_package():
    import dynopt
    from dynopt.ledger import code_version, package_version_hash

    files = sorted(Path(dynopt.__file__).resolve().parent.rglob("*.py"))
    assert any(p.parent.name == "engine" for p in files)
    assert package_version_hash() == code_version(*files)


def test_papers_dir_falls_back_to_the_source_tree(tmp_path, monkeypatch):
    from dynopt.cli.reproduce import find_papers_dir

    monkeypatch.chdir(tmp_path)
    assert find_papers_dir() == Path(__file__).resolve().parent.parent / "papers"
    assert find_papers_dir(tmp_path / "x") == tmp_path / "x"


PAPER = '''
from dynopt.ledger import claim, judge
SOURCE = {"title": "A test source"}

@claim("{sid}.holds", statement="one plus one is two", method="numeric")
def holds(ctx):
    measured = 1.0 + 1.0
    return judge(abs(measured - 2) < 1e-12, expected=2, measured=measured, tolerance=1e-12)

@claim("{sid}.raises", statement="a check that breaks", method="numeric")
def raises(ctx):
    raise RuntimeError("broken check")
'''


def _paper(tmp_path, sid):
    d = tmp_path / "papers" / sid
    d.mkdir(parents=True)
    (d / "claims.py").write_text(PAPER.replace("{sid}", sid))
    return tmp_path / "papers"


def test_reproduce_writes_reports_and_exits_nonzero_when_a_claim_raises(tmp_path, capsys):
    papers = _paper(tmp_path, "testsrc-a")
    code = main(["reproduce", "--papers", str(papers), "--quick", "--no-progress", "testsrc-a"])
    assert code == 1
    data = json.loads((papers / "testsrc-a" / "claims.json").read_text())
    assert [d["id"] for d in data] == ["testsrc-a.holds", "testsrc-a.raises"]
    assert all(list(d) == list(C.REPORT_KEYS) for d in data)  # no timings in reports
    assert data[0]["verdict"] == "confirmed" and data[1]["verdict"] == "error"
    readme = (papers / "testsrc-a" / "README.md").read_text()
    assert "broken check" in readme and "seconds" not in readme
    index = (papers / "README.md").read_text()
    assert "[testsrc-a](testsrc-a/README.md)" in index
    # rerunning one claim keeps the other's row
    assert main(["reproduce", "--papers", str(papers), "--no-progress", "testsrc-a.holds"]) == 0
    data = json.loads((papers / "testsrc-a" / "claims.json").read_text())
    assert len(data) == 2


def test_reproduce_list_and_unknown_id(tmp_path, capsys):
    papers = _paper(tmp_path, "testsrc-b")
    assert main(["reproduce", "--papers", str(papers), "--list"]) == 0
    assert "testsrc-b.holds" in capsys.readouterr().out
    assert main(["reproduce", "--papers", str(papers), "nope.nothing"]) == 2
    assert "unknown claim or source id" in capsys.readouterr().err


def _help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_cli_help_says_what_each_command_writes(capsys):
    top = _help(["--help"], capsys)
    assert "reproduce" in top and "compare" in top
    assert "papers/<source>/README.md" in _help(["reproduce", "--help"], capsys)
    assert "orders-<problem>.png" in _help(["compare", "--help"], capsys)


def test_console_script_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "dynopt.cli", "reproduce", "--list"],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0 and "kexue-5655.gd-is-euler" in out.stdout


def test_compare_json_keys_and_unknown_names(capsys, tmp_path):
    assert main(["compare", "--problems", "quadratic", "--schemes", "euler", "leapfrog",
                 "--json", "--no-figures"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["problem"], r["scheme"]) for r in rows} == {("quadratic", "euler"), ("quadratic", "leapfrog")}
    for r in rows:
        assert {"problem", "scheme", "ode", "order", "order_ci", "steps", "errors"} <= set(r)
        assert len(r["steps"]) >= 6 and r["order_ci"][0] < r["order"] < r["order_ci"][1]
    assert main(["compare", "--schemes", "adam", "--no-figures"]) == 2  # before any run
    err = capsys.readouterr().err
    assert "`--schemes` must be one of" in err and "leapfrog" in err
    assert main(["compare", "--problems", "banana", "--no-figures"]) == 2
    assert "rosenbrock" in capsys.readouterr().err


def test_compare_writes_figures(tmp_path, capsys):
    out = tmp_path / "fig"
    assert main(["compare", "--problems", "double_well", "--schemes", "euler", "leapfrog",
                 "--out", str(out)]) == 0
    assert (out / "orders-double_well.png").stat().st_size > 1000
    assert (out / "work-precision-double_well.png").stat().st_size > 1000


def test_reproduce_resumes_from_the_cache(tmp_path, capsys):
    papers = _paper(tmp_path, "testsrc-c")
    counter = tmp_path / "runs.txt"
    (papers / "testsrc-c" / "claims.py").write_text(f'''
from pathlib import Path
from dynopt.ledger import claim, judge

@claim("testsrc-c.counted", statement="counts its runs", method="numeric")
def counted(ctx):
    with open({str(counter)!r}, "a") as fh:
        fh.write("x")
    measured = len(Path({str(counter)!r}).read_text())
    return judge(measured >= 1, expected=1, measured=measured)
''')
    argv = ["reproduce", "--papers", str(papers), "--no-progress", "testsrc-c"]
    assert main(argv) == 0 and main(argv) == 0
    assert counter.read_text() == "x"  # the second run was a cache hit
    assert main(argv + ["--no-cache"]) == 0
    assert counter.read_text() == "xx"
    assert main(argv + ["--quick"]) == 0  # another run size is another key
    assert counter.read_text() == "xxx"


SLOW_PAPER = '''
import os
import time
from dynopt.ledger import claim, judge

def _work(ctx, name):
    with open({counter!r}, "a") as fh:
        fh.write(name + ("q" if ctx.quick else "f") + "\\n")
    time.sleep(0.8)
    # the last full-size claim waits for the test's go-ahead, so that however slowly the
    # test runs on a loaded machine, the interrupted run cannot finish first
    deadline = time.monotonic() + 120
    while name == "c" and not ctx.quick and not os.path.exists({counter!r} + ".go") and time.monotonic() < deadline:
        time.sleep(0.02)
    measured = 2.0
    return judge(measured == 2.0, expected=2, measured=measured)

@claim("testsrc-k.a", statement="a", method="numeric")
def a(ctx):
    return _work(ctx, "a")

@claim("testsrc-k.b", statement="b", method="numeric")
def b(ctx):
    return _work(ctx, "b")

@claim("testsrc-k.c", statement="c", method="numeric")
def c(ctx):
    return _work(ctx, "c")
'''


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_reproduce_keeps_reports_and_resumes(tmp_path, sig):
    papers = tmp_path / "papers"
    (papers / "testsrc-k").mkdir(parents=True)
    counter = tmp_path / "runs.txt"
    (papers / "testsrc-k" / "claims.py").write_text(SLOW_PAPER.replace("{counter!r}", repr(str(counter))))
    base = [sys.executable, "-m", "dynopt.cli", "reproduce", "--papers", str(papers), "--no-progress"]
    subprocess.run(base + ["--quick"], check=True, capture_output=True)
    before = {p: p.read_bytes() for p in papers.rglob("*") if p.is_file() and ".cache" not in p.parts}
    # a shell's background job inherits SIGINT ignored; give the run the default handling
    proc = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and counter.read_text().count("f") < 2:
        time.sleep(0.02)
    proc.send_signal(sig)
    proc.wait()
    after = {p: p.read_bytes() for p in papers.rglob("*") if p.is_file() and ".cache" not in p.parts}
    assert after == before  # nothing written half-way, no temp files left
    done = counter.read_text().count("f")
    assert done in (2, 3)
    Path(str(counter) + ".go").touch()
    subprocess.run(base, check=True, capture_output=True)
    lines = counter.read_text().split()
    full = [x for x in lines if x.endswith("f")]
    assert sorted(set(full)) == ["af", "bf", "cf"]
    assert full.count("af") == 1  # finished before the kill: taken from the cache
    assert len(full) <= 4  # at most the claim that was running when killed ran twice
    data = json.loads((papers / "testsrc-k" / "claims.json").read_text())
    assert [d["verdict"] for d in data] == ["confirmed"] * 3
