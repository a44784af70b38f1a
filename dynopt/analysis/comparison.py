"""The standard comparison of fixed-step schemes with scipy references (``dynopt compare``).

Each scheme is compared with the continuous model it discretizes: Euler, Heun and RK4
with gradient flow θ' = −∇L; the momentum family and symplectic Euler with the damped
system θ'' + λθ' = −∇L at fixed λ, the ODE step γ → 0 (optimizer parameters through the
exact maps of eq 15 / eq 18).
"""
from __future__ import annotations

import math
import time

import numpy as np

from dynopt.analysis.orders import MIN_FIT_POINTS, check_step_counts, convergence_study, extend_study
from dynopt.dynamics import GradientFlow, HeavyBall
from dynopt.problems import PROBLEMS, ComparisonSetup, get_problem
from dynopt.analysis.reference import reference_solution, work_precision
from dynopt.analysis.regime import (REFERENCE_FLOOR, ComparisonResult, default_horizon, max_curvature,
                                    regime_check, stable_ladder)
from dynopt.problems import Problem
from dynopt.schemes import METHODS, Scheme, get_scheme

__all__ = ["standard_problems", "standard_schemes", "model_for",
           "default_ladder", "compare", "work_precision_study", "FRICTION", "DEFAULT_BUDGET"]

#: most rungs a user problem's default ladder grows to (two at a time, each step count ×√2)
#: while its regime check fails: 6 + 14 rungs reach steps 2^7 = 128 times finer
MAX_RUNGS = 20
#: default wall-time budget in seconds of :func:`compare`
DEFAULT_BUDGET = 60.0
#: friction λ of the damped system in the standard comparison
FRICTION = 1.0


def standard_problems() -> dict:
    """name -> :class:`~dynopt.problems.ComparisonSetup` of every registered problem (in
    :data:`~dynopt.problems.PROBLEMS`) that declares one: the problems :func:`compare` runs by
    default.  Read from the registry on every call."""
    out = {}
    for name in PROBLEMS:
        setup = get_problem(name).comparison
        if setup is not None:
            out[name] = setup
    return out


def standard_schemes() -> tuple:
    """Names of the registered schemes (in :data:`~dynopt.schemes.METHODS`, registration order)
    that discretize the model :func:`model_for` pairs them with (gradient flow or the damped
    system): the schemes :func:`compare` runs by default.  Read from the registry on every call."""
    return tuple(name for name, cls in METHODS.items()
                 if issubclass(HeavyBall if HeavyBall in cls.approximates else GradientFlow, cls.approximates))


def model_for(scheme, problem, friction: float = FRICTION):
    """The continuous model a scheme is compared with: gradient flow for general-purpose
    schemes, the damped system (eq 10) for schemes that discretize it."""
    sch = scheme if isinstance(scheme, Scheme) else get_scheme(scheme)
    if HeavyBall in sch.approximates:
        return HeavyBall(problem, friction)
    return GradientFlow(problem)


def default_ladder(scheme, setup: ComparisonSetup, n_points: int = 6):
    """Step counts N_k = round(N_0·√2^k), k = 0..n_points−1 (a factor 5.7 for 6 points)."""
    n0 = setup.n0.get(get_scheme(scheme).name, setup.n0["default"])
    return [int(round(n0 * 2 ** (k / 2))) for k in range(n_points)]


def _setup(p, x0, T):
    """(name, Problem, x0, T, ComparisonSetup or None) of one entry of ``problems``: a registered
    name or a Problem, run from its declared comparison setup if it has one."""
    if isinstance(p, str):
        if p not in PROBLEMS:
            raise ValueError(f"`problems` entries must be Problem objects or one of {sorted(PROBLEMS)}; "
                             f"got {p!r}")
        name, p = p, get_problem(p)
    elif isinstance(p, Problem):
        name = p.name
    else:
        raise TypeError(f"`problems` entries must be names or Problem objects; got {type(p).__name__}")
    setup = p.comparison
    if setup is not None:
        start = setup.x0 if x0 is None else x0
        return name, p, tuple(np.ravel(start).tolist()), float(T or setup.T), setup
    if x0 is None:
        raise ValueError(f"`x0` is required for the problem {name!r}, which declares no comparison setup "
                         f"(a start point of dimension {p.dim})")
    start = np.ravel(np.asarray(x0, float))
    if start.shape != (p.dim,) or not np.all(np.isfinite(start)):
        raise ValueError(f"`x0` must be {p.dim} finite numbers for problem {name!r}; got {x0!r}")
    return name, p, tuple(start.tolist()), float(T or 1.0), None


