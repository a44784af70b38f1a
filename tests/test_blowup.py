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


# ---- the stability warning at the start of an ensemble run (dynopt.engine.region) ----

def _limit_message(dt, name, hl, limit, lam, take):
    return (f"`dt` = {dt} is beyond the linear stability limit of {name} at the start: "
            f"h·λ_max(∇²L(x₀)) = {hl} ≥ {limit} (λ_max = {lam}); the run measures the "
            f"instability, not the SDE: take dt < {take}")


@pytest.mark.parametrize("name", ["euler-maruyama", "milstein", "stochastic-heun", "leimkuhler-matthews"])
def test_overdamped_schemes_warn_from_h_lambda_two(name):
    """stability_warning: the overdamped schemes warn exactly from h·λ_max = 2, λ_max over the starts' Hessians."""
    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine.region import OVERDAMPED_LIMIT, stability_warning
    from dynopt.schemes import get_scheme

    assert OVERDAMPED_LIMIT[name] == 2.0
    m = OverdampedLangevin(quadratic(np.diag([4.0, 1.0])), 0.5)
    assert stability_warning(m, name, [1.0, 2.0], 0.5) == _limit_message("0.5", name, "2", "2", "4", "0.5")
    assert stability_warning(m, get_scheme(name), [1.0, 2.0], 0.5) == _limit_message("0.5", name, "2", "2", "4", "0.5")
    assert stability_warning(m, name, [1.0, 2.0], 0.6) == _limit_message("0.6", name, "2.4", "2", "4", "0.5")
    assert stability_warning(m, name, [1.0, 2.0], 0.49) is None


def test_stability_warning_reads_the_curvature_at_every_start():
    """stability_warning: λ_max is the largest Hessian eigenvalue over the start points (L'' = 3x² - 1 here)."""
    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine.region import stability_warning

    m = OverdampedLangevin(double_well(), 0.5)
    assert stability_warning(m, "euler-maruyama", [[0.0], [1.0]], 1.0) == _limit_message("1", "euler-maruyama", "2", "2",
                                                                                          "2", "1")
    assert stability_warning(m, "euler-maruyama", [[0.0], [1.0]], 0.99) is None
    assert stability_warning(m, "euler-maruyama", [0.0], 5.0) is None       # concave at the start: no limit
    assert stability_warning(m, "euler-maruyama", [[2.0], [0.0]], 0.2) == _limit_message(
        "0.2", "euler-maruyama", "2.2", "2", "11", "0.1818")


def test_kramers_and_other_schemes_warn_from_their_own_step():
    """stability_warning: without a known limit the scheme's noiseless step on L = λθ²/2 is run and a
    10-fold growth reported (h√λ = 2 for the splitting schemes); positions only enter λ."""
    from dynopt.dynamics import Kramers
    from dynopt.engine.region import GROWTH_STEPS, stability_warning

    assert GROWTH_STEPS == 2000
    k = Kramers(quadratic([[100.0]]), 1.0, 0.5)
    for name in ("baoab", "obabo", "aboba", "momentum-sgd"):
        assert stability_warning(k, name, [0.0, 0.0], 0.21) == (
            f"`dt` = 0.21 is beyond the linear stability limit of {name} at the start: without noise its "
            f"step grows the state on L = λθ²/2 with λ = λ_max(∇²L(x₀)) = 100 (h·λ = 21); "
            f"the run measures the instability, not the SDE: take a smaller dt")
        assert stability_warning(k, name, [0.0, 1e6], 0.19) is None
    assert stability_warning(k, "no-such-scheme", [0.0, 0.0], 0.5) is None  # the run refuses: no warning


def test_stability_warning_stays_silent_without_a_problem_or_a_step():
    """stability_warning: None without a problem, for a non-positive or non-numeric dt, a Hessian that
    fails or is not finite, or a model that is neither overdamped nor Kramers."""
    import dataclasses

    from dynopt.dynamics import GradientFlow, OverdampedLangevin
    from types import SimpleNamespace

    from dynopt.engine.region import _curvature, stability_warning

    q = quadratic([[100.0]])
    m = OverdampedLangevin(q, 0.5)
    assert stability_warning(m, "euler-maruyama", [0.0], 0.5) is not None
    for dt in (0, -0.5, "0.5", None):
        assert stability_warning(m, "euler-maruyama", [0.0], dt) is None
    assert stability_warning(object(), "euler-maruyama", [0.0], 0.5) is None
    assert stability_warning(GradientFlow(q), "euler", [0.0], 0.5) is None

    def boom(x):
        raise RuntimeError("no Hessian here")

    for hess in (None, boom, lambda x: np.full((len(x), 1, 1), np.inf)):
        p = dataclasses.replace(q, hess_fn=hess)
        assert np.isnan(_curvature(p, np.zeros((1, 1))))
        assert stability_warning(OverdampedLangevin(p, 0.5), "euler-maruyama", [0.0], 0.5) is None
    assert np.isnan(_curvature(SimpleNamespace(dim=1, hess=None), np.zeros((1, 1))))


