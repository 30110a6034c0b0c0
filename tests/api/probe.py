"""Bad-input probes of the public API, generated from one valid example call per function.

Every public function and class (the ``__all__`` of every package, and of every module a package
exports) has a :class:`Case`: the object, a valid call, and the probes it may legitimately accept.
:func:`bad_values` derives the probes of each argument from the type of its valid value — ``None``, a
string, NaN, inf, an empty array, an extra axis, a wrong size, a wrong dtype, a negative or fractional
count, an unknown option — and the test asserts that each is refused with a ``ValueError`` or
``TypeError`` raised by refimpl's own code (the innermost frame of the traceback lies inside the
``refimpl`` package, not inside NumPy or numba) whose message names the argument. A new public
function without a case fails :func:`tests.api.test_bad_input.test_every_public_callable_has_a_case`.
"""

import importlib
import inspect
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import refimpl

REFIMPL_DIR = Path(refimpl.__file__).resolve().parent
SHAPE_KINDS = ("empty", "extra axis", "wrong size")


@dataclass(frozen=True)
class Case:
    """A public callable, a valid call of it and what it may accept.

    target : the public function or class (its qualified name is the case's name)
    example : function(rng) -> dict of keyword arguments of a valid call
    call : function(**kwargs) that makes the call, when it is not ``target`` itself (methods, say)
    accepts : {argument: kinds} of probes that are legitimately accepted (a shape-free element-wise
        layer accepts any shape; a default of None accepts None); anything else must be refused
    skip : arguments not probed (callables, caches built by a forward pass), each for a stated reason
    """

    target: object
    example: object
    call: object = None
    accepts: dict = field(default_factory=dict)
    skip: tuple = ()

    @property
    def name(self):
        return qualified_name(self.target)


def qualified_name(target):
    return f"{target.__module__}.{target.__qualname__}"


def public_callables(packages):
    """Qualified name -> object for every function and class in the ``__all__`` of ``packages`` (and of
    the modules they export), defined inside refimpl."""
    found, seen = {}, set()

    def visit(module):
        if module.__name__ in seen:
            return
        seen.add(module.__name__)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, v in vars(module).items()
                     if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]
        for attribute in names:
            value = getattr(module, attribute)
            if isinstance(value, types.ModuleType):
                if value.__name__.startswith("refimpl."):
                    visit(value)
            elif (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__.startswith("refimpl."):
                found[qualified_name(value)] = value

    for package in packages:
        visit(importlib.import_module(package))
    return found


def bad_values(value):
    """(kind, bad value) probes for an argument whose valid value is ``value``."""
    if isinstance(value, (bool, np.bool_)) or value is None or callable(value):
        return []
    if isinstance(value, np.random.Generator):
        return [("string", "seed"), ("fraction", 1.5)]
    if isinstance(value, str):
        return [("unknown option", "no-such-option"), ("none", None)]
    if isinstance(value, (int, np.integer)):
        return [("none", None), ("negative", -1), ("fraction", 1.5), ("string", "3")]
    if isinstance(value, (float, np.floating)):
        return [("none", None), ("nan", float("nan")), ("inf", float("inf")), ("string", "0.5")]
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return [("none", None), ("fraction", value + 0.5), ("negative", np.full_like(value, -1)),
                *_shape_probes(value)]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
        nan, inf = value.copy(), value.copy()
        nan.flat[0], inf.flat[-1] = np.nan, np.inf
        return [("none", None), ("string", "array"), ("nan", nan), ("inf", inf), ("complex", value + 0j),
                ("object", value.astype(object)), *_shape_probes(value)]
    return []


def _shape_probes(value):
    if value.ndim == 0:
        return [("extra axis", value[None])]
    probes = [("empty", value[:0]), ("extra axis", value[..., None])]
    if value.shape[-1] > 0:
        probes.append(("wrong size", np.concatenate([value, value[..., :1]], axis=-1)))
    return probes


def innermost_file(traceback):
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return Path(traceback.tb_frame.f_code.co_filename).resolve()


def raised_by_refimpl(traceback):
    """True when the innermost frame of ``traceback`` is refimpl's own code (not NumPy's or numba's)."""
    return innermost_file(traceback).is_relative_to(REFIMPL_DIR)
