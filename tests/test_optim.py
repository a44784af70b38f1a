"""Optimizers: conventions proved equivalent (or shown to part), sources' code replicated,
bad input rejected."""
import math

import numpy as np
import pytest

from dynopt import optim
from dynopt.problems import ellipse

P = ellipse()
X0 = np.array([-5.0, -2.0])


def grad(x):
    return P.grad(x)


def iterates(opt, n=60, x0=X0, grad_fn=grad):
    return optim.run(opt, grad_fn, x0, n).path


# -- momentum conventions -------------------------------------------------------------
@pytest.mark.parametrize("conv", ["d2l", "sutskever", "npnet"])
def test_heavy_ball_conventions_identical_at_constant_lr(conv):
    ref = iterates(optim.sgd(0.1, momentum=0.9, convention="pytorch"))
    got = iterates(optim.sgd(0.1, momentum=0.9, convention=conv))
    # same iterates; only rounding differs (lr·(μb + g) vs μ(lr·b) + lr·g)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-14)
    assert np.abs(got[-1] - got[0]).max() > 1  # they moved


def test_velocity_reparametrization_pytorch_vs_d2l():
    lr, mu = 0.05, 0.8
    a, b = optim.sgd(lr, mu, convention="pytorch"), optim.sgd(lr, mu, convention="d2l")
    pa, pb = X0.copy(), X0.copy()
    sa, sb = a.init(pa), b.init(pb)
    for _ in range(20):
        pa, sa = optim.step(a, grad, pa, sa)
        pb, sb = optim.step(b, grad, pb, sb)
    buf = sa[0].velocity          # torch momentum_buffer (gradient units)
    v = sb[1].velocity            # lr-inside velocity, update-signed (= −v of d2l)
    np.testing.assert_allclose(v, -lr * buf, rtol=1e-12)


def test_conventions_part_when_lr_changes_and_the_exact_relation():
    def sched(k):
        return 0.1 if k < 10 else 0.01

    n = 30
    pt = iterates(optim.sgd(sched, 0.9, convention="pytorch"), n)
    d2 = iterates(optim.sgd(sched, 0.9, convention="d2l"), n)
    np.testing.assert_allclose(pt[:11], d2[:11], rtol=1e-13, atol=1e-14)
    # after the change PyTorch's whole velocity shrinks at once; d2l's keeps the old lr
    gap = np.abs(pt[11:] - d2[11:]).max()
    assert gap > 0.1
    # exact relation: d2l with its velocity rescaled by η2/η1 at the switch is PyTorch
    opt = optim.sgd(sched, 0.9, convention="d2l")
    p, s = X0.copy(), opt.init(X0)
    path = [p]
    for k in range(n):
        if k == 10:
            s = (s[0], s[1]._replace(velocity=s[1].velocity * (0.01 / 0.1)))
        p, s = optim.step(opt, grad, p, s)
        path.append(p)
    np.testing.assert_allclose(np.array(path), pt, rtol=1e-12, atol=1e-13)


def test_csdn_handwritten_momentum_replicated():
    # csdn-000: v[:] = gamma*v + lr*grad; param = param - v
    lr, gamma = 0.02, 0.9
    p, v = X0.copy(), np.zeros(2)
    hand = [p.copy()]
    for _ in range(40):
        v[:] = gamma * v + lr * grad(p)
        p = p - v
        hand.append(p.copy())
    # d2l's lr-inside velocity is the hand-written one with its sign flipped: bit-identical
    np.testing.assert_array_equal(iterates(optim.sgd(lr, gamma, convention="d2l"), 40), np.array(hand))
    got = iterates(optim.sgd(lr, gamma, convention="pytorch"), 40)
    np.testing.assert_allclose(got, np.array(hand), rtol=1e-13, atol=1e-14)


