"""The scheme protocol shared by ODE and SDE methods."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynopt.dynamics import Model

__all__ = ["Scheme", "ConvergenceError", "model_classes"]


class ConvergenceError(RuntimeError):
    """An implicit step's nonlinear solve did not converge to its tolerance."""


def model_classes(classes) -> str:
    """``"HeavyBall, Kramers"``: the class names of an ``approximates`` declaration."""
    return ", ".join(c.__name__ for c in classes)


class Scheme:
    """Base class of fixed-step ODE schemes: a method is one small class and its ``step``.

    A scheme object holds its parameters and nothing about a run: everything a run
    changes (iterates, buffers, cached coefficients, gradient counts) lives in the
    ``NamedTuple`` state ``init`` and ``step`` return, so one instance serves any number of
    runs, one after the other or at once, with the same results and counts each time.

    A step is read three ways, so it is written as plain arithmetic on the state and the
    model's oracles: no branch on array values (branches on configuration or types, such
    as ``if state.prev is None``, are fine), no in-place update of an array it did not
    create in this call, math functions from :mod:`dynopt.schemes.ops`.  Then the same
    ``step`` runs on ``(n_paths, dim)`` float arrays (``integrate``, ``simulate``), on
    numpy object arrays of sympy expressions (:mod:`dynopt.symbolic`: stability,
    consistency, modified equations) and on tracer nodes (the compiled kernels,
    :mod:`dynopt.engine.tracer`), with nothing restated anywhere else.

    **Adding a scheme: one class.** Quasi-hyperbolic momentum (Ma & Yarats 2019), g ← βg + (1−β)∇L(θ),
    θ ← θ − a h[(1−ν)∇L(θ) + νg], with a gradient buffer::

        class QHM(Scheme):
            class State(NamedTuple):
                q: np.ndarray          # positions (n, d): the first field
                g: np.ndarray          # the averaged gradient (n, d)
                grad_evals: int        # gradient evaluations per path so far

            name = "qhm"
            approximates = (GradientFlow,)
            order = 1
            grad_evals = 1

            def __init__(self, a=1.0, beta=0.9, nu=0.7):
                self.a, self.beta, self.nu = a, beta, nu

            def init(self, model, y0, dt):
                return self.State(y0, model.grad(y0), 1)

            def step(self, model, t, s, h):
                G = model.grad(s.q)
                g = self.beta * s.g + (1 - self.beta) * G
                q = s.q - self.a * h * ((1 - self.nu) * G + self.nu * g)
                return self.State(q, g, s.grad_evals + 1)

    Pass an instance to :func:`dynopt.engine.integrate` (or decorate the class with
    ``@register()`` to give it a name); ``tests/test_schemes.py`` checks a registered
    scheme's declared order and gradient count against measurement with no test edit.
    Extragradient (two gradients per step) is ``x = s.q - eta * model.grad(s.q)``,
    ``q = s.q - eta * model.grad(x)`` with ``grad_evals = 2``.

    **Oracles a step may call** (they return new arrays, never update in place):
    ``model.d`` (number of positions); ``model.drift(t, y)`` (n, state_dim);
    ``model.grad(q)`` and ``model.force(q)`` = −∇L at positions (n, d);
    ``model.friction`` (heavy ball, Kramers), ``model.r`` (Nesterov's ODE),
    ``model.mu``, ``model.s`` (high-resolution ODEs).  SDE oracles:
    :class:`dynopt.schemes.SDEScheme`.

    Attributes
    ----------
    name : str
        Registry name (``dynopt compare --schemes NAME``).
    approximates : tuple of type
        The model classes (:class:`dynopt.dynamics.Model` subclasses) it is a
        discretization of; ``(Model,)`` for general-purpose methods such as Runge–Kutta.
        :meth:`check_model` tests ``isinstance(model, approximates)`` before a run.
    order : int
        Declared global order — checked by the test-suite against measurement.
    grad_evals : int
        Gradient evaluations per step; the state's ``grad_evals`` field counts those
        made (the tests compare it with the gradient calls actually made).
    symplectic : bool
    reference : str
        Where the method comes from.
    init(model, y0, dt) -> State
        The state (a NamedTuple: position array first, ``grad_evals`` last) from a model
        state ``y0`` of shape ``(n, state_dim)``; gradients spent here are counted.
    step(model, t, state, dt) -> State
        One step from time ``t``; returns the new state.
    output(model, state) -> ndarray, shape (n, state_dim)
        The model state the scheme's state stands for (positions are exact iterates;
        staggered velocities are reported at the nearest half step).
    """

    class State(NamedTuple):
        """The model state ``y`` (n, state_dim) and the gradient evaluations per path."""

        y: np.ndarray
        grad_evals: int

    name = "scheme"
    approximates: tuple = (Model,)
    order = None
    grad_evals = 1
    symplectic = False
    reference = ""

    def check_model(self, model):
        """Raise ValueError if this scheme does not discretize ``model``."""
        if getattr(model, "is_sde", False):
            raise ValueError(f"`scheme` {self.name!r} integrates ODE models; got the SDE model {model!r} "
                             "(use dynopt.engine.simulate with an SDE scheme)")
        if not isinstance(model, self.approximates):
            raise ValueError(f"`scheme` {self.name!r} discretizes {model_classes(self.approximates)} models; "
                             f"got a {type(model).__name__} ({model!r})")

    def init(self, model, y0, dt):
        return self.State(y0, 0)

    def step(self, model, t, state, dt):
        raise NotImplementedError

    def output(self, model, state):
        return state[0]

    def describe(self) -> str:
        return f"{self.name} (order {self.order}, {self.grad_evals} grad/step)"

    def __repr__(self):
        return f"{type(self).__name__}()"
