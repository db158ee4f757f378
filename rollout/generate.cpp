#include "rollout/generate.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/error.h"
#include "model/decode_step.h"
#include "model/fused_linear.h"
#include "rollout/greedy.h"

namespace fw::rollout {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

bool contains_stop_string(const std::vector<int64_t>& tokens, const std::vector<std::string>& stops,
                          const std::function<std::string(const std::vector<int64_t>&)>& detokenize) {
  if (stops.empty()) return false;
  const std::string text = detokenize(tokens);
  for (const auto& s : stops)
    if (text.find(s) != std::string::npos) return true;
  return false;
}

std::vector<Generation> generate(model::LlamaForCausalLM& lm, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerateOptions& opts, GenerateStats* stats) {
  validate(opts.sampling);
  if (opts.max_new_tokens < 0) throw_invalid("max_new_tokens must be >= 0", {.key = "max_new_tokens"});
  if (!opts.stop_strings.empty() && !opts.detokenize)
    throw_invalid("stop strings need a detokenize function", {.key = "stop_strings"});
  for (const auto& s : opts.stop_strings)
    if (s.empty()) throw_invalid("empty stop string", {.key = "stop_strings"});
  const int64_t B = static_cast<int64_t>(prompts.size());
  const int64_t max_new = opts.max_new_tokens;
  std::vector<Generation> out(B);
  if (B == 0 || max_new == 0) return out;

  at::NoGradGuard no_grad;
  const auto& params = lm->parameters();
  const at::Device device = params.front().device();
  const at::ScalarType dtype = params.front().scalar_type();
  const auto long_opts = at::TensorOptions().dtype(at::kLong);

  // Left padding keeps every sequence's last prompt token in the same column.
  int64_t L = 0;
  for (const auto& p : prompts) {
    if (p.empty()) throw_invalid("empty prompt: every prompt needs at least one token");
    L = std::max<int64_t>(L, static_cast<int64_t>(p.size()));
  }
  // Identical prompts are prefilled once: `unique` holds the first of each, `expand` maps
  // every sequence to its prompt's row among them.
  std::vector<int64_t> unique, expand(B);
  {
    std::map<std::vector<int64_t>, int64_t> row_of;
    for (int64_t b = 0; b < B; ++b) {
      auto [it, fresh] = row_of.emplace(prompts[b], static_cast<int64_t>(unique.size()));
      if (fresh) unique.push_back(b);
      expand[b] = it->second;
    }
  }
  const int64_t U = static_cast<int64_t>(unique.size());
  at::Tensor ids = at::full({U, L}, opts.pad_id, long_opts);
  at::Tensor mask = at::zeros({U, L}, long_opts);
  for (int64_t u = 0; u < U; ++u) {
    const auto& p = prompts[unique[u]];
    const int64_t n = static_cast<int64_t>(p.size());
    ids[u].narrow(0, L - n, n).copy_(at::tensor(p, long_opts));
    mask[u].narrow(0, L - n, n).fill_(1);
  }
  ids = ids.to(device);
  mask = mask.to(device);
  at::Tensor positions = (mask.cumsum(1) - 1).clamp_min(0);  // [U,L], 0 on padding

  model::KVCache cache(lm->config(), U, L + max_new, dtype, device);
  // The LM head (the largest product of a step), packed for oneDNN on a CPU as the decode
  // step's products are (model/decode_step.h).
  const int64_t pack_rows = model::decode_pack_rows(lm->config(), B, dtype, max_new);
  const model::FusedLinear head = lm->lm_head ? model::FusedLinear({lm->lm_head.get()}, false, pack_rows)
                                              : model::FusedLinear({lm->model->embed_tokens->weight}, {}, false, pack_rows);
  at::Generator gen = seeded_generator(device, opts.seed);

  auto t0 = Clock::now();
  at::Tensor hidden = lm->model->forward(ids, {.position_ids = positions, .attention_mask = mask, .cache = &cache});
  at::Tensor logits = head.forward(hidden.select(1, L - 1));  // [U,V]: a 2-D product is cheaper
  if (stats) {
    for (int64_t b = 0; b < B; ++b) stats->prompt_tokens += static_cast<int64_t>(prompts[b].size());
    (void)logits.sum().item<double>();  // waits for the prefill
    stats->prefill_seconds += since(t0);
  }
  auto t1 = Clock::now();
  at::Tensor next_pos = positions.narrow(1, L - 1, 1) + 1;  // [U,1]
  if (U < B) {  // every sequence gets its own copy of its prompt's cache row
    const at::Tensor idx = at::tensor(expand, long_opts).to(device);
    cache.select_rows(idx);
    logits = logits.index_select(0, idx);
    next_pos = next_pos.index_select(0, idx);
    ids = ids.index_select(0, idx);
    mask = mask.index_select(0, idx);
  }

  std::vector<int64_t> rows(B);  // batch row -> sequence index
  for (int64_t b = 0; b < B; ++b) rows[b] = b;
  // Repetition penalty: which tokens each row has seen so far (prompt included).
  const bool penalise = opts.sampling.repetition_penalty != 1.0;
  at::Tensor seen;
  if (penalise) {
    // scatter_add, not scatter: a padding slot must not overwrite a real occurrence.
    seen = at::zeros({B, lm->config().vocab_size}, at::TensorOptions().dtype(at::kFloat).device(device))
               .scatter_add_(1, ids, mask.to(at::kFloat)) > 0;
  }
  for (int64_t step = 0; step < max_new; ++step) {
    if (penalise) logits = apply_repetition_penalty(logits, seen, opts.sampling.repetition_penalty);
    at::Tensor next, logp;  // [b]
    if (opts.sampling.temperature == 0.0) {
      std::tie(next, logp) = greedy_next(logits);
    } else {
      next = sample_next(logits, opts.sampling, gen);
      logp = sampled_logprobs(logits, next, opts.sampling.temperature);
    }
    // Two device->host copies per step (none on CPU); EOS is checked on the host.
    const at::Tensor next_cpu = next.to(at::kCPU).contiguous();
    const at::Tensor logp_cpu = logp.to(at::kCPU, at::kFloat).contiguous();
    const int64_t* next_host = next_cpu.data_ptr<int64_t>();
    const float* logp_host = logp_cpu.data_ptr<float>();
    std::vector<int64_t> keep;
    for (size_t r = 0; r < rows.size(); ++r) {
      Generation& g = out[rows[r]];
      g.tokens.push_back(next_host[r]);
      g.logprobs.push_back(logp_host[r]);
      if (std::find(opts.eos_ids.begin(), opts.eos_ids.end(), next_host[r]) != opts.eos_ids.end()) g.hit_eos = true;
      else if (contains_stop_string(g.tokens, opts.stop_strings, opts.detokenize)) g.hit_stop_string = true;
      else keep.push_back(static_cast<int64_t>(r));
    }
    if (keep.empty() || step + 1 == max_new) break;
    if (penalise) seen.scatter_(1, next.unsqueeze(1), true);
    if (keep.size() < rows.size()) {  // drop finished sequences from the batch
      at::Tensor idx = at::tensor(keep, long_opts).to(device);
      cache.select_rows(idx);
      next = next.index_select(0, idx);
      next_pos = next_pos.index_select(0, idx);
      if (penalise) seen = seen.index_select(0, idx);
      std::vector<int64_t> kept_rows;
      for (int64_t r : keep) kept_rows.push_back(rows[r]);
      rows.swap(kept_rows);
    }
    hidden = lm->model->forward(next.unsqueeze(1), {.position_ids = next_pos, .cache = &cache});
    logits = head.forward(hidden.squeeze(1));
    next_pos = next_pos + 1;
  }
  if (stats) {
    stats->decode_seconds += since(t1);
    for (const auto& g : out) stats->generated_tokens += static_cast<int64_t>(g.tokens.size());
  }
  return out;
}

}  // namespace fw::rollout
