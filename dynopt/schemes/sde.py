"""Fixed-step SDE schemes for :class:`dynopt.dynamics.SDEModel` models.

Every scheme declares its strong and weak order, the calculus it discretizes (Itô or
Stratonovich), the noise structures it supports and how many standard-normal vectors it
consumes per step.  :meth:`SDEScheme.check_model` checks all of that before a run starts.

The protocol (used by :func:`dynopt.engine.simulate`) works in place on one chunk of
paths: ``init(model, y0, dt) -> state`` (a list of arrays, rows = paths), ``step(model, t,
state, dt, z)`` with ``z`` of shape ``(n_terms, n, noise_dim)`` holding N(0, 1) numbers,
and ``output(model, state) -> (n, state_dim)``.
"""
from __future__ import annotations


import math
import numpy as np
from dynopt.schemes.base import Scheme
from dynopt.schemes.registry import register

__all__ = ["SDEScheme", "EulerMaruyama", "Milstein", "StochasticHeun", "LeimkuhlerMatthews", "SGDIterates"]


class SDEScheme(Scheme):
    """Base class of SDE schemes.

    Declarations
    ------------
    strong_order, weak_order : float
        For general (multiplicative) noise; ``strong_order_additive`` for additive noise.
    calculus : {"ito", "stratonovich"}
        The drift a scheme needs (the model converts with its Itô–Stratonovich correction).
    noise_types : tuple of str
        Subset of ("additive", "diagonal", "general").
    n_terms : int
        Standard-normal vectors used per step.
    """

    approximates = ("langevin", "kramers", "sde", "sme")
    strong_order = 0.5
    strong_order_additive = None
    weak_order = 1.0
    calculus = "ito"
    noise_types = ("additive", "diagonal", "general")
    n_terms = 1
    noise_kind = "normal"

    @property
    def order(self):
        return self.strong_order

    def declared_strong_order(self, model) -> float:
        if model.noise == "additive" and self.strong_order_additive is not None:
            return self.strong_order_additive
        return self.strong_order

    def check_model(self, model):
        """Raise ValueError if ``model`` is not an SDE this scheme can integrate."""
        if not getattr(model, "is_sde", False):
            raise ValueError(f"`scheme` {self.name!r} integrates SDE models; got {model!r} (an ODE model)")
        if model.kind not in self.approximates:
            raise ValueError(f"`scheme` {self.name!r} discretizes {', '.join(self.approximates)} models; "
                             f"got a {model.kind} model ({model!r})")
        if model.noise not in self.noise_types:
            raise ValueError(f"`scheme` {self.name!r} supports {', '.join(self.noise_types)} noise; "
                             f"got {model.noise} noise ({model!r})")

    def init(self, model, y0, dt):
        return [y0]

    def output(self, model, state):
        return state[0]

    def kill(self, state, rows):
        """Set the rows ``rows`` (bool mask) of every state array to NaN (diverged paths)."""
        for a in state:
            if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == rows.shape[0]:
                a[rows] = np.nan

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

    def init(self, model, y0, dt):
        c = self._noise_scale(model, dt)
        if c:  # the fused double-well path keeps u = y/c (see step)
            return [y0 / c, np.empty_like(y0), c]
        return [y0, np.empty_like(y0), None]

    @staticmethod
    def _noise_scale(model, dt):
        """c = σ√dt when the step can run fused on u = y/c (double well, scalar σ > 0)."""
        s = getattr(model, "_scalar_sigma", None)
        kernel = getattr(model, "_kernel", None)
        if s and getattr(kernel, "__name__", "") == "cubic" and model.kind == "langevin":
            return s * math.sqrt(dt)
        return None

    def output(self, model, state):
        return state[0] * state[2] if state[2] else state[0]

    def step(self, model, t, state, dt, z):
        y, work, c = state
        dW = z[0]
        sq = math.sqrt(dt)
        if c:
            # the hot path of the benchmark, 5 passes over the chunk: with x = c·u,
            # x ← x(1 + h − h x²) + c ΔZ becomes u ← u(1 + h − h c² u²) + ΔZ, so the
            # normals are added as drawn (no scaling pass)
            np.multiply(y, y, out=work)
            work *= -dt * c * c
            work += 1.0 + dt
            y *= work
            y += dW
            return
        s = model._scalar_sigma
        if s is not None:  # additive σI: 6 passes over the chunk
            model.euler_drift_(t, y, dt, work)
            dW *= s * sq
            y += dW
            return
        dW *= sq
        if model.noise == "additive":
            model.euler_drift_(t, y, dt, work)
            model.add_noise(t, y, dW, y)
            return
        incr = model.add_noise(t, y, dW, np.zeros_like(y))  # g at the old state
        model.euler_drift_(t, y, dt, work)
        y += incr


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

    def init(self, model, y0, dt):
        return [y0, np.empty_like(y0)]

    def step(self, model, t, state, dt, z):
        y, work = state
        dW = z[0] * math.sqrt(dt)
        if model.noise == "additive":
            model.euler_drift_(t, y, dt, work)
            model.add_noise(t, y, dW, y)
            return
        g = model.diffusion(t, y)
        corr = 0.5 * g * model.diffusion_dx(t, y) * (dW * dW - dt)
        incr = g * dW + corr
        model.euler_drift_(t, y, dt, work)
        y += incr


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
        y = state[0]
        dW = z[0] * math.sqrt(dt)
        f = model.drift_in("stratonovich")
        f0 = f(t, y)
        g0 = model.add_noise(t, y, dW.copy(), np.zeros_like(y))
        pred = y + f0 * dt + g0
        f1 = f(t + dt, pred)
        g1 = model.add_noise(t + dt, pred, dW.copy(), np.zeros_like(y))
        y += 0.5 * dt * (f0 + f1) + 0.5 * (g0 + g1)


