"""The Gibbs density exp(−L(θ)/kT)/Z of a problem in any dimension, as a frozen-distribution-like
object: ``pdf``, ``logpdf``, ``normaliser``, ``marginal(i)``, 1-D ``cdf``, bin probabilities and
χ² / Kolmogorov–Smirnov tests of ensembles against it.

The temperature comes from the model when one is given: kT = σ²/2 for the overdamped Langevin
equation, σ²/(2λ) for the θ-marginal of the Kramers equation.  The density lives on a box
(``bounds``); the normaliser is computed by ``scipy.integrate`` in 1-D and 2-D and by Monte Carlo
with its standard error beyond.
"""
from __future__ import annotations

import numpy as np
from scipy import integrate as sint
from scipy import stats

from dynopt.dynamics import Kramers, OverdampedLangevin
from dynopt.problems import Problem
from dynopt.checks import as_generator, check_int, finite_samples
from dynopt.symbolic.fokker_planck import check_normalisable

__all__ = ["GibbsDensity", "Marginal", "QuadratureMarginal", "gibbs", "check_normalisable"]


def _temperature(source, temperature):
    if temperature is not None:
        if isinstance(temperature, (str, bytes, bool)) or not np.isscalar(temperature):
            raise TypeError(f"`temperature` must be a real number; got {type(temperature).__name__}")
        kT = float(temperature)
    elif isinstance(source, (OverdampedLangevin, Kramers)):
        kT = float(source.temperature) if isinstance(source, Kramers) else \
            float(source.scalar_sigma) ** 2 / 2 if source.scalar_sigma is not None else np.nan
    else:
        raise ValueError("`temperature` is required unless a Langevin or Kramers model is given")
    if not np.isfinite(kT) or kT <= 0:
        raise ValueError(f"`temperature` must be finite and > 0; got {kT!r} "
                         "(a Kramers model with λ = 0 or σ = 0 has no Gibbs density)")
    return kT


def _problem(source):
    if isinstance(source, Problem):
        return source
    if isinstance(source, (OverdampedLangevin, Kramers)) and isinstance(source.problem, Problem):
        return source.problem
    raise TypeError(f"`source` must be a Problem or an OverdampedLangevin/Kramers model; "
                    f"got {type(source).__name__}")


class Marginal:
    """A 1-D density tabulated on a fine grid (a marginal of a :class:`GibbsDensity`)."""

    def __init__(self, grid, density):
        self.grid = np.asarray(grid, float)
        dens = np.asarray(density, float)
        if not np.all(np.isfinite(dens)):
            raise ValueError("`density` must be finite on the grid; it overflows (the potential is unbounded "
                             "below on the box, or kT is too small)")
        dens = np.clip(dens, 0.0, None)
        self._cdf = sint.cumulative_trapezoid(dens, self.grid, initial=0.0)
        total = self._cdf[-1]
        if not (np.isfinite(total) and total > 0):
            raise ValueError("`density` has no positive integral on the grid: it underflows to 0 everywhere "
                             "(kT too small for the grid, or the mass lies outside the box); it is undefined here")
        self._pdf, self._cdf = dens / total, self._cdf / total
        self.bounds = (float(self.grid[0]), float(self.grid[-1]))

    def pdf(self, x):
        """Density at ``x`` (0 outside the box)."""
        x = np.asarray(x, float)
        return np.where((x >= self.bounds[0]) & (x <= self.bounds[1]), np.interp(x, self.grid, self._pdf), 0.0)

    def logpdf(self, x):
        """log of :meth:`pdf` (−inf outside the box)."""
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(x))

    def cdf(self, x):
        """Distribution function (0 below the box, 1 above)."""
        return np.interp(np.asarray(x, float), self.grid, self._cdf, left=0.0, right=1.0)

    def bin_probabilities(self, edges):
        """Probability of each bin ``[edges[k], edges[k+1])``."""
        return np.diff(self.cdf(np.asarray(edges, float)))

    def ks_test(self, samples) -> dict:
        """Kolmogorov–Smirnov test of 1-D ``samples`` (scipy.stats.kstest) and the Wasserstein-1
        distance ∫|F_n − F| on the grid."""
        x = finite_samples(samples, "samples")
        ks = stats.kstest(x, self.cdf)
        Fn = np.searchsorted(np.sort(x), self.grid, side="right") / x.size
        w1 = float(sint.trapezoid(np.abs(Fn - self._cdf), self.grid))
        return {"ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue), "wasserstein": w1,
                "n": int(x.size)}

    def chi2_test(self, counts, edges, outside: int = 0) -> dict:
        """Pearson χ² (scipy.stats) of histogram ``counts`` on ``edges`` against this density;
        ``outside`` samples beyond the edges form one more cell.  Cells with expected count
        below 5 are pooled into their neighbour-free remainder cell."""
        counts = finite_samples(counts, "counts")
        if (counts < 0).any():
            raise ValueError("`counts` must be non-negative")
        edges = finite_samples(edges, "edges", min_size=2)
        if counts.size != edges.size - 1:
            raise ValueError(f"`edges` must have len(counts) + 1 = {counts.size + 1} entries; got {edges.size}")
        check_int(outside, "outside", low=0)
        p = self.bin_probabilities(edges)
        obs = np.append(counts, float(outside))
        exp_p = np.append(p, max(0.0, 1.0 - p.sum()))
        n = obs.sum()
        keep = exp_p * n >= 5
        obs_k = np.append(obs[keep], obs[~keep].sum())
        exp_k = np.append(exp_p[keep], exp_p[~keep].sum()) * n
        if exp_k[-1] < 5:  # the pooled remainder is too small to test on its own: merge it
            obs_k[-2] += obs_k[-1]
            exp_k[-2] += exp_k[-1]
            obs_k, exp_k = obs_k[:-1], exp_k[:-1]
        chi2 = float(((obs_k - exp_k) ** 2 / exp_k).sum())
        dof = obs_k.size - 1
        return {"chi2": chi2, "dof": int(dof), "pvalue": float(stats.chi2.sf(chi2, dof)), "n": int(n)}


