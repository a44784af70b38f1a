"""compare on a researcher's own input: the horizon from the problem's time scales, the wall-time
budget, orders fitted through the asymptotic rungs with an interval that covers the slopes'
trend, the early stop when the slopes settle on another order, and its figures."""
import json
import re
import math
import textwrap
import time

import numpy as np
import pytest

import dynopt.cli.compare as cli_compare
from dynopt.analysis import compare, convergence_study
from dynopt.analysis.orders import ConvergenceResult, fit_order
from dynopt.analysis.regime import (ASYMPTOTIC_TOLERANCE, default_horizon, fastest_rate, regime_check,
                                    trend_interval)
from dynopt.cli.main import main
from dynopt.cli.user_input import parse_expr
from dynopt.dynamics import GradientFlow
from figure_layout import layout_problems

#: Müller–Brown (1979) with its published decimal parameters
MULLER_BROWN = ("-200*exp(-(x-1)**2 - 10*y**2) - 100*exp(-x**2 - 10*(y-0.5)**2)"
                " - 170*exp(-6.5*(x+0.5)**2 + 11*(x+0.5)*(y-1.5) - 6.5*(y-1.5)**2)"
                " + 15*exp(0.7*(x+1)**2 + 0.6*(x+1)*(y-1) + 0.7*(y-1)**2)")
NESTEROV_CASE = "log(1+x**2) + (y - sin(x))**2/2 + y**4/10"

QHM_SOURCE = textwrap.dedent('''
    from typing import NamedTuple

    import numpy as np

    from dynopt.dynamics import HeavyBall
    from dynopt.schemes.base import Scheme


    class QHM(Scheme):
        """Quasi-hyperbolic momentum: g <- βg + (1 − β)∇L(θ), θ <- θ − α((1 − ν)∇L(θ) + νg) with
        β = 1 − λγ, α = γ/λ.  For ν < 1 the plain-gradient part moves θ by O(γ) per step, so the
        declaration below (order 1 for the damped system) is wrong."""

        class State(NamedTuple):
            q: np.ndarray
            g: np.ndarray
            grad_evals: int

        name = "qhm"
        approximates = (HeavyBall,)
        order = 1
        nu = 0.7

        def init(self, model, y0, dt):
            return self.State(y0[:, : model.d].copy(), np.zeros_like(y0[:, : model.d]), 0)

        def step(self, model, t, s, dt):
            lam = model.friction
            beta, alpha = 1.0 - lam * dt, dt / lam
            G = -model.force(s.q)
            g = beta * s.g + (1.0 - beta) * G
            return self.State(s.q - alpha * ((1.0 - self.nu) * G + self.nu * g), g, s.grad_evals + 1)

        def output(self, model, s):
            return np.concatenate([s.q, -s.g / model.friction], axis=1)
''')


def _result(steps, errors, declared=1):
    fit = fit_order(steps, errors)
    return ConvergenceResult("p", "s", "ode", 1.0, list(steps), list(errors), [1] * len(steps), fit, "given",
                             declared_order=declared)


# ---------------------------------------------------------------- the regime check
def test_trend_interval_covers_the_limit_of_contracting_slopes():
    slopes = [1 - 0.3 * 0.7 ** k for k in range(6)]
    lo, hi = trend_interval(slopes[-3:], (0.95, 0.96))
    assert lo <= 0.95 and hi >= 1.0  # the regression interval alone misses the limit 1
    # without a contracting trend only the slopes and the interval are covered
    assert trend_interval([1.0, 1.02, 0.99], (0.99, 1.01)) == (0.99, 1.02)


def test_pre_asymptotic_ladder_is_fitted_on_its_tail():
    # e = h(1 + 20h): local slopes drift from ~1.6 towards 1 as h shrinks
    h = 0.05 / np.sqrt(2.0) ** np.arange(10)
    check = regime_check(_result(h, h * (1 + 20 * h)))
    assert check.asymptotic_fit is not None and len(check.asymptotic_steps) >= 4
    assert min(check.asymptotic_steps) == pytest.approx(h[-1])
    tail = check.local_slopes[-(len(check.asymptotic_steps) - 1):]
    assert max(tail) - min(tail) <= 2 * ASYMPTOTIC_TOLERANCE
    lo, hi = check.asymptotic_fit.ci
    assert lo <= 1 <= hi and check.ok, check.reasons
    # the fit through every rung is far from 1 and its interval excludes it: the trap avoided
    whole = fit_order(h, h * (1 + 20 * h))
    assert not whole.ci[0] <= 1 <= whole.ci[1]


def test_drifting_slopes_are_not_a_regime():
    h = 0.1 / 2.0 ** np.arange(5)
    check = regime_check(_result(h, h * (1 + 50 * h)))
    assert not check.ok and any("not yet asymptotic" in r for r in check.reasons)


def test_slopes_settled_on_another_order_are_named():
    h = 0.1 / np.sqrt(2.0) ** np.arange(6)
    check = regime_check(_result(h, 0.3 + 1e-3 * h))
    assert not check.ok and check.settled_elsewhere == pytest.approx(0.0, abs=0.05)
    assert any("consistent with order 0 of another equation" in r for r in check.reasons)


def test_rungs_at_the_floor_are_left_out():
    h = 0.01 / np.sqrt(2.0) ** np.arange(8)
    e = np.maximum(1e-2 * h ** 4, 3e-14)
    check = regime_check(_result(h, e, declared=4))
    assert len(check.at_floor) == 4 and min(check.asymptotic_steps) == pytest.approx(h[3])
    assert check.ok and check.asymptotic_fit.order == pytest.approx(4, abs=0.01)


