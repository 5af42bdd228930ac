# CUDA toolchain setup, used only with MLFORGE_ENABLE_CUDA=ON.
# Without an explicit list we build real code for Ampere and Hopper plus PTX for newer GPUs; "native"
# is avoided because it fails on machines without a GPU (like CI, which still compiles everything).
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "80-real;90")
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 does not know nvcc's C++20 flag; device code is C++17
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
set(CMAKE_CUDA_VISIBILITY_PRESET hidden)
find_package(CUDAToolkit REQUIRED)
