"""First passage in the engine: absorption, the check at t0, the Brownian-bridge correction
and censoring-aware estimates (never a plain mean of the paths that happened to pass)."""
import numpy as np
import pytest

from python_kernels import python_kernels  # noqa: E402
from dynopt import dynamics, problems
from dynopt.analysis import (CensoredDataError, PassageSample, escape_times, kaplan_meier, mean_passage_time,
                             restricted_mean)
from dynopt.engine import EnsembleOptions, FirstPassage, LocalExecutor, Moments, SerialExecutor, ValuesAt, simulate


def _double_well(absorb, chunk=None, bridge=None, executor=None, T=10.0):
    # pinned to the numpy backend, whose double well is its fused polynomial; the compiled
    # backend's absorption is compared with numpy in test_kernels_cover
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    obs = [FirstPassage((0, 0.0, "above"), name="top", bridge=bridge),
           FirstPassage((0, 1.0, "above"), absorb=absorb, bridge=bridge), Moments(every=50),
           ValuesAt([T / 2])]
    return simulate(m, "euler-maruyama", (0, T), (-1.0,), 0.01, n_paths=3000, seed=5, observers=obs,
                    executor=executor, backend="numpy",
                    options=EnsembleOptions(block_size=256, chunk_size=chunk, progress=False))


FIELDS = ("step", "weight", "censor_time", "event_time", "bridge_path", "bridge_time", "bridge_weight")


def _same_passages(a, b):
    for name in ("top", "first_passage"):
        for f in FIELDS:
            assert np.array_equal(getattr(a.observations[name], f), getattr(b.observations[name], f),
                                  equal_nan=True), (name, f)


@pytest.mark.parametrize("bridge", [None, 0.7])
def test_absorption_gives_the_passage_times_of_a_full_run(bridge):
    full = _double_well(False, bridge=bridge)
    fp = full.observations["first_passage"]
    assert 0.3 < fp.passed.mean() < 0.95  # a mix of passed and censored paths
    for chunk in (256, 768, 4096):
        _same_passages(full, _double_well(True, chunk, bridge))
    # survivors end where they would have ended; absorbed paths stay where they passed
    ab = _double_well(True, 768, bridge)
    assert np.array_equal(full.y_final[~fp.passed], ab.y_final[~fp.passed])
    assert np.all(ab.y_final[fp.passed, 0] >= 1.0)
    # absorbed paths leave the other statistics after the step at which they passed
    assert ab.observations["moments"].count[-1] == int(np.sum((fp.step < 0) | (fp.step == ab.n_steps)))


def test_absorbing_runs_are_identical_on_executors():
    serial = _double_well(True, 4096, 0.7)
    for ex in (SerialExecutor(), LocalExecutor(2)):
        with ex:
            other = _double_well(True, 512, 0.7, executor=ex)
        _same_passages(serial, other)
        assert serial.y_final.tobytes() == other.y_final.tobytes()
        assert serial.observations["values"][1].tobytes() == other.observations["values"][1].tobytes()


def test_passage_is_checked_at_the_start():
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.5)
    r = simulate(m, "euler-maruyama", (2.0, 3.0), (1.5,), 0.01, n_paths=50, seed=1,
                 observers=[FirstPassage((0, 1.0, "above"), absorb=True)])
    fp = r.observations["first_passage"]
    assert fp.passed.all() and np.all(fp.step == 0) and np.all(fp.times == 2.0)
    assert mean_passage_time(PassageSample.from_observer(fp)).mean == 0.0


def test_heavily_censored_ensemble_never_gives_a_plain_mean():
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.5)
    r = simulate(m, "euler-maruyama", (0, 5.0), (-1.0,), 0.01, n_paths=2000, seed=3,
                 observers=[FirstPassage((0, 1.0, "above"), absorb=True)])
    fp = r.observations["first_passage"]
    assert 0 < fp.passed.sum() < 0.2 * fp.passed.size
    with pytest.raises(CensoredDataError, match="censored fraction 0.9"):
        escape_times(r)
    out = escape_times(r, on_censored="undefined")
    assert out["mean"] is None and out["censored_fraction"] > 0.8 and "censored fraction" in out["reason"]
    # the censoring-aware survival curve still uses every path
    km = kaplan_meier(PassageSample.from_observer(fp))
    assert km.survival[-1] == pytest.approx(1 - fp.passed.mean(), abs=1e-12)


