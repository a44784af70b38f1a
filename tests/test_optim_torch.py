"""Step-by-step comparison with torch.optim in float64 (skipped without torch)."""
import numpy as np
import pytest

from dynopt import optim

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
M = RNG.normal(size=(5, 5))
H = M @ M.T / 5 + 0.2 * np.eye(5)
C = RNG.normal(size=5)


def grad_tree(t):
    """Gradient of ½(x−c)ᵀH(x−c) with x = concat(W.ravel(), b)."""
    x = np.concatenate([t["W"].ravel(), t["b"]])
    g = H @ (x - C)
    return {"W": g[:4].reshape(2, 2), "b": g[4:]}


CASES = [
    ("SGD", dict(lr=0.05), lambda: optim.sgd(0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9), lambda: optim.sgd(0.05, 0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3), lambda: optim.sgd(0.05, 0.9, 0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), lambda: optim.sgd(0.05, 0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1), lambda: optim.sgd(0.05, 0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.3, initial_accumulator_value=0.1),
     lambda: optim.adagrad(0.3, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.3), lambda: optim.adagrad(0.3)),
    ("RMSprop", dict(lr=0.01, alpha=0.9), lambda: optim.rmsprop(0.01, 0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.99, weight_decay=0.05), lambda: optim.rmsprop(0.01, 0.99, weight_decay=0.05)),
    ("Adam", dict(lr=0.02), lambda: optim.adam(0.02)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.05),
     lambda: optim.adam(0.02, 0.8, 0.99, weight_decay=0.05)),
    ("AdamW", dict(lr=0.02, weight_decay=0.1), lambda: optim.adamw(0.02, weight_decay=0.1)),
]


@pytest.mark.parametrize("cls,kw,make", CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_matches_torch_optim_step_by_step(cls, kw, make):
    p0 = {"W": np.array([[1.0, -2.0], [0.5, 3.0]]), "b": np.array([-1.0])}
    tparams = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p0.items()}
    topt = getattr(torch.optim, cls)(list(tparams.values()), **kw)
    opt = make()
    p, s = p0, opt.init(p0)
    for _ in range(60):
        g = grad_tree({k: t.detach().numpy() for k, t in tparams.items()})
        for k, t in tparams.items():
            t.grad = torch.tensor(g[k], dtype=torch.float64)
        topt.step()
        p, s = optim.step(opt, grad_tree, p, s)
        for k in p:
            np.testing.assert_allclose(p[k], tparams[k].detach().numpy(), rtol=1e-12, atol=1e-14)


def test_lr_change_mid_run_matches_torch_only_in_pytorch_convention():
    x0 = np.array([-5.0, -2.0])
    hs = np.array([0.2, 4.0])
    t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    sched = lambda k: 0.1 if k < 10 else 0.01  # noqa: E731
    ours = optim.run(optim.sgd(sched, 0.9), lambda x: hs * x, x0, 30).path
    d2l = optim.run(optim.sgd(sched, 0.9, convention="d2l"), lambda x: hs * x, x0, 30).path
    path = [x0]
    for k in range(30):
        if k == 10:
            topt.param_groups[0]["lr"] = 0.01
        t.grad = torch.tensor(hs * t.detach().numpy(), dtype=torch.float64)
        topt.step()
        path.append(t.detach().numpy().copy())
    np.testing.assert_allclose(ours, np.array(path), rtol=1e-12, atol=1e-14)
    assert np.abs(d2l - np.array(path)).max() > 0.1
