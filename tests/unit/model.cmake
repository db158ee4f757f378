fw_add_test(test_model TORCH
  SOURCES unit/model/test_layers.cpp unit/model/test_kv_cache.cpp unit/model/test_decode_step.cpp unit/model/test_fast_linear.cpp unit/model/test_safetensors_io.cpp
          unit/model/test_llama_config.cpp unit/model/test_generation_config.cpp unit/model/tiny_models.cpp
  LIBS fw_model
  LABELS unit)
