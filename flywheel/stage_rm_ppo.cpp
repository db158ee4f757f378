// The rm_ppo stage: a reward model trained on the slice's win/loss pairs (rm_data: run,
// also every earlier stage's battles; rm_init: previous_rm, continued from the last
// iteration's reward model), checked against rm_min_accuracy on the held-out pairs, then
// PPO of the target against it. data/rm.jsonl, rm_heldout.jsonl, ppo_prompts.jsonl,
// ppo_heldout.jsonl; the reward model in rm/ (trained once: the gate's retries redo PPO).
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "arena/sft_selection.h"
#include "arena/slices.h"
#include "core/log.h"
#include "flywheel/answer_verifiers.h"
#include "flywheel/rank_sync.h"
#include "flywheel/stage.h"
#include "flywheel/stage_registry.h"
#include "trainer/ppo.h"
#include "trainer/rm.h"

namespace fs = std::filesystem;

namespace fw::flywheel {
namespace {

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class RmPpoStage final : public Stage {
 public:
  using Stage::Stage;

  StagePlan plan() override {
    const RunContext& run = ctx_.run;
    const FlywheelRecipe& r = run.recipe;
    const std::string& dir = ctx_.slot.dir;
    StageCommon c = ctx_.trainer_common();
    c.train_files = {dir + "/data/ppo_prompts.jsonl"};
    if (r.heldout_fraction > 0 && slice_has_references()) c.eval_files = {dir + "/data/ppo_heldout.jsonl"};
    StageCommon rm = c;
    rm.output_dir = dir + "/rm";
    rm.train_files = {dir + "/data/rm.jsonl"};
    rm.eval_files = r.heldout_fraction > 0 ? std::vector<std::string>{dir + "/data/rm_heldout.jsonl"}
                                           : std::vector<std::string>{};
    if (const std::string prev = previous_rm(); !prev.empty()) {
      rm.model_path = prev;
    } else if (!r.rm_pretrain.data.empty()) {  // first the given preference data, then the slice's
      StageCommon pre = rm;  // the same start and held-out pairs
      pre.output_dir = dir + "/rm_pretrain";
      pre.train_files = r.rm_pretrain.data;
      rm_pretrain_ = prepare_rm({.recipe = r.rm.recipe, .overrides = concat(r.rm.overrides, r.rm_pretrain.overrides)}, pre);
      rm.model_path = pre.output_dir + "/final";
    }
    rm_ = prepare_rm(r.rm, rm);
    ppo_ = prepare_attempts(r.ppo, c, [&](const TrainerStageSection& s, const StageCommon& common) {
      return prepare_ppo(s, common, dir + "/rm/final");
    });
    std::string recipes = rm_.yaml + ppo_.front().yaml;
    if (rm_pretrain_) recipes += rm_pretrain_->yaml + files_sha(r.rm_pretrain.data);
    // A reward model continued from an earlier iteration's: that stage's inputs identify it.
    if (!previous_rm().empty()) recipes += previous_rm_inputs();
    // The earlier battles the reward model also trains on (done stages: their files are final).
    for (const BattleSource& src : earlier_battles()) recipes += files_sha({src.battle_dir + "/battles.jsonl"});
    return {.recipes = recipes,
            .settings = {{"reward_model", {{"rm_data", name_of(r.rm_data)}, {"rm_min_accuracy", r.rm_min_accuracy},
                                           {"rm_init", name_of(r.rm_init)}}}},
            .retries = r.ppo.retries,
            .own_folders = rm_pretrain_ ? std::vector<std::string>{"rm", "rm_pretrain"} : std::vector<std::string>{"rm"}};
  }

  StageData build_data(const SliceBattles& in) override {
    fs::remove(ctx_.slot.dir + "/rm/ACCURACY_CHECK");  // a previous attempt's decision
    arena::SliceStats st;
    auto recs = split_by_prompt(arena::build_rm_data(in.battles(), in.prompts_by_id(), in.responses(), &st), in.heldout);
    int64_t earlier = 0;
    for (const BattleSource& src : earlier_battles()) {
      std::map<std::string, data::PromptRecord> src_prompts;
      for (auto& p : data::read_prompt_records({src.prompts})) src_prompts[p.id] = std::move(p);
      auto more = arena::build_rm_data(arena::read_battles(src.battle_dir + "/battles.jsonl"), src_prompts,
                                       arena::read_response_table(src.battle_dir + "/answers.jsonl"));
      earlier += static_cast<int64_t>(more.size());
      recs.train.insert(recs.train.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    std::vector<data::PromptRecord> train_prompts, heldout_prompts;
    for (const auto& p : in.prompts) (in.heldout.count(p.id) ? heldout_prompts : train_prompts).push_back(p);
    arena::write_preference_records(in.data_dir + "/rm.jsonl", recs.train);
    arena::write_preference_records(in.data_dir + "/rm_heldout.jsonl", recs.heldout);
    arena::write_prompt_records(in.data_dir + "/ppo_prompts.jsonl", train_prompts);
    arena::write_prompt_records(in.data_dir + "/ppo_heldout.jsonl", heldout_prompts);
    StageData out;
    out.examples = static_cast<int64_t>(recs.train.size());
    out.stats = {{"rm", st.to_json()}, {"examples", out.examples}, {"earlier_battle_pairs", earlier},
                 {"heldout_pairs", recs.heldout.size()}, {"ppo_prompts", train_prompts.size()},
                 {"ppo_heldout_prompts", heldout_prompts.size()}};
    out.empty_reason = "no reward-model pairs (no battle with a clear winner)";
    return out;
  }

  Trained train(size_t attempt) override {
    if (attempt == 0) {  // a retry changes PPO only: the reward model stands
      if (rm_pretrain_) {
        const auto pre = without_empty_heldout(*rm_pretrain_);
        if (with_default_signals_after(trainer::run_rm(pre.recipe, pre.yaml)).interrupted) return {Trained::Interrupted};
        ctx_.run.reached(ctx_.slot.id, "rm_pretrain");
      }
      const auto rm = without_empty_heldout(rm_);
      const trainer::RmResult result = with_default_signals_after(trainer::run_rm(rm.recipe, rm.yaml));
      if (result.interrupted) return {Trained::Interrupted};
      // A reward model that has not learned the judge would only teach PPO its errors.
      if (!reward_model_passes(result))
        return {Trained::Skipped, "the reward model's held-out accuracy is below rm_min_accuracy " +
                                      std::to_string(ctx_.run.recipe.rm_min_accuracy) + "; PPO not run"};
      ctx_.run.reached(ctx_.slot.id, "rm");
    }
    const auto p = without_empty_heldout(ppo_.at(attempt));
    const auto result = trainer::run_ppo(
        p.recipe, p.yaml,
        {.verifier = answer_verifier(p.recipe.eval.verifier), .judge = heldout_judge(p.recipe.eval.prompts)});
    return Trained::unless_interrupted(with_default_signals_after(result).interrupted);
  }

 private:
  // Whether every prompt of the slice has a reference answer (the verifier's held-out score).
  bool slice_has_references() const {
    for (const auto& p : data::read_prompt_records({ctx_.run.slice_file(ctx_.slot.slice)}))
      if (!p.has_reference) return false;
    return true;
  }

  // rm_init: previous_rm — the newest earlier iteration's reward model, which this one
  // continues training (on the new battles as well); "" when there is none or rm_init: target.
  std::string previous_rm() const {
    if (ctx_.run.recipe.rm_init != RmInit::PreviousRm) return "";
    for (int64_t j = ctx_.slot.iteration - 1; j >= 1; --j) {
      const std::string d = ctx_.run.out + "/" + stage_folder(rm_ppo_id(j)) + "/rm/final";
      if (fs::exists(d + "/config.json")) return d;
    }
    return "";
  }
  std::string previous_rm_inputs() const {
    for (int64_t j = ctx_.slot.iteration - 1; j >= 1; --j)
      for (const auto& st : ctx_.run.manifest.json()["stages"])
        if (st.value("id", "") == rm_ppo_id(j)) return st.value("inputs_sha256", "");
    return "";
  }
  static std::string rm_ppo_id(int64_t iteration) { return "i" + std::to_string(iteration) + ".rm_ppo"; }

  // The battles of every earlier stage of this run (its folders and slices), for the reward
  // model with rm_data: run.
  std::vector<BattleSource> earlier_battles() const {
    const RunContext& run = ctx_.run;
    std::vector<BattleSource> out;
    if (run.recipe.rm_data != RmData::Run) return out;
    const auto n = static_cast<int64_t>(run.stages.size());
    for (int64_t j = 1; j <= ctx_.slot.iteration; ++j)
      for (int64_t q = 0; q < n && (j < ctx_.slot.iteration || q < static_cast<int64_t>(ctx_.slot.position)); ++q) {
        const std::string d =
            run.out + "/" + stage_folder("i" + std::to_string(j) + "." + run.stages[static_cast<size_t>(q)]->name) + "/battle";
        if (fs::exists(d + "/battles.jsonl")) out.push_back({d, run.slice_file((j - 1) * n + q + 1)});
      }
    return out;
  }

  // Whether the reward model may feed PPO (its held-out accuracy against the judge's
  // verdicts reaches rm_min_accuracy), the same answer on every rank: rank 0, which
  // evaluated it, decides (rm/ACCURACY_CHECK).
  bool reward_model_passes(const trainer::RmResult& rm) const {
    const RunContext& run = ctx_.run;
    const FlywheelRecipe& r = run.recipe;
    const bool ok = r.rm_min_accuracy <= 0 || !rm.eval_accuracy || *rm.eval_accuracy >= r.rm_min_accuracy;
    if (run.leader && !ok)
      log::warn("flywheel: " + ctx_.slot.id + " — the reward model's held-out accuracy against the judge's verdicts is " +
                std::to_string(*rm.eval_accuracy) + ", below rm_min_accuracy " + std::to_string(r.rm_min_accuracy) + " (" +
                ctx_.slot.dir + "/rm/metrics.jsonl); PPO is not run against it and the target goes on unchanged. "
                "Train the reward model longer or on more pairs (rm.overrides), or lower rm_min_accuracy");
    return share_rank0_decision(ctx_.slot.dir + "/rm/ACCURACY_CHECK", run.leader, ok, r.dist_wait_seconds);
  }

  // PPO's held-out score under the run's judge (rank 0, which has it): each response
  // against the prompt's reference answer as the pool's own response reads (D0's SFT
  // data, the ablation's arms), both orders; the response's mean score over the parsed
  // games (NaN when neither parsed). Beside the reward model's score of the same
  // responses, a judge score that stalls while the reward model's rises is reward hacking.
  trainer::ResponseJudge heldout_judge(const std::string& prompts_file) const {
    if (!ctx_.run.judge || prompts_file.empty()) return {};
    auto by_id = std::make_shared<std::map<std::string, data::PromptRecord>>();
    for (auto& p : data::read_prompt_records({prompts_file})) (*by_id)[p.id] = std::move(p);
    arena::Judge* judge = ctx_.run.judge.get();
    return [by_id, judge, prompts_file](const trainer::EvalPrompts& prompts, const std::vector<std::string>& responses) {
      std::vector<arena::JudgeRequest> requests;
      for (size_t i = 0; i < prompts.size(); ++i) {
        const data::PromptRecord& rec = by_id->at(prompts[i].id);
        const std::string reference = arena::pool_response(rec, prompts_file);
        requests.push_back({&rec, responses[i], reference});
        requests.push_back({&rec, reference, responses[i]});
      }
      std::vector<double> sum(prompts.size(), 0.0);
      std::vector<int> parsed(prompts.size(), 0);
      judge->judge(requests, [&](size_t k, const arena::JudgeOutcome* o, const Error*) {
        if (!o || o->unparseable()) return;
        sum[k / 2] += k % 2 == 0 ? *o->score_first : *o->score_second;
        ++parsed[k / 2];
      });
      std::vector<double> out(prompts.size());
      for (size_t i = 0; i < out.size(); ++i) out[i] = parsed[i] ? sum[i] / parsed[i] : std::nan("");
      return out;
    };
  }

  Prepared<trainer::RmRecipe> rm_;
  std::optional<Prepared<trainer::RmRecipe>> rm_pretrain_;  // rm_pretrain's phase, when set
  std::vector<Prepared<trainer::PpoRecipe>> ppo_;
};

}  // namespace

std::unique_ptr<Stage> make_rm_ppo_stage(const StageContext& context) { return std::make_unique<RmPpoStage>(context); }

}  // namespace fw::flywheel
