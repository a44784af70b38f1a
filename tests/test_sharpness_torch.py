"""PyTorch models through torch.func (skipped without torch): exact Hessian-vector products,
sharpness to 1e-10 on losses whose Hessian is known, and agreement with the numpy networks."""
import numpy as np
import pytest

from dynopt.analysis.sharpness import train_tracking_sharpness
from dynopt.learning.hessian import TanhMLP, hvp, ravel_params, sharpness, top_eigenvalues
from dynopt.learning.models import TorchModel

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(2022)
D = 6
_Q = np.linalg.qr(RNG.standard_normal((D, D)))[0]
EIGS = np.array([3.7, 1.5, 0.6, 0.2, -0.1, -1.2])
A = _Q @ np.diag(EIGS) @ _Q.T
A = (A + A.T) / 2


def test_quadratic_sharpness_is_exact():
    At = torch.as_tensor(A, dtype=torch.float64)
    m = TorchModel(lambda p: 0.5 * p["t"] @ At @ p["t"], {"t": torch.as_tensor(RNG.standard_normal(D))})
    top = top_eigenvalues(m, m.theta0, tol=1e-14, rng=0)
    assert top.hvp.startswith("exact (torch.func") and top.hvp_error is None
    assert top.values[0] == pytest.approx(EIGS.max(), rel=1e-10)


def test_two_layer_linear_network_at_the_origin():
    # λ_max at W1 = W2 = 0 is σ_max(XYᵀ/n) (eigenvalues ±σ_i of the bilinear leading term)
    n_in, n_hid, n_out, n = 4, 3, 2, 25
    X, Y = RNG.standard_normal((n_in, n)), RNG.standard_normal((n_out, n))
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)

    def loss(p):
        R = p["W2"] @ p["W1"] @ Xt - Yt
        return 0.5 * (R * R).sum() / n

    m = TorchModel(loss, {"W1": torch.zeros(n_hid, n_in, dtype=torch.float64),
                          "W2": torch.zeros(n_out, n_hid, dtype=torch.float64)})
    want = np.linalg.svd(X @ Y.T / n, compute_uv=False)[0]
    assert sharpness(m, m.theta0, tol=1e-14, rng=1) == pytest.approx(want, rel=1e-10)


def test_torch_hvp_matches_the_numpy_networks_r_operator_and_trains():
    model = TanhMLP(4, 5, 2)
    X, Y = RNG.standard_normal((12, 4)), RNG.standard_normal((12, 2))
    p0 = model.init_params(6)
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)

    def loss(p):
        r = torch.tanh(Xt @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - Yt
        return 0.5 * (r * r).sum() / len(X)

    m = TorchModel(loss, {k: torch.as_tensor(v) for k, v in p0.items()})
    flat, unravel = ravel_params(p0)          # same key order as the dict given to TorchModel
    np.testing.assert_array_equal(m.theta0, flat)
    v = RNG.standard_normal(flat.size)
    np.testing.assert_allclose(m.hvp(flat, v), hvp(model, p0, X, Y, v), rtol=1e-11, atol=1e-13)
    a = train_tracking_sharpness(model, p0, X, Y, "gd", 0.3, n_steps=10, every=5, tol=1e-12, rng=0)
    b = train_tracking_sharpness(m, method="gd", lr=0.3, n_steps=10, every=5, tol=1e-12, rng=0)
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-12)
    np.testing.assert_allclose(b.sharpness, a.sharpness, rtol=1e-9)
