"""The scheme protocol shared by ODE and SDE methods."""
from __future__ import annotations

__all__ = ["Scheme", "ConvergenceError"]


class ConvergenceError(RuntimeError):
    """An implicit step's nonlinear solve did not converge to its tolerance."""


class Scheme:
    """Base class of fixed-step schemes.  One small class per method.

    Every scheme provides
    ---------------------
    name : str
        Registry name (``dynopt compare --schemes NAME``).
    approximates : tuple of str
        The model kinds (``Model.kind``) it is a discretization of; ``("any",)`` for
        general-purpose methods such as Runge–Kutta.
    order : int
        Declared global order (ODE) — checked by the test-suite against measurement.
    grad_evals : int
        Gradient evaluations per step.
    symplectic : bool
    reference : str
        Where the method comes from.
    init(model, y0, dt) -> state
        Internal state (a tuple of ``(n, ·)`` arrays) from a model state ``y0`` of shape
        ``(n, state_dim)``.
    step(model, t, state, dt) -> state
        One step from time ``t``.
    output(model, state) -> ndarray, shape (n, state_dim)
        The model state the scheme's state stands for (positions are exact iterates;
        staggered velocities are reported at the nearest half step).
    """

    name = "scheme"
    approximates: tuple = ("any",)
    order = None
    grad_evals = 1
    symplectic = False
    reference = ""

    def check_model(self, model):
        """Raise ValueError if this scheme does not discretize ``model``."""
        if "any" in self.approximates or model.kind in self.approximates:
            return
        raise ValueError(
            f"`scheme` {self.name!r} discretizes {', '.join(self.approximates)} models; "
            f"got a {model.kind} model ({model!r})"
        )

    def init(self, model, y0, dt):
        return (y0,)

    def output(self, model, state):
        return state[0]

    def describe(self) -> str:
        return f"{self.name} (order {self.order}, {self.grad_evals} grad/step)"

    def __repr__(self):
        return f"{type(self).__name__}()"
