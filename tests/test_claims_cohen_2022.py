"""The computations inside papers/cohen-2022/claims.py: the decision rule, the warm-up, the
constants its statement quotes, and the threshold it uses against the source's formula."""
import numpy as np
import pytest

from dynopt.analysis.sharpness import SharpnessRun, sharpness_threshold
from paper_claims import load

COHEN22 = load("cohen-2022")


def test_statement_quotes_the_constants_the_check_uses():
    from dynopt.ledger import REGISTRY

    text = REGISTRY["cohen-2022.adaptive-edge-of-stability"].statement
    assert f"[{COHEN22.BAND[0]}, {COHEN22.BAND[1]}]" in text
    assert f"≥ {COHEN22.MIN_FRACTION:.0%}".replace("%", " %") in text
    assert f"within {COHEN22.MEDIAN_TOL:.0%}".replace("%", " %") in text
    assert all(f"β₁ = {b:g}" in text for b in COHEN22.LEARNING_RATES)
    assert all(len(lrs) == 2 for lrs in COHEN22.LEARNING_RATES.values())


@pytest.mark.parametrize("b1", [0.9, 0.5])
def test_threshold_used_is_the_sources_formula(b1):
    # derived from Adam's update in dynopt; the paper's (2 + 2β₁)/((1 − β₁)η), written here
    for lr in COHEN22.LEARNING_RATES[b1]:
        assert sharpness_threshold("adam", lr, b1) == pytest.approx((2 + 2 * b1) / ((1 - b1) * lr), rel=1e-12)


def test_warmup_is_where_the_bias_correction_has_decayed():
    from fractions import Fraction

    for b1 in (0.9, 0.5, 0.99):
        w = COHEN22.warmup_steps(b1)
        assert w == -(-Fraction(5) // (1 - Fraction(str(b1))))      # ⌈5/(1 − β₁)⌉ in exact arithmetic
        assert b1 ** w <= np.exp(-5)


def test_decision_confirms_corrects_and_refutes():
    ok = {"a": True, "b": True}
    no_raw = {"a": False, "b": False}
    assert COHEN22._decide(ok, no_raw, {"a": 1.0, "b": 1.02}) == (True, None)
    # raw sharpness at 2/η: refuted even if the preconditioned one hovers
    assert COHEN22._decide(ok, {"a": True, "b": False}, {"a": 1.0, "b": 1.0}) == (False, None)
    # a common level away from the threshold: corrected, stating the level
    holds, corr = COHEN22._decide({"a": False, "b": False}, no_raw, {"a": 0.8, "b": 0.82})
    assert not holds and "0.81" in corr
    # levels that disagree, or a run that never arrives: refuted
    assert COHEN22._decide({"a": False, "b": False}, no_raw, {"a": 0.6, "b": 0.9}) == (False, None)
    assert COHEN22._decide({"a": True, "b": False}, no_raw, {"a": 1.0, "b": None}) == (False, None)
    # near the threshold but not hovering by the rule (too few measurements in the band): refuted
    assert COHEN22._decide({"a": True, "b": False}, no_raw, {"a": 1.0, "b": 0.98}) == (False, None)


def test_raw_tracking_rule():
    steps = np.arange(0, 200, 10)
    lr = 0.01

    def run(raw):
        return SharpnessRun("adam", lr, 0.9, 3800.0, np.ones(200), steps, np.asarray(raw)[:, None], None, None,
                            0, 0.0, np.full(20, 3800.0))

    assert COHEN22._raw_tracks_2_over_eta(run(np.full(20, 2 / lr)), 50)
    assert not COHEN22._raw_tracks_2_over_eta(run(np.full(20, 0.02 * 2 / lr)), 50)
