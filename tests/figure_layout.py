"""Layout checks of rendered figures: overlapping tick labels and text outside the figure.

Used by the reproducibility tests and by ``run_ledger_checking_figures`` (a subprocess
entry point that runs ``dynopt reproduce`` with every saved figure checked first).
Nothing here imports matplotlib: the figure's own methods measure the rendered text.
"""
from __future__ import annotations

import json
import sys

#: pixels of slack: anti-aliasing makes touching boxes share a pixel
SLACK = 1.0


def _drawn_tick_labels(axis):
    """Tick labels of ``axis`` that are drawn (visible, non-empty, inside the view)."""
    try:
        ticks = axis._update_ticks()  # the ticks the renderer draws
    except AttributeError:  # pragma: no cover - older matplotlib
        ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    out = []
    for t in ticks:
        for lab in (t.label1, t.label2):
            if lab.get_visible() and lab.get_text().strip():
                out.append(lab)
    return out


def _is_text(a) -> bool:
    return any(c.__name__ == "Text" for c in type(a).__mro__)


def _drawn_texts(fig):
    """Visible, non-empty Text artists that are drawn and not clipped to their axes on purpose;
    tick labels only for the ticks the renderer draws."""
    ticks, drawn = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for t in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update((id(t.label1), id(t.label2)))
            drawn.update(id(lab) for lab in _drawn_tick_labels(axis))
    out, seen = [], set()
    for t in fig.findobj(_is_text):
        if id(t) in seen or not t.get_visible() or not str(t.get_text()).strip():
            continue
        seen.add(id(t))
        if id(t) in ticks and id(t) not in drawn:
            continue
        if id(t) not in ticks and t.get_clip_on() and t.axes is not None and t.get_clip_box() is not None:
            continue  # clipped to its axes on purpose (e.g. a label at a data point)
        out.append(t)
    return out


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > SLACK) and (min(a.y1, b.y1) - max(a.y0, b.y0) > SLACK)


def layout_problems(fig, draw=True) -> list:
    """Overlapping tick labels and clipped text of ``fig`` (a matplotlib Figure).

    With ``draw=False`` the figure is measured as last drawn: each draw reruns the
    constrained layout, so an extra draw before saving could move the axes a little.

    Returns
    -------
    list of str
        One line per problem; empty when the figure is clean.
    """
    if draw:
        fig.canvas.draw()
    r = fig.canvas.get_renderer()
    problems = []
    for i, ax in enumerate(fig.axes):
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labs = _drawn_tick_labels(axis)
            boxes = [(lab.get_text(), lab.get_window_extent(r)) for lab in labs]
            for j in range(len(boxes)):
                for k in range(j + 1, len(boxes)):
                    if _overlap(boxes[j][1], boxes[k][1]):
                        problems.append(f"axes {i} ({ax.get_title()!r}): {name} tick labels "
                                        f"{boxes[j][0]!r} and {boxes[k][0]!r} overlap")
    fb = fig.bbox
    for t in _drawn_texts(fig):
        e = t.get_window_extent(r)
        if e.x0 < fb.x0 - SLACK or e.y0 < fb.y0 - SLACK or e.x1 > fb.x1 + SLACK or e.y1 > fb.y1 + SLACK:
            problems.append(f"text {t.get_text()!r} extends outside the figure "
                            f"({e.x0:.0f}..{e.x1:.0f} × {e.y0:.0f}..{e.y1:.0f} px of "
                            f"{fb.width:.0f} × {fb.height:.0f})")
    return problems


def run_ledger_checking_figures(report_path, argv) -> int:
    """Run ``dynopt <argv>`` with every figure the ledger saves checked as it is saved
    (after :func:`dynopt.plotting.tidy_figure`, just before the PNG is written).

    The problems found (path -> list of str) are written as JSON to ``report_path``.
    """
    import dynopt.ledger.runner as runner
    import dynopt.plotting.style as plotting  # save_figure looks tidy_figure up in this module
    from dynopt.cli.main import main

    found, current = {}, []
    save, tidy = runner.save_figure, plotting.tidy_figure

    def checked_save(fig, path):
        current[:] = [str(path)]
        save(fig, path)

    def checked_tidy(fig):
        tidy(fig)
        found[current[0] if current else repr(fig)] = layout_problems(fig, draw=False)

    runner.save_figure, plotting.tidy_figure = checked_save, checked_tidy
    try:
        code = main(argv)
    finally:
        runner.save_figure, plotting.tidy_figure = save, tidy
        with open(report_path, "w", encoding="utf-8") as fh:
            json.dump(found, fh, indent=1, ensure_ascii=False)
    return code


if __name__ == "__main__":
    sys.exit(run_ledger_checking_figures(sys.argv[1], sys.argv[2:]))
