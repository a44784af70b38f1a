"""Bad inputs through the API and the CLI: each fails before anything runs with the right
error type and a message naming the argument; a diverged run never yields a number."""
import numpy as np
import pytest

from dynopt import dynamics
from dynopt.cli.main import main
from dynopt.engine import EnsembleOptions, Histogram, Histogram2D, Moments, TimeAverage, ValuesAt, integrate, simulate
from dynopt.problems.catalogue import (double_well, lessard_function, log_sum_exp, quadratic, rosenbrock,
                                       tilted_double_well)

DW = double_well()
LANG = dynamics.OverdampedLangevin(DW, 0.7)
GF = dynamics.GradientFlow(DW)
NAN, INF = float("nan"), float("inf")


def _sim(**kw):
    """simulate() with these arguments; those of EnsembleOptions go into ``options``."""
    args = dict(model=LANG, scheme="euler-maruyama", t_span=(0, 1), y0=[0.0], dt=0.1)
    call = dict(n_paths=10, seed=0)
    opts = {}
    for k, v in kw.items():
        (args if k in args else call if k in ("n_paths", "seed", "observers", "executor", "backend") else opts)[k] = v
    return simulate(args["model"], args["scheme"], args["t_span"], args["y0"], args["dt"], **call,
                    options=EnsembleOptions(**opts))


def _int(**kw):
    args = dict(model=GF, scheme="euler", t_span=(0, 1), y0=[1.0], dt=0.1)
    args.update(kw)
    return integrate(args.pop("model"), args.pop("scheme"), args.pop("t_span"), args.pop("y0"), args.pop("dt"), **args)


