"""``dynopt simulate`` passage output: never the mean of the paths that passed; every mean-like
number is a restricted mean labelled with its horizon, a mean with no path censored, or a tail
mean naming its assumption and agreeing with the exact quadrature."""
import json
import re

import numpy as np
import pytest

from dynopt.analysis import mean_first_passage_time
from dynopt.cli.main import main

TILTED = ["simulate", "--expr", "x**4/4 - x**2/2 + 0.15*x", "--x0", "-1", "--sigma", "0.6",
          "--first-passage", "1", "--no-figure", "--no-progress"]


@pytest.fixture(autouse=True)
def _every_run_pays_to_compile(monkeypatch):
    # these tests are about what "auto" can compile, not about when compiling pays
    # (tests/test_kernels_auto.py): every run here is worth compiling
    from dynopt.engine import kernels as _k

    monkeypatch.setattr(_k, "COMPILE_SECONDS", 0.0)



def _exact():
    """MFPT of dX = −U' dt + 0.6 dW from −1 to +1 (reflecting at −∞), by quadrature."""
    return mean_first_passage_time(lambda x: x ** 4 / 4 - x ** 2 / 2 + 0.15 * x, 0.6, -1.0, -np.inf, 1.0).time


@pytest.mark.parametrize("extra", [["--T", "60"], ["--T", "5", "--paths", "2000"]])
def test_tilted_well_prints_no_mean_of_passed_paths(extra, capsys):
    exact = _exact()
    assert main(TILTED + extra) == 0
    text = capsys.readouterr().out
    fp_lines = text[text.index("first passage"):].splitlines()
    horizon = extra[1]
    for line in fp_lines:
        if "mean" not in line:
            continue
        if "restricted mean" in line:
            assert f"E[min(τ, {horizon})]" in line and f"horizon {horizon}" in line
        elif "tail mean" in line:
            assert "assumes P(τ > t) ∝ exp(−k t)" in line
            value, se = (float(v) for v in re.search(r"= ([\d.]+) ± ([\d.e+-]+)", line).groups())
            assert abs(value - exact) <= 5 * se, (value, se, exact)
        else:
            assert "undefined" in line, line  # paths are censored: no plain mean
    assert main(TILTED + extra + ["--json"]) == 0
    fp = json.loads(capsys.readouterr().out)["first_passage"]
    assert fp["censored_fraction"] > 0 and fp["mean"]["value"] is None and "censored" in fp["mean"]["reason"]
    assert fp["restricted_mean"]["horizon"] == float(horizon)
    tm = fp["tail_mean"]
    assert abs(tm["value"] - exact) <= 5 * tm["std_err"] and "exp(−k t)" in tm["assumption"]
    assert fp["rate"]["lower"] <= fp["rate"]["rate"] <= fp["rate"]["upper"]
    assert "mean_time" not in fp


def test_uncensored_passage_prints_the_mean(capsys):
    assert main(["simulate", "--expr", "x**2/2", "--x0", "-1", "--sigma", "1.0", "--first-passage", "0",
                 "--T", "40", "--paths", "500", "--no-figure", "--no-progress", "--json"]) == 0
    fp = json.loads(capsys.readouterr().out)["first_passage"]
    assert fp["censored_fraction"] == 0 and fp["mean"]["value"] > 0 and fp["mean"]["std_err"] > 0


def test_2d_targets_from_the_cli_write_passage_png(tmp_path, capsys):
    base = ["simulate", "--expr", "(x**2-1)**2 + 2*y**2 + 0.3*x", "--x0", "-1", "0", "--sigma", "0.8",
            "--T", "3", "--paths", "500", "--no-progress", "--out", str(tmp_path)]
    assert main(base + ["--target-ball", "0.9", "0", "0.3"]) == 0
    text = capsys.readouterr().out
    assert "ball of radius 0.3" in text and "numba backend" in text and (tmp_path / "passage.png").exists()
    assert main(base + ["--target", "(x-0.9)**2 + y**2 < 0.09", "--json", "--no-figure"]) == 0
    fp = json.loads(capsys.readouterr().out)["first_passage"]
    assert fp["bridge"] == 0 and fp["passed"] > 0
    assert main(base + ["--target", "__import__('os') < 1"]) == 2
    assert main(base + ["--target-ball", "0.9", "0.3"]) == 2
    assert main(base + ["--first-passage", "1", "--coord", "5"]) == 2
