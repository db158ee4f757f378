#include "flywheel/stage_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "arena/battle_record.h"
#include "arena/sft_selection.h"
#include "arena/slices.h"

namespace fw::flywheel {
namespace {

// Splits preference records by whether their prompt is held out.
struct SplitRecords {
  std::vector<arena::PreferenceRecord> train, heldout;
};
SplitRecords split_by_prompt(std::vector<arena::PreferenceRecord> recs, const std::set<std::string>& heldout) {
  SplitRecords out;
  for (auto& r : recs) (heldout.count(r.question_id) ? out.heldout : out.train).push_back(std::move(r));
  return out;
}

}  // namespace

size_t heldout_count(size_t slice_prompts, double fraction) {
  if (fraction <= 0 || slice_prompts < 2) return 0;
  const auto n = static_cast<size_t>(std::llround(fraction * static_cast<double>(slice_prompts)));
  return std::clamp<size_t>(n, 1, slice_prompts - 1);
}

StageData build_stage_data(const StageDataRequest& req, const std::vector<data::PromptRecord>& prompts) {
  std::map<std::string, data::PromptRecord> by_id;
  for (const auto& p : prompts) by_id[p.id] = p;
  const auto battles = arena::read_battles(req.battle_dir + "/battles.jsonl");
  const auto responses = arena::read_response_table(req.battle_dir + "/answers.jsonl");
  std::filesystem::create_directories(req.data_dir);
  StageData out;
  arena::SliceStats st;
  const size_t n_heldout = heldout_count(prompts.size(), req.heldout_fraction);
  std::set<std::string> heldout;
  for (size_t k = prompts.size() - n_heldout; k < prompts.size(); ++k) heldout.insert(prompts[k].id);
  if (req.kind == "sft") {
    // The held-out prompts are the gate's: kept out of training, with their battles. Every
    // selection takes as many examples as the pair judge does on the rest.
    std::vector<data::PromptRecord> train_prompts;
    for (const auto& p : prompts)
      if (!heldout.count(p.id)) train_prompts.push_back(p);
    std::vector<arena::Battle> train_battles;
    for (const auto& b : battles)
      if (!heldout.count(b.question_id)) train_battles.push_back(b);
    const arena::SftSelectionResult sel = arena::select_sft_data(
        train_battles, train_prompts, responses, req.target,
        {.method = req.sft_selection, .margin = req.sft_margin, .seed = req.seed, .source = req.prompts_file});
    arena::write_sft_examples(req.data_dir + "/sft.jsonl", sel.examples);
    out.examples = static_cast<int64_t>(sel.examples.size());
    out.stats = {{"sft", sel.stats.to_json()}, {"examples", out.examples}, {"selection", sel.to_json()}};
    out.empty_reason = "no SFT examples (the target lost no battle by the margin)";
  } else if (req.kind == "dpo") {
    const auto recs = split_by_prompt(
        req.dpo_pairs == arena::DpoPairs::BestVsWorst
            ? arena::build_dpo_data(battles, by_id, responses, req.dpo_margin, &st)
            : arena::build_on_policy_dpo_data(battles, by_id, responses, req.target, req.dpo_margin,
                                              req.dpo_pairs == arena::DpoPairs::OnPolicy, &st),
        heldout);
    arena::write_preference_records(req.data_dir + "/dpo.jsonl", recs.train);
    arena::write_preference_records(req.data_dir + "/dpo_heldout.jsonl", recs.heldout);
    out.examples = static_cast<int64_t>(recs.train.size());
    out.stats = {{"dpo", st.to_json()}, {"pairs", arena::dpo_pairs_name(req.dpo_pairs)},
                 {"examples", out.examples}, {"heldout_pairs", recs.heldout.size()}};
    out.empty_reason = "no DPO pairs (no prompt with a score gap of the margin)";
  } else {
    auto recs = split_by_prompt(arena::build_rm_data(battles, by_id, responses, &st), heldout);
    int64_t earlier = 0;
    for (const BattleSource& src : req.rm_sources) {
      std::map<std::string, data::PromptRecord> src_prompts;
      for (auto& p : data::read_prompt_records({src.prompts})) src_prompts[p.id] = std::move(p);
      auto more = arena::build_rm_data(arena::read_battles(src.battle_dir + "/battles.jsonl"), src_prompts,
                                       arena::read_response_table(src.battle_dir + "/answers.jsonl"));
      earlier += static_cast<int64_t>(more.size());
      recs.train.insert(recs.train.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    std::vector<data::PromptRecord> train_prompts, heldout_prompts;
    for (const auto& p : prompts) (heldout.count(p.id) ? heldout_prompts : train_prompts).push_back(p);
    arena::write_preference_records(req.data_dir + "/rm.jsonl", recs.train);
    arena::write_preference_records(req.data_dir + "/rm_heldout.jsonl", recs.heldout);
    arena::write_prompt_records(req.data_dir + "/ppo_prompts.jsonl", train_prompts);
    arena::write_prompt_records(req.data_dir + "/ppo_heldout.jsonl", heldout_prompts);
    out.examples = static_cast<int64_t>(recs.train.size());
    out.stats = {{"rm", st.to_json()}, {"examples", out.examples}, {"earlier_battle_pairs", earlier},
                 {"heldout_pairs", recs.heldout.size()}, {"ppo_prompts", train_prompts.size()},
                 {"ppo_heldout_prompts", heldout_prompts.size()}};
    out.empty_reason = "no reward-model pairs (no battle with a clear winner)";
  }
  return out;
}

}  // namespace fw::flywheel
