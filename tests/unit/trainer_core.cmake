fw_add_test(test_trainer_core
  SOURCES unit/trainer_core/test_hash.cpp
          unit/trainer_core/test_checkpoint_dir.cpp
          unit/trainer_core/test_metrics_log.cpp
          unit/trainer_core/test_progress.cpp
          unit/trainer_core/test_run_fingerprint.cpp
  LIBS fw_trainer_core fw_config
       fw_trainer  # test_run_fingerprint builds recipes from trainer/{sft,ppo}_recipe.h (header-only)
  LABELS unit)
