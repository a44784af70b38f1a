import os

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import settings

# property tests draw their examples from a fixed seed: CI must not find a new case by chance
settings.register_profile("dynopt", derandomize=True)
settings.load_profile("dynopt")


def pytest_configure(config):
    """Keep mutmut's coverage pass inside this process.

    mutmut records which tests reach each function with ``MUTANT_UNDER_TEST=stats``; a dynopt
    started by a test in a subprocess would inherit it and fail for want of mutmut's
    configuration in its working directory. The pass itself keeps the value in process-local
    state, so only children lose it (they then run unmutated code, as a coverage pass wants).
    """
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        del os.environ["MUTANT_UNDER_TEST"]


@pytest.fixture(autouse=True)
def _auto_backend_by_size():
    """"auto" decides by run size alone in tests, so that no test's numbers (or backend)
    depend on which kernels an earlier test compiled; tests of the cache-aware choice
    open their own ``default_backend("auto", use_cache=True)``."""
    from dynopt.engine.kernels import default_backend

    with default_backend("auto", use_cache=False):
        yield


@pytest.fixture
def rng():
    """A fixed-seed Generator: Monte Carlo tests must not depend on global state."""
    return np.random.default_rng(20181031)
