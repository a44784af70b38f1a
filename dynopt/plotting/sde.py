"""Figures of stochastic runs: SDE orders, densities against their Gibbs law, biases, SME weak
errors, survival curves, mean first-passage times and Kramers' turnover.
"""
from __future__ import annotations

from dynopt.plotting.style import _finish_axes, new_axes


import matplotlib
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_sde_orders", "plot_density_fit", "plot_bias", "plot_sme_weak_errors", "plot_survival", "plot_mfpt_vs_inverse_noise", "plot_turnover", "density_panels", "plot_passage"]


# --- SDE ---
def plot_sde_orders(results, which="strong", ax=None, title=None):
    """Log–log strong or |weak| error vs step for SDEOrderResults, error bars = 2 SE.

    Returns
    -------
    list of artists
    """
    ax = new_axes(ax)
    arts = []
    for r in results:
        h = np.asarray(r.steps)
        e = np.abs(np.asarray(r.strong if which == "strong" else r.weak))
        se = np.asarray(r.strong_se if which == "strong" else r.weak_se)
        fit = r.strong_fit if which == "strong" else r.weak_fit
        lab = f"{r.scheme}, {r.model.split('(')[0]}" + (f" (p={fit.order:.2f})" if fit else " (no fit)")
        arts.append(ax.errorbar(h, e, yerr=2 * se, fmt="o-", ms=3, capsize=2, label=lab))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step h")
    ax.set_ylabel("E|X_h(T) − X(T)|" if which == "strong" else "|E f(X_h(T)) − E f(X(T))|")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    ax.grid(True, which="both", alpha=0.3)
    return arts


def plot_density_fit(centers, density, curves, ax=None, title=None, xlabel="θ"):
    """Histogram density (steps) against named theoretical curves ``{label: (x, pdf)}``."""
    ax = new_axes(ax)
    arts = [ax.step(centers, density, where="mid", color="k", lw=1, label="simulation")]
    for lab, (x, y) in curves.items():
        arts += ax.plot(x, y, lw=1.2, label=lab)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return arts


def plot_bias(steps, series, ax=None, title=None, ylabel="bias"):
    """Log–log |bias| vs step for ``{label: (bias, se)}`` series; points within 2 SE hollow."""
    ax = new_axes(ax)
    arts = []
    h = np.asarray(steps, float)
    for lab, (b, se) in series.items():
        b, se = np.abs(np.asarray(b, float)), np.asarray(se, float)
        line, = ax.plot(h, np.maximum(b, 1e-300), "o-", ms=3, label=lab)
        weak = b <= 2 * se
        if weak.any():
            ax.plot(h[weak], np.maximum(b[weak], 1e-300), "o", mfc="white", mec=line.get_color(), ms=5)
        arts.append(line)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step h")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    ax.grid(True, which="both", alpha=0.3)
    return arts


# --- SGD's stochastic modified equations ---
def plot_sme_weak_errors(result, observables=None, ax=None, title=None, control=None):
    """Log–log exact weak error vs learning rate η of the order-1 (solid, circles) and order-2
    (dashed, squares) SMEs for a :class:`dynopt.analysis.sme.SMEWeakErrorResult`, fitted orders in the
    legend, dotted lines for the noise-free control (for the observables named in ``control``,
    default all), and grey η¹/η² guides.

    Returns
    -------
    list of Line2D
    """
    ax = new_axes(ax)
    lrs = np.asarray(result.lrs)
    names = list(observables or result.observables)
    artists = []
    for j, name in enumerate(names):
        col = f"C{j}"
        for key, ls, mk in ((1, "-", "o"), (2, "--", "s"), ("ode2", ":", "^")):
            if key not in result.errors or (key == "ode2" and control is not None and name not in control):
                continue
            e = np.asarray(result.errors[key][name])
            fit = result.fits.get(key, {}).get(name)
            tag = f"SME {key}" if key in (1, 2) else "order-2 drift, no noise"
            lab = f"{name}: {tag}" + (f" (p={fit.order:.2f})" if fit else "")
            artists += ax.loglog(lrs, e, ls, marker=mk, color=col, markersize=3, label=lab)
    for p in (1, 2):
        e0 = max(max(result.errors[p][n]) for n in names)
        artists += ax.loglog(lrs, e0 * (lrs / lrs[0]) ** p, color="grey", lw=0.7, alpha=0.6)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("learning rate η")
    ax.set_ylabel(f"|E g(θ_K) − E g(θ(T))|, T = {result.T:g}")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    ax.grid(True, which="both", alpha=0.3)
    return artists


def plot_survival(curves, ax=None, title=None, xlabel="t", logy=True):
    """Kaplan–Meier survival curves with their confidence bands.

    Parameters
    ----------
    curves : dict
        Label → :class:`dynopt.analysis.SurvivalCurve` (fields ``time``, ``survival``,
        ``lower``, ``upper``).
    ax : Axes, optional

    Returns
    -------
    list of the line artists
    """
    ax = new_axes(ax)
    lines = []
    for label, c in curves.items():
        t = np.concatenate([[0.0], c.time])
        (ln,) = ax.step(t, np.concatenate([[1.0], c.survival]), where="post", label=label, lw=1.2)
        ax.fill_between(t, np.concatenate([[1.0], c.lower]), np.concatenate([[1.0], c.upper]),
                        step="post", color=ln.get_color(), alpha=0.25, lw=0)
        lines.append(ln)
    _finish_axes(ax, xlabel, "P(τ > t)", title, logy=logy)
    if logy:  # the bands of the last few survivors reach 0: show the estimates' range
        low = min((float(c.survival[c.survival > 0].min()) for c in curves.values() if np.any(c.survival > 0)),
                  default=1e-3)
        ax.set_ylim(low / 3, 1.2)
    return lines


