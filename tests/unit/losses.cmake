fw_add_test(test_losses TORCH
  SOURCES unit/losses/test_sft_loss.cpp
  LIBS fw_losses
  LABELS unit)
