"""Test configuration: hypothesis profiles, the --runslow option, Agg plotting, strict NumPy errors.

Profiles (select with ``HYPOTHESIS_PROFILE`` or ``--hypothesis-profile``):

- ``dev`` (default): 30 examples, no deadline (numba compiles on a kernel's first call);
- ``ci``: derandomised, no deadline, no example database; chosen automatically when ``CI`` is set;
- ``thorough``: 1,000 examples, for a long local run.
"""

import os

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (paper-scale runs)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _strict_numpy_and_closed_figures():
    """Floating-point trouble raises instead of warning; figures never leak between tests."""
    import matplotlib.pyplot as plt

    with np.errstate(all="raise", under="ignore"):
        yield
    plt.close("all")


@pytest.fixture
def rng():
    """A fresh generator with a fixed seed for each test."""
    return np.random.default_rng(12345)