# ---------------------------------------------------------------- the horizon
def test_horizon_from_the_fastest_time_scale():
    p = parse_expr(MULLER_BROWN)
    m = GradientFlow(p)
    rho = fastest_rate(m, [-0.5, 1.5])
    assert rho == pytest.approx(np.max(np.abs(np.linalg.eigvalsh(p.hess(np.array([[-0.5, 1.5]]))))), rel=1e-9)
    assert default_horizon(m, [-0.5, 1.5]) == pytest.approx(2 / rho)
    # a slow problem keeps the horizon 1
    assert default_horizon(GradientFlow(parse_expr("0.1*x**2")), [1.0]) == 1.0
    # without a Hessian the Jacobian comes from differences of the drift: ρ = 8, and √8 for the damped system
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import from_grad
    q = from_grad(lambda x: np.column_stack([8 * x[:, 0], 2 * x[:, 1]]), 2)
    assert fastest_rate(GradientFlow(q), [1.0, 1.0]) == pytest.approx(8, rel=1e-6)
    assert fastest_rate(HeavyBall(q, 1.0), [1.0, 1.0]) == pytest.approx(np.sqrt(8), rel=1e-6)


def test_muller_brown_orders_without_a_horizon():
    p = parse_expr(MULLER_BROWN)
    tic = time.perf_counter()
    res = {r.scheme: r for r in compare([p], ["euler", "heun"], x0=(-0.5, 1.5))}
    assert time.perf_counter() - tic < 60
    for name, order in (("euler", 1), ("heun", 2)):
        r = res[name]
        assert r.in_regime, r.regime.reasons
        assert r.fit.ci[0] <= order <= r.fit.ci[1] and abs(r.fit.order - order) < ASYMPTOTIC_TOLERANCE
        assert min(e for e in r.errors if e) > 1e3 * 1e-12  # far above the reference's floor
        assert r.T < 1e-2  # two stiff time scales, not the old T = 1


def test_nesterov_case_interval_holds_one_or_is_flagged():
    """log(1+x²) + (y − sin x)²/2 + y⁴/10 from (−1, 2) at T = 1: local slopes creep from 0.72 to 0.94
    over the first ladder; a regression through it reports ≈ 0.86 with an interval that excludes 1."""
    p = parse_expr(NESTEROV_CASE)
    (r,) = compare([p], ["nesterov"], x0=(-1.0, 2.0), T=1.0, budget=None)
    first = [(h, e) for h, e in zip(r.steps[:6], r.errors[:6])]
    old = fit_order(*zip(*first))
    assert not old.ci[0] <= 1 <= old.ci[1]  # what a plain regression reported
    assert (r.fit.ci[0] <= 1 <= r.fit.ci[1]) or not r.in_regime
    assert r.regime.asymptotic_steps and min(r.regime.asymptotic_steps) == pytest.approx(min(r.steps))


def test_budget_stops_the_growth_and_says_so():
    p = parse_expr(NESTEROV_CASE)
    # four rungs: slopes 0.72, 0.82, 0.87 are still drifting, so the ladder would grow
    (r,) = compare([p], ["nesterov"], x0=(-1.0, 2.0), T=1.0, budget=1e-3, n_points=4)
    assert len(r.steps) == 4  # the first ladder always runs; no rung more
    assert not r.in_regime and any("time budget" in s for s in r.regime.reasons)
    with pytest.raises(ValueError, match="`budget`"):
        compare([p], ["nesterov"], x0=(-1.0, 2.0), budget=-1)
    (r,) = compare([p], ["nesterov"], x0=(-1.0, 2.0), T=1.0, budget=None, n_points=4)
    assert len(r.steps) > 4 and r.in_regime


def test_qhm_from_a_file_is_inconsistent_with_its_declaration(tmp_path, monkeypatch, capsys):
    (tmp_path / "qhm.py").write_text(QHM_SOURCE)
    monkeypatch.chdir(tmp_path)
    tic = time.perf_counter()
    code = main(["compare", "--expr", MULLER_BROWN, "--x0", "-0.5", "1.5", "--schemes", "qhm.py:QHM",
                 "--no-figures", "--json"])
    assert time.perf_counter() - tic <= 60
    assert code == 0
    (d,) = json.loads(capsys.readouterr().out)
    assert d["order"] is None and abs(d["order_outside_regime"]) < 0.2
    assert d["regime"]["settled_elsewhere"] is not None
    assert any("another equation" in r for r in d["regime"]["reasons"])


# ---------------------------------------------------------------- figures
def _captured(monkeypatch):
    figs = {}

    def save(fig, path):
        from dynopt.plotting import tidy_figure
        tidy_figure(fig)
        figs[str(path)] = (fig, layout_problems(fig, draw=False), [a.get_title() for a in fig.axes],
                           fig._suptitle.get_text() if fig._suptitle else "")

    monkeypatch.setattr(cli_compare, "save_figure", save)
    return figs


