"""Shared bits of the experiment scripts: the output folder (git-ignored).

``DYNOPT_EXPERIMENTS_OUT`` moves it (the documentation build sends the gallery's files
into its own folder that way).
"""
import os
from pathlib import Path

OUT = Path(os.environ.get("DYNOPT_EXPERIMENTS_OUT") or Path(__file__).resolve().parent / "out")


def out_path(name: str) -> Path:
    """``OUT/<name>`` (experiments/out/<name> by default), creating the folder."""
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT / name
