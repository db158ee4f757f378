fw_add_test(test_losses TORCH
  SOURCES unit/losses/test_sft_loss.cpp unit/losses/test_logprobs.cpp unit/losses/test_dpo_loss.cpp
          unit/losses/test_reward_loss.cpp unit/losses/test_ppo_loss.cpp
  LIBS fw_losses
  LABELS unit)
