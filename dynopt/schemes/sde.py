"""Fixed-step SDE schemes for :class:`dynopt.dynamics.SDEModel` models.

Every scheme declares the model classes it discretizes, its strong and weak order, the
calculus it discretizes (Itô or Stratonovich), the noise structures it supports and how
many standard-normal vectors it consumes per step.  :meth:`SDEScheme.check_model` checks
all of that before a run starts.

The protocol (used by :func:`dynopt.engine.simulate`) works on one chunk of paths:
``init(model, y0, dt) -> State`` (a NamedTuple; arrays have one row per path),
``step(model, t, state, dt, z) -> State`` with ``z`` of shape ``(n_terms, n, noise_dim)``
holding N(0, 1) numbers (arrays may be updated in place, the state is returned), and
``output(model, state) -> (n, state_dim)``.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from dynopt.dynamics import NOISE_TYPES, OverdampedLangevin, SDEModel, SGDModifiedEquation, odd_cubic
from dynopt.schemes.base import Scheme, model_classes
from dynopt.schemes.registry import register

__all__ = ["SDEScheme", "EulerMaruyama", "Milstein", "StochasticHeun", "LeimkuhlerMatthews", "SGDIterates"]


class SDEScheme(Scheme):
    """Base class of fixed-step SDE schemes: configuration only, run data in the state.

    To add a scheme: set ``approximates`` (model classes), ``strong_order`` (and
    ``strong_order_additive`` if additive noise raises it), ``weak_order``, ``calculus``,
    ``noise_types`` and ``n_terms``; implement ``init``/``step``/``output`` keeping all run
    data in a NamedTuple state whose arrays have one row per path and whose last field
    ``grad_evals`` counts drift (gradient) evaluations per path; ``step`` may update the
    arrays in place but returns the state.  Register it with ``@register()`` or pass an
    instance to :func:`dynopt.engine.simulate`.  ``tests/test_sde_orders.py`` measures the
    declared orders of every registered scheme with no test edit.

    Attributes
    ----------
    approximates : tuple of type
        :class:`dynopt.dynamics.SDEModel` subclasses the scheme discretizes.
    strong_order, weak_order : float or None
        For general (multiplicative) noise; ``strong_order_additive`` for additive noise.
        ``None``: no such order in the time step.
    orders_in_dt : bool
        False when the step is fixed by the model (SGD iterates: dt is the model's
        learning rate), so the declared orders are in a model parameter and refining dt
        on one model does not measure them.
    calculus : {"ito", "stratonovich"}
        The drift a scheme needs (the model converts with its Itô–Stratonovich correction).
    noise_types : tuple of str
        Subset of ("additive", "diagonal", "general").
    n_terms : int
        Standard-normal vectors used per step; with Brownian replay term j is the
        increment over the j-th of n_terms equal parts of the step.
    noise_kind : {"normal", "custom"}
        "custom" schemes draw their own randomness with ``draw_noise``.
    """

    class State(NamedTuple):
        """The model state ``y`` (n, state_dim) and drift evaluations per path."""

        y: np.ndarray
        grad_evals: int

    approximates = (SDEModel,)
    strong_order = 0.5
    strong_order_additive = None
    weak_order = 1.0
    orders_in_dt = True
    calculus = "ito"
    noise_types = NOISE_TYPES
    n_terms = 1
    noise_kind = "normal"

    @property
    def order(self):
        return self.strong_order

    def declared_strong_order(self, model) -> Optional[float]:
        """The strong order declared for ``model``'s noise type (None if none is)."""
        if model.noise == "additive" and self.strong_order_additive is not None:
            return self.strong_order_additive
        return self.strong_order

    def check_model(self, model):
        """Raise ValueError if ``model`` is not an SDE this scheme can integrate."""
        if not getattr(model, "is_sde", False):
            raise ValueError(f"`scheme` {self.name!r} integrates SDE models; got {model!r} (an ODE model)")
        if not isinstance(model, self.approximates):
            raise ValueError(f"`scheme` {self.name!r} discretizes {model_classes(self.approximates)} models; "
                             f"got a {type(model).__name__} ({model!r})")
        if model.noise not in self.noise_types:
            raise ValueError(f"`scheme` {self.name!r} supports {', '.join(self.noise_types)} noise; "
                             f"got {model.noise} noise ({model!r})")

    def init(self, model, y0, dt):
        return self.State(y0, 0)

    def kill(self, state, rows):
        """Set the rows ``rows`` (bool mask) of every per-path array of ``state`` to NaN
        (diverged paths); returns the state."""
        for a in state:
            if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == rows.shape[0]:
                a[rows] = np.nan
        return state

    def describe(self):
        return (f"{self.name} (strong {self.strong_order}, weak {self.weak_order}, {self.calculus}, "
                f"noise: {'/'.join(self.noise_types)})")