def test_curvature_is_the_largest_eigenvalue_of_the_symmetric_part_over_sixteen_starts():
    """_curvature: max over (up to 16 distinct) starts of λ_max((H + Hᵀ)/2)."""
    import dataclasses

    from dynopt.engine.region import _curvature

    q = quadratic(np.eye(2))
    skew = dataclasses.replace(q, hess_fn=lambda x: np.array([[[1.0, 4.0], [0.0, 1.0]]] * len(x)))
    assert _curvature(skew, np.zeros((1, 2))) == pytest.approx(3.0, rel=1e-12)  # sym part [[1, 2], [2, 1]]
    seen = []

    def by_row(x):
        seen.append(len(x))
        return np.array([[[r[0], 0.0], [0.0, 0.0]] for r in x])

    starts = np.array([[float(i), 0.0] for i in range(20)] + [[3.0, 0.0]])
    assert _curvature(dataclasses.replace(q, hess_fn=by_row), starts) == 15.0 and seen == [16]
    assert _curvature(dataclasses.replace(q, hess_fn=by_row), starts[::-1]) == 15.0


def test_kramers_growth_is_judged_on_the_final_state_and_a_concave_start_is_silent():
    """stability_warning: a noiseless BAOAB just past h√λ = 2 grows its state ×50 in GROWTH_STEPS
    without blowing up (warned), ×0.5 just before (silent); a concave start gets no linearisation."""
    import dataclasses

    from dynopt.dynamics import Kramers
    from dynopt.engine.region import _curvature, stability_warning

    k = Kramers(quadratic([[100.0]]), 1.0, 0.5)
    assert stability_warning(k, "baoab", [0.0, 0.0], 0.20002) is not None
    assert stability_warning(k, "baoab", [0.0, 0.0], 0.20001) is None
    assert stability_warning(Kramers(double_well(), 1.0, 0.5), "baoab", [0.0, 0.0], 3.0) is None  # L''(0) = -1
    assert stability_warning(Kramers(double_well(), 1.0, 0.5), "baoab", [1.0, 0.0], 3.0) is not None
    q = quadratic(np.eye(2))
    part = dataclasses.replace(q, hess_fn=lambda x: np.array([[[1.0, 0.0], [0.0, np.inf]]] * len(x)))
    assert np.isnan(_curvature(part, np.zeros((1, 2))))


# ---- the escape region of a potential unbounded below (dynopt.engine.region.infer_region) ----

def _root(c4, c2, depth):
    """Positive t with c4·t⁴ - c2·t² = depth."""
    return float(np.sqrt((c2 + np.sqrt(c2 * c2 + 4 * c4 * depth)) / (2 * c4)))


def test_region_floor_and_radius_of_a_quartic_cliff():
    """infer_region: floor = L_ref - 1000·max(1, |L_ref|, kT), radius = where L first reaches it (or 2 × scale)."""
    from dynopt.dynamics import Kramers, OverdampedLangevin
    from dynopt.engine.region import MARGIN, REACH, infer_region
    from dynopt.problems import from_expr

    assert (MARGIN, REACH) == (1e3, 1e8)
    p = from_expr("-x**4 + x**2")
    r = infer_region(OverdampedLangevin(p, 0.8), [0.0])  # kT = 0.32 < 1
    assert r.floor == -1000.0 and r.dim == 1 and r.value == p.value
    assert r.radius == pytest.approx(_root(1, 1, 1000), rel=1e-12)
    assert r.describe() == "left the region L ≥ -1000, |y| ≤ 5.668 (L is unbounded below)"
    # the lowest start sets L_ref; a start beyond 1 sets the scale (radius at least twice it)
    r = infer_region(OverdampedLangevin(p, 0.8), [[0.5], [-0.2]])
    l_ref = -0.2 ** 4 + 0.2 ** 2
    assert r.floor == pytest.approx(l_ref - 1000, rel=1e-12)
    assert r.radius == pytest.approx(_root(1, 1, 1000 - l_ref), rel=1e-12)
    r = infer_region(OverdampedLangevin(p, 0.8), [3.0])
    assert r.floor == -72.0 - 72000.0 and r.radius == pytest.approx(_root(1, 1, 72072), rel=1e-12)
    # a large kT widens the margin: given, or the model's own temperature
    r = infer_region(OverdampedLangevin(p, 0.8), [0.0], temperature=2000.0)
    assert r.floor == -2e6 and r.radius == pytest.approx(_root(1, 1, 2e6), rel=1e-12)
    assert infer_region(OverdampedLangevin(p, 0.8), [0.0], temperature=float("nan")).floor == -1000.0
    assert infer_region(Kramers(p, 1.0, 80.0), [0.0, 0.0]).floor == -1000.0 * 3200.0
    assert infer_region(OverdampedLangevin(p, 80.0), [0.0]).floor == -1000.0 * 3200.0  # σ²/2


