"""Small numpy models with hand-written backprop (checked against finite differences in
the tests): linear regression, softmax regression, and the sources' MLP in → 200 → out.

Every model has ``init_params(rng) -> dict``, ``forward(params, X)``,
``loss(params, X, y) -> float`` and ``loss_and_grad(params, X, y) -> (float, dict)``;
:func:`train` runs an optimizer from :mod:`dynopt.optim` over seeded minibatches.
"""
from __future__ import annotations

import contextlib

from typing import NamedTuple, Optional

import numpy as np

from dynopt import optim
from dynopt.checks import as_generator, check_int
from dynopt.engine import blown_up
from dynopt.engine.validate import scale_limit
from dynopt.learning.data import minibatches

__all__ = ["LinearRegression", "SoftmaxRegression", "MLP", "cross_entropy", "train", "blas_limit",
           "TrainResult", "torch_linear_init"]


def _check_reduction(reduction):
    if reduction not in ("mean", "sum"):
        raise ValueError(f"`reduction` must be one of ['mean', 'sum']; got {reduction!r}")
    return reduction


def _check_dim(v, name):
    return check_int(v, name)


def torch_linear_init(rng, n_in: int, n_out: int):
    """PyTorch's default nn.Linear initialization: W, b ~ U(−1/√n_in, 1/√n_in).

    Returns ``W`` of shape (n_in, n_out) and ``b`` of shape (n_out,).
    """
    bound = 1.0 / np.sqrt(n_in)
    return rng.uniform(-bound, bound, (n_in, n_out)), rng.uniform(-bound, bound, n_out)


def cross_entropy(logits, y, reduction: str = "mean"):
    """Softmax cross-entropy of integer labels and its gradient w.r.t. the logits.

    Uses log-sum-exp, so it is finite for any finite logits (npnet-001's run warns of
    log(0)).

    Returns
    -------
    loss : float
    dlogits : ndarray, shape like ``logits``
    """
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = logits.shape[0]
    rows = np.arange(n)
    total = -logp[rows, y].sum()
    d = np.exp(logp)
    d[rows, y] -= 1.0
    if reduction == "mean":
        return total / n, d / n
    return total, d


class LinearRegression:
    """ŷ = Xw + b with d2l's squared loss ½(ŷ − y)², averaged over the batch
    (d2l-004 divides the summed gradient by batch_size: the same)."""

    def __init__(self, n_features: int, reduction: str = "mean"):
        self.n_features = _check_dim(n_features, "n_features")
        self.reduction = _check_reduction(reduction)

    def init_params(self, rng=None, scale: float = 1.0):
        """w ~ N(0, scale²) (d2l-004: scale 1), b = 0."""
        rng = as_generator(rng)
        return {"w": scale * rng.standard_normal(self.n_features), "b": np.zeros(1)}

    def forward(self, params, X):
        return X @ params["w"] + params["b"][0]

    def loss(self, params, X, y):
        r = self.forward(params, X) - y
        s = 0.5 * np.sum(r * r)
        return s / len(y) if self.reduction == "mean" else s

    def loss_and_grad(self, params, X, y):
        r = self.forward(params, X) - y
        c = 1.0 / len(y) if self.reduction == "mean" else 1.0
        return c * 0.5 * np.sum(r * r), {"w": c * (X.T @ r), "b": np.array([c * r.sum()])}


class SoftmaxRegression:
    """Linear classifier with softmax cross-entropy (npnet-001's Linear + CrossEntropy).

    ``reduction="sum"`` sums the loss over the batch — the scale npnet-001's learning
    rates (1e-5 for SGD) are chosen for.
    """

    def __init__(self, n_in: int, n_out: int = 10, reduction: str = "mean"):
        self.n_in, self.n_out = _check_dim(n_in, "n_in"), _check_dim(n_out, "n_out")
        self.reduction = _check_reduction(reduction)

    def init_params(self, rng=None):
        W, b = torch_linear_init(as_generator(rng), self.n_in, self.n_out)
        return {"W": W, "b": b}

    def forward(self, params, X):
        return X @ params["W"] + params["b"]

    def loss(self, params, X, y):
        return cross_entropy(self.forward(params, X), y, self.reduction)[0]

    def loss_and_grad(self, params, X, y):
        loss, d = cross_entropy(self.forward(params, X), y, self.reduction)
        return loss, {"W": X.T @ d, "b": d.sum(axis=0)}

    def accuracy(self, params, X, y):
        return float(np.mean(self.forward(params, X).argmax(axis=1) == y))


