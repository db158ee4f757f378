// Two games -> one verdict, by hand: sum with a tie margin, agree, unparseable games, and
// the position-inconsistency flag.
#include <gtest/gtest.h>

#include "arena/verdict.h"
#include "core/error.h"

namespace {
using namespace fw::arena;

Game g(const char* order, double a, double b) { return {order, a, b, ""}; }
Game unparsed() { return {"ba", std::nullopt, std::nullopt, "?"}; }

TEST(Verdict, SumAddsBothGamesAndTiesWithinTheMargin) {
  struct Case { std::vector<Game> games; double margin; Winner want; };
  const Case cases[] = {
      {{g("ab", 8, 6), g("ba", 7, 7)}, 0, Winner::ModelA},   // 15 vs 13
      {{g("ab", 8, 6), g("ba", 5, 7)}, 0, Winner::Tie},      // 13 vs 13
      {{g("ab", 8, 6), g("ba", 7, 7)}, 2, Winner::Tie},      // gap 2 <= margin 2
      {{g("ab", 8, 6), g("ba", 7, 7)}, 1.5, Winner::ModelA},
      {{g("ab", 2, 9), g("ba", 3, 9)}, 1, Winner::ModelB},
  };
  for (const Case& c : cases) EXPECT_EQ(*combine_games(c.games, {VerdictMode::Sum, c.margin}), c.want);
}

TEST(Verdict, AgreeNeedsBothGames) {
  EXPECT_EQ(*combine_games({g("ab", 8, 6), g("ba", 9, 1)}, {VerdictMode::Agree, 0}), Winner::ModelA);
  // Sum would give A (15 vs 13); the games disagree, so agree ties.
  EXPECT_EQ(*combine_games({g("ab", 9, 5), g("ba", 6, 8)}, {VerdictMode::Agree, 0}), Winner::Tie);
  EXPECT_EQ(*combine_games({g("ab", 9, 5), g("ba", 6, 8)}, {VerdictMode::Sum, 0}), Winner::ModelA);
}

TEST(Verdict, UnparseableGamesGiveNoVerdict) {
  EXPECT_FALSE(combine_games({g("ab", 8, 6), unparsed()}, {}).has_value());
  EXPECT_FALSE(combine_games({}, {}).has_value());
  EXPECT_FALSE(position_inconsistent({g("ab", 8, 6), unparsed()}, 0));
}

TEST(Verdict, PositionInconsistencyIsAChangeOfWinner) {
  EXPECT_TRUE(position_inconsistent({g("ab", 9, 5), g("ba", 6, 8)}, 0));
  EXPECT_TRUE(position_inconsistent({g("ab", 9, 5), g("ba", 7, 7)}, 0));  // A, then a tie
  EXPECT_FALSE(position_inconsistent({g("ab", 9, 5), g("ba", 8, 7)}, 0));
  EXPECT_FALSE(position_inconsistent({g("ab", 9, 8), g("ba", 7, 7)}, 1));  // both ties at margin 1
  EXPECT_THROW(verdict_mode_from_name("majority"), fw::Error);
}

}  // namespace
