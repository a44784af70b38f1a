"""Tests written against the survivors of a mutation run (mutmut 3 over dynopt/schemes,
dynopt/engine and dynopt/optim; the command is in setup.cfg's [mutmut] section).

Each test pins a piece of arithmetic or an argument check that the rest of the suite
exercised without looking at: exact values where the arithmetic is finite, otherwise a
fixed seed and a tolerance of a few standard errors.
"""
import math

import numpy as np
import pytest

from dynopt import optim


def _quadratic_grad(p):
    # ∇ of ½ pᵀ diag(1, 4) p: exact in binary, so iterates compare with ==
    return np.array([1.0, 4.0]) * p


def _path(opt, n=3, p0=(1.0, -0.5)):
    return optim.run(opt, _quadratic_grad, np.array(p0), n).path


# -- optim: the momentum aliases pass their arguments on ------------------------------
def test_momentum_alias_is_heavy_ball_with_its_own_coefficient():
    lr, mu = 0.125, 0.5
    p = np.array([1.0, -0.5])
    g1 = _quadratic_grad(p)
    p1 = p - lr * g1                      # v1 = g1
    v2 = mu * g1 + _quadratic_grad(p1)    # v2 = μ v1 + g2 (torch's buffer)
    p2 = p1 - lr * v2
    path = _path(optim.momentum(lr, momentum=mu), n=2)
    np.testing.assert_array_equal(path[1], p1)
    np.testing.assert_array_equal(path[2], p2)
    # keyword arguments reach sgd: coupled weight decay changes the path
    np.testing.assert_array_equal(_path(optim.momentum(lr, mu, weight_decay=0.25)),
                                  _path(optim.sgd(lr, mu, weight_decay=0.25)))
    assert not np.array_equal(_path(optim.momentum(lr, mu, weight_decay=0.25)), _path(optim.momentum(lr, mu)))


def test_nesterov_alias_is_nesterov_not_heavy_ball():
    lr, mu = 0.125, 0.5
    nag = _path(optim.nesterov(lr, momentum=mu))
    np.testing.assert_array_equal(nag, _path(optim.sgd(lr, mu, nesterov=True)))
    assert not np.array_equal(nag, _path(optim.sgd(lr, mu)))
    # torch's Nesterov step: p -= lr (g + μ v), v = μ v + g
    p = np.array([1.0, -0.5])
    g1 = _quadratic_grad(p)
    np.testing.assert_array_equal(nag[1], p - lr * (g1 + mu * g1))
    np.testing.assert_array_equal(_path(optim.nesterov(lr, mu, weight_decay=0.25)),
                                  _path(optim.sgd(lr, mu, nesterov=True, weight_decay=0.25)))


# -- optim: regularizers --------------------------------------------------------------
def test_l1_subgradient_is_zero_at_a_zero_coordinate():
    g = np.array([0.5, 0.5, 0.5])
    p = np.array([2.0, 0.0, -3.0])
    out, _ = optim.add_l1(0.25).update(g, optim.EmptyState(), p)
    np.testing.assert_array_equal(out, [0.75, 0.5, 0.25])


@pytest.mark.parametrize("make,name", [(optim.add_l1, "l1"), (optim.add_decayed_weights, "weight_decay"),
                                       (lambda wd: optim.add_decoupled_weight_decay(wd, 0.1),
                                        "decoupled_weight_decay")])
def test_regularizers_name_their_argument(make, name):
    with pytest.raises(ValueError, match=f"^`{name}` must be in"):
        make(-1.0)
    piece = make(0.5)
    with pytest.raises(ValueError, match="^`params` must be passed to update()"):
        piece.update(np.ones(2), piece.init(np.ones(2)))


def test_adamw_default_decay_is_torchs_and_decoupled_decay_follows_the_schedule():
    np.testing.assert_array_equal(_path(optim.adamw(0.1)), _path(optim.adamw(0.1, weight_decay=1e-2)))
    assert not np.array_equal(_path(optim.adamw(0.1)), _path(optim.adamw(0.1, weight_decay=0.0)))
    piece = optim.add_decoupled_weight_decay(0.5, lambda k: 0.125 * (k + 1))
    p, st = np.array([1.0, -2.0]), piece.init(np.zeros(2))
    u1, st = piece.update(np.zeros(2), st, p)
    u2, st = piece.update(np.zeros(2), st, p)
    np.testing.assert_array_equal(u1, -0.0625 * p)       # lr(0)·wd
    np.testing.assert_array_equal(u2, -0.125 * p)        # lr(1)·wd
    assert st.count == 2


