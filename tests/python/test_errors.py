from __future__ import annotations

import builtins

import numpy as np
import pytest

from reactor import engine, errors
from reactor._mlforge import testing

TRANSLATIONS = [
    ("InvalidArgument", errors.InvalidArgumentError, ValueError),
    ("OutOfRange", errors.OutOfRangeError, IndexError),
    ("Timeout", errors.TimeoutError, builtins.TimeoutError),
    ("Unavailable", errors.UnavailableError, RuntimeError),
    ("CapacityExceeded", errors.CapacityExceededError, MemoryError),
    ("CorruptData", errors.CorruptDataError, ValueError),
]


@pytest.mark.parametrize(("kind", "reactor_class", "builtin_class"), TRANSLATIONS)
def test_each_engine_error_reaches_python_as_its_class(kind, reactor_class, builtin_class):
    message = f"[demo.op] something about {kind} and value 42"
    with pytest.raises(reactor_class) as caught:
        testing.raise_error(kind, message)
    assert str(caught.value) == message
    assert isinstance(caught.value, errors.ReactorError)
    assert isinstance(caught.value, builtin_class)
    assert type(caught.value) is reactor_class


def test_real_engine_errors_carry_op_parameter_and_value():
    with pytest.raises(
        errors.InvalidArgumentError,
        match=r"\[kernels.reduce_sum\] x: expected dtype float32 or float64, got int64\[3\]",
    ):
        engine.reduce_sum(np.arange(3))
    with pytest.raises(errors.CapacityExceededError, match=r"\[array.alloc\]"):
        engine.normal(2**62, seed=0)


def test_config_error_is_a_value_error():
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.ConfigError, errors.ReactorError)
