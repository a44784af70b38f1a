"""Acceleration as dynamics (issue 6): rates vs condition number, Nesterov's ODE and its
Bessel solution, high-resolution ODEs, Lessard's heavy-ball counterexample, and momentum
SGD as a discretized Kramers equation.

The optimizers are dynopt schemes run on dynopt models: gradient descent is Euler on
:class:`~dynopt.dynamics.GradientFlow`; heavy ball and Nesterov with constant (α, β) are
:class:`~dynopt.schemes.HeavyBallMomentum` / :class:`~dynopt.schemes.Nesterov` on
:class:`~dynopt.dynamics.HeavyBall` with (γ, λ) from the exact maps of kexue-5655 eqs 15
and 18; Nesterov with momentum (k−1)/(k+2) is :class:`~dynopt.schemes.NesterovConvex` on
:class:`~dynopt.dynamics.NesterovODE`; heavy ball / NAG-SC with (1−√(μs))/(1+√(μs)) are
:class:`~dynopt.schemes.HeavyBallSC` / :class:`~dynopt.schemes.NesterovSC` on
:class:`HighResolutionODE`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import special, stats
from scipy.integrate import solve_ivp
from scipy.linalg import solve_discrete_lyapunov

from .dynamics import GradientFlow, HeavyBall, Model, NesterovODE, check_finite_param
from .problems import Problem, from_grad
from .schemes import (Euler, HeavyBallMomentum, Nesterov, leapfrog_ode_parameters,
                      nesterov_ode_parameters)

__all__ = [
    "Tuning", "gd_tuning", "polyak_tuning", "nesterov_tuning", "nesterov_quadratic_tuning",
    "TUNINGS", "tuned_method", "ToleranceRun", "iterations_to_tolerance", "asymptotic_rate",
    "nesterov_ode_bessel", "nesterov_ode_reference", "decay_exponent", "power_function",
    "HighResolutionODE", "KramersParameters", "kramers_parameters",
    "momentum_sgd_matrices", "momentum_sgd_stationary_covariance", "sgd_stationary_variance", "MomentumSGDRun",
    "momentum_sgd_ensemble", "as_generator", "Cycle", "refine_cycle", "classify_orbits",
]


# ---------------------------------------------------------------------------------------
# Tunings for μ-strongly convex, L-smooth f and their predicted rates
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tuning:
    """A constant-parameter first-order method: learning rate α, momentum β.

    Attributes
    ----------
    name : str
    alpha, beta : float
    rate : float
        The predicted linear rate ρ on quadratics with spectrum in [μ, L]:
        ‖x_k − x*‖ ≈ C·ρ^k (up to a polynomial factor where roots are repeated).
    method : {"gd", "heavy-ball", "nesterov"}
        Where the gradient is taken (at x_k, or at the look-ahead x_k + β v_k).
    reference : str
    """

    name: str
    alpha: float
    beta: float
    rate: float
    method: str
    reference: str = ""

    def predicted_iterations(self, tol: float) -> float:
        """ln(tol)/ln(ρ): iterations for ρ^k to reach ``tol``."""
        return math.log(tol) / math.log(self.rate)


def _mu_L(mu, L):
    mu = check_finite_param(mu, "mu", low=0.0, low_inclusive=False)
    L = check_finite_param(L, "L", low=mu)
    return mu, L


def gd_tuning(mu, L) -> Tuning:
    """Gradient descent with α = 2/(L+μ): rate (κ−1)/(κ+1), κ = L/μ."""
    mu, L = _mu_L(mu, L)
    k = L / mu
    return Tuning("GD", 2 / (L + mu), 0.0, (k - 1) / (k + 1), "gd", "Cauchy (1847); Polyak (1987) §1.4")


def polyak_tuning(mu, L) -> Tuning:
    """Heavy ball with Polyak's quadratic-optimal α = 4/(√L+√μ)², β = ((√κ−1)/(√κ+1))²:
    rate (√κ−1)/(√κ+1) (Polyak 1964, Theorem 9)."""
    mu, L = _mu_L(mu, L)
    q = math.sqrt(L / mu)
    return Tuning("heavy ball (Polyak)", 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2,
                  ((q - 1) / (q + 1)) ** 2, (q - 1) / (q + 1), "heavy-ball", "Polyak (1964)")


def nesterov_tuning(mu, L) -> Tuning:
    """Nesterov's standard strongly convex tuning α = 1/L, β = (√κ−1)/(√κ+1): rate
    1 − 1/√κ (Nesterov 2004, §2.2; on quadratics the root at μ is double)."""
    mu, L = _mu_L(mu, L)
    q = math.sqrt(L / mu)
    return Tuning("Nesterov (standard)", 1 / L, (q - 1) / (q + 1), 1 - 1 / q, "nesterov",
                  "Nesterov (2004), constant step scheme III")


def nesterov_quadratic_tuning(mu, L) -> Tuning:
    """Nesterov tuned for quadratics: α = 4/(3L+μ), β = (√(3κ+1)−2)/(√(3κ+1)+2), rate
    1 − 2/√(3κ+1) (Lessard, Recht & Packard 2016, Proposition 1 / Table)."""
    mu, L = _mu_L(mu, L)
    q = math.sqrt(3 * L / mu + 1)
    return Tuning("Nesterov (quadratic-optimal)", 4 / (3 * L + mu), (q - 2) / (q + 2), 1 - 2 / q,
                  "nesterov", "Lessard, Recht & Packard (2016), §2.2")


TUNINGS = {"gd": gd_tuning, "polyak": polyak_tuning, "nesterov": nesterov_tuning,
           "nesterov-quadratic": nesterov_quadratic_tuning}


def tuned_method(problem: Problem, tuning: Tuning):
    """The dynopt (model, scheme, dt) whose iterates are the optimizer ``tuning``.

    GD with rate α is Euler on gradient flow with dt = α; heavy ball with (α, β) is the
    leapfrog started from rest on θ'' + λθ' = −∇L with (γ, λ) from the inverse of
    kexue-5655 eq 15; Nesterov with (α, β) is the look-ahead scheme with (γ, λ) from the
    inverse of eq 18 (γ = √α, λ = (1−β)/√α).  The maps are exact, so the iterates are the
    optimizer's to rounding.

    Returns
    -------
    model : Model
    scheme : Scheme
    dt : float
    """
    if tuning.method == "gd":
        return GradientFlow(problem), Euler(), tuning.alpha
    if tuning.method == "heavy-ball":
        gamma, lam = leapfrog_ode_parameters(tuning.alpha, tuning.beta)
        return HeavyBall(problem, lam), HeavyBallMomentum(start="rest"), gamma
    if tuning.method == "nesterov":
        gamma, lam = nesterov_ode_parameters(tuning.alpha, tuning.beta)
        return HeavyBall(problem, lam), Nesterov(start="rest"), gamma
    raise ValueError(f"`tuning.method` must be one of ['gd', 'heavy-ball', 'nesterov']; got {tuning.method!r}")


@dataclass
class ToleranceRun:
    """Result of :func:`iterations_to_tolerance`.

    Attributes
    ----------
    iterations : int or None
        First k with relative error ≤ tol (None if not reached in ``max_iter`` or diverged).
    errors : ndarray, shape (k_done + 1,)
        Relative errors ‖x_k − x*‖/‖x_0 − x*‖ (worst path), k = 0..k_done.
    diverged_step : int or None
    """

    iterations: Optional[int]
    errors: np.ndarray
    diverged_step: Optional[int]

    @property
    def reached(self) -> bool:
        return self.iterations is not None


def iterations_to_tolerance(model: Model, scheme, y0, dt, x_star, tol=1e-8,
                            max_iter=1_000_000) -> ToleranceRun:
    """Run ``scheme`` on ``model`` until ‖x_k − x*‖ ≤ tol·‖x_0 − x*‖ for every path.

    Parameters
    ----------
    model, scheme, dt :
        As returned by :func:`tuned_method` (any dynopt model and scheme work).
    y0 : array_like, shape (d,) or (n_paths, d) or with velocities
    x_star : array_like, shape (d,)
    tol : float in (0, 1)
    max_iter : int

    Returns
    -------
    ToleranceRun
    """
    tol = check_finite_param(tol, "tol", low=0.0, low_inclusive=False, high=1.0, high_inclusive=False)
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"`max_iter` must be a positive integer; got {max_iter!r}")
    scheme.check_model(model)
    y = model.as_state(y0)
    xs = np.asarray(x_star, float).reshape(1, -1)
    state = scheme.init(model, y, dt)
    e0 = np.linalg.norm(model.position(scheme.output(model, state)) - xs, axis=1)
    if np.any(e0 == 0):
        raise ValueError("`y0` starts at `x_star`: the relative error is undefined")
    errs = [np.ones(1)]
    block = 256  # errors are computed a block of iterates at a time: the loop stays lean
    buf = []
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while k < max_iter:
            state = scheme.step(model, k * dt, state, dt)
            k += 1
            buf.append(state[0])
            if len(buf) == block or k == max_iter:
                X = np.stack(buf)
                buf = []
                finite = np.isfinite(X).all(axis=(1, 2)) & (np.abs(X).max(axis=(1, 2)) <= 1e100)
                e = np.max(np.linalg.norm(X - xs, axis=2) / e0, axis=1)
                k0 = k - len(e)
                if not finite.all():
                    j = int(np.argmin(finite))
                    errs.append(e[:j])
                    return ToleranceRun(None, np.concatenate(errs), k0 + j + 1)
                hit = np.nonzero(e <= tol)[0]
                if hit.size:
                    j = int(hit[0])
                    errs.append(e[: j + 1])
                    return ToleranceRun(k0 + j + 1, np.concatenate(errs), None)
                errs.append(e)
    return ToleranceRun(None, np.concatenate(errs), None)


def asymptotic_rate(errors, tail: float = 0.5, polynomial: bool = True) -> float:
    """Linear rate ρ fitted to the last ``tail`` of a run of errors.

    With ``polynomial=True`` the model is log e_k = a + b·log k + k·log ρ (least squares),
    which absorbs the k^b factor of repeated roots (heavy ball and Nesterov at their
    optimal tunings have a double root, e_k ~ k ρ^k); otherwise the plain slope of log e_k.
    """
    e = np.asarray(errors, float)
    k0 = max(int(len(e) * (1 - tail)), 1)
    k = np.arange(k0, len(e), dtype=float)
    if len(k) < 4:
        raise ValueError(f"need at least 4 errors in the tail; got {len(k)}")
    if not np.all(e[k0:] > 0):
        raise ValueError("`errors` must be > 0 in the tail")
    cols = [np.ones_like(k), k] + ([np.log(k)] if polynomial else [])
    coef, *_ = np.linalg.lstsq(np.column_stack(cols), np.log(e[k0:]), rcond=None)
    return float(np.exp(coef[1]))


# ---------------------------------------------------------------------------------------
# Su–Boyd–Candès: Nesterov's ODE X'' + (r/t)X' + ∇f(X) = 0
# ---------------------------------------------------------------------------------------
def _bessel_profile(z, r):
    """Γ(ν+1)(2/z)^ν J_ν(z), ν = (r−1)/2, with its limit 1 at z = 0."""
    nu = (r - 1) / 2
    z = np.asarray(z, float)
    out = np.ones_like(z)
    nz = z > 0
    out[nz] = special.gamma(nu + 1) * (2 / z[nz]) ** nu * special.jv(nu, z[nz])
    return out


def nesterov_ode_bessel(H, x0, t, r: float = 3.0, center=None):
    """Exact solution of X'' + (r/t)X' + H(X − c) = 0, X(0) = x0, X'(0) = 0.

    In each eigendirection of H (eigenvalue h), X − c = (x0 − c)·Γ(ν+1)(2/(√h t))^ν
    J_ν(√h t), ν = (r−1)/2 (substitute X = t^{−ν}u: u solves Bessel's equation of order
    ν; regularity at t = 0 selects J_ν).  For r = 3: 2 J₁(√h t)/(√h t) (Su, Boyd & Candès
    2016, §3.1).

    Parameters
    ----------
    H : array_like, shape (d, d), symmetric positive definite (or a scalar h > 0)
    x0 : array_like, shape (d,)
    t : array_like, shape (m,), t ≥ 0
    r : float ≥ 0

    Returns
    -------
    ndarray, shape (m, d)
    """
    r = check_finite_param(r, "r", low=0.0)
    H = np.atleast_2d(np.asarray(H, float))
    x0 = np.atleast_1d(np.asarray(x0, float))
    if H.shape != (x0.size, x0.size):
        raise ValueError(f"`H` must have shape ({x0.size}, {x0.size}) to match `x0`; got {H.shape}")
    c = np.zeros_like(x0) if center is None else np.asarray(center, float).reshape(x0.shape)
    t = np.atleast_1d(np.asarray(t, float))
    if np.any(t < 0):
        raise ValueError("`t` must be ≥ 0")
    w, Q = np.linalg.eigh(H)
    if w.min() <= 0:
        raise ValueError(f"`H` must be positive definite; smallest eigenvalue {w.min():.3g}")
    a = Q.T @ (x0 - c)
    prof = _bessel_profile(np.sqrt(w)[None, :] * t[:, None], r)
    return c + (prof * a) @ Q.T


def nesterov_ode_reference(problem: Problem, x0, t_eval, r: float = 3.0, start: str = "limit",
                           t_start: float = 1e-3, method: str = "DOP853", rtol: float = 1e-13):
    """Reference solution of Su–Boyd–Candès' ODE with X(0) = x0, X'(0) = 0.

    The friction r/t is singular at t = 0.  Two ways round it:

    * ``start="limit"``: integrate from t = 0 with :class:`~dynopt.dynamics.NesterovODE`,
      whose drift uses the limit V/t → X''(0) = −∇f(x0)/(1+r) at t = 0 (the solution is
      smooth, X = x0 − t²∇f(x0)/(2(1+r)) + O(t⁴)).
    * ``start="series"``: start at ``t_start`` from that series (X error O(t_start⁴),
      V error O(t_start³)) — an independent check of the first.

    Parameters
    ----------
    problem : Problem
    x0 : array_like, shape (d,)
    t_eval : array_like, increasing, ≥ 0 (≥ t_start for the series start)
    method : str
        ``solve_ivp`` method; Radau gets the Hessian-based Jacobian where available.
    rtol : float
        atol = rtol/10.

    Returns
    -------
    ndarray, shape (len(t_eval), 2d): X and X' at ``t_eval``.
    """
    if start not in ("limit", "series"):
        raise ValueError(f"`start` must be one of ['limit', 'series']; got {start!r}")
    model = NesterovODE(problem, r)
    x0 = np.asarray(x0, float).reshape(-1)
    t_eval = np.atleast_1d(np.asarray(t_eval, float))
    g0 = problem.grad(x0)
    if start == "limit":
        t0, y0 = 0.0, np.concatenate([x0, np.zeros_like(x0)])
    else:
        t0 = check_finite_param(t_start, "t_start", low=0.0, low_inclusive=False)
        if t_eval.min() < t0:
            raise ValueError(f"`t_eval` must be ≥ `t_start` = {t0:g} for the series start")
        y0 = np.concatenate([x0 - t0 ** 2 * g0 / (2 * (1 + r)), -t0 * g0 / (1 + r)])
    kw = {}
    if method in ("Radau", "BDF", "LSODA") and problem.hess_fn is not None:
        d = problem.dim

        def jac(t, y):
            J = np.zeros((2 * d, 2 * d))
            J[:d, d:] = np.eye(d)
            J[d:, :d] = -problem.hess_fn(y[None, :d])[0]
            J[d:, d:] = -(r / t) * np.eye(d) if t > 0 else 0.0
            return J
        kw["jac"] = jac
    sol = solve_ivp(model.rhs, (t0, float(t_eval.max())), y0, method=method, t_eval=t_eval,
                    rtol=rtol, atol=rtol / 10, **kw)
    if not sol.success:
        raise RuntimeError(f"solve_ivp({method}) failed on Nesterov's ODE: {sol.message}")
    return sol.y.T


def decay_exponent(t, values, window=(0.1, 1.0)):
    """Fitted exponent p of values ≈ C t^{−p} over t ∈ [window[0]·T, window[1]·T].

    Returns
    -------
    p : float
    stderr : float
    """
    t = np.asarray(t, float)
    v = np.asarray(values, float)
    T = t.max()
    m = (t >= window[0] * T) & (t <= window[1] * T) & (v > 0)
    if m.sum() < 3:
        raise ValueError("fewer than 3 positive values in the fitting window")
    res = stats.linregress(np.log(t[m]), np.log(v[m]))
    return float(-res.slope), float(res.stderr)


def power_function(p: float, dim: int = 1) -> Problem:
    """f(x) = Σ|x_i|^p (convex for p ≥ 1; ∇f continuous for p > 1, Lipschitz only for p ≥ 2).

    Its oscillations under X'' + (r/t)X' + ∇f = 0 decay in energy like t^{−2pr/(p+2)}
    (virial average: ⟨X'²⟩ = (2p/(p+2))E, dE/dt = −(r/t)X'²), which is slower than t^{−2}
    when p(r − 1) < 2: the family behind r = 3 being the smallest friction constant.
    """
    p = check_finite_param(p, "p", low=1.0, low_inclusive=False)

    def value(x):
        return np.sum(np.abs(x) ** p, axis=1)

    def grad(x):
        return p * np.abs(x) ** (p - 1) * np.sign(x)

    return from_grad(grad, dim, value=value, name=f"|x|^{p:g}")


# ---------------------------------------------------------------------------------------
# Shi, Du, Jordan & Su: high-resolution ODEs
# ---------------------------------------------------------------------------------------
class HighResolutionODE(Model):
    """Shi–Du–Jordan–Su's ODEs for μ-strongly convex f at step size s (2018, §2):

    * ``"heavy-ball"``:  X'' + 2√μ X' + (1 + √(μs))∇f(X) = 0  (eq 1.10)
    * ``"nag-sc"``:      X'' + 2√μ X' + √s ∇²f(X)X' + (1 + √(μs))∇f(X) = 0  (eq 1.12)
    * ``"low-resolution"``: X'' + 2√μ X' + ∇f(X) = 0, the O(√s) limit shared by both.

    The NAG-SC term √s∇²f(X)X' is the "gradient correction".  State y = [X, X'].
    Integrate with dt = √s (schemes :class:`~dynopt.schemes.HeavyBallSC`,
    :class:`~dynopt.schemes.NesterovSC`).

    Parameters
    ----------
    problem : Problem (with a Hessian for ``"nag-sc"``)
    mu : float > 0
    s : float > 0, with μs < 1
    variant : {"heavy-ball", "nag-sc", "low-resolution"}
    """

    kind = "high_resolution"
    VARIANTS = ("heavy-ball", "nag-sc", "low-resolution")

    def __init__(self, problem: Problem, mu: float, s: float, variant: str = "nag-sc"):
        super().__init__(problem)
        self.mu = check_finite_param(mu, "mu", low=0.0, low_inclusive=False)
        self.s = check_finite_param(s, "s", low=0.0, low_inclusive=False, high=1 / self.mu,
                                    high_inclusive=False)
        if variant not in self.VARIANTS:
            raise ValueError(f"`variant` must be one of {list(self.VARIANTS)}; got {variant!r}")
        if variant == "nag-sc" and problem.hess_fn is None:
            raise ValueError("`problem` needs a Hessian for the NAG-SC gradient correction")
        self.variant = variant
        self.damping = 2 * math.sqrt(self.mu)
        self.force_scale = 1.0 if variant == "low-resolution" else 1 + math.sqrt(self.mu * self.s)
        self.correction = math.sqrt(self.s) if variant == "nag-sc" else 0.0

    @property
    def name(self):
        return f"{self.variant} ODE (μ={self.mu:g}, s={self.s:g})"

    @property
    def state_dim(self):
        return 2 * self.d

    def drift(self, t, y):
        q, v = y[:, : self.d], y[:, self.d:]
        acc = -self.damping * v - self.force_scale * self.problem.grad_fn(q)
        if self.correction:
            acc = acc - self.correction * np.einsum("nij,nj->ni", self.problem.hess_fn(q), v)
        return np.concatenate([v, acc], axis=1)

    def linear_part(self):
        p = self.problem
        if not p.is_quadratic:
            return None
        d = self.d
        H = p.hessian_matrix
        A = np.zeros((2 * d, 2 * d))
        A[:d, d:] = np.eye(d)
        A[d:, :d] = -self.force_scale * H
        A[d:, d:] = -self.damping * np.eye(d) - self.correction * H
        return A, np.concatenate([p.center, np.zeros(d)])

    def shi_initial_velocity(self, x0):
        """Shi et al.'s X'(0) = −2√s∇f(x0)/(1 + √(μs)), shape (d,)."""
        return -2 * math.sqrt(self.s) * self.problem.grad(np.asarray(x0, float)) / (1 + math.sqrt(self.mu * self.s))


# ---------------------------------------------------------------------------------------
# Momentum SGD as a discretized Kramers equation
# ---------------------------------------------------------------------------------------
def as_generator(rng) -> np.random.Generator:
    """A Generator from an int, SeedSequence or Generator (never global state)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise TypeError(f"`rng` must be an int seed, SeedSequence or Generator; got {type(rng).__name__}")


