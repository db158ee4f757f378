fw_add_test(test_data_pref TORCH
  SOURCES unit/data/tokenizer_fixture.cpp unit/data_pref/test_preference_dataset.cpp
          unit/data_pref/test_collate_preference.cpp unit/data_pref/test_prompt_dataset.cpp
  LIBS fw_data_collate fw_losses
  LABELS unit)