def test_region_radius_is_twice_the_scale_when_the_cliff_is_close():
    """infer_region: the radius never falls inside 2 × the starts' scale."""
    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine.region import infer_region
    from dynopt.problems import from_expr

    r = infer_region(OverdampedLangevin(from_expr("-1000000*x**4"), 0.5), [0.0])
    assert r.floor == -1000.0 and r.radius == 2.0  # L = -1000 already at |x| = 0.18
    r = infer_region(OverdampedLangevin(from_expr("-x**4/1000"), 0.5), [[0.0], [-3.0]])
    assert r.floor == pytest.approx(-0.081 - 1000.0, rel=1e-12)
    assert r.radius == pytest.approx((1000 * 1000.081) ** 0.25, rel=1e-12)
    # L = -exp(x²) from x = -3 reaches the floor at |x| ≈ 4, inside 2 × |-3|
    r = infer_region(OverdampedLangevin(from_expr("-exp(x**2)"), 0.5), [-3.0])
    assert r.floor == pytest.approx(-np.exp(9.0) * 1001, rel=1e-12) and r.radius == 6.0


def test_region_follows_the_diagonal_rays_in_two_dimensions():
    """infer_region: the axes and the diagonals ±(1, …, 1)/√d are probed; the first crossing wins."""
    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine.region import _directions, infer_region
    from dynopt.problems import from_expr

    np.testing.assert_allclose(_directions(1), [[1.0], [-1.0]])
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(_directions(2), [[1, 0], [0, 1], [-1, 0], [0, -1], [s, s], [-s, -s]], rtol=1e-15)
    r = infer_region(OverdampedLangevin(from_expr("-(x + y)**4 + x**2 + y**2"), 0.5), [0.0, 0.0])
    # along the diagonal L = -4t⁴ + t², on the axes -t⁴ + t²: the diagonal reaches -1000 first
    assert r.floor == -1000.0 and r.radius == pytest.approx(_root(4, 1, 1000), rel=1e-12) and r.dim == 2
    r = infer_region(OverdampedLangevin(from_expr("-x**4 + y**2"), 0.5), [0.0, 0.0])
    assert r.radius == pytest.approx(_root(1, 0, 1000), rel=1e-12)


def test_region_is_none_when_it_cannot_or_need_not_apply():
    """infer_region: None without a problem or value, for starts of the wrong width, a value that fails
    or is never finite at the starts, and a potential bounded below."""
    import dataclasses
    from types import SimpleNamespace

    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine.region import infer_region
    from dynopt.problems import from_expr

    p = from_expr("-x**4 + x**2 + y**2")
    m = OverdampedLangevin(p, 0.5)
    assert infer_region(m, [0.0, 0.0]) is not None
    assert infer_region(SimpleNamespace(), [0.0]) is None
    assert infer_region(SimpleNamespace(problem=SimpleNamespace(value=3, dim=1)), [0.0]) is None
    assert infer_region(m, [0.0]) is None  # one column for a 2-D problem

    def boom(x):
        raise RuntimeError("no bulk evaluation")

    assert infer_region(OverdampedLangevin(dataclasses.replace(p, value_fn=boom), 0.5), [0.0, 0.0]) is None
    nan = dataclasses.replace(p, value_fn=lambda x: np.full(len(x), np.nan))
    assert infer_region(OverdampedLangevin(nan, 0.5), [0.0, 0.0]) is None
    assert infer_region(OverdampedLangevin(p, 0.5), [[np.inf, 0.0], [0.0, 0.0]]).floor == -1000.0  # finite starts only
    assert infer_region(OverdampedLangevin(from_expr("x**4 - 1000000*x**2"), 0.5), [0.0]) is None


def test_region_reference_includes_the_known_minima():
    """infer_region: L_ref is the lowest value over the starts and the problem's known minima."""
    import dataclasses

    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine.region import infer_region
    from dynopt.problems import from_expr

    p = dataclasses.replace(from_expr("-x**4 + x**2"), minima=np.array([[2.0]]))  # L(2) = -12
    r = infer_region(OverdampedLangevin(p, 0.5), [0.0])
    assert r.floor == -12.0 - 12000.0 and r.radius == pytest.approx(_root(1, 1, 12012), rel=1e-12)
    empty = dataclasses.replace(p, minima=np.zeros((0, 1)))
    assert infer_region(OverdampedLangevin(empty, 0.5), [0.0]).floor == -1000.0


