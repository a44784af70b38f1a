"""The ensemble engine: chunk invariance, Brownian replay, analytic statistics, bad input."""
import dataclasses
import inspect

import numpy as np
import pytest

from dynopt import dynamics, problems
from dynopt.engine import brownian_increments, ensemble
from dynopt.engine import (EnsembleOptions, FirstPassage, Histogram, Histogram2D, Moments, SerialExecutor, Solution,
                           ValuesAt, integrate, simulate)
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
    assert np.allclose(fine.paths, coarse.paths, rtol=0, atol=1e-12)
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
    assert a.paths.shape == (11, 300, 1) and (a.block_size, a.chunk_size) == (100, 200)
    c = simulate(m, "euler-maruyama", (0, 0.5), [0.3], 0.01, n_paths=300, seed=2,
                 options=dataclasses.replace(opts, save_every=25))
    assert c.paths.shape[0] == 3 and np.array_equal(c.paths[-1], a.paths[-1])
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
    np.testing.assert_array_equal(parts.paths, serial.paths)
    np.testing.assert_array_equal(parts.moments.mean, serial.moments.mean)
