#include "trainer/eval_generation.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "model/generation_config.h"
#include "rollout/generate.h"
#include "rollout/score.h"

namespace fw::trainer {

EvalPrompts load_eval_prompts(const std::string& path, int64_t max_prompts) {
  EvalPrompts out;
  for_each_jsonl_ordered(path, [&](const nlohmann::ordered_json& j, long line) {
    if (static_cast<int64_t>(out.size()) >= max_prompts) return;
    if (!j.is_object() || !j.contains("prompt") || !j.contains("reference") || !j["reference"].is_string())
      throw_invalid("an eval prompt needs \"prompt\" and a string \"reference\"");
    EvalPrompt p;
    p.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : std::to_string(line);
    p.category = j.value("category", "");
    p.reference = j["reference"].get<std::string>();
    if (j["prompt"].is_string()) p.messages = {{"user", j["prompt"].get<std::string>()}};
    else p.messages = data::parse_messages(j["prompt"]);
    out.push_back(std::move(p));
  });
  if (out.empty()) throw_invalid("no eval prompts", {.file = path});
  return out;
}

EvalResult evaluate_generation(model::LlamaForCausalLM& lm, const data::Tokenizer& tok, const data::ChatTemplate& chat_template,
                               const EvalPrompts& prompts, const EvalOptions& opts) {
  if (!opts.verifier || !*opts.verifier) throw_invalid("a generation eval needs a verifier", {.key = "eval.verifier"});
  rollout::GenerateOptions gen;
  gen.max_new_tokens = opts.max_new_tokens;
  gen.pad_id = std::max(0, tok.pad_or_eos_id());
  gen.eos_ids = model::stop_token_ids(opts.model_dir, lm->config(), tok.eos_id());
  EvalResult r;
  std::map<std::string, std::pair<int64_t, int64_t>> by_category;  // correct, total
  double score_sum = 0, reward_sum = 0;
  int64_t correct = 0;
  std::vector<std::string> texts;  // every response, for the judge
  for (size_t start = 0; start < prompts.size(); start += static_cast<size_t>(opts.batch_size)) {
    const size_t end = std::min(prompts.size(), start + static_cast<size_t>(opts.batch_size));
    std::vector<std::vector<int64_t>> batch;
    for (size_t i = start; i < end; ++i) {
      auto ids = data::encode_chat(tok, chat_template, prompts[i].messages, /*add_generation_prompt=*/true).ids;
      batch.emplace_back(ids.begin(), ids.end());
    }
    auto outs = rollout::generate(lm, batch, gen);
    if (opts.reward_model) {
      std::vector<std::vector<int64_t>> responses;
      for (const auto& o : outs) responses.push_back(o.tokens);
      at::NoGradGuard no_grad;
      reward_sum += rollout::sequence_scores(*opts.reward_model, rollout::make_response_batch(batch, responses, gen.pad_id))
                        .sum()
                        .item<double>();
    }
    for (size_t i = start; i < end; ++i) {
      std::vector<int32_t> ids(outs[i - start].tokens.begin(), outs[i - start].tokens.end());
      std::string prompt_text;
      for (const auto& m : prompts[i].messages) prompt_text += m.content + "\n";
      texts.push_back(tok.decode(ids));
      const AnswerCheck v = (*opts.verifier)(prompts[i].reference, texts.back(), prompt_text);
      score_sum += v.score;
      correct += v.correct;
      auto& c = by_category[prompts[i].category];
      c.first += v.correct;
      ++c.second;
    }
  }
  r.n = static_cast<int64_t>(prompts.size());
  r.accuracy = static_cast<double>(correct) / static_cast<double>(r.n);
  r.mean_score = score_sum / static_cast<double>(r.n);
  if (opts.reward_model) r.mean_reward = reward_sum / static_cast<double>(r.n);
  if (opts.judge && *opts.judge) {
    const std::vector<double> scores = (*opts.judge)(prompts, texts);
    if (scores.size() != texts.size())
      throw_runtime("the eval judge gave " + std::to_string(scores.size()) + " scores for " +
                    std::to_string(texts.size()) + " responses");
    double sum = 0;
    int64_t scored = 0;  // a response the judge could not score (NaN) is left out
    for (double x : scores)
      if (std::isfinite(x)) sum += x, ++scored;
    if (scored > 0) r.mean_judge = sum / static_cast<double>(scored);
  }
  for (const auto& [cat, c] : by_category) r.accuracy_by_category[cat] = static_cast<double>(c.first) / static_cast<double>(c.second);
  return r;
}

Metrics generation_eval_metrics(model::LlamaForCausalLM& lm, const data::Tokenizer& tok,
                                const data::ChatTemplate& chat_template, const EvalPrompts& prompts, const EvalOptions& opts) {
  lm->eval();
  const EvalResult e = evaluate_generation(lm, tok, chat_template, prompts, opts);
  lm->train();
  std::string by_category;
  for (const auto& [cat, acc] : e.accuracy_by_category) by_category += " " + cat + "=" + std::to_string(acc).substr(0, 4);
  log::info("eval: accuracy " + std::to_string(e.accuracy) + ", mean score " + std::to_string(e.mean_score) + " on " +
            std::to_string(e.n) + " held-out prompts;" + by_category +
            (e.mean_reward ? "; reward model score " + std::to_string(*e.mean_reward) : "") +
            (e.mean_judge ? "; judge score " + std::to_string(*e.mean_judge) : ""));
  Metrics m = {{"eval/accuracy", e.accuracy}, {"eval/mean_score", e.mean_score}};
  if (e.mean_reward) m.emplace_back("eval/reward_model_score", *e.mean_reward);
  if (e.mean_judge) m.emplace_back("eval/judge_score", *e.mean_judge);
  for (const auto& [cat, acc] : e.accuracy_by_category) m.emplace_back("eval/accuracy/" + cat, acc);
  return m;
}

}  // namespace fw::trainer
