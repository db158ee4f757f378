# CUDA tests (label gpu). Without a CUDA device they skip and say so.
fw_add_test(test_gpu TORCH
  SOURCES gpu/test_cuda_model.cpp unit/model/tiny_models.cpp
  LIBS fw_model fw_rollout
  LABELS gpu)
target_include_directories(test_gpu PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/model)
