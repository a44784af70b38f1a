"""The ensemble engine: chunk invariance, Brownian replay, analytic statistics, bad input."""
import dataclasses
import inspect

import numpy as np
import pytest

from dynopt import dynamics, problems
from dynopt.engine import brownian_increments, ensemble
from dynopt.engine import (EnsembleOptions, FirstPassage, Histogram, Histogram2D, Moments, SerialExecutor, Solution,
                           TimeAverage, ValuesAt, integrate, simulate)
from dynopt.schemes import get_scheme


def _run(model, scheme, chunk, y0=(0.3,), T=0.5, dt=0.01, n=3000):
    obs = [Moments(every=10), Histogram(16, (-2, 2), every=5),
           FirstPassage((0, 0.8, "above")), ValuesAt([0.2, 0.5])]
    if model.state_dim == 2:
        obs.append(Histogram2D((8, 8), ((-2, 2), (-2, 2))))
    return simulate(model, scheme, (0, T), y0, dt, n_paths=n, seed=123, observers=obs,
                    options=EnsembleOptions(chunk_size=chunk, block_size=256))


@pytest.mark.parametrize("scheme,kind", [("euler-maruyama", "langevin"), ("milstein", "gbm"),
                                         ("stochastic-heun", "gbm"), ("baoab", "kramers"),
                                         ("obabo", "kramers"), ("momentum-sgd", "kramers")])
def test_bit_identical_for_three_chunk_sizes(scheme, kind):
    if kind == "langevin":
        model, y0 = dynamics.OverdampedLangevin(problems.double_well(), 0.7), (0.3,)
    elif kind == "gbm":
        model, y0 = dynamics.geometric_brownian_motion(0.5, 0.8), (1.0,)
    else:
        model, y0 = dynamics.Kramers(problems.double_well(), 1.0, 0.8), (0.3, 0.0)
    runs = [_run(model, scheme, c, y0) for c in (256, 768, 4096)]  # 1, 3, all 12 blocks
    a = runs[0]
    for b in runs[1:]:
        assert np.array_equal(a.y_final, b.y_final)
        for name in a.observations:
            ra, rb = a.observations[name], b.observations[name]
            if isinstance(ra, tuple):
                assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(ra, rb))
            else:
                for f in vars(ra):
                    assert np.array_equal(getattr(ra, f), getattr(rb, f), equal_nan=True), (name, f)
    # and the streaming moments agree with the stored final states
    m = a.observations["moments"]
    assert np.allclose(m.mean[-1], a.y_final.mean(0)) and np.allclose(m.var[-1], a.y_final.var(0, ddof=1))


def test_brownian_replay_at_coarser_steps():
    bm = dynamics.SDE(lambda t, x: np.zeros_like(x), 1.0, 1, noise="additive")
    fine = simulate(bm, "euler-maruyama", (0, 1), [0.0], 1 / 64, n_paths=500, seed=9,
                    options=EnsembleOptions(block_size=100, save_every=8))
    coarse = simulate(bm, "euler-maruyama", (0, 1), [0.0], 1 / 8, n_paths=500, seed=9,
                      options=EnsembleOptions(block_size=100, brownian_substeps=8, save_every=1))
    assert np.allclose(fine.y, coarse.y, rtol=0, atol=1e-12)
    dW = brownian_increments(500, 64, 1 / 64, seed=9, block_size=100)
    assert np.allclose(dW.sum(0), fine.y_final, atol=1e-12)


def test_ou_mean_variance_against_closed_form():
    th, s, x0, T = 2.0, 0.8, 1.0, 1.0
    ou = dynamics.ornstein_uhlenbeck(th, s)
    dt = 1 / 256
    r = simulate(ou, "euler-maruyama", (0, T), [x0], dt, n_paths=40000, seed=5,
                 observers=[Moments(times=[0.5, 1.0])])
    m = r.observations["moments"]
    # EM on OU is a linear recursion: its exact discrete mean/variance
    a = 1 - th * dt
    for i, t in enumerate(m.t):
        n = round(t / dt)
        mean = x0 * a ** n
        var = s * s * dt * (1 - a ** (2 * n)) / (1 - a * a)
        assert abs(m.mean[i, 0] - mean) < 5 * np.sqrt(var / m.count[i])
        assert abs(m.var[i, 0] - var) < 5 * var * np.sqrt(2 / m.count[i])


def test_divergence_counted_and_excluded():
    # dt far beyond the stability of the cubic: paths started far out blow up
    model = dynamics.OverdampedLangevin(problems.double_well(), 0.1)
    y0 = np.concatenate([np.full((50, 1), 0.5), np.full((50, 1), 30.0)])
    r = simulate(model, "euler-maruyama", (0, 1), y0, 0.1, seed=1, observers=[Moments()],
                 options=EnsembleOptions(block_size=25))
    assert r.n_diverged == 50 and r.first_divergence_step is not None
    assert "excluded" in r.note
    assert r.observations["moments"].count[-1] == 50
    assert np.isfinite(r.observations["moments"].mean).all()


def test_ode_integrate_unchanged():
    from dynopt.dynamics import GradientFlow
    sol = integrate(GradientFlow(problems.ellipse()), "euler", (0, 1), [1.0, 1.0], 0.1)
    assert isinstance(sol, Solution) and sol.n_steps == 10
    with pytest.raises(TypeError, match="ensemble options \\['seed'\\].*simulate"):
        integrate(GradientFlow(problems.ellipse()), "euler", (0, 1), [1.0, 1.0], 0.1, seed=1)


def test_integrate_refuses_sde_models_and_points_to_simulate():
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.5)
    with pytest.raises(TypeError, match="SDE model: use dynopt.engine.simulate"):
        integrate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=10, seed=1)
    with pytest.raises(ValueError, match="'euler' integrates ODE models"):
        get_scheme("euler").check_model(m)
    r = simulate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=10, seed=1)
    assert r.n_paths == 10 and r.method == "euler-maruyama" and r.grad_evals == 10


def test_float32_runs():
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    r = simulate(m, "euler-maruyama", (0, 0.1), [0.0], 0.01, n_paths=100, seed=1,
                 options=EnsembleOptions(dtype=np.float32))
    assert r.y_final.dtype == np.float32 and r.dtype == "float32"