@dataclass(frozen=True)
class KramersParameters:
    """The Kramers equation θ'' + λθ' = −∇L + σξ (kexue-5655 eq 21) of momentum SGD.

    Attributes
    ----------
    gamma, friction : float
        Step γ and friction λ from the inverse of kexue-5655 eq 15.
    sigma2 : float
        Noise intensity σ² = γc.  In the eq-14 form the noisy force −(∇L + ξ) is
        discretized like the force, so the velocity kick per step is γ·ξ, variance γ²c =
        σ²·γ (the implicit friction divides kick and force by the same 1 + λγ/2 that turns
        γ² into α).
    temperature : float
        σ²/(2λ): the stationary density of the Kramers equation is
        ∝ exp(−(η²/2 + L)/T).  With (γ, λ) from eq 15 this is exactly αc/(2(1−β)), the
        small-curvature temperature of SGD with learning rate α/(1−β).
    """

    gamma: float
    friction: float
    sigma2: float
    temperature: float


def kramers_parameters(alpha, beta, noise_var) -> KramersParameters:
    """Map momentum SGD v ← βv − α(∇L + ξ), θ ← θ + v, Var ξ = c, to the Kramers equation.

    Parameters
    ----------
    alpha : float > 0
    beta : float in [0, 1)
    noise_var : float ≥ 0
        Per-step, per-coordinate gradient-noise variance c.

    Returns
    -------
    KramersParameters
    """
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0)
    gamma, lam = leapfrog_ode_parameters(alpha, b)
    sigma2 = gamma * c
    temp = sigma2 / (2 * lam) if lam > 0 else math.inf
    return KramersParameters(gamma, lam, sigma2, temp)


