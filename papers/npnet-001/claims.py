"""Claims of npnet-001: npnet part 3: optimizers from scratch in numpy (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)

Each check runs dynopt and returns a verdict computed with dynopt.ledger.judge.
Sections are grouped by the capability that checks them.
"""
from dynopt.ledger import below, claim, judge

SOURCE = {
    "title": "npnet part 3: optimizers from scratch in numpy (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)",
    "reference": "npnet, a series of notes implementing neural networks in numpy, part 3 "
                 "(optimizers); its own address was not recorded with the text these claims quote, "
                 "so it is cited by title. It follows CS231n, Neural Networks Part 3: Learning and "
                 "Evaluation, https://cs231n.github.io/neural-networks-3/",
}


# --- optimizers ---
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from dynopt import optim  # noqa: E402
from dynopt.learning import data
from dynopt.learning import networks as models
from dynopt.plotting import plot_curves, plt  # noqa: E402


def _npnet_configs(convention="npnet"):
    """The source's six configurations (its class defaults: RMSprop decay 0.9, Adam β2 0.99)."""
    return {
        "SGD": optim.sgd(1e-5, convention=convention),
        "Momentum": optim.sgd(1e-4, 0.9, convention=convention),
        "Nesterov": optim.sgd(1e-5, 0.9, nesterov=True, convention=convention),
        "Adagrad": optim.adagrad(1e-2, convention=convention),
        "RMSprop": optim.rmsprop(1e-4, 0.9, convention=convention),
        "Adam": optim.adam(1e-4, 0.9, 0.99, convention=convention),
    }


def _paired_decision(diff, q=0.995):
    """Sign of the mean of paired per-seed differences: +1 / −1 when |mean| exceeds the
    two-sided t-quantile ``q`` (df = n − 1) times its standard error and every seed agrees
    in sign, else 0 (the seeds cannot decide).  Returns (decision, mean, se)."""
    from scipy import stats

    diff = np.asarray(diff, float)
    mean = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(len(diff)))
    bound = float(stats.t.ppf(q, len(diff) - 1)) * se
    if mean - bound > 0 and np.all(diff > 0):
        return 1, mean, se
    if mean + bound < 0 and np.all(diff < 0):
        return -1, mean, se
    return 0, mean, se


def _combine_decisions(decisions):
    """One point of the statement from its paired decisions {name: (sign, mean, se)}: −1 if any
    comparison is decided against it, +1 if every one is decided for it, else 0 (undecided)."""
    signs = [d[0] for d in decisions.values()]
    return -1 if -1 in signs else (1 if all(x == 1 for x in signs) else 0)


@claim("npnet-001.optimizer-comparison",
       statement="Softmax regression trained with SGD (lr 1e-5), Momentum (1e-4, 0.9), Nesterov "
                 "(1e-5, 0.9), Adagrad (1e-2), RMSprop (1e-4), Adam (1e-4), batch 100, 25 epochs: "
                 "every improved optimizer converges faster than SGD, and Nesterov is the best.",
       method="experiment")