#: Gauss–Legendre nodes and weights on [−1, 1]: 16 per panel along the marginal's own axis, 8 per
#: panel along the axis integrated out
_GL16 = np.polynomial.legendre.leggauss(16)
_GL8 = np.polynomial.legendre.leggauss(8)


def _panel_nodes(lo, hi, n_panels, rule):
    """Nodes (n_panels, k) and weights (n_panels, k) of a composite Gauss–Legendre rule on [lo, hi]."""
    edges = np.linspace(lo, hi, n_panels + 1)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    x, w = rule
    return mid[:, None] + half[:, None] * x[None, :], half[:, None] * w[None, :], edges


class QuadratureMarginal(Marginal):
    """A 1-D density known as a function: ``pdf`` evaluates it (no interpolation), the
    distribution function is cumulated panel by panel with a 16-point Gauss–Legendre rule and
    joined between panel edges by the cubic Hermite interpolant whose slopes are the density
    itself (error O(h⁴) in the panel width h).

    Parameters
    ----------
    density : callable
        Unnormalised density, vectorised over a 1-D array of points of ``[lo, hi]``.
    lo, hi : float
    n_panels : int
    """

    def __init__(self, density, lo, hi, n_panels: int = 200):
        from scipy.interpolate import CubicHermiteSpline

        self._density = density
        nodes, weights, edges = _panel_nodes(lo, hi, n_panels, _GL16)
        panel = (np.clip(density(nodes.ravel()).reshape(nodes.shape), 0.0, None) * weights).sum(axis=1)
        cum = np.concatenate([[0.0], np.cumsum(panel)])
        self.total = float(cum[-1])
        if not (np.isfinite(self.total) and self.total > 0):
            raise ValueError(f"the marginal density on [{lo:g}, {hi:g}] integrates to {self.total!r}: not normalisable")
        self.grid = edges
        self.bounds = (float(lo), float(hi))
        self._pdf = np.clip(density(edges), 0.0, None) / self.total
        self._cdf = cum / self.total
        self._spline = CubicHermiteSpline(edges, self._cdf, self._pdf)

    def pdf(self, x):
        """Density at ``x`` by quadrature (0 outside the box)."""
        x = np.asarray(x, float)
        inside = (x >= self.bounds[0]) & (x <= self.bounds[1])
        vals = np.clip(self._density(np.clip(x, *self.bounds).ravel()), 0.0, None).reshape(x.shape)
        return np.where(inside, vals / self.total, 0.0)

    def cdf(self, x):
        """Distribution function (0 below the box, 1 above)."""
        x = np.asarray(x, float)
        inner = np.clip(self._spline(np.clip(x, *self.bounds)), 0.0, 1.0)
        return np.where(x < self.bounds[0], 0.0, np.where(x > self.bounds[1], 1.0, inner))


