"""Claims of d2l-002: RMSProp算法, Dive into Deep Learning (Chinese edition, PyTorch)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "RMSProp算法, Dive into Deep Learning (Chinese edition, PyTorch)",
    "reference": "Source text: ../shared/sources/002_19ffff0586cd2081.txt",
}