def test_compare_figure_of_an_expression(tmp_path, monkeypatch):
    figs = _captured(monkeypatch)
    expr = "(x**2-1)**2 + 2*y**2 + 0.3*x"
    assert main(["compare", "--expr", expr, "--x0", "1.5", "0.5", "--schemes", "leapfrog", "nesterov",
                 "--out", str(tmp_path)]) == 0
    ((path, (fig, problems, titles, sup)),) = figs.items()
    assert path.endswith(f"orders-{cli_compare.figure_slug(expr)}.png") and "custom" not in path
    assert problems == []
    assert len(fig.axes) == 1 and "θ''+λθ'" in titles[0]  # no empty gradient-flow panel
    assert sup.startswith("L = ") and "x" in sup
    # another expression gets another file; --name names it
    assert cli_compare.figure_slug(expr) != cli_compare.figure_slug(expr + " + y")
    figs.clear()
    assert main(["compare", "--expr", expr, "--x0", "1.5", "0.5", "--schemes", "euler", "--name", "tilted well",
                 "--out", str(tmp_path)]) == 0
    ((path, (fig, problems, titles, sup)),) = figs.items()
    assert "orders-tilted-well-" in path and problems == [] and sup.startswith("tilted well: L = ")


def test_floor_is_a_band_not_points():
    from dynopt.plotting import orders_figure, plt
    h = 0.01 / np.sqrt(2.0) ** np.arange(8)
    r = _result(h, np.maximum(1e-2 * h ** 4, 3e-14), declared=4)
    fig = orders_figure([([r], "rk4")], floor=1e-12)
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("s")]
    assert min(line.get_ydata()) >= 1e-12 and len(line.get_ydata()) < len(h)
    assert any("floor" in t.get_text() for t in ax.get_legend().get_texts())
    assert layout_problems(fig) == []
    plt.close(fig)


def test_simulate_density_figure_of_an_expression(tmp_path, monkeypatch):
    import dynopt.plotting as plotting
    from dynopt.cli.simulate import run
    figs = {}

    def save(fig, path):
        plotting.tidy_figure(fig)
        figs[str(path)] = (fig, layout_problems(fig, draw=False))

    monkeypatch.setattr(plotting, "save_figure", save)
    expr = "(x**2-1)**2 + 2*y**2 + 0.3*x"
    run(parse_expr(expr), sigma=1.0, T=2.0, dt=0.01, n_paths=2000, seed=3, x0=[1.0, 0.0], progress=False,
        figure=tmp_path / "density.png", backend="numpy")
    ((fig, problems),) = figs.values()
    assert problems == []
    heat, *margs = fig.axes[:1] + [a for a in fig.axes[1:] if a.get_label() != "<colorbar>"]
    assert (heat.get_xlabel(), heat.get_ylabel()) == ("x", "y")
    assert [a.get_xlabel() for a in margs] == ["x", "y"]
    assert "L = " in fig._suptitle.get_text() and "custom" not in fig._suptitle.get_text()
    (cs,) = [c for c in heat.collections if hasattr(c, "levels")]
    levels = np.asarray(cs.levels)
    assert levels.min() > 0 and np.allclose(np.diff(np.log10(levels)), 0.5)  # half decades, none at 0
    assert levels.max() / levels.min() == pytest.approx(10 ** 5.5)


def test_cli_budget_is_checked_and_reported(capsys):
    assert main(["compare", "--expr", "x**2", "--x0", "1", "--schemes", "euler", "--budget", "0",
                 "--no-figures"]) == 2
    assert "`--budget` must be a finite number of seconds > 0" in capsys.readouterr().err
    assert main(["compare", "--expr", "x**2", "--x0", "1", "--schemes", "euler", "--no-figures"]) == 0
    assert "s of the 60 s budget" in capsys.readouterr().out


def test_a_newly_registered_problem_is_compared(monkeypatch):
    """compare takes every registered name: one without a declared setup runs from the caller's x0,
    one declaring a ComparisonSetup joins the default set."""
    import dataclasses

    from dynopt.analysis import standard_problems
    from dynopt.problems import PROBLEMS, ComparisonSetup, from_expr

    monkeypatch.setitem(PROBLEMS, "quartic-bowl", lambda: from_expr("x**2/2 + x**4/4", name="quartic-bowl"))
    with pytest.raises(ValueError, match="`x0` is required"):
        compare(problems=["quartic-bowl"], schemes=["euler"])
    (res,) = compare(problems=["quartic-bowl"], schemes=["euler"], x0=[1.0], budget=30)
    assert res.problem == "quartic-bowl"
    assert res.regime.ok and abs(res.fit.order - 1) < 0.1, (res.regime.reasons, res.fit)
    assert "quartic-bowl" not in standard_problems()

    setup = ComparisonSetup((1.0,), 0.5, {"default": 32})
    monkeypatch.setitem(PROBLEMS, "quartic-bowl",
                        lambda: dataclasses.replace(from_expr("x**2/2 + x**4/4", name="quartic-bowl"),
                                                    comparison=setup))
    assert standard_problems()["quartic-bowl"] == setup
    (res,) = compare(problems=["quartic-bowl"], schemes=["heun"])
    assert res.T == 0.5 and round(res.T / max(res.steps)) == 32


def test_default_schemes_are_the_registered_ones_compare_can_pair(monkeypatch):
    """standard_schemes reads METHODS: a newly registered scheme of gradient flow joins it, and every
    listed scheme accepts the model compare pairs it with while no other registered scheme does."""
    from dynopt.analysis import model_for, standard_schemes
    from dynopt.problems import get_problem
    from dynopt.schemes import METHODS, Euler

    class MyEuler(Euler):
        name = "my-euler"

    monkeypatch.setitem(METHODS, "my-euler", MyEuler)
    names = standard_schemes()
    assert "my-euler" in names and "euler-maruyama" not in names and "baoab" not in names
    problem = get_problem("quadratic")
    for name, cls in METHODS.items():
        accepts = isinstance(model_for(name, problem), cls.approximates)
        assert accepts == (name in names), name


