"""Every public callable refuses bad input clearly: see :mod:`tests.api.probe`."""

import importlib
import pkgutil
import re

import numpy as np
import pytest

import refimpl
import tests.api
from tests.api.probe import SHAPE_KINDS, bad_values, public_callables, raised_by_refimpl

# Every module tests/api/cases_<name>.py defines PACKAGES ({package: [Case, ...]}) and EXEMPT
# ({qualified name: reason}); a topic adds its own module, nothing here changes.
_MODULES = [importlib.import_module(f"tests.api.{m.name}") for m in pkgutil.iter_modules(tests.api.__path__)
            if m.name.startswith("cases_")]
PACKAGES = {package: cases for module in _MODULES for package, cases in module.PACKAGES.items()}
EXEMPT = {name: reason for module in _MODULES for name, reason in module.EXEMPT.items()}
CASES = [case for cases in PACKAGES.values() for case in cases]
TOPICS = sorted(m.name for m in pkgutil.iter_modules(refimpl.__path__) if m.ispkg)


def test_every_topic_package_is_probed():
    harness = {"crosscheck", "foundation"}  # library helper and the harness's own experiment: no public API
    missing = sorted(f"refimpl.{t}" for t in TOPICS if t not in harness and f"refimpl.{t}" not in PACKAGES)
    assert not missing, f"packages without a tests/api/cases_<name>.py module: {missing}"


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
    # a whole word: a one-letter argument such as ``t`` is not "named" by the t of "must"
    assert any(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message) for name in names), \
        f"message does not name {names}: {message}"
