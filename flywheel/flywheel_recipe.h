// The flywheel recipe (`flywheel run RECIPE.yaml`): the target's start, the competitors,
// the judge, the pool and its slices, the stages of each iteration and their trainer
// recipes, the offline test set. A typed struct bound from YAML by config/.
//
// Trainer stages name a trainer recipe file (configs/sft/tiny.yaml, ...) plus key=value
// overrides; the driver then sets what the flywheel owns: output_dir, model.path,
// data.train (the slice's data), seed, deterministic, and for PPO the reward model.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "arena/battle_recipe.h"
#include "arena/sft_selection.h"
#include "arena/slices.h"
#include "arena/verdict.h"
#include "core/enum_names.h"
#include "flywheel/stage_gate.h"
#include "flywheel/stage_registry.h"

namespace fw::flywheel {

// The reward model's pairs: this slice's battles, or every battle of the run so far.
enum class RmData { Slice, Run };
constexpr std::array<EnumName<RmData>, 2> enum_names(RmData) { return {{{RmData::Slice, "slice"}, {RmData::Run, "run"}}}; }

// Where each reward model starts: the stage's target with a fresh head, or the last
// iteration's reward model (iteration 1: the target).
enum class RmInit { Target, PreviousRm };
constexpr std::array<EnumName<RmInit>, 2> enum_names(RmInit) {
  return {{{RmInit::Target, "target"}, {RmInit::PreviousRm, "previous_rm"}}};
}

struct TrainerStageSection {
  std::string recipe;                  // a trainer recipe file
  std::vector<std::string> overrides;  // key=value, applied after the file
  std::vector<std::string> retries;    // gate.on_fail: retry — each "key=value key=value ...", tried in turn
  template <class V>
  void visit(V& v) {
    v.field("recipe", recipe, "trainer recipe file (needed when the stage runs)");
    v.field("overrides", overrides, "key=value overrides of that recipe");
    v.field("retries", retries,
            "settings the stage gate retries a failed stage with, in order: each a space-separated key=value list "
            "applied after overrides (rm_ppo: to the ppo recipe)");
  }
};

// Preference data each reward model is trained on first, before the slice's battles (rm's
// recipe with these overrides, into <stage>/rm_pretrain/): verified pairs of the task
// domain, or a public preference set. One slice's battles (~2k pairs in the demo) teach a
// tiny reward model 0.74 held-out accuracy against the judge; 10.8k verified pairs first,
// then the slice, 0.91 (docs/benchmarks.md). Not with rm_init: previous_rm after the
// first iteration (that reward model has learned them already).
struct RmPretrainSection {
  std::vector<std::string> data;       // preference JSONL files; empty = no pre-training
  std::vector<std::string> overrides;  // of the rm recipe, e.g. train.epochs=2
  template <class V>
  void visit(V& v) {
    v.field("data", data, "preference JSONL each reward model learns before the slice's battles");
    v.field("overrides", overrides, "key=value overrides of the rm recipe for this phase");
  }
};

// The stage gate (flywheel/stage_gate.h): each training stage's output battles its input
// on the stage's held-out prompts (heldout_fraction of its slice) with the run's judge.
struct GateSection {
  bool enabled = true;
  double min_win_rate = 0.5;     // the output's win rate (ties half) must be above this
  GateAction on_fail = GateAction::Keep;  // keep (report only) | retry (the stage's retries, then drop) | drop
  int64_t bootstrap = 200;       // rounds for the win rate's 95 % interval
  template <class V>
  void visit(V& v) {
    v.field("enabled", enabled, "arena-check each stage's output against its input");
    v.field("min_win_rate", min_win_rate, "win rate (ties half) the output needs against its input").range(0.0, 1.0);
    v.field("on_fail", on_fail, "keep | retry | drop");
    v.field("bootstrap", bootstrap, "bootstrap rounds of the win rate's interval").min(0);
  }
};

struct PoolSection {
  std::vector<std::string> files;  // instruction pool, prompt JSONL
  int64_t d0_size = 2000;          // SFT-I0's seed data D0 (when the target is trained here)
  int64_t slice_size = 1000;       // prompts per slice D1..Dn
  bool decontaminate = true;       // drop pool prompts that duplicate test prompts (exact/near)
  bool reserve_d0 = false;         // set D0 aside even when target.start is given (the start was
                                   // trained on this pool's D0), so no slice repeats its prompts
  template <class V>
  void visit(V& v) {
    v.field("files", files, "instruction pool (prompt JSONL)").required().non_empty();
    v.field("d0_size", d0_size, "prompts of D0, SFT-I0's data").min(0);
    v.field("slice_size", slice_size, "prompts per slice").min(1);
    v.field("decontaminate", decontaminate, "remove pool prompts that duplicate test prompts");
    v.field("reserve_d0", reserve_d0, "set D0's prompts aside even when target.start is given (the start saw them)");
  }
};

struct TargetSection {
  std::string name = "target";     // snapshots are named <name>-I0, <name>-I1-sft, ...
  std::string start;               // a checkpoint folder; empty = train SFT-I0 on D0
  TrainerStageSection sft0;        // SFT-I0's recipe (when start is empty)
  arena::SamplingSection sampling; // how the target answers in battles
  // Keyword arguments for the target's own Jinja template (e.g. {enable_thinking: false}),
  // in its battles and in every stage's trainer (whose recipes may not set others).
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
  int64_t max_batch = 32;
  template <class V>
  void visit(V& v) {
    v.field("name", name, "prefix of the snapshots' names").required();
    v.field("start", start, "starting checkpoint; empty = train SFT-I0 on D0");
    v.section("sft0", sft0);
    v.section("sampling", sampling);
    v.field("chat_template_kwargs", chat_template_kwargs, "the target's template keyword arguments, in battles and training");
    v.check(chat_template_kwargs.is_object() || chat_template_kwargs.is_null(), "chat_template_kwargs",
            "must be a map of name: value");
    v.field("max_batch", max_batch, "sequences per generate call in battles").min(1);
  }
};

// The competitor whose rating is pinned in every Elo fit of the run. Without it the fit's
// mean is fixed instead, so every rating moves whenever new snapshots join the fit (the
// same competitor read 1158, 1142, 1126 across three evaluations); pinned, the numbers of
// different evaluations compare. Only a shift: the differences are the same.
struct AnchorSection {
  std::string model;  // a competitor's name or <target.name>-I0; empty = the first competitor
  double elo = 1000;  // its rating in every evaluation
  template <class V>
  void visit(V& v) {
    v.field("model", model, "competitor (or <target.name>-I0) pinned in every Elo fit; empty = the first competitor");
    v.field("elo", elo, "its Elo");
  }
};

struct EvalSection {
  std::vector<std::string> prompts;  // the offline test set (prompt JSONL)
  int64_t max_prompts = 0;           // 0 = all
  int64_t bootstrap = 100;
  // Prompts held out of the pool (before D0 and the slices, decontaminated like them) on
  // which the iteration's snapshots battle to choose the one that goes on. Choosing on
  // the test set would make its figures those of the best of several draws, inflated.
  // 0 = choose on the test set (the report says so).
  int64_t validation_prompts = 200;
  AnchorSection anchor;
  template <class V>
  void visit(V& v) {
    v.field("prompts", prompts, "offline test set, prompt JSONL").required().non_empty();
    v.field("max_prompts", max_prompts, "0 = all").min(0);
    v.field("bootstrap", bootstrap, "Elo bootstrap rounds").min(0);
    v.field("validation_prompts", validation_prompts,
            "pool prompts held out to choose each iteration's best snapshot; 0 = choose on the test set").min(0);
    v.section("anchor", anchor);
  }
};

struct FlywheelRecipe {
  std::string output_dir;
  int64_t seed = 1;
  bool deterministic = false;      // deterministic trainers, tstamp 0: a resumed run equals an uninterrupted one
  TargetSection target;
  std::vector<arena::CompetitorSection> competitors;
  arena::JudgeSection judge;
  arena::VerdictMode verdict = arena::VerdictMode::Sum;
  double tie_margin = 0;
  arena::ClientSection client;
  arena::ArenaDeviceSection compute;
  PoolSection pool;
  EvalSection eval;
  int64_t iterations = 2;
  std::vector<std::string> stages = {"sft", "dpo", "rm_ppo"};  // per iteration, each on a fresh slice (stage kinds)
  std::vector<double> sft_margin = {3, 1};  // K per iteration (the last repeats); paper: 3, then 1
  std::vector<double> dpo_margin = {2};
  // judge | random | kmeans | longest (the ablation's arms: as many prompts, the pool's own responses)
  arena::SftSelection sft_selection = arena::SftSelection::Judge;
  bool sft_accumulate = true;               // SFT stages also train on the earlier SFT data (D0's, ...)
  arena::DpoPairs dpo_pairs = arena::DpoPairs::OnPolicy;  // on_policy | target_lost | best_vs_worst (the paper's)
  double heldout_fraction = 0.1;            // of each stage's slice, kept out of training (held-out figures, gate)
  RmData rm_data = RmData::Slice;           // slice | run: the RM's pairs (this slice's, or every battle so far)
  double rm_min_accuracy = 0.6;             // a reward model below this held-out accuracy does not feed PPO
  RmInit rm_init = RmInit::Target;          // target (a fresh head on the stage's target) | previous_rm
  RmPretrainSection rm_pretrain;            // preference data each reward model learns first (empty: none)
  GateSection gate;
  TrainerStageSection sft, dpo, rm, ppo;
  int64_t chunk_prompts = 64;
  int64_t dist_wait_seconds = 86400;  // data parallel: how long the other ranks wait for rank 0's battles
  template <class V>
  void visit(V& v) {
    v.field("output_dir", output_dir, "run folder").required();
    v.field("seed", seed).min(0);
    v.field("deterministic", deterministic, "deterministic trainers and records (exact resume)");
    v.section("target", target);
    v.field("competitors", competitors).required().non_empty();
    v.section("judge", judge);
    v.field("verdict", verdict);
    v.field("tie_margin", tie_margin).min(0.0);
    v.section("client", client);
    v.section("compute", compute);
    v.section("pool", pool);
    v.section("eval", eval);
    v.field("iterations", iterations).range(1, 100);
    // The registered stage kinds (flywheel/stage_registry.h): built-in sft, dpo, rm_ppo.
    v.field("stages", stages, "per iteration, in order")
        .non_empty()
        .one_of(stage_kind_names());
    v.field("sft_margin", sft_margin, "SFT: winner's score - target's >= K, per iteration").non_empty();
    v.field("dpo_margin", dpo_margin, "DPO: best - worst >= K, per iteration").non_empty();
    v.field("sft_selection", sft_selection,
            "judge (pair-judge selection) | random | kmeans | longest (ablation arms: as many prompts, the pool's references)");
    v.field("sft_accumulate", sft_accumulate, "SFT stages also train on the earlier SFT stages' data");
    v.field("dpo_pairs", dpo_pairs,
            "on_policy (the target's own answer in every pair: rejected where it lost, chosen where it won) | "
            "target_lost (only where it lost) | best_vs_worst (of all models, the paper's)");
    v.field("heldout_fraction", heldout_fraction,
            "share of each stage's slice held out of its training: the held-out figures and the gate's prompts")
        .range(0.0, 0.5);
    v.field("rm_data", rm_data,
            "slice (this slice's battles) | run (also every earlier stage's battles of the run)");
    v.field("rm_init", rm_init,
            "target: the reward model starts from the stage's target with a fresh head; previous_rm: from the "
            "last iteration's reward model (iteration 1: the target)");
    v.section("rm_pretrain", rm_pretrain);
    v.field("rm_min_accuracy", rm_min_accuracy,
            "held-out pair accuracy a reward model needs before PPO runs against it (0 = no check)").range(0.0, 1.0);
    v.section("gate", gate);
    v.check(!gate.enabled || heldout_fraction > 0, "gate.enabled", "the gate plays on held-out prompts: set heldout_fraction > 0");
    v.section("sft", sft);
    v.section("dpo", dpo);
    v.section("rm", rm);
    v.section("ppo", ppo);
    v.field("chunk_prompts", chunk_prompts).min(1);
    bool distinct = true;
    for (size_t a = 0; a < stages.size(); ++a)
      for (size_t b = a + 1; b < stages.size(); ++b) distinct = distinct && stages[a] != stages[b];
    v.check(distinct, "stages", "each stage kind at most once per iteration (each has its own folder and slice)");
    v.field("dist_wait_seconds", dist_wait_seconds, "data parallel: ranks > 0 wait this long for rank 0").min(1);
    // A competitor, or the starting snapshot: the models in every evaluation.
    bool known_anchor = eval.anchor.model.empty() || eval.anchor.model == target.name + "-I0";
    std::string names = target.name + "-I0";
    for (const auto& c : competitors) {
      known_anchor = known_anchor || c.name == eval.anchor.model;
      names += ", " + c.name;
    }
    v.check(known_anchor, "eval.anchor.model", "\"" + eval.anchor.model + "\" is not a model of every evaluation (" + names + ")");
  }
};

// The competitor pinned in the run's Elo fits (eval.anchor.model, else the first).
inline std::string eval_anchor_model(const FlywheelRecipe& r) {
  return !r.eval.anchor.model.empty() || r.competitors.empty() ? r.eval.anchor.model : r.competitors.front().name;
}

}  // namespace fw::flywheel
