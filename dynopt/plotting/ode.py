"""Figures.  The only module of dynopt that imports matplotlib (Agg backend: no screen needed).

Every ``plot_*`` function takes ``ax=`` (a new figure when omitted) and returns the artists
it drew; :func:`save_figure` writes a figure as a PNG atomically and closes it.
"""
from __future__ import annotations

from dynopt.plotting.style import _finish_axes, new_axes


import matplotlib
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["finish_sharpness_grid", "plot_contour", "plot_trajectory", "plot_orders", "plot_work_precision", "orders_figure", "work_precision_figure", "plot_grid_map", "plot_iterations_vs_kappa", "plot_loglog_curves", "plot_time_series", "plot_basin", "plot_optimizer_paths", "plot_curves", "plot_stability_regions"]


def plot_contour(problem, xlim=(-6, 6), ylim=(-3, 3), n=200, levels=20, ax=None, **kwargs):
    """Contour of a 2-D objective on a grid.

    Returns
    -------
    matplotlib.contour.QuadContourSet
    """
    if problem.dim != 2:
        raise ValueError(f"`problem` must be 2-D for a contour plot; got dim={problem.dim}")
    ax = new_axes(ax)
    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    X, Y = np.meshgrid(xs, ys)
    Z = problem.value(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    kwargs.setdefault("cmap", "Greys")
    kwargs.setdefault("linewidths", 0.6)
    cs = ax.contour(X, Y, Z, levels=levels, **kwargs)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return cs


def plot_trajectory(points, ax=None, label=None, markers=True, **kwargs):
    """Iterates (k, 2) as a polyline with markers; a continuous curve with ``markers=False``.

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"`points` must have shape (k, 2); got {pts.shape}")
    if markers:
        kwargs.setdefault("marker", "o")
        kwargs.setdefault("markersize", 3)
    return ax.plot(pts[:, 0], pts[:, 1], label=label, **kwargs)


def plot_orders(results, ax=None, title=None, floor=None):
    """Log–log global error vs step for ConvergenceResults, with fitted orders in the legend.

    Parameters
    ----------
    results : list of ConvergenceResult
        A result with a regime check (``ComparisonResult``) outside the regime is drawn dashed;
        the fit through its asymptotic rungs is drawn as a thin black line over them.
    floor : float, optional
        Errors below this are at the reference's accuracy: they are not drawn as points (their
        digits are rounding noise), and when some error comes within three decades of it the
        region below ``floor`` is shaded as a band.

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    artists = []
    several = len({r.problem for r in results}) > 1
    tops, lowest = [], np.inf
    for r in results:
        lowest = min([lowest] + [e for e in r.errors if e is not None and e > 0])
        pts = [(h, e) for h, e in zip(r.steps, r.errors) if e is not None and (floor is None or e >= floor)]
        if not pts:
            continue
        pts.sort()
        h, e = map(np.asarray, zip(*pts))
        tops.append(float(e.max()))
        name = f"{r.problem}/{r.scheme}" if several else r.scheme
        lab = name + (f" (p={r.fit.order:.2f})" if r.fit else " (no fit)")
        check = getattr(r, "regime", None)
        outside = check is not None and not check.ok
        if outside and r.fit:  # a fit outside the asymptotic regime must not read as an order
            lab = name + f" (p={r.fit.order:.2f}, outside regime)"
        line, = ax.loglog(h, e, "o--" if outside else "o-", label=lab, markersize=3)
        artists.append(line)
        fit_steps = np.asarray(getattr(check, "asymptotic_steps", []) or [], float)
        if r.fit is not None and fit_steps.size and not outside:
            hs = np.array([fit_steps.min(), fit_steps.max()])
            ax.loglog(hs, np.exp(r.fit.intercept) * hs ** r.fit.order, "-", color="k", lw=0.6, alpha=0.7)
    if floor is not None and lowest < 1e3 * floor:  # only where the errors come near it
        lo = min([floor / 10] + [t / 1e3 for t in tops])
        ax.axhspan(lo, floor, color="0.85", zorder=0, lw=0,
                   label=f"reference floor (errors < {floor:.0e} not drawn)")
        ax.set_ylim(bottom=lo)
    ax.set_xlabel("step γ")
    ax.set_ylabel("global error at T")
    if title:
        ax.set_title(title, fontsize=9)
    if artists:  # a panel whose runs all diverged (or that has none) gets no empty legend
        ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return artists


