"""Read a scheme's step as straight-line code for one path: the kernels' reading.

A scheme's ``step`` is plain arithmetic on numpy arrays and the model's oracles.  Called
once on numpy object arrays of shape ``(1, width)`` holding :class:`Node` objects, it
records every arithmetic operation in the order numpy evaluates it, without simplifying,
so that the printed code rounds exactly as the numpy backend does.  Run constants (``dt``,
a coefficient such as e^{−λh}) arrive as Python floats already computed the numpy way and
become arguments of the generated function (one source serves every ``dt``).  Oracle
calls are recorded as calls of per-point functions of the generated module
(``grad(x, g)``, ``sig(x, s, ds)``), the normals as the per-path buffer ``z[t, c]``.

A step that branches on a value (``if x > 0``), converts a value to a number, or calls
something that is not arithmetic cannot be read this way: :class:`TraceError` says why.
"""
from __future__ import annotations

import copy
import struct
from typing import NamedTuple, Optional

import numpy as np

__all__ = ["TraceError", "Node", "Tracer", "leaf_array", "tracing_model", "Program", "trace_step"]


class TraceError(Exception):
    """The step does something a straight-line per-path program cannot hold."""


def _key(value):
    """A constant's identity: its type and bits (0.0 and −0.0 differ, as they round)."""
    return struct.pack("<d", float(value))


class Node:
    """One scalar value of the traced program: a variable name in the emitted code."""

    __slots__ = ("tr", "name")
    __array_priority__ = 1000

    def __init__(self, tr, name):
        self.tr, self.name = tr, name

    def _op(self, other, op, reverse=False):
        a, b = (other, self) if reverse else (self, other)
        return self.tr.binary(op, a, b)

    def __add__(self, o):
        return self._op(o, "+")

    def __radd__(self, o):
        return self._op(o, "+", True)

    def __sub__(self, o):
        return self._op(o, "-")

    def __rsub__(self, o):
        return self._op(o, "-", True)

    def __mul__(self, o):
        return self._op(o, "*")

    def __rmul__(self, o):
        return self._op(o, "*", True)

    def __truediv__(self, o):
        return self._op(o, "/")

    def __rtruediv__(self, o):
        return self._op(o, "/", True)

    def __pow__(self, o):
        if isinstance(o, (int, np.integer)) and not isinstance(o, bool):
            return self.tr.emit(f"{self.name} ** {int(o)}")
        return self._op(o, "**")

    def __rpow__(self, o):
        return self._op(o, "**", True)

    def __neg__(self):
        return self.tr.emit(f"-{self.name}")

    def __pos__(self):
        return self

    def __abs__(self):
        return self.tr.emit(f"abs({self.name})")

    def _ops_apply(self, name):
        """:mod:`dynopt.schemes.ops` calls this for ``exp``, ``sqrt``, ..."""
        return self.tr.emit(f"math.{name}({self.name})")

    def _refuse(self, *args):
        raise TraceError("the step branches on or converts a value of the state (a comparison, bool, "
                         "float or int of an array entry)")

    __bool__ = __float__ = __int__ = __index__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse

    def __eq__(self, other):
        if other is None:
            return False
        self._refuse()

    def __ne__(self, other):
        if other is None:
            return True
        self._refuse()

    __hash__ = object.__hash__

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise TraceError(f"the step calls {name!r} on an array entry (only arithmetic and "
                         f"dynopt.schemes.ops functions are read)")


