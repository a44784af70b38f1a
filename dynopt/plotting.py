"""Figures.  The only module that imports matplotlib (Agg backend: no screen needed).

Every function takes ``ax=`` (a new figure when omitted) and returns the artists it drew.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["new_axes", "plot_contour", "plot_trajectory", "plot_orders", "plot_work_precision",
           "plt"]


def new_axes(ax=None, figsize=(5.5, 4.2)):
    """Return ``ax`` or a fresh Axes on a new figure."""
    if ax is not None:
        return ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


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


def plot_orders(results, ax=None, title=None):
    """Log–log global error vs step for ConvergenceResults, with fitted orders in the legend.

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    artists = []
    for r in results:
        pts = [(h, e) for h, e in zip(r.steps, r.errors) if e is not None]
        if not pts:
            continue
        h, e = map(np.asarray, zip(*pts))
        lab = r.scheme + (f" (p={r.fit.order:.2f})" if r.fit else " (no fit)")
        artists += ax.loglog(h, e, "o-", label=lab, markersize=3)
    ax.set_xlabel("step γ")
    ax.set_ylabel("global error at T")
    if title:
        ax.set_title(title, fontsize=9)
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
        artists += ax.loglog(g, e, "s--", label=f"solve_ivp {name}{extra}", markersize=3)
    ax.set_xlabel("gradient evaluations")
    ax.set_ylabel("error at T")
    ax.set_title(f"work–precision: {study['problem']}, {study['ode']}, T={study['T']:g}", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return artists


# --- symbolic (issue 3) ---
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