def plot_passage(curve, rate=None, ax=None, title=None):
    """A Kaplan–Meier survival curve with its band and, when given, the exponential tail fit
    Ŝ(t_min)·exp(−k (t − t_min)) drawn from t_min on (log scale).

    Parameters
    ----------
    curve : SurvivalCurve
    rate : dict, optional
        ``rate``, ``lower``, ``upper``, ``t_min`` (the ``"rate"`` entry of
        :func:`dynopt.analysis.passage_summary`).
    """
    ax = new_axes(ax)
    plot_survival({"Kaplan–Meier, 95% band": curve}, ax=ax, title=title)
    if rate is not None and rate.get("rate", 0) > 0:
        t0 = float(rate["t_min"])
        s0 = float(np.nan_to_num(curve.at(t0), nan=1.0))
        t = np.linspace(t0, curve.horizon, 100)
        ax.plot(t, s0 * np.exp(-rate["rate"] * (t - t0)), "k--", lw=1,
                label=f"exponential tail k = {rate['rate']:.3g} [{rate['lower']:.3g}, {rate['upper']:.3g}] from t = {t0:.3g}")
        ax.fill_between(t, s0 * np.exp(-rate["upper"] * (t - t0)), s0 * np.exp(-rate["lower"] * (t - t0)),
                        color="k", alpha=0.1, lw=0)
        ax.legend(fontsize=6)
    return ax


def plot_mfpt_vs_inverse_noise(inv_sigma2, measured, lines, ax=None, title=None):
    """Mean first-passage times against 1/σ² on a log scale: Monte Carlo points with error
    bars and reference curves (exact quadrature, asymptotic formula).

    Parameters
    ----------
    inv_sigma2 : array_like
        1/σ² of the measured points.
    measured : dict
        Label → (values, standard errors), one per entry of ``inv_sigma2``.
    lines : dict
        Label → (x, y) of a reference curve.
    ax : Axes, optional

    Returns
    -------
    list of the artists (error-bar containers, then lines)
    """
    ax = new_axes(ax)
    x = np.asarray(inv_sigma2, float)
    arts = []
    n = max(len(measured), 1)
    for i, (label, (v, se)) in enumerate(measured.items()):
        dx = (i - (n - 1) / 2) * 0.012 * (x.max() - x.min() + 1e-12)  # side by side
        arts.append(ax.errorbar(x + dx, v, yerr=se, fmt="o", ms=4, capsize=2, label=label))
    for label, (lx, ly) in lines.items():
        arts.extend(ax.plot(lx, ly, label=label, lw=1.2))
    _finish_axes(ax, "1/σ²", "mean first-passage time", title, logy=True)
    return arts


def plot_turnover(friction, rates, intervals, limits, ax=None, title=None):
    """Escape rate against friction on log–log axes: measured rates with confidence
    intervals and the theoretical limits (high friction ∝ 1/λ, energy diffusion ∝ λ, ...).

    Parameters
    ----------
    friction : array_like
    rates : array_like
    intervals : (lower, upper) arrays
    limits : dict
        Label → (λ grid, rate) of a reference curve.
    ax : Axes, optional

    Returns
    -------
    list of the artists
    """
    ax = new_axes(ax)
    lam, k = np.asarray(friction, float), np.asarray(rates, float)
    lo, hi = (np.asarray(v, float) for v in intervals)
    arts = [ax.errorbar(lam, k, yerr=[k - lo, hi - k], fmt="o", ms=4, capsize=2, color="k", label="Monte Carlo")]
    for label, (lx, ly) in limits.items():
        arts.extend(ax.plot(lx, ly, label=label, lw=1.2))
    ax.set_xscale("log")
    _finish_axes(ax, "friction λ", "escape rate k", title, logy=True)
    return arts


def density_panels(panels, title=None, heatmap=None, decades: int = 6):
    """One panel per coordinate: ``(centers, density, curves, xlabel)`` drawn by
    :func:`plot_density_fit` side by side; returns the figure.

    ``heatmap = (xedges, yedges, H, X, Y, P, (xlabel, ylabel))`` adds a first panel: the 2-D
    histogram density ``H`` as a heat map on a log colour scale with contours of the density
    ``P`` on the grid (X, Y) at levels spaced evenly in log over ``decades`` decades below its
    maximum, so that shallow minima show beside the deepest one and no contour traces the
    region where P underflows to 0.
    """
    n = len(panels) + (heatmap is not None)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.8), layout="constrained", squeeze=False)
    axes = list(axes[0])
    if heatmap is not None:
        xe, ye, H, X, Y, P, (xl, yl) = heatmap
        ax = axes.pop(0)
        H = np.ma.masked_less_equal(np.asarray(H, float), 0.0)
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
        if H.count():
            hmax = float(H.max())
            norm = matplotlib.colors.LogNorm(vmin=max(float(H.min()), hmax * 10.0 ** -decades), vmax=hmax)
            mesh = ax.pcolormesh(xe, ye, H.T, cmap=cmap, norm=norm, shading="flat")
            fig.colorbar(mesh, ax=ax, label="density (simulation, log scale)")
        P = np.asarray(P, float)
        pmax = float(np.max(P)) if P.size else 0.0
        if pmax > 0 and np.isfinite(pmax):
            levels = pmax * np.logspace(-decades, 0, 2 * decades + 1)[:-1]
            ax.contour(X, Y, P, levels=levels, colors="k", linewidths=0.6, alpha=0.6)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(ye[0], ye[-1])
        ax.set_title(f"simulation (colour); Gibbs density (contours\nevery half decade, {decades} decades)", fontsize=8)
    for ax, (centers, density, curves, xlabel) in zip(axes, panels):
        plot_density_fit(centers, density, curves, ax=ax, xlabel=xlabel)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
