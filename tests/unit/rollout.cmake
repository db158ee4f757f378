fw_add_test(test_rollout TORCH
  SOURCES unit/rollout/test_sampling.cpp unit/rollout/test_greedy.cpp unit/rollout/test_generate.cpp unit/rollout/test_score.cpp
          unit/rollout/test_text_stream.cpp unit/rollout/test_decode_batch.cpp
          unit/model/tiny_models.cpp
  LIBS fw_rollout fw_model
  LABELS unit)
fw_add_test(test_openai_client
  SOURCES unit/rollout/test_openai_client.cpp
  LIBS fw_rollout_http PkgConfig::HTTPLIB
  LABELS unit)
