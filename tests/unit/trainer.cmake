fw_add_test(test_trainer TORCH
  SOURCES unit/trainer/test_schedule.cpp unit/trainer/test_fused_adamw.cpp unit/trainer/test_labelled_logits.cpp unit/model/tiny_models.cpp unit/trainer/test_sft_data.cpp unit/trainer/test_sft_recipe.cpp
          unit/trainer/sft_fixtures.cpp unit/trainer/test_ppo_phases.cpp unit/trainer/test_dpo_batch.cpp
  LIBS fw_trainer fw_config
  LABELS unit
  TIMEOUT 600)