def plot_work_precision(study, ax=None):
    """Error vs gradient evaluations for fixed-step schemes and scipy's solvers.

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    artists = []
    for name, (g, e) in study["fixed"].items():
        artists += ax.loglog(g, e, "o-", label=name, markersize=3)
    for name, (g, e, h) in study["scipy"].items():
        extra = " (+Hessians)" if any(h) else ""
        rtols = study.get("scipy_rtol", {}).get(name, [None] * len(g))
        # points joined in order of cost (an adaptive solver's cost need not fall with rtol)
        pts = sorted(zip(g, e, rtols), key=lambda p: p[0])
        line, = ax.loglog([p[0] for p in pts], [p[1] for p in pts], "s--", label=f"solve_ivp {name}{extra}",
                          markersize=3)
        artists.append(line)
        for k, (gi, ei, r) in enumerate(pts):
            if r is not None and k % 2 == 0:  # every other rtol: labels of neighbours would collide
                ax.annotate(f"{r:.0e}", (gi, ei), textcoords="offset points", xytext=(3, 3), fontsize=6,
                            color=line.get_color())
    if study.get("scipy_rtol"):
        ax.text(0.99, 0.01, "numbers: solve_ivp rtol (atol = 1e-3·rtol)", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=6)
    ax.set_xlabel("gradient evaluations")
    ax.set_ylabel("error at T")
    ax.set_title(f"work–precision: {study['problem']}, {study['ode']}, T={study['T']:g}", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return artists


def orders_figure(panels, figsize=None, floor=None, title=None):
    """A row of :func:`plot_orders` panels, one per ``(results, title)`` in ``panels`` (``floor``
    as there; ``title`` above the row).

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = list(panels)
    if not panels:
        raise ValueError("`panels` must hold at least one (results, title) pair")
    figsize = figsize or (5.5 * len(panels), 4.2)
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, layout="constrained", squeeze=False)
    for ax, (results, panel_title) in zip(axes[0], panels):
        plot_orders(results, ax=ax, title=panel_title, floor=floor)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def work_precision_figure(study, figsize=(6.5, 4.5)):
    """A figure with :func:`plot_work_precision` of ``study``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    plot_work_precision(study, ax=ax)
    return fig


def plot_grid_map(ax, xs, ys, Z, label, categories=None, contours=()):
    """A map of ``Z`` (shape (len(ys), len(xs))) over a parameter grid, labelled ``label``.

    ``categories`` names the values 0, 1, … of a categorical ``Z`` (e.g. ``["no", "yes"]``):
    distinct colours and a legend instead of a colour bar.  ``contours``: levels drawn as
    labelled lines (e.g. ρ = 1).  Returns the artists drawn.
    """
    if categories:
        colors = ["#d9d9d9", "#4c72b0", "#dd8452", "#55a868", "#c44e52"][:len(categories)]
        mesh = ax.pcolormesh(xs, ys, Z, shading="nearest", cmap=matplotlib.colors.ListedColormap(colors),
                             vmin=-0.5, vmax=len(categories) - 0.5)
        handles = [ax.fill([], [], color=c, label=f"{label}: {n}")[0] for c, n in zip(colors, categories)]
        arts = [mesh, ax.add_artist(ax.legend(handles=handles, fontsize=7, loc="upper right"))]
    else:
        mesh = ax.pcolormesh(xs, ys, Z, shading="nearest", cmap="viridis")
        arts = [mesh, ax.figure.colorbar(mesh, ax=ax, label=label)]
    for level in contours:
        if np.nanmin(Z) < level < np.nanmax(Z):
            cs = ax.contour(xs, ys, Z, levels=[level], colors="white", linewidths=1.2)
            arts += [cs, ax.clabel(cs, fmt={level: f"{label} = {level:g}"}, fontsize=7)]
    return arts


# --- acceleration ---
def plot_iterations_vs_kappa(kappas, measured, predicted, ax=None):
    """Log–log iterations to tolerance vs condition number κ: measured (markers) and
    predicted ln(tol)/ln ρ(κ) (dashed), one colour per method.

    Parameters
    ----------
    kappas : sequence of float
    measured, predicted : dict name -> sequence of float (None where not reached)

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    artists = []
    for i, name in enumerate(measured):
        col = f"C{i}"
        m = [(k, n) for k, n in zip(kappas, measured[name]) if n is not None]
        if m:
            artists += ax.loglog(*zip(*m), "o-", color=col, label=f"{name} (measured)", markersize=4)
        artists += ax.loglog(kappas, predicted[name], "--", color=col, alpha=0.7, linewidth=1)
    ax.set_xlabel("condition number κ = L/μ")
    ax.set_ylabel("iterations to relative error 1e-8")
    ax.legend(fontsize=7, title="dashed: ln(tol)/ln ρ(κ)", title_fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return artists


def plot_loglog_curves(x, curves, ax=None, xlabel="", ylabel="", styles=None, title=None):
    """Several curves y(x) on log–log axes (``curves``: dict label -> y, or -> (x, y)).

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    styles = styles or {}
    artists = []
    for label, y in curves.items():
        xx, yy = (y if isinstance(y, tuple) else (x, y))
        xx, yy = np.asarray(xx, float), np.asarray(yy, float)
        ok = np.isfinite(yy) & (yy > 0)
        artists += ax.loglog(xx[ok], yy[ok], styles.get(label, "o-"), label=label, markersize=3)
    _finish_axes(ax, xlabel, ylabel, title)
    return artists


def plot_time_series(t, curves, ax=None, xlabel="t", ylabel="", logy=False, logx=False,
                     styles=None, title=None, bands=None):
    """Curves y(t) (dict label -> y, or -> (t, y)); optional ±bands (dict label -> half-width).

    Returns
    -------
    list of artists
    """
    ax = new_axes(ax)
    styles = styles or {}
    bands = bands or {}
    artists = []
    for label, y in curves.items():
        tt, yy = (y if isinstance(y, tuple) else (t, y))
        tt, yy = np.asarray(tt, float), np.asarray(yy, float)
        artists += ax.plot(tt, yy, styles.get(label, "-"), label=label, linewidth=1, markersize=3)
        if label in bands:
            w = np.asarray(bands[label], float)
            artists.append(ax.fill_between(tt, yy - w, yy + w, alpha=0.25, color=artists[-1].get_color()))
    _finish_axes(ax, xlabel, ylabel, title, logx=logx, logy=logy)
    return artists


def plot_basin(starts, labels, ax=None, names=None):
    """Strip plot of orbit labels over starting points (0 = converged, p = cycle of
    period p, −1 diverged, −2 undetermined), as from :func:`dynopt.analysis.classify_orbits`.

    Returns
    -------
    list of artists
    """
    ax = new_axes(ax)
    starts = np.asarray(starts, float)
    labels = np.asarray(labels)
    names = names or {}
    artists = []
    for i, lab in enumerate(sorted(set(labels.tolist()))):
        m = labels == lab
        default = {0: "converges", -1: "diverges", -2: "undetermined"}.get(lab, f"cycle of period {lab}")
        artists.append(ax.scatter(starts[m], np.full(m.sum(), lab), s=4, label=names.get(lab, default)))
    ax.set_xlabel("starting point x₀ (x₋₁ = x₀)")
    ax.set_ylabel("orbit label")
    ax.legend(fontsize=7, markerscale=3)
    ax.grid(True, alpha=0.3)
    return artists


# --- optimizers ---
def plot_optimizer_paths(problem, paths, flows=None, ax=None, xlim=None, ylim=None, levels=20,
                         title=None, legend=True):
    """Iterates of several optimizers on a 2-D objective, each with its continuous flow.

    Parameters
    ----------
    problem : dynopt.problems.Problem
        2-D objective (drawn as contours).
    paths : dict
        label -> iterates, shape (k, 2) (markers).
    flows : dict, optional
        label -> points of the continuous flow, shape (m, 2) (a line in the same colour).
    xlim, ylim : (float, float), optional
        Plot window (default: the paths' bounding box with a margin).

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    pts = np.concatenate([np.asarray(p) for p in paths.values()])
    if xlim is None or ylim is None:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.1 * np.maximum(hi - lo, 1e-3)
        xlim = xlim or (lo[0] - pad[0], hi[0] + pad[0])
        ylim = ylim or (lo[1] - pad[1], hi[1] + pad[1])
    plot_contour(problem, xlim=xlim, ylim=ylim, levels=levels, ax=ax)
    artists = []
    for i, (label, p) in enumerate(paths.items()):
        color = f"C{i % 10}"
        artists += plot_trajectory(p, ax=ax, label=label, color=color, linewidth=0.8)
        if flows and label in flows:
            artists += plot_trajectory(flows[label], ax=ax, markers=False, color=color,
                                       linewidth=1.6, alpha=0.45)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    if title:
        ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=7, loc="best")
    return artists


def plot_curves(curves, ax=None, logy=True, xlabel="epoch", ylabel="training loss", title=None,
                styles=None):
    """Several curves y(x) on one axes (loss vs epoch, step ratios, ...).

    Parameters
    ----------
    curves : dict
        label -> (x, y) arrays of equal length; optionally (x, y, yerr) for an error band.
    styles : dict, optional
        label -> keyword arguments for ``ax.plot``.

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    artists = []
    for label, xy in curves.items():
        x, y = np.asarray(xy[0]), np.asarray(xy[1])
        kw = dict((styles or {}).get(label, {}))
        line = ax.plot(x, y, label=label, **kw)
        artists += line
        if len(xy) > 2 and xy[2] is not None:
            e = np.asarray(xy[2])
            ax.fill_between(x, y - e, y + e, color=line[0].get_color(), alpha=0.2, linewidth=0)
    _finish_axes(ax, xlabel, ylabel, title, logy=logy)
    return artists


# --- symbolic ---
def plot_stability_regions(bounds, ax=None, xlabel="αh", ylabel="β", xmax=None, title=None, colors=None):
    """Stable regions {0 < x < bound(p)} of several schemes, parameter p on the vertical axis.

    Parameters
    ----------
    bounds : dict
        label -> (p values, largest stable x at each p); ``inf`` marks an unbounded region.
    xmax : float, optional
        Right edge of the plot (default: 1.15 × the largest finite bound).
    colors : dict, optional
        label -> color, to keep colors consistent across panels.

    Returns
    -------
    list of artists
    """
    ax = new_axes(ax)
    finite = [np.max(np.asarray(b, float)[np.isfinite(b)]) for _, b in bounds.values()
              if np.any(np.isfinite(b))]
    right = xmax or 1.15 * max(finite or [1.0])
    artists = []
    for i, (label, (p, b)) in enumerate(bounds.items()):
        p, b = np.asarray(p, float), np.asarray(b, float)
        shown = np.where(np.isfinite(b), np.minimum(b, right), right)
        lab = label + ("  (unbounded)" if not np.any(np.isfinite(b)) else "")
        color = (colors or {}).get(label, f"C{i}")
        artists += ax.plot(shown, p, color=color, label=lab, lw=1.6,
                           ls="--" if not np.any(np.isfinite(b)) else "-")
        artists.append(ax.fill_betweenx(p, 0, shown, color=color, alpha=0.08))
    ax.set_xlim(0, right)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, alpha=0.3)
    return artists


def finish_sharpness_grid(axes, sharpness_label="sharpness (top Hessian eigenvalue)"):
    """Common dressing of a 2 × n grid of training runs: sharpness on top, full-batch loss
    below (one column per run setting): step axes with at most four ticks, grids, labels.

    Returns
    -------
    list of the y-label artists
    """
    for top, bot in zip(axes[0], axes[1]):
        top.legend(fontsize=7, loc="lower right")
        bot.set_xlabel("step")
        for ax in (top, bot):
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
            ax.tick_params(labelsize=8)
            ax.grid(True, alpha=0.3)
    return [axes[0, 0].set_ylabel(sharpness_label, fontsize=8),
            axes[1, 0].set_ylabel("full-batch training loss", fontsize=8)]
