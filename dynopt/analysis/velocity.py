"""The heavy-ball velocity under a constant gradient, measured and set against its derived limit.

With a constant gradient g, the optimizer's velocity v_i = γv_{i−1} + ηg from v_0 = 0
tends to ηg/(1 − γ) (derived in :mod:`dynopt.symbolic.velocity`).
:func:`velocity_limit_check` runs dynopt's heavy-ball scheme until γ^N is negligible and
returns the measured factor |v_N|/(ηg) with the derived one, for a claim to judge.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynopt.dynamics import HeavyBall
from dynopt.engine import integrate
from dynopt.problems import from_grad
from dynopt.schemes import leapfrog_ode_parameters
from dynopt.symbolic.velocity import velocity_amplification, velocity_limit

__all__ = ["heavy_ball_velocity_run", "VelocityLimitCheck", "velocity_limit_check"]


def heavy_ball_velocity_run(lr, momentum, g, tol=1e-12):
    """Run dynopt's heavy-ball scheme (v_0 = 0) on L = g·θ until momentum^N ≤ tol.

    Parameters
    ----------
    lr : float
        Learning rate η > 0.
    momentum : float
        γ ∈ (0, 1).
    g : float
        The constant gradient.
    tol : float
        The run stops at the first N with momentum^N ≤ tol, in (0, 1).

    Returns
    -------
    (|v_N|, N) : the optimizer's velocity after N steps and N
    """
    if not 0 < momentum < 1:
        raise ValueError(f"`momentum` must lie in (0, 1); got {momentum!r}")
    if not 0 < tol < 1:
        raise ValueError(f"`tol` must lie in (0, 1); got {tol!r}")
    n_steps = math.ceil(math.log(tol) / math.log(momentum))
    step, friction = leapfrog_ode_parameters(lr, momentum)   # the exact eq-15 map
    problem = from_grad(lambda x: np.full_like(x, g), dim=1, name="constant-gradient")
    sol = integrate(HeavyBall(problem, friction), "heavy-ball", (0.0, n_steps * step), [0.0, 0.0], step)
    # the scheme's output is [θ, v/γ]; its v = βv − α∇L is minus the source's velocity
    return float(abs(sol.y_final[0, 1]) * step), n_steps


@dataclass(frozen=True)
class VelocityLimitCheck:
    """The derived limit of the velocity at one γ and what a heavy-ball run measured.

    Attributes
    ----------
    momentum : sympy.Rational
        γ, exact.
    derived_limit : sympy expression
        lim v_n = ηg/(1 − γ) as derived by sympy (symbolic in γ, η, g).
    derived_amplification : sympy.Rational
        The limit in units of ηg at ``momentum``: 1/(1 − γ).
    measured_amplification : float
        |v_N|/(ηg) of the run.
    tolerance : float
        Relative agreement the run was required to have with the derivation.
    n_steps, lr, g :
        Size and parameters of the run.
    """

    momentum: object
    derived_limit: object
    derived_amplification: object
    measured_amplification: float
    tolerance: float
    n_steps: int
    lr: float
    g: float

    @property
    def evidence(self) -> dict:
        """The derivation and the run's parameters as a JSON-able dict."""
        return {"derived_limit": str(self.derived_limit),
                "derived_amplification": str(self.derived_amplification),
                "n_steps": self.n_steps, "lr": self.lr, "g": self.g,
                "momentum": float(self.momentum)}


def velocity_limit_check(momentum: str, lr=0.01, g=2.0, tolerance=1e-9) -> VelocityLimitCheck:
    """Derive lim v_n at ``momentum`` and measure it with dynopt's heavy-ball scheme.

    Parameters
    ----------
    momentum : str
        γ as a decimal string (kept exact as a sympy Rational), in (0, 1).
    lr, g : float
        Learning rate and constant gradient of the run.
    tolerance : float
        Relative tolerance between the run and the derivation.

    Returns
    -------
    VelocityLimitCheck

    Raises
    ------
    RuntimeError
        If the run disagrees with the derived limit: the derivation or the scheme is
        wrong, which is an error of the run, not a verdict on the source.
    """
    at = sp.Rational(momentum)
    amp_at = velocity_amplification(momentum)
    v_n, n_steps = heavy_ball_velocity_run(lr, float(at), g)
    measured = v_n / (lr * g)
    if abs(measured - float(amp_at)) > tolerance * float(amp_at):
        raise RuntimeError(f"dynopt heavy-ball run ({measured}) disagrees with the derived limit {amp_at}")
    return VelocityLimitCheck(momentum=at, derived_limit=velocity_limit(), derived_amplification=amp_at,
                              measured_amplification=measured, tolerance=tolerance, n_steps=n_steps,
                              lr=lr, g=g)
