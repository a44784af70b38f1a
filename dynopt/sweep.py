"""Parameter sweeps: a TOML spec → a tidy CSV table and figures (``dynopt sweep SPEC.toml``).

A spec names a task, fixed parameters and a grid::

    task = "heavy_ball_quadratic"      # a name from TASKS, or "mytasks.py:function"
                                       # (a Python file in the spec's folder)
    seed = 0
    [params]                           # passed to every grid point
    n_steps = 2000
    [grid]                             # each key: a list, or {start, stop, num[, log]}
    alpha_h = {start = 0.05, stop = 4.5, num = 40}
    beta = {start = 0.0, stop = 1.0, num = 41}
    [[plots]]
    kind = "heatmap"                   # or "curve"
    x = "alpha_h"
    y = "beta"
    value = "converged"
    overlay = "heavy_ball_stability"   # optional: a curve from OVERLAYS

Every grid point is a pure task of (parameters, seed), computed by an executor
(:mod:`dynopt.engine.executors`) and cached by a signed content hash (:mod:`dynopt.ledger.cache`):
rerunning recomputes only the points whose code, parameters or seed changed; an interrupted sweep resumes.
"""
from __future__ import annotations

import csv
import inspect
import io
import itertools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp
from tqdm.auto import tqdm

from dynopt.checks import integer_range, is_int
from dynopt.dynamics import HeavyBall, SGDModifiedEquation
from dynopt.engine import EnsembleOptions, Moments, SerialExecutor, integrate, simulate
from dynopt.expr import ExprError, parse
from dynopt.io import atomic_write_text, load_file_module
from dynopt.ledger import Cache, code_version, make_key, package_version_hash
from dynopt.ledger.cache import remove_stale_temp_files, report_lock
from dynopt.plotting import new_axes, plot_grid_map, save_figure
from dynopt.problems import least_squares, quadratic
from dynopt.schemes import HeavyBallMomentum, leapfrog_ode_parameters
from dynopt.symbolic import get_derivation

try:  # Python ≥ 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SweepSpec", "SpecError", "load_spec", "run_sweep", "TASKS", "OVERLAYS",
           "heavy_ball_quadratic", "sgd_stationary_variance"]


class SpecError(ValueError):
    """A malformed sweep spec; the message names the file, line and key."""


# ---------------------------------------------------------------------------------------
# Built-in tasks (pure functions of their keyword arguments; module level so that worker
# processes can import them)
# ---------------------------------------------------------------------------------------
def heavy_ball_quadratic(alpha_h: float, beta: float, n_steps: int = 2000, h: float = 1.0,
                         tol: float = 1e-6, seed=None) -> dict:
    """Heavy ball (optimizer start v_0 = 0) on L = hθ²/2 from θ_0 = 1.

    Runs dynopt's leapfrog scheme with (γ, λ) from the eq-15 map of (α, β).

    Returns
    -------
    dict with ``converged`` (|θ_n| ≤ tol), ``diverged_step`` (or -1), ``final_abs``,
    ``rate`` (|θ_n|^(1/n), the measured contraction per step) and ``spectral_radius`` of
    the iteration matrix [[1+β−αh, −β], [1, 0]] (computed numerically).
    """
    alpha = alpha_h / h
    gamma, lam = leapfrog_ode_parameters(alpha, beta)
    sol = integrate(HeavyBall(quadratic([[h]]), lam), HeavyBallMomentum(), (0.0, n_steps * gamma),
                    [1.0], gamma)
    M = np.array([[1 + beta - alpha_h, -beta], [1.0, 0.0]])
    rho = float(np.max(np.abs(np.linalg.eigvals(M))))
    if sol.diverged:
        return {"converged": False, "diverged_step": int(sol.diverged_step), "final_abs": float("inf"),
                "rate": float("inf"), "spectral_radius": rho}
    final = float(abs(sol.y_final[0, 0]))
    return {"converged": bool(final <= tol), "diverged_step": -1, "final_abs": final,
            "rate": final ** (1.0 / n_steps) if final > 0 else 0.0, "spectral_radius": rho}


