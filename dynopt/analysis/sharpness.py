"""Sharpness along full-batch training and the edge of stability, for any model and any
optimizer.

Gradient descent with step η is Euler's method for the gradient flow θ' = −∇L; on the
quadratic model of the loss at a minimum it is stable iff η·S < 2, S the largest Hessian
eigenvalue (the *sharpness*).  Every optimizer has its own limit, read from its own update
by :func:`dynopt.symbolic.thresholds.optimizer_threshold` (heavy ball 2(1+β)/η, Nesterov
2(1+β)/((1+2β)η), a user's rule whatever its step gives); an adaptive method's limit is on
the *preconditioned* sharpness λ_max(P⁻¹H) with its preconditioner P frozen (Adam:
(2+2β₁)/((1−β₁)η), Cohen et al. 2022).  Cohen, Kaur, Li, Kolter & Talwalkar (ICLR 2021)
observed that full-batch training drives S up (*progressive sharpening*) until it reaches
that limit and then keeps it there (*edge of stability*) while the loss still falls,
non-monotonically.

This module runs full-batch training of a model — a dynopt network with its data, or any
flat model (:mod:`dynopt.learning.models`: a loss and gradient over a flat vector, exact
Hessian-vector products optional, JAX through ``JaxModel``) — with a :mod:`dynopt.optim`
optimizer, tracks S (and λ_max(P⁻¹H) for a preconditioned method) by Lanczos every few
steps, and summarizes where the tracked quantity sits relative to the threshold
(:func:`edge_statistics`).
"""
from __future__ import annotations

import functools
import time
from typing import NamedTuple, Optional

import numpy as np
from tqdm.auto import tqdm

from dynopt import optim
from dynopt.checks import as_generator, check_finite_param, check_int
from dynopt.engine import blown_up
from dynopt.engine.validate import scale_limit
from dynopt.learning.data import load_digits, standardize
from dynopt.learning.hessian import top_eigenvalues
from dynopt.learning.models import as_model
from dynopt.learning.networks import blas_limit
from dynopt.symbolic.recurrences import GD_NAME, registered_schemes
from dynopt.symbolic.thresholds import optimizer_threshold

__all__ = ["TRAINING_METHODS", "SHARPNESS_METHODS", "sharpness_threshold", "stability_bound", "make_optimizer",
           "optimizer_threshold_of", "SharpnessRun", "train_tracking_sharpness", "EdgeStats",
           "edge_statistics", "digits_regression"]

#: training method -> its :mod:`dynopt.optim` optimizer from (lr, momentum, b2, eps); the
#: momentum methods in Sutskever's convention, Adam's ``momentum`` is β₁
_OPTIMIZERS = {
    "gd": lambda lr, momentum, b2, eps: optim.sgd(lr, convention="sutskever"),
    "heavy-ball": lambda lr, momentum, b2, eps: optim.sgd(lr, momentum=momentum, convention="sutskever"),
    "nesterov": lambda lr, momentum, b2, eps: optim.sgd(lr, momentum=momentum, nesterov=True,
                                                        convention="sutskever"),
    "adam": lambda lr, momentum, b2, eps: optim.adam(lr, momentum, b2, eps),
}
#: the named training methods (:func:`make_optimizer`)
TRAINING_METHODS = tuple(_OPTIMIZERS)
#: the training methods that are also rows of the stability table (:mod:`dynopt.symbolic.stability`:
#: GD and the registered momentum schemes), so their threshold has a recurrence analysis to be
#: checked against
SHARPNESS_METHODS = tuple(m for m in TRAINING_METHODS if m in (GD_NAME, *registered_schemes(("momentum",))))


def _check_method(method):
    if method not in _OPTIMIZERS:
        raise ValueError(f"`method` must be one of {sorted(_OPTIMIZERS)} or a "
                         f"dynopt.optim.GradientTransformation; got {method!r}")
    return method


