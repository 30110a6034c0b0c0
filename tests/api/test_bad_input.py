"""Every public callable refuses bad input clearly: see :mod:`tests.api.probe`."""

import numpy as np
import pytest

from tests.api import cases_core
from tests.api.probe import SHAPE_KINDS, bad_values, public_callables, raised_by_refimpl

# Packages whose public API is probed; each topic adds its package and a cases_<topic> module.
PACKAGES = {"refimpl.core": cases_core.CASES, "refimpl.core.fitting": [], "refimpl.data": cases_core.DATA_CASES}
EXEMPT = {**cases_core.EXEMPT}
CASES = [case for cases in PACKAGES.values() for case in cases]


def test_every_public_callable_has_a_case():
    covered = {case.name for case in CASES} | set(EXEMPT)
    missing = sorted(set(public_callables(PACKAGES)) - covered)
    assert not missing, f"public callables without a bad-input case in tests/api/cases_*.py: {missing}"


def _probes():
    for case in CASES:
        kwargs = case.example(np.random.default_rng(0))
        for argument, value in kwargs.items():
            if argument in case.skip:
                continue
            for kind, bad in bad_values(value):
                if kind not in case.accepts.get(argument, ()):
                    yield pytest.param(case, argument, kind, bad, id=f"{case.name}-{argument}-{kind}")


def test_examples_are_valid_calls():
    for case in CASES:
        (case.call or case.target)(**case.example(np.random.default_rng(0)))


@pytest.mark.parametrize("case, argument, kind, bad", list(_probes()))
def test_bad_input_is_refused_clearly(case, argument, kind, bad):
    kwargs = case.example(np.random.default_rng(0))
    kwargs[argument] = bad
    errors = (ValueError, TypeError, KeyError) if isinstance(case.example(np.random.default_rng(0))[argument], str) \
        else (ValueError, TypeError)  # a registry lookup by an unknown name may be a KeyError
    with pytest.raises(errors) as caught:
        (case.call or case.target)(**kwargs)
    assert raised_by_refimpl(caught.tb), f"raised from outside refimpl: {caught.value!r}"
    message = str(caught.value)
    names = [argument] if kind not in SHAPE_KINDS else list(kwargs)
    assert any(name in message for name in names), f"message does not name {names}: {message}"