def _states(state, kind):
    """The pieces of type ``kind`` in a (nested) chain state."""
    if isinstance(state, kind):
        return [state]
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return [x for part in state for x in _states(part, kind)]
    return []


def test_buffers_are_float_arrays_shaped_like_integer_params():
    # integer parameters must not truncate a buffer's start value (Adagrad's s₀ = 0.1 → 0)
    p = np.array([1, 2, 3])
    (s,) = _states(optim.adagrad(0.1, initial_accumulator_value=0.1).init(p), optim.ScaleByAdagradState)
    assert s.sum_of_squares.dtype == float
    np.testing.assert_array_equal(s.sum_of_squares, [0.1, 0.1, 0.1])
    (r,) = _states(optim.rmsprop(0.1).init(p), optim.ScaleByRmsState)
    assert r.nu.dtype == float and r.nu.shape == p.shape and not r.nu.any()
    (a,) = _states(optim.adam(0.1).init(p), optim.ScaleByAdamState)
    for buf in (a.mu, a.nu):
        assert buf.dtype == float and buf.shape == p.shape and not buf.any()


def test_trace_counts_updates_and_a_lookahead_permits_one_update():
    opt = optim.sgd(0.1, momentum=0.5)
    p, state = np.array([1.0, -0.5]), opt.init(np.array([1.0, -0.5]))
    for _ in range(3):
        p, state = optim.step(opt, _quadratic_grad, p, state)
    assert [s.count for s in _states(state, optim.TraceState)] == [3]
    la = optim.trace(0.5, nesterov="lookahead")
    st = la.init(p)
    la.lookahead(p, st)
    la.update(np.ones(2), st, p)
    with pytest.raises(ValueError, match="look-ahead point"):
        la.update(np.ones(2), st, p)           # the same state again, without asking again


def test_momentum_arguments_are_checked_by_name():
    with pytest.raises(ValueError, match="^`dampening` must be in \\[0.0, 1.0\\]"):
        optim.sgd(0.1, dampening=-0.5)         # no trace piece at μ = 0: sgd itself must check
    for bad in (-0.5, 1.5):
        with pytest.raises(ValueError, match="^`dampening` must be in \\[0.0, 1.0\\]"):
            optim.trace(0.5, dampening=bad)
    with pytest.raises(ValueError, match="^`momentum` must be > 0 when `nesterov` is True"):
        optim.sgd(0.1, nesterov=True)
    for name in ("weight_decay", "l1", "decoupled_weight_decay"):
        with pytest.raises(ValueError, match=f"^`{name}` must be in"):
            optim.sgd(0.1, **{name: -1.0})
    with pytest.raises(ValueError, match="^`nesterov` must be one of \\[None, 'torch', 'reparametrized', 'lookahead'\\]"):
        optim.trace(0.5, nesterov="bogus")
    with pytest.raises(ValueError, match="^at most one of `transforms` may define a lookahead point"):
        optim.chain(optim.trace(0.5, nesterov="lookahead"), optim.trace(0.5, nesterov="lookahead"))