def sgd_stationary_variance(eta: float, batch: int, n_examples: int = 64, n_paths: int = 2000,
                            n_burn: int = 500, n_avg: int = 2000, seed: int = 0) -> dict:
    """Stationary variance of constant-step SGD on a 1-D least-squares finite sum.

    The data are fixed (seed 0): a_i = 1, b_i standard normal, so ∇ℓ_i(θ) = θ − b_i and
    L has curvature 1.  An ensemble of ``n_paths`` SGD chains with minibatches of size
    ``batch`` (drawn with replacement) is run by the engine's ``sgd`` scheme (SGDIterates on
    the SGD modified equation); the variance of θ over the ensemble is
    averaged over ``n_avg`` steps after ``n_burn``.  ``eta_over_b`` is the SDE
    temperature η/B.

    Returns
    -------
    dict with ``variance``, ``variance_se`` (standard error over 20 time blocks),
    ``eta_over_b``, ``predicted_variance`` = ηc/(B(2 − η)) — the exact discrete-time value
    for this linear problem (c the per-example gradient variance) — and ``sde_variance``
    = ηc/(2B), the stationary variance of the Langevin SDE with temperature η/B.
    """
    rng_data = np.random.default_rng(0)
    b = rng_data.standard_normal(n_examples)
    prob = least_squares(np.ones((n_examples, 1)), b)
    c = float(np.var(b))
    # η ≥ 2 makes the iteration unstable: the discrete-time formula no longer applies
    predicted = eta * c / (batch * (2 - eta)) if 0 < eta < 2 else None
    n_steps = n_burn + n_avg
    # minibatch SGD itself, run by the engine (its divergence rule, its per-block streams)
    r = simulate(SGDModifiedEquation(prob, eta, batch, replace=True), "sgd", (0.0, n_steps * eta), prob.center, eta,
                 n_paths=n_paths, seed=seed, observers=[Moments(every=1)],
                 options=EnsembleOptions(keep_final=False, progress=False))
    if r.n_diverged:
        return {"variance": None, "variance_se": None, "eta_over_b": eta / batch, "predicted_variance": predicted,
                "sde_variance": eta * c / (2 * batch), "diverged_step": int(r.first_divergence_step)}
    v = r.observations["moments"].var[n_burn + 1:, 0]
    blocks = v[: len(v) // 20 * 20].reshape(20, -1).mean(axis=1)
    return {"variance": float(v.mean()), "variance_se": float(blocks.std(ddof=1) / np.sqrt(20)),
            "eta_over_b": eta / batch, "predicted_variance": predicted,
            "sde_variance": eta * c / (2 * batch), "diverged_step": -1}

TASKS = {"heavy_ball_quadratic": heavy_ball_quadratic,
         "sgd_stationary_variance": sgd_stationary_variance}

#: the output keys of the built-in tasks (so that plot keys are checked before computing)
TASK_OUTPUTS = {"heavy_ball_quadratic": {"converged", "diverged_step", "final_abs", "rate", "spectral_radius"},
                "sgd_stationary_variance": {"variance", "variance_se", "eta_over_b", "predicted_variance",
                                            "sde_variance", "diverged_step"}}

#: columns every sweep row gets: "ok", "diverged" (with ``diverged_step``) or "failed"
#: (with ``reason``); a non-finite output is never written, its cell is left empty
STATUS_COLUMNS = ("status", "reason")


def _stability_overlay(scheme):
    """An overlay drawing the largest stable αh as a function of β, as derived by
    ``dynopt.symbolic`` (Jury conditions on the characteristic polynomial)."""

    def draw(ax, x, y):
        bound = get_derivation("stability").results[f"{scheme}: max αh"]
        betas = np.linspace(min(y), max(y), 200)
        syms = sorted(getattr(bound, "free_symbols", ()), key=lambda s: s.name)
        vals = np.broadcast_to(np.asarray(sp.lambdify(syms, bound, "numpy")(*([betas] * len(syms))), float),
                               betas.shape) if syms else np.full_like(betas, float(bound))
        return ax.plot(vals, betas, "r-", lw=1.5, label=f"derived stability bound αh < {sp.sstr(bound)}")

    return draw


OVERLAYS = {"heavy_ball_stability": _stability_overlay("heavy-ball"),
            "nesterov_stability": _stability_overlay("nesterov")}


# ---------------------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------------------
@dataclass
class SweepSpec:
    """A parsed sweep spec."""

    path: Path
    task_name: str
    task: object
    params: dict
    grid: dict  # name -> list of values, in spec order
    seed: int = 0
    plots: list = field(default_factory=list)

    def points(self) -> list:
        """Grid points (dicts) in a fixed order: the first grid key varies slowest."""
        names = list(self.grid)
        return [dict(zip(names, vals)) for vals in itertools.product(*self.grid.values())]


def _line_of(text: str, key: str, section: str | None = None) -> int:
    lines = text.splitlines()
    start = 0
    if section:
        for i, line in enumerate(lines):
            if re.match(rf"^\s*\[+\s*{re.escape(section)}\s*\]+", line):
                start = i
                break
    for i in range(start, len(lines)):
        if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i]):
            return i + 1
    return start + 1


