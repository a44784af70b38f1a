"""The computations inside the claims files of the optimizer sources (csdn-000, d2l-002,
d2l-004, npnet-001, barakat-bianchi-2021, barrett-dherin-2021), against independent numbers:
the numbers the sources print (copied here from the source texts), hand-written updates,
finite differences and closed forms.
"""
import numpy as np
import pytest
import sympy as sp

from dynopt import optim
from dynopt.learning import data
from dynopt.problems import quadratic, rosenbrock
from paper_claims import FakeContext, committed_verdict, load

CSDN, D2L2, D2L4 = load("csdn-000"), load("d2l-002"), load("d2l-004")
NPNET, BARAKAT, BARRETT = load("npnet-001"), load("barakat-bianchi-2021"), load("barrett-dherin-2021")


# --- csdn-000 -------------------------------------------------------------------------------

def test_csdn_printed_losses_are_the_sources():
    # "0.084900", "0.193939", "0.272778": the source's epoch-5 losses (momentum, my_net, SGD)
    assert CSDN._PRINTED == {"handwritten": 0.084900, "builtin_my_net": 0.193939, "sgd": 0.272778}
    assert (CSDN._LR, CSDN._MOM, CSDN._BATCH, CSDN._EPOCHS) == (1e-2, 0.9, 64, 5)


def test_csdn_batches_cover_every_example_once_per_epoch():
    epochs = CSDN._batches(7, 200)
    assert len(epochs) == CSDN._EPOCHS
    for ep in epochs:
        assert all(len(b) <= CSDN._BATCH for b in ep)
        assert sorted(np.concatenate(ep).tolist()) == list(range(200))


def test_csdn_handwritten_momentum_equals_the_pytorch_rule():
    # v = γv + ηg, θ −= v  and  b = μb + g, θ −= ηb  give the same iterates (the claim's test);
    # a change to either update in _run separates them far beyond rounding
    ph = CSDN._run(CSDN._SEED0, "handwritten")[0]
    pb = CSDN._run(CSDN._SEED0, "builtin")[0]
    assert max(float(np.abs(pb[k] - ph[k]).max() / np.abs(ph[k]).max()) for k in pb) <= 1e-12
    ps = CSDN._run(CSDN._SEED0, "sgd")[0]
    assert max(float(np.abs(ps[k] - ph[k]).max()) for k in ps) > 1e-3


@pytest.mark.parametrize("mod, claim_id, wrong", [
    (CSDN, "csdn-000.velocity-limit", ("0.9", 9)),
    (D2L4, "d2l-004.velocity-limit", ("0.99", 99)),
])
def test_velocity_limit_verdict_follows_the_printed_amplification(monkeypatch, mod, claim_id, wrong):
    momentum, amplification = mod._VELOCITY_PRINTED
    assert amplification == pytest.approx(1 / (1 - float(momentum)))   # ηg/(1−γ), by hand
    v = mod.velocity_limit(FakeContext(claim_id))
    assert v.verdict == committed_verdict(claim_id)
    monkeypatch.setattr(mod, "_VELOCITY_PRINTED", wrong)
    assert mod.velocity_limit(FakeContext(claim_id)).verdict != v.verdict


# --- d2l-002 --------------------------------------------------------------------------------

def _rmsprop_by_hand(lr=0.4, gamma=0.9, eps=1e-6, n=20):
    """d2l's rmsprop_2d: s = γs + (1−γ)g², x −= η g/√(s + eps), on f = 0.1x1² + 2x2² from (−5, −2)."""
    x, s = np.array([-5.0, -2.0]), np.zeros(2)
    for _ in range(n):
        g = np.array([0.2, 4.0]) * x
        s = gamma * s + (1 - gamma) * g * g
        x = x - lr * g / np.sqrt(s + eps)
    return x


def test_d2l002_printed_trace_is_the_sources_and_reproduced_by_hand():
    # the source prints "epoch 20, x1 -0.010599, x2 0.000000"
    assert D2L2._PRINTED_X == ("-0.010599", "0.000000")
    assert tuple(f"{v:f}" for v in _rmsprop_by_hand()) == D2L2._PRINTED_X


def test_d2l002_trace_verdict_turns_on_a_wrong_printed_value(monkeypatch):
    cid = "d2l-002.rmsprop-2d-trace"
    v = D2L2.rmsprop_2d_trace(FakeContext(cid))
    assert v.verdict == committed_verdict(cid)
    monkeypatch.setattr(D2L2, "_PRINTED_X", ("-0.010598", "0.000000"))
    assert D2L2.rmsprop_2d_trace(FakeContext(cid)).verdict != v.verdict