class Tracer:
    """Records the operations of one traced call as lines ``tN = a op b``.

    Parameters
    ----------
    consts : dict
        Shared between the traces of one kernel: constant bits → (argument name, value).
    """

    def __init__(self, consts, prefix="t"):
        self.lines: list = []
        self.consts = consts
        self.prefix = prefix
        self.n = 0
        self.calls: dict = {}

    def emit(self, expr):
        name = f"{self.prefix}{self.n}"
        self.n += 1
        self.lines.append(f"{name} = {expr}")
        return Node(self, name)

    def operand(self, v):
        """The emitted name of ``v``: a node's variable, or the argument holding a constant."""
        if isinstance(v, Node):
            return v.name
        if isinstance(v, (bool, np.bool_)):
            raise TraceError("the step mixes a boolean into its arithmetic")
        if isinstance(v, (int, float, np.integer, np.floating)):
            k = _key(v)
            if k not in self.consts:
                self.consts[k] = (f"c{len(self.consts)}", float(v))
            return self.consts[k][0]
        raise TraceError(f"the step's arithmetic meets a {type(v).__name__}, not a number")

    def binary(self, op, a, b):
        if op == "/" and isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, Node):
            m, e = np.frexp(float(b))
            if m == 0.5 and abs(e) < 1000:
                # a power of two: x/b and x·(1/b) are the same number, and a product is cheaper
                return self.emit(f"{self.operand(a)} * {self.operand(1.0 / float(b))}")
        return self.emit(f"{self.operand(a)} {op} {self.operand(b)}")

    def call(self, fn, args, outs):
        """``fn(in, out1, ...)`` on one point: copy ``args`` (one row) into the input buffer,
        call, read each output buffer into new nodes.  Calls with the same arguments are
        made once (the results are the same numbers)."""
        names = tuple(self.operand(v) for v in args)
        key = (fn, names)
        if key not in self.calls:
            buf = f"{fn}_x"
            for c, n in enumerate(names):
                self.lines.append(f"{buf}[{c}] = {n}")
            self.lines.append(f"{fn}({buf}, {', '.join(f'{fn}_{o}' for o in outs)})")
            self.calls[key] = {o: [self.emit(f"{fn}_{o}[{c}]") for c in range(len(names))] for o in outs}
        return self.calls[key]


def leaf_array(tr, names, shape):
    """An object array of ``shape`` whose entries are the nodes named ``names`` (flat, C order)."""
    out = np.empty(int(np.prod(shape)), dtype=object)
    for j, n in enumerate(names):
        out[j] = Node(tr, n)
    return out.reshape(shape)


def _row(arr):
    a = np.asarray(arr, dtype=object)
    if a.ndim != 2 or a.shape[0] != 1:
        raise TraceError(f"an oracle was called on an array of shape {a.shape}, not one row per path")
    return list(a[0])


def tracing_model(model, tr, oracles):
    """A shallow copy of ``model`` whose primitive oracles are recorded by ``tr``.

    ``oracles`` names what the generated module provides: ``"grad"`` (∇L at one point)
    and/or ``"sig"`` (σ_i and ∂σ_i/∂θ_i at one point).  Every other model method runs as
    written on the traced arrays (``drift`` = −``grad``, ``noise_term`` = σ·dW, ...).
    """
    m = copy.copy(model)
    if "grad" in oracles:
        def grad(q):
            return np.array([tr.call("grad", _row(q), ("g",))["g"]], dtype=object)
        m.grad = grad
    if "sig" in oracles:
        def diffusion(t, y):
            return np.array([tr.call("sig", _row(y), ("s", "ds"))["s"]], dtype=object)

        def diffusion_dx(t, y):
            return np.array([tr.call("sig", _row(y), ("s", "ds"))["ds"]], dtype=object)
        m.diffusion, m.diffusion_dx = diffusion, diffusion_dx
    return m


class Trace(NamedTuple):
    """One traced step: its lines, the state fields it reads and writes, its output."""

    lines: list
    reads: dict        # field → list of leaf names (loaded from the kernel's arrays)
    writes: dict       # field → list of operand names (stored back after the step)
    outputs: list      # operand names of the output components, in order
    evals: int         # gradient (drift) evaluations the step counts


class Program(NamedTuple):
    """A scheme's step read for one (model, scheme, dt): what a kernel is generated from.

    ``first`` is the step from the state ``init`` returns; ``later`` (None when the first
    step's trace serves every step) the step from the state after it, when the first step
    changes the state's structure (a buffer that appears, a cached force that goes stale).
    """

    fields: tuple      # names of the per-path arrays the kernel keeps
    widths: tuple      # their widths
    first: Trace
    later: Optional[Trace]
    init_evals: int
    consts: tuple      # (argument name, value) of the run constants, in order
    statics: tuple     # (the non-array fields of the state after any step, as a dict,)
    state_type: type


def _split(state):
    """(array fields, static fields) of a state of one path: ``{name: width}``, ``{name: value}``."""
    arrays, statics = {}, {}
    for f, v in zip(state._fields, state):
        if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] == 1:
            arrays[f] = v.shape[1]
        elif isinstance(v, np.ndarray):
            raise TraceError(f"the state's field {f!r} is an array of shape {v.shape}, not one row per path")
        elif f != "grad_evals":
            statics[f] = v
    return arrays, statics