@pytest.mark.parametrize("make, exc, name", [
    (lambda: rosenbrock(a=NAN), ValueError, "`a`"),
    (lambda: rosenbrock(b=INF), ValueError, "`b`"),
    (lambda: rosenbrock(a="x"), TypeError, "`a`"),
    (lambda: tilted_double_well(tilt=NAN), ValueError, "`tilt`"),
    (lambda: double_well(dim=0), ValueError, "`dim`"),
    (lambda: lessard_function(L=NAN), ValueError, "`L`"),
    (lambda: quadratic([[NAN]]), ValueError, "`H`"),
    (lambda: quadratic([[1, 2], [3]]), TypeError, "`H`"),
    (lambda: quadratic(np.eye(2), center=[0, INF]), ValueError, "`center`"),
    (lambda: log_sum_exp(np.eye(2), b=[0, NAN]), ValueError, "`b`"),
])
def test_non_finite_problem_parameters(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


@pytest.mark.parametrize("kw, exc, name", [
    (dict(y0=[NAN]), ValueError, "`y0`"),
    (dict(y0=[[1, 2], [3]]), TypeError, "`y0`"),
    (dict(y0="abc"), TypeError, "`y0`"),
    (dict(y0=[1, 2, 3]), ValueError, "`y0`"),
    (dict(t_span=("a", 1)), TypeError, "`t_span`"),
    (dict(t_span=(0, 1, 2)), TypeError, "`t_span`"),
    (dict(t_span=1.0), TypeError, "`t_span`"),
    (dict(t_span=(1, 0)), ValueError, "`t_span`"),
    (dict(t_span=(0, INF)), ValueError, "`t_span`"),
    (dict(dt=0.0), ValueError, "`dt`"),
    (dict(dt=NAN), ValueError, "`dt`"),
    (dict(dt=1e-12), ValueError, "`max_steps`"),
    (dict(scheme=3), TypeError, "`scheme`"),
    (dict(scheme="nope"), ValueError, "`scheme`"),
    (dict(model="gf"), TypeError, "`model`"),
    (dict(save_every=0), ValueError, "`save_every`"),
])
def test_integrate_checks_its_arguments(kw, exc, name):
    with pytest.raises(exc, match=name):
        _int(**kw)


def test_max_steps_is_raisable():
    assert _int(dt=1e-3, max_steps=1000).n_steps == 1000
    with pytest.raises(ValueError, match="`max_steps`"):
        _int(dt=1e-3, max_steps=999)


@pytest.mark.parametrize("kw, exc, name", [
    (dict(y0=[NAN]), ValueError, "`y0`"),
    (dict(y0=[[1], [2, 3]], n_paths=2), TypeError, "`y0`"),
    (dict(t_span=("a", 1)), TypeError, "`t_span`"),
    (dict(n_paths=0), ValueError, "`n_paths`"),
    (dict(n_paths=-5), ValueError, "`n_paths`"),
    (dict(n_paths=2.5), ValueError, "`n_paths`"),
    (dict(n_paths=10 ** 13), ValueError, "`n_paths`"),
    (dict(dt=1e-30), ValueError, "`max_steps`"),
    (dict(observers=["moments"]), TypeError, "`observers`"),
    (dict(observers=Moments()), TypeError, "`observers`"),
    (dict(executor="local"), TypeError, "`executor`"),
    (dict(scheme="rk4"), ValueError, "`scheme`"),
    (dict(scheme=5), TypeError, "`scheme`"),
    (dict(model="lang"), TypeError, "`model`"),
    (dict(seed="a"), TypeError, "`seed`"),
    (dict(chunk_size=0), ValueError, "`chunk_size`"),
    (dict(check_every=0), ValueError, "`check_every`"),
    (dict(dtype=np.int32), ValueError, "`dtype`"),
    (dict(observers=[Moments(coords=[3])]), ValueError, "`coords`"),
    (dict(observers=[Histogram(10, (-1, 1), coord=5)]), ValueError, "`coord`"),
    (dict(observers=[ValuesAt([0.05])]), ValueError, "`times`"),
    (dict(observers=[TimeAverage(lambda y: y[:, 0], t_min=5.0)]), ValueError, "`t_min`"),
])
def test_simulate_checks_its_arguments_before_running(kw, exc, name):
    with pytest.raises(exc, match=name):
        _sim(**kw)


@pytest.mark.parametrize("make, exc, name", [
    (lambda: Moments(every=0), ValueError, "`every`"),
    (lambda: Moments(every=-2), ValueError, "`every`"),
    (lambda: Moments(every=1.5), ValueError, "`every`"),
    (lambda: Histogram(10, (-1, 1), every=0), ValueError, "`every`"),
    (lambda: Histogram(10, (-1, 1), t_min=NAN, every=1), ValueError, "`t_min`"),
    (lambda: Histogram(10, (-1, 1), t_min="x", every=1), TypeError, "`t_min`"),
    (lambda: Histogram(0, (-1, 1)), ValueError, "`bins`"),
    (lambda: Histogram(10, (1, -1)), ValueError, "`range`"),
    (lambda: Histogram(10, (-1, 1), coord=-1), ValueError, "`coord`"),
    (lambda: Histogram2D((10,), ((-1, 1), (-1, 1))), ValueError, "`bins`"),
    (lambda: TimeAverage(lambda y: y[:, 0], t_min=NAN), ValueError, "`t_min`"),
    (lambda: TimeAverage(lambda y: y[:, 0], every=0), ValueError, "`every`"),
    (lambda: TimeAverage("x"), TypeError, "`fn`"),
])
def test_observer_options(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


def test_statistics_of_an_ensemble_that_all_diverged_are_undefined_not_zero():
    r = _sim(t_span=(0, 5), y0=[5.0], dt=0.5, n_paths=200,
             observers=[Moments(), Histogram(10, (-3, 3)), TimeAverage(lambda y: y[:, 0], t_min=2.0)])
    assert r.n_diverged == 200
    m, h, ta = (r.observations[k] for k in ("moments", "histogram", "time_average"))
    assert not m.defined and "200 paths" in m.reason and "100.0% diverged" in m.reason
    assert np.isnan(m.mean).all() and np.isnan(m.var).all() and np.isnan(m.se).all()
    assert m.diverged_fraction[-1] == 1.0
    assert not h.defined and np.isnan(h.density).all()
    assert not ta.defined and np.isnan(ta.mean) and ta.diverged_fraction == 1.0


def test_runaway_paths_are_caught_long_before_the_float_range():
    # dt = 1 makes Euler-Maruyama on the double well a cubic map: paths escape in a few steps
    r = _sim(t_span=(0, 50), y0=[0.0], dt=1.0, n_paths=200, observers=[Moments()])
    m = r.observations["moments"]
    assert r.n_diverged > 100 and "1e+12" in r.note
    assert not m.defined and np.isnan(m.mean).all()


def test_a_healthy_run_stays_defined():
    m = _sim(n_paths=50, observers=[Moments(every=2)]).observations["moments"]
    assert m.defined and m.reason == "" and np.isfinite(m.mean).all() and (m.diverged_fraction == 0).all()


def _cli(capsys, *argv):
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("argv, name", [
    (["simulate", "--paths", "10", "--T", "1", "--scheme", "rk4", "--no-progress"], "`--scheme`"),
    (["simulate", "--paths", "10", "--T", "1", "--dt", "1e-30", "--no-progress"], "`max_steps`"),
    (["simulate", "--paths", "1000000000000", "--T", "1", "--no-progress"], "`n_paths`"),
    (["simulate", "--paths", "0", "--T", "1", "--no-progress"], "`n_paths`"),
    (["simulate", "--paths", "10", "--T", "1", "--y0", "nan", "--no-progress"], "`y0`"),
    (["simulate", "--paths", "10", "--T", "1", "--y0", "1", "2", "3", "--no-progress"], "`y0`"),
    (["simulate", "--paths", "10", "--T", "1", "--bins", "0", "--no-progress"], "`bins`"),
    (["simulate", "--paths", "10", "--T", "1", "--problem", "nope", "--no-progress"], "`--problem`"),
    (["bench", "sde", "--paths", "0", "--minimal"], "`--paths`"),
    (["reproduce", "kexue-5655.gd-is-euler", "--quick", "--out", "/etc/hostname"], "`--out`"),
    (["reproduce", "kexue-5655.gd-is-euler", "--quick", "--out", "/etc/hostname/sub"], "`--out`"),
])
def test_cli_errors_are_one_line_naming_the_option(capsys, argv, name):
    code, out, err = _cli(capsys, *argv)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in err, err


def test_cli_sweep_workers_checked(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('task = "heavy_ball_quadratic"\nseed = 0\n[params]\nn_steps = 20\n[grid]\n'
                    'beta = [0.1]\nalpha_h = [1.0]\n')
    code, out, err = _cli(capsys, "sweep", str(spec), "--executor", "local", "--workers", "-2",
                          "--out", str(tmp_path / "o"))
    assert code == 2 and "`--workers`" in err and not (tmp_path / "o").exists()


def test_cli_undefined_statistic_exits_non_zero_without_numbers(capsys):
    code, out, err = _cli(capsys, "simulate", "--paths", "200", "--T", "5", "--dt", "0.5", "--y0", "5",
                          "--json", "--no-progress")
    assert code == 1 and out == "" and "undefined" in err and "diverged" in err


SWEEP_HEAD = 'task = "{task}"\nseed = 0\n[params]\n{params}\n[grid]\n{grid}\n'


@pytest.mark.parametrize("task, params, grid, plot, key", [
    ("heavy_ball_quadratic", "n_steps = 20", 'beta = ["abc", 0.5]\nalpha_h = [1.0]', "", "`beta`"),
    ("heavy_ball_quadratic", "n_steps = 0", "beta = [0.5]\nalpha_h = [1.0]", "", "`n_steps`"),
    ("sgd_stationary_variance", "n_paths = 10", "batch = [0, 2]\neta = [0.1]", "", "`batch`"),
    ("heavy_ball_quadratic", "n_steps = 20\ngamma = 3", "beta = [0.5]\nalpha_h = [1.0]", "", "`gamma`"),
    ("heavy_ball_quadratic", "n_steps = 20", "beta = [0.1, 0.5]\nalpha_h = [1.0, 2.0]",
     '[[plots]]\nkind = "heatmap"\nx = "alpha_h"\ny = "beta"\nvalue = "convergd"\n', "`value`"),
])
def test_sweep_specs_checked_before_the_first_point(capsys, tmp_path, task, params, grid, plot, key):
    spec = tmp_path / "s.toml"
    spec.write_text(SWEEP_HEAD.format(task=task, params=params, grid=grid) + plot)
    code, out, err = _cli(capsys, "sweep", str(spec), "--out", str(tmp_path / "o"))
    assert code == 2 and key in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "results.csv").exists()


def test_a_diverged_sweep_point_is_marked_and_writes_no_nan(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(SWEEP_HEAD.format(task="sgd_stationary_variance", params="n_paths = 50\nn_burn = 10\nn_avg = 40",
                                      grid="batch = [4]\neta = [0.1, 5.0]"))
    code, out, err = _cli(capsys, "sweep", str(spec), "--out", str(tmp_path / "o"), "--no-cache")
    text = (tmp_path / "o" / "results.csv").read_text()
    rows = [dict(zip(text.splitlines()[0].split(","), ln.split(","))) for ln in text.splitlines()[1:]]
    assert code == 0 and "nan" not in text.lower() and "inf" not in text.lower() and "None" not in text
    assert [r["status"] for r in rows] == ["ok", "diverged"]
    assert rows[1]["variance"] == "" and int(rows[1]["diverged_step"]) > 0 and rows[1]["predicted_variance"] == ""


def test_cli_out_that_cannot_be_created(capsys, tmp_path):
    code, out, err = _cli(capsys, "reproduce", "kexue-5655.gd-is-euler", "--quick", "--out", "/proc/nope")
    assert code == 2 and "`--out`" in err and len(err.strip().splitlines()) == 1


# --- the bad inputs of the safe-input review: each gives a clear error or a flagged result ---------
def _one_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return len(lines) == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv, name", [
    (["--vars", "x", "x", "--expr", "x**2"], "`--vars`"),
    (["--expr", "x**2+zoo"], "'zoo'"),
    (["--expr", "x**2+nan"], "'nan'"),
    (["--expr", "x**2+oo"], "'oo'"),
    (["--expr", "foo(x)"], "unknown function 'foo'"),
    (["--expr", ""], "`--expr` is empty"),
    (["--expr", "x**2 + 0*__import__('os').system('true')"], "not a function you may call"),
    (["--first-passage", "nan"], "`first_passage` (--first-passage)"),
    (["--T", "0"], "`T` (--T)"),
    (["--out", "/proc/nope"], "`--out`"),
])
def test_simulate_unclear_inputs_get_one_line_naming_the_argument(capsys, argv, name):
    code, out, err = _cli(capsys, "simulate", "--paths", "20", "--T", "0.1", "--no-progress", *argv)
    assert code == 2 and name in err and _one_line(err) and out == "", err


def test_a_sweep_whose_params_is_not_a_table_names_it(capsys, tmp_path):
    for bad, key in (("params = 3", "`params`"), ("grid = 3", "`grid`"), ("plots = 3", "`plots`")):
        spec = tmp_path / "s.toml"
        head = 'task = "heavy_ball_quadratic"\n' + bad + "\n"
        spec.write_text(head + ("" if bad.startswith("grid") else "[grid]\nalpha_h = [1.0]\nbeta = [0.5]\n"))
        code, out, err = _cli(capsys, "sweep", str(spec), "--out", str(tmp_path / "o"))
        assert code == 2 and key in err and "not iterable" not in err and _one_line(err), err


def test_runaway_paths_of_a_potential_unbounded_below_are_not_survivors():
    from dynopt.engine.region import infer_region
    from dynopt.problems import from_expr

    prob = from_expr("-x**4 + x**2")
    model = dynamics.OverdampedLangevin(prob, 0.8)
    region = infer_region(model, [0.0])
    assert region is not None and region.floor <= -1000 and 3 < region.radius < 10
    r = simulate(model, "euler-maruyama", (0, 0.6), [0.0], 0.01, n_paths=4000, seed=0, backend="numpy",
                 options=EnsembleOptions(progress=False))
    alive = r.y_final[r.alive]
    assert r.n_diverged > 0 and "unbounded below" in r.note
    assert np.all(prob.value(alive) >= region.floor - 1e-6) and np.all(np.abs(alive) <= region.radius)
    mo = r.observations["moments"] if "moments" in r.observations else None
    assert mo is None or abs(mo.mean[-1, 0]) < 1


def test_a_bounded_potential_gets_no_region():
    from dynopt.engine.region import infer_region

    assert infer_region(LANG, [0.0]) is None
    assert infer_region(dynamics.OverdampedLangevin(tilted_double_well(), 0.7), [[0.0], [5.0]]) is None
    from dynopt.problems import from_expr

    # a minimum far below the start is a destination, not an escape
    assert infer_region(dynamics.OverdampedLangevin(from_expr("x**2 - 1000000*x"), 0.7), [0.0]) is None


def test_simulate_cli_flags_runaway_paths(capsys):
    code, out, err = _cli(capsys, "simulate", "--expr=-x**4+x**2", "--sigma", "0.8", "--T", "0.6", "--range",
                          "-0.7", "0.7", "--paths", "2000", "--no-figure", "--no-progress", "--json",
                          "--backend", "numpy")
    res = __import__("json").loads(out)
    assert code == 0 and res["n_diverged"] > 0 and "unbounded below" in res["note"]
    assert abs(res["mean"][0]) < 0.5 and res["var"][0] < 10


@pytest.mark.parametrize("dt, warned", [(0.001005, True), (0.001, True), (0.00099, False)])
def test_a_step_beyond_the_stability_limit_warns_before_the_run(capsys, dt, warned):
    code, out, err = _cli(capsys, "simulate", "--expr", "1000*x**2", "--dt", str(dt), "--T", str(dt * 200),
                          "--range", "-1", "1", "--paths", "50", "--no-figure", "--no-progress", "--backend", "numpy")
    assert code == 0
    assert ("warning" in err and "h·λ_max" in err and "≥ 2" in err) is warned, err
    if warned:
        assert err.startswith("dynopt simulate: warning:")  # before anything else, so before the run


def test_kramers_schemes_warn_from_their_own_step():
    from dynopt.engine.region import stability_warning

    k = dynamics.Kramers(quadratic(np.array([[100.0]])), 1.0, 0.5)
    assert stability_warning(k, "baoab", [0.0, 0.0], 0.25) is not None  # h√λ = 2.5 > 2
    assert stability_warning(k, "baoab", [0.0, 0.0], 0.15) is None      # h√λ = 1.5


@pytest.mark.parametrize("kT", [1e-9, 1e-12])
def test_an_underflowing_gibbs_density_raises_with_the_reason(kT):
    from dynopt.analysis.densities import GibbsDensity

    with pytest.raises(ValueError, match="`temperature`.*(too small|underflows)"):
        GibbsDensity(double_well(), kT)


def test_densities_and_tests_refuse_nan_inputs():
    from dynopt.analysis.densities import GibbsDensity, Marginal
    from dynopt.analysis.stationary import density_distances, gibbs_density, histogram_chi2

    g = GibbsDensity(double_well(), 0.3)
    with pytest.raises(ValueError, match="`samples` must be finite"):
        g.ks_test([0.1, NAN, 0.3])
    with pytest.raises(ValueError, match="`samples` must be finite"):
        g.ks_test([0.1, INF])
    with pytest.raises(ValueError, match="`counts` must be finite"):
        g.chi2_test([1, NAN, 3], [-1, 0, 1, 2])
    pdf, _ = gibbs_density(lambda x: (np.asarray(x) ** 2 - 1) ** 2, 0.3, -3, 3)
    with pytest.raises(ValueError, match="`samples` must be finite"):
        density_distances([0.0, NAN], pdf, -3, 3)
    with pytest.raises(ValueError, match="`counts` must be finite"):
        histogram_chi2([1.0, NAN], [0.5, 0.5])
    with pytest.raises(ValueError, match="`temperature`.*normaliser"):
        gibbs_density(lambda x: (np.asarray(x) - 2.9) ** 2 * 1e6 + 0 * np.asarray(x), 1e-300, -3, 3)
    with pytest.raises(ValueError, match="`density` has no positive integral"):
        Marginal(np.linspace(0, 1, 5), np.zeros(5))


def test_sigint_exits_130_with_one_line(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "dynopt.cli", "simulate", "--paths", "200000", "--T", "1000",
                             "--dt", "0.01", "--no-figure", "--no-progress", "--backend", "numpy"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)},
                            # Ctrl-C at a terminal: a suite started as a shell's background job
                            # would otherwise pass SIGINT ignored on to the command
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # interrupt the run itself, whatever the load: wait for the child's CPU time (not wall time)
    # to pass what its imports take (~2.5 s here), within a generous wall-clock cap
    tick = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / tick > 6.0:  # utime + stime
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "dynopt simulate: interrupted", err


