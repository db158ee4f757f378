// A judge scores two responses to one prompt. The battle runner plays each pair twice
// with the positions swapped and combines the games (arena/verdict.h). Judges: the rule
// judge (the synthetic domain's verifier), the LLM judge (a template, a local or remote
// chat model, arena/judge_parse.h), and the reward-model judge (arena/rm_judge.h).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/prompt_dataset.h"

namespace fw::arena {

struct JudgeRequest {
  const data::PromptRecord* prompt = nullptr;
  std::string first;   // the response shown first
  std::string second;  // the response shown second
};

struct JudgeOutcome {
  std::optional<double> score_first, score_second;  // both empty: unparseable after all attempts
  std::string judgment;                              // the judge's text (the last attempt's)
  int attempts = 1;
  bool unparseable() const { return !score_first || !score_second; }
};

// on_done(i, outcome, error): once per request, serialized; error non-null when the judge
// could not be reached at all (the request is then not recorded and a rerun retries it).
using JudgeFn = std::function<void(size_t, const JudgeOutcome*, const Error*)>;

class Judge {
 public:
  virtual ~Judge() = default;
  virtual const std::string& name() const = 0;
  // Everything that determines its verdicts (kind, model, template, parameters; never a
  // secret): hashed with the prompt and both responses into the judgment-cache key.
  virtual nlohmann::json identity() const = 0;
  virtual void judge(const std::vector<JudgeRequest>& requests, const JudgeFn& on_done) = 0;
};

// The rule judge: each response scored 1..10 against the prompt's reference answer by the
// synthetic domain's verifier (data/synth/verify.h); the position cannot matter.
class RuleJudge : public Judge {
 public:
  RuleJudge() = default;
  const std::string& name() const override { return name_; }
  nlohmann::json identity() const override { return {{"kind", "rule"}, {"verifier", "synth/verify v1"}}; }
  void judge(const std::vector<JudgeRequest>& requests, const JudgeFn& on_done) override;

 private:
  std::string name_ = "rule";
};

}  // namespace fw::arena
