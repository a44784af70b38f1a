"""Sharpness along full-batch training and the edge of stability.

Gradient descent with step η is Euler's method for the gradient flow θ' = −∇L; on the
quadratic model of the loss at a minimum it is stable iff η·S < 2, S the largest Hessian
eigenvalue (the *sharpness*).  Heavy ball and Nesterov have their own limits, derived in
:mod:`dynopt.symbolic.stability` (Schur–Cohn/Jury on each scheme's recurrence).  Cohen,
Kaur, Li, Kolter & Talwalkar (ICLR 2021) observed that full-batch training drives S up
(*progressive sharpening*) until it reaches that limit and then keeps it there (*edge of
stability*) while the loss still falls, non-monotonically.

This module runs full-batch GD / heavy ball / Nesterov through :mod:`dynopt.optim`,
tracks S by Lanczos (:mod:`dynopt.learning.hessian`) every few steps, reads each
method's threshold from the symbolic stability bounds (:func:`sharpness_threshold`, the
one place that does), and summarizes where S sits relative to it
(:func:`edge_statistics`).
"""
from __future__ import annotations

import functools
import time
from typing import NamedTuple, Optional

import numpy as np

from dynopt import optim
from dynopt.checks import as_generator, check_finite_param
from dynopt.engine import blown_up
from dynopt.engine.validate import scale_limit
from dynopt.learning.data import load_digits, standardize
from dynopt.learning.hessian import ravel_params, top_eigenvalues
from dynopt.learning.networks import blas_limit

__all__ = ["SHARPNESS_METHODS", "sharpness_threshold", "stability_bound", "make_optimizer",
           "SharpnessRun", "train_tracking_sharpness", "EdgeStats", "edge_statistics",
           "digits_regression"]

#: training methods and the scheme names of their stability bounds (dynopt.symbolic)
SHARPNESS_METHODS = {"gd": "gd", "heavy-ball": "heavy-ball", "nesterov": "nesterov"}


def _check_method(method):
    if method not in SHARPNESS_METHODS:
        raise ValueError(f"`method` must be one of {sorted(SHARPNESS_METHODS)}; got {method!r}")
    return SHARPNESS_METHODS[method]


@functools.lru_cache(maxsize=None)
def stability_bound(method: str):
    """The largest stable αh of ``method`` as a function of β (numpy-callable), and the
    sympy expression it was lambdified from (:func:`dynopt.symbolic.stability.stability_bounds`)."""
    import sympy as sp

    from dynopt.symbolic.core import beta
    from dynopt.symbolic.stability import stability_bounds

    expr = stability_bounds(_check_method(method))[0]
    return sp.lambdify(beta, expr, "numpy"), expr


def sharpness_threshold(method: str, lr: float, momentum: float = 0.0) -> float:
    """The sharpness above which ``method`` with step ``lr`` (and momentum β) is unstable
    on the quadratic model of the loss: (max stable αh)(β)/lr, read from the symbolic
    stability bound (GD 2/η, heavy ball 2(1+β)/η, Nesterov 2(1+β)/((1+2β)η)).

    Parameters
    ----------
    method : {"gd", "heavy-ball", "nesterov"}
    lr : float > 0
    momentum : float in [0, 1); must be 0 for "gd" and > 0 otherwise
    """
    _check_method(method)
    lr = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
    momentum = check_finite_param(momentum, "momentum", low=0.0, high=1.0, high_inclusive=False)
    if (method == "gd") != (momentum == 0):
        raise ValueError(f"`momentum` must be 0 for 'gd' and in (0, 1) for {method!r}; got {momentum!r}")
    f, _ = stability_bound(method)
    return float(f(momentum)) / lr


def make_optimizer(method: str, lr: float, momentum: float = 0.0) -> optim.GradientTransformation:
    """The :mod:`dynopt.optim` optimizer whose iterates are the scheme of the stability
    analysis: Sutskever's convention, v ← βv − η∇L(point), θ ← θ + v, with the gradient
    point θ (heavy ball) or θ + βv (Nesterov); plain GD for "gd".  (α, β) = (lr, momentum)."""
    sharpness_threshold(method, lr, momentum)      # validates the combination
    if method == "gd":
        return optim.sgd(lr, convention="sutskever")
    return optim.sgd(lr, momentum=momentum, nesterov=method == "nesterov", convention="sutskever")


class SharpnessRun(NamedTuple):
    """Result of :func:`train_tracking_sharpness`.

    Attributes
    ----------
    method, lr, momentum : the run's optimizer
    threshold : float — :func:`sharpness_threshold` of the optimizer
    losses : ndarray, shape (k + 1,) — full-batch loss at θ_0 … θ_k
    steps : ndarray of int, shape (m,) — steps at which the sharpness was measured
    sharpness : ndarray, shape (m, n_eigs) — top Hessian eigenvalues there (descending)
    params : dict — the last finite parameters
    diverged_step : int or None — first step whose loss or parameters blew up
        (:func:`dynopt.engine.blown_up`: non-finite, or above 10^12 × the initial loss,
        respectively the initial parameters' scale, each at least 1)
    n_products : int — Hessian-vector products spent on the sharpness
    seconds : float
    """

    method: str
    lr: float
    momentum: float
    threshold: float
    losses: np.ndarray
    steps: np.ndarray
    sharpness: np.ndarray
    params: dict
    diverged_step: Optional[int]
    n_products: int
    seconds: float

    @property
    def ratio(self) -> np.ndarray:
        """Top eigenvalue over the threshold at each measured step."""
        return self.sharpness[:, 0] / self.threshold