# -- schemes: every branch of continuous_limit builds the model its docstring names ----
def test_continuous_limit_of_each_optimizer():
    from dynopt.dynamics import AdagradODE, AdamODE, GradientFlow, HeavyBall, RMSPropODE
    from dynopt.problems import ellipse
    from dynopt.schemes import continuous_limit, momentum_from_ode

    P, lr = ellipse(), 0.04
    m, dt = continuous_limit("sgd", P, lr=lr)
    assert isinstance(m, GradientFlow) and m.problem is P and dt == lr
    m, dt = continuous_limit("momentum", P, lr=lr, momentum=0.8)
    assert isinstance(m, HeavyBall) and m.problem is P
    # the heavy-ball limit is the exact inverse of the leapfrog map (α, β) = (lr, μ)
    np.testing.assert_allclose(momentum_from_ode(dt, m.friction, "heavy-ball"), (lr, 0.8), rtol=1e-12)
    m, dt = continuous_limit("nesterov", P, lr=lr, momentum=0.8)
    assert isinstance(m, HeavyBall) and m.problem is P
    assert dt == pytest.approx(0.2, rel=1e-15) and m.friction == pytest.approx(0.2 / 0.2, rel=1e-15)
    np.testing.assert_allclose(momentum_from_ode(dt, m.friction, "nesterov"), (lr, 0.8), rtol=1e-12)
    m, dt = continuous_limit("adagrad", P, lr=lr, eps=1e-4)
    assert isinstance(m, AdagradODE) and dt == pytest.approx(lr ** 2) and m.eps == pytest.approx(1e-4 * lr ** 2)
    assert continuous_limit("adagrad", P, lr=lr)[0].eps == pytest.approx(1e-8 * lr ** 2)
    m, dt = continuous_limit("rmsprop", P, lr=lr, decay=0.9)
    assert isinstance(m, RMSPropODE) and dt == lr
    assert (m.c, m.eps, m.eps_inside) == (pytest.approx(0.1 / lr), 1e-8, True)
    m, _ = continuous_limit("rmsprop", P, lr=lr, decay=0.9, eps=1e-3, eps_inside=False)
    assert (m.eps, m.eps_inside) == (1e-3, False)
    m, dt = continuous_limit("adam", P, lr=lr)
    assert isinstance(m, AdamODE) and dt == lr
    assert (m.a, m.b) == (pytest.approx(0.1 / lr), pytest.approx(0.001 / lr))
    assert (m.eps, m.bias_correction, m.eps_inside) == (1e-8, True, False)
    m, _ = continuous_limit("adam", P, lr=lr, b1=0.5, b2=0.75, eps=1e-3, bias_correction=False, eps_inside=True)
    assert (m.a, m.b) == (pytest.approx(0.5 / lr), pytest.approx(0.25 / lr))
    assert (m.eps, m.bias_correction, m.eps_inside) == (1e-3, False, True)
    with pytest.raises(ValueError, match="^`lr` must be in"):
        continuous_limit("sgd", P, lr=0.0)


def test_nesterov_convex_reports_the_velocity_of_its_iterates():
    from dynopt.dynamics import NesterovODE
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    s = 0.125
    sol = integrate(NesterovODE(quadratic(np.eye(1))), "nesterov-convex", (0.0, 4 * s), [1.0, 0.0], s, save_every=1)
    x, v = sol.y[:, 0, 0], sol.y[:, 0, 1]
    assert v[0] == 0.0                              # from rest
    np.testing.assert_allclose(v[1:], np.diff(x) / s, rtol=1e-14)
    assert np.all(v[1:] < 0)                         # it moved towards the minimum


def test_coefficient_maps_check_their_arguments_by_name():
    from dynopt.schemes import leapfrog_ode_parameters, nesterov_ode_parameters

    for fn in (leapfrog_ode_parameters, nesterov_ode_parameters):
        with pytest.raises(ValueError, match="^`alpha` must be in \\(0.0, inf\\)"):
            fn(0.0, 0.5)
        for beta in (-0.1, 1.5):
            with pytest.raises(ValueError, match="^`beta` must be in \\[0.0, 1.0\\]"):
                fn(0.1, beta)


def test_implicit19_reports_a_non_finite_predictor_as_divergence():
    from dynopt.dynamics import HeavyBall
    from dynopt.engine import integrate
    from dynopt.problems import from_expr

    # ∇L = x⁷ overflows at 1e45: the predictor is not finite, the run must stop as diverged
    # (not raise from the Newton loop)
    with np.errstate(over="ignore", invalid="ignore"):
        sol = integrate(HeavyBall(from_expr("x**8/8"), 1.0), "implicit19", (0.0, 1.0), [1e45, 0.0], 0.1)
    assert sol.diverged_step == 1 and sol.n_steps == 1


def test_sgd_iterates_refuse_a_step_other_than_the_learning_rate():
    from dynopt import dynamics, problems
    from dynopt.engine import simulate

    p = problems.least_squares(np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="^`dt` must equal the SME's learning rate 0.1 for SGD iterates; got 0.2"):
        simulate(dynamics.SGDModifiedEquation(p, 0.1, 1), "sgd", (0, 1), [0.0, 0.0], 0.2, n_paths=2, seed=1)


# -- engine ----------------------------------------------------------------------------
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


def test_momentum_sgd_numpy_path_on_a_cubic_force_matches_the_kernel():
    pytest.importorskip("numba")
    from dynopt.dynamics import Kramers
    from dynopt.engine import EnsembleOptions, simulate
    from dynopt.problems import double_well

    # double_well's force takes the in-place odd-cubic path (the work array) on numpy
    model = Kramers(double_well(), 0.5, 0.7)
    run = dict(n_paths=64, seed=11, options=EnsembleOptions(block_size=32))
    a = simulate(model, "momentum-sgd", (0, 1), [0.3, 0.0], 0.01, backend="numba", **run)
    b = simulate(model, "momentum-sgd", (0, 1), [0.3, 0.0], 0.01, backend="numpy", **run)
    assert (a.backend, b.backend) == ("numba", "numpy")
    np.testing.assert_allclose(b.y_final, a.y_final, rtol=1e-12, atol=1e-12)


