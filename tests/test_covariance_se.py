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


def test_covariance_z_on_a_small_sample_by_hand():
    """z = (C − S)/SE on the upper triangle, SE = sd of the centred products (ddof 1)/√n; S None gives (None, C)."""
    X = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 1.5], [2.0, 0.5, -0.5], [-1.0, 1.0, 0.0], [0.5, 0.0, 2.0]])
    S = np.array([[1.0, 0.2, -0.1], [0.2, 1.5, 0.3], [-0.1, 0.3, 0.8]])
    z, C = covariance_z(X, S)
    n = 5
    mean = X.sum(0) / n
    Z = X - mean
    Cw = Z.T @ Z / (n - 1)
    np.testing.assert_allclose(C, Cw, rtol=1e-13)
    want = []
    for i in range(3):
        for j in range(i, 3):
            p = Z[:, i] * Z[:, j]
            se = np.sqrt(np.sum((p - p.mean()) ** 2) / (n - 1)) / np.sqrt(n)
            want.append((Cw[i, j] - S[i, j]) / se)
    np.testing.assert_allclose(z, want, rtol=1e-12)
    none, C2 = covariance_z(X, None)
    assert none is None and np.array_equal(C2, C)
    one_d = covariance_z(X[:, :1], [[1.0]])
    assert one_d[1].shape == (1, 1) and one_d[0].shape == (1,)