def test_regime_check_of_an_exact_power_law_whole():
    """e = 3h² declared 2: every slope 2, all rungs asymptotic, no reasons; the whole RegimeCheck and its
    as_dict built here."""
    from dynopt.analysis.regime import RegimeCheck
    h = [0.1 / 2 ** k for k in range(5)]
    res = _result(h, [3 * x ** 2 for x in h], declared=2)
    c = regime_check(res)
    assert isinstance(c, RegimeCheck) and c.ok and c.reasons == []
    np.testing.assert_allclose(c.local_slopes, [2.0] * 4, rtol=1e-12)
    assert (c.tolerance, c.beyond_stability, c.stability_limit, c.settled_elsewhere, c.at_floor,
            c.settle_tolerance) == (0.2, [], None, None, [], 0.05)
    assert c.asymptotic_steps == h
    want_fit = fit_order(h, [3 * x ** 2 for x in h])
    lo, hi = min(want_fit.ci[0], *c.local_slopes), max(want_fit.ci[1], *c.local_slopes)
    assert c.asymptotic_fit.order == pytest.approx(2.0, rel=1e-12) and c.asymptotic_fit.ci == (lo, hi)
    assert c.as_dict() == {
        "ok": True, "local_slopes": [round(s, 4) for s in c.local_slopes], "tolerance": 0.2,
        "beyond_stability": [], "stability_limit": None, "reasons": [],
        "asymptotic_steps": [float(f"{x:.6g}") for x in h], "settled_elsewhere": None, "at_floor": [],
        "settle_tolerance": 0.05,
        "asymptotic_fit": {"order": 2.0, "ci": [round(lo, 4), round(hi, 4)], "n": 5}}


def test_regime_check_reasons_word_for_word():
    """Each failure names itself: rungs beyond the limit (strictly larger), an order off the declaration
    (settled elsewhere with ≥ 3 slopes, or a short ladder), an interval excluding it, too few rungs,
    rungs at the floor, diverged rungs."""
    h = [0.1 / 2 ** k for k in range(5)]
    e2 = [3 * x ** 2 for x in h]
    c = regime_check(_result(h, e2, declared=2), limit=0.05)
    assert c.beyond_stability == [0.1] and c.stability_limit == 0.05 and not c.ok
    assert c.reasons == ["1 rung(s) beyond the stability limit γ ≤ 0.05"]
    assert regime_check(_result(h, e2, declared=2), limit=0.1).ok
    off = regime_check(_result(h, e2, declared=1))
    assert off.settled_elsewhere == pytest.approx(2.0, rel=1e-12)
    assert off.reasons == ["asymptotic order 2.00 differs from the declared order 1 by more than 0.2 "
                           "(consistent with order 2 of another equation than ode?)"]
    short = regime_check(_result(h[:3], e2[:3], declared=1))
    assert short.settled_elsewhere is None and short.asymptotic_steps == h[:3]
    assert short.reasons == ["asymptotic order 2.00 differs from the declared order 1 by more than 0.2 "
                             "(pre-asymptotic ladder, or a wrong declaration)"]
    assert regime_check(_result(h, e2, declared=1), tolerance=1.5).reasons[0].startswith("the interval [2.000, 2.000]")
    near = regime_check(_result(h, [x ** 1.1 for x in h], declared=1))
    assert near.reasons == ["the interval [1.100, 1.100] of the asymptotic order (its 95% confidence interval and "
                            "the limit its local slopes trend to) excludes the declared order 1: the ladder is not "
                            "yet asymptotic, or the declaration is wrong"]
    two = ConvergenceResult("p", "s", "ode", 1.0, h[:3], [0.1, 0.05, 1e-13], [1] * 3, None, "given", declared_order=1)
    c2 = regime_check(two)
    assert c2.at_floor == [h[2]] and c2.asymptotic_fit is None and c2.local_slopes == [pytest.approx(1.0)]
    assert c2.reasons == ["no order fitted: 2 rung(s) with an error above 1e-12 (1 at the reference's floor)"]
    none_at_floor = ConvergenceResult("p", "s", "ode", 1.0, h[:3], [0.1, None, 0.0], [1] * 3, None, "given",
                                      declared_order=1, diverged={h[1]: 4})
    c3 = regime_check(none_at_floor)
    assert c3.reasons == ["no order fitted: 1 rung(s) with an error above 1e-12", "diverged rungs"]
    assert c3.local_slopes == [] and c3.at_floor == []


def test_regime_check_undeclared_order_and_settle_tolerance():
    """Without a declared order only the slopes are judged; a looser settle_tolerance accepts a drifting ladder."""
    h = 0.1 / 2.0 ** np.arange(5)
    drift = h * (1 + 50 * h)
    assert not regime_check(_result(h, drift)).ok
    loose = regime_check(_result(h, drift), settle_tolerance=1.0, tolerance=1.0)
    assert loose.settle_tolerance == 1.0 and loose.tolerance == 1.0 and loose.asymptotic_fit is not None
    free = regime_check(_result(h, 3 * h ** 2.5, declared=None))
    assert free.ok and free.asymptotic_fit.order == pytest.approx(2.5, rel=1e-12) and free.settled_elsewhere is None


