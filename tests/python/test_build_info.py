from __future__ import annotations

import re

import reactor
from reactor import engine


def test_build_info_describes_engine_and_machine():
    info = engine.build_info()
    assert info.version == engine.version() == reactor.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", info.version)
    assert info.compiler.split()[0] in {"GCC", "Clang", "MSVC"}
    assert info.cxx_standard in {"C++20", "C++23"}
    assert info.simd in {"avx512", "avx2", "avx", "sse4.2", "sse2", "neon", "sve", "none"}
    assert info.num_threads == engine.num_threads() >= 1
    assert info.cuda_available == (info.cuda_device_count > 0)
    assert info.cuda_available == engine.cuda_available()
    if not info.cuda_compiled:
        assert not info.cuda_available