def test_blown_up_paths_are_censored_at_their_blow_up():
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.5)
    r = simulate(m, "euler-maruyama", (0, 2.0), np.linspace(-40, -1, 20)[:, None], 0.5, seed=3,
                 observers=[FirstPassage((0, 1e200, "above"))], options=EnsembleOptions(check_every=1))
    fp = r.observations["first_passage"]
    dead = r.diverged_step >= 0
    assert dead.any() and not fp.passed[dead].any()
    assert np.array_equal(fp.censor_time[dead], 0.5 * r.diverged_step[dead])
    assert np.all(fp.censor_time[~dead & ~fp.passed] == 2.0)


def _drifted_bm_mean(dt, bridge, n=20000):
    # X = μt + σW from 0 to the level a: τ is inverse Gaussian with mean a/μ
    mu, sigma = 1.0, 1.0
    bm = dynamics.SDE(lambda t, x: np.full_like(x, mu), sigma, 1, noise="additive")
    r = simulate(bm, "euler-maruyama", (0, 40.0), (0.0,), dt, n_paths=n, seed=2024,
                 observers=[FirstPassage((0, 1.0, "above"), absorb=True, bridge=sigma if bridge else None)],
                 options=EnsembleOptions(keep_final=False))
    return escape_times(r)


def test_bridge_correction_removes_the_grid_delay_on_drifted_brownian_motion():
    exact = 1.0  # a/μ
    dt = 0.05
    corrected, plain = _drifted_bm_mean(dt, True), _drifted_bm_mean(dt, False)
    assert abs(corrected["mean"] - exact) < 3 * corrected["se"], corrected
    # the grid-only estimate is late by ≈ 0.58 σ√dt/μ (the overshoot of a random walk)
    assert plain["mean"] - exact > 8 * plain["se"], plain
    assert plain["mean"] - exact == pytest.approx(0.5826 * np.sqrt(dt), rel=0.25)


def test_survivor_noise_is_chunk_and_executor_invariant_and_unbiased():
    def run(chunk=None, ex=None, absorb="survivors"):
        m = dynamics.OverdampedLangevin(problems.double_well(), 1.0)
        return simulate(m, "euler-maruyama", (0, 10.0), (-1.0,), 0.01, n_paths=2000, seed=8, executor=ex,
                        observers=[FirstPassage((0, 0.0, "above"), absorb=absorb, bridge=1.0)],
                        options=EnsembleOptions(block_size=256, chunk_size=chunk, progress=False))
    a, b = run(256), run(2048)
    with LocalExecutor(2) as ex:
        c = run(512, ex)
    for other in (b, c):
        _same_fields = [np.array_equal(getattr(a.observations["first_passage"], f),
                                       getattr(other.observations["first_passage"], f), equal_nan=True) for f in FIELDS]
        assert all(_same_fields) and a.y_final.tobytes() == other.y_final.tobytes()
    # other numbers than the exact mode, same law: the restricted means agree within 5 SE
    exact, surv = (restricted_mean(PassageSample.from_observer(r.observations["first_passage"]), horizon=10.0)
                   for r in (run(absorb=True), a))
    assert abs(exact.value - surv.value) < 5 * np.hypot(exact.std_err, surv.std_err)
    with pytest.raises(ValueError, match="absorb"):
        FirstPassage((0, 0.0, "above"), absorb="yes")