def test_regime_check_floor_limit_rounding_and_half_orders():
    """An error exactly at the floor is fitted (only errors below it are left out); the limit is rounded to
    4 decimals in as_dict; an order settled at 1.5 is named as the half-integer 1.5."""
    from dynopt.analysis.regime import FIT_FLOOR
    h = [0.1 / 2 ** k for k in range(4)]
    e = [FIT_FLOOR * 8.0, FIT_FLOOR * 4.0, FIT_FLOOR * 2.0, FIT_FLOOR]
    at = regime_check(_result(h, e, declared=1))
    assert at.at_floor == [] and at.ok and at.asymptotic_steps == h
    below = regime_check(_result(h, [x * 0.999 for x in e], declared=1))
    assert below.at_floor == [h[3]]
    c = regime_check(_result(h, [x ** 2 for x in h], declared=2), limit=0.123456)
    assert c.as_dict()["stability_limit"] == 0.1235 and c.ok
    half = regime_check(_result(h, [x ** 1.5 for x in h], declared=3))
    assert "(consistent with order 1.5 of another equation than ode?)" in half.reasons[0]


def _grow_case():
    from dynopt.dynamics import GradientFlow as GF
    from dynopt.problems import quadratic
    return GF(quadratic([[1.0]])), np.array([[np.exp(-1.0)]])


def test_grow_adds_finer_pairs_until_the_check_passes():
    """A pre-asymptotic ladder grows by (round(N√2), 2N) from its finest N until the regime check passes,
    and not a pair longer; grow=False runs the ladder as given."""
    from dynopt.analysis.comparison import _grow
    from dynopt.analysis.regime import regime_check as check_of
    model, ref = _grow_case()
    for scheme in ("euler", "rk4"):
        res, check = _grow(model, scheme, np.array([1.0]), 1.0, [2, 3, 4], ref, "q", None, True, None, 60.0)
        ns = [round(1 / h) for h in res.steps]
        want = [2, 3, 4]
        while len(want) < len(ns):
            want += [int(round(want[-1] * math.sqrt(2))), 2 * want[-1]]
        assert ns == want and len(ns) > 3 and check.ok
        shorter = convergence_study(model, scheme, [1.0], 1.0, ns[:-2], reference=ref)
        assert not check_of(shorter).ok
        assert res.problem == "q" and res.scheme == scheme
        flat, fcheck = _grow(model, scheme, np.array([1.0]), 1.0, [2, 3, 4], ref, "q", None, False, None, 60.0)
        assert [round(1 / h) for h in flat.steps] == [2, 3, 4] and not fcheck.ok
        assert fcheck == check_of(convergence_study(model, scheme, [1.0], 1.0, [2, 3, 4], reference=ref))


def test_grow_turns_coarser_at_the_floor_and_respects_half_the_limit():
    """Errors near the reference's floor: coarser pairs (round(N/√2), N/2) from the coarsest N, only steps
    within half the stability limit; none left stops the growth."""
    from dynopt.analysis.comparison import _grow
    model, ref = _grow_case()
    res, check = _grow(model, "rk4", np.array([1.0]), 1.0, [256, 362, 512], ref, "q", None, True, None, 60.0)
    assert [round(1 / h) for h in res.steps] == [256, 362, 512, 181, 128, 91, 64] and check.ok
    lim, lcheck = _grow(model, "rk4", np.array([1.0]), 1.0, [256, 362, 512], ref, "q", 0.012, True, None, 60.0)
    assert [round(1 / h) for h in lim.steps] == [256, 362, 512, 181] and not lcheck.ok


def test_grow_stops_at_the_budget_share_and_says_so():
    """A share too small for the next pair stops the growth with its reason, naming the pair and the budget."""
    from dynopt.analysis.comparison import _grow
    model, ref = _grow_case()
    res, check = _grow(model, "euler", np.array([1.0]), 1.0, [2, 3, 4], ref, "q", None, True, 0.0, 60.0)
    assert [round(1 / h) for h in res.steps] == [2, 3, 4]
    assert check.reasons[-1] == ("ladder not grown further: the next rungs (N = 6, 8) would exceed this pair's "
                                 "share (0 s) of the time budget (60 s)")
    big, bcheck = _grow(model, "euler", np.array([1.0]), 1.0, [2, 3, 4], ref, "q", None, True, 1e6, 60.0)
    assert len(big.steps) > 3 and bcheck.ok


def test_grow_stops_when_slopes_settle_elsewhere_or_nothing_coarser_fits():
    """Slopes settled on another order than declared: no growth (finer rungs would not help); errors below
    1e3 × the floor count as near it (growth turns coarser, here blocked by the limit)."""
    from dynopt.analysis.comparison import _grow
    from dynopt.schemes import Euler

    class MisdeclaredEuler(Euler):
        order = 2
    model, ref = _grow_case()
    res, check = _grow(model, MisdeclaredEuler(), np.array([1.0]), 1.0, [64, 90, 128, 181], ref, "q", None, True,
                       None, 60.0)
    assert [round(1 / h) for h in res.steps] == [64, 90, 128, 181]
    assert check.settled_elsewhere == pytest.approx(1.0, abs=0.05) and not check.ok
    # rk4 from N = 32: finest error ≈ 1.9e-10 (< 1e-9 = 1e3 × floor); the limit 0.025 flags 1/32 and leaves
    # no coarser step within half of it
    near, ncheck = _grow(model, "rk4", np.array([1.0]), 1.0, [32, 45, 64], ref, "q", 0.025, True, None, 60.0)
    assert 1e-10 < min(near.errors) < 1e-9
    assert [round(1 / h) for h in near.steps] == [32, 45, 64] and not ncheck.ok


