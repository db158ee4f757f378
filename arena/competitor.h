// A competitor answers prompts. Local checkpoints (in-process, batched), remote
// OpenAI-compatible endpoints and the synthetic domain's simulated models all sit behind
// this one interface, so the battle runner never knows which it talks to.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/prompt_dataset.h"
#include "rollout/openai_client.h"

namespace fw::arena {

// on_done(i, reply, error): once per prompt, as each completes (calls serialized; exactly
// one of reply / error is non-null).
using ReplyFn = std::function<void(size_t, const rollout::ChatResult*, const Error*)>;

class Competitor {
 public:
  virtual ~Competitor() = default;
  virtual const std::string& name() const = 0;
  // Everything that determines its answers (kind, model, sampling parameters; never a
  // secret): hashed with the messages into the response-cache key.
  virtual nlohmann::json identity() const = 0;
  virtual bool simulated() const { return false; }
  // What of a prompt its answer depends on, hashed into the response-cache key: the
  // messages (a model sees nothing else); a simulated model also reads the id and the
  // reference.
  virtual nlohmann::json answer_inputs(const data::PromptRecord& p) const { return data::messages_to_json(p.messages); }
  // Frees what respond() loaded (a local model's weights); the next respond() loads again.
  virtual void release() {}
  virtual void respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) = 0;
};

// A remote model behind an OpenAI-compatible endpoint (vLLM, TGI, OpenAI, `flywheel serve`).
class RemoteCompetitor : public Competitor {
 public:
  RemoteCompetitor(std::string name, rollout::EndpointOptions endpoint, rollout::ChatParams params);
  const std::string& name() const override { return name_; }
  nlohmann::json identity() const override;
  void respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) override;

 private:
  std::string name_;
  rollout::OpenAIClient client_;
  rollout::ChatParams params_;
};

}  // namespace fw::arena
