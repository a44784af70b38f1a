"""Sharpness of a researcher's own model: any loss and gradient over a flat vector (central
differences when there is no exact hvp), JAX models (exact forward-over-reverse), the
preconditioned sharpness of Adam, and ``dynopt sharpness`` on a model file."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dynopt import optim
from dynopt.analysis.sharpness import edge_statistics, train_tracking_sharpness
from dynopt.learning.hessian import TanhMLP, hessian_operator, hvp, ravel_params, sharpness, top_eigenvalues
from dynopt.learning.models import CENTRAL_HVP_NOTE, QuadraticModel, as_model

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(2207)
D = 7
_Q = np.linalg.qr(RNG.standard_normal((D, D)))[0]
EIGS = np.array([5.3, 2.0, 1.1, 0.4, 0.1, -0.2, -0.9])
A = _Q @ np.diag(EIGS) @ _Q.T
A = (A + A.T) / 2
THETA = RNG.standard_normal(D)


class QuadraticLossOnly:
    """½θᵀAθ given only as loss_and_grad (no hvp)."""

    def loss_and_grad(self, theta):
        g = A @ theta
        return 0.5 * float(theta @ g), g


# two-layer linear network f(x) = W2 W1 x with L = ½‖W2 W1 X − Y‖²/n
N_IN, N_HID, N_OUT, N = 4, 3, 2, 30
XL = RNG.standard_normal((N_IN, N))
YL = RNG.standard_normal((N_OUT, N))


def _split(theta):
    return theta[:N_HID * N_IN].reshape(N_HID, N_IN), theta[N_HID * N_IN:].reshape(N_OUT, N_HID)


class LinearNet:
    """Loss and gradient only (hand-written backprop)."""

    theta0 = np.zeros(N_HID * N_IN + N_OUT * N_HID)

    def loss_and_grad(self, theta):
        W1, W2 = _split(theta)
        R = W2 @ W1 @ XL - YL
        gW2 = R @ (W1 @ XL).T / N
        gW1 = W2.T @ R @ XL.T / N
        return 0.5 * float(np.sum(R * R)) / N, np.concatenate([gW1.ravel(), gW2.ravel()])


def linear_net_origin_sharpness():
    # at W1 = W2 = 0 the loss is ½‖Y‖²/n − tr(W2 W1 C) + O(‖W‖⁴) with C = XYᵀ/n: a bilinear
    # form whose Hessian has eigenvalues ±σ_i(C), each N_HID times; λ_max = σ_max(C)
    return float(np.linalg.svd(XL @ YL.T / N, compute_uv=False)[0])


def test_quadratic_given_only_as_loss_and_grad_central_differences():
    top = top_eigenvalues(QuadraticLossOnly(), THETA, tol=1e-12, rng=0)
    assert top.values[0] == pytest.approx(EIGS.max(), rel=1e-6)
    assert sharpness(QuadraticLossOnly(), THETA, tol=1e-12, rng=0) == pytest.approx(EIGS.max(), rel=1e-6)
    # the result says how the products were computed, and its error estimate covers the truth
    assert top.hvp.startswith("central differences") and "O(ε²‖∇³L‖)" in top.hvp
    assert abs(top.values[0] - EIGS.max()) <= top.hvp_error + 1e-9 * EIGS.max()


def test_two_layer_linear_network_at_a_known_point_central_differences():
    want = linear_net_origin_sharpness()
    top = top_eigenvalues(LinearNet(), LinearNet.theta0, tol=1e-12, rng=1)
    assert top.values[0] == pytest.approx(want, rel=1e-6)
    assert top.hvp.startswith("central differences")


def test_two_layer_linear_network_away_from_the_origin_matches_the_dense_hessian():
    # independent of the closed form: the Hessian assembled from second differences of the loss
    theta = 0.5 * RNG.standard_normal(LinearNet.theta0.size)
    m = LinearNet()
    d, h = theta.size, 1e-4
    E = np.eye(d) * h

    def L(t):
        return m.loss_and_grad(t)[0]

    H = np.array([[(L(theta + E[i] + E[j]) - L(theta + E[i] - E[j]) - L(theta - E[i] + E[j])
                    + L(theta - E[i] - E[j])) / (4 * h * h) for j in range(d)] for i in range(d)])
    want = np.linalg.eigvalsh((H + H.T) / 2)[-1]
    got = sharpness(m, theta, tol=1e-12, rng=2)
    assert got == pytest.approx(want, rel=1e-5)     # the reference's own error is O(h²) + O(u/h²)


def test_exact_hvp_of_a_flat_model_is_used_and_said():
    q = QuadraticModel(A, theta0=THETA)
    top = top_eigenvalues(q, THETA, tol=1e-12, rng=0)
    assert top.hvp.startswith("exact") and top.hvp_error is None
    assert top.values[0] == pytest.approx(EIGS.max(), rel=1e-12)


def test_preconditioned_operator_has_the_spectrum_of_P_inverse_H():
    p = np.exp(RNG.standard_normal(D))
    op = hessian_operator(QuadraticModel(A), THETA, preconditioner=p)
    M = op.matmat(np.eye(D))
    want = np.sort(np.linalg.eigvals(np.diag(1 / p) @ A).real)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh((M + M.T) / 2)), want, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="`preconditioner`"):
        hessian_operator(QuadraticModel(A), THETA, preconditioner=-p)


def test_bad_models_are_rejected_with_the_argument_named():
    with pytest.raises(TypeError, match="`model`"):
        as_model(object())
    with pytest.raises(ValueError, match="`params`"):
        sharpness(QuadraticLossOnly())          # no point and no theta0
    with pytest.raises(ValueError, match="`params`"):
        as_model(TanhMLP(2, 2, 1), None, np.zeros((3, 2)), np.zeros(3))


def test_training_a_user_model_without_hvp_tracks_central_difference_sharpness():
    # GD on the quadratic: the sharpness is constant, the run converges below 2/η and says how H·v was taken
    run = train_tracking_sharpness(QuadraticModel(np.diag([3.0, 1.0]), theta0=[1.0, -1.0]), method="gd", lr=0.5,
                                   n_steps=40, every=20, tol=1e-10)
    assert run.hvp.startswith("exact")
    lossonly = train_tracking_sharpness(QuadraticLossOnly(), THETA, method="heavy-ball", lr=0.05, momentum=0.5,
                                        n_steps=30, every=10, tol=1e-10, rng=0)
    assert lossonly.hvp.startswith("central differences")
    np.testing.assert_allclose(lossonly.sharpness[:, 0], EIGS.max(), rtol=1e-6)
    assert lossonly.threshold == pytest.approx(2 * 1.5 / 0.05, rel=1e-12)


def test_adam_run_tracks_the_preconditioned_sharpness_with_adams_own_P():
    # on a quadratic the preconditioned sharpness at step k is λ_max(P⁻¹A), P from the state
    q = QuadraticModel(np.diag([4.0, 1.0, 0.25]), theta0=[1.0, 1.0, 1.0])
    run = train_tracking_sharpness(q, method="adam", lr=0.01, momentum=0.9, n_steps=30, every=10, tol=1e-12, rng=0)
    assert run.preconditioned is not None and run.threshold == pytest.approx(38 / 0.01, rel=1e-12)
    opt = optim.adam(0.01, 0.9, 0.999, 1e-8)
    theta, state = np.array([1.0, 1.0, 1.0]), opt.init(np.zeros(3))
    want = []
    for k in range(31):
        g = q.A @ theta
        upd, new_state = opt.update(g, state, theta)
        if k % 10 == 0:
            P = opt.preconditioner(new_state)
            want.append(np.max(np.diag(q.A) / P))       # diagonal A: eigenvalues of P⁻¹A
        theta, state = theta + upd, new_state
    np.testing.assert_allclose(run.preconditioned, want, rtol=1e-9)
    np.testing.assert_allclose(run.ratio, run.preconditioned / run.threshold)
    np.testing.assert_allclose(run.sharpness[:, 0], 4.0, rtol=1e-9)


def test_network_runs_are_unchanged_by_the_flat_protocol():
    # the dict-parameter path and a flat model with the same loss give the same iterates
    model = TanhMLP(4, 5, 2)
    X = RNG.standard_normal((20, 4))
    Y = RNG.standard_normal((20, 2))
    p0 = model.init_params(3)
    flat0, unravel = ravel_params(p0)

    class Flat:
        def loss_and_grad(self, t):
            loss, g = model.loss_and_grad(unravel(t), X, Y)
            return loss, ravel_params(g)[0]

        def hvp(self, t, v):
            return hvp(model, unravel(t), X, Y, v)

    a = train_tracking_sharpness(model, p0, X, Y, "nesterov", 0.2, 0.5, n_steps=20, every=10, tol=1e-12, rng=0)
    b = train_tracking_sharpness(Flat(), flat0, method="nesterov", lr=0.2, momentum=0.5, n_steps=20, every=10,
                                 tol=1e-12, rng=0)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_allclose(a.sharpness, b.sharpness, rtol=1e-10)
    assert isinstance(a.params, dict)


# -- JAX ------------------------------------------------------------------------------------
def test_jax_models_are_exact_to_1e_10():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from dynopt.learning.models import JaxModel

    jax.config.update("jax_enable_x64", True)
    Aj = jnp.asarray(A)
    quad = JaxModel(lambda t: 0.5 * t @ Aj @ t, THETA)
    top = top_eigenvalues(quad, THETA, tol=1e-14, rng=0)
    assert top.hvp.startswith("exact (JAX") and top.hvp_error is None
    assert top.values[0] == pytest.approx(EIGS.max(), rel=1e-10)

    Xj, Yj = jnp.asarray(XL), jnp.asarray(YL)

    def lin_loss(p):
        R = p["W2"] @ p["W1"] @ Xj - Yj
        return 0.5 * jnp.sum(R * R) / N

    net = JaxModel(lin_loss, {"W1": jnp.zeros((N_HID, N_IN)), "W2": jnp.zeros((N_OUT, N_HID))})
    assert sharpness(net, net.theta0, tol=1e-14, rng=1) == pytest.approx(linear_net_origin_sharpness(), rel=1e-10)


def test_jax_hvp_matches_the_numpy_networks_r_operator():
    pytest.importorskip("jax")
    import jax.numpy as jnp

    from dynopt.learning.models import JaxModel

    model = TanhMLP(4, (5, 3), 3)
    X = RNG.standard_normal((16, 4))
    Y = RNG.standard_normal((16, 3))
    p0 = model.init_params(4)

    def loss(p):
        a = jnp.asarray(X)
        for i in (1, 2):
            a = jnp.tanh(a @ p[f"W{i}"] + p[f"b{i}"])
        r = a @ p["W3"] + p["b3"] - Y
        return 0.5 * jnp.sum(r * r) / len(X)

    jm = JaxModel(loss, p0)
    flat, _ = ravel_params(p0)
    v = RNG.standard_normal(flat.size)
    # ravel_pytree orders dict keys alphabetically; compare through the dicts
    from jax.flatten_util import ravel_pytree
    vj = np.asarray(ravel_pytree({k: jnp.asarray(x) for k, x in ravel_params(p0)[1](v).items()})[0])
    hv_j = jm.unravel(jm.hvp(jm.theta0, vj))
    hv_n = hvp(model, p0, X, Y, ravel_params(p0)[1](v))
    for k in hv_n:
        np.testing.assert_allclose(np.asarray(hv_j[k]), hv_n[k], rtol=1e-11, atol=1e-13)


def test_jax_model_trains_with_adam_and_tracks_both_sharpnesses():
    pytest.importorskip("jax")
    import jax.numpy as jnp

    from dynopt.learning.models import JaxModel

    Aj = jnp.asarray(np.diag([4.0, 1.0, 0.25]))
    jm = JaxModel(lambda t: 0.5 * t @ Aj @ t, np.ones(3))
    run = train_tracking_sharpness(jm, method="adam", lr=0.01, momentum=0.9, n_steps=20, every=10, tol=1e-12)
    np.testing.assert_allclose(run.sharpness[:, 0], 4.0, rtol=1e-10)
    assert run.preconditioned.shape == (3,) and run.hvp.startswith("exact (JAX")


# -- the command line -----------------------------------------------------------------------
MODEL_FILE = textwrap.dedent('''
    import numpy as np

    rng = np.random.default_rng(0)
    M = rng.standard_normal((8, 2)) @ rng.standard_normal((2, 6))


    class MatrixFactorisation:
        """L(U, V) = ½‖UVᵀ − M‖²/|M|, loss and gradient only."""

        theta0 = 0.5 * np.random.default_rng(1).standard_normal((8 + 6) * 2)

        def loss_and_grad(self, theta):
            U, V = theta[:16].reshape(8, 2), theta[16:].reshape(6, 2)
            R = U @ V.T - M
            return 0.5 * np.sum(R * R) / M.size, np.concatenate([(R @ V).ravel(), (R.T @ U).ravel()]) / M.size


    model = MatrixFactorisation()
''')


def _cli(args, cwd):
    """The real console entry point, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "dynopt.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _main(args, cwd, capsys, monkeypatch):
    """``dynopt.cli.main`` in this process (same parser and error handling, no start-up cost)."""
    from types import SimpleNamespace

    from dynopt.cli.main import main

    monkeypatch.chdir(cwd)
    code = main(args)
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_cli_runs_a_model_file_and_documents_its_json(tmp_path):
    from dynopt.cli.sharpness import JSON_KEYS

    (tmp_path / "mf.py").write_text(MODEL_FILE)
    out = tmp_path / "out"
    res = _cli(["sharpness", "--model", "mf.py:model", "--optimizer", "heavy-ball", "--momentum", "0.5",
                "--lr", "0.4", "--steps", "60", "--every", "20", "--json", "--out", str(out), "--no-progress"],
               tmp_path)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert set(summary) == set(JSON_KEYS)
    assert summary["threshold"] == pytest.approx(2 * 1.5 / 0.4, rel=1e-12)
    assert summary["hvp"].startswith("central differences")
    assert summary["steps"] == [0, 20, 40, 60] and len(summary["losses"]) == 61
    if summary["first_step_in_band"] is None:
        assert summary["fraction_in_band"] is None and "fraction_in_band" in summary["undefined"]
    assert (out / "sharpness.png").stat().st_size > 0
    assert json.loads((out / "sharpness.json").read_text()) == summary
    from dynopt.cli.main import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices["sharpness"]
    helptext = sub.format_help()
    for key in JSON_KEYS:
        assert f"  {key}:" in helptext