def _npnet_sgd(lr, momentum, nesterov, n, x0=X0, weight_decay=0.0, l1=False):
    """Literal transcription of npnet-001's Optimizer.step / SGD.get_updates."""
    params = [{"w": x0.copy()}]
    caches = [{"w": np.zeros(2)}]
    out = [x0.copy()]
    for _ in range(n):
        grads = [{"w": grad(params[0]["w"])}]
        if weight_decay:
            reg = np.sign(params[0]["w"]) if l1 else params[0]["w"]
            grads[0]["w"] += weight_decay * reg
        pre = caches
        caches = [{k: -lr * val for k, val in g.items()} for g in grads]
        if momentum != 0.0:
            for vects, pre_vects in zip(caches, pre):
                for k in vects:
                    vects[k] += momentum * pre_vects[k]
        if not nesterov:
            updates = caches
        else:
            updates = [{k: (1 + momentum) * vects[k] - momentum * pv[k] for k in vects}
                       for vects, pv in zip(caches, pre)]
        for prm, up in zip(params, updates):
            for k in prm:
                prm[k] += up[k]
        out.append(params[0]["w"].copy())
    return np.array(out)


@pytest.mark.parametrize("nest", [False, True])
def test_npnet_sgd_replicated_exactly(nest):
    ref = _npnet_sgd(0.05, 0.9, nest, 50)
    got = iterates(optim.sgd(0.05, 0.9, nesterov=nest, convention="npnet"), 50)
    np.testing.assert_array_equal(got, ref)


def test_nesterov_three_forms_agree_up_to_reparametrization():
    lr, mu, n = 0.05, 0.9, 50
    torch_form = iterates(optim.sgd(lr, mu, nesterov=True, convention="pytorch"), n)
    npnet_form = iterates(optim.sgd(lr, mu, nesterov=True, convention="npnet"), n)
    np.testing.assert_allclose(torch_form, npnet_form, rtol=1e-12, atol=1e-13)
    # Sutskever's look-ahead: v = μv − lr∇L(w + μv), w += v; then θ = w + μv
    opt = optim.sgd(lr, mu, nesterov=True, convention="sutskever")
    w, s = X0.copy(), opt.init(X0)
    thetas = [w.copy()]
    for _ in range(n):
        w, s = optim.step(opt, grad, w, s)
        thetas.append(w + mu * s[1].velocity)
    np.testing.assert_allclose(np.array(thetas), npnet_form, rtol=1e-12, atol=1e-13)
    # and the look-ahead iterates are the source's formula written out
    w2, v2 = X0.copy(), np.zeros(2)
    for _ in range(n):
        v2 = mu * v2 - lr * grad(w2 + mu * v2)
        w2 = w2 + v2
    np.testing.assert_allclose(w, w2, rtol=1e-13, atol=1e-14)


def test_heavy_ball_rate_is_root_of_characteristic_polynomial():
    # on the slow axis (curvature 0.2): x_{n+1} = (1 + μ − ηh) x_n − μ x_{n−1}
    lr, mu, h = 0.1, 0.5, 0.2
    path = iterates(optim.sgd(lr, mu), 200)
    rate = np.max(np.abs(np.roots([1.0, -(1 + mu - lr * h), mu])))
    np.testing.assert_allclose(path[200, 0] / path[199, 0], rate, rtol=1e-6)


def test_dampening_matches_torch_rule():
    # torch: first step buf = g (undamped), then buf = μ buf + (1 − d) g
    lr, mu, d = 0.05, 0.9, 0.3
    p, buf = X0.copy(), None
    ref = [p.copy()]
    for _ in range(20):
        g = grad(p)
        buf = g.copy() if buf is None else mu * buf + (1 - d) * g
        p = p - lr * buf
        ref.append(p.copy())
    got = iterates(optim.sgd(lr, mu, dampening=d), 20)
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-14, atol=1e-15)


# -- adaptive methods -----------------------------------------------------------------
def test_rmsprop_d2l_replicates_source_2d_code():
    # d2l-002 rmsprop_2d, verbatim apart from the vector form
    eta, gamma = 0.4, 0.9
    x1, x2, s1, s2 = -5.0, -2.0, 0.0, 0.0
    for _ in range(20):
        g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6
        s1 = gamma * s1 + (1 - gamma) * g1 ** 2
        s2 = gamma * s2 + (1 - gamma) * g2 ** 2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
    got = iterates(optim.rmsprop(0.4, 0.9, eps=1e-6, convention="d2l"), 20)[-1]
    np.testing.assert_allclose(got, [x1, x2], rtol=1e-14, atol=1e-15)


