// A training stage's data from its battles (arena/slices.h), written into the stage's
// data folder:
//   sft     data/sft.jsonl          by sft_selection (arena/sft_selection.h): judge = the
//                                   prompts the target lost by sft_margin, the best winner's
//                                   answer; random | kmeans | longest (the Table-3 ablation) =
//                                   as many prompts chosen so, with the pool's own response
//   dpo     data/dpo.jsonl          best vs worst answer per prompt, gap >= dpo_margin
//   rm_ppo  data/rm.jsonl           every pair with a clear winner
//           data/ppo_prompts.jsonl  the slice's prompts
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arena/sft_selection.h"
#include "data/prompt_dataset.h"

namespace fw::flywheel {

struct StageDataRequest {
  std::string kind;                      // sft | dpo | rm_ppo
  std::string battle_dir;                // the stage's battles (battles.jsonl, answers.jsonl)
  std::string data_dir;                  // where the data goes
  std::string target;                    // the target's name in those battles
  double sft_margin = 1, dpo_margin = 2;
  arena::SftSelection sft_selection = arena::SftSelection::Judge;
  std::string prompts_file;              // the slice's prompt file (named by errors)
  uint64_t seed = 0;                     // the random and k-means selections' draws
};

struct StageData {
  nlohmann::json stats;      // {"<kind>": SliceStats, "examples": n, ...}, for the manifest and the report
  int64_t examples = 0;      // training examples written (0: the stage has nothing to train on)
  std::string empty_reason;  // why, when examples is 0
};

StageData build_stage_data(const StageDataRequest& req, const std::vector<data::PromptRecord>& prompts);

}  // namespace fw::flywheel