def test_cli_with_a_users_optimizer_file_and_adam(tmp_path, capsys, monkeypatch):
    (tmp_path / "mf.py").write_text(MODEL_FILE)
    (tmp_path / "rule.py").write_text(textwrap.dedent('''
        from dynopt import optim


        def make(lr, momentum):
            return optim.sgd(lr, momentum=momentum, convention="d2l")
    '''))
    res = _main(["sharpness", "--model", "mf.py:model", "--optimizer", "rule.py:make", "--lr", "0.3",
                "--momentum", "0.8", "--steps", "10", "--every", "5", "--json", "--no-figure",
                "--out", str(tmp_path / "o1")], tmp_path, capsys, monkeypatch)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["threshold"] == pytest.approx(3.6 / 0.3, rel=1e-12)
    res = _main(["sharpness", "--model", "mf.py:model", "--optimizer", "adam", "--lr", "0.01", "--steps", "10",
                "--every", "5", "--json", "--no-figure", "--out", str(tmp_path / "o2")], tmp_path, capsys, monkeypatch)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["tracked"] == "lambda_max(P^-1 H)" and s["threshold"] == pytest.approx(3800, rel=1e-12)
    assert s["from_step"] == 50          # ⌈5/(1 − β₁)⌉ at the default β₁ = 0.9


