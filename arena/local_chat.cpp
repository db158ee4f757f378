#include "arena/local_chat.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "core/error.h"
#include "data/generation_prompt.h"
#include "data/tokenizer.h"
#include "model/checkpoint.h"
#include "model/generation_config.h"
#include "rollout/decode_batch.h"
#include "rollout/generate.h"
#include "rollout/text_stream.h"

namespace fw::arena {
namespace fs = std::filesystem;

struct LocalChatModel::State {
  std::string dir, name, template_label;
  data::ChatTemplate tmpl = data::TemplateKind::Plain;
  std::optional<data::Tokenizer> tok_;  // set by load()
  model::LlamaForCausalLM lm{nullptr};
  LocalChatOptions opts;
  std::vector<int64_t> eos_ids;
  int64_t pad_id = 0;
  int64_t max_positions = 0;
  std::mt19937_64 seeds{std::random_device{}()};

  // Continuous batching: the running batch and what its sequences belong to.
  std::unique_ptr<rollout::DecodeBatch> batch;
  struct Choice {  // one live sequence
    int64_t ticket = 0, choice = 0, budget = 0;
    std::vector<std::string> stop;
    rollout::TextStream stream;
    size_t logprobs_sent = 0;  // tokens whose log-probs went out with an event
  };
  struct Job {
    CompletionJob job;
    CompletionResult result;
    int64_t unfinished = 0;
  };
  std::map<int64_t, Choice> choices;  // by DecodeBatch handle
  std::map<int64_t, Job> jobs;        // by ticket
  int64_t next_ticket = 0;

  const data::Tokenizer& tok() const { return *tok_; }
  std::string decode(const std::vector<int64_t>& ids) const {
    return tok().decode(std::vector<int32_t>(ids.begin(), ids.end()));
  }

  std::vector<int64_t> encode(const CompletionJob& j) const {
    if (!j.prompt && j.template_kwargs.is_object() && !j.template_kwargs.empty()) {
      nlohmann::ordered_json kwargs = tmpl.kwargs();
      for (const auto& [k, v] : j.template_kwargs.items()) kwargs[k] = v;
      const std::vector<int32_t> ids =
          data::encode_generation_prompt(tok(), tmpl.with_kwargs(std::move(kwargs)), j.messages, "", "request");
      return std::vector<int64_t>(ids.begin(), ids.end());
    }
    const std::vector<int32_t> ids =
        j.prompt ? data::encode_generation_prompt(tok(), std::nullopt, {}, *j.prompt, "request")
                 : data::encode_generation_prompt(tok(), tmpl, j.messages, "", "request");
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
    throw_invalid("a chat model needs a chat template", {.key = "template", .hint = data::kChatTemplateSettings});
  auto s = std::make_unique<State>();
  s->dir = model_dir;
  s->name = fs::path(model_dir).lexically_normal().filename().string();
  if (s->name.empty()) s->name = fs::path(model_dir).lexically_normal().parent_path().filename().string();
  s->tmpl = opts.template_name == "auto" ? data::declared_template(model_dir).value_or(data::TemplateKind::Plain)
                                         : data::load_chat_template(model_dir, opts.template_name);
  s->tmpl = s->tmpl.with_kwargs(opts.template_kwargs);
  s->template_label = s->tmpl.name();
  s->tok_ = data::Tokenizer::load(model_dir);
  s->lm = model::load_causal_lm(model_dir, {.dtype = opts.dtype, .device = opts.device});
  s->lm->eval();
  s->eos_ids = model::stop_token_ids(model_dir, s->lm->config(), s->tok().eos_id());
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
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature))
    throw_invalid("temperature must be a finite number >= 0", {.key = "temperature"});
  if (!(p.top_p > 0 && p.top_p <= 1)) throw_invalid("top_p must be in (0, 1]", {.key = "top_p"});
  if (p.max_tokens < 0) throw_invalid("max_tokens must be >= 0", {.key = "max_tokens"});
  for (const auto& s : p.stop)
    if (s.empty()) throw_invalid("empty stop string", {.key = "stop"});
}

// Choice i's seed: the request's for choice 0, then well-separated ones (splitmix64).
uint64_t choice_seed(uint64_t seed, int64_t choice) {
  if (choice == 0) return seed;
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(choice);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<TokenLogprob> logprobs_of(const rollout::Generation& g, size_t from, size_t to) {
  std::vector<TokenLogprob> out;
  for (size_t t = from; t < to && t < g.raw_logprobs.size(); ++t) {
    TokenLogprob lp{.id = g.tokens[t], .logprob = g.raw_logprobs[t], .top = {}};
    for (const auto& a : g.top_alternatives[t]) lp.top.emplace_back(a.id, a.logprob);
    out.push_back(std::move(lp));
  }
  return out;
}

}  // namespace

