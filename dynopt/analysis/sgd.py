"""Minibatch SGD as a stochastic process: stationary covariances of SGD on quadratics, ensembles
of SGD on least squares, and the Ornstein–Uhlenbeck excess loss (Smith, Kindermans, Ying & Le
2018: temperature η/B).
"""
from __future__ import annotations


import numpy as np
from typing import NamedTuple
from dynopt.checks import check_finite_param, check_int
from dynopt.dynamics import SGDModifiedEquation
from dynopt.engine import EnsembleOptions, as_seed_sequence, simulate
from dynopt.problems import least_squares

__all__ = ["sgd_stationary_covariances", "covariance_z", "SGDEnsembleResult", "sgd_least_squares_ensemble", "ou_excess_loss", "discrete_stationary_excess_loss"]


def sgd_stationary_covariances(problem, lr, batch_size):
    """Stationary covariance of constant-step SGD near the minimum of a quadratic finite sum.

    Three predictions for θ_k − θ* with learning rate η and batch size B (sampling with
    replacement), Σ* the per-example gradient covariance at θ*:

    - ``continuous``: Mandt et al.'s OU limit, H S + S H = (η/B) Σ*
      (``scipy.linalg.solve_continuous_lyapunov``);
    - ``discrete``: the linear recursion with constant noise, S = M S Mᵀ + (η²/B) Σ*,
      M = I − ηH (``scipy.linalg.solve_discrete_lyapunov``);
    - ``exact``: the discrete recursion with the noise's own dependence on θ (per-example
      gradients affine in θ, e.g. least squares): S = M S Mᵀ + (η²/B)[Σ* + (1/N)Σ J_i S J_iᵀ
      − H S H], solved as a linear system (None if the recursion has no PSD fixed point).

    Returns
    -------
    dict of (d, d) arrays and the stability margin η·λ_max(H).
    """
    from scipy.linalg import solve_continuous_lyapunov, solve_discrete_lyapunov

    if not problem.is_quadratic:
        raise ValueError("`problem` must be a quadratic finite sum (constant Hessian)")
    lr = float(lr)
    H, c = problem.hessian_matrix, problem.center
    d, N = problem.dim, problem.n_examples
    g0 = problem.example_grads(c)  # (N, d)
    Sig = g0.T @ g0 / N - np.outer(g0.mean(0), g0.mean(0))
    J = np.stack([problem.example_grads(c + np.eye(d)[j]) - g0 for j in range(d)], axis=-1)  # (N, d, d)
    M = np.eye(d) - lr * H
    cont = solve_continuous_lyapunov(H, lr / batch_size * Sig)
    disc = solve_discrete_lyapunov(M, lr ** 2 / batch_size * Sig)
    K = np.kron(M, M) + lr ** 2 / batch_size * (np.einsum("nij,nkl->ikjl", J, J).reshape(d * d, d * d) / N
                                               - np.kron(H, H))
    exact = None
    if np.max(np.abs(np.linalg.eigvals(K))) < 1:
        exact = np.linalg.solve(np.eye(d * d) - K, (lr ** 2 / batch_size * Sig).ravel()).reshape(d, d)
    return {"continuous": cont, "discrete": disc, "exact": exact, "noise_cov": Sig,
            "lr_lambda_max": float(lr * np.linalg.eigvalsh(H).max())}


def covariance_z(samples, S):
    """Entrywise z-scores of the sample covariance of ``samples`` (n, d) (independent rows)
    against ``S`` (upper triangle).

    The standard error is the delta method's: √(Var[(x_i − x̄_i)(x_j − x̄_j)]/n) with the
    fourth moments estimated from the samples, so it holds for non-Gaussian stationary laws
    (SGD's is not Gaussian: its noise depends on θ).
    """
    X = np.asarray(samples, float)
    n = X.shape[0]
    C = np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1])
    if S is None:
        return None, C
    iu = np.triu_indices(X.shape[1])
    Z = X - X.mean(axis=0)
    prods = Z[:, iu[0]] * Z[:, iu[1]]
    se = prods.std(axis=0, ddof=1) / np.sqrt(n)
    return (C[iu] - np.asarray(S)[iu]) / se, C

# ---------------------------------------------------------------------------------
# Minibatch SGD on least squares: temperature η/B
# ---------------------------------------------------------------------------------
class SGDEnsembleResult(NamedTuple):
    """Loss of an ensemble of independent SGD runs, recorded at epoch ends.

    Attributes
    ----------
    epochs : ndarray, shape (k + 1,) — 0, 1, ..., k
    excess_mean : ndarray — mean over paths of L(θ) − L*
    excess_se : ndarray — its standard error
    lr, batch : ndarray, shape (k,) — the schedule used in each epoch
    steps : int — optimizer steps taken per path
    n_paths : int
    """

    epochs: np.ndarray
    excess_mean: np.ndarray
    excess_se: np.ndarray
    lr: np.ndarray
    batch: np.ndarray
    steps: int
    n_paths: int


