import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fixed-seed Generator: Monte Carlo tests must not depend on global state."""
    return np.random.default_rng(20181031)