def test_momentum_schemes_report_velocity_as_step_over_gamma():
    from dynopt.dynamics import HeavyBall
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    dt = 0.25
    sol = integrate(HeavyBall(quadratic(np.eye(1)), 0.5), "heavy-ball", (0.0, 8 * dt), [1.0, 0.0], dt, save_every=1)
    x, v = sol.y[:, 0, 0], sol.y[:, 0, 1]
    # θ_{n+1} = θ_n + v_{n+1}, and the reported velocity is v_n / γ
    np.testing.assert_allclose(v[1:], np.diff(x) / dt, rtol=1e-14)


def test_momentum_scheme_step_with_a_new_dt_uses_that_dt_coefficients():
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import quadratic
    from dynopt.schemes import get_scheme, leapfrog_coefficients

    model = HeavyBall(quadratic(np.eye(1)), 0.5)
    s = get_scheme("heavy-ball")
    st = s.init(model, np.array([[1.0, 0.0]]), 0.25)
    a2, b2 = leapfrog_coefficients(0.125, 0.5)
    new = s.step(model, 0.0, st, 0.125)
    np.testing.assert_allclose(new.v, b2 * st.v - a2 * st.q, rtol=1e-15)
    assert (new.alpha, new.beta) == (a2, b2)


def test_strongly_convex_two_step_euler_start_and_velocity():
    from dynopt.dynamics import HighResolutionODE
    from dynopt.problems import quadratic
    from dynopt.schemes import HeavyBallSC

    s = 0.01
    model = HighResolutionODE(quadratic(np.eye(2)), 1.0, s)
    y0 = np.array([[1.0, -1.0, 0.5, 0.25]])
    sch = HeavyBallSC(start="euler")
    st = sch.init(model, y0, 0.1)
    np.testing.assert_array_equal(st.x_next, y0[:, :2] + 0.1 * y0[:, 2:])
    assert st.grad_evals == 0
    np.testing.assert_allclose(sch.output(model, st), y0, rtol=1e-14)      # velocity (x₁ − x₀)/√s
    with pytest.raises(ValueError, match="^`start` must be one of"):
        HeavyBallSC(start="midpoint")
    # dt must be √s to 1e-9 relative, whatever the size of s
    with pytest.raises(ValueError, match="^`dt` must be √s"):
        sch.init(model, y0, 0.1 * (1 + 1e-6))


def test_coefficient_maps_name_gamma_and_friction():
    from dynopt.schemes import leapfrog_coefficients, nesterov_coefficients

    for fn in (leapfrog_coefficients, nesterov_coefficients):
        for g in (0.0, -1.0):
            with pytest.raises(ValueError, match="^`gamma` must be in \\(0.0, inf\\)"):
                fn(g, 0.5)
        with pytest.raises(ValueError, match="^`friction` must be in \\[0.0, inf\\)"):
            fn(0.1, -0.5)
    with pytest.raises(ValueError, match="must be in \\[0, 2\\] so that β ∈ \\[0, 1\\]; got λγ = 3$"):
        leapfrog_coefficients(1.0, 3.0)
    with pytest.raises(ValueError, match="must be in \\[0, 1\\] so that β ∈ \\[0, 1\\]; got λγ = 1.5$"):
        nesterov_coefficients(1.0, 1.5)


def test_register_refuses_a_second_class_under_a_taken_name():
    from dynopt.schemes import METHODS, Euler, register

    class Other(Euler):
        pass

    with pytest.raises(ValueError, match="^scheme name 'euler' is already registered to Euler"):
        register("euler")(Other)
    assert METHODS["euler"] is Euler
    assert register("euler")(Euler) is Euler       # the same class again is harmless