def test_eps_placement_is_the_only_difference():
    a = iterates(optim.rmsprop(0.01, 0.9, eps=1e-6, convention="d2l"), 50)
    b = iterates(optim.rmsprop(0.01, 0.9, eps=1e-6, convention="pytorch"), 50)
    assert np.abs(a - b).max() > 0  # eps inside vs outside
    c = optim.guard(optim.chain(optim.scale_by_rms(0.9, 1e-6, eps_inside=True),
                                optim.scale_by_learning_rate(0.01)))
    np.testing.assert_array_equal(iterates(c, 50), a)


def test_rmsprop_ema_state_is_the_impulse_response_with_mean_age_window():
    # d2l-002: s_t = γs + (1−γ)g² puts weight (1−γ)γ^k on g_{t−k}²; mean age 1/(1−γ)
    gamma, K = 0.9, 400
    opt = optim.rmsprop(0.4, gamma, eps=1e-6, convention="d2l")
    p = np.zeros(1)
    st, nu = opt.init(p), []
    for k in range(K):
        _, st = opt.update(np.ones(1) if k == 0 else np.zeros(1), st, p)
        nu.append(st[0].nu[0])
    np.testing.assert_allclose(nu, (1 - gamma) * gamma ** np.arange(K), rtol=1e-12, atol=1e-300)
    assert abs(np.sum((np.arange(K) + 1) * np.array(nu)) - 1 / (1 - gamma)) < 1e-9


def _adam_literal(lr, b1, b2, eps, bias, inside, n, x0=X0, wd=0.0, decoupled=False):
    p, m, v = x0.copy(), np.zeros(2), np.zeros(2)
    out = [p.copy()]
    for t in range(1, n + 1):
        g = grad(p)
        if wd and not decoupled:
            g = g + wd * p
        if decoupled:
            p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if bias else (m, v)
        den = np.sqrt(vh + eps) if inside else np.sqrt(vh) + eps
        p = p - lr * mh / den
        out.append(p.copy())
    return np.array(out)


def test_adam_kingma_ba_and_npnet_simplified():
    kb = iterates(optim.adam(0.1, 0.9, 0.999, 1e-8), 80)
    np.testing.assert_allclose(kb, _adam_literal(0.1, 0.9, 0.999, 1e-8, True, False, 80), rtol=1e-13, atol=1e-14)
    npn = iterates(optim.adam(0.1, 0.9, 0.99, convention="npnet"), 80)
    np.testing.assert_allclose(npn, _adam_literal(0.1, 0.9, 0.99, 1e-8, False, True, 80), rtol=1e-13, atol=1e-14)
    assert np.abs(npn - iterates(optim.adam(0.1, 0.9, 0.99), 80)).max() > 1e-2


def test_adamw_is_decoupled_and_l2_is_coupled():
    w = iterates(optim.adamw(0.05, weight_decay=0.1), 40)
    np.testing.assert_allclose(w, _adam_literal(0.05, 0.9, 0.999, 1e-8, True, False, 40, wd=0.1, decoupled=True),
                               rtol=1e-12, atol=1e-13)
    l2 = iterates(optim.adam(0.05, weight_decay=0.1), 40)
    np.testing.assert_allclose(l2, _adam_literal(0.05, 0.9, 0.999, 1e-8, True, False, 40, wd=0.1),
                               rtol=1e-13, atol=1e-14)
    assert np.abs(w - l2).max() > 1e-3


def test_adagrad_conventions():
    lr = 0.5
    p, s = X0.copy(), np.zeros(2)
    for _ in range(30):
        g = grad(p)
        s = s + g * g
        p = p - lr * g / np.sqrt(s + 1e-8)   # npnet-001
    np.testing.assert_allclose(iterates(optim.adagrad(lr, convention="npnet"), 30)[-1], p, rtol=1e-14)
    q, s = X0.copy(), np.full(2, 0.1)
    for _ in range(30):
        g = grad(q)
        s = s + g * g
        q = q - lr * g / (np.sqrt(s) + 1e-10)  # torch, initial_accumulator_value=0.1
    np.testing.assert_allclose(iterates(optim.adagrad(lr, initial_accumulator_value=0.1), 30)[-1], q, rtol=1e-14)


# -- regularizers ---------------------------------------------------------------------
@pytest.mark.parametrize("l1", [False, True])
def test_npnet_regularizers_replicated(l1):
    ref = _npnet_sgd(0.05, 0.9, False, 30, weight_decay=0.3, l1=l1)
    kw = {"l1": 0.3} if l1 else {"weight_decay": 0.3}
    got = iterates(optim.sgd(0.05, 0.9, convention="npnet", **kw), 30)
    np.testing.assert_array_equal(got, ref)


