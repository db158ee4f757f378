// The flywheel recipe (`flywheel run RECIPE.yaml`): the target's start, the competitors,
// the judge, the pool and its slices, the stages of each iteration and their trainer
// recipes, the offline test set. A typed struct bound from YAML by config/.
//
// Trainer stages name a trainer recipe file (configs/sft/tiny.yaml, ...) plus key=value
// overrides; the driver then sets what the flywheel owns: output_dir, model.path,
// data.train (the slice's data), seed, deterministic, and for PPO the reward model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arena/battle_recipe.h"

namespace fw::flywheel {

struct TrainerStageSection {
  std::string recipe;                  // a trainer recipe file
  std::vector<std::string> overrides;  // key=value, applied after the file
  template <class V>
  void visit(V& v) {
    v.field("recipe", recipe, "trainer recipe file (needed when the stage runs)");
    v.field("overrides", overrides, "key=value overrides of that recipe");
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
  int64_t max_batch = 32;
  template <class V>
  void visit(V& v) {
    v.field("name", name, "prefix of the snapshots' names").required();
    v.field("start", start, "starting checkpoint; empty = train SFT-I0 on D0");
    v.section("sft0", sft0);
    v.section("sampling", sampling);
    v.field("max_batch", max_batch, "sequences per generate call in battles").min(1);
  }
};

struct EvalSection {
  std::vector<std::string> prompts;  // the offline test set (prompt JSONL)
  int64_t max_prompts = 0;           // 0 = all
  int64_t bootstrap = 100;
  template <class V>
  void visit(V& v) {
    v.field("prompts", prompts, "offline test set, prompt JSONL").required().non_empty();
    v.field("max_prompts", max_prompts, "0 = all").min(0);
    v.field("bootstrap", bootstrap, "Elo bootstrap rounds").min(0);
  }
};

struct FlywheelRecipe {
  std::string output_dir;
  int64_t seed = 1;
  bool deterministic = false;      // deterministic trainers, tstamp 0: a resumed run equals an uninterrupted one
  TargetSection target;
  std::vector<arena::CompetitorSection> competitors;
  arena::JudgeSection judge;
  std::string verdict = "sum";
  double tie_margin = 0;
  arena::ClientSection client;
  arena::ArenaDeviceSection compute;
  PoolSection pool;
  EvalSection eval;
  int64_t iterations = 2;
  std::vector<std::string> stages = {"sft", "dpo", "rm_ppo"};  // per iteration, each on a fresh slice
  std::vector<double> sft_margin = {3, 1};  // K per iteration (the last repeats); paper: 3, then 1
  std::vector<double> dpo_margin = {2};
  std::string sft_selection = "judge";      // judge | random | kmeans | longest (arena::SftSelection; the
                                            // ablation's arms: as many prompts, the pool's own responses)
  bool sft_accumulate = true;               // SFT stages also train on the earlier SFT data (D0's, ...)
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
    v.field("verdict", verdict).one_of({"sum", "agree"});
    v.field("tie_margin", tie_margin).min(0.0);
    v.section("client", client);
    v.section("compute", compute);
    v.section("pool", pool);
    v.section("eval", eval);
    v.field("iterations", iterations).range(1, 100);
    v.field("stages", stages, "per iteration, in order").non_empty().one_of({"sft", "dpo", "rm_ppo"});
    v.field("sft_margin", sft_margin, "SFT: winner's score - target's >= K, per iteration").non_empty();
    v.field("dpo_margin", dpo_margin, "DPO: best - worst >= K, per iteration").non_empty();
    v.field("sft_selection", sft_selection,
            "judge (pair-judge selection) | random | kmeans | longest (ablation arms: as many prompts, the pool's references)")
        .one_of({"judge", "random", "kmeans", "longest"});
    v.field("sft_accumulate", sft_accumulate, "SFT stages also train on the earlier SFT stages' data");
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
  }
};

}  // namespace fw::flywheel
