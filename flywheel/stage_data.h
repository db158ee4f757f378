// What a training stage builds its data from (Stage::build_data, flywheel/stage.h): its
// battles on the slice, the slice's prompts, and which of them are held out. Each kind
// writes its own files into the stage's data folder (flywheel/stage_<kind>.cpp):
//   sft     data/sft.jsonl          by sft_selection (arena/sft_selection.h)
//   dpo     data/dpo.jsonl, data/dpo_heldout.jsonl
//   rm_ppo  data/rm.jsonl, data/rm_heldout.jsonl, data/ppo_prompts.jsonl, data/ppo_heldout.jsonl
// Every stage keeps its held-out prompts out of its training data (they are the stage
// gate's, flywheel/stage_gate.h, and its held-out figures'). The held-out prompts are the
// last heldout_fraction of the slice (the slices are drawn from a seeded shuffle of the
// pool, so they are a random sample).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "arena/battle_record.h"
#include "arena/slices.h"
#include "data/prompt_dataset.h"

namespace fw::flywheel {

// An earlier stage's battles, for the reward model's data (rm_data: run).
struct BattleSource {
  std::string battle_dir;  // battles.jsonl, answers.jsonl
  std::string prompts;     // the prompt JSONL they were played on
};

// The slice's held-out prompts: the last round(fraction * n) (at least 1 when fraction > 0
// and the slice has 2 or more).
size_t heldout_count(size_t slice_prompts, double fraction);

// A stage's battles on its slice, as build_data reads them.
struct SliceBattles {
  std::string battle_dir;                   // battles.jsonl, answers.jsonl
  std::string data_dir;                     // where the stage's data goes (created)
  std::string prompts_file;                 // the slice's prompt file (named by errors)
  std::string target;                       // the target's name in the battles
  std::vector<data::PromptRecord> prompts;  // the slice, in order
  std::set<std::string> heldout;            // ids of its held-out prompts

  std::vector<arena::Battle> battles() const;
  arena::ResponseTable responses() const;
  std::map<std::string, data::PromptRecord> prompts_by_id() const;
};

struct StageData {
  nlohmann::json stats;      // {"<kind>": SliceStats, "examples": n, ...}, for the manifest and the report
  int64_t examples = 0;      // training examples written (0: the stage has nothing to train on)
  std::string empty_reason;  // why, when examples is 0
};

// Preference records split by whether their prompt is held out.
struct SplitRecords {
  std::vector<arena::PreferenceRecord> train, heldout;
};
SplitRecords split_by_prompt(std::vector<arena::PreferenceRecord> records, const std::set<std::string>& heldout);

}  // namespace fw::flywheel