def momentum_sgd_matrices(alpha, beta, h, lookahead=False):
    """(A, b) with z_{n+1} = A z_n + b ξ_n for z = (θ, v) of momentum SGD on L = hθ²/2
    (θ* = 0); ``lookahead`` takes the gradient at θ + βv (Nesterov).

    Returns
    -------
    A : ndarray, shape (2, 2)
    b : ndarray, shape (2,)
    """
    if lookahead:  # gradient at θ + βv
        A = np.array([[1 - alpha * h, beta * (1 - alpha * h)], [-alpha * h, beta * (1 - alpha * h)]])
    else:
        A = np.array([[1 - alpha * h, beta], [-alpha * h, beta]])
    return A, np.array([-alpha, -alpha])


def momentum_sgd_stationary_covariance(alpha, beta, h, noise_var, lookahead=False):
    """Exact stationary covariance of (θ, v) for momentum SGD on L = hθ²/2 with gradient
    noise of variance c: the solution of Σ = AΣAᵀ + c bbᵀ
    (``scipy.linalg.solve_discrete_lyapunov``).

    Raises
    ------
    ValueError
        If the iteration is unstable (spectral radius ≥ 1): no stationary law.
    """
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0, high_inclusive=False)
    h = check_finite_param(h, "h", low=0.0, low_inclusive=False)
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    A, bv = momentum_sgd_matrices(a, b, h, lookahead)
    if np.max(np.abs(np.linalg.eigvals(A))) >= 1:
        raise ValueError(f"momentum SGD with alpha={a:g}, beta={b:g} is unstable at curvature h={h:g}")
    return solve_discrete_lyapunov(A, c * np.outer(bv, bv))


