"""The experiment and benchmark registries refuse a second function under a registered name."""

from dataclasses import dataclass

import pytest

from refimpl import bench, experiments


@dataclass(frozen=True)
class _Settings:
    steps: int = 1


def _first(run, settings):
    """First registration."""


def _second(run, settings):
    """A different function under the same name."""


@pytest.fixture
def cleanup():
    names = []
    yield names
    for registry, name in names:
        registry.pop(name, None)


def test_experiment_registry_refuses_a_duplicate_name(cleanup):
    cleanup.append((experiments._experiments, "test-duplicate"))
    register = experiments.register_experiment("test-duplicate", quick=_Settings(), full=_Settings())
    register(_first)
    register(_first)  # the same function again (a module reload) is allowed
    with pytest.raises(ValueError, match=r"experiment named 'test-duplicate' is already registered "
                                         r"\(tests.test_registries._first\).*_second"):
        experiments.register_experiment("test-duplicate", quick=_Settings(), full=_Settings())(_second)
    assert experiments._experiments["test-duplicate"].function is _first


def test_benchmark_registry_refuses_a_duplicate_name(cleanup):
    cleanup.append((bench._benches, "test-duplicate"))
    bench.register_bench("test-duplicate")(_first)
    bench.register_bench("test-duplicate")(_first)
    with pytest.raises(ValueError, match=r"benchmark named 'test-duplicate' is already registered "
                                         r"\(tests.test_registries._first\).*_second"):
        bench.register_bench("test-duplicate")(_second)
    assert bench._benches["test-duplicate"] is _first
