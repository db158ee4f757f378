// The DPO and reward-model recipes as typed structs (YAML keys, defaults, checks). They
// share the model/tokenizer/optim/schedule/train/checkpoint sections with SFT.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/preference_dataset.h"
#include "losses/dpo.h"
#include "trainer/recipe_sections.h"

namespace fw::trainer {

struct PreferenceDataSection {
  std::vector<std::string> train;  // preference JSONL: prompt / chosen / rejected (TRL)
  std::vector<std::string> eval;   // held-out pairs: eval/rewards/accuracies
  int64_t max_seq_len = 2048;      // prompt + the longer completion
  data::PreferenceTruncation truncation = data::PreferenceTruncation::Drop;  // drop | keep_end
  int64_t max_examples = 0;
  template <class V>
  void visit(V& v) {
    v.field("train", train, "preference JSONL (prompt, chosen, rejected[, margin])").required().non_empty();
    v.field("eval", eval, "held-out preference JSONL");
    v.field("max_seq_len", max_seq_len, "prompt + the longer completion").min(2);
    v.field("truncation", truncation);
    v.field("max_examples", max_examples).min(0);
  }
};

struct DpoSection {
  losses::DpoLossType loss_type = losses::DpoLossType::Sigmoid;  // sigmoid | ipo | hinge | robust
  double beta = 0.1;
  double label_smoothing = 0.0;       // robust (and sigmoid's conservative DPO)
  double rpo_alpha = 0.0;             // + α · the chosen side's mean token NLL (TRL's rpo_alpha)
  std::string reference_path;         // frozen reference; empty = the starting policy
  bool precompute_ref_logps = false;  // one pass before training, cached beside the data
  bool shared_prompt = true;          // one row per pair, the prompt computed once (trainer/dpo_batch.h)
  template <class V>
  void visit(V& v) {
    v.field("loss_type", loss_type);
    v.field("beta", beta, "strength of the KL anchor to the reference").range(1e-6, 100.0);
    v.field("label_smoothing", label_smoothing).range(0.0, 0.49);
    v.field("rpo_alpha", rpo_alpha,
            "weight of an SFT term on the chosen completions (RPO, TRL's rpo_alpha); 0 = plain DPO").range(0.0, 100.0);
    v.field("reference_path", reference_path, "frozen reference model; empty = the starting policy");
    v.field("precompute_ref_logps", precompute_ref_logps, "compute reference log-probs once and cache them");
    v.field("shared_prompt", shared_prompt,
            "one row per pair with the prompt computed once; false = two padded rows per pair (TRL's layout)");
  }
};

struct DpoRecipe : TrainingSections {
  PreferenceDataSection data;
  DpoSection dpo;
  template <class V>
  void visit(V& v) {
    visit_around(v, [&] { v.section("data", data); v.section("dpo", dpo); }, [] {});
  }
};

struct RmSection {
  double center_rewards_coefficient = 0.0;  // + c * mean((r_c + r_r)^2), TRL's centering
  template <class V>
  void visit(V& v) {
    v.field("center_rewards_coefficient", center_rewards_coefficient, "0 = off").range(0.0, 10.0);
  }
};

// model: a causal LM (its backbone, a fresh head), a reward model, or from scratch.
struct RmRecipe : TrainingSections {
  PreferenceDataSection data;
  RmSection rm;
  template <class V>
  void visit(V& v) {
    visit_around(v, [&] { v.section("data", data); v.section("rm", rm); }, [] {});
  }
};

}  // namespace fw::trainer
