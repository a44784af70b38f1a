"""Fixed-step SDE schemes for :class:`dynopt.dynamics.SDEModel` models.

Every scheme declares the model classes it discretizes, its strong and weak order, the
calculus it discretizes (Itô or Stratonovich), the noise structures it supports and how
many standard-normal vectors it consumes per step.  :meth:`SDEScheme.check_model` checks
all of that before a run starts.

The protocol (used by :func:`dynopt.engine.simulate`) works on one chunk of paths:
``init(model, y0, dt) -> State`` (a NamedTuple; arrays have one row per path),
``step(model, t, state, dt, z) -> State`` with ``z`` of shape ``(n_terms, n, noise_dim)``
holding N(0, 1) numbers (plain arithmetic, nothing updated in place: see
:class:`SDEScheme`), and ``output(model, state) -> (n, state_dim)``.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from dynopt.dynamics import NOISE_TYPES, OverdampedLangevin, SDEModel, SGDModifiedEquation
from dynopt.schemes import ops
from dynopt.schemes.base import Scheme, model_classes
from dynopt.schemes.registry import register

__all__ = ["SDEScheme", "EulerMaruyama", "Milstein", "StochasticHeun", "LeimkuhlerMatthews", "SGDIterates"]


class SDEScheme(Scheme):
    """Base class of fixed-step SDE schemes: a method is one small class and its ``step``.

    As for :class:`dynopt.schemes.Scheme`, the step is plain arithmetic on the state, the
    normals ``z`` and the model's oracles — no branch on array values, no in-place update
    of an array it did not create, math from :mod:`dynopt.schemes.ops` — and all run data
    lives in the returned ``NamedTuple`` state (arrays with one row per path; the last
    field ``grad_evals`` counts drift evaluations per path).  The numpy backend calls it
    on the chunk's arrays; the compiled backend traces the same function into a per-path
    kernel (:mod:`dynopt.engine.tracer`), so a scheme written in a user's file runs
    compiled exactly like a built-in one (a step that cannot be traced runs on numpy and
    the result's ``note`` says why); :mod:`dynopt.symbolic` calls it on sympy symbols.

    **Adding a scheme: one class.** Kloeden & Platen's derivative-free strong order-1 scheme for diagonal noise::

        class Platen(SDEScheme):
            name = "platen"
            noise_types = ("diagonal",)
            strong_order = 1.0
            weak_order = 1.0

            def step(self, model, t, state, dt, z):
                y, sq = state.y, ops.sqrt(dt)
                dW = z[0] * sq
                f = model.drift_in("ito")(t, y)
                g = model.diffusion(t, y)
                gs = model.diffusion(t, y + f * dt + g * sq)
                y = y + f * dt + g * dW + (gs - g) * (dW * dW - dt) / (2 * sq)
                return self.State(y, state.grad_evals + 1)

    The inherited ``State`` is ``(y, grad_evals)`` and ``init`` returns ``State(y0, 0)``;
    a scheme with buffers declares its own ``State`` and ``init`` (see
    :class:`LeimkuhlerMatthews`, which keeps the previous normals).  Pass an instance to
    :func:`dynopt.engine.simulate`, or register it with ``@register()``;
    ``tests/test_sde_orders.py`` measures the declared orders of every registered scheme
    with no test edit.

    **Oracles a step may call** (they return new arrays, never update in place):
    ``model.drift(t, y)``, ``model.drift_in(calculus)(t, y)`` (the drift in the calculus
    the scheme discretizes) : (n, state_dim);
    ``model.noise_term(t, y, dW)`` = g(t, y)·dW for any noise type : (n, state_dim);
    ``model.diffusion(t, y)``, ``model.diffusion_dx(t, y)`` : g_i and ∂g_i/∂y_i for
    diagonal noise; ``model.noise`` (the noise type, a string: branch on it freely),
    ``model.noise_dim``, ``model.scalar_sigma``;
    ``model.d``, ``model.grad(q)``, ``model.force(q)`` : ∇L and −∇L at positions (n, d);
    Kramers parameters ``model.friction`` (λ), ``model.sigma`` (σ),
    ``model.temperature`` (kT = σ²/(2λ)).

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

    name = "euler-maruyama"
    strong_order_additive = 1.0
    reference = "Maruyama (1955); Kloeden & Platen (1992) §10.2"

    def step(self, model, t, state, dt, z):
        y = state.y
        dW = z[0] * ops.sqrt(dt)
        y = y + model.drift_in("ito")(t, y) * dt + model.noise_term(t, y, dW)
        return self.State(y, state.grad_evals + 1)


@register()
class Milstein(SDEScheme):
    """Milstein Y ← Y + f h + g ΔW + ½ g ∂g (ΔW² − h).  Itô; strong order 1, weak order 1;
    diagonal or additive noise only (general noise needs Lévy areas); one drift and
    one diffusion derivative per step (Kloeden & Platen 1992, §10.3)."""

    name = "milstein"
    strong_order = 1.0
    strong_order_additive = 1.0
    noise_types = ("additive", "diagonal")
    reference = "Milstein (1974); Kloeden & Platen (1992) §10.3"

    def step(self, model, t, state, dt, z):
        y = state.y
        dW = z[0] * ops.sqrt(dt)
        f = model.drift_in("ito")(t, y)
        if model.noise == "additive":  # ∂g = 0: the correction vanishes
            return self.State(y + f * dt + model.noise_term(t, y, dW), state.grad_evals + 1)
        g = model.diffusion(t, y)
        corr = g * model.diffusion_dx(t, y) * (dW * dW - dt) / 2
        return self.State(y + f * dt + (g * dW + corr), state.grad_evals + 1)


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
        dW = z[0] * ops.sqrt(dt)
        f = model.drift_in("stratonovich")
        f0 = f(t, y)
        g0 = model.noise_term(t, y, dW)
        pred = y + f0 * dt + g0
        f1 = f(t + dt, pred)
        g1 = model.noise_term(t + dt, pred, dW)
        y = y + (dt / 2 * (f0 + f1) + (g0 + g1) / 2)
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
        """The paths ``y``, the previous step's normals (None before the first step),
        gradient evaluations per path."""

        y: np.ndarray
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
        return self.State(y0, None, 0)

    def step(self, model, t, state, dt, z):
        y, xi = state.y, z[0].copy()  # a copy: the noise buffer is refilled next step
        # ξ_0 is drawn from the first step's numbers: the first step uses ξ_1 twice
        prev = xi if state.prev is None else state.prev
        w = (prev + xi) * (ops.sqrt(dt) / 2)
        y = y + model.drift(t, y) * dt + model.noise_term(t, y, w)
        return self.State(y, xi, state.grad_evals + 1)


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
        return self.State(y - dt * model.problem.batch_grads(y, idx), state.grad_evals + 1)
