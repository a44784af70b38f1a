"""Claims of polyak-1964: Some methods of speeding up the convergence of iteration methods

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "Some methods of speeding up the convergence of iteration methods",
    "reference": "B. T. Polyak, USSR Computational Mathematics and Mathematical Physics 4(5), 1964",
}