def test_a_non_normalisable_potential_has_no_gibbs_density():
    import sympy as sp

    from dynopt.analysis.densities import check_normalisable

    x, y = sp.symbols("x y", real=True)
    for bad, syms in ((-x ** 4, (x,)), (-x ** 4 + x ** 2, (x,)), (x ** 3, (x,)), (x ** 2, (x, y))):
        with pytest.raises(ValueError, match="`--expr`: exp.*not normalisable"):
            check_normalisable(bad, syms)
    check_normalisable((x ** 2 - 1) ** 2 + y ** 2 + sp.Rational(3, 10) * x, (x, y))


def test_derive_density_refuses_a_non_normalisable_potential(capsys):
    code, out, err = _cli(capsys, "derive", "density", "--expr=-x**4")
    assert code == 2 and "not normalisable" in err


@pytest.mark.parametrize("grid, key, match", [
    ("beta = [0.5]", "`task`", r"needs \['alpha_h'\]"),
    ('beta = ["nan"]\nalpha_h = [1.0]', "`beta`", "'nan' is not a number"),
    ('beta = ["1/0"]\nalpha_h = [1.0]', "`beta`", "division by zero"),
    ("beta = [[0.5]]\nalpha_h = [1.0]", "`beta`", "finite real number"),
])
def test_sweep_values_and_missing_parameters_are_named(capsys, tmp_path, grid, key, match):
    import re

    spec = tmp_path / "s.toml"
    spec.write_text(f'task = "heavy_ball_quadratic"\n[grid]\n{grid}\n')
    code, out, err = _cli(capsys, "sweep", str(spec), "--out", str(tmp_path / "o"))
    assert code == 2 and key in err and re.search(match, err) and _one_line(err), err


