"""The compiled backend run as plain Python, for tests that step through a generated kernel."""
import math
import types

import numpy as np

from dynopt.engine import codegen


def python_kernels(monkeypatch):
    """Make the compiled backend import its generated modules as plain Python (numba's njit the
    identity), so that the generated loop itself runs, line by line, in this process."""

    def load(source):
        ns = {"__name__": "dynopt_python_kernel", "math": math, "np": np,
              "njit": lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f))}
        exec(compile(source.replace("from numba import njit\n", ""), "<generated kernel>", "exec"), ns)  # noqa: S102
        return types.SimpleNamespace(**ns)

    monkeypatch.setattr(codegen, "load_module", load)
