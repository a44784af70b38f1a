"""Claims of kexue-5655: 从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "从动力学角度看优化算法(一):从SGD到动量加速 (Su Jianlin, 2018)",
    "reference": "Source text: ../shared/sources/003_5dfc4414a9398f20.txt; https://kexue.fm/archives/5655",
}