def optimizer_comparison(ctx):
    ds = data.load_digits("unit")
    n = len(ds.y)
    # the source's loss is summed over the batch (its lr 1e-5 for SGD says so): reduction="sum"
    model = models.SoftmaxRegression(ds.X.shape[1], 10, reduction="sum")
    epochs = 25
    # one initial model shared by all optimizers within a seed (as the source); seeds vary
    # the initial model and the batch order, so the comparisons are paired per seed
    seeds = [ctx.seed + 2 * i for i in range(ctx.size(3, 8))]
    names = list(_npnet_configs())
    final = {k: [] for k in names}
    curves = {k: [] for k in names}
    nesterov_same_lr = []
    with models.blas_limit(1):
        for s in seeds:
            p0 = model.init_params(s)
            for name, opt in _npnet_configs().items():
                r = models.train(model, p0, opt, ds.X, ds.y, batch_size=100, epochs=epochs,
                                 rng=np.random.default_rng(s + 1), full_loss=True)
                per_example = r.full_losses / n
                final[name].append(float(per_example[-1]))
                curves[name].append(per_example)
            # Nesterov at Momentum's lr: the methods compared at equal step size (evidence
            # only; first seed under --quick to keep the claim within its time budget)
            if len(nesterov_same_lr) >= ctx.size(1, len(seeds)):
                continue
            r = models.train(model, p0, optim.sgd(1e-4, 0.9, nesterov=True, convention="npnet"), ds.X, ds.y,
                             batch_size=100, epochs=epochs, rng=np.random.default_rng(s + 1), full_loss=True)
            nesterov_same_lr.append(float(r.full_losses[-1] / n))
        # the same lrs on the mean loss (first seed; full runs only, to keep --quick short):
        # the momentum family barely moves
        mean_model = models.SoftmaxRegression(ds.X.shape[1], 10, reduction="mean")
        mean_final = {} if not ctx.quick else "not run under --quick"
        for name in ctx.size((), ("SGD", "Momentum", "Nesterov")):
            r = models.train(mean_model, model.init_params(seeds[0]), _npnet_configs()[name], ds.X, ds.y,
                             batch_size=100, epochs=epochs, rng=np.random.default_rng(seeds[0] + 1),
                             full_loss=True)
            mean_final[name] = float(r.full_losses[-1])
    final = {k: np.array(v) for k, v in final.items()}
    improved = [k for k in names if k != "SGD"]
    # point 1: every improved optimizer below SGD (paired differences SGD − k > 0)
    beat = {k: _paired_decision(final["SGD"] - final[k]) for k in improved}
    # point 2: Nesterov best (paired differences k − Nesterov > 0 for every other k)
    nest = {k: _paired_decision(final[k] - final["Nesterov"]) for k in names if k != "Nesterov"}

    all_beat_sgd, nesterov_best = _combine_decisions(beat), _combine_decisions(nest)
    undecided = [lbl for lbl, p in (("every improved optimizer beats SGD", all_beat_sgd),
                                    ("Nesterov is the best", nesterov_best)) if p == 0]
    refuted_points = [lbl for lbl, p in (("every improved optimizer beats SGD", all_beat_sgd),
                                         ("Nesterov is the best", nesterov_best)) if p == -1]
    if undecided and not refuted_points:
        # neither confirmed nor contradicted: no verdict can honestly be given
        raise RuntimeError(f"{len(seeds)} seeds cannot decide: {', '.join(undecided)} (paired "
                           f"(mean, SE) of SGD − k: {beat}; of k − Nesterov: {nest}); run more seeds")
    ok = all_beat_sgd == 1 and nesterov_best == 1
    mean = {k: float(v.mean()) for k, v in final.items()}
    se = {k: float(v.std(ddof=1) / np.sqrt(len(v))) for k, v in final.items()}
    ranking = sorted(mean, key=mean.get)
    best = ranking[0]
    fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    ep = np.arange(epochs + 1)
    plot_curves({k: (ep, np.mean(v, axis=0), np.std(v, axis=0, ddof=1) / np.sqrt(len(v)))
                 for k, v in curves.items()}, ax=ax,
                title=f"npnet-001 on 8×8 digits: softmax regression, summed loss, batch 100 "
                      f"({len(seeds)} seeds, ±SE)", ylabel="training loss per example")
    ctx.savefig(fig)

    def fmt(k):
        return f"{mean[k]:.3f} ± {se[k]:.3f}"

    parts = []
    if all_beat_sgd == 1:
        parts.append("every improved optimizer ends below SGD in every seed (confirmed)")
    elif all_beat_sgd == -1:
        worse = [k for k, d in beat.items() if d[0] == -1]
        parts.append(f"not reproduced on the digits stand-in: {', '.join(worse)} end above SGD "
                     f"({', '.join(f'{k} {fmt(k)}' for k in worse)} vs SGD {fmt('SGD')})")
    else:
        parts.append("whether every improved optimizer beats SGD is undecided within seed noise")
    if nesterov_best == 1:
        parts.append("Nesterov is the best in every seed (confirmed)")
    elif nesterov_best == -1:
        better = [k for k, d in nest.items() if d[0] == -1]
        parts.append(f"Nesterov is not the best, not reproduced on the digits stand-in: "
                     f"{', '.join(f'{k} {fmt(k)}' for k in better)} end below Nesterov {fmt('Nesterov')} "
                     f"in every seed (best: {best}); Nesterov's lr 1e-5 is 10× smaller than Momentum's, "
                     "so the configurations do not compare the methods alone")
    else:
        parts.append("whether Nesterov is the best is undecided within seed noise")
    return judge(ok, expected={"all_beat_sgd": True, "best": "Nesterov"},
                 measured={"all_beat_sgd": {1: True, -1: False, 0: "undecided"}[all_beat_sgd],
                           "nesterov_best": {1: True, -1: False, 0: "undecided"}[nesterov_best],
                           "best_by_mean": best, "ranking_by_mean": ranking},
                 tolerance=f"final training loss after {epochs} epochs, paired over {len(seeds)} seeds: "
                           "a difference decides when every seed agrees in sign and |mean| > "
                           "t_0.995(n−1)·SE",
                 correction=None if ok else "; ".join(parts) + " (final loss per example, mean ± SE over seeds)",
                 evidence={"seeds": seeds, "final_loss_per_example_mean": mean, "final_loss_se": se,
                           "final_loss_per_seed": {k: v.tolist() for k, v in final.items()},
                           "sgd_minus_k_mean_se_decision": {k: [d[1], d[2], d[0]] for k, d in beat.items()},
                           "k_minus_nesterov_mean_se_decision": {k: [d[1], d[2], d[0]] for k, d in nest.items()},
                           "epochs": epochs, "batch_size": 100, "steps": epochs * -(-n // 100),
                           "mean_loss_final_with_same_lrs_first_seed": mean_final,
                           "nesterov_final_at_momentums_lr_1e-4": {
                               "n_seeds": len(nesterov_same_lr), "mean": float(np.mean(nesterov_same_lr)),
                               "se": float(np.std(nesterov_same_lr, ddof=1) / np.sqrt(len(nesterov_same_lr)))
                               if len(nesterov_same_lr) > 1 else None},
                           "not_checked": "the source's '其他优化器…表现都差不多' (the others perform about "
                                          "the same): see the spread of final_loss_per_example_mean",
                           "dataset": "sklearn 8x8 digits scaled to [0, 1] (source: Fashion-MNIST, 600 steps/epoch)"})


@claim("npnet-001.l2-penalty",
       statement="L2 regularization adds (α/2)|w|₂ (the L2 norm) to the loss, and is implemented "
                 "by adding αw to the gradient.",
       method="symbolic")
def l2_penalty(ctx):
    from dynopt.symbolic.core import is_zero, require_zero

    w = sp.symbols("w1:4", real=True)
    alpha = sp.symbols("alpha", positive=True)
    norm = sp.sqrt(sum(x ** 2 for x in w))
    grad_norm = [sp.simplify(sp.diff(alpha / 2 * norm, x)) for x in w]      # the text's penalty
    grad_sq = [sp.simplify(sp.diff(alpha / 2 * norm ** 2, x)) for x in w]
    implemented = [alpha * x for x in w]                       # grads[name] += weight_decay * w
    # is_zero raises NotProved when sympy cannot decide (never a default False)
    sq_matches = all(is_zero(a - b) for a, b in zip(grad_sq, implemented))
    norm_matches = all(is_zero(a - b) for a, b in zip(grad_norm, implemented))
    if not sq_matches:
        raise RuntimeError("d/dw (α/2)|w|² is not αw: the squared-norm check is broken")
    # the correction's closed form αw/(2|w|) must be the derivative sympy computed
    for x, gx in zip(w, grad_norm):
        require_zero(gx - alpha * x / (2 * norm), "d/dw (α/2)|w| = αw/(2|w|)")
    # numerically: dynopt's add_decayed_weights (the source's regularize) against both gradients
    rng = np.random.default_rng(ctx.seed)
    a = 0.3
    radii = np.linspace(0.05, 3, 40)
    u = rng.normal(size=3)
    u /= np.linalg.norm(u)
    impl, fd_sq, fd_norm = [], [], []
    h = 1e-6
    for r in radii:
        x = r * u
        g, _ = optim.add_decayed_weights(a).update(np.zeros(3), optim.EmptyState(), x)
        impl.append(np.linalg.norm(g))
        e = np.eye(3)
        fd_sq.append(np.linalg.norm([(a / 2 * (np.sum((x + h * v) ** 2) - np.sum((x - h * v) ** 2))) / (2 * h) for v in e]))
        fd_norm.append(np.linalg.norm([(a / 2 * (np.linalg.norm(x + h * v) - np.linalg.norm(x - h * v))) / (2 * h) for v in e]))
    impl, fd_sq, fd_norm = map(np.array, (impl, fd_sq, fd_norm))
    num_sq = float(np.max(np.abs(impl - fd_sq) / fd_sq))
    # central differences of a quadratic are exact up to rounding (~1e-10 at h = 1e-6)
    num_tol = 1e-6
    if num_sq > num_tol:
        raise RuntimeError(f"add_decayed_weights is not the gradient of (α/2)|w|² (rel. error {num_sq:.2e})")
    fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    plot_curves({"implemented: |αw| (dynopt add_decayed_weights)": (radii, impl),
                 "FD gradient of (α/2)|w|₂²": (radii, fd_sq),
                 "FD gradient of (α/2)|w|₂ (the text)": (radii, fd_norm)},
                ax=ax, logy=False, xlabel="|w|₂", ylabel="|gradient of the penalty|",
                title=f"npnet-001: L2 penalty gradient (α = {a})",
                styles={"FD gradient of (α/2)|w|₂²": {"linestyle": "--"}})
    ctx.savefig(fig)
    ok = bool(norm_matches)
    return judge(ok, expected="∇(α/2)|w|₂ = αw", measured={
                     "grad_of_text_penalty_w1": str(grad_norm[0]),
                     "grad_of_squared_penalty_w1": str(grad_sq[0]),
                     "implementation_vs_squared_norm_fd_rel_error": below(num_sq, 1e-8)},
                 tolerance="symbolic identity (is_zero); implementation vs FD gradient rel. 1e-6",
                 correction=None if ok else (f"grad += αw is the gradient of (α/2)|w|₂² (the squared norm, "
                                             f"as in cs231n); the penalty (α/2)|w|₂ has ∂/∂w1 = {grad_norm[0]}"),
                 evidence={"sympy_squared_norm_matches_implementation": bool(sq_matches),
                           "fd_rel_error_implementation_vs_squared": below(num_sq, 1e-8),
                           "note": "the source's regularize() decays every parameter, biases included"})


def _adam_step_ratio():
    """Step of the simplified rule over Kingma–Ba's under a constant unit gradient, derived: the
    printed recurrences give m_t = 1−β1ᵗ, v_t = 1−β2ᵗ (rsolve, from 0); Kingma–Ba divides by
    those factors and adds ε outside the root.  Returns (ratio in t, β1, β2, ε_in, ε_out)."""
    from dynopt.symbolic.velocity import eta, gg, gm, n as t_sym, velocity_closed_form

    B1, B2, E1, E2 = sp.symbols("β1 β2 ε_in ε_out", positive=True)
    vel = velocity_closed_form()
    m_t = sp.simplify(vel.subs({gm: B1, eta: 1 - B1}))
    v_t = sp.simplify(vel.subs({gm: B2, eta: 1 - B2, gg: gg ** 2}))
    step_simplified = m_t / sp.sqrt(v_t + E1)
    step_kb = (m_t / (1 - B1 ** t_sym)) / (sp.sqrt(v_t / (1 - B2 ** t_sym)) + E2)
    return sp.simplify((step_simplified / step_kb).subs(gg, 1)), B1, B2, E1, E2


@claim("npnet-001.simplified-adam",
       statement="Adam's 'simplified iteration' (简化版的迭代公式) m_t = β1m_{t−1} + (1−β1)∇L, "
                 "v_t = β2v_{t−1} + (1−β2)∇L⊙∇L, w_t = w_{t−1} − λm_t/√(v_t + ε) (β1 = 0.9, β2 = 0.99) "
                 "is Kingma & Ba's Adam with the bias corrections m/(1−β1ᵗ), v/(1−β2ᵗ) dropped and ε "
                 "moved inside the square root.",
       method="numeric")
def simplified_adam(ctx):
    from dynopt.symbolic.core import is_zero
    from dynopt.symbolic.velocity import n as t_sym

    b1, b2, lr, T, eps_in, eps_out = 0.9, 0.99, 1e-3, 100, 1e-8, 1e-8
    t = np.arange(1, T + 1)
    # derived: the step ratio simplified/Kingma–Ba is a closed form in t
    ratio_expr, B1, B2, E1, E2 = _adam_step_ratio()
    ratio_eps0 = sp.simplify(ratio_expr.subs({E1: 0, E2: 0}))
    if not is_zero(ratio_eps0 - (1 - B1 ** t_sym) / sp.sqrt(1 - B2 ** t_sym)):
        raise RuntimeError(f"ε → 0 step ratio {ratio_eps0} is not (1−β1ᵗ)/√(1−β2ᵗ)")
    predicted = sp.lambdify(t_sym, ratio_expr.subs({B1: b1, B2: b2, E1: eps_in, E2: eps_out}), "numpy")(t)
    predicted_eps0 = (1 - b1 ** t) / np.sqrt(1 - b2 ** t)
    # measured: the two rules run through dynopt on a linear loss (constant gradient g = 1)
    steps = {}
    for name, opt in {"npnet": optim.adam(lr, b1, b2, eps=eps_in, convention="npnet"),
                      "kingma-ba": optim.adam(lr, b1, b2, eps=eps_out)}.items():
        res = optim.run(opt, lambda x: np.ones_like(x), np.zeros(1), T)
        steps[name] = -np.diff(res.path[:, 0])
    ratio = steps["npnet"] / steps["kingma-ba"]
    formula_err = float(np.max(np.abs(ratio - predicted) / predicted))
    # on the digits softmax regression: same gradient stream into both update rules
    ds = data.load_digits("unit")
    model = models.SoftmaxRegression(ds.X.shape[1], 10)
    p = model.init_params(ctx.seed)
    kb = optim.adam(lr, b1, b2, eps=eps_out)
    npn = optim.adam(lr, b1, b2, eps=eps_in, convention="npnet")
    s_kb, s_np = kb.init(p), npn.init(p)
    rng = np.random.default_rng(ctx.seed + 1)
    med = []
    with models.blas_limit(1):
        for _ in range(T):
            idx = rng.choice(len(ds.y), 100, replace=False)
            g = model.loss_and_grad(p, ds.X[idx], ds.y[idx])[1]
            u_kb, s_kb = kb.update(g, s_kb, p)
            u_np, s_np = npn.update(g, s_np, p)
            live = np.abs(g["W"]) > 0                     # constant-zero pixels get no step
            med.append(float(np.median(np.abs(u_np["W"][live]) / np.abs(u_kb["W"][live]))))
            p = optim.apply_updates(p, u_kb)
    med = np.array(med)
    tmax = int(t[np.argmax(ratio)])
    max_ratio, ratio_100 = float(ratio.max()), float(ratio[-1])
    tol = 1e-9
    ok = bool(formula_err <= tol)
    fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
    plot_curves({"(1−β1ᵗ)/√(1−β2ᵗ) (derived, ε → 0)": (t, predicted_eps0),
                 "measured, constant gradient": (t, ratio),
                 "measured, digits (median over weights)": (t, med)},
                ax=ax, logy=False, xlabel="iteration t", ylabel="step npnet / step Kingma–Ba",
                title="npnet-001's simplified Adam vs Adam (β1 0.9, β2 0.99)",
                styles={"measured, constant gradient": {"linestyle": "none", "marker": "o", "markersize": 2}})
    ctx.savefig(fig)
    shown = {t_sym: sp.Symbol("t", positive=True)}              # rsolve's n is the step t
    return judge(ok, expected={"step_ratio": str(ratio_eps0.subs(shown)) + " (ε → 0)"},
                 measured={"step_ratio_rel_error_vs_derived": formula_err,
                           "max_step_ratio": max_ratio, "at_t": tmax, "step_ratio_t100": ratio_100},
                 tolerance={"step_ratio_rel": tol},
                 correction=None if ok else (
                     f"the simplified rule's steps are not Adam's times the dropped bias-correction "
                     f"factor (rel. error {formula_err:.1e})"),
                 evidence={"derived_step_ratio_with_eps": str(ratio_expr.subs(shown)),
                           "deviation_from_kingma_ba": (
                               f"steps are (1−β1ᵗ)/√(1−β2ᵗ) times Adam's: equal at t = 1, up to "
                               f"{max_ratio:.2f}× at t = {tmax}, {ratio_100:.2f}× at t = 100 (→ 1 as "
                               "t → ∞); ε inside the root floors √v at √ε = 1e-4 instead of adding 1e-8"),
                           "max_abs_deviation_from_1": float(np.max(np.abs(ratio - 1))),
                           "digits_median_ratio_t1_t10_t100": [med[0], med[9], med[-1]],
                           "digits_median_ratio_max": float(med.max()),
                           "lr": lr, "iterations": T, "eps_inside": eps_in, "eps_kingma_ba": eps_out,
                           "measured_with": "dynopt optim.adam(convention='npnet') vs optim.adam (Kingma–Ba)"})


# --- symbolic ---
def _run_nesterov_and_stored_form(problem, lr, momentum, x0, n_steps, c=1.0):
    """dynopt's Nesterov scheme (look-ahead gradient, v_0 = 0) and the stored-gradient form
    Θ_t = Θ_{t−1} + (1+cμ)v_t − cμv_{t−1}, v_t = μv_{t−1} − λ∇L(Θ_{t−1}); returns the largest
    gap |Θ_t − cμv_t − w_t| relative to the scale of the iterates."""
    import numpy as np

    from dynopt.dynamics import HeavyBall
    from dynopt.engine import integrate
    from dynopt.schemes import get_scheme
    from dynopt.schemes import nesterov_ode_parameters

    step, friction = nesterov_ode_parameters(lr, momentum)   # eq-18 map: α = γ², β = 1 − λγ
    scheme = get_scheme("nesterov" if c == 1.0 else "nesterov-half", start="rest")
    sol = integrate(HeavyBall(problem, friction), scheme, (0.0, n_steps * step), x0, step, save_every=1)
    d = problem.dim
    w = sol.y[:, 0, :d]
    th = np.array(x0, float)[None, :].copy()
    vv = np.zeros_like(th)
    gap = 0.0
    for t in range(1, n_steps + 1):
        v_new = momentum * vv - lr * problem.grad_fn(th)
        th = th + (1 + c * momentum) * v_new - c * momentum * vv
        vv = v_new
        gap = max(gap, float(np.max(np.abs(th - c * momentum * vv - w[t]))))
    return gap / float(np.max(np.abs(w)))


@claim("npnet-001.nesterov-reparametrization", method="symbolic",
       statement="with θ_t = w_t + μv_t, Nesterov's v_t = μv_{t−1} − λ∇L(w_{t−1} + μv_{t−1}), "
                 "w_t = w_{t−1} + v_t is equivalent to v_t = μv_{t−1} − λ∇L(θ_{t−1}), "
                 "θ_t = θ_{t−1} + (1+μ)v_t − μv_{t−1}")
def nesterov_reparametrization(ctx):
    from dynopt.problems import rosenbrock
    from dynopt.symbolic.velocity import THETA, _G, _lr, _mu, _v, compare_nesterov_rules

    # the source's printed rules, as functions of (Θ_{t−1}, v_{t−1}); compared with the
    # step derived by substituting w = Θ − μv into the look-ahead step (Θ' = w' + μv')
    src_v = _mu * _v - _lr * _G(THETA)
    src_theta = THETA + (1 + _mu) * src_v - _mu * _v
    theta_same, v_same, theta_new, v_new = compare_nesterov_rules(src_theta, src_v, "standard")
    n = ctx.size(200, 1000)
    gap = _run_nesterov_and_stored_form(rosenbrock(), 1e-3, 0.9, [-1.2, 1.0], n)
    tol = 1e-12
    holds = bool(theta_same and v_same and gap <= tol)
    return judge(holds, expected={"v_t": str(src_v), "theta_t": str(src_theta)},
                 measured={"v_t": str(v_new), "theta_t": str(theta_new), "max_rel_gap_iterates": gap},
                 tolerance=f"symbolic: derived − printed reduced to 0 by is_zero; iterates rel. {tol:g}",
                 correction=None if holds else (
                     f"substituting w = Θ − μv gives v_t = {v_new}, Θ_t = {theta_new} "
                     f"(printed Θ-rule {'agrees' if theta_same else 'differs'}, v-rule "
                     f"{'agrees' if v_same else 'differs'}; iterate gap {gap:.1e})"),
                 evidence={"derivation": "w = Θ − μv substituted into v' = μv − λG(w + μv), "
                                         "w' = w + v'; then Θ' = w' + μv' (G = ∇L, any function)",
                           "theta_rule_matches": theta_same, "v_rule_matches": v_same,
                           "problem": "rosenbrock", "lr": 1e-3, "momentum": 0.9, "steps": n})