def _two_passages(chunk, backend="numpy", potential="(x**2 - 1)**2/4", every=5, T=4.0, dt=0.01, deep=(-1.6, "below")):
    """An absorbing passage at the barrier beside a non-absorbing one deeper in the well,
    checked every ``every`` steps."""
    from dynopt.problems import from_expr
    obs = [FirstPassage((0, 0.0, "above"), absorb=True),
           FirstPassage((0, *deep), name="deep", every=every)]
    return simulate(dynamics.OverdampedLangevin(from_expr(potential, name="w"), 0.8), "euler-maruyama", (0, T),
                    [-1.0], dt, observers=obs, n_paths=512, seed=3, backend=backend,
                    options=EnsembleOptions(block_size=32, chunk_size=chunk, progress=False))


@pytest.mark.parametrize("chunk", [32, 96])
def test_a_path_absorbed_elsewhere_is_censored_at_the_next_check_whatever_the_chunk(chunk):
    """Compaction drops absorbed rows at times that depend on the chunk; the other passage
    observer must censor them at its first check after the absorption all the same."""
    a, b = _two_passages(chunk).observations, _two_passages(512).observations
    ab = a["first_passage"].step >= 0
    assert ab.sum() > 100
    for f in ("step", "censor_time"):
        assert np.array_equal(getattr(a["deep"], f), getattr(b["deep"], f), equal_nan=True), f
    # absorbed before passing "deep": censored at a check of "deep" after the absorption
    t_abs = a["first_passage"].event_time[ab & ~a["deep"].passed]
    t_cen = a["deep"].censor_time[ab & ~a["deep"].passed]
    late = t_abs > 4.0 - 0.05
    assert np.all(t_cen[~late] > t_abs[~late]) and np.all(t_cen[~late] <= t_abs[~late] + 0.05 + 1e-12)


@pytest.mark.parametrize("chunk", [32, 96])
def test_blown_up_paths_of_an_absorbing_run_are_censored_whatever_the_chunk(chunk):
    """Diverged rows compacted away before the observer's next check are still censored at
    the first check at or after their detection."""
    kw = dict(potential="-x**4/4", every=3, T=3.0, dt=0.05, deep=(0.5, "above"))
    a, b = _two_passages(chunk, **kw), _two_passages(512, **kw)
    assert 128 < a.n_diverged < 512
    assert np.array_equal(a.diverged_step, b.diverged_step)
    for name in ("first_passage", "deep"):
        for f in ("step", "censor_time"):
            assert np.array_equal(getattr(a.observations[name], f), getattr(b.observations[name], f),
                                  equal_nan=True), (name, f)


def _absorbing_well(absorb, dtype=np.float64, level=50.0):
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, FirstPassage, simulate

    # σ = 2.5 at dt = 0.25 throws about half the paths into Euler's cubic blow-up; most pass the
    # level on the way, a few blow up first
    m = dynamics.OverdampedLangevin(problems.double_well(), 2.5)
    return simulate(m, "euler-maruyama", (0, 5), (-1.0,), 0.25, n_paths=200, seed=5,
                    observers=[FirstPassage((0, level, "above"), absorb=absorb)], backend="numpy",
                    options=EnsembleOptions(block_size=32, progress=False, dtype=dtype))


def test_a_path_that_diverges_during_an_absorbing_run_is_reported_as_in_the_full_run():
    full, ab = _absorbing_well(False), _absorbing_well(True)
    pf, pa = full.observations["first_passage"], ab.observations["first_passage"]
    np.testing.assert_array_equal(pa.step, pf.step)
    gone = ab.diverged_step >= 0
    assert ab.n_diverged == gone.sum() >= 1
    # it diverged at the same step as in the full run and never passed
    np.testing.assert_array_equal(ab.diverged_step[gone], full.diverged_step[gone])
    assert not pa.passed[gone].any()


def test_absorbing_runs_in_float32_give_the_full_run_passages():
    full, ab = _absorbing_well(False, np.float32, 2.0), _absorbing_well(True, np.float32, 2.0)
    assert ab.dtype == "float32"
    np.testing.assert_array_equal(ab.observations["first_passage"].step, full.observations["first_passage"].step)