def test_compare_standard_problem_runs_its_declared_setup():
    """The registered quadratic: its x0, T and per-scheme N0 ladder (N0·√2^k), the exact (expm) reference, the
    errors of convergence_study on that ladder; n_points, T, x0, ladder and friction override them."""
    from dynopt.analysis import exact_linear
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import get_problem
    p = get_problem("quadratic")
    (r,) = compare(["quadratic"], ["euler"], budget=None)
    ladder = [int(round(64 * 2 ** (k / 2))) for k in range(6)]
    assert [round(1 / h) for h in r.steps] == ladder and r.T == 1.0 and r.problem == "quadratic"
    assert r.reference == "expm" and r.regime is not None
    model = GradientFlow(p)
    ref = exact_linear(model, [1.0, -1.0], [1.0])[0]
    direct = convergence_study(model, "euler", [1.0, -1.0], 1.0, ladder, reference=ref[0])
    np.testing.assert_allclose(r.errors, direct.errors, rtol=1e-12)
    (r4,) = compare(["quadratic"], ["heun"], n_points=4, T=0.5, x0=[0.5, 0.5], budget=None)
    assert [round(0.5 / h) for h in r4.steps] == [32, 45, 64, 91] and r4.T == 0.5
    ref4 = exact_linear(model, [0.5, 0.5], [0.5])[0][0]
    np.testing.assert_allclose(r4.errors, convergence_study(model, "heun", [0.5, 0.5], 0.5, [32, 45, 64, 91],
                                                            reference=ref4).errors, rtol=1e-12)
    (rl,) = compare([p], ["leapfrog"], ladder=[8, 16, 32], friction=0.5, budget=None)
    assert [round(1 / h) for h in rl.steps] == [8, 16, 32] and rl.ode == HeavyBall(p, 0.5).name
    assert rl.problem == p.name
    (rd,) = compare([p], ["leapfrog"], ladder=[8, 16, 32], budget=None)
    assert rd.ode == HeavyBall(p, 1.0).name != rl.ode


def test_compare_refusals_word_for_word():
    """Unknown problems and schemes, a problem without setup and no x0, a bad x0, T, ladder or budget."""
    from dynopt.problems import PROBLEMS
    with pytest.raises(ValueError, match=r"`problems` entries must be Problem objects or one of "
                                         + re.escape(repr(sorted(PROBLEMS))) + r"; got 'nope'"):
        compare(["nope"], ["euler"])
    with pytest.raises(TypeError, match=r"^`problems` entries must be names or Problem objects; got int$"):
        compare([3], ["euler"])
    with pytest.raises(ValueError, match=r"^`x0` is required for the problem 'ellipse', which declares no comparison "
                                         r"setup \(a start point of dimension 2\)$"):
        compare(["ellipse"], ["euler"])
    for bad in ([1.0], [1.0, np.nan]):
        with pytest.raises(ValueError, match=r"^`x0` must be 2 finite numbers for problem 'ellipse'; got "):
            compare(["ellipse"], ["euler"], x0=bad)
    with pytest.raises(ValueError, match=r"^`ladder` must hold at least 3 step counts to fit an order; got 2$"):
        compare(["quadratic"], ["euler"], ladder=[4, 8])
    for T in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match=r"^`T` must be > 0; got "):
            compare(["quadratic"], ["euler"], T=T)
    for budget in (0, -1.0, np.inf, "60"):
        with pytest.raises(ValueError, match=r"^`budget` must be a finite number of seconds > 0 or None; got "
                                             + re.escape(repr(budget)) + "$"):
            compare(["quadratic"], ["euler"], budget=budget)
    with pytest.raises(ValueError, match="no-such-scheme"):
        compare(["quadratic"], ["no-such-scheme"])


def test_default_horizon_cap_factor_and_boundary():
    """T = factor/ρ below the cap, else the cap; at ρ = factor/cap exactly the cap; the Hessian path and the
    difference path agree; a non-finite Jacobian is refused by name."""
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import from_grad, quadratic
    m = GradientFlow(quadratic(np.diag([4.0, 1.0])))
    assert fastest_rate(m, [0.3, 0.1]) == pytest.approx(4.0, rel=1e-12)
    assert default_horizon(m, [0.3, 0.1]) == pytest.approx(0.5, rel=1e-12)
    assert default_horizon(m, [0.3, 0.1], cap=0.25) == 0.25
    assert default_horizon(m, [0.3, 0.1], factor=1.0) == pytest.approx(0.25, rel=1e-12)
    assert default_horizon(m, [0.3, 0.1], cap=0.5) == 0.5  # ρ = 2/0.5 exactly: the cap
    assert default_horizon(m, [0.3, 0.1], cap=0.5, factor=2.0 * (1 + 1e-9)) == 0.5
    # damped system ρ: eigenvalues of [[0, I], [−H, −λI]]
    hb = HeavyBall(quadratic(np.diag([4.0, 1.0])), 1.0)
    A = np.block([[np.zeros((2, 2)), np.eye(2)], [-np.diag([4.0, 1.0]), -np.eye(2)]])
    assert fastest_rate(hb, [0.3, 0.1, 0.0, 0.0]) == pytest.approx(np.max(np.abs(np.linalg.eigvals(A))), rel=1e-12)
    fd = HeavyBall(from_grad(lambda x: x * np.array([4.0, 1.0]), 2), 1.0)
    assert fastest_rate(fd, [0.3, 0.1, 0.0, 0.0]) == pytest.approx(np.max(np.abs(np.linalg.eigvals(A))), rel=1e-7)
    # the difference step scales with the state: a start at 1e6 still gives the curvature
    cubic = GradientFlow(from_grad(lambda x: x ** 3 / 3e12, 1))
    assert fastest_rate(cubic, [1e6]) == pytest.approx(1.0, rel=1e-6)
    bad = GradientFlow(from_grad(lambda x: np.where(x > 0, np.nan, x), 1))
    with pytest.raises(ValueError, match=r"^`x0`: the Jacobian of .* is not finite at the start \[0.0\]$"):
        fastest_rate(bad, [0.0])


