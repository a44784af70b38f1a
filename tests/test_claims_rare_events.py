"""Helpers of the rare-event claims: Müller–Brown built from its parameters, Kramers'
finite-friction factor against the rate formulas, and the thermal-start MFPT reference."""
import math

import numpy as np
import pytest
import sympy as sp

from dynopt.analysis import kramers_rate, mean_first_passage_time
from dynopt.expr import parse

from paper_claims import load

MB, KRAMERS = load("muller-brown-1979"), load("kramers-1940")


def test_muller_brown_text_is_the_published_surface():
    x, y = sp.symbols("x y", real=True)
    p = MB.PARAMS
    direct = sum(p["A"][k] * sp.exp(p["a"][k] * (x - p["x0"][k]) ** 2 + p["b"][k] * (x - p["x0"][k]) * (y - p["y0"][k])
                                    + p["c"][k] * (y - p["y0"][k]) ** 2) for k in range(4))
    parsed = parse(MB.expression_text(), ["x", "y"]).xreplace({sp.Symbol("x", real=True): x, sp.Symbol("y", real=True): y})
    f, g = sp.lambdify((x, y), parsed), sp.lambdify((x, y), direct)
    for pt in [(-0.558, 1.442), (0.212, 0.293), (1.0, -0.3)]:
        assert f(*pt) == pytest.approx(g(*pt), rel=1e-13)


@pytest.mark.parametrize("lam", [0.5, 3.0, 50.0])
def test_spatial_factor_is_the_ratio_of_kramers_intermediate_to_high_friction(lam):
    args = (2.0, -1.0, 0.25, math.sqrt(2 * lam / 12), lam)
    ratio = kramers_rate(*args, regime="intermediate") / kramers_rate(*args, regime="high")
    assert KRAMERS._spatial_factor(lam) == pytest.approx(ratio, rel=1e-12)
    assert KRAMERS._spatial_factor(3.0) == pytest.approx(3 * (math.sqrt(3.25) - 1.5), rel=1e-12)


def test_thermal_mfpt_averages_the_start_points():
    kT = 0.25 / 3
    s = math.sqrt(2 * kT)
    t = KRAMERS._thermal_mfpt(s, kT)
    at_min = mean_first_passage_time(KRAMERS._U, s, -1.0, -np.inf, 1.0).time
    at_top = mean_first_passage_time(KRAMERS._U, s, -0.05, -np.inf, 1.0).time
    assert at_top < t < at_min  # starts near the barrier shorten the mean
    assert t > 0.9 * at_min
