// Offline-Hard's difficulty rater through an LLM (WizardArena: a strong model rates each
// candidate instruction 0-10). Each prompt is sent to an OpenAI-compatible endpoint
// (rollout::OpenAIClient) with kDifficultyPrompt; the reply is read by parse_difficulty.
// A reply that does not parse is asked again (up to `attempts` asks, each with its own
// seed); still unparseable, or a request that failed after the client's retries, gives
// NaN — the candidate is excluded and counted, never guessed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "arena/testset.h"
#include "rollout/openai_client.h"

namespace fw::arena {

// The request; {instruction} is replaced by the rendered prompt ("User: ...\n\nAssistant:
// ..." for a dialogue, the text itself for one user turn).
extern const char* const kDifficultyPrompt;

// The rating in a judge's reply, in [lo, hi], or nullopt. Accepted, in this order:
//   1. "[[7]]" (every bracketed rating must agree);
//   2. a label ("difficulty", "rating", "score") followed by the number, with only
//      ":", "=", "is", "of", "level", "score", "rating" and markdown between ("Difficulty: 7/10",
//      "**Rating:** 6.5", "difficulty score of 8 out of 10"); all labelled ratings agree;
//   3. a reply that is only the number ("7", "7.", "7/10").
// A number outside [lo, hi], disagreeing ratings or none of these: nullopt.
std::optional<double> parse_difficulty(std::string_view reply, double lo = 0, double hi = 10);

std::string render_for_rating(const std::vector<data::Message>& messages);

struct DifficultyJudgeOptions {
  rollout::ChatParams params{.temperature = 0, .max_tokens = 64};
  int attempts = 3;  // asks per prompt until a reply parses
};

struct DifficultyJudgeStats {
  std::atomic<int64_t> requests{0};     // chat calls made (attempts included)
  std::atomic<int64_t> rated{0};
  std::atomic<int64_t> unparseable{0};  // no rating after every attempt
  std::atomic<int64_t> failed{0};       // the request itself failed (after HTTP retries)
};

// A DifficultyRater asking `client`; counts go to `stats` when given.
DifficultyRater judge_rater(std::shared_ptr<rollout::OpenAIClient> client, DifficultyJudgeOptions opts,
                            std::shared_ptr<DifficultyJudgeStats> stats = nullptr);

}  // namespace fw::arena
