"""A researcher's own potential, scheme and optimizer through the API and the CLI.

The potential and the scheme class below appear only in this file (not among the built-ins).
"""
import json
import textwrap

import numpy as np
import pytest
import sympy as sp

from dynopt import dynamics, optim
from dynopt.analysis.comparison import compare
from dynopt.analysis.densities import GibbsDensity
from dynopt.cli.main import main
from dynopt.engine import EnsembleOptions, Moments, simulate
from dynopt.problems import from_expr
from dynopt.symbolic.user import user_scheme_analysis, user_stationary_density

#: a non-Gaussian, tilted single well: fast mixing, so short ensembles reach equilibrium
EXPR = "x**4/4 + x**2/2 + 3*x/10"
#: a 2-D potential with a tilted double well in x
EXPR2 = "(x**2-1)**2 + 2*y**2 + 3*x/10"
#: 5 standard errors, two-sided, as a p-value
P5 = 5.7e-7

SCHEME_SOURCE = textwrap.dedent('''
    from dynopt.schemes.momentum import MomentumScheme


    class HalfLook(MomentumScheme):
        """v_{n+1} = β v_n − α ∇L(θ_n + v_n/2), θ_{n+1} = θ_n + v_{n+1} (eq-15 map)."""

        name = "half-look"
        order = 1

        def gradient_point(self, q, v, beta, q_next=None):
            return q + v / 2


    NOT_A_SCHEME = 42
''')


def _ensemble(model, scheme, dt, T, seed=1, n=20000):
    r = simulate(model, scheme, (0.0, T), np.zeros(1), dt, n_paths=n, seed=seed, observers=[Moments()])
    return r.final_positions[:, 0]


# ---------------------------------------------------------------- derivations
@pytest.mark.parametrize("model", ["langevin", "kramers"])
def test_stationary_density_of_own_potential(model):
    x, y = sp.symbols("x y", real=True)
    d = user_stationary_density(sp.sympify(EXPR2, locals={"x": x, "y": y}), (x, y), model=model)
    assert d.results["fokker_planck_residual"] == 0
    L = d.results["potential"]
    sig, lam = sp.Symbol("σ", positive=True), sp.Symbol("λ", positive=True)
    kT = sig ** 2 / 2 if model == "langevin" else sig ** 2 / (2 * lam)
    # the θ-marginal is exp(−L/kT) up to a constant
    ratio = sp.simplify(d.results["theta_marginal"] / sp.exp(-L / kT))
    assert not (ratio.free_symbols & {x, y})


