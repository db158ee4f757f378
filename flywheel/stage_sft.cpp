// The sft stage: the target fine-tuned on the answers it lost with (sft_selection: judge,
// the paper's pair-judge selection) or on as many prompts chosen otherwise with the pool's
// own responses (the Table-3 ablation's arms), data/sft.jsonl. With sft_accumulate the
// earlier SFT data of the run (D0's, each earlier iteration's) is trained on again.
#include <filesystem>

#include "arena/sft_selection.h"
#include "core/log.h"
#include "flywheel/answer_verifiers.h"
#include "flywheel/stage.h"
#include "trainer/sft.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

class SftStage final : public Stage {
 public:
  using Stage::Stage;

  StagePlan plan() override {
    const RunContext& run = ctx_.run;
    const FlywheelRecipe& r = run.recipe;
    StageCommon c = ctx_.trainer_common();
    if (r.sft_accumulate) {
      if (run.target_is_trained()) c.train_files.push_back(run.out + "/i0/sft/data/sft.jsonl");
      for (int64_t j = 1; j < ctx_.slot.iteration; ++j)
        if (const std::string f = run.out + "/i" + std::to_string(j) + "/sft/data/sft.jsonl"; fs::exists(f))
          c.train_files.push_back(f);
    }
    c.train_files.push_back(ctx_.slot.dir + "/data/sft.jsonl");
    attempts_ = prepare_attempts(r.sft, c, [](const TrainerStageSection& s, const StageCommon& common) {
      return prepare_sft(s, "sft", common);
    });
    // The earlier data (final: those stages are done) by content; the stage's own is made from the other inputs.
    std::string recipes = attempts_.front().yaml;
    for (size_t f = 0; f + 1 < c.train_files.size(); ++f) recipes += files_sha({c.train_files[f]});
    return {.recipes = recipes, .retries = r.sft.retries};
  }

  // The held-out prompts are the gate's: kept out of training, with their battles. Every
  // selection takes as many examples as the pair judge does on the rest.
  StageData build_data(const SliceBattles& in) override {
    const FlywheelRecipe& r = ctx_.run.recipe;
    std::vector<data::PromptRecord> train_prompts;
    for (const auto& p : in.prompts)
      if (!in.heldout.count(p.id)) train_prompts.push_back(p);
    std::vector<arena::Battle> train_battles;
    for (auto& b : in.battles())
      if (!in.heldout.count(b.question_id)) train_battles.push_back(std::move(b));
    const uint64_t seed = static_cast<uint64_t>(r.seed) * 7919 + static_cast<uint64_t>(ctx_.slot.iteration);
    const arena::SftSelectionResult sel = arena::select_sft_data(
        train_battles, train_prompts, in.responses(), in.target,
        {.method = r.sft_selection, .margin = per_iteration(r.sft_margin, ctx_.slot.iteration),
         .seed = seed, .source = in.prompts_file});
    arena::write_sft_examples(in.data_dir + "/sft.jsonl", sel.examples);
    StageData out;
    out.examples = static_cast<int64_t>(sel.examples.size());
    out.stats = {{"sft", sel.stats.to_json()}, {"examples", out.examples}, {"selection", sel.to_json()}};
    out.empty_reason = "no SFT examples (the target lost no battle by the margin)";
    return out;
  }

  Trained train(size_t attempt) override {
    const auto& p = attempts_.at(attempt);
    const trainer::TrainerHooks hooks{.verifier = answer_verifier(p.recipe.eval.verifier)};
    return Trained::unless_interrupted(with_default_signals_after(trainer::run_sft(p.recipe, p.yaml, hooks)).interrupted);
  }

 private:
  std::vector<Prepared<trainer::SftRecipe>> attempts_;
};

}  // namespace

std::unique_ptr<Stage> make_sft_stage(const StageContext& context) { return std::make_unique<SftStage>(context); }

}  // namespace fw::flywheel
