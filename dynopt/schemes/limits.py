"""The one registry of "optimizer → its continuous-time limit": each optimizer name maps to
the model it tracks as its learning rate goes to 0 and the model time one optimizer step
stands for (η for SGD and the adaptive methods, γ for momentum, η² for Adagrad).

It sits in the schemes layer because the momentum limits go through the exact
(α, β) ↔ (γ, λ) maps of :mod:`dynopt.schemes.maps`.
"""
from __future__ import annotations

from dynopt.checks import check_finite_param
from dynopt.dynamics import AdagradODE, AdamODE, GradientFlow, HeavyBall, RMSPropODE
from dynopt.problems import Problem
from dynopt.schemes.maps import heavy_ball_ode_parameters, nesterov_ode_parameters_from_optimizer

__all__ = ["continuous_limit"]


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
