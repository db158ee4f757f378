// The torch side of competitors and judges: a local checkpoint as a competitor (in-process,
// batched through arena/local_chat.h), a local checkpoint as the LLM judge's chat model,
// and the reward-model judge (each response scored by an RM checkpoint on its own, so the
// position cannot matter; its scores are raw rewards, not 1..10).
#pragma once

#include <memory>

#include "arena/competitor.h"
#include "arena/judge.h"
#include "arena/llm_judge.h"
#include "arena/local_chat.h"
#include "rollout/conversation_scorer.h"

namespace fw::arena {

class LocalCompetitor : public Competitor {
 public:
  // `model_path` (the checkpoint folder) goes into the identity, so a retrained checkpoint
  // in another folder is not served from the cache. A folder retrained in place is
  // told apart by its weights' size and modification time. The model is loaded by `load`
  // on the first respond(), so a competitor whose answers are all cached costs nothing.
  using Loader = std::function<std::shared_ptr<LocalChatModel>()>;
  LocalCompetitor(std::string name, std::string model_path, std::string chat_template, Loader load,
                  rollout::ChatParams params);
  const std::string& name() const override { return name_; }
  nlohmann::json identity() const override;
  void respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) override;
  void release() override { model_.reset(); }

 private:
  std::string name_, model_path_, chat_template_, weights_stamp_;
  Loader load_;
  std::shared_ptr<LocalChatModel> model_;
  rollout::ChatParams params_;
};

// A local checkpoint behind the LLM judge (chat_batch in slices of its max_batch).
ChatBackend local_chat_backend(std::shared_ptr<LocalChatModel> model);

class RewardModelJudge : public Judge {
 public:
  RewardModelJudge(std::string name, std::string model_path, std::shared_ptr<rollout::ConversationScorer> scorer);
  const std::string& name() const override { return name_; }
  nlohmann::json identity() const override;
  void judge(const std::vector<JudgeRequest>& requests, const JudgeFn& on_done) override;

 private:
  std::string name_, model_path_, weights_stamp_;
  std::shared_ptr<rollout::ConversationScorer> scorer_;
};

// "<bytes>:<mtime>" of the folder's weights, "" if none are found.
std::string weights_stamp(const std::string& model_dir);

}  // namespace fw::arena
