"""SGD's stochastic modified equation (Li, Tai & E 2017): dθ = −∇L dt + √(η/B) Σ^{1/2} dW on
a finite sum, with the minibatch covariance Σ(θ) of the per-example gradients.
"""
from __future__ import annotations
from dynopt.dynamics.sde import SDEModel
from dynopt.checks import check_finite_param, check_int


import numpy as np
from dynopt.problems import FiniteSum

__all__ = ["SGDModifiedEquation"]


class SGDModifiedEquation(SDEModel):
    """SGD's stochastic modified equation (Li, Tai & E 2017) for a finite-sum problem.

    dθ = −∇(L + [order 2] (η/4)|∇L|²)(θ) dt + √(η Σ(θ)/B · c) dW, time t = kη,

    where Σ is the per-example gradient covariance, B the batch size and c = 1 (sampling
    with replacement) or (N − B)/(N − 1) (without).  General noise (m = d), Itô.

    Parameters
    ----------
    problem : FiniteSum
    lr : float > 0
        The SGD learning rate η (= the time step of the SGD iterates).
    batch_size : int in [1, N]
    order : {1, 2}
    replace : bool
        Minibatches drawn with replacement.
    """

    kind = "sme"
    noise = "general"

    def __init__(self, problem, lr, batch_size=1, order=1, replace=True):
        super().__init__(problem)
        if not isinstance(problem, FiniteSum):
            raise TypeError(f"`problem` must be a FiniteSum; got {type(problem).__name__}")
        self.lr = check_finite_param(lr, "lr", low=0.0, low_inclusive=False)
        N = problem.n_examples
        check_int(batch_size, "batch_size", high=N)
        if order not in (1, 2):
            raise ValueError(f"`order` must be 1 or 2; got {order!r}")
        if order == 2 and problem.hess_fn is None:
            raise ValueError("`order`=2 needs the problem's Hessian (∇|∇L|² = 2 H ∇L)")
        self.batch_size, self.order, self.replace = int(batch_size), int(order), bool(replace)
        self.noise_dim = self.d
        fpc = 1.0 if replace or N == 1 else (N - batch_size) / (N - 1)
        self.noise_scale = self.lr * fpc / self.batch_size

    @property
    def name(self):
        return f"SME order {self.order} (η={self.lr:g}, B={self.batch_size})"

    @property
    def state_dim(self):
        return self.d

    def drift(self, t, y):
        g = self.problem.grad_fn(y)
        if self.order == 2:
            g = g + (self.lr / 2) * np.einsum("nij,nj->ni", self.problem.hess_fn(y), g)
        return -g

    def diffusion(self, t, y):
        S = self.problem.gradient_noise_covariance(y) * self.noise_scale
        w, V = np.linalg.eigh(S)
        return np.einsum("nij,nj,nkj->nik", V, np.sqrt(np.clip(w, 0, None)), V)