def test_bad_input():
    dw = problems.double_well()
    m = dynamics.OverdampedLangevin(dw, 0.5)
    with pytest.raises(ValueError, match="`sigma`"):
        dynamics.OverdampedLangevin(dw, -1.0)
    with pytest.raises(ValueError, match="`sigma`"):
        dynamics.OverdampedLangevin(dw, np.nan)
    with pytest.raises(ValueError, match="`sigma`"):
        dynamics.OverdampedLangevin(problems.ellipse(), np.ones((3, 2)))
    with pytest.raises(ValueError, match="`sigma`"):
        dynamics.OverdampedLangevin(dw, lambda x: np.ones((x.shape[0], 3)))
    with pytest.raises(ValueError, match="`friction`"):
        dynamics.Kramers(dw, -1.0)
    with pytest.raises(ValueError, match="`dt`"):
        simulate(m, "euler-maruyama", (0, 1), [0.0], 0.0, n_paths=2, seed=1)
    with pytest.raises(ValueError, match="`dt`"):
        simulate(m, "euler-maruyama", (0, 1), [0.0], -0.1, n_paths=2, seed=1)
    with pytest.raises(ValueError, match="`drift`"):
        dynamics.SDE(lambda t, x: x[:, :1], lambda t, x: x, 2)
    with pytest.raises(ValueError, match="`diffusion`"):
        dynamics.SDE(lambda t, x: x, lambda t, x: x[:, :1], 2)
    with pytest.raises(ValueError, match="`noise`"):
        dynamics.SDE(lambda t, x: x, lambda t, x: x, 2, noise="weird")
    general = dynamics.SDE(lambda t, x: -x, lambda t, x: np.ones((x.shape[0], 2, 3)), 2,
                           noise="general", noise_dim=3)
    with pytest.raises(ValueError, match="milstein.*general"):
        simulate(general, "milstein", (0, 1), [0.0, 0.0], 0.1, n_paths=2, seed=1)
    with pytest.raises(ValueError, match="`scheme` 'baoab'"):
        simulate(m, "baoab", (0, 1), [0.0], 0.1, n_paths=2, seed=1)
    with pytest.raises(ValueError, match="`scheme`"):
        simulate(m, "no-such", (0, 1), [0.0], 0.1, n_paths=2, seed=1)
    with pytest.raises(ValueError, match="`y0`"):
        simulate(m, "euler-maruyama", (0, 1), np.zeros((3, 1)), 0.1, n_paths=5, seed=1)
    with pytest.raises(ValueError, match="`times`"):
        simulate(m, "euler-maruyama", (0, 1), [0.0], 0.1, n_paths=2, seed=1,
                 observers=[Moments(times=[0.55])])
    with pytest.raises(ValueError, match="`brownian_substeps`"):
        simulate(m, "euler-maruyama", (0, 1), [0.0], 0.1, n_paths=2, seed=1,
                 options=EnsembleOptions(brownian_substeps=0))
    with pytest.raises(ValueError, match="`dtype`"):
        simulate(m, "euler-maruyama", (0, 1), [0.0], 0.1, n_paths=2, seed=1, options=EnsembleOptions(dtype=np.int32))
    with pytest.raises(ValueError, match="absorb='survivors' needs a scheme drawing normals and brownian_substeps=1"):
        simulate(m, "euler-maruyama", (0, 1), [0.0], 0.1, n_paths=2, seed=1,
                 observers=[FirstPassage((0, 1.0, "above"), absorb="survivors")],
                 options=EnsembleOptions(brownian_substeps=2))


def test_stratonovich_model_drift_correction():
    # Stratonovich GBM dX = μX dt + σX∘dW has E X_T = x0 exp((μ + σ²/2) T); EM uses f + ½σ²x
    mu, s = 0.2, 0.5
    strat = dynamics.geometric_brownian_motion(mu, s, calculus="stratonovich")
    r = simulate(strat, "euler-maruyama", (0, 1), [1.0], 1 / 256, n_paths=40000, seed=2)
    x = r.y_final[:, 0]
    expect = np.exp(mu + s * s / 2)
    se = x.std() / np.sqrt(x.size)
    bias = expect - (1 + (mu + s * s / 2) / 256) ** 256  # EM's exact weak bias
    assert abs(x.mean() - expect + bias) < 5 * se


