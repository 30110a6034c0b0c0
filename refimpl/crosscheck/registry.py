r"""The registry of cross-check cases: a hand-derived gradient of refimpl next to its reference in each
autograd framework.

A :class:`Case` names one function of refimpl, draws its inputs from a seed, computes its value and
hand-derived gradients, and holds a reference forward pass per framework (``"torch"``, ``"jax"``) from
which that framework's float64 autograd derives the same gradients (:mod:`refimpl.crosscheck.frameworks`).
Every case computes one array ``value`` and, for each input name in ``wrt``, the gradient
``grad_<name>`` of :math:`\langle \mathrm{value}, w\rangle` with :math:`w` the input named ``cotangent``
(a vector-Jacobian product), or of the sum of ``value`` when there is no cotangent (a scalar loss).

Each topic registers its cases in one module, ``refimpl/<topic>/crosscheck.py``, found by
:func:`refimpl.experiments.discover` like the experiments are; the core cases live in
``refimpl/foundation/crosscheck.py``, since the library does not import this package. The frameworks are
imported only inside the reference functions, never when a case is registered.
"""

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

TOLERANCE = 1e-10
KINK_MARGIN = 1e-3
ABSOLUTE_FLOOR = 1e-2  # of max(1, max|reference|): see relative_error

_cases = {}


@dataclass(frozen=True)
class Case:
    """One cross-checked function.

    Attributes
    ----------
    name : str, unique, ``"<topic>.<function>"`` with the variant in brackets (``"core.two_layer[numba]"``)
    topic : str, the topic that registers it (``--topic`` selects on it)
    equation : str, what the function computes (LaTeX), written into the golden-vector manifest
    inputs : callable ``rng -> dict`` of NumPy arrays (float64; labels int64), shapes and values drawn from
        the generator, ReLU inputs at least ``KINK_MARGIN`` away from their kinks
    compute : callable ``inputs -> dict`` with ``"value"`` and ``"grad_<name>"`` for each name of ``wrt``,
        computed by refimpl (forward and hand-derived backward)
    wrt : tuple of the input names the gradients are taken with respect to
    references : mapping framework name -> forward pass ``f(**tensors) -> tensor`` in that framework
    cotangent : name of the input holding ∂L/∂value (None: the gradients are those of ``value.sum()``)
    """

    name: str
    topic: str
    equation: str
    inputs: Callable
    compute: Callable
    wrt: tuple
    references: Mapping = field(default_factory=dict)
    cotangent: str | None = None

    def output_names(self):
        """``("value", "grad_<name>", ...)``: the arrays every computation of this case returns."""
        return ("value", *(f"grad_{name}" for name in self.wrt))

    def draw(self, seed, tries=100):
        """The inputs of this case for ``seed``, independent of the other cases and of their order.

        A draw where a gradient vanishes identically (every ReLU inactive, no margin violated) would check
        nothing of it: it is drawn again from the same generator, and a ``RuntimeError`` says so after ``tries``.
        """
        rng = np.random.default_rng([seed, zlib.crc32(self.name.encode())])
        for _ in range(tries):
            inputs = self.inputs(rng)
            outputs = self.run_refimpl(inputs)
            if all(np.any(outputs[f"grad_{name}"]) for name in self.wrt):
                return inputs
        raise RuntimeError(f"case {self.name!r}: every one of {tries} draws had a gradient that is identically 0")

    def run_refimpl(self, inputs):
        """refimpl's value and gradients on ``inputs``, as float64 arrays keyed like :meth:`output_names`."""
        computed = self.compute(inputs)
        return {name: np.asarray(computed[name], dtype=np.float64) for name in self.output_names()}


def register(case):
    """Add ``case`` to the registry; a second case of the same name is refused."""
    if case.name in _cases:
        raise ValueError(f"a cross-check case named {case.name!r} is already registered")
    if case.cotangent is not None and case.cotangent in case.wrt:
        raise ValueError(f"case {case.name!r}: the cotangent {case.cotangent!r} cannot also be in wrt")
    _cases[case.name] = case
    return case


def unregister(name):
    """Remove the case ``name`` (tests register a deliberately wrong case and remove it after)."""
    del _cases[name]


def cases(topic=None):
    """Every registered case by name (of one ``topic`` if given), after importing each topic's
    ``crosscheck`` module."""
    from refimpl.experiments import discover

    discover("crosscheck")
    selected = {name: case for name, case in sorted(_cases.items()) if topic in (None, case.topic)}
    if topic is not None and not selected:
        known = sorted({case.topic for case in _cases.values()})
        raise KeyError(f"no cross-check cases for topic {topic!r}; known topics: {', '.join(known)}")
    return selected


def relative_error(ours, reference):
    r"""Largest :math:`|a - b| / (|b| + 10^{-2}\max(1, \max|b|))` over the elements: relative where the
    reference is large, with an absolute floor of 1e-12 (at ``TOLERANCE``) of the array's scale where it
    is near zero, the criterion of the torch tests."""
    ours, reference = np.asarray(ours, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if ours.shape != reference.shape:
        return np.inf
    if ours.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(reference))))
    return float(np.max(np.abs(ours - reference) / (np.abs(reference) + ABSOLUTE_FLOOR * scale)))


def shapes(arrays):
    """``"x 3×4, w 2×4, b 2"``: the names and shapes of a dict of arrays (a scalar shows as ``()``)."""
    return ", ".join(f"{name} {'×'.join(map(str, np.shape(a))) or '()'}" for name, a in arrays.items())


# ---------------------------------------------------------------------------------------------------------------
# Drawing inputs from a generator
# ---------------------------------------------------------------------------------------------------------------

def dims(rng, count, low=1, high=6):
    """``count`` integers drawn uniformly from [low, high]."""
    return tuple(int(k) for k in rng.integers(low, high + 1, size=count))


def uniform(rng, shape, bound=3.0):
    """float64 array of ``shape``, elements uniform on [−bound, bound]."""
    return rng.uniform(-bound, bound, size=shape)


def scalar(rng, low, high):
    """A 0-d float64 array uniform on [low, high] (a step size, a scale)."""
    return np.array(rng.uniform(low, high))


def off_kink(rng, shape, bound=3.0, margin=KINK_MARGIN):
    """float64 array whose elements lie in [−bound, −margin] ∪ [margin, bound] (inputs of ReLU-type
    functions, drawn away from the kink at 0)."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(margin, bound, size=shape)


def labels(rng, n, n_classes):
    """int64 class labels (n,) in [0, n_classes)."""
    return rng.integers(0, n_classes, size=n).astype(np.int64)


def until_off_kinks(rng, draw, preactivations, margin=KINK_MARGIN, tries=1000):
    """``draw(rng)`` again until every array of ``preactivations(inputs)`` is at least ``margin`` from 0:
    derived ReLU inputs (``X @ U.T``) cannot be drawn off their kinks directly."""
    for _ in range(tries):
        inputs = draw(rng)
        if all(np.all(np.abs(z) >= margin) for z in preactivations(inputs)):
            return inputs
    raise RuntimeError(f"no draw in {tries} tries kept every pre-activation {margin} away from 0")
