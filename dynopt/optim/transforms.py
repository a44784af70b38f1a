"""First-order optimizers as (init, update) pairs of pure functions, in every convention.

An optimizer is a :class:`GradientTransformation` (as in optax): ``init(params) -> state``
and ``update(grads, state, params) -> (updates, state)``; the new parameters are
``apply_updates(params, updates)``.  States are NamedTuples, so every buffer (velocity,
squared-gradient average, step count) can be read and, for experiments, replaced.
Transformations compose with :func:`chain`; the aliases (:func:`sgd`, :func:`adagrad`,
:func:`rmsprop`, :func:`adam`, :func:`adamw`) are chains of the small pieces below.

Parameters are a numpy array, or a list/tuple/dict of them (nested is fine, e.g.
npnet-001's list of dicts).  Every update costs one gradient evaluation.
"""
from __future__ import annotations


from typing import Callable, NamedTuple, Optional
import numpy as np
from dynopt.checks import check_finite_param

__all__ = ["tree_map", "tree_leaves", "apply_updates", "GradientTransformation", "EmptyState", "CountState", "TraceState", "ScaleByRmsState", "ScaleByAdagradState", "ScaleByAdamState", "NonFiniteGradientError", "chain", "guard", "scale", "scale_by_learning_rate", "trace", "scale_by_rms", "scale_by_adagrad", "scale_by_adam", "add_decayed_weights", "add_l1", "add_decoupled_weight_decay"]


# ---------------------------------------------------------------------------------
# Trees of parameters
# ---------------------------------------------------------------------------------
def tree_map(fn, tree, *rest):
    """Apply ``fn`` leaf-wise to a numpy array or a (nested) list/tuple/dict of arrays."""
    if isinstance(tree, dict):
        return {k: tree_map(fn, tree[k], *(r[k] for r in rest)) for k in tree}
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(fn, *xs) for xs in zip(tree, *rest))
    return fn(tree, *rest)


def tree_leaves(tree, prefix: str = "params"):
    """List of ``(name, array)`` pairs; names such as ``params['W1']`` or ``params[0]``."""
    if isinstance(tree, dict):
        out = []
        for k in tree:
            out += tree_leaves(tree[k], f"{prefix}[{k!r}]")
        return out
    if isinstance(tree, (list, tuple)):
        out = []
        for i, x in enumerate(tree):
            out += tree_leaves(x, f"{prefix}[{i}]")
        return out
    return [(prefix, tree)]


def _is_symbolic(x) -> bool:
    """An object array (of sympy expressions): read symbolically, never cast to float."""
    return isinstance(x, np.ndarray) and x.dtype == object


def _float_leaf(x):
    """``x`` as a float array, except an object array of symbols, which stays as it is."""
    return x if _is_symbolic(x) else np.asarray(x, dtype=float)


def _as_float_tree(tree):
    return tree_map(lambda x: np.asarray(x, dtype=float), tree)


def apply_updates(params, updates):
    """New parameters ``params + updates`` (fresh arrays; the inputs are not modified)."""
    return tree_map(lambda p, u: _float_leaf(p) + u, params, updates)


# ---------------------------------------------------------------------------------
# The protocol
# ---------------------------------------------------------------------------------
class GradientTransformation(NamedTuple):
    """An optimizer or a piece of one.

    Attributes
    ----------
    init : callable
        ``init(params) -> state`` (a NamedTuple, or a tuple of them for a chain).
    update : callable
        ``update(updates, state, params) -> (updates, state)``; the first call receives
        the gradients.  Pure: inputs are not modified.
    lookahead : callable or None
        ``lookahead(params, state) -> params``: where the next gradient must be taken
        (Sutskever's Nesterov).  ``None``: at ``params``.
    preconditioner : callable or None
        ``preconditioner(state) -> tree of arrays`` shaped like the parameters: the diagonal
        P that the last update divided its (momentum-averaged) gradient by, u = −η·m/P, so
        P⁻¹∇²L is the curvature the method sees (Adam: P = (1 − β₁ᵗ)(√v̂ + ε)).  ``None``:
        no preconditioner (P = I).
    """

    init: Callable
    update: Callable
    lookahead: Optional[Callable] = None
    preconditioner: Optional[Callable] = None


class EmptyState(NamedTuple):
    """State of stateless transformations."""


class CountState(NamedTuple):
    """Number of updates done so far (the argument of learning-rate schedules)."""

    count: int


