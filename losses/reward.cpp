#include "losses/reward.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace fw::losses {

RewardLossOutput reward_loss(const at::Tensor& rewards_chosen, const at::Tensor& rewards_rejected,
                             const at::Tensor& margin, double center_rewards_coefficient) {
  if (!rewards_chosen.defined() || rewards_chosen.dim() != 1 || !rewards_rejected.defined() ||
      !rewards_rejected.sizes().equals(rewards_chosen.sizes()))
    throw_invalid("reward_loss: rewards_chosen and rewards_rejected must be [B] tensors of one shape");
  if (margin.defined() && !margin.sizes().equals(rewards_chosen.sizes()))
    throw_invalid("reward_loss: margin must be a [B] tensor like the rewards", {.key = "margin"});
  at::Tensor diff = rewards_chosen - rewards_rejected;
  RewardLossOutput out;
  out.loss = -at::log_sigmoid(margin.defined() ? diff - margin.to(diff.scalar_type()) : diff).mean();
  if (center_rewards_coefficient != 0.0)
    out.loss = out.loss + center_rewards_coefficient * (rewards_chosen + rewards_rejected).pow(2).mean();
  out.margins = diff.detach();
  out.accuracy = rewards_chosen.numel() == 0 ? 0.0 : (out.margins > 0).to(at::kDouble).mean().item<double>();
  return out;
}

}  // namespace fw::losses