def _scheme_arg(s):
    """A registry name or a Scheme class (instances are run through their class)."""
    if isinstance(s, Scheme):
        return type(s)
    get_scheme(s)  # raises listing METHODS
    return s


def _check_ladder(ladder) -> None:
    """A user ladder holds positive integer step counts, at least as many as a fit needs."""
    if ladder is None:
        return
    check_step_counts(ladder, "ladder")
    if len(ladder) < MIN_FIT_POINTS:
        raise ValueError(f"`ladder` must hold at least {MIN_FIT_POINTS} step counts to fit an order; got {len(ladder)}")


def compare(problems=None, schemes=None, T=None, ladder=None, friction: float = FRICTION,
            n_points: int = 6, x0=None, budget: float | None = DEFAULT_BUDGET) -> list:
    """Run convergence studies for every (problem, scheme) pair, each with its regime check.

    Parameters
    ----------
    problems : list of str or Problem, optional
        Names from :data:`~dynopt.problems.PROBLEMS` (default: :func:`standard_problems`, the
        registered problems that declare a comparison setup) or
        :class:`~dynopt.problems.Problem` objects.  A problem without a declared setup (a user's
        own potential, or a registered one without a setup) needs ``x0``.
    schemes : list of str or Scheme class, optional
        Names from ``METHODS`` or (unregistered) scheme classes (default: :func:`standard_schemes`).
    T : float, optional
        Override the horizon of every problem.  Default per standard problem; for a user problem
        :func:`~dynopt.analysis.regime.default_horizon`: two of the fastest time scales of the
        model at the start (at most 1), so that the flow has not settled into a minimum and the
        errors stay far above the reference's floor.
    ladder : list of int, optional
        Override the step counts (at least :data:`~dynopt.analysis.orders.MIN_FIT_POINTS`).  Default: the tuned ladders of the standard problems, and for a
        user problem :func:`~dynopt.analysis.regime.stable_ladder` (its coarsest step a quarter
        of the stability limit at the largest Hessian eigenvalue along the reference trajectory),
        grown two rungs at a time (each ×√2 finer, up to :data:`MAX_RUNGS` rungs) while its
        regime check fails, until the local slopes settle (on the declared order, or on another
        one: then more rungs would not help) or the time budget is spent; once the errors near the
        reference's floor it grows towards coarser steps instead, down to half the stability limit.
    friction : float
        λ of the damped system.
    n_points : int
        Length of the default ladder (≥ 6 for the published comparison).
    x0 : array_like, optional
        Start position for user problems (overrides the standard ones' too).
    budget : float or None
        Wall-time budget in seconds for the whole comparison (``None``: no limit).  Each pair
        gets an equal share of what is left when it starts; a ladder is grown only while the
        next rungs are expected (from the time per step so far) to fit in that share.  The first
        ladder of every pair always runs.

    Returns
    -------
    list of ComparisonResult
        Each with ``regime`` (:class:`~dynopt.analysis.regime.RegimeCheck`); ``fit`` is the fit
        through the asymptotic rungs; a fit outside the regime is reported as such by ``as_dict``
        and the CLI, never as a plain order.  Rungs that diverged (the engine's blow-up rule) or
        gave no finite error are listed and never fitted; with fewer than three finished rungs
        ``fit`` is None and ``note`` says why.

    Raises
    ------
    ValueError
        Unknown problem or scheme names, a bad ``T``, ``x0``, ``ladder`` or ``budget``.
    """
    setups = [_setup(p, x0, T) for p in (problems or list(standard_problems()))]
    schemes = [_scheme_arg(s) for s in (schemes or standard_schemes())]
    _check_run_arguments(ladder, T, budget)
    deadline = None if budget is None else time.perf_counter() + float(budget)
    out: list[ComparisonResult] = []
    refs = {}
    n_pairs, done = len(setups) * len(schemes), 0
    for pname, problem, start, horizon, setup in setups:
        for sname in schemes:
            model = model_for(sname, problem, friction)
            y0 = np.asarray(start)
            key = (pname, model.kind)
            if key not in refs:
                hz = horizon if (T is not None or setup is not None) else default_horizon(model, y0)
                refs[key] = hz, reference_solution(model, y0, [hz]), max_curvature(model, y0, hz)
            hz, (ref, kind), rho = refs[key]
            share = None if deadline is None else max(0.0, deadline - time.perf_counter()) / (n_pairs - done)
            steps, limit = stable_ladder(sname, rho, hz, n_points, friction=friction)
            if ladder is not None:
                steps = ladder
            elif setup is not None:
                steps = default_ladder(sname, setup, n_points)
            res, check = _grow(model, sname, y0, hz, steps, ref[0], pname, limit,
                               grow=ladder is None and setup is None, share=share, budget=budget)
            res.reference = kind
            out.append(ComparisonResult.from_result(res, check))
            done += 1
    return out


