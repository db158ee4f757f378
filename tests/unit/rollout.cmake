fw_add_test(test_rollout TORCH
  SOURCES unit/rollout/test_sampling.cpp unit/rollout/test_generate.cpp unit/rollout/test_score.cpp
          unit/model/tiny_models.cpp
  LIBS fw_rollout fw_model
  LABELS unit)
