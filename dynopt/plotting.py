"""Figures.  The only module of dynopt that imports matplotlib (Agg backend: no screen needed).

Every ``plot_*`` function takes ``ax=`` (a new figure when omitted) and returns the artists
it drew; :func:`save_figure` writes a figure as a PNG atomically and closes it.
"""
from __future__ import annotations

import textwrap

import matplotlib

# the backend must be chosen before pyplot is imported: hence the imports below it
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

from dynopt.io import atomic_replace  # noqa: E402

#: the shared style of dynopt's figures: sizes readable at print width, constrained layout
STYLE = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "legend.fontsize": 7, "figure.constrained_layout.use": True, "lines.markersize": 4}
matplotlib.rcParams.update(STYLE)

__all__ = ["STYLE", "tidy_figure", "new_axes", "save_figure", "orders_figure", "work_precision_figure", "plot_contour",
           "plot_trajectory", "plot_orders", "plot_work_precision", "plt", "plot_sde_orders", "plot_density_fit", "plot_bias", "plot_sme_weak_errors", "plot_grid_map"]


def save_figure(fig, path) -> None:
    """Save ``fig`` as a PNG at ``path`` atomically, then close it.

    The PNG carries no metadata that varies between runs (no software version), so that
    rerunning a report leaves its figures byte-identical.  The figure is closed even when
    saving fails: long runs would otherwise accumulate open figures.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
        Missing parent directories are created; the file gets the usual mode (see
        :func:`dynopt.io.atomic_replace`).
    """
    try:
        tidy_figure(fig)
        with atomic_replace(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(fig)


def _drawn_tick_labels(axis):
    """The tick labels of ``axis`` that are drawn (visible, non-empty, inside the view)."""
    return [lab for t in axis._update_ticks() for lab in (t.label1, t.label2) if lab.get_visible() and lab.get_text()]


def _labels_overlap(axis, renderer) -> bool:
    """Whether two drawn tick labels of ``axis`` overlap (by more than a pixel)."""
    boxes = [lab.get_window_extent(renderer) for lab in _drawn_tick_labels(axis)]
    return any(min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1
               for i, a in enumerate(boxes) for b in boxes[i + 1:])


def _thin_ticks(axis, renderer) -> None:
    """Remove tick-label overlaps: first the minor labels of a log axis, then fewer major ticks."""
    if axis.get_scale() == "log" and _labels_overlap(axis, renderer):
        axis.set_minor_formatter(ticker.NullFormatter())
    for nbins in (6, 4, 3, 2):
        if not _labels_overlap(axis, renderer):
            return
        log = axis.get_scale() == "log"
        axis.set_major_locator(ticker.LogLocator(numticks=nbins + 1) if log else ticker.MaxNLocator(nbins))
        axis.figure.canvas.draw()


def _free_texts(fig):
    """Drawn texts that are not tick labels and not clipped to their axes."""
    ticks = {id(lab) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
             for t in axis.get_major_ticks() + axis.get_minor_ticks() for lab in (t.label1, t.label2)}
    return [t for t in fig.findobj(matplotlib.text.Text) if id(t) not in ticks and t.get_visible()
            and str(t.get_text()).strip() and not (t.get_clip_on() and t.axes and t.get_clip_box())]


def _fit_text(fig, renderer) -> None:
    """Wrap titles wider than their axes and shrink text that would leave the figure."""
    for ax in fig.axes:
        for title in (ax.title, ax._left_title, ax._right_title):
            text = title.get_text()
            width = title.get_window_extent(renderer).width
            room = ax.get_window_extent(renderer).width * 1.1
            if text and "\n" not in text and width > room:
                title.set_text(textwrap.fill(text, max(12, int(len(text) * room / width))))
    fig.canvas.draw()
    box = fig.bbox
    for t in _free_texts(fig):
        e = t.get_window_extent(renderer)
        while t.get_fontsize() > 5 and (e.x0 < box.x0 or e.x1 > box.x1 or e.y0 < box.y0 or e.y1 > box.y1):
            t.set_fontsize(t.get_fontsize() - 0.5)
            e = t.get_window_extent(renderer)


def tidy_figure(fig) -> None:
    """The shared rules a figure's own code may miss, applied by :func:`save_figure`: no
    overlapping tick labels (log axes drop minor labels, then any axis gets fewer ticks),
    titles wrapped to their axes, no text outside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            _thin_ticks(axis, renderer)
    _fit_text(fig, renderer)
    fig.canvas.draw()


def new_axes(ax=None, figsize=(5.5, 4.2)):
    """Return ``ax`` or a fresh Axes on a new figure."""
    if ax is not None:
        return ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _finish_axes(ax, xlabel="", ylabel="", title=None, logx=False, logy=False):
    """Shared last touches: scales, labels, a small title, legend and a light grid."""
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)


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
    several = len({r.problem for r in results}) > 1
    for r in results:
        pts = [(h, e) for h, e in zip(r.steps, r.errors) if e is not None]
        if not pts:
            continue
        h, e = map(np.asarray, zip(*pts))
        name = f"{r.problem}/{r.scheme}" if several else r.scheme
        lab = name + (f" (p={r.fit.order:.2f})" if r.fit else " (no fit)")
        outside = getattr(r, "regime", None) is not None and not r.regime.ok
        if outside and r.fit:  # a fit outside the asymptotic regime must not read as an order
            lab = name + f" (p={r.fit.order:.2f}, outside regime)"
        artists += ax.loglog(h, e, "o--" if outside else "o-", label=lab, markersize=3)
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


def orders_figure(panels, figsize=None):
    """A row of :func:`plot_orders` panels, one per ``(results, title)`` in ``panels``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = list(panels)
    if not panels:
        raise ValueError("`panels` must hold at least one (results, title) pair")
    figsize = figsize or (5.5 * len(panels), 4.2)
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, layout="constrained", squeeze=False)
    for ax, (results, title) in zip(axes[0], panels):
        plot_orders(results, ax=ax, title=title)
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

def density_panels(panels, title=None, heatmap=None):
    """One panel per coordinate: ``(centers, density, curves, xlabel)`` drawn by
    :func:`plot_density_fit` side by side; returns the figure.

    ``heatmap = (xedges, yedges, H, X, Y, P, (xlabel, ylabel))`` adds a first panel: the 2-D
    histogram density ``H`` as a heat map with contours of the density ``P`` on the grid (X, Y).
    """
    n = len(panels) + (heatmap is not None)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.8), layout="constrained", squeeze=False)
    axes = list(axes[0])
    if heatmap is not None:
        xe, ye, H, X, Y, P, (xl, yl) = heatmap
        ax = axes.pop(0)
        mesh = ax.pcolormesh(xe, ye, H.T, cmap="viridis", shading="flat")
        ax.contour(X, Y, P, levels=6, colors="w", linewidths=0.8)
        fig.colorbar(mesh, ax=ax, label="density (simulation)")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title("simulation (colour), Gibbs density (contours)", fontsize=8)
    for ax, (centers, density, curves, xlabel) in zip(axes, panels):
        plot_density_fit(centers, density, curves, ax=ax, xlabel=xlabel)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