def sgd_stationary_variance(lr, h, noise_var) -> float:
    """Var θ of SGD θ ← θ − lr(hθ + ξ) at stationarity: lr·c/(h(2 − lr·h)) (needs lr·h < 2)."""
    lr = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
    h = check_finite_param(h, "h", low=0.0, low_inclusive=False)
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    if lr * h >= 2:
        raise ValueError(f"`lr`·h must be < 2 for a stationary law; got {lr * h:g}")
    return lr * c / (h * (2 - lr * h))


@dataclass
class MomentumSGDRun:
    """Result of :func:`momentum_sgd_ensemble`.

    Attributes
    ----------
    theta, v : ndarray, shape (n_paths, d)
        Final iterates and momenta.
    steps : ndarray, shape (m,)
        Steps at which observables were recorded.
    energy_mean, energy_se : ndarray, shape (m,)
        Ensemble mean and standard error of H = ‖v/γ‖²/2 + L(θ) (γ from eq 15).
    eta2_mean : ndarray, shape (m,)
        Ensemble mean of ‖v/γ‖².
    gamma : float
    """

    theta: np.ndarray
    v: np.ndarray
    steps: np.ndarray
    energy_mean: np.ndarray
    energy_se: np.ndarray
    eta2_mean: np.ndarray
    gamma: float


