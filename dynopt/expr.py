"""The one way user text becomes sympy: a whitelist over Python's ``ast``.

``sympy.sympify`` and ``parse_expr`` evaluate their input with ``eval`` (sympy's own
documentation warns about it), so a string such as ``"__import__('os').system(...)"``
would run.  Here the text is parsed by :func:`ast.parse` and only these nodes are
translated: numbers, declared names, ``+ - * / ** ^`` (``^`` is a power, as in the
texts we reproduce), unary signs, calls of the functions in :data:`FUNCTIONS`, and,
where a condition is asked for, comparisons joined by ``and``/``or``/``&``/``|``.
Every other node is refused with an :class:`ExprError` naming the token and its column.

Decimals can be kept as floats (numerics) or read as exact rationals (``exact=True``):
``0.1`` becomes ``1/10``, so that a proof (a Fokker–Planck residual, a simplification) is
not defeated by binary rounding.
"""
from __future__ import annotations

import ast
import io
import tokenize
from typing import Mapping, NamedTuple, Optional, Sequence

import sympy as sp

__all__ = ["as_sympy", "sympy_value", "ExprError", "FUNCTIONS", "CONSTANTS", "Parsed", "parse", "parse_condition", "parse_equation",
           "parse_expression"]

MAX_LENGTH = 20_000
MAX_NODES = 5_000
MAX_EXPONENT = 1_000
MAX_DIGITS = 60
MAX_DEPTH = 200
_DOUBLE_MAX = sp.Float(1.7976931348623157e308)

#: Functions a user expression may call, with the number of arguments each takes.
FUNCTIONS = {
    "exp": (sp.exp, (1,)), "log": (sp.log, (1, 2)), "sqrt": (sp.sqrt, (1,)),
    "sin": (sp.sin, (1,)), "cos": (sp.cos, (1,)), "tan": (sp.tan, (1,)),
    "sinh": (sp.sinh, (1,)), "cosh": (sp.cosh, (1,)), "tanh": (sp.tanh, (1,)),
    "asin": (sp.asin, (1,)), "acos": (sp.acos, (1,)), "atan": (sp.atan, (1,)), "atan2": (sp.atan2, (2,)),
    "abs": (sp.Abs, (1,)), "Abs": (sp.Abs, (1,)), "erf": (sp.erf, (1,)),
    "min": (sp.Min, (2, None)), "max": (sp.Max, (2, None)),
}
#: Named constants.
CONSTANTS = {"pi": sp.pi, "E": sp.E}

#: names that read as numbers elsewhere (sympy's infinities, NaN, the imaginary unit): refused
#: rather than silently made into a new variable
RESERVED = {"nan": "not a number", "NaN": "not a number", "inf": "infinity", "oo": "sympy's infinity",
            "zoo": "sympy's complex infinity", "I": "the imaginary unit"}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "^"}
_COMPARE = {ast.Lt: sp.StrictLessThan, ast.LtE: sp.LessThan, ast.Gt: sp.StrictGreaterThan,
            ast.GtE: sp.GreaterThan}


class ExprError(ValueError):
    """User text that is not an expression of the allowed language.

    Attributes
    ----------
    token : str
        The offending piece of text (may be empty).
    column : int or None
        Its 1-based column in the text.
    """

    def __init__(self, message: str, token: str = "", column: Optional[int] = None):
        super().__init__(message)
        self.token = token
        self.column = column


class Parsed(NamedTuple):
    """A parsed expression and the variables it uses, in the order of first appearance."""

    expr: sp.Basic
    variables: tuple


def _segment(text, node):
    try:
        return ast.get_source_segment(text, node) or ""
    except Exception:  # noqa: BLE001 - only used to quote the token in a message
        return ""


