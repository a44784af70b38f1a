"""Claims of npnet-001: npnet part 3: optimizers from scratch in numpy (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)

Each check runs dynopt and returns a verdict computed with dynopt.claims.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.claims import claim, judge  # noqa: F401

SOURCE = {
    "title": "npnet part 3: optimizers from scratch in numpy (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)",
    "reference": "Source text: ../shared/sources/001_e44ab3cf123ccdfc.txt",
}