def test_saved_trajectory_of_an_absorbed_path_stays_where_it_was_absorbed():
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, FirstPassage, simulate

    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    run = dict(n_paths=64, seed=5, backend="numpy", options=EnsembleOptions(block_size=32, progress=False, save_every=10))
    full = simulate(m, "euler-maruyama", (0, 4), (-1.0,), 0.01,
                    observers=[FirstPassage((0, 0.0, "above"))], **run)
    ab = simulate(m, "euler-maruyama", (0, 4), (-1.0,), 0.01,
                  observers=[FirstPassage((0, 0.0, "above"), absorb=True)], **run)
    step = full.observations["first_passage"].step
    k = np.round(ab.t / 0.01).astype(int)
    hit = step >= 0
    assert 0 < hit.sum() < 64
    for i in np.flatnonzero(hit):
        before, after = k <= step[i], k > step[i]
        np.testing.assert_array_equal(ab.y[before, i], full.y[before, i])
        # every saved state after the passage is the state at the passage, the final one too
        assert np.all(ab.y[after, i] == ab.y_final[i])
        assert ab.y_final[i, 0] >= 0.0


def _passage_run(observer, every=1, **kw):
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, simulate

    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    return simulate(m, "euler-maruyama", (0, 2), (-1.0,), 0.01, n_paths=200, seed=8, observers=[observer],
                    backend="numpy",
                    options=EnsembleOptions(block_size=64, save_every=every, progress=False), **kw)


def test_first_passage_below_and_by_callable_match_the_saved_paths():
    from dynopt.engine import FirstPassage

    r = _passage_run(FirstPassage((0, -1.3, "below")))
    res = r.observations["first_passage"]
    x = r.y[:, :, 0]
    below = x <= -1.3
    first = np.where(below.any(axis=0), below.argmax(axis=0), -1)
    assert 0 < res.passed.sum() < 200
    np.testing.assert_array_equal(res.step, first)
    # without a bridge the passage time is the step's time, not shifted
    np.testing.assert_array_equal(res.event_time[res.passed], res.times)
    assert res.bridge == 0.0
    same = _passage_run(FirstPassage(lambda y: y[:, 0] <= -1.3)).observations["first_passage"]
    np.testing.assert_array_equal(same.step, res.step)
    with pytest.raises(ValueError, match="^`bridge` needs a level or ball target"):
        FirstPassage(lambda y: y[:, 0] <= -1.3, bridge=0.7)


def test_bridge_crossing_probability_uses_the_time_between_looks():
    from dynopt.engine import FirstPassage

    g, dt, every = 0.7, 0.01, 2
    r = _passage_run(FirstPassage((0, 0.0, "above"), every=every, bridge=g), every=every)
    res = r.observations["first_passage"]
    assert res.bridge == g and res.bridge_path.size > 0
    ks = np.round(r.t / dt).astype(int)
    # first record of each path: P(bridge crossed) = exp(−2 d₀ d₁ / (g² Δt)), Δt = every·dt
    _, first = np.unique(res.bridge_path, return_index=True)
    for j in first:
        i = res.bridge_path[j]
        k = int(round((res.bridge_time[j] + 0.5 * every * dt) / dt))
        s = np.flatnonzero(ks == k)[0]
        d0, d1 = -r.y[s - 1, i, 0], -r.y[s, i, 0]
        assert res.bridge_weight[j] == pytest.approx(np.exp(-2 * d0 * d1 / (g * g * dt * every)), rel=1e-12)


def test_survivors_absorption_in_float32_is_chunk_invariant():
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, FirstPassage, simulate

    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    runs = [simulate(m, "euler-maruyama", (0, 2), (-1.0,), 0.01, n_paths=128, seed=2, backend="numpy",
                     observers=[FirstPassage((0, 0.0, "above"), absorb="survivors")],
                     options=EnsembleOptions(block_size=32, chunk_size=c, dtype=np.float32, progress=False)) for c in (32, 128)]
    steps = [r.observations["first_passage"].step for r in runs]
    assert runs[0].y_final.dtype == np.float32 and 0 < (steps[0] >= 0).sum() < 128
    np.testing.assert_array_equal(steps[0], steps[1])
    np.testing.assert_array_equal(runs[0].y_final, runs[1].y_final)


