#include "flywheel/stage_data.h"

#include <filesystem>
#include <map>

#include "arena/battle_record.h"
#include "arena/sft_selection.h"
#include "arena/slices.h"

namespace fw::flywheel {

StageData build_stage_data(const StageDataRequest& req, const std::vector<data::PromptRecord>& prompts) {
  std::map<std::string, data::PromptRecord> by_id;
  for (const auto& p : prompts) by_id[p.id] = p;
  const auto battles = arena::read_battles(req.battle_dir + "/battles.jsonl");
  const auto responses = arena::read_response_table(req.battle_dir + "/answers.jsonl");
  std::filesystem::create_directories(req.data_dir);
  StageData out;
  arena::SliceStats st;
  if (req.kind == "sft") {
    // Every selection takes as many examples as the pair judge does on these battles.
    const arena::SftSelectionResult sel = arena::select_sft_data(
        battles, prompts, responses, req.target,
        {.method = req.sft_selection, .margin = req.sft_margin, .seed = req.seed, .source = req.prompts_file});
    arena::write_sft_examples(req.data_dir + "/sft.jsonl", sel.examples);
    out.examples = static_cast<int64_t>(sel.examples.size());
    out.stats = {{"sft", sel.stats.to_json()}, {"examples", out.examples}, {"selection", sel.to_json()}};
    out.empty_reason = "no SFT examples (the target lost no battle by the margin)";
  } else if (req.kind == "dpo") {
    const auto recs = arena::build_dpo_data(battles, by_id, responses, req.dpo_margin, &st);
    arena::write_preference_records(req.data_dir + "/dpo.jsonl", recs);
    out.examples = static_cast<int64_t>(recs.size());
    out.stats = {{"dpo", st.to_json()}, {"examples", out.examples}};
    out.empty_reason = "no DPO pairs (no prompt with a score gap of the margin)";
  } else {
    const auto recs = arena::build_rm_data(battles, by_id, responses, &st);
    arena::write_preference_records(req.data_dir + "/rm.jsonl", recs);
    arena::write_prompt_records(req.data_dir + "/ppo_prompts.jsonl", prompts);
    out.examples = static_cast<int64_t>(recs.size());
    out.stats = {{"rm", st.to_json()}, {"examples", out.examples}, {"ppo_prompts", prompts.size()}};
    out.empty_reason = "no reward-model pairs (no battle with a clear winner)";
  }
  return out;
}

}  // namespace fw::flywheel
