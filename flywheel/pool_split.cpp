// The split step: the offline test set read (and cut to eval.max_prompts), the pool
// decontaminated against it, the validation split drawn first, then D0 and the slices
// D1..Dn (seeded), into OUTPUT_DIR/data.
#include <filesystem>

#include "arena/decontaminate.h"
#include "arena/slices.h"
#include "core/hash.h"
#include "core/log.h"
#include "flywheel/run_steps.h"
#include "flywheel/validation_split.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

// Drops the pool prompts that duplicate test prompts (exact and near; no embedding model needed).
arena::ContaminationCounts decontaminate(std::vector<data::PromptRecord>& pool, const std::vector<data::PromptRecord>& test) {
  std::vector<std::string> pool_text, test_text;
  for (const auto& p : pool) pool_text.push_back(arena::prompt_text(p.messages));
  for (const auto& t : test) test_text.push_back(arena::prompt_text(t.messages));
  arena::DecontaminateOptions o;
  o.neighbours = 0;
  const auto report = arena::find_contamination(pool_text, {}, test_text, {}, o);
  std::vector<data::PromptRecord> kept;
  for (size_t i = 0; i < pool.size(); ++i)
    if (report.hits[i].reason == arena::Contamination::None) kept.push_back(pool[i]);
  pool = std::move(kept);
  return report.counts;
}

}  // namespace

void split_pool(RunContext& run) {
  if (!run.leader) {
    run.wait_for("split");
    return;
  }
  const FlywheelRecipe& r = run.recipe;
  std::vector<data::PromptRecord> test = data::read_prompt_records(r.eval.prompts);
  if (r.eval.max_prompts > 0 && static_cast<int64_t>(test.size()) > r.eval.max_prompts)
    test.resize(static_cast<size_t>(r.eval.max_prompts));
  run.test = test;
  const int64_t slices = r.iterations * static_cast<int64_t>(r.stages.size());
  // D0 is split off when SFT-I0 is trained here, or when the given start was trained on
  // it (pool.reserve_d0: the ablation starts from the demo's SFT-I0).
  const bool d0 = run.target_is_trained() || r.pool.reserve_d0;
  // The validation setting is part of the inputs only when there is a split, so runs
  // without one keep their hashes.
  const std::string validation_id = run.validates() ? "validation:" + std::to_string(r.eval.validation_prompts) : "";
  const std::string inputs = sha256_hex(files_sha(r.pool.files) + files_sha(r.eval.prompts) +
                                        nlohmann::json({r.pool.d0_size, r.pool.slice_size, slices, r.seed,
                                                        r.pool.decontaminate, r.eval.max_prompts, d0}).dump() +
                                        validation_id);
  if (run.manifest.begin("split", inputs)) return;
  std::vector<data::PromptRecord> pool = data::read_prompt_records(r.pool.files);
  const arena::ContaminationCounts counts = r.pool.decontaminate ? decontaminate(pool, test) : arena::ContaminationCounts{};
  // The validation split comes out first, so D0 and the slices never hold its prompts.
  ValidationSplit v = split_validation(pool, r.eval.validation_prompts, static_cast<uint64_t>(r.seed), r.pool.decontaminate);
  pool = std::move(v.rest);
  const arena::PoolSplit s =
      arena::split_pool(pool, d0 ? r.pool.d0_size : 0, r.pool.slice_size, slices, static_cast<uint64_t>(r.seed));
  fs::create_directories(run.out + "/data");
  if (!v.validation.empty()) arena::write_prompt_records(run.validation_file(), v.validation);
  arena::write_prompt_records(run.slice_file(0), s.d0);
  for (size_t k = 0; k < s.slices.size(); ++k) arena::write_prompt_records(run.slice_file(static_cast<int64_t>(k) + 1), s.slices[k]);
  run.reached("split", "data");
  run.manifest.finish("split", {{"pool", pool.size()},
                                {"test", test.size()},
                                {"decontaminated", {{"exact_duplicate", counts.exact_duplicate},
                                                    {"near_duplicate", counts.near_duplicate}}},
                                {"validation", v.validation.size()},
                                {"decontaminated_validation", {{"exact_duplicate", v.removed.exact_duplicate},
                                                               {"near_duplicate", v.removed.near_duplicate}}},
                                {"d0", s.d0.size()},
                                {"slices", s.slices.size()},
                                {"slice_size", r.pool.slice_size}});
  log::info("flywheel: split the pool into D0 (" + std::to_string(s.d0.size()) + ") and " +
            std::to_string(s.slices.size()) + " slices of " + std::to_string(r.pool.slice_size) + "; " +
            std::to_string(counts.removed()) + " pool prompts removed as duplicates of test prompts; " +
            std::to_string(v.validation.size()) + " held out for validation (and " + std::to_string(v.removed.removed()) +
            " duplicates of them removed)");
}

}  // namespace fw::flywheel