@functools.lru_cache(maxsize=None)
def stability_bound(method: str):
    """The largest stable αh of ``method`` as a function of β (numpy-callable), and the
    sympy expression it was lambdified from (:func:`dynopt.symbolic.stability.stability_bounds`,
    the recurrence analysis; "gd", "heavy-ball" and "nesterov" only)."""
    import sympy as sp

    from dynopt.symbolic.core import beta
    from dynopt.symbolic.stability import stability_bounds

    if method not in SHARPNESS_METHODS:
        raise ValueError(f"`method` must be one of {sorted(SHARPNESS_METHODS)}; got {method!r}")
    expr = stability_bounds(method)[0]
    return sp.lambdify(beta, expr, "numpy"), expr


def _check_hyper(method, lr, momentum):
    lr = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
    momentum = check_finite_param(momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
    if method == "gd" and momentum != 0 or method in ("heavy-ball", "nesterov") and momentum == 0:
        raise ValueError(f"`momentum` must be 0 for 'gd' and in (0, 1) for {method!r}; got {momentum!r}")
    return lr, momentum


def make_optimizer(method: str, lr: float, momentum: float = 0.0, b2: float = 0.999,
                   eps: float = 1e-8) -> optim.GradientTransformation:
    """The :mod:`dynopt.optim` optimizer of a training method.

    "gd", "heavy-ball", "nesterov": Sutskever's convention, v ← βv − η∇L(point), θ ← θ + v,
    with the gradient point θ (heavy ball) or θ + βv (Nesterov), (α, β) = (lr, momentum).
    "adam": :func:`dynopt.optim.adam` (PyTorch's convention) with β₁ = ``momentum``, β₂ =
    ``b2`` and ``eps``.
    """
    _check_method(method)
    lr, momentum = _check_hyper(method, lr, momentum)
    return _OPTIMIZERS[method](lr, momentum, b2, eps)


@functools.lru_cache(maxsize=None)
def _threshold(method, lr, momentum, b2, eps):
    return optimizer_threshold(make_optimizer(method, lr, momentum, b2, eps))


def optimizer_threshold_of(method, lr: float = None, momentum: float = 0.0, b2: float = 0.999,
                           eps: float = 1e-8):
    """:func:`~dynopt.symbolic.thresholds.optimizer_threshold` of a named method (cached) or
    of a GradientTransformation (a user's rule)."""
    if isinstance(method, optim.GradientTransformation):
        return optimizer_threshold(method)
    _check_method(method)
    lr, momentum = _check_hyper(method, lr, momentum)
    return _threshold(method, lr, momentum, float(b2), float(eps))


def sharpness_threshold(method: str, lr: float, momentum: float = 0.0) -> float:
    """The sharpness above which ``method`` with step ``lr`` (and momentum β) is unstable
    on the quadratic model of the loss, read from the optimizer's own update
    (:func:`dynopt.symbolic.thresholds.optimizer_threshold`): GD 2/η, heavy ball 2(1+β)/η,
    Nesterov 2(1+β)/((1+2β)η), Adam (on λ_max(P⁻¹H)) (2+2β₁)/((1−β₁)η).

    Parameters
    ----------
    method : {"gd", "heavy-ball", "nesterov", "adam"}
    lr : float > 0
    momentum : float in [0, 1); must be 0 for "gd" and > 0 for heavy ball and Nesterov;
        β₁ for Adam
    """
    return optimizer_threshold_of(method, lr, momentum).value


class SharpnessRun(NamedTuple):
    """Result of :func:`train_tracking_sharpness`.

    Attributes
    ----------
    method : str — the method's name (a user's rule: its label)
    lr, momentum : the run's hyper-parameters (labels for a user's rule)
    threshold : float — the optimizer's derived threshold on the tracked quantity (nan if
        a user's update could not be read on symbols; ``threshold_derivation`` says why)
    losses : ndarray, shape (k + 1,) — full-batch loss at θ_0 … θ_k
    steps : ndarray of int, shape (m,) — steps at which the sharpness was measured
    sharpness : ndarray, shape (m, n_eigs) — top Hessian eigenvalues there (descending)
    params : the last finite parameters (a network's dict, or a flat array)
    diverged_step : int or None — first step whose loss or parameters blew up
        (:func:`dynopt.engine.blown_up`: non-finite, or above 10^12 × the initial loss,
        respectively the initial parameters' scale, each at least 1)
    n_products : int — Hessian-vector products spent on the sharpness
    seconds : float
    preconditioned : ndarray, shape (m,), or None — λ_max(P⁻¹H) with P the optimizer's
        preconditioner of the step taken from that point (preconditioned methods only)
    hvp : str — how the Hessian-vector products were computed (exact, or central
        differences with their step and error order)
    threshold_derivation : str — how the threshold was derived
    """

    method: str
    lr: float
    momentum: float
    threshold: float
    losses: np.ndarray
    steps: np.ndarray
    sharpness: np.ndarray
    params: object
    diverged_step: Optional[int]
    n_products: int
    seconds: float
    preconditioned: Optional[np.ndarray] = None
    hvp: str = "exact"
    threshold_derivation: str = ""

    @property
    def tracked(self) -> np.ndarray:
        """The quantity the threshold applies to: λ_max(P⁻¹H) for a preconditioned
        method, else the top Hessian eigenvalue."""
        return self.sharpness[:, 0] if self.preconditioned is None else self.preconditioned

    @property
    def ratio(self) -> np.ndarray:
        """Tracked quantity over the threshold at each measured step."""
        return self.tracked / self.threshold


def train_tracking_sharpness(model, params=None, X=None, y=None, method="gd", lr: float = None,
                             momentum: float = 0.0, *, n_steps: int, every: int = 10, n_eigs: int = 1,
                             tol: float = 1e-4, rng=None, blas_threads: Optional[int] = 1,
                             b2: float = 0.999, eps: float = 1e-8, label: Optional[str] = None,
                             progress: bool = False) -> SharpnessRun:
    """Full-batch training of ``model``, measuring the sharpness every ``every`` steps.

    Parameters
    ----------
    model : a dynopt network (with ``params`` as its dict and data ``X, y``) or any flat
        model (:mod:`dynopt.learning.models`; ``params`` a flat array or None for the
        model's ``theta0``/``init``; ``X = y = None``).  Without an exact ``hvp`` the
        Hessian-vector products are central differences and ``hvp`` of the result says so.
    params : initial parameters (not modified)
    method : {"gd", "heavy-ball", "nesterov", "adam"} or a GradientTransformation
        A user's optimizer is run as given; ``lr``/``momentum`` are then only labels.
    lr, momentum : see :func:`make_optimizer` (``momentum`` is β₁ for Adam)
    n_steps : int ≥ 1
    every : int ≥ 1 — the sharpness is measured at steps 0, every, 2·every, … and at the end
    n_eigs : int ≥ 1 — how many top eigenvalues of H to track
    tol : float — Lanczos relative tolerance (warm-started from the previous eigenvector)
    rng : seed of the first Lanczos starting vector (and of ``model.init``)
    blas_threads : BLAS threads during the run (see :func:`dynopt.learning.networks.blas_limit`)
    b2, eps : Adam's β₂ and ε
    label : name of a user's rule in the result
    progress : bool — show a progress bar (tqdm; it appears only for runs longer than 2 s)

    Returns
    -------
    SharpnessRun
        For an optimizer with a preconditioner, ``preconditioned`` holds λ_max(P⁻¹H) and
        the threshold applies to it.
    """
    for name, v in (("n_steps", n_steps), ("every", every), ("n_eigs", n_eigs)):
        check_int(v, name)
    if isinstance(method, optim.GradientTransformation):
        opt, name = method, label or "user rule"
        lr = float("nan") if lr is None else float(lr)
    else:
        if lr is None:
            raise ValueError("`lr` must be given (a positive float) for a named method")
        opt, name = make_optimizer(method, lr, momentum, b2, eps), method
    thr_value, thr_text = _run_threshold(method, lr, momentum, b2, eps)
    bound = as_model(model, params, X, y, rng=rng)
    if bound.theta0 is None:
        raise ValueError("`params` must be given (the model has no theta0 or init)")
    theta = bound.theta0.copy()
    v0 = as_generator(rng).standard_normal(theta.size)
    tic = time.perf_counter()
    with blas_limit(blas_threads), np.errstate(over="ignore", invalid="ignore"), \
            tqdm(total=n_steps, disable=not progress, delay=2.0, leave=False, desc=f"{name} η={lr:g}") as bar:
        out = _loop(bound, theta, opt, n_steps, every, n_eigs, tol, v0, bar)
    losses, steps, sharp, pre, theta, diverged, products, note = out
    return SharpnessRun(name, float(lr), float(momentum), thr_value, np.array(losses),
                        np.array(steps, dtype=int), np.array(sharp).reshape(len(steps), n_eigs),
                        bound.unravel(theta), diverged, products, time.perf_counter() - tic,
                        None if opt.preconditioner is None else np.array(pre, dtype=float), note,
                        thr_text)


def _run_threshold(method, lr, momentum, b2, eps):
    """(threshold, how it was derived).  A user's rule whose update cannot be read on
    symbols still trains: its threshold is then undefined (nan) and the text says why."""
    if not isinstance(method, optim.GradientTransformation):
        t = optimizer_threshold_of(method, lr, momentum, b2, eps)
        return t.value, t.derivation
    try:
        t = optimizer_threshold(method)
    except Exception as exc:  # noqa: BLE001 - any failure of a user's update on symbols is reported
        return float("nan"), f"undefined: the update could not be read on symbols ({type(exc).__name__}: {exc})"
    return t.value, t.derivation


def _flat_preconditioner(opt, state):
    leaves = [np.ravel(x) for _, x in optim.tree_leaves(opt.preconditioner(state))]
    return np.concatenate(leaves)


def _loop(bound, theta, opt, n_steps, every, n_eigs, tol, v0, bar):
    state = opt.init(theta)
    losses, steps, sharp, pre = [], [], [], []
    products, diverged, note = 0, None, bound.note_at(theta)
    v0p = v0
    # runaway rule on the run's own scale: its initial loss and parameters
    p_lim = scale_limit(np.abs(theta).max() if theta.size else 0.0)
    l_lim = None
    has_pre = opt.preconditioner is not None
    for k in range(n_steps + 1):
        point = theta if opt.lookahead is None else opt.lookahead(theta, state)
        loss, g = bound.loss_and_grad(point)
        if opt.lookahead is not None:
            loss = bound.loss(theta)     # the loss of the iterate, not of the look-ahead
        if l_lim is None:
            l_lim = scale_limit(loss)
        if blown_up(loss, l_lim) or blown_up(theta, p_lim):
            diverged = k
            break
        losses.append(float(loss))
        # the step from θ_k (a preconditioned method's P is the one this step divides by)
        step = opt.update(g, state, theta) if (k < n_steps or has_pre) else None
        if k % every == 0 or k == n_steps:
            try:
                top = top_eigenvalues(bound, theta, k=n_eigs, v0=v0, tol=tol)
                if has_pre:
                    topp = top_eigenvalues(bound, theta, k=1, v0=v0p, tol=tol,
                                           preconditioner=_flat_preconditioner(opt, step[1]))
            except FloatingPointError:      # curvature overflows: the run has blown up
                diverged = k
                break
            v0 = top.vectors[:, 0]
            products += top.n_products
            note = top.hvp
            if has_pre:
                v0p = topp.vectors[:, 0]
                products += topp.n_products
                pre.append(topp.values[0])
            steps.append(k)
            sharp.append(top.values)
        if k == n_steps:
            break
        updates, state = step
        theta = optim.apply_updates(theta, updates)
        bar.update(1)
    return losses, steps, sharp, pre, theta, diverged, products, note


class EdgeStats(NamedTuple):
    """Where the sharpness of a run sits relative to its threshold (:func:`edge_statistics`).

    Attributes
    ----------
    band : (lo, hi) — the band, as multiples of the threshold
    initial_ratio : float — S/threshold at the first measurement at or after ``from_step``
    reach_step : int or None — first measured step with S ≥ lo·threshold
    fraction_in_band : float — share of the measurements from ``reach_step`` on with S in
        the band (nan if never reached)
    median_ratio : float — median of S/threshold from ``reach_step`` on
    ratio_quantiles : (q05, q95) of S/threshold from ``reach_step`` on
    loss_at_reach, final_loss : float
    loss_increase_fraction : float — share of steps after ``reach_step`` at which the loss rose
    loss_window_means : tuple — mean loss over ``n_windows`` equal windows from ``reach_step``
        to the end (the long-horizon trend)
    """

    band: tuple
    initial_ratio: float
    reach_step: Optional[int]
    fraction_in_band: float
    median_ratio: float
    ratio_quantiles: tuple
    loss_at_reach: float
    final_loss: float
    loss_increase_fraction: float
    loss_window_means: tuple


def edge_statistics(run: SharpnessRun, band=(0.9, 1.1), n_windows: int = 4,
                    from_step: int = 0) -> EdgeStats:
    """Summarize a run at the edge of stability: when the tracked sharpness (S, or
    λ_max(P⁻¹H) for a preconditioned method) first reached ``band[0]``×threshold and how it
    behaved afterwards (share of measurements within the band, quantiles of
    S/threshold, the loss trend over ``n_windows`` windows and the share of steps at
    which the loss went up).  A diverged run is summarized up to its last finite step.

    ``from_step`` ignores earlier measurements when looking for the first arrival (an
    adaptive method's first steps, whose bias-corrected P is far from its frozen value)."""
    lo, hi = (float(b) for b in band)
    if not 0 < lo < hi:
        raise ValueError(f"`band` must be (lo, hi) with 0 < lo < hi; got {band!r}")
    check_int(n_windows, "n_windows")
    check_int(from_step, "from_step", low=0)
    r = run.ratio
    hit = np.flatnonzero((r >= lo) & (run.steps >= from_step))
    nan = float("nan")
    first = float(r[np.flatnonzero(run.steps >= from_step)[0]]) if np.any(run.steps >= from_step) else nan
    if hit.size == 0:
        return EdgeStats((lo, hi), first, None, nan, nan, (nan, nan), nan,
                         float(run.losses[-1]), nan, ())
    i = int(hit[0])
    after = r[i:]
    k = int(run.steps[i])
    tail = run.losses[k:]
    dl = np.diff(tail)
    windows = tuple(float(np.mean(w)) for w in np.array_split(tail, min(n_windows, tail.size)))
    return EdgeStats((lo, hi), first, k, float(np.mean((after >= lo) & (after <= hi))),
                     float(np.median(after)), tuple(float(q) for q in np.quantile(after, [0.05, 0.95])),
                     float(run.losses[k]), float(run.losses[-1]),
                     float(np.mean(dl > 0)) if dl.size else nan, windows)


def digits_regression(n: int, seed=None):
    """A regression task in Cohen et al.'s style: ``n`` of scikit-learn's bundled 8×8
    digits (drawn without replacement), pixels standardized, one-hot targets for the
    squared loss.

    Returns
    -------
    X : ndarray, shape (n, 64)
    Y : ndarray, shape (n, 10)
    """
    ds = load_digits("unit")
    check_int(n, "n", high=len(ds.y))
    idx = as_generator(seed, "seed").choice(len(ds.y), size=int(n), replace=False)
    return standardize(ds.X[idx]), np.eye(10)[ds.y[idx]]