def momentum_sgd_ensemble(problem: Problem, alpha, beta, noise_var, n_steps, n_paths, rng,
                          theta0=None, record_every=None) -> MomentumSGDRun:
    """Momentum SGD with additive Gaussian gradient noise, an ensemble of paths::

        v_{n+1} = β v_n − α(∇L(θ_n) + ξ_n),  θ_{n+1} = θ_n + v_{n+1},  ξ_n ~ N(0, c·I)

    (kexue-5655 eq 16 with a noisy gradient; β = 1 is "naive SGHMC", Chen, Fox & Guestrin
    2014, eq 3 discretized).  Started from rest at ``theta0`` (default x* or 0).

    Parameters
    ----------
    problem : Problem
    alpha : float > 0
    beta : float in [0, 1]
    noise_var : float ≥ 0
    n_steps, n_paths : int ≥ 1
    rng : int, SeedSequence or Generator
    theta0 : array_like, shape (d,), optional
    record_every : int, optional
        Record energy statistics every so many steps (default: only at the end).

    Returns
    -------
    MomentumSGDRun
    """
    a = check_finite_param(alpha, "alpha", low=0.0, low_inclusive=False)
    b = check_finite_param(beta, "beta", low=0.0, high=1.0)
    c = check_finite_param(noise_var, "noise_var", low=0.0)
    for nm, val in (("n_steps", n_steps), ("n_paths", n_paths)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"`{nm}` must be a positive integer; got {val!r}")
    gen = as_generator(rng)
    d = problem.dim
    if theta0 is None:
        theta0 = problem.minima[0] if problem.minima is not None else np.zeros(d)
    theta = np.broadcast_to(np.asarray(theta0, float).reshape(1, d), (n_paths, d)).copy()
    v = np.zeros_like(theta)
    gamma, _ = leapfrog_ode_parameters(a, b)
    sd = math.sqrt(c)
    every = record_every or n_steps
    steps, em, es, e2 = [], [], [], []

    def record(n):
        eta2 = np.sum(v * v, axis=1) / gamma ** 2
        H = 0.5 * eta2 + problem.value_fn(theta)
        steps.append(n)
        em.append(H.mean())
        es.append(H.std(ddof=1) / math.sqrt(n_paths) if n_paths > 1 else math.nan)
        e2.append(eta2.mean())

    record(0)
    for n in range(1, n_steps + 1):
        g = problem.grad_fn(theta) + sd * gen.standard_normal((n_paths, d))
        v = b * v - a * g
        theta = theta + v
        if n % every == 0:
            record(n)
    return MomentumSGDRun(theta, v, np.array(steps), np.array(em), np.array(es), np.array(e2), gamma)


