"""The optimizer aliases (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw) as chains of
the transformations in :mod:`dynopt.optim.transforms`, in every convention.

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
In an optax-style loop (``update`` then ``apply_updates``) the ``sutskever`` Nesterov needs its
gradient at ``opt.lookahead(params, state)``; ``update`` raises if that point was not asked for,
so the loop cannot silently run plain heavy ball.  Every other convention takes the gradient at
``params`` and gives the same iterates in such a loop as :func:`step`.

Where the defaults differ from optax's
--------------------------------------
- SGD/Nesterov: optax's ``trace(nesterov=True)`` is the ``pytorch`` form (g + μ·b); ``optax.sgd``
  puts lr outside the trace, as ``pytorch`` does.
- RMSProp: optax puts eps inside the root, √(s + eps) (``eps_in_sqrt=True``), eps = 1e-8, with
  ρ = 0.9: ``rmsprop(lr, 0.9, eps=1e-8, convention="d2l")``.  The ``pytorch`` default divides
  by √s + eps.
- Adagrad: optax starts the accumulator at 0.1 and uses √(s + eps), eps = 1e-7:
  ``adagrad(lr, eps=1e-7, initial_accumulator_value=0.1, convention="d2l")``.  The ``pytorch``
  default starts at 0 with √s + 1e-10.
- Adam: optax's defaults (eps = 1e-8 outside the root, bias correction) are the ``pytorch``
  convention's.

(optax defaults as of optax 0.2.)
"""
from __future__ import annotations
from dynopt.engine import blown_up
from dynopt.engine.validate import scale_limit
from dynopt.optim.transforms import GradientTransformation, _as_float_tree, _check_beta, _check_decay, _check_eps, add_decayed_weights, add_decoupled_weight_decay, add_l1, apply_updates, chain, guard, scale_by_adagrad, scale_by_adam, scale_by_learning_rate, scale_by_rms, trace, tree_leaves


from typing import NamedTuple, Optional
import numpy as np
from dynopt.checks import check_finite_param, check_int

__all__ = ["Convention", "CONVENTIONS", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "OPTIMIZERS", "get_optimizer", "step", "RunResult", "run"]


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
    (kexue-5655 eq 15, :mod:`dynopt.dynamics.adaptive`).

    Parameters
    ----------
    lr : float or callable
        Learning rate > 0 or a schedule ``lr(count)``.
    momentum : float
        μ ∈ [0, 1); 0 is plain SGD.
    dampening : float
        PyTorch's dampening d ∈ [0, 1] (not with Nesterov in the pytorch convention).
    nesterov : bool
        Nesterov momentum in the convention's form (see the module docstring).  With
        ``convention="sutskever"`` the gradient must be taken at ``opt.lookahead(params, state)``:
        :func:`step` does it; an optax-style loop must too (``update`` raises otherwise).
        ``convention="pytorch"`` is optax's Nesterov.
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
    and npnet 1e-8 inside).  Other parameters as in :func:`sgd`.  optax's adagrad differs
    from the default in both the start value (0.1) and eps (1e-7, inside the root): match it with
    ``adagrad(lr, eps=1e-7, initial_accumulator_value=0.1, convention="d2l")``.
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
    inside √(s + eps), npnet 1e-8 inside.  Other parameters as in :func:`sgd`.  optax's
    rmsprop puts eps inside the root (√(s + eps), eps = 1e-8, ρ = 0.9), unlike the PyTorch default:
    match it with ``rmsprop(lr, 0.9, eps=1e-8, convention="d2l")``.
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
    diverged_step : int or None — first step whose iterate blew up
        (:func:`dynopt.engine.blown_up`: non-finite or above 10^12 × the scale of the
        initial parameters, max(1, max |θ₀|), as ``integrate`` bounds its runs)
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
    check_int(n_steps, "n_steps", low=0)
    params = _as_float_tree(params)
    state = opt.init(params) if state is None else state
    single = isinstance(params, np.ndarray) and params.ndim == 1
    path = [params.copy()] if single else None
    diverged = None
    start = [np.abs(x).max() for _, x in tree_leaves(params) if np.size(x)]
    limit = scale_limit(*start)
    for k in range(n_steps):
        new, new_state = step(opt, grad_fn, params, state)
        leaves = [x for _, x in tree_leaves(new)]
        if any(blown_up(x, limit) for x in leaves):
            diverged = k + 1
            break
        params, state = new, new_state
        if single:
            path.append(params.copy())
    return RunResult(params, state, np.array(path) if single else None, diverged)
