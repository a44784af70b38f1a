"""Stochastic models ``dy = f(t, y) dt + g(t, y) dW``: overdamped Langevin (SGD's model,
dθ = −∇L dt + σ dW), Kramers (momentum SGD's, dθ = η dt, dη = −λη dt − ∇L dt + σ dW) and a
user's SDE (Itô or Stratonovich), with the noise type (additive, diagonal, general) each declares.
"""
from __future__ import annotations
from dynopt.dynamics.base import Model
from dynopt.checks import check_finite_param, check_int
from dynopt.dynamics.sigma_expr import sigma_expression


import numpy as np

__all__ = ["odd_cubic", "NOISE_TYPES", "CALCULI", "SDEModel", "OverdampedLangevin", "Kramers", "SDE", "geometric_brownian_motion", "ornstein_uhlenbeck"]


def _block_diag(blocks):
    """Dense block-diagonal matrix from ``(n, k, k)`` blocks (n is small for scipy solves)."""
    n, k, _ = blocks.shape
    out = np.zeros((n * k, n * k))
    for i in range(n):
        out[i * k:(i + 1) * k, i * k:(i + 1) * k] = blocks[i]
    return out


#: noise structures an SDE model can declare (schemes list the ones they support)
NOISE_TYPES = ("additive", "diagonal", "general")


CALCULI = ("ito", "stratonovich")


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}; got {value!r}")
    return value


def odd_cubic(coefficients):
    """``(a1, a3)`` if the polynomial ``coefficients`` (increasing powers) is a1·x + a3·x³,
    else None (a capability a model may declare; no scheme takes a special path for it)."""
    if coefficients is None or len(coefficients) > 4:
        return None
    c = tuple(float(v) for v in coefficients) + (0.0,) * (4 - len(coefficients))
    if c[0] != 0.0 or c[2] != 0.0:
        return None
    return c[1], c[3]


class SDEModel(Model):
    """Base class of SDE models dY = f(t, Y) dt + g(t, Y) dW.

    Subclasses provide the attributes and methods below.

    Attributes
    ----------
    kind, state_dim : as for :class:`Model`.
    noise : str
        ``"additive"`` (g a constant matrix, shape (state_dim, noise_dim)),
        ``"diagonal"`` (g(t, y) of shape (n, state_dim), component i driven by W_i only,
        noise_dim = state_dim) or ``"general"`` (g(t, y) of shape (n, state_dim, noise_dim)).
    noise_dim : int
        Number m of independent Wiener processes.
    calculus : str
        ``"ito"`` or ``"stratonovich"``: how ``drift`` is to be read.
    drift(t, y) -> (n, state_dim)
    diffusion(t, y) -> (n, state_dim) for diagonal noise, (n, state_dim, m) for general
        noise; for additive noise the constant ``diffusion_matrix`` (state_dim, m).
    diffusion_dx(t, y) -> (n, state_dim)
        ∂g_i/∂y_i for diagonal noise (Milstein); default: central differences.

    Notes
    -----
    Capabilities (None when a model does not have them; schemes ask, never probe):

    scalar_sigma : float or None
        σ when the noise is additive and g = σ·I.
    drift_polynomial : tuple of float or None
        ``(a_0, a_1, ...)`` when the drift acts componentwise as one polynomial,
        f_i(t, y) = Σ_k a_k y_i^k (overdamped Langevin on a problem that declares
        ``grad_polynomial``).

    **Oracles a scheme's step may call** (they return new arrays, never update in place):

    drift(t, y), drift_in(calculus)(t, y) -> (n, state_dim)
        The drift (in the given calculus).
    noise_term(t, y, dW) -> (n, state_dim)
        g(t, y)·dW for every noise type.
    diffusion(t, y), diffusion_dx(t, y) -> (n, state_dim)
        g_i and ∂g_i/∂y_i for diagonal noise.
    grad(q), force(q) -> (n, d)
        ∇L and −∇L for models on a problem.

    Schemes ask for the drift in the calculus they discretize (:meth:`drift_in`), so an
    Itô scheme applied to a Stratonovich model uses f + ½ c and vice versa, with the
    correction c_i = Σ_{k,j} g_kj ∂_k g_ij (zero for additive noise).
    """

    is_sde = True
    kind = "sde"
    noise = "additive"
    calculus = "ito"
    diffusion_matrix = None
    scalar_sigma = None
    drift_polynomial = None

    # -- noise ----------------------------------------------------------------------------
    def diffusion(self, t, y):
        if self.noise == "additive":
            return self.diffusion_matrix
        raise NotImplementedError

    def noise_term(self, t, y, dW):
        """g(t, y)·dW, shape like ``y``, for any noise type; ``dW`` has shape (n, noise_dim).

        A new array (nothing is updated in place), written as plain arithmetic so that a
        scheme's step calling it runs on floats, sympy object arrays and tracers alike.
        """
        if self.noise == "additive":
            if self.scalar_sigma is not None:
                return self.scalar_sigma * dW
            G = self.diffusion_matrix
            if dW.dtype != object:
                G = G.astype(dW.dtype, copy=False)
            return dW @ G.T
        g = self.diffusion(t, y)
        if self.noise == "diagonal":
            return g * dW
        return np.matmul(g, dW[..., None])[..., 0]

    def diffusion_dx(self, t, y):
        """∂g_i/∂y_i for diagonal noise (central differences unless overridden)."""
        if self.noise == "additive":
            return np.zeros_like(y)
        if self.noise != "diagonal":
            raise ValueError(f"`diffusion_dx` is defined for diagonal noise; this model has {self.noise} noise")
        eps = 1e-6 * (1.0 + np.abs(y))
        return (self.diffusion(t, y + eps) - self.diffusion(t, y - eps)) / (2 * eps)

    def ito_correction(self, t, y):
        """c_i = Σ_{k,j} g_kj ∂_k g_ij, the Itô–Stratonovich drift difference (×½)."""
        if self.noise == "additive":
            return np.zeros_like(y)
        if self.noise == "diagonal":
            return self.diffusion(t, y) * self.diffusion_dx(t, y)
        g = self.diffusion(t, y)  # (n, D, m)
        n, D, m = g.shape
        c = np.zeros((n, D))
        for k in range(D):  # directional derivative of g along column-weights g_k·
            e = np.zeros(D)
            e[k] = 1.0
            h = 1e-6 * (1.0 + np.abs(y[:, k:k + 1]))
            dg = (self.diffusion(t, y + h * e) - self.diffusion(t, y - h * e)) / (2 * h[:, :, None])
            c += np.einsum("nj,nij->ni", g[:, k, :], dg)
        return c

    def drift_in(self, calculus):
        """The drift function for ``calculus`` ("ito" or "stratonovich")."""
        _check_choice(calculus, "calculus", CALCULI)
        if calculus == self.calculus or self.noise == "additive":
            return self.drift
        sign = 0.5 if calculus == "ito" else -0.5

        def f(t, y):
            return self.drift(t, y) + sign * self.ito_correction(t, y)
        return f

    def describe_noise(self):
        return f"{self.noise} noise, m={self.noise_dim}, {self.calculus}"


