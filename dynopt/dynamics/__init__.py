"""Continuous-time models: gradient flow, heavy ball θ'' + λθ' = −∇L, Nesterov's ODE, the
high-resolution ODEs, the ODE limits of Adagrad/RMSProp/Adam, overdamped Langevin, Kramers, a
user's SDE and SGD's stochastic modified equation.
"""
from .base import Model
from .ode import GradientFlow, HeavyBall, NesterovODE, HighResolutionODE
from .sde import odd_cubic, NOISE_TYPES, CALCULI, SDEModel, OverdampedLangevin, Kramers, SDE, geometric_brownian_motion, ornstein_uhlenbeck
from .sgd import SGDModifiedEquation
from .adaptive import RMSPropODE, AdamODE, AdagradODE

__all__ = ["Model", "GradientFlow", "HeavyBall", "NesterovODE", "HighResolutionODE", "odd_cubic", "NOISE_TYPES", "CALCULI", "SDEModel", "OverdampedLangevin", "Kramers", "SDE", "geometric_brownian_motion", "ornstein_uhlenbeck", "SGDModifiedEquation", "RMSPropODE", "AdamODE", "AdagradODE"]
