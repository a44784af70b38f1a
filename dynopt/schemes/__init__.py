"""Fixed-step schemes, one small class per method, and the METHODS registry."""
from .base import ConvergenceError, Scheme
from .maps import (leapfrog_coefficients, leapfrog_ode_parameters, nesterov_coefficients,
                   nesterov_ode_parameters)
from .ode import (ODE_METHODS, Euler, HeavyBallMomentum, Heun, Implicit19, Leapfrog, Nesterov,
                  NesterovHalf, RK4, SymplecticEuler, rk_step)

#: name -> factory returning a fresh scheme instance.  "heavy-ball" is the leapfrog
#: started like an optimizer (v_0 = 0); "leapfrog" is started like an integrator.
METHODS = dict(ODE_METHODS)


def get_scheme(name, **kwargs) -> Scheme:
    """Return a fresh instance of the scheme registered as ``name``.

    Raises
    ------
    ValueError
        "`method` must be one of [...]" listing the registered names.
    """
    if isinstance(name, Scheme):
        return name
    try:
        factory = METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"`method` must be one of {sorted(METHODS)}; got {name!r}") from None
    return factory(**kwargs)


__all__ = ["Scheme", "ConvergenceError", "METHODS", "get_scheme", "rk_step", "Euler", "Heun",
           "RK4", "SymplecticEuler", "Leapfrog", "HeavyBallMomentum", "Nesterov", "NesterovHalf", "Implicit19",
           "leapfrog_coefficients", "leapfrog_ode_parameters", "nesterov_coefficients",
           "nesterov_ode_parameters"]

# --- acceleration (issue 6) ---
from .accel import ACCEL_METHODS, HeavyBallSC, NesterovConvex, NesterovSC  # noqa: E402

METHODS.update(ACCEL_METHODS)
__all__ += ["NesterovConvex", "HeavyBallSC", "NesterovSC"]


# --- SDE schemes (issue 4) ---
from .sde import (SDE_METHODS, ABOBA, BAOAB, OBABO, EulerMaruyama, LeimkuhlerMatthews,  # noqa: E402
                  Milstein, MomentumSGD, SDEScheme, SGDIterates, Splitting, StochasticHeun)

METHODS.update(SDE_METHODS)
__all__ += ["SDEScheme", "EulerMaruyama", "Milstein", "StochasticHeun", "Splitting", "BAOAB", "OBABO",
            "ABOBA", "MomentumSGD", "LeimkuhlerMatthews", "SGDIterates"]