def _check_sigma(sigma, d, name="sigma", vector=False):
    """Return (scalar or None, matrix) for a constant σ (a vector of d amplitudes too when
    ``vector``); ValueError naming ``name``."""
    arr = np.asarray(sigma, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got {sigma!r}")
    if arr.ndim == 0:
        if arr < 0:
            raise ValueError(f"`{name}` must be in [0, inf); got {sigma!r}")
        return float(arr), float(arr) * np.eye(d)
    if arr.ndim == 2 and arr.shape[0] == d:
        return None, arr.copy()
    if vector and arr.ndim == 1 and arr.shape[0] == d:
        return None, np.diag(arr)  # one amplitude per component: diagonal, m = d
    shapes = f"a vector of {d} amplitudes or a matrix of shape ({d}, m)" if vector else f"a matrix of shape ({d}, m)"
    raise ValueError(f"`{name}` must be a scalar ≥ 0 or {shapes}; got shape {arr.shape}")


class OverdampedLangevin(SDEModel):
    """Overdamped Langevin dθ = −∇L(θ) dt + σ dW (kexue-5655 eq 8), Itô.

    Its stationary density is ∝ exp(−2L/σ²) for scalar σ (the Gibbs density at
    temperature σ²/2).

    Parameters
    ----------
    problem : Problem
    sigma : float ≥ 0, array_like (d,) or (d, m), sympy expression(s), or callable
        Scalar, vector (one amplitude per component) or constant matrix: additive noise.
        A sympy expression or string in the problem's symbols (σ(θ) for every component),
        or a sequence of d of them (σ_i(θ)): diagonal noise, with ∂σ_i/∂θ_i for Milstein
        from sympy (``sigma_expr`` keeps them; compiled kernels print them).  A callable
        ``sigma(theta)`` on ``(n, d)`` returns ``(n, d)`` (``noise="diagonal"``) or
        ``(n, d, m)`` (``noise="general"``).
    noise : {"diagonal", "general"}
        Only for callable ``sigma``.
    noise_dim : int
        m, only for callable ``sigma`` with general noise (default d).
    sigma_dx : callable, optional
        ∂σ_i/∂θ_i for a diagonal callable σ (Milstein); default central differences.
    """

    kind = "langevin"

    def __init__(self, problem, sigma=1.0, *, noise=None, noise_dim=None, sigma_dx=None):
        super().__init__(problem)
        d = self.d
        self.sigma_expr = sigma_expression(sigma, problem)
        if self.sigma_expr is not None:
            if noise not in (None, "diagonal") or sigma_dx is not None:
                raise ValueError("`sigma` given as expressions is diagonal noise with its own derivative: "
                                 "leave `noise` and `sigma_dx` unset")
            sigma, sigma_dx = self.sigma_expr.fn, self.sigma_expr.dx
        if callable(sigma):
            self.noise = _check_choice(noise or "diagonal", "noise", ("diagonal", "general"))
            self.noise_dim = d if self.noise == "diagonal" else int(noise_dim or d)
            self._sigma_fn = sigma
            self._sigma_dx = sigma_dx
            probe = np.zeros((2, d)) if problem.minima is None else np.repeat(problem.minima[:1], 2, 0)
            out = np.asarray(sigma(probe))
            want = (2, d) if self.noise == "diagonal" else (2, d, self.noise_dim)
            if out.shape != want:
                raise ValueError(f"`sigma` returned shape {out.shape} on (2, {d}) points; "
                                 f"{self.noise} noise needs {want}")
            self.sigma = sigma
        else:
            if noise not in (None, "additive"):
                raise ValueError(f"`noise` is fixed to 'additive' for a constant `sigma`; got {noise!r}")
            self.scalar_sigma, self.diffusion_matrix = _check_sigma(sigma, d, vector=True)
            self.noise_dim = self.diffusion_matrix.shape[1]
            self.noise = "additive"
            self.sigma = self.scalar_sigma if self.scalar_sigma is not None else self.diffusion_matrix

    @property
    def name(self):
        s = f"{self.sigma:g}" if isinstance(self.sigma, float) else "Σ"
        return f"Langevin dθ=−∇L dt+σdW (σ={s})"

    @property
    def state_dim(self):
        return self.d

    @property
    def drift_polynomial(self):
        c = self.problem.grad_polynomial
        return None if c is None else tuple(-float(v) for v in c)

    def drift(self, t, y):
        return -self.grad(y)

    def diffusion(self, t, y):
        if self.noise == "additive":
            return self.diffusion_matrix
        return np.array(self._sigma_fn(y), dtype=float)

    def diffusion_dx(self, t, y):
        if self.noise == "diagonal" and self._sigma_dx is not None:
            return np.asarray(self._sigma_dx(y), dtype=float)
        return super().diffusion_dx(t, y)

    def stationary_log_density(self, x):
        """−2L(x)/σ² (unnormalised), for scalar σ."""
        if self.scalar_sigma is None or self.scalar_sigma == 0:
            raise ValueError("the Gibbs density exp(−2L/σ²) needs a scalar `sigma` > 0")
        return -2.0 * self.problem.value(x) / self.scalar_sigma ** 2


class Kramers(SDEModel):
    """Underdamped (Kramers) Langevin: dθ = η dt, dη = (−λη − ∇L(θ)) dt + σ dW (eq 21).

    State y = [θ, η] (state_dim 2d), additive noise on η only (m = d).  For λ > 0 the
    stationary density is ∝ exp(−(2λ/σ²)(|η|²/2 + L(θ))): temperature kT = σ²/(2λ).

    Parameters
    ----------
    problem : Problem
    friction : float ≥ 0
        λ.
    sigma : float ≥ 0
    """

    kind = "kramers"

    def __init__(self, problem, friction=1.0, sigma=1.0):
        super().__init__(problem)
        self.friction = check_finite_param(friction, "friction", low=0.0)
        self.sigma = check_finite_param(sigma, "sigma", low=0.0)
        d = self.d
        self.noise_dim = d
        self.diffusion_matrix = np.vstack([np.zeros((d, d)), self.sigma * np.eye(d)])

    @property
    def name(self):
        return f"Kramers θ''+λθ'=−∇L+σξ (λ={self.friction:g}, σ={self.sigma:g})"

    @property
    def state_dim(self):
        return 2 * self.d

    @property
    def temperature(self):
        """kT = σ²/(2λ) (inf for λ = 0)."""
        return np.inf if self.friction == 0 else self.sigma ** 2 / (2 * self.friction)

    def velocity(self, y):
        return y[..., self.d:]

    def drift(self, t, y):
        q, v = y[:, : self.d], y[:, self.d:]
        return np.concatenate([v, -self.friction * v + self.force(q)], axis=1)

    def hamiltonian(self, y):
        """H = |η|²/2 + L(θ)."""
        return 0.5 * np.sum(self.velocity(y) ** 2, axis=-1) + self.problem.value(self.position(y))


class SDE(SDEModel):
    """A user SDE dX = f(t, X) dt + g(t, X) dW (Itô by default).

    Parameters
    ----------
    drift : callable
        ``f(t, x)`` with x of shape (n, dim) → (n, dim).
    diffusion : callable or array_like
        ``g(t, x)`` → (n, dim) for ``noise="diagonal"``, (n, dim, m) for
        ``noise="general"``; a constant matrix (dim, m) or scalar for ``noise="additive"``.
    dim : int
    noise : {"diagonal", "general", "additive"}
    noise_dim : int, optional
        m (general noise; default dim).
    calculus : {"ito", "stratonovich"}
        How ``drift`` is read.  Itô schemes get f + ½c, Stratonovich schemes f − ½c.
    diffusion_dx : callable, optional
        ∂g_i/∂x_i for diagonal noise (Milstein).
    probe : array_like, shape (dim,), optional
        A point where f and g are evaluated once to check their shapes (default ones).
    name : str
    """

    kind = "sde"

    def __init__(self, drift, diffusion, dim, *, noise="diagonal", noise_dim=None,
                 calculus="ito", diffusion_dx=None, probe=None, name="sde"):
        if not callable(drift):
            raise TypeError("`drift` must be callable f(t, x)")
        self.problem = None
        self._dim = check_int(dim, "dim")
        self.noise = _check_choice(noise, "noise", NOISE_TYPES)
        self.calculus = _check_choice(calculus, "calculus", CALCULI)
        self._f, self._dx, self._name = drift, diffusion_dx, name
        D = self._dim
        x = np.ones((2, D)) if probe is None else np.repeat(np.asarray(probe, float).reshape(1, D), 2, 0)
        fx = np.asarray(drift(0.0, x))
        if fx.shape != (2, D):
            raise ValueError(f"`drift` returned shape {fx.shape} on (2, {D}) points; expected (2, {D})")
        if self.noise == "additive":
            if callable(diffusion):
                raise ValueError("`diffusion` must be a constant (scalar or matrix) for additive noise")
            self.scalar_sigma, self.diffusion_matrix = _check_sigma(diffusion, D, "diffusion")
            self.noise_dim = self.diffusion_matrix.shape[1]
        else:
            if not callable(diffusion):
                raise ValueError(f"`diffusion` must be callable g(t, x) for {noise} noise")
            self._g = diffusion
            self.noise_dim = D if self.noise == "diagonal" else int(noise_dim or D)
            gx = np.asarray(diffusion(0.0, x))
            want = (2, D) if self.noise == "diagonal" else (2, D, self.noise_dim)
            if gx.shape != want:
                raise ValueError(f"`diffusion` returned shape {gx.shape} on (2, {D}) points; "
                                 f"{self.noise} noise needs {want}")

    @property
    def d(self):
        return self._dim

    @property
    def state_dim(self):
        return self._dim

    @property
    def name(self):
        return self._name

    def drift(self, t, y):
        return np.asarray(self._f(t, y), dtype=y.dtype)

    def diffusion(self, t, y):
        if self.noise == "additive":
            return self.diffusion_matrix
        return np.array(self._g(t, y), dtype=y.dtype)

    def diffusion_dx(self, t, y):
        if self.noise == "diagonal" and self._dx is not None:
            return np.asarray(self._dx(t, y), dtype=y.dtype)
        return super().diffusion_dx(t, y)

    def __repr__(self):
        return f"SDE({self._name!r}, dim={self._dim}, {self.noise}, {self.calculus})"


def geometric_brownian_motion(mu=1.0, sigma=0.5, calculus="ito"):
    """dX = μX dt + σX dW (``calculus`` as given): exact X_T = X_0 exp((μ − σ²/2·[Itô])T + σW_T)."""
    mu = check_finite_param(mu, "mu")
    sigma = check_finite_param(sigma, "sigma", low=0.0)
    return SDE(lambda t, x: mu * x, lambda t, x: sigma * x, 1, noise="diagonal", calculus=calculus,
               diffusion_dx=lambda t, x: np.full_like(x, sigma), name=f"GBM(μ={mu:g}, σ={sigma:g}, {calculus})")


def ornstein_uhlenbeck(theta=1.0, sigma=1.0, mean=0.0):
    """dX = −θ(X − mean) dt + σ dW (additive noise)."""
    theta = check_finite_param(theta, "theta", low=0.0)
    sigma = check_finite_param(sigma, "sigma", low=0.0)
    mean = check_finite_param(mean, "mean")
    m = SDE(lambda t, x: -theta * (x - mean), sigma, 1, noise="additive",
            name=f"OU(θ={theta:g}, σ={sigma:g})")
    m.theta, m.mean = theta, mean
    return m
