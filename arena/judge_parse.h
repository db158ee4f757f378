// Reading two scores out of an LLM judge's free text. Judges are asked for a first line
// "s1 s2" (or "[[s1, s2]]"), but they write prose, markdown and restatements, so the
// parser accepts, in this order of precedence:
//
//   1. a bracketed pair "[[8, 6]]" / "[[8/10, 6/10]]" (all such pairs must agree)
//   2. a first line holding exactly two numbers and nothing else ("8 6", "8, 6") — the
//      format our default template asks for, so it wins over any number the
//      explanation below it mentions
//   3. labelled scores: a label for the first response ("Assistant 1", "Assistant A",
//      "Response 1", "Answer A", "the first response", ...) or the second, followed by
//      a number with only score words in between ("Assistant A: 8/10", "Assistant 1's
//      score is 7", "I give Assistant B a score of 4", "Response 2 gets 7.5 out of 10");
//      or, in a section that starts with a label, a later "Score: 9" / "Rating: 9"
//      line before the next label
//
// Never guessed: a side with no score, two different scores for one side, a score
// outside [min, max] or no pattern at all is "unparseable", with the reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fw::arena {

struct PairScores {
  std::optional<double> first;   // the response shown first
  std::optional<double> second;  // the response shown second
  std::string error;             // why it is unparseable; empty when both scores are set
  bool ok() const { return first && second && error.empty(); }
};

PairScores parse_pair_scores(std::string_view judgment, double min_score = 1, double max_score = 10);

}  // namespace fw::arena
