#include "rollout/decode_batch.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <optional>

#include "core/error.h"
#include "model/decode_step.h"
#include "model/fused_linear.h"
#include "model/kv_cache.h"
#include "rollout/greedy.h"

namespace fw::rollout {

struct DecodeBatch::State {
  model::LlamaForCausalLM lm{nullptr};
  std::vector<int64_t> eos_ids;
  int64_t pad_id = 0;
  std::function<std::string(const std::vector<int64_t>&)> detokenize;
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;
  std::optional<model::FusedLinear> head;

  struct Row {
    int64_t handle = 0;
    SequenceSpec spec;
    Generation gen;
    at::Generator rng;
  };
  std::vector<Row> rows;                 // batch order
  std::unique_ptr<model::KVCache> cache; // rows' keys and values
  at::Tensor logits;                     // [b,V]: each row's next-token logits
  at::Tensor next_pos;                   // [b,1]: the position of each row's next token
  int64_t next_handle = 0;
};

DecodeBatch::DecodeBatch(model::LlamaForCausalLM lm, std::vector<int64_t> eos_ids, int64_t pad_id,
                         std::function<std::string(const std::vector<int64_t>&)> detokenize)
    : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.lm = lm;
  s.eos_ids = std::move(eos_ids);
  s.pad_id = pad_id;
  s.detokenize = std::move(detokenize);
  const at::Tensor p = lm->parameters().front();
  s.device = p.device();
  s.dtype = p.scalar_type();
  // The LM head packed as generate() packs it, for a typical serving batch.
  const int64_t pack_rows = model::decode_pack_rows(lm->config(), 8, s.dtype, 1 << 20);
  if (lm->lm_head) s.head.emplace(std::vector<const torch::nn::LinearImpl*>{lm->lm_head.get()}, false, pack_rows);
  else s.head.emplace(std::vector<at::Tensor>{lm->model->embed_tokens->weight}, std::vector<at::Tensor>{}, false, pack_rows);
}

DecodeBatch::~DecodeBatch() = default;

int64_t DecodeBatch::live() const { return static_cast<int64_t>(s_->rows.size()); }
int64_t DecodeBatch::filled_slots() const { return s_->cache ? s_->cache->length : 0; }