def _same_statics(a, b):
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if x is y:
            continue
        if type(x) is not type(y) or not (x == y):
            return False
    return True


def _trace_one(model, scheme, dt, state_in, arrays_in, consts, oracles, n_terms, m, t_name, prefix):
    tr = Tracer(consts, prefix)
    reads, values = {}, {}
    for f in state_in._fields:
        if f in arrays_in:
            names = [f"{prefix}_{f}_{c}" for c in range(arrays_in[f])]
            reads[f] = names
            values[f] = leaf_array(tr, names, (1, arrays_in[f]))
        else:
            values[f] = getattr(state_in, f)
    state = type(state_in)(**values)
    z = leaf_array(tr, [f"z[{t}, {c}]" for t in range(n_terms) for c in range(m)], (n_terms, 1, m))
    tm = tracing_model(model, tr, oracles)
    with np.errstate(all="ignore"):
        out = scheme.step(tm, Node(tr, t_name), state, dt, z)
        y = scheme.output(tm, out)
    if not isinstance(out, type(state_in)):
        raise TraceError("the step does not return the scheme's State")
    arrays_out, statics_out = _split_traced(out)
    writes = {f: [tr.operand(v) for v in np.asarray(getattr(out, f), dtype=object)[0]] for f in arrays_out}
    y = np.asarray(y, dtype=object)
    if y.ndim != 2 or y.shape[0] != 1:
        raise TraceError(f"the scheme's output has shape {y.shape}, not one row per path")
    outputs = [tr.operand(v) for v in y[0]]
    evals = int(out.grad_evals) - int(state_in.grad_evals)
    return Trace(tr.lines, reads, writes, outputs, evals), arrays_out, statics_out, out


def _split_traced(state):
    arrays, statics = {}, {}
    for f, v in zip(state._fields, state):
        if isinstance(v, np.ndarray):
            if v.ndim != 2 or v.shape[0] != 1:
                raise TraceError(f"the state's field {f!r} has shape {v.shape}, not one row per path")
            arrays[f] = v.shape[1]
        elif isinstance(v, Node):
            raise TraceError(f"the state's field {f!r} holds one number for all paths that depends on them")
        elif f != "grad_evals":
            statics[f] = v
    return arrays, statics


def trace_step(model, scheme, dt, oracles, dtype=np.float64):
    """Read ``scheme.step`` (and ``output``) on ``model`` at step ``dt`` as a :class:`Program`.

    Raises
    ------
    TraceError
        With the reason, when the step is not straight-line arithmetic per path.
    """
    if not hasattr(scheme, "State") or "grad_evals" not in getattr(scheme.State, "_fields", ()):
        raise TraceError("the scheme's state is not a NamedTuple with a `grad_evals` field")
    y0 = np.zeros((1, model.state_dim), dtype=dtype)
    s0 = scheme.init(model, y0, dt)
    arrays0, statics0 = _split(s0)
    consts: dict = {}
    n_terms, m = int(scheme.n_terms), int(model.noise_dim)
    first, arrays1, statics1, s1 = _trace_one(model, scheme, dt, s0, arrays0, consts, oracles, n_terms, m,
                                              "tt", "a")
    later = None
    if arrays1 != arrays0 or not _same_statics(statics0, statics1):
        s1 = type(s1)(**{f: (np.zeros((1, arrays1[f]), dtype=dtype) if f in arrays1 else getattr(s1, f))
                         for f in s1._fields})
        later, arrays2, statics2, _ = _trace_one(model, scheme, dt, s1, arrays1, consts, oracles, n_terms, m,
                                                 "tt", "b")
        if arrays2 != arrays1 or not _same_statics(statics1, statics2):
            raise TraceError("the step changes the state's structure after its second step")
    fields = tuple(dict.fromkeys([*arrays0, *arrays1]))
    widths = tuple(arrays1.get(f, arrays0.get(f)) for f in fields)
    if any(arrays0.get(f, w) != w for f, w in zip(fields, widths)):
        raise TraceError("the first step changes the width of a state array")
    return Program(fields, widths, first, later, int(s0.grad_evals), tuple(consts.values()),
                   (statics1,), type(s0))
