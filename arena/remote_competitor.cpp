#include "arena/competitor.h"

namespace fw::arena {

RemoteCompetitor::RemoteCompetitor(std::string name, rollout::EndpointOptions endpoint, rollout::ChatParams params)
    : name_(std::move(name)), client_(std::move(endpoint)), params_(std::move(params)) {}

nlohmann::json RemoteCompetitor::identity() const {
  // base_url is left out: the same model behind another host answers the same.
  return {{"kind", "remote"}, {"request", rollout::chat_request_json(client_.options().model, {}, params_)}};
}

void RemoteCompetitor::respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) {
  std::vector<rollout::ChatRequest> requests;
  requests.reserve(prompts.size());
  for (const data::PromptRecord* p : prompts) requests.push_back({p->messages, params_});
  client_.chat_many(requests, on_done);
}

}  // namespace fw::arena