class TraceState(NamedTuple):
    """Momentum buffer.  ``velocity`` has the sign and units of what the trace receives:
    the gradient for ``pytorch`` (torch's ``momentum_buffer``), the lr-scaled update
    −ηg for the lr-inside conventions (= sutskever/npnet's v, = −v of d2l)."""

    count: int
    velocity: object


class ScaleByRmsState(NamedTuple):
    """Exponential moving average of squared gradients (RMSProp's s)."""

    nu: object


class ScaleByAdagradState(NamedTuple):
    """Running sum of squared gradients (Adagrad's s)."""

    sum_of_squares: object


class ScaleByAdamState(NamedTuple):
    """Adam's step count and first/second moment averages."""

    count: int
    mu: object
    nu: object


class NonFiniteGradientError(ValueError):
    """A gradient contains NaN or inf; the message names the parameter."""


def chain(*transforms):
    """Apply ``transforms`` one after another; the state is the tuple of their states.

    Returns
    -------
    GradientTransformation
    """
    for i, t in enumerate(transforms):
        if not isinstance(t, GradientTransformation):
            raise TypeError(f"`transforms[{i}]` must be a GradientTransformation; got {type(t).__name__}")
    looks = [i for i, t in enumerate(transforms) if t.lookahead is not None]
    if len(looks) > 1:
        raise ValueError("at most one of `transforms` may define a lookahead point")
    precs = [i for i, t in enumerate(transforms) if t.preconditioner is not None]
    if len(precs) > 1:
        raise ValueError("at most one of `transforms` may define a preconditioner")

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        new = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params)
            new.append(s)
        return updates, tuple(new)

    lookahead = None
    if looks:
        i = looks[0]

        def lookahead(params, state):
            return transforms[i].lookahead(params, state[i])

    preconditioner = None
    if precs:
        j = precs[0]

        def preconditioner(state):
            return transforms[j].preconditioner(state[j])

    return GradientTransformation(init, update, lookahead, preconditioner)


def guard(inner: GradientTransformation, on_nonfinite: str = "raise"):
    """Check every gradient for NaN/inf before ``inner`` sees it.

    Parameters
    ----------
    inner : GradientTransformation
    on_nonfinite : {"raise", "skip"}
        ``"raise"``: :class:`NonFiniteGradientError` (a ValueError) naming the parameter.
        ``"skip"``: the step is skipped — zero updates, state unchanged (schedules do not
        advance).

    Returns
    -------
    GradientTransformation
        Same state as ``inner``.
    """
    if on_nonfinite not in ("raise", "skip"):
        raise ValueError(f"`on_nonfinite` must be one of ['raise', 'skip']; got {on_nonfinite!r}")

    def update(grads, state, params=None):
        for name, g in tree_leaves(grads):
            # arrays of sympy expressions (the symbolic reading of an optimizer) have no
            # finiteness to check
            if _is_symbolic(g):
                continue
            if not np.all(np.isfinite(g)):
                if on_nonfinite == "skip":
                    return tree_map(lambda x: np.zeros_like(np.asarray(x, dtype=float)), grads), state
                kind = "NaN" if np.any(np.isnan(g)) else "inf"
                raise NonFiniteGradientError(
                    f"gradient of {name} contains {kind}; pass on_nonfinite='skip' to skip such steps")
        return inner.update(grads, state, params)

    return GradientTransformation(inner.init, update, inner.lookahead, inner.preconditioner)


# ---------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------
def _check_lr(lr):
    """A positive float or a schedule ``count -> lr`` (checked when called)."""
    if callable(lr):
        def sched(count):
            return check_finite_param(lr(count), "lr", low=0.0, low_inclusive=False)
        return sched
    value = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
    return lambda count: value


def _check_beta(x, name):
    return check_finite_param(x, name, low=0.0, high=1.0, high_inclusive=False)


def _check_eps(x, name="eps"):
    return check_finite_param(x, name, low=0.0, low_inclusive=False)


def _check_decay(x, name="weight_decay"):
    return check_finite_param(x, name, low=0.0)


# ---------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------
def scale(factor: float):
    """updates ← factor · updates (stateless)."""
    f = check_finite_param(factor, "factor")
    return GradientTransformation(lambda p: EmptyState(),
                                  lambda u, s, p=None: (tree_map(lambda x: f * x, u), s))


def scale_by_learning_rate(lr):
    """updates ← −lr(count) · updates, the descent step.

    Parameters
    ----------
    lr : float or callable
        A positive constant, or a schedule ``lr(count)`` of the number of previous updates.
    """
    sched = _check_lr(lr)

    def init(params):
        return CountState(0)

    def update(updates, state, params=None):
        eta = sched(state.count)
        return tree_map(lambda x: -eta * x, updates), CountState(state.count + 1)

    return GradientTransformation(init, update)