class MLP:
    """in → hidden (ReLU) → out with softmax cross-entropy (csdn-000's 3-layer network).

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        The source: 784 → 200 → 10.
    relu_on_output : bool
        Apply ReLU to the output logits too, as csdn-000's second network ``my_net``
        does (``F.relu(self.L2(x))``): negative logits are clipped to 0.
    reduction : {"mean", "sum"}
    """

    def __init__(self, n_in: int, n_hidden: int = 200, n_out: int = 10,
                 relu_on_output: bool = False, reduction: str = "mean"):
        self.n_in = _check_dim(n_in, "n_in")
        self.n_hidden = _check_dim(n_hidden, "n_hidden")
        self.n_out = _check_dim(n_out, "n_out")
        self.relu_on_output = bool(relu_on_output)
        self.reduction = _check_reduction(reduction)

    def init_params(self, rng=None):
        """PyTorch's default nn.Linear initialization for both layers."""
        rng = as_generator(rng)
        W1, b1 = torch_linear_init(rng, self.n_in, self.n_hidden)
        W2, b2 = torch_linear_init(rng, self.n_hidden, self.n_out)
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    def _forward(self, params, X):
        z1 = X @ params["W1"] + params["b1"]
        h = np.maximum(z1, 0.0)
        z2 = h @ params["W2"] + params["b2"]
        out = np.maximum(z2, 0.0) if self.relu_on_output else z2
        return z1, h, z2, out

    def forward(self, params, X):
        return self._forward(params, X)[3]

    def loss(self, params, X, y):
        return cross_entropy(self.forward(params, X), y, self.reduction)[0]

    def loss_and_grad(self, params, X, y):
        z1, h, z2, out = self._forward(params, X)
        loss, d = cross_entropy(out, y, self.reduction)
        if self.relu_on_output:
            d = d * (z2 > 0)
        dh = d @ params["W2"].T
        dz1 = dh * (z1 > 0)
        return loss, {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": h.T @ d, "b2": d.sum(axis=0)}

    def accuracy(self, params, X, y):
        return float(np.mean(self.forward(params, X).argmax(axis=1) == y))


def blas_limit(n):
    """Context limiting BLAS to ``n`` threads (``None``: no limit).  Why: small matmuls on a
    shared 2-core machine ran ~50× slower with BLAS threads fighting each other."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, run as is
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(n), user_api="blas")


class TrainResult(NamedTuple):
    """Result of :func:`train`.

    Attributes
    ----------
    params : dict — final parameters
    batch_losses : ndarray, shape (n_steps,) — loss of each minibatch before its step
    epoch_losses : ndarray, shape (epochs,) — mean minibatch loss per epoch (what the
        sources print as "Train Loss")
    full_losses : ndarray, shape (epochs + 1,) — loss on the whole set at each epoch end
        (first entry: at the start), when ``full_loss=True``; else None
    state : the final optimizer state
    diverged_step : int or None
    """

    params: dict
    batch_losses: np.ndarray
    epoch_losses: np.ndarray
    full_losses: Optional[np.ndarray]
    state: object
    diverged_step: Optional[int]


def train(model, params, opt, X, y, *, batch_size: int, epochs: int, rng, full_loss: bool = False,
          drop_last: bool = False, blas_threads: Optional[int] = 1) -> TrainResult:
    """Minibatch training of ``model`` with optimizer ``opt`` (1 gradient per step).

    Parameters
    ----------
    model : LinearRegression, SoftmaxRegression or MLP
    params : dict — initial parameters (not modified)
    opt : dynopt.optim.GradientTransformation
    X, y : the training set
    batch_size, epochs : int ≥ 1
    rng : int, SeedSequence or Generator — shuffling of every epoch
    full_loss : bool — also record the loss on the whole set after each epoch
    blas_threads : int or None — BLAS threads during training (default 1: on matrices
        this small, threads cost far more than they save, ~50× on a busy 2-core machine;
        None leaves the BLAS setting alone)

    Returns
    -------
    TrainResult
        A run whose minibatch loss becomes non-finite or exceeds 10^12 × its first
        minibatch loss (at least 1) stops and reports ``diverged_step``.
    """
    check_int(epochs, "epochs")
    rng = as_generator(rng)
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    state = opt.init(params)
    full = [model.loss(params, X, y)] if full_loss else None
    with blas_limit(blas_threads), np.errstate(over="ignore", invalid="ignore"):
        return _train_loop(model, params, opt, X, y, batch_size, epochs, rng, full, drop_last, state)


def _train_loop(model, params, opt, X, y, batch_size, epochs, rng, full, drop_last, state):
    batch_losses, epoch_losses = [], []
    diverged, limit = None, None
    for _ in range(epochs):
        ep = []
        for idx in minibatches(len(y), batch_size, rng, drop_last=drop_last):
            loss, g = model.loss_and_grad(params, X[idx], y[idx])
            if limit is None:  # the scale of the run: its first minibatch loss
                limit = scale_limit(loss)
            if blown_up(loss, limit):
                diverged = len(batch_losses) + 1
                break
            point = params if opt.lookahead is None else opt.lookahead(params, state)
            if opt.lookahead is not None:
                g = model.loss_and_grad(point, X[idx], y[idx])[1]
            updates, state = opt.update(g, state, params)
            params = optim.apply_updates(params, updates)
            batch_losses.append(loss)
            ep.append(loss)
        if diverged is not None:
            break
        epoch_losses.append(float(np.mean(ep)))
        if full is not None:
            full.append(model.loss(params, X, y))
    return TrainResult(params, np.array(batch_losses), np.array(epoch_losses),
                       None if full is None else np.array(full), state, diverged)
