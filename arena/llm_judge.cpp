#include "arena/llm_judge.h"

#include <algorithm>
#include <mutex>
#include <regex>

#include "arena/judge_parse.h"
#include "core/hash.h"

namespace fw::arena {

const std::string& default_judge_template() {
  static const std::string t =
      "[Dialogue history]\n{history}\n\n"
      "[Question]\n{question}\n\n"
      "[The Start of Assistant 1's Answer]\n{answer_1}\n[The End of Assistant 1's Answer]\n\n"
      "[The Start of Assistant 2's Answer]\n{answer_2}\n[The End of Assistant 2's Answer]\n\n"
      "[System]\n"
      "We would like to request your feedback on the performance of two AI assistants in response to the user "
      "question displayed above, taking the dialogue history into account.\n"
      "Please rate the coherence, factual accuracy, context-awareness and overall quality of each response. Each "
      "assistant receives an overall score on a scale of 1 to 10, where a higher score indicates better overall "
      "performance.\n"
      "Please first output a single line containing only two values indicating the scores for Assistant 1 and 2, "
      "respectively. The two scores are separated by a space. In the subsequent line, please provide a "
      "comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order in "
      "which the responses were presented does not affect your judgment.";
  return t;
}

void check_judge_template(const std::string& tmpl) {
  static const std::regex placeholder(R"(\{([a-z_0-9]+)\})");
  for (auto it = std::sregex_iterator(tmpl.begin(), tmpl.end(), placeholder); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1].str();
    if (name != "history" && name != "question" && name != "answer_1" && name != "answer_2")
      throw_invalid("unknown placeholder {" + name + "} in the judge template",
                    {.key = "judge.template", .hint = "placeholders: {history} {question} {answer_1} {answer_2}"});
  }
  for (const char* need : {"{question}", "{answer_1}", "{answer_2}"})
    if (tmpl.find(need) == std::string::npos)
      throw_invalid(std::string("the judge template has no ") + need, {.key = "judge.template"});
}

std::string render_judge_prompt(const std::string& tmpl, const data::PromptRecord& p, const std::string& first,
                                const std::string& second) {
  std::string history;
  for (size_t i = 0; i + 1 < p.messages.size(); ++i) {
    const data::Message& m = p.messages[i];
    if (m.role == "system") continue;
    history += (m.role == "user" ? "User: " : "Assistant: ") + m.content + "\n";
  }
  if (history.empty()) history = "(none)";
  const std::string question = p.messages.empty() ? "" : p.messages.back().content;
  // One pass, so a response containing "{answer_2}" is not substituted again.
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    auto take = [&](const char* key, const std::string& value) {
      const size_t n = std::char_traits<char>::length(key);
      if (tmpl.compare(i, n, key) != 0) return false;
      out += value;
      i += n;
      return true;
    };
    if (tmpl[i] == '{' && (take("{history}", history) || take("{question}", question) ||
                           take("{answer_1}", first) || take("{answer_2}", second)))
      continue;
    out.push_back(tmpl[i++]);
  }
  return out;
}

LlmJudge::LlmJudge(LlmJudgeOptions opts, ChatBackend backend) : opts_(std::move(opts)), backend_(std::move(backend)) {
  if (opts_.prompt_template.empty()) opts_.prompt_template = default_judge_template();
  check_judge_template(opts_.prompt_template);
  if (opts_.max_attempts < 1) throw_invalid("judge.max_attempts must be at least 1", {.key = "judge.max_attempts"});
}

nlohmann::json LlmJudge::identity() const {
  return {{"kind", "llm"},
          {"model", opts_.model},
          {"system", opts_.system_prompt},
          {"template_sha256", sha256_hex(opts_.prompt_template)},
          {"request", rollout::chat_request_json(opts_.model, {}, opts_.params)},
          {"max_attempts", opts_.max_attempts},
          {"retry_temperature", opts_.retry_temperature},
          {"range", {opts_.min_score, opts_.max_score}}};
}

void LlmJudge::judge(const std::vector<JudgeRequest>& requests, const JudgeFn& on_done) {
  std::vector<size_t> pending(requests.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  std::vector<JudgeOutcome> outcome(requests.size());
  for (int attempt = 1; attempt <= opts_.max_attempts && !pending.empty(); ++attempt) {
    rollout::ChatParams params = opts_.params;
    if (attempt > 1) {
      params.temperature = opts_.retry_temperature;
      params.seed = params.seed.value_or(0) + static_cast<uint64_t>(attempt);
    }
    std::vector<rollout::ChatRequest> batch;
    for (size_t i : pending) {
      const JudgeRequest& r = requests[i];
      std::vector<data::Message> messages;
      if (!opts_.system_prompt.empty()) messages.push_back({"system", opts_.system_prompt});
      messages.push_back({"user", render_judge_prompt(opts_.prompt_template, *r.prompt, r.first, r.second)});
      batch.push_back({std::move(messages), params});
    }
    std::vector<size_t> retry;
    backend_(batch, [&](size_t k, const rollout::ChatResult* res, const Error* err) {
      const size_t i = pending[k];
      if (err) {
        on_done(i, nullptr, err);
        return;
      }
      JudgeOutcome& o = outcome[i];
      o.attempts = attempt;
      o.judgment = res->content;
      const PairScores s = parse_pair_scores(res->content, opts_.min_score, opts_.max_score);
      if (s.ok()) {
        o.score_first = s.first;
        o.score_second = s.second;
        on_done(i, &o, nullptr);
      } else if (attempt == opts_.max_attempts) {
        o.judgment += "\n[unparseable: " + s.error + "]";
        on_done(i, &o, nullptr);
      } else {
        retry.push_back(i);
      }
    });
    std::sort(retry.begin(), retry.end());
    pending = std::move(retry);
  }
}

ChatBackend remote_chat_backend(std::shared_ptr<rollout::OpenAIClient> client) {
  return [client](const std::vector<rollout::ChatRequest>& reqs,
                  const std::function<void(size_t, const rollout::ChatResult*, const Error*)>& on_done) {
    client->chat_many(reqs, on_done);
  };
}

}  // namespace fw::arena
