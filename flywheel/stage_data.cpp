#include "flywheel/stage_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "arena/battle_record.h"
#include "arena/slices.h"
#include "core/rng.h"

namespace fw::flywheel {
namespace {

// The ablation's SFT data: `n` random prompts, each with a random competitor's answer (no
// judge involved).
std::vector<arena::SftExample> random_sft(const std::vector<data::PromptRecord>& prompts,
                                          const arena::ResponseTable& responses, size_t n,
                                          const std::vector<std::string>& competitors, uint64_t seed) {
  Rng rng(seed);
  std::vector<size_t> order(prompts.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  for (size_t k = order.size(); k > 1; --k)  // Fisher-Yates, with our own portable draws
    std::swap(order[k - 1], order[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(k) - 1))]);
  std::vector<arena::SftExample> out;
  for (size_t k = 0; k < order.size() && out.size() < n && !competitors.empty(); ++k) {
    const auto& p = prompts[order[k]];
    const std::string& c = competitors[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(competitors.size()) - 1))];
    auto it = responses.find({p.id, c});
    if (it == responses.end()) continue;
    auto m = p.messages;
    m.push_back({"assistant", it->second});
    out.push_back({p.id, m, c, 0});
  }
  return out;
}

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
    auto ex = arena::build_sft_data(battles, by_id, responses, req.target, req.sft_margin, &st);
    // The held-out prompts are the gate's: kept out of training.
    std::erase_if(ex, [&](const arena::SftExample& e) { return heldout.count(e.question_id) > 0; });
    if (req.sft_selection == "random") ex = random_sft(prompts, responses, ex.size(), req.competitors, req.seed);
    arena::write_sft_examples(req.data_dir + "/sft.jsonl", ex);
    out.examples = static_cast<int64_t>(ex.size());
    out.stats = {{"sft", st.to_json()}, {"examples", out.examples}};
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