# ---------------------------------------------------------------------------------------
# Lessard–Recht–Packard: cycles of a two-step method on a 1-D function
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cycle:
    """A periodic orbit of heavy ball z = (x_{k−1}, x_k) ↦ (x_k, x_{k+1}).

    Attributes
    ----------
    period : int
    points : ndarray, shape (period,)
        The iterates x_k around the cycle, starting from the smallest.
    multipliers : ndarray, shape (2,)
        Eigenvalues of the Jacobian of the period map (stable if all |·| < 1).
    residual : float
        max |F^p(z) − z| after refinement.
    """

    period: int
    points: np.ndarray
    multipliers: np.ndarray
    residual: float

    @property
    def stable(self) -> bool:
        return bool(np.all(np.abs(self.multipliers) < 1))


def _hb_map(problem, alpha, beta, z):
    xp, x = z
    return np.array([x, x + beta * (x - xp) - alpha * problem.grad(np.array([x]))[0]])


def refine_cycle(problem: Problem, alpha, beta, z0, period: int, tol=1e-13, max_iter=50) -> Cycle:
    """Newton's method on F^p(z) = z for heavy ball x_{k+1} = x_k + β(x_k − x_{k−1}) −
    α f'(x_k) on a 1-D ``problem`` (with Hessian), from a point ``z0`` = (x_{k−1}, x_k)
    near the cycle.  For a piecewise-linear f' it lands on the exact cycle in one step
    once the itinerary is right.

    Raises
    ------
    RuntimeError
        If Newton does not converge to ``tol``.
    """
    if problem.dim != 1 or problem.hess_fn is None:
        raise ValueError("`problem` must be 1-D with a Hessian")
    if not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"`period` must be a positive integer; got {period!r}")
    z = np.asarray(z0, float).reshape(2)
    for _ in range(max_iter):
        J = np.eye(2)
        w = z.copy()
        for _k in range(period):
            hx = problem.hess(np.array([w[1]]))[0, 0]
            Jk = np.array([[0.0, 1.0], [-beta, 1 + beta - alpha * hx]])
            J = Jk @ J
            w = _hb_map(problem, alpha, beta, w)
        F = w - z
        if np.max(np.abs(F)) <= tol * (1 + np.max(np.abs(z))):
            pts = [z[1]]
            w = z.copy()
            for _k in range(period - 1):
                w = _hb_map(problem, alpha, beta, w)
                pts.append(w[1])
            pts = np.array(pts)
            pts = np.roll(pts, -int(np.argmin(pts)))
            return Cycle(int(period), pts, np.linalg.eigvals(J), float(np.max(np.abs(F))))
        z = z - np.linalg.solve(J - np.eye(2), F)
    raise RuntimeError(f"Newton on the period-{period} map did not converge (|F| = {np.max(np.abs(F)):.3g})")


