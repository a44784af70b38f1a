"""Empirical convergence orders and convergence studies against scipy references.
ODE orders come from the global error at time T over a ladder of steps, fitted by
``scipy.stats.linregress`` with Student-t intervals; SDE orders (strong and weak) reuse one
Brownian path over the ladder.
"""
from __future__ import annotations


from dataclasses import dataclass, field
from typing import Optional
import numpy as np
from scipy import stats
from dynopt.checks import check_int
from dynopt.dynamics import Model
from dynopt.engine import integrate
from dynopt.analysis.reference import reference_solution
from dynopt.schemes import get_scheme
from dynopt.engine import EnsembleOptions, simulate
from dynopt.dynamics import SDE

__all__ = ["MIN_FIT_POINTS", "check_step_counts", "OrderFit", "fit_order", "global_error", "ConvergenceResult", "convergence_study", "extend_study", "SDEOrderResult", "sde_order_study", "scheme_linear_map"]


#: fewest (step, error) points an order is fitted through (a slope and its Student-t
#: interval need n − 2 ≥ 1 degrees of freedom)
MIN_FIT_POINTS = 3


@dataclass(frozen=True)
class OrderFit:
    """Slope of log(error) against log(step) by least squares (``scipy.stats.linregress``).

    Attributes
    ----------
    order : float
        The fitted slope.
    ci : (float, float)
        Confidence interval of the slope (Student t, n − 2 degrees of freedom).
    stderr, intercept, rvalue : float
    n : int
        Points used.
    """

    order: float
    ci: tuple
    stderr: float
    intercept: float
    rvalue: float
    n: int
    confidence: float = 0.95


def fit_order(steps, errors, confidence: float = 0.95) -> OrderFit:
    """Fit error ≈ C·step^p on a log–log scale.

    Parameters
    ----------
    steps, errors : array_like, same length ≥ 3, all > 0 and finite.
    confidence : float in (0, 1)

    Raises
    ------
    ValueError
        Fewer than 3 points, or a non-positive / non-finite value.
    """
    h = np.asarray(steps, dtype=float)
    e = np.asarray(errors, dtype=float)
    if h.shape != e.shape or h.ndim != 1:
        raise ValueError(f"`steps` and `errors` must be 1-D of equal length; got {h.shape} and {e.shape}")
    if h.size < MIN_FIT_POINTS:
        raise ValueError(f"need at least {MIN_FIT_POINTS} (step, error) points to fit an order; got {h.size}")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(e)) and np.all(h > 0) and np.all(e > 0)):
        raise ValueError("`steps` and `errors` must be finite and > 0")
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence}")
    res = stats.linregress(np.log(h), np.log(e))
    tq = stats.t.ppf(0.5 + confidence / 2, h.size - 2)
    half = tq * res.stderr
    return OrderFit(float(res.slope), (float(res.slope - half), float(res.slope + half)),
                    float(res.stderr), float(res.intercept), float(res.rvalue), int(h.size), confidence)


def global_error(model: Model, y_num, y_ref) -> float:
    """Largest Euclidean error of the positions θ over the paths."""
    return float(np.max(np.linalg.norm(model.position(y_num) - model.position(y_ref), axis=-1)))


@dataclass
class ConvergenceResult:
    """Global error at time T for a ladder of steps and the fitted order.

    ``errors[i]`` is None when the run with ``steps[i]`` diverged (``diverged`` maps such
    steps to the step index at which they did, by the engine's blow-up rule) or its error
    is not a finite positive number (``failed`` maps such steps to the reason).  Neither is
    ever fitted: the order is fitted through the finished rungs only, and is ``None`` (with
    the reason in ``note``) when fewer than :data:`MIN_FIT_POINTS` remain.
    """

    problem: str
    scheme: str
    ode: str
    T: float
    steps: list
    errors: list
    grad_evals: list
    fit: Optional[OrderFit]
    reference: str
    declared_order: Optional[int] = None
    start: Optional[str] = None
    diverged: dict = field(default_factory=dict)
    note: str = ""
    failed: dict = field(default_factory=dict)

    def as_dict(self):
        d = {
            "problem": self.problem, "scheme": self.scheme, "ode": self.ode, "T": self.T,
            "order": None if self.fit is None else round(self.fit.order, 4),
            "order_ci": None if self.fit is None else [round(self.fit.ci[0], 4), round(self.fit.ci[1], 4)],
            "declared_order": self.declared_order,
            "start": self.start,
            "steps": [float(s) for s in self.steps],
            "errors": [None if e is None else float(f"{e:.6e}") for e in self.errors],
            "grad_evals": self.grad_evals,
            "reference": self.reference,
            "diverged": {f"{k:g}": v for k, v in self.diverged.items()},
        }
        if self.fit is None:
            d["order_undefined"] = self.note
        if self.failed:
            d["failed"] = {f"{k:g}": v for k, v in self.failed.items()}
        if self.note:
            d["note"] = self.note
        return d