def _fail(path, text, key, msg, section=None):
    raise SpecError(f"{path}:{_line_of(text, key, section)}: `{key}`: {msg}")


def _values(path, text, key, spec):
    if isinstance(spec, list):
        if not spec:
            _fail(path, text, key, "an empty list", "grid")
        return spec
    if isinstance(spec, dict):
        unknown = set(spec) - {"start", "stop", "num", "log"}
        if unknown or not {"start", "stop", "num"} <= set(spec):
            _fail(path, text, key, "a range needs start, stop, num (and optionally log); "
                                   f"got keys {sorted(spec)}", "grid")
        num = spec["num"]
        if not is_int(num):
            _fail(path, text, key, f"`num` must be {integer_range()}; got {num!r}", "grid")
        if spec.get("log"):
            if spec["start"] <= 0 or spec["stop"] <= 0:
                _fail(path, text, key, "a log range needs start > 0 and stop > 0", "grid")
            vals = np.geomspace(spec["start"], spec["stop"], num)
        else:
            vals = np.linspace(spec["start"], spec["stop"], num)
        return [float(f"{v:.12g}") for v in vals]
    _fail(path, text, key, "must be a list or a table {start, stop, num}", "grid")


def _resolve_task(path, text, name):
    """A built-in task (:data:`TASKS`) or ``file.py:function`` / ``file:function`` for a Python
    file in the spec's own folder.

    Nothing else is accepted: a module path (``subprocess:getoutput``, ``shutil:rmtree``) would
    let a spec call any function of the standard library or site-packages.  The file is loaded
    under a private module name, without touching ``sys.path`` (a ``cloudpickle.py`` or
    ``numpy.py`` beside the spec can never shadow an installed package), and its functions
    travel to worker processes by value.
    """
    if isinstance(name, str) and name in TASKS:
        return TASKS[name]
    allowed = (f"must be one of {sorted(TASKS)} or 'file.py:function' for a Python file in the spec's "
               "folder")
    if not isinstance(name, str) or name.count(":") != 1:
        _fail(path, text, "task", f"{allowed}; got {name!r}")
    mod, _, fn = name.partition(":")
    stem = mod[:-3] if mod.endswith(".py") else mod
    if not stem.isidentifier() or not fn.isidentifier() or fn.startswith("_"):
        _fail(path, text, "task", f"{allowed} (no module paths, folders or private names); got {name!r}")
    here = Path(path).resolve().parent
    beside = here / f"{stem}.py"
    if not beside.is_file():
        _fail(path, text, "task", f"{allowed}; cannot find {mod!r}: looked for {beside}")
    try:
        module = load_file_module(beside, "dynopt_sweep_task")
    except Exception as exc:  # noqa: BLE001 - any failure of the user's file is reported as the spec's
        _fail(path, text, "task", f"cannot load {beside} ({type(exc).__name__}: {exc})")
    task = getattr(module, fn, None)
    if not inspect.isfunction(task):
        _fail(path, text, "task", f"{beside} has no function {fn!r} beside the spec")
    return task


