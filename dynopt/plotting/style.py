"""The shared style of dynopt's figures and the one way to save them: sizes readable at print
width, constrained layout, tick labels thinned until none overlap, titles wrapped to their axes,
PNGs written atomically.
"""
from __future__ import annotations


import textwrap

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import ticker

from dynopt.io import atomic_replace

__all__ = ["STYLE", "save_figure", "tidy_figure", "new_axes", "shorten", "problem_label", "variable_labels"]

#: the shared style of dynopt's figures: sizes readable at print width, constrained layout
STYLE = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "legend.fontsize": 7, "figure.constrained_layout.use": True, "lines.markersize": 4}

matplotlib.rcParams.update(STYLE)


def shorten(text: str, width: int = 48) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def problem_label(problem, width: int = 48) -> str:
    """How a figure names a problem: its name, or its expression (shortened) when it was built
    from a user's expression under the generic name ``custom``."""
    expr = getattr(problem, "expr", None)
    if expr is not None and getattr(problem, "name", "custom") == "custom":
        return "L = " + shorten(str(expr).replace("**", "^"), width)
    return str(getattr(problem, "name", problem))


def variable_labels(problem) -> list:
    """Axis names of a problem's coordinates: the user's variable names when it has symbols,
    else θ₁…θ_d."""
    syms = getattr(problem, "symbols", ()) or ()
    if len(syms) == problem.dim:
        return [str(s) for s in syms]
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    return [f"θ{str(i + 1).translate(sub)}" for i in range(problem.dim)]


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
