// Simulated competitors for the synthetic domain (DESIGN.md §7): a model that answers from
// the task's reference, right with a per-category probability and otherwise with a wrong
// answer (a near miss or a clear error, data/synth/verify.h perturb_answer). Its strength
// is known exactly, so the arena's Elo can be checked against the truth. Clearly
// labelled: identity() says "simulated", and so does every response record it makes.
// Deterministic: the answer to a prompt depends only on (seed, name, prompt id).
#pragma once

#include <map>

#include "arena/competitor.h"

namespace fw::arena {

struct SimulatedOptions {
  std::string name;
  double accuracy = 0.5;                    // P(correct) for categories not listed below
  std::map<std::string, double> by_category;  // P(correct) per category
  double near_miss = 0.5;                   // share of wrong answers that are near misses
  uint64_t seed = 0;
};

class SimulatedCompetitor : public Competitor {
 public:
  explicit SimulatedCompetitor(SimulatedOptions opts);  // fw::Error for probabilities outside [0, 1]
  const std::string& name() const override { return opts_.name; }
  nlohmann::json identity() const override;
  bool simulated() const override { return true; }
  nlohmann::json answer_inputs(const data::PromptRecord& p) const override;
  // Prompts without a reference get an error (a simulated model needs the answer).
  void respond(const std::vector<const data::PromptRecord*>& prompts, const ReplyFn& on_done) override;

  double accuracy_for(const std::string& category) const;
  rollout::ChatResult answer(const data::PromptRecord& prompt) const;

 private:
  SimulatedOptions opts_;
};

}  // namespace fw::arena
