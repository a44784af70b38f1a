"""Curvature of the full-batch loss of the small numpy networks: Hessian-vector products
and the top Hessian eigenvalues (the *sharpness*) by Lanczos.

Hessian-vector products are exact: Pearlmutter's R-operator (forward-over-reverse)
applied to the hand-written backprop, i.e. the directional derivative
R{·} = d/dε (·)(θ + εv)|₀ of every forward and backward quantity.  Any other model (a
flat model of :mod:`dynopt.learning.models`: a loss and gradient over a flat vector) gets
its own exact ``hvp`` if it has one, else :func:`central_hvp`, central differences of its
gradient with a stated error bound; :func:`top_eigenvalues` says which in its result.

Models covered exactly: :class:`TanhMLP` (defined here: tanh hidden layers, squared loss,
the setting of Cohen et al. 2021), and :class:`~dynopt.learning.networks.MLP`,
:class:`~dynopt.learning.networks.SoftmaxRegression` and
:class:`~dynopt.learning.networks.LinearRegression` of :mod:`dynopt.learning.networks`.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from dynopt.checks import as_generator, check_finite_param, check_int
from dynopt.learning.networks import (MLP, LinearRegression, SoftmaxRegression, cross_entropy,
                                      torch_linear_init)

__all__ = ["TanhMLP", "ravel_params", "hvp", "hvp_central", "central_step", "central_hvp",
           "hessian_operator", "dense_hessian", "TopEigen", "top_eigenvalues", "sharpness"]

_U = np.finfo(float).eps


def ravel_params(params):
    """Flatten a dict of arrays into one vector (keys in dict order).

    Returns
    -------
    flat : ndarray, shape (d,)
    unravel : callable
        ``unravel(vector) -> dict`` with the shapes of ``params`` (fresh arrays).
    """
    if not isinstance(params, dict):
        raise TypeError(f"`params` must be a dict of arrays; got {type(params).__name__}")
    keys = list(params)
    shapes = [np.shape(params[k]) for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = np.concatenate([np.ravel(np.asarray(params[k], dtype=float)) for k in keys]) \
        if keys else np.zeros(0)

    def unravel(vec):
        vec = np.asarray(vec, dtype=float)
        if vec.shape != flat.shape:
            raise ValueError(f"`vec` must have shape {flat.shape}; got {vec.shape}")
        out, i = {}, 0
        for k, s, n in zip(keys, shapes, sizes):
            out[k] = vec[i:i + n].reshape(s).copy()
            i += n
        return out

    return flat, unravel


class TanhMLP:
    """Fully connected network in → hidden… (tanh) → out with the squared loss
    ½‖f(x) − y‖², averaged over the batch (Cohen et al. 2021's fc-tanh with MSE).

    Parameters
    ----------
    n_in : int
    hidden : int or sequence of int
        Widths of the tanh layers (at least one).
    n_out : int
    """

    def __init__(self, n_in: int, hidden=(32,), n_out: int = 1):
        hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
        widths = (n_in, *hidden, n_out)
        if len(hidden) < 1:
            raise ValueError(f"`hidden` must hold at least one layer width; got {hidden!r}")
        for name, w in (("n_in", n_in), *((f"hidden[{i}]", h) for i, h in enumerate(hidden)), ("n_out", n_out)):
            check_int(w, name)
        self.widths = tuple(int(w) for w in widths)
        self.n_in, self.n_out, self.hidden = self.widths[0], self.widths[-1], self.widths[1:-1]

    @property
    def n_layers(self) -> int:
        return len(self.widths) - 1

    def init_params(self, rng=None):
        """PyTorch's default nn.Linear initialization for every layer."""
        rng = as_generator(rng)
        params = {}
        for i in range(self.n_layers):
            W, b = torch_linear_init(rng, self.widths[i], self.widths[i + 1])
            params[f"W{i + 1}"], params[f"b{i + 1}"] = W, b
        return params

    def _targets(self, y, n):
        y = np.asarray(y, dtype=float)
        return y.reshape(n, self.n_out) if y.ndim == 1 else y

    def _forward(self, params, X):
        return _forward_stack(_stack(self, params), X)[1]

    def forward(self, params, X):
        return self._forward(params, X)[-1]

    def loss(self, params, X, y):
        r = self.forward(params, X) - self._targets(y, len(X))
        return 0.5 * float(np.sum(r * r)) / len(X)

    def loss_and_grad(self, params, X, y):
        acts = self._forward(params, X)
        r = acts[-1] - self._targets(y, len(X))
        loss = 0.5 * float(np.sum(r * r)) / len(X)
        return loss, _backward(_stack(self, params), acts, r / len(X))[0]


#: the networks whose Hessian-vector products are exact (Pearlmutter's R-operator)
_EXACT_TYPES = (TanhMLP, MLP, SoftmaxRegression, LinearRegression)


# -- the layer stack every exact model reduces to -------------------------------------
class _Stack(NamedTuple):
    """Affine layers with an activation after each: "tanh", "relu" or "identity"."""

    names: list          # (weight key, bias key) per layer
    weights: list
    biases: list
    activations: list


def _stack(model, params) -> _Stack:
    if isinstance(model, TanhMLP):
        n = model.n_layers
        acts = ["tanh"] * (n - 1) + ["identity"]
        names = [(f"W{i}", f"b{i}") for i in range(1, n + 1)]
    elif isinstance(model, MLP):
        acts = ["relu", "relu" if model.relu_on_output else "identity"]
        names = [("W1", "b1"), ("W2", "b2")]
    elif isinstance(model, SoftmaxRegression):
        acts, names = ["identity"], [("W", "b")]
    else:
        raise TypeError(f"`model` has no exact Hessian-vector product: {type(model).__name__}")
    return _Stack(names, [params[w] for w, _ in names], [params[b] for _, b in names], acts)


def _act_slope(kind, z, a):
    """σ'(z), given z and a = σ(z); None for the identity."""
    if kind == "tanh":
        return 1.0 - a * a
    if kind == "relu":
        return (z > 0).astype(float)
    return None


def _forward_stack(st: _Stack, X):
    zs, acts = [], [np.asarray(X, dtype=float)]
    for W, b, kind in zip(st.weights, st.biases, st.activations):
        z = acts[-1] @ W + b
        zs.append(z)
        acts.append(np.tanh(z) if kind == "tanh" else np.maximum(z, 0.0) if kind == "relu" else z)
    return zs, acts


def _backward(st: _Stack, acts, delta_out, zs=None, rop=None):
    """Backprop from ∂L/∂(output) = ``delta_out``; with ``rop`` = (V, R{acts}, R{delta_out})
    also the R-operator of every gradient (Pearlmutter 1994).

    Returns (grads, R{grads} or None) as dicts keyed like the parameters.
    """
    n_l = len(st.weights)
    grads, rgrads = {}, ({} if rop is not None else None)
    delta = delta_out
    rdelta = None
    if rop is not None:
        V, racts, rdelta = rop
    # a head that differentiates w.r.t. the activated output (MLP's relu_on_output) needs
    # the output slope before the last layer's gradients
    slope = _act_slope(st.activations[-1], None if zs is None else zs[-1], acts[-1])
    if slope is not None:
        delta = delta * slope
        if rop is not None:
            rdelta = rdelta * slope + delta_out * _rslope(st.activations[-1], acts[-1], racts[-1])
    for i in range(n_l - 1, -1, -1):
        wk, bk = st.names[i]
        grads[wk] = acts[i].T @ delta
        grads[bk] = delta.sum(axis=0)
        if rop is not None:
            rgrads[wk] = racts[i].T @ delta + acts[i].T @ rdelta
            rgrads[bk] = rdelta.sum(axis=0)
        if i == 0:
            break
        back = delta @ st.weights[i].T
        s = _act_slope(st.activations[i - 1], None if zs is None else zs[i - 1], acts[i])
        if rop is not None:
            rback = rdelta @ st.weights[i].T + delta @ V[wk].T
            rdelta = rback * s + back * _rslope(st.activations[i - 1], acts[i], racts[i])
        delta = back * s
    order = [k for pair in st.names for k in pair]   # the parameters' own key order
    return ({k: grads[k] for k in order},
            None if rgrads is None else {k: rgrads[k] for k in order})


def _rslope(kind, a, ra):
    """R{σ'(z)}: tanh' = 1 − a² gives −2a·R{a}; ReLU' is piecewise constant (0 a.e.)."""
    if kind == "tanh":
        return -2.0 * a * ra
    return 0.0


def _r_forward(st: _Stack, acts, zs, V):
    """R{a_l} for every layer: R{z} = R{a_prev}W + a_prev·V_W + V_b, R{a} = σ'(z)R{z}."""
    racts = [np.zeros_like(acts[0])]
    for i, (kind, (wk, bk)) in enumerate(zip(st.activations, st.names)):
        rz = racts[-1] @ st.weights[i] + acts[i] @ V[wk] + V[bk]
        slope = _act_slope(kind, zs[i], acts[i + 1])
        racts.append(rz if slope is None else rz * slope)
    return racts


def _head(model, out, y):
    """∂L/∂(network output) and the map R{output} ↦ R{∂L/∂output} of the model's loss."""
    n = out.shape[0]
    if isinstance(model, TanhMLP):
        return (out - model._targets(y, n)) / n, lambda rout: rout / n
    scale = 1.0 / n if model.reduction == "mean" else 1.0
    z = out - out.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    _, d = cross_entropy(out, y, model.reduction)
    # softmax Jacobian: R{p} = p ⊙ (R{z} − ⟨p, R{z}⟩)
    return d, lambda rout: scale * p * (rout - np.sum(p * rout, axis=1, keepdims=True))


def _hvp_linear_regression(model, params, X, y, V):
    c = 1.0 / len(y) if model.reduction == "mean" else 1.0
    r_out = X @ V["w"] + V["b"][0]
    return {"w": c * (X.T @ r_out), "b": np.array([c * r_out.sum()])}


def hvp(model, params, X, y, v):
    """Exact Hessian-vector product ∇²L(params)·v of the full-batch loss on (X, y).

    Pearlmutter's R-operator through the model's own forward pass and backprop (for
    ReLU the second derivative is 0 almost everywhere, which is what the R-operator
    gives off the kinks).

    Parameters
    ----------
    model : TanhMLP, MLP, SoftmaxRegression or LinearRegression
    params : dict of arrays
    X, y : the data (the whole batch: the loss is the model's mean or sum over it)
    v : dict shaped like ``params``, or a flat vector (see :func:`ravel_params`)

    Returns
    -------
    dict or ndarray
        In the form ``v`` was given.
    """
    flat_in = not isinstance(v, dict)
    out = _hvp_map(model, params, X, y)(v if not flat_in else ravel_params(params)[1](v))
    return ravel_params(out)[0] if flat_in else out


def _hvp_map(model, params, X, y):
    """V ↦ ∇²L·V (dicts) with the forward pass and the loss head computed once."""
    if isinstance(model, LinearRegression):
        return lambda V: _hvp_linear_regression(model, params, X, y, V)
    st = _stack(model, params)
    zs, acts = _forward_stack(st, X)
    # for relu_on_output the head sees the clipped output and _backward applies its slope
    delta, r_head = _head(model, acts[-1], y)

    def apply(v):
        V = {k: np.asarray(v[k], dtype=float) for k in params}
        racts = _r_forward(st, acts, zs, V)
        return _backward(st, acts, delta, zs, (V, racts, r_head(racts[-1])))[1]

    return apply


def hvp_central(model, params, X, y, v, eps: Optional[float] = None):
    """∇²L·v of a network on (X, y) by central differences of its exact gradient, with an
    error estimate (:func:`central_hvp` with ``error=True``).

    Returns
    -------
    hv : ndarray, shape (d,)
    error : float
        Estimated bound on ‖hv − ∇²L·v‖₂.
    """
    theta, unravel = ravel_params(params)
    v = np.asarray(v, dtype=float)
    if v.shape != theta.shape:
        raise ValueError(f"`v` must have shape {theta.shape}; got {v.shape}")
    if eps is not None:
        eps = check_finite_param(eps, "eps", low=0.0, low_inclusive=False)

    def grad(t):
        return ravel_params(model.loss_and_grad(unravel(t), X, y)[1])[0]

    return central_hvp(grad, theta, v, eps, error=True)


def central_step(theta) -> float:
    """The default central-difference step u^{1/3}·max(1, ‖θ‖_∞) (balances truncation and rounding)."""
    theta = np.asarray(theta, dtype=float)
    return float(_U ** (1 / 3) * max(1.0, float(np.max(np.abs(theta))) if theta.size else 1.0))


def central_hvp(grad, theta, v, eps: Optional[float] = None, error: bool = False):
    """H·v by the central difference of the gradient along v̂ = v/‖v‖.

    (∇L(θ + εv̂) − ∇L(θ − εv̂))/(2ε)·‖v‖ differs from H·v by ε²/6·‖D³∇L[v̂, v̂]‖·‖v‖ + O(ε⁴)
    (truncation) plus ≲ u‖∇L‖/ε (rounding).  Two gradients per product.

    Parameters
    ----------
    grad : callable — ``theta -> ndarray (d,)``
    theta, v : ndarray, shape (d,)
    eps : float, optional — default :func:`central_step`
    error : bool — also estimate the error (two more gradients: Richardson ‖h(ε) − h(2ε)‖/3
        for the ε² term plus the rounding bound 4u·max‖∇L‖/ε)

    Returns
    -------
    hv : ndarray, shape (d,)
    err : float or None
    """
    theta = np.asarray(theta, dtype=float)
    v = np.asarray(v, dtype=float).ravel()
    nv = float(np.linalg.norm(v))
    if nv == 0:
        return np.zeros_like(theta), 0.0 if error else None
    eps = central_step(theta) if eps is None else float(eps)
    vh = v / nv

    def diff(e):
        gp, gm = np.asarray(grad(theta + e * vh), float), np.asarray(grad(theta - e * vh), float)
        return (gp - gm) / (2 * e), max(np.linalg.norm(gp), np.linalg.norm(gm))

    h1, gmax = diff(eps)
    if not error:
        return nv * h1, None
    h2, _ = diff(2 * eps)
    return nv * h1, nv * (float(np.linalg.norm(h1 - h2)) / 3 + 4 * _U * gmax / eps)


def _bind(model, params, X, y):
    from dynopt.learning.models import as_model     # models builds on this module

    bound = as_model(model, params, X, y)
    if bound.theta0 is None:
        raise ValueError("`params` must be given: the point at which to take the Hessian")
    return bound


def hessian_operator(model, params=None, X=None, y=None, preconditioner=None) -> LinearOperator:
    """The Hessian of the full-batch loss as a scipy ``LinearOperator`` on flat vectors.

    Parameters
    ----------
    model : a dynopt network with its data ``X, y`` (exact products through :func:`hvp`),
        or any flat model (:mod:`dynopt.learning.models`: its ``hvp`` if it has one, else
        central differences of its gradient)
    params : the point (the network's dict, or a flat array)
    preconditioner : ndarray, shape (d,), optional
        Positive diagonal P: the operator is then P^{-1/2} H P^{-1/2}, whose eigenvalues are
        those of P⁻¹H (the curvature a preconditioned method sees).
    """
    bound = _bind(model, params, X, y)
    apply = bound.hvp_at(bound.theta0)
    d = bound.theta0.size
    if preconditioner is None:
        return LinearOperator((d, d), dtype=float, matvec=lambda v: apply(np.ravel(v)))
    p = np.asarray(preconditioner, dtype=float).ravel()
    if p.shape != (d,) or not np.all(p > 0) or not np.all(np.isfinite(p)):
        raise ValueError(f"`preconditioner` must be a positive finite vector of length {d}")
    r = 1.0 / np.sqrt(p)
    return LinearOperator((d, d), dtype=float, matvec=lambda v: r * apply(r * np.ravel(v)))


def dense_hessian(model, params=None, X=None, y=None):
    """The full Hessian, column by column (H·e_i); symmetric up to rounding.  For tests
    and small models only (d Hessian-vector products)."""
    op = hessian_operator(model, params, X, y)
    return op.matmat(np.eye(op.shape[0]))


class TopEigen(NamedTuple):
    """Result of :func:`top_eigenvalues`.

    Attributes
    ----------
    values : ndarray, shape (k,) — largest eigenvalues, descending
    vectors : ndarray, shape (d, k) — their unit eigenvectors (of P^{-1/2}HP^{-1/2} when
        preconditioned)
    n_products : int — Hessian-vector products used
    hvp : str — how the products were computed ("exact (…)" or the central-difference
        step and its error order)
    hvp_error : float or None — for central differences, the estimated error bound on
        ‖Hv − computed Hv‖ at the top eigenvector (Richardson + rounding), which bounds the
        error of ``values[0]``; None for exact products
    """

    values: np.ndarray
    vectors: np.ndarray
    n_products: int
    hvp: str = "exact"
    hvp_error: Optional[float] = None


def top_eigenvalues(model, params=None, X=None, y=None, k: int = 1, v0=None, tol: float = 1e-6,
                    rng=None, preconditioner=None) -> TopEigen:
    """The ``k`` largest (algebraic) eigenvalues of the full-batch loss Hessian by Lanczos.

    ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``, ``which="LA"``)
    on Hessian-vector products; the largest eigenvalue is the *sharpness*.  Products are
    exact for the dynopt networks and for models with an ``hvp``; otherwise they are
    central differences of the gradient and ``hvp``/``hvp_error`` of the result say so.

    Parameters
    ----------
    model, params, X, y : see :func:`hessian_operator`
    k : int, 1 ≤ k < d
    v0 : ndarray, optional
        Starting vector; pass the previous top eigenvector when tracking along training
        (a warm start cuts the products several-fold).
    tol : float
        Relative accuracy of the eigenvalues (ARPACK's stopping tolerance).
    rng : seed for the random starting vector when ``v0`` is None.
    preconditioner : ndarray, shape (d,), optional
        Eigenvalues of P⁻¹H instead (see :func:`hessian_operator`).

    Raises
    ------
    FloatingPointError
        If a Hessian-vector product overflows (parameters of a diverging run).
    """
    bound = _bind(model, params, X, y)
    op = hessian_operator(bound, preconditioner=preconditioner)
    d = op.shape[0]
    check_int(k, "k", high=d - 1)
    tol = check_finite_param(tol, "tol", low=0.0, low_inclusive=False)
    if v0 is None:
        v0 = as_generator(rng).standard_normal(d)
    count = [0]

    def matvec(v):
        count[0] += 1
        hv = op.matvec(v)
        if not np.all(np.isfinite(hv)):
            # overflow (a diverging run): ARPACK would fail with an unrelated message
            raise FloatingPointError("Hessian-vector product is not finite")
        return hv

    counted = LinearOperator((d, d), matvec=matvec, dtype=float)
    vals, vecs = eigsh(counted, k=k, which="LA", v0=np.asarray(v0, dtype=float), tol=tol,
                       ncv=min(d, max(2 * k + 1, 12)))
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    err = None
    if not bound.exact:
        # |λ̂ − λ| ≤ ‖E‖ for the perturbation E of a symmetric operator; estimated along the
        # top eigenvector (in the preconditioned metric when P is given)
        r = 1.0 if preconditioner is None else 1.0 / np.sqrt(np.asarray(preconditioner, float).ravel())
        grad = lambda t: bound.loss_and_grad(t)[1]  # noqa: E731
        _, e = central_hvp(grad, bound.theta0, r * vecs[:, 0], error=True)
        err = float(np.max(r) * e)
    return TopEigen(vals, vecs, count[0], bound.note_at(bound.theta0), err)


def sharpness(model, params=None, X=None, y=None, v0=None, tol: float = 1e-6, rng=None) -> float:
    """Largest eigenvalue of the full-batch loss Hessian (see :func:`top_eigenvalues`).

    ``model`` is a dynopt network with ``params`` and its data ``X, y``, or any flat model
    (``sharpness(model, theta)``; central differences when it has no ``hvp``)."""
    return float(top_eigenvalues(model, params, X, y, 1, v0, tol, rng).values[0])
