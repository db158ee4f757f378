#include "flywheel/stage.h"

#include "core/log.h"

namespace fw::flywheel {

std::string attempt_suffix(size_t attempt) { return attempt ? ".retry" + std::to_string(attempt) : ""; }

StageCommon StageContext::trainer_common() const {
  const FlywheelRecipe& r = run.recipe;
  return {slot.dir + "/train", target.path, {}, r.seed + slot.iteration * 100 + static_cast<int64_t>(slot.position),
          r.deterministic, {}, r.target.chat_template_kwargs};
}

std::string StageContext::output_model(size_t attempt) const { return slot.dir + "/train" + attempt_suffix(attempt) + "/final"; }

GateCheck Stage::evaluate(const Snapshot& output, const std::vector<data::PromptRecord>& heldout, size_t attempt) {
  RunContext& run = ctx_.run;
  const FlywheelRecipe& r = run.recipe;
  const Snapshot& input = ctx_.target;
  const std::string battle_dir = ctx_.slot.dir + "/gate" + attempt_suffix(attempt);
  arena::BattleRunOptions bo = run.battle_options();
  bo.out_dir = battle_dir;
  bo.pairs = arena::PairMode::AllPairs;
  auto owned = run.arena_setup.competitors({run.as_competitor(output), run.as_competitor(input)});
  std::vector<arena::Competitor*> models;
  for (auto& m : owned) models.push_back(m.get());
  arena::run_battles(heldout, models, *run.judge, bo);
  const GateCheck g = gate_check(arena::read_battles(battle_dir + "/battles.jsonl"), output.name, input.name,
                                 r.gate.min_win_rate, r.gate.bootstrap, static_cast<uint64_t>(r.seed) * 104729 + attempt);
  log::info("flywheel: gate — " + output.name + (attempt ? " (retry " + std::to_string(attempt) + ")" : "") + " vs " +
            input.name + " on " + std::to_string(g.prompts) + " held-out prompts: win rate " + std::to_string(g.win_rate) +
            " [" + std::to_string(g.ci_low) + ", " + std::to_string(g.ci_high) + "] " + (g.passed ? "passes" : "fails") +
            " (needs > " + std::to_string(r.gate.min_win_rate) + ")");
  return g;
}

}  // namespace fw::flywheel