@register()
class LeimkuhlerMatthews(SDEScheme):
    """The Leimkuhler–Matthews Brownian-dynamics scheme (the BAOAB high-friction limit):

    θ_{n+1} = θ_n − h ∇L(θ_n) + σ √h (ξ_n + ξ_{n+1})/2.

    Non-Markovian (coloured) noise, one gradient per step; weak order 1 at finite times
    but second order for the invariant measure, where Euler–Maruyama is first order
    (Leimkuhler & Matthews 2013).  Additive noise only.
    """

    name = "leimkuhler-matthews"
    approximates = ("langevin",)
    noise_types = ("additive",)
    strong_order = 0.5
    strong_order_additive = 0.5
    weak_order = 1.0
    reference = "Leimkuhler & Matthews, Appl. Math. Res. Express 2013, eq (the limit method)"

    def init(self, model, y0, dt):
        return [y0, np.empty_like(y0), None]

    def step(self, model, t, state, dt, z):
        y, work, prev = state
        xi = z[0]
        if prev is None:
            # ξ_0 is drawn from the first step's numbers: the first step uses ξ_1 twice.
            prev = xi.copy()
            state[2] = prev
        model.euler_drift_(t, y, dt, work)
        np.add(prev, xi, out=work)
        prev[...] = xi
        work *= 0.5 * math.sqrt(dt)
        model.add_noise(t, y, work, y)

    def kill(self, state, rows):
        super().kill([state[0], state[1]] + ([state[2]] if state[2] is not None else []), rows)


@register()
class SGDIterates(SDEScheme):
    """Constant-step SGD itself, θ ← θ − η ∇L_B(θ), on a :class:`SGDModifiedEquation`.

    The step ``dt`` must equal the model's learning rate η (SGD time t = kη).  Each path
    draws its own minibatches of the model's size from its block's stream (with or
    without replacement as the model says).  Weak order 1 (order-1 SME) / 2 (order-2
    SME) w.r.t. η (Li, Tai & E 2017).
    """

    name = "sgd"
    approximates = ("sme",)
    noise_types = ("general",)
    noise_kind = "custom"
    strong_order = None
    weak_order = 1.0
    reference = "Robbins & Monro (1951); Li, Tai & E (2017)"

    def check_model(self, model):
        super().check_model(model)

    def draw_noise(self, model, gens, rows, n):
        N, B = model.problem.n_examples, model.batch_size
        idx = np.empty((n, B), dtype=np.intp)
        for g, (a, b) in zip(gens, rows):
            if model.replace:
                idx[a:b] = g.integers(0, N, size=(b - a, B))
            else:
                idx[a:b] = np.argsort(g.random((b - a, N)), axis=1)[:, :B]
        return idx

    def step(self, model, t, state, dt, idx):
        if abs(dt - model.lr) > 1e-12 * model.lr:
            raise ValueError(f"`dt` must equal the SME's learning rate {model.lr:g} for SGD iterates; got {dt:g}")
        y = state[0]
        y -= dt * model.problem.batch_grads(y, idx)