def test_sgd_iterates_under_absorption_follow_their_full_run():
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, FirstPassage, simulate

    rng = np.random.default_rng(0)
    A = rng.normal(size=(12, 2))
    p = problems.least_squares(A, A @ np.ones(2) + rng.normal(size=12))
    model = dynamics.SGDModifiedEquation(p, 0.05, 2)

    def run(absorb):
        return simulate(model, "sgd", (0, 40 * 0.05), [0.0, 0.0], 0.05, n_paths=64, seed=4, backend="numpy",
                        observers=[FirstPassage((0, 1.0, "above"), absorb=absorb)],
                        options=EnsembleOptions(block_size=16))

    full, ab = run(False), run(True)
    pf, pa = full.observations["first_passage"], ab.observations["first_passage"]
    assert 0 < pf.passed.sum() < 64
    np.testing.assert_array_equal(pa.step, pf.step)
    # the paths that never passed drew the same minibatches in both runs
    np.testing.assert_array_equal(ab.y_final[~pf.passed], full.y_final[~pf.passed])


# states of component 0 at the looks k = 0, 2, 4, 6 (NaN: blown up), of 6 paths
_FP_Y = np.array([[0.0, 0.9, 1.2, 1.2],       # passes at k = 4 after a bridge record at k = 2
                  [np.nan] * 4,               # blown up from the start: censored at t0
                  [0.5, 0.5, 0.5, 0.5],       # never passes: three bridge records, censored at the end
                  [1.5, 1.5, 1.5, 1.5],       # inside at t0: passed at step 0, no midpoint shift
                  [0.8, 0.95, np.nan, np.nan],  # blows up at k = 4 after a record at k = 2
                  [0.0, 0.0, 0.0, 0.0]])      # far away: hazards below MIN_HAZARD are not recorded


def _fp_fed_by_hand(fp, feed):
    from dynopt.engine.brownian import make_layout

    layout = make_layout(6, block_size=2)
    assert fp.steps(6, 1.0, 0.1) == [0, 2, 4, 6]
    fp.start(layout, 1)
    for j, k in enumerate((0, 2, 4, 6)):
        y = _FP_Y[:, j:j + 1]
        alive = np.isfinite(y[:, 0])
        feed(fp, k, 1.0 + 0.1 * k, y, alive, layout)
    return fp.result()


def _feed_whole(fp, k, t, y, alive, layout):
    fp.observe(k, t, y, 0, 3, layout, alive)


def _feed_blocks(fp, k, t, y, alive, layout):
    fp.observe(k, t, y[:2], 0, 1, layout, alive[:2])
    fp.observe(k, t, y[2:], 1, 3, layout, alive[2:])


def _feed_rows(fp, k, t, y, alive, layout):
    for rows in (np.array([0, 2, 5]), np.array([1, 3, 4])):  # gathered, not contiguous
        fp.observe_rows(k, t, y[rows], rows, alive[rows])