def _check_run_arguments(ladder, T, budget):
    _check_ladder(ladder)
    if T is not None and not (np.isfinite(T) and T > 0):
        raise ValueError(f"`T` must be > 0; got {T!r}")
    if budget is not None and not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise ValueError(f"`budget` must be a finite number of seconds > 0 or None; got {budget!r}")


def _grow(model, scheme, y0, T, steps, ref, pname, limit, grow, share, budget):
    """One convergence study and its regime check; with ``grow``, two rungs more at a time while the
    check fails and more rungs can help and fit in ``share`` seconds."""
    tic = time.perf_counter()
    res = convergence_study(model, scheme, y0, T, steps, reference=ref, problem_name=pname)
    check = regime_check(res, limit)
    per_step = (time.perf_counter() - tic) / sum(steps)
    while grow and not check.ok and check.settled_elsewhere is None and len(res.steps) < MAX_RUNGS:
        finished = [e for e in res.errors if e]
        if finished and min(finished) < 1e3 * REFERENCE_FLOOR:
            # finer rungs would only reach the floor (a high-order scheme): coarser ones, while they
            # stay within half the stability limit, may still lie in the asymptotic regime
            have = {round(T / h) for h in res.steps}
            n_first = min(have)
            more = [n for n in (int(round(n_first / math.sqrt(2))), int(round(n_first / 2)))
                    if n >= 2 and n not in have and (limit is None or T / n <= 0.5 * limit)]
            if not more:
                break
        else:
            n_last = round(T / min(res.steps))
            more = [int(round(n_last * math.sqrt(2))), 2 * n_last]
        if share is not None and time.perf_counter() - tic + per_step * sum(more) > share:
            check.reasons.append(f"ladder not grown further: the next rungs (N = {more[0]}, {more[1]}) would "
                                 f"exceed this pair's share ({share:.0f} s) of the time budget ({budget:g} s)")
            break
        t1 = time.perf_counter()
        res = extend_study(res, model, scheme, y0, more, ref)
        per_step = (time.perf_counter() - t1) / sum(more)
        check = regime_check(res, limit)
    return res, check


def work_precision_study(problem_name: str, schemes=None, scipy_methods=("RK45", "DOP853", "Radau", "LSODA")):
    """Error at T vs gradient evaluations on the gradient flow: fixed-step schemes of the flow
    (Euler, Heun, RK4 by default) and scipy's adaptive ones.

    Returns
    -------
    dict with keys ``fixed`` (scheme -> (grad_evals, errors)), ``scipy``
    (method -> (grad_evals, errors, hess_evals)), ``scipy_rtol`` (method -> the rtol of
    each point), ``ode`` and ``T``.
    """
    problem = get_problem(problem_name)
    setup = problem.comparison
    if setup is None:
        raise ValueError(f"`problem_name` must be one of {sorted(standard_problems())} (the problems "
                         f"declaring a comparison setup); got {problem_name!r}")
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
