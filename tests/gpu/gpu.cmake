# CUDA tests (label gpu). Without a CUDA device they skip and say so.
fw_add_test(test_gpu TORCH
  SOURCES gpu/test_cuda_model.cpp unit/model/tiny_models.cpp
  LIBS fw_model fw_rollout
  LABELS gpu)
target_include_directories(test_gpu PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/model)

fw_add_test(test_gpu_ppo TORCH
  SOURCES gpu/test_cuda_ppo.cpp unit/model/tiny_models.cpp
  LIBS fw_trainer
  LABELS gpu)
target_include_directories(test_gpu_ppo PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/model)
