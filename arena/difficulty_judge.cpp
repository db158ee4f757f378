// The LLM difficulty rater (see difficulty_judge.h).
#include "arena/difficulty_judge.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <regex>

#include "core/log.h"

namespace fw::arena {

const char* const kDifficultyPrompt =
    "You are rating how difficult an instruction is for an AI assistant to answer well.\n"
    "Consider the knowledge, reasoning, number of steps and precision it needs.\n"
    "Rate it from 0 (trivial) to 10 (extremely hard). Reply with one line only:\n"
    "Difficulty: <number from 0 to 10>\n\n"
    "[Instruction]\n{instruction}\n[End of instruction]";

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// All matches of `re`'s group 1 as numbers; nullopt when they disagree, empty optional
// in `found` when there are none.
bool agreed(const std::string& text, const std::regex& re, std::optional<double>& value) {
  bool any = false;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    const double v = std::stod((*it)[1].str());
    if (any && v != *value) {
      value.reset();
      return true;  // found, but they disagree
    }
    value = v;
    any = true;
  }
  return any;
}

}  // namespace

std::optional<double> parse_difficulty(std::string_view reply, double lo, double hi) {
  const std::string text = lower(reply);
  static const std::regex bracketed(R"(\[\[\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*10\s*)?\]\])");
  static const std::regex labelled(
      R"((?:difficulty|rating|score)(?:[\s*_:=]|\bis\b|\bof\b|\blevel\b|\bscore\b|\brating\b)*([0-9]+(?:\.[0-9]+)?)(?![0-9.]*[0-9]))");
  static const std::regex bare(R"(^\s*\**\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*10|out of 10)?\s*\**\s*\.?\s*$)");
  std::optional<double> v;
  if (!agreed(text, bracketed, v) && !agreed(text, labelled, v)) agreed(text, bare, v);
  if (!v || !std::isfinite(*v) || *v < lo || *v > hi) return std::nullopt;
  return v;
}

std::string render_for_rating(const std::vector<data::Message>& messages) {
  if (messages.size() == 1) return messages[0].content;
  std::string out;
  for (const auto& m : messages) {
    if (!out.empty()) out += "\n\n";
    std::string role = m.role;
    if (!role.empty()) role[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(role[0])));
    out += role + ": " + m.content;
  }
  return out;
}

DifficultyRater judge_rater(std::shared_ptr<rollout::OpenAIClient> client, DifficultyJudgeOptions opts,
                            std::shared_ptr<DifficultyJudgeStats> stats) {
  if (!stats) stats = std::make_shared<DifficultyJudgeStats>();
  return [client, opts, stats](const std::vector<data::PromptRecord>& records) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> scores(records.size(), nan);
    std::vector<size_t> pending(records.size());
    for (size_t i = 0; i < records.size(); ++i) pending[i] = i;
    std::vector<char> failed(records.size(), 0);
    for (int attempt = 0; attempt < std::max(1, opts.attempts) && !pending.empty(); ++attempt) {
      std::vector<rollout::ChatRequest> reqs;
      for (size_t i : pending) {
        std::string prompt = kDifficultyPrompt;
        prompt.replace(prompt.find("{instruction}"), 13, render_for_rating(records[i].messages));
        rollout::ChatRequest r{{{"user", prompt}}, opts.params};
        if (attempt > 0) r.params.seed = opts.params.seed.value_or(0) + static_cast<uint64_t>(attempt);
        reqs.push_back(std::move(r));
      }
      stats->requests += static_cast<int64_t>(reqs.size());
      client->chat_many(reqs, [&](size_t k, const rollout::ChatResult* res, const Error* err) {
        const size_t i = pending[k];
        if (err) {
          failed[i] = 1;
          log::warn("difficulty judge: '" + records[i].id + "': " + err->what());
          return;
        }
        if (auto v = parse_difficulty(res->content)) scores[i] = *v;
      });
      std::vector<size_t> again;
      for (size_t i : pending)
        if (!failed[i] && std::isnan(scores[i])) again.push_back(i);
      pending = std::move(again);
    }
    for (size_t i = 0; i < records.size(); ++i) {
      if (failed[i]) ++stats->failed;
      else if (std::isnan(scores[i])) ++stats->unparseable;
      else ++stats->rated;
    }
    return scores;
  };
}

}  // namespace fw::arena
