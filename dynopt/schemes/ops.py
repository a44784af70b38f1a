"""Math functions a scheme's step may call, for every reader of the step.

A step is plain arithmetic, so that one function serves three readers: numpy arrays (the
numbers), numpy object arrays of sympy expressions (the symbols) and object arrays of
tracer nodes (the compiled kernels).  ``+ - * /`` dispatch by themselves; a function such
as ``exp`` does not, so steps take it from here:

* a Python or numpy scalar → :mod:`math` (the numbers the numpy backend has always used);
* a float ndarray → the numpy ufunc;
* an object ndarray → elementwise;
* an object with a ``_ops_apply(name)`` method (a tracer node) → that method;
* anything else (a sympy expression) → the sympy function.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tanh", "FUNCTIONS"]

#: the functions of this module, by name (tracers and printers read this list)
FUNCTIONS = ("exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tanh")


def _sympy(name, x):
    import sympy as sp  # only the symbolic reader needs it

    if name == "expm1":
        return sp.exp(x) - 1
    if name == "log1p":
        return sp.log(1 + x)
    return getattr(sp, name)(x)


def _make(name):
    scalar, ufunc = getattr(math, name), getattr(np, name)

    def fn(x):
        if isinstance(x, numbers.Real) and not isinstance(x, bool):
            return scalar(x)
        if isinstance(x, np.ndarray):
            if x.dtype == object:
                return np.frompyfunc(fn, 1, 1)(x)
            return ufunc(x)
        apply = getattr(x, "_ops_apply", None)
        if apply is not None:
            return apply(name)
        return _sympy(name, x)

    fn.__name__ = name
    fn.__doc__ = (f"``{name}(x)`` for a number, a float or object ndarray, a tracer node or a "
                  f"sympy expression (see :mod:`dynopt.schemes.ops`).")
    return fn


exp = _make("exp")
expm1 = _make("expm1")
log = _make("log")
log1p = _make("log1p")
sqrt = _make("sqrt")
sin = _make("sin")
cos = _make("cos")
tanh = _make("tanh")