def load_spec(path) -> SweepSpec:
    """Parse and validate a sweep spec.

    Raises
    ------
    SpecError
        With the file, the line and the key that are wrong.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    allowed = {"task", "seed", "params", "grid", "plots"}
    for key in data:
        if key not in allowed:
            _fail(path, text, key, f"unknown key; allowed: {sorted(allowed)}")
    if "task" not in data:
        raise SpecError(f"{path}:1: `task`: missing (one of {sorted(TASKS)} or 'module:function')")
    task = _resolve_task(path, text, data["task"])
    params = data.get("params", {})
    if not isinstance(params, dict):
        _fail(path, text, "params", f"must be a table ([params] with one `name = value` a line); "
                                    f"got {type(params).__name__} {params!r}")
    grid_raw = data.get("grid", {})
    if not isinstance(grid_raw, dict):
        _fail(path, text, "grid", f"must be a table ([grid] with one `name = [values]` a line); "
                                  f"got {type(grid_raw).__name__} {grid_raw!r}")
    if not grid_raw:
        raise SpecError(f"{path}:{_line_of(text, 'grid')}: `grid`: needs at least one parameter")
    sig = inspect.signature(task)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for section, keys in (("params", params), ("grid", grid_raw)):
        for key in keys:
            if not accepts_any and key not in sig.parameters:
                _fail(path, text, key, f"not a parameter of task {data['task']!r}; "
                                       f"it takes {sorted(sig.parameters)}", section)
    both = set(params) & set(grid_raw)
    if both:
        k = sorted(both)[0]
        _fail(path, text, k, "given both in [params] and in [grid]", "grid")
    grid = {k: _values(path, text, k, v) for k, v in grid_raw.items()}
    seed = data.get("seed", 0)
    if not is_int(seed, low=0):
        _fail(path, text, "seed", f"must be {integer_range(0)}; got {seed!r}")
    plots = data.get("plots", [])
    if not isinstance(plots, list) or not all(isinstance(pl, dict) for pl in plots):
        _fail(path, text, "plots", "must be an array of tables ([[plots]] sections)")
    for pl in plots:
        kind = pl.get("kind")
        if kind not in ("heatmap", "curve"):
            _fail(path, text, "kind", f"must be 'heatmap' or 'curve'; got {kind!r}", "plots")
        need = ("x", "y", "value") if kind == "heatmap" else ("x", "y")
        for k in need:
            if k not in pl:
                _fail(path, text, "kind", f"a {kind} plot needs `{k}`", "plots")
        if kind == "heatmap" and not {pl["x"], pl["y"]} <= set(grid):
            _fail(path, text, "x", "heatmap axes must be grid parameters", "plots")
        allowed_plot = {"kind", "x", "y", "value", "overlay", "y2", "group", "loglog", "logx", "logy",
                        "contour", "label", "xlabel", "ylabel"}
        for k in pl:
            if k not in allowed_plot:
                _fail(path, text, k, f"unknown plot key; allowed: {sorted(allowed_plot)}", "plots")
        if pl.get("overlay") and pl["overlay"] not in OVERLAYS:
            _fail(path, text, "overlay", f"must be one of {sorted(OVERLAYS)}; got {pl['overlay']!r}", "plots")
    need = [k for k, q in sig.parameters.items() if q.default is q.empty and k != "seed"
            and q.kind in (q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY) and k not in params and k not in grid_raw]
    if need:
        _fail(path, text, "task", f"task {data['task']!r} needs {need} in [params] or [grid]")
    params, grid = _check_values(path, text, sig, params, grid)
    _check_plot_keys(path, text, data["task"], plots, set(params) | set(grid))
    return SweepSpec(path=path, task_name=data["task"], task=task, params=params, grid=grid,
                     seed=seed, plots=plots)


def _check_values(path, text, sig, params, grid):
    """Every value against the task's declared parameter type, before the first point:
    ``float`` a finite real number, ``int`` an integer ≥ 1 (the tasks' ints are counts).
    A string for a ``float`` is a constant expression (``"1/3"``, ``"2*pi"``) read by the
    safe parser :mod:`dynopt.expr`.  Returns ``(params, grid)`` with such strings as floats."""
    out = []
    for section, items in (("params", {k: [v] for k, v in params.items()}), ("grid", grid)):
        out.append({})
        for key, values in items.items():
            p = sig.parameters.get(key)
            kind = getattr(p.annotation, "__name__", str(p.annotation)) if p is not None else ""
            values = [_constant(path, text, key, v, section) if kind == "float" and isinstance(v, str) else v
                      for v in values]
            for v in values:
                if kind == "float" and (isinstance(v, bool) or not isinstance(v, (int, float))
                                        or not np.isfinite(v)):
                    _fail(path, text, key, f"must be a finite real number; got {v!r}", section)
                if kind == "int" and not is_int(v):
                    _fail(path, text, key, f"must be {integer_range()}; got {v!r}", section)
            out[-1][key] = values
    return {k: v[0] for k, v in out[0].items()}, out[1]


def _constant(path, text, key, value, section):
    """The float of a constant expression string, read by :func:`dynopt.expr.parse`."""
    try:
        c = parse(value, [], argument=key)
    except ExprError as exc:
        _fail(path, text, key, str(exc).removeprefix(f"`{key}`: "), section)
    if c.free_symbols:
        _fail(path, text, key, f"must be a number or a constant expression; got {value!r}", section)
    return float(c)


def _check_plot_keys(path, text, task_name, plots, inputs):
    """Plot keys name grid/params entries or (for built-in tasks) the task's outputs."""
    outputs = TASK_OUTPUTS.get(task_name)
    if outputs is None:
        return  # a user task's outputs are known only after it ran: checked before plotting
    known = inputs | outputs | set(STATUS_COLUMNS)
    for pl in plots:
        for k in ("x", "y", "value", "y2", "group"):
            if k in pl and pl[k] not in known:
                _fail(path, text, k, f"[[plots]] key {pl[k]!r} is neither a parameter nor an output of {task_name!r}; "
                                     f"known: {sorted(known)}", "plots")


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------
def _point_seed(seed: int, params: dict) -> int:
    """A per-point seed that depends only on the spec's seed and the point's parameters
    (not on its position in the grid), so that a grown grid reuses the points it shares."""
    digest = make_key("point", params)
    words = [int(digest[i:i + 8], 16) for i in range(0, 32, 8)]
    return int(np.random.SeedSequence([seed, *words]).generate_state(1)[0])


def _call(job):
    fn, kwargs = job
    try:
        return fn(**kwargs)
    except (ArithmeticError, ValueError, TypeError, FloatingPointError) as exc:
        # a point the task cannot compute is a row marked failed, not the end of the sweep
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}