def test_options_object_is_how_a_run_is_done():
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    kw = dict(block_size=100, chunk_size=200, save_every=5, check_every=4)
    opts = EnsembleOptions(**kw)
    a = simulate(m, "euler-maruyama", (0, 0.5), [0.3], 0.01, n_paths=300, seed=2, options=opts)
    assert a.y.shape == (11, 300, 1) and (a.block_size, a.chunk_size) == (100, 200)
    c = simulate(m, "euler-maruyama", (0, 0.5), [0.3], 0.01, n_paths=300, seed=2,
                 options=dataclasses.replace(opts, save_every=25))
    assert c.y.shape[0] == 3 and np.array_equal(c.y[-1], a.y[-1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.save_every = 3
    with pytest.raises(ValueError, match="`check_every` must be a positive integer"):
        EnsembleOptions(check_every=0)
    with pytest.raises(TypeError, match="`options` must be an EnsembleOptions"):
        simulate(m, "euler-maruyama", (0, 0.5), [0.3], 0.01, seed=2, options=kw)
    assert len(inspect.signature(simulate).parameters) <= 12


def test_an_option_given_beside_options_is_refused_not_dropped():
    """Every option has one place: ``keep_final=True`` next to ``options`` whose
    ``keep_final`` is False raises instead of losing to it; the value that counts is the
    one in the options object."""
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    drop = EnsembleOptions(keep_final=False)
    with pytest.raises(TypeError, match="keep_final"):
        simulate(m, "euler-maruyama", (0, 0.1), [0.3], 0.01, n_paths=8, seed=2, keep_final=True, options=drop)
    assert simulate(m, "euler-maruyama", (0, 0.1), [0.3], 0.01, n_paths=8, seed=2, options=drop).y_final is None
    kept = simulate(m, "euler-maruyama", (0, 0.1), [0.3], 0.01, n_paths=8, seed=2,
                    options=dataclasses.replace(drop, keep_final=True))
    assert kept.y_final.shape == (8, 1)


class _FourWorkers(SerialExecutor):
    n_workers = 4


def test_a_run_is_checked_and_prepared_once_and_tasks_run_its_blocks(monkeypatch):
    """An executor's tasks run blocks of the prepared run: the arguments are checked and the
    backend (kernel) chosen once, ``simulate`` is not called again, and the merged result is
    the serial one bit for bit."""
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    calls = {"check_run": 0, "select_backend": 0, "simulate": 0}

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)

    counting(ensemble, "check_run")
    counting(ensemble.kernels, "select_backend")
    run = lambda ex: ensemble.simulate(m, "euler-maruyama", (0, 0.2), [0.3], 0.01, n_paths=400, seed=3,  # noqa: E731
                                       observers=[Moments(every=5)], executor=ex,
                                       options=EnsembleOptions(block_size=50, save_every=4))
    serial = run(None)
    counting(ensemble, "simulate")
    calls.update(check_run=0, select_backend=0)
    parts = run(_FourWorkers())
    assert calls == {"check_run": 1, "select_backend": 1, "simulate": 1}
    np.testing.assert_array_equal(parts.y_final, serial.y_final)
    np.testing.assert_array_equal(parts.y, serial.y)
    np.testing.assert_array_equal(parts.moments.mean, serial.moments.mean)


def test_histogram2d_density_integrates_to_the_share_inside_the_range():
    from dynopt import dynamics, problems
    from dynopt.engine import Histogram2D, simulate

    model = dynamics.OverdampedLangevin(problems.quadratic(np.eye(2)), 1.0)
    h = Histogram2D((4, 5), ((-1.0, 1.0), (-2.0, 0.5)))
    r = simulate(model, "euler-maruyama", (0, 0.5), [0.0, 0.0], 0.05, n_paths=256, seed=4, observers=[h])
    res = r.observations["histogram2d"]
    cell = (2.0 / 4) * (2.5 / 5)
    assert 0 < res.outside < res.total
    np.testing.assert_allclose(res.density, res.counts / (res.total * cell), rtol=1e-14)
    assert (res.density * cell).sum() == pytest.approx(1 - res.outside / res.total, rel=1e-14)


def test_histogram_parts_add_their_out_of_range_counts():
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, Histogram, SerialExecutor, simulate

    model = dynamics.OverdampedLangevin(problems.quadratic(np.eye(1)), 1.0)
    run = dict(n_paths=256, seed=5, options=EnsembleOptions(block_size=32))
    obs = lambda: [Histogram(8, (-0.3, 0.3))]  # noqa: E731
    whole = simulate(model, "euler-maruyama", (0, 0.5), [0.0], 0.05, observers=obs(), **run)
    class FourWorkers(SerialExecutor):
        n_workers = 4                        # four tasks, merged one after the other

    parts = simulate(model, "euler-maruyama", (0, 0.5), [0.0], 0.05, observers=obs(),
                     executor=FourWorkers(), **run)
    a, b = whole.observations["histogram"], parts.observations["histogram"]
    assert a.below > 0 and a.above > 0
    assert (b.below, b.above, b.total) == (a.below, a.above, a.total) == (a.below, a.above, 256)
    np.testing.assert_array_equal(b.counts, a.counts)
    # every look adds to the out-of-range tallies: 6 looks (k = 0, 2, ..., 10) of 256 paths
    h = simulate(model, "euler-maruyama", (0, 0.5), [0.0], 0.05, observers=[Histogram(8, (-0.3, 0.3), every=2)],
                 **run).observations["histogram"]
    assert h.total == 6 * 256 and h.below > a.below


def test_time_average_standard_error_from_one_sample_blocks():
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, TimeAverage, ValuesAt, simulate

    model = dynamics.OverdampedLangevin(problems.quadratic(np.eye(1)), 1.0)
    run = dict(seed=6, options=EnsembleOptions(block_size=1))
    obs = [TimeAverage(lambda y: y[:, 0], t_min=0.5), ValuesAt([0.5])]
    r = simulate(model, "euler-maruyama", (0, 0.5), [0.0], 0.05, n_paths=4, observers=obs, **run)
    ta, x = r.observations["time_average"], r.observations["values"][1][0, :, 0]
    # one look, four blocks of one path: batch means are the four values themselves
    assert (ta.samples, ta.n_blocks) == (4, 4)
    assert ta.mean == pytest.approx(x.mean(), rel=1e-14)
    assert ta.se == pytest.approx(x.std(ddof=1) / 2, rel=1e-12)
    one = simulate(model, "euler-maruyama", (0, 0.5), [0.0], 0.05, n_paths=1,
                   observers=[TimeAverage(lambda y: y[:, 0], t_min=0.5)], **run).observations["time_average"]
    assert one.n_blocks == 1 and one.se == float("inf")


def test_observer_options_checked_where_the_suite_did_not_look(monkeypatch):
    from dynopt import dynamics, problems
    from dynopt.engine import Histogram, Moments, integrate, simulate
    from dynopt.schemes import Splitting

    m = dynamics.OverdampedLangevin(problems.quadratic(np.eye(1)), 1.0)
    m2 = dynamics.OverdampedLangevin(problems.quadratic(np.eye(2)), 1.0)
    with pytest.raises(ValueError, match="^`coords` must be an integer in \\[0, 1\\]; got True$"):
        simulate(m2, "euler-maruyama", (0, 0.1), [0.0, 0.0], 0.05, n_paths=4, seed=1,
                 observers=[Moments(coords=[True])])
    # a burn-in with ``every``: looks at k = 5, ..., 10 only
    h = simulate(m, "euler-maruyama", (0, 0.5), [0.0], 0.05, n_paths=8, seed=1,
                 observers=[Histogram(4, (-1, 1), t_min=0.25, every=1)]).observations["histogram"]
    assert h.total == 6 * 8
    with pytest.raises(ValueError, match="^`sequence` must be letters from A, B, O containing A and B; got 'OO'"):
        Splitting("OO")
    with pytest.raises(TypeError, match="they belong to dynopt.engine.simulate \\(SDE models\\)$"):
        integrate(dynamics.GradientFlow(problems.quadratic(np.eye(1))), "euler", (0, 1), [1.0], 0.1, n_paths=4)


def test_float32_two_term_noise_runs_on_numpy():
    from dynopt.dynamics import Kramers
    from dynopt.engine import EnsembleOptions, simulate
    from dynopt.problems import double_well

    # OBABO draws two normals per step (one per O substep): the float32 block buffers
    runs = [simulate(Kramers(double_well(), 1.0, 0.7), "obabo", (0, 0.5), [0.3, 0.0], 0.05, n_paths=64, seed=9,
                     backend="numpy",
                     options=EnsembleOptions(block_size=16, chunk_size=c, dtype=np.float32)) for c in (16, 64)]
    assert runs[0].y_final.dtype == np.float32 and np.isfinite(runs[0].y_final).all()
    np.testing.assert_array_equal(runs[0].y_final, runs[1].y_final)


def test_observers_get_the_step_time_on_both_backends():
    pytest.importorskip("numba")
    from dynopt import dynamics, problems
    from dynopt.engine import Observer, simulate

    class Times(Observer):
        name = "times"

        def steps(self, n_steps, t0, dt):
            return [0, 5, 10]

        def start(self, layout, state_dim):
            self.seen = set()

        def observe(self, k, t, y, b0, b1, layout, alive):
            self.seen.add((k, t))

        def result(self):
            return sorted(self.seen)

    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    for backend in ("numba", "numpy"):
        r = simulate(m, "euler-maruyama", (1.0, 1.5), [0.3], 0.05, n_paths=32, seed=1, observers=[Times()],
                     backend=backend)
        assert r.backend == backend
        assert r.observations["times"] == [(k, pytest.approx(1.0 + 0.05 * k, rel=1e-14)) for k in (0, 5, 10)]


def test_simulate_run_options_and_provenance():
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, Moments, simulate

    m = dynamics.OverdampedLangevin(problems.double_well(), 0.7)
    go = lambda **kw: simulate(m, "euler-maruyama", (0, 0.2), [0.3], 0.05, n_paths=16, **kw)  # noqa: E731
    # a Generator given as rng= is the source of the run's streams: the same generator state,
    # the same paths (not fresh OS entropy)
    a, b = go(rng=np.random.default_rng(3)), go(rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.y_final, b.y_final)
    assert go(seed=7).seed == 7
    with pytest.raises(ValueError, match="^`block_size` must be a positive integer; got True$"):
        go(seed=1, options=EnsembleOptions(block_size=True))
    with pytest.raises(TypeError, match="^`options` must be an EnsembleOptions; got str$"):
        go(seed=1, options="fast")
    with pytest.raises(ValueError, match="^`observers` need distinct names; got"):
        go(seed=1, observers=[Moments(), Moments()])


def test_histogram2d_parts_merge_to_the_whole_run():
    """``Histogram2D.merge``: four executor parts add up to the serial histogram (counts, outside,
    total) and to the 2-D histogram of the final states counted here with numpy; the merged
    observer has looked once per part."""
    model = dynamics.OverdampedLangevin(problems.quadratic(np.eye(2)), 1.0)
    run = dict(n_paths=256, seed=9, options=EnsembleOptions(block_size=32, keep_final=True))
    rng = ((-0.6, 0.6), (-0.8, 0.4))
    whole_h, parts_h = Histogram2D((3, 4), rng), Histogram2D((3, 4), rng)
    whole = simulate(model, "euler-maruyama", (0, 0.3), [0.0, 0.0], 0.05, observers=[whole_h], **run)
    parts = simulate(model, "euler-maruyama", (0, 0.3), [0.0, 0.0], 0.05, observers=[parts_h],
                     executor=_FourWorkers(), **run)
    a, b = whole.observations["histogram2d"], parts.observations["histogram2d"]
    y = whole.y_final
    want, _, _ = np.histogram2d(y[:, 0], y[:, 1], bins=(3, 4), range=rng)
    inside = int(want.sum())
    assert 0 < inside < 256
    np.testing.assert_array_equal(a.counts, want)
    np.testing.assert_array_equal(b.counts, want)
    assert (b.outside, b.total) == (a.outside, a.total) == (256 - inside, 256)
    np.testing.assert_array_equal(b.density, a.density)
    assert (whole_h.looks, parts_h.looks) == (1, 4)


def test_an_observer_without_merge_is_refused_on_an_executor():
    """``Observer.merge``'s default: an observer that cannot merge the parts of a run split over an
    executor raises TypeError naming its class and what it needs; a serial run does not need it."""
    from dynopt.engine import Observer

    class LastMean(Observer):
        name = "last_mean"

        def start(self, layout, state_dim):
            self.total, self.n = 0.0, 0

        def observe(self, k, t, y, b0, b1, layout, alive):
            self.total += float(y[alive].sum())
            self.n += int(alive.sum())

        def result(self):
            return self.total / self.n

    model = dynamics.OverdampedLangevin(problems.quadratic(np.eye(1)), 1.0)
    run = dict(n_paths=64, seed=1, options=EnsembleOptions(block_size=16))
    serial = simulate(model, "euler-maruyama", (0, 0.1), [0.5], 0.05, observers=[LastMean()], **run)
    assert np.isfinite(serial.observations["last_mean"])
    msg = r"^observer LastMean cannot be merged: it needs a merge\(\) method to be used with `executor`$"
    with pytest.raises(TypeError, match=msg):
        simulate(model, "euler-maruyama", (0, 0.1), [0.5], 0.05, observers=[LastMean()],
                 executor=_FourWorkers(), **run)
    with pytest.raises(TypeError, match=msg):
        LastMean().merge(LastMean(), None, 0, 1)


def _moments_by_hand(layout_n, block_size, y_by_k, alive_by_k, every=5, n_steps=10, chunks=((0, None),), dtype=float):
    """A Moments observer fed directly, chunk by chunk, with the given states and masks."""
    from dynopt.engine.brownian import make_layout

    layout = make_layout(layout_n, block_size=block_size)
    m = Moments(every=every)
    ks = m.steps(n_steps, 0.0, 0.1)
    m.start(layout, y_by_k[ks[0]].shape[1])
    for k in ks:
        for b0, b1 in chunks:
            b1 = layout.n_blocks if b1 is None else b1
            lo, hi = layout.block_rows(b0)[0], layout.block_rows(b1 - 1)[1]
            m.observe(k, 0.1 * k, y_by_k[k][lo:hi].astype(dtype), b0, b1, layout, alive_by_k[k][lo:hi])
    return ks, m.result()


def test_moments_pool_blocks_exactly_even_when_the_first_block_died():
    """Moments.result: the pooled mean/var/se of the survivors equal numpy's over them, for
    any chunking, also when no path of the first block survived (no 0/0 in the weights)."""
    rng = np.random.default_rng(5)
    y = {k: rng.normal(size=(12, 2)) * (1 + k) for k in (0, 5, 10)}
    alive = {0: np.ones(12, bool), 5: np.ones(12, bool), 10: np.ones(12, bool)}
    alive[5][[0, 3, 7, 11]] = False      # 8 of 12 alive
    alive[10][:4] = False                # block 0 dead: exactly 6 of 12 alive, the limit that is defined
    alive[10][[5, 9]] = False
    for chunks in (((0, None),), ((0, 1), (1, 3)), ((0, 2), (2, 3))):
        ks, r = _moments_by_hand(12, 4, y, alive, chunks=chunks)
        assert ks == [0, 5, 10]
        np.testing.assert_array_equal(r.t, [0.0, 0.5, 1.0])
        for i, k in enumerate(ks):
            x = y[k][alive[k]]
            np.testing.assert_allclose(r.mean[i], x.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(r.var[i], x.var(axis=0, ddof=1), rtol=1e-12)
            np.testing.assert_allclose(r.se[i], np.sqrt(x.var(axis=0, ddof=1) / len(x)), rtol=1e-12)
        np.testing.assert_array_equal(r.count, [12, 8, 6])
        np.testing.assert_array_equal(r.observed, [12, 12, 12])


def test_moments_are_undefined_below_half_or_two_survivors():
    """Moments.result: NaN (not a number) when fewer than half, or fewer than two, paths survived."""
    rng = np.random.default_rng(6)
    y = {k: rng.normal(size=(12, 1)) for k in (0, 5, 10)}
    alive = {0: np.ones(12, bool), 5: np.ones(12, bool), 10: np.zeros(12, bool)}
    alive[5][:7] = False                 # 5 of 12: below half
    alive[10][2] = True                  # 1 of 12
    _, r = _moments_by_hand(12, 4, y, alive, dtype=np.float32)
    np.testing.assert_allclose(r.mean[0], y[0].astype(np.float32).astype(float).mean(axis=0), rtol=1e-12)
    assert np.isfinite(r.mean[0]).all() and np.isfinite(r.var[0]).all() and np.isfinite(r.se[0]).all()
    for i in (1, 2):
        assert np.isnan(r.mean[i]).all() and np.isnan(r.var[i]).all() and np.isnan(r.se[i]).all()
    np.testing.assert_array_equal(r.count, [12, 5, 1])
    # three paths: two survivors are enough (half and two), one is not
    y3 = {k: np.array([[1.0], [2.0], [4.0]]) for k in (0, 5, 10)}
    a3 = {0: np.ones(3, bool), 5: np.array([True, False, True]), 10: np.array([False, False, True])}
    _, r3 = _moments_by_hand(3, 2, y3, a3)
    np.testing.assert_allclose(r3.mean[:, 0][:2], [7 / 3, 2.5], rtol=1e-12)
    np.testing.assert_allclose(r3.var[:, 0][:2], [np.var([1, 2, 4], ddof=1), 4.5], rtol=1e-12)
    assert np.isnan(r3.mean[2, 0]) and np.isnan(r3.var[2, 0])


@pytest.mark.parametrize("times", [[1.1], [-0.1], [float("nan")], [0.55], [0.3, 1.0 + 1e-6], [float("inf")]])
def test_moments_times_off_the_grid_or_outside_the_span_are_refused(times):
    """_steps_for_times: a time beyond t_end, before t0, NaN or between steps is a ValueError naming `times`."""
    m = Moments(times=times)
    with pytest.raises(ValueError, match=r"`times` must be on the step grid t0 \+ k·dt within t_span; got "):
        m.steps(10, 0.0, 0.1)


def test_moments_times_at_the_ends_of_the_span_are_steps():
    """_steps_for_times: t0 and t_end themselves are steps 0 and n_steps (the boundaries are inside)."""
    assert Moments(times=[1.0, 0.0, 0.5, 0.5]).steps(10, 0.0, 0.1) == [0, 5, 10]
    assert Moments(times=[2.0 + 1e-12]).steps(10, 1.0, 0.1) == [10]


def _layout(n, block_size):
    from dynopt.engine.brownian import make_layout

    return make_layout(n, block_size=block_size)


def test_moments_result_reason_and_diverged_fraction():
    """MomentsResult: the reason names the worst row's survivors, share diverged and the need."""
    rng = np.random.default_rng(6)
    y = {k: rng.normal(size=(12, 1)) for k in (0, 5, 10)}
    alive = {0: np.ones(12, bool), 5: np.ones(12, bool), 10: np.zeros(12, bool)}
    alive[5][:7] = False
    alive[10][2] = True
    _, r = _moments_by_hand(12, 4, y, alive)
    np.testing.assert_allclose(r.diverged_fraction, [0.0, 7 / 12, 11 / 12], rtol=1e-12)
    assert not r.defined
    assert r.reason == "mean and variance undefined: 1 of 12 paths survived (91.7% diverged), at least 6 needed at t=1"
    alive[5][:] = True
    alive[10][:6] = True
    _, ok = _moments_by_hand(12, 4, y, alive)
    assert ok.defined and ok.reason == ""


def test_histogram_bins_edges_and_out_of_range_by_hand():
    """Histogram: [lo, hi) bins (lo in the first, hi above), dead paths left out, density over all samples."""
    h = Histogram(4, (0.0, 2.0), coord=1, every=2)
    assert h.steps(6, 0.0, 0.1) == [0, 2, 4, 6]
    h.start(_layout(6, 4), 2)
    y = np.array([[9, 0.0], [9, 0.49], [9, 0.5], [9, 1.999], [9, 2.0], [9, -0.01]])
    h.observe(0, 0.0, y, 0, 2, _layout(6, 4), np.ones(6, bool))
    h.observe(2, 0.2, y[:4], 0, 1, _layout(6, 4), np.array([True, False, True, True]))
    r = h.result()
    np.testing.assert_array_equal(r.counts, [3, 2, 0, 2])
    assert (r.below, r.above, r.total, h.looks) == (1, 1, 9, 2)
    np.testing.assert_allclose(r.density, np.array([3, 2, 0, 2]) / 9 / 0.5, rtol=1e-12)
    np.testing.assert_allclose(r.edges, [0, 0.5, 1, 1.5, 2], rtol=1e-12)
    np.testing.assert_allclose(r.centers, [0.25, 0.75, 1.25, 1.75], rtol=1e-12)
    assert r.defined and r.reason == ""
    r.counts[0] = 99
    assert h.counts[0] == 3  # a copy


def test_histogram_with_no_sample_is_undefined_and_its_defaults():
    """Histogram: no surviving sample gives NaN density and says why; defaults coord 0, final step only."""
    h = Histogram(3, (-1, 1))
    assert (h.coord, h.t_min, h.every, h.name, h.bins, h.lo, h.hi) == (0, None, None, "histogram", 3, -1.0, 1.0)
    assert h.steps(7, 0.0, 0.1) == [7]
    h.start(_layout(2, 2), 1)
    h.observe(7, 0.7, np.zeros((2, 1)), 0, 1, _layout(2, 2), np.zeros(2, bool))
    r = h.result()
    assert r.total == 0 and np.isnan(r.density).all() and r.density.shape == (3,)
    assert not r.defined and r.reason == "density undefined: no surviving path was observed (all diverged)"


def test_histogram_and_time_average_burn_in_steps():
    """Histogram/TimeAverage.steps: the first look is the first grid step at or after t_min."""
    assert Histogram(2, (0, 1), t_min=0.3, every=2).steps(10, 0.0, 0.1) == [3, 5, 7, 9]
    assert Histogram(2, (0, 1), t_min=1.25, every=3).steps(10, 1.0, 0.1) == [3, 6, 9]
    assert Histogram(2, (0, 1), t_min=-5.0, every=4).steps(10, 0.0, 0.1) == [0, 4, 8]
    assert Histogram(2, (0, 1), t_min=0.5).steps(10, 0.0, 0.1) == [10]
    assert TimeAverage(np.sum, t_min=0.3, every=2).steps(10, 0.0, 0.1) == [3, 5, 7, 9]
    assert TimeAverage(np.sum, t_min=1.0).steps(10, 0.0, 0.1) == [10]
    assert TimeAverage(np.sum).steps(3, 0.0, 0.1) == [0, 1, 2, 3]
    assert TimeAverage(np.sum, t_min=None).steps(3, 0.0, 0.1) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"^`t_min` 1\.05 is after the end of the run$"):
        TimeAverage(np.sum, t_min=1.05).steps(10, 0.0, 0.1)


@pytest.mark.parametrize("make,exc,message", [
    (lambda: Histogram(0, (0, 1)), ValueError, r"^`bins` must be a positive integer; got 0$"),
    (lambda: Histogram(2.0, (0, 1)), ValueError, r"^`bins` must be a positive integer; got 2\.0$"),
    (lambda: Histogram(2, (1, 1)), ValueError, r"^`range` must be finite \(lo, hi\) with hi > lo; got \(1, 1\)$"),
    (lambda: Histogram(2, (1, 0)), ValueError, r"^`range` must be finite \(lo, hi\) with hi > lo; got \(1, 0\)$"),
    (lambda: Histogram(2, (0, np.inf)), ValueError, r"^`range` must be finite"),
    (lambda: Histogram(2, (-np.inf, 0)), ValueError, r"^`range` must be finite"),
    (lambda: Histogram(2, (0, 1), coord=-1), ValueError, r"^`coord` must be a non-negative integer; got -1$"),
    (lambda: Histogram(2, (0, 1), t_min="soon"), TypeError, r"^`t_min` must be a real number or None; got 'soon'$"),
    (lambda: Histogram(2, (0, 1), t_min=np.nan), ValueError, r"^`t_min` must be finite; got nan$"),
    (lambda: Histogram(2, (0, 1), every=0), ValueError, r"^`every` must be a positive integer; got 0$"),
    (lambda: Histogram2D((2,), ((0, 1), (0, 1))), ValueError, r"^`bins` must have two entries \(x and y\); got \(2,\)$"),
    (lambda: Histogram2D(2, ((0, 1), (0, 1))), ValueError, r"^`bins` must have two entries"),
    (lambda: Histogram2D((2, 2), ((0, 1),)), ValueError, r"^`range` must have two entries \(x and y\); got "),
    (lambda: Histogram2D((2, 2), ((0, 1), (0, 1)), coords=(0, 1, 2)), ValueError,
     r"^`coords` must have two entries \(x and y\); got \(0, 1, 2\)$"),
    (lambda: Histogram2D((2, 0), ((0, 1), (0, 1))), ValueError, r"^`bins` must be a positive integer; got 0$"),
    (lambda: Histogram2D((2, 2), ((0, 1), (0, 1)), every=-1), ValueError, r"^`every` must be a positive integer"),
    (lambda: Histogram2D((2, 2), ((0, 1), (0, 1)), t_min=[1]), TypeError, r"^`t_min` must be a real number"),
    (lambda: TimeAverage(3.0), TypeError, r"^`fn` must be callable fn\(y\) -> \(n,\)$"),
    (lambda: TimeAverage(np.sum, every=None), ValueError, r"^`every` must be a positive integer; got None$"),
    (lambda: TimeAverage(np.sum, t_min=np.inf), ValueError, r"^`t_min` must be finite; got inf$"),
])
def test_histogram_and_time_average_argument_messages(make, exc, message):
    """Histogram/Histogram2D/TimeAverage: each refusal names its argument and the allowed values."""
    with pytest.raises(exc, match=message):
        make()


def test_observer_coordinates_are_checked_against_the_state():
    """Histogram/Histogram2D/Moments.start: coordinates must index the state (named, with the range)."""
    lay = _layout(2, 2)
    with pytest.raises(ValueError, match=r"^`coord` must be an integer in \[0, 1\]; got 2$"):
        Histogram(2, (0, 1), coord=2).start(lay, 2)
    with pytest.raises(ValueError, match=r"^`coords` must be an integer in \[0, 2\]; got 3$"):
        Histogram2D((2, 2), ((0, 1), (0, 1)), coords=(0, 3)).start(lay, 3)
    with pytest.raises(ValueError, match=r"^`coords` must be an integer in \[0, 0\]; got 1$"):
        m = Moments(coords=[1])
        m.steps(1, 0.0, 0.1)
        m.start(lay, 1)
    Histogram(2, (0, 1), coord=1).start(lay, 2)  # the last component is allowed


def test_histogram2d_counts_by_hand():
    """Histogram2D: [lo, hi) cells in (coords[0], coords[1]), 'outside' for any coordinate out of range."""
    h = Histogram2D((2, 3), ((0.0, 1.0), (-1.0, 2.0)), coords=(1, 0), every=1)
    assert (h.coords, h.name, h.t_min, h.every) == ((1, 0), "histogram2d", None, 1)
    lay = _layout(7, 4)
    h.start(lay, 2)
    y = np.array([[-1.0, 0.0],   # x = 0 (first x bin), y = -1 (first y bin)
                  [1.99, 0.99],  # last cell
                  [2.0, 0.5],    # y at hi: outside
                  [0.5, 1.0],    # x at hi: outside
                  [0.5, -0.1],   # x below: outside
                  [0.0, 0.5],    # (1, 1)
                  [0.0, 0.5]])   # dead
    alive = np.array([True] * 6 + [False])
    h.observe(0, 0.0, y, 0, 2, lay, alive)
    h.observe(1, 0.1, y[:2], 0, 1, lay, alive[:2])
    r = h.result()
    want = np.zeros((2, 3), int)
    want[0, 0], want[1, 2], want[1, 1] = 2, 2, 1
    np.testing.assert_array_equal(r.counts, want)
    assert (r.outside, r.total, h.looks) == (3, 8, 2)
    np.testing.assert_allclose(r.density, want / 8 / (0.5 * 1.0), rtol=1e-12)
    np.testing.assert_allclose(r.xedges, [0, 0.5, 1], rtol=1e-12)
    np.testing.assert_allclose(r.yedges, [-1, 0, 1, 2], rtol=1e-12)
    assert r.defined and r.reason == ""
    r.counts[0, 0] = 50
    assert h.counts[0, 0] == 2
    empty = Histogram2D((2, 2), ((0, 1), (0, 1)))
    empty.start(lay, 2)
    e = empty.result()
    assert e.total == 0 and np.isnan(e.density).all() and e.density.shape == (2, 2) and not e.defined


def test_time_average_batch_means_by_hand():
    """TimeAverage.result: mean over all surviving path-looks, se from the spread of the block means."""
    lay = _layout(6, 2)
    ta = TimeAverage(lambda y: y[:, 0] ** 2, every=1)
    ta.steps(2, 0.0, 0.1)
    ta.start(lay, 1)
    ys = [np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]]), np.array([[0.5], [1.5], [2.5], [3.5], [4.5], [5.5]])]
    alives = [np.ones(6, bool), np.array([True, True, False, True, False, False])]
    for k, (y, al) in enumerate(zip(ys, alives)):
        ta.observe(k, 0.1 * k, y[:2], 0, 1, lay, al[:2])
        ta.observe(k, 0.1 * k, y[2:], 1, 3, lay, al[2:])
    blocks = [[1, 4, 0.25, 2.25], [9, 16, 12.25], [25, 36]]
    means = np.array([np.mean(b) for b in blocks])
    r = ta.result()
    allv = sum(blocks, [])
    assert r.mean == pytest.approx(np.mean(allv), rel=1e-12)
    assert r.se == pytest.approx(means.std(ddof=1) / np.sqrt(3), rel=1e-12)
    assert (r.samples, r.n_blocks, r.observed) == (9, 3, 12)
    assert r.diverged_fraction == pytest.approx(0.25, rel=1e-12) and r.defined and r.reason == ""