def test_l2_is_gradient_of_half_squared_norm():
    rng = np.random.default_rng(0)
    w = rng.normal(size=5)
    alpha = 0.7
    g, _ = optim.add_decayed_weights(alpha).update(np.zeros(5), optim.EmptyState(), w)
    h = 1e-6
    fd = np.array([(alpha / 2 * np.sum((w + h * e) ** 2) - alpha / 2 * np.sum((w - h * e) ** 2)) / (2 * h)
                   for e in np.eye(5)])
    np.testing.assert_allclose(g, fd, rtol=1e-8)


# -- trees ----------------------------------------------------------------------------
def test_dict_list_and_nested_params_update_leafwise():
    rng = np.random.default_rng(1)
    flat = rng.normal(size=6)
    tree = [{"W": flat[:4].reshape(2, 2)}, {"b": flat[4:]}]
    as_dict = {"W": flat[:4].reshape(2, 2), "b": flat[4:]}

    def g_flat(x):
        return 2 * x + 1

    def g_tree(t):
        return optim.tree_map(lambda x: 2 * x + 1, t)

    for name in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]:
        r0 = optim.run(optim.get_optimizer(name, lr=0.1), g_flat, flat, 7).params
        r1 = optim.run(optim.get_optimizer(name, lr=0.1), g_tree, tree, 7).params
        r2 = optim.run(optim.get_optimizer(name, lr=0.1), g_tree, as_dict, 7).params
        np.testing.assert_allclose(np.concatenate([r1[0]["W"].ravel(), r1[1]["b"]]), r0, rtol=1e-14)
        np.testing.assert_allclose(np.concatenate([r2["W"].ravel(), r2["b"]]), r0, rtol=1e-14)


def test_update_is_pure():
    opt = optim.adam(0.1)
    p = {"w": np.ones(3)}
    s = opt.init(p)
    g = {"w": np.full(3, 2.0)}
    opt.update(g, s, p)
    assert np.all(p["w"] == 1) and np.all(g["w"] == 2) and np.all(s[0].mu["w"] == 0)


def test_run_reports_divergence_step():
    res = optim.run(optim.sgd(1.0), grad, X0, 500)  # 1 − 4·lr = −3: blows up on x2
    # x2 grows as 3^k·2; the run stops once it passes 10^12 × the start's scale (5)
    expected = int(np.ceil(np.log(1e12 * 5.0 / 2.0) / np.log(3.0)))
    assert res.diverged_step == expected
    assert np.all(np.isfinite(res.path)) and np.abs(res.path).max() <= 1e12 * 5.0