@pytest.mark.parametrize("value, low, high, wanted", [
    (0, 1, None, "`n` must be a positive integer; got 0"),
    (True, 1, None, "`n` must be a positive integer; got True"),
    (2.0, 1, None, "`n` must be a positive integer; got 2.0"),
    ("3", 1, None, "`n` must be a positive integer; got '3'"),
    (-1, 0, None, "`n` must be a non-negative integer; got -1"),
    (2, 3, None, "`n` must be an integer ≥ 3; got 2"),
    (11, 1, 10, "`n` must be an integer in [1, 10]; got 11"),
])
def test_one_integer_check_names_the_argument_and_range(value, low, high, wanted):
    from dynopt.checks import check_int

    with pytest.raises(ValueError) as exc:
        check_int(value, "n", low=low, high=high)
    assert str(exc.value) == wanted


def test_integer_check_accepts_numpy_integers_at_the_bounds():
    from dynopt.checks import check_int

    assert check_int(np.int64(3), "n", low=3) == 3 and type(check_int(np.int32(5), "n", high=5)) is int
    assert check_int(0, "n", low=0) == 0


# ---- the door of both loops (dynopt.engine.validate), message by message ----

def test_step_count_divides_the_interval_exactly_or_says_where_it_would_end():
    """step_count: whole steps (1e-9 relative slack), else a message with both numbers and the neighbours."""
    from dynopt.engine.validate import step_count

    assert step_count((0.0, 1.0), 0.1) == 10 and step_count((2.0, 2.0), 0.5) == 0
    assert step_count((1.0, 4.0), 1.5) == 2 and step_count([-1, 1], 0.5) == 4
    assert step_count((0.0, 1.0), 0.1 * (1 + 5e-10)) == 10
    assert step_count((0.0, 10.0), 0.5 + 4e-10) == 20  # slack 1e-9 × the interval's length
    msg = (r"^`dt` must divide the interval t_span=\(0\.0, 1\.0\) of length 1 into whole steps; got 0\.3 "
           r"\(1/0\.3 = 3\.333 steps\)\. The nearest valid `dt` are 0\.25 \(4 steps\) and 0\.333333 \(3 steps\), "
           r"or end at t = 0\.9 \(3 steps\)\. Fixed-step schemes do not shorten the last step: "
           r"their state and coefficients are built for one step size$")
    with pytest.raises(ValueError, match=msg):
        step_count((0.0, 1.0), 0.3)
    with pytest.raises(ValueError, match=r"^`h` must divide .* The nearest valid `h` are 0\.666667 \(3 steps\) and "
                                         r"1 \(2 steps\), or end at t = 3\.6 \(2 steps\)\."):
        step_count((2.0, 4.0), 0.8, name="h")
    with pytest.raises(ValueError, match=r"\(1/1\.5 = 0\.6667 steps\)\. The nearest valid `dt` are 1 \(1 steps\) and 1 \(1 steps\)"):
        step_count((0.0, 1.0), 1.5)  # a step longer than the interval: one step is the nearest
    with pytest.raises(ValueError, match=r"^`dt` must be in \(0\.0, inf\); got 0\.0$"):
        step_count((0.0, 1.0), 0.0)
    with pytest.raises(ValueError, match=r"not divide|divide the interval"):
        step_count((0.0, 1.0), 0.1 * (1 + 2e-9))


