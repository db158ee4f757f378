// The PPO recipe as a typed struct (YAML keys, defaults, checks). Defaults follow
// DESIGN.md §5 and TRL's PPOConfig where DESIGN.md is silent. It shares the model,
// tokenizer, optim, schedule, train, checkpoint and eval sections with SFT.
//
// One PPO step = one rollout batch of `ppo.batch_size` prompts, each sampled
// `ppo.samples_per_prompt` times: generate, score, then
// `ppo.ppo_epochs` passes over `ppo.num_mini_batches` shuffled mini-batches, one optimizer
// update each (gradients accumulated over micro-batches of `train.micro_batch_size` rows).
// train.max_steps / train.epochs count PPO steps / passes over the prompts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/prompt_dataset.h"
#include "losses/ppo.h"
#include "trainer/recipe_sections.h"
#include "trainer/sft_recipe.h"

namespace fw::trainer {

struct PromptDataSection {
  std::vector<std::string> train;   // prompt JSONL (DESIGN.md §4)
  int64_t max_prompt_len = 512;     // tokens, the template's generation prompt included
  data::PromptTruncation truncation = data::PromptTruncation::Drop;  // drop | keep_end (cut from the left)
  int64_t max_examples = 0;
  template <class V>
  void visit(V& v) {
    v.field("train", train, "prompt JSONL ({\"id\", \"prompt\", ...})").required().non_empty();
    v.field("max_prompt_len", max_prompt_len, "tokens per prompt, generation prompt included").min(1);
    v.field("truncation", truncation, "prompts longer than max_prompt_len");
    v.field("max_examples", max_examples).min(0);
  }
};

struct PpoSection {
  std::string reward_model_path;     // a LlamaForSequenceClassification (flywheel rm), frozen
  std::string value_model_path;      // the value model's start; empty = the reward model (TRL)
  std::string reference_path;        // frozen reference; empty = the starting policy
  int64_t batch_size = 16;           // prompts per PPO step
  int64_t samples_per_prompt = 1;    // rollouts of each prompt (OpenRLHF's n_samples_per_prompt)
  int64_t num_mini_batches = 1;      // optimizer updates per PPO epoch
  int64_t ppo_epochs = 4;            // passes over each rollout batch
  int64_t forward_batch_size = 0;    // rows per generation / scoring pass; 0 = the whole batch
  // Sampling of the rollouts.
  int64_t max_new_tokens = 64;
  double temperature = 0.7;
  int64_t top_k = 0;
  double top_p = 1.0;
  std::vector<std::string> stop_strings;
  // Rewards.
  double missing_eos_penalty = 1.0;  // subtracted from the score of a response without EOS
  double kl_coef = 0.05;             // the KL penalty's weight (the start value if adaptive)
  losses::KlEstimator kl_estimator = losses::KlEstimator::K1;  // k1 | k3
  bool adaptive_kl = false;          // Ziegler et al.'s controller towards kl_target
  double kl_target = 6.0;
  double kl_horizon = 10000.0;
  bool whiten_rewards = false;
  // Advantages and losses.
  double gamma = 1.0;
  double lam = 0.95;
  double cliprange = 0.2;
  double cliprange_value = 0.2;
  double vf_coef = 0.1;
  template <class V>
  void visit(V& v) {
    v.field("reward_model_path", reward_model_path, "reward model folder (flywheel rm)").required();
    v.field("value_model_path", value_model_path, "value model start; empty = the reward model");
    v.field("reference_path", reference_path, "frozen reference; empty = the starting policy");
    v.field("batch_size", batch_size, "prompts per PPO step").min(2);
    v.field("samples_per_prompt", samples_per_prompt,
            "rollouts sampled of each prompt (batch_size x this rows per step)").range(1, 64);
    v.field("num_mini_batches", num_mini_batches, "optimizer updates per PPO epoch").min(1);
    v.field("ppo_epochs", ppo_epochs, "passes over each rollout batch").min(1);
    v.field("forward_batch_size", forward_batch_size, "rows per generation/scoring pass; 0 = all").min(0);
    v.field("max_new_tokens", max_new_tokens).min(1);
    v.field("temperature", temperature, "sampling temperature; logits are divided by it").range(0.01, 100.0);
    v.field("top_k", top_k, "0 = off").min(0);
    v.field("top_p", top_p, "1 = off").range(1e-6, 1.0);
    v.field("stop_strings", stop_strings, "a response also ends at any of these");
    v.field("missing_eos_penalty", missing_eos_penalty, "score penalty for a response that never ended").min(0.0);
    v.field("kl_coef", kl_coef, "weight of the per-token KL penalty").range(0.0, 100.0);
    v.field("kl_estimator", kl_estimator);
    v.field("adaptive_kl", adaptive_kl, "adapt kl_coef towards kl_target");
    v.field("kl_target", kl_target).range(1e-6, 1e6);
    v.field("kl_horizon", kl_horizon).range(1.0, 1e12);
    v.field("whiten_rewards", whiten_rewards);
    v.field("gamma", gamma).range(0.0, 1.0);
    v.field("lam", lam).range(0.0, 1.0);
    v.field("cliprange", cliprange).range(0.0, 10.0);
    v.field("cliprange_value", cliprange_value).range(0.0, 1e6);
    v.field("vf_coef", vf_coef).range(0.0, 100.0);
    v.check(batch_size % num_mini_batches == 0, "num_mini_batches", "must divide ppo.batch_size");
    v.check(batch_size / num_mini_batches >= 2, "num_mini_batches", "each mini-batch needs at least 2 rollouts");
  }
};

// model: the policy to start from.
struct PpoRecipe : TrainingSections {
  PromptDataSection data;
  PpoSection ppo;
  EvalSection eval;
  template <class V>
  void visit(V& v) {
    visit_around(v, [&] { v.section("data", data); v.section("ppo", ppo); }, [&] { v.section("eval", eval); });
    v.check(model.path.size() > 0, "model.path", "PPO starts from a trained policy (e.g. flywheel sft's final/)");
    v.check(train.grad_accum == 1, "train.grad_accum",
            "PPO accumulates over each mini-batch; set ppo.num_mini_batches and train.micro_batch_size");
  }
};

}  // namespace fw::trainer
