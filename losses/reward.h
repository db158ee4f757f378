// Reward-model (Bradley–Terry) loss on scalar rewards, as TRL 1.16's
// RewardTrainer.compute_loss (trl/trainer/reward_trainer.py):
//
//   loss = mean_b[ -log σ(r_c - r_r - m) ] + c · mean_b[ (r_c + r_r)² ]
//
// r_c, r_r: the reward head's score of the chosen and the rejected sequence (DESIGN.md §5:
// the head at the last non-pad token). m: the optional per-pair margin (Llama 2, Touvron et
// al. 2023, §3.2.2; TRL's "margin" column). c: center_rewards_coefficient, the auxiliary
// loss that keeps rewards centred on zero (Eisenstein et al. 2023, "Helping or Herding?
// Reward Model Ensembles Mitigate but do not Eliminate Reward Hacking", Eq. 2; TRL
// recommends 0.01); 0 turns it off (TRL: None). tests/parity checks it against the
// installed TRL at 1e-6.
#pragma once

#include <ATen/Tensor.h>

namespace fw::losses {

struct RewardLossOutput {
  at::Tensor loss;        // scalar (differentiable)
  double accuracy = 0;    // share of pairs with r_c > r_r (TRL's "accuracy")
  at::Tensor margins;     // [B] r_c - r_r, detached (mean = TRL's "margin")
};

// rewards_chosen, rewards_rejected: [B]. margin: [B], or undefined for none.
// Shape mismatches throw fw::Error (InvalidInput).
RewardLossOutput reward_loss(const at::Tensor& rewards_chosen, const at::Tensor& rewards_rejected,
                             const at::Tensor& margin, double center_rewards_coefficient);

}  // namespace fw::losses