def test_time_average_undefined_cases():
    """TimeAverage.result: one block gives se = inf; no survivor NaN with the reason; a non-finite fn says so."""
    lay = _layout(4, 2)
    one = TimeAverage(lambda y: y[:, 0])
    one.start(lay, 1)
    one.observe(0, 0.0, np.array([[1.0], [3.0], [5.0], [7.0]]), 0, 2, lay, np.array([True, True, False, False]))
    r = one.result()
    assert r.mean == 2.0 and r.se == float("inf") and (r.samples, r.n_blocks, r.observed) == (2, 1, 4)
    none = TimeAverage(lambda y: y[:, 0])
    none.start(lay, 1)
    none.observe(0, 0.0, np.ones((4, 1)), 0, 2, lay, np.zeros(4, bool))
    r = none.result()
    assert np.isnan(r.mean) and r.samples == 0 and r.n_blocks == 0 and r.diverged_fraction == 1.0
    assert r.reason == "time average undefined: 0 of 4 paths survived (100.0% diverged), at least 1 needed"
    assert not r.defined
    bad = TimeAverage(lambda y: np.log(y[:, 0] - 2))
    bad.start(lay, 1)
    with np.errstate(all="ignore"):
        bad.observe(0, 0.0, np.array([[1.0], [3.0], [5.0], [7.0]]), 0, 2, lay, np.ones(4, bool))
    r = bad.result()
    assert r.reason == "time average undefined: `fn` gave non-finite values on surviving paths" and not r.defined
    from dynopt.engine.observers import TimeAverageResult

    assert TimeAverageResult(1.0, 0.1, 0, 0).diverged_fraction == 0.0


