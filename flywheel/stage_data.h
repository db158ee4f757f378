// A training stage's data from its battles (arena/slices.h), written into the stage's
// data folder:
//   sft     data/sft.jsonl          by sft_selection (arena/sft_selection.h): judge = the
//                                   prompts the target lost by sft_margin, the best winner's
//                                   answer; random | kmeans | longest (the Table-3 ablation) =
//                                   as many prompts chosen so, with the pool's own response
//   dpo     data/dpo.jsonl          per prompt, gap >= dpo_margin: the target's own answer on
//                                   one side (dpo_pairs: on_policy / target_lost), or the best
//                                   vs the worst answer of all models (best_vs_worst)
//           data/dpo_heldout.jsonl  the same on the held-out prompts (the stage's held-out figures)
//   rm_ppo  data/rm.jsonl           every pair with a clear winner on the slice's training
//                                   prompts, and (rm_sources) on earlier stages' battles
//           data/rm_heldout.jsonl   the pairs of the held-out prompts (the RM's held-out accuracy)
//           data/ppo_prompts.jsonl  the slice's training prompts
//           data/ppo_heldout.jsonl  its held-out prompts (PPO's held-out score)
// Every stage keeps its held-out prompts out of its training data (SFT too: they are the
// stage gate's, flywheel/stage_gate.h). The held-out prompts are the last heldout_fraction
// of the slice (the slices are drawn from a seeded shuffle of the pool, so they are a
// random sample).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arena/sft_selection.h"
#include "arena/slices.h"
#include "data/prompt_dataset.h"

namespace fw::flywheel {

// An earlier stage's battles, for the reward model's data (rm_data: run).
struct BattleSource {
  std::string battle_dir;  // battles.jsonl, answers.jsonl
  std::string prompts;     // the prompt JSONL they were played on
};

struct StageDataRequest {
  std::string kind;                      // sft | dpo | rm_ppo
  std::string battle_dir;                // the stage's battles (battles.jsonl, answers.jsonl)
  std::string data_dir;                  // where the data goes
  std::string target;                    // the target's name in those battles
  double sft_margin = 1, dpo_margin = 2;
  arena::SftSelection sft_selection = arena::SftSelection::Judge;
  std::string prompts_file;              // the slice's prompt file (named by errors)
  uint64_t seed = 0;                     // the random and k-means selections' draws
  arena::DpoPairs dpo_pairs = arena::DpoPairs::OnPolicy;
  double heldout_fraction = 0;           // the slice's share kept out of training
  std::vector<BattleSource> rm_sources;  // rm_ppo: earlier battles the RM also trains on
};

// The slice's held-out prompts: the last round(fraction * n) (at least 1 when fraction > 0
// and the slice has 2 or more).
size_t heldout_count(size_t slice_prompts, double fraction);

struct StageData {
  nlohmann::json stats;      // {"<kind>": SliceStats, "examples": n, ...}, for the manifest and the report
  int64_t examples = 0;      // training examples written (0: the stage has nothing to train on)
  std::string empty_reason;  // why, when examples is 0
};

StageData build_stage_data(const StageDataRequest& req, const std::vector<data::PromptRecord>& prompts);

}  // namespace fw::flywheel