def _mark(out):
    """A task's output with its status: non-finite numbers are dropped (empty cells) and
    the point is marked diverged (with ``diverged_step`` when the task gives it)."""
    if out.get("status") == "failed":
        return out
    bad = [k for k, v in out.items() if isinstance(v, (float, np.floating)) and not np.isfinite(v)]
    res = {k: (None if k in bad else v) for k, v in out.items()}
    diverged = bad or out.get("diverged_step") not in (None, -1) or any(v is None for v in out.values())
    reason = f"non-finite {', '.join(bad)}" if bad else ""
    return {**res, "status": "diverged" if diverged else "ok", "reason": reason}


def run_sweep(spec: SweepSpec, out_dir, executor=None, cache: Cache | None = None,
              batch: int | None = None, progress: bool = False):
    """Compute every grid point and write ``results.csv`` and the figures into ``out_dir``.

    Parameters
    ----------
    spec : SweepSpec
    out_dir : path-like
    executor : optional
        From :func:`dynopt.engine.get_executor` (default: serial).
    cache : Cache, optional
        Per-point results keyed by (code version, task, parameters, seed).
    batch : int, optional
        Points handed to the executor at a time; each finished batch is cached, so an
        interrupted sweep loses at most one batch.

    Returns
    -------
    list of dict
        One row per grid point: the grid values followed by the task's outputs.

    Notes
    -----
    One sweep at a time writes into an ``out_dir``: it holds the folder's lock
    (``<out_dir>/.lock``, a second sweep into it waits).  A SIGKILL releases the lock with
    the process, so the hidden temporary files found in ``out_dir`` and its own cache at
    the start were left by a run that is gone, inside a write it could not finish; they
    are removed before any point runs (in a cache outside ``out_dir``, only those older
    than a live write could be).
    """
    out_dir = Path(out_dir)
    with report_lock(out_dir):
        remove_stale_temp_files(out_dir)  # the table and figures (the user's subfolders are left alone)
        if cache is not None:
            own = out_dir.resolve() in cache.root.resolve().parents
            # a cache elsewhere may be shared with a live writer: only its stale files go
            cache.clean_temp_files(min_age=0.0 if own else 60.0)
        return _run_points(spec, out_dir, executor or SerialExecutor(), cache, batch, progress)