def test_cli_bad_input_exits_2_naming_the_option(tmp_path, capsys, monkeypatch):
    (tmp_path / "mf.py").write_text(MODEL_FILE)
    for args, option in ((["--model", "mf.py:nothing"], "--model"),
                         (["--model", "mf.py:model", "--optimizer", "lbfgs"], "--optimizer"),
                         (["--model", "mf.py:model", "--optimizer", "heavy-ball"], "momentum")):
        res = _main(["sharpness", *args, "--lr", "0.1", "--steps", "5", "--no-figure",
                    "--out", str(tmp_path / "o")], tmp_path, capsys, monkeypatch)
        assert res.returncode == 2 and option in res.stderr, res.stderr


def test_a_rule_that_cannot_be_read_on_symbols_trains_with_an_undefined_threshold(tmp_path):
    from dynopt.plotting import plt
    from dynopt.plotting.training import sharpness_figure

    def update(g, state, params=None):     # a branch on array values: no symbolic reading
        scale = 0.1 if np.all(np.abs(g) < 1) else 0.01
        return -scale * g, state

    rule = optim.GradientTransformation(lambda p: (), update)
    run = train_tracking_sharpness(QuadraticModel(np.diag([2.0, 1.0]), theta0=[3.0, 1.0]), method=rule, lr=0.1,
                                   n_steps=10, every=5, tol=1e-10, label="branchy")
    assert np.isnan(run.threshold) and run.threshold_derivation.startswith("undefined")
    assert np.all(np.isnan(run.ratio)) and edge_statistics(run).reach_step is None
    np.testing.assert_allclose(run.sharpness[:, 0], 2.0, rtol=1e-10)
    plt.close(sharpness_figure(run, band=(0.9, 1.1)))