class _Translator:
    def __init__(self, text, names, allow_new, exact, relational, argument, real):
        self.text = text
        self.names = dict(names)
        self.allow_new = allow_new
        self.exact = exact
        self.relational = relational
        self.argument = argument
        self.real = real
        self.order = []

    def fail(self, node, what):
        token = _segment(self.text, node) if node is not None else ""
        col = getattr(node, "col_offset", None)
        where = f" at column {col + 1}" if col is not None else ""
        raise ExprError(f"`{self.argument}`: {what}{where} in {self.text!r}", token, None if col is None else col + 1)

    def name(self, node):
        ident = node.id
        if ident in self.names:
            sym = self.names[ident]
        elif ident in CONSTANTS:
            return CONSTANTS[ident]
        elif ident in FUNCTIONS:
            self.fail(node, f"{ident!r} is a function and needs arguments, e.g. {ident}(x)")
        elif ident.startswith("_"):
            self.fail(node, f"name {ident!r} is not allowed (names may not start with '_')")
        elif ident in RESERVED:
            self.fail(node, f"name {ident!r} is {RESERVED[ident]}: not allowed in an expression (a potential "
                            "must be finite and real)")
        elif self.allow_new:
            sym = sp.Symbol(ident, real=True) if self.real else sp.Symbol(ident)
            self.names[ident] = sym
        else:
            allowed = sorted(set(self.names) | set(CONSTANTS))
            self.fail(node, f"unknown name {ident!r}; allowed names: {', '.join(allowed) or 'none'} "
                            f"and the functions {', '.join(sorted(FUNCTIONS))}")
        if ident not in self.order:
            self.order.append(ident)
        return sym

    def number(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(node, f"{value!r} is not a real number")
        raw = _segment(self.text, node) or repr(value)
        if len(raw.replace("_", "")) > MAX_DIGITS:
            self.fail(node, f"the number {raw[:20]}… has more than {MAX_DIGITS} digits")
        if isinstance(value, int):
            return sp.Integer(value)
        if value != value or value in (float("inf"), float("-inf")):
            self.fail(node, f"the number {raw!r} is not finite")
        # the literal's own decimal text, not its binary double: 0.1 stays one tenth
        return sp.Rational(raw.replace("_", "")) if self.exact else sp.Float(raw.replace("_", ""))

    def power(self, node, base, exponent):
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            self.fail(node, f"the exponent {exponent} is larger than {MAX_EXPONENT} in magnitude")
        if base.is_Number and exponent.is_Number and abs(base) > 1 and abs(exponent) * sp.log(abs(base), 10) > 300:
            self.fail(node, "the power is too large (more than 300 digits)")
        return sp.Pow(base, exponent)

    def visit(self, node):
        if isinstance(node, ast.Expression):
            return self.visit(node.body)
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.expr(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand)
            if isinstance(node.op, ast.Not) and self.relational:
                return sp.Not(self.cond(node.operand))
            self.fail(node, f"the operator {_segment(self.text, node)[:1]!r} is not allowed")
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, (ast.BitAnd, ast.BitOr)) and self.relational:
                a, b = self.cond(node.left), self.cond(node.right)
                return sp.And(a, b) if isinstance(node.op, ast.BitAnd) else sp.Or(a, b)
            op = _BINOPS.get(type(node.op))
            if op is None:
                self.fail(node, f"the operator in {_segment(self.text, node)!r} is not allowed "
                                "(allowed: + - * / ** ^)")
            a, b = self.expr(node.left), self.expr(node.right)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                if b == 0:
                    self.fail(node, "division by zero")
                return a / b
            return self.power(node, a, b)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Compare):
            if not self.relational:
                self.fail(node, "a comparison is not an expression here")
            terms = [self.expr(node.left)] + [self.expr(c) for c in node.comparators]
            parts = []
            for op, a, b in zip(node.ops, terms, terms[1:]):
                rel = _COMPARE.get(type(op))
                if rel is None:
                    self.fail(node, "only <, <=, > and >= are allowed in a condition")
                parts.append(rel(a, b))
            return sp.And(*parts) if len(parts) > 1 else parts[0]
        if isinstance(node, ast.BoolOp) and self.relational:
            vals = [self.cond(v) for v in node.values]
            return sp.And(*vals) if isinstance(node.op, ast.And) else sp.Or(*vals)
        kind = type(node).__name__
        token = _segment(self.text, node)
        self.fail(node, f"{token!r} ({kind}) is not allowed in an expression")

    def expr(self, node):
        value = self.visit(node)
        if not isinstance(value, sp.Expr):
            self.fail(node, "a condition is used where a number is needed")
        return value

    def cond(self, node):
        value = self.visit(node)
        if not isinstance(value, (sp.logic.boolalg.Boolean, sp.core.relational.Relational)):
            self.fail(node, "a number is used where a condition (e.g. x < 1) is needed")
        return value

    def call(self, node):
        if not isinstance(node.func, ast.Name):
            self.fail(node.func, f"{_segment(self.text, node.func)!r} is not a function you may call")
        fname = node.func.id
        if fname not in FUNCTIONS:
            self.fail(node.func, f"unknown function {fname!r}; allowed: {', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            self.fail(node, f"{fname}() takes no keyword arguments")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(node, f"{fname}() takes no starred arguments")
        fn, counts = FUNCTIONS[fname]
        n = len(node.args)
        ok = (n >= counts[0]) if counts[-1] is None else n in counts
        if not ok:
            want = f"at least {counts[0]}" if counts[-1] is None else " or ".join(map(str, counts))
            self.fail(node, f"{fname}() takes {want} argument(s); got {n}")
        return fn(*[self.expr(a) for a in node.args])


def _xor_as_power(text, argument):
    """``x^2`` → ``x**2`` token by token (Python gives ``^`` a lower precedence than ``+``,
    so a textual power must be rewritten before parsing, not after)."""
    if "^" not in text:
        return text
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        raise ExprError(f"`{argument}`: not a valid expression in {text!r} ({exc})") from None
    out = [(t.type, "**") if t.type == tokenize.OP and t.string == "^" else (t.type, t.string) for t in toks]
    return tokenize.untokenize(out).strip()


def _as_names(names) -> dict:
    out = {}
    for item in names or ():
        if isinstance(item, sp.Symbol):
            out[item.name] = item
        elif isinstance(item, str):
            if not item.isidentifier() or item.startswith("_"):
                raise ExprError(f"variable name {item!r} is not an identifier", item)
            if item in FUNCTIONS or item in CONSTANTS:
                raise ExprError(f"variable name {item!r} is a function or constant name", item)
            out[item] = sp.Symbol(item, real=True)
        else:
            raise TypeError(f"names must be str or sympy.Symbol; got {type(item).__name__}")
    return out


def parse_expression(text, variables: Optional[Sequence] = None, parameters: Optional[Mapping] = None, *,
                     argument: str = "--expr", exact: bool = False, relational: bool = False,
                     real: bool = True) -> Parsed:
    """Parse user text into sympy through the whitelist.

    Parameters
    ----------
    text : str
        The user's expression, e.g. ``"(x**2 - 1)**2 + 0.3*x"``.
    variables : sequence of str or sympy.Symbol, optional
        The only names the text may use (besides ``parameters``, ``pi`` and ``E``).
        ``None``: every unknown identifier becomes a new real symbol.
    parameters : mapping of str to sympy object, optional
        Further names and what they stand for (symbols or numbers).
    argument : str
        The option or argument name quoted in error messages.
    exact : bool
        Read decimal literals as exact rationals (``0.1`` → ``1/10``).
    relational : bool
        Parse a condition (comparisons joined by and/or) instead of an expression.
    real : bool
        Create new symbols as real.

    Returns
    -------
    Parsed
        ``expr`` and ``variables`` (the symbols used, in order of first appearance).

    Raises
    ------
    ExprError
        The text is empty, too long, not valid syntax, or uses a name, operator or
        function outside the language; the message names the token and its column.
    TypeError
        ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"`{argument}` must be a string; got {type(text).__name__}")
    if not text.strip():
        raise ExprError(f"`{argument}` is empty: give an expression such as x**2 + y**2")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"`{argument}` is longer than {MAX_LENGTH} characters")
    text = _xor_as_power(text.strip(), argument)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = exc.offset
        raise ExprError(f"`{argument}`: not a valid expression{f' at column {col}' if col else ''} "
                        f"in {text!r} ({exc.msg})", "", col) from None
    except (MemoryError, RecursionError):
        # CPython's parser gives up on very deep nesting ("-" * 10000 + "x") this way
        raise ExprError(f"`{argument}` is nested more than {MAX_DEPTH} levels deep") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExprError(f"`{argument}` has more than {MAX_NODES} syntax nodes")
    if _depth(tree) > MAX_DEPTH:
        # the translation recurses once per level: refuse before Python's recursion limit does
        raise ExprError(f"`{argument}` is nested more than {MAX_DEPTH} levels deep")
    names = _as_names(variables)
    for key, value in (parameters or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float, sp.Basic)):
            raise TypeError(f"parameter {key!r} must be a number or a sympy object; got {type(value).__name__}")
        names[key] = sp.Integer(value) if isinstance(value, int) else sp.Float(value) if isinstance(value, float) else value
    tr = _Translator(text, names, variables is None, exact, relational, argument, real)
    expr = tr.cond(tree.body) if relational else tr.expr(tree.body)
    if relational and expr in (sp.true, sp.false):
        raise ExprError(f"`{argument}` is always {bool(expr)}: a condition must depend on the variables")
    _check_finite_real(expr, text, argument)
    params = set(parameters or ())
    return Parsed(expr, tuple(tr.names[n] for n in tr.order if n not in params))


def _depth(tree) -> int:
    """The depth of an ast, measured without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_finite_real(expr, text, argument):
    """Refuse a result sympy evaluated to something that is no finite real function: 0**-1 and
    log(0) give complex infinity, (-1)**0.5 the imaginary unit, 1e308*10 a number past double
    precision."""
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I):
        raise ExprError(f"`{argument}`: {text!r} evaluates to {expr}, which is not a finite real expression")
    for num in expr.atoms(sp.Number):
        if abs(num) > _DOUBLE_MAX:
            raise ExprError(f"`{argument}`: the number {sp.N(num, 6)} in {text!r} exceeds double precision")


