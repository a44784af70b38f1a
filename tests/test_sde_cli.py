import json

from dynopt.cli.main import main


def test_simulate_json(capsys):
    assert main(["simulate", "--paths", "2000", "--T", "1", "--json", "--seed", "3", "--no-figure"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_paths"] == 2000 and out["n_diverged"] == 0
    assert sum(out["histogram_theta1"]["counts"]) + out["histogram_theta1"]["below"] + \
        out["histogram_theta1"]["above"] == 2000


def test_simulate_bad_sigma(capsys):
    assert main(["simulate", "--sigma", "-1", "--paths", "10"]) == 2
    assert "`sigma`" in capsys.readouterr().err


def test_bench_registered(capsys):
    import pytest
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "sde" in capsys.readouterr().out


def test_simulate_backend_threads_and_normals_from_the_cli(capsys):
    """A user's 2-D potential on the compiled backend with two threads gives the numpy
    backend's numbers (same normals), and the Philox source is another, valid stream."""
    import pytest
    pytest.importorskip("numba")
    base = ["simulate", "--expr", "0.25*x**4 - x**2 + 0.3*x + (y - 0.5*x)**2", "--paths", "3000", "--T", "1",
            "--json", "--seed", "5", "--no-figure", "--no-progress"]
    runs = {}
    for extra in (["--backend", "numpy"], ["--backend", "numba", "--threads", "2"], ["--normals", "philox"]):
        assert main(base + extra) == 0
        runs[extra[1]] = json.loads(capsys.readouterr().out)
    assert runs["numpy"]["backend"] == "numpy" and runs["numba"]["backend"] == "numba"
    for a, b in zip(runs["numpy"]["mean"], runs["numba"]["mean"]):
        assert abs(a - b) <= 1e-12 * max(1.0, abs(a))
    assert runs["philox"]["mean"] != runs["numpy"]["mean"]
    for a, b, se in zip(runs["philox"]["mean"], runs["numpy"]["mean"], runs["numpy"]["se_mean"]):
        assert abs(a - b) <= 5 * 2 ** 0.5 * se
    assert main(base + ["--threads", "0"]) == 2
    assert "`threads`" in capsys.readouterr().err