std::vector<int64_t> DecodeBatch::add(const std::vector<SequenceSpec>& specs) {
  State& s = *s_;
  for (const auto& sp : specs) {
    if (sp.prompt.empty()) throw_invalid("empty prompt: every prompt needs at least one token");
    if (sp.max_new_tokens < 1) throw_invalid("max_new_tokens must be >= 1", {.key = "max_new_tokens"});
    validate(sp.sampling);
    if (sp.sampling.repetition_penalty != 1.0)
      throw_invalid("a decode batch has no repetition penalty", {.key = "repetition_penalty"});
    if (!sp.stop_strings.empty() && !s.detokenize)
      throw_invalid("stop strings need a detokenize function", {.key = "stop_strings"});
    for (const auto& st : sp.stop_strings)
      if (st.empty()) throw_invalid("empty stop string", {.key = "stop_strings"});
  }
  std::vector<int64_t> handles;
  if (specs.empty()) return handles;
  at::NoGradGuard no_grad;
  const auto long_opts = at::TensorOptions().dtype(at::kLong);
  const int64_t B = static_cast<int64_t>(specs.size());

  // Identical prompts (n choices of one request) are prefilled once.
  std::vector<int64_t> unique, expand(B);
  std::map<std::vector<int64_t>, int64_t> row_of;
  int64_t L = 0, budget = 0;
  for (int64_t b = 0; b < B; ++b) {
    auto [it, fresh] = row_of.emplace(specs[b].prompt, static_cast<int64_t>(unique.size()));
    if (fresh) unique.push_back(b);
    expand[b] = it->second;
    L = std::max<int64_t>(L, static_cast<int64_t>(specs[b].prompt.size()));
    budget = std::max(budget, specs[b].max_new_tokens);
  }
  const int64_t U = static_cast<int64_t>(unique.size());
  at::Tensor ids = at::full({U, L}, s.pad_id, long_opts), mask = at::zeros({U, L}, long_opts);
  for (int64_t u = 0; u < U; ++u) {
    const auto& p = specs[unique[u]].prompt;
    const int64_t n = static_cast<int64_t>(p.size());
    ids[u].narrow(0, L - n, n).copy_(at::tensor(p, long_opts));
    mask[u].narrow(0, L - n, n).fill_(1);
  }
  ids = ids.to(s.device);
  mask = mask.to(s.device);
  const at::Tensor positions = (mask.cumsum(1) - 1).clamp_min(0);

  // [U,...] prefill, then one cache row per sequence.
  model::KVCache fresh(s.lm->config(), U, L + budget, s.dtype, s.device);
  const at::Tensor hidden = s.lm->model->forward(ids, {.position_ids = positions, .attention_mask = mask, .cache = &fresh});
  at::Tensor logits = s.head->forward(hidden.select(1, L - 1));  // [U,V]
  at::Tensor next_pos = positions.narrow(1, L - 1, 1) + 1;         // [U,1]
  if (U < B) {
    const at::Tensor idx = at::tensor(expand, long_opts).to(s.device);
    fresh.select_rows(idx);
    logits = logits.index_select(0, idx);
    next_pos = next_pos.index_select(0, idx);
  }

  if (s.rows.empty()) {
    s.cache = std::make_unique<model::KVCache>(std::move(fresh));
    s.logits = logits;
    s.next_pos = next_pos;
  } else {
    // Room for every row's remaining tokens after the merged, right-aligned prompt slots.
    const int64_t filled = std::max(s.cache->length, fresh.length);
    int64_t room = budget;
    for (const auto& r : s.rows)
      room = std::max(room, r.spec.max_new_tokens - static_cast<int64_t>(r.gen.tokens.size()));
    // Built whole before anything is replaced: a failure (out of memory) leaves the batch
    // as it was.
    model::KVCache merged = model::merge_right_aligned(*s.cache, fresh, filled + room);
    at::Tensor all_logits = at::cat({s.logits, logits});
    at::Tensor all_pos = at::cat({s.next_pos, next_pos});
    *s.cache = std::move(merged);
    s.logits = std::move(all_logits);
    s.next_pos = std::move(all_pos);
  }
  for (const auto& sp : specs) {
    handles.push_back(s.next_handle);
    s.rows.push_back({.handle = s.next_handle++, .spec = sp, .gen = {}, .rng = seeded_generator(s.device, sp.seed)});
  }
  return handles;
}

