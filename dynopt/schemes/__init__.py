"""Fixed-step schemes: one small class per method, each declaring what it approximates and
its orders; the exact (γ, λ) ↔ (α, β) maps; Runge–Kutta methods as tableaux; Langevin
splittings from A/B/O substeps; and the one registry, :data:`METHODS`.
"""
from . import ops
from .base import ConvergenceError, Scheme
from .registry import METHODS, register, get_scheme
from .maps import leapfrog_coefficients, leapfrog_ode_parameters, nesterov_coefficients, nesterov_ode_parameters, COEFFICIENT_MAPS, heavy_ball_ode_parameters, nesterov_ode_parameters_from_optimizer, momentum_from_ode
from .runge_kutta import rk_step, ExplicitRK, Euler, Heun, RK4
from .momentum import SymplecticEuler, Leapfrog, HeavyBallMomentum, Nesterov, NesterovHalf, Implicit19
from .accelerated import NesterovConvex, HeavyBallSC, NesterovSC
from .sde import SDEScheme, EulerMaruyama, Milstein, StochasticHeun, LeimkuhlerMatthews, SGDIterates
from .langevin import Splitting, BAOAB, OBABO, ABOBA, MomentumSGD
from .limits import continuous_limit

__all__ = ["ops", "continuous_limit", "ConvergenceError", "Scheme", "METHODS", "register", "get_scheme", "leapfrog_coefficients", "leapfrog_ode_parameters", "nesterov_coefficients", "nesterov_ode_parameters", "COEFFICIENT_MAPS", "heavy_ball_ode_parameters", "nesterov_ode_parameters_from_optimizer", "momentum_from_ode", "rk_step", "ExplicitRK", "Euler", "Heun", "RK4", "SymplecticEuler", "Leapfrog", "HeavyBallMomentum", "Nesterov", "NesterovHalf", "Implicit19", "NesterovConvex", "HeavyBallSC", "NesterovSC", "SDEScheme", "EulerMaruyama", "Milstein", "StochasticHeun", "LeimkuhlerMatthews", "SGDIterates", "Splitting", "BAOAB", "OBABO", "ABOBA", "MomentumSGD"]
