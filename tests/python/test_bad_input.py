"""Every value a caller can pass gets a result or a clear error: never a crash, hang or copy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reactor import engine
from reactor.errors import CapacityExceededError, InvalidArgumentError, ReactorError, UnavailableError


class FakeCudaArray:
    """Claims to be a CUDA array; the engine must refuse it cleanly without a CUDA build."""

    def __init__(self, typestr: str = "<f4") -> None:
        self.__cuda_array_interface__ = {
            "shape": (4,),
            "typestr": typestr,
            "data": (0xDEAD0000, False),
            "version": 3,
        }


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.arange(4), r"expected dtype float32 or float64, got int64\[4\]"),
        (np.zeros(4, dtype=np.complex64), r"unsupported element format 'Zf'"),
        (np.zeros(4, dtype=">f4"), r"non-native byte order"),
        (np.zeros(4, dtype=object), r"unsupported element format 'O'"),
        (np.zeros((1,) * 9, dtype=np.float32), r"at most 8 dimensions"),
        (np.zeros((4, 4), dtype=np.float32)[:, ::2], r"expected a C-contiguous array"),
        (np.zeros(4, dtype=np.float16), r"got float16\[4\]"),
    ],
)
def test_bad_arrays_are_rejected_with_the_parameter_named(bad, message):
    with pytest.raises(InvalidArgumentError, match=r"\[kernels.reduce_sum\] x: .*" + message):
        engine.reduce_sum(bad)


@pytest.mark.parametrize("not_an_array", [[1.0, 2.0], (1.0,), 3.0, "abc", None, {"a": 1}])
def test_non_arrays_are_a_type_error_not_a_silent_copy(not_an_array):
    with pytest.raises(TypeError, match=r"\[kernels.reduce_sum\] x: expected an array .* got "):
        engine.reduce_sum(not_an_array)


def test_read_only_output_is_refused():
    frozen = np.zeros(8)
    frozen.flags.writeable = False
    with pytest.raises(InvalidArgumentError, match=r"\[random.normal\] out: the array is read-only"):
        engine.fill_normal(frozen, seed=0)
    with pytest.raises(InvalidArgumentError, match=r"read-only"):
        engine.fill_uniform(b"immutable bytes!", seed=0)
    assert not frozen.any()


def test_cuda_arrays_without_cuda_build_are_unavailable_not_dereferenced():
    if engine.cuda_available():
        pytest.skip("this machine has a usable GPU")
    with pytest.raises(UnavailableError, match=r"built without CUDA|no CUDA device"):
        engine.reduce_sum(FakeCudaArray())
    assert engine.describe_array(FakeCudaArray()).device == "cuda"
    streamed = FakeCudaArray()
    streamed.__cuda_array_interface__["stream"] = 7  # pending writes there: must be ordered, cannot be
    with pytest.raises(UnavailableError, match=r"\[cuda.stream_wait\]|no CUDA device"):
        engine.reduce_sum(streamed)
    with pytest.raises(InvalidArgumentError, match="unsupported typestr"):
        engine.describe_array(FakeCudaArray("<c8"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: engine.normal(-1, seed=0), r"n must be a non-negative integer, got -1"),
        (lambda: engine.normal(10, seed=-1), r"seed must be an integer in \[0, 2\*\*64\), got -1"),
        (lambda: engine.normal(10, seed=2**64), r"seed must be an integer"),
        (lambda: engine.normal(10, seed=1.5), r"seed must be an integer"),
        (lambda: engine.normal(10, seed=0, std=math.nan), r"std must be a finite number, got nan"),
        (lambda: engine.normal(10, seed=0, std=-1.0), r"std must be finite and >= 0, got -1"),
        (lambda: engine.normal(10, seed=0, mean=math.inf), r"mean must be a finite number"),
        (lambda: engine.uniform(10, seed=0, low=2.0, high=1.0), r"low < high, got low=2, high=1"),
        (lambda: engine.uniform(10, seed=0, dtype=np.int32), r"dtype must be float32 or float64, got int32"),
        (lambda: engine.set_num_threads(0), r"n must be in \[1, 1024\], got 0"),
        (
            lambda: engine.fill_uniform(np.zeros(3, dtype=np.int64), seed=0),
            r"out: expected dtype float32 or float64",
        ),
        (lambda: engine.reduce_sum(np.zeros(3), stream="default"), r"stream must be None"),
    ],
)
def test_bad_parameters_are_named_in_the_error(call, message):
    with pytest.raises(InvalidArgumentError, match=message):
        call()


def test_huge_sizes_fail_cleanly():
    # Sizes whose byte count overflows: refused before any allocation, whatever the OS overcommits.
    with pytest.raises(CapacityExceededError, match=r"\[array.alloc\]"):
        engine.uniform(2**62, seed=0)
    with pytest.raises(CapacityExceededError, match=r"\[array.alloc\]"):
        engine.normal(2**61, seed=0, dtype=np.float64)


def test_misaligned_memory_is_refused():
    raw = np.frombuffer(bytearray(4 * 17), dtype=np.uint8)
    misaligned = raw[1:65].view(np.float32)
    assert misaligned.ctypes.data % 4 != 0
    with pytest.raises(InvalidArgumentError, match=r"not aligned to the item size 4"):
        engine.reduce_sum(misaligned)


def test_arrays_the_producer_refuses_to_export_are_invalid_arguments():
    with pytest.raises(InvalidArgumentError, match=r"\[kernels.reduce_sum\] x: the buffer protocol failed"):
        engine.reduce_sum(np.zeros(3, dtype="datetime64[s]"))
    with pytest.raises(InvalidArgumentError, match=r"dtype: numpy.dtype\(\) failed"):
        engine.uniform(3, seed=0, dtype=object())


class ForgedCudaArray:
    def __init__(self, **fields: object) -> None:
        self.__cuda_array_interface__ = {
            "shape": (4,),
            "typestr": "<f4",
            "data": (0xDEAD0000, False),
            "version": 3,
        }
        self.__cuda_array_interface__.update(fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"typestr": "<u40"}, "unsupported typestr"),
        ({"typestr": 5}, "is not a str"),
        ({"shape": (2**62, 2**62)}, "shape overflows"),
        ({"shape": "four"}, "is not a tuple"),
        ({"shape": (4.0,)}, "must hold integers"),
        ({"data": (1, False)}, "not aligned"),
        ({"data": (2**70, False)}, "out of range"),
        ({"mask": object()}, "masked CUDA arrays"),
        ({"strides": (3,)}, "not a multiple of the item size"),
    ],
)
def test_forged_cuda_array_interfaces_are_refused(fields, message):
    with pytest.raises(InvalidArgumentError, match=message):
        engine.describe_array(ForgedCudaArray(**fields))


def test_empty_inputs_are_fine():
    assert engine.reduce_sum(np.zeros(0, dtype=np.float32)) == 0.0
    assert engine.reduce_sum(np.zeros((3, 0))) == 0.0
    engine.fill_normal(np.zeros(0), seed=0)


_DTYPES = ["float32", "float64", "int8", "int64", "uint16", "bool", "float16", "complex64", ">f8"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dtype=st.sampled_from(_DTYPES),
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=10),
    step=st.integers(1, 3),
    reverse=st.booleans(),
    writable=st.booleans(),
)
def test_fuzz_the_array_boundary(dtype, shape, step, reverse, writable):
    """Random dtypes, shapes, strides and flags: each call either works correctly or raises a
    ReactorError/TypeError. A crash here would kill the whole test run."""
    base_shape = [d * step for d in shape]
    assume(int(np.prod(base_shape)) <= 100_000)  # the boundary is what is fuzzed, not memory
    base = np.zeros(base_shape, dtype=dtype)
    view = np.asarray(base[tuple(slice(None, None, step) for _ in shape)])  # 0-d stays an array
    if reverse and view.ndim:
        view = view[::-1]
    view.flags.writeable = writable
    try:
        info = engine.describe_array(view)
        assert info.shape == view.shape
        assert info.data == view.ctypes.data
    except ReactorError:
        assert view.ndim > 8 or dtype in ("complex64", ">f8")
    is_float = view.dtype in (np.float32, np.float64) and view.dtype.isnative
    usable = is_float and view.flags.c_contiguous and view.ndim <= 8
    try:
        total = engine.reduce_sum(view)
        assert usable, f"reduce_sum accepted {view.dtype} contiguous={view.flags.c_contiguous}"
        assert total == pytest.approx(float(np.sum(view, dtype=np.float64)), abs=1e-9)
    except ReactorError:
        assert not usable
    for fill, check in (
        (engine.fill_uniform, lambda a: a.size == 0 or (a.min() >= 0.0 and a.max() < 1.0)),
        (engine.fill_normal, lambda a: bool(np.isfinite(a).all())),
    ):
        try:
            fill(view, seed=1)
            assert usable and writable, "a fill accepted an unusable or read-only array"
            assert check(view)
        except ReactorError:
            assert not (usable and writable)


@settings(max_examples=200, deadline=None)
@given(
    n=st.one_of(
        st.integers(-(2**70), 1000),
        st.integers(2**63, 2**70),
        st.floats(allow_nan=True),
        st.none(),
        st.text(max_size=3),
    ),
    seed=st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True)),
    std=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)),
)
def test_fuzz_random_parameters(n, seed, std):
    try:
        result = engine.normal(n, seed=seed, std=std) if isinstance(n, int) and 0 <= n <= 1000 else None
    except ReactorError:
        return
    if result is None:
        with pytest.raises((ReactorError, TypeError)):
            engine.normal(n, seed=seed, std=std)
    else:
        assert result.shape == (n,)
        assert np.isfinite(result).all()
