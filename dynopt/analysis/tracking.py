"""How closely optimizer iterates track their continuous-time limits (ODE tracking studies), and
the optimizer paths beside their flows on 2-D problems.
"""
from __future__ import annotations
from dynopt.dynamics import AdamODE, RMSPropODE
from dynopt.schemes import continuous_limit


from typing import NamedTuple, Sequence
import numpy as np
from dynopt import optim
from dynopt.analysis.orders import OrderFit, fit_order
from dynopt.problems import Problem
from dynopt.analysis.reference import reference_solution
from dynopt.analysis.reference import solve_ivp_reference

__all__ = ["TrackingResult", "ode_tracking_study", "DEFAULT_2D_HYPERPARAMETERS", "paths_with_flows"]


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
            raise ValueError(f"`lrs` must divide `T`; {float(lr)!r} does not divide {float(T)!r}")
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