def _run_points(spec, out_dir, executor, cache, batch, progress):
    """The body of :func:`run_sweep`, under the output folder's lock."""
    points = spec.points()
    takes_seed = "seed" in inspect.signature(spec.task).parameters
    task_file = inspect.getsourcefile(spec.task)
    version = make_key(package_version_hash(), code_version(task_file) if task_file else "")
    jobs, keys = [], []
    for i, pt in enumerate(points):
        kwargs = {**spec.params, **pt}
        if takes_seed and "seed" not in kwargs:
            kwargs["seed"] = _point_seed(spec.seed, kwargs)
        jobs.append((spec.task, kwargs))
        keys.append(make_key("sweep", spec.task_name, version, kwargs))
    results = [cache.get(k) if cache else None for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    batch = batch or max(1, 4 * getattr(executor, "n_workers", 1))
    bar = tqdm(total=len(todo), desc="sweep", unit="point", disable=not progress)
    for start in range(0, len(todo), batch):
        idx = todo[start:start + batch]
        outs = executor.map(_call, [jobs[i] for i in idx])
        for i, out in zip(idx, outs):
            if not isinstance(out, dict):
                raise TypeError(f"task {spec.task_name!r} must return a dict; got {type(out).__name__}")
            results[i] = _mark(out)
            if cache and out.get("status") != "failed":
                cache.put(keys[i], results[i])
        bar.update(len(idx))
    bar.close()
    rows = [{**pt, **res} for pt, res in zip(points, results)]
    write_table(rows, out_dir / "results.csv")
    for pl in spec.plots:
        for k in ("x", "y", "value", "y2", "group"):
            if k in pl and not any(pl[k] in r for r in rows):
                raise SpecError(f"{spec.path}: [[plots]] `{k}` = {pl[k]!r} is not a column of the results; "
                                f"columns: {sorted({c for r in rows for c in r})}")
    for pl in spec.plots:
        plot_sweep(rows, spec, pl, out_dir / f"{pl['kind']}-{pl.get('value', pl['y'])}.png")
    return rows


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.10g}"
    return str(v)


