"""dynopt: optimization algorithms studied as dynamical systems.

Gradient descent is Euler's method on gradient flow; heavy-ball momentum is a leapfrog
integrator of θ'' + λθ' = −∇L; SGD is modelled by a Langevin SDE.  dynopt reproduces such
statements symbolically, numerically and by Monte Carlo, and records each as a claim
with a computed verdict.
"""
from dynopt.dynamics import GradientFlow, HeavyBall, NesterovODE
from dynopt.engine import Solution, integrate
from dynopt.problems import Problem, double_well, ellipse, from_expr, from_grad, get_problem, quadratic, rosenbrock, tilted_double_well
from dynopt.schemes import METHODS, get_scheme

__version__ = "0.1.0"

__all__ = ["Problem", "from_expr", "from_grad", "quadratic", "ellipse", "rosenbrock",
           "double_well", "tilted_double_well", "get_problem", "GradientFlow", "HeavyBall",
           "NesterovODE", "integrate", "Solution", "METHODS", "get_scheme", "__version__"]