def sympy_value(value):
    """A sympy object from a value that is already numeric or symbolic (a number, a numpy
    scalar, a sympy expression or matrix): the conversion dynopt's own symbolic code uses.

    Text is refused, never parsed: text goes through :func:`parse`.

    Raises
    ------
    TypeError
        ``value`` is a string.
    """
    if isinstance(value, str):
        raise TypeError("text is parsed by dynopt.expr.parse, not converted; got a string")
    return sp.sympify(value, strict=True)  # strict: no fallback through str() and eval


def as_sympy(value, variables=None, parameters=None, *, argument: str = "expr", **kwargs) -> sp.Basic:
    """A sympy object from a value an API caller passes: text goes through :func:`parse`,
    numbers become exact sympy numbers, sympy objects pass unchanged.

    Raises
    ------
    TypeError
        ``value`` is neither text, a real number nor a sympy object.
    """
    if isinstance(value, str):
        return parse(value, variables, parameters, argument=argument, **kwargs)
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        raise TypeError(f"`{argument}` must be an expression or a number; got a bool")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        return sp.Float(value)
    if hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        return as_sympy(value.item(), variables, parameters, argument=argument, **kwargs)
    raise TypeError(f"`{argument}` must be a string, a number or a sympy expression; got {type(value).__name__}")