# -- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize("kw,arg", [
    ({"lr": 0.0}, "lr"), ({"lr": -1.0}, "lr"), ({"lr": float("nan")}, "lr"),
    ({"lr": 0.1, "momentum": 1.0}, "momentum"), ({"lr": 0.1, "momentum": -0.1}, "momentum"),
    ({"lr": 0.1, "weight_decay": -1.0}, "weight_decay"), ({"lr": 0.1, "convention": "keras"}, "convention"),
])
def test_sgd_bad_parameters(kw, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        optim.sgd(**kw)


@pytest.mark.parametrize("kw,arg", [
    ({"b1": 1.0}, "b1"), ({"b2": 1.5}, "b2"), ({"b1": -0.1}, "b1"), ({"eps": 0.0}, "eps"),
    ({"eps": -1e-8}, "eps"), ({"lr": -1e-3}, "lr"),
])
def test_adam_bad_parameters(kw, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        optim.adam(**kw)


def test_rmsprop_adagrad_bad_parameters():
    with pytest.raises(ValueError, match="`decay`"):
        optim.rmsprop(0.1, decay=1.0)
    with pytest.raises(ValueError, match="`eps`"):
        optim.rmsprop(0.1, eps=0)
    with pytest.raises(ValueError, match="`eps`"):
        optim.adagrad(0.1, eps=-1)
    with pytest.raises(ValueError, match="`optimizer`"):
        optim.get_optimizer("lbfgs", lr=1)


def test_schedule_returning_bad_lr_raises_when_used():
    opt = optim.sgd(lambda k: 0.1 if k < 2 else 0.0)
    with pytest.raises(ValueError, match="`lr`"):
        optim.run(opt, grad, X0, 5)


def test_nonfinite_gradient_raises_naming_parameter_or_is_skipped():
    opt = optim.adam(0.1)
    params = {"W1": np.ones(2), "b1": np.ones(2)}
    state = opt.init(params)
    bad = {"W1": np.zeros(2), "b1": np.array([0.0, np.nan])}
    with pytest.raises(ValueError, match=r"params\['b1'\].*NaN"):
        opt.update(bad, state, params)
    with pytest.raises(optim.NonFiniteGradientError, match=r"params\[1\].*inf"):
        o = optim.sgd(0.1)
        o.update([np.zeros(1), np.array([np.inf])], o.init([np.zeros(1), np.zeros(1)]), [np.zeros(1), np.zeros(1)])
    skip = optim.adam(0.1, on_nonfinite="skip")
    s0 = skip.init(params)
    u, s1 = skip.update(bad, s0, params)
    assert s1 is s0 and all(np.all(x == 0) for x in u.values())
    with pytest.raises(ValueError, match="`on_nonfinite`"):
        optim.sgd(0.1, on_nonfinite="ignore")


def _quadratic_grad(p):
    # ∇ of ½ pᵀ diag(1, 4) p: exact in binary, so iterates compare with ==
    return np.array([1.0, 4.0]) * p


def _path(opt, n=3, p0=(1.0, -0.5)):
    return optim.run(opt, _quadratic_grad, np.array(p0), n).path


def test_momentum_alias_is_heavy_ball_with_its_own_coefficient():
    lr, mu = 0.125, 0.5
    p = np.array([1.0, -0.5])
    g1 = _quadratic_grad(p)
    p1 = p - lr * g1                      # v1 = g1
    v2 = mu * g1 + _quadratic_grad(p1)    # v2 = μ v1 + g2 (torch's buffer)
    p2 = p1 - lr * v2
    path = _path(optim.momentum(lr, momentum=mu), n=2)
    np.testing.assert_array_equal(path[1], p1)
    np.testing.assert_array_equal(path[2], p2)
    # keyword arguments reach sgd: coupled weight decay changes the path
    np.testing.assert_array_equal(_path(optim.momentum(lr, mu, weight_decay=0.25)),
                                  _path(optim.sgd(lr, mu, weight_decay=0.25)))
    assert not np.array_equal(_path(optim.momentum(lr, mu, weight_decay=0.25)), _path(optim.momentum(lr, mu)))


def test_nesterov_alias_is_nesterov_not_heavy_ball():
    lr, mu = 0.125, 0.5
    nag = _path(optim.nesterov(lr, momentum=mu))
    np.testing.assert_array_equal(nag, _path(optim.sgd(lr, mu, nesterov=True)))
    assert not np.array_equal(nag, _path(optim.sgd(lr, mu)))
    # torch's Nesterov step: p -= lr (g + μ v), v = μ v + g
    p = np.array([1.0, -0.5])
    g1 = _quadratic_grad(p)
    np.testing.assert_array_equal(nag[1], p - lr * (g1 + mu * g1))
    np.testing.assert_array_equal(_path(optim.nesterov(lr, mu, weight_decay=0.25)),
                                  _path(optim.sgd(lr, mu, nesterov=True, weight_decay=0.25)))


def test_l1_subgradient_is_zero_at_a_zero_coordinate():
    g = np.array([0.5, 0.5, 0.5])
    p = np.array([2.0, 0.0, -3.0])
    out, _ = optim.add_l1(0.25).update(g, optim.EmptyState(), p)
    np.testing.assert_array_equal(out, [0.75, 0.5, 0.25])


@pytest.mark.parametrize("make,name", [(optim.add_l1, "l1"), (optim.add_decayed_weights, "weight_decay"),
                                       (lambda wd: optim.add_decoupled_weight_decay(wd, 0.1),
                                        "decoupled_weight_decay")])
def test_regularizers_name_their_argument(make, name):
    with pytest.raises(ValueError, match=f"^`{name}` must be in"):
        make(-1.0)
    piece = make(0.5)
    with pytest.raises(ValueError, match="^`params` must be passed to update()"):
        piece.update(np.ones(2), piece.init(np.ones(2)))


def test_adamw_default_decay_is_torchs_and_decoupled_decay_follows_the_schedule():
    np.testing.assert_array_equal(_path(optim.adamw(0.1)), _path(optim.adamw(0.1, weight_decay=1e-2)))
    assert not np.array_equal(_path(optim.adamw(0.1)), _path(optim.adamw(0.1, weight_decay=0.0)))
    piece = optim.add_decoupled_weight_decay(0.5, lambda k: 0.125 * (k + 1))
    p, st = np.array([1.0, -2.0]), piece.init(np.zeros(2))
    u1, st = piece.update(np.zeros(2), st, p)
    u2, st = piece.update(np.zeros(2), st, p)
    np.testing.assert_array_equal(u1, -0.0625 * p)       # lr(0)·wd
    np.testing.assert_array_equal(u2, -0.125 * p)        # lr(1)·wd
    assert st.count == 2


def _states(state, kind):
    """The pieces of type ``kind`` in a (nested) chain state."""
    if isinstance(state, kind):
        return [state]
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return [x for part in state for x in _states(part, kind)]
    return []


def test_buffers_are_float_arrays_shaped_like_integer_params():
    # integer parameters must not truncate a buffer's start value (Adagrad's s₀ = 0.1 → 0)
    p = np.array([1, 2, 3])
    (s,) = _states(optim.adagrad(0.1, initial_accumulator_value=0.1).init(p), optim.ScaleByAdagradState)
    assert s.sum_of_squares.dtype == float
    np.testing.assert_array_equal(s.sum_of_squares, [0.1, 0.1, 0.1])
    (r,) = _states(optim.rmsprop(0.1).init(p), optim.ScaleByRmsState)
    assert r.nu.dtype == float and r.nu.shape == p.shape and not r.nu.any()
    (a,) = _states(optim.adam(0.1).init(p), optim.ScaleByAdamState)
    for buf in (a.mu, a.nu):
        assert buf.dtype == float and buf.shape == p.shape and not buf.any()


def test_trace_counts_updates_and_a_lookahead_permits_one_update():
    opt = optim.sgd(0.1, momentum=0.5)
    p, state = np.array([1.0, -0.5]), opt.init(np.array([1.0, -0.5]))
    for _ in range(3):
        p, state = optim.step(opt, _quadratic_grad, p, state)
    assert [s.count for s in _states(state, optim.TraceState)] == [3]
    la = optim.trace(0.5, nesterov="lookahead")
    st = la.init(p)
    la.lookahead(p, st)
    la.update(np.ones(2), st, p)
    with pytest.raises(ValueError, match="look-ahead point"):
        la.update(np.ones(2), st, p)           # the same state again, without asking again


def test_momentum_arguments_are_checked_by_name():
    with pytest.raises(ValueError, match="^`dampening` must be in \\[0.0, 1.0\\]"):
        optim.sgd(0.1, dampening=-0.5)         # no trace piece at μ = 0: sgd itself must check
    for bad in (-0.5, 1.5):
        with pytest.raises(ValueError, match="^`dampening` must be in \\[0.0, 1.0\\]"):
            optim.trace(0.5, dampening=bad)
    with pytest.raises(ValueError, match="^`momentum` must be > 0 when `nesterov` is True"):
        optim.sgd(0.1, nesterov=True)
    for name in ("weight_decay", "l1", "decoupled_weight_decay"):
        with pytest.raises(ValueError, match=f"^`{name}` must be in"):
            optim.sgd(0.1, **{name: -1.0})
    with pytest.raises(ValueError, match="^`nesterov` must be one of \\[None, 'torch', 'reparametrized', 'lookahead'\\]"):
        optim.trace(0.5, nesterov="bogus")
    with pytest.raises(ValueError, match="^at most one of `transforms` may define a lookahead point"):
        optim.chain(optim.trace(0.5, nesterov="lookahead"), optim.trace(0.5, nesterov="lookahead"))


def test_scale_multiplies_and_checks_its_factor():
    out, st = optim.scale(0.5).update(np.array([2.0, -4.0]), optim.EmptyState())
    np.testing.assert_array_equal(out, [1.0, -2.0])
    with pytest.raises(ValueError, match="^`factor` must be in"):
        optim.scale(float("nan"))
