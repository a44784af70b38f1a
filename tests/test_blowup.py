"""The blow-up rule of the ODE loop (10^12 × the run's scale, as for ensembles), the orbit
labels that rely on it, and order fits that never go through diverged rungs."""
import json

import numpy as np
import pytest

from dynopt.analysis import classify_orbits, compare, convergence_study
from dynopt.cli.main import main
from dynopt.dynamics import GradientFlow
from dynopt.engine import BLOWUP, integrate
from dynopt.engine.validate import BLOWUP_FACTOR, blowup_limit
from dynopt.problems import double_well, quadratic
from dynopt.schemes import Euler


def _stiff(center=None):
    """x' = −100 x (and a slow coordinate x' = −y): Euler with step γ multiplies the fast
    coordinate by 1 − 100γ per step."""
    return GradientFlow(quadratic(np.diag([100.0, 1.0]), center=center))


# ------------------------------------------------------------------ integrate's rule
def test_runaway_run_stops_at_the_scale_limit_with_its_step():
    # γ = 0.1: x_k = (−9)^k, |x_12| = 2.8e11 < 1e12 < |x_13| = 2.5e12
    sol = integrate(_stiff(), "euler", (0.0, 10.0), [1.0, 0.0], 0.1)
    assert sol.blowup_limit == BLOWUP_FACTOR == 1e12
    assert sol.diverged and sol.diverged_step == 13 and sol.n_steps == 13
    assert abs(sol.y_final[0, 0]) == pytest.approx(9.0 ** 13) and abs(sol.y_final[0, 0]) < 1e-80 * BLOWUP
    assert sol.diverged_paths.tolist() == [True]


def test_limit_scales_with_the_start_and_the_problem():
    sol = integrate(_stiff(), "euler", (0.0, 10.0), [1e3, 0.0], 0.1)
    assert sol.blowup_limit == 1e15 and sol.diverged_step == 13  # 10^3·9^k passes 10^15 at k = 13
    centred = _stiff(center=[0.0, 1e4])
    assert integrate(centred, "euler", (0.0, 1.0), [0.0, 1e4], 0.01).blowup_limit == 1e16
    assert blowup_limit(centred, np.array([[0.0, 1e4]])) == blowup_limit(centred, np.array([[0.0, 1e4]]), BLOWUP)
    assert blowup_limit(centred, np.array([[1e95, 0.0]])) == BLOWUP  # the global bound caps it


def test_finished_run_and_the_diverged_paths():
    ok = integrate(_stiff(), "euler", (0.0, 1.0), [1.0, 1.0], 0.001)
    assert not ok.diverged and ok.diverged_paths is None and ok.n_steps == 1000
    # the path at rest at the minimum stays there; the other runs away and stops the run
    sol = integrate(_stiff(), "euler", (0.0, 10.0), [[0.0, 0.0], [1.0, 0.0]], 0.1)
    assert sol.diverged_step == 13 and sol.diverged_paths.tolist() == [False, True]


# ------------------------------------------------------------------ orbit labels
def test_orbit_labels_follow_the_orbits_not_the_bound():
    # GD with step 0.3 on x⁴/4 − x²/2: an orbit either settles (at ±1) or runs away like a
    # cubic map; the labels must be those of the plain iteration (whose runaways overflow)
    starts = np.linspace(-4, 4, 161)
    labels, tails = classify_orbits(GradientFlow(double_well(1)), Euler(), 0.3, starts, n_steps=300)
    x = starts.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(300):
            x = x - 0.3 * (x ** 3 - x)
    runaway = ~(np.abs(x) <= BLOWUP)
    assert runaway.any() and (~runaway).any()
    assert np.array_equal(labels == -1, runaway)
    assert np.all(labels[~runaway] >= 0)  # converged (0) or a cycle: never undetermined here
    last = tails[~runaway, -1]
    assert np.all(np.isclose(np.abs(last), 1.0) | (last == 0.0))  # the minima ±1, or the start 0 at rest


# ------------------------------------------------------------------ order fits
def test_order_is_fitted_through_the_finished_rungs_only():
    # γ = 0.2 and 0.1 run away (factors 19 and 9 per step); γ ≤ 0.005 converge at order 1
    res = convergence_study(_stiff(), "euler", [1.0, 1.0], 2.0, [10, 20, 400, 800, 1600])
    assert res.errors[:2] == [None, None] and all(e is not None for e in res.errors[2:])
    assert res.diverged == {0.2: 10, 0.1: 13}
    assert res.fit is not None and res.fit.n == 3 and res.fit.order == pytest.approx(1.0, abs=0.05)
    assert "diverged rungs, not fitted" in res.note and "0.2 → 10" in res.note


def test_no_order_through_runaway_rungs():
    (r,) = compare(["rosenbrock"], ["euler"], T=10, ladder=[2, 3, 4, 5, 6, 7])
    assert r.fit is None and len(r.diverged) == 5 and all(k == 3 for k in r.diverged.values())
    assert all(e < 1e12 for e in r.errors if e is not None)
    d = r.as_dict()
    assert d["order"] is None and d["order_ci"] is None and d.get("order_outside_regime") is None
    assert "no order fitted: 1 of 6 rungs finished" in d["order_undefined"]
    with pytest.raises(ValueError, match="`ladder` must hold at least 3"):
        compare(["rosenbrock"], ["euler"], ladder=[10, 20])
    with pytest.raises(ValueError, match=r"`ladder\[1\]` must be a positive integer"):
        compare(["rosenbrock"], ["euler"], ladder=[10, 0, 20])


ARGV = ["compare", "--problems", "rosenbrock", "--schemes", "euler", "--T", "1",
        "--steps", "2", "3", "4", "5", "6", "7", "--no-figures"]


def test_cli_compare_reports_diverged_rungs_and_exits_1(capsys):
    assert main(ARGV) == 1
    out, err = capsys.readouterr()
    assert "order undefined" in out and "diverged at step k): 0.25 → 4, 0.2 → 4, 0.166667 → 5, 0.142857 → 5" in out
    assert len(err.strip().splitlines()) == 1 and "rosenbrock/euler (2 of 6 rungs finished, 4 diverged)" in err
    assert main(ARGV + ["--json"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert row["order"] is None and row["diverged"] == {"0.25": 4, "0.2": 4, "0.166667": 5, "0.142857": 5}
    assert row["errors"][2:] == [None] * 4 and "2 of 6 rungs finished" in row["order_undefined"]


@pytest.mark.parametrize("steps, needle", [(["10", "20"], "at least 3 step counts"),
                                           (["0", "10", "20"], "`--steps` must be a positive integer")])
def test_cli_compare_checks_steps_before_running(capsys, steps, needle):
    assert main(["compare", "--problems", "rosenbrock", "--schemes", "euler", "--no-figures",
                 "--steps", *steps]) == 2
    err = capsys.readouterr().err
    assert "`--steps`" in err and needle in err and len(err.strip().splitlines()) == 1


def test_cli_compare_figures_with_every_rung_diverged_warn_nothing(tmp_path, capsys):
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        assert main(["compare", "--problems", "rosenbrock", "--schemes", "euler", "--steps", "10", "20", "30",
                     "--out", str(tmp_path / "fig"), "--no-work-precision"]) == 1
    assert (tmp_path / "fig" / "orders-rosenbrock.png").stat().st_size > 1000