def test_moments_reason_rounds_the_half_up_and_two_blocks_give_a_standard_error():
    """MomentsResult.reason needs ceil(half) of an odd count; TimeAverage's se is defined from two blocks."""
    from dynopt.engine.observers import MomentsResult

    r = MomentsResult(t=np.array([0.5]), mean=np.full((1, 1), np.nan), var=np.full((1, 1), np.nan),
                      count=np.array([2]), se=np.full((1, 1), np.nan), observed=np.array([5]))
    assert r.reason == "mean and variance undefined: 2 of 5 paths survived (60.0% diverged), at least 3 needed at t=0.5"
    assert MomentsResult(t=np.array([0.5]), mean=np.zeros((1, 1)), var=np.zeros((1, 1)), count=np.array([3]),
                         se=np.zeros((1, 1)), observed=np.array([5])).defined
    lay = _layout(4, 2)
    two = TimeAverage(lambda y: y[:, 0])
    two.start(lay, 1)
    two.observe(0, 0.0, np.array([[1.0], [3.0], [5.0], [9.0]]), 0, 2, lay, np.ones(4, bool))
    r = two.result()
    assert r.mean == 4.5 and r.se == pytest.approx(np.std([2.0, 7.0], ddof=1) / np.sqrt(2), rel=1e-12)


