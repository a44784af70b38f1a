"""First-order optimizers as (init, update) pairs of pure functions, in every convention.

An optimizer is a :class:`GradientTransformation` (as in optax): ``init(params) -> state``
and ``update(grads, state, params) -> (updates, state)``; the new parameters are
``apply_updates(params, updates)``.  States are NamedTuples, so every buffer (velocity,
squared-gradient average, step count) can be read and, for experiments, replaced.
Transformations compose with :func:`chain`; the aliases (:func:`sgd`, :func:`adagrad`,
:func:`rmsprop`, :func:`adam`, :func:`adamw`) are chains of the small pieces below.

Parameters are a numpy array, or a list/tuple/dict of them (nested is fine, e.g.
npnet-001's list of dicts).  Every update costs one gradient evaluation.

Conventions
-----------
The textbooks and frameworks write the same methods differently.  ``convention=`` picks:

=============  ==========================================  ==============================
convention     heavy-ball momentum                         eps in adaptive methods
=============  ==========================================  ==============================
``pytorch``    b = μb + (1−d)g;  p −= lr·b                 g/(√s + eps)
``d2l``        v = γv + ηg;  p −= v     (lr inside v)      g/√(s + eps)  (Adam: outside)
``sutskever``  v = μv − lr·g;  p += v   (lr inside v)      g/(√s + eps)
``npnet``      v = μv − lr·g;  p += v   (npnet-001)        g/√(s + eps), Adam w/o bias corr.
=============  ==========================================  ==============================

At a constant learning rate the momentum conventions give the same iterates (v = −lr·b);
when the learning rate changes mid-run they part: PyTorch rescales the whole velocity at
once, the lr-inside-velocity forms only the new gradient contributions.

Nesterov: ``pytorch`` uses p −= lr(g + μb); ``npnet`` (and ``d2l``) the reparametrized
update θ += (1+μ)v_t − μv_{t−1} of npnet-001, which takes the gradient at the stored
θ = w + μv; ``sutskever`` evaluates the gradient at the look-ahead point w + μv
(Sutskever, Martens, Dahl & Hinton 2013): :func:`step` does that through the
transformation's ``lookahead``.  The three give the same w-iterates up to θ = w + μv.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import numpy as np

from .dynamics import check_finite_param

__all__ = [
    "GradientTransformation", "NonFiniteGradientError", "CONVENTIONS", "Convention",
    "tree_map", "tree_leaves", "apply_updates", "chain", "guard",
    "scale", "scale_by_learning_rate", "trace", "scale_by_rms", "scale_by_adagrad",
    "scale_by_adam", "add_decayed_weights", "add_l1", "add_decoupled_weight_decay",
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "get_optimizer",
    "OPTIMIZERS", "step", "run", "RunResult",
    "EmptyState", "CountState", "TraceState", "ScaleByRmsState", "ScaleByAdagradState",
    "ScaleByAdamState",
]


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


def _as_float_tree(tree):
    return tree_map(lambda x: np.asarray(x, dtype=float), tree)


def apply_updates(params, updates):
    """New parameters ``params + updates`` (fresh arrays; the inputs are not modified)."""
    return tree_map(lambda p, u: np.asarray(p, dtype=float) + u, params, updates)


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
    """

    init: Callable
    update: Callable
    lookahead: Optional[Callable] = None


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

    return GradientTransformation(init, update, lookahead)


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
            if not np.all(np.isfinite(g)):
                if on_nonfinite == "skip":
                    return tree_map(lambda x: np.zeros_like(np.asarray(x, dtype=float)), grads), state
                kind = "NaN" if np.any(np.isnan(g)) else "inf"
                raise NonFiniteGradientError(
                    f"gradient of {name} contains {kind}; pass on_nonfinite='skip' to skip such steps")
        return inner.update(grads, state, params)

    return GradientTransformation(inner.init, update, inner.lookahead)


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
        declare the gradient point p + μ v (use after the lr scaling only).
    """
    mu = _check_beta(decay, "momentum")
    damp = check_finite_param(dampening, "dampening", low=0.0, high=1.0)
    if nesterov not in (None, "torch", "reparametrized", "lookahead"):
        raise ValueError("`nesterov` must be one of [None, 'torch', 'reparametrized', 'lookahead'];"
                         f" got {nesterov!r}")

    def init(params):
        return TraceState(0, tree_map(lambda p: np.zeros_like(np.asarray(p, dtype=float)), params))

    def update(updates, state, params=None):
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
            return tree_map(lambda p, v: np.asarray(p, dtype=float) + mu * v, params, state.velocity)

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

    return GradientTransformation(init, update)


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

    return GradientTransformation(init, update)


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

    def update(g, state, params=None):
        t = state.count + 1
        mu = tree_map(lambda m, x: b1 * m + (1.0 - b1) * x, state.mu, g)
        nu = tree_map(lambda v, x: b2 * v + (1.0 - b2) * x * x, state.nu, g)
        c1, c2 = (1.0 - b1 ** t, 1.0 - b2 ** t) if bias_correction else (1.0, 1.0)
        out = tree_map(lambda m, v: (m / c1) / _denominator(v / c2, eps, eps_inside), mu, nu)
        return out, ScaleByAdamState(t, mu, nu)

    return GradientTransformation(init, update)


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


# ---------------------------------------------------------------------------------
# Conventions and aliases
# ---------------------------------------------------------------------------------
class Convention(NamedTuple):
    """Where the learning rate and eps sit in one textbook's or framework's formulas."""

    lr_in_velocity: bool
    eps_inside: bool          # Adagrad / RMSProp
    adam_eps_inside: bool
    adam_bias_correction: bool
    nesterov: str
    eps: Optional[float]      # None: PyTorch's per-optimizer defaults
    reference: str


CONVENTIONS = {
    "pytorch": Convention(False, False, False, True, "torch", None,
                          "torch.optim documentation (SGD, Adagrad, RMSprop, Adam, AdamW)"),
    "d2l": Convention(True, True, False, True, "reparametrized", 1e-6,
                      "Dive into Deep Learning ch. 7 (d2l-002, d2l-004)"),
    "sutskever": Convention(True, False, False, True, "lookahead", 1e-8,
                            "Sutskever, Martens, Dahl & Hinton, ICML 2013, eqs 1-4"),
    "npnet": Convention(True, True, True, False, "reparametrized", 1e-8,
                        "npnet-001 (numpy optimizers after cs231n)"),
}

_TORCH_EPS = {"adagrad": 1e-10, "rmsprop": 1e-8, "adam": 1e-8}


def _convention(name):
    try:
        return CONVENTIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"`convention` must be one of {sorted(CONVENTIONS)}; got {name!r}") from None


def _eps(eps, conv, kind):
    if eps is None:
        eps = _TORCH_EPS[kind] if conv.eps is None else conv.eps
    return _check_eps(eps)


def _regularizers(weight_decay, l1):
    out = []
    if _check_decay(weight_decay) > 0:
        out.append(add_decayed_weights(weight_decay))
    if _check_decay(l1, "l1") > 0:
        out.append(add_l1(l1))
    return out


def _finish(pieces, lr, decoupled_weight_decay, on_nonfinite):
    if _check_decay(decoupled_weight_decay, "decoupled_weight_decay") > 0:
        pieces.append(add_decoupled_weight_decay(decoupled_weight_decay, lr))
    return guard(chain(*pieces), on_nonfinite)


def sgd(lr, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False, *,
        weight_decay: float = 0.0, l1: float = 0.0, decoupled_weight_decay: float = 0.0,
        convention: str = "pytorch", on_nonfinite: str = "raise"):
    """SGD with optional heavy-ball or Nesterov momentum; 1 gradient per step.

    Heavy ball at constant lr is the leapfrog of θ'' + λθ' = −∇L with (α, β) = (lr, μ)
    (kexue-5655 eq 15, :mod:`dynopt.optim_dynamics`).

    Parameters
    ----------
    lr : float or callable
        Learning rate > 0 or a schedule ``lr(count)``.
    momentum : float
        μ ∈ [0, 1); 0 is plain SGD.
    dampening : float
        PyTorch's dampening d ∈ [0, 1] (not with Nesterov in the pytorch convention).
    nesterov : bool
        Nesterov momentum in the convention's form (see the module docstring).
    weight_decay, l1 : float
        Coupled L2 (g += wd·p) and L1 (g += l1·sign p) regularization, ≥ 0.
    decoupled_weight_decay : float
        p ← (1 − lr·wd)p, ≥ 0.
    convention : {"pytorch", "d2l", "sutskever", "npnet"}
    on_nonfinite : {"raise", "skip"}

    Returns
    -------
    GradientTransformation
    """
    conv = _convention(convention)
    mu = _check_beta(momentum, "momentum")
    check_finite_param(dampening, "dampening", low=0.0, high=1.0)
    if nesterov and mu == 0:
        raise ValueError("`momentum` must be > 0 when `nesterov` is True")
    if nesterov and dampening != 0 and convention == "pytorch":
        raise ValueError("`dampening` must be 0 with Nesterov momentum (as in torch.optim.SGD)")
    pieces = _regularizers(weight_decay, l1)
    form = conv.nesterov if nesterov else None
    if mu == 0:
        pieces.append(scale_by_learning_rate(lr))
    elif conv.lr_in_velocity:
        pieces += [scale_by_learning_rate(lr), trace(mu, dampening, form)]
    else:
        pieces += [trace(mu, dampening, form), scale_by_learning_rate(lr)]
    return _finish(pieces, lr, decoupled_weight_decay, on_nonfinite)


def momentum(lr, momentum: float = 0.9, **kwargs):
    """Heavy-ball momentum: :func:`sgd` with ``momentum`` (default 0.9)."""
    return sgd(lr, momentum=momentum, **kwargs)


def nesterov(lr, momentum: float = 0.9, **kwargs):
    """Nesterov momentum: :func:`sgd` with ``nesterov=True`` (default μ = 0.9)."""
    return sgd(lr, momentum=momentum, nesterov=True, **kwargs)


def adagrad(lr, eps: Optional[float] = None, initial_accumulator_value: float = 0.0, *,
            weight_decay: float = 0.0, l1: float = 0.0, decoupled_weight_decay: float = 0.0,
            convention: str = "pytorch", on_nonfinite: str = "raise"):
    """Adagrad (Duchi, Hazan & Singer 2011): s += g², p −= lr·g/(√s + eps); 1 gradient/step.

    ``eps=None`` takes the convention's default (PyTorch 1e-10 outside the root; d2l 1e-6
    and npnet 1e-8 inside).  Other parameters as in :func:`sgd`.
    """
    conv = _convention(convention)
    pieces = _regularizers(weight_decay, l1)
    pieces += [scale_by_adagrad(_eps(eps, conv, "adagrad"), conv.eps_inside, initial_accumulator_value),
               scale_by_learning_rate(lr)]
    return _finish(pieces, lr, decoupled_weight_decay, on_nonfinite)


def rmsprop(lr, decay: float = 0.9, eps: Optional[float] = None, *, weight_decay: float = 0.0,
            l1: float = 0.0, decoupled_weight_decay: float = 0.0, convention: str = "pytorch",
            on_nonfinite: str = "raise"):
    """RMSProp (Tieleman & Hinton 2012): s = ρs + (1−ρ)g², p −= lr·g/(√s + eps); 1 gradient/step.

    ``decay`` is ρ (PyTorch's ``alpha``, default 0.99 there; d2l's γ, npnet's decay_rate).
    ``eps=None`` takes the convention's default: PyTorch 1e-8 outside the root, d2l 1e-6
    inside √(s + eps), npnet 1e-8 inside.  Other parameters as in :func:`sgd`.
    """
    conv = _convention(convention)
    pieces = _regularizers(weight_decay, l1)
    pieces += [scale_by_rms(decay, _eps(eps, conv, "rmsprop"), conv.eps_inside),
               scale_by_learning_rate(lr)]
    return _finish(pieces, lr, decoupled_weight_decay, on_nonfinite)


def adam(lr=1e-3, b1: float = 0.9, b2: float = 0.999, eps: Optional[float] = None,
         bias_correction: Optional[bool] = None, *, weight_decay: float = 0.0, l1: float = 0.0,
         decoupled_weight_decay: float = 0.0, convention: str = "pytorch",
         on_nonfinite: str = "raise"):
    """Adam (Kingma & Ba 2015): bias-corrected moments, p −= lr·m̂/(√v̂ + eps); 1 gradient/step.

    ``convention="npnet"`` is npnet-001's simplified Adam: no bias correction and eps
    inside √(v + eps) (pass ``b2=0.99`` for its default).  ``bias_correction=None`` takes
    the convention's choice.  ``weight_decay`` is the coupled L2 of torch.optim.Adam;
    ``decoupled_weight_decay`` gives AdamW.
    """
    conv = _convention(convention)
    bc = conv.adam_bias_correction if bias_correction is None else bool(bias_correction)
    pieces = _regularizers(weight_decay, l1)
    pieces += [scale_by_adam(b1, b2, _eps(eps, conv, "adam"), conv.adam_eps_inside, bc),
               scale_by_learning_rate(lr)]
    return _finish(pieces, lr, decoupled_weight_decay, on_nonfinite)


def adamw(lr=1e-3, b1: float = 0.9, b2: float = 0.999, eps: Optional[float] = None,
          weight_decay: float = 1e-2, **kwargs):
    """AdamW (Loshchilov & Hutter 2019): Adam plus decoupled weight decay p ← (1 − lr·wd)p,
    as torch.optim.AdamW (default wd = 1e-2)."""
    return adam(lr, b1, b2, eps, decoupled_weight_decay=weight_decay, **kwargs)


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
              "rmsprop": rmsprop, "adam": adam, "adamw": adamw}


def get_optimizer(name: str, **kwargs) -> GradientTransformation:
    """Build the optimizer registered as ``name`` (see ``OPTIMIZERS``) with ``kwargs``."""
    try:
        factory = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"`optimizer` must be one of {sorted(OPTIMIZERS)}; got {name!r}") from None
    return factory(**kwargs)


# ---------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------
def step(opt: GradientTransformation, grad_fn, params, state):
    """One optimizer step: gradient at ``params`` (or at the look-ahead point), update.

    Returns
    -------
    params, state
    """
    point = params if opt.lookahead is None else opt.lookahead(params, state)
    updates, state = opt.update(grad_fn(point), state, params)
    return apply_updates(params, updates), state


class RunResult(NamedTuple):
    """Result of :func:`run`.

    Attributes
    ----------
    params : the final parameters (the last finite ones if the run diverged)
    state : the final optimizer state
    path : ndarray, shape (k + 1, d) — iterates of an array-valued parameter, else None
    diverged_step : int or None — first step whose iterate was non-finite or > 1e100
    """

    params: object
    state: object
    path: Optional[np.ndarray]
    diverged_step: Optional[int]


def run(opt: GradientTransformation, grad_fn, params, n_steps: int, state=None) -> RunResult:
    """Run ``n_steps`` steps of ``opt`` on ``grad_fn`` from ``params``.

    Parameters
    ----------
    opt : GradientTransformation
    grad_fn : callable
        ``grad_fn(params) -> grads`` with the tree structure of ``params``.
    params : array or tree of arrays
    n_steps : int ≥ 0
    state : optional initial state (default ``opt.init(params)``)

    Returns
    -------
    RunResult
        ``path`` holds the iterates when ``params`` is a single 1-D array.
    """
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"`n_steps` must be a non-negative integer; got {n_steps!r}")
    params = _as_float_tree(params)
    state = opt.init(params) if state is None else state
    single = isinstance(params, np.ndarray) and params.ndim == 1
    path = [params.copy()] if single else None
    diverged = None
    for k in range(n_steps):
        new, new_state = step(opt, grad_fn, params, state)
        leaves = [x for _, x in tree_leaves(new)]
        if not all(np.all(np.isfinite(x)) and np.abs(x).max(initial=0) <= 1e100 for x in leaves):
            diverged = k + 1
            break
        params, state = new, new_state
        if single:
            path.append(params.copy())
    return RunResult(params, state, np.array(path) if single else None, diverged)