def test_kernel_cache_dir_defaults(monkeypatch, tmp_path):
    from pathlib import Path

    from dynopt.engine import codegen

    monkeypatch.delenv("DYNOPT_KERNEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert codegen.cache_dir() == tmp_path / "dynopt" / "kernels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert codegen.cache_dir() == Path(tmp_path / "home" / ".cache" / "dynopt" / "kernels")


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
    k = np.round(ab.times / 0.01).astype(int)
    hit = step >= 0
    assert 0 < hit.sum() < 64
    for i in np.flatnonzero(hit):
        before, after = k <= step[i], k > step[i]
        np.testing.assert_array_equal(ab.paths[before, i], full.paths[before, i])
        # every saved state after the passage is the state at the passage, the final one too
        assert np.all(ab.paths[after, i] == ab.y_final[i])
        assert ab.y_final[i, 0] >= 0.0


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


def test_integrate_stopped_before_any_requested_time_saves_nothing():
    from dynopt.dynamics import GradientFlow
    from dynopt.engine import integrate
    from dynopt.problems import quadratic

    sol = integrate(GradientFlow(quadratic(np.eye(2))), "euler", (0.0, 1.0), [1.0, 1.0], 0.1,
                    t_eval=[0.5, 1.0], stop=lambda t, y: True)
    assert sol.stopped_step == 1 and sol.t.shape == (0,) and sol.y.shape == (0, 1, 2)
    np.testing.assert_allclose(sol.y_final, [[0.9, 0.9]], rtol=1e-15)


def test_momentum_scheme_names_its_coefficient_maps():
    from dynopt.schemes import Leapfrog

    with pytest.raises(ValueError, match="^`coefficients` must be one of \\['eq15', 'eq18'\\]; got 'eq99'$"):
        Leapfrog(coefficients="eq99")


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
    x = r.paths[:, :, 0]
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
    ks = np.round(r.times / dt).astype(int)
    # first record of each path: P(bridge crossed) = exp(−2 d₀ d₁ / (g² Δt)), Δt = every·dt
    _, first = np.unique(res.bridge_path, return_index=True)
    for j in first:
        i = res.bridge_path[j]
        k = int(round((res.bridge_time[j] + 0.5 * every * dt) / dt))
        s = np.flatnonzero(ks == k)[0]
        d0, d1 = -r.paths[s - 1, i, 0], -r.paths[s, i, 0]
        assert res.bridge_weight[j] == pytest.approx(np.exp(-2 * d0 * d1 / (g * g * dt * every)), rel=1e-12)


def test_float32_brownian_increments_are_the_engines_float32_normals():
    import sympy

    from dynopt.dynamics import OverdampedLangevin
    from dynopt.engine import EnsembleOptions, brownian_increments, simulate
    from dynopt.problems import from_expr

    flat = OverdampedLangevin(from_expr(sympy.Integer(0), symbols=[sympy.Symbol("x")], name="flat"), 0.5)
    r = simulate(flat, "euler-maruyama", (0, 0.2), [0.0], 0.05, n_paths=64, seed=3, backend="numpy",
                 options=EnsembleOptions(block_size=32, dtype=np.float32))
    dW = brownian_increments(64, 4, 0.05, seed=3, block_size=32, dtype=np.float32)
    assert dW.dtype == np.float32
    np.testing.assert_allclose(r.y_final[:, 0], 0.5 * dW.sum(axis=0)[:, 0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="^`dt` must be in \\(0.0, inf\\)"):
        brownian_increments(4, 2, 0.0)
    with pytest.raises(ValueError, match="^`n_steps` must be a non-negative integer; got -1$"):
        brownian_increments(4, -1, 0.1)


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


def test_small_pieces_nothing_else_reached():
    from dynopt.dynamics import GradientFlow
    from dynopt.engine import integrate
    from dynopt.problems import quadratic
    from dynopt.schemes import HeavyBallSC

    out, st = optim.scale(0.5).update(np.array([2.0, -4.0]), optim.EmptyState())
    np.testing.assert_array_equal(out, [1.0, -2.0])
    with pytest.raises(ValueError, match="^`factor` must be in"):
        optim.scale(float("nan"))
    model = GradientFlow(quadratic(np.eye(2)))
    sol = integrate(model, "euler", (0.0, 0.2), [1.0, 2.0], 0.1)
    np.testing.assert_array_equal(sol.position(model), sol.y_final[:, :2])
    assert repr(HeavyBallSC(start="euler")) == "HeavyBallSC(start='euler')"


def test_a_kernel_that_fails_to_compile_with_a_one_line_error_falls_back(monkeypatch):
    pytest.importorskip("numba")
    from dynopt import dynamics, problems
    from dynopt.engine import EnsembleOptions, codegen, kernels
    from dynopt.schemes import get_scheme

    def boom(src):
        raise RuntimeError("boom")

    monkeypatch.setattr(codegen, "load_module", boom)
    why = kernels.compile_kernel(dynamics.OverdampedLangevin(problems.double_well(), 0.7),
                                 get_scheme("euler-maruyama"), 0.01, EnsembleOptions())
    assert why == "the kernel could not be compiled (RuntimeError: boom)"


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


@pytest.mark.parametrize("scheme", ["euler-maruyama", "milstein", "stochastic-heun"])
def test_time_dependent_user_sde_sees_the_step_time(scheme):
    """dx = t dt + t dW: drift and noise must be evaluated at the step's start time t_k, so
    Euler's sum gives x_N = h² Σ k = h² N(N−1)/2 on the mean, and noise amplitude t_k."""
    from dynopt.dynamics import SDE
    from dynopt.engine import EnsembleOptions, simulate
    model = SDE(lambda t, x: np.full_like(x, t), lambda t, x: np.full_like(x, t), 1, noise="diagonal",
                diffusion_dx=lambda t, x: np.zeros_like(x))
    h, N, n = 0.1, 10, 4000
    r = simulate(model, scheme, (0.0, h * N), [0.0], h, n_paths=n, seed=3, options=EnsembleOptions(progress=False))
    x = r.y_final[:, 0]
    if scheme == "stochastic-heun":   # trapezoidal drift: h Σ (t_k + t_{k+1})/2 = T²/2
        mean, var = (h * N) ** 2 / 2, h * sum((h * k + h * (k + 1)) ** 2 / 4 for k in range(N))
    else:
        mean, var = h * h * N * (N - 1) / 2, h * sum((h * k) ** 2 for k in range(N))
    assert abs(x.mean() - mean) <= 5 * math.sqrt(var / n)
    assert abs(x.var() - var) <= 5 * var * math.sqrt(2 / (n - 1))


# --- first-passage estimators and Implicit19: survivors that changed a number -------------------
@pytest.mark.parametrize("band", ["log-log", "log", "plain"])
def test_kaplan_meier_band_is_zero_where_the_curve_reaches_zero(band):
    from dynopt.analysis.first_passage import kaplan_meier

    km = kaplan_meier([1.0, 2.0, 3.0, 4.0], band=band)  # every path passed: Ŝ ends at 0
    assert km.survival[-1] == 0.0
    assert km.upper[-1] == 0.0 and km.lower[-1] == 0.0 and km.std_err[-1] == 0.0
    assert np.all(km.upper[:-1] > km.survival[:-1]) and np.all(np.isfinite(km.std_err))


def test_tail_mean_reads_passed():
    from dynopt.analysis.first_passage import tail_mean

    times = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    passed = np.array([True, True, False, True, True, False, True, True])
    with_mask = tail_mean(times, 5.0, passed=passed, t_min=1.0)
    as_nan = tail_mean(np.where(passed, times, np.nan), 5.0, t_min=1.0)
    all_passed = tail_mean(times, 5.0, t_min=1.0)
    assert with_mask == as_nan  # `passed` is the NaN convention made explicit
    assert with_mask.value > all_passed.value and with_mask.censored_fraction == 0.25


def test_implicit19_predictor_and_first_iterate_are_where_eq20_puts_them():
    """The predictor only sets where Newton starts, so a wrong one leaves the state and changes
    the gradient count (the work axis of work–precision figures): check the points directly."""
    from dynopt.dynamics import HeavyBall
    from dynopt.problems import from_grad
    from dynopt.schemes import Implicit19

    calls = []

    def grad(x):
        calls.append(np.array(x, float))
        return x ** 3 - x

    prob = from_grad(grad, 1, hess=lambda x: (3 * x ** 2 - 1)[:, :, None])
    model, sch = HeavyBall(prob, 1.0), Implicit19()
    state = sch.init(model, model.as_state([2.0, 0.7]), 0.1)
    alpha, beta = state.alpha, state.beta
    q, v = state.q, state.v
    assert abs(v[0, 0]) > 0.05  # a case where the sign of βv/2 matters
    calls.clear()
    new = sch.step(model, 0.0, state, 0.1)
    predictor = q + 0.5 * beta * v
    z0 = q + beta * v - alpha * (predictor ** 3 - predictor)
    np.testing.assert_allclose(calls[0], predictor, rtol=1e-15)
    np.testing.assert_allclose(calls[1], 0.5 * (q + z0), rtol=1e-15)
    assert new.grad_evals - state.grad_evals == len(calls)