def test_region_escaped_rows():
    """Region.escaped: outside when a component exceeds the radius, L < floor, or the row is not finite."""
    from dynopt.engine.region import Region, _crossing

    reg = Region(floor=-4.0, radius=3.0, dim=1, value=lambda x: -x[:, 0] ** 2)
    y = np.array([[0.0, 0.0], [2.0, 0.0], [2.5, 0.0], [0.0, 3.0], [0.0, 3.5], [np.nan, 0.0], [1.0, -np.inf]])
    assert reg.escaped(y).tolist() == [False, False, True, False, True, True, True]
    assert reg.escaped(np.array([[3.5, 0.0]])).tolist() == [True]
    assert reg.escaped(np.zeros((0, 2))).tolist() == []
    radii = np.array([1.0, 2.0, 4.0])
    assert _crossing(lambda x: -x[:, 0] ** 2, np.array([1.0]), radii, np.array([True, True, True]), -0.5) == 1.0
    # L = -t² reaches -9 at t = 3, between the grid radii 2 and 4
    assert _crossing(lambda x: -x[:, 0] ** 2, np.array([1.0]), radii, np.array([False, False, True]), -9.0) == \
        pytest.approx(3.0, rel=1e-12)


def test_blowup_limit_is_the_factor_times_the_largest_scale():
    """blowup_limit/scale_limit: 10^12 × max(1, |y0|, |minima|, |center|) over finite values, capped."""
    from types import SimpleNamespace

    from dynopt.engine.validate import BLOWUP, scale_limit

    assert BLOWUP == 1e100 and BLOWUP_FACTOR == 1e12
    assert blowup_limit(SimpleNamespace(), np.array([[0.5, -0.25]])) == 1e12
    assert blowup_limit(SimpleNamespace(), np.array([[0.5, -30.0]])) == 3e13
    assert blowup_limit(SimpleNamespace(), np.zeros((0, 2))) == 1e12
    prob = SimpleNamespace(minima=np.array([[-7.0, 2.0]]), center=np.array([0.0, 5.0]))
    assert blowup_limit(SimpleNamespace(problem=prob), np.array([1.0])) == 7e12
    prob = SimpleNamespace(minima=np.array([[np.nan, 2.0]]), center=np.array([np.inf, 50.0]))
    assert blowup_limit(SimpleNamespace(problem=prob), np.array([1.0])) == 2e12  # the centre is not finite
    prob = SimpleNamespace(minima=np.zeros((0, 2)), center=np.array([-40.0]))
    assert blowup_limit(SimpleNamespace(problem=prob), np.array([1.0])) == 4e13
    assert blowup_limit(SimpleNamespace(), np.array([3.0]), ceiling=1e12) == 1e12
    assert scale_limit() == 1e12 and scale_limit(-5.0, np.nan, np.inf) == 5e12
    assert scale_limit(1e95) == BLOWUP and scale_limit(2.0, ceiling=1e10) == 1e10
    assert type(scale_limit(2, ceiling=10 ** 20)) is float


def test_ensemble_on_a_cliff_stops_escaped_paths_at_the_region_radius():
    """simulate/_limits: a potential unbounded below caps the blow-up limit at the region's radius and
    the note names the region."""
    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine import EnsembleOptions, simulate
    from dynopt.engine.ensemble import _limits
    from dynopt.engine.region import infer_region
    from dynopt.problems import from_expr

    m = OverdampedLangevin(from_expr("-x**4 + x**2"), 0.8)
    region = infer_region(m, [[0.0]])
    assert _limits(m, np.array([[0.0]]), 1e12) == (region.radius, region) and region.radius < 6
    assert _limits(m, np.array([[0.0]]), 3.0) == (3.0, region)
    assert _limits(OverdampedLangevin(double_well(), 0.8), np.array([[0.0]]), 1e12) == (1e12, None)
    r = simulate(m, "euler-maruyama", (0, 0.6), [0.0], 0.01, n_paths=400, seed=0, backend="numpy",
                 options=EnsembleOptions(progress=False))
    first = r.first_divergence_step
    assert r.n_diverged > 0 and first is not None
    assert (f"diverged (left the region L ≥ -1000, |y| ≤ 5.668 (L is unbounded below), or non-finite; first detected "
            f"at step {first}, checks every 16 steps)") in r.note
    assert np.all(np.abs(r.y_final[r.alive]) <= region.radius)
