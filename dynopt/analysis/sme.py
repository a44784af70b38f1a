"""Exact weak errors of SGD's stochastic modified equations (Li, Tai & E 2017).

Constant-step SGD θ_{k+1} = θ_k − η ∇L_B(θ_k) is weakly approximated at times t = kη by

- the order-1 SME  dθ = −∇L dt + √(η Σ(θ)/B) dW,
- the order-2 SME  dθ = −∇(L + (η/4)|∇L|²) dt + √(η Σ(θ)/B) dW,

with Σ the per-example gradient covariance (:class:`dynopt.dynamics.SGDModifiedEquation`):
sup_{kη ≤ T} |E g(θ_k) − E g(θ(kη))| = O(η) resp. O(η²) for smooth g of polynomial growth.

Why a special module: a weak order of 2 is hard to see through Monte Carlo noise (the
error at η = 2⁻⁸ is ~10⁻⁵ against a spread of O(1)).  When every per-example gradient is
affine in θ (least squares), both sides have *closed* first- and second-moment equations:

- SGD: θ_{k+1} = (I − ηĀ)θ_k + η c̄ with a random minibatch mean (Ā, c̄) independent of
  θ_k, so z = E(1, θ, θθᵀ) obeys an exact linear recursion z_{k+1} = P z_k, P built from
  the finite sum (a minibatch mean of a quadratic expression in (A_i, c_i) has
  expectation (1 − w)·[value at the population mean] + w·[mean of the values], w = fpc/B);
- SME: the drift is affine and g gᵀ(θ) = (η/B)Σ(θ) is quadratic in θ, so Itô's formula
  closes: dz/dt = G z and z(T) = expm(G T) z(0).

So E g(θ) for g ∈ {θ, |θ − θ*|², L(θ)} is computed to rounding error on both sides and
the weak error vs η is deterministic: the fitted orders carry no sampling error.
:func:`moment_generator` reads G off the model's own ``drift``/``diffusion`` code (so the
library's SME is what is checked) and :func:`sgd_moment_map` reads P off the problem's
per-example gradients (the SGD oracle).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.linalg import expm

from dynopt.analysis.orders import fit_order
from dynopt.dynamics import SGDModifiedEquation
from dynopt.checks import check_finite_param, check_int

__all__ = ["ExactMoments", "affine_example_gradients", "sgd_moment_map", "moment_generator",
           "sgd_moments", "sme_moments", "sgd_moment_path", "sme_moment_path", "OBSERVABLES", "SMEWeakErrorResult", "sme_weak_errors"]


def _probe_points(d, scale=1.0):
    """Fixed, generic test points (no randomness: results must not depend on a seed)."""
    return scale * 1.7 * np.sin(1.0 + np.arange(3 * d, dtype=float) * 2.3).reshape(3, d)


class ExactMoments(NamedTuple):
    """First and second moments of θ at one time.

    Attributes
    ----------
    mean : ndarray (d,)
        E θ.
    second : ndarray (d, d)
        E θθᵀ (raw, not centred).
    """

    mean: np.ndarray
    second: np.ndarray

    @property
    def cov(self):
        """Cov θ = E θθᵀ − E θ E θᵀ."""
        return self.second - np.outer(self.mean, self.mean)

    @classmethod
    def from_z(cls, z, d):
        z = np.asarray(z, float) / z[0]
        return cls(z[1:1 + d].copy(), z[1 + d:].reshape(d, d).copy())


def _to_z(theta0):
    th = np.asarray(theta0, float).ravel()
    return np.concatenate([[1.0], th, np.outer(th, th).ravel()])


def _linear_map(fn, n):
    """Matrix of the linear map ``fn`` on R^n (columns = images of unit vectors)."""
    return np.column_stack([fn(np.eye(n)[k]) for k in range(n)])


def affine_example_gradients(problem, rtol=1e-9):
    """(A, c) with ∇ℓ_i(θ) = A_i θ − c_i for every example i (e.g. least squares).

    Parameters
    ----------
    problem : FiniteSum

    Returns
    -------
    A : ndarray (N, d, d)
    c : ndarray (N, d)

    Raises
    ------
    ValueError
        If the per-example gradients are not affine in θ (checked at fixed test points).
    """
    d = problem.dim
    G = problem.example_grads(np.vstack([np.zeros(d), np.eye(d)]))  # (d+1, N, d)
    c = -G[0]
    A = np.stack([G[1 + j] - G[0] for j in range(d)], axis=-1)  # A[i, :, j] = ∂_j ∇ℓ_i
    x = _probe_points(d, 1.0 + np.abs(c).max())
    pred = np.einsum("nij,pj->pni", A, x) - c
    got = problem.example_grads(x)
    if not np.allclose(got, pred, rtol=rtol, atol=rtol * np.abs(got).max()):
        raise ValueError("`problem` must have per-example gradients affine in θ (e.g. least_squares) "
                         "for exact moments; use Monte Carlo (dynopt.engine.simulate) otherwise")
    return A, c


def _check_model(model):
    if not isinstance(model, SGDModifiedEquation):
        raise TypeError(f"`model` must be an SGDModifiedEquation; got {type(model).__name__}")


def sgd_moment_map(model):
    """Exact one-step map P of constant-step SGD on z = E(1, θ, vec θθᵀ): z_{k+1} = P z_k.

    SGD step θ ← θ − η ∇L_B(θ) with the model's learning rate η, batch size B and
    sampling (with replacement: w = 1/B; without: w = (N − B)/((N − 1)B)).  Exact for
    per-example gradients affine in θ (no Gaussian or small-η approximation).

    Parameters
    ----------
    model : SGDModifiedEquation
        Supplies the problem, η, B and the sampling (its SDE coefficients are not used).

    Returns
    -------
    ndarray (1 + d + d², 1 + d + d²)
    """
    _check_model(model)
    prob = model.problem
    A, c = affine_example_gradients(prob)
    N, d = prob.n_examples, prob.dim
    H, c0 = A.mean(axis=0), c.mean(axis=0)
    B = model.batch_size
    w = (1.0 if model.replace or N == 1 else (N - B) / (N - 1)) / B
    lr = model.lr
    eye = np.eye(d)

    def second(Ai, ci, m, M, z0):
        # E over nothing: (I − ηA) M (I − ηA)ᵀ + η[(I − ηA) m cᵀ + c mᵀ (I − ηA)ᵀ] + η² c cᵀ
        R = eye - lr * Ai
        Rm = R @ m
        return R @ M @ R.T + lr * (np.outer(Rm, ci) + np.outer(ci, Rm)) + lr ** 2 * z0 * np.outer(ci, ci)

    def step(z):
        z0, m, M = z[0], z[1:1 + d], z[1 + d:].reshape(d, d)
        m1 = m - lr * (H @ m - c0 * z0)
        R = eye - lr * A  # (N, d, d)
        Rm = R @ m  # (N, d)
        per = (np.einsum("nij,jk,nlk->nil", R, M, R) + lr * (np.einsum("ni,nj->nij", Rm, c)
               + np.einsum("ni,nj->nij", c, Rm)) + lr ** 2 * z0 * np.einsum("ni,nj->nij", c, c))
        M1 = (1.0 - w) * second(H, c0, m, M, z0) + w * per.mean(axis=0)
        return np.concatenate([[z0], m1, M1.ravel()])

    return _linear_map(step, 1 + d + d * d)


def moment_generator(model, rtol=1e-8):
    """Generator G of the SME's moment equations dz/dt = G z, z = E(1, θ, vec θθᵀ).

    Read off the model's own ``drift`` (must be affine: f(θ) = Kθ + k) and ``diffusion``
    (g gᵀ must be quadratic in θ), both checked at fixed test points; then Itô's formula
    gives dEθ/dt = K Eθ + k and dEθθᵀ/dt = K Eθθᵀ + Eθθᵀ Kᵀ + k Eθᵀ + Eθ kᵀ + E[g gᵀ](θ),
    a closed linear system for least-squares problems (order 1 or 2 alike).

    Parameters
    ----------
    model : SGDModifiedEquation

    Returns
    -------
    ndarray (1 + d + d², 1 + d + d²)

    Raises
    ------
    ValueError
        Drift not affine or diffusion not quadratic (the moments do not close).
    """
    _check_model(model)
    d = model.state_dim
    E = np.eye(d)

    def Q(x):
        g = model.diffusion(0.0, np.atleast_2d(x))
        return np.einsum("nik,njk->nij", g, g)

    k0 = model.drift(0.0, np.zeros((1, d)))[0]
    K = (model.drift(0.0, E) - k0).T  # K[:, j] = f(e_j) − f(0)
    Q0 = Q(np.zeros(d))[0]
    Qp, Qm = Q(E), Q(-E)
    Q1 = (Qp - Qm) / 2  # Q1[j]: coefficient of θ_j
    S = np.zeros((d, d, d, d))  # S[j, k]: coefficient of θ_j θ_k (symmetric in j, k)
    for j in range(d):
        S[j, j] = (Qp[j] + Qm[j]) / 2 - Q0
    for j in range(d):
        for k in range(j + 1, d):
            S[j, k] = S[k, j] = (Q(E[j] + E[k])[0] - Q0 - Q1[j] - Q1[k] - S[j, j] - S[k, k]) / 2
    x = _probe_points(d, 1.0 + np.abs(k0).max())
    f_ok = np.allclose(model.drift(0.0, x), x @ K.T + k0, rtol=rtol, atol=rtol * (1 + np.abs(k0).max()))
    Qx = Q(x)
    Qpred = Q0 + np.einsum("pj,jab->pab", x, Q1) + np.einsum("pj,pk,jkab->pab", x, x, S)
    q_ok = np.allclose(Qx, Qpred, rtol=rtol, atol=rtol * np.abs(Qx).max())
    if not (f_ok and q_ok):
        raise ValueError("`model` must have an affine drift and a diffusion with g gᵀ quadratic in θ "
                         "(least squares) for closed moment equations")

    def gen(z):
        z0, m, M = z[0], z[1:1 + d], z[1 + d:].reshape(d, d)
        dm = K @ m + k0 * z0
        dM = (K @ M + M @ K.T + np.outer(k0, m) + np.outer(m, k0) + Q0 * z0
              + np.einsum("j,jab->ab", m, Q1) + np.einsum("jk,jkab->ab", M, S))
        return np.concatenate([[0.0], dm, dM.ravel()])

    return _linear_map(gen, 1 + d + d * d)


def sgd_moments(model, theta0, n_steps):
    """Exact E θ_k and E θ_kθ_kᵀ of constant-step SGD after ``n_steps`` steps from θ_0.

    Parameters
    ----------
    model : SGDModifiedEquation
    theta0 : array_like (d,)
    n_steps : int ≥ 0

    Returns
    -------
    ExactMoments
    """
    check_int(n_steps, "n_steps", low=0)
    z = np.linalg.matrix_power(sgd_moment_map(model), int(n_steps)) @ _to_z(theta0)
    return ExactMoments.from_z(z, model.state_dim)


def sme_moments(model, theta0, T):
    """Exact E θ(T) and E θθᵀ(T) of the SME ``model`` started at θ_0 (``scipy.linalg.expm``).

    Parameters
    ----------
    model : SGDModifiedEquation (order 1 or 2)
    theta0 : array_like (d,)
    T : float ≥ 0
        SME time (t = kη: T = η·steps).

    Returns
    -------
    ExactMoments
    """
    T = check_finite_param(T, "T", low=0.0)
    z = expm(moment_generator(model) * T) @ _to_z(theta0)
    return ExactMoments.from_z(z, model.state_dim)


def sgd_moment_path(model, theta0, n_steps):
    """Exact moments of SGD at every step k = 0, …, ``n_steps`` (one map, iterated).

    Returns
    -------
    list of ExactMoments, length n_steps + 1
    """
    check_int(n_steps, "n_steps", low=0)
    P = sgd_moment_map(model)
    z = _to_z(theta0)
    out = [ExactMoments.from_z(z, model.state_dim)]
    for _ in range(int(n_steps)):
        z = P @ z
        out.append(ExactMoments.from_z(z, model.state_dim))
    return out


def sme_moment_path(model, theta0, times):
    """Exact moments of the SME at each of ``times`` (≥ 0), one generator for all.

    Returns
    -------
    list of ExactMoments
    """
    G = moment_generator(model)
    z0 = _to_z(theta0)
    return [ExactMoments.from_z(expm(G * check_finite_param(t, "times", low=0.0)) @ z0, model.state_dim)
            for t in np.atleast_1d(times).tolist()]


def _mean(mom, H, center):
    return mom.mean


def _dist2(mom, H, center):
    return np.trace(mom.second) - 2 * center @ mom.mean + center @ center


def _excess_loss(mom, H, center):
    C = mom.second - np.outer(mom.mean, center) - np.outer(center, mom.mean) + np.outer(center, center)
    return 0.5 * np.sum(H * C)


def _trace_cov(mom, H, center):
    return np.trace(mom.cov)


#: test functions g: name -> (description, g(moments, H, θ*)); the weak error is the norm
#: of the difference of E g (a vector for "mean")
OBSERVABLES = {
    "mean": ("E θ (vector; error = Euclidean norm)", _mean),
    "dist2": ("E |θ − θ*|²", _dist2),
    "excess_loss": ("E L(θ) − L(θ*)", _excess_loss),
    # not one E g but E|θ|² − |Eθ|²: the part of E|θ − θ*|² made by the noise alone
    "trace_cov": ("tr Cov θ (the noise-made part of E|θ − θ*|²)", _trace_cov),
}


@dataclass
class SMEWeakErrorResult:
    """Exact weak errors |E g(θ_K) − E g(θ(T))| of SGD vs its order-1 and order-2 SMEs.

    Attributes
    ----------
    T : float
        Horizon (SME time; K = T/η SGD steps).
    lrs : list of float
        Learning rates η, decreasing.
    observables : list of str
        Keys of :data:`OBSERVABLES`.
    sgd, sme1, sme2 : dict
        name -> list of E g (per η; lists of lists for "mean").
    errors : dict
        order (1, 2, or "ode2" for the noise-free control) -> name -> list of
        |E g_SGD − E g_model| per η.
    fits : dict
        same keys -> name -> :class:`OrderFit` of errors vs η.
    ode2 : dict or None
        E g of the noise-free control.
    """

    T: float
    lrs: list
    observables: list
    theta0: list
    batch_size: int
    replace: bool
    sgd: dict
    sme1: dict
    sme2: dict
    errors: dict
    fits: dict = field(default_factory=dict)
    ode2: dict = None

    def as_dict(self):
        def fit(f):
            return {"order": round(f.order, 4), "ci": [round(f.ci[0], 4), round(f.ci[1], 4)]}
        return {"T": self.T, "lrs": self.lrs, "theta0": self.theta0, "batch_size": self.batch_size,
                "replace": self.replace,
                "errors": {(f"order{o}" if o in (1, 2) else o): {k: [float(f"{e:.6g}") for e in v] for k, v in d.items()}
                           for o, d in self.errors.items()},
                "fitted_orders": {(f"order{o}" if o in (1, 2) else o): {k: fit(f) for k, f in d.items()} for o, d in self.fits.items()}}


def sme_weak_errors(problem, lrs, T, theta0, batch_size=1, replace=True,
                    observables=("mean", "dist2", "excess_loss", "trace_cov"), control=True) -> SMEWeakErrorResult:
    """Weak error at time T of the order-1 and order-2 SMEs vs SGD over a ladder of η (exact).

    For each η, SGD takes K = T/η steps (K must be an integer) and its moments come from
    :func:`sgd_moments`; the SMEs' from :func:`sme_moments`.  Orders are fitted with
    :func:`dynopt.analysis.fit_order` (errors are deterministic: the confidence interval
    measures only the curvature of the log–log line, i.e. higher-order terms).

    Parameters
    ----------
    problem : FiniteSum with per-example gradients affine in θ (e.g. ``least_squares``)
    lrs : sequence of float > 0, at least 3
    T : float > 0
    theta0 : array_like (d,)
    batch_size : int
    replace : bool
    observables : sequence of keys of :data:`OBSERVABLES`
    control : bool
        Also compare SGD with the order-2 drift *without* noise (errors["ode2"]), to show
        which test functions see the noise at order η.

    Returns
    -------
    SMEWeakErrorResult
    """
    T = check_finite_param(T, "T", low=0.0, low_inclusive=False)
    lrs = sorted((check_finite_param(h, "lrs", low=0.0, low_inclusive=False) for h in lrs), reverse=True)
    if len(lrs) < 3:
        raise ValueError(f"`lrs` needs at least 3 learning rates to fit an order; got {len(lrs)}")
    for name in observables:
        if name not in OBSERVABLES:
            raise ValueError(f"`observables` entries must be in {list(OBSERVABLES)}; got {name!r}")
    th0 = np.asarray(theta0, float).ravel()
    if th0.shape != (problem.dim,):
        raise ValueError(f"`theta0` must have shape ({problem.dim},); got {np.shape(theta0)}")
    A, c = affine_example_gradients(problem)
    H = A.mean(axis=0)
    center = np.linalg.solve(H, c.mean(axis=0))
    keys = (1, 2, "ode2") if control else (1, 2)
    vals = {o: {k: [] for k in observables} for o in ("sgd", 1, 2, "ode2")}
    errors = {o: {k: [] for k in observables} for o in keys}
    for lr in lrs:
        K = int(round(T / lr))
        if abs(K * lr - T) > 1e-9 * T:
            raise ValueError(f"`lrs` must divide `T`: T/η = {T / lr:g} is not an integer for η = {lr:g}")
        mods = {o: SGDModifiedEquation(problem, lr, batch_size, order=o, replace=replace) for o in (1, 2)}
        ms = sgd_moments(mods[1], th0, K)
        me = {o: sme_moments(mods[o], th0, T) for o in (1, 2)}
        if control:
            # the order-2 drift without its noise: a deterministic modified equation
            ode = SGDModifiedEquation(problem, lr, batch_size, order=2, replace=replace)
            ode.noise_scale = 0.0
            me["ode2"] = sme_moments(ode, th0, T)
        for name in observables:
            g = OBSERVABLES[name][1]
            gs = np.atleast_1d(g(ms, H, center))
            vals["sgd"][name].append(gs.tolist() if gs.size > 1 else float(gs[0]))
            for o in me:
                ge = np.atleast_1d(g(me[o], H, center))
                vals[o][name].append(ge.tolist() if ge.size > 1 else float(ge[0]))
                errors[o][name].append(float(np.linalg.norm(gs - ge)))
    fits = {o: {k: fit_order(lrs, errors[o][k]) for k in observables if min(errors[o][k]) > 0} for o in keys}
    return SMEWeakErrorResult(float(T), [float(h) for h in lrs], list(observables), th0.tolist(),
                              int(batch_size), bool(replace), vals["sgd"], vals[1], vals[2], errors, fits,
                              vals["ode2"] if control else None)
