#include "trainer/ppo_experience.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>

#include "core/rng.h"
#include "trainer/setup.h"

namespace fw::trainer {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Calls fn(first_row, rows) over consecutive chunks of at most `chunk` rows (0 = one chunk).
template <class Fn>
void for_chunks(int64_t n, int64_t chunk, Fn fn) {
  const int64_t step = chunk > 0 ? chunk : n;
  for (int64_t start = 0; start < n; start += step) fn(start, std::min(step, n - start));
}

std::vector<int64_t> range(int64_t start, int64_t count) {
  std::vector<int64_t> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = start + i;
  return v;
}

bool finite(const at::Tensor& t) { return at::isfinite(t).all().item<bool>(); }

// masked_whiten over the rollouts of every rank: the moments are summed over the ranks.
at::Tensor whiten_over_ranks(dist::ProcessGroup& group, const at::Tensor& x, const at::Tensor& mask, bool shift_mean) {
  const losses::MaskedMoments local = losses::masked_moments(x, mask);
  const std::vector<double> sums = dist::all_reduce_sum(group, {local.sum, local.sum_sq, local.count});
  const losses::MaskedMoments all{sums[0], sums[1], sums[2]};
  return losses::whiten_with(x, mask, all.mean(), all.unbiased_var(), shift_mean);
}

}  // namespace

Experience make_experience(PpoModels& m, const std::vector<std::vector<int64_t>>& prompts, uint64_t seed,
                           double kl_coef, const ExperienceOptions& opts, at::Device device, dist::ProcessGroup* group) {
  at::NoGradGuard no_grad;
  AutocastGuard autocast(device, opts.dtype);
  const int64_t B = static_cast<int64_t>(prompts.size());
  Experience e;

  // 1. Generate (eval mode: the same numerics as the scoring passes below).
  auto t0 = Clock::now();
  m.policy->eval();
  std::vector<std::vector<int64_t>> responses(static_cast<size_t>(B));
  std::vector<float> unended(static_cast<size_t>(B), 0.0f);  // 1 = ran out of max_new_tokens
  for_chunks(B, opts.forward_batch_size, [&](int64_t start, int64_t n) {
    rollout::GenerateOptions g = opts.generate;
    g.seed = Rng::for_index(seed, static_cast<uint64_t>(start)).next();
    const std::vector<std::vector<int64_t>> chunk(prompts.begin() + start, prompts.begin() + start + n);
    std::vector<rollout::Generation> out = rollout::generate(m.policy, chunk, g);
    for (int64_t i = 0; i < n; ++i) {
      rollout::Generation& gen = out[static_cast<size_t>(i)];
      e.generated_tokens += static_cast<int64_t>(gen.tokens.size());
      e.ended += gen.hit_eos || gen.hit_stop_string;
      e.eos_tokens += gen.hit_eos;
      unended[static_cast<size_t>(start + i)] = gen.hit_eos || gen.hit_stop_string ? 0.0f : 1.0f;
      responses[static_cast<size_t>(start + i)] = std::move(gen.tokens);
    }
  });
  e.generate_seconds = seconds_since(t0);

  // 2. Score every row under the four models.
  t0 = Clock::now();
  e.batch = rollout::make_response_batch(prompts, responses, opts.generate.pad_id);
  const double temperature = opts.generate.sampling.temperature;
  std::vector<at::Tensor> lp, ref_lp, values, scores;
  for_chunks(B, opts.forward_batch_size, [&](int64_t start, int64_t n) {
    const rollout::ResponseBatch sub = n == B ? e.batch : e.batch.select(range(start, n));
    const int64_t R = e.batch.max_response;
    auto widen = [&](const at::Tensor& t) {  // [n,R_sub] -> [n,R]
      return at::constant_pad_nd(t, {0, R - t.size(1)}, 0.0);
    };
    lp.push_back(widen(rollout::response_logprobs(m.policy, sub, temperature).logprobs));
    ref_lp.push_back(widen(rollout::response_logprobs(m.reference, sub, temperature).logprobs));
    values.push_back(widen(rollout::response_values(m.value, sub)));
    scores.push_back(rollout::sequence_scores(m.reward, sub));
  });
  m.policy->train();
  e.mask = e.batch.response_mask.to(device);
  e.logprobs = at::cat(lp);
  e.ref_logprobs = at::cat(ref_lp);
  e.values = at::cat(values);
  e.raw_scores = at::cat(scores);
  // A response that never ended (max_new_tokens ran out) loses missing_eos_penalty.
  e.scores = e.raw_scores - opts.missing_eos_penalty * at::tensor(unended, at::kFloat).to(device);
  e.score_seconds = seconds_since(t0);

  // 3. KL-penalised rewards, GAE.
  e.kl = losses::kl_per_token(e.logprobs, e.ref_logprobs, e.mask, opts.kl_estimator);
  const at::Tensor last_index = (e.batch.response_lengths - 1).to(device);
  e.rewards = losses::kl_penalised_rewards(e.scores, e.kl, last_index, e.mask, kl_coef);
  const bool sharded = group && group->distributed();
  if (opts.whiten_rewards)  // TRL's whiten_rewards: before GAE, keeping the mean
    e.rewards = sharded ? whiten_over_ranks(*group, e.rewards, e.mask, /*shift_mean=*/false)
                        : losses::masked_whiten(e.rewards, e.mask, false).masked_fill(e.mask.logical_not(), 0.0);
  losses::Gae gae = losses::generalized_advantages(e.rewards, e.values, e.mask, opts.gamma, opts.lam, !sharded);
  e.advantages = sharded ? whiten_over_ranks(*group, gae.advantages, e.mask, true) : gae.advantages;
  e.returns = gae.returns;
  return e;
}

bool experience_is_finite(const Experience& e) {
  return finite(e.scores) && finite(e.logprobs) && finite(e.ref_logprobs) && finite(e.values) &&
         finite(e.advantages) && finite(e.returns);
}

}  // namespace fw::trainer