# ---- EnsembleOptions, save_steps, simulate's result fields and refusals ----

def test_ensemble_options_defaults_and_normalisation():
    """EnsembleOptions: the documented defaults; t_eval frozen as a tuple of floats; dtype as a numpy dtype."""
    o = EnsembleOptions()
    assert dataclasses.asdict(o) == dict(chunk_size=None, block_size=None, brownian_substeps=1, save_every=None,
                                         t_eval=None, keep_final=True, dtype=np.dtype(np.float64), progress=None,
                                         check_every=16, threads=1, max_steps=10 ** 8, normals="sfc64")
    assert EnsembleOptions(t_eval=np.array([0.5, 1])).t_eval == (0.5, 1.0)
    assert EnsembleOptions(t_eval=0.25).t_eval == (0.25,)
    assert EnsembleOptions(dtype="float32").dtype == np.dtype(np.float32)
    assert EnsembleOptions(normals="philox").normals == "philox"


@pytest.mark.parametrize("kw,exc,message", [
    (dict(max_steps=0), ValueError, r"^`max_steps` must be a positive integer; got 0$"),
    (dict(brownian_substeps=0), ValueError, r"^`brownian_substeps` must be a positive integer; got 0$"),
    (dict(save_every=0), ValueError, r"^`save_every` must be a positive integer; got 0$"),
    (dict(save_every=2, t_eval=[0.5]), ValueError, r"^give `save_every` or `t_eval`, not both$"),
    (dict(t_eval=["a"]), TypeError, r"^`t_eval` must be an array of times; got \['a'\]$"),
    (dict(check_every=0), ValueError, r"^`check_every` must be a positive integer; got 0$"),
    (dict(threads=0), ValueError, r"^`threads` must be a positive integer; got 0$"),
    (dict(dtype=np.int64), ValueError, r"^`dtype` must be float64 or float32; got int64$"),
    (dict(dtype=np.float16), ValueError, r"^`dtype` must be float64 or float32; got float16$"),
    (dict(normals="mt"), ValueError, r"`normals`"),
])
def test_ensemble_options_refusals(kw, exc, message):
    """EnsembleOptions.__post_init__: each field's refusal names it and the allowed values."""
    with pytest.raises(exc, match=message):
        EnsembleOptions(**kw)


