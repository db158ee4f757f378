// The judge-output table: messy LLM judgments -> the right two scores, or unparseable
// with a reason. Never a guess.
#include <gtest/gtest.h>

#include "arena/judge_parse.h"

namespace {
using fw::arena::parse_pair_scores;

struct Case {
  const char* text;
  double first, second;  // -1: unparseable expected
  const char* why;       // a fragment of the expected error, for unparseable cases
};

const Case kCases[] = {
    // the formats we ask for
    {"8 6\nAssistant 1 is more accurate.", 8, 6, ""},
    {"8, 6", 8, 6, ""},
    // the first line wins over numbers in the explanation after it
    {"8 6\nAssistant 1 is 2 points ahead.", 8, 6, ""},
    {"9 2\nAssistant 1 got 7 of the steps right, Assistant 2 got 4.", 9, 2, ""},
    {"9 2\nAssistant 1 got 12 as the answer.", 9, 2, ""},
    {"[[9, 3]]", 9, 3, ""},
    {"Explanation first. Final: [[7/10, 7/10]]", 7, 7, ""},
    // labelled, in prose and markdown
    {"Assistant 1: 8/10\nAssistant 2: 6/10", 8, 6, ""},
    {"**Assistant A**: 7\n**Assistant B**: 3", 7, 3, ""},
    {"I would give Assistant A a score of 9 and Assistant B a score of 4.", 9, 4, ""},
    {"Response 1 gets 7. Response 2 scores 7.5 out of 10.", 7, 7.5, ""},
    {"Assistant 1's score: 6. Assistant 2's score: 9.", 6, 9, ""},
    {"The first response deserves 5, the second response deserves 8.", 5, 8, ""},
    {"Assistant 1 is better than Assistant 2 in 3 ways.\nScores: Assistant 1: 9, Assistant 2: 5", 9, 5, ""},
    {"I give 8/10 to Assistant 1 and 2/10 to Assistant 2.", 8, 2, ""},
    {"Response A\nThe answer is right.\nScore: 9\n\nResponse B\nThe answer is wrong.\nScore: 2", 9, 2, ""},
    {"Assistant 1: 8. Assistant 2: 4. In summary, Assistant 1: 8 and Assistant 2: 4.", 8, 4, ""},
    {"Assistant 1 computes 3 + 5 = 8 correctly. Assistant 1: 10\nAssistant 2: 2", 10, 2, ""},
    // unparseable, never guessed
    {"Assistant 1: 8", -1, -1, "second"},
    {"Assistant 2 gets 4, nothing to say about the other.", -1, -1, "first"},
    {"Assistant 1: 12\nAssistant 2: 5", -1, -1, "outside"},
    {"Assistant 1: 0\nAssistant 2: 5", -1, -1, "outside"},
    {"Assistant 1: 8 ... on reflection, Assistant 1: 6; Assistant 2: 5", -1, -1, "two different scores"},
    {"[[8, 6]] no wait [[5, 6]]", -1, -1, "two different"},
    {"Both responses are fine and equally helpful.", -1, -1, "no scores"},
    {"Scores: 7 and 5 for the two of them, with 3 caveats.", -1, -1, "no scores"},
    {"", -1, -1, "no scores"},
};

TEST(JudgeParse, TableOfMessyJudgments) {
  for (const Case& c : kCases) {
    const auto p = parse_pair_scores(c.text);
    if (c.first < 0) {
      EXPECT_FALSE(p.ok()) << c.text << " -> " << p.first.value_or(-1) << ", " << p.second.value_or(-1);
      EXPECT_NE(p.error.find(c.why), std::string::npos) << c.text << " -> error: " << p.error;
      continue;
    }
    ASSERT_TRUE(p.ok()) << c.text << " -> " << p.error;
    EXPECT_DOUBLE_EQ(*p.first, c.first) << c.text;
    EXPECT_DOUBLE_EQ(*p.second, c.second) << c.text;
  }
}

TEST(JudgeParse, RangeIsTheCallers) {
  EXPECT_TRUE(parse_pair_scores("[[0, 4]]", 0, 10).ok());
  EXPECT_FALSE(parse_pair_scores("[[0, 4]]", 1, 10).ok());
}

}  // namespace
