#include "flywheel/stage_data.h"

#include <algorithm>
#include <cmath>

namespace fw::flywheel {

size_t heldout_count(size_t slice_prompts, double fraction) {
  if (fraction <= 0 || slice_prompts < 2) return 0;
  const auto n = static_cast<size_t>(std::llround(fraction * static_cast<double>(slice_prompts)));
  return std::clamp<size_t>(n, 1, slice_prompts - 1);
}

std::vector<arena::Battle> SliceBattles::battles() const { return arena::read_battles(battle_dir + "/battles.jsonl"); }

arena::ResponseTable SliceBattles::responses() const { return arena::read_response_table(battle_dir + "/answers.jsonl"); }

std::map<std::string, data::PromptRecord> SliceBattles::prompts_by_id() const {
  std::map<std::string, data::PromptRecord> by_id;
  for (const auto& p : prompts) by_id[p.id] = p;
  return by_id;
}

SplitRecords split_by_prompt(std::vector<arena::PreferenceRecord> records, const std::set<std::string>& heldout) {
  SplitRecords out;
  for (auto& r : records) (heldout.count(r.question_id) ? out.heldout : out.train).push_back(std::move(r));
  return out;
}

}  // namespace fw::flywheel
