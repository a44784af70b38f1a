"""Empirical convergence orders and convergence studies against scipy references."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy import stats

from .dynamics import Model
from .integrate import integrate
from .reference import reference_solution
from .schemes import get_scheme

__all__ = ["OrderFit", "fit_order", "ConvergenceResult", "convergence_study", "global_error"]


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
    if h.size < 3:
        raise ValueError(f"need at least 3 (step, error) points to fit an order; got {h.size}")
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

    ``errors[i]`` is None when the run with ``steps[i]`` diverged; ``diverged`` maps
    such steps to the step index at which they did.  Diverged runs are never fitted.
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
    """
    sch = get_scheme(scheme)
    sch.check_model(model)
    ref_kind = "given"
    if reference is None:
        reference, ref_kind = reference_solution(model, y0, [T])
        reference = reference[0]
    steps, errors, evals, diverged = [], [], [], {}
    for n in n_steps_ladder:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n_steps_ladder` entries must be positive integers; got {n!r}")
        dt = T / n
        sol = integrate(model, get_scheme(scheme) if isinstance(scheme, str) else sch, (0.0, T), y0, dt)
        steps.append(dt)
        evals.append(sol.grad_evals)
        if sol.diverged:
            errors.append(None)
            diverged[dt] = sol.diverged_step
        else:
            errors.append(global_error(model, sol.y_final, reference))
    ok = [(h, e) for h, e in zip(steps, errors) if e is not None and e > 0]
    note = ""
    fit = None
    if len(ok) >= 3:
        fit = fit_order(*zip(*ok))
    else:
        note = f"only {len(ok)} of {len(steps)} runs finished: no order fitted"
    if diverged:
        note = (note + "; " if note else "") + "diverged runs (step → step index): " + \
            ", ".join(f"{h:g} → {k}" for h, k in diverged.items())
    return ConvergenceResult(
        problem=problem_name or model.problem.name, scheme=sch.name, ode=model.name, T=float(T),
        steps=steps, errors=errors, grad_evals=evals, fit=fit, reference=ref_kind,
        declared_order=sch.order, start=getattr(sch, "start", None), diverged=diverged, note=note)


# ---------------------------------------------------------------------------------------
# SDE analysis (issue 4): strong/weak errors, stationary densities, escape times, energy
# ---------------------------------------------------------------------------------------
from scipy import integrate as _sint  # noqa: E402


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
    T/max(N), summed; see :mod:`dynopt.brownian`).  The reference is ``exact(W_T, x0)``
    when the SDE has a solution in terms of W_T (e.g. geometric Brownian motion), else the
    same scheme run on the same path with a step ``reference_factor`` times smaller than
    the finest one.

    Parameters
    ----------
    model : SDEModel with one noise dimension (the replay of W_T needs m = 1 for exact).
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
    from .integrate import simulate
    from .schemes import get_scheme

    T = float(T)
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"`T` must be finite and > 0; got {T!r}")
    ladder = sorted(int(n) for n in n_steps_ladder)
    nmax = ladder[-1]
    if any(nmax % n for n in ladder):
        raise ValueError(f"`n_steps_ladder` entries must divide the largest one; got {ladder}")
    f = f or (lambda x: x)
    sch = get_scheme(scheme)
    kw = dict(n_paths=n_paths, seed=seed, block_size=block_size)
    if exact is not None:
        # W_T from the same stream: a pure Brownian motion run with one coarse step
        from .dynamics import SDE
        bm = SDE(lambda t, x: np.zeros_like(x), np.eye(1, model.noise_dim) if model.noise_dim > 1 else 1.0,
                 1 if model.noise_dim == 1 else model.noise_dim, noise="additive")
        WT = simulate(bm, "euler-maruyama", (0, T), np.zeros(bm.state_dim), T, brownian_substeps=nmax, **kw).y_final
        ref = exact(WT, np.asarray(x0, float))
        ref_kind = "exact solution from W_T"
    else:
        r = simulate(model, sch, (0, T), x0, T / (nmax * reference_factor), brownian_substeps=1, **kw)
        ref = r.y_final
        ref_kind = f"{sch.name} with step T/{nmax * reference_factor} on the same Brownian path"
    fref = f(ref)
    steps, strong, sse, weak, wse = [], [], [], [], []
    notes = []
    for n in ladder:
        r = simulate(model, get_scheme(scheme) if isinstance(scheme, str) else sch, (0, T), x0, T / n,
                     brownian_substeps=nmax * (1 if exact is not None else reference_factor) // n, **kw)
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


def gibbs_density(potential, temperature, lo, hi):
    """Normalised 1-D density ∝ exp(−U(x)/kT) on [lo, hi] (normaliser by ``scipy.integrate.quad``).

    Returns
    -------
    (pdf, Z) : callable on arrays, float
    """
    kT = float(temperature)
    if not np.isfinite(kT) or kT <= 0:
        raise ValueError(f"`temperature` must be finite and > 0; got {temperature!r}")
    u0 = min(float(potential(x)) for x in np.linspace(lo, hi, 201))
    w = lambda x: np.exp(-(potential(x) - u0) / kT)  # noqa: E731
    Z, _ = _sint.quad(w, lo, hi, limit=200, points=[0.0] if lo < 0 < hi else None)
    return (lambda x: w(np.asarray(x, float)) / Z), Z


def density_distances(samples, pdf, lo, hi):
    """KS test and Wasserstein-1 distance of 1-D ``samples`` to the density ``pdf`` on [lo, hi].

    The CDF is built by ``quad`` on a fine grid; samples outside [lo, hi] count against the
    fit (they are kept, the CDF is 0/1 there).

    Returns
    -------
    dict with ks_statistic, ks_pvalue, wasserstein, n
    """
    from scipy import stats

    x = np.asarray(samples, float).ravel()
    grid = np.linspace(lo, hi, 4001)
    pd = pdf(grid)
    cdf_grid = np.concatenate([[0.0], np.cumsum(0.5 * (pd[1:] + pd[:-1]) * np.diff(grid))])
    cdf_grid /= cdf_grid[-1]
    cdf = lambda v: np.interp(v, grid, cdf_grid)  # noqa: E731
    ks = stats.kstest(x, cdf)
    # W1 between the empirical law and pdf: ∫|F_n − F| dx on the grid
    Fn = np.searchsorted(np.sort(x), grid, side="right") / x.size
    w1 = float(np.trapezoid(np.abs(Fn - cdf_grid), grid)) if hasattr(np, "trapezoid") else \
        float(np.trapz(np.abs(Fn - cdf_grid), grid))
    return {"ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue), "wasserstein": w1, "n": int(x.size)}


def histogram_chi2(counts, probs):
    """Pearson χ² of integer bin ``counts`` against bin probabilities ``probs`` (bins with
    expected count ≥ 5), with its p-value from ``scipy.stats.chi2``."""
    from scipy import stats

    counts = np.asarray(counts, float).ravel()
    probs = np.asarray(probs, float).ravel()
    n = counts.sum()
    exp = probs * n
    keep = exp >= 5
    chi2 = float(((counts[keep] - exp[keep]) ** 2 / exp[keep]).sum())
    dof = int(keep.sum()) - 1
    return {"chi2": chi2, "dof": dof, "pvalue": float(stats.chi2.sf(chi2, dof))}


def escape_times(result, name="first_passage"):
    """Mean first-passage time with its standard error from an ensemble result.

    Returns
    -------
    dict with mean, se, passed, n (paths that never passed are reported, not averaged)
    """
    fp = result.observations[name]
    t = fp.times
    return {"mean": float(t.mean()) if t.size else None,
            "se": float(t.std(ddof=1) / np.sqrt(t.size)) if t.size > 1 else None,
            "passed": int(fp.passed.sum()), "n": int(fp.passed.size), "resolution": fp.resolution}


def kinetic_temperature(velocities):
    """⟨|η|²⟩/d with its standard error: equals kT = σ²/(2λ) at equilibrium."""
    v = np.asarray(velocities, float)
    e = (v ** 2).mean(axis=1)
    return float(e.mean()), float(e.std(ddof=1) / np.sqrt(e.size))


__all__ += ["SDEOrderResult", "sde_order_study", "gibbs_density", "density_distances",
            "histogram_chi2", "escape_times", "kinetic_temperature"]


def sgd_stationary_covariances(problem, lr, batch_size):
    """Stationary covariance of constant-step SGD near the minimum of a quadratic finite sum.

    Three predictions for θ_k − θ* with learning rate η and batch size B (sampling with
    replacement), Σ* the per-example gradient covariance at θ*:

    - ``continuous``: Mandt et al.'s OU limit, H S + S H = (η/B) Σ*
      (``scipy.linalg.solve_continuous_lyapunov``);
    - ``discrete``: the linear recursion with constant noise, S = M S Mᵀ + (η²/B) Σ*,
      M = I − ηH (``scipy.linalg.solve_discrete_lyapunov``);
    - ``exact``: the discrete recursion with the noise's own dependence on θ (per-example
      gradients affine in θ, e.g. least squares): S = M S Mᵀ + (η²/B)[Σ* + (1/N)Σ J_i S J_iᵀ
      − H S H], solved as a linear system (None if the recursion has no PSD fixed point).

    Returns
    -------
    dict of (d, d) arrays and the stability margin η·λ_max(H).
    """
    from scipy.linalg import solve_continuous_lyapunov, solve_discrete_lyapunov

    if not problem.is_quadratic:
        raise ValueError("`problem` must be a quadratic finite sum (constant Hessian)")
    lr = float(lr)
    H, c = problem.hessian_matrix, problem.center
    d, N = problem.dim, problem.n_examples
    g0 = problem.example_grads(c)  # (N, d)
    Sig = g0.T @ g0 / N - np.outer(g0.mean(0), g0.mean(0))
    J = np.stack([problem.example_grads(c + np.eye(d)[j]) - g0 for j in range(d)], axis=-1)  # (N, d, d)
    M = np.eye(d) - lr * H
    cont = solve_continuous_lyapunov(H, lr / batch_size * Sig)
    disc = solve_discrete_lyapunov(M, lr ** 2 / batch_size * Sig)
    K = np.kron(M, M) + lr ** 2 / batch_size * (np.einsum("nij,nkl->ikjl", J, J).reshape(d * d, d * d) / N
                                               - np.kron(H, H))
    exact = None
    if np.max(np.abs(np.linalg.eigvals(K))) < 1:
        exact = np.linalg.solve(np.eye(d * d) - K, (lr ** 2 / batch_size * Sig).ravel()).reshape(d, d)
    return {"continuous": cont, "discrete": disc, "exact": exact, "noise_cov": Sig,
            "lr_lambda_max": float(lr * np.linalg.eigvalsh(H).max())}


def covariance_z(samples, S):
    """Entrywise z-scores of the sample covariance of ``samples`` (n, d) against ``S``, with the
    Gaussian standard error √((S_ii S_jj + S_ij²)/n) (upper triangle)."""
    X = np.asarray(samples, float)
    n = X.shape[0]
    C = np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1])
    iu = np.triu_indices(X.shape[1])
    se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C ** 2) / n)[iu]
    if S is None:
        return None, C
    return (C[iu] - np.asarray(S)[iu]) / se, C


__all__ += ["sgd_stationary_covariances", "covariance_z"]


def scheme_linear_map(model, scheme, dt):
    """(M, N) with y_{n+1} = M y_n + N ξ_n for a scheme applied to a linear SDE model.

    Found by stepping unit states with zero noise and zero states with unit noise, so
    it is the scheme's own code that is analysed (e.g. BAOAB on a harmonic potential).
    The exact discrete stationary covariance is then
    ``scipy.linalg.solve_discrete_lyapunov(M, N @ N.T)``.
    """
    from .schemes import get_scheme

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
    sch.step(model, 0.0, state, dt, z)
    out = sch.output(model, state)
    base = out[-1]
    M = (out[:D] - base).T
    Nn = (out[D:D + k * m] - base).T
    return M, Nn


__all__ += ["scheme_linear_map"]
