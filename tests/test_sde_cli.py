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