def test_d2l002_printed_losses_are_the_sources():
    assert D2L2._PRINTED_LOSSES == (0.243452, 0.243676)   # "loss: 0.243452", "loss: 0.243676"


def test_d2l002_airfoil_stand_in_is_standardized():
    X, y = D2L2._airfoil_like(3, n=400)
    Z = np.column_stack([X, y])
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(0), 1, rtol=1e-6)


def test_d2l002_scratch_rmsprop_matches_both_conventions():
    X, y = D2L2._airfoil_like(5, n=200)
    runs, loss = D2L2._rmsprop_runs(X, y, 11, n_epochs=1)
    assert np.abs(runs["d2l"] - runs["scratch"][0]).max() <= 1e-12               # eps inside √
    assert np.abs(runs["pytorch"] - runs["scratch_eps_outside"][0]).max() <= 1e-12  # eps outside √
    assert np.abs(runs["pytorch"] - runs["scratch"][0]).max() > 1e-9               # the placements differ
    assert loss["scratch"] == runs["scratch"][1][-1]


def test_d2l002_ema_state_found_in_nested_states():
    opt = optim.rmsprop(0.1, decay=0.9, convention="d2l")
    st = opt.init(np.zeros(2))
    found = D2L2._ema_state(st)
    assert isinstance(found, optim.ScaleByRmsState)
    assert D2L2._ema_state(((), (1, (found,)))) is found
    assert D2L2._ema_state((1, 2)) is None


@pytest.mark.parametrize("gamma, K", [(0.9, 50), (0.9, 200), (0.5, 10), (0.99, 400)])
def test_d2l002_mean_age_truncation_by_summation(gamma, K):
    k = np.arange(K, K + 200000, dtype=float)
    tail = np.sum((k + 1) * (1 - gamma) * gamma ** k)
    assert D2L2._mean_age_truncation(gamma, K) == pytest.approx(tail, rel=1e-9)


# --- d2l-004 --------------------------------------------------------------------------------

def test_d2l004_true_parameters_and_schedule_are_the_sources():
    # true_w = [2, -3.4], true_b = 4.2; "if epoch > 2: lr *= 0.1" with epochs counted from 1
    assert D2L4._TRUE_W == (2.0, -3.4) and D2L4._TRUE_B == 4.2
    per_epoch = 100
    lrs = [D2L4._learning_rate(k, per_epoch) for k in range(3 * per_epoch)]
    for epoch in (1, 2, 3):
        lr = 0.2 * (0.1 if epoch > 2 else 1.0)
        assert lrs[(epoch - 1) * per_epoch: epoch * per_epoch] == [pytest.approx(lr)] * per_epoch


# --- npnet-001 ------------------------------------------------------------------------------

def test_npnet_configs_are_the_sources():
    # lrs as the source lists them; its class defaults RMSprop decay 0.9, Adam β2 0.99
    cfg = NPNET._npnet_configs()
    assert list(cfg) == ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam"]
    g, x = np.array([2.0, -1.0]), np.array([0.5, 0.5])
    # one step from zero state: SGD −lr·g; momentum's first step −lr·g too
    for name, lr in (("SGD", 1e-5), ("Momentum", 1e-4), ("Adagrad", 1e-2)):
        u, _ = cfg[name].update(g, cfg[name].init(x), x)
        assert np.abs(u).max() > 0
        if name in ("SGD", "Momentum"):
            np.testing.assert_allclose(u, -lr * g, rtol=1e-12)


def test_npnet_paired_decision():
    d = NPNET._paired_decision
    assert d([1.0, 1.1, 0.9, 1.05])[0] == 1
    assert d([-1.0, -1.1, -0.9, -1.05])[0] == -1
    assert d([1.0, 1.1, -0.01, 1.05])[0] == 0                   # one seed disagrees in sign
    assert d([0.01, 1.0, 0.02, 2.0])[0] == 0                   # all positive, mean within the bound
    mean, se = d([1.0, 2.0, 3.0])[1:]
    assert (mean, se) == pytest.approx((2.0, 1 / np.sqrt(3)))
    # decided iff mean − t_{0.995, n−1}·SE > 0 with t_{0.995, 2} = 9.925 (tables):
    assert d([1.0, 1.2, 1.4])[0] == 1      # 1.2 − 9.925·0.2/√3 = 0.054 > 0
    assert d([1.0, 1.3, 1.6])[0] == 0      # 1.3 − 9.925·0.3/√3 = −0.42


