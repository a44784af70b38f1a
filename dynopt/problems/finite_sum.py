"""Finite sums L(θ) = (1/N) Σ ℓ_i(θ) with per-example gradients (what minibatch SGD samples),
and least squares as the standard example.
"""
from __future__ import annotations
from dynopt.checks import check_int
from dynopt.problems.base import Problem, _xsyms, as_points


from dataclasses import dataclass
from typing import Callable, Optional
import numpy as np

__all__ = ["FiniteSum", "finite_sum", "least_squares"]


# ---------------------------------------------------------------------------------
# Finite sums L(θ) = (1/N) Σ_i ℓ_i(θ)
# ---------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class FiniteSum(Problem):
    """A finite-sum objective L(θ) = (1/N) Σ_i ℓ_i(θ) with per-example gradients.

    Attributes
    ----------
    n_examples : int
        N.
    example_grad_fn : callable
        ``example_grad_fn(pts, idx)`` with ``pts`` of shape ``(n, d)`` and an index array
        ``idx`` of shape ``(m,)`` returns ``(n, m, d)``: ∇ℓ_i at each point.
    batch_grad_fn : callable, optional
        ``batch_grad_fn(pts, idx)`` with ``idx`` of shape ``(n, B)`` (one minibatch per
        point) returns ``(n, d)``, the mean gradient of each point's own minibatch; without
        it :meth:`batch_grads` computes every example's gradient at every point.
    least_squares_data : (A, b), optional
        The data of a least-squares sum ℓ_i(θ) = ½(a_iᵀθ − b_i)² (:func:`least_squares`),
        from which compiled SGD kernels compute minibatch gradients.
    """

    n_examples: int = 0
    example_grad_fn: Optional[Callable] = None
    batch_grad_fn: Optional[Callable] = None
    least_squares_data: Optional[tuple] = None

    def example_grads(self, x, idx=None):
        """Per-example gradients ∇ℓ_i(x): ``(d,)`` → ``(m, d)``, ``(n, d)`` → ``(n, m, d)``."""
        pts, single = as_points(x, self.dim)
        idx = np.arange(self.n_examples) if idx is None else np.asarray(idx, dtype=np.intp)
        out = self.example_grad_fn(pts, idx)
        return out[0] if single else out

    def minibatch_grad(self, x, idx):
        """Mean gradient over the examples ``idx`` (the SGD oracle), shape like ``x``."""
        return self.example_grads(x, idx).mean(axis=-2)

    def batch_grads(self, x, idx):
        """Mean gradient of each point's own minibatch: ``x`` (n, d), ``idx`` (n, B) → (n, d)
        (what one SGD step of an ensemble of paths needs)."""
        if self.batch_grad_fn is not None:
            return self.batch_grad_fn(x, idx)
        return np.take_along_axis(self.example_grads(x), idx[:, :, None], axis=1).mean(axis=1)

    def sample_batch(self, rng, batch_size: int, replace: bool = False):
        """Indices of one minibatch drawn with ``rng`` (a numpy Generator)."""
        if not 1 <= batch_size <= self.n_examples:
            raise ValueError(f"`batch_size` must be in [1, {self.n_examples}]; got {batch_size}")
        return rng.choice(self.n_examples, size=batch_size, replace=replace)

    def gradient_noise_covariance(self, x):
        """Covariance Σ(x) = (1/N) Σ_i (∇ℓ_i − ∇L)(∇ℓ_i − ∇L)ᵀ of one example's gradient.

        A minibatch of size B drawn without replacement has covariance
        Σ(x)/B · (N − B)/(N − 1); with replacement Σ(x)/B.
        """
        g = self.example_grads(x)
        z = g - g.mean(axis=-2, keepdims=True)
        return np.einsum("...mi,...mj->...ij", z, z) / self.n_examples


def finite_sum(example_grad, n_examples: int, dim: int, example_value=None, hess=None,
               name: str = "finite_sum") -> FiniteSum:
    """Build a :class:`FiniteSum` from per-example callables.

    Parameters
    ----------
    example_grad : callable
        ``example_grad(pts, idx) -> (n, m, d)``.
    n_examples, dim : int
    example_value : callable, optional
        ``example_value(pts, idx) -> (n, m)``.
    hess : callable, optional
        Batched Hessian of the mean loss, ``(n, d) -> (n, d, d)``.
    """
    check_int(n_examples, "n_examples")
    all_idx = np.arange(n_examples)

    def grad(p):
        return example_grad(p, all_idx).mean(axis=1)

    def value(p):
        if example_value is None:
            raise ValueError(f"problem {name!r} was built without example_value=")
        return example_value(p, all_idx).mean(axis=1)

    return FiniteSum(name=name, dim=int(dim), value_fn=value, grad_fn=grad, hess_fn=hess,
                     n_examples=int(n_examples), example_grad_fn=example_grad)


def least_squares(A, b, name: str = "least_squares") -> FiniteSum:
    """L(θ) = (1/N) Σ_i ½ (a_iᵀθ − b_i)², a finite sum with a constant Hessian AᵀA/N.

    Parameters
    ----------
    A : array_like, shape (N, d)
    b : array_like, shape (N,)
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(f"`A` must be (N, d) and `b` (N,); got {A.shape} and {b.shape}")
    N, d = A.shape
    H = A.T @ A / N
    if np.linalg.eigvalsh(H).min() <= 0:
        raise ValueError("`A` must have full column rank (AᵀA positive definite)")
    center = np.linalg.solve(H, A.T @ b / N)
    f_star = 0.5 * np.mean((A @ center - b) ** 2)

    def example_grad(p, idx):
        r = p @ A[idx].T - b[idx]  # (n, m)
        return r[:, :, None] * A[idx][None, :, :]

    def batch_grad(p, idx):
        Ai = A[idx]  # (n, B, d): only the examples drawn, not all N per path
        r = np.einsum("nd,nbd->nb", p, Ai) - b[idx]
        return np.einsum("nb,nbd->nd", r, Ai) / idx.shape[1]

    def example_value(p, idx):
        return 0.5 * (p @ A[idx].T - b[idx]) ** 2

    def value(p):
        z = p - center
        return 0.5 * np.einsum("ni,ij,nj->n", z, H, z) + f_star

    def grad(p):
        return (p - center) @ H

    def hess(p):
        return np.broadcast_to(H, (p.shape[0], d, d)).copy()

    syms = _xsyms(d)
    return FiniteSum(name=name, dim=d, value_fn=value, grad_fn=grad, hess_fn=hess,
                     symbols=syms, minima=center[None, :], hessian_matrix=H, center=center,
                     n_examples=N, example_grad_fn=example_grad, batch_grad_fn=batch_grad,
                     least_squares_data=(A, b), params={"N": N, "f_star": float(f_star)})