def parse(text, variables=None, parameters=None, **kwargs) -> sp.Expr:
    """The sympy expression of ``text`` (see :func:`parse_expression` for the arguments)."""
    return parse_expression(text, variables, parameters, **kwargs).expr


def parse_condition(text, variables=None, parameters=None, **kwargs):
    """A sympy relational or boolean from a condition such as ``"(x-1)**2 + y**2 < 0.01"``."""
    return parse_expression(text, variables, parameters, relational=True, **kwargs).expr


def parse_equation(text, variables=None, parameters=None, *, argument: str = "--eq", **kwargs) -> sp.Eq:
    """``sympy.Eq(lhs, rhs)`` from one equation ``"LHS = RHS"``."""
    if not isinstance(text, str):
        raise TypeError(f"`{argument}` must be a string; got {type(text).__name__}")
    pieces = [p for p in text.replace("==", "=").split("=")]
    if len(pieces) != 2 or "<" in pieces[0][-1:] or ">" in pieces[0][-1:]:
        raise ExprError(f"`{argument}` must be one equation LHS = RHS; got {text!r}")
    lhs = parse(pieces[0], variables, parameters, argument=argument, **kwargs)
    rhs = parse(pieces[1], variables, parameters, argument=argument, **kwargs)
    return sp.Eq(lhs, rhs, evaluate=False)
