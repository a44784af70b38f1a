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


def _st(median, fraction=0.95, q=(0.95, 1.05), reach=100):
    return {"reach_step": reach, "fraction_in_band": fraction, "median_ratio": median, "ratio_quantiles": q}


def test_decision_confirms_corrects_and_refutes():
    no_raw = {"a": False, "b": False}
    good = {"a": _st(1.0), "b": _st(1.02)}
    assert COHEN22._decide(good, {"a": True, "b": True}, no_raw) == (True, None)
    # raw sharpness at 2/η: refuted even if the preconditioned one hovers
    assert COHEN22._decide(good, {"a": True, "b": True}, {"a": True, "b": False}) == (False, None)
    # a run that never arrives: refuted
    assert COHEN22._decide({"a": _st(1.0), "b": _st(float("nan"), reach=None)}, {"a": True, "b": False},
                           no_raw) == (False, None)
    # at the threshold but with wider excursions (the full-size run at β₁ = 0.5, η = 6e-3, init 1
    # measured 0.77 in the band, median 1.03, q95 1.31): corrected, stating the range
    holds, corr = COHEN22._decide({"a": _st(1.0), "b": _st(1.03, 0.77, (1.01, 1.31))}, {"a": True, "b": False},
                                  no_raw)
    assert not holds and "1.31" in corr and "77%" in corr and "['b']" in corr
    # a common level away from the threshold: corrected, stating the level
    holds, corr = COHEN22._decide({"a": _st(0.8, 0.1), "b": _st(0.82, 0.1)}, {"a": False, "b": False}, no_raw)
    assert not holds and "0.81" in corr
    # levels that disagree: refuted
    assert COHEN22._decide({"a": _st(0.6, 0.0), "b": _st(0.9, 0.5)}, {"a": False, "b": False}, no_raw) == (False, None)


def test_raw_tracking_rule():
    steps = np.arange(0, 200, 10)
    lr = 0.01

    def run(raw):
        return SharpnessRun("adam", lr, 0.9, 3800.0, np.ones(200), steps, np.asarray(raw)[:, None], None, None,
                            0, 0.0, np.full(20, 3800.0))

    assert COHEN22._raw_tracks_2_over_eta(run(np.full(20, 2 / lr)), 50)
    assert not COHEN22._raw_tracks_2_over_eta(run(np.full(20, 0.02 * 2 / lr)), 50)