def test_stable_ladder_from_the_limit():
    """N0 = max(n_min, ⌈T/(safety·limit)⌉), N_k = round(N0·√2^k); no limit gives n_min."""
    from dynopt.analysis.regime import stable_ladder
    steps, limit = stable_ladder("euler", 4.0, 1.0)
    assert limit == 0.5 and steps == [int(round(16 * 2 ** (k / 2))) for k in range(6)]
    steps, _ = stable_ladder("euler", 40.0, 1.0)
    assert steps == [int(round(80 * 2 ** (k / 2))) for k in range(6)]
    steps, _ = stable_ladder("euler", 40.0, 2.0, n_points=3, safety=0.5, n_min=4)
    assert steps == [80, 113, 160]
    steps, limit = stable_ladder("implicit19", 40.0, 1.0, n_points=4)
    assert limit is None and steps == [16, 23, 32, 45]
    steps, limit = stable_ladder("leapfrog", 1.0, 10.0, friction=0.3)
    from dynopt.analysis.regime import stability_limit
    from dynopt.schemes import get_scheme
    assert limit == stability_limit(get_scheme("leapfrog"), 1.0, 0.3)
    assert steps[0] == max(16, math.ceil(10.0 / (0.25 * limit)))


def test_trend_interval_extrapolates_a_contracting_trend_by_hand():
    """Slopes 1.3, 1.15, 1.075 (differences halve) head to s_last + d·r/(1 − r) = 1.0, widened by |d_last|;
    a trend that does not contract, or changes sign, only covers the slopes and ci."""
    lo, hi = trend_interval([1.3, 1.15, 1.075], (1.07, 1.08))
    d2, r = -0.075, 0.5
    limit = 1.075 + d2 * r / (1 - r)
    assert lo == pytest.approx(limit - 0.075, rel=1e-12) and hi == pytest.approx(1.3, rel=1e-12)
    up = trend_interval([0.7, 0.85, 0.925], (0.92, 0.93))  # rising towards 1.0
    assert up[0] == 0.7 and up[1] == pytest.approx(1.0 + 0.075, rel=1e-12)
    assert trend_interval([1.0, 1.1, 1.3], (1.2, 1.25)) == (1.0, 1.3)  # growing differences
    assert trend_interval([1.0, 1.1, 1.05], (1.02, 1.2)) == (1.0, 1.2)  # sign change
    assert trend_interval([1.1, 1.05], (0.9, 1.0)) == (0.9, 1.1)  # two slopes: no trend read
    assert trend_interval([1.0, 1.0, 1.0], (0.99, 1.01)) == (0.99, 1.01)
    # only the last three slopes set the trend
    lo4, hi4 = trend_interval([5.0, 1.3, 1.15, 1.075], (1.07, 1.08))
    assert lo4 == pytest.approx(lo, rel=1e-12) and hi4 == 5.0


def test_comparison_result_reports_an_order_only_inside_the_regime():
    """from_result takes the asymptotic fit when there is one; as_dict carries the regime and moves an order
    outside it to order_outside_regime (order None); without a regime the plain dict."""
    from dynopt.analysis.regime import ComparisonResult
    h = [0.1 / 2 ** k for k in range(5)]
    res = _result(h, [3 * x ** 2 for x in h], declared=2)
    ok = ComparisonResult.from_result(res, regime_check(res))
    assert ok.in_regime and ok.fit is ok.regime.asymptotic_fit
    d = ok.as_dict()
    assert d["order"] == 2.0 and "order_outside_regime" not in d and d["regime"] == ok.regime.as_dict()
    bad = ComparisonResult.from_result(res, regime_check(res, limit=0.05))
    db = bad.as_dict()
    assert not bad.in_regime and db["order"] is None and db["order_outside_regime"] == 2.0
    bare = ComparisonResult(**{k: getattr(res, k) for k in ConvergenceResult.__dataclass_fields__})
    assert not bare.in_regime and bare.as_dict() == res.as_dict()
    two = ConvergenceResult("p", "s", "ode", 1.0, h[:2], [0.1, 0.05], [1, 1], None, "given", declared_order=1)
    none_fit = ComparisonResult.from_result(two, regime_check(two))
    assert none_fit.fit is None and none_fit.as_dict()["order_outside_regime"] is None


