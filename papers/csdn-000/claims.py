"""Claims of csdn-000: 动量法 (Momentum), a CSDN blog post with PyTorch code

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "动量法 (Momentum), a CSDN blog post with PyTorch code",
    "reference": "Source text: ../shared/sources/000_28c47154f45a17be.txt",
}
