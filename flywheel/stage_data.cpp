#include "flywheel/stage_data.h"

#include <filesystem>
#include <map>

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

}  // namespace

StageData build_stage_data(const StageDataRequest& req, const std::vector<data::PromptRecord>& prompts) {
  std::map<std::string, data::PromptRecord> by_id;
  for (const auto& p : prompts) by_id[p.id] = p;
  const auto battles = arena::read_battles(req.battle_dir + "/battles.jsonl");
  const auto responses = arena::read_response_table(req.battle_dir + "/answers.jsonl");
  std::filesystem::create_directories(req.data_dir);
  StageData out;
  arena::SliceStats st;
  if (req.kind == "sft") {
    auto ex = arena::build_sft_data(battles, by_id, responses, req.target, req.sft_margin, &st);
    if (req.sft_selection == "random") ex = random_sft(prompts, responses, ex.size(), req.competitors, req.seed);
    arena::write_sft_examples(req.data_dir + "/sft.jsonl", ex);
    out.examples = static_cast<int64_t>(ex.size());
    out.stats = {{"sft", st.to_json()}, {"examples", out.examples}};
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
