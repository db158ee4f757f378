// Online Elo and the pairwise statistics on sequences worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "arena/elo_views.h"

namespace {
using namespace fw::arena;

Battle battle(const std::string& a, const std::string& b, Winner w) {
  Battle x;
  x.model_a = a;
  x.model_b = b;
  x.winner = w;
  return x;
}

TEST(OnlineElo, ThreeBattlesByHand) {
  // K = 4, everyone at 1000.
  // 1. a beats b: E = 1/2, so a = 1002, b = 998.
  // 2. b ties c: E_b = 1 / (1 + 10^(2/400)) = 0.4971218..., b += 4 (0.5 - E_b) = 998.0115128,
  //    c = 999.9884872.
  // 3. c beats a (a is model_a): E_a = 1 / (1 + 10^((999.9884872 - 1002) / 400)) = 0.5028948...,
  //    a += 4 (0 - E_a) = 999.9884209, c += 4 (1 - E_c) = 1002.0000663.
  const std::vector<Battle> seq = {battle("a", "b", Winner::ModelA), battle("b", "c", Winner::Tie),
                                   battle("a", "c", Winner::ModelB)};
  const auto r = online_elo(seq, {"a", "b", "c"}, {});
  EXPECT_NEAR(r[0], 999.9884209309, 1e-8);
  EXPECT_NEAR(r[1], 998.0115127983, 1e-8);
  EXPECT_NEAR(r[2], 1002.0000662708, 1e-8);
  // Dropping ties skips battle 2.
  const auto d = online_elo(seq, {"a", "b", "c"}, {}, TieMode::Drop);
  EXPECT_DOUBLE_EQ(d[1], 998);
  // Order matters: the same battles reversed end elsewhere.
  const std::vector<Battle> rev(seq.rbegin(), seq.rend());
  EXPECT_GT(std::abs(online_elo(rev, {"a", "b", "c"}, {})[0] - r[0]), 1e-3);
}

TEST(PairwiseStats, WinRatesCountTiesHalf) {
  std::vector<Battle> b;
  for (int i = 0; i < 3; ++i) b.push_back(battle("a", "b", Winner::ModelA));
  b.push_back(battle("b", "a", Winner::ModelA));  // b wins once
  b.push_back(battle("a", "b", Winner::Tie));
  b.push_back(battle("b", "a", Winner::TieBothBad));
  b.push_back(battle("c", "a", Winner::ModelB));  // a beats c
  const BattleTable t = tabulate_battles(b, TieMode::Half);
  const PairwiseStats s = pairwise_stats(t);
  ASSERT_EQ(s.models, 3);
  // a vs b: 6 battles, a has 3 wins + 2 ties / 2 = 4 -> 2/3; b: 1 + 1 = 2 -> 1/3.
  EXPECT_EQ(s.battles[0 * 3 + 1], 6);
  EXPECT_EQ(s.battles[1 * 3 + 0], 6);
  EXPECT_NEAR(s.win_rate[0 * 3 + 1], 4.0 / 6, 1e-12);
  EXPECT_NEAR(s.win_rate[1 * 3 + 0], 2.0 / 6, 1e-12);
  EXPECT_DOUBLE_EQ(s.win_rate[0 * 3 + 2], 1.0);
  EXPECT_TRUE(std::isnan(s.win_rate[1 * 3 + 2]));  // b never met c
  EXPECT_TRUE(std::isnan(s.win_rate[0]));           // the diagonal
  EXPECT_EQ(s.model_battles, (std::vector<int64_t>{7, 6, 1}));
  EXPECT_NEAR(s.model_win_rate[0], 5.0 / 7, 1e-12);
  EXPECT_DOUBLE_EQ(s.model_win_rate[2], 0.0);
}

}  // namespace
