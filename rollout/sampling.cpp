#include "rollout/sampling.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <limits>

#include "core/error.h"

namespace fw::rollout {

at::Generator seeded_generator(c10::Device device, uint64_t seed) {
  at::Generator gen = device.is_cuda() ? at::globalContext().defaultGenerator(device).clone()
                                       : at::make_generator<at::CPUGeneratorImpl>(seed);
  gen.set_current_seed(seed);
  return gen;
}

void validate(const SamplingOptions& o) {
  if (o.temperature < 0) throw_invalid("temperature must be >= 0", {.key = "temperature"});
  if (o.top_k < 0) throw_invalid("top_k must be >= 0", {.key = "top_k"});
  if (!(o.top_p > 0 && o.top_p <= 1)) throw_invalid("top_p must be in (0, 1]", {.key = "top_p"});
  if (!(o.repetition_penalty > 0)) throw_invalid("repetition_penalty must be > 0", {.key = "repetition_penalty"});
}

at::Tensor apply_repetition_penalty(const at::Tensor& logits, const at::Tensor& seen, double penalty) {
  if (penalty == 1.0) return logits;
  const at::Tensor penalised = at::where(logits > 0, logits / penalty, logits * penalty);
  return at::where(seen, penalised, logits);
}

at::Tensor sampled_logprobs(const at::Tensor& logits, const at::Tensor& tokens, double temperature) {
  at::Tensor scaled = logits.to(at::kFloat);
  if (temperature > 0 && temperature != 1.0) scaled = scaled / temperature;
  return scaled.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
}

at::Tensor filter_logits(const at::Tensor& logits_in, const SamplingOptions& o) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  at::Tensor logits = logits_in.to(at::kFloat);
  if (o.temperature > 0 && o.temperature != 1.0) logits = logits / o.temperature;
  if (o.top_k > 0 && o.top_k < logits.size(-1)) {
    at::Tensor kth = std::get<0>(logits.topk(o.top_k, -1)).narrow(-1, o.top_k - 1, 1);  // [B,1]
    logits = logits.masked_fill(logits < kth, neg_inf);
  }
  if (o.top_p < 1.0) {
    // Drop the low tail whose total probability is at most 1 - top_p; the most likely
    // token always stays.
    auto [sorted, order] = logits.sort(-1, /*descending=*/false);
    at::Tensor cum = sorted.softmax(-1).cumsum(-1);
    at::Tensor remove_sorted = cum <= (1.0 - o.top_p);
    remove_sorted.narrow(-1, logits.size(-1) - 1, 1).fill_(false);
    at::Tensor remove = at::zeros_like(remove_sorted).scatter(-1, order, remove_sorted);
    logits = logits.masked_fill(remove, neg_inf);
  }
  return logits;
}

at::Tensor sample_next(const at::Tensor& logits, const SamplingOptions& o, at::Generator& gen) {
  if (o.temperature == 0.0) return logits.argmax(-1);
  at::Tensor probs = filter_logits(logits, o).softmax(-1);
  return at::multinomial(probs, 1, /*replacement=*/false, gen).squeeze(-1);
}

}  // namespace fw::rollout
