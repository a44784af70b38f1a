"""simulate's regime hints: dt against the fastest scale at the start, and when the Gibbs test
rejects, whether step bias explains it and what removes it."""
import numpy as np
import pytest

from dynopt.analysis.regime import stationary_step_hint, step_scales
from dynopt.cli.simulate import run
from dynopt.cli.user_input import parse_expr


def test_step_scales_read_the_hessian_at_the_start():
    p = parse_expr("4*x**2 + y**2/2")
    assert step_scales(p, [0.3, 1.0], 0.05) == {"lambda_max": pytest.approx(8.0), "dt_lambda_max": pytest.approx(0.4)}
    assert step_scales(p, [0.3, 1.0], 0.05, "kramers")["dt_omega_max"] == pytest.approx(0.05 * np.sqrt(8))


def test_hint_names_step_bias_only_when_it_accounts_for_the_rejection():
    scales = {"lambda_max": 8.0, "dt_lambda_max": 0.4}
    assert stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(0.01, 0.5)], 4000) is None
    hint = stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(0.032, 1e-4)], 4000)
    assert "step bias is the likely cause" in hint and "leimkuhler-matthews" in hint and "--dt 0.0125" in hint
    hint = stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(0.3, 1e-40)], 4000)
    assert "unlikely" in hint and "--T 40" in hint
    hint = stationary_step_hint("leimkuhler-matthews", "langevin", 0.05, 10, scales, [(0.05, 1e-9)], 4000)
    assert "unlikely" in hint
    hint = stationary_step_hint("euler-maruyama", "kramers", 0.05, 10, {"dt_omega_max": 0.14}, [(0.05, 1e-9)], 4000)
    assert "baoab" in hint


def test_hint_on_a_stiff_run_and_its_cure():
    """Euler–Maruyama at dt·λ = 0.4 on L = 4x² inflates the stationary variance by 25 %: the test
    rejects and the hint names the step; Leimkuhler–Matthews at the same dt is exact on quadratics."""
    p = parse_expr("4*x**2")
    kw = dict(sigma=1.0, T=5.0, dt=0.05, n_paths=4000, seed=11, x0=[0.0], progress=False, backend="numpy",
              hist_range=(-2.0, 2.0))
    out = run(p, **kw)
    assert out["step_scales"]["dt_lambda_max"] == pytest.approx(0.4)
    assert out["gibbs"]["tests"][0]["ks_pvalue"] < 1e-3
    assert "step bias is the likely cause" in out["gibbs"]["hint"]
    out = run(p, scheme="leimkuhler-matthews", **kw)
    assert out["gibbs"]["tests"][0]["ks_pvalue"] > 0.01 and "hint" not in out["gibbs"]


def test_readme_example_prints_the_hint():
    """The README's simulate example (T = 10) rejects θ₁: the ensemble has not settled between the
    wells; the step (dt·λ_max = 0.04) is not the cause and the hint says so."""
    out = run(parse_expr("(x**2-1)**2 + 2*y**2 + 0.3*x"), sigma=1.0, T=10.0, dt=0.005, n_paths=4000, seed=0,
              x0=[1.0, 0.0], progress=False)
    assert out["step_scales"]["dt_lambda_max"] == pytest.approx(0.04)
    assert out["gibbs"]["tests"][0]["ks_pvalue"] < 1e-6  # θ₁ (seed 0): the run is far from stationary
    assert "unlikely" in out["gibbs"]["hint"] and "--T 40" in out["gibbs"]["hint"]


def test_stationary_bias_is_read_from_each_schemes_step():
    """The order of the stationary-variance bias comes from the scheme's own OU chain (no list of
    names): Euler–Maruyama and Milstein O(h) with ratio 1/(1 − hk/2), stochastic Heun O(h²)
    (a hand-kept list had it first order), Leimkuhler–Matthews exact; on harmonic Kramers BAOAB's
    position variance is exact and Euler–Maruyama's O(h); a name the reader cannot take gives None."""
    from dynopt.analysis.regime import stationary_bias

    for name in ("euler-maruyama", "milstein"):
        b = stationary_bias(name)
        assert b.order == 1 and b.ratio(0.05, 8.0) == pytest.approx(1 / (1 - 0.05 * 8 / 2), rel=1e-12)
    heun = stationary_bias("stochastic-heun")
    assert heun.order == 2 and heun.ratio(0.05, 8.0) == pytest.approx((2 - 0.4) / (0.16 - 0.8 + 4) * 2, rel=1e-12)
    assert stationary_bias("leimkuhler-matthews").order is None
    assert stationary_bias("baoab", "kramers").order is None
    assert stationary_bias("euler-maruyama", "kramers").order == 1
    assert stationary_bias("no-such-scheme") is None
    scales = {"lambda_max": 8.0, "dt_lambda_max": 0.4}
    hint = stationary_step_hint("stochastic-heun", "langevin", 0.05, 10, scales, [(0.002, 1e-4)], 10 ** 6)
    assert "step bias is the likely cause" in hint and "O(dt^2)" in hint and "leimkuhler" not in hint
    hint = stationary_step_hint("no-such-scheme", "langevin", 0.05, 10, scales, [(0.05, 1e-9)], 4000)
    assert "could not be read" in hint