int64_t LocalChatModel::check(const rollout::ChatRequest& req) const {
  return check(CompletionJob{.messages = req.messages, .prompt = std::nullopt, .params = req.params});
}

int64_t LocalChatModel::check(const CompletionJob& job) const {
  validate_params(job.params);
  if (job.n < 1) throw_invalid("n must be >= 1", {.key = "n"});
  if (job.top_logprobs > 20) throw_invalid("top_logprobs must be in 0..20", {.key = "top_logprobs"});
  if (!job.prompt && job.messages.empty()) throw_invalid("no messages", {.key = "messages"});
  if (job.prompt && job.prompt->empty()) throw_invalid("empty prompt", {.key = "prompt"});
  const int64_t n = static_cast<int64_t>(s_->encode(job).size());
  if (n >= s_->max_positions)
    throw_invalid("the prompt is " + std::to_string(n) + " tokens; " + s_->name + " has " +
                      std::to_string(s_->max_positions) + " positions",
                  {.key = job.prompt ? "prompt" : "messages", .hint = "shorten it"});
  return n;
}

std::string LocalChatModel::token_bytes(int64_t id) const {
  const data::Tokenizer& tok = s_->tok();
  if (id < 0 || id >= tok.vocab_size() || tok.is_control(static_cast<int32_t>(id))) return "";
  const std::string piece = tok.id_to_piece(static_cast<int32_t>(id));
  // SentencePiece's byte fallback: "<0xAB>" is the byte 0xAB.
  if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>')
    return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
  std::string out;
  static const std::string kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's word boundary
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, 3, kSpace) == 0) {
      out += ' ';
      i += 3;
    } else {
      out += piece[i++];
    }
  }
  return out;
}

std::vector<rollout::ChatResult> LocalChatModel::chat_batch(const std::vector<rollout::ChatRequest>& reqs) {
  std::vector<CompletionJob> jobs;
  for (const auto& r : reqs) jobs.push_back(CompletionJob{.messages = r.messages, .prompt = std::nullopt, .params = r.params});
  std::vector<CompletionResult> done = complete(jobs);
  std::vector<rollout::ChatResult> out(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const CompletionChoice& c = done[i].choices.front();
    out[i] = {.content = c.text, .finish_reason = c.finish_reason, .prompt_tokens = done[i].prompt_tokens,
              .completion_tokens = c.completion_tokens, .attempts = 1};
  }
  return out;
}

std::vector<CompletionResult> LocalChatModel::complete(const std::vector<CompletionJob>& jobs) {
  for (const auto& j : jobs) check(j);
  std::vector<CompletionResult> out(jobs.size());
  std::map<int64_t, size_t> index_of;  // ticket -> job
  size_t next = 0, done = 0;
  while (done < jobs.size()) {
    // Admit whole jobs while they fit beside the live sequences (one at least).
    std::vector<CompletionJob> admit;
    std::vector<size_t> which;
    int64_t live = live_sequences();
    while (next < jobs.size() && ((live == 0 && admit.empty()) || live + jobs[next].n <= s_->opts.max_batch)) {
      live += jobs[next].n;
      admit.push_back(jobs[next]);
      which.push_back(next++);
    }
    const std::vector<int64_t> tickets = start(admit);
    for (size_t i = 0; i < tickets.size(); ++i) index_of[tickets[i]] = which[i];
    for (auto& [ticket, result] : step()) {
      out[index_of.at(ticket)] = std::move(result);
      ++done;
    }
  }
  return out;
}

int64_t LocalChatModel::live_sequences() const { return s_->batch ? s_->batch->live() : 0; }
bool LocalChatModel::busy() const { return !s_->jobs.empty(); }

void LocalChatModel::abort() {
  State& s = *s_;
  s.batch.reset();
  s.choices.clear();
  s.jobs.clear();
}