@pytest.mark.parametrize("feed", [_feed_whole, _feed_blocks, _feed_rows])
def test_first_passage_result_fields_by_hand(feed):
    """FirstPassage.observe_rows/result: passage steps, event and censoring times, bridge hazards
    exp(-2 d0 d1 / (g² Δt)) and weights as computed by hand, however the rows are fed."""
    from dynopt.engine.targets import Level

    r = _fp_fed_by_hand(FirstPassage(Level(0, 1.0), every=2, bridge=0.5), feed)
    c = 2.0 / (0.5 ** 2 * 0.2)  # the hazard's exponent per d0·d1
    h0, h2, h4 = np.exp(-c * 1.0 * 0.1), np.exp(-c * 0.5 * 0.5), np.exp(-c * 0.2 * 0.05)
    np.testing.assert_array_equal(r.step, [4, -1, -1, 0, -1, -1])
    np.testing.assert_array_equal(r.passed, [True, False, False, True, False, False])
    np.testing.assert_allclose(r.times, [1.4, 1.0], rtol=1e-12)
    assert r.resolution == pytest.approx(0.2, rel=1e-12) and r.t0 == 1.0 and r.bridge == 0.5
    np.testing.assert_allclose(r.event_time, [1.3, np.nan, np.nan, 1.0, np.nan, np.nan], rtol=1e-12)
    np.testing.assert_allclose(r.censor_time, [np.nan, 1.0, 1.6, np.nan, 1.4, 1.6], rtol=1e-12)
    np.testing.assert_allclose(r.weight, [1 - h0, 1, (1 - h2) ** 3, 1, 1 - h4, 1], rtol=1e-12)
    np.testing.assert_array_equal(r.bridge_path, [0, 2, 2, 2, 4])
    np.testing.assert_allclose(r.bridge_time, [1.1, 1.1, 1.3, 1.5, 1.1], rtol=1e-12)
    np.testing.assert_allclose(r.bridge_weight, [h0, h2, (1 - h2) * h2, (1 - h2) ** 2 * h2, h4], rtol=1e-12)


def test_first_passage_without_bridge_times_passages_on_the_grid():
    """FirstPassage.result without a bridge: event = detection time, no records, weights 1, bridge 0."""
    r = _fp_fed_by_hand(FirstPassage(lambda y: y[:, 0] >= 1.0, every=2), _feed_whole)
    np.testing.assert_array_equal(r.step, [4, -1, -1, 0, -1, -1])
    np.testing.assert_allclose(r.event_time, [1.4, np.nan, np.nan, 1.0, np.nan, np.nan], rtol=1e-12)
    np.testing.assert_allclose(r.censor_time, [np.nan, 1.0, 1.6, np.nan, 1.4, 1.6], rtol=1e-12)
    np.testing.assert_array_equal(r.weight, np.ones(6))
    assert r.bridge == 0.0 and r.bridge_path.size == 0 and r.bridge_time.size == 0 and r.bridge_weight.size == 0
    assert r.bridge_path.dtype == np.int64


def test_first_passage_result_arrays_are_copies():
    """FirstPassage.result: changing a result leaves the observer's own arrays alone."""
    fp = FirstPassage(lambda y: y[:, 0] >= 1.0, every=2)
    r = _fp_fed_by_hand(fp, _feed_whole)
    r.step[:] = 7
    r.weight[:] = 0.5
    np.testing.assert_array_equal(fp.step, [4, -1, -1, 0, -1, -1])
    np.testing.assert_array_equal(fp.weight, np.ones(6))


def test_first_passage_checks_its_arguments():
    """FirstPassage.__init__: every message names its argument and the allowed values."""
    from dynopt.engine.targets import Ball, Region

    with pytest.raises(TypeError, match=r"`condition` must be callable, a Target \(Level, Ball, Region\) or a "
                                        r"\(coord, level, side\) tuple"):
        FirstPassage(3)
    with pytest.raises(ValueError, match=r"`every`"):
        FirstPassage((0, 1.0, "above"), every=0)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"`bridge` must be the noise amplitude g > 0 of the observed component; got "):
            FirstPassage((0, 1.0, "above"), bridge=bad)
    for cond in (lambda y: y[:, 0] > 1, Region("x1 > 1", problems.double_well().symbols)):
        with pytest.raises(ValueError, match=r"`bridge` needs a level or ball target"):
            FirstPassage(cond, bridge=0.5)
    for bad in ("yes", 1.5, None):
        with pytest.raises(ValueError, match=r"`absorb` must be True, False or 'survivors'; got "):
            FirstPassage((0, 1.0, "above"), absorb=bad)
    fp = FirstPassage((1, -0.5, "below"), every=3, name="down", absorb="survivors", bridge=2)
    assert (fp.every, fp.name, fp.absorb, fp.bridge) == (3, "down", "survivors", 2.0)
    assert fp.level_condition == (1, -0.5, False) and fp.kernel_target is fp.target
    assert FirstPassage((0, 0.5, "above")).level_condition == (0, 0.5, True)
    d = FirstPassage(lambda y: y[:, 0] > 0)
    assert (d.every, d.name, d.absorb, d.bridge, d.level_condition, d.kernel_target) == (1, "first_passage", False, None, None, None)
    assert FirstPassage(Ball([0.0], 1.0), bridge=1.0).level_condition is None


