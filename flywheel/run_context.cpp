#include "flywheel/run_context.h"

#include <algorithm>
#include <filesystem>

#include "core/log.h"
#include "dist/env.h"
#include "flywheel/rank_sync.h"
#include "flywheel/stage_registry.h"

namespace fs = std::filesystem;

namespace fw::flywheel {

RunContext::RunContext(const FlywheelRecipe& r, RunHooks h)
    : recipe(r), out(r.output_dir), leader(dist::read_dist_env().rank == 0), hooks(std::move(h)),
      stages(resolve_stage_kinds(r.stages)),
      manifest((fs::create_directories(r.output_dir), r.output_dir + "/manifest.json")),
      arena_setup(r.client, r.compute) {}

std::string RunContext::slice_file(int64_t k) const { return out + "/data/D" + std::to_string(k) + ".jsonl"; }
std::string RunContext::validation_file() const { return out + "/data/validation.jsonl"; }
bool RunContext::validates() const { return recipe.eval.validation_prompts > 0; }
bool RunContext::target_is_trained() const { return recipe.target.start.empty(); }
nlohmann::json RunContext::judge_identity() const { return judge ? judge->identity() : nlohmann::json(); }

arena::BattleRunOptions RunContext::battle_options() const {
  arena::BattleRunOptions o;
  o.verdict = {recipe.verdict, recipe.tie_margin};
  o.chunk_prompts = recipe.chunk_prompts;
  o.record_time = !recipe.deterministic;
  o.release_models = !recipe.compute.keep_models;
  return o;
}

arena::CompetitorSection RunContext::as_competitor(const Snapshot& s) const {
  arena::CompetitorSection c;
  c.name = s.name;
  c.kind = "local";
  c.model = s.path;
  c.max_batch = recipe.target.max_batch;
  c.sampling = recipe.target.sampling;
  if (recipe.target.chat_template_kwargs.is_object()) c.chat_template_kwargs = recipe.target.chat_template_kwargs;
  return c;
}

void RunContext::reached(const std::string& stage, const char* point) const {
  if (hooks.at_point) hooks.at_point(stage + ":" + point);
}

nlohmann::json RunContext::wait_for(const std::string& id, const std::string& ready_dir) const {
  return wait_for_stage(out + "/manifest.json", id, ready_dir, recipe.dist_wait_seconds);
}

void RunContext::set_aside_stale(const std::string& id, const std::vector<std::string>& folders) const {
  for (const auto& f : folders) {
    if (!fs::exists(f)) continue;
    fs::remove_all(f + ".stale");
    fs::rename(f, f + ".stale");
    log::warn("flywheel: " + id + " starts afresh; moved the earlier attempt's " + f + " to " + f + ".stale");
  }
}

Snapshot RunContext::interrupt(Snapshot s) {
  interrupted = true;
  log::warn("flywheel: interrupted; rerun the same command to resume");
  return s;
}

double per_iteration(const std::vector<double>& v, int64_t iteration) {
  return v[static_cast<size_t>(std::min<int64_t>(iteration - 1, static_cast<int64_t>(v.size()) - 1))];
}

}  // namespace fw::flywheel
