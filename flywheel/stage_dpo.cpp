// The dpo stage: the target trained by DPO (its own start as the reference) on the
// slice's preference pairs with a score gap of at least dpo_margin: the target's own
// answer on one side (dpo_pairs: on_policy, target_lost) or the best against the worst of
// all models (best_vs_worst, the paper's). data/dpo.jsonl, and the held-out prompts' pairs
// in data/dpo_heldout.jsonl (the trainer's held-out figures).
#include "arena/slices.h"
#include "flywheel/stage.h"
#include "trainer/dpo.h"

namespace fw::flywheel {
namespace {

class DpoStage final : public Stage {
 public:
  using Stage::Stage;

  StagePlan plan() override {
    const FlywheelRecipe& r = ctx_.run.recipe;
    StageCommon c = ctx_.trainer_common();
    c.train_files = {ctx_.slot.dir + "/data/dpo.jsonl"};
    if (r.heldout_fraction > 0) c.eval_files = {ctx_.slot.dir + "/data/dpo_heldout.jsonl"};
    attempts_ = prepare_attempts(r.dpo, c, prepare_dpo);
    return {.recipes = attempts_.front().yaml, .settings = {{"dpo_pairs", name_of(r.dpo_pairs)}}, .retries = r.dpo.retries};
  }

  StageData build_data(const SliceBattles& in) override {
    const FlywheelRecipe& r = ctx_.run.recipe;
    const arena::DpoPairs pairs = r.dpo_pairs;
    const double margin = per_iteration(r.dpo_margin, ctx_.slot.iteration);
    arena::SliceStats st;
    const auto by_id = in.prompts_by_id();
    const auto battles = in.battles();
    const auto responses = in.responses();
    const auto recs = split_by_prompt(
        pairs == arena::DpoPairs::BestVsWorst
            ? arena::build_dpo_data(battles, by_id, responses, margin, &st)
            : arena::build_on_policy_dpo_data(battles, by_id, responses, in.target, margin,
                                              pairs == arena::DpoPairs::OnPolicy, &st),
        in.heldout);
    arena::write_preference_records(in.data_dir + "/dpo.jsonl", recs.train);
    arena::write_preference_records(in.data_dir + "/dpo_heldout.jsonl", recs.heldout);
    StageData out;
    out.examples = static_cast<int64_t>(recs.train.size());
    out.stats = {{"dpo", st.to_json()}, {"pairs", arena::dpo_pairs_name(pairs)},
                 {"examples", out.examples}, {"heldout_pairs", recs.heldout.size()}};
    out.empty_reason = "no DPO pairs (no prompt with a score gap of the margin)";
    return out;
  }

  Trained train(size_t attempt) override {
    const auto p = without_empty_heldout(attempts_.at(attempt));
    return Trained::unless_interrupted(with_default_signals_after(trainer::run_dpo(p.recipe, p.yaml)).interrupted);
  }

 private:
  std::vector<Prepared<trainer::DpoRecipe>> attempts_;
};

}  // namespace

std::unique_ptr<Stage> make_dpo_stage(const StageContext& context) { return std::make_unique<DpoStage>(context); }

}  // namespace fw::flywheel