def convergence_study(model: Model, scheme, y0, T: float, n_steps_ladder, reference=None,
                      problem_name: str | None = None) -> ConvergenceResult:
    """Global error at time T against a scipy reference for a ladder of step counts.

    Parameters
    ----------
    model : Model
    scheme : str or Scheme
    y0 : array_like
        Initial state(s) of the model.
    T : float
        Final ODE time.
    n_steps_ladder : sequence of int
        Numbers of steps N; the steps are T/N.
    reference : ndarray, optional
        Reference state at T (computed with :func:`reference_solution` when omitted).

    Returns
    -------
    ConvergenceResult
        Rungs that diverged (``diverged``: step → step index) or whose error is not finite
        and positive (``failed``: step → reason) are excluded from the fit; with fewer than
        :data:`MIN_FIT_POINTS` finished rungs no order is fitted (``fit`` None, the reason
        in ``note``).
    """
    sch = get_scheme(scheme)
    sch.check_model(model)
    ref_kind = "given"
    if reference is None:
        reference, ref_kind = reference_solution(model, y0, [T])
        reference = reference[0]
    check_step_counts(n_steps_ladder, "n_steps_ladder")
    steps, errors, evals, diverged, failed = [], [], [], {}, {}
    for n in n_steps_ladder:
        dt = T / n
        sol = integrate(model, get_scheme(scheme) if isinstance(scheme, str) else sch, (0.0, T), y0, dt)
        steps.append(dt)
        evals.append(sol.grad_evals)
        err = None if sol.diverged else global_error(model, sol.y_final, reference)
        if sol.diverged:
            diverged[dt] = sol.diverged_step
        elif not (np.isfinite(err) and err > 0):
            failed[dt] = f"error {err!r} (not finite and > 0)"
            err = None
        errors.append(err)
    ok = [(h, e) for h, e in zip(steps, errors) if e is not None]
    fit = fit_order(*zip(*ok)) if len(ok) >= MIN_FIT_POINTS else None
    return ConvergenceResult(
        problem=problem_name or model.problem.name, scheme=sch.name, ode=model.name, T=float(T),
        steps=steps, errors=errors, grad_evals=evals, fit=fit, reference=ref_kind,
        declared_order=sch.order, start=getattr(sch, "start", None), diverged=diverged, failed=failed,
        note=_ladder_note(len(ok), len(steps), diverged, failed))


def extend_study(result: ConvergenceResult, model: Model, scheme, y0, n_steps, reference) -> ConvergenceResult:
    """``result`` with more rungs: the step counts ``n_steps`` run against the same reference,
    appended, and the order refitted through every finished rung (rungs already run are kept,
    not rerun)."""
    more = convergence_study(model, scheme, y0, result.T, n_steps, reference=reference,
                             problem_name=result.problem)
    steps, errors, evals = result.steps + more.steps, result.errors + more.errors, result.grad_evals + more.grad_evals
    diverged, failed = {**result.diverged, **more.diverged}, {**result.failed, **more.failed}
    ok = [(h, e) for h, e in zip(steps, errors) if e is not None]
    fit = fit_order(*zip(*ok)) if len(ok) >= MIN_FIT_POINTS else None
    return ConvergenceResult(
        problem=result.problem, scheme=result.scheme, ode=result.ode, T=result.T, steps=steps, errors=errors,
        grad_evals=evals, fit=fit, reference=result.reference, declared_order=result.declared_order,
        start=result.start, diverged=diverged, failed=failed,
        note=_ladder_note(len(ok), len(steps), diverged, failed))