def trace(decay: float, dampening: float = 0.0, nesterov: Optional[str] = None):
    """Momentum buffer v ← decay·v + (1 − dampening)·u; outputs v (or a Nesterov form).

    As in torch.optim.SGD the first step stores v = u without dampening.

    Parameters
    ----------
    decay : float
        μ ∈ [0, 1).
    dampening : float
        d ∈ [0, 1] (PyTorch's ``dampening``).
    nesterov : {None, "torch", "reparametrized", "lookahead"}
        ``"torch"``: output u + μ v_new.  ``"reparametrized"`` (npnet-001):
        output (1+μ) v_new − μ v_old.  ``"lookahead"`` (Sutskever 2013): output v_new and
        declare the gradient point p + μ v (use after the lr scaling only); ``update`` then
        raises unless ``lookahead(params, state)`` was called for that state first, so a loop
        that takes the gradient at ``params`` cannot run it as plain heavy ball by mistake.
    """
    mu = _check_beta(decay, "momentum")
    damp = check_finite_param(dampening, "dampening", low=0.0, high=1.0)
    if nesterov not in (None, "torch", "reparametrized", "lookahead"):
        raise ValueError("`nesterov` must be one of [None, 'torch', 'reparametrized', 'lookahead'];"
                         f" got {nesterov!r}")

    def init(params):
        return TraceState(0, tree_map(lambda p: np.zeros_like(np.asarray(p, dtype=float)), params))

    # the look-ahead form needs the gradient at p + μv: an optax-style loop that evaluates it at
    # p would silently give heavy-ball iterates, so update refuses a state whose look-ahead
    # point was not asked for (step() and the documented loop ask for it first)
    asked = set()

    def update(updates, state, params=None):
        if nesterov == "lookahead":
            if id(state.velocity) not in asked:
                raise ValueError(
                    "Nesterov with convention='sutskever' takes the gradient at the look-ahead point "
                    "w + μv: use optim.step(opt, grad_fn, params, state), or in an optax-style loop "
                    "g = grad_fn(opt.lookahead(params, state)) before opt.update(g, state, params); "
                    "convention='pytorch' is optax's own Nesterov (gradient at the parameters)")
            asked.discard(id(state.velocity))
        if state.count == 0:
            v_new = tree_map(lambda u: np.array(u, dtype=float), updates)
        else:
            v_new = tree_map(lambda v, u: mu * v + (1.0 - damp) * u, state.velocity, updates)
        if nesterov == "torch":
            out = tree_map(lambda u, v: u + mu * v, updates, v_new)
        elif nesterov == "reparametrized":
            out = tree_map(lambda v, v0: (1.0 + mu) * v - mu * v0, v_new, state.velocity)
        else:
            out = v_new
        return out, TraceState(state.count + 1, v_new)

    lookahead = None
    if nesterov == "lookahead":
        def lookahead(params, state):
            asked.add(id(state.velocity))
            return tree_map(lambda p, v: _float_leaf(p) + mu * v, params, state.velocity)

    return GradientTransformation(init, update, lookahead)


def _denominator(s, eps, eps_inside):
    return np.sqrt(s + eps) if eps_inside else np.sqrt(s) + eps


def scale_by_rms(decay: float, eps: float, eps_inside: bool):
    """RMSProp scaling: s ← decay·s + (1 − decay)·g²; updates ← g / √(s + eps) (eps inside)
    or g / (√s + eps) (outside, PyTorch)."""
    rho = _check_beta(decay, "decay")
    eps = _check_eps(eps)

    def init(params):
        return ScaleByRmsState(tree_map(lambda p: np.zeros_like(np.asarray(p, dtype=float)), params))

    def update(g, state, params=None):
        nu = tree_map(lambda s, x: rho * s + (1.0 - rho) * x * x, state.nu, g)
        out = tree_map(lambda x, s: x / _denominator(s, eps, eps_inside), g, nu)
        return out, ScaleByRmsState(nu)

    def preconditioner(state):
        return tree_map(lambda s: _denominator(s, eps, eps_inside), state.nu)

    return GradientTransformation(init, update, preconditioner=preconditioner)


