fw_add_test(test_core
  SOURCES unit/core/test_rng.cpp unit/core/test_error.cpp unit/core/test_json_io.cpp unit/core/test_strings.cpp
  LIBS fw_core
  LABELS unit)

# Whether LibTorch's CUDA library is loaded at start-up (core/cuda_runtime.h).
fw_add_test(test_cuda_runtime TORCH
  SOURCES unit/core/test_cuda_runtime.cpp
  LIBS fw_core fw_dist
  LABELS unit)

# Every program that links LibTorch keeps libfw_cuda_runtime.so (nothing calls into it, so
# an --as-needed link would drop it): readelf over build/bin and build/tests.
add_test(NAME cuda_runtime_linked
         COMMAND ${FLYWHEEL_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/core/check_cuda_runtime_linked.py ${CMAKE_BINARY_DIR})
set_tests_properties(cuda_runtime_linked PROPERTIES LABELS unit)
if(TARGET torch_cuda)
  target_compile_definitions(test_cuda_runtime PRIVATE FW_TORCH_HAS_CUDA=1)
endif()