std::vector<int64_t> LocalChatModel::start(const std::vector<CompletionJob>& jobs) {
  State& s = *s_;
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& j : jobs) {
    check(j);
    prompts.push_back(s.encode(j));
  }
  if (!s.batch)
    s.batch = std::make_unique<rollout::DecodeBatch>(s.lm, s.eos_ids, s.pad_id,
                                                     [&s](const std::vector<int64_t>& ids) { return s.decode(ids); });
  std::vector<rollout::SequenceSpec> specs;
  std::vector<State::Choice> pending;
  std::vector<int64_t> tickets;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const auto& p = jobs[j].params;
    const int64_t ticket = s.next_ticket++;
    tickets.push_back(ticket);
    State::Job& job = s.jobs[ticket];
    job.job = jobs[j];
    job.result.prompt_tokens = static_cast<int64_t>(prompts[j].size());
    job.result.choices.resize(static_cast<size_t>(jobs[j].n));
    const uint64_t seed = p.seed ? *p.seed : s.seeds();
    const int64_t budget = std::min<int64_t>(p.max_tokens, s.max_positions - static_cast<int64_t>(prompts[j].size()));
    for (int64_t c = 0; c < jobs[j].n; ++c) {
      if (budget <= 0) {  // nothing to generate: finished as it starts
        job.result.choices[static_cast<size_t>(c)].finish_reason = "length";
        if (job.job.on_event)
          job.job.on_event({.choice = c, .delta = "", .logprobs = {}, .finish_reason = "length", .completion_tokens = 0});
        continue;
      }
      ++job.unfinished;
      specs.push_back({.prompt = prompts[j], .max_new_tokens = budget,
                       .sampling = {.temperature = p.temperature, .top_k = 0, .top_p = p.temperature == 0 ? 1.0 : p.top_p,
                                    .repetition_penalty = 1.0},
                       .seed = choice_seed(seed, c), .stop_strings = p.stop, .top_logprobs = jobs[j].top_logprobs});
      pending.push_back({.ticket = ticket, .choice = c, .budget = budget, .stop = p.stop,
                         .stream = rollout::TextStream(p.stop), .logprobs_sent = 0});
    }
  }
  std::vector<int64_t> handles;
  try {
    handles = s.batch->add(specs);
  } catch (...) {  // nothing of these jobs stays
    for (int64_t t : tickets) s.jobs.erase(t);
    throw;
  }
  for (size_t i = 0; i < handles.size(); ++i) s.choices.emplace(handles[i], std::move(pending[i]));
  return tickets;
}

std::vector<std::pair<int64_t, CompletionResult>> LocalChatModel::step() {
  State& s = *s_;
  auto decode = [&s](std::vector<int64_t> ids, bool hit_eos) {
    if (hit_eos && !ids.empty()) ids.pop_back();  // the EOS token itself
    return s.decode(ids);
  };
  // Streamed jobs hear of every token: an event carries the new whole characters and the
  // log-probs of the tokens they cover, and the last one the finish reason.
  auto on_token = [&](int64_t handle, const rollout::Generation& gen) {
    State::Choice& ch = s.choices.at(handle);
    const CompletionJob& job = s.jobs.at(ch.ticket).job;
    if (!job.on_event) return true;
    const bool ended = gen.hit_eos || gen.hit_stop_string || static_cast<int64_t>(gen.tokens.size()) >= ch.budget;
    const std::string text = decode(gen.tokens, gen.hit_eos);
    CompletionJob::Event ev;
    ev.choice = ch.choice;
    ev.delta = ended ? ch.stream.finish(rollout::cut_at_stop(text, ch.stop)) : ch.stream.push(text);
    const size_t covered = gen.tokens.size() - (gen.hit_eos ? 1 : 0);
    if (ended || !ev.delta.empty()) {
      ev.logprobs = logprobs_of(gen, ch.logprobs_sent, covered);
      ch.logprobs_sent = covered;
    }
    if (ended) ev.finish_reason = gen.finish_reason();
    ev.completion_tokens = static_cast<int64_t>(gen.tokens.size());
    if (ev.delta.empty() && ev.finish_reason.empty()) return true;  // nothing to send yet
    return job.on_event(ev);
  };
  std::vector<std::pair<int64_t, rollout::Generation>> ended;
  if (s.batch && s.batch->live() > 0) ended = s.batch->step(on_token);
  for (auto& [handle, gen] : ended) {
    State::Choice ch = std::move(s.choices.at(handle));
    s.choices.erase(handle);
    State::Job& job = s.jobs.at(ch.ticket);
    CompletionChoice& c = job.result.choices[static_cast<size_t>(ch.choice)];
    c.completion_tokens = static_cast<int64_t>(gen.tokens.size());
    c.text = rollout::cut_at_stop(decode(gen.tokens, gen.hit_eos), ch.stop);
    c.finish_reason = gen.cancelled ? "cancelled" : gen.finish_reason();
    c.logprobs = logprobs_of(gen, 0, gen.tokens.size() - (gen.hit_eos ? 1 : 0));
    --job.unfinished;
  }
  std::vector<std::pair<int64_t, CompletionResult>> finished;
  for (auto it = s.jobs.begin(); it != s.jobs.end();) {
    if (it->second.unfinished == 0) {
      finished.emplace_back(it->first, std::move(it->second.result));
      it = s.jobs.erase(it);
    } else {
      ++it;
    }
  }
  return finished;
}

}  // namespace fw::arena
