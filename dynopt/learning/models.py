"""Any model as a loss over a flat parameter vector: the protocol the sharpness and
training tools accept, and the adapters that bring a model into it.

A *flat model* is any object with

- ``loss_and_grad(theta) -> (float, ndarray)``: the full-batch loss and its gradient at a
  flat parameter vector ``theta`` of shape (d,) (data closed over);
- optionally ``loss(theta) -> float`` (else taken from ``loss_and_grad``);
- optionally ``hvp(theta, v) -> ndarray``: the exact Hessian-vector product.  Without it
  the Hessian-vector product is the central difference of the gradient
  (:func:`central_hvp`), and results say so;
- optionally ``theta0`` (an array) or ``init(rng) -> array``: a starting point (the CLI
  needs one).

:func:`as_model` binds such an object, or one of the small numpy networks of
:mod:`dynopt.learning` with its data (exact Pearlmutter products), into a
:class:`BoundModel`.  :class:`JaxModel` (with the ``dynopt[jax]`` extra) turns a JAX loss
function into a flat model with exact forward-over-reverse products, jit-compiled;
:class:`TorchModel` does the same for a PyTorch loss with ``torch.func``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

from dynopt.learning.hessian import _EXACT_TYPES, _hvp_map, central_hvp, central_step, ravel_params

__all__ = ["BoundModel", "as_model", "CENTRAL_HVP_NOTE", "QuadraticModel", "JaxModel", "TorchModel"]

#: what results say when the Hessian-vector products are central differences
CENTRAL_HVP_NOTE = ("central differences of the gradient, (∇L(θ+εv) − ∇L(θ−εv))/(2ε), step "
                    "ε = {eps:.3g}: error O(ε²‖∇³L‖) (truncation) + O(u‖∇L‖/ε) (rounding, u = 2⁻⁵²)")



class BoundModel(NamedTuple):
    """A model bound to its data, over flat parameters.

    Attributes
    ----------
    theta0 : ndarray, shape (d,) or None — starting point
    loss_and_grad : callable — ``theta -> (float, ndarray (d,))``
    loss : callable — ``theta -> float``
    hvp : callable or None — exact ``(theta, v) -> H v``; None: central differences
    hvp_note : str — how the Hessian-vector products are computed (for results)
    unravel : callable — flat vector → the model's own parameter form
    operator : callable or None — ``theta -> (v -> H v)`` with per-point work done once
    """

    theta0: Optional[np.ndarray]
    loss_and_grad: Callable
    loss: Callable
    hvp: Optional[Callable]
    hvp_note: str
    unravel: Callable
    operator: Optional[Callable] = None

    @property
    def exact(self) -> bool:
        return self.hvp is not None

    def hvp_at(self, theta) -> Callable:
        """``v -> H(theta) v`` (exact, or central differences of the gradient)."""
        theta = np.asarray(theta, dtype=float)
        if self.operator is not None:
            return self.operator(theta)
        if self.hvp is not None:
            return lambda v: np.asarray(self.hvp(theta, v), dtype=float).ravel()
        grad = lambda t: self.loss_and_grad(t)[1]  # noqa: E731
        return lambda v: central_hvp(grad, theta, v)[0]

    def note_at(self, theta) -> str:
        """:attr:`hvp_note` with the central-difference step at ``theta`` filled in."""
        return self.hvp_note.format(eps=central_step(theta)) if not self.exact else self.hvp_note


def _flat_protocol(model):
    if not callable(getattr(model, "loss_and_grad", None)):
        raise TypeError("`model` must have loss_and_grad(theta) -> (loss, grad) over a flat parameter "
                        f"vector (or be a dynopt network with its data X, y); got {type(model).__name__}")


def _start(model, params, rng):
    if params is not None:
        return np.array(params, dtype=float).ravel()
    if getattr(model, "theta0", None) is not None:
        return np.array(model.theta0, dtype=float).ravel()
    if callable(getattr(model, "init", None)):
        return np.array(model.init(rng), dtype=float).ravel()
    return None


def as_model(model, params=None, X=None, y=None, rng=None) -> BoundModel:
    """Bind ``model`` into the flat protocol.

    Parameters
    ----------
    model : a flat model (see the module docstring), a :class:`BoundModel`, or a dynopt
        network (:class:`~dynopt.learning.hessian.TanhMLP`, ``MLP``, ``SoftmaxRegression``,
        ``LinearRegression``, or any object with ``loss_and_grad(params, X, y)``) with ``X, y``
    params : starting parameters — a flat array for a flat model; the network's dict
        otherwise (required for a network)
    X, y : the data of a network (the whole batch); None for a flat model
    rng : seed for ``model.init(rng)`` when no ``params``/``theta0`` is given

    Returns
    -------
    BoundModel
    """
    if isinstance(model, BoundModel):
        return model if params is None else model._replace(theta0=np.array(params, dtype=float).ravel())
    if X is None and y is None:
        _flat_protocol(model)
        theta0 = _start(model, params, rng)

        def loss_and_grad(theta):
            loss, g = model.loss_and_grad(theta)
            return float(loss), np.asarray(g, dtype=float).ravel()

        loss_fn = getattr(model, "loss", None)
        loss = (lambda t: float(loss_fn(t))) if callable(loss_fn) else (lambda t: loss_and_grad(t)[0])
        exact = callable(getattr(model, "hvp", None))
        note = getattr(model, "hvp_note", "exact (the model's hvp)") if exact else CENTRAL_HVP_NOTE
        return BoundModel(theta0, loss_and_grad, loss, model.hvp if exact else None, note,
                          lambda t: np.asarray(t, dtype=float))
    if params is None:
        raise ValueError("`params` must be given with a network and its data `X`, `y`")
    theta0, unravel = ravel_params(params)

    def loss_and_grad(theta):
        loss, g = model.loss_and_grad(unravel(theta), X, y)
        return float(loss), ravel_params(g)[0]

    def loss(theta):
        return float(model.loss(unravel(theta), X, y))

    if isinstance(model, _EXACT_TYPES):
        def operator(theta):
            apply = _hvp_map(model, unravel(theta), X, y)
            return lambda v: ravel_params(apply(unravel(np.ravel(v))))[0]

        return BoundModel(theta0, loss_and_grad, loss, lambda t, v: operator(t)(v),
                          "exact (Pearlmutter's R-operator through the network's backprop)", unravel, operator)
    return BoundModel(theta0, loss_and_grad, loss, None, CENTRAL_HVP_NOTE, unravel)


class QuadraticModel:
    """L(θ) = ½(θ − θ*)ᵀA(θ − θ*): a flat model with its exact Hessian A (tests, examples).

    Parameters
    ----------
    A : array_like, shape (d, d), symmetric
    center : array_like, shape (d,), optional — θ* (default 0)
    theta0 : array_like, shape (d,), optional — a starting point
    """

    def __init__(self, A, center=None, theta0=None):
        A = np.asarray(A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.allclose(A, A.T, rtol=0, atol=1e-12 * np.abs(A).max()):
            raise ValueError(f"`A` must be a symmetric square matrix; got shape {A.shape}")
        self.A = A
        self.center = np.zeros(len(A)) if center is None else np.asarray(center, dtype=float)
        self.theta0 = None if theta0 is None else np.asarray(theta0, dtype=float)

    def loss_and_grad(self, theta):
        r = np.asarray(theta, dtype=float) - self.center
        g = self.A @ r
        return 0.5 * float(r @ g), g

    def hvp(self, theta, v):
        return self.A @ np.asarray(v, dtype=float)


class JaxModel:
    """A JAX loss function as a flat model: exact Hessian-vector products by
    forward-over-reverse (``jax.jvp`` of ``jax.grad``), everything jit-compiled.

    Needs the optional extra ``dynopt[jax]``.  JAX computes in float32 unless 64-bit mode
    is on; this adapter turns it on (``jax_enable_x64``, a process-wide JAX setting) so that
    sharpness is exact to double precision.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> scalar`` written with ``jax.numpy``, data closed over.
        ``params`` is a flat array or any pytree (flattened with ``jax.flatten_util``).
    params : array or pytree
        The starting point (also fixes the pytree structure).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> m = JaxModel(lambda w: 0.5 * jnp.sum((X @ w - y) ** 2) / len(y), jnp.zeros(3))  # doctest: +SKIP
    >>> sharpness(m)                                                                   # doctest: +SKIP
    """

    hvp_note = "exact (JAX forward-over-reverse: jvp of grad, jit-compiled)"

    def __init__(self, loss_fn, params):
        try:
            import jax
            from jax.flatten_util import ravel_pytree
        except ImportError as e:        # pragma: no cover - depends on the environment
            raise ImportError("JaxModel needs JAX: pip install 'dynopt[jax]'") from e
        if not callable(loss_fn):
            raise TypeError(f"`loss_fn` must be callable; got {type(loss_fn).__name__}")
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        flat, unravel = ravel_pytree(jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=jnp.float64), params))
        self.theta0 = np.asarray(flat, dtype=float)
        self._unravel = unravel

        def f(theta):
            return loss_fn(unravel(theta))

        g = jax.grad(f)
        self._vg = jax.jit(jax.value_and_grad(f))
        self._loss = jax.jit(f)
        self._hvp = jax.jit(lambda t, v: jax.jvp(g, (t,), (v,))[1])
        self._jnp = jnp

    def unravel(self, theta):
        """The pytree of a flat vector."""
        return self._unravel(self._jnp.asarray(theta))

    def loss_and_grad(self, theta):
        v, g = self._vg(self._jnp.asarray(theta, dtype=self._jnp.float64))
        return float(v), np.asarray(g, dtype=float)

    def loss(self, theta):
        return float(self._loss(self._jnp.asarray(theta, dtype=self._jnp.float64)))

    def hvp(self, theta, v):
        jnp = self._jnp
        return np.asarray(self._hvp(jnp.asarray(theta, dtype=jnp.float64), jnp.asarray(v, dtype=jnp.float64)),
                          dtype=float)


class TorchModel:
    """A PyTorch loss function as a flat model: exact Hessian-vector products by
    forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``), in float64.

    Needs PyTorch (not a dependency of dynopt).

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> scalar tensor``, data closed over; ``params`` is a dict of
        tensors shaped like ``params`` below (e.g. ``torch.func.functional_call(module,
        params, (X,))`` inside).
    params : dict of tensors or arrays
        The starting point (also fixes names, shapes and order).
    """

    hvp_note = "exact (torch.func forward-over-reverse: jvp of grad, float64)"

    def __init__(self, loss_fn, params):
        try:
            import torch
            from torch.func import grad, jvp
        except ImportError as e:        # pragma: no cover - depends on the environment
            raise ImportError("TorchModel needs PyTorch: pip install torch") from e
        if not callable(loss_fn):
            raise TypeError(f"`loss_fn` must be callable; got {type(loss_fn).__name__}")
        if not isinstance(params, dict) or not params:
            raise TypeError(f"`params` must be a non-empty dict of tensors; got {type(params).__name__}")
        self._torch = torch
        self._names = list(params)
        self._shapes = [tuple(torch.as_tensor(params[k]).shape) for k in self._names]
        self._sizes = [int(np.prod(s)) for s in self._shapes]
        self.theta0 = np.concatenate([torch.as_tensor(params[k], dtype=torch.float64).detach().reshape(-1).numpy()
                                      for k in self._names])

        def flat_loss(t):
            return loss_fn(self._unflatten(t))

        self._f = flat_loss
        self._g = grad(flat_loss)
        self._hvp = lambda t, v: jvp(self._g, (t,), (v,))[1]

    def _unflatten(self, t):
        out, i = {}, 0
        for k, s, n in zip(self._names, self._shapes, self._sizes):
            out[k] = t[i:i + n].reshape(s)
            i += n
        return out

    def unravel(self, theta):
        """The dict of tensors of a flat vector."""
        return self._unflatten(self._tensor(theta))

    def _tensor(self, x):
        return self._torch.as_tensor(np.asarray(x, dtype=float), dtype=self._torch.float64)

    def loss_and_grad(self, theta):
        t = self._tensor(theta)
        return float(self._f(t)), self._g(t).detach().numpy().astype(float)

    def loss(self, theta):
        return float(self._f(self._tensor(theta)))

    def hvp(self, theta, v):
        return self._hvp(self._tensor(theta), self._tensor(v)).detach().numpy().astype(float)
