"""The symbolic reading of an SDE scheme's step: mean-square stability on
dX = λX dt + μX dW and the exact stationary covariance of the discrete chain on
dX = −kX dt + σ dW or on harmonic Kramers (see :mod:`dynopt.symbolic.steps`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from dynopt.expr import sympy_value

from dynopt.symbolic.core import NotProved, is_zero
from dynopt.symbolic.standins import (STATIONARY_MODELS, HarmonicKramers, LinearTestSDE, OUModel, friction,
                                      noise_sigma, step_symbol, stiffness)
from dynopt.symbolic.steps import (_call_step, _entries, _exact, _fresh, _instance, _is_sde, _label, _normals,
                                   _obj, _strip_zero_roots, _template, jury_conditions)

__all__ = ["normal_expectation", "MSStability", "ms_stability", "StationaryVariance", "stationary_variance"]


def normal_expectation(expr, normals):
    """E[expr] for independent standard normals ``normals`` (expr polynomial in them):
    E[ξᵏ] = 0 for odd k, (k − 1)!! for even k."""
    e = sp.expand(expr)
    if not normals:
        return e
    poly = sp.Poly(e, *normals)
    out = 0
    for monom, c in poly.terms():
        m = 1
        for k in monom:
            m *= 0 if k % 2 else sp.factorial2(k - 1)
        out += c * m
    return sp.expand(out)


@dataclass(frozen=True)
class MSStability:
    """Mean-square stability of an SDE scheme on dX = λX dt + μX dW.

    Attributes
    ----------
    amplification : sympy.Expr or sympy.Matrix
        R(ξ) with s₁ = R(ξ) s₀, a polynomial in the step's normals (a scalar when the state
        is the path alone).
    ms_factor : sympy.Expr or sympy.Matrix
        E[R²] (E[X_{n+1}²] = E[R²]·E[X_n²]); with buffers, the matrix Q of the second
        moments: vec S_{n+1} = Q vec S_n on the entries S_ij, i ≤ j, of S = E[s sᵀ].
    region : sympy.Expr or tuple
        Scalar case: (E[R²] − 1)/h, factored — mean-square stable where it is < 0.  With
        buffers: the Schur–Cohn/Jury conditions (each > 0) for every eigenvalue of Q in
        |z| < 1 (None when Q's polynomial has degree > 3).
    moments : tuple of sympy.Symbol
        The S_ij that ``ms_factor`` acts on (empty in the scalar case).
    """

    amplification: object
    ms_factor: object
    region: object
    moments: tuple = ()


def _second_moment_matrix(R, syms, zs):
    """Q with vec S' = Q vec S for s' = R(ξ) s, S = E[s sᵀ] (entries i ≤ j)."""
    n = R.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    S = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"S_{syms[min(i, j)]}{syms[max(i, j)]}"))
    moments = [S[i, j] for i, j in pairs]
    new = (R * S * R.T)
    rows = [[None] * len(moments) for _ in pairs]
    for r, (i, j) in enumerate(pairs):
        e = normal_expectation(sp.expand(new[i, j]), zs)
        for c, m in enumerate(moments):
            rows[r][c] = sp.simplify(sp.expand(e).coeff(m))
    return sp.Matrix(rows), tuple(moments)


def ms_stability(scheme) -> MSStability:
    """Mean-square stability of an SDE scheme from its step on dX = λX dt + μX dW.

    The step is called on fresh symbols for the state's array entries and on symbols for the
    normals; the new state must be R(ξ) s.  A state that is the path alone gives the scalar
    E[R²]; buffers give the second-moment matrix Q over the entries the step reads.

    Raises
    ------
    TypeError
        For a deterministic scheme, or one without diagonal noise.
    NotProved
        When the new state is not R(ξ) s (a buffer of normals, say: the chain is then not
        homogeneous in the state).
    """
    inst = _instance(scheme)
    if not _is_sde(inst):
        raise TypeError(f"`scheme` must be an SDE scheme for mean-square stability; got {_label(inst)!r}")
    if "diagonal" not in getattr(inst, "noise_types", ()):
        raise TypeError(f"`scheme` {_label(inst)!r} supports {', '.join(inst.noise_types)} noise only; mean-square "
                        "stability is read on dX = λX dt + μX dW (diagonal, multiplicative noise)")
    model = LinearTestSDE()
    z, zs = _normals(inst, model)
    y0 = _obj([sp.Symbol("X0", real=True)])
    fresh, syms = _fresh(_template(inst, model, step_symbol, y0, z))
    new = [_exact(sp.expand(e)) for e in _entries(_call_step(inst, model, fresh, step_symbol, z))]
    R = sp.Matrix(new).jacobian(syms)
    if any(not is_zero(sp.expand(a - b)) for a, b in zip(new, R * sp.Matrix(syms))) or \
            any(x in e.free_symbols for e in R for x in syms):
        raise NotProved(f"the step is not R(ξ)·state on dX = λX dt + μX dW: {new}")
    read = [j for j in range(len(syms)) if any(R[i, j] != 0 for i in range(len(syms)))]
    R = R.extract(read, read)
    if R.shape == (1, 1):
        r = sp.expand(R[0, 0])
        E = sp.simplify(normal_expectation(r ** 2, zs))
        return MSStability(r, E, sp.factor(sp.expand(sp.simplify((E - 1) / step_symbol))))
    Q, moments = _second_moment_matrix(R, [syms[j] for j in read], zs)
    w = sp.Symbol("z")
    poly = _strip_zero_roots(sp.Poly(Q.charpoly(w).as_expr(), w))
    try:
        region = tuple(sp.factor(sp.simplify(c)) for c in jury_conditions(poly))
    except NotImplementedError:
        region = None
    return MSStability(R, Q, region, moments)


@dataclass(frozen=True)
class StationaryVariance:
    """Exact stationary covariance of the discrete chain of an SDE scheme.

    Attributes
    ----------
    model : str
        ``"ou"`` (dX = −kX dt + σ dW) or ``"kramers"`` (harmonic, L = kθ²/2).
    variance : sympy.Expr or tuple
        Stationary variance of the output's position (and, on Kramers, of its velocity).
    series : sympy.Expr or tuple
        Its series in h to O(h³).
    exact : sympy.Expr or tuple
        The continuous model's variance (σ²/(2k); on Kramers kT/k and kT).
    A, B : sympy.Matrix
        The chain s' = A s + B ξ on the state entries the step reads.
    """

    model: str
    variance: object
    series: object
    exact: object
    A: sp.Matrix
    B: sp.Matrix


def _lyapunov(A, BB):
    """S = A S Aᵀ + BBᵀ for a symmetric S, solved exactly."""
    n = A.shape[0]
    unk = {}
    for i in range(n):
        for j in range(i, n):
            unk[i, j] = unk[j, i] = sp.Symbol(f"S{i}{j}")
    S = sp.Matrix(n, n, lambda i, j: unk[i, j])
    eqs = list({(i, j): sp.expand(x) for (i, j), x in np.ndenumerate(np.array((A * S * A.T + BB - S).tolist(),
                                                                                  dtype=object)) if i <= j}.values())
    vars_ = sorted(set(unk.values()), key=str)
    sol = sp.solve(eqs, vars_, dict=True)
    if len(sol) != 1:
        raise NotProved(f"the discrete Lyapunov equation has {len(sol)} solutions")
    return S.subs(sol[0]).applyfunc(sp.simplify)


def stationary_variance(scheme, model="ou") -> StationaryVariance:
    """Stationary variance of the discrete chain of an SDE scheme, exact in h.

    The step is called on fresh symbols for the state's array entries and on symbols for the
    normals; the new state must be s' = A s + B ξ (checked).  The stationary covariance of
    the entries the step reads solves S = A S Aᵀ + BBᵀ; the output's position (and velocity)
    are linear in the state, so their variances follow.

    Parameters
    ----------
    scheme : str, type or Scheme
        An SDE scheme (registry name, class or instance).
    model : {"ou", "kramers"}

    Raises
    ------
    NotProved
        When the chain is not linear in (state, normals) or the Lyapunov equation has no
        unique solution.
    """
    if model not in STATIONARY_MODELS:
        raise ValueError(f"`model` must be one of {list(STATIONARY_MODELS)}; got {model!r}")
    inst = _instance(scheme)
    if not _is_sde(inst):
        raise TypeError(f"`scheme` must be an SDE scheme for the stationary variance; got {_label(inst)!r}")
    from dynopt.dynamics import Kramers, OverdampedLangevin

    target = OverdampedLangevin if model == "ou" else Kramers
    if not any(issubclass(target, c) for c in inst.approximates):
        raise TypeError(f"`scheme` {_label(inst)!r} discretizes {', '.join(c.__name__ for c in inst.approximates)} "
                        f"models, not {target.__name__} (`model` {model!r})")
    m = OUModel() if model == "ou" else HarmonicKramers()
    z, zs = _normals(inst, m)
    y0 = _obj(sp.symbols("y0:2", real=True)[: m.state_dim], (1, m.state_dim))
    fresh, syms = _fresh(_template(inst, m, step_symbol, y0, z))
    new = [_exact(sp.expand(e)) for e in _entries(_call_step(inst, m, fresh, step_symbol, z))]
    Ns = sp.Matrix(new)
    A, B = Ns.jacobian(syms), Ns.jacobian(zs)
    lin = A * sp.Matrix(syms) + B * sp.Matrix(zs)
    if not all(is_zero(sp.expand(a - b)) for a, b in zip(new, lin)):
        raise NotProved("the step is not linear in (state, normals) on the linear model")
    read = [j for j in range(len(syms)) if any(A[i, j] != 0 for i in range(len(syms)))]
    Ar = A.extract(read, read)
    Br = B.extract(read, list(range(len(zs))))
    Sr = _lyapunov(Ar, Br * Br.T)
    Acol = A.extract(list(range(len(syms))), read)
    Sigma = Acol * Sr * Acol.T + B * B.T           # covariance of the state after a step
    out = inst.output(m, fresh)
    C = sp.Matrix([[_exact(sympy_value(o)) for o in np.asarray(out).ravel()]]).reshape(m.state_dim, 1).jacobian(syms)
    V = (C * Sigma * C.T).applyfunc(lambda e: sp.factor(sp.simplify(e)))
    variances = tuple(V[i, i] for i in range(m.state_dim))
    series = tuple(sp.series(v, step_symbol, 0, 3).removeO() for v in variances)
    if model == "ou":
        exact = noise_sigma ** 2 / (2 * stiffness)
        return StationaryVariance(model, variances[0], sp.expand(series[0]), exact, Ar, Br)
    kT = noise_sigma ** 2 / (2 * friction)
    return StationaryVariance(model, variances, tuple(sp.expand(s) for s in series), (kT / stiffness, kT), Ar, Br)
