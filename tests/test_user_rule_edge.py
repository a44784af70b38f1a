"""A researcher's own optimizer at its own edge of stability: quasi-hyperbolic momentum (QHM),
written only in a test file (tests/user_rules.py), trained full-batch on a tanh network, hovers at the threshold dynopt
derives from its update, a level distinguishable from heavy ball's at the same (a, β)."""
import pytest

from dynopt.analysis.sharpness import digits_regression, edge_statistics, sharpness_threshold, train_tracking_sharpness
from dynopt.learning.hessian import TanhMLP
from dynopt.symbolic.thresholds import optimizer_threshold
from user_rules import qhm

BAND = (0.9, 1.1)


@pytest.mark.parametrize("a,beta,nu", [(1.0, 0.9, 0.7)])
def test_full_batch_qhm_hovers_at_its_derived_threshold_not_heavy_balls(a, beta, nu):
    X, Y = digits_regression(200, 0)
    model = TanhMLP(X.shape[1], (32, 32), Y.shape[1])
    opt = qhm(a, beta, nu)
    derived = optimizer_threshold(opt)
    run = train_tracking_sharpness(model, model.init_params(1), X, Y, opt, a, beta, n_steps=600, every=20,
                                   rng=0, label="qhm")
    assert run.threshold == derived.value and run.diverged_step is None
    st = edge_statistics(run, BAND)
    # progressive sharpening from below, then at the edge: ≥ 80 % of later measurements in
    # the band, median within 5 % (the rule of cohen-2021's claims)
    assert st.initial_ratio < BAND[0]
    assert st.reach_step is not None and st.fraction_in_band >= 0.8
    assert abs(st.median_ratio - 1) <= 0.05
    # heavy ball's derived bound at the same (a, β) is not where QHM sits: the hover level is
    # outside heavy ball's band, and the run is stable at curvatures heavy ball could not take
    hb = sharpness_threshold("heavy-ball", a, beta)
    level = st.median_ratio * run.threshold
    assert not (BAND[0] <= level / hb <= BAND[1])
    assert st.ratio_quantiles[0] * run.threshold > BAND[1] * hb
    # and not GD's 2/a either
    assert not (BAND[0] <= level / (2 / a) <= BAND[1])