std::vector<std::pair<int64_t, Generation>> DecodeBatch::step(
    const std::function<bool(int64_t, const Generation&)>& on_token) {
  State& s = *s_;
  std::vector<std::pair<int64_t, Generation>> ended;
  if (s.rows.empty()) return ended;
  at::NoGradGuard no_grad;
  const int64_t b = static_cast<int64_t>(s.rows.size());
  const bool all_greedy =
      std::all_of(s.rows.begin(), s.rows.end(), [](const auto& r) { return r.spec.sampling.temperature == 0; });
  at::Tensor next, logp;  // [b]
  if (all_greedy) {
    std::tie(next, logp) = greedy_next(s.logits);
  } else {
    std::vector<at::Tensor> picks;
    std::vector<float> temps;
    for (int64_t r = 0; r < b; ++r) {
      const SamplingOptions& o = s.rows[r].spec.sampling;
      const at::Tensor row = s.logits.narrow(0, r, 1);
      picks.push_back(o.temperature == 0 ? row.argmax(-1).view({1})
                                         : at::multinomial(filter_logits(row, o).softmax(-1), 1, false, s.rows[r].rng).view({1}));
      temps.push_back(o.temperature > 0 ? static_cast<float>(o.temperature) : 1.0f);
    }
    next = at::cat(picks);
    const at::Tensor t = at::tensor(temps).to(s.device).unsqueeze(1);
    logp = (s.logits.to(at::kFloat) / t).log_softmax(-1).gather(1, next.unsqueeze(1)).squeeze(1);
  }
  int64_t k_max = -1;
  for (const auto& r : s.rows) k_max = std::max(k_max, r.spec.top_logprobs);
  at::Tensor raw_cpu, top_val_cpu, top_id_cpu;
  if (k_max >= 0) {
    const at::Tensor lsm = s.logits.to(at::kFloat).log_softmax(-1);
    raw_cpu = lsm.gather(1, next.unsqueeze(1)).squeeze(1).to(at::kCPU).contiguous();
    if (k_max > 0) {
      auto [v, i] = lsm.topk(std::min<int64_t>(k_max, lsm.size(1)), 1);
      top_val_cpu = v.to(at::kCPU).contiguous();
      top_id_cpu = i.to(at::kCPU).contiguous();
    }
  }
  const at::Tensor next_cpu = next.to(at::kCPU).contiguous();
  const at::Tensor logp_cpu = logp.to(at::kCPU, at::kFloat).contiguous();
  std::vector<int64_t> keep;
  for (int64_t r = 0; r < b; ++r) {
    auto& row = s.rows[r];
    Generation& g = row.gen;
    const int64_t token = next_cpu.data_ptr<int64_t>()[r];
    g.tokens.push_back(token);
    g.logprobs.push_back(logp_cpu.data_ptr<float>()[r]);
    if (row.spec.top_logprobs >= 0) {
      g.raw_logprobs.push_back(raw_cpu.data_ptr<float>()[r]);
      std::vector<TokenAlternative> alts;
      for (int64_t k = 0; k < row.spec.top_logprobs && top_val_cpu.defined() && k < top_val_cpu.size(1); ++k)
        alts.push_back({top_id_cpu[r][k].item<int64_t>(), top_val_cpu[r][k].item<float>()});
      g.top_alternatives.push_back(std::move(alts));
    }
    if (std::find(s.eos_ids.begin(), s.eos_ids.end(), token) != s.eos_ids.end()) g.hit_eos = true;
    else if (contains_stop_string(g.tokens, row.spec.stop_strings, s.detokenize)) g.hit_stop_string = true;
    const bool done = g.hit_eos || g.hit_stop_string || static_cast<int64_t>(g.tokens.size()) >= row.spec.max_new_tokens;
    if (on_token && !on_token(row.handle, g) && !done) g.cancelled = true;
    if (done || g.cancelled) ended.emplace_back(row.handle, std::move(g));
    else keep.push_back(r);
  }
  if (keep.empty()) {
    s.rows.clear();
    s.cache.reset();
    s.logits = at::Tensor();
    s.next_pos = at::Tensor();
    return ended;
  }
  if (static_cast<int64_t>(keep.size()) < b) {  // the ended rows leave the batch
    const at::Tensor idx = at::tensor(keep, at::TensorOptions().dtype(at::kLong)).to(s.device);
    s.cache->select_rows(idx);
    next = next.index_select(0, idx);
    s.next_pos = s.next_pos.index_select(0, idx);
    std::vector<State::Row> kept;
    for (int64_t r : keep) kept.push_back(std::move(s.rows[r]));
    s.rows.swap(kept);
    // Slots only the departed rows used are padding for all now: drop them, or a busy
    // server's cache would grow by a slot a step for as long as it never empties.
    s.cache->drop_leading_slots(s.cache->leading_padding());
  }
  const at::Tensor hidden = s.lm->model->forward(next.unsqueeze(1), {.position_ids = s.next_pos, .cache = s.cache.get()});
  s.logits = s.head->forward(hidden.squeeze(1));
  s.next_pos = s.next_pos + 1;
  return ended;
}

}  // namespace fw::rollout
