// The i0 step: the starting target. Either target.start (identified by its model files'
// content), or SFT-I0 trained here on D0's reference answers (stage i0.sft, in i0/sft).
#include <filesystem>

#include "arena/sft_selection.h"
#include "arena/slices.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "flywheel/answer_verifiers.h"
#include "flywheel/rank_sync.h"
#include "flywheel/run_steps.h"
#include "flywheel/trainer_stages.h"
#include "trainer/sft.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

// D0's SFT data: each prompt with its reference answer as the pool's own response reads.
std::vector<arena::SftExample> d0_examples(const RunContext& run) {
  std::vector<arena::SftExample> examples;
  for (const auto& rec : data::read_prompt_records({run.slice_file(0)})) {
    if (!rec.has_reference)
      throw_invalid("SFT-I0 is trained on D0's reference answers, and prompt " + rec.id + " has none",
                    {.file = run.recipe.pool.files.front(), .key = "target.start",
                     .hint = "give target.start a checkpoint for a pool without references"});
    auto m = rec.messages;
    m.push_back({"assistant", arena::pool_response(rec, run.slice_file(0))});
    examples.push_back({rec.id, m, "reference", 0});
  }
  return examples;
}

Snapshot trained(RunContext& run, Snapshot s) {
  run.snapshots.push_back(s);
  return s;
}

}  // namespace

Snapshot start_target(RunContext& run) {
  const FlywheelRecipe& r = run.recipe;
  if (!run.target_is_trained())
    return trained(run, {r.target.name + "-I0", r.target.start, checkpoint_sha256(r.target.start), 0, "start"});
  const std::string dir = run.out + "/i0/sft";
  const std::string data = dir + "/data/sft.jsonl";
  const auto p = prepare_sft(r.target.sft0, "target.sft0", {dir + "/train", "", {data}, r.seed, r.deterministic});
  const std::string inputs = sha256_hex("i0.sft\n" + hashed_recipes(p.yaml) + files_sha({run.slice_file(0)}));
  const Snapshot s{r.target.name + "-I0", dir + "/train/final", inputs, 0, "sft"};
  auto train = [&] {
    return with_default_signals_after(
        trainer::run_sft(p.recipe, p.yaml, {.verifier = answer_verifier(p.recipe.eval.verifier)}));
  };
  if (!run.leader) {  // train with rank 0 once its data is ready, unless it is done
    const bool done = run.wait_for("i0.sft", dir + "/data").value("status", "") == "done";
    if (!done && train().interrupted) run.interrupt(s);
    return trained(run, s);
  }
  bool restart = false;
  if (run.manifest.begin("i0.sft", inputs, &restart)) return trained(run, s);
  fs::remove(dir + "/data/READY");
  if (restart) run.set_aside_stale("i0.sft", {dir + "/train"});
  const std::vector<arena::SftExample> examples = d0_examples(run);
  fs::create_directories(dir + "/data");
  arena::write_sft_examples(data, examples);
  mark_stage_ready(dir + "/data", inputs);
  run.reached("i0.sft", "data");
  log::info("flywheel: i0.sft — training " + s.name + " on D0 (" + std::to_string(examples.size()) + " examples)");
  const auto res = train();
  if (res.interrupted) return run.interrupt(s);
  run.manifest.finish("i0.sft", {{"snapshot", snapshot_json(s)}, {"examples", examples.size()}, {"steps", res.steps}});
  return trained(run, s);
}

}  // namespace fw::flywheel
