"""The standard comparison of fixed-step schemes with scipy references (``dynopt compare``).

Each scheme is compared with the continuous model it discretizes: Euler, Heun and RK4
with gradient flow θ' = −∇L; the momentum family and symplectic Euler with the damped
system θ'' + λθ' = −∇L at fixed λ, the ODE step γ → 0 (optimizer parameters through the
exact maps of eq 15 / eq 18).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynopt.analysis.orders import ConvergenceResult, convergence_study
from dynopt.dynamics import GradientFlow, HeavyBall
from dynopt.problems import get_problem
from dynopt.analysis.reference import reference_solution, work_precision
from dynopt.schemes import get_scheme

__all__ = ["ProblemSetup", "STANDARD_PROBLEMS", "STANDARD_SCHEMES", "model_for",
           "default_ladder", "compare", "work_precision_study", "FRICTION"]

#: friction λ of the damped system in the standard comparison
FRICTION = 1.0


@dataclass(frozen=True)
class ProblemSetup:
    """A problem with its start point, horizon T and the coarsest step counts of the
    ladders (``n0``: scheme name -> N, with a ``"default"``).

    The coarsest N is chosen so that the whole ladder N·√2^k, k = 0..5 lies in the
    asymptotic regime and above the reference's accuracy (~1e-12): stiff gradient flow
    on Rosenbrock needs small steps; RK4 reaches rounding quickly.
    """

    name: str
    x0: tuple
    T: float
    n0: dict


STANDARD_PROBLEMS = {
    "quadratic": ProblemSetup("quadratic", (1.0, -1.0), 1.0,
                              {"default": 32, "euler": 64, "rk4": 16}),
    "rosenbrock": ProblemSetup("rosenbrock", (0.0, 0.0), 0.5,
                               {"default": 128, "euler": 256, "heun": 1024, "rk4": 384}),
    "double_well": ProblemSetup("double_well", (2.0,), 1.0,
                                {"default": 32, "euler": 64, "rk4": 64}),
}
STANDARD_SCHEMES = ("euler", "heun", "rk4", "symplectic-euler", "leapfrog", "heavy-ball",
                    "nesterov", "nesterov-half", "implicit19")


def model_for(scheme, problem, friction: float = FRICTION):
    """The continuous model a scheme is compared with: gradient flow for general-purpose
    schemes, the damped system (eq 10) for schemes that discretize it."""
    sch = get_scheme(scheme)
    if HeavyBall in sch.approximates:
        return HeavyBall(problem, friction)
    return GradientFlow(problem)


def default_ladder(scheme, setup: ProblemSetup, n_points: int = 6):
    """Step counts N_k = round(N_0·√2^k), k = 0..n_points−1 (a factor 5.7 for 6 points)."""
    n0 = setup.n0.get(get_scheme(scheme).name, setup.n0["default"])
    return [int(round(n0 * 2 ** (k / 2))) for k in range(n_points)]


def compare(problems=None, schemes=None, T=None, ladder=None, friction: float = FRICTION,
            n_points: int = 6) -> list:
    """Run convergence studies for every (problem, scheme) pair.

    Parameters
    ----------
    problems : list of str, optional
        Names from ``STANDARD_PROBLEMS`` (default: all three).
    schemes : list of str, optional
        Names from ``METHODS`` (default: ``STANDARD_SCHEMES``).
    T : float, optional
        Override the horizon of every problem.
    ladder : list of int, optional
        Override the step counts (default: :func:`default_ladder`).
    friction : float
        λ of the damped system.
    n_points : int
        Length of the default ladder (≥ 6 for the published comparison).

    Returns
    -------
    list of ConvergenceResult
    """
    problems = list(problems or STANDARD_PROBLEMS)
    schemes = list(schemes or STANDARD_SCHEMES)
    for p in problems:
        if p not in STANDARD_PROBLEMS:
            raise ValueError(f"`problem` must be one of {sorted(STANDARD_PROBLEMS)}; got {p!r}")
    for s in schemes:
        get_scheme(s)  # raises listing METHODS
    if T is not None and not (np.isfinite(T) and T > 0):
        raise ValueError(f"`T` must be > 0; got {T!r}")
    out: list[ConvergenceResult] = []
    refs = {}
    for pname in problems:
        setup = STANDARD_PROBLEMS[pname]
        problem = get_problem(pname)
        horizon = float(T or setup.T)
        for sname in schemes:
            model = model_for(sname, problem, friction)
            key = (pname, model.kind)
            if key not in refs:
                refs[key] = reference_solution(model, setup.x0, [horizon])
            ref, kind = refs[key]
            res = convergence_study(model, sname, setup.x0, horizon,
                                    ladder or default_ladder(sname, setup, n_points), reference=ref[0],
                                    problem_name=pname)
            res.reference = kind
            out.append(res)
    return out


def work_precision_study(problem_name: str, friction: float = FRICTION, schemes=None,
                         scipy_methods=("RK45", "DOP853", "Radau", "LSODA")):
    """Error at T vs gradient evaluations: fixed-step schemes and scipy's adaptive ones.

    Returns
    -------
    dict with keys ``fixed`` (scheme -> (grad_evals, errors)), ``scipy``
    (method -> (grad_evals, errors, hess_evals)), ``scipy_rtol`` (method -> the rtol of
    each point), ``ode`` and ``T``.
    """
    setup = STANDARD_PROBLEMS[problem_name]
    problem = get_problem(problem_name)
    model = GradientFlow(problem)
    ref, _ = reference_solution(model, setup.x0, [setup.T])
    fixed = {}
    for sname in schemes or ("euler", "heun", "rk4"):
        res = convergence_study(model, sname, setup.x0, setup.T,
                                default_ladder(sname, setup, 8), reference=ref[0])
        pts = [(g, e) for g, e in zip(res.grad_evals, res.errors) if e is not None]
        fixed[sname] = ([g for g, _ in pts], [e for _, e in pts])
    wp = work_precision(model, setup.x0, setup.T, ref[0], methods=scipy_methods)
    sc, rtol = {}, {}
    for p in wp:
        g, e, h = sc.setdefault(p.method, ([], [], []))
        g.append(p.grad_evals)
        e.append(p.error)
        h.append(p.hess_evals)
        rtol.setdefault(p.method, []).append(p.rtol)
    return {"fixed": fixed, "scipy": sc, "scipy_rtol": rtol, "ode": model.name, "T": setup.T,
            "problem": problem_name}
