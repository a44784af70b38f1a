"""Models: hand-written backprop against central finite differences; training loop."""
import numpy as np
import pytest

from dynopt import optim
from dynopt.learning import data
from dynopt.learning import networks as models


def fd_grad(model, params, X, y, h=1e-6):
    out = {}
    for k, v in params.items():
        g = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            p1 = {kk: vv.copy() for kk, vv in params.items()}
            p2 = {kk: vv.copy() for kk, vv in params.items()}
            p1[k][i] += h
            p2[k][i] -= h
            g[i] = (model.loss(p1, X, y) - model.loss(p2, X, y)) / (2 * h)
        out[k] = g
    return out


@pytest.mark.parametrize("model", [
    models.LinearRegression(3), models.LinearRegression(3, reduction="sum"),
    models.SoftmaxRegression(5, 4), models.SoftmaxRegression(5, 4, reduction="sum"),
    models.MLP(5, 7, 4), models.MLP(5, 7, 4, relu_on_output=True),
], ids=["linreg", "linreg-sum", "softmax", "softmax-sum", "mlp", "mlp-relu-logits"])
def test_backprop_matches_finite_differences(model, rng):
    X = rng.normal(size=(9, model.n_features if hasattr(model, "n_features") else model.n_in))
    if isinstance(model, models.LinearRegression):
        y = rng.normal(size=9)
        params = model.init_params(rng)
    else:
        y = rng.integers(0, 4, size=9)
        params = model.init_params(rng)
        params = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in params.items()}  # away from kinks at 0
    loss, g = model.loss_and_grad(params, X, y)
    assert loss == pytest.approx(model.loss(params, X, y), rel=1e-14)
    fd = fd_grad(model, params, X, y)
    for k in g:
        np.testing.assert_allclose(g[k], fd[k], rtol=1e-6, atol=1e-8)


def test_relu_on_logits_clips_negative_logits():
    m = models.MLP(4, 6, 3, relu_on_output=True)
    p = m.init_params(0)
    p["b2"] = np.array([-100.0, -100.0, -100.0])
    out = m.forward(p, np.ones((2, 4)))
    np.testing.assert_array_equal(out, 0.0)
    loss, g = m.loss_and_grad(p, np.ones((2, 4)), np.array([0, 1]))
    assert loss == pytest.approx(np.log(3)) and np.all(g["W2"] == 0)  # dead: no gradient


def test_cross_entropy_is_finite_for_extreme_logits():
    loss, d = models.cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == pytest.approx(2000.0) and np.all(np.isfinite(d))


def test_train_recovers_linear_regression_and_is_seeded():
    ds = data.linear_regression_data(n=500, seed=1)
    m = models.LinearRegression(2)
    p0 = m.init_params(2)
    r1 = models.train(m, p0, optim.sgd(0.1, 0.5), ds.X, ds.y, batch_size=10, epochs=3, rng=4, full_loss=True)
    r2 = models.train(m, p0, optim.sgd(0.1, 0.5), ds.X, ds.y, batch_size=10, epochs=3, rng=4)
    np.testing.assert_array_equal(r1.params["w"], r2.params["w"])
    assert r1.batch_losses.shape == (150,) and r1.epoch_losses.shape == (3,) and r1.full_losses.shape == (4,)
    np.testing.assert_allclose(r1.params["w"], [2, -3.4], atol=0.02)
    assert r1.full_losses[-1] < 1e-3 < r1.full_losses[0]


def test_train_reports_divergence():
    ds = data.linear_regression_data(n=100, seed=1)
    m = models.LinearRegression(2)
    r = models.train(m, m.init_params(0), optim.sgd(5.0), ds.X, ds.y, batch_size=10, epochs=50, rng=0)
    assert r.diverged_step is not None and len(r.batch_losses) == r.diverged_step - 1


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="`reduction`"):
        models.MLP(3, reduction="avg")
    with pytest.raises(ValueError, match="`n_hidden`"):
        models.MLP(3, n_hidden=0)
    with pytest.raises(ValueError, match="`epochs`"):
        m = models.LinearRegression(1)
        models.train(m, m.init_params(0), optim.sgd(0.1), np.ones((2, 1)), np.ones(2), batch_size=1, epochs=0, rng=0)
