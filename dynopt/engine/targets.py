"""Regions a first passage can aim at: a level on one coordinate, a ball around a point, or
an inequality in the problem's variables.

Every target is one scalar function of the state, its *signed distance* f, with the path
inside the target when f ≤ 0:

* :class:`Level` — f = level − y_c (passage upwards) or y_c − level (downwards): the exact
  signed distance to a half-space;
* :class:`Ball` — f = |x − c| − r over the ball's coordinates: the exact signed distance
  to the ball;
* :class:`Region` — f from an inequality ``A < B`` (f = A − B), ``A > B`` (f = B − A), and
  ``and``/``or`` of inequalities (f = max / min of the parts).  This f is a level-set
  function, not a distance.

The same sympy expression f is printed into a numba kernel (:meth:`Target.kernel_source`,
the passage test of a compiled run calls it where a level target reads one component) and
lambdified for the numpy backend (:meth:`Target.distance`), so both backends test the same
arithmetic.

Brownian-bridge correction (a crossing between two checks at which the path was outside):
the hazard exp(−2 f₀ f₁ / (g² Δt)) is exact for a half-space (:class:`Level`, g the noise
amplitude of the coordinate) and the tangent-plane approximation for a ball (g the
amplitude of isotropic noise on its coordinates; the relative error of the hazard is
O(√(g²Δt)/r), small when the step's spread is well below the radius).  A :class:`Region`
has no bridge correction: its f is not a distance.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import sympy as sp
from sympy.printing.pycode import pycode

from dynopt.expr import parse_condition

__all__ = ["Target", "Level", "Ball", "Region", "as_target"]


class Target:
    """A region of state space with a signed distance f (inside: f ≤ 0).

    Subclasses set ``coords`` (the state components f reads, in order), ``expr`` (f as a
    sympy expression in ``symbols``, one symbol per entry of ``coords``) and
    ``bridge_exact`` (None: no bridge correction; True: exact; False: approximation).
    """

    coords: tuple
    symbols: tuple
    expr: sp.Expr
    bridge_exact: Optional[bool] = None

    def distance(self, y) -> np.ndarray:
        """f at the rows of ``y`` (n, state_dim) → (n,)."""
        fn = getattr(self, "_fn", None)
        if fn is None:
            # lambdify prints the sympy tree (already parsed safely) into numpy code
            fn = self._fn = sp.lambdify(self.symbols, self.expr, "numpy")
        y = np.asarray(y)
        out = fn(*(y[:, c] for c in self.coords))
        return np.broadcast_to(np.asarray(out, dtype=float), (y.shape[0],))

    def inside(self, y) -> np.ndarray:
        """Whether each row of ``y`` is in the target (f ≤ 0)."""
        return self.distance(y) <= 0

    def kernel_source(self, name="target_distance") -> Optional[str]:
        """Source of ``name(a0, a1, …)`` returning f from the components ``coords`` (scalars),
        compiled with numba; None if sympy cannot print f as plain Python/``math``."""
        args = [sp.Symbol(f"_a{i}", real=True) for i in range(len(self.symbols))]
        f = self.expr.xreplace(dict(zip(self.symbols, args)))
        if f.free_symbols - set(args):
            return None
        repl, (red,) = sp.cse([f], symbols=sp.numbered_symbols("_t"))
        try:
            lines = ["@njit(cache=True)", f"def {name}({', '.join(map(str, args))}):"]
            lines += [f"    {s} = {pycode(e)}" for s, e in repl]
            lines += [f"    return float({pycode(red)})"]
        except Exception:  # sympy's printers raise various errors for unsupported objects
            return None
        text = "\n".join(lines) + "\n"
        return None if "Not supported" in text or "sympy" in text else text

    def describe(self) -> str:
        """A short description for reports (e.g. "ball of radius 0.3 around (0.9, 0)")."""
        raise NotImplementedError


class Level(Target):
    """Component ``coord`` at or beyond ``level``: y_c ≥ level (``above``) or y_c ≤ level."""

    bridge_exact = True

    def __init__(self, coord: int, level: float, above: bool = True):
        if not isinstance(coord, (int, np.integer)) or isinstance(coord, bool):
            raise TypeError(f"`coord` must be an integer component index; got {coord!r}")
        lv = float(level)
        if not math.isfinite(lv):
            raise ValueError(f"`level` must be finite; got {level!r}")
        self.coord, self.level, self.above = int(coord), lv, bool(above)
        self.coords = (self.coord,)
        s = sp.Symbol("y", real=True)
        self.symbols = (s,)
        self.expr = (sp.Float(lv) - s) if self.above else (s - sp.Float(lv))

    def distance(self, y):
        v = np.asarray(y)[:, self.coord]
        return (self.level - v) if self.above else (v - self.level)

    def describe(self):
        return f"component {self.coord} {'≥' if self.above else '≤'} {self.level:g}"


class Ball(Target):
    """Closed ball |x − center| ≤ radius over the components ``coords`` (default the first
    ``len(center)``)."""

    bridge_exact = False

    def __init__(self, center: Sequence[float], radius: float, coords: Optional[Sequence[int]] = None):
        c = np.asarray(center, dtype=float).ravel()
        if c.size == 0 or not np.all(np.isfinite(c)):
            raise ValueError(f"`center` must be one or more finite numbers; got {center!r}")
        r = float(radius)
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"`radius` must be finite and > 0; got {radius!r}")
        co = tuple(range(c.size)) if coords is None else tuple(int(i) for i in coords)
        if len(co) != c.size or len(set(co)) != len(co) or min(co) < 0:
            raise ValueError(f"`coords` must be {c.size} distinct component indices ≥ 0; got {coords!r}")
        self.center, self.radius, self.coords = c, r, co
        self.symbols = tuple(sp.Symbol(f"y{i}", real=True) for i in co)
        self.expr = sp.sqrt(sum((s - sp.Float(v)) ** 2 for s, v in zip(self.symbols, c))) - sp.Float(r)

    def distance(self, y):
        y = np.asarray(y)
        return np.sqrt(sum((y[:, i] - v) ** 2 for i, v in zip(self.coords, self.center))) - self.radius

    def describe(self):
        return f"ball of radius {self.radius:g} around ({', '.join(f'{v:g}' for v in self.center)})"


def _level_set(cond, argument):
    """f ≤ 0 ⇔ ``cond`` (up to the boundary) for a relational or an and/or of them."""
    if isinstance(cond, (sp.StrictLessThan, sp.LessThan)):
        return cond.lhs - cond.rhs
    if isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan)):
        return cond.rhs - cond.lhs
    if isinstance(cond, sp.And):
        return sp.Max(*(_level_set(a, argument) for a in cond.args))
    if isinstance(cond, sp.Or):
        return sp.Min(*(_level_set(a, argument) for a in cond.args))
    raise ValueError(f"`{argument}` must be inequalities (<, <=, >, >=) joined by and/or; got {cond}")


class Region(Target):
    """The set where an inequality in the problem's variables holds, e.g.
    ``"(x-0.62)**2 + (y-0.03)**2 < 0.01"``, parsed by :func:`dynopt.expr.parse_condition`
    (no Python evaluation of the text).

    Parameters
    ----------
    condition : str or sympy relational
    symbols : sequence of sympy.Symbol
        The problem's variables; variable i is state component i.
    argument : str
        Name quoted in error messages (e.g. ``"--target"``).
    """

    def __init__(self, condition, symbols: Sequence, *, argument: str = "target"):
        syms = tuple(symbols)
        if not syms:
            raise ValueError(f"`{argument}` needs the problem's variables (a problem with a sympy expression)")
        names = [str(s) for s in syms]
        if isinstance(condition, str):
            cond = parse_condition(condition, names, argument=argument)
            by_name = {str(s): s for s in syms}
            cond = cond.xreplace({s: by_name[str(s)] for s in cond.free_symbols})
        elif isinstance(condition, sp.Basic):
            cond = condition
        else:
            raise TypeError(f"`{argument}` must be a string or a sympy relational; got {type(condition).__name__}")
        f = _level_set(cond, argument)
        extra = f.free_symbols - set(syms)
        if extra:
            raise ValueError(f"`{argument}` uses {sorted(map(str, extra))}, not variables of the problem {names}")
        used = [i for i, s in enumerate(syms) if s in f.free_symbols]
        self.text = condition if isinstance(condition, str) else str(condition)
        self.coords = tuple(used)
        self.symbols = tuple(syms[i] for i in used)
        self.expr = f

    def describe(self):
        return f"region {self.text}"


def as_target(target, start=None, symbols=None) -> Target:
    """A :class:`Target` from a target, a ``(coord, level, side)`` tuple, or a condition
    string in ``symbols``."""
    if isinstance(target, Target):
        return target
    if isinstance(target, tuple) and len(target) == 3:
        coord, level, side = target
        if side not in ("above", "below"):
            raise ValueError(f"`condition` side must be 'above' or 'below'; got {side!r}")
        return Level(coord, level, side == "above")
    if isinstance(target, (str, sp.Basic)):
        return Region(target, symbols or (), argument="target")
    raise TypeError("`target` must be a Target, a (coord, level, side) tuple or a condition string")