@pytest.mark.parametrize("t_span,exc,message", [
    ("01", TypeError, r"^`t_span` must be a pair \(t0, t1\) of real numbers; got '01'$"),
    ((0.0,), TypeError, r"^`t_span` must be a pair \(t0, t1\) of real numbers; got \(0\.0,\)$"),
    (3.0, TypeError, r"^`t_span` must be a pair"),
    ((0.0, "b"), TypeError, r"^`t_span` must be a pair \(t0, t1\) of real numbers; got \(0\.0, 'b'\)$"),
    ((0.0, None), TypeError, r"^`t_span` must be a pair"),
    ((1.0, 0.0), ValueError, r"^`t_span` must be finite with t_span\[1\] >= t_span\[0\]; got \(1\.0, 0\.0\)$"),
    ((0.0, INF), ValueError, r"^`t_span` must be finite with"),
    ((NAN, 1.0), ValueError, r"^`t_span` must be finite with"),
])
def test_check_t_span_messages(t_span, exc, message):
    """check_t_span: a pair of finite reals with t1 ≥ t0, each refusal naming `t_span`."""
    from dynopt.engine.validate import check_t_span

    with pytest.raises(exc, match=message):
        check_t_span(t_span)


def test_check_t_span_and_y0_accept_what_they_should():
    """check_t_span/check_y0: the accepted forms and what they return."""
    from dynopt.engine.validate import check_t_span, check_y0

    assert check_t_span((1, 1)) == (1.0, 1.0) and check_t_span(np.array([0, 2])) == (0.0, 2.0)
    assert all(type(v) is float for v in check_t_span((np.float32(1), 2)))
    a = check_y0([[1, 2], [3, 4]])
    assert a.dtype == np.float64 and a.shape == (2, 2)
    assert check_y0([]).size == 0 and check_y0(5).shape == ()
    with pytest.raises(TypeError, match=r"^`x0` must be a real array of shape \(state_dim,\) or \(n_paths, state_dim\) "
                                        r"\(not ragged, no strings\); got \[\[1\], \[1, 2\]\]$"):
        check_y0([[1], [1, 2]], name="x0")
    with pytest.raises(TypeError, match=r"^`y0` must be a real array"):
        check_y0(["a"])
    with pytest.raises(ValueError, match=r"^`y0` must have shape \(state_dim,\) or \(n_paths, state_dim\); "
                                         r"got shape \(1, 1, 1\)$"):
        check_y0([[[1.0]]])
    with pytest.raises(ValueError, match=r"^`p0` must be finite; got non-finite entries in \[1\.0, nan\]$"):
        check_y0([1.0, NAN], name="p0")