def test_max_curvature_along_the_reference_trajectory():
    """The largest Hessian eigenvalue on n_times points of the reference path: 3x² − 1 at the start for a
    double well run downhill from 2 (11), and at the end for a run uphill towards the minimum from 0.2."""
    from dynopt.analysis.regime import max_curvature
    from dynopt.analysis import reference_solution
    from dynopt.problems import double_well, quadratic
    m = GradientFlow(double_well())
    assert max_curvature(m, [2.0], 1.0) == pytest.approx(11.0, rel=1e-12)
    xs = reference_solution(m, [0.2], [0.0, 0.5, 1.0])[0][:, 0, 0]
    assert max_curvature(m, [0.2], 1.0, n_times=3) == pytest.approx(3 * xs[-1] ** 2 - 1, rel=1e-9)
    xs41 = reference_solution(m, [0.2], np.linspace(0.0, 1.0, 41))[0][:, 0, 0]
    assert max_curvature(m, [0.2], 1.0) == pytest.approx(np.max(3 * xs41 ** 2 - 1), rel=1e-9)
    assert max_curvature(GradientFlow(quadratic(np.diag([5.0, 1.0]))), [1.0, 1.0], 2.0) == pytest.approx(5.0)


def test_standard_sets_model_for_and_default_ladder_exactly():
    """The registered problems with a setup, the ODE schemes of gradient flow or heavy ball in registration
    order, the model each is paired with (friction given), and N0·√2^k from the per-scheme N0."""
    from dynopt.analysis import default_ladder, model_for, standard_problems, standard_schemes
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import get_problem
    from dynopt.schemes import METHODS, get_scheme
    probs = list(standard_problems())
    assert [n for n in probs if n in ("quadratic", "rosenbrock", "double_well")] == ["quadratic", "rosenbrock",
                                                                                     "double_well"]
    assert "ellipse" not in probs and "lessard" not in probs  # registered without a setup
    assert standard_problems()["quadratic"] == get_problem("quadratic").comparison
    names = standard_schemes()
    known = ("euler", "heun", "rk4", "symplectic-euler", "leapfrog", "heavy-ball", "nesterov", "nesterov-half",
             "implicit19")
    assert [n for n in names if n in known] == list(known)  # registration order
    assert not {"euler-maruyama", "baoab", "nesterov-convex", "heavy-ball-sc", "nag-sc"} & set(names)
    assert list(names) == [n for n in METHODS if n in names]
    p = get_problem("quadratic")
    hb = model_for("leapfrog", p, friction=0.3)
    assert type(hb) is HeavyBall and hb.friction == 0.3 and model_for("leapfrog", p).friction == 1.0
    assert type(model_for("rk4", p)) is GradientFlow
    assert type(model_for(get_scheme("nesterov"), p)) is HeavyBall
    setup = p.comparison
    assert default_ladder("euler", setup) == [int(round(64 * 2 ** (k / 2))) for k in range(6)]
    assert default_ladder("leapfrog", setup, n_points=3) == [32, 45, 64]  # the "default" N0
    assert default_ladder("rk4", setup, 4) == [16, 23, 32, 45]
    assert default_ladder(type(get_scheme("rk4")), setup, 4) == [16, 23, 32, 45]  # a class is read by its name


def test_two_agreeing_slopes_are_not_a_regime_on_a_longer_ladder():
    """Slopes 1.5, 1, 1: the last two agree, but a ladder with three slopes needs three to agree
    (MIN_TAIL_SLOPES); on three rungs two are enough."""
    h = [0.1, 0.05, 0.025, 0.0125]
    e = [1.0, 0.5 ** 1.5]
    e += [e[-1] * 0.5, e[-1] * 0.25]
    c = regime_check(_result(h, e, declared=1))
    np.testing.assert_allclose(c.local_slopes, [1.5, 1.0, 1.0], rtol=1e-12)
    assert c.asymptotic_fit is None and c.reasons == [
        "local slopes [1.5, 1.0, 1.0] at the fine end still differ by more than 0.05: not yet asymptotic"]
    short = regime_check(_result(h[1:], e[1:], declared=1))
    assert short.ok and short.asymptotic_steps == h[1:]


def test_asymptotic_tail_stops_where_a_slope_leaves_the_fit():
    """Slopes 1.00, 1.04, 1.08, 1.12: neighbours agree within 0.05, but the fit through all five rungs
    (≈ 1.06) is 0.06 from the first slope, so the tail is the last three slopes (four rungs)."""
    h = [0.1 / 2 ** k for k in range(5)]
    e = [1.0]
    for s in (1.0, 1.04, 1.08, 1.12):
        e.append(e[-1] * 0.5 ** s)
    c = regime_check(_result(h, e, declared=1))
    np.testing.assert_allclose(c.local_slopes, [1.0, 1.04, 1.08, 1.12], rtol=1e-12)
    assert c.asymptotic_steps == h[1:]


def test_compare_gives_each_pair_an_equal_share_of_what_is_left(monkeypatch):
    """With a frozen clock, pair i of n gets budget/(n − i) seconds: the budget left split over the pairs left."""
    import types
    from dynopt.analysis import comparison
    monkeypatch.setattr(comparison, "time", types.SimpleNamespace(perf_counter=lambda: 100.0))
    shares, grow = [], comparison._grow

    def spy(*a, share, **k):
        shares.append(share)
        return grow(*a, share=share, **k)
    monkeypatch.setattr(comparison, "_grow", spy)
    p = parse_expr("x**2 + y**2/2")
    out = compare([p], ["euler", "rk4", "leapfrog"], x0=(1.0, 0.5), T=0.5, ladder=[4, 8, 16], budget=6.0)
    assert len(out) == 3
    assert shares == [pytest.approx(2.0, rel=1e-14), pytest.approx(3.0, rel=1e-14), pytest.approx(6.0, rel=1e-14)]