def test_first_passage_reports_the_paths_that_passed_at_each_look():
    """FirstPassage.observe_rows: ``hits`` (global rows) and ``hits_step`` after each look, for absorption."""
    seen = []

    def feed(fp, k, t, y, alive, layout):
        fp.observe_rows(k, t, y[3:], np.arange(3, 6), alive[3:])
        seen.append((fp.hits_step, fp.hits.tolist(), fp.hits.dtype))
        fp.observe_rows(k, t, y[:3], slice(0, 3), alive[:3])
        seen.append((fp.hits_step, fp.hits.tolist(), fp.hits.dtype))

    _fp_fed_by_hand(FirstPassage((0, 1.0, "above"), every=2), feed)
    assert [s[:2] for s in seen] == [(0, [3]), (0, []), (2, []), (2, []), (4, []), (4, [0]), (6, []), (6, [])]
    assert all(s[2] == np.int64 for s in seen)


# ---- absorption against hand loops of Brownian motion (flat potential, Euler–Maruyama) ----

_BM = dict(n=40, bs=8, steps=60, dt=0.01, g=1.0, level=0.3, seed=17)


def _flat_bm():
    import sympy

    flat = problems.from_expr(sympy.Integer(0), symbols=[sympy.Symbol("x")], name="flat")
    return dynamics.OverdampedLangevin(flat, _BM["g"])


