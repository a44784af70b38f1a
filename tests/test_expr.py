"""The safe expression language: what it accepts, what it refuses, and that refusing
leaves no side effect."""
import subprocess
import sys

import pytest
import sympy as sp

from dynopt.expr import ExprError, as_sympy, parse, parse_condition, parse_equation, parse_expression

x, y = sp.symbols("x y", real=True)


def test_accepts_the_language():
    assert parse("(x**2 - 1)**2 + 0.3*x + y^2") == (x**2 - 1)**2 + sp.Float("0.3") * x + y**2
    assert parse("exp(-x) + log(x, 2) + sqrt(abs(x)) + tanh(x) + pi") == \
        sp.exp(-x) + sp.log(x, 2) + sp.sqrt(sp.Abs(x)) + sp.tanh(x) + sp.pi
    assert parse("-x + +y") == y - x
    assert parse_expression("y*x + x").variables == (y, x)  # order of first appearance


def test_exact_decimals_are_rationals():
    assert parse("0.1*x + 2.5e-1", exact=True) == x / 10 + sp.Rational(1, 4)
    # floats keep the literal's decimal value: 0.1 converts back to the double 0.1
    assert float(parse("0.1*x").coeff(x)) == 0.1


def test_declared_variables_and_parameters():
    a = sp.Symbol("a")
    assert parse("a*x", ["x"], {"a": a}) == a * x
    with pytest.raises(ExprError, match="unknown name 'z'.*column 5") as info:
        parse("x + z", ["x", "y"])
    assert info.value.token == "z" and info.value.column == 5


def test_conditions_and_equations():
    c = parse_condition("(x-0.62)**2 + (y-0.03)**2 < 0.01", ["x", "y"])
    assert c.subs({x: 0.62, y: 0.03}) == sp.true and c.subs({x: 0, y: 0}) == sp.false
    assert parse_condition("x > 1 and y <= 2", ["x", "y"]) == sp.And(x > 1, y <= 2)
    assert parse_condition("0 < x < 1", ["x"]) == sp.And(sp.Lt(0, x), sp.Lt(x, 1))
    e = parse_equation("v = b*v0 - a*g")
    assert isinstance(e, sp.Eq) and e.lhs == sp.Symbol("v", real=True)
    with pytest.raises(ExprError, match="one equation"):
        parse_equation("a = b = c")
    with pytest.raises(ExprError, match="comparison is not an expression"):
        parse("x < 1")


@pytest.mark.parametrize("text, match", [
    ("x**2 + 0*__import__('os').system('touch F')", "not a function you may call"),
    ("().__class__.__base__.__subclasses__()", "not a function you may call"),
    ("x.__class__", "Attribute"),
    ("foo(x)", "unknown function 'foo'"),
    ("exp(x, y)", "takes 1 argument"),
    ("exp(x=1)", "no keyword"),
    ("x[0]", "Subscript"),
    ("lambda: 1", "Lambda"),
    ("[x for x in ()]", "ListComp"),
    ("'text'", "not a real number"),
    ("True", "not a real number"),
    ("1j*x", "not a real number"),
    ("9**9**9", "exponent"),
    ("1e400", "not finite"),
    ("x x", "not a valid expression"),
    ("x^", "not a valid expression"),
    ("", "empty"),
    ("   ", "empty"),
    ("_x + 1", "may not start with '_'"),
    ("exp", "is a function"),
    ("x // 2", "operator"),
    ("x if y else 1", "IfExp"),
    ("(x := 1)", "NamedExpr"),
    ("-" * 10000 + "x", "nested more than"),
    ("x" + "**x" * 3000, "nested more than"),
    ("-" * 300 + "x", "nested more than"),
    ("1e308*10", "exceeds double precision"),
    ("0**-1", "not a finite real expression"),
    ("log(0)", "not a finite real expression"),
    ("(-1)**0.5", "not a finite real expression"),
])
def test_refuses_everything_else(text, match):
    with pytest.raises(ExprError, match=match):
        parse(text)


def test_refusals_are_value_errors_and_non_strings_type_errors():
    assert issubclass(ExprError, ValueError)
    with pytest.raises(TypeError, match="must be a string"):
        parse(3)
    with pytest.raises(TypeError, match="must be a string, a number or a sympy"):
        as_sympy(object())
    assert as_sympy(2) == 2 and as_sympy("x") == x and as_sympy(x) is x


@pytest.mark.parametrize("argv", [
    ["simulate", "--expr", "x**2 + 0*__import__('os').system('touch {m}')", "--x0", "0", "--T", "0.1"],
    ["compare", "--expr", "x**2 + 0*__import__('os').system('touch {m}')", "--x0", "1"],
    ["derive", "density", "--expr", "x**2 + 0*__import__('os').system('touch {m}')"],
    ["derive", "map", "--eq", "v = ().__class__.__base__.__subclasses__()", "--unknowns", "v",
     "--v-next", "v", "--old", "w=v", "--gradient", "g"],
])
def test_cli_payloads_leave_no_marker(tmp_path, argv):
    marker = tmp_path / "F"
    argv = [a.replace("{m}", str(marker)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "dynopt.cli", *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


def test_sympy_value_converts_numbers_and_refuses_text():
    """dynopt's own symbolic code converts values with sympy_value: numbers, numpy scalars and
    sympy objects pass; text is refused (it is parsed by dynopt.expr.parse, never converted)."""
    import numpy as np
    import sympy as sp

    from dynopt.expr import sympy_value
    x = sp.Symbol("x")
    assert sympy_value(3) == sp.Integer(3) and sympy_value(np.float64(2.5)) == sp.Float(2.5)
    assert sympy_value(x + 1) == x + 1 and sympy_value(sp.Matrix([1, 2])) == sp.Matrix([1, 2])
    with pytest.raises(TypeError, match="text is parsed by dynopt.expr.parse"):
        sympy_value("__import__('os').system('true')")
