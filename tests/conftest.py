import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import settings

# property tests draw their examples from a fixed seed: CI must not find a new case by chance
settings.register_profile("dynopt", derandomize=True)
settings.load_profile("dynopt")


@pytest.fixture
def rng():
    """A fixed-seed Generator: Monte Carlo tests must not depend on global state."""
    return np.random.default_rng(20181031)
