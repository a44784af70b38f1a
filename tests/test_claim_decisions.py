"""Decision rules of ledger claims whose verdicts depend on Monte Carlo resolution (fast)."""
import numpy as np
import pytest

from dynopt.analysis import kramers_parameters, momentum_sgd_stationary_covariance, sgd_stationary_variance
from dynopt.schemes import leapfrog_coefficients
from paper_claims import load

_paper = load


def test_superconvergence_is_judged_only_when_resolved():
    status = _paper("leimkuhler-matthews-2013")._superconvergence_status
    low = {"h": 0.4, "bias": -0.002, "se": 0.0003}
    assert status(low, {"bias": -0.0001, "se": 0.0001}) == "resolved: holds"      # 0.0004 ≤ 0.0005
    assert status(low, {"bias": -0.0015, "se": 0.0002}) == "resolved: fails"      # 0.0009 > 0.0005
    assert status(low, {"bias": -0.0004, "se": 0.0004}).startswith("unresolved")  # bound 0.0016
    # a λ=1 bias within noise never lets the comparison pass, however small λ=10's bias is
    assert status({"bias": 0.0005, "se": 0.0003}, {"bias": 0.0, "se": 1e-6}).startswith("unresolved")
    assert status({"h": 0.4, "diverged": 3}, {"bias": 0.0, "se": 1e-6}).startswith("unresolved")


def test_momentum_sgd_variance_is_plain_sgd_at_lr_over_one_minus_beta():
    # kexue-5655.momentum-sgd-temperature: at the same α the stationary variance on hθ²/2 is
    # 1/(1−β) times plain SGD's; closed forms give ratio·(1−β) = (2 − αh)/(2 − αh/(1+β)) → 1
    h, c, beta = 1.5, 0.7, 0.9
    for alpha in (0.1, 0.01, 0.001):
        ratio = momentum_sgd_stationary_covariance(alpha, beta, h, c)[0, 0] / sgd_stationary_variance(alpha, h, c)
        assert ratio * (1 - beta) == pytest.approx((2 - alpha * h) / (2 - alpha * h / (1 + beta)), rel=1e-10)
    assert abs(ratio * (1 - beta) - 1) < alpha * h


def test_naive_sghmc_exact_energy_slope_is_ito_up_to_order_alpha_h():
    # chen-fox-guestrin-2014.naive-sghmc adds |slope_exact − σ²/2| to its 5-SE tolerance: that
    # discretization bias must be O(αh) (here αh = γ² at β = 1), not a free allowance
    exact_energy = _paper("chen-fox-guestrin-2014")._exact_energy
    h, c, biases = 1.0, 1.0, []
    for gamma in (0.2, 0.1):
        a, b = leapfrog_coefficients(gamma, 0.0)
        n_steps, every = int(round(200 / gamma)), 10
        e = exact_energy(a, b, h, c, n_steps, every)
        t = np.arange(len(e)) * every * gamma
        half = slice(len(t) // 2, None)
        slope = np.polyfit(t[half], e[half], 1)[0]
        sigma2 = kramers_parameters(a, b, c).sigma2
        biases.append(abs(slope / (sigma2 / 2) - 1))
        assert biases[-1] <= a * h
    assert biases[1] < biases[0]