def check_step_counts(ladder, name):
    """Every entry of ``ladder`` (argument ``name``) is a positive integer number of steps."""
    for i, n in enumerate(ladder):
        check_int(n, f"{name}[{i}]")


def _ladder_note(n_ok, n_rungs, diverged, failed) -> str:
    """Why a ladder has no fitted order, and which rungs were left out of the fit and why."""
    parts = []
    if n_ok < MIN_FIT_POINTS:
        parts.append(f"no order fitted: {n_ok} of {n_rungs} rungs finished with a finite error, "
                     f"at least {MIN_FIT_POINTS} needed")
    if diverged:
        parts.append("diverged rungs, not fitted (step γ → diverged at step k): "
                     + ", ".join(f"{h:g} → {k}" for h, k in diverged.items()))
    if failed:
        parts.append("rungs without a finite positive error, not fitted: "
                     + ", ".join(f"{h:g} ({why})" for h, why in failed.items()))
    return "; ".join(parts)


@dataclass
class SDEOrderResult:
    """Strong and weak errors at time T over a ladder of steps, with fitted orders.

    ``strong[i]`` = E|X_h(T) − X(T)| (same Brownian path), ``weak[i]`` = E[f(X_h(T))] −
    E[f(X(T))] estimated pathwise (mean of differences, so its standard error is that
    of the differences, far below the spread of f itself); ``*_se`` standard errors.
    """

    scheme: str
    model: str
    T: float
    steps: list
    strong: list
    strong_se: list
    weak: list
    weak_se: list
    strong_fit: Optional[OrderFit]
    weak_fit: Optional[OrderFit]
    declared_strong: Optional[float]
    declared_weak: Optional[float]
    n_paths: int
    seed: int
    reference: str
    note: str = ""

    def as_dict(self):
        fit = lambda f: None if f is None else {"order": round(f.order, 4), "ci": [round(f.ci[0], 4), round(f.ci[1], 4)]}  # noqa: E731
        return {"scheme": self.scheme, "model": self.model, "T": self.T, "steps": self.steps,
                "strong": [float(f"{e:.5g}") for e in self.strong],
                "strong_se": [float(f"{e:.3g}") for e in self.strong_se],
                "weak": [float(f"{e:.5g}") for e in self.weak], "weak_se": [float(f"{e:.3g}") for e in self.weak_se],
                "strong_order": fit(self.strong_fit), "weak_order": fit(self.weak_fit),
                "declared_strong": self.declared_strong, "declared_weak": self.declared_weak,
                "n_paths": self.n_paths, "seed": self.seed, "reference": self.reference, "note": self.note}


