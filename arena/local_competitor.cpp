#include "arena/local_competitor.h"

#include <filesystem>

#include "data/chat/template_kwargs.h"

namespace fs = std::filesystem;

namespace fw::arena {

std::string weights_stamp(const std::string& model_dir) {
  std::error_code ec;
  uintmax_t bytes = 0;
  long long newest = 0;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    if (entry.path().extension() != ".safetensors") continue;
    bytes += entry.file_size(ec);
    newest = std::max<long long>(newest, entry.last_write_time(ec).time_since_epoch().count());
  }
  return bytes ? std::to_string(bytes) + ":" + std::to_string(newest) : "";
}

LocalCompetitor::LocalCompetitor(std::string name, std::string model_path, std::string chat_template, Loader load,
                                 rollout::ChatParams params)
    : name_(std::move(name)),
      model_path_(std::move(model_path)),
      chat_template_(std::move(chat_template)),
      weights_stamp_(weights_stamp(model_path_)),
      load_(std::move(load)),
      params_(std::move(params)) {}

nlohmann::json LocalCompetitor::identity() const {
  return {{"kind", "local"}, {"model", fs::absolute(model_path_).lexically_normal().string()},
          {"weights", weights_stamp_}, {"template", chat_template_},
          {"request", rollout::chat_request_json(name_, {}, params_)}};
}

namespace {
// Runs `requests` through chat_batch in slices; a slice that throws fails its requests.
void chat_in_slices(LocalChatModel& model, const std::vector<rollout::ChatRequest>& requests,
                    const std::function<void(size_t, const rollout::ChatResult*, const Error*)>& on_done) {
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, model.max_batch()));
  for (size_t begin = 0; begin < requests.size(); begin += step) {
    const size_t end = std::min(requests.size(), begin + step);
    const std::vector<rollout::ChatRequest> slice(requests.begin() + static_cast<long>(begin),
                                                  requests.begin() + static_cast<long>(end));
    std::vector<rollout::ChatResult> results;
    try {
      results = model.chat_batch(slice);
    } catch (const Error& e) {
      for (size_t i = begin; i < end; ++i) on_done(i, nullptr, &e);
      continue;
    }
    for (size_t i = begin; i < end; ++i) on_done(i, &results[i - begin], nullptr);
  }
}
}  // namespace

void LocalCompetitor::respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) {
  std::vector<rollout::ChatRequest> requests;
  requests.reserve(prompts.size());
  for (const data::PromptRecord* p : prompts) requests.push_back({p->messages, params_});
  if (!model_) model_ = load_();
  chat_in_slices(*model_, requests, on_done);
}

ChatBackend local_chat_backend(std::shared_ptr<LocalChatModel> model) {
  return [model](const std::vector<rollout::ChatRequest>& reqs,
                 const std::function<void(size_t, const rollout::ChatResult*, const Error*)>& on_done) {
    chat_in_slices(*model, reqs, on_done);
  };
}

RewardModelJudge::RewardModelJudge(std::string name, std::string model_path,
                                   std::shared_ptr<rollout::ConversationScorer> scorer)
    : name_(std::move(name)),
      model_path_(std::move(model_path)),
      weights_stamp_(weights_stamp(model_path_)),
      scorer_(std::move(scorer)) {}

nlohmann::json RewardModelJudge::identity() const {
  nlohmann::json id = {{"kind", "rm"}, {"model", fs::absolute(model_path_).lexically_normal().string()}, {"weights", weights_stamp_}};
  // Other template kwargs, other scores (left out when there are none: earlier caches stay valid).
  const auto& kwargs = scorer_->chat_template().kwargs();
  if (kwargs.is_object() && !kwargs.empty()) id["chat_template_kwargs"] = data::canonical_kwargs(kwargs);
  return id;
}

void RewardModelJudge::judge(const std::vector<JudgeRequest>& requests, const JudgeFn& on_done) {
  std::vector<std::vector<data::Message>> convs;
  convs.reserve(2 * requests.size());
  for (const JudgeRequest& r : requests)
    for (const std::string* response : {&r.first, &r.second}) {
      std::vector<data::Message> conv = r.prompt->messages;
      conv.push_back({"assistant", *response});
      convs.push_back(std::move(conv));
    }
  std::vector<double> scores;
  try {
    scores = scorer_->score(convs);
  } catch (const Error& e) {
    for (size_t i = 0; i < requests.size(); ++i) on_done(i, nullptr, &e);
    return;
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    JudgeOutcome o;
    o.score_first = scores[2 * i];
    o.score_second = scores[2 * i + 1];
    o.judgment = "reward first " + std::to_string(scores[2 * i]) + ", second " + std::to_string(scores[2 * i + 1]);
    on_done(i, &o, nullptr);
  }
}

}  // namespace fw::arena
