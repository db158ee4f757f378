// Generation eval on prompts with known answers (e.g. the synthetic domain's prompt
// JSONL): greedy responses scored by the recipe's verifier. Accuracy = share scored correct.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/chat_template.h"
#include "data/tokenizer.h"
#include "model/llama.h"
#include "trainer/metrics_log.h"

namespace fw::trainer {

struct EvalPrompt {
  std::string id, category, reference;
  std::vector<data::Message> messages;
};
using EvalPrompts = std::vector<EvalPrompt>;

// Reads prompt JSONL ({"id", "prompt": [messages] | "text", "category", "reference"});
// lines without a reference are an error (they cannot be scored).
EvalPrompts load_eval_prompts(const std::string& path, int64_t max_prompts);

// Scores each prompt's response (same order, same length) on some outside scale: the
// flywheel passes its judge (the trainer knows no judge; DESIGN.md §2).
using ResponseJudge =
    std::function<std::vector<double>(const EvalPrompts& prompts, const std::vector<std::string>& responses)>;

// A response's score against a prompt's reference. This is the one way domain code (the
// synthetic task verifier) reaches the trainers: the recipe names a verifier
// (eval.verifier), and the program that runs the recipe (apps/, flywheel/) supplies it.
struct AnswerCheck {
  int score = 1;         // 1..10
  bool correct = false;  // score == 10
};
using AnswerVerifier =
    std::function<AnswerCheck(std::string_view reference, std::string_view response, std::string_view prompt_text)>;

struct EvalOptions {
  int64_t max_new_tokens = 32;
  int64_t batch_size = 32;
  const AnswerVerifier* verifier = nullptr;      // required
  model::LlamaForScore* reward_model = nullptr;  // also score each prompt + response with it
  const ResponseJudge* judge = nullptr;          // also score the responses with it
  std::string model_dir;  // the model's folder: its generation_config.json's stop ids apply too ("" = none)
};

struct EvalResult {
  int64_t n = 0;
  double accuracy = 0;    // share with a correct answer
  double mean_score = 0;  // verifier score, 1..10
  std::map<std::string, double> accuracy_by_category;
  std::optional<double> mean_reward;  // the reward model's mean score, when one was given
  std::optional<double> mean_judge;   // the judge's mean score, when one was given
};

EvalResult evaluate_generation(model::LlamaForCausalLM& lm, const data::Tokenizer& tok, const data::ChatTemplate& chat_template,
                               const EvalPrompts& prompts, const EvalOptions& opts);

// evaluate_generation in eval mode (train mode restored after), a one-line summary in the
// log, and the metrics: eval/accuracy, eval/mean_score, eval/accuracy/<category>,
// eval/reward_model_score with a reward model and eval/judge_score with a judge.
Metrics generation_eval_metrics(model::LlamaForCausalLM& lm, const data::Tokenizer& tok,
                                const data::ChatTemplate& chat_template, const EvalPrompts& prompts, const EvalOptions& opts);

}  // namespace fw::trainer