def test_edge_statistics_from_step_skips_the_warm_up():
    from dynopt.analysis.sharpness import SharpnessRun

    steps = np.arange(0, 100, 10)
    pre = np.array([9.0, 0.3, 0.6, 0.95, 1.0, 1.02, 0.98, 1.0, 1.01, 1.0])
    run = SharpnessRun("adam", 0.01, 0.9, 1.0, np.linspace(1, 0.1, 91), steps, np.ones((10, 1)), None, None, 0,
                       0.0, pre)
    assert edge_statistics(run).reach_step == 0
    st = edge_statistics(run, from_step=10)
    assert st.reach_step == 30 and st.initial_ratio == pytest.approx(0.3) and st.fraction_in_band == 1.0


class _SeededQuadratic:
    """L = ½|θ|²·2 on R², started from ``init(rng)``; records the seed it was given."""

    def __init__(self):
        self.seen = []

    def init(self, rng):
        self.seen.append(rng)
        return np.random.default_rng(rng).standard_normal(2)

    def loss_and_grad(self, theta):
        return float(np.dot(theta, theta)), 2.0 * np.asarray(theta)

    def hvp(self, theta, v):
        return 2.0 * np.asarray(v)


def test_train_tracking_sharpness_seeds_model_init_and_names_a_user_rule():
    """rng reaches model.init (the start is init(rng)); a user's rule is named by label, else "user rule"."""
    m = _SeededQuadratic()
    run = train_tracking_sharpness(m, method="gd", lr=0.1, n_steps=2, every=1, rng=7)
    assert m.seen == [7]
    start = np.random.default_rng(7).standard_normal(2)
    assert run.losses[0] == pytest.approx(float(start @ start), rel=1e-14)
    rule = optim.sgd(0.1)
    assert train_tracking_sharpness(_SeededQuadratic(), method=rule, lr=0.1, n_steps=2, every=1,
                                    rng=0).method == "user rule"
    assert train_tracking_sharpness(_SeededQuadratic(), method=rule, lr=0.1, n_steps=2, every=1, rng=0,
                                    label="mine").method == "mine"