def test_derive_density_cli(capsys):
    assert main(["derive", "density", "--expr", EXPR, "--model", "kramers", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fokker_planck_residual"] == 0 and "λ" in out["temperature"]


# ---------------------------------------------------------------- ensembles vs the density
def _accept(samples, g, lo=-3.0, hi=3.0, bins=30):
    counts, edges = np.histogram(samples, np.linspace(lo, hi, bins + 1))
    chi = g.chi2_test(counts, edges, samples.size - counts.sum())
    # first two moments within 5 standard errors of the density's
    grid = np.linspace(lo, hi, 20001)
    p = g.pdf(grid)
    m1 = np.trapezoid(grid * p, grid)
    m2 = np.trapezoid(grid ** 2 * p, grid)
    z1 = abs(samples.mean() - m1) / (samples.std(ddof=1) / np.sqrt(samples.size))
    z2 = abs((samples ** 2).mean() - m2) / ((samples ** 2).std(ddof=1) / np.sqrt(samples.size))
    return chi["pvalue"], max(z1, z2)


@pytest.mark.parametrize("kind", ["langevin", "kramers"])
def test_ensemble_accepted_against_own_density_and_wrong_temperature_rejected(kind):
    prob = from_expr(EXPR, name="mine")
    if kind == "langevin":
        model, scheme, dt, T = dynamics.OverdampedLangevin(prob, 1.0), "euler-maruyama", 0.005, 5.0
    else:
        model, scheme, dt, T = dynamics.Kramers(prob, 1.0, 1.0), "baoab", 0.02, 15.0
    g = GibbsDensity(model, bounds=(-3, 3))
    assert g.temperature == pytest.approx(0.5)
    samples = _ensemble(model, scheme, dt, T)
    p, z = _accept(samples, g)
    assert p > P5 and z < 5
    p_wrong, z_wrong = _accept(samples, GibbsDensity(prob, 0.65, (-3, 3)))
    assert p_wrong < P5 and z_wrong > 5


def test_simulate_cli_own_potential_json_and_figure(tmp_path, capsys):
    out_dir = tmp_path / "fig"
    assert main(["simulate", "--expr", EXPR, "--sigma", "1", "--T", "5", "--dt", "0.005", "--paths", "20000",
                 "--seed", "1", "--json", "--out", str(out_dir), "--no-progress", "--bins", "30"]) == 0
    text = capsys.readouterr().out
    assert "θ₁" in text  # unicode kept
    out = json.loads(text)
    assert out["labels"] == ["θ₁"] and out["gibbs"]["temperature"] == pytest.approx(0.5)
    assert out["gibbs"]["tests"][0]["chi2_pvalue"] > P5
    assert (out_dir / "density.png").stat().st_size > 0
    assert main(["simulate", "--expr", EXPR, "--sigma", "1", "--T", "5", "--dt", "0.005", "--paths", "20000",
                 "--seed", "1", "--json", "--no-figure", "--no-progress", "--bins", "30",
                 "--temperature", "0.65"]) == 0
    assert json.loads(capsys.readouterr().out)["gibbs"]["tests"][0]["chi2_pvalue"] < P5


def test_simulate_cli_kramers_labels_and_2d_figure(tmp_path, capsys):
    assert main(["simulate", "--expr", EXPR2, "--model", "kramers", "--scheme", "baoab", "--T", "1",
                 "--paths", "200", "--out", str(tmp_path), "--no-progress"]) == 0
    text = capsys.readouterr().out
    for lab in ("θ₁", "θ₂", "η₁", "η₂"):
        assert lab in text
    assert (tmp_path / "density.png").stat().st_size > 0  # heat map and two marginals


# ---------------------------------------------------------------- orders with the regime check
def test_gd_heavy_ball_nesterov_orders_inside_regime():
    prob = from_expr(EXPR2, name="mine2")
    res = {r.scheme: r for r in compare([prob], ["euler", "leapfrog", "nesterov"], x0=(1.5, 0.5))}
    # heavy ball with the consistent (half-step) start is the order-2 leapfrog
    for name, p in [("euler", 1), ("leapfrog", 2), ("nesterov", 1)]:
        r = res[name]
        assert r.in_regime, r.regime.reasons
        assert abs(r.fit.order - p) < 0.2
        assert r.as_dict()["order"] is not None


def test_too_coarse_ladder_is_flagged(capsys):
    prob = from_expr(EXPR2, name="mine2")
    # T = 1 (the default horizon here is 2/ρ ≈ 0.09, where these steps would be stable)
    (r,) = compare([prob], ["euler"], x0=(1.5, 0.5), ladder=[2, 3, 4, 5], T=1.0)
    assert not r.in_regime and r.regime.beyond_stability
    d = r.as_dict()
    assert d["order"] is None and d["order_outside_regime"] is not None
    assert main(["compare", "--expr", EXPR2, "--x0", "1.5", "0.5", "--schemes", "euler", "--steps", "2", "3", "4",
                 "5", "--T", "1", "--no-figures"]) == 0
    assert "OUTSIDE REGIME" in capsys.readouterr().out


# ---------------------------------------------------------------- the user's scheme class
def test_scheme_class_from_file_through_cli(tmp_path, monkeypatch, capsys):
    (tmp_path / "myscheme.py").write_text(SCHEME_SOURCE)
    monkeypatch.chdir(tmp_path)
    assert main(["derive", "stability", "--scheme", "myscheme.py:HalfLook", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # by hand on L = hθ²/2, a = αh: v' = (β − a/2)v − aθ, θ' = θ + v', so
    # p(z) = z² − (1 + β − 3a/2) z + (β − a/2); Jury: p(1) = a > 0, p(−1) = 2 + 2β − 2a > 0
    a, b, z = sp.symbols("a β z", positive=True)
    got = sp.sympify(out["characteristic_polynomial"], locals={"a": a, "β": b, "z": z})
    assert sp.expand(got - (z ** 2 - (1 + b - 3 * a / 2) * z + b - a / 2)) == 0
    assert sp.simplify(sp.sympify(out["max_alpha_h"], locals={"β": b}) - (1 + b)) == 0
    assert out["global_order"] == 1
    assert main(["compare", "--expr", EXPR2, "--x0", "1.5", "0.5", "--schemes", "myscheme.py:HalfLook",
                 "--json", "--no-figures"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["scheme"] == "half-look" and row["regime"]["ok"] and abs(row["order"] - 1) < 0.2


def test_scheme_analysis_api_matches_registry():
    d = user_scheme_analysis("leapfrog")
    assert d.results["global_order"] == 2


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("argv, needle", [
    (["simulate", "--expr", "x +* 2"], "--expr"),
    (["compare", "--expr", "(x", "--x0", "1"], "--expr"),
    (["simulate", "--problem", "nowhere.py:P"], "nowhere.py"),
    (["simulate", "--problem", "myscheme.py:Missing"], "'Missing'"),
    (["simulate", "--problem", "myscheme.py:NOT_A_SCHEME"], "not a dynopt Problem"),
    (["compare", "--schemes", "myscheme.py:NOT_A_SCHEME", "--expr", "x**2", "--x0", "1"], "not a dynopt Scheme"),
    (["derive", "stability", "--scheme", "myscheme.py:Missing"], "'Missing'"),
    (["simulate", "--expr", "x**2 - 4*x", "--range", "-1", "1"], "no minimum inside"),
    (["simulate", "--expr", "x**2", "--scheme", "heun"], "--scheme"),
])
def test_bad_input_exit_2_nothing_written(argv, needle, tmp_path, monkeypatch, capsys):
    (tmp_path / "myscheme.py").write_text(SCHEME_SOURCE)
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--out", str(tmp_path / "out")]) == 2 if argv[0] != "derive" else main(argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- densities in any dimension
def test_gibbs_density_normalisers():
    g = GibbsDensity(from_expr("x**2"), 0.5, (-8, 8))
    # ∫exp(−x²/kT) = √(π kT)
    assert g.normaliser == pytest.approx(np.sqrt(np.pi / 2), rel=1e-8)
    assert g.cdf(0.0) == pytest.approx(0.5, abs=1e-6)
    g2 = GibbsDensity(from_expr("x**2 + 2*y**2"), 0.5, (-6, 6))
    assert g2.normaliser == pytest.approx(np.sqrt(np.pi / 2) * np.sqrt(np.pi / 4), rel=1e-6)
    assert g2.marginal(1).cdf(0.0) == pytest.approx(0.5, abs=1e-4)
    g3 = GibbsDensity(from_expr("x**2 + y**2 + z**2"), 0.5, (-4, 4), seed=3)
    assert abs(g3.normaliser - (np.pi / 2) ** 1.5) < 5 * g3.normaliser_se
    assert g3.pdf(np.zeros(3)) == pytest.approx((np.pi / 2) ** -1.5, rel=5 * g3.normaliser_se / g3.normaliser)


def test_gibbs_density_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        GibbsDensity(from_expr("x**2"), -1.0)
    with pytest.raises(ValueError, match="bounds"):
        GibbsDensity(from_expr("x**2 + y**2"), 1.0, [(0, 1)])
    with pytest.raises(TypeError, match="source"):
        GibbsDensity("x**2", 1.0)


# ---------------------------------------------------------------- optimizers both ways
CASES = [("sgd", dict(momentum=0.9)), ("sgd", dict(momentum=0.9, nesterov=True)), ("adagrad", {}),
         ("rmsprop", {}), ("adam", {})]


@pytest.mark.parametrize("conv", sorted(optim.CONVENTIONS))
@pytest.mark.parametrize("name, kw", CASES)
def test_each_convention_optax_loop_equals_step(conv, name, kw):
    grad = lambda p: np.array([2.0, 20.0]) * p  # noqa: E731
    opt = optim.get_optimizer(name, lr=0.05, convention=conv, **kw)
    p1 = p2 = np.array([1.0, -1.0])
    s1, s2 = opt.init(p1), opt.init(p2)
    for _ in range(20):
        p1, s1 = optim.step(opt, grad, p1, s1)
        point = p2 if opt.lookahead is None else opt.lookahead(p2, s2)  # the documented optax-style loop
        updates, s2 = opt.update(grad(point), s2, p2)
        p2 = optim.apply_updates(p2, updates)
    np.testing.assert_array_equal(p1, p2)


def test_sutskever_nesterov_refuses_gradient_at_params():
    opt = optim.sgd(0.1, momentum=0.9, nesterov=True, convention="sutskever")
    p = np.ones(2)
    with pytest.raises(ValueError, match="look-ahead"):
        opt.update(2 * p, opt.init(p), p)


# ---------------------------------------------------------------- one vocabulary for results
def test_result_vocabulary():
    from dynopt.engine import integrate

    prob = from_expr(EXPR, name="mine")
    sol = integrate(dynamics.GradientFlow(prob), "euler", (0.0, 1.0), np.array([1.0]), 0.1)
    r = simulate(dynamics.OverdampedLangevin(prob, 0.5), "euler-maruyama", (0.0, 1.0), np.zeros(1), 0.1, n_paths=10,
                 seed=0, observers=[Moments()], options=EnsembleOptions(save_every=5))
    for res in (sol, r):
        assert res.t.shape[0] == res.y.shape[0] and res.y.shape[1:] == res.y_final.shape
        assert res.final_positions.shape == (res.y_final.shape[0], 1) and type(res.final_positions) is np.ndarray
        np.testing.assert_array_equal(res.final_positions, res.model.position(res.y_final))
        for old in ("times", "states", "final_state", "paths"):
            assert not hasattr(res, old), old    # one name per thing: no aliases
    assert r.moments is r.observations["moments"]


# ---------------------------------------------------------------- (α, β) and modified equation of the user's rules
def test_momentum_map_from_own_difference_equations():
    from dynopt.symbolic.user import momentum_map

    gam, lam = sp.symbols("gam lam", positive=True)
    q0, q1, e_old, e_new, v, g = sp.symbols("q0 q1 e_old e_new v g", real=True)
    # the staggered leapfrog written in the user's own symbols gives eq 15
    d = momentum_map([sp.Eq((q1 - q0) / gam, e_new), sp.Eq((e_new - e_old) / gam, -lam * (e_new + e_old) / 2 - g)],
                     [q1, e_new], gam * e_new, {e_old: v / gam}, g)
    assert sp.simplify(d.results["beta"] - (1 - lam * gam / 2) / (1 + lam * gam / 2)) == 0
    assert sp.simplify(d.results["alpha"] - gam ** 2 / (1 + lam * gam / 2)) == 0


def test_modified_equation_of_own_update_rule(tmp_path, monkeypatch, capsys):
    (tmp_path / "myscheme.py").write_text(SCHEME_SOURCE)
    monkeypatch.chdir(tmp_path)
    assert main(["derive", "modified", "--scheme", "myscheme.py:HalfLook", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    th, b = sp.Symbol("θ", real=True), sp.Symbol("β")
    L = sp.Function("L")(th)
    f1 = sp.sympify(out["f1"], locals={"θ": th, "β": b, "L": sp.Function("L")})
    # by hand: heavy ball's −(1+β)/(2(1−β)³) L'L'' plus the half-step gradient point's
    # +(1/2) L'L''/(1−β)² gives −β/(1−β)³ L'L''
    assert sp.simplify(f1 + b / (1 - b) ** 3 * L.diff(th) * L.diff(th, 2)) == 0


def test_problem_from_file_through_compare_and_simulate(tmp_path, monkeypatch, capsys):
    (tmp_path / "mine.py").write_text(f"from dynopt.problems import from_expr\nMINE = from_expr({EXPR2!r}, name='mine')\n")
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--problems", "mine.py:MINE", "--x0", "1.5", "0.5", "--schemes", "leapfrog",
                 "--json", "--no-figures"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["problem"] == "mine" and abs(row["order"] - 2) < 0.2
    assert main(["simulate", "--problem", "mine.py:MINE", "--paths", "100", "--T", "0.5", "--no-figure",
                 "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["problem"] == "mine"


def test_gibbs_density_function_takes_a_problem():
    from dynopt.analysis.stationary import gibbs_density

    p = from_expr(EXPR, name="mine")
    pdf, Z = gibbs_density(p, 0.5, -3, 3)
    g = GibbsDensity(p, 0.5, (-3, 3))
    assert pdf(0.3) == pytest.approx(float(g.pdf(0.3)), rel=1e-8)


def test_derive_map_from_own_difference_equations_cli(capsys):
    # the staggered leapfrog (kexue-5655 eqs 13-14) in the user's own symbols, through the CLI
    assert main(["derive", "map", "--eq", "(q1-q0)/gam = e1", "--eq", "(e1-e0)/gam = -lam*(e1+e0)/2 - G",
                 "--unknowns", "q1", "e1", "--v-next", "gam*e1", "--old", "e0=v/gam", "--gradient", "G",
                 "--positive", "gam", "lam", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    gam, lam = sp.symbols("gam lam", positive=True)
    loc = {"gam": gam, "lam": lam}
    assert sp.simplify(sp.sympify(out["beta"], locals=loc) - (2 - lam * gam) / (2 + lam * gam)) == 0
    assert sp.simplify(sp.sympify(out["alpha"], locals=loc) - 2 * gam ** 2 / (2 + lam * gam)) == 0
    # a malformed equation is a one-line error naming the option, exit status 2
    assert main(["derive", "map", "--eq", "(q1-q0/gam = e1", "--unknowns", "q1", "--v-next", "e1",
                 "--old", "e0=v", "--gradient", "G"]) == 2
    assert "`--eq`" in capsys.readouterr().err
