"""Shared bits of the experiment scripts: the output folder (git-ignored)."""
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def out_path(name: str) -> Path:
    """experiments/out/<name>, creating the folder."""
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT / name
