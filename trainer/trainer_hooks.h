// What the program running a recipe hands its trainer besides the recipe: the verifier the
// recipe's eval.verifier names, the flywheel's judge, and (tests only) injected faults.
// trainer/ knows no task domain and no arena (DESIGN.md §2); they come in through here.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "trainer/eval_generation.h"

namespace fw::trainer {

// The test seam: production runs leave it empty.
struct FaultInjection {
  int64_t nan_at_step = 0;  // > 0: this step's loss (SFT, DPO, RM) or reward scores (PPO) are NaN
};

struct TrainerHooks {
  AnswerVerifier verifier;  // scores eval.prompts' responses; required when eval.prompts is set
  ResponseJudge judge;      // PPO: also scores its eval responses (eval/judge_score)
  FaultInjection faults;
};

// eval.prompts without a verifier is refused before anything starts (on every rank).
inline void require_verifier(const std::string& eval_prompts, const TrainerHooks& hooks) {
  if (!eval_prompts.empty() && !hooks.verifier)
    throw_invalid("eval.prompts is set but the program running the recipe supplied no verifier for it",
                  {.key = "eval.verifier"});
}

}  // namespace fw::trainer
