"""Messages a user can act on: the parameter, its value and what was expected."""

import numpy as np
import pytest

from refimpl.core import validate


def test_as_float_array_rejects_non_numbers_and_non_finite_values():
    with pytest.raises(TypeError, match="x must be an array of numbers; got str"):
        validate.as_float_array("x", "abc")
    with pytest.raises(TypeError, match="x must hold real numbers; got dtype complex128"):
        validate.as_float_array("x", np.ones(2, dtype=complex))
    with pytest.raises(ValueError, match="x must be finite; it holds 2 NaN or infinite value"):
        validate.as_float_array("x", [1.0, np.nan, np.inf])
    with pytest.raises(ValueError, match=r"x must have 2 dimensions; got shape \(3,\)"):
        validate.as_float_array("x", [1, 2, 3], ndim=2)
    assert validate.as_float_array("x", [1, 2]).dtype == np.float64
    assert validate.as_float_array("x", np.ones(2, np.float32), dtype=None).dtype == np.float32


def test_scalars():
    assert validate.check_positive("dt", 0.5) == 0.5
    with pytest.raises(ValueError, match="dt must be > 0; got -1"):
        validate.check_positive("dt", -1)
    with pytest.raises(TypeError, match="steps must be an integer; got float 2.5"):
        validate.check_int("steps", 2.5)
    with pytest.raises(TypeError, match="steps must be an integer; got bool"):
        validate.check_int("steps", True)
    with pytest.raises(ValueError, match="steps must be >= 1; got 0"):
        validate.check_int("steps", 0, minimum=1)
    with pytest.raises(ValueError, match="lr must be finite"):
        validate.check_real("lr", float("nan"))


def test_check_shape_message_and_finite_step():
    with pytest.raises(ValueError, match=r"b must have shape \(d_out,\) = \(3,\) to match W; got \(4,\)"):
        validate.check_shape("b", np.zeros(4), (3,), described="(d_out,)", context="to match W")
    with pytest.raises(FloatingPointError, match="loss became nan at step 17 of 100"):
        validate.check_finite_step(17, 100, loss=float("nan"))
    with pytest.raises(FloatingPointError, match="weights became inf at step 3 of 9"):
        validate.check_finite_step(3, 9, loss=1.0, weights=np.array([1.0, np.inf]))
