#include "arena/arena_setup.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <filesystem>

#include "arena/llm_judge.h"
#include "arena/local_competitor.h"
#include "arena/simulated_competitor.h"
#include "core/cuda_runtime.h"
#include "core/json_io.h"
#include "data/chat/template_kwargs.h"

namespace fw::arena {

namespace {

// A local competitor's template as its identity names it: the setting, and its keyword
// arguments when it has any (battles under other arguments are other battles).
std::string competitor_template(const CompetitorSection& c) {
  const std::string kwargs = data::canonical_kwargs(c.chat_template_kwargs);
  return kwargs.empty() ? c.chat_template : c.chat_template + " " + kwargs;
}

}  // namespace

rollout::ChatParams chat_params(const SamplingSection& s) {
  rollout::ChatParams p;
  p.temperature = s.temperature;
  p.top_p = s.top_p;
  p.max_tokens = s.max_tokens;
  if (s.temperature > 0) p.seed = static_cast<uint64_t>(s.seed);
  p.stop = s.stop;
  return p;
}

ArenaSetup::ArenaSetup(ClientSection client, ArenaDeviceSection compute)
    : client_(std::move(client)), compute_(std::move(compute)) {
  if (compute_.threads > 0) at::set_num_threads(static_cast<int>(compute_.threads));
}

rollout::EndpointOptions ArenaSetup::endpoint(const std::string& base_url, const std::string& model,
                                              const std::string& key_env) const {
  rollout::EndpointOptions e;
  e.base_url = base_url;
  e.model = model;
  e.api_key_env = key_env;
  e.timeout_s = client_.timeout_s;
  e.max_retries = static_cast<int>(client_.max_retries);
  e.max_concurrency = static_cast<int>(client_.max_concurrency);
  e.backoff_initial_s = client_.backoff_initial_s;
  e.backoff_max_s = client_.backoff_max_s;
  return e;
}

std::shared_ptr<LocalChatModel> ArenaSetup::local_model(const std::string& dir, const std::string& chat_template,
                                                        int64_t max_batch, const nlohmann::ordered_json& template_kwargs) {
  const std::string key = std::filesystem::absolute(dir).lexically_normal().string() + "|" + chat_template +
                          (template_kwargs.is_object() && !template_kwargs.empty() ? "|" + data::canonical_kwargs(template_kwargs) : "");
  if (auto it = loaded_.find(key); it != loaded_.end())
    if (auto alive = it->second.lock()) return alive;
  LocalChatOptions o;
  o.device = c10::Device(compute_.device);
  if (o.device.is_cuda() && !at::hasCUDA())
    throw_invalid("compute.device is " + compute_.device + " but CUDA is not available",
                  {.key = "compute.device", .hint = cuda_runtime_note()});
  if (compute_.dtype == "float32") o.dtype = c10::kFloat;
  if (compute_.dtype == "bfloat16") o.dtype = c10::kBFloat16;
  o.template_name = chat_template;
  if (template_kwargs.is_object()) o.template_kwargs = template_kwargs;
  o.max_batch = max_batch;
  auto m = std::make_shared<LocalChatModel>(LocalChatModel::load(dir, o));
  loaded_[key] = m;
  return m;
}

std::vector<std::unique_ptr<Competitor>> ArenaSetup::competitors(const std::vector<CompetitorSection>& sections) {
  std::vector<std::unique_ptr<Competitor>> out;
  for (size_t i = 0; i < sections.size(); ++i) {
    const CompetitorSection& c = sections[i];
    const std::string where = "competitors[" + std::to_string(i) + "]";
    try {
      if (c.kind == "simulated") {
        out.push_back(std::make_unique<SimulatedCompetitor>(SimulatedOptions{
            c.name, c.accuracy, c.by_category, c.near_miss, static_cast<uint64_t>(c.seed)}));
      } else if (c.kind == "remote") {
        out.push_back(std::make_unique<RemoteCompetitor>(c.name, endpoint(c.base_url, c.model, c.api_key_env),
                                                         chat_params(c.sampling)));
      } else {
        if (!std::filesystem::exists(std::filesystem::path(c.model) / "config.json"))
          throw_invalid("no model folder (config.json) at " + c.model, {.file = c.model, .key = "model"});
        out.push_back(std::make_unique<LocalCompetitor>(
            c.name, c.model, competitor_template(c),
            [this, c] { return local_model(c.model, c.chat_template, c.max_batch, c.chat_template_kwargs); },
            chat_params(c.sampling)));
      }
    } catch (const Error& e) {
      ErrorContext ctx = e.context();
      ctx.key = where + (ctx.key.empty() ? "" : "." + ctx.key);
      throw Error(e.kind(), "competitor \"" + c.name + "\": " + e.message(), ctx);
    }
  }
  return out;
}

std::unique_ptr<Judge> ArenaSetup::judge(const JudgeSection& j) {
  if (j.kind == "rule") return std::make_unique<RuleJudge>();
  if (j.kind == "rm") {
    rollout::ConversationScorerOptions o;
    o.device = c10::Device(compute_.device);
    if (compute_.dtype == "float32") o.dtype = c10::kFloat;
    if (compute_.dtype == "bfloat16") o.dtype = c10::kBFloat16;
    o.template_name = j.chat_template;
    if (j.chat_template_kwargs.is_object()) o.template_kwargs = j.chat_template_kwargs;
    o.batch_size = j.max_batch;
    auto scorer = std::make_shared<rollout::ConversationScorer>(rollout::ConversationScorer::load(j.model, o));
    return std::make_unique<RewardModelJudge>(j.name.empty() ? "rm:" + std::filesystem::path(j.model).filename().string() : j.name,
                                              j.model, scorer);
  }
  LlmJudgeOptions o;
  o.name = j.name.empty() ? "llm:" + j.model : j.name;
  o.model = j.model;
  if (!j.template_file.empty()) o.prompt_template = read_text_file(j.template_file);
  o.params.max_tokens = j.max_tokens;
  o.max_attempts = static_cast<int>(j.max_attempts);
  o.retry_temperature = j.retry_temperature;
  ChatBackend backend;
  if (!j.base_url.empty()) {
    backend = remote_chat_backend(std::make_shared<rollout::OpenAIClient>(endpoint(j.base_url, j.model, j.api_key_env)));
  } else {
    // (the judge's identity keys its cached judgments: other kwargs, other judgments)
    o.model = std::filesystem::absolute(j.model).lexically_normal().string() + "@" + weights_stamp(j.model) +
              (j.chat_template_kwargs.is_object() && !j.chat_template_kwargs.empty()
                   ? "|" + data::canonical_kwargs(j.chat_template_kwargs)
                   : "");
    backend = local_chat_backend(local_model(j.model, j.chat_template, j.max_batch, j.chat_template_kwargs));
  }
  try {
    return std::make_unique<LlmJudge>(o, backend);
  } catch (const Error& e) {
    ErrorContext ctx = e.context();
    if (!j.template_file.empty()) ctx.file = j.template_file;
    throw Error(e.kind(), e.message(), ctx);
  }
}

}  // namespace fw::arena
