#include "arena/local_chat.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <tuple>

#include "core/error.h"
#include "data/generation_prompt.h"
#include "data/tokenizer.h"
#include "model/checkpoint.h"
#include "rollout/generate.h"

namespace fw::arena {
namespace fs = std::filesystem;

struct LocalChatModel::State {
  std::string dir, name, template_label;
  data::TemplateKind tmpl = data::TemplateKind::Plain;
  std::optional<data::Tokenizer> tok_;  // set by load()
  model::LlamaForCausalLM lm{nullptr};
  LocalChatOptions opts;
  std::vector<int64_t> eos_ids;
  int64_t pad_id = 0;
  int64_t max_positions = 0;
  std::mt19937_64 seeds{std::random_device{}()};

  const data::Tokenizer& tok() const { return *tok_; }

  std::vector<int64_t> encode(const rollout::ChatRequest& r) const {
    const std::vector<int32_t> ids = data::encode_generation_prompt(tok(), tmpl, r.messages, "", "request");
    return std::vector<int64_t>(ids.begin(), ids.end());
  }
};

LocalChatModel::LocalChatModel(std::unique_ptr<State> s) : s_(std::move(s)) {}
LocalChatModel::LocalChatModel(LocalChatModel&&) noexcept = default;
LocalChatModel& LocalChatModel::operator=(LocalChatModel&&) noexcept = default;
LocalChatModel::~LocalChatModel() = default;

LocalChatModel LocalChatModel::load(const std::string& model_dir, LocalChatOptions opts) {
  if (opts.max_batch < 1) throw_invalid("max_batch must be >= 1", {.key = "max_batch"});
  if (opts.template_name == "none")
    throw_invalid("a chat model needs a chat template", {.key = "template", .hint = "auto, plain, chatml or llama2"});
  auto s = std::make_unique<State>();
  s->dir = model_dir;
  s->name = fs::path(model_dir).lexically_normal().filename().string();
  if (s->name.empty()) s->name = fs::path(model_dir).lexically_normal().parent_path().filename().string();
  s->tmpl = opts.template_name == "auto" ? data::declared_template(model_dir).value_or(data::TemplateKind::Plain)
                                         : data::template_from_name(opts.template_name);
  s->template_label = data::template_name(s->tmpl);
  s->tok_ = data::Tokenizer::load(model_dir);
  s->lm = model::load_causal_lm(model_dir, {.dtype = opts.dtype, .device = opts.device});
  s->lm->eval();
  for (int64_t e : s->lm->config().eos_token_ids) s->eos_ids.push_back(e);
  if (s->eos_ids.empty() && s->tok().eos_id() >= 0) s->eos_ids.push_back(s->tok().eos_id());
  s->pad_id = std::max(0, s->tok().pad_or_eos_id());
  s->max_positions = s->lm->config().max_position_embeddings;
  s->opts = std::move(opts);
  return LocalChatModel(std::move(s));
}

const std::string& LocalChatModel::name() const { return s_->name; }
const std::string& LocalChatModel::template_name() const { return s_->template_label; }
int64_t LocalChatModel::max_batch() const { return s_->opts.max_batch; }

namespace {

void validate_params(const rollout::ChatParams& p) {
  if (!(p.temperature >= 0)) throw_invalid("temperature must be >= 0", {.key = "temperature"});
  if (!(p.top_p > 0 && p.top_p <= 1)) throw_invalid("top_p must be in (0, 1]", {.key = "top_p"});
  if (p.max_tokens < 0) throw_invalid("max_tokens must be >= 0", {.key = "max_tokens"});
  for (const auto& s : p.stop)
    if (s.empty()) throw_invalid("empty stop string", {.key = "stop"});
}

}  // namespace

int64_t LocalChatModel::check(const rollout::ChatRequest& req) const {
  validate_params(req.params);
  if (req.messages.empty()) throw_invalid("no messages", {.key = "messages"});
  const int64_t n = static_cast<int64_t>(s_->encode(req).size());
  if (n >= s_->max_positions)
    throw_invalid("the prompt is " + std::to_string(n) + " tokens; " + s_->name + " has " +
                      std::to_string(s_->max_positions) + " positions",
                  {.key = "messages", .hint = "shorten the conversation"});
  return n;
}

std::vector<rollout::ChatResult> LocalChatModel::chat_batch(const std::vector<rollout::ChatRequest>& reqs) {
  State& s = *s_;
  std::vector<std::vector<int64_t>> prompts(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    check(reqs[i]);
    prompts[i] = s.encode(reqs[i]);
  }
  // Requests that can share one generate() call: equal sampling parameters and an equal
  // (clipped) token budget. Greedy ignores the seed.
  using Key = std::tuple<double, double, int64_t, std::optional<uint64_t>, std::vector<std::string>>;
  std::map<Key, std::vector<size_t>> groups;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto& p = reqs[i].params;
    const int64_t budget = std::min<int64_t>(p.max_tokens, s.max_positions - static_cast<int64_t>(prompts[i].size()));
    const bool greedy = p.temperature == 0;
    groups[Key{p.temperature, greedy ? 1.0 : p.top_p, budget, greedy ? std::nullopt : p.seed, p.stop}].push_back(i);
  }
  auto decode = [&s](const std::vector<int64_t>& ids) {
    return s.tok().decode(std::vector<int32_t>(ids.begin(), ids.end()));
  };
  std::vector<rollout::ChatResult> out(reqs.size());
  for (auto& [key, members] : groups) {
    const auto& [temperature, top_p, budget, seed, stop] = key;
    // Similar lengths together: less padding per batch.
    std::stable_sort(members.begin(), members.end(),
                     [&](size_t a, size_t b) { return prompts[a].size() < prompts[b].size(); });
    rollout::GenerateOptions g;
    g.max_new_tokens = budget;
    g.sampling = {.temperature = temperature, .top_k = 0, .top_p = top_p, .repetition_penalty = 1.0};
    g.eos_ids = s.eos_ids;
    g.pad_id = s.pad_id;
    g.stop_strings = stop;
    g.detokenize = decode;
    const uint64_t base_seed = seed ? *seed : s.seeds();
    for (size_t start = 0; start < members.size(); start += static_cast<size_t>(s.opts.max_batch)) {
      const size_t end = std::min(members.size(), start + static_cast<size_t>(s.opts.max_batch));
      std::vector<std::vector<int64_t>> batch;
      for (size_t k = start; k < end; ++k) batch.push_back(prompts[members[k]]);
      g.seed = base_seed + start;
      std::vector<rollout::Generation> gens = rollout::generate(s.lm, batch, g);
      for (size_t k = start; k < end; ++k) {
        rollout::Generation& gen = gens[k - start];
        rollout::ChatResult& r = out[members[k]];
        r.prompt_tokens = static_cast<int64_t>(prompts[members[k]].size());
        r.completion_tokens = static_cast<int64_t>(gen.tokens.size());
        std::vector<int64_t> text_ids = gen.tokens;
        if (gen.hit_eos && !text_ids.empty()) text_ids.pop_back();  // the EOS token itself
        r.content = decode(text_ids);
        size_t cut = std::string::npos;
        for (const auto& st : stop) cut = std::min(cut, r.content.find(st));
        if (cut != std::string::npos) r.content.resize(cut);
        r.finish_reason = gen.finish_reason();
        r.attempts = 1;
      }
    }
  }
  return out;
}

}  // namespace fw::arena
