#include "losses/ppo.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace fw::losses {

at::Tensor masked_mean(const at::Tensor& x, const at::Tensor& mask) {
  const at::Tensor m = mask.to(x.scalar_type());
  return (x * m).sum() / m.sum().clamp_min(1);
}

at::Tensor masked_var(const at::Tensor& x, const at::Tensor& mask, bool unbiased) {
  const at::Tensor m = mask.to(x.scalar_type());
  const double n = m.sum().item<double>();
  if (unbiased && n < 2) throw_invalid("masked_var: an unbiased variance needs at least 2 unmasked values");
  const at::Tensor centred = x - masked_mean(x, mask);
  at::Tensor var = masked_mean(centred * centred, mask);
  if (unbiased) var = var * (n / (n - 1));
  return var;
}

at::Tensor masked_whiten(const at::Tensor& x, const at::Tensor& mask, bool shift_mean) {
  const at::Tensor mean = masked_mean(x, mask);
  at::Tensor w = (x - mean) * at::rsqrt(masked_var(x, mask) + 1e-8);
  if (!shift_mean) w = w + mean;
  return w;
}

double MaskedMoments::unbiased_var() const {
  if (count < 2) throw_invalid("whitening needs at least 2 unmasked values");
  const double m = mean();
  return std::max(0.0, (sum_sq - count * m * m) / (count - 1));
}

MaskedMoments masked_moments(const at::Tensor& x, const at::Tensor& mask) {
  const at::Tensor m = mask.to(at::kDouble);
  const at::Tensor xd = x.to(at::kDouble) * m;
  return {xd.sum().item<double>(), (xd * xd).sum().item<double>(), m.sum().item<double>()};
}

at::Tensor whiten_with(const at::Tensor& x, const at::Tensor& mask, double mean, double var, bool shift_mean) {
  at::Tensor w = (x - mean) * (1.0 / std::sqrt(var + 1e-8));
  if (!shift_mean) w = w + mean;
  return w.masked_fill(mask.logical_not(), 0.0);
}

KlEstimator kl_estimator_from_name(const std::string& name) { return enum_from_name_or_throw<KlEstimator>(name, "kl_estimator"); }

at::Tensor kl_per_token(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, const at::Tensor& mask,
                        KlEstimator estimator) {
  const at::Tensor logr = ref_logprobs - logprobs;
  const at::Tensor kl = estimator == KlEstimator::K1 ? -logr : (at::exp(logr) - 1) - logr;
  return kl.masked_fill(mask.logical_not(), 0.0);
}

at::Tensor kl_penalised_rewards(const at::Tensor& scores, const at::Tensor& kl, const at::Tensor& last_index,
                                const at::Tensor& mask, double kl_coef) {
  at::Tensor rewards = (-kl_coef * kl).masked_fill(mask.logical_not(), 0.0);
  const at::Tensor idx = last_index.to(at::kLong).unsqueeze(1);  // [B,1]
  return rewards.scatter_add(1, idx, scores.to(rewards.scalar_type()).unsqueeze(1));
}

Gae generalized_advantages(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& mask, double gamma,
                           double lam, bool whiten) {
  const at::Tensor pad = mask.logical_not();
  const at::Tensor r = rewards.masked_fill(pad, 0.0);
  const at::Tensor v = values.masked_fill(pad, 0.0);
  const int64_t T = r.size(1);
  std::vector<at::Tensor> reversed;
  at::Tensor last = at::zeros_like(r.select(1, 0));
  for (int64_t t = T - 1; t >= 0; --t) {
    const at::Tensor next_v = t + 1 < T ? v.select(1, t + 1) : at::zeros_like(last);
    const at::Tensor delta = r.select(1, t) + gamma * next_v - v.select(1, t);
    last = delta + gamma * lam * last;
    reversed.push_back(last);
  }
  std::reverse(reversed.begin(), reversed.end());
  at::Tensor adv = at::stack(reversed, 1);
  Gae out;
  out.returns = adv + v;
  if (whiten) adv = masked_whiten(adv, mask);
  out.advantages = adv.masked_fill(pad, 0.0);
  return out;
}

PolicyLoss ppo_policy_loss(const at::Tensor& logprobs, const at::Tensor& old_logprobs, const at::Tensor& advantages,
                           const at::Tensor& mask, double cliprange) {
  const at::Tensor log_ratio = logprobs - old_logprobs;
  const at::Tensor ratio = at::exp(log_ratio);
  const at::Tensor unclipped = -advantages * ratio;
  const at::Tensor clipped = -advantages * at::clamp(ratio, 1.0 - cliprange, 1.0 + cliprange);
  PolicyLoss out;
  out.loss = masked_mean(at::maximum(unclipped, clipped), mask);
  at::NoGradGuard no_grad;
  out.clipfrac = masked_mean((clipped > unclipped).to(at::kFloat), mask).item<double>();
  out.approxkl = 0.5 * masked_mean(log_ratio * log_ratio, mask).item<double>();
  out.ratio_mean = masked_mean(ratio, mask).item<double>();
  return out;
}

ValueLoss ppo_value_loss(const at::Tensor& values, const at::Tensor& old_values, const at::Tensor& returns,
                         const at::Tensor& mask, double cliprange_value) {
  const at::Tensor clipped_values = at::clamp(values, old_values - cliprange_value, old_values + cliprange_value);
  const at::Tensor l1 = (values - returns).pow(2);
  const at::Tensor l2 = (clipped_values - returns).pow(2);
  ValueLoss out;
  out.loss = 0.5 * masked_mean(at::maximum(l1, l2), mask);
  at::NoGradGuard no_grad;
  out.clipfrac = masked_mean((l2 > l1).to(at::kFloat), mask).item<double>();
  return out;
}

void AdaptiveKl::update(double current, int64_t n_steps) {
  const double error = std::clamp(current / target - 1.0, -0.2, 0.2);
  value *= 1.0 + error * static_cast<double>(n_steps) / horizon;
}

}  // namespace fw::losses
