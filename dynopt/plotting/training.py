"""Figures of full-batch training runs that track the sharpness (the edge of stability)."""
from __future__ import annotations

import numpy as np
from matplotlib import ticker

__all__ = ["sharpness_figure"]


def _dress(ax):
    ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)


def sharpness_figure(runs, band=None, title=None, labels=None):
    """One column per training run: the tracked sharpness with the optimizer's derived
    threshold (and ``band`` around it), for a preconditioned method also the raw sharpness
    against 2/η, and the full-batch loss (log scale).

    Parameters
    ----------
    runs : sequence of SharpnessRun (or one), or of lists of runs (one line each, e.g.
        several initializations of one setting)
    band : (lo, hi), optional — shaded band, as multiples of the threshold
    title : str, optional
    labels : sequence of str, optional — column titles

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    # a run is itself a (named) tuple: tell it apart by its fields
    if hasattr(runs, "threshold"):
        runs = [runs]
    cols = [[r] if hasattr(r, "threshold") else list(r) for r in runs]
    pre = any(r.preconditioned is not None for c in cols for r in c)
    n_rows = 3 if pre else 2
    fig, axes = plt.subplots(n_rows, len(cols), figsize=(3.4 * len(cols) + 0.8, 2.5 * n_rows + 0.4),
                             layout="constrained", sharex="col", squeeze=False)
    for j, col in enumerate(cols):
        first = col[0]
        thr = first.threshold
        top = axes[0, j]
        has_thr = bool(np.isfinite(thr))
        if band is not None and has_thr:
            top.axhspan(band[0] * thr, band[1] * thr, color="0.85", lw=0,
                        label=f"[{band[0]:g}, {band[1]:g}]·threshold")
        if has_thr:
            top.axhline(thr, color="k", ls="--", lw=1, label=f"derived threshold {thr:.4g}")
        for i, r in enumerate(col):
            top.plot(r.steps, r.tracked, color=f"C{i}", lw=1)
            if pre and r.preconditioned is not None:
                mid = axes[1, j]
                mid.plot(r.steps, r.sharpness[:, 0], color=f"C{i}", lw=1)
            axes[-1, j].semilogy(np.arange(len(r.losses)), r.losses, color=f"C{i}", lw=0.7)
        finite = np.concatenate([r.tracked[np.isfinite(r.tracked)] for r in col])
        top_value = 1.05 * float(np.quantile(finite, 0.98)) if finite.size else 1.0
        top.set_ylim(0, max(1.5 * thr, top_value) if has_thr else top_value)
        if pre and first.preconditioned is not None and np.isfinite(first.lr):
            mid = axes[1, j]
            mid.axhline(2 / first.lr, color="k", ls=":", lw=1, label=f"2/η = {2 / first.lr:.4g}")
            mid.set_yscale("log")
            mid.legend(fontsize=7, loc="lower right")
        top.set_title(labels[j] if labels else f"{first.method}, η={first.lr:g}", fontsize=9)
        if has_thr:
            top.legend(fontsize=7, loc="lower right")
        axes[-1, j].set_xlabel("step")
        for ax in axes[:, j]:
            _dress(ax)
    axes[0, 0].set_ylabel("λ_max(P⁻¹H) (P frozen)" if pre else "sharpness λ_max(H)", fontsize=8)
    if pre:
        axes[1, 0].set_ylabel("raw sharpness λ_max(H)", fontsize=8)
    axes[-1, 0].set_ylabel("full-batch training loss", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
