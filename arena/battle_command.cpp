#include "arena/battle_command.h"

#include <filesystem>

#include "arena/arena_setup.h"
#include "core/atomic_file.h"
#include "core/log.h"

namespace fw::arena {

BattleRunSummary run_battle_recipe(const BattleRecipe& r, const std::string& resolved_yaml) {
  std::vector<data::PromptRecord> prompts = data::read_prompt_records(r.prompts);
  if (r.max_prompts > 0 && static_cast<int64_t>(prompts.size()) > r.max_prompts) prompts.resize(static_cast<size_t>(r.max_prompts));
  if (prompts.empty()) throw_invalid("no prompts in " + r.prompts.front(), {.key = "prompts"});

  std::filesystem::create_directories(r.output_dir);
  write_file_atomic(r.output_dir + "/config.yaml", resolved_yaml);

  ArenaSetup setup(r.client, r.compute);
  auto competitors = setup.competitors(r.competitors);
  auto judge = setup.judge(r.judge);
  std::vector<Competitor*> raw;
  std::string names;
  for (auto& c : competitors) {
    raw.push_back(c.get());
    names += (names.empty() ? "" : ", ") + c->name() + (c->simulated() ? " (simulated)" : "");
  }
  log::info("battle: " + std::to_string(prompts.size()) + " prompts, competitors " + names + ", judge " + judge->name());

  BattleRunOptions o;
  o.out_dir = r.output_dir;
  o.pairs = pair_mode_from_name(r.pairs);
  o.target = r.target;
  o.verdict = {r.verdict, r.tie_margin};
  o.chunk_prompts = r.chunk_prompts;
  o.record_time = r.record_time;
  o.release_models = !r.compute.keep_models;
  const BattleRunSummary s = run_battles(prompts, raw, *judge, o);
  std::string consistency;
  for (const auto& [name, c] : s.consistency)
    consistency += " position-inconsistent " + std::to_string(c.second) + "/" + std::to_string(c.first) + " (" + name + ")";
  log::info("battle: " + std::to_string(s.battles_written) + " new battles, " + std::to_string(s.battles_done_before) +
            " already done, " + std::to_string(s.unparseable_written) + " unparseable;" + consistency + "; " +
            r.output_dir + "/battles.jsonl");
  return s;
}

}  // namespace fw::arena
