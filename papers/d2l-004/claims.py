"""Claims of d2l-004: 动量法 — 从0开始, Dive into Deep Learning (Chinese edition, MXNet)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "动量法 — 从0开始, Dive into Deep Learning (Chinese edition, MXNet)",
    "reference": "Source text: ../shared/sources/004_9e7f5f0d99308e95.txt",
}
