"""What is minimised: :class:`Problem` (value, gradient and Hessian batched over points of shape
``(n, d)``, with its sympy expression when it has one), the catalogue of named problems, and
finite sums with per-example gradients.
"""
from .base import as_points, ComparisonSetup, Problem, from_expr, from_grad
from .catalogue import quadratic, ellipse, rosenbrock, double_well, tilted_double_well, PROBLEMS, get_problem, lessard_function, log_sum_exp, power_function
from .finite_sum import FiniteSum, finite_sum, least_squares

__all__ = ["as_points", "ComparisonSetup", "Problem", "from_expr", "from_grad", "quadratic", "ellipse", "rosenbrock", "double_well", "tilted_double_well", "PROBLEMS", "get_problem", "lessard_function", "log_sum_exp", "power_function", "FiniteSum", "finite_sum", "least_squares"]