def test_preconditioned_run_counts_both_lanczos_solves():
    """n_products of a preconditioned run is the sum of the plain and the preconditioned Lanczos products,
    each warm-started from its own previous top vector — replayed here."""
    q = QuadraticModel(np.diag([4.0, 2.0, 1.0]), theta0=[1.0, 1.0, 1.0])
    run = train_tracking_sharpness(q, method="adam", lr=0.01, momentum=0.9, n_steps=20, every=10, tol=1e-10, rng=3)
    bound = as_model(q)
    opt = optim.adam(0.01, 0.9, 0.999, 1e-8)
    theta, state = np.array([1.0, 1.0, 1.0]), opt.init(np.zeros(3))
    v0 = v0p = np.random.default_rng(3).standard_normal(3)
    products = 0
    for k in range(21):
        upd, new_state = opt.update(q.A @ theta, state, theta)
        if k % 10 == 0:
            top = top_eigenvalues(bound, theta, k=1, v0=v0, tol=1e-10)
            topp = top_eigenvalues(bound, theta, k=1, v0=v0p, tol=1e-10,
                                   preconditioner=np.ravel(opt.preconditioner(new_state)))
            v0, v0p = top.vectors[:, 0], topp.vectors[:, 0]
            products += top.n_products + topp.n_products
        theta, state = theta + upd, new_state
    assert topp.n_products > 0
    assert run.n_products == products
