"""A researcher's own input on the command line: a potential as a sympy expression
(``--expr``, ``--vars``) and a Problem or scheme object from a Python file
(``--problem path/to/file.py:NAME``, ``--scheme file.py:NAME``).

Paths are resolved relative to the working directory.  Every failure raises
:class:`UserInputError` (a ValueError) whose message names the argument, the file and the
attribute, so the commands can print it and exit with status 2 before anything is written.
"""
from __future__ import annotations

from pathlib import Path

import sympy as sp

from dynopt.expr import ExprError, parse_expression
from dynopt.io import load_file_module
from dynopt.problems import PROBLEMS, Problem, from_expr, get_problem
from dynopt.schemes import METHODS, Scheme

__all__ = ["UserInputError", "parse_expr", "load_object", "resolve_problem", "resolve_scheme",
           "is_file_reference"]


class UserInputError(ValueError):
    """Bad user input on the command line; the message names the argument."""


def parse_expr(text: str, variables=None, name: str = "custom", argument: str = "--expr") -> Problem:
    """A :class:`~dynopt.problems.Problem` from a sympy expression string.

    Parameters
    ----------
    text : str
        The potential, e.g. ``"(x**2-1)**2 + 2*y**2 + 0.3*x"``.
    variables : sequence of str, optional
        The coordinates in order (``--vars``); default: the free symbols in order of their
        first appearance in ``text``.
    name : str
        Name of the problem in tables and figures.
    argument : str
        The option name quoted in error messages.

    Raises
    ------
    UserInputError
        The text does not parse, has no free symbol, or uses a symbol not in ``variables``.
    """
    if variables:
        if len(set(variables)) != len(variables):
            raise UserInputError(f"`--vars` names a variable twice: {list(variables)}")
        bad = [v for v in variables if not (isinstance(v, str) and v.strip().isidentifier())]
        if bad:
            raise UserInputError(f"`--vars` must be identifiers such as x y; got {bad}")
        variables = [v.strip() for v in variables]
    try:
        parsed = parse_expression(text, variables or None, argument=argument)
    except ExprError as exc:
        raise UserInputError(str(exc)) from None
    expr = parsed.expr
    if not expr.free_symbols:
        raise UserInputError(f"`{argument}` must be an expression in at least one variable; got {text!r}")
    syms = tuple(sp.Symbol(v, real=True) for v in variables) if variables else parsed.variables
    return from_expr(expr, syms, name=name)


def is_file_reference(text) -> bool:
    """True for ``something.py:NAME``."""
    return isinstance(text, str) and ":" in text and text.rsplit(":", 1)[0].endswith(".py")


def load_object(ref: str, argument: str):
    """The attribute NAME of the Python file of ``ref = "path/file.py:NAME"``.

    Raises
    ------
    UserInputError
        Malformed reference, missing file, a file that fails to import, or a missing attribute.
    """
    if not is_file_reference(ref):
        raise UserInputError(f"`{argument}` must be FILE.py:NAME; got {ref!r}")
    fname, attr = ref.rsplit(":", 1)
    path = (Path.cwd() / fname).resolve()
    if not path.is_file():
        raise UserInputError(f"`{argument}`: file {str(path)!r} does not exist")
    try:
        module = load_file_module(path, "_dynopt_user")
    except Exception as exc:  # noqa: BLE001 - any failure of the user's file is reported as bad input
        raise UserInputError(f"`{argument}`: importing {str(path)!r} failed: {type(exc).__name__}: {exc}") from None
    if not attr.isidentifier() or not hasattr(module, attr):
        raise UserInputError(f"`{argument}`: file {str(path)!r} has no attribute {attr!r}")
    return getattr(module, attr)


def resolve_problem(problem=None, expr=None, variables=None, argument: str = "--problem") -> Problem:
    """The problem of a command: ``--expr`` (with ``--vars``), ``--problem FILE.py:NAME`` (a
    Problem, or a callable returning one) or a built-in name."""
    if expr is not None:
        if problem is not None:
            raise UserInputError("give either `--expr` or `--problem`, not both")
        return parse_expr(expr, variables)
    if variables:
        raise UserInputError("`--vars` names the variables of `--expr`; no `--expr` was given")
    if is_file_reference(problem):
        obj = load_object(problem, argument)
        if callable(obj) and not isinstance(obj, Problem):
            try:
                obj = obj()
            except Exception as exc:  # noqa: BLE001
                raise UserInputError(f"`{argument}`: calling {problem} failed: {exc}") from None
        if not isinstance(obj, Problem):
            raise UserInputError(f"`{argument}`: {problem} is a {type(obj).__name__}, not a dynopt Problem "
                                 "(build one with dynopt.problems.from_expr or from_grad)")
        return obj
    if problem not in PROBLEMS:
        raise UserInputError(f"`{argument}` must be one of {sorted(PROBLEMS)}, FILE.py:NAME or "
                             f"--expr; got {problem!r}")
    return get_problem(problem)


def resolve_scheme(scheme, argument: str = "--scheme", allowed=None):
    """A registry name, or a Scheme class or instance from ``FILE.py:NAME``.

    Parameters
    ----------
    allowed : collection of str, optional
        Registry names the command accepts (listed in the error).

    Returns
    -------
    str or Scheme subclass or Scheme instance
    """
    if is_file_reference(scheme):
        obj = load_object(scheme, argument)
        if not ((isinstance(obj, type) and issubclass(obj, Scheme)) or isinstance(obj, Scheme)):
            raise UserInputError(f"`{argument}`: {scheme} is a {type(obj).__name__}, not a dynopt Scheme "
                                 "class or instance (subclass dynopt.schemes.MomentumScheme or Scheme)")
        return obj
    names = sorted(allowed) if allowed is not None else sorted(METHODS)
    if scheme not in names:
        raise UserInputError(f"`{argument}` must be one of {names} or FILE.py:NAME; got {scheme!r}")
    return scheme
