"""Arrays cross the binding without copies, in both directions."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import torch

from reactor import engine
from reactor._mlforge import testing
from reactor.errors import InvalidArgumentError

_get_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_capsule_pointer.restype = ctypes.c_void_p
_get_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def test_numpy_input_is_borrowed_in_place():
    array = np.zeros((64, 32), dtype=np.float32)
    info = engine.describe_array(array)
    assert info.data == array.ctypes.data == testing.borrow_address(array)
    assert (info.dtype, info.shape, info.strides, info.device) == ("float32", (64, 32), (32, 1), "cpu")
    engine.fill_uniform(array, seed=1, low=1.0, high=2.0)
    assert array.min() >= 1.0  # the engine wrote into the caller's memory, not a copy
    assert array.max() < 2.0


def test_views_with_offsets_and_strides_are_described_not_copied():
    base = np.zeros((10, 10), dtype=np.float64)
    column = base[2:, 3]
    info = engine.describe_array(column)
    assert info.data == column.ctypes.data == base.ctypes.data + (2 * 10 + 3) * 8
    assert info.strides == (10,)
    assert not info.contiguous
    with pytest.raises(
        InvalidArgumentError, match=r"expected a C-contiguous array, got float64\[8\] on cpu \(strided\)"
    ):
        engine.reduce_sum(column)  # never silently copied to make it contiguous


def test_buffer_protocol_objects_are_accepted():
    raw = bytearray(16)
    assert engine.describe_array(raw).data == ctypes.addressof((ctypes.c_char * 16).from_buffer(raw))
    assert engine.describe_array(memoryview(raw).cast("f")).dtype == "float32"


def test_torch_cpu_tensor_is_borrowed_through_dlpack():
    tensor = torch.zeros(1000, dtype=torch.float64)
    info = engine.describe_array(tensor)
    assert info.data == tensor.data_ptr() == testing.borrow_address(tensor)
    assert info.dtype == "float64"
    engine.fill_normal(tensor, seed=3, mean=5.0, std=0.1)
    assert 4.5 < float(tensor.mean()) < 5.5
    sliced = tensor[10:]
    assert engine.describe_array(sliced).data == sliced.data_ptr()
    assert engine.reduce_sum(sliced) == pytest.approx(float(sliced.sum()), rel=1e-12)


def test_torch_special_dtypes_are_recognised():
    assert engine.describe_array(torch.zeros(2, dtype=torch.bfloat16)).dtype == "bfloat16"
    assert engine.describe_array(torch.zeros(2, dtype=torch.bool)).dtype == "bool"


def test_results_are_numpy_arrays_owning_engine_memory():
    result = engine.normal(1 << 16, seed=0, dtype=np.float32)
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.float32
    assert not result.flags.owndata  # numpy did not allocate (or copy) it
    owner = result.base
    assert type(owner).__name__ == "PyCapsule"
    # The capsule holds the engine's allocation, and numpy's data pointer is that allocation.
    assert _get_capsule_pointer(owner, b"mlforge.buffer") == result.ctypes.data
    assert result.ctypes.data % 64 == 0
    result[:] = 1.0  # writable, and freed by the capsule when the array dies
    del result, owner


def test_results_survive_their_creator_and_many_allocations_do_not_leak():
    arrays = [engine.uniform(1000, seed=i) for i in range(200)]
    assert all(a.shape == (1000,) for a in arrays)
    assert len({a.ctypes.data for a in arrays}) == 200


def test_tensor_requiring_grad_is_refused_with_the_producers_reason():
    tensor = torch.zeros(4, requires_grad=True)
    with pytest.raises(InvalidArgumentError, match=r"__dlpack__\(\) failed: .*detach"):
        engine.reduce_sum(tensor)
    assert engine.reduce_sum(tensor.detach()) == 0.0