def _absorbed_by_hand(survivors, y0):
    """Paths y += g·√dt·z stopped at the first step with y ≥ level; z from each block's stream,
    for every path (absorb=True) or only for the block's paths not yet absorbed, in row order."""
    n, bs, steps, dt, g, level = (_BM[k] for k in ("n", "bs", "steps", "dt", "g", "level"))
    kids = np.random.SeedSequence(_BM["seed"]).spawn(-(-n // bs))
    gens = [np.random.Generator(np.random.SFC64(c)) for c in kids]
    y = np.array(y0, float)
    hit = np.where(y >= level, 0, -1)
    saved, every = [y.copy()], [y.copy()]
    for k in range(1, steps + 1):
        for b, gen in enumerate(gens):
            rows = np.arange(b * bs, min((b + 1) * bs, n))
            if survivors:
                rows = rows[hit[rows] < 0]
                z = gen.standard_normal((rows.size, 1))[:, 0]
            else:
                z = gen.standard_normal((rows.size, 1))[:, 0]
                z, rows = z[hit[rows] < 0], rows[hit[rows] < 0]
            y[rows] = y[rows] + g * np.sqrt(dt) * z
        new = (hit < 0) & (y >= level)
        hit[new] = k
        if k % 20 == 0:
            saved.append(y.copy())
        every.append(y.copy())
    return y, hit, np.array(saved), np.array(every)


@pytest.mark.parametrize("absorb", [True, "survivors"])
@pytest.mark.parametrize("chunk,backend", [(8, "numpy"), (16, "numpy"), (40, "numpy"), (16, "python-kernel"),
                                           (40, "python-kernel")])
def test_absorbed_paths_follow_a_hand_loop_whatever_the_chunk(absorb, chunk, backend, monkeypatch):
    """Absorption (both kinds, numpy and the generated kernel run as Python): passage steps, frozen
    final and saved states, and which normals a surviving path gets, as a hand loop over the
    documented block streams computes them."""
    if backend != "numpy":
        pytest.importorskip("numba")
        python_kernels(monkeypatch)
    y0 = np.zeros((_BM["n"], 1))
    y0[[5, 17]] = 0.4  # inside at t0: absorbed at step 0
    r = simulate(_flat_bm(), "euler-maruyama", (0, _BM["steps"] * _BM["dt"]), y0, _BM["dt"], n_paths=_BM["n"],
                 seed=_BM["seed"], backend="numpy" if backend == "numpy" else "numba",
                 observers=[FirstPassage((0, _BM["level"], "above"), absorb=absorb), Moments(every=1)],
                 options=EnsembleOptions(block_size=_BM["bs"], chunk_size=chunk, save_every=20, progress=False))
    y, hit, saved, every = _absorbed_by_hand(absorb == "survivors", y0[:, 0])
    fp = r.observations["first_passage"]
    np.testing.assert_array_equal(fp.step, hit)
    assert 10 < (hit >= 0).sum() < 35 and hit[5] == 0 and hit[17] == 0
    np.testing.assert_allclose(r.y_final[:, 0], y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r.y[:, :, 0], saved, rtol=1e-12, atol=1e-14)
    # other observers see a path up to and including the step at which it is absorbed
    seen = np.array([(hit < 0) | (hit >= k) for k in range(_BM["steps"] + 1)])
    mo = r.observations["moments"]
    np.testing.assert_array_equal(mo.count, seen.sum(axis=1))
    # (a mean over fewer than half of the observed paths is undefined: NaN)
    want = [every[k][seen[k]].mean() if seen[k].sum() >= _BM["n"] / 2 else np.nan for k in range(_BM["steps"] + 1)]
    np.testing.assert_allclose(mo.mean[:, 0], want, rtol=1e-12, atol=1e-15)
    assert r.n_diverged == 0 and r.backend == ("numpy" if backend == "numpy" else "numba")


def test_compaction_waits_for_a_quarter_of_finished_rows_and_blanks_the_diverged():
    """Absorption.compact: nothing until at most 75 % of the stepped rows run; then the state keeps the
    running rows, and diverged (not absorbed) rows get NaN final and later saved states."""
    from typing import NamedTuple

    from dynopt.engine.absorb import COMPACT_BELOW, Absorption
    from dynopt.engine.chunks import Outputs

    class State(NamedTuple):
        y: np.ndarray
        grad_evals: int

    assert COMPACT_BELOW == 0.75
    out = Outputs(np.zeros((10, 1)), np.zeros((3, 10, 1)), np.full(10, -1), 0, 0)
    ab = Absorption([], out, 2, 10, 2, [0, 5, 10])  # rows 2..9 of out: 8 stepped rows
    state = State(np.arange(8.0)[:, None], 3)
    ab.mask[[0, 1]] = False
    ab.n_run = 6  # 6 of 8 running: 75 %, compacted
    ab.done[0] = True  # row 0 absorbed, row 1 diverged
    same = ab.compact(4, state, np.ones(8, bool))
    np.testing.assert_array_equal(same.y[:, 0], np.arange(2.0, 8.0))
    assert same.grad_evals == 3 and ab.rows.tolist() == [2, 3, 4, 5, 6, 7] and ab.mask.all() and ab._plan is None
    assert np.isnan(out.y_final[3, 0]) and out.y_final[2, 0] == 0 and not np.isnan(out.y_final[4:]).any()
    assert np.isnan(out.paths[1:, 3, 0]).all() and out.paths[0, 3, 0] == 0 and not np.isnan(out.paths[:, 2]).any()
    # 5 of 6 running (> 75 %): left alone; all running: left alone
    ab.mask[0] = False
    ab.n_run = 5
    assert ab.compact(6, same, np.ones(6, bool)) is same and ab.rows.size == 6
    ab.mask[0], ab.n_run = True, 6
    assert ab.compact(6, same, np.ones(6, bool)) is same
    # a diverged row after the last save: only its final state is blanked
    ab.mask[[0, 1, 2]] = False
    ab.n_run = 3
    ab.compact(10, same, np.ones(6, bool))
    assert np.isnan(out.y_final[4:7, 0]).all() and not np.isnan(out.paths[:, 4:7]).any()
    assert ab.rows.tolist() == [5, 6, 7]
