// From recipe sections (arena/battle_recipe.h) to live competitors and a judge. Local
// checkpoints are loaded once per folder and shared (a model that is both a competitor
// and the judge is loaded once).
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "arena/battle_recipe.h"
#include "arena/competitor.h"
#include "arena/judge.h"
#include "arena/local_chat.h"

namespace fw::arena {

class ArenaSetup {
 public:
  ArenaSetup(ClientSection client, ArenaDeviceSection compute);
  // Throws fw::Error (InvalidInput) naming competitors[i].<key> for a bad section.
  std::vector<std::unique_ptr<Competitor>> competitors(const std::vector<CompetitorSection>& sections);
  std::unique_ptr<Judge> judge(const JudgeSection& section);

 private:
  std::shared_ptr<LocalChatModel> local_model(const std::string& dir, const std::string& chat_template, int64_t max_batch,
                                              const nlohmann::ordered_json& template_kwargs = nlohmann::ordered_json::object());
  rollout::EndpointOptions endpoint(const std::string& base_url, const std::string& model, const std::string& key_env) const;
  ClientSection client_;
  ArenaDeviceSection compute_;
  // Weak: a model shared by several users (a competitor that is also the judge) is loaded
  // once, and freed when none of them holds it any more (compute.keep_models: false).
  std::map<std::string, std::weak_ptr<LocalChatModel>> loaded_;
};

rollout::ChatParams chat_params(const SamplingSection& s);

}  // namespace fw::arena
