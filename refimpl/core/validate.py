"""Checks of user input with messages a user can act on.

Every public function of the library validates its arguments through these helpers, so that errors
read alike everywhere::

    ValueError: U must have shape (m, d_in) = (128, 784) to match X; got (128, 28)

No bare ``assert`` is used for user input (asserts vanish under ``python -O``).
"""

import numbers

import numpy as np


def as_float_array(name, value, *, ndim=None, dtype=np.float64):
    """Return ``value`` as a finite floating-point array, or raise naming ``name``.

    Parameters
    ----------
    name : str
        The parameter's name, used in the message.
    value : array_like
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    dtype : numpy dtype, optional
        Target dtype; ``None`` keeps a floating dtype as it is (integers become float64).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers; got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers; got {type(value).__name__}") from error
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {array.dtype}")
    target = dtype if dtype is not None else (array.dtype if array.dtype.kind == "f" else np.float64)
    array = array.astype(target, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            expected = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must have {expected} dimensions; got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} must be finite; it holds {bad} NaN or infinite value(s)")
    return array


def check_shape(name, array, expected, *, described=None, context=""):
    """Raise ``ValueError`` unless ``array.shape`` matches ``expected``.

    ``expected`` is a tuple whose entries are ints or ``None`` (any size). ``described`` names the
    axes, e.g. ``"(m, d_in)"``; ``context`` says why, e.g. ``"to match X with d_in = 784"``.
    """
    shape = np.shape(array)
    matches = len(shape) == len(expected) and all(
        want is None or want == got for want, got in zip(expected, shape)
    )
    if not matches:
        wanted = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
        if len(expected) == 1:
            wanted = wanted[:-1] + ",)"
        label = f"{described} = {wanted}" if described else wanted
        reason = f" {context}" if context else ""
        raise ValueError(f"{name} must have shape {label}{reason}; got {tuple(shape)}")
    return array


def check_positive(name, value, *, allow_zero=False):
    """Return ``value`` as a float if it is a finite number > 0 (or ≥ 0 with ``allow_zero``)."""
    number = check_real(name, value)
    if number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}; got {value!r}")
    return number


def check_real(name, value):
    """Return ``value`` as a float if it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return number


def check_int(name, value, *, minimum=None, maximum=None):
    """Return ``value`` as an int if it is an integer (not a bool) at least ``minimum`` and at most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}")
    return int(value)


def check_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_finite_step(step, total, **values):
    """Raise ``FloatingPointError`` naming the step if any of ``values`` is NaN or infinite.

    Training loops call this once per step with the quantities they track (the loss, usually)::

        check_finite_step(step, n_steps, loss=loss)
    """
    for name, value in values.items():
        if not np.all(np.isfinite(value)):
            raise FloatingPointError(
                f"{name} became {_describe_nonfinite(value)} at step {step} of {total}"
            )


def _describe_nonfinite(value):
    array = np.asarray(value, dtype=np.float64)
    return "nan" if np.isnan(array).any() else "inf"


def check_unregistered(kind, name, registered, new):
    """Refuse to register ``new`` under a ``name`` that ``registered`` already holds.

    Registering the same function again (same module and qualified name, as a module reload does) is
    allowed; anything else raises ``ValueError`` naming both, so a second entry never silently replaces the first.
    """
    def origin(function):
        return function if isinstance(function, str) else f"{function.__module__}.{function.__qualname__}"

    if origin(registered) != origin(new):
        raise ValueError(f"a {kind} named {name!r} is already registered ({origin(registered)}); "
                         f"refusing to replace it with {origin(new)}: choose another name")


def check_labels(name, labels, n, n_classes):
    """Return integer class ``labels`` of shape (n,) with entries in 0 .. n_classes − 1, or raise naming ``name``."""
    array = np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels; got dtype {array.dtype}")
    check_shape(name, array, (n,), described="(n,)", context=f"to match the inputs with n = {n}")
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(f"{name} must hold class labels in 0 .. {n_classes - 1} ({n_classes} classes); "
                         f"got values from {array.min()} to {array.max()}")
    return array


def check_rng(name, rng):
    """Return a ``numpy.random.Generator`` for ``rng``: a Generator is used as it is, a non-negative int
    seeds a new one; anything else raises ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"{name} must be a numpy.random.Generator or an int seed; got {type(rng).__name__} {rng!r}")
    return np.random.default_rng(check_int(name, rng, minimum=0))


def as_real_array(name, value, *, ndim=None):
    """Return ``value`` as a float64 array of real numbers, NaN and inf allowed, or raise naming ``name``.

    For gradients flowing back from a loss: a non-finite one comes from a non-finite loss, which the
    training loops report with their step number (:func:`check_finite_step`); everything else is
    checked as :func:`as_float_array` checks it.
    """
    kind = "U" if isinstance(value, (str, bytes)) or value is None else _dtype_kind(value)
    if kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers; got {type(value).__name__}"
                        + (f" of dtype kind {kind!r}" if kind != "U" else ""))
    array = np.asarray(value, dtype=np.float64)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {array.shape}")
    return array


def _dtype_kind(value):
    try:
        return np.asarray(value).dtype.kind
    except (TypeError, ValueError):  # a ragged sequence
        return "O"