@register()
class EulerMaruyama(SDEScheme):
    """Euler–Maruyama Y ← Y + f(Y) h + g(Y) ΔW.  Itô; strong order 0.5 (1 for additive
    noise), weak order 1; one drift evaluation per step; any noise
    (Kloeden & Platen 1992, §10.2).  On overdamped Langevin it is SGD with Gaussian noise."""

    class State(NamedTuple):
        """``y`` the paths (y/scale on the fused path), a work array, the fused path's
        scale σ√dt and its step coefficients (None on the generic paths), drift
        evaluations per path."""

        y: np.ndarray
        work: np.ndarray
        scale: Optional[float]
        fused: Optional[tuple]
        grad_evals: int

    name = "euler-maruyama"
    strong_order_additive = 1.0
    reference = "Maruyama (1955); Kloeden & Platen (1992) §10.2"

    def init(self, model, y0, dt):
        cubic = odd_cubic(model.drift_polynomial)
        s = model.scalar_sigma
        if s and cubic is not None:
            # the fused path keeps u = y/c, c = σ√dt: x ← x(1 + h a1 + h a3 x²) + c ΔZ
            # becomes u ← u(1 + h a1 + h a3 c² u²) + ΔZ (see step)
            a1, a3 = cubic
            c = s * math.sqrt(dt)
            return self.State(y0 / c, np.empty_like(y0), c, (dt * a3 * c * c, 1.0 + dt * a1), 0)
        return self.State(y0, np.empty_like(y0), None, None, 0)

    def output(self, model, state):
        return state.y * state.scale if state.scale else state.y

    def step(self, model, t, state, dt, z):
        y, work = state.y, state.work
        dW = z[0]
        sq = math.sqrt(dt)
        if state.fused:
            # the hot path of the benchmark, 5 passes over the chunk, the normals added
            # as drawn (no scaling pass); the coefficients are those of init's dt
            mult, shift = state.fused
            np.multiply(y, y, out=work)
            work *= mult
            work += shift
            y *= work
            y += dW
        elif model.scalar_sigma is not None:  # additive σI: 6 passes over the chunk
            model.euler_drift_(t, y, dt, work)
            dW *= model.scalar_sigma * sq
            y += dW
        elif model.noise == "additive":
            dW *= sq
            model.euler_drift_(t, y, dt, work)
            model.add_noise(t, y, dW, y)
        else:
            dW *= sq
            incr = model.add_noise(t, y, dW, np.zeros_like(y))  # g at the old state
            model.euler_drift_(t, y, dt, work)
            y += incr
        return self.State(y, work, state.scale, state.fused, state.grad_evals + 1)


@register()
class Milstein(SDEScheme):
    """Milstein Y ← Y + f h + g ΔW + ½ g ∂g (ΔW² − h).  Itô; strong order 1, weak order 1;
    diagonal or additive noise only (general noise needs Lévy areas); one drift and
    one diffusion derivative per step (Kloeden & Platen 1992, §10.3)."""

    class State(NamedTuple):
        """The paths ``y``, a work array, drift evaluations per path."""

        y: np.ndarray
        work: np.ndarray
        grad_evals: int

    name = "milstein"
    strong_order = 1.0
    strong_order_additive = 1.0
    noise_types = ("additive", "diagonal")
    reference = "Milstein (1974); Kloeden & Platen (1992) §10.3"

    def init(self, model, y0, dt):
        return self.State(y0, np.empty_like(y0), 0)

    def step(self, model, t, state, dt, z):
        y, work = state.y, state.work
        dW = z[0] * math.sqrt(dt)
        if model.noise == "additive":
            model.euler_drift_(t, y, dt, work)
            model.add_noise(t, y, dW, y)
        else:
            g = model.diffusion(t, y)
            corr = 0.5 * g * model.diffusion_dx(t, y) * (dW * dW - dt)
            incr = g * dW + corr
            model.euler_drift_(t, y, dt, work)
            y += incr
        return self.State(y, work, state.grad_evals + 1)


