"""Optimizers as dynamical systems: the continuous-time limits of :mod:`dynopt.optim`.

* SGD with lr η is Euler's method on the gradient flow θ' = −∇L, time t = nη.
* Heavy-ball momentum (lr α, momentum β) is the leapfrog of θ'' + λθ' = −∇L with step γ
  and friction λ from kexue-5655 eq 15 (:func:`heavy_ball_ode_parameters`); Nesterov
  (Sutskever's look-ahead form) is the same ODE through eq 18
  (:func:`nesterov_ode_parameters`).
* RMSProp with lr η and decay ρ = 1 − cη tracks, as η → 0 at fixed c, the ODE
  θ' = −∇L/√(s + ε), s' = c(∇L² − s), time t = nη (da Silva & Gazeau 2018;
  Barakat & Bianchi 2021, §3): :class:`RMSPropODE`.
* Adam with β1 = 1 − aη, β2 = 1 − bη tracks the non-autonomous ODE of Barakat & Bianchi
  (2021, eq. (ODE)): m' = a(∇L − m), v' = b(∇L² − v),
  θ' = −(m/(1 − e^{−at})) / (√(v/(1 − e^{−bt})) + ε), time t = nη: :class:`AdamODE`.
* Adagrad with lr η tracks θ' = −∇L/√(σ + ε), σ' = ∇L² in the time τ = nη² (with
  σ = η²·s): :class:`AdagradODE`.

The minibatch-SGD side (temperature η/B, Smith, Kindermans, Ying & Le 2018) lives in
:func:`sgd_least_squares_ensemble` and :func:`ou_excess_loss`.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from . import optim
from .analysis import OrderFit, fit_order
from .data import as_generator
from .dynamics import GradientFlow, HeavyBall, Model, check_finite_param
from .problems import Problem
from .reference import reference_solution
from .schemes.maps import (leapfrog_coefficients, leapfrog_ode_parameters, nesterov_coefficients,
                           nesterov_ode_parameters)

__all__ = ["heavy_ball_ode_parameters", "nesterov_ode_parameters_from_optimizer",
           "momentum_from_ode", "RMSPropODE", "AdamODE", "AdagradODE", "continuous_limit",
           "TrackingResult", "ode_tracking_study", "EnsembleResult", "sgd_least_squares_ensemble",
           "ou_excess_loss", "discrete_stationary_excess_loss", "paths_with_flows",
           "DEFAULT_2D_HYPERPARAMETERS"]


# ---------------------------------------------------------------------------------
# Momentum ↔ ODE parameters (exact maps of the foundation)
# ---------------------------------------------------------------------------------
def heavy_ball_ode_parameters(lr, momentum):
    """(γ, λ) of θ'' + λθ' = −∇L whose leapfrog step is heavy-ball momentum (α, β) = (lr, μ).

    Exact inverse of kexue-5655 eq 15 (:func:`dynopt.schemes.maps.leapfrog_ode_parameters`);
    iterate n sits at time nγ.  Valid in every convention at constant lr.
    """
    return leapfrog_ode_parameters(lr, momentum)


def nesterov_ode_parameters_from_optimizer(lr, momentum):
    """(γ, λ) for Nesterov momentum (lr, μ) through kexue-5655 eq 18: γ = √lr, λ = (1 − μ)/√lr."""
    return nesterov_ode_parameters(lr, momentum)


def momentum_from_ode(gamma, friction, form: str = "heavy-ball"):
    """(lr, momentum) of the optimizer that discretizes θ'' + λθ' = −∇L with step γ.

    ``form="heavy-ball"`` uses eq 15, ``"nesterov"`` eq 18.
    """
    if form == "heavy-ball":
        return leapfrog_coefficients(gamma, friction)
    if form == "nesterov":
        return nesterov_coefficients(gamma, friction)
    raise ValueError(f"`form` must be one of ['heavy-ball', 'nesterov']; got {form!r}")


# ---------------------------------------------------------------------------------
# Adaptive methods' ODEs
# ---------------------------------------------------------------------------------
class _Augmented(Model):
    """Models whose state is [θ, k auxiliary blocks of size d]; a position-only start gets
    zero auxiliaries (the optimizers' zero-initialized buffers)."""

    n_aux = 1

    @property
    def state_dim(self):
        return (1 + self.n_aux) * self.d

    def as_state(self, y0, name="y0"):
        arr = np.asarray(y0, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim == 2 and arr.shape[1] == self.d:
            return np.concatenate([arr] + [np.zeros_like(arr)] * self.n_aux, axis=1)
        return super().as_state(arr, name)


def _den(s, eps, inside):
    return np.sqrt(s + eps) if inside else np.sqrt(s) + eps


class RMSPropODE(_Augmented):
    """θ' = −∇L/√(s + ε), s' = c(∇L² − s): the limit of RMSProp with decay ρ = 1 − cη
    as η → 0 (time t = nη).  Order-1 tracking from a start with s(0) > 0.

    Parameters
    ----------
    problem : Problem
    c : float > 0
        Relaxation rate of s, (1 − ρ)/η.
    eps : float > 0
    eps_inside : bool
        √(s + ε) (d2l, npnet) or √s + ε (PyTorch).
    """

    kind = "rmsprop_ode"

    def __init__(self, problem: Problem, c: float, eps: float = 1e-8, eps_inside: bool = True):
        super().__init__(problem)
        self.c = check_finite_param(c, "c", low=0.0, low_inclusive=False)
        self.eps = check_finite_param(eps, "eps", low=0.0, low_inclusive=False)
        self.eps_inside = bool(eps_inside)
        self.name = f"RMSProp ODE (c={self.c:g})"

    def drift(self, t, y):
        d = self.d
        q, s = y[:, :d], np.maximum(y[:, d:], 0.0)
        g = self.problem.grad_fn(q)
        return np.concatenate([-g / _den(s, self.eps, self.eps_inside), self.c * (g * g - s)], axis=1)


class AdamODE(_Augmented):
    """Barakat & Bianchi's (2021) ODE of Adam with β1 = 1 − aη, β2 = 1 − bη (time t = nη):
    m' = a(∇L − m), v' = b(∇L² − v), θ' = −m̂/(√v̂ + ε) with m̂ = m/(1 − e^{−at}),
    v̂ = v/(1 − e^{−bt}) (or m̂ = m, v̂ = v without bias correction).

    At t = 0 with m = v = 0 the bias-corrected drift is its limit −∇L/(|∇L| + ε).
    """

    kind = "adam_ode"
    n_aux = 2

    def __init__(self, problem: Problem, a: float, b: float, eps: float = 1e-8,
                 bias_correction: bool = True, eps_inside: bool = False):
        super().__init__(problem)
        self.a = check_finite_param(a, "a", low=0.0, low_inclusive=False)
        self.b = check_finite_param(b, "b", low=0.0, low_inclusive=False)
        self.eps = check_finite_param(eps, "eps", low=0.0, low_inclusive=False)
        self.bias_correction = bool(bias_correction)
        self.eps_inside = bool(eps_inside)
        self.name = f"Adam ODE (a={self.a:g}, b={self.b:g})"

    def drift(self, t, y):
        d = self.d
        q, m, v = y[:, :d], y[:, d:2 * d], np.maximum(y[:, 2 * d:], 0.0)
        g = self.problem.grad_fn(q)
        if not self.bias_correction:
            mh, vh = m, v
        elif t > 0:
            mh, vh = m / -np.expm1(-self.a * t), v / -np.expm1(-self.b * t)
        else:
            mh, vh = g, g * g
        dq = -mh / _den(vh, self.eps, self.eps_inside)
        return np.concatenate([dq, self.a * (g - m), self.b * (g * g - v)], axis=1)


class AdagradODE(_Augmented):
    """θ' = −∇L/√(σ + ε), σ' = ∇L²: Adagrad with lr η in the time τ = nη², σ = η²·s.

    Adagrad's own ε becomes η²ε here, so ε → 0 in the limit."""

    kind = "adagrad_ode"

    def __init__(self, problem: Problem, eps: float = 1e-12):
        super().__init__(problem)
        self.eps = check_finite_param(eps, "eps", low=0.0, low_inclusive=False)
        self.name = "Adagrad ODE"

    def drift(self, t, y):
        d = self.d
        q, s = y[:, :d], np.maximum(y[:, d:], 0.0)
        g = self.problem.grad_fn(q)
        return np.concatenate([-g / np.sqrt(s + self.eps), g * g], axis=1)


def continuous_limit(name: str, problem: Problem, **hp):
    """The ODE an optimizer tracks, and the time one step stands for.

    Parameters
    ----------
    name : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    problem : Problem
    **hp : the optimizer's hyper-parameters: ``lr`` and ``momentum`` / ``decay``,
        ``eps``, ``eps_inside`` / ``b1``, ``b2``, ``eps``, ``bias_correction``.

    Returns
    -------
    model : dynopt.dynamics.Model
    dt : float
        Time per optimizer step (η; γ for momentum; η² for Adagrad).
    """
    lr = check_finite_param(hp["lr"], "lr", low=0.0, low_inclusive=False)
    if name == "sgd":
        return GradientFlow(problem), lr
    if name == "momentum":
        gamma, lam = heavy_ball_ode_parameters(lr, hp["momentum"])
        return HeavyBall(problem, lam), gamma
    if name == "nesterov":
        gamma, lam = nesterov_ode_parameters_from_optimizer(lr, hp["momentum"])
        return HeavyBall(problem, lam), gamma
    if name == "adagrad":
        return AdagradODE(problem, eps=hp.get("eps", 1e-8) * lr * lr), lr * lr
    if name == "rmsprop":
        return RMSPropODE(problem, (1 - hp["decay"]) / lr, hp.get("eps", 1e-8),
                          hp.get("eps_inside", True)), lr
    if name == "adam":
        return AdamODE(problem, (1 - hp.get("b1", 0.9)) / lr, (1 - hp.get("b2", 0.999)) / lr,
                       hp.get("eps", 1e-8), hp.get("bias_correction", True),
                       hp.get("eps_inside", False)), lr
    raise ValueError("`name` must be one of ['adagrad', 'adam', 'momentum', 'nesterov', "
                     f"'rmsprop', 'sgd']; got {name!r}")


class TrackingResult(NamedTuple):
    """How optimizer iterates approach their ODE as the learning rate → 0.

    Attributes
    ----------
    lrs : ndarray — learning rates of the ladder
    errors : ndarray — |θ_n − θ(T)|∞ with n = T/η
    fit : OrderFit — fitted order of the errors in η (with its confidence interval)
    theta_T : ndarray — the ODE's θ(T)
    """

    lrs: np.ndarray
    errors: np.ndarray
    fit: OrderFit
    theta_T: np.ndarray


def ode_tracking_study(name: str, problem: Problem, x0, T: float, lrs: Sequence[float],
                       warm_start: bool = False, **rates) -> TrackingResult:
    """Run RMSProp or Adam at each lr of a ladder with the ODE's rates held fixed
    (ρ = 1 − cη; β1 = 1 − aη, β2 = 1 − bη), and compare θ after T/η steps with the ODE.

    Parameters
    ----------
    name : {"rmsprop", "adam"}
    problem : Problem
    x0 : array_like, shape (d,)
    T : float — final time (each lr must divide it)
    lrs : learning rates
    warm_start : bool
        RMSProp only: start from s = ∇L(x0)² in both the optimizer and the ODE (the
        zero start costs half an order: the first step is √(η/c), not O(η)).
    **rates : ``c``, ``eps``, ``eps_inside`` (rmsprop) or ``a``, ``b``, ``eps`` (adam)

    Returns
    -------
    TrackingResult
    """
    x0 = np.asarray(x0, dtype=float)
    lrs = np.asarray(lrs, dtype=float)
    if name == "rmsprop":
        model = RMSPropODE(problem, rates["c"], rates.get("eps", 1e-8), rates.get("eps_inside", True))
        s0 = problem.grad(x0) ** 2 if warm_start else np.zeros_like(x0)
        y0 = np.concatenate([x0, s0])
    elif name == "adam":
        model = AdamODE(problem, rates["a"], rates["b"], rates.get("eps", 1e-8))
        y0 = np.concatenate([x0, np.zeros_like(x0), np.zeros_like(x0)])
    else:
        raise ValueError(f"`name` must be one of ['adam', 'rmsprop']; got {name!r}")
    theta_T = reference_solution(model, y0, [T])[0][-1, 0, :problem.dim]
    errors = []
    for lr in lrs:
        n = int(round(T / lr))
        if abs(n * lr - T) > 1e-9 * T:
            raise ValueError(f"`lrs` must divide `T`; {lr!r} does not divide {T!r}")
        if name == "rmsprop":
            opt = optim.rmsprop(lr, 1 - model.c * lr, model.eps,
                                convention="d2l" if model.eps_inside else "pytorch")
            state = opt.init(x0)
            if warm_start:  # the chain's state is (ScaleByRmsState, CountState)
                state = (optim.ScaleByRmsState(s0.copy()), state[1])
        else:
            opt = optim.adam(lr, 1 - model.a * lr, 1 - model.b * lr, model.eps)
            state = None
        res = optim.run(opt, problem.grad, x0, n, state=state)
        if res.diverged_step is not None:
            raise RuntimeError(f"{name} with lr={lr:g} diverged at step {res.diverged_step}")
        errors.append(np.abs(res.params - theta_T).max())
    errors = np.array(errors)
    return TrackingResult(lrs, errors, fit_order(lrs, errors), theta_T)


# ---------------------------------------------------------------------------------
# Minibatch SGD on least squares: temperature η/B
# ---------------------------------------------------------------------------------
class EnsembleResult(NamedTuple):
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
                               sampling: str = "replacement") -> EnsembleResult:
    """Independent minibatch-SGD paths on L(θ) = (1/N) Σ ½(a_iᵀθ − b_i)².

    Parameters
    ----------
    A : ndarray, shape (N, d); b : ndarray, shape (N,)
    theta0 : array_like, shape (d,) — common start
    schedule : sequence of (epochs, lr, batch_size)
        Phases; an epoch is N/B steps (B must divide N).
    n_paths : int
    rng : int, SeedSequence or Generator
    sampling : {"replacement", "shuffle"}
        Each minibatch drawn i.i.d. with replacement (gradient noise covariance exactly
        Σ(θ)/B), or one reshuffle per epoch (as DataLoader(shuffle=True)).

    Returns
    -------
    EnsembleResult
    """
    rng = as_generator(rng)
    A, b = np.asarray(A, float), np.asarray(b, float)
    N, d = A.shape
    if sampling not in ("replacement", "shuffle"):
        raise ValueError(f"`sampling` must be one of ['replacement', 'shuffle']; got {sampling!r}")
    if not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise ValueError(f"`n_paths` must be a positive integer; got {n_paths!r}")
    H = A.T @ A / N
    center = np.linalg.solve(H, A.T @ b / N)

    def excess(th):
        z = th - center
        return 0.5 * np.einsum("ni,ij,nj->n", z, H, z)

    theta = np.tile(np.asarray(theta0, float), (n_paths, 1))
    ex = excess(theta)
    means, ses, lrs, bs = [ex.mean()], [ex.std(ddof=1) / np.sqrt(n_paths)], [], []
    steps = 0
    for n_epochs, lr, B in schedule:
        lr = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
        if not isinstance(B, (int, np.integer)) or B < 1 or N % B:
            raise ValueError(f"`batch_size` must be a positive divisor of N={N}; got {B!r}")
        for _ in range(int(n_epochs)):
            if sampling == "shuffle":
                perm = rng.permuted(np.tile(np.arange(N), (n_paths, 1)), axis=1)
            for k in range(N // B):
                idx = (rng.integers(0, N, size=(n_paths, B)) if sampling == "replacement"
                       else perm[:, k * B:(k + 1) * B])
                Ai = A[idx]                                    # (n, B, d)
                r = np.einsum("nbd,nd->nb", Ai, theta) - b[idx]
                theta = theta - (lr / B) * np.einsum("nb,nbd->nd", r, Ai)
                steps += 1
            ex = excess(theta)
            means.append(ex.mean())
            ses.append(ex.std(ddof=1) / np.sqrt(n_paths))
            lrs.append(lr)
            bs.append(B)
    return EnsembleResult(np.arange(len(means)), np.array(means), np.array(ses), np.array(lrs),
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


# ---------------------------------------------------------------------------------
# 2-D trajectories with their flows
# ---------------------------------------------------------------------------------
#: hyper-parameters of the all-optimizers figure: (x0, steps, {name: hyper-parameters})
DEFAULT_2D_HYPERPARAMETERS = {
    "ellipse": ((-5.0, -2.0), 40, {
        "sgd": dict(lr=0.2), "momentum": dict(lr=0.05, momentum=0.8),
        "nesterov": dict(lr=0.05, momentum=0.8), "adagrad": dict(lr=1.0),
        "rmsprop": dict(lr=0.1, decay=0.9, eps=1e-6), "adam": dict(lr=0.3, b1=0.9, b2=0.999)}),
    "rosenbrock": ((-1.2, 1.0), 2000, {
        "sgd": dict(lr=1e-3), "momentum": dict(lr=2e-4, momentum=0.9),
        "nesterov": dict(lr=2e-4, momentum=0.9), "adagrad": dict(lr=0.1),
        "rmsprop": dict(lr=2e-3, decay=0.99, eps=1e-6), "adam": dict(lr=5e-3, b1=0.9, b2=0.999)}),
}


def paths_with_flows(problem: Problem, x0, n_steps: int, hyperparams: dict, n_flow_points: int = 200,
                     rtol: float = 1e-8):
    """Iterates of each optimizer and the solution of the ODE it discretizes, over the same time.

    Momentum and Nesterov run in the sutskever convention (the foundation's exact maps:
    heavy ball = leapfrog from rest, eq 15; look-ahead Nesterov, eq 18); RMSProp with eps
    inside the root (d2l); Adagrad and Adam as PyTorch.  Flows: ``solve_ivp`` LSODA at
    ``rtol`` (stiff on Rosenbrock; a figure needs no more).

    Returns
    -------
    dict
        name -> (iterates (n_steps + 1, 2), flow (n_flow_points, 2), diverged_step)
    """
    from .reference import solve_ivp_reference

    conv = {"momentum": "sutskever", "nesterov": "sutskever", "rmsprop": "d2l"}
    x0 = np.asarray(x0, dtype=float)
    out = {}
    for name, hp in hyperparams.items():
        kw = {k: v for k, v in hp.items() if k != "lr"}
        if name in conv:
            kw["convention"] = conv[name]
        res = optim.run(optim.get_optimizer(name, lr=hp["lr"], **kw), problem.grad, x0, n_steps)
        extra = {"eps_inside": True} if name == "rmsprop" else {}
        model, dt = continuous_limit(name, problem, **hp, **extra)
        steps_done = n_steps if res.diverged_step is None else res.diverged_step - 1
        ts = np.linspace(0.0, steps_done * dt, n_flow_points)
        flow = solve_ivp_reference(model, model.as_state(x0), ts, rtol=rtol, method="LSODA")
        out[name] = (res.path, flow[:, 0, :problem.dim], res.diverged_step)
    return out
