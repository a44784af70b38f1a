"""Hooks of the example gallery: order, small command-line sizes and figure capture.

The experiment scripts save their figures as PNG files (many close the figure on save), so
the gallery picks up the PNGs a code block wrote into its output folder instead of the
open matplotlib figures.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

#: gallery order: one job after another (deriving, Monte Carlo, scipy, training, ledger)
ORDER = ["derive_stability", "langevin_density", "rare_events", "batch_vs_lr", "ode_walkthrough",
         "optimizer_flows", "rmsprop_2d_trace", "rmsprop_scratch_vs_builtin", "npnet_l2_and_adam",
         "d2l_linreg_momentum", "csdn_momentum", "npnet_optimizer_comparison", "sharpness_small", "own_model_sharpness",
         "ledger_claim"]

#: command-line arguments the gallery passes to a script: the scripts' small sizes
ARGV = {
    "batch_vs_lr.py": ["--paths", "100"],
    "csdn_momentum.py": ["--epochs", "1"],
    "npnet_optimizer_comparison.py": ["--epochs", "3"],
}


class OrderKey:
    """Sort key of the gallery: the position in :data:`ORDER`, unknown scripts last."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        stem = Path(filename).stem
        return (ORDER.index(stem) if stem in ORDER else len(ORDER), stem)

    def __repr__(self):
        return "gallery.OrderKey"


def small_sizes(gallery_conf, script_vars):
    """The ``sys.argv[1:]`` a gallery script runs with (its small sizes)."""
    return ARGV.get(Path(script_vars["src_file"]).name, [])


def close_figures(gallery_conf, fname):
    """Close figures a script left open, so the next one starts clean."""
    import matplotlib.pyplot as plt

    plt.close("all")


class OutputScraper:
    """Collect the PNG files a code block wrote (new or rewritten) into `out_dir`."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.seen: dict[Path, int] = {}

    def __repr__(self):
        return f"OutputScraper({self.out_dir.name})"

    def __call__(self, block, block_vars, gallery_conf):
        pngs = sorted(self.out_dir.rglob("*.png"))
        new = [p for p in pngs if self.seen.get(p) != p.stat().st_mtime_ns]
        for p in pngs:
            self.seen[p] = p.stat().st_mtime_ns
        names = []
        paths = block_vars["image_path_iterator"]
        for p in new:
            target = next(paths)
            shutil.copyfile(p, target)
            names.append(target)
        return figure_rst(names, gallery_conf["src_dir"])


#: the scraper of the gallery; the scripts write where ``DYNOPT_EXPERIMENTS_OUT`` points
scrape_output = OutputScraper(os.environ["DYNOPT_EXPERIMENTS_OUT"])