@register()
class StochasticHeun(SDEScheme):
    """Stochastic Heun (trapezoidal predictor–corrector).  Stratonovich; strong order 1 for
    commutative (e.g. scalar or diagonal) noise, 0.5 otherwise; weak order 1; two drift
    and two diffusion evaluations per step.  An Itô model is integrated through its
    Stratonovich drift f − ½c (Kloeden & Platen 1992, §11.1; Rümelin 1982)."""

    name = "stochastic-heun"
    calculus = "stratonovich"
    strong_order = 1.0
    strong_order_additive = 1.0
    grad_evals = 2
    reference = "Rümelin (1982); Kloeden & Platen (1992)"

    def step(self, model, t, state, dt, z):
        y = state.y
        dW = z[0] * math.sqrt(dt)
        f = model.drift_in("stratonovich")
        f0 = f(t, y)
        g0 = model.add_noise(t, y, dW.copy(), np.zeros_like(y))
        pred = y + f0 * dt + g0
        f1 = f(t + dt, pred)
        g1 = model.add_noise(t + dt, pred, dW.copy(), np.zeros_like(y))
        y += 0.5 * dt * (f0 + f1) + 0.5 * (g0 + g1)
        return self.State(y, state.grad_evals + 2)


@register()
class LeimkuhlerMatthews(SDEScheme):
    """The Leimkuhler–Matthews Brownian-dynamics scheme (the BAOAB high-friction limit):

    θ_{n+1} = θ_n − h ∇L(θ_n) + σ √h (ξ_n + ξ_{n+1})/2.

    Non-Markovian (coloured) noise, one gradient per step; weak order 1 at finite times
    but second order for the invariant measure, where Euler–Maruyama is first order
    (Leimkuhler & Matthews 2013).  Additive noise only.  The previous step's normals
    ξ_n are part of the state.
    """

    class State(NamedTuple):
        """The paths ``y``, a work array, the previous step's normals (None before the
        first step), gradient evaluations per path."""

        y: np.ndarray
        work: np.ndarray
        prev: Optional[np.ndarray]
        grad_evals: int

    name = "leimkuhler-matthews"
    approximates = (OverdampedLangevin,)
    noise_types = ("additive",)
    strong_order = 0.5
    strong_order_additive = 0.5
    weak_order = 1.0
    reference = "Leimkuhler & Matthews, Appl. Math. Res. Express 2013, eq (the limit method)"

    def init(self, model, y0, dt):
        return self.State(y0, np.empty_like(y0), None, 0)

    def step(self, model, t, state, dt, z):
        y, work, prev = state.y, state.work, state.prev
        xi = z[0]
        if prev is None:
            # ξ_0 is drawn from the first step's numbers: the first step uses ξ_1 twice.
            prev = xi.copy()
        model.euler_drift_(t, y, dt, work)
        np.add(prev, xi, out=work)
        prev[...] = xi
        work *= 0.5 * math.sqrt(dt)
        model.add_noise(t, y, work, y)
        return self.State(y, work, prev, state.grad_evals + 1)


@register()
class SGDIterates(SDEScheme):
    """Constant-step SGD itself, θ ← θ − η ∇L_B(θ), on a :class:`SGDModifiedEquation`.

    The step ``dt`` must equal the model's learning rate η (SGD time t = kη), so its
    orders are in η, not in dt (``orders_in_dt = False``): weak order 1 against the
    order-1 SME, 2 against the order-2 SME (Li, Tai & E 2017); no strong order.  Each
    path draws its own minibatches of the model's size from its block's stream (with or
    without replacement as the model says).  One minibatch gradient per step.
    """

    name = "sgd"
    approximates = (SGDModifiedEquation,)
    noise_types = ("general",)
    noise_kind = "custom"
    strong_order = None
    weak_order = 1.0
    orders_in_dt = False
    reference = "Robbins & Monro (1951); Li, Tai & E (2017)"

    def draw_noise(self, model, gens, rows, n):
        N, B = model.problem.n_examples, model.batch_size
        idx = np.empty((n, B), dtype=np.intp)
        for g, (a, b) in zip(gens, rows):
            if model.replace:
                idx[a:b] = g.integers(0, N, size=(b - a, B))
            else:
                idx[a:b] = np.argsort(g.random((b - a, N)), axis=1)[:, :B]
        return idx

    def init(self, model, y0, dt):
        if abs(dt - model.lr) > 1e-12 * model.lr:
            raise ValueError(f"`dt` must equal the SME's learning rate {model.lr:g} for SGD iterates; got {dt:g}")
        return self.State(y0, 0)

    def step(self, model, t, state, dt, idx):
        y = state.y
        y -= dt * model.problem.batch_grads(y, idx)
        return self.State(y, state.grad_evals + 1)