def test_stationary_bias_at_the_stability_limit_is_infinite_not_an_error():
    from dynopt.analysis.regime import stationary_bias

    assert stationary_bias("euler-maruyama").ratio(0.001, 2000.0) == float("inf")  # hk = 2
    scales = {"lambda_max": 2000.0, "dt_lambda_max": 2.0}
    hint = stationary_step_hint("euler-maruyama", "langevin", 0.001, 0.2, scales, [(0.3, 1e-20)], 50)
    assert "beyond" in hint and "stability limit" in hint


def test_stability_limit_linear_bounds_and_undefined_cases():
    """h·γ ≤ 2 gives 2/ρ for Euler and Heun; ρ ≤ 0, an unconditionally stable scheme, or a constant
    bound of h·γ² are handled; the result is the largest grid step before the first failing one."""
    import math
    from dynopt.analysis.regime import stability_limit
    from dynopt.schemes import get_scheme
    assert stability_limit(get_scheme("euler"), 4.0) == 0.5
    assert stability_limit(get_scheme("heun"), 0.5) == 4.0
    assert stability_limit(get_scheme("euler"), 0.0) is None and stability_limit(get_scheme("euler"), -1.0) is None
    assert stability_limit(get_scheme("implicit19"), 3.0) is None
    # schemes of models the symbolic stand-ins do not read: no limit, as documented
    for name in ("nesterov-convex", "heavy-ball-sc", "nag-sc"):
        assert stability_limit(get_scheme(name), 3.0) is None
    # leapfrog: ργ² ≤ 4, scanned on the grid geomspace(1e-4, 10, 4001)/√ρ
    rho = 2.0
    gam = np.geomspace(1e-4, 10.0, 4001) / math.sqrt(rho)
    first_bad = int(np.argmax(rho * gam ** 2 > 4))
    assert stability_limit(get_scheme("leapfrog"), rho) == float(gam[first_bad - 1])
    assert gam[first_bad - 1] <= math.sqrt(4 / rho) < gam[first_bad]
    # symplectic Euler: ργ² ≤ 2(2 − λγ), read at the friction given
    lam = 0.7
    ok = rho * gam ** 2 <= -2 * (lam * gam - 2)
    assert stability_limit(get_scheme("symplectic-euler"), rho, lam) == float(gam[int(np.argmax(~ok)) - 1])
    assert stability_limit(get_scheme("symplectic-euler"), rho) == float(
        gam[int(np.argmax(~(rho * gam ** 2 <= -2 * (gam - 2)))) - 1])


def test_stability_limit_scans_through_a_pole_without_floating_point_errors():
    """Nesterov's bound 2(λγ − 2)/(2λγ − 3) has a pole at λγ = 3/2; a grid point on it is a failing
    step, not a FloatingPointError (the scan ignores floating-point warnings)."""
    import math
    from dynopt.analysis.regime import stability_limit
    from dynopt.schemes import get_scheme
    gam = np.geomspace(1e-4, 10.0, 4001)
    lam = 1.5 / gam[1000]
    assert 2 * (lam * gam[1000]) - 3 == 0  # the pole is on the grid
    with np.errstate(all="raise"):
        got = stability_limit(get_scheme("nesterov"), 1.0, lam)
    assert got == float(gam[999])
    assert math.isclose(got * lam, 1.5, rel_tol=0.01)


def _ks_shift(ratio):
    """max_x Φ(x) − Φ(x/√ratio) on the hint's grid, with scipy's normal law."""
    from scipy.stats import norm
    x = np.linspace(0.0, 8.0, 4001)
    return float(np.max(np.abs(norm.cdf(x) - norm.cdf(x / np.sqrt(ratio)))))


