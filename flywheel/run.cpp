#include "flywheel/run.h"

#include <chrono>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/log.h"
#include "dist/env.h"
#include "dist/process_group.h"
#include "flywheel/manifest.h"
#include "flywheel/report.h"
#include "flywheel/run_steps.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

// ---- rank coordination (flywheel/rank_sync.h): rank 0 leads; the others follow the
// manifest and join each trainer ----

// A READY file of a stage that is not done is a previous attempt's: rank 0 removes them
// before anything else, so the other ranks do not start a trainer on one.
void clear_stale_ready(const RunContext& run) {
  for (const auto& st : run.manifest.json()["stages"]) {
    if (st.value("status", "") == "done") continue;
    const std::string data = run.out + "/" + stage_folder(st.value("id", "")) + "/data";
    fs::remove(data + "/READY");
    for (size_t j = 1; fs::exists(data + "/retry" + std::to_string(j)); ++j)
      fs::remove(data + "/retry" + std::to_string(j) + "/READY");
  }
}

// Data parallel: every rank meets here once rank 0 has cleared the previous attempt's
// READY files (a group of its own, made first on every rank and gone before the trainers
// make theirs).
void startup_barrier(const RunContext& run) {
  const dist::DistEnv env = dist::read_dist_env();
  if (!env.distributed()) return;
  auto pg = dist::ProcessGroup::create(env, at::kCPU, {.timeout = std::chrono::seconds(run.recipe.dist_wait_seconds), .backend = "gloo"});
  dist::all_reduce_sum(*pg, std::vector<double>{1.0});
}

void join_ranks(RunContext& run) {
  if (run.leader) clear_stale_ready(run);
  startup_barrier(run);
  if (run.leader)
    run.judge = run.arena_setup.judge(run.recipe.judge);  // only rank 0 judges
  else
    log::info_all_ranks("flywheel: rank " + std::to_string(dist::read_dist_env().rank) +
                        " trains with rank 0 and waits for it between the training stages");
}

}  // namespace

FlywheelResult run_flywheel(const FlywheelRecipe& recipe, const std::string& resolved_yaml, const RunHooks& hooks) {
  RunContext run(recipe, hooks);
  // A first run records its recipe at once; a rerun only once it has gone through (a
  // changed recipe may yet be refused, and the folder's config.yaml must stay the one its
  // stages were made with).
  const std::string config = run.out + "/config.yaml";
  if (run.leader && !fs::exists(config)) write_file_atomic(config, resolved_yaml);
  join_ranks(run);

  // The paper's loop.
  split_pool(run);
  Snapshot current = start_target(run);
  if (run.interrupted) return {"", true};
  evaluate_iteration(run, 0);
  for (int64_t i = 1; i <= recipe.iterations; ++i) {
    const Snapshot iteration_start = current;
    for (size_t k = 0; k < run.stages.size(); ++k) {
      current = run_stage(run, *run.stages[k], i, k, current);
      if (run.interrupted) return {"", true};
    }
    current = evaluate_iteration(run, i, iteration_start);
  }

  if (!run.leader) return {"", false};
  write_file_atomic(config, resolved_yaml);
  const std::string html = write_report(run.out, run.manifest.json(), recipe);
  log::info("flywheel: done; report " + html);
  return {html, false};
}

}  // namespace fw::flywheel