def scale_by_adagrad(eps: float, eps_inside: bool, initial_accumulator_value: float = 0.0):
    """Adagrad scaling: s ← s + g²; updates ← g / √(s + eps) or g / (√s + eps)."""
    eps = _check_eps(eps)
    s0 = check_finite_param(initial_accumulator_value, "initial_accumulator_value", low=0.0)

    def init(params):
        return ScaleByAdagradState(tree_map(lambda p: np.full_like(np.asarray(p, dtype=float), s0), params))

    def update(g, state, params=None):
        ss = tree_map(lambda s, x: s + x * x, state.sum_of_squares, g)
        out = tree_map(lambda x, s: x / _denominator(s, eps, eps_inside), g, ss)
        return out, ScaleByAdagradState(ss)

    def preconditioner(state):
        return tree_map(lambda s: _denominator(s, eps, eps_inside), state.sum_of_squares)

    return GradientTransformation(init, update, preconditioner=preconditioner)


def scale_by_adam(b1: float, b2: float, eps: float, eps_inside: bool, bias_correction: bool):
    """Adam scaling (Kingma & Ba 2015, Alg. 1): m ← b1·m + (1−b1)g, v ← b2·v + (1−b2)g²;
    updates ← m̂ / (√v̂ + eps) with m̂ = m/(1−b1ᵗ), v̂ = v/(1−b2ᵗ) when ``bias_correction``
    (else m̂ = m, v̂ = v: npnet-001's simplified Adam); eps inside the root if ``eps_inside``."""
    b1 = _check_beta(b1, "b1")
    b2 = _check_beta(b2, "b2")
    eps = _check_eps(eps)

    def init(params):
        z = lambda p: np.zeros_like(np.asarray(p, dtype=float))  # noqa: E731
        return ScaleByAdamState(0, tree_map(z, params), tree_map(z, params))

    def corrections(t):
        return (1.0 - b1 ** t, 1.0 - b2 ** t) if bias_correction else (1.0, 1.0)

    def update(g, state, params=None):
        t = state.count + 1
        mu = tree_map(lambda m, x: b1 * m + (1.0 - b1) * x, state.mu, g)
        nu = tree_map(lambda v, x: b2 * v + (1.0 - b2) * x * x, state.nu, g)
        c1, c2 = corrections(t)
        out = tree_map(lambda m, v: (m / c1) / _denominator(v / c2, eps, eps_inside), mu, nu)
        return out, ScaleByAdamState(t, mu, nu)

    def preconditioner(state):
        # the update is m/P with the raw first moment m (Cohen et al. 2022's P)
        c1, c2 = corrections(max(state.count, 1))
        return tree_map(lambda v: c1 * _denominator(v / c2, eps, eps_inside), state.nu)

    return GradientTransformation(init, update, preconditioner=preconditioner)


def add_decayed_weights(weight_decay: float):
    """L2 regularization in the gradient: g ← g + wd·p, the gradient of (wd/2)‖p‖₂²
    (npnet-001's ``Optimizer.regularize``; torch's ``weight_decay``)."""
    wd = _check_decay(weight_decay)

    def update(g, state, params=None):
        if params is None:
            raise ValueError("`params` must be passed to update() when weight decay is used")
        return tree_map(lambda x, p: x + wd * np.asarray(p, dtype=float), g, params), state

    return GradientTransformation(lambda p: EmptyState(), update)


def add_l1(weight_decay: float):
    """L1 regularization in the gradient: g ← g + wd·sign(p), a subgradient of wd‖p‖₁
    (npnet-001's ``L1Optimizer``)."""
    wd = _check_decay(weight_decay, "l1")

    def update(g, state, params=None):
        if params is None:
            raise ValueError("`params` must be passed to update() when L1 regularization is used")
        return tree_map(lambda x, p: x + wd * np.sign(p), g, params), state

    return GradientTransformation(lambda p: EmptyState(), update)


def add_decoupled_weight_decay(weight_decay: float, lr):
    """Decoupled weight decay (Loshchilov & Hutter 2019): updates ← updates − lr(t)·wd·p,
    i.e. p ← (1 − lr·wd)p + step, as torch.optim.AdamW.  Place after the lr scaling."""
    wd = _check_decay(weight_decay, "decoupled_weight_decay")
    sched = _check_lr(lr)

    def update(u, state, params=None):
        if params is None:
            raise ValueError("`params` must be passed to update() when weight decay is used")
        eta = sched(state.count)
        return (tree_map(lambda x, p: x - eta * wd * np.asarray(p, dtype=float), u, params),
                CountState(state.count + 1))

    return GradientTransformation(lambda p: CountState(0), update)