def write_table(rows, path) -> None:
    """A tidy CSV (one row per point), written atomically."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_fmt(r.get(c, "")) for c in cols])
    atomic_write_text(path, buf.getvalue())


#: axis labels of task parameters and results (a spec may set xlabel/ylabel/label itself)
LABELS = {"alpha_h": "αh", "alpha": "α", "beta": "β", "eta": "η", "batch": "B", "eta_over_b": "η/B",
          "gamma": "γ", "lam": "λ", "h": "h", "spectral_radius": "ρ", "converged": "converged",
          "variance": "Var θ", "sde_variance": "SDE variance ηc/(2B)",
          "predicted_variance": "exact variance ηc/(B(2 − η))", "rate": "rate per step",
          "final_abs": "|θ_n|", "diverged_step": "diverged at step"}
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "eta": "η", "lambda": "λ", "lam": "λ", "sigma": "σ",
          "theta": "θ", "rho": "ρ", "kappa": "κ", "tau": "τ", "mu": "μ", "nu": "ν"}


def symbol(name: str) -> str:
    """The label of a parameter or result name: ``alpha_h`` → ``αh``, ``eta_over_b`` → ``η/B``."""
    if name in LABELS:
        return LABELS[name]
    parts = [_GREEK.get(p, p) for p in name.split("_over_")]
    return "/".join(" ".join(_GREEK.get(w, w) for w in p.split("_")) for p in parts)


def _is_bool(values) -> bool:
    return all(isinstance(v, (bool, np.bool_)) for v in values if v is not None)


def _heatmap(ax, rows, spec, plot):
    xs, ys = spec.grid[plot["x"]], spec.grid[plot["y"]]
    Z = np.full((len(ys), len(xs)), np.nan)
    vals = [r[plot["value"]] for r in rows]
    for r, v in zip(rows, vals):
        Z[ys.index(r[plot["y"]]), xs.index(r[plot["x"]])] = float(v) if v is not None else np.nan
    label = plot.get("label", symbol(plot["value"]))
    plot_grid_map(ax, xs, ys, Z, label, categories=["no", "yes"] if _is_bool(vals) else None,
                  contours=[float(c) for c in np.atleast_1d(plot.get("contour", []))])
    if plot.get("overlay"):
        lines = OVERLAYS[plot["overlay"]](ax, xs, ys)
        ax.set_xlim(min(xs), max(xs))
        ax.legend(handles=lines, fontsize=7, loc="lower right")  # the categories keep their own legend


def _curves(ax, rows, plot):
    group = plot.get("group")
    keys = sorted({r[group] for r in rows}) if group else [None]
    x, y, y2 = plot["x"], plot["y"], plot.get("y2")
    se = next((k for k in (f"{y}_se", "se") if any(k in r for r in rows)), None)
    theory_labelled = False
    for g in keys:
        sel = sorted((r for r in rows if group is None or r[group] == g), key=lambda r: r[x])
        lab = f"{symbol(group)} = {g}" if group else plot.get("label", symbol(y))
        if se:  # the task reports a standard error: ±2 SE bars
            ax.errorbar([r[x] for r in sel], [r[y] for r in sel], yerr=[2 * r.get(se, 0.0) for r in sel],
                        fmt="o", ms=3, capsize=2, label=lab)
        else:
            ax.plot([r[x] for r in sel], [r[y] for r in sel], "o", ms=3, label=lab)
        if y2:
            ax.plot([r[x] for r in sel], [r[y2] for r in sel], "k-", lw=0.8,
                    label=None if theory_labelled else symbol(y2))
            theory_labelled = True
    if plot.get("loglog") or plot.get("logx"):
        ax.set_xscale("log")
    if plot.get("loglog") or plot.get("logy"):
        ax.set_yscale("log")
    if se:
        ax.text(0.01, 0.99, "bars: ±2 SE", transform=ax.transAxes, ha="left", va="top", fontsize=7)
    ax.legend(fontsize=7)


def plot_sweep(rows, spec: SweepSpec, plot: dict, path) -> None:
    """Heatmap of ``value`` over two grid parameters, or a curve of y against x.

    Axis labels come from :func:`symbol` (or the plot's ``xlabel``/``ylabel``); a yes/no
    value gets a categorical map, ``contour`` draws level lines (e.g. ρ = 1); curves get
    ±2 SE bars when the task returns ``<y>_se`` or ``se``, a legend entry for ``y2`` (the
    theory line) and log axes with ``loglog``, ``logx`` or ``logy``.
    """
    ax = new_axes(figsize=(6, 4.5))
    if plot["kind"] == "heatmap":
        _heatmap(ax, rows, spec, plot)
    else:
        _curves(ax, rows, plot)
    ax.set_xlabel(plot.get("xlabel", symbol(plot["x"])))
    ax.set_ylabel(plot.get("ylabel", symbol(plot["y"])))
    what = plot.get("label", symbol(plot.get("value", plot["y"])))
    ax.set_title(f"{spec.task_name}: {what}", fontsize=9)
    save_figure(ax.figure, path)