def sde_order_study(model, scheme, x0, T, n_steps_ladder, n_paths, seed, exact=None, f=None,
                    reference_factor=16, block_size=None) -> SDEOrderResult:
    """Strong and weak errors of ``scheme`` on ``model`` with one shared Brownian path per sample.

    Every step h = T/N in the ladder replays the same fine Brownian path (drawn at
    T/max(N), summed; see :mod:`dynopt.engine.brownian`).  The reference is ``exact(W_T, x0)``
    when the SDE has a solution in terms of W_T (e.g. geometric Brownian motion), else the
    same scheme run on the same path with a step ``reference_factor`` times smaller than
    the finest one.

    Parameters
    ----------
    model : SDEModel; with m Wiener processes ``exact`` receives W_T of shape (n_paths, m).
    scheme : str or SDEScheme
    x0 : array_like (state_dim,)
    T : float > 0
    n_steps_ladder : sequence of int, each dividing max(ladder)
    n_paths : int
    seed : int
    exact : callable(W_T, x0) -> X_T, optional
    f : callable, optional
        Test function for the weak error (default identity on the state).

    Returns
    -------
    SDEOrderResult
    """
    T = float(T)
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"`T` must be finite and > 0; got {T!r}")
    ladder = sorted(int(n) for n in n_steps_ladder)
    nmax = ladder[-1]
    if any(nmax % n for n in ladder):
        raise ValueError(f"`n_steps_ladder` entries must divide the largest one; got {ladder}")
    f = f or (lambda x: x)
    sch = get_scheme(scheme)
    kw = dict(n_paths=n_paths, seed=seed)

    def substeps(r):
        return EnsembleOptions(block_size=block_size, brownian_substeps=r)

    if exact is not None:
        # W_T from the same stream: a pure Brownian motion run with one coarse step
        # (one coordinate per Wiener process, so W_T has shape (n_paths, m))
        bm = SDE(lambda t, x: np.zeros_like(x), np.eye(model.noise_dim) if model.noise_dim > 1 else 1.0,
                 model.noise_dim, noise="additive")
        WT = simulate(bm, "euler-maruyama", (0, T), np.zeros(bm.state_dim), T, options=substeps(nmax), **kw).y_final
        ref = exact(WT, np.asarray(x0, float))
        ref_kind = "exact solution from W_T"
    else:
        r = simulate(model, sch, (0, T), x0, T / (nmax * reference_factor), options=substeps(1), **kw)
        ref = r.y_final
        ref_kind = f"{sch.name} with step T/{nmax * reference_factor} on the same Brownian path"
    fref = f(ref)
    steps, strong, sse, weak, wse = [], [], [], [], []
    notes = []
    for n in ladder:
        r = simulate(model, get_scheme(scheme) if isinstance(scheme, str) else sch, (0, T), x0, T / n,
                     options=substeps(nmax * (1 if exact is not None else reference_factor) // n), **kw)
        ok = r.alive
        if r.n_diverged:
            notes.append(f"h={T / n:g}: {r.note}")
        diff = r.y_final[ok] - ref[ok]
        e = np.linalg.norm(diff, axis=1)
        steps.append(T / n)
        strong.append(float(e.mean()))
        sse.append(float(e.std(ddof=1) / np.sqrt(e.size)))
        dw = (f(r.y_final[ok]) - fref[ok]).reshape(e.size, -1)[:, 0]
        weak.append(float(dw.mean()))
        wse.append(float(dw.std(ddof=1) / np.sqrt(e.size)))
    sfit = fit_order(steps, strong)
    usable = [(h, abs(w)) for h, w, s in zip(steps, weak, wse) if abs(w) > 3 * s]
    wfit = fit_order(*zip(*usable)) if len(usable) >= 3 else None
    if wfit is None:
        notes.append("weak errors within 3 SE of zero at too many steps: no weak order fitted")
    elif len(usable) < len(steps):
        notes.append(f"weak order fitted on the {len(usable)} steps whose error exceeds 3 SE")
    return SDEOrderResult(sch.name, model.name, T, steps, strong, sse, weak, wse, sfit, wfit,
                          sch.declared_strong_order(model), sch.weak_order, int(n_paths), int(seed),
                          ref_kind, "; ".join(notes))


def scheme_linear_map(model, scheme, dt):
    """(M, N) with y_{n+1} = M y_n + N ξ_n for a scheme applied to a linear SDE model.

    Found by stepping unit states with zero noise and zero states with unit noise, so
    it is the scheme's own code that is analysed (e.g. BAOAB on a harmonic potential).
    The exact discrete stationary covariance is then
    ``scipy.linalg.solve_discrete_lyapunov(M, N @ N.T)``.
    """
    sch = get_scheme(scheme)
    sch.check_model(model)
    D, k, m = model.state_dim, sch.n_terms, model.noise_dim
    n = D + k * m + 1
    y = np.zeros((n, D))
    y[:D] = np.eye(D)
    z = np.zeros((k, n, m))
    for i in range(k * m):
        z[i // m, D + i, i % m] = 1.0
    state = sch.init(model, y, dt)
    state = sch.step(model, 0.0, state, dt, z)
    out = sch.output(model, state)
    base = out[-1]
    M = (out[:D] - base).T
    Nn = (out[D:D + k * m] - base).T
    return M, Nn
