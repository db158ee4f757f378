// The LLM judge: a prompt template filled with the dialogue and both responses, sent to a
// chat model (a remote endpoint or a local checkpoint), the two 1..10 scores read back
// with arena/judge_parse.h. An unparseable reply is retried (max_attempts in all, the
// retries sampled at retry_temperature with a new seed so they can differ), then recorded
// as unparseable: never guessed.
//
// Template placeholders: {history} (the turns before the last user message, "User: ..." /
// "Assistant: ..." lines, or "(none)"), {question} (the last user message), {answer_1},
// {answer_2}. The default is ours, in the spirit of the paper (DESIGN.md §1) and FastChat's
// pairwise prompt: both responses scored 1..10, scores on the first line, then the reasons.
#pragma once

#include "arena/judge.h"
#include "rollout/openai_client.h"

namespace fw::arena {

// Sends chat requests to some model; on_done as rollout::OpenAIClient::chat_many.
using ChatBackend = std::function<void(const std::vector<rollout::ChatRequest>&,
                                       const std::function<void(size_t, const rollout::ChatResult*, const Error*)>&)>;

struct LlmJudgeOptions {
  std::string name = "llm-judge";     // recorded in every battle's "judge"
  std::string model;                  // the judge model's id (part of the cache identity)
  std::string system_prompt = "You are a helpful and precise assistant for checking the quality of the answer.";
  std::string prompt_template;        // "" = default_judge_template()
  rollout::ChatParams params{0.0, 1.0, 512, std::nullopt, {}};
  int max_attempts = 3;               // 1 = no retry
  double retry_temperature = 0.7;
  double min_score = 1, max_score = 10;
};

const std::string& default_judge_template();

// Fills the template. Throws fw::Error (InvalidInput) when it lacks {question},
// {answer_1} or {answer_2}, or names an unknown {placeholder}.
std::string render_judge_prompt(const std::string& tmpl, const data::PromptRecord& prompt, const std::string& first,
                                const std::string& second);
void check_judge_template(const std::string& tmpl);

class LlmJudge : public Judge {
 public:
  LlmJudge(LlmJudgeOptions opts, ChatBackend backend);
  const std::string& name() const override { return opts_.name; }
  nlohmann::json identity() const override;
  void judge(const std::vector<JudgeRequest>& requests, const JudgeFn& on_done) override;

 private:
  LlmJudgeOptions opts_;
  ChatBackend backend_;
};

ChatBackend remote_chat_backend(std::shared_ptr<rollout::OpenAIClient> client);

}  // namespace fw::arena