def classify_orbits(model: Model, scheme, dt, starts, n_steps=3000, max_period=12, conv_tol=1e-10,
                    cycle_tol=1e-9):
    """Run ``scheme`` on a 1-D ``model`` from rest at each start and classify the orbit.

    Returns
    -------
    labels : ndarray of int, shape (n,)
        0 converged to x* (|x_N − x*| ≤ conv_tol·max(1, |x_0 − x*|)), p ≥ 1 a cycle of
        period p (|x_{N−j} − x_{N−j−p}| ≤ cycle_tol for j < p), −1 diverged, −2
        undetermined.
    tails : ndarray, shape (n, 2·max_period)
        The last iterates (for refining a cycle).
    """
    starts = np.asarray(starts, float).reshape(-1, 1)
    if model.d != 1:
        raise ValueError("`model` must be 1-D")
    y = model.as_state(starts)
    state = scheme.init(model, y, dt)
    K = 2 * max_period
    tails = np.empty((starts.shape[0], K))
    xstar = model.problem.minima[0, 0] if model.problem.minima is not None else 0.0
    diverged = np.zeros(starts.shape[0], bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            state = scheme.step(model, k * dt, state, dt)
            x = state[0][:, 0]
            bad = ~np.isfinite(x) | (np.abs(x) > 1e100)
            diverged |= bad
            if k >= n_steps - K:
                tails[:, k - (n_steps - K)] = x
    labels = np.full(starts.shape[0], -2)
    last = tails[:, -1]
    conv = np.abs(last - xstar) <= conv_tol * np.maximum(1.0, np.abs(starts[:, 0] - xstar))
    labels[conv] = 0
    for p in range(1, max_period + 1):
        undecided = labels == -2
        if not undecided.any():
            break
        ok = np.all(np.abs(tails[:, K - p:] - tails[:, K - 2 * p:K - p]) <= cycle_tol, axis=1)
        labels[undecided & ok] = p
    labels[diverged] = -1
    return labels, tails