def test_save_steps_every_and_the_last():
    """save_steps: 0, every save_every-th step and the last one; none without save_every."""
    from dynopt.engine.ensemble import save_steps

    assert save_steps(10, 3) == [0, 3, 6, 9, 10] and save_steps(9, 3) == [0, 3, 6, 9]
    assert save_steps(10, None) == [] and save_steps(10, 0) == [] and save_steps(0, 5) == [0]


def test_simulate_result_fields_of_brownian_motion_by_hand():
    """simulate on a flat potential: every result field against Brownian increments summed by hand."""
    import sympy

    flat = dynamics.OverdampedLangevin(problems.from_expr(sympy.Integer(0), symbols=[sympy.Symbol("x")],
                                                          name="flat"), 0.5)
    y0 = np.array([[1.0], [-2.0], [0.5], [0.0], [3.0]])
    r = simulate(flat, "euler-maruyama", (1.0, 2.0), y0, 0.1, n_paths=5, seed=42, backend="numpy",
                 options=EnsembleOptions(block_size=2, chunk_size=4, save_every=3, progress=False))
    dW = brownian_increments(5, 10, 0.1, seed=42, block_size=2)[:, :, 0]
    path = y0[:, 0] + np.concatenate([np.zeros((1, 5)), np.cumsum(0.5 * dW, axis=0)])
    np.testing.assert_allclose(r.y_final[:, 0], path[-1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.y[:, :, 0], path[[0, 3, 6, 9, 10]], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.t, [1.0, 1.3, 1.6, 1.9, 2.0], rtol=1e-12)
    assert (r.t_final, r.n_paths, r.n_steps, r.dt, r.method, r.seed) == (2.0, 5, 10, 0.1, "euler-maruyama", 42)
    assert (r.n_diverged, r.first_divergence_step, r.chunk_size, r.block_size, r.dtype) == (0, None, 4, 2, "float64")
    assert (r.note, r.grad_evals, r.backend, r.model) == ("", 10, "numpy", flat)
    np.testing.assert_array_equal(r.diverged_step, np.full(5, -1))
    assert r.observations == {} and r.diverged_fraction == 0.0 and not r.diverged and r.alive.all()
    np.testing.assert_allclose(r.final_positions, r.y_final, rtol=0)
    with pytest.raises(AttributeError, match=r"'EnsembleResult' has no attribute or observer 'moments' \(observers: \[\]\)"):
        r.moments
    one = simulate(flat, "euler-maruyama", (0.0, 0.2), [0.0], 0.1, n_paths=3, seed=1, backend="numpy",
                   options=EnsembleOptions(keep_final=False, progress=False))
    assert one.y_final is None and one.t is None and one.y is None and one.n_paths == 3


def test_simulate_divergence_note_in_full():
    """simulate: the note counts the diverged paths, says why (the limit) and when, and what they leave out."""
    model = dynamics.OverdampedLangevin(problems.double_well(), 0.1)
    y0 = np.concatenate([np.full((6, 1), 0.5), [[6.0], [30.0]]])
    r = simulate(model, "euler-maruyama", (0, 1), y0, 0.1, seed=1, backend="numpy",
                 options=EnsembleOptions(block_size=4, check_every=1, progress=False))
    first = 3
    np.testing.assert_array_equal(r.diverged_step, [-1] * 6 + [4, 3])  # the path from 30 blows up a step earlier
    assert r.n_diverged == 2 and r.first_divergence_step == first and r.diverged_fraction == 0.25 and r.diverged
    assert r.note == (f"2 of 8 paths (25.000%) diverged (|y| > 3e+13 = 1e12 × the run's scale, or non-finite; first "
                      f"detected at step {first}, checks every 1 steps); they are excluded from final-state statistics "
                      f"and from every observation after their detection (time averages taken before it include them)")
    assert r.alive.tolist() == [True] * 6 + [False] * 2


def test_simulate_refuses_inconsistent_runs_by_name():
    """_prepare: rows of y0 against n_paths, normals/substeps/survivors against the scheme, with the names."""
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.5)
    with pytest.raises(ValueError, match=r"^`y0` has 3 rows but `n_paths` is 5$"):
        simulate(m, "euler-maruyama", (0, 1), np.zeros((3, 1)), 0.1, n_paths=5, seed=1)
    simulate(m, "euler-maruyama", (0, 1), np.zeros((5, 1)), 0.1, n_paths=5, seed=1, backend="numpy")
    with pytest.raises(ValueError, match=r"^`normals='philox'` needs a scheme drawing standard normals for every path; "
                                         r"use normals='sfc64' with 'euler-maruyama' or absorb='survivors'$"):
        simulate(m, "euler-maruyama", (0, 1), [0.0], 0.1, n_paths=2, seed=1,
                 observers=[FirstPassage((0, 1.0, "above"), absorb="survivors")],
                 options=EnsembleOptions(normals="philox"))
    simulate(m, "euler-maruyama", (0, 1), [0.0], 0.1, n_paths=2, seed=1, backend="numpy",
             observers=[FirstPassage((0, 1.0, "above"), absorb=True)], options=EnsembleOptions(normals="philox"))


