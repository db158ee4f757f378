// PPO for language models, as pure tensor functions: the per-token KL estimators, the
// reward with its KL penalty, generalised advantage estimation, masked whitening, the
// clipped policy and value losses, and the adaptive KL controller.
//
// The formulas are TRL's PPO (trl <= 0.x, trl/trainer/ppo_trainer.py "PPOv2", itself
// after Huang et al. 2024, "The N+ Implementation Details of RLHF with PPO"); TRL 1.16,
// the version installed here, no longer ships PPO, so the tests check hand-derived values
// from the published formulas:
//
//   KL estimators, with logr = ref_logprob - logprob at each sampled token:
//     k1 = -logr                         (unbiased, can be negative)
//     k3 = (exp(logr) - 1) - logr        (Schulman 2020, "Approximating KL Divergence";
//                                         non-negative, lower variance)
//   rewards[b,t] = -kl_coef * kl[b,t], plus score[b] at the last response token of row b.
//   GAE (Schulman et al. 2016), γ and λ, values and rewards zero on padding:
//     δ_t = r_t + γ V_{t+1} - V_t   (V_T = 0),   A_t = δ_t + γλ A_{t+1},   returns = A + V
//   advantages are then whitened over the response tokens (masked_whiten, unbiased
//   variance, +1e-8) and zeroed on padding.
//   Policy loss (Schulman et al. 2017, Eq. 7), ratio = exp(logprob - old_logprob):
//     max(-A·ratio, -A·clip(ratio, 1-ε, 1+ε)), masked mean over response tokens.
//   Value loss: 0.5 · masked mean of max((V - R)², (clip(V, V_old ± ε_v) - R)²).
//
// Shapes: [B,T] over response tokens; mask [B,T] bool (true = a response token, false =
// padding after the end). Everything is float32.
#pragma once

#include <array>
#include <ATen/Tensor.h>

#include <string>

#include "core/enum_names.h"

namespace fw::losses {

// Mean of x over mask (true entries); a scalar tensor.
at::Tensor masked_mean(const at::Tensor& x, const at::Tensor& mask);

// Variance of x over mask; unbiased (n / (n - 1)) as TRL; n < 2 throws fw::Error.
at::Tensor masked_var(const at::Tensor& x, const at::Tensor& mask, bool unbiased = true);

// (x - mean) / sqrt(var + 1e-8) over mask; shift_mean = false adds the mean back.
at::Tensor masked_whiten(const at::Tensor& x, const at::Tensor& mask, bool shift_mean = true);

// The sums a whitening over several shards needs (data parallel: summed over the ranks,
// then whiten_with): sum of x, of x², and the count, over mask, in double precision.
struct MaskedMoments {
  double sum = 0, sum_sq = 0, count = 0;
  double mean() const { return sum / count; }
  double unbiased_var() const;  // throws fw::Error when count < 2
};
MaskedMoments masked_moments(const at::Tensor& x, const at::Tensor& mask);
// masked_whiten with the given mean and variance; 0 where mask is false.
at::Tensor whiten_with(const at::Tensor& x, const at::Tensor& mask, double mean, double var, bool shift_mean = true);

enum class KlEstimator { K1, K3 };
constexpr std::array<EnumName<KlEstimator>, 2> enum_names(KlEstimator) {
  return {{{KlEstimator::K1, "k1"}, {KlEstimator::K3, "k3"}}};
}
KlEstimator kl_estimator_from_name(const std::string& name);  // "k1" | "k3"

// Per-token KL estimate of the policy from the reference at the sampled tokens: [B,T],
// zero where mask is false.
at::Tensor kl_per_token(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, const at::Tensor& mask,
                        KlEstimator estimator);

// [B,T] rewards: -kl_coef * kl everywhere on the response, plus scores[b] at
// last_index[b] (the last response token of row b). scores [B], last_index [B] int64.
at::Tensor kl_penalised_rewards(const at::Tensor& scores, const at::Tensor& kl, const at::Tensor& last_index,
                                const at::Tensor& mask, double kl_coef);

struct Gae {
  at::Tensor advantages;  // [B,T] whitened over the mask, 0 on padding
  at::Tensor returns;     // [B,T] raw advantages + values (the value target)
};
// whiten = false leaves the advantages raw (0 on padding), e.g. to whiten them over all
// ranks with masked_moments / whiten_with.
Gae generalized_advantages(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& mask, double gamma,
                           double lam, bool whiten = true);

struct PolicyLoss {
  at::Tensor loss;       // scalar, differentiable in logprobs
  double clipfrac = 0;   // share of tokens where the clipped term was the larger (policy/clipfrac)
  double approxkl = 0;   // 0.5 · mean((logprob - old)²) (policy/approxkl)
  double ratio_mean = 0; // mean ratio over the mask
};
PolicyLoss ppo_policy_loss(const at::Tensor& logprobs, const at::Tensor& old_logprobs, const at::Tensor& advantages,
                           const at::Tensor& mask, double cliprange);

struct ValueLoss {
  at::Tensor loss;      // scalar, differentiable in values
  double clipfrac = 0;  // val/clipfrac
};
ValueLoss ppo_value_loss(const at::Tensor& values, const at::Tensor& old_values, const at::Tensor& returns,
                         const at::Tensor& mask, double cliprange_value);

// Adaptive KL coefficient (Ziegler et al. 2019): after a batch of n_steps samples with
// mean KL `current`, value *= 1 + clip(current / target - 1, -0.2, 0.2) · n_steps / horizon.
struct AdaptiveKl {
  double value = 0.05;
  double target = 6.0;
  double horizon = 10000.0;
  void update(double current, int64_t n_steps);
};

}  // namespace fw::losses
