"""covariance_z's standard error holds for non-Gaussian samples (SGD's stationary law is not
Gaussian): over repeated samples its z-scores have unit spread, where the Gaussian formula's
are about twice too wide."""
import numpy as np

from dynopt.analysis import covariance_z


def test_covariance_z_scores_have_unit_spread_for_a_skewed_law():
    rng = np.random.default_rng(11)
    n, reps = 4000, 1000
    # x1 exponential (excess kurtosis 6), x2 = x1 + normal: the true covariance is known
    S = np.array([[1.0, 1.0], [1.0, 1.25]])
    zs, gauss = [], []
    iu = np.triu_indices(2)
    for _ in range(reps):
        e = rng.exponential(size=n)
        X = np.column_stack([e, e + 0.5 * rng.standard_normal(n)])
        z, C = covariance_z(X, S)
        zs.append(z)
        gauss.append((C[iu] - S[iu]) / np.sqrt((np.outer(np.diag(C), np.diag(C)) + C ** 2)[iu] / n))
    sd = np.std(zs, axis=0, ddof=1)
    # the spread of a unit-variance z over 1000 repetitions is known to ±1/sqrt(2·999) ≈ 0.022
    assert np.all(np.abs(sd - 1) < 5 * 0.022), sd
    assert np.all(np.std(gauss, axis=0, ddof=1) > 1.5)  # what the Gaussian formula would give