def test_run_memory_counts_every_per_path_array(monkeypatch):
    """_check_run_memory: 8 (step) + item·D·(final + saved) + ValuesAt states + FirstPassage steps, per path."""
    from dynopt.engine import validate

    m = dynamics.Kramers(problems.double_well(), 1.0, 0.5)  # D = 2
    obs = [ValuesAt([0.5, 1.0]), FirstPassage((0, 1.0, "above")), Moments()]
    per_path = 8 + 4 * 2 * (1 + 3) + 8 * 2 * 2 + 8  # float32, final + 3 saved (0, 0.5, 1), two values
    kw = dict(n_paths=10, seed=1, backend="numpy", observers=obs,
              options=EnsembleOptions(dtype=np.float32, save_every=5, progress=False))
    monkeypatch.setattr(validate, "machine_memory", lambda: per_path * 10)
    simulate(m, "baoab", (0, 1), [0.0], 0.1, **kw)
    monkeypatch.setattr(validate, "machine_memory", lambda: per_path * 10 - 1)
    obs = [ValuesAt([0.5, 1.0]), FirstPassage((0, 1.0, "above")), Moments()]
    with pytest.raises(ValueError, match=rf"^a run of 10 paths \(`n_paths`\) keeping {per_path} bytes per path needs about"):
        simulate(m, "baoab", (0, 1), [0.0], 0.1, **dict(kw, observers=obs))


def test_simulate_defaults_seeds_and_options():
    """simulate: default options are EnsembleOptions(); seed=0, SeedSequence(0) and rng=0 are one stream;
    a Generator gives a reproducible run; options of another type and bad executors are refused."""
    m = dynamics.OverdampedLangevin(problems.double_well(), 0.5)
    args = (m, "euler-maruyama", (0, 0.1), [0.2], 0.05)
    a = simulate(*args, n_paths=5, seed=0, backend="numpy")
    b = simulate(*args, n_paths=5, seed=np.random.SeedSequence(0), backend="numpy", options=EnsembleOptions())
    c = simulate(*args, n_paths=5, rng=0, backend="numpy")
    assert a.y_final.tobytes() == b.y_final.tobytes() == c.y_final.tobytes() and a.seed == 0
    assert a.block_size == 4096 and a.dtype == "float64" and a.n_paths == 5
    d = simulate(*args, n_paths=5, rng=np.random.default_rng(3), backend="numpy")
    e = simulate(*args, n_paths=5, rng=np.random.default_rng(3), backend="numpy")
    assert d.y_final.tobytes() == e.y_final.tobytes() and d.y_final.tobytes() != a.y_final.tobytes()
    assert simulate(*args, backend="numpy").n_paths == 1  # n_paths from y0's rows
    with pytest.raises(TypeError, match=r"^`options` must be an EnsembleOptions; got dict$"):
        simulate(*args, n_paths=5, seed=0, options={"block_size": 4})
    with pytest.raises(TypeError, match=r"^`executor` must be an executor"):
        simulate(*args, n_paths=5, seed=0, executor="local")
    with pytest.raises(ValueError, match=r"^give `seed` or `rng`, not both$"):
        simulate(*args, n_paths=5, seed=0, rng=1)


def test_values_at_keeps_the_alive_states_at_its_times():
    """ValuesAt: states at its grid times, NaN for dead paths, merged by block rows; refuses off-grid times."""
    lay = _layout(5, 2)
    v = ValuesAt([0.2, 0.0])
    assert v.steps(4, 0.0, 0.1) == [2, 0] and v.name == "values"
    v.start(lay, 2)
    y = np.arange(10.0).reshape(5, 2)
    v.observe(0, 0.0, y, 0, 3, lay, np.ones(5, bool))
    v.observe(2, 0.2, y[2:] + 100, 1, 3, lay, np.array([True, False, True]))
    v.observe(1, 0.1, y * 0, 0, 3, lay, np.ones(5, bool))  # a step it does not keep
    t, vals = v.result()
    np.testing.assert_allclose(t, [0.2, 0.0], rtol=1e-12)
    want0 = np.full((5, 2), np.nan)
    want0[2], want0[4] = y[2] + 100, y[4] + 100
    np.testing.assert_array_equal(vals[0], want0)
    np.testing.assert_array_equal(vals[1], y)
    other = ValuesAt([0.2, 0.0])
    other.steps(4, 0.0, 0.1)
    other.start(lay, 2)
    other.values[:] = 7.0
    v.merge(other, lay, 1, 2)  # block 1: rows 2, 3
    assert (vals[:, 2:4] == 7.0).all() and vals[1, 0, 0] == 0.0 and vals[1, 4, 0] == 8.0
    with pytest.raises(ValueError, match=r"^`times` must be on the step grid"):
        ValuesAt([0.25]).steps(4, 0.0, 0.1)


def test_the_observer_base_class():
    """Observer: looks at the last step by default; without merge() it cannot run on an executor."""
    from dynopt.engine.observers import Observer

    o = Observer()
    assert o.steps(7, 0.0, 0.1) == [7] and o.name == "observer"
    with pytest.raises(TypeError, match=r"^observer Observer cannot be merged: it needs a merge\(\) method to be "
                                        r"used with `executor`$"):
        o.merge(o, None, 0, 1)


def test_final_positions_read_the_positions_of_the_surviving_paths():
    """final_positions: model.position of the alive rows (Kramers: θ without η); an error without final states."""
    from dynopt.engine.results import final_positions

    k = dynamics.Kramers(problems.double_well(), 1.0, 0.5)
    states = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    np.testing.assert_array_equal(final_positions(states, k), [[1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(final_positions(states, k, np.array([True, False, True])), [[1.0], [3.0]])
    with pytest.raises(ValueError, match=r"^run with EnsembleOptions\(keep_final=True\) to get the final states$"):
        final_positions(None, k)
    r = simulate(k, "baoab", (0, 0.1), np.array([[0.1, 0.0], [50.0, 0.0]]), 0.1, n_paths=2, seed=1, backend="numpy",
                 options=EnsembleOptions(progress=False))
    np.testing.assert_array_equal(r.final_positions, r.y_final[r.alive][:, :1])
    none = simulate(k, "baoab", (0, 0.1), [0.1, 0.0], 0.1, n_paths=2, seed=1, backend="numpy",
                    options=EnsembleOptions(progress=False, keep_final=False))
    with pytest.raises(ValueError, match=r"keep_final=True"):
        none.final_positions
    with pytest.raises(ValueError, match=r"^this EnsembleResult carries no model: use model\.position\(result\.y_final\)$"):
        dataclasses.replace(r, model=None).final_positions


def test_histogram_counts_are_int64_with_the_exact_tally():
    """Histogram counts are int64, and equal numpy's histogram of the final positions."""
    model = dynamics.OverdampedLangevin(problems.quadratic(np.eye(1)), 1.0)
    h = Histogram(8, (-0.3, 0.3), t_min=0.5)
    r = simulate(model, "euler-maruyama", (0, 0.5), [0.0], 0.05, n_paths=64, seed=3, observers=[h],
                 options=EnsembleOptions(block_size=16))
    res = r.observations["histogram"]
    assert res.counts.dtype == np.int64
    want, _ = np.histogram(r.y_final[:, 0], bins=8, range=(-0.3, 0.3))
    np.testing.assert_array_equal(res.counts, want)