@pytest.mark.parametrize("c", [1.0, 0.5])
def test_npnet_stored_gradient_form_is_nesterov(c):
    gap = NPNET._run_nesterov_and_stored_form(rosenbrock(), 1e-3, 0.9, [-1.2, 1.0], 100, c=c)
    assert gap <= 1e-12


def test_npnet_adam_step_ratio_against_the_recurrences_by_hand():
    ratio, B1, B2, E1, E2 = NPNET._adam_step_ratio()
    from dynopt.symbolic.velocity import n as t_sym

    b1, b2, e_in, e_out = 0.9, 0.99, 1e-8, 1e-8
    f = sp.lambdify(t_sym, ratio.subs({B1: b1, B2: b2, E1: e_in, E2: e_out}), "numpy")
    m = v = 0.0
    for t in range(1, 60):
        m, v = b1 * m + (1 - b1), b2 * v + (1 - b2)                 # g = 1
        simplified = m / np.sqrt(v + e_in)
        kingma_ba = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + e_out)
        assert float(f(t)) == pytest.approx(simplified / kingma_ba, rel=1e-9)


@pytest.mark.parametrize("name", ["l2_penalty", "nesterov_reparametrization"])
def test_npnet_cheap_symbolic_claims_reproduce_their_verdicts(name):
    cid = "npnet-001." + name.replace("_", "-")
    assert getattr(NPNET, name)(FakeContext(cid)).verdict == committed_verdict(cid)


# --- barakat-bianchi-2021 -------------------------------------------------------------------

def test_barakat_rosenbrock_closed_form():
    P = BARAKAT._rosenbrock_numpy(1.0, 100.0)
    pts = np.array([[1.0, 1.0], [0.0, 0.0], [-1.2, 1.0]])
    np.testing.assert_allclose(P.value(pts[:2]), [0.0, 1.0])
    h = 1e-6
    for x in pts:
        fd = [(P.value((x + h * e)[None]) - P.value((x - h * e)[None]))[0] / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(P.grad(x[None])[0], fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(P.grad(pts[:2]), [[0.0, 0.0], [-2.0, 0.0]], atol=1e-12)


# --- barrett-dherin-2021 --------------------------------------------------------------------

def test_barrett_paper_correction_is_minus_half_h_squared_x_on_quadratics():
    # backward error analysis of GD on L = ½xᵀAx: θ' = −Ax − (h/2)A²x + O(h²), so the O(h)
    # term is −½A²x, i.e. −∇(|∇L|²/4)
    x = sp.symbols("x1 x2", real=True)
    A = sp.Matrix([[3, 1], [1, 2]])
    grad = list(A * sp.Matrix(x))
    got = BARRETT._paper_correction(grad, x)
    assert sp.simplify(got + (A * A * sp.Matrix(x)) / 2) == sp.zeros(2, 1)


def test_barrett_paper_correction_matches_one_gd_step_numerically():
    # one GD step vs the modified flow's Taylor step θ + h f0 + h²(f1 + ½ f0'f0): the O(h²) terms agree
    c, th0, h = 1.7, 0.8, 1e-3
    x = sp.Symbol("x", real=True)
    f1 = float(BARRETT._paper_correction([c * x], [x])[0].subs(x, th0))
    gd = th0 - h * c * th0
    flow = th0 + h * (-c * th0) + h * h * (f1 + 0.5 * (-c) * (-c * th0))
    assert abs(gd - flow) < 1e-12


def test_npnet_combine_decisions():
    c = NPNET._combine_decisions
    assert c({"a": (1, 0.1, 0.01), "b": (1, 0.2, 0.01)}) == 1
    assert c({"a": (1, 0.1, 0.01), "b": (0, 0.0, 0.01)}) == 0
    assert c({"a": (1, 0.1, 0.01), "b": (-1, -0.2, 0.01), "c": (0, 0.0, 1.0)}) == -1


@pytest.mark.parametrize("mod, name, cid", [
    (BARRETT, "gd_modified_equation", "barrett-dherin-2021.gd-modified-equation"),
    (NPNET, "simplified_adam", "npnet-001.simplified-adam"),
])
def test_cheap_claims_reproduce_their_verdicts(mod, name, cid):
    assert getattr(mod, name)(FakeContext(cid)).verdict == committed_verdict(cid)