def test_check_max_steps_memory_observers_and_executor_messages(monkeypatch):
    """check_max_steps/check_memory/check_observers/check_executor: the limits and their messages."""
    from dynopt.engine import validate

    validate.check_max_steps(100, 100, 0.01)
    with pytest.raises(ValueError, match=r"^`dt`=0\.001 makes 101 steps, above `max_steps`=100; "
                                         r"use a larger dt or raise max_steps$"):
        validate.check_max_steps(101, 100, 0.001)
    assert validate.MAX_STEPS == 10 ** 8
    monkeypatch.setattr(validate, "machine_memory", lambda: 2 ** 31)
    validate.check_memory(2 ** 31, "x")
    with pytest.raises(ValueError, match=r"^the path array needs about 2 GiB, more than this machine's 2 GiB of memory$"):
        validate.check_memory(2 ** 31 + 2 ** 20, "the path array")
    monkeypatch.setattr(validate, "machine_memory", lambda: 0)  # unknown: no refusal
    validate.check_memory(2 ** 60, "x")
    h1, h2 = Histogram(2, (0, 1)), Histogram(2, (0, 1), name="b")
    assert validate.check_observers([h1, h2]) == (h1, h2) and validate.check_observers(()) == ()
    with pytest.raises(TypeError, match=r"^`observers` must be a list or tuple of Observer instances; got Histogram$"):
        validate.check_observers(h1)
    with pytest.raises(TypeError, match=r"^`observers` must be Observer instances; got int 3$"):
        validate.check_observers([h1, 3])
    with pytest.raises(ValueError, match=r"^`observers` need distinct names; got \['histogram', 'histogram'\]$"):
        validate.check_observers([h1, Histogram(3, (0, 1))])
    validate.check_executor(None)
    with pytest.raises(TypeError, match=r"^`executor` must be an executor from dynopt\.engine\.get_executor\(\.\.\.\) "
                                        r"\(with a map method\) or None; got str 'local'$"):
        validate.check_executor("local")


