fw_add_test(test_core
  SOURCES unit/core/test_rng.cpp unit/core/test_error.cpp unit/core/test_json_io.cpp unit/core/test_strings.cpp
  LIBS fw_core
  LABELS unit)

# Whether LibTorch's CUDA library is loaded at start-up (core/cuda_runtime.h).
fw_add_test(test_cuda_runtime TORCH
  SOURCES unit/core/test_cuda_runtime.cpp
  LIBS fw_core fw_dist
  LABELS unit)
