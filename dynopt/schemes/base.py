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
    """Base class of fixed-step ODE schemes: one small class per method, configuration only.

    A scheme object holds its parameters and nothing about a run: everything a run
    changes (iterates, cached coefficients, gradient counts) lives in the state it
    returns, so one instance can serve any number of runs, one after the other or at
    once, and give the same results and counts each time.

    To add a scheme: set ``approximates`` (the model classes it discretizes), ``order``
    and ``grad_evals``; implement ``init``/``step``/``output`` keeping all run data in a
    ``NamedTuple`` state whose first field is the position array and whose field
    ``grad_evals`` counts gradient evaluations per path; decorate the class with
    ``@register()``.  ``tests/test_schemes.py`` then checks its declared order and its
    gradient count against measurement with no test edit.  Every scheme provides the
    attributes below.

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
        Gradient evaluations per step (the count actually made is in the state).
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