def test_machine_memory_is_pages_times_page_size(monkeypatch):
    """machine_memory: physical pages × page size, 0 when the system does not tell."""
    from dynopt.engine import validate

    sizes = {"SC_PHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(validate.os, "sysconf", lambda key: sizes[key])
    assert validate.machine_memory() == 4096000

    def fails(key):
        raise ValueError(key)

    monkeypatch.setattr(validate.os, "sysconf", fails)
    assert validate.machine_memory() == 0


def test_check_run_returns_the_checked_run_and_refuses_the_wrong_kind():
    """check_run: scheme instance, t0, dt, steps, the model's states and the blow-up limit; the
    wrong model, scheme or kind named."""
    from dynopt.engine.validate import CheckedRun, check_run
    from dynopt.schemes import get_scheme

    r = check_run(LANG, "euler-maruyama", (1, 2), [[3.0], [-4.0]], 0.25, 10, True)
    assert isinstance(r, CheckedRun) and r.scheme.name == "euler-maruyama" and (r.t0, r.dt, r.n_steps) == (1.0, 0.25, 4)
    assert type(r.t0) is float and type(r.dt) is float
    np.testing.assert_array_equal(r.y_init, [[3.0], [-4.0]])
    assert r.blowup == 4e12
    k = dynamics.Kramers(DW, 1.0, 0.5)
    r = check_run(k, get_scheme("baoab"), (0, 1), [2.0], 0.5, 2, True)
    np.testing.assert_array_equal(r.y_init, [[2.0, 0.0]])
    assert r.blowup == 2e12 and r.n_steps == 2
    with pytest.raises(TypeError, match=r"^`model` must be a dynopt\.dynamics model \(e\.g\. GradientFlow\(problem\) or "
                                        r"OverdampedLangevin\(problem, sigma\)\); got str$"):
        check_run("model", "euler", (0, 1), [0.0], 0.5, 10, False)
    with pytest.raises(TypeError, match=r"^integrate\(\) runs ODE models; .* is an SDE model: use "
                                        r"dynopt\.engine\.simulate\(model, scheme, t_span, y0, dt, n_paths=\.\.\., seed=\.\.\.\)$"):
        check_run(LANG, "euler", (0, 1), [0.0], 0.5, 10, False)
    with pytest.raises(ValueError, match=r"^`scheme` 'rk4' is an ODE scheme; simulate\(\) needs an SDE scheme "
                                         r"\(e\.g\. 'euler-maruyama', 'milstein', 'baoab'\)$"):
        check_run(LANG, "rk4", (0, 1), [0.0], 0.5, 10, True)
    with pytest.raises(TypeError, match=r"^`scheme` must be a scheme name, class or instance; got int$"):
        check_run(GF, 3, (0, 1), [0.0], 0.5, 10, False)
    with pytest.raises(ValueError, match=r"^`scheme`"):
        check_run(GF, "no-such-scheme", (0, 1), [0.0], 0.5, 10, False)
    with pytest.raises(ValueError, match=r"above `max_steps`=1"):
        check_run(GF, "euler", (0, 1), [0.0], 0.5, 1, False)
    assert check_run(GF, "euler", (0, 1), [0.0], 0.5, 2, False).n_steps == 2
    with pytest.raises(ValueError, match=r"^`y0` must be finite"):
        check_run(GF, "euler", (0, 1), [NAN], 0.5, 10, False)