def train_tracking_sharpness(model, params, X, y, method: str, lr: float, momentum: float = 0.0, *,
                             n_steps: int, every: int = 10, n_eigs: int = 1, tol: float = 1e-4,
                             rng=None, blas_threads: Optional[int] = 1) -> SharpnessRun:
    """Full-batch training of ``model`` on (X, y), measuring the sharpness every ``every`` steps.

    Parameters
    ----------
    model : a model of :mod:`dynopt.learning` with an exact Hessian-vector product
    params : dict — initial parameters (not modified)
    method, lr, momentum : see :func:`make_optimizer`
    n_steps : int ≥ 1
    every : int ≥ 1 — the sharpness is measured at steps 0, every, 2·every, … and at the end
    n_eigs : int ≥ 1 — how many top eigenvalues to track
    tol : float — Lanczos relative tolerance (warm-started from the previous eigenvector)
    rng : seed of the first Lanczos starting vector
    blas_threads : BLAS threads during the run (see :func:`dynopt.learning.networks.blas_limit`)

    Returns
    -------
    SharpnessRun
    """
    for name, v in (("n_steps", n_steps), ("every", every), ("n_eigs", n_eigs)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer; got {v!r}")
    opt = make_optimizer(method, lr, momentum)
    threshold = sharpness_threshold(method, lr, momentum)
    v0 = as_generator(rng).standard_normal(ravel_params(params)[0].size)
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    tic = time.perf_counter()
    with blas_limit(blas_threads), np.errstate(over="ignore", invalid="ignore"):
        out = _loop(model, params, X, y, opt, n_steps, every, n_eigs, tol, v0)
    losses, steps, sharp, params, diverged, products = out
    return SharpnessRun(method, float(lr), float(momentum), threshold, np.array(losses),
                        np.array(steps, dtype=int), np.array(sharp).reshape(len(steps), n_eigs),
                        params, diverged, products, time.perf_counter() - tic)


def _loop(model, params, X, y, opt, n_steps, every, n_eigs, tol, v0):
    state = opt.init(params)
    losses, steps, sharp = [], [], []
    products, diverged = 0, None
    # runaway rule on the run's own scale: its initial loss and parameters
    p_lim = scale_limit(*(np.abs(p).max() for p in params.values() if p.size))
    l_lim = None
    for k in range(n_steps + 1):
        point = params if opt.lookahead is None else opt.lookahead(params, state)
        loss, g = model.loss_and_grad(point, X, y)
        if opt.lookahead is not None:
            loss = model.loss(params, X, y)     # the loss of the iterate, not of the look-ahead
        if l_lim is None:
            l_lim = scale_limit(loss)
        if blown_up(loss, l_lim) or any(blown_up(p, p_lim) for p in params.values()):
            diverged = k
            break
        losses.append(float(loss))
        if k % every == 0 or k == n_steps:
            try:
                top = top_eigenvalues(model, params, X, y, n_eigs, v0=v0, tol=tol)
            except FloatingPointError:      # curvature overflows: the run has blown up
                diverged = k
                break
            v0 = top.vectors[:, 0]
            products += top.n_products
            steps.append(k)
            sharp.append(top.values)
        if k == n_steps:
            break
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
    return losses, steps, sharp, params, diverged, products


class EdgeStats(NamedTuple):
    """Where the sharpness of a run sits relative to its threshold (:func:`edge_statistics`).

    Attributes
    ----------
    band : (lo, hi) — the band, as multiples of the threshold
    initial_ratio : float — S/threshold at step 0
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


def edge_statistics(run: SharpnessRun, band=(0.9, 1.1), n_windows: int = 4) -> EdgeStats:
    """Summarize a run at the edge of stability: when S first reached ``band[0]``×threshold
    and how it behaved afterwards (share of measurements within the band, quantiles of
    S/threshold, the loss trend over ``n_windows`` windows and the share of steps at
    which the loss went up).  A diverged run is summarized up to its last finite step."""
    lo, hi = (float(b) for b in band)
    if not 0 < lo < hi:
        raise ValueError(f"`band` must be (lo, hi) with 0 < lo < hi; got {band!r}")
    if not isinstance(n_windows, (int, np.integer)) or n_windows < 1:
        raise ValueError(f"`n_windows` must be a positive integer; got {n_windows!r}")
    r = run.ratio
    hit = np.flatnonzero(r >= lo)
    nan = float("nan")
    if hit.size == 0:
        return EdgeStats((lo, hi), float(r[0]), None, nan, nan, (nan, nan), nan,
                         float(run.losses[-1]), nan, ())
    i = int(hit[0])
    after = r[i:]
    k = int(run.steps[i])
    tail = run.losses[k:]
    dl = np.diff(tail)
    windows = tuple(float(np.mean(w)) for w in np.array_split(tail, min(n_windows, tail.size)))
    return EdgeStats((lo, hi), float(r[0]), k, float(np.mean((after >= lo) & (after <= hi))),
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
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= len(ds.y):
        raise ValueError(f"`n` must be an integer in [1, {len(ds.y)}]; got {n!r}")
    idx = as_generator(seed, "seed").choice(len(ds.y), size=int(n), replace=False)
    return standardize(ds.X[idx]), np.eye(10)[ds.y[idx]]