class GibbsDensity(Marginal):
    """The density exp(−L(θ)/kT)/Z on a box, for a problem of any dimension.

    Parameters
    ----------
    source : Problem, OverdampedLangevin or Kramers
        The potential L (a model also gives the temperature).
    temperature : float, optional
        kT > 0; default from the model: σ²/2 (overdamped), σ²/(2λ) (Kramers, θ-marginal).
    bounds : (lo, hi) or sequence of d such pairs
        The box the density is normalised on (and zero outside).
    n_mc : int
        Monte Carlo samples for the normaliser and marginals when d > 2.
    seed : int, SeedSequence or Generator
        Randomness of the Monte Carlo normaliser (d > 2 only).

    Attributes
    ----------
    dim, temperature, bounds, normaliser, normaliser_se, u_min
        ``normaliser`` is Z of exp(−(L − u_min)/kT) over the box; ``normaliser_se`` is 0 for
        quadrature (its error estimate is in ``quad_error``) and the Monte Carlo standard error
        beyond 2-D.

    Raises
    ------
    ValueError
        A non-positive temperature, a malformed box, or a potential whose minimum on the box lies
        on its boundary (no minimum inside the range: the density would be cut off).
    """

    def __init__(self, source, temperature=None, bounds=(-3.0, 3.0), *, n_mc: int = 200_000, seed=0,
                 grid_points: int = 2001):
        self.problem = _problem(source)
        self.temperature = _temperature(source, temperature)
        check_int(grid_points, "grid_points", low=5)
        d = self.dim = self.problem.dim
        b = np.asarray(bounds, float)
        if b.shape == (2,):
            b = np.tile(b, (d, 1))
        if b.shape != (d, 2) or not np.all(np.isfinite(b)) or not np.all(b[:, 1] > b[:, 0]):
            raise ValueError(f"`bounds` must be (lo, hi) or {d} pairs with hi > lo; got {bounds!r}")
        self.box = b
        self.bounds = tuple(tuple(map(float, r)) for r in b) if d > 1 else tuple(map(float, b[0]))
        self.u_min = self._check_minimum(grid_points)
        self.quad_error = 0.0
        self.normaliser_se = 0.0
        if d == 1:
            grid = np.linspace(*b[0], grid_points)
            w = self._weight(grid[:, None])
            self._check_resolved(w, grid)
            self.normaliser, self.quad_error = sint.quad(lambda x: float(self._weight(np.array([[x]]))[0]),
                                                         *b[0], limit=400, points=[grid[int(np.argmax(w))]])
            self._check_normaliser()
            Marginal.__init__(self, grid, w)
        elif d == 2:
            f = lambda y, x: float(self._weight(np.array([[x, y]]))[0])  # noqa: E731
            self.normaliser, self.quad_error = sint.dblquad(f, *b[0], *b[1], epsabs=1e-10, epsrel=1e-8)
            self._check_normaliser()
        else:
            rng = as_generator(seed)
            pts = b[:, 0] + (b[:, 1] - b[:, 0]) * rng.random((int(n_mc), d))
            w = self._weight(pts)
            vol = float(np.prod(b[:, 1] - b[:, 0]))
            self.normaliser = vol * float(w.mean())
            self.normaliser_se = vol * float(w.std(ddof=1)) / np.sqrt(w.size)
            self._mc = (pts, w)
            self._check_normaliser()
            if not self.normaliser_se < 0.5 * self.normaliser:
                raise ValueError(f"`temperature` = {self.temperature:g}: the Monte Carlo normaliser of the density on "
                                 f"the box is {self.normaliser:.3g} ± {self.normaliser_se:.2g}, too uncertain to use "
                                 "(the density is too narrow for n_mc samples): raise `n_mc` or kT")
        self._marginals = {}

    def _check_resolved(self, w, grid):
        """The tabulated density must be resolved by the grid, else its marginal is wrong."""
        if not np.all(np.isfinite(w)):
            raise ValueError(f"`temperature` = {self.temperature:g}: exp(−L/kT) overflows on the box {self.bounds}; "
                             "the density is undefined there")
        mass = float(sint.trapezoid(w, grid))
        peak = float(w.max())
        # the mode has weight 1; a density narrower than ~5 grid cells is not resolved
        if not (mass > 0 and mass >= 5 * (grid[1] - grid[0]) * peak):
            raise ValueError(f"`temperature` = {self.temperature:g} is too small for the box {self.bounds}: the density "
                             f"exp(−L/kT) is narrower than the {grid.size}-point grid can resolve (it underflows to 0 "
                             "between grid points); raise kT, narrow the box, or raise `grid_points`")

    def _check_normaliser(self):
        if not (np.isfinite(self.normaliser) and self.normaliser > 0):
            raise ValueError(f"`temperature` = {self.temperature:g}: the normaliser of exp(−L/kT) on the box "
                             f"{self.bounds} is {self.normaliser!r}, so the density is undefined (it underflows "
                             "to 0 or is not normalisable)")

    def _weight(self, pts):
        return np.exp(-(self.problem.value(pts) - self.u_min) / self.temperature)

    def _check_minimum(self, grid_points):
        """Smallest L on a grid of the box; it must lie inside, not on the boundary."""
        n = max(5, int(round(grid_points ** (1.0 / self.dim)))) if self.dim > 1 else grid_points
        n = min(n, 401 if self.dim == 2 else n)
        axes = [np.linspace(lo, hi, n) for lo, hi in self.box]
        mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        u = self.problem.value(mesh)
        if not np.all(np.isfinite(u)):
            raise ValueError(f"`bounds`: the potential of {self.problem.name!r} is not finite on the box {self.bounds}")
        k = int(np.argmin(u))
        idx = np.unravel_index(k, (n,) * self.dim)
        if any(i in (0, n - 1) for i in idx):
            raise ValueError(f"`bounds`: the potential of {self.problem.name!r} has no minimum inside "
                             f"{self.bounds} (its smallest value on the box is at the boundary point "
                             f"{mesh[k].tolist()}); widen the range or check the expression")
        return float(u[k])

    def _points(self, x):
        x = np.asarray(x, float)
        if self.dim == 1 and (x.ndim == 0 or x.shape[-1] != 1):
            return x.reshape(-1, 1), x.shape
        return x.reshape(-1, self.dim), x.shape[:-1]

    def logpdf(self, x):
        """log density at points ``x`` (shape ``(..., d)``; in 1-D also any shape); −inf outside the box."""
        pts, shape = self._points(x)
        inside = np.all((pts >= self.box[:, 0]) & (pts <= self.box[:, 1]), axis=1)
        out = -(self.problem.value(pts) - self.u_min) / self.temperature - np.log(self.normaliser)
        return np.where(inside, out, -np.inf).reshape(shape)

    def pdf(self, x):
        """Density at points ``x`` (see :meth:`logpdf`)."""
        return np.exp(self.logpdf(x))

    def cdf(self, x):
        """Distribution function (1-D densities only; use ``marginal(i).cdf`` otherwise)."""
        if self.dim != 1:
            raise ValueError(f"`cdf` is defined for 1-D densities; this one has d = {self.dim}: use marginal(i)")
        return Marginal.cdf(self, x)

    def marginal(self, i: int = 0) -> Marginal:
        """The density of coordinate ``i``: in 2-D a :class:`QuadratureMarginal` (the other coordinate
        integrated out by Gauss–Legendre at every point asked for), weighted Monte Carlo beyond."""
        check_int(i, "i", low=0, high=self.dim - 1)
        if self.dim == 1:
            return self
        if i not in self._marginals:
            lo, hi = self.box[i]
            if self.dim == 2:
                self._marginals[i] = QuadratureMarginal(self._integrate_out(i), lo, hi)
            else:
                pts, w = self._mc
                counts, edges = np.histogram(pts[:, i], bins=100, range=(lo, hi), weights=w)
                self._marginals[i] = Marginal(0.5 * (edges[1:] + edges[:-1]), counts)
        return self._marginals[i]

    def _integrate_out(self, i: int, n_panels: int = 100):
        """x ↦ ∫ exp(−(L − u_min)/kT) over the other coordinate of a 2-D box at θ_i = x (composite
        8-point Gauss–Legendre, vectorised over x in blocks)."""
        j = 1 - i
        nodes, weights, _ = _panel_nodes(*self.box[j], n_panels, _GL8)
        other, w = nodes.ravel(), weights.ravel()

        def density(x):
            x = np.asarray(x, float).ravel()
            out = np.empty(x.size)
            for k in range(0, x.size, 512):
                xb = x[k:k + 512]
                pts = np.empty((xb.size, other.size, 2))
                pts[..., i], pts[..., j] = xb[:, None], other[None, :]
                out[k:k + 512] = self._weight(pts.reshape(-1, 2)).reshape(xb.size, other.size) @ w
            return out
        return density

    def bin_probabilities(self, edges, i: int = 0):
        """Probabilities of the bins ``edges`` of coordinate ``i``."""
        return Marginal.bin_probabilities(self.marginal(i), edges) if self.dim > 1 else \
            Marginal.bin_probabilities(self, edges)

    def __repr__(self):
        return f"GibbsDensity({self.problem.name!r}, d={self.dim}, kT={self.temperature:g}, bounds={self.bounds})"


def gibbs(source, temperature=None, bounds=(-3.0, 3.0), **kwargs) -> GibbsDensity:
    """Shorthand for :class:`GibbsDensity`."""
    return GibbsDensity(source, temperature, bounds, **kwargs)