def sgd_least_squares_ensemble(A, b, theta0, schedule, n_paths: int, rng,
                               sampling: str = "replacement") -> SGDEnsembleResult:
    """Independent minibatch-SGD paths on L(θ) = (1/N) Σ ½(a_iᵀθ − b_i)².

    SGD itself is the engine's ``"sgd"`` scheme (:class:`dynopt.schemes.SGDIterates`) on
    the :class:`~dynopt.dynamics.SGDModifiedEquation` of each phase, run by
    :func:`dynopt.engine.simulate`; the phases are chained through their final states,
    each with its own stream spawned from the root SeedSequence.

    Parameters
    ----------
    A : ndarray, shape (N, d); b : ndarray, shape (N,)
    theta0 : array_like, shape (d,) — common start
    schedule : sequence of (epochs, lr, batch_size)
        Phases; an epoch is N/B steps (B must divide N).
    n_paths : int
    rng : int, SeedSequence or Generator
    sampling : {"replacement", "without-replacement"}
        Each minibatch drawn i.i.d. with replacement (gradient noise covariance exactly
        Σ(θ)/B), or B distinct examples per step (covariance Σ(θ)/B·(N − B)/(N − 1)).

    Returns
    -------
    SGDEnsembleResult
        Statistics over the paths that did not blow up.
    """
    if sampling not in ("replacement", "without-replacement"):
        raise ValueError(f"`sampling` must be one of ['replacement', 'without-replacement']; got {sampling!r}")
    check_int(n_paths, "n_paths")
    root = as_seed_sequence(rng=rng, name="rng")
    problem = least_squares(A, b)
    N, d = problem.n_examples, problem.dim
    phases = []
    for n_epochs, lr, B in schedule:
        lr = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
        if not isinstance(B, (int, np.integer)) or B < 1 or N % B:
            raise ValueError(f"`batch_size` must be a positive divisor of N={N}; got {B!r}")
        phases.append((int(n_epochs), lr, int(B)))
    H, center = problem.hessian_matrix, problem.center
    means, ses, lrs, bs = [], [], [], []

    def record(th):
        z = th[np.isfinite(th).all(axis=1)] - center  # the engine leaves blown-up paths as NaN rows
        ex = 0.5 * np.einsum("ni,ij,nj->n", z, H, z)
        means.append(ex.mean())
        ses.append(ex.std(ddof=1) / np.sqrt(len(ex)))

    theta = np.tile(np.asarray(theta0, float).reshape(d), (n_paths, 1))
    record(theta)
    steps = 0
    for (n_epochs, lr, B), seed in zip(phases, root.spawn(len(phases))):
        if n_epochs < 1:
            continue
        per_epoch = N // B
        model = SGDModifiedEquation(problem, lr, B, replace=sampling == "replacement")
        res = simulate(model, "sgd", (0.0, n_epochs * per_epoch * lr), theta, lr, seed=seed,
                       options=EnsembleOptions(save_every=per_epoch, progress=False))
        for th in res.y[1:]:  # the state at the end of each epoch
            record(th)
        theta = res.y_final
        steps += n_epochs * per_epoch
        lrs += [lr] * n_epochs
        bs += [B] * n_epochs
    return SGDEnsembleResult(np.arange(len(means)), np.array(means), np.array(ses), np.array(lrs),
                          np.array(bs), steps, int(n_paths))


def ou_excess_loss(H, Sigma, theta0_minus_star, schedule, N: int, points_per_epoch: int = 1):
    """Expected excess loss of the SDE dθ = −H(θ − θ*)dt + √(η/B · Σ) dW (SGD's Langevin
    model with temperature η/B; constant Σ), at epoch ends of ``schedule``.

    One epoch of N/B steps at lr η lasts t = ηN/B.  Closed form in the eigenbasis of H:
    mean e^{−Ht}m₀, covariance P_ij(t) = e^{−(h_i+h_j)t}P_ij(0) + T Σ̃_ij (1 − e^{−(h_i+h_j)t})/(h_i+h_j).

    Returns
    -------
    ndarray, shape (total_epochs·points_per_epoch + 1,)
    """
    h, U = np.linalg.eigh(np.asarray(H, float))
    m = U.T @ np.asarray(theta0_minus_star, float)
    S = U.T @ np.asarray(Sigma, float) @ U
    P = np.zeros_like(S)
    hs = h[:, None] + h[None, :]
    out = [0.5 * (m @ (h * m))]
    for n_epochs, lr, B in schedule:
        temp = lr / B
        dt = lr * N / B / points_per_epoch
        for _ in range(int(n_epochs) * points_per_epoch):
            m = np.exp(-h * dt) * m
            decay = np.exp(-hs * dt)
            P = decay * P + temp * S * (-np.expm1(-hs * dt)) / hs
            out.append(0.5 * (m @ (h * m)) + 0.5 * np.sum(h * np.diag(P)))
    return np.array(out)


def discrete_stationary_excess_loss(H, Sigma, lr: float, batch: int) -> float:
    """Stationary E[L − L*] of SGD θ ← θ − η(H(θ − θ*) + ξ), Cov ξ = Σ/B (additive noise):
    ½ tr(HP) with P = (I − ηH)P(I − ηH) + η²Σ/B (scipy's solve_discrete_lyapunov).

    Its SDE limit is η tr(Σ)/(4B): depends on η/B only; the discrete value does not.
    """
    from scipy.linalg import solve_discrete_lyapunov

    H = np.asarray(H, float)
    M = np.eye(H.shape[0]) - lr * H
    P = solve_discrete_lyapunov(M, lr * lr * np.asarray(Sigma, float) / batch)
    return 0.5 * float(np.trace(H @ P))