def test_hint_messages_word_for_word_on_langevin():
    """Euler–Maruyama's OU chain inflates the variance by 1/(1 − dtλ/2): the likely-cause message with its
    numbers, the unlikely one with T and n, an O(dt²) scheme's cure, the stability-limit message."""
    scales = {"lambda_max": 8.0, "dt_lambda_max": 0.4}
    pred = _ks_shift(1 / (1 - 0.2))
    hint = stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(0.01, 0.5), (0.032, 1e-4), (0.001, 1e-5)], 4000)
    assert hint == ("step bias is the likely cause: dt·λ_max = 0.4 at the start, so euler-maruyama inflates the "
                    f"stationary variance by ≈ 25.0% (an O(dt^1) bias read from its step; KS ≈ {pred:.3f} of the "
                    "observed 0.032); use --scheme leimkuhler-matthews (O(dt²) stationary bias, none on quadratics) "
                    "or --dt 0.0125")
    # the KS shift must be at least half the worst rejected statistic
    assert stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(2 * pred * 0.999, 1e-4)],
                                4000).startswith("step bias is the likely cause")
    hint = stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(2 * pred * 1.001, 1e-4),
                                                                                  (0.9, 0.5)], 4000)
    assert hint == (f"step bias is unlikely to explain it: dt·λ_max = 0.4 at the start accounts for KS ≈ {pred:.4f} "
                    f"of the observed {2 * pred * 1.001:.3f} (n = 4000); the ensemble has most likely not reached "
                    "the stationary law by T = 10 (slow barrier crossings): try --T 40")
    # stochastic Heun shrinks the variance (by 1/1.05 at dtλ = 0.4, read from its step) at O(dt²): only a smaller dt
    heun = stationary_step_hint("stochastic-heun", "langevin", 0.05, 10, scales, [(0.01, 1e-4)], 4000)
    assert heun.startswith("step bias is the likely cause: dt·λ_max = 0.4 at the start, so stochastic-heun shrinks "
                           "the stationary variance by ≈ 4.8% (an O(dt^2) bias") and heun.endswith("; use --dt 0.0125")
    assert stationary_step_hint("euler-maruyama", "langevin", 0.5, 10, {"lambda_max": 8.0, "dt_lambda_max": 4.0},
                                [(0.3, 1e-9)], 100) == (
        "step bias is the likely cause: dt·λ_max = 4 at the start is beyond euler-maruyama's stability limit; "
        "use --dt 0.125 or smaller")


def test_hint_level_and_the_other_branches():
    """A p-value equal to the level passes; the Kramers O(dt) message, a scheme without O(dt) bias, an unreadable one."""
    scales = {"lambda_max": 8.0, "dt_lambda_max": 0.4}
    assert stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(0.3, 0.01)], 4000) is None
    assert stationary_step_hint("euler-maruyama", "langevin", 0.05, 10, scales, [(0.3, 0.01)], 4000,
                                level=0.02) is not None
    k = stationary_step_hint("euler-maruyama", "kramers", 0.05, 10, {"dt_omega_max": 0.14}, [(0.05, 1e-9)], 4000)
    assert k == ("dt·√λ_max = 0.14 at the start; euler-maruyama has an O(dt) stationary bias on the Kramers "
                 "equation: use --scheme baoab or --dt 0.0125, and if the rejection stays, a longer run (--T 40): "
                 "the ensemble may not be stationary yet")
    lm = stationary_step_hint("leimkuhler-matthews", "langevin", 0.05, 10, scales, [(0.05, 1e-9)], 4000)
    assert lm == ("leimkuhler-matthews has no O(dt) stationary bias on quadratics, so the step is an unlikely cause "
                  "(dt·λ_max = 0.4); the ensemble has most likely not reached the stationary law by T = 10: try --T 40")
    ms = stationary_step_hint("momentum-sgd", "kramers", 0.05, 2.5, {"dt_omega_max": 0.14}, [(0.05, 1e-9)], 4000)
    assert ms == ("momentum-sgd has no O(dt) stationary bias on quadratics, so the step is an unlikely cause "
                  "(dt·λ_max = 0.14); the ensemble has most likely not reached the stationary law by T = 2.5: "
                  "try --T 10")
    no = stationary_step_hint("no-such-scheme", "langevin", 0.05, 10, scales, [(0.05, 1e-9)], 4000)
    assert no == ("the stationary bias of no-such-scheme could not be read from its step; if a smaller --dt does "
                  "not remove the rejection, the ensemble has most likely not reached the stationary law by T = 10: "
                  "try --T 40")


def test_step_scales_exact_keys():
    """Langevin: λ_max and dt·λ_max only; Kramers: λ_max and dt·√λ_max (0 for a non-positive λ_max)."""
    from dynopt.problems import quadratic
    p = quadratic(np.diag([4.0, 9.0]))
    assert step_scales(p, [0.0, 0.0], 0.1) == {"lambda_max": 9.0, "dt_lambda_max": pytest.approx(0.9)}
    assert step_scales(p, [0.0, 0.0], 0.1, "langevin").keys() == {"lambda_max", "dt_lambda_max"}
    assert step_scales(p, [0.0, 0.0], 0.1, "kramers") == {"lambda_max": 9.0, "dt_omega_max": pytest.approx(0.3)}
    neg = parse_expr("-x**2")
    assert step_scales(neg, [0.0], 0.1, "kramers") == {"lambda_max": -2.0, "dt_omega_max": 0.0}


def test_regime_check_as_dict_rounds_float_lists():
    """RegimeCheck.as_dict rounds floats and float lists to 4 digits and leaves other lists alone."""
    from dynopt.analysis.regime import RegimeCheck
    rc = RegimeCheck(ok=True, local_slopes=[1.234567, 2.0000004], tolerance=0.123456, reasons=["a"])
    d = rc.as_dict()
    assert d["local_slopes"] == [1.2346, 2.0]
    assert d["tolerance"] == 0.1235
    assert d["reasons"] == ["a"]
    assert d["asymptotic_fit"] is None
